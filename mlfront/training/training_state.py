"""The trainer's own state of a model (random key, shuffle seed, position in `fit`) as JSON-safe data.

With the weights and the optimizer's variables it is all a `fit` depends on, so a run restored from it
continues exactly (BackupAndRestore; a saved model's training state). The key goes through the Backend
(`rng_key_to_numpy` / `rng_key_from_numpy`), so the data has the same form on every engine.
"""

import numpy as np

from mlfront import backend as _backend

_MAX_KEY_WORDS = 64


def training_state(model):
    """The trainer's own state of `model`, as JSON-safe data, for resuming a run exactly.

    Together with the weights and the optimizer's variables this is everything a `fit` depends on: the
    random key the next train step splits (Dropout and other random layers), the shuffle seed of the
    current (or last) `fit` (epoch `e`'s sample order is drawn from `(shuffle_seed, e)`) and the position
    reached in it.

    Args:
        model: a compiled `Model`.

    Returns:
        A dict: `"epoch"` and `"step"` (the next train step is batch `step` of epoch `epoch`),
        `"shuffle_seed"` (an int, or None when the data is not shuffled) and `"rng_key"` (None before the
        first step, else `{"dtype": str, "shape": [int], "values": [int]}`, the key as NumPy stores it).
    """
    epoch, step = model._fit_position
    key = None
    if model._rng_key is not None:
        array = np.asarray(_backend.get().rng_key_to_numpy(model._rng_key))
        key = {"dtype": array.dtype.name, "shape": list(array.shape), "values": [int(v) for v in array.ravel()]}
    return {"epoch": int(epoch), "step": int(step), "shuffle_seed": model._fit_shuffle_seed, "rng_key": key}


def restore_training_state(model, state, resume=False):
    """Restore what `training_state` returned, after checking every field.

    Call it after `compile` (which starts a new random key). The random key is restored at once; with
    `resume=True` the next `fit` also continues where the state was taken: at its epoch and batch (the
    completed batches of that epoch are skipped), with its shuffle seed.

    Args:
        model: a compiled `Model`.
        state: a dict as returned by `training_state` (e.g. read back from JSON).
        resume: make the next `fit` start at the stored position (BackupAndRestore does).

    Raises:
        ValueError: `state` is not such a dict; the message names the wrong field.
    """
    key = check_training_state(state)
    if key is not None:
        model._rng_key = key
    if resume:
        model._resume = {"epoch": state["epoch"], "step": state["step"], "shuffle_seed": state.get("shuffle_seed")}


def check_training_state(state):
    """Check a state returned by `training_state` (e.g. read from a file) without restoring it.

    Returns:
        The random key it holds, as a backend key (None when it holds none).

    Raises:
        ValueError: a field is missing or of the wrong type; the message names it.
    """
    if not isinstance(state, dict):
        raise ValueError(f"restore_training_state: `state` should be a dict, got {type(state).__name__}.")
    for name in ("epoch", "step"):
        if not _is_int(state.get(name)) or state[name] < 0:
            raise ValueError(f"restore_training_state: state['{name}'] should be a non-negative integer, got "
                             f"{state.get(name)!r}.")
    seed = state.get("shuffle_seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed < 2**63):
        raise ValueError(f"restore_training_state: state['shuffle_seed'] should be None or a non-negative "
                         f"integer, got {seed!r}.")
    return _key_from_state(state.get("rng_key"))


def _key_from_state(stored):
    if stored is None:
        return None
    if not isinstance(stored, dict):
        raise ValueError(f"restore_training_state: state['rng_key'] should be a dict or None, got "
                         f"{type(stored).__name__}.")
    dtype, shape, values = stored.get("dtype"), stored.get("shape"), stored.get("values")
    if dtype not in ("int32", "int64", "uint32", "uint64"):
        raise ValueError(f"restore_training_state: state['rng_key']['dtype'] should be an integer dtype name, "
                         f"got {dtype!r}.")
    if not (isinstance(shape, list) and all(_is_int(n) and n >= 0 for n in shape)
            and isinstance(values, list) and len(values) <= _MAX_KEY_WORDS and all(_is_int(v) for v in values)
            and int(np.prod(shape)) == len(values)):
        raise ValueError(f"restore_training_state: state['rng_key'] should hold a shape (list of ints) and as "
                         f"many integer values (at most {_MAX_KEY_WORDS}), got shape {shape!r} and values "
                         f"{values!r}.")
    info = np.iinfo(dtype)
    if any(not info.min <= v <= info.max for v in values):
        raise ValueError(f"restore_training_state: state['rng_key'] values do not fit in {dtype}: {values!r}.")
    return _backend.get().rng_key_from_numpy(np.array(values, dtype).reshape(shape))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
