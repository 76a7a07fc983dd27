"""`mlfront.ops`: a NumPy-like namespace (like `keras.ops`) that runs on the active backend.

Every public method of the active Backend object is exposed here as a function, e.g.
`ops.matmul(x, w)`, `ops.softmax(logits)`, `ops.mean(x, axis=0)`. Arguments may be backend arrays or
`mlfront.Variable`s; NumPy arrays are accepted where the engine accepts them. The core itself calls the
Backend object directly, so this layer's small cost is paid only by user code.
"""

from mlfront import backend as _backend
from mlfront.variables import Variable


def _unwrap(x):
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(item) for item in x)
    return x


def _accepting_variables(method):
    def op(*args, **kwargs):
        return method(*[_unwrap(a) for a in args], **{k: _unwrap(v) for k, v in kwargs.items()})
    op.__name__ = method.__name__
    op.__doc__ = method.__doc__
    return op


def convert_to_tensor(x, dtype=None):
    """A backend array from a NumPy array, Python value or Variable."""
    return _backend.get().convert(_unwrap(x), dtype)


def convert_to_numpy(x):
    """A NumPy array from a backend array or Variable."""
    return _backend.get().to_numpy(_unwrap(x))


def _export_backend_methods():
    B = _backend.get()
    for name in dir(B):
        if name.startswith("_") or name in globals():
            continue
        attr = getattr(B, name)
        if callable(attr):
            globals()[name] = _accepting_variables(attr)


_export_backend_methods()
