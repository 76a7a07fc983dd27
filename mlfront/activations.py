"""Activation functions by Keras name; each maps a backend array to one of the same shape."""

from mlfront import backend as _backend
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup


def relu(x):
    return _backend.get().relu(x)


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
                               hard_sigmoid, exponential, swish, linear)}
ALL["silu"] = silu


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
