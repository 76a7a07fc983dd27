"""`Callback`, the hooks Keras calls during fit / evaluate / predict, and `CallbackList`, which fans them out."""

import warnings


class Callback:
    """Base class of callbacks. Override any hook; `self.model` and `self.params` are set by the model.

    Hooks: on_train_begin/end, on_epoch_begin/end, on_{train,test,predict}_begin/end and
    on_{train,test,predict}_batch_begin/end, each taking `logs` (a dict of metric values, or None).

    `chief_only = True` marks a callback that only writes (files, the console): in a distributed job it runs
    on process 0 alone.
    """

    chief_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def release_resources(self):
        """Called by `fit` instead of `on_train_end` when training stops on an error or Ctrl-C (mlfront's hook;
        Keras has none): close the files and writers the callback opened. The run is not finished, so nothing
        a resumed run needs (a BackupAndRestore backup) is removed. By default nothing is done."""


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls each hook on every callback in order. Hooks nobody overrides cost nothing per batch."""

    def __init__(self, callbacks, model, params):
        from mlfront.distribution import is_chief
        self.callbacks = [c for c in callbacks if not getattr(c, "chief_only", False) or is_chief()]
        if not self.callbacks:
            return  # every hook stays the class-level no-op
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        for hook in _HOOKS:
            overriding = [getattr(c, hook) for c in self.callbacks if _overrides(c, hook)]
            if hook == "on_train_batch_begin":
                overriding += [c.on_batch_begin for c in self.callbacks if _overrides(c, "on_batch_begin")]
            if hook == "on_train_batch_end":
                overriding += [c.on_batch_end for c in self.callbacks if _overrides(c, "on_batch_end")]
            setattr(self, hook, _fan_out(overriding) if overriding else _nothing)

    def __iter__(self):
        return iter(self.callbacks)

    def release_resources(self):
        """`release_resources()` of every callback; an error there is only warned about, so the error that
        stopped training is the one raised."""
        for callback in self.callbacks:
            try:
                callback.release_resources()
            except Exception as error:  # noqa: BLE001  (the original error must propagate)
                warnings.warn(f"{type(callback).__name__}.release_resources failed: {error!r}", stacklevel=2)


def _overrides(callback, hook):
    """Whether `callback` does something in `hook`: its class overrides it, or the instance sets it."""
    return hook in vars(callback) or getattr(type(callback), hook, None) is not getattr(Callback, hook)


def _nothing(*args, **kwargs):
    pass


for _hook in _HOOKS:
    setattr(CallbackList, _hook, staticmethod(_nothing))


def _fan_out(methods):
    def call_all(*args, **kwargs):
        for method in methods:
            method(*args, **kwargs)
    return call_all


# ---------------------------------------------------------------------- helpers shared by the monitoring callbacks
_UPWARD_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "fmeasure")


def resolve_mode(mode, monitor, model=None, owner="Callback"):
    """"min" or "max" for a monitored quantity; "auto" asks the model's metric of that name for its
    direction, else guesses from the name (accuracy, AUC, precision, recall, F-scores go up; the rest down)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner}: mode {mode!r} is unknown (expected 'auto', 'min' or 'max'); using 'auto'.",
                      stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    for metric in (getattr(model, "metrics", None) or []) if model is not None else []:
        if metric.name == name and hasattr(metric, "_direction"):
            return "max" if metric._direction == "up" else "min"
    if name.endswith("loss"):
        return "min"
    return "max" if any(word in name for word in _UPWARD_WORDS) else "min"


def monitored_value(logs, monitor, owner):
    """`logs[monitor]` as a float, or None (with a warning naming what is available) when absent."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(f"{owner}: the monitored quantity {monitor!r} is not in the logs; available: "
                      f"{sorted(logs)}.", stacklevel=3)
        return None
    return float(value)
