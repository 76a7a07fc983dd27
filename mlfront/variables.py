"""Variables: named, mutable holders of one backend array each.

Layers own Variables; the training core reads their values into a pure step function and writes the
new values back. `assign` only swaps the held array, so inside a traced step it records the new value
without touching engine state.

While a thread traces a compiled step (`private_values()`), the values it binds and assigns stay in a table of
that thread, so other threads calling the same model at the same time keep reading the real weights.
"""

import contextlib
import threading

import numpy as np

from mlfront import backend as _backend

_local = threading.local()  # .table: id(variable) -> value, while this thread traces a step
_tracing = [0]  # how many threads are inside private_values(); reads check their table only then
_tracing_lock = threading.Lock()


@contextlib.contextmanager
def private_values():
    """Inside: Variable values assigned on this thread (a compiled step's placeholders while it traces) are
    seen by this thread only, and are dropped on the way out; other threads see the shared values."""
    if getattr(_local, "table", None) is not None:  # nested: the outer table serves
        yield
        return
    _local.table = {}
    with _tracing_lock:
        _tracing[0] += 1
    try:
        yield
    finally:
        with _tracing_lock:
            _tracing[0] -= 1
        _local.table = None


class Variable:
    """A named array owned by a layer, optimizer or metric.

    Args:
        initial_value: NumPy array, Python number or backend array.
        trainable: whether optimizers update it.
        name: short name ("kernel"); `path` adds the owner's name ("dense_1/kernel").
        dtype: dtype name; defaults to the initial value's dtype (float32 for Python floats).
        aggregation: how replicas of a distributed step combine it (`mlfront.distribution.replicas`): "none"
            (identical on every replica), "mean", "sum" or "only_first_replica".
    """

    def __init__(self, initial_value, trainable=True, name="variable", dtype=None, path=None, aggregation="none"):
        B = _backend.get()
        if not B.is_array(initial_value):
            initial_value = np.asarray(initial_value, dtype=dtype or _default_dtype(initial_value))
        self._shared_value = B.convert(initial_value, dtype)
        self.trainable = trainable
        self.name = name
        self.path = path or name
        if aggregation not in ("none", "mean", "sum", "only_first_replica"):
            raise ValueError(f"Variable '{self.path}': `aggregation` must be one of 'none', 'mean', 'sum', "
                             f"'only_first_replica', got {aggregation!r}.")
        self.aggregation = aggregation

    @property
    def _value(self):
        if _tracing[0]:
            table = getattr(_local, "table", None)
            if table is not None and id(self) in table:
                return table[id(self)]
        return self._shared_value

    @_value.setter
    def _value(self, value):
        if _tracing[0]:
            table = getattr(_local, "table", None)
            if table is not None:
                table[id(self)] = value
                return
        self._shared_value = value

    @property
    def value(self):
        """The backend array held now."""
        return self._value

    def assign(self, value):
        """Hold `value` (a backend array, or anything convertible) from now on."""
        B = _backend.get()
        if not B.is_array(value):
            value = B.convert(np.asarray(value), self.dtype)
        self._value = value
        return self

    def assign_add(self, delta):
        return self.assign(self._value + delta)

    def assign_sub(self, delta):
        return self.assign(self._value - delta)

    @property
    def shape(self):
        return tuple(_backend.get().shape(self._value))

    @property
    def dtype(self):
        return _backend.get().dtype(self._value)

    def numpy(self):
        return _backend.get().to_numpy(self._value)

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array.astype(dtype) if dtype is not None else array

    def __repr__(self):
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"

    # Arithmetic on a Variable acts on its value, so custom layers can write `inputs @ self.w + self.b`.
    def __add__(self, other): return self._value + _unwrap(other)
    def __radd__(self, other): return _unwrap(other) + self._value
    def __sub__(self, other): return self._value - _unwrap(other)
    def __rsub__(self, other): return _unwrap(other) - self._value
    def __mul__(self, other): return self._value * _unwrap(other)
    def __rmul__(self, other): return _unwrap(other) * self._value
    def __truediv__(self, other): return self._value / _unwrap(other)
    def __rtruediv__(self, other): return _unwrap(other) / self._value
    def __matmul__(self, other): return self._value @ _unwrap(other)
    def __rmatmul__(self, other): return _unwrap(other) @ self._value
    def __pow__(self, other): return self._value ** _unwrap(other)
    def __neg__(self): return -self._value
    def __getitem__(self, index): return self._value[index]


def bind(variables, values):
    """Make each Variable hold the matching value (no conversion: the caller passes backend arrays)."""
    for variable, value in zip(variables, values):
        variable._value = value


def values_of(variables):
    """The arrays the Variables hold now."""
    return [v._value for v in variables]


def _unwrap(x):
    return x._value if isinstance(x, Variable) else x


def _default_dtype(value):
    array = np.asarray(value)
    if array.dtype == np.float64:
        return "float32"
    if array.dtype == np.int64:
        return "int32"
    return None
