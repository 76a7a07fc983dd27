"""`HostLayer`: the base of layers that compute on the host, in NumPy, outside the compiled step.

Strings (and arbitrary integers) live in no engine tensor on torch or jax, so the string and lookup layers
(`StringLookup`, `IntegerLookup`, `Hashing`, `TextVectorization`) take and return NumPy arrays. Called directly
they run eagerly on any engine. In a model they must come first: `Sequential` and Functional models apply them
to each NumPy batch before it becomes engine arrays (`Model.host_preprocess`), and the compiled step runs the
rest of the graph.
"""

import numpy as np

from mlfront.layers import graph as _graph
from mlfront.layers.base import Layer
from mlfront.training import data as _data


class HostLayer(Layer):
    """A layer whose `call` takes and returns NumPy arrays (strings in, numbers out).

    Subclasses implement `call(inputs)` on NumPy arrays and `compute_output_shape` (used for symbolic inputs).
    """

    runs_on_host = True

    def __call__(self, inputs, *args, **kwargs):
        if _graph.is_symbolic(inputs):
            return _graph.call_symbolic(self, inputs, args, kwargs)
        self.built = True
        return self.call(to_host_array(inputs, self.name), *args, **kwargs)


def to_host_array(x, layer_name="layer"):
    """`x` (a NumPy array, engine tensor, Python list or scalar, tf tensor) as a NumPy array."""
    try:
        return _data.as_numpy(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"Layer '{layer_name}' expects a rectangular array (or list) of values; got "
                         f"{type(x).__name__} that NumPy cannot make into one: {err}") from None


def as_text(array, encoding, layer_name):
    """An object array of Python `str` from an array of str / bytes (bytes decoded with `encoding`)."""
    array = np.asarray(array)
    if array.dtype.kind == "U":
        return array.astype(object)
    if array.dtype.kind not in "SO":
        raise ValueError(f"Layer '{layer_name}' expects strings, got an array of dtype {array.dtype}.")
    flat = array.reshape(-1).tolist()
    out = np.empty(len(flat), dtype=object)
    for i, value in enumerate(flat):
        if isinstance(value, bytes):
            value = value.decode(encoding, "surrogateescape")
        elif not isinstance(value, str):
            raise ValueError(f"Layer '{layer_name}' expects strings, got a value {value!r} of type "
                             f"{type(value).__name__}.")
        out[i] = value
    return out.reshape(array.shape)


def as_bytes(text_array, encoding="utf-8"):
    """An object array of `bytes`: the strings of `text_array` encoded (what TensorFlow would hash)."""
    flat = [s.encode(encoding, "surrogateescape") for s in text_array.reshape(-1).tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(text_array.shape)


def validate_choice(value, allowed, layer, argument):
    if value not in allowed:
        raise ValueError(f"{layer}: `{argument}` must be one of {list(allowed)}, got {value!r}.")


def refuse_unsupported(layer, sparse=False, ragged=False):
    """mlfront returns dense NumPy arrays: `sparse=True` / `ragged=True` are refused by name."""
    if sparse:
        raise NotImplementedError(f"{layer}: `sparse=True` is not supported; mlfront's host preprocessing "
                                  f"layers return dense arrays (pass sparse=False).")
    if ragged:
        raise NotImplementedError(f"{layer}: `ragged=True` is not supported; mlfront's host preprocessing "
                                  f"layers return dense arrays (pass ragged=False; int outputs are padded "
                                  f"with 0).")


def encode_categorical(indices, output_mode, depth, dtype, weights=None):
    """Keras's `encode_categorical_inputs` in NumPy: indices -> one_hot / multi_hot / count (/ tf_idf with
    `weights`). Indices outside [0, depth) (a dropped mask token) count nowhere.

    one_hot encodes each element (a last axis of size 1 is replaced); the others reduce the last axis.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        out = np.zeros(indices.shape + (depth,), dtype=np.float64)
        flat = out.reshape(-1, depth)
        rows = np.arange(indices.size)
        cols = indices.reshape(-1)
        valid = (cols >= 0) & (cols < depth)
        flat[rows[valid], cols[valid]] = 1
        return out.astype(dtype)
    prefix = indices.shape[:-1]
    width = indices.shape[-1]
    flat_rows = np.repeat(np.arange(int(np.prod(prefix, dtype=np.int64))), width)
    return encode_rows(flat_rows, indices.reshape(-1), prefix, output_mode, depth, dtype, weights)


def encode_rows(rows, indices, prefix, output_mode, depth, dtype, weights=None):
    """multi_hot / count / tf_idf of the `indices` grouped by `rows` (an index into `prefix` flattened)."""
    counts = np.zeros((int(np.prod(prefix, dtype=np.int64)), depth), dtype=np.float64)
    valid = (indices >= 0) & (indices < depth)
    np.add.at(counts, (rows[valid], indices[valid]), 1)
    if output_mode == "multi_hot":
        counts = np.minimum(counts, 1)
    counts = counts.reshape(tuple(prefix) + (depth,))
    if output_mode == "tf_idf":
        return (counts.astype(np.float32) * weights).astype(dtype)
    return counts.astype(dtype)


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of `encode_categorical` for inputs of `input_shape`."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (1, depth) if output_mode == "one_hot" else (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)
