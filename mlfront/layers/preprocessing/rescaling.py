"""Rescaling: `inputs * scale + offset`."""

import numbers

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.base import Layer


class Rescaling(Layer):
    """Multiplies its inputs by `scale` and adds `offset`, e.g. `Rescaling(1 / 255)` for pixel values.

    Args:
        scale: a number, or one per channel (a list broadcast against the last axis).
        offset: a number, or one per channel.

    Example:
        >>> layer = Rescaling(scale=1 / 127.5, offset=-1)  # [0, 255] -> [-1, 1]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _number_or_list(scale, "scale", self)
        self.offset = _number_or_list(offset, "offset", self)
        self.supports_masking = True

    def call(self, inputs):
        B = _backend.get()
        inputs = inputs if B.dtype(inputs) == self.dtype else B.cast(inputs, self.dtype)
        return inputs * B.convert(np.asarray(self.scale, self.dtype)) + B.convert(np.asarray(self.offset, self.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


def _number_or_list(value, name, layer):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim > 3:
        raise ValueError(f"Rescaling '{layer.name}': `{name}` must be a number or a list of numbers, got {value!r}.")
    return array.tolist()
