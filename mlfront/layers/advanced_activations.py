"""Activation layers with arguments or weights: ReLU, LeakyReLU, PReLU, ELU, Softmax (Keras 2's
`keras.layers.advanced_activations` module name, so its imports keep working)."""

import warnings

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import initializers as _initializers
from mlfront import regularizers as _regularizers
from mlfront.layers.base import Layer, serialized


class _Elementwise(Layer):
    """An activation layer: the output has the input's shape and mask."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def _non_negative(layer, argument, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `{argument}` must be a number >= 0, got {value!r}.")
    return float(value)


class ReLU(_Elementwise):
    """max(x, 0), with Keras's options: `negative_slope * (x - threshold)` below `threshold`, capped at
    `max_value`.

    Args:
        max_value: the largest output (None: no cap).
        negative_slope: the slope below the threshold.
        threshold: inputs at or below it (>= 0, as in Keras) are not passed through.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative(self, "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)
        self.threshold = _non_negative(self, "threshold", threshold)

    def call(self, inputs):
        return _activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                 threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """`x` where positive, else `negative_slope * x` (Keras 2's `alpha=` is read as `negative_slope`)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: `alpha` is deprecated, use `negative_slope`.", DeprecationWarning,
                          stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)

    def call(self, inputs):
        return _activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """`x` where positive, else `alpha * (exp(x) - 1)`."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return _activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_Elementwise):
    """Leaky ReLU with a learned slope per entry: `x` where positive, else `alpha * x`.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: of the `alpha` weight.
        shared_axes: axes (1 = the first after the batch axis) along which one slope is shared, e.g. `[1, 2]`
            for one slope per channel of an image.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = _initializers.get(alpha_initializer)
        self.alpha_regularizer = _regularizers.get(alpha_regularizer)
        self.alpha_constraint = _constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(f"PReLU '{self.name}': `shared_axes` must be axes >= 1 (0 is the batch axis), "
                                 f"got {shared_axes!r}.")
            self.shared_axes = axes

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {axis} is out of range for inputs of shape "
                                 f"{tuple(input_shape)}.")
            shape[axis - 1] = 1
        if any(size is None for size in shape):
            raise ValueError(f"PReLU '{self.name}': the input's axes must be known except the batch axis and the "
                             f"shared axes, got shape {tuple(input_shape)} with shared_axes={self.shared_axes}.")
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer, self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        super().build(input_shape)

    def call(self, inputs):
        B = _backend.get()
        return B.where(inputs > 0, inputs, inputs * self.alpha.value)

    def get_config(self):
        return {**super().get_config(), **serialized(alpha_initializer=self.alpha_initializer,
                                                     alpha_regularizer=self.alpha_regularizer,
                                                     alpha_constraint=self.alpha_constraint),
                "shared_axes": self.shared_axes}


class Softmax(_Elementwise):
    """softmax along `axis` (an int or a tuple of axes); where the call's `mask` is False, the output is 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs, mask=None):
        B = _backend.get()
        if mask is not None:  # masked positions get a large negative logit (within float16's range there)
            large_negative = -3e4 if B.dtype(inputs) == "float16" else -1e9
            inputs = inputs + (1.0 - B.cast(mask, B.dtype(inputs))) * large_negative
        if isinstance(self.axis, tuple) and len(self.axis) > 1:
            outputs = B.exp(inputs - B.logsumexp(inputs, axis=self.axis, keepdims=True))
        else:
            outputs = B.softmax(inputs, axis=self.axis[0] if isinstance(self.axis, tuple) else self.axis)
        return outputs * B.cast(mask, B.dtype(outputs)) if mask is not None else outputs

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}
