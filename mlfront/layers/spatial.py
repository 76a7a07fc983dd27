"""Spatial reshaping layers: ZeroPadding, Cropping and UpSampling in 1D/2D/3D (Keras names and arguments)."""

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.base import Layer, is_int, positive_int
from mlfront.layers.convolutional import check_output_size, normalize_data_format, normalize_tuple


def _pairs(value, rank, name, layer):
    """`value` as `rank` (before, after) pairs: an int, `rank` ints (symmetric) or `rank` pairs (rank 1: one pair)."""
    if rank == 1 and not is_int(value):
        value = (tuple(value),)
    if is_int(value):
        value = (value,) * rank
    value = tuple(value)
    if len(value) != rank:
        raise ValueError(f"{layer}: `{name}` must be an int, {rank} ints or {rank} (before, after) pairs, "
                         f"got {value!r}.")
    pairs = tuple((v, v) if is_int(v) else tuple(v) for v in value)
    if not all(len(p) == 2 and all(is_int(i) and i >= 0 for i in p) for p in pairs):
        raise ValueError(f"{layer}: `{name}` must hold non-negative ints, got {value!r}.")
    return tuple((int(a), int(b)) for a, b in pairs)


class _Spatial(Layer):
    """Base of the layers that act on each spatial axis of (batch, *spatial, channels) inputs."""

    rank = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, self._kind())

    def _kind(self):
        return f"{type(self).__name__} '{self.name}'"

    def _axes(self):
        """The spatial axes of an input, in order."""
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._kind()}: expected ndim={self.rank + 2} (inputs of rank {self.rank + 2}: "
                             f"batch, {self.rank} spatial axes, channels), found ndim={len(input_shape)}: input "
                             f"shape {tuple(input_shape)}.")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # a wrong rank or an axis cropped away fails on the first call
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        shape = list(input_shape)
        for i, axis in enumerate(self._axes()):
            shape[axis] = None if shape[axis] is None else self._length(i, shape[axis])
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _ZeroPadding(_Spatial):
    """Adds rows/columns of zeros before and after each spatial axis.

    Args:
        padding: an int (same on every side), `rank` ints (symmetric per axis) or `rank` (before, after) pairs;
            ZeroPadding1D takes an int or one (before, after) pair.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding", self._kind())

    def _length(self, i, length):
        return length + sum(self.padding[i])

    def call(self, inputs):
        B = _backend.get()
        pad_width = [(0, 0)] * (self.rank + 2)
        for axis, pair in zip(self._axes(), self.padding):
            pad_width[axis] = pair
        return B.pad(inputs, pad_width)

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding}


class ZeroPadding1D(_ZeroPadding):
    """Zero padding of the steps axis. See `_ZeroPadding`."""
    rank = 1


class ZeroPadding2D(_ZeroPadding):
    """Zero padding of rows and columns. See `_ZeroPadding`."""
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Zero padding of three spatial axes. See `_ZeroPadding`."""
    rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_Spatial):
    """Removes cells from the start and end of each spatial axis.

    Args:
        cropping: like ZeroPadding's `padding`: an int, `rank` ints or `rank` (before, after) pairs.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", self._kind())

    def _length(self, i, length):
        return length - sum(self.cropping[i])

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        check_output_size(self._kind(), input_shape, [shape[axis] for axis in self._axes()],
                          {"cropping": self.cropping[0] if self.rank == 1 else self.cropping})
        return shape

    def call(self, inputs):
        index = [slice(None)] * (self.rank + 2)
        for axis, (before, after) in zip(self._axes(), self.cropping):
            index[axis] = slice(before, -after if after else None)
        return inputs[tuple(index)]

    def get_config(self):
        cropping = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": cropping}


class Cropping1D(_Cropping):
    """Cropping of the steps axis (default (1, 1)). See `_Cropping`."""
    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def get_config(self):  # Keras's Cropping1D has no data_format argument
        config = super().get_config()
        config.pop("data_format")
        return config


class Cropping2D(_Cropping):
    """Cropping of rows and columns (default none). See `_Cropping`."""
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cropping of three spatial axes (default one cell on every side). See `_Cropping`."""
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _UpSampling(_Spatial):
    """Enlarges each spatial axis by an integer factor.

    Args:
        size: an int or `rank` ints: the factor per axis.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (repeat each cell) or, for UpSampling2D, "bilinear" (half-pixel centres,
            edges clamped, like Keras's image resize).
    """

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, self.rank, "size", self._kind())
        if min(self.size) < 1:
            raise ValueError(f"{self._kind()}: `size` must be positive, got {self.size}.")
        allowed = ("nearest", "bilinear") if self.rank == 2 else ("nearest",)
        if interpolation not in allowed:
            raise ValueError(f"{self._kind()}: `interpolation` must be one of {allowed}, got {interpolation!r}.")
        self.interpolation = interpolation

    def _length(self, i, length):
        return length * self.size[i]

    def call(self, inputs):
        B = _backend.get()
        x = inputs
        for axis, factor in zip(self._axes(), self.size):
            if factor == 1:
                continue
            x = _repeat(B, x, axis, factor) if self.interpolation == "nearest" else _resize_linear(B, x, axis, factor)
        return x

    def get_config(self):
        config = {**super().get_config(), "size": self.size}
        if self.rank == 2:
            config["interpolation"] = self.interpolation
        return config


def _repeat(B, x, axis, factor):
    """Each cell of `x` along `axis` repeated `factor` times (copies stacked on a new axis, then merged)."""
    shape = B.shape(x)
    stacked = B.concatenate([B.expand_dims(x, axis + 1)] * factor, axis=axis + 1)
    return B.reshape(stacked, (-1,) + tuple(shape[1:axis]) + (shape[axis] * factor,) + tuple(shape[axis + 1:]))


def _linear_weights(length, factor):
    """(length * factor, length) matrix of linear interpolation weights, half-pixel centres, edges clamped."""
    centres = np.clip((np.arange(length * factor) + 0.5) / factor - 0.5, 0, length - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, length - 1)
    weights = np.zeros((length * factor, length), np.float32)
    rows = np.arange(length * factor)
    np.add.at(weights, (rows, low), 1 - (centres - low))
    np.add.at(weights, (rows, high), centres - low)
    return weights


def _resize_linear(B, x, axis, factor):
    """Linear interpolation along `axis`, as one matrix product with the axis moved last."""
    rank = len(B.shape(x))
    order = tuple(a for a in range(rank) if a != axis) + (axis,)
    moved = B.transpose(x, order)
    weights = B.convert(_linear_weights(B.shape(x)[axis], factor).T, B.dtype(x))
    resized = B.matmul(moved, weights)
    return B.transpose(resized, tuple(int(np.argsort(order)[a]) for a in range(rank)))


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times. See `_UpSampling`."""
    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):  # as Keras's UpSampling1D: an int size and no data_format argument
        config = super().get_config()
        config.pop("data_format")
        config["size"] = self.size[0]
        return config


class UpSampling2D(_UpSampling):
    """Enlarges rows and columns by `size` (nearest or bilinear). See `_UpSampling`."""
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """Enlarges three spatial axes by `size` (nearest). See `_UpSampling`."""
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
