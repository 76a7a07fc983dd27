"""Weight initializers (Keras names). Each returns a NumPy array, drawn from mlfront's global generator
unless given a `seed`, so a seeded model starts from the same weights on every engine."""

import math

import numpy as np

from mlfront import random as _random
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup


class Initializer:
    """Base class: `initializer(shape, dtype)` returns a NumPy array."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return _random.numpy_generator(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype="float32"):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype="float32"):
        return self._rng().normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng, shape, stddev):
    """Normal samples redrawn until they lie within two standard deviations."""
    values = rng.normal(0.0, stddev, shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype="float32"):
        return (self.mean + _truncated_normal(self._rng(), shape, self.stddev)).astype(dtype)


def compute_fans(shape):
    """(fan_in, fan_out) of a kernel: Dense (in, out), or conv (*kernel_size, in, out)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(_Seeded):
    """Samples with variance `scale / n`, n being fan_in, fan_out or their mean (`mode`)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        # Keras 3.15's configs name the fan axes of an einsum kernel; only the default (None) is supported.
        for name, value in (("input_axes", input_axes), ("output_axes", output_axes)):
            if value is not None:
                raise NotImplementedError(f"{type(self).__name__}: {name}={value!r} is not supported; only None "
                                          f"(fans from the last two axes) is.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:  # truncated at 2 stddev; .8796 is the stddev of a unit normal truncated there
            values = _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)
        return values.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": None, "output_axes": None}


def _variance_scaling(class_name, scale, mode, distribution):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": None, "output_axes": None}
    return type(class_name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                                 "__doc__": f"VarianceScaling({scale}, {mode!r}, {distribution!r})."})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample, times `gain`."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        sample = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(sample)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


ALL = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_uniform": RandomUniform,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
    # Keras's short aliases ("uniform" in the Keras guides' custom layers)
    "uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros,
}


def _table():
    return {**ALL, **{cls.__name__: cls for cls in ALL.values()}}


def serialize(initializer):
    """Keras's dict form of an initializer."""
    return _serialization.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer a serialized dict (Keras 2 or 3) or a name describes."""
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=_table())
    return found() if isinstance(found, type) else found


def get(identifier):
    """An initializer from a name ("glorot_uniform", "GlorotUniform"), a serialized dict, a class, an instance
    or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, type):
        return identifier()
    if isinstance(identifier, str):
        found = _serialization.get_registered_object(identifier)
        return (found if found is not None else lookup(_table(), identifier, "initializer"))()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer {identifier!r}: expected a name, an Initializer or a "
                     f"callable (shape, dtype) -> array.")
