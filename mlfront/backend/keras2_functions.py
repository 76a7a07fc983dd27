"""Keras 2's backend functions (`import mlfront.backend as K`), written over the active Backend.

Each function keeps Keras 2's name, argument names and defaults, takes engine arrays, `mlfront.Variable`s,
NumPy arrays or Python numbers, and returns an engine array, so it runs inside custom losses, metrics,
`Lambda` and custom layers, also in compiled (jax.jit / tf.function) steps. Two deliberate differences:
`shape` returns a tuple (Keras 3's `ops.shape`), and `zeros` / `ones` / `eye` return arrays (wrap them in
`variable` for a mutable one).

On symbolic tensors (a Functional model being built) each function that computes records a graph op (an
`OpLayer` node, see `symbolic_op`), as Keras does; `function` and `gradients` evaluate and differentiate such
graphs, as Keras 2's `K.function` / `K.gradients` do.
"""

import builtins
import functools
import math
import string

import numpy as np

from mlfront.backend import context as _context
from mlfront.backend import get as _get
from mlfront.backend.config import epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format

__all__ = [
    "epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format", "set_image_data_format",
    "clear_session", "backend", "int_shape", "shape", "ndim", "dtype", "cast", "constant", "variable", "zeros",
    "ones", "eye", "zeros_like", "ones_like", "get_value", "set_value", "batch_get_value", "sum", "mean", "std",
    "var", "max", "min", "prod", "argmax", "argmin", "square", "sqrt", "abs", "exp", "log", "pow", "clip",
    "sign", "round", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "maximum",
    "minimum", "sin", "cos", "dot", "batch_dot", "transpose", "reshape", "permute_dimensions", "expand_dims",
    "squeeze", "concatenate", "stack", "tile", "repeat_elements", "flatten", "batch_flatten", "one_hot",
    "gather", "l2_normalize", "relu", "elu", "softmax", "softplus", "softsign", "sigmoid", "hard_sigmoid",
    "tanh", "dropout", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "random_normal", "random_uniform", "random_bernoulli", "learning_phase", "set_learning_phase",
    "in_train_phase", "in_test_phase", "switch", "stop_gradient", "bias_add", "conv2d", "pool2d",
    "is_keras_tensor", "get_uid", "reset_uids", "function", "gradients",
]

# What is not recorded as a graph op on symbolic tensors: settings, static shapes and values, constructors
# from a shape, and the graph functions themselves. Every other function is (see `symbolic_op`).
_NOT_RECORDED = {
    "epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format", "set_image_data_format",
    "clear_session", "backend", "int_shape", "shape", "ndim", "dtype", "variable", "zeros", "ones", "eye",
    "get_value", "set_value", "batch_get_value", "learning_phase", "set_learning_phase", "is_keras_tensor",
    "get_uid", "reset_uids", "function", "gradients",
}

_uids = {}
_learning_phase = None  # None: follow the training flag of the model call in progress


# ---------------------------------------------------------------------------------------------- helpers
def _variable_class():
    from mlfront.variables import Variable
    return Variable


def _symbolic_class():
    from mlfront.layers.graph import SymbolicTensor
    return SymbolicTensor


def _t(x):
    """`x` as an engine array: Variables give their value; NumPy arrays and numbers are converted
    (floats to `floatx()`, Python ints to int32)."""
    B = _get()
    if isinstance(x, _variable_class()):
        return x.value
    if B.is_array(x):
        return x
    if isinstance(x, _symbolic_class()):
        raise TypeError(f"A symbolic tensor {x!r} has no value until its model runs; evaluate it with "
                        f"`K.function([model.input], [tensor])`.")
    array = np.asarray(x)
    if array.dtype == np.float64 or (array.dtype.kind == "f" and not isinstance(x, np.ndarray)):
        array = array.astype(floatx())
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return B.convert(array)


# (SymbolicTensor,) once `mlfront.layers.graph` is imported (it sets this; no symbolic tensor exists before).
_symbolic_types = ()
_containers = (list, tuple, dict)


def _holds_symbolic(values):
    for v in values:
        if isinstance(v, _containers):
            if _holds_symbolic(v.values() if isinstance(v, dict) else v):
                return True
        elif isinstance(v, _symbolic_types):
            return True
    return False


def symbolic_op(name, fn):
    """`fn` that, given a symbolic tensor anywhere in its arguments, records the call as a graph op (an
    `OpLayer` node named `name`, e.g. "backend.mean") and returns its symbolic output(s); on arrays it is `fn`.
    Used for the functions of this module and of `mlfront.ops`."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _holds_symbolic(args) or (kwargs and _holds_symbolic(kwargs.values())):
            from mlfront.layers.op_layer import record_op
            return record_op(name, args, kwargs)
        return fn(*args, **kwargs)
    op._op_name = name
    return op


def _axis(axis, rank):
    """A non-negative axis (or tuple of them), Keras 2 style: negative axes count from the end."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(a % rank for a in axis)
    return int(axis) % rank if rank else 0


# ---------------------------------------------------------------------------------------------- session
def clear_session():
    """Reset the automatic layer names, the `get_uid` counters and the learning phase, as Keras 2 does."""
    global _learning_phase
    from mlfront.layers import base as _layer_base
    _layer_base._name_counts.clear()
    _uids.clear()
    _learning_phase = None


def backend():
    """The active engine's name ("torch", "jax" or "tensorflow")."""
    return _get().name


def get_uid(prefix=""):
    """A per-`prefix` counter: 1 on the first call, then 2, 3, ...

    Args:
        prefix: the string the counter belongs to.
    """
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def reset_uids():
    """Restart every `get_uid` counter."""
    _uids.clear()


def is_keras_tensor(x):
    """True for a symbolic tensor of a Functional model, False for an array or Variable.

    Raises:
        ValueError: when `x` is neither.
    """
    if isinstance(x, _symbolic_class()):
        return True
    if isinstance(x, _variable_class()) or _get().is_array(x):
        return False
    raise ValueError(f"is_keras_tensor: expected a symbolic tensor, an array or a Variable, "
                     f"got an instance of {type(x).__name__}.")


# ---------------------------------------------------------------------------------------------- shapes, dtypes
def int_shape(x):
    """The shape of `x` as a tuple of ints, None for unknown dimensions (the batch of a symbolic tensor)."""
    if isinstance(x, (_symbolic_class(), np.ndarray)):
        return tuple(x.shape)
    if isinstance(x, _variable_class()):
        return x.shape
    if _get().is_array(x):
        return tuple(None if d is None else int(d) for d in _get().shape(x))
    raise TypeError(f"int_shape: expected an array, Variable or symbolic tensor, got {type(x).__name__}.")


def shape(x):
    """The shape of `x` as a tuple (Keras 3's `ops.shape`; Keras 2 returned it as a tensor)."""
    return int_shape(x)


def ndim(x):
    """The number of axes of `x`."""
    return len(int_shape(x))


def dtype(x):
    """The dtype name of `x` ("float32", ...)."""
    if isinstance(x, (_symbolic_class(), _variable_class())):
        return str(x.dtype)
    if isinstance(x, np.ndarray):
        return x.dtype.name
    return _get().dtype(_t(x))


def cast(x, dtype):
    """`x` converted to `dtype` (a name such as "float32")."""
    return _get().cast(_t(x), dtype)


def constant(value, dtype=None, shape=None, name=None):
    """An array holding `value` (dtype `floatx()` by default); a scalar `value` fills `shape`.

    Args:
        value: a number, list or NumPy array.
        dtype: dtype name; `floatx()` when None.
        shape: the result's shape: a scalar is broadcast to it, other values are reshaped to it.
        name: not supported (arrays carry no name); must be None.
    """
    _no_name("constant", name)
    if shape is None and (_get().is_array(value) or isinstance(value, _variable_class())):
        return _get().cast(_t(value), dtype or floatx())
    array = np.asarray(value, dtype=dtype or floatx())
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == math.prod(shape):
            array = array.reshape(shape)
        else:
            raise ValueError(f"constant: `value` has {array.size} elements, which cannot fill `shape` {shape}.")
    return _get().convert(array)


def _no_name(function, name):
    if name is not None:
        raise NotImplementedError(f"{function}: `name` is not supported (mlfront arrays carry no name); "
                                  f"use `variable(value, name=...)` for a named value.")


def variable(value, dtype=None, name=None, constraint=None):
    """A `mlfront.Variable` holding `value` (dtype `floatx()` by default).

    Args:
        value: a number, list, NumPy array or engine array.
        dtype: dtype name; `floatx()` when None.
        name: the Variable's name.
        constraint: not supported; must be None.
    """
    if constraint is not None:
        raise NotImplementedError("variable: `constraint` is not supported; constrain the value yourself.")
    B = _get()
    dtype = dtype or floatx()
    value = B.cast(_t(value), dtype) if B.is_array(value) or isinstance(value, _variable_class()) else \
        np.asarray(value, dtype=dtype)
    return _variable_class()(value, name=name or f"variable_{get_uid('variable')}", dtype=dtype)


def zeros(shape, dtype=None, name=None):
    """An array of zeros of `shape` (dtype `floatx()` by default)."""
    _no_name("zeros", name)
    return _get().zeros(tuple(shape), dtype or floatx())


def ones(shape, dtype=None, name=None):
    """An array of ones of `shape` (dtype `floatx()` by default)."""
    _no_name("ones", name)
    return _get().ones(tuple(shape), dtype or floatx())


def eye(size, dtype=None, name=None):
    """The identity matrix of `size` (an int, or a (rows, columns) pair)."""
    _no_name("eye", name)
    rows, columns = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    return _get().convert(np.eye(int(rows), int(columns), dtype=dtype or floatx()))


def zeros_like(x, dtype=None, name=None):
    """Zeros with the shape of `x` (and its dtype, unless `dtype` is given)."""
    _no_name("zeros_like", name)
    x = _t(x)
    return _get().zeros_like(x) if dtype is None else _get().cast(_get().zeros_like(x), dtype)


def ones_like(x, dtype=None, name=None):
    """Ones with the shape of `x` (and its dtype, unless `dtype` is given)."""
    _no_name("ones_like", name)
    x = _t(x)
    return _get().ones_like(x) if dtype is None else _get().cast(_get().ones_like(x), dtype)


def get_value(x):
    """The value of a Variable or array as a NumPy array."""
    return _get().to_numpy(_t(x))


def batch_get_value(tensors):
    """`get_value` of each entry of the list `tensors`."""
    return [get_value(x) for x in tensors]


def set_value(x, value):
    """Give the Variable `x` a new `value` (a NumPy array or number of `x`'s shape)."""
    if not isinstance(x, _variable_class()):
        raise TypeError(f"set_value: `x` must be a Variable (from `variable(...)` or a layer's weights), "
                        f"got {type(x).__name__}.")
    value = np.asarray(value, dtype=x.dtype)
    if value.shape != tuple(x.shape):
        raise ValueError(f"set_value: `value` has shape {value.shape}, the Variable {x.name!r} has {x.shape}.")
    x.assign(value)


# ---------------------------------------------------------------------------------------------- reductions
def _reduction(method, what):
    averages = method in ("mean", "var", "std")

    def reduce(x, axis=None, keepdims=False):
        x = _t(x)
        if averages and _get().dtype(x) == "bool":  # as Keras 2: the mean of a mask is a fraction
            x = _get().cast(x, floatx())
        return getattr(_get(), method)(x, axis=_axis(axis, len(_get().shape(x))), keepdims=keepdims)
    reduce.__name__ = reduce.__qualname__ = method
    reduce.__doc__ = (f"The {what} of `x` over `axis` (an int, a list of ints, or None for every axis); "
                      f"`keepdims` keeps the reduced axes with length 1.")
    return reduce


sum = _reduction("sum", "sum")
mean = _reduction("mean", "mean")
max = _reduction("max", "maximum")
min = _reduction("min", "minimum")
var = _reduction("var", "population variance")
std = _reduction("std", "population standard deviation")


def prod(x, axis=None, keepdims=False):
    """The product of `x` over `axis`."""
    x = _t(x)
    return _get().prod(x, axis=_axis(axis, len(_get().shape(x))), keepdims=keepdims)


def argmax(x, axis=-1):
    """The index of the largest entry along `axis`."""
    return _get().argmax(_t(x), axis=axis)


def argmin(x, axis=-1):
    """The index of the smallest entry along `axis`."""
    native = getattr(_get(), "argmin", None)
    return native(_t(x), axis=axis) if native else _get().argmax(-_t(x), axis=axis)


# ---------------------------------------------------------------------------------------------- elementwise
def square(x):
    """x ** 2."""
    return _get().square(_t(x))


def sqrt(x):
    """Square root; negative entries give 0 (Keras 2 clips at 0 first)."""
    return _get().sqrt(_get().maximum(_t(x), 0.0))


def abs(x):
    """Absolute value."""
    return _get().abs(_t(x))


def exp(x):
    """e ** x."""
    return _get().exp(_t(x))


def log(x):
    """Natural logarithm."""
    return _get().log(_t(x))


def pow(x, a):
    """x ** a."""
    return _t(x) ** (a if isinstance(a, (int, float)) else _t(a))


def clip(x, min_value, max_value):
    """`x` limited to [min_value, max_value] (None means no bound on that side)."""
    B = _get()
    x = _t(x)
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and max_value < min_value:
        max_value = min_value
    return B.clip(x, min_value, max_value)


def sign(x):
    """-1, 0 or 1."""
    return _get().sign(_t(x))


def round(x):
    """Round to the nearest integer, halves to the even one (as `tf.round` and `numpy.round`)."""
    B = _get()
    x = _t(x)
    if getattr(B, "round", None):
        return B.round(x)
    down = B.floor(x)
    fraction = x - down
    down_is_odd = (down - 2.0 * B.floor(down / 2.0)) > 0.5
    up = (fraction > 0.5) | ((fraction == 0.5) & down_is_odd)
    return B.where(up, down + 1.0, down)


def _comparison(name, compare):
    def op(x, y):
        return compare(_t(x), _t(y) if not isinstance(y, (int, float)) else y)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `{name}` of `x` and `y` (a boolean array)."
    return op


equal = _comparison("equal", lambda x, y: x == y)
not_equal = _comparison("not_equal", lambda x, y: x != y)
greater = _comparison("greater", lambda x, y: x > y)
greater_equal = _comparison("greater_equal", lambda x, y: x >= y)
less = _comparison("less", lambda x, y: x < y)
less_equal = _comparison("less_equal", lambda x, y: x <= y)


def maximum(x, y):
    """Elementwise maximum; a Python number takes the tensor's dtype (`K.maximum(x, 0)`), as `ops.maximum`."""
    from mlfront import ops
    return ops.maximum(x, y)


def minimum(x, y):
    """Elementwise minimum; a Python number takes the tensor's dtype, as `ops.minimum`."""
    from mlfront import ops
    return ops.minimum(x, y)


def sin(x):
    """Sine (radians)."""
    native = getattr(_get(), "sin", None)
    return native(_t(x)) if native else _get().cos(np.pi / 2 - _t(x))


def cos(x):
    """Cosine (radians)."""
    return _get().cos(_t(x))


# ---------------------------------------------------------------------------------------------- products
def dot(x, y):
    """Keras 2's `dot`: a matrix product; for N-D inputs it sums over the last axis of `x` and the
    second-to-last of `y` (shape `x.shape[:-1] + y.shape[:-2] + y.shape[-1:]`)."""
    B = _get()
    x, y = _t(x), _t(y)
    x_rank, y_rank = len(B.shape(x)), len(B.shape(y))
    if x_rank <= 2 and y_rank <= 2:
        return B.matmul(x, y)
    letters = iter(string.ascii_letters)
    xs = [next(letters) for _ in range(x_rank)]
    ys = [next(letters) for _ in range(y_rank)]
    if y_rank == 1:
        ys[0] = xs[-1]
        out = xs[:-1]
    else:
        ys[-2] = xs[-1]
        out = xs[:-1] + ys[:-2] + ys[-1:]
    return B.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)


def batch_dot(x, y, axes=None):
    """Keras 2's `batch_dot`: per sample (axis 0), the dot product of `x` and `y` over `axes`.

    Args:
        x, y: arrays of rank >= 2 with the same batch size.
        axes: an int (the same axis of both) or a pair (axis of `x`, axis of `y`); by default the last axis
            of `x` and the second-to-last of `y` (the last when `y` is 2-D). The batch axis 0 is not allowed.

    Returns:
        The sums, of shape `x.shape` without `axes[0]` followed by `y.shape[1:]` without `axes[1]`; a
        (batch, 1) array when both inputs are 2-D.
    """
    B = _get()
    x, y = _t(x), _t(y)
    x_rank, y_rank = len(B.shape(x)), len(B.shape(y))
    if x_rank < 2 or y_rank < 2:
        raise ValueError(f"batch_dot: `x` and `y` must have rank >= 2, got ranks {x_rank} and {y_rank}.")
    if axes is None:
        axes = (x_rank - 1, y_rank - 1 if y_rank == 2 else y_rank - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    if len(axes) != 2:
        raise ValueError(f"batch_dot: `axes` must be an int or a pair of ints, got {axes!r}.")
    axes = (axes[0] % x_rank, axes[1] % y_rank)
    if 0 in axes:
        raise ValueError(f"batch_dot: `axes` cannot include the batch axis 0, got {axes}.")
    letters = iter(string.ascii_letters)
    batch, summed = next(letters), next(letters)
    xs = [batch] + [next(letters) for _ in range(x_rank - 1)]
    ys = [batch] + [next(letters) for _ in range(y_rank - 1)]
    xs[axes[0]], ys[axes[1]] = summed, summed
    out = [batch] + [c for c in xs[1:] if c != summed] + [c for c in ys[1:] if c != summed]
    result = B.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
    return B.expand_dims(result, 1) if len(out) == 1 else result


# ---------------------------------------------------------------------------------------------- reshaping
def transpose(x):
    """`x` with its axes reversed."""
    return _get().transpose(_t(x))


def reshape(x, shape):
    """`x` with a new `shape` (one entry may be -1)."""
    return _get().reshape(_t(x), tuple(-1 if d is None else int(d) for d in shape))


def permute_dimensions(x, pattern):
    """`x` with its axes in the order `pattern`, e.g. (0, 2, 1)."""
    return _get().transpose(_t(x), tuple(int(a) for a in pattern))


def expand_dims(x, axis=-1):
    """`x` with a new axis of length 1 at `axis`."""
    x = _t(x)
    return _get().expand_dims(x, axis % (len(_get().shape(x)) + 1))


def squeeze(x, axis):
    """`x` without the length-1 axis `axis`."""
    x = _t(x)
    return _get().squeeze(x, _axis(axis, len(_get().shape(x))))


def concatenate(tensors, axis=-1):
    """The arrays of the list `tensors` joined along `axis`."""
    tensors = [_t(x) for x in tensors]
    return _get().concatenate(tensors, axis=_axis(axis, len(_get().shape(tensors[0]))))


def stack(x, axis=0):
    """The arrays of the list `x` joined along a new axis `axis`."""
    tensors = [_t(t) for t in x]
    return _get().stack(tensors, axis=axis % (len(_get().shape(tensors[0])) + 1))


def tile(x, n):
    """`x` repeated `n[i]` times along each axis `i` (`n` has one int per axis; an int for 1-D `x`)."""
    x = _t(x)
    n = (n,) if isinstance(n, int) else tuple(int(k) for k in n)
    if len(n) != len(_get().shape(x)):
        raise ValueError(f"tile: `n` needs one repeat count per axis of `x` ({len(_get().shape(x))}), got {n}.")
    native = getattr(_get(), "tile", None)
    if native:
        return native(x, n)
    for axis, count in enumerate(n):
        if count != 1:
            x = _get().concatenate([x] * count, axis=axis)
    return x


def repeat_elements(x, rep, axis):
    """Each entry of `x` repeated `rep` times along `axis` (like `numpy.repeat`)."""
    B = _get()
    x = _t(x)
    dims = list(B.shape(x))
    axis = _axis(axis, len(dims))
    if getattr(B, "repeat", None):
        return B.repeat(x, int(rep), axis=axis)
    expanded = B.expand_dims(x, axis + 1)
    target = [d if d is not None else -1 for d in dims]
    tiled = B.concatenate([expanded] * int(rep), axis=axis + 1)
    target[axis] = -1 if dims[axis] is None else dims[axis] * int(rep)
    if target.count(-1) > 1:
        raise ValueError(f"repeat_elements: `x` has more than one unknown dimension ({dims}).")
    return B.reshape(tiled, tuple(target))


def flatten(x):
    """`x` as a 1-D array."""
    return _get().reshape(_t(x), (-1,))


def batch_flatten(x):
    """`x` as a 2-D array (batch, everything else)."""
    return _get().flatten_batch(_t(x))


def one_hot(indices, num_classes):
    """The one-hot encoding of the integer `indices` on a new last axis of length `num_classes`."""
    return _get().one_hot(_get().cast(_t(indices), "int32"), int(num_classes), dtype=floatx())


def gather(reference, indices):
    """The entries of `reference` (along its first axis) at the integer `indices`."""
    return _get().take(_t(reference), _get().cast(_t(indices), "int32"), axis=0)


# ---------------------------------------------------------------------------------------------- activations
def l2_normalize(x, axis=None):
    """`x` divided by its L2 norm over `axis` (None: over every axis), as `tf.math.l2_normalize`."""
    B = _get()
    x = _t(x)
    axis = _axis(axis, len(B.shape(x)))
    return x * B.rsqrt(B.maximum(B.sum(B.square(x), axis=axis, keepdims=True), 1e-12))


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Keras 2's rectifier: `x` above `threshold` (else `alpha * (x - threshold)`), capped at `max_value`."""
    B = _get()
    x = _t(x)
    y = B.where(x > threshold, x, B.zeros_like(x)) if threshold != 0 else B.relu(x)
    if max_value is not None:
        y = B.minimum(y, max_value)
    if alpha != 0:
        y = y - alpha * B.relu(threshold - x)
    return y


def elu(x, alpha=1.0):
    """Exponential linear unit: x for x > 0, `alpha * (exp(x) - 1)` otherwise."""
    return _get().elu(_t(x), alpha)


def softmax(x, axis=-1):
    """Softmax over `axis`."""
    return _get().softmax(_t(x), axis=axis)


def softplus(x):
    """log(1 + exp(x))."""
    return _get().softplus(_t(x))


def softsign(x):
    """x / (1 + |x|)."""
    return _get().softsign(_t(x))


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _get().sigmoid(_t(x))


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: `clip(0.2 * x + 0.5, 0, 1)`."""
    return _get().clip(0.2 * _t(x) + 0.5, 0.0, 1.0)


def tanh(x):
    """Hyperbolic tangent."""
    return _get().tanh(_t(x))


# ---------------------------------------------------------------------------------------------- losses
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) `target` and `output` over `axis`.

    Args:
        target: the true class probabilities.
        output: probabilities (normalized to sum to 1 along `axis`, then clipped to [eps, 1 - eps]), or
            logits when `from_logits`.
        from_logits: whether `output` holds logits.
        axis: the class axis.
    """
    B = _get()
    target, output = _t(target), _t(output)
    if from_logits:
        return -B.sum(target * B.log_softmax(output, axis=axis), axis=axis)
    output = output / B.sum(output, axis=axis, keepdims=True)
    output = B.clip(output, epsilon(), 1.0 - epsilon())
    return -B.sum(target * B.log(output), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None):
    """Cross-entropy between integer class `target` and `output` (probabilities, or logits when
    `from_logits`) along `axis`; `target` may keep a trailing axis of length 1.

    Args:
        ignore_class: not supported; must be None.
    """
    if ignore_class is not None:
        raise NotImplementedError("sparse_categorical_crossentropy: `ignore_class` is not supported; "
                                  "mask those samples with a sample weight of 0.")
    B = _get()
    target, output = _t(target), _t(output)
    rank = len(B.shape(output))
    axis = axis % rank
    if axis != rank - 1:
        output = B.transpose(output, tuple(a for a in range(rank) if a != axis) + (axis,))
    if not from_logits:
        output = B.log(B.clip(output, epsilon(), 1.0 - epsilon()))
    if len(B.shape(target)) == rank:
        target = B.squeeze(target, rank - 1)
    return B.sparse_categorical_crossentropy_from_logits(B.cast(target, "int32"), output)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy of `target` and `output` (probabilities, or logits when
    `from_logits`), as Keras 2 computes it: `output` clipped to [eps, 1 - eps], eps added inside the logs."""
    B = _get()
    target, output = _t(target), _t(output)
    if from_logits:
        return B.binary_crossentropy_from_logits(target, output)
    output = B.clip(output, epsilon(), 1.0 - epsilon())
    return -(target * B.log(output + epsilon()) + (1.0 - target) * B.log(1.0 - output + epsilon()))


# ---------------------------------------------------------------------------------------------- randomness
def _key(seed):
    """A random key: from `seed`, else from the key stream of the model call in progress, else a new one."""
    B = _get()
    if seed is not None:
        return B.rng_key(int(seed))
    stream = _context.current()[1]
    if stream is not None:
        return stream.next()
    from mlfront import random as _random
    return B.rng_key(_random.new_seed())


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution (dtype `floatx()` by default)."""
    return _get().random_normal(_key(seed), tuple(shape), mean=mean, stddev=stddev, dtype=dtype or floatx())


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of a uniform distribution on [minval, maxval) (dtype `floatx()` by default)."""
    return _get().random_uniform(_key(seed), tuple(shape), minval=minval, maxval=maxval, dtype=dtype or floatx())


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability `p`, else 0 (dtype `floatx()` by default)."""
    B = _get()
    dtype = dtype or floatx()
    draws = B.random_uniform(_key(seed), tuple(shape), dtype="float32")
    return B.cast(draws < p, dtype)


def dropout(x, level, noise_shape=None, seed=None):
    """`x` with each entry zeroed with probability `level` and the rest scaled by 1 / (1 - level).

    Args:
        noise_shape: the shape of the keep mask, broadcast to `x` (e.g. (batch, 1, features)); None for
            `x`'s shape.
    """
    B = _get()
    x = _t(x)
    if not 0 <= level < 1:
        raise ValueError(f"dropout: `level` must be in [0, 1), got {level!r}.")
    mask_shape = B.shape(x) if noise_shape is None else \
        tuple(d if d is not None else B.shape(x)[i] for i, d in enumerate(noise_shape))
    keep = B.random_uniform(_key(seed), tuple(mask_shape), dtype=B.dtype(x)) >= level
    return B.where(keep, x / (1.0 - level), B.zeros_like(x))


# ---------------------------------------------------------------------------------------------- learning phase
def learning_phase():
    """1 while a model is called for training, else 0 (or the value given to `set_learning_phase`)."""
    if _learning_phase is not None:
        return _learning_phase
    return int(_context.current()[0])


def set_learning_phase(value):
    """Fix the learning phase to 0 (test) or 1 (train) outside a model's own training flag."""
    global _learning_phase
    if value not in (0, 1):
        raise ValueError(f"set_learning_phase: `value` must be 0 or 1, got {value!r}.")
    _learning_phase = int(value)


def in_train_phase(x, alt, training=None):
    """`x` in the training phase, else `alt` (either may be a callable returning the value)."""
    if training is None:
        training = learning_phase()
    if isinstance(training, (bool, int, np.bool_, np.integer)):
        chosen = x if training else alt
        return chosen() if callable(chosen) else chosen
    return switch(training, x, alt)


def in_test_phase(x, alt, training=None):
    """`x` in the test phase, else `alt`."""
    return in_train_phase(alt, x, training=training)


def switch(condition, then_expression, else_expression):
    """`then_expression` where `condition` holds, else `else_expression`.

    A Python bool picks one of the two (callables are called); an array condition of lower rank than the
    expressions is broadcast over their trailing axes.
    """
    if isinstance(condition, (bool, np.bool_)):
        chosen = then_expression if condition else else_expression
        return chosen() if callable(chosen) else chosen
    B = _get()
    then_value = _t(then_expression() if callable(then_expression) else then_expression)
    else_value = _t(else_expression() if callable(else_expression) else else_expression)
    condition = B.cast(_t(condition), "bool")
    for _ in range(len(B.shape(then_value)) - len(B.shape(condition))):
        condition = B.expand_dims(condition, -1)
    return B.where(condition, then_value, else_value)


def stop_gradient(variables):
    """`variables` (an array or a list of them) treated as constants by autodiff."""
    if isinstance(variables, (list, tuple)):
        return [_get().stop_gradient(_t(v)) for v in variables]
    return _get().stop_gradient(_t(variables))


# ---------------------------------------------------------------------------------------------- convolution
def _data_format(function, data_format):
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{function}: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


def _pair(function, name, value):
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not builtins.all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise ValueError(f"{function}: `{name}` must be an int or a pair of positive ints, got {value!r}.")
    return tuple(int(v) for v in values)


def _padding(function, padding):
    if padding not in ("valid", "same"):
        raise ValueError(f"{function}: `padding` must be 'valid' or 'same', got {padding!r}.")
    return padding


def bias_add(x, bias, data_format=None):
    """`x + bias`, the bias laid along the channel axis of `data_format`.

    Args:
        bias: a 1-D array of one value per channel, or an array of `x`'s shape without the batch axis.
    """
    B = _get()
    x, bias = _t(x), _t(bias)
    data_format = _data_format("bias_add", data_format)
    rank, bias_rank = len(B.shape(x)), len(B.shape(bias))
    if bias_rank not in (1, rank - 1):
        raise ValueError(f"bias_add: `bias` must be 1-D or of rank {rank - 1} for an `x` of rank {rank}, "
                         f"got shape {B.shape(bias)}.")
    if data_format == "channels_first" and rank > 2:
        if bias_rank == 1:
            bias = B.reshape(bias, (1, B.shape(bias)[0]) + (1,) * (rank - 2))
        else:
            bias = B.expand_dims(B.transpose(bias, (bias_rank - 1,) + tuple(range(bias_rank - 1))), 0)
    return x + bias


def _channels_last(x, data_format):
    return x if data_format == "channels_last" else _get().transpose(x, (0, 2, 3, 1))


def _back(x, data_format):
    return x if data_format == "channels_last" else _get().transpose(x, (0, 3, 1, 2))


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2-D convolution of `x` with `kernel` (rows, cols, in, out).

    Args:
        x: images (batch, rows, cols, channels), or (batch, channels, rows, cols) with channels_first.
        strides, dilation_rate: ints or pairs.
        padding: "valid" or "same".
        data_format: the layout of `x` and of the result; `image_data_format()` when None.
    """
    data_format = _data_format("conv2d", data_format)
    x = _channels_last(_t(x), data_format)
    y = _get().conv(x, _t(kernel), _pair("conv2d", "strides", strides), _padding("conv2d", padding),
                    _pair("conv2d", "dilation_rate", dilation_rate))
    return _back(y, data_format)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2-D pooling of `x` over `pool_size` windows; `pool_mode` is "max" or "avg"."""
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool2d: `pool_mode` must be 'max' or 'avg', got {pool_mode!r}.")
    data_format = _data_format("pool2d", data_format)
    x = _channels_last(_t(x), data_format)
    pool = _get().max_pool if pool_mode == "max" else _get().avg_pool
    y = pool(x, _pair("pool2d", "pool_size", pool_size), _pair("pool2d", "strides", strides),
             _padding("pool2d", padding))
    return _back(y, data_format)


# ---------------------------------------------------------------------------------------------- graph functions
class GraphFunction:
    """What `function` returns: a callable from input values to output values over a graph of symbolic tensors."""

    def __init__(self, inputs, outputs, name=None):
        from mlfront.models.functional import Functional
        symbolic = _symbolic_class()
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        phase = [i for i, x in enumerate(inputs) if not isinstance(x, symbolic)]
        for i in phase:
            if type(inputs[i]) is not int or inputs[i] not in (0, 1) or len(phase) > 1:
                raise TypeError(f"function: `inputs` must be symbolic tensors (and at most one "
                                f"`K.learning_phase()`), got {inputs[i]!r} at position {i}.")
        self._phase_index = phase[0] if phase else None
        self._single_output = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if self._single_output else list(outputs)
        for i, t in enumerate(outputs):
            if not isinstance(t, symbolic):
                hint = " (K.gradients gives None for a tensor the loss does not depend on)" if t is None else ""
                raise TypeError(f"function: `outputs` must be symbolic tensors, got {t!r} at position {i}{hint}.")
        self.name = name
        self.inputs, self.outputs = inputs, outputs
        tensors = [x for i, x in enumerate(inputs) if i != self._phase_index]
        self._graph = Functional(tensors, outputs, name=name or f"function_{get_uid('mlfront_function')}")

    def __call__(self, inputs):
        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != len(self.inputs):
            raise ValueError(f"function: expected {len(self.inputs)} input values (one per input), got "
                             f"{len(values)}.")
        training = learning_phase()
        if self._phase_index is not None:
            training = values.pop(self._phase_index)
        B = _get()
        with _context.call_context(bool(training)):
            outputs = self._graph(values, training=bool(training))
        outputs = [B.to_numpy(o) for o in outputs]
        return outputs[0] if self._single_output else outputs


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """A callable evaluating `outputs` from values of `inputs` (Keras 2's `K.function`).

    Args:
        inputs: a list of symbolic tensors (e.g. `[model.input]`); one of them may be `K.learning_phase()`,
            whose value (0 or 1) then sets the training flag of the call.
        outputs: a symbolic tensor or a list of them: layer outputs, ops on them, `K.gradients` results.
        updates: not supported (mlfront has no graph-mode assignments); must be empty.
        name: a name for the function.

    Returns:
        `f(values)`: `values` a list with one NumPy array per input; returns a list of NumPy arrays, or one array
        when `outputs` is a single tensor.

    Example:
        ```python
        f = K.function([model.input], [model.layers[1].output])
        features = f([x])[0]
        ```
    """
    if updates:
        raise NotImplementedError("function: `updates` are not supported (there is no graph-mode assignment); "
                                  "apply them in a custom training step instead.")
    if kwargs:
        raise NotImplementedError(f"function: arguments {sorted(kwargs)} are not supported.")
    return GraphFunction(inputs, outputs, name=name)


def gradients(loss, variables):
    """Symbolic gradients of `sum(loss)` with respect to `variables` (Keras 2's `K.gradients`, as
    `tf.gradients`), to evaluate with `function`.

    Args:
        loss: a symbolic tensor (e.g. `model.output[:, c]`); its entries are summed.
        variables: a symbolic tensor (e.g. `model.input`), a Variable (e.g. a layer's kernel), or a list of them.

    Returns:
        A list with one symbolic tensor per entry of `variables`, shaped like it; None for a tensor `loss`
        does not depend on.

    Example:
        ```python
        grads = K.gradients(model.output[:, 3], model.input)[0]
        saliency = K.function([model.input], [grads])([x])[0]
        ```
    """
    from mlfront.layers.op_layer import GradientLayer
    symbolic, variable_class = _symbolic_class(), _variable_class()
    if not isinstance(loss, symbolic):
        raise TypeError(f"gradients: `loss` must be a symbolic tensor of a Functional graph, got "
                        f"{type(loss).__name__}; on arrays, use `mlfront.value_and_grad(fn)(params)` (the gradients "
                        f"of a function of a list of arrays), as a GradientTape would.")
    wanted = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    for i, v in enumerate(wanted):
        if not isinstance(v, (symbolic, variable_class)):
            raise TypeError(f"gradients: `variables` must be symbolic tensors or Variables, got "
                            f"{type(v).__name__} at position {i}.")
    tensors = list({id(v): v for v in wanted if isinstance(v, symbolic)}.values())
    _, reached = _graph_sources([loss], tensors)
    tensors = [t for t in tensors if id(t) in reached]
    own = list({id(v): v for v in wanted if isinstance(v, variable_class)}.values())
    if not tensors and not own:
        return [None] * len(wanted)
    outputs = GradientLayer(loss, tensors, own).record()
    by_id = {id(v): g for v, g in zip(tensors + own, outputs)}
    return [by_id.get(id(v)) for v in wanted]


def _graph_sources(outputs, stop):
    from mlfront.layers.graph import sources
    return sources(outputs, stop)


# Every function that computes on tensors records itself as a graph op on symbolic tensors.
for _name in __all__:
    if _name not in _NOT_RECORDED:
        globals()[_name] = symbolic_op(f"backend.{_name}", globals()[_name])
del _name
