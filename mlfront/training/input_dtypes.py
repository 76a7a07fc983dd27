"""The dtypes fit / evaluate / predict give boolean and integer data, as Keras reads them.

x: the dtype of the model's `Input` (float32 by default), so a boolean or integer array feeding Dense, Conv or
RNN layers becomes float; integers feeding an index-consuming layer (Embedding, CategoryEncoding) stay
integers. y: by the loss of each output: float (the loss compares it with a float prediction) except for
the sparse losses, whose labels stay integers.

A spec is None (leave the data as it is), a dtype name (every array), or a list of `(name, dtype or None)`
pairs, one per model input / output, matched to the data by position or, for a dict, by name.
"""

import numpy as np


def takes_indices(layer):
    """True when `layer` consumes integer indices (its integer inputs must not become floats)."""
    from mlfront.models.sequential import Sequential
    if layer._reads_indices:
        return True
    if isinstance(layer, Sequential):  # a nested Sequential: its first layer reads the inputs
        return bool(layer.layers) and takes_indices(layer.layers[0])
    return False


def _for_input(dtype, consumers):
    """The dtype an input of `dtype` is given: its own, or None (kept) for float inputs read as indices."""
    is_float = np.dtype(dtype).kind == "f"
    if is_float and consumers and all(takes_indices(layer) for layer in consumers):
        return None
    return dtype


def _all_layers(layer, seen=None):
    seen = set() if seen is None else seen
    for sub in layer._sublayers():
        if id(sub) not in seen:
            seen.add(id(sub))
            yield sub
            yield from _all_layers(sub, seen)


def input_spec(model):
    """The x spec of `model` (see the module docstring); None when its host layers take the raw data."""
    if model._has_host_layers:
        return None
    readers = getattr(model, "_input_readers", None)
    if readers is not None:  # Functional
        return [(name, _for_input(t.dtype, layers)) for name, t, layers in zip(model.input_names, model.inputs,
                                                                                 readers)]
    from mlfront.models.sequential import Sequential
    if isinstance(model, Sequential):
        return [("input", _for_input(model._input_dtype or "float32", model.layers[:1]))]
    # a subclassed model: what reads its inputs is unknown, so integers stay integers if any layer takes indices
    if any(takes_indices(layer) for layer in _all_layers(model)):
        return None
    return "float32"


def target_spec(model):
    """The y spec of a compiled `model`: float32 labels, integers for the sparse losses, None without a loss."""
    compiled = getattr(model, "compiled_loss", None)
    if compiled is None:
        return None
    spec = []
    for name, loss in zip(compiled.output_names, compiled.losses):
        if loss is None:
            spec.append((name, None))
            continue
        loss_name = str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__)
        spec.append((name, "int32" if "sparse" in loss_name.lower() else "float32"))
    return spec


def cast_array(array, dtype):
    """A boolean or integer NumPy `array` as `dtype` where that is a float dtype (booleans also become an
    integer `dtype`); any other array unchanged."""
    if dtype is None or not isinstance(array, np.ndarray) or array.dtype.kind not in "biu":
        return array
    target = np.dtype(dtype)
    if target.kind == "f" or (array.dtype.kind == "b" and target.kind in "iu"):
        return array.astype(target)
    return array


def cast_structure(data, spec):
    """`data` (an array, or a list / tuple / dict of arrays) cast by `spec` (see the module docstring)."""
    if spec is None or data is None:
        return data
    if isinstance(spec, str):
        return _map(data, lambda a: cast_array(a, spec))
    if isinstance(data, dict):
        by_name = dict(spec)
        return {k: _map(v, lambda a, d=by_name.get(k): cast_array(a, d)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        if len(data) != len(spec):
            return data  # the model's own checks report the mismatch
        return type(data)(_map(v, lambda a, d=d: cast_array(a, d)) for v, (_, d) in zip(data, spec))
    return cast_array(data, spec[0][1]) if len(spec) == 1 else data


def _map(data, fn):
    if isinstance(data, dict):
        return {k: _map(v, fn) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_map(v, fn) for v in data)
    return fn(data)
