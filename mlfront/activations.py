"""Activation functions by Keras name; each maps a backend array to one of the same shape (`glu` halves `axis`)."""

import math

from mlfront import backend as _backend
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); with Keras's options: `negative_slope * (x - threshold)` below `threshold` (which is 0 by
    default), and the output capped at `max_value`."""
    B = _backend.get()
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return B.relu(x)
    if negative_slope < 0 or (max_value is not None and max_value < 0):
        raise ValueError(f"relu: `negative_slope` and `max_value` must be >= 0, got {negative_slope!r} and "
                         f"{max_value!r}.")
    out = B.where(x > threshold, x, negative_slope * (x - threshold) if negative_slope else B.zeros_like(x))
    return B.minimum(out, float(max_value)) if max_value is not None else out


def relu6(x):
    """min(max(x, 0), 6)."""
    return _backend.get().clip(x, 0.0, 6.0)


def leaky_relu(x, negative_slope=0.2):
    """`x` where positive, else `negative_slope * x`."""
    return _backend.get().where(x > 0, x, x * negative_slope)


def gelu(x, approximate=False):
    """Gaussian error linear unit: x * Phi(x), exactly through erf, or with `approximate` through Hendrycks &
    Gimpel's tanh formula (Keras's default is the exact form)."""
    B = _backend.get()
    if approximate:
        return 0.5 * x * (1.0 + B.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + B.erf(x / math.sqrt(2.0)))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    B = _backend.get()
    return B.maximum(x, 0.0) + B.minimum(alpha * (B.exp(B.minimum(x, 0.0) / alpha) - 1.0), 0.0)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)` for the two halves `a`, `b` of `x` along `axis` (its size must be even)."""
    B = _backend.get()
    size = B.shape(x)[axis]
    if size is not None and size % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got {size} (shape {tuple(B.shape(x))}).")
    a, b = B.split(x, 2, axis=axis)
    return a * B.sigmoid(b)


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return _backend.get().clip(x, -1.0, 1.0)


def hard_silu(x):
    """x * hard_sigmoid(x) (hard_swish)."""
    return x * _backend.get().hard_sigmoid(x)


def mish(x):
    """x * tanh(softplus(x))."""
    B = _backend.get()
    return x * B.tanh(B.softplus(x))


def sparse_plus(x):
    """0 for x <= -1, (x + 1)**2 / 4 between -1 and 1, x for x >= 1 (a smooth, sparse relu)."""
    B = _backend.get()
    return B.where(x <= -1.0, B.zeros_like(x), B.where(x >= 1.0, x, 0.25 * B.square(x + 1.0)))


def sigmoid(x):
    return _backend.get().sigmoid(x)


def tanh(x):
    return _backend.get().tanh(x)


def softmax(x, axis=-1):
    return _backend.get().softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return _backend.get().log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return _backend.get().elu(x, alpha)


def selu(x):
    return _backend.get().selu(x)


def softplus(x):
    return _backend.get().softplus(x)


def softsign(x):
    return _backend.get().softsign(x)


def hard_sigmoid(x):
    return _backend.get().hard_sigmoid(x)


def exponential(x):
    return _backend.get().exp(x)


def swish(x):
    return x * _backend.get().sigmoid(x)


silu = swish


def linear(x):
    return x


ALL = {f.__name__: f for f in (relu, sigmoid, tanh, softmax, log_softmax, elu, selu, softplus, softsign,
                               hard_sigmoid, exponential, swish, linear, relu6, leaky_relu, gelu, celu, glu,
                               hard_tanh, hard_silu, mish, sparse_plus)}
ALL.update(silu=silu, hard_swish=hard_silu)


def get(identifier):
    """An activation function from a name ("relu", or a registered "package>name"), a serialized dict, a
    function, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        found = _serialization.get_registered_object(identifier)
        return found if found is not None else lookup(ALL, identifier, "activation")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}: expected a name or a function.")


def serialize(activation):
    """A built-in activation's name; a registered function's Keras dict; any other function as itself (such a
    config serves in-process `from_config` but is not JSON-safe)."""
    name = getattr(activation, "__name__", None)
    if ALL.get(name) is activation:
        return name
    return _serialization.function_config(activation)


def deserialize(config, custom_objects=None):
    """The activation function a name or a serialized dict stands for (custom ones from `custom_objects`)."""
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=ALL)
    if not callable(found):
        raise ValueError(f"activations.deserialize: {config!r} does not describe a function.")
    return found
