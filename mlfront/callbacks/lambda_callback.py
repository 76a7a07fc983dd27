"""`LambdaCallback`: a callback made of plain functions."""

from mlfront.callbacks.base import _HOOKS, Callback


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given, by hook name.

    Epoch hooks are called as `fn(epoch, logs)`, batch hooks as `fn(batch, logs)`, begin/end hooks of
    train / test / predict as `fn(logs)`. `on_batch_begin` / `on_batch_end` (Keras 2 names) run on
    training batches.

    Example:
        `LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))`

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
        on_train_batch_end: functions for those hooks.
        **kwargs: functions for any other hook (`on_test_begin`, `on_predict_batch_end`, ...).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {unknown}; hooks are {sorted(_HOOKS)}.")
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: `{name}` must be callable, got {fn!r}.")
            setattr(self, name, _with_logs(fn, takes_index=name.startswith("on_epoch") or "batch" in name))


def _with_logs(fn, takes_index):
    """`fn` called with the hook's `logs` always passed (None when the caller gave none)."""
    if takes_index:
        return lambda index, logs=None: fn(index, logs)
    return lambda logs=None: fn(logs)
