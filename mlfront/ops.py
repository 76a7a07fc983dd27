"""`mlfront.ops`: the `keras.ops` functions, on the active backend.

Names, argument names and defaults are Keras 3's (`ops.argmax(x)` is over all axes, `ops.split(x, 2)` along
axis 0, ...). Each function is a thin wrapper over one Backend method; arguments may be backend arrays,
`mlfront.Variable`s, NumPy arrays or Python numbers. Only the names in `__all__` are public: the Backend's
own machinery (`compile`, `prepare_batch`, random keys, ...) is not part of this namespace.

Example:
    >>> from mlfront import ops
    >>> x = ops.convert_to_tensor([[1.0, -2.0], [3.0, 0.5]])
    >>> ops.convert_to_numpy(ops.argmax(x, axis=1))
    array([0, 0], dtype=int32)
"""

import builtins

import numpy as np

from mlfront import backend as _backend
from mlfront.backend import config as _config
from mlfront.backend.keras2_functions import symbolic_op as _symbolic_op
from mlfront.variables import Variable

__all__ = [
    # creation and conversion
    "convert_to_tensor", "convert_to_numpy", "cast", "dtype", "shape", "zeros", "ones", "zeros_like",
    "ones_like", "full", "full_like", "arange", "eye", "linspace", "meshgrid", "tril", "triu",
    # elementwise
    "abs", "sign", "negative", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "floor", "round",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "erf", "power", "add", "subtract", "multiply", "divide", "maximum", "minimum",
    "clip", "where", "isnan", "isinf", "isfinite", "equal", "not_equal", "greater", "greater_equal", "less",
    "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor",
    # reductions
    "sum", "mean", "max", "min", "prod", "std", "var", "any", "all", "argmax", "argmin", "logsumexp",
    "cumsum", "norm", "top_k", "sort",
    # shapes, gathers and scatters
    "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "take",
    "take_along_axis", "broadcast_to", "flip", "tile", "repeat", "pad", "one_hot", "einsum", "matmul",
    "slice", "slice_update", "scatter", "scatter_update",
    # neural-network functions
    "relu", "sigmoid", "softplus", "softsign", "elu", "selu", "hard_sigmoid", "softmax", "log_softmax", "conv",
    "conv_transpose", "max_pool", "average_pool", "dot_product_attention",
    # control flow and autodiff
    "cond", "while_loop", "fori_loop", "stop_gradient",
    # image functions, as `ops.image.<name>`
    "image",
]

# What lived here before `mlfront.ops` followed keras.ops, and where it is now.
_MOVED = {"compile": "mlfront.jit", "value_and_grad": "mlfront.value_and_grad",
          "resize": "mlfront.ops.image.resize", "affine_transform": "mlfront.ops.image.affine_transform"}


def __getattr__(name):
    if name in _MOVED:
        raise AttributeError(f"mlfront.ops.{name} is not a keras.ops function; use {_MOVED[name]}")
    raise AttributeError(f"module 'mlfront.ops' has no attribute {name!r}")


def _unwrap(x):
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(item) for item in x)
    return x


def _tensor(x, dtype=None):
    """`x` as a backend array: Variables unwrapped, NumPy arrays and Python values converted."""
    x = _unwrap(x)
    B = _backend.get()
    if B.is_array(x):
        return x if dtype is None else B.cast(x, dtype)
    if isinstance(x, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        return B.convert(np.asarray(x) if isinstance(x, (list, tuple)) else x, dtype)
    return x  # anything else (e.g. a symbolic tensor) goes to the engine as it is


_symbolic_types = []


def _is_symbolic(x):
    if not _symbolic_types:
        from mlfront.layers.graph import SymbolicTensor
        _symbolic_types.append(SymbolicTensor)
    return isinstance(x, _symbolic_types[0])


def _dtype_name(dtype, default=None):
    if dtype is None:
        return default
    name = _backend.get().standardize_dtype(dtype)
    return {"float": _config.floatx(), "int": "int32"}.get(name, name)


def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


def _reduce(method, x, axis, keepdims):
    """`method(x, axis, keepdims)` with axis=None spelled as every axis (engines drop keepdims for None)."""
    x = _tensor(x)
    if axis is None and keepdims:
        axis = tuple(range(len(_backend.get().shape(x))))
    return method(x, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------- creation and conversion
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A backend array from a NumPy array, Python value or Variable.

    Args:
        x: the value.
        dtype: the dtype (a name, NumPy dtype or engine dtype); None keeps the value's (float64 becomes float32).
        sparse: sparse tensors are not supported; only None/False is accepted.
        ragged: ragged tensors are not supported; only None/False is accepted.

    Returns:
        A backend array.
    """
    if sparse or ragged:
        raise NotImplementedError(f"convert_to_tensor: sparse={sparse!r} / ragged={ragged!r} are not supported")
    return _backend.get().convert(_unwrap(x), _dtype_name(dtype))


def convert_to_numpy(x):
    """A NumPy array from a backend array or Variable."""
    if _is_symbolic(x):
        raise TypeError(f"convert_to_numpy: a symbolic tensor {x!r} has no value until its model runs; "
                        f"evaluate it with `mlfront.backend.function([model.input], [tensor])`.")
    return _backend.get().to_numpy(_unwrap(x))


def cast(x, dtype):
    """`x` converted to `dtype`.

    Args:
        x: an array.
        dtype: a dtype name ("float32"), a NumPy dtype (`np.float32`) or an engine dtype (`torch.float32`,
            `jnp.float32`, `tf.float32`).

    Returns:
        The converted array.
    """
    return _backend.get().cast(_tensor(x), _dtype_name(dtype))


def dtype(x):
    """The dtype name of `x` ("float32", ...)."""
    if _is_symbolic(x):
        return x.dtype
    return _backend.get().dtype(_tensor(x))


def shape(x):
    """The shape of `x` as a tuple (None for a dimension unknown while tracing, or of a symbolic tensor)."""
    if _is_symbolic(x):
        return x.shape
    return _backend.get().shape(_tensor(x))


def zeros(shape, dtype=None):
    """An array of zeros of `shape` (dtype: `floatx()` by default)."""
    return _backend.get().zeros(tuple(shape) if not isinstance(shape, int) else (shape,),
                                _dtype_name(dtype, _config.floatx()))


def ones(shape, dtype=None):
    """An array of ones of `shape` (dtype: `floatx()` by default)."""
    return _backend.get().ones(tuple(shape) if not isinstance(shape, int) else (shape,),
                               _dtype_name(dtype, _config.floatx()))


def zeros_like(x, dtype=None):
    """Zeros with the shape of `x` and its dtype (or `dtype`)."""
    x = _tensor(x)
    B = _backend.get()
    return B.zeros(B.shape(x), _dtype_name(dtype, B.dtype(x)))


def ones_like(x, dtype=None):
    """Ones with the shape of `x` and its dtype (or `dtype`)."""
    x = _tensor(x)
    B = _backend.get()
    return B.ones(B.shape(x), _dtype_name(dtype, B.dtype(x)))


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (dtype: `floatx()` by default)."""
    return _backend.get().full(tuple(shape) if not isinstance(shape, int) else (shape,), fill_value,
                               _dtype_name(dtype, _config.floatx()))


def full_like(x, fill_value, dtype=None):
    """An array with the shape of `x` filled with `fill_value` (dtype: that of `x` by default)."""
    x = _tensor(x)
    B = _backend.get()
    return B.full(B.shape(x), fill_value, _dtype_name(dtype, B.dtype(x)))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)`, like `numpy.arange`.

    Args:
        start: the first value (or the end when `stop` is None).
        stop: the end (excluded).
        step: the spacing (1 by default).
        dtype: the dtype; by default int32 when every bound is an int, else `floatx()`.
    """
    step = 1 if step is None else step
    integral = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step) if v is not None)
    return _backend.get().arange(start, stop, step, _dtype_name(dtype, "int32" if integral else _config.floatx()))


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the `k`-th diagonal and zeros elsewhere.

    Args:
        N: the number of rows.
        M: the number of columns (N by default).
        k: the diagonal: 0 the main one, positive above, negative below.
        dtype: the dtype (`floatx()` by default).
    """
    return _backend.get().eye(int(N), None if M is None else int(M), int(k), _dtype_name(dtype, _config.floatx()))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced samples from `start` to `stop`, like `numpy.linspace`.

    Args:
        start: the first value (a number or an array).
        stop: the last value (included when `endpoint`).
        num: the number of samples.
        endpoint: whether `stop` is the last sample.
        retstep: also return the spacing.
        dtype: the dtype (`floatx()` by default).
        axis: where the samples go when `start` / `stop` are arrays.

    Returns:
        The samples, or `(samples, step)` when `retstep`.
    """
    if num < 0:
        raise ValueError(f"linspace: num must be >= 0, got {num!r}")
    return _backend.get().linspace(_tensor(start), _tensor(stop), int(num), endpoint, retstep,
                                   _dtype_name(dtype, _config.floatx()), axis)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D arrays, like `numpy.meshgrid`.

    Args:
        *x: 1-D arrays.
        indexing: "xy" (Cartesian, the default) or "ij" (matrix).

    Returns:
        A list of arrays, one per input.
    """
    return _backend.get().meshgrid(*[_tensor(v) for v in x], indexing=indexing)


def tril(x, k=0):
    """`x` with the entries above the `k`-th diagonal of its last two axes set to zero."""
    return _backend.get().tril(_tensor(x), int(k))


def triu(x, k=0):
    """`x` with the entries below the `k`-th diagonal of its last two axes set to zero."""
    return _backend.get().triu(_tensor(x), int(k))


# ---------------------------------------------------------------------- elementwise
_UNARY_DOCS = {
    "abs": "Absolute value", "sign": "-1, 0 or 1 by the sign", "exp": "e ** x", "expm1": "exp(x) - 1, accurate near 0",
    "log": "Natural logarithm", "log1p": "log(1 + x), accurate near 0", "sqrt": "Square root",
    "rsqrt": "1 / sqrt(x)", "square": "x * x", "floor": "Rounded down", "sin": "Sine (radians)",
    "cos": "Cosine (radians)", "tan": "Tangent (radians)", "arcsin": "Inverse sine", "arccos": "Inverse cosine",
    "arctan": "Inverse tangent", "sinh": "Hyperbolic sine", "cosh": "Hyperbolic cosine",
    "tanh": "Hyperbolic tangent", "arcsinh": "Inverse hyperbolic sine", "arccosh": "Inverse hyperbolic cosine",
    "arctanh": "Inverse hyperbolic tangent", "erf": "The Gauss error function", "isnan": "True where NaN",
    "isinf": "True where +inf or -inf", "isfinite": "True where neither NaN nor infinite",
    "logical_not": "The logical negation (nonzero is True)", "relu": "max(x, 0)",
    "sigmoid": "1 / (1 + exp(-x))", "softplus": "log(1 + exp(x))", "softsign": "x / (1 + |x|)",
    "selu": "Scaled exponential linear unit", "hard_sigmoid": "relu6(x + 3) / 6",
}


def _unary(name):
    def op(x):
        return getattr(_backend.get(), name)(_tensor(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{_UNARY_DOCS[name]}, elementwise.\n\n    Args:\n        x: an array.\n\n"
                  f"    Returns:\n        An array.\n")
    return op


for _name in _UNARY_DOCS:
    globals()[_name] = _unary(_name)


_BINARY = {
    "power": ("x1 ** x2", lambda B, a, b: B.power(a, b)),
    "arctan2": ("The angle of the point (x2, x1), in [-pi, pi]", lambda B, a, b: B.arctan2(a, b)),
    "maximum": ("The larger of x1 and x2", lambda B, a, b: B.maximum(a, b)),
    "minimum": ("The smaller of x1 and x2", lambda B, a, b: B.minimum(a, b)),
    "logical_and": ("x1 and x2 (nonzero is True)", lambda B, a, b: B.logical_and(a, b)),
    "logical_or": ("x1 or x2 (nonzero is True)", lambda B, a, b: B.logical_or(a, b)),
    "logical_xor": ("x1 xor x2 (nonzero is True)", lambda B, a, b: B.logical_xor(a, b)),
    "equal": ("x1 == x2", lambda B, a, b: B.equal(a, b)),
    "not_equal": ("x1 != x2", lambda B, a, b: a != b),
    "greater": ("x1 > x2", lambda B, a, b: a > b),
    "greater_equal": ("x1 >= x2", lambda B, a, b: a >= b),
    "less": ("x1 < x2", lambda B, a, b: a < b),
    "less_equal": ("x1 <= x2", lambda B, a, b: a <= b),
    "add": ("x1 + x2", lambda B, a, b: a + b),
    "subtract": ("x1 - x2", lambda B, a, b: a - b),
    "multiply": ("x1 * x2", lambda B, a, b: a * b),
    "divide": ("x1 / x2 (true division)", lambda B, a, b: a / b),
}


def _operands(x1, x2):
    """Both operands as arrays; a Python number next to an array (or NumPy array) takes the array's dtype, as in
    Keras: an int array meets a float number in `floatx()`, a bool array meets an int number in int32."""
    B = _backend.get()
    a, b = _unwrap(x1), _unwrap(x2)
    a, b = (_tensor(a) if isinstance(a, np.ndarray) else a), (_tensor(b) if isinstance(b, np.ndarray) else b)
    for array, number, swap in ((a, b, False), (b, a, True)):
        if B.is_array(array) and isinstance(number, (int, float)) and not isinstance(number, bool):
            dtype = B.dtype(array)
            if isinstance(number, float) and not dtype.startswith(("float", "bfloat")):
                dtype = _config.floatx()
            elif dtype == "bool":
                dtype = "int32"
            array = array if dtype == B.dtype(array) else B.cast(array, dtype)
            number = B.convert(number, dtype)
            return (number, array) if swap else (array, number)
    return _tensor(a), _tensor(b)


def _binary(name):
    doc, fn = _BINARY[name]

    def op(x1, x2):
        a, b = _operands(x1, x2)
        return fn(_backend.get(), a, b)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{doc}, elementwise with broadcasting.\n\n    Args:\n        x1: an array.\n"
                  f"        x2: an array.\n\n"
                  f"    Returns:\n        An array.\n")
    return op


for _name in _BINARY:
    globals()[_name] = _binary(_name)


def negative(x):
    """-x, elementwise."""
    return -_tensor(x)


def round(x, decimals=0):
    """`x` rounded half to even (like NumPy) at `decimals` decimal digits."""
    return _backend.get().round(_tensor(x), int(decimals))


def clip(x, x_min, x_max):
    """`x` limited to `[x_min, x_max]`."""
    return _backend.get().clip(_tensor(x), _unwrap(x_min), _unwrap(x_max))


def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`; with neither given, the indices of the nonzero entries.

    Args:
        condition: a boolean array.
        x1: the values where `condition` is True.
        x2: the values elsewhere.

    Returns:
        An array, or (for `condition` alone) a tuple of int32 index arrays, one per axis.
    """
    B = _backend.get()
    condition = _tensor(condition)
    if x1 is None and x2 is None:
        return tuple(B.convert(i.astype("int32")) for i in np.nonzero(B.to_numpy(condition)))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, b = _operands(x1, x2)
    return B.where(B.cast(condition, "bool"), a, b)


# ---------------------------------------------------------------------- reductions
def _reduction(name, doc):
    def op(x, axis=None, keepdims=False):
        B = _backend.get()
        x = _tensor(x)
        if name in ("mean", "std", "var") and B.is_array(x) and not B.dtype(x).startswith(("float", "bfloat")):
            x = B.cast(x, _config.floatx())  # as in Keras, the mean of ints or bools is a float
        elif name == "sum" and B.is_array(x) and B.dtype(x) == "bool":
            x = B.cast(x, "int32")  # and the sum of bools an int32 count
        return _reduce(getattr(B, name), x, axis, keepdims)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{doc} over `axis`.\n\n    Args:\n        x: an array.\n        axis: an int, a tuple of ints, or "
                  f"None for all axes.\n        keepdims: keep the reduced axes with length 1.\n\n    Returns:\n"
                  f"        An array.")
    return op


for _name, _doc in [("sum", "The sum"), ("mean", "The mean"), ("std", "The (population) standard deviation"),
                    ("var", "The (population) variance"), ("any", "True where some entry is nonzero"),
                    ("all", "True where every entry is nonzero")]:
    globals()[_name] = _reduction(_name, _doc)


def max(x, axis=None, keepdims=False, initial=None):
    """The maximum over `axis` (None: all axes), at least `initial` when given."""
    B = _backend.get()
    out = _reduce(B.max, x, axis, keepdims)
    return out if initial is None else B.maximum(out, initial)


def min(x, axis=None, keepdims=False, initial=None):
    """The minimum over `axis` (None: all axes), at most `initial` when given."""
    B = _backend.get()
    out = _reduce(B.min, x, axis, keepdims)
    return out if initial is None else B.minimum(out, initial)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over `axis` (None: all axes), computed in `dtype` when given (bools: in int32, as in Keras)."""
    x = _tensor(x)
    if dtype is None and _backend.get().is_array(x) and _backend.get().dtype(x) == "bool":
        dtype = "int32"
    return _reduce(_backend.get().prod, x if dtype is None else cast(x, dtype), axis, keepdims)


def _arg_reduction(name):
    def op(x, axis=None, keepdims=False):
        B = _backend.get()
        x = _tensor(x)
        ndim = len(B.shape(x))
        if axis is None:
            out = getattr(B, name)(B.reshape(x, (-1,)), axis=0)
            return B.cast(B.reshape(out, (1,) * ndim) if keepdims else out, "int32")
        out = getattr(B, name)(x, axis=axis)
        return B.cast(B.expand_dims(out, axis) if keepdims else out, "int32")
    op.__name__ = op.__qualname__ = name
    which = "maximum" if name == "argmax" else "minimum"
    op.__doc__ = (f"The index of the (first) {which} along `axis`, as int32.\n\n    Args:\n        x: an array.\n"
                  f"        axis: an int, or None for the index into the flattened array.\n        keepdims: keep "
                  f"the reduced axis with length 1.\n\n    Returns:\n        An int32 array.")
    return op


argmax = _arg_reduction("argmax")
argmin = _arg_reduction("argmin")


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis` (None: all axes), without overflow."""
    B = _backend.get()
    x = _tensor(x)
    if axis is None:
        out = B.logsumexp(B.reshape(x, (-1,)), axis=0)
        return B.reshape(out, (1,) * len(B.shape(x))) if keepdims else out
    return B.logsumexp(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """The running sum along `axis` (None: over the flattened array), in `dtype` when given."""
    B = _backend.get()
    x = _tensor(x)
    if dtype is not None:
        x = B.cast(x, _dtype_name(dtype))
    return B.cumsum(B.reshape(x, (-1,)), axis=0) if axis is None else B.cumsum(x, axis=axis)


def norm(x, ord=None, axis=None, keepdims=False):
    """A vector or matrix norm, like `numpy.linalg.norm`.

    Args:
        x: an array.
        ord: the order: None (2-norm / Frobenius), a number, `inf`, `-inf`, 0, or for matrices "fro", 1, -1,
            inf, -inf (the singular-value norms "nuc", 2, -2 raise NotImplementedError).
        axis: an int (vector norms), a pair of ints (matrix norms), or None (all of a 1-D or 2-D `x`).
        keepdims: keep the reduced axes with length 1.
    """
    x = _tensor(x)
    B = _backend.get()
    if not B.dtype(x).startswith(("float", "bfloat")):
        x = B.cast(x, _config.floatx())
    return B.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def top_k(x, k, sorted=True):
    """`(values, indices)` of the `k` largest entries along the last axis (always returned sorted)."""
    values, indices = _backend.get().top_k(_tensor(x), int(k))
    return values, _backend.get().cast(indices, "int32")


def sort(x, axis=-1):
    """`x` sorted in ascending order along `axis`."""
    return _backend.get().sort(_tensor(x), axis=axis)


# ---------------------------------------------------------------------- shapes, gathers and scatters
def reshape(x, newshape):
    """`x` with shape `newshape` (one entry may be -1)."""
    return _backend.get().reshape(_tensor(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def transpose(x, axes=None):
    """`x` with its axes permuted (reversed when `axes` is None)."""
    return _backend.get().transpose(_tensor(x), None if axes is None else tuple(axes))


def expand_dims(x, axis):
    """`x` with a new axis of length 1 at `axis`."""
    return _backend.get().expand_dims(_tensor(x), axis)


def squeeze(x, axis=None):
    """`x` without its length-1 axes (all of them, or those in `axis`)."""
    B = _backend.get()
    x = _tensor(x)
    dims = B.shape(x)
    axes = [i for i, n in enumerate(dims) if n == 1] if axis is None else \
        [a % len(dims) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    for a in axes:
        if dims[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {dims[a]}, not 1 (shape {dims})")
    return B.reshape(x, tuple(n for i, n in enumerate(dims) if i not in axes))


def concatenate(xs, axis=0):
    """The arrays `xs` joined along the existing axis `axis`."""
    return _backend.get().concatenate([_tensor(x) for x in xs], axis=axis)


def stack(x, axis=0):
    """The arrays `x` joined along a new axis `axis`."""
    return _backend.get().stack([_tensor(v) for v in x], axis=axis)


def split(x, indices_or_sections, axis=0):
    """`x` cut along `axis`: into `indices_or_sections` equal parts (an int), or at the given indices (a list)."""
    B = _backend.get()
    x = _tensor(x)
    length = B.shape(x)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if length % int(indices_or_sections):
            raise ValueError(f"split: axis {axis} of length {length} does not split into "
                             f"{indices_or_sections} equal parts")
        return list(B.split(x, int(indices_or_sections), axis=axis))
    bounds = [0] + [int(i) for i in indices_or_sections] + [length]
    index = [builtins.slice(None)] * len(B.shape(x))
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[axis] = builtins.slice(lo, hi)
        parts.append(x[tuple(index)])
    return parts


def _indices(indices):
    B = _backend.get()
    indices = _tensor(indices)
    return indices if B.dtype(indices).startswith(("int", "uint")) else B.cast(indices, "int32")


def take(x, indices, axis=None):
    """The entries of `x` at integer `indices` along `axis` (None: of the flattened `x`)."""
    B = _backend.get()
    x = _tensor(x)
    if axis is None:
        x, axis = B.reshape(x, (-1,)), 0
    return B.take(x, _indices(indices), axis=axis)


def take_along_axis(x, indices, axis=None):
    """One entry of `x` per position of `indices` along `axis` (None: both flattened)."""
    B = _backend.get()
    x, indices = _tensor(x), _indices(indices)
    if axis is None:
        x, indices, axis = B.reshape(x, (-1,)), B.reshape(indices, (-1,)), 0
    return B.take_along_axis(x, indices, axis=axis)


def broadcast_to(x, shape):
    """`x` broadcast to `shape`."""
    return _backend.get().broadcast_to(_tensor(x), tuple(shape))


def flip(x, axis=None):
    """`x` with the order of entries reversed along `axis` (an int, a tuple, or None for all axes)."""
    B = _backend.get()
    x = _tensor(x)
    axes = _axes(axis, len(B.shape(x)))
    for a in (axes if isinstance(axes, (list, tuple)) else [axes]):
        x = B.flip(x, a)
    return x


def tile(x, repeats):
    """`x` repeated `repeats` times along each axis (an int or one int per axis), like `numpy.tile`."""
    repeats = [int(r) for r in repeats] if isinstance(repeats, (list, tuple)) else [int(repeats)]
    return _backend.get().tile(_tensor(x), repeats)


def repeat(x, repeats, axis=None):
    """Each entry of `x` repeated `repeats` times along `axis` (None: of the flattened `x`).

    Args:
        x: an array.
        repeats: an int, or one int per entry along `axis`.
        axis: the axis, or None.
    """
    B = _backend.get()
    repeats = _unwrap(repeats)
    if B.is_array(repeats) or isinstance(repeats, np.ndarray):
        repeats = [int(r) for r in np.asarray(B.to_numpy(repeats)).reshape(-1)]
    elif isinstance(repeats, (list, tuple)):
        repeats = [int(r) for r in repeats]
    else:
        repeats = int(repeats)
    x = _tensor(x)
    if axis is None:
        x, axis = B.reshape(x, (-1,)), 0
    if isinstance(repeats, list) and len(repeats) == 1:
        repeats = repeats[0]
    return B.repeat(x, repeats, axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    """`x` padded by `pad_width` (one `(before, after)` pair per axis, or one pair / int for all).

    Args:
        x: an array.
        pad_width: the widths.
        mode: only "constant" is supported.
        constant_values: the fill value (0 by default).
    """
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not supported (only 'constant')")
    B = _backend.get()
    x = _tensor(x)
    ndim = len(B.shape(x))
    width = np.broadcast_to(np.asarray(pad_width, dtype="int64").reshape(-1, 2) if np.ndim(pad_width) else
                            np.full((1, 2), int(pad_width)), (ndim, 2))
    return B.pad(x, [tuple(int(v) for v in row) for row in width],
                 constant_values=0 if constant_values is None else constant_values)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A one-hot encoding of integer `x` on a new axis `axis` (dtype: `floatx()` by default)."""
    if sparse:
        raise NotImplementedError("one_hot: sparse=True is not supported")
    B = _backend.get()
    out = B.one_hot(_indices(x), int(num_classes), _dtype_name(dtype, _config.floatx()))
    if axis in (-1, len(B.shape(out)) - 1):
        return out
    order = list(range(len(B.shape(out)) - 1))
    order.insert(axis % len(B.shape(out)), len(B.shape(out)) - 1)
    return B.transpose(out, tuple(order))


def einsum(subscripts, *operands, **kwargs):
    """The Einstein summation `subscripts` over `operands`, like `numpy.einsum`."""
    if kwargs:
        raise NotImplementedError(f"einsum: arguments {sorted(kwargs)} are not supported")
    return _backend.get().einsum(subscripts, *[_tensor(v) for v in operands])


def matmul(x1, x2):
    """The matrix product of `x1` and `x2`, broadcast over leading axes."""
    return _backend.get().matmul(_tensor(x1), _tensor(x2))


def slice(inputs, start_indices, shape):
    """The block of `inputs` of size `shape` starting at `start_indices`."""
    return _backend.get().slice(_tensor(inputs), _ints(start_indices), tuple(int(n) for n in shape))


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block starting at `start_indices` replaced by `updates`."""
    return _backend.get().slice_update(_tensor(inputs), _ints(start_indices), _tensor(updates))


def _ints(values):
    """Python ints from a list, tuple or concrete array (traced arrays are passed on to the engine)."""
    B = _backend.get()
    values = _unwrap(values)
    if B.is_array(values):
        try:
            return [int(v) for v in np.asarray(B.to_numpy(values)).reshape(-1)]
        except Exception:  # a traced array: engines with a native dynamic slice take it as it is
            return values
    return [int(v) for v in values]


def scatter(indices, values, shape):
    """Zeros of `shape` with `values` added at `indices` (an `(N, k)` int array; repeated indices add up)."""
    return _backend.get().scatter(_indices(indices), _tensor(values), tuple(int(n) for n in shape))


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with the entries at `indices` (an `(N, k)` int array) replaced by `updates`."""
    if reduction is not None:
        raise NotImplementedError(f"scatter_update: reduction={reduction!r} is not supported")
    return _backend.get().scatter_update(_tensor(inputs), _indices(indices), _tensor(updates))


# ---------------------------------------------------------------------- neural-network functions
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`."""
    return _backend.get().elu(_tensor(x), alpha)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`."""
    return _backend.get().softmax(_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably."""
    return _backend.get().log_softmax(_tensor(x), axis=axis)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """An N-D convolution of channels_last `inputs` with a `(*kernel_size, in, out)` kernel.

    Args:
        inputs: `(batch, *spatial, channels)`.
        kernel: `(*kernel_size, in_channels, out_channels)`.
        strides: an int or one int per spatial axis.
        padding: "valid" or "same".
        data_format: "channels_last" (None reads `image_data_format()`); "channels_first" is not supported.
        dilation_rate: an int or one int per spatial axis.
    """
    _channels_last("conv", data_format)
    B = _backend.get()
    inputs, kernel = _tensor(inputs), _tensor(kernel)
    n = len(B.shape(inputs)) - 2
    return B.conv(inputs, kernel, _per_axis(strides, n), _padding(padding), _per_axis(dilation_rate, n))


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """An N-D transposed convolution of channels_last `inputs` with a `(*kernel_size, out, in)` kernel.

    Args:
        inputs: `(batch, *spatial, channels)`.
        kernel: `(*kernel_size, out_channels, in_channels)`.
        strides: an int or one int per spatial axis.
        padding: "valid" or "same".
        output_padding: extra length on the output's far side (an int, one per axis, or None).
        data_format: "channels_last" (None reads `image_data_format()`); "channels_first" is not supported.
        dilation_rate: an int or one int per spatial axis.
    """
    _channels_last("conv_transpose", data_format)
    B = _backend.get()
    inputs, kernel = _tensor(inputs), _tensor(kernel)
    n = len(B.shape(inputs)) - 2
    output_padding = None if output_padding is None else _per_axis(output_padding, n)
    return B.conv_transpose(inputs, kernel, _per_axis(strides, n), _padding(padding), output_padding,
                            _per_axis(dilation_rate, n))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling of channels_last `inputs` over windows of `pool_size` (strides: `pool_size` by default)."""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling of channels_last `inputs` over windows of `pool_size` (strides: `pool_size` by default)."""
    return _pool("avg_pool", inputs, pool_size, strides, padding, data_format)


def _pool(method, inputs, pool_size, strides, padding, data_format):
    _channels_last("max_pool" if method == "max_pool" else "average_pool", data_format)
    B = _backend.get()
    inputs = _tensor(inputs)
    n = len(B.shape(inputs)) - 2
    pool_size = _per_axis(pool_size, n)
    return getattr(B, method)(inputs, pool_size, pool_size if strides is None else _per_axis(strides, n),
                              _padding(padding))


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention, `softmax(query . key * scale + bias) . value`, on the engine's fused kernel
    where it has one (torch's `scaled_dot_product_attention`, `jax.nn.dot_product_attention`).

    Args:
        query: `(batch, query_positions, heads, depth)`; key and value: `(batch, key_positions, heads, depth)`
            (value's depth may differ).
        bias: added to the scores, broadcastable to `(batch, heads, query_positions, key_positions)`.
        mask: boolean, broadcastable to the same shape; True where a key may be attended.
        scale: the scores' factor; 1 / sqrt(depth) by default.
        is_causal: query position i attends key positions 0..i only.
        flash_attention: None or False; True (require a flash-attention kernel) is not supported.
        attn_logits_soft_cap: None; a soft cap (`cap * tanh(scores / cap)`) is not supported.
    """
    if flash_attention:
        raise NotImplementedError(f"ops.dot_product_attention: flash_attention={flash_attention!r} is not "
                                  f"supported; pass None or False (the engine's fused kernel is used where it has "
                                  f"one).")
    if attn_logits_soft_cap is not None:
        raise NotImplementedError(f"ops.dot_product_attention: attn_logits_soft_cap={attn_logits_soft_cap!r} is "
                                  f"not supported; only None is.")
    B = _backend.get()
    query, key, value = _tensor(query), _tensor(key), _tensor(value)
    shapes = {"query": B.shape(query), "key": B.shape(key), "value": B.shape(value)}
    for name, shape in shapes.items():
        if len(shape) != 4:
            raise ValueError(f"ops.dot_product_attention: `{name}` must be (batch, positions, heads, depth), got "
                             f"shape {tuple(shape)}.")
    q, k, v = shapes["query"], shapes["key"], shapes["value"]
    if q[0] != k[0] or k[:3] != v[:3] or q[2] != k[2] or q[3] != k[3]:
        raise ValueError(f"ops.dot_product_attention: query {tuple(q)}, key {tuple(k)} and value {tuple(v)} must "
                         f"agree in batch and heads, key and value in positions, query and key in depth.")
    return B.dot_product_attention(query, key, value, None if bias is None else _tensor(bias, B.dtype(query)),
                                   None if mask is None else _tensor(mask, "bool"),
                                   None if scale is None else float(scale), bool(is_causal))


def _per_axis(value, n):
    return (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(value)


def _padding(padding):
    # a string as Keras spells it; explicit per-axis (before, after) pairs are an mlfront extension
    return padding.lower() if isinstance(padding, str) else padding


# ---------------------------------------------------------------------- control flow and autodiff
def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()` (a traced branch under `mlfront.jit` on jax and tensorflow)."""
    return _backend.get().cond(_tensor(pred), true_fn, false_fn)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Apply `body` while `cond` holds.

    Args:
        cond: `cond(*loop_vars) -> bool`.
        body: `body(*loop_vars) -> new loop_vars` (same structure).
        loop_vars: a tuple or list of arrays, or one array.
        maximum_iterations: stop after this many steps at most.

    Returns:
        The final loop variables, in the structure of `loop_vars`.
    """
    is_sequence = isinstance(loop_vars, (list, tuple))
    values = tuple(_tensor(v) for v in (loop_vars if is_sequence else [loop_vars]))
    if is_sequence:
        step, test = body, cond
    else:
        def step(v):
            return (body(v),)
        test = cond
    out = _backend.get().while_loop(test, step, values, maximum_iterations)
    return (type(loop_vars)(out) if is_sequence else out[0])


def fori_loop(lower, upper, body_fun, init_val):
    """`init_val` updated by `body_fun(i, value)` for `i` in `range(lower, upper)`."""
    return _backend.get().fori_loop(_unwrap(lower), _unwrap(upper), body_fun, _unwrap(init_val))


def stop_gradient(variable):
    """`variable`'s value, treated as a constant by autodiff."""
    return _backend.get().stop_gradient(_tensor(variable))


# ---------------------------------------------------------------------- image functions
class _ImageOps:
    """`keras.ops.image`: image functions on channels_last batches."""

    @staticmethod
    def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
               pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
        """`images` resized to `size = (height, width)` with half-pixel centres ("bilinear" or "nearest")."""
        for name, value in [("antialias", antialias), ("crop_to_aspect_ratio", crop_to_aspect_ratio),
                            ("pad_to_aspect_ratio", pad_to_aspect_ratio)]:
            if value:
                raise NotImplementedError(f"image.resize: {name}={value!r} is not supported")
        _channels_last("image.resize", data_format)
        return _backend.get().resize(_tensor(images), tuple(size), interpolation)

    @staticmethod
    def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                         data_format=None):
        """`images` warped by projective `transform`s `[a0, a1, a2, b0, b1, b2, c0, c1]` (output to input points)."""
        _channels_last("image.affine_transform", data_format)
        return _backend.get().affine_transform(_tensor(images), _tensor(transform), interpolation, fill_mode,
                                               fill_value)


def _channels_last(where_, data_format):
    data_format = data_format or _config.image_data_format()
    if data_format != "channels_last":
        raise NotImplementedError(f"{where_}: data_format={data_format!r} is not supported (only 'channels_last')")


image = _ImageOps()
del _name, _doc

# On symbolic tensors (a Functional model being built), each op records a graph node (an `OpLayer`), as in
# Keras 3; `shape` and `dtype` give the tensor's static ones, and `convert_to_numpy` refuses.
for _name in __all__:
    if _name not in ("convert_to_numpy", "shape", "dtype", "image"):
        globals()[_name] = _symbolic_op(f"ops.{_name}", globals()[_name])
for _name in ("resize", "affine_transform"):
    setattr(_ImageOps, _name, staticmethod(_symbolic_op(f"ops.image.{_name}", getattr(_ImageOps, _name))))
del _name
