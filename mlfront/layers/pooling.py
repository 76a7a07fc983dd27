"""Pooling layers: Max/AveragePooling1D/2D/3D and the global poolings (Keras names and arguments)."""

from mlfront import backend as _backend
from mlfront.backend.base import conv_output_length
from mlfront.layers.base import Layer
from mlfront.layers.convolutional import (check_output_size, from_channels_last, normalize_data_format,
                                          normalize_tuple, spatial_and_channels, to_channels_last, with_channels)


def _check_ndim(layer, input_shape):
    if len(input_shape) != layer.rank + 2:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected ndim={layer.rank + 2} (inputs of rank "
                         f"{layer.rank + 2}: batch, {layer.rank} spatial axes, channels), found "
                         f"ndim={len(input_shape)}: input shape {tuple(input_shape)}.")


class _Pooling(Layer):
    """Shared machinery of windowed pooling over `rank` spatial axes.

    Args:
        pool_size: an int or a tuple of `rank` ints: the window size.
        strides: an int or a tuple of `rank` ints; None (default) means `pool_size`.
        padding: "valid" or "same" (output length ceil(input / stride); padded cells never count: a max never
            picks them and an average is taken over the real cells only, as in Keras).
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = None
    mode = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        kind = f"{type(self).__name__} '{self.name}'"
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", kind)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", kind)
        if min(self.pool_size) < 1 or min(self.strides) < 1:
            raise ValueError(f"{kind}: `pool_size` and `strides` must be positive, got {self.pool_size} and "
                             f"{self.strides}.")
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"{kind}: `padding` must be 'valid' or 'same', got {padding!r}.")
        self.padding = padding
        self.data_format = normalize_data_format(data_format, kind)

    def call(self, inputs):
        B = _backend.get()
        if self._check_calls:  # input sizes unknown at build: a window larger than this input is an error
            self.compute_output_shape(B.shape(inputs))
        pool = B.max_pool if self.mode == "max" else B.avg_pool
        x = to_channels_last(B, inputs, self.data_format)
        return from_channels_last(B, pool(x, self.pool_size, self.strides, self.padding), self.data_format)

    _check_calls = False

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # a window larger than its padded input fails on the first call
        self._check_calls = any(n is None for n in spatial_and_channels(input_shape, self.data_format)[0])
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape)
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        out = [conv_output_length(n, p, s, self.padding) for n, p, s in zip(spatial, self.pool_size, self.strides)]
        out = check_output_size(f"{type(self).__name__} '{self.name}'", input_shape, out,
                                {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding})
        return with_channels(input_shape[0], out, channels, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Maximum over windows of steps of (batch, steps, channels) inputs. See `_Pooling`."""
    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    """Maximum over windows of (batch, rows, cols, channels) inputs. See `_Pooling`."""
    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Maximum over 3D windows. See `_Pooling`."""
    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of steps of (batch, steps, channels) inputs. See `_Pooling`."""
    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    """Mean over windows of (batch, rows, cols, channels) inputs. See `_Pooling`."""
    rank, mode = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over 3D windows. See `_Pooling`."""
    rank, mode = 3, "avg"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Mean or maximum over every spatial axis.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with length 1 (default False: output (batch, channels)).
    """

    rank = None
    mode = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        _check_ndim(self, input_shape)
        self.built = True

    def _spatial_axes(self):
        return tuple(range(1, self.rank + 1)) if self.data_format == "channels_last" \
            else tuple(range(2, self.rank + 2))

    def call(self, inputs):
        B = _backend.get()
        reduce = B.max if self.mode == "max" else B.mean
        return reduce(inputs, axis=self._spatial_axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape)
        channels = spatial_and_channels(input_shape, self.data_format)[1]
        if self.keepdims:
            return with_channels(input_shape[0], (1,) * self.rank, channels, self.data_format)
        return (input_shape[0], channels)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalPooling1D(_GlobalPooling):
    """Global pooling over steps; a `mask` (batch, steps) of real steps leaves padded steps out."""

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        B = _backend.get()
        axis = self._spatial_axes()[0]
        mask = mask if B.is_array(mask) else B.convert(mask)
        keep = B.expand_dims(B.cast(mask, "bool"), 2 if axis == 1 else 1)
        if self.mode == "max":
            lowest = B.full((), -float("inf"), B.dtype(inputs))
            return B.max(B.where(keep, inputs, lowest), axis=axis, keepdims=self.keepdims)
        weights = B.cast(keep, B.dtype(inputs))
        total = B.sum(inputs * weights, axis=axis, keepdims=self.keepdims)
        return total / B.sum(weights, axis=axis, keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over steps of (batch, steps, channels) inputs, ignoring masked steps. See `_GlobalPooling`."""
    mode = "avg"


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum over steps of (batch, steps, channels) inputs, ignoring masked steps. See `_GlobalPooling`."""
    mode = "max"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over rows and columns. See `_GlobalPooling`."""
    rank, mode = 2, "avg"


class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over rows and columns. See `_GlobalPooling`."""
    rank, mode = 2, "max"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes. See `_GlobalPooling`."""
    rank, mode = 3, "avg"


class GlobalMaxPooling3D(_GlobalPooling):
    """Maximum over the three spatial axes. See `_GlobalPooling`."""
    rank, mode = 3, "max"


# Keras aliases
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
