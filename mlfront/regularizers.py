"""Weight regularizers: penalties on a weight, added to the training loss."""

from mlfront import backend as _backend
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup


class Regularizer:
    """Base class: `regularizer(weight)` returns a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """`l1 * sum(|w|) + l2 * sum(w ** 2)`."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        B = _backend.get()
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * B.sum(B.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * B.sum(B.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


ALL = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def _table():
    return {**ALL, **{cls.__name__: cls for cls in (L1, L2, L1L2)}}


def serialize(regularizer):
    """Keras's dict form of a regularizer."""
    return _serialization.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer a serialized dict (Keras 2 or 3) or a name describes."""
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=_table())
    return found() if isinstance(found, type) else found


def get(identifier):
    """A regularizer from a name ("l2"), an instance or a callable weight -> penalty."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        found = _serialization.get_registered_object(identifier)
        return (found if found is not None else lookup(_table(), identifier, "regularizer"))()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer {identifier!r}: expected a name or a callable.")
