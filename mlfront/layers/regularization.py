"""Noise and regularization layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout and
ActivityRegularization. Each is the identity outside training; their randomness comes from the step's key stream
(or the layer's own `seed` outside a step), like Dropout's."""

import math

from mlfront import backend as _backend
from mlfront import regularizers as _regularizers
from mlfront.backend import config as _config
from mlfront.layers.advanced_activations import _Elementwise as _Identity  # output shape and mask = input's
from mlfront.layers.base import check_seed, next_key, resolve_training
from mlfront.layers.core import Dropout

# SELU's constants (Klambauer et al. 2017): AlphaDropout keeps a SELU network's mean and variance
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _rate(layer, rate, upper_open=True):
    ok = isinstance(rate, (int, float)) and not isinstance(rate, bool) and (0 <= rate < 1 if upper_open
                                                                             else 0 <= rate <= 1)
    if not ok:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `rate` must be a number in "
                         f"{'[0, 1)' if upper_open else '[0, 1]'}, got {rate!r}.")
    return float(rate)


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared over the spatial axes."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = data_format if self.rank > 1 else None
        if self.rank > 1 and (data_format or _config.image_data_format()) not in ("channels_last",
                                                                                 "channels_first"):
            raise ValueError(f"{type(self).__name__} '{self.name}': `data_format` must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}.")

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of rank {self.rank + 2} "
                             f"(batch, {'spatial axes' if self.rank > 1 else 'steps'}, channels), got shape "
                             f"{tuple(input_shape)}.")
        super().build(input_shape)

    def _mask_shape(self, inputs):
        shape = tuple(_backend.get().shape(inputs))
        if (self.data_format or _config.image_data_format()) == "channels_first" and self.rank > 1:
            return (shape[0], shape[1]) + (1,) * self.rank
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return {**config, **({"data_format": self.data_format} if self.rank > 1 else {})}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of `(batch, steps, channels)` inputs (one draw per sample and channel)."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images (channels_last or channels_first)."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature maps of volumes (channels_last or channels_first)."""

    rank = 3


class GaussianNoise(_Identity):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"GaussianNoise '{self.name}': `stddev` must be a number >= 0, got {stddev!r}.")
        self.stddev = float(stddev)
        self.seed = check_seed(seed, f"GaussianNoise '{self.name}'")

    def call(self, inputs, training=None):
        if not resolve_training(training) or self.stddev == 0:
            return inputs
        B = _backend.get()
        return inputs + B.random_normal(next_key(self), B.shape(inputs), stddev=self.stddev, dtype=B.dtype(inputs))

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Identity):
    """Multiplies the inputs by Gaussian noise of mean 1 and variance `rate / (1 - rate)` in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate)
        self.seed = check_seed(seed, f"GaussianDropout '{self.name}'")

    def call(self, inputs, training=None):
        if not resolve_training(training) or self.rate == 0:
            return inputs
        B = _backend.get()
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * B.random_normal(next_key(self), B.shape(inputs), mean=1.0, stddev=stddev,
                                        dtype=B.dtype(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Identity):
    """Dropout for SELU networks: dropped inputs are set to SELU's negative saturation value and the result is
    rescaled so that the mean and variance of the inputs are kept.

    Args:
        rate: the fraction dropped, in [0, 1).
        noise_shape: the shape of the keep/drop mask, broadcast over the input; None entries take its size.
        seed: the layer's own random stream outside a training step.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = check_seed(seed, f"AlphaDropout '{self.name}'")

    def call(self, inputs, training=None):
        if not resolve_training(training) or self.rate == 0:
            return inputs
        B = _backend.get()
        shape = tuple(B.shape(inputs)) if self.noise_shape is None else \
            tuple(size if n is None else n for n, size in zip(self.noise_shape, B.shape(inputs)))
        keep = B.cast(B.random_uniform(next_key(self), shape, dtype=B.dtype(inputs)) >= self.rate, B.dtype(inputs))
        saturation = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - self.rate) * (1.0 + self.rate * saturation ** 2)) ** -0.5
        b = -a * saturation * self.rate
        return a * (inputs * keep + saturation * (1.0 - keep)) + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}


class ActivityRegularization(_Identity):
    """The identity, adding `l1 * sum(|x|) + l2 * sum(x**2)` of its input (divided by the batch size) to the loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # a from_config of Keras's config names it; l1 / l2 rebuild it
        super().__init__(activity_regularizer=_regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs):
        return inputs

    def get_config(self):
        config = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        config.pop("activity_regularizer", None)
        return config
