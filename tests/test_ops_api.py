"""`mlfront.ops` speaks keras.ops: the curated public list, Keras 3's signatures and defaults, and every op
against a NumPy reference on random inputs (negative values, NaN and inf included where they matter).

Every composite written once in `mlfront/backend/base.py` is also run directly (`Backend.<name>(B, ...)`) and
compared with the adapter's native override (`B.<name>(...)`), so the fallback a new engine would inherit is tested
on every engine.
"""

import inspect
import math

import numpy as np
import pytest

import mlfront
from mlfront import ops
from mlfront.backend import Backend

B = mlfront.backend.get()
RNG = np.random.default_rng(7)


def N(x):
    return ops.convert_to_numpy(x)


def T(x):
    return ops.convert_to_tensor(x)


def rand(*shape, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, shape).astype("float32")


# Keras 3.15's `keras.ops` signatures, written from its source (keras/src/ops/{numpy,core,math,nn,linalg}.py).
KERAS_SIGNATURES = {
    "convert_to_tensor": "(x, dtype=None, sparse=None, ragged=None)",
    "convert_to_numpy": "(x)",
    "cast": "(x, dtype)",
    "dtype": "(x)",
    "shape": "(x)",
    "zeros": "(shape, dtype=None)",
    "ones": "(shape, dtype=None)",
    "zeros_like": "(x, dtype=None)",
    "ones_like": "(x, dtype=None)",
    "full": "(shape, fill_value, dtype=None)",
    "full_like": "(x, fill_value, dtype=None)",
    "arange": "(start, stop=None, step=None, dtype=None)",
    "eye": "(N, M=None, k=0, dtype=None)",
    "linspace": "(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)",
    "meshgrid": "(*x, indexing='xy')",
    "tril": "(x, k=0)",
    "triu": "(x, k=0)",
    "abs": "(x)",
    "sign": "(x)",
    "negative": "(x)",
    "exp": "(x)",
    "expm1": "(x)",
    "log": "(x)",
    "log1p": "(x)",
    "sqrt": "(x)",
    "rsqrt": "(x)",
    "square": "(x)",
    "floor": "(x)",
    "round": "(x, decimals=0)",
    "sin": "(x)",
    "cos": "(x)",
    "tan": "(x)",
    "arcsin": "(x)",
    "arccos": "(x)",
    "arctan": "(x)",
    "arctan2": "(x1, x2)",
    "sinh": "(x)",
    "cosh": "(x)",
    "tanh": "(x)",
    "arcsinh": "(x)",
    "arccosh": "(x)",
    "arctanh": "(x)",
    "erf": "(x)",
    "power": "(x1, x2)",
    "add": "(x1, x2)",
    "subtract": "(x1, x2)",
    "multiply": "(x1, x2)",
    "divide": "(x1, x2)",
    "maximum": "(x1, x2)",
    "minimum": "(x1, x2)",
    "clip": "(x, x_min, x_max)",
    "where": "(condition, x1=None, x2=None)",
    "isnan": "(x)",
    "isinf": "(x)",
    "isfinite": "(x)",
    "equal": "(x1, x2)",
    "not_equal": "(x1, x2)",
    "greater": "(x1, x2)",
    "greater_equal": "(x1, x2)",
    "less": "(x1, x2)",
    "less_equal": "(x1, x2)",
    "logical_and": "(x1, x2)",
    "logical_or": "(x1, x2)",
    "logical_not": "(x)",
    "logical_xor": "(x1, x2)",
    "sum": "(x, axis=None, keepdims=False)",
    "mean": "(x, axis=None, keepdims=False)",
    "max": "(x, axis=None, keepdims=False, initial=None)",
    "min": "(x, axis=None, keepdims=False, initial=None)",
    "prod": "(x, axis=None, keepdims=False, dtype=None)",
    "std": "(x, axis=None, keepdims=False)",
    "var": "(x, axis=None, keepdims=False)",
    "any": "(x, axis=None, keepdims=False)",
    "all": "(x, axis=None, keepdims=False)",
    "argmax": "(x, axis=None, keepdims=False)",
    "argmin": "(x, axis=None, keepdims=False)",
    "logsumexp": "(x, axis=None, keepdims=False)",
    "cumsum": "(x, axis=None, dtype=None)",
    "norm": "(x, ord=None, axis=None, keepdims=False)",
    "top_k": "(x, k, sorted=True)",
    "sort": "(x, axis=-1)",
    "reshape": "(x, newshape)",
    "transpose": "(x, axes=None)",
    "expand_dims": "(x, axis)",
    "squeeze": "(x, axis=None)",
    "concatenate": "(xs, axis=0)",
    "stack": "(x, axis=0)",
    "split": "(x, indices_or_sections, axis=0)",
    "take": "(x, indices, axis=None)",
    "take_along_axis": "(x, indices, axis=None)",
    "broadcast_to": "(x, shape)",
    "flip": "(x, axis=None)",
    "tile": "(x, repeats)",
    "repeat": "(x, repeats, axis=None)",
    "pad": "(x, pad_width, mode='constant', constant_values=None)",
    "one_hot": "(x, num_classes, axis=-1, dtype=None, sparse=False)",
    "einsum": "(subscripts, *operands, **kwargs)",
    "matmul": "(x1, x2)",
    "slice": "(inputs, start_indices, shape)",
    "slice_update": "(inputs, start_indices, updates)",
    "scatter": "(indices, values, shape)",
    "scatter_update": "(inputs, indices, updates, reduction=None)",
    "relu": "(x)",
    "sigmoid": "(x)",
    "softplus": "(x)",
    "softsign": "(x)",
    "elu": "(x, alpha=1.0)",
    "selu": "(x)",
    "hard_sigmoid": "(x)",
    "softmax": "(x, axis=-1)",
    "log_softmax": "(x, axis=-1)",
    "conv": "(inputs, kernel, strides=1, padding='valid', data_format=None, dilation_rate=1)",
    "conv_transpose": "(inputs, kernel, strides=1, padding='valid', output_padding=None, data_format=None, "
                      "dilation_rate=1)",
    "max_pool": "(inputs, pool_size, strides=None, padding='valid', data_format=None)",
    "average_pool": "(inputs, pool_size, strides=None, padding='valid', data_format=None)",
    "dot_product_attention": "(query, key, value, bias=None, mask=None, scale=None, is_causal=False, "
                             "flash_attention=None, attn_logits_soft_cap=None)",
    "cond": "(pred, true_fn, false_fn)",
    "while_loop": "(cond, body, loop_vars, maximum_iterations=None)",
    "fori_loop": "(lower, upper, body_fun, init_val)",
    "stop_gradient": "(variable)",
}

INTERNALS = {"compile", "prepare_batch", "affine", "rng_key", "rng_split", "rng_key_to_numpy", "rng_key_from_numpy",
             "export_model", "native_dataset", "value_and_grad", "log_safe", "flatten_batch", "lerp", "global_norm",
             "scan", "rnn", "lstm", "gru", "simple_rnn", "dropout", "random_uniform", "random_normal", "convert",
             "to_numpy", "is_array", "standardize_dtype", "avg_pool",
             "sparse_categorical_crossentropy_from_logits", "binary_crossentropy_from_logits"}


def test_public_list_is_curated():
    assert set(ops.__all__) - {"image"} == set(KERAS_SIGNATURES)
    assert not INTERNALS & set(ops.__all__)
    for name in INTERNALS:
        assert not hasattr(ops, name), name
    with pytest.raises(AttributeError, match="mlfront.jit"):
        ops.compile  # noqa: B018
    for name in ops.__all__:
        fn = getattr(ops, name)
        assert fn.__doc__, name
        if name != "image":
            assert callable(fn), name


@pytest.mark.parametrize("name", sorted(KERAS_SIGNATURES))
def test_signature_matches_keras(name):
    assert str(inspect.signature(getattr(ops, name))).replace('"', "'") == KERAS_SIGNATURES[name]


def test_keras_defaults_change_results():
    x = np.array([[1.0, 9.0, 2.0], [7.0, -3.0, 4.0]], "float32")
    assert int(N(ops.argmax(x))) == 1 and int(N(ops.argmin(x))) == 4  # over the flattened array
    assert N(ops.argmax(x)).dtype == np.int32
    np.testing.assert_allclose(N(ops.logsumexp(x)), np.log(np.exp(x.astype("float64")).sum()), rtol=1e-6)
    np.testing.assert_array_equal(N(ops.cumsum(x)), np.cumsum(x))
    parts = ops.split(np.arange(12.0).reshape(4, 3).astype("float32"), 2)  # along axis 0
    assert [N(p).shape for p in parts] == [(2, 3), (2, 3)]
    assert N(ops.squeeze(np.zeros((1, 3, 1), "float32"))).shape == (3,)
    assert N(ops.take(x, [0, 4])).tolist() == [1.0, -3.0]
    assert N(ops.flip(x)).tolist() == x[::-1, ::-1].tolist()
    assert N(ops.zeros((2,))).dtype == np.float32 and N(ops.arange(3)).dtype == np.int32
    assert N(ops.arange(0.0, 1.0, 0.25)).dtype == np.float32


def test_split_at_indices_and_uneven_sections():
    x = np.arange(10.0, dtype="float32")
    got = [N(p) for p in ops.split(x, [2, 5])]
    for a, b in zip(got, np.split(x, [2, 5])):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="split"):
        ops.split(x, 3)


# ---------------------------------------------------------------------- elementwise against NumPy
UNARY = [
    ("sin", np.sin, (-6, 6)), ("cos", np.cos, (-6, 6)), ("tan", np.tan, (-1.4, 1.4)),
    ("arcsin", np.arcsin, (-0.99, 0.99)), ("arccos", np.arccos, (-0.99, 0.99)), ("arctan", np.arctan, (-20, 20)),
    ("sinh", np.sinh, (-4, 4)), ("cosh", np.cosh, (-4, 4)), ("tanh", np.tanh, (-4, 4)),
    ("arcsinh", np.arcsinh, (-20, 20)), ("arccosh", np.arccosh, (1.0, 20)), ("arctanh", np.arctanh, (-0.95, 0.95)),
    ("erf", math.erf, (-3, 3)), ("exp", np.exp, (-3, 3)), ("expm1", np.expm1, (-1, 1)), ("log1p", np.log1p, (-0.5, 3)),
    ("abs", np.abs, (-3, 3)), ("sign", np.sign, (-3, 3)), ("square", np.square, (-3, 3)),
    ("floor", np.floor, (-3, 3)), ("negative", np.negative, (-3, 3)),
]


@pytest.mark.parametrize("name,ref,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_against_numpy(name, ref, domain):
    x = rand(64, lo=domain[0], hi=domain[1])
    want = np.vectorize(ref)(x.astype("float64")) if ref is math.erf else ref(x.astype("float64"))
    np.testing.assert_allclose(N(getattr(ops, name)(x)), want, rtol=2e-5, atol=2e-6)


def test_nan_inf_predicates():
    x = np.array([0.0, -1.5, np.nan, np.inf, -np.inf, 3.0], "float32")
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(N(getattr(ops, name)(x)), getattr(np, name)(x), err_msg=name)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(np.isnan(N(ops.sin(x))), np.isnan(np.sin(x)))


BINARY = [("power", np.power), ("arctan2", np.arctan2), ("maximum", np.maximum), ("minimum", np.minimum),
          ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("divide", np.divide),
          ("equal", np.equal), ("not_equal", np.not_equal), ("greater", np.greater),
          ("greater_equal", np.greater_equal), ("less", np.less), ("less_equal", np.less_equal)]


@pytest.mark.parametrize("name,ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_against_numpy(name, ref):
    a, b = rand(4, 5), rand(5)
    if name == "power":
        a = np.abs(a) + 0.1
    if name == "arctan2":  # the axes and the origin, where the quadrant logic is
        a = np.concatenate([a.ravel(), [0.0, 0.0, 1.0, -1.0, 0.0]])
        b = np.concatenate([np.resize(b, 20), [1.0, -1.0, 0.0, 0.0, 0.0]])
        a, b = a.astype("float32"), b.astype("float32")
    got = N(getattr(ops, name)(a, b))
    np.testing.assert_allclose(got, ref(a.astype("float64"), b.astype("float64")), rtol=2e-5, atol=2e-6)


def test_power_of_negative_base_to_integer_exponent():
    x = np.array([-2.0, -0.5, 3.0], "float32")
    np.testing.assert_allclose(N(ops.power(x, 3.0)), x ** 3, rtol=1e-6)


def test_logical_ops():
    a = np.array([0.0, 2.0, 0.0, -1.0], "float32")
    b = np.array([0, 0, 3, 1], "int32")
    for name in ("logical_and", "logical_or", "logical_xor"):
        np.testing.assert_array_equal(N(getattr(ops, name)(a, b)), getattr(np, name)(a, b), err_msg=name)
    np.testing.assert_array_equal(N(ops.logical_not(a)), np.logical_not(a))


def test_round_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.2345, -7.77], "float32")
    np.testing.assert_array_equal(N(ops.round(x)), np.round(x))
    np.testing.assert_allclose(N(ops.round(x, 2)), np.round(x.astype("float64"), 2), atol=1e-5)


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (1, False), ((0, 2), True)])
def test_reductions_against_numpy(axis, keepdims):
    x = rand(3, 4, 5)
    for name in ("sum", "mean", "max", "min", "std", "var", "prod"):
        np.testing.assert_allclose(N(getattr(ops, name)(x, axis=axis, keepdims=keepdims)),
                                   getattr(np, name)(x.astype("float64"), axis=axis, keepdims=keepdims),
                                   rtol=3e-5, atol=1e-5, err_msg=name)
    mask = x > 1.0
    for name in ("any", "all"):
        np.testing.assert_array_equal(N(getattr(ops, name)(mask, axis=axis, keepdims=keepdims)),
                                      getattr(np, name)(mask, axis=axis, keepdims=keepdims), err_msg=name)


def test_prod_with_negatives_zeros_and_ints():
    x = np.array([[-1.5, 2.0, -3.0], [4.0, -0.5, 0.0]], "float32")
    np.testing.assert_allclose(N(ops.prod(x, axis=1)), [9.0, -0.0], atol=1e-6)
    np.testing.assert_allclose(N(ops.prod(x)), 0.0)
    np.testing.assert_array_equal(N(ops.prod(np.array([-2, 3, -4], "int32"))), 24)
    np.testing.assert_allclose(N(Backend.prod(B, T(x[:1]), axis=1)), [9.0], rtol=1e-6)
    assert N(Backend.prod(B, T(np.array([-2, 3, -4], "int32")))) == 24


def test_max_min_initial_and_argmin_keepdims():
    x = rand(3, 4)
    np.testing.assert_allclose(N(ops.max(x, axis=1, initial=2.5)), np.max(x, axis=1, initial=2.5))
    np.testing.assert_allclose(N(ops.min(x, axis=0, initial=-2.5)), np.min(x, axis=0, initial=-2.5))
    np.testing.assert_array_equal(N(ops.argmin(x, axis=1, keepdims=True)), np.argmin(x, axis=1, keepdims=True))
    np.testing.assert_array_equal(N(ops.argmax(x, axis=0)), np.argmax(x, axis=0))


@pytest.mark.parametrize("ord,axis", [(None, None), (None, 1), (1, 1), (3, 0), (np.inf, 1), (-np.inf, 1), (0, 1),
                                      ("fro", (0, 1)), (-1, (0, 1)), (np.inf, (0, 1)), (-np.inf, (1, 0))])
def test_norm_against_numpy(ord, axis):
    x = rand(4, 5)
    x[0, 0] = 0.0
    np.testing.assert_allclose(N(ops.norm(x, ord=ord, axis=axis)), np.linalg.norm(x.astype("float64"), ord, axis),
                               rtol=2e-5)
    np.testing.assert_allclose(N(ops.norm(x, ord=ord, axis=axis, keepdims=True)),
                               np.linalg.norm(x.astype("float64"), ord, axis, keepdims=True), rtol=2e-5)
    with pytest.raises(NotImplementedError, match="nuc"):
        ops.norm(x, ord="nuc")


# ---------------------------------------------------------------------- creation and shapes
def test_creation_against_numpy():
    for n, m, k in [(3, None, 0), (3, 5, 1), (4, 2, -1), (3, 3, 5)]:
        np.testing.assert_array_equal(N(ops.eye(n, m, k)), np.eye(n, m, k, dtype="float32"))
    assert N(ops.eye(2, dtype="int32")).dtype == np.int32
    for args in [(0.0, 1.0, 5), (-3.0, 7.0, 11, False), (2.0, -2.0, 1)]:
        np.testing.assert_allclose(N(ops.linspace(*args)), np.linspace(*args, dtype="float32"), rtol=1e-6, atol=1e-6)
    samples, step = ops.linspace(0.0, 1.0, 5, retstep=True)
    assert abs(float(N(step)) - 0.25) < 1e-7
    start, stop = np.array([0.0, 1.0], "float32"), np.array([1.0, -1.0], "float32")
    np.testing.assert_allclose(N(ops.linspace(start, stop, 4, axis=1)), np.linspace(start, stop, 4, axis=1),
                               rtol=1e-6, atol=1e-6)
    a, b, c = np.arange(3.0, dtype="float32"), np.arange(4.0, dtype="float32"), np.arange(2.0, dtype="float32")
    for grid, indexing in [((a, b, c), "xy"), ((a, b), "ij")]:
        for got, want in zip(ops.meshgrid(*grid, indexing=indexing), np.meshgrid(*grid, indexing=indexing)):
            np.testing.assert_array_equal(N(got), want)
    x = rand(2, 4, 5)
    for k in (-1, 2):
        np.testing.assert_array_equal(N(ops.tril(x, k)), np.tril(x, k))
        np.testing.assert_array_equal(N(ops.triu(x, k)), np.triu(x, k))


def test_tile_and_repeat_against_numpy():
    x = rand(2, 3)
    for reps in (2, [2, 1], [1, 3], [2, 1, 2]):
        np.testing.assert_array_equal(N(ops.tile(x, reps)), np.tile(x, reps))
    for reps, axis in [(2, None), (3, 0), (2, 1), ([1, 0, 2], 1), ([2, 1], 0)]:
        np.testing.assert_array_equal(N(ops.repeat(x, reps, axis)), np.repeat(x, reps, axis))


def test_scatter_and_slices():
    idx = np.array([[0, 1], [2, 0], [0, 1]], "int32")
    vals = np.array([1.5, -2.0, 3.0], "float32")
    want = np.zeros((3, 2), "float32")
    np.add.at(want, (idx[:, 0], idx[:, 1]), vals)
    np.testing.assert_array_equal(N(ops.scatter(idx, vals, (3, 2))), want)
    rows = np.array([[1], [3]], "int32")  # partial indices scatter whole rows
    row_vals = rand(2, 4)
    want = np.zeros((5, 4), "float32")
    want[[1, 3]] = row_vals
    np.testing.assert_array_equal(N(ops.scatter(rows, row_vals, (5, 4))), want)
    base = rand(3, 4)
    upd = np.array([[0, 0], [2, 3]], "int32")
    want = base.copy()
    want[0, 0], want[2, 3] = 9.0, -9.0
    np.testing.assert_array_equal(N(ops.scatter_update(base, upd, np.array([9.0, -9.0], "float32"))), want)
    np.testing.assert_array_equal(N(ops.slice(base, (1, 1), (2, 2))), base[1:3, 1:3])
    want = base.copy()
    want[1:3, 2:4] = -1.0
    np.testing.assert_array_equal(N(ops.slice_update(base, (1, 2), -np.ones((2, 2), "float32"))), want)


def test_control_flow():
    assert float(N(ops.cond(T(True), lambda: T(1.0), lambda: T(2.0)))) == 1.0
    assert float(N(ops.cond(T(False), lambda: T(1.0), lambda: T(2.0)))) == 2.0
    i, total = ops.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (T(0), T(0)))
    assert (int(N(i)), int(N(total))) == (5, 10)
    assert int(N(ops.while_loop(lambda i: i < 100, lambda i: i + 1, T(0), maximum_iterations=7))) == 7
    assert int(N(ops.fori_loop(0, 5, lambda k, v: v + k, T(0)))) == 10


def test_control_flow_traced():
    @mlfront.jit
    def fn(x):
        y = ops.cond(ops.sum(x) > 0, lambda: x * 2.0, lambda: -x)
        _, z = ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v + 1.0), (T(0), y))
        return ops.fori_loop(0, 2, lambda k, v: v * 2.0, z)
    x = np.array([1.0, 2.0], "float32")
    np.testing.assert_allclose(N(fn(T(x))), (x * 2 + 3) * 4)
    np.testing.assert_allclose(N(fn(T(-x))), (x + 3) * 4)


def test_cast_accepts_dtype_objects():
    x = np.array([1.7, -2.2], "float32")
    for dtype in ("int32", np.int32, np.dtype("int32")):
        assert N(ops.cast(x, dtype)).dtype == np.int32
    engine = {"torch": "torch", "jax": "jax.numpy", "tensorflow": "tensorflow"}[mlfront.backend()]
    lib = pytest.importorskip(engine)
    assert N(ops.cast(x, lib.float16)).dtype == np.float16
    assert N(ops.cast(x, lib.int32)).tolist() == [1, -2]
    with pytest.raises(ValueError, match="dtype"):
        ops.cast(x, object())


def test_errors_name_the_argument():
    x = rand(2, 2)
    with pytest.raises(NotImplementedError, match="mode"):
        ops.pad(x, 1, mode="reflect")
    with pytest.raises(NotImplementedError, match="reduction"):
        ops.scatter_update(x, np.array([[0, 0]]), np.array([1.0], "float32"), reduction="add")
    with pytest.raises(NotImplementedError, match="sparse"):
        ops.one_hot(np.array([0, 1]), 3, sparse=True)
    with pytest.raises(ValueError, match="squeeze"):
        ops.squeeze(x, axis=0)


def test_variables_accepted():
    v = mlfront.Variable(np.array([-1.0, 2.0], "float32"))
    np.testing.assert_allclose(N(ops.power(v, 2.0)), [1.0, 4.0])
    np.testing.assert_allclose(N(ops.tile(v, 2)), [-1.0, 2.0, -1.0, 2.0])


# ---------------------------------------------------------------------- the base composites against the natives
def _cases():
    x, pos, unit = rand(3, 4), rand(3, 4, lo=1.0, hi=6.0), rand(3, 4, lo=-0.95, hi=0.95)
    special = np.array([[np.nan, np.inf, -np.inf, 2.0]], "float32")
    idx = np.array([[0, 1], [2, 3], [0, 1]], "int32")
    return [
        *[(name, (x,), {}) for name in ("sin", "tan", "sinh", "cosh", "arctan", "arcsinh", "erf", "round")],
        *[(name, (unit,), {}) for name in ("arcsin", "arccos", "arctanh")],
        ("arccosh", (pos,), {}), ("arctan2", (x, rand(3, 4)), {}), ("power", (pos, x), {}),
        *[(name, (special,), {}) for name in ("isnan", "isinf", "isfinite")],
        ("logical_not", (x > 0,), {}), ("logical_and", (x > 0, x < 1), {}), ("logical_or", (x > 0, x < -1), {}),
        ("logical_xor", (x > 0, x < 1), {}), ("any", (x > 2,), {"axis": 1}), ("all", (x > -2,), {"axis": 0}),
        ("any", (x > 2,), {}), ("argmin", (x,), {"axis": 1}), ("prod", (x,), {"axis": 1}),
        ("prod", (x,), {"axis": (0, 1), "keepdims": True}), ("round", (x * 10,), {"decimals": 1}),
        ("tile", (x, [2, 1, 3]), {}), ("repeat", (x, 2), {"axis": 1}), ("tril", (x,), {"k": 1}),
        ("triu", (x,), {"k": -1}), ("eye", (3, 4, 1), {}), ("linspace", (-1.0, 2.0, 7), {}),
        ("meshgrid", (x[0], x[1, :3]), {"indexing": "xy"}), ("meshgrid", (x[0], x[1, :3]), {"indexing": "ij"}),
        ("norm", (x,), {"ord": 1, "axis": (0, 1)}), ("scatter", (idx, rand(3), (3, 4)), {}),
        ("scatter_update", (x, idx[:2], rand(2)), {}), ("slice", (x, [1, 0], [2, 3]), {}),
        ("slice_update", (x, [1, 1], rand(2, 2)), {}),
    ]


def _compiled(method, args, kwargs):
    """`method(*args, **kwargs)` run under `mlfront.jit` (the array arguments traced, the rest fixed)."""
    where = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def fn(*arrays):
        full = list(args)
        for i, a in zip(where, arrays):
            full[i] = a
        return method(*full, **kwargs)
    return N_tree(mlfront.jit(fn)(*[T(args[i]) for i in where]))


@pytest.mark.parametrize("case", range(len(_cases())))
def test_composite_matches_native(case):
    # compiled, so the composites are also checked under tracing (and JAX compiles each case once)
    name, args, kwargs = _cases()[case]
    composite = _compiled(lambda *a, **k: getattr(Backend, name)(B, *a, **k), args, kwargs)
    native = _compiled(getattr(B, name), args, kwargs)
    for c, n in zip(composite, native):
        assert c.shape == n.shape, name
        if c.dtype == bool:
            np.testing.assert_array_equal(c, n, err_msg=name)
        else:
            np.testing.assert_allclose(c.astype("float64"), n.astype("float64"), rtol=2e-5, atol=3e-6, err_msg=name)


def N_tree(out):
    return [N(o) for o in out] if isinstance(out, (list, tuple)) else [N(out)]


def test_composite_control_flow_and_cast_names():
    assert float(N(Backend.cond(B, True, lambda: T(1.0), lambda: T(2.0)))) == 1.0
    out = Backend.while_loop(B, lambda i: i < 4, lambda i: (i + 1,), (T(0),), maximum_iterations=3)
    assert int(N(out[0])) == 3
    assert int(N(Backend.fori_loop(B, 1, 4, lambda k, v: v * k, T(1)))) == 6
    assert Backend.standardize_dtype(B, np.float32) == "float32"
    assert Backend.standardize_dtype(B, "int8") == "int8"
