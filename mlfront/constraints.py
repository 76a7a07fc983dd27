"""Weight constraints: projections the optimizer applies to a weight after every update.

A layer's `kernel_constraint=` (and the other `*_constraint` arguments) sets `variable.constraint`; the optimizer
then replaces the weight `w` by `constraint(w)` after each step, as Keras does.
"""

import inspect

from mlfront import ops as _ops
from mlfront.backend import config as _config
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import canonical


def _norms(w, axis):
    """The Euclidean norms of `w` along `axis` (an int or a list of ints), kept as length-1 axes."""
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return _ops.sqrt(_ops.sum(_ops.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: `constraint(w)` returns the projected weight (by default `w` unchanged).

    Subclasses override `__call__`; `get_config` / `from_config` make them serializable.

    Example:
        >>> class Clip01(mlfront.constraints.Constraint):
        ...     def __call__(self, w):
        ...         return mlfront.ops.clip(w, 0.0, 1.0)
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescales each weight vector along `axis` whose norm exceeds `max_value` down to norm `max_value`.

    `w * clip(norm, 0, max_value) / (epsilon + norm)`, with `norm` the L2 norm of `w` over `axis`.

    Args:
        max_value: the largest norm allowed.
        axis: the axis (int or list of ints) the norms are taken over: 0 for a Dense kernel
            `(input_dim, units)` constrains each unit's incoming weights; `[0, 1, 2]` for a Conv2D kernel.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = _ops.clip(norms, 0, self.max_value)
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm of each weight vector along `axis` towards `[min_value, max_value]`.

    The new norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm` (rate 1: strictly inside).

    Args:
        min_value / max_value: the bounds of the norm.
        rate: how far to move per step, in [0, 1].
        axis: the axis (int or list of ints) the norms are taken over.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = self.rate * _ops.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero: `maximum(w, 0)`."""

    def __call__(self, w):
        return _ops.maximum(_ops.convert_to_tensor(w), 0)


class UnitNorm(Constraint):
    """Scales each weight vector along `axis` to norm 1: `w / (epsilon + norm)`.

    Args:
        axis: the axis (int or list of ints) the norms are taken over.
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _ops.convert_to_tensor(w)
        return w / (_config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


# Keras's lower-case aliases are the classes themselves
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

ALL = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
ALL.update({"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm})


def _is_own_module(module):
    """Whether a config's "module" is Keras's or mlfront's constraints module (any of their spellings)."""
    parts = module.split(".") if isinstance(module, str) else []
    return bool(parts) and parts[0] in ("keras", "tf_keras", "mlfront") and "constraints" in parts


def serialize(constraint):
    """Keras's dict form of a constraint."""
    return _serialization.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint a serialized dict (Keras 2 or 3) or a name describes.

    Only mlfront's constraints and objects registered with `register_keras_serializable` or passed in
    `custom_objects` are built.
    """
    if isinstance(config, dict) and _is_own_module(config.get("module")):
        # Keras's own constraints module: look the class up in this module's table
        config = {key: value for key, value in config.items() if key != "module"}
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=ALL)
    return found() if inspect.isclass(found) else found


def get(identifier):
    """A constraint from None (None), a name ("max_norm", "NonNeg"), a Keras config dict, a class or a callable.

    Raises:
        ValueError: `identifier` is none of these, or names no known constraint.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        found = _serialization.get_registered_object(identifier)
        if found is None:
            wanted = canonical(identifier)
            found = next((cls for name, cls in ALL.items() if canonical(name) == wanted), None)
        if found is None:
            raise ValueError(f"Could not interpret constraint identifier {identifier!r}: valid names are "
                             f"{', '.join(sorted(ALL))}.")
        return found() if inspect.isclass(found) else found
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier {identifier!r}: expected None, a name, a config "
                     f"dict or a callable weight -> weight.")
