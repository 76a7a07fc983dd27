"""CategoryEncoding: integer category indices as one-hot, multi-hot or count vectors."""

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.base import Layer
from mlfront.layers.preprocessing.concrete import concrete_values
from mlfront.layers.preprocessing.factors import choice

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode_categories(indices, output_mode, depth, count_weights=None, caller="encode_categories"):
    """Encode integer `indices` (rank 0 to 2) as Keras does; float32 results with `depth` on the last axis.

    "one_hot": one vector per index (a trailing axis of size 1 is replaced); "multi_hot": 1 where an index
    occurs in the sample (the last axis of a rank-2 input); "count": how often, weighted by `count_weights`.
    """
    B = _backend.get()
    rank = len(B.shape(indices))
    if rank == 0:
        indices, rank = B.reshape(indices, (1,)), 1
    if output_mode == "one_hot":
        if rank > 1 and B.shape(indices)[-1] == 1:
            indices = B.squeeze(indices, -1)
        return B.one_hot(indices, depth, dtype="float32")
    if rank > 2:
        raise ValueError(f"{caller}: output_mode={output_mode!r} takes inputs of rank 0 to 2, got shape "
                         f"{tuple(B.shape(indices))}.")
    encoded = B.one_hot(indices, depth, dtype="float32")
    sample_axis = 1 if rank > 1 else 0
    if output_mode == "multi_hot":
        return B.max(encoded, axis=sample_axis)
    if count_weights is not None:
        encoded = encoded * B.expand_dims(B.cast(count_weights, "float32"), -1)
    return B.sum(encoded, axis=sample_axis)


def check_indices(values, depth, caller):
    """Raise when concrete index `values` fall outside `[0, depth)` (an engine would silently give zeros)."""
    if values is None or values.size == 0:
        return
    low, high = values.min(), values.max()
    if low < 0 or high >= depth:
        raise ValueError(f"{caller}: input values must be in the range 0 <= values < num_tokens with "
                         f"num_tokens={depth}, got values from {low} to {high}.")


class CategoryEncoding(Layer):
    """Encodes integer categories in `[0, num_tokens)` as dense float vectors of length `num_tokens`.

    Args:
        num_tokens: the number of categories.
        output_mode: "multi_hot" (default; "binary" is its Keras 2 name), "one_hot" or "count".
        sparse: not supported (False): outputs are dense.

    Call arguments:
        inputs: integer indices of rank 0 to 2 ("one_hot" accepts any rank).
        count_weights: with "count", a weight per index (same shape as `inputs`) summed instead of 1.

    Out-of-range indices raise a ValueError when the values are known (eager calls); inside a compiled step
    they cannot be checked and encode as zeros (jax, tensorflow) or fail in the engine (torch).
    """

    _reads_indices = True  # fit/predict keep its integer inputs integers

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        label = f"CategoryEncoding '{self.name}'"
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = choice(output_mode, OUTPUT_MODES, label, "output_mode")
        if num_tokens is None:
            raise ValueError(f"{label}: `num_tokens` must be set (use IntegerLookup when the categories are not "
                             f"known beforehand).")
        if not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"{label}: `num_tokens` must be an int >= 1, got num_tokens={num_tokens!r}.")
        if sparse:
            raise NotImplementedError(f"{label}: sparse=True is not supported; outputs are dense.")
        self.num_tokens = int(num_tokens)
        self.sparse = False

    def call(self, inputs, count_weights=None):
        B = _backend.get()
        label = f"CategoryEncoding '{self.name}'"
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"{label}: `count_weights` is only used with output_mode='count', got "
                                 f"output_mode={self.output_mode!r}.")
            count_weights = count_weights if B.is_array(count_weights) else B.convert(np.asarray(count_weights,
                                                                                                 "float32"))
            if tuple(B.shape(count_weights)) != tuple(B.shape(inputs)):
                raise ValueError(f"{label}: `count_weights` must have the shape of the inputs "
                                 f"{tuple(B.shape(inputs))}, got {tuple(B.shape(count_weights))}.")
        if B.dtype(inputs).startswith("float"):
            inputs = B.cast(inputs, "int32")
        check_indices(concrete_values(inputs), self.num_tokens, label)
        return encode_categories(inputs, self.output_mode, self.num_tokens, count_weights, label)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (len(shape) == 1 or shape[-1] != 1):
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}
