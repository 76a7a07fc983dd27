"""Convolution layers: Conv1D/2D/3D and Conv1D/2D/3DTranspose (Keras names, arguments and kernel layouts)."""

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import initializers as _initializers
from mlfront import regularizers as _regularizers
from mlfront.backend import config as _config
from mlfront.backend.base import conv_output_length, conv_transpose_output_length
from mlfront.layers.base import Layer, is_int, positive_int, serialized


def normalize_tuple(value, rank, name, layer):
    """`value` (an int or a sequence of `rank` ints) as a tuple of `rank` ints; errors name the argument."""
    values = (value,) * rank if is_int(value) else tuple(value) if isinstance(value, (list, tuple)) else None
    if values is None or len(values) != rank or not all(is_int(v) and v >= 0 for v in values):
        raise ValueError(f"{layer}: `{name}` must be an int or a tuple of {rank} non-negative ints, got {value!r}.")
    return tuple(int(v) for v in values)


def normalize_data_format(data_format, layer):
    data_format = data_format or _config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first', got {data_format!r}.")
    return data_format


def to_channels_last(B, x, data_format):
    """`x` with channels moved last when `data_format` is channels_first."""
    if data_format == "channels_last":
        return x
    rank = len(B.shape(x))
    return B.transpose(x, (0,) + tuple(range(2, rank)) + (1,))


def from_channels_last(B, x, data_format):
    """`x` back in `data_format` (undoes `to_channels_last`)."""
    if data_format == "channels_last":
        return x
    rank = len(B.shape(x))
    return B.transpose(x, (0, rank - 1) + tuple(range(1, rank - 1)))


def spatial_and_channels(shape, data_format):
    """(spatial dims, channel dim) of a full input shape."""
    shape = tuple(shape)
    return (shape[1:-1], shape[-1]) if data_format == "channels_last" else (shape[2:], shape[1])


def check_output_size(kind, input_shape, output_spatial, arguments):
    """`output_spatial` as a tuple, or a ValueError when a known length is zero or negative (a kernel or pool
    window larger than its padded input, a cropping that removes a whole axis), naming the layer `kind`, the
    input shape and the `arguments` (a dict, e.g. kernel_size / strides / padding) that gave it."""
    output_spatial = tuple(output_spatial)
    if any(n is not None and n <= 0 for n in output_spatial):
        given = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
        raise ValueError(f"{kind}: computed output size would be zero or negative: spatial output size "
                         f"{output_spatial} for input shape {tuple(input_shape)} with {given}.")
    return output_spatial


def with_channels(batch, spatial, channels, data_format):
    """A full shape from its parts in `data_format`."""
    spatial = tuple(spatial)
    return (batch,) + spatial + (channels,) if data_format == "channels_last" else (batch, channels) + spatial


class BaseConv(Layer):
    """Shared machinery of the convolution layers over `rank` spatial axes.

    Args:
        filters: number of output channels.
        kernel_size: an int or a tuple of `rank` ints.
        strides: an int or a tuple of `rank` ints (1). `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" (no padding) or "same" (output length ceil(input / stride), the odd padded cell
            after); Conv1D also takes "causal" (padding only before, so no output sees a later step).
        data_format: "channels_last" (default, `(batch, *spatial, channels)`) or "channels_first".
        dilation_rate: an int or a tuple of `rank` ints (1): the spacing of the kernel taps.
        groups: split the input channels and the filters into this many groups, each group of filters
            convolving only its group of channels (kernel `(*kernel_size, in // groups, filters)`).
        activation: name or function applied to the output (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer: initializers of the weights.
        kernel_regularizer / bias_regularizer: penalties added to the loss.
        activity_regularizer: a penalty on the layer's output (stored; the layer base adds it to the loss).
        kernel_constraint / bias_constraint: projections applied to the weights after each optimizer step.
    """

    _check_calls = False  # set by build when the input's spatial sizes are unknown
    rank = None
    transpose = False
    _not_in_config = ("output_padding",)  # a transposed convolution's argument only (Keras's configs agree)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, output_padding=None,
                 **kwargs):
        super().__init__(**kwargs)
        kind = f"{type(self).__name__} '{self.name}'"
        filters = positive_int(filters, "filters", kind)
        groups = positive_int(groups, "groups", kind)
        if groups > 1 and self.transpose:
            raise ValueError(f"{kind}: transposed convolutions take no `groups`, got {groups!r}.")
        if filters % groups:
            raise ValueError(f"{kind}: `filters` ({filters}) must be divisible by `groups` ({groups}).")
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", kind)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", kind)
        if min(self.kernel_size) < 1 or min(self.strides) < 1 or min(self.dilation_rate) < 1:
            raise ValueError(f"{kind}: `kernel_size`, `strides` and `dilation_rate` must be positive, got "
                             f"{self.kernel_size}, {self.strides} and {self.dilation_rate}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{kind}: `strides > 1` cannot be combined with `dilation_rate > 1`, got "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}.")
        padding = str(padding).lower()
        allowed = ("valid", "same", "causal") if self.rank == 1 and not self.transpose else ("valid", "same")
        if padding not in allowed:
            raise ValueError(f"{kind}: `padding` must be one of {allowed}, got {padding!r}.")
        self.padding = padding
        self.data_format = normalize_data_format(data_format, kind)
        self.output_padding = None
        if output_padding is not None:
            if not self.transpose:
                raise TypeError(f"{kind}: unexpected keyword argument 'output_padding'.")
            self.output_padding = normalize_tuple(output_padding, self.rank, "output_padding", kind)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{kind}: each `output_padding` must be smaller than its stride, got "
                                 f"output_padding={self.output_padding} and strides={self.strides}.")
        self.groups = groups
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self._init_args = serialized(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                                     kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                                     activity_regularizer=activity_regularizer,
                                     kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def _kind(self):
        return f"{type(self).__name__} '{self.name}'"

    def _input_channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._kind()}: expected ndim={self.rank + 2} (inputs of rank {self.rank + 2}: "
                             f"batch, {self.rank} spatial axes, channels), found ndim={len(input_shape)}: input "
                             f"shape {tuple(input_shape)}.")
        channels = spatial_and_channels(input_shape, self.data_format)[1]
        if channels is None:
            raise ValueError(f"{self._kind()}: the channel dimension of the input must be known, got shape "
                             f"{tuple(input_shape)} ({self.data_format}).")
        return channels

    def _check_build_input(self, input_shape):
        """The input's channel count, after checking the input's rank and that the output is not empty."""
        channels = self._input_channels(input_shape)
        self._output_spatial(input_shape)  # a kernel larger than its padded input fails here, before any weight
        # sizes unknown now (an Input of shape (None, None, c)) are checked on each call's concrete shape
        self._check_calls = any(n is None for n in spatial_and_channels(input_shape, self.data_format)[0])
        self.input_channels = channels
        return channels

    def build(self, input_shape):
        channels = self._check_build_input(input_shape)
        if channels % self.groups:
            raise ValueError(f"{self._kind()}: the {channels} input channels must be divisible by `groups` "
                             f"({self.groups}), got input shape {tuple(input_shape)}.")
        # Keras layouts: conv (*kernel_size, in // groups, out); transposed conv (*kernel_size, out, in)
        pair = (self.filters, channels) if self.transpose else (channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", self.kernel_size + pair, self.kernel_initializer,
                                      self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        B = _backend.get()
        if self._check_calls:  # shapes are static even while tracing: no cost per step
            self._output_spatial(B.shape(inputs))
        x = to_channels_last(B, inputs, self.data_format)
        bias = self.bias.value if self.use_bias else None
        if self.transpose:
            y = B.conv_transpose(x, self.kernel.value, self.strides, self.padding, self.output_padding,
                                 self.dilation_rate)
            y = y if bias is None else y + bias
        else:
            padding = self.padding
            if padding == "causal":
                padding = [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
            y = self._convolve(B, x, padding, bias)
        return from_channels_last(B, self.activation(y), self.data_format)

    def _convolve(self, B, x, padding, bias):
        """The convolution of channels_last `x` plus `bias` (None: none), before the activation."""
        return B.conv_with_bias(x, self.kernel.value, bias, self.strides, padding, self.dilation_rate, self.groups)

    def compute_output_shape(self, input_shape):
        channels = self._input_channels(input_shape)
        if self.built and channels != self.input_channels:
            raise ValueError(f"{self._kind()}: expected {self.input_channels} input channels, got shape "
                             f"{tuple(input_shape)}.")
        return with_channels(input_shape[0], self._output_spatial(input_shape), self.filters, self.data_format)

    def _output_spatial(self, input_shape):
        """The output's spatial lengths (None where the input's is unknown); an error when one is not positive."""
        spatial = spatial_and_channels(input_shape, self.data_format)[0]
        arguments = {"kernel_size": self.kernel_size, "strides": self.strides,
                     "dilation_rate": self.dilation_rate, "padding": self.padding}
        if self.transpose:
            paddings = self.output_padding or (None,) * self.rank
            out = [conv_transpose_output_length(n, k, s, self.padding, p, d) for n, k, s, p, d in
                   zip(spatial, self.kernel_size, self.strides, paddings, self.dilation_rate)]
            arguments["output_padding"] = self.output_padding
        else:
            out = [conv_output_length(n, k, s, self.padding, d)
                   for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        return check_output_size(self._kind(), input_shape, out, arguments)

    def get_config(self):
        config = {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                  "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                  "dilation_rate": self.dilation_rate, "groups": self.groups,
                  "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                  **self._init_args}
        if self.transpose:
            config["output_padding"] = self.output_padding
            config.pop("groups")
        return config


class Conv1D(BaseConv):
    """1D convolution over (batch, steps, channels) inputs; kernel (kernel_size, in, filters). See `BaseConv`."""
    rank = 1


class Conv2D(BaseConv):
    """2D convolution over (batch, rows, cols, channels) inputs; kernel (kh, kw, in, filters). See `BaseConv`."""
    rank = 2


class Conv3D(BaseConv):
    """3D convolution over (batch, d1, d2, d3, channels) inputs. See `BaseConv`."""
    rank = 3


class _BaseConvTranspose(BaseConv):
    """Transposed convolutions (the gradient of a convolution): kernel (*kernel_size, filters, in).

    Output length per axis: `input * stride` for "same", `input * stride + max(extent - stride, 0)` for
    "valid", or with `output_padding` (each smaller than its stride):
    `(input - 1) * stride + extent - 2 * (extent // 2 if "same" else 0) + output_padding`,
    with `extent = (kernel_size - 1) * dilation_rate + 1`. Other arguments as in `BaseConv`.
    """

    transpose = True
    _not_in_config = ("groups",)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         output_padding=output_padding, **kwargs)


class Conv1DTranspose(_BaseConvTranspose):
    """1D transposed convolution. See `_BaseConvTranspose`."""
    rank = 1


class Conv2DTranspose(_BaseConvTranspose):
    """2D transposed convolution (a "deconvolution"). See `_BaseConvTranspose`."""
    rank = 2


class Conv3DTranspose(_BaseConvTranspose):
    """3D transposed convolution. See `_BaseConvTranspose`."""
    rank = 3



def _depthwise_conv(B, x, kernel, strides, padding, dilation_rate, bias=None):
    """A depthwise convolution of channels_last `x` with a `(*kernel_size, in, multiplier)` kernel (plus `bias`):
    a grouped convolution with one group per input channel, output channel `c * multiplier + m` (Keras's order)."""
    shape = tuple(B.shape(kernel))
    grouped = B.reshape(kernel, shape[:-2] + (1, shape[-2] * shape[-1]))
    return B.conv_with_bias(x, grouped, bias, strides, padding, dilation_rate, shape[-2])


class _BaseDepthwiseConv(BaseConv):
    """Depthwise convolutions: each input channel convolved with its own `depth_multiplier` filters, giving
    `in * depth_multiplier` output channels; kernel `(*kernel_size, in, depth_multiplier)`. Other arguments as in
    `BaseConv`, with `depthwise_*` naming the kernel's initializer, regularizer and constraint."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        kind = f"{type(self).__name__} '{kwargs.get('name') or type(self).__name__}'"
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", kind)
        super().__init__(self.depth_multiplier, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)

    def build(self, input_shape):
        channels = self._check_build_input(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.depth_multiplier),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer,
                                    self.bias_regularizer, constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _convolve(self, B, x, padding, bias):
        return _depthwise_conv(B, x, self.kernel.value, self.strides, padding, self.dilation_rate, bias)

    def compute_output_shape(self, input_shape):
        channels = self._input_channels(input_shape)
        return with_channels(input_shape[0], self._output_spatial(input_shape), channels * self.depth_multiplier,
                             self.data_format)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        for part in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{part}"] = config.pop(f"kernel_{part}")
        return {**config, "depth_multiplier": self.depth_multiplier}


class _BaseSeparableConv(_BaseDepthwiseConv):
    """Depthwise separable convolutions: a depthwise convolution (`depth_multiplier` filters per input channel)
    then a 1x1 "pointwise" convolution to `filters` channels. Weights `depthwise_kernel`
    `(*kernel_size, in, depth_multiplier)` and `pointwise_kernel` `(1, ..., 1, in * depth_multiplier, filters)`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.filters = positive_int(filters, "filters", self._kind())
        self._pointwise_args = serialized(pointwise_initializer=pointwise_initializer,
                                          pointwise_regularizer=pointwise_regularizer,
                                          pointwise_constraint=pointwise_constraint)
        self.pointwise_initializer = _initializers.get(pointwise_initializer)
        self.pointwise_regularizer = _regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = _constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._check_build_input(input_shape)
        self.depthwise_kernel = self.add_weight("depthwise_kernel",
                                                self.kernel_size + (channels, self.depth_multiplier),
                                                self.kernel_initializer, self.kernel_regularizer,
                                                constraint=self.kernel_constraint)
        self.pointwise_kernel = self.add_weight("pointwise_kernel",
                                                (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _convolve(self, B, x, padding, bias):
        depthwise = _depthwise_conv(B, x, self.depthwise_kernel.value, self.strides, padding, self.dilation_rate)
        ones = (1,) * self.rank
        return B.conv_with_bias(depthwise, self.pointwise_kernel.value, bias, ones, "valid", ones)

    def compute_output_shape(self, input_shape):
        self._input_channels(input_shape)
        return with_channels(input_shape[0], self._output_spatial(input_shape), self.filters, self.data_format)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._pointwise_args}


class DepthwiseConv1D(_BaseDepthwiseConv):
    """1D depthwise convolution over (batch, steps, channels). See `_BaseDepthwiseConv`."""
    rank = 1


class DepthwiseConv2D(_BaseDepthwiseConv):
    """2D depthwise convolution over images. See `_BaseDepthwiseConv`."""
    rank = 2


class SeparableConv1D(_BaseSeparableConv):
    """1D depthwise separable convolution. See `_BaseSeparableConv`."""
    rank = 1


class SeparableConv2D(_BaseSeparableConv):
    """2D depthwise separable convolution (as in MobileNet and Xception). See `_BaseSeparableConv`."""
    rank = 2

# Keras aliases
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (Conv1DTranspose, Conv2DTranspose,
                                                                          Conv3DTranspose)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

# Keras 2's `keras.layers.convolutional` also held the padding, cropping and upsampling layers. Imported last:
# mlfront.layers.spatial itself imports helpers from this module.
from mlfront.layers.spatial import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D,  # noqa: E402,F401
                                    UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
