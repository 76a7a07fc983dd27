"""Real Keras 3 as the reference: every `mlfront.ops` function and every Keras 2 `K` function is called next to its
Keras namesake on the same engine (`KERAS_BACKEND` = mlfront's backend, which tox sets) with the same random inputs,
and must give the same shape, the same dtype kind and the same numbers (float32: |Δ| < 1e-5 + 1e-6 |Keras's|, the
relative part for the few large values such as products; no op needs more).

* `mlfront.ops` against `keras.ops` (and `keras.ops.image`): default arguments first, then the argument sets whose
  defaults differ across libraries (axis, keepdims, split indices, ...); the signatures must be Keras's exactly.
* `mlfront.backend` (`import mlfront.backend as K`) against `keras.src.legacy.backend`, the Keras 2 backend Keras 3
  still ships (TensorFlow only), and on every engine against the `keras.ops` function that computes the same thing.
* Random functions are compared by shape, dtype and moments only.

Without Keras installed (or with Keras on another engine) the module is skipped; the NumPy references in
test_ops_api.py and the tf_keras fixture in test_keras_backend_functions.py still run.
"""

import inspect
import os

import numpy as np
import pytest

import mlfront
import mlfront.backend as K
from mlfront import ops

os.environ.setdefault("KERAS_BACKEND", mlfront.backend())
keras = pytest.importorskip("keras")
if keras.backend.backend() != mlfront.backend():
    pytest.skip(f"Keras runs on {keras.backend.backend()!r}, mlfront on {mlfront.backend()!r}",
                allow_module_level=True)
kops = keras.ops
ENGINE = mlfront.backend()

ATOL, RTOL = 1e-5, 1e-6
RNG = np.random.default_rng(2024)


def rand(*shape, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, shape).astype("float32")


# One fixed set of inputs (small fixed shapes, so jax compiles each op once).
X = rand(3, 4)
Y = rand(3, 4)
ROW = rand(4)
POS = rand(3, 4, lo=0.1, hi=3.0)
UNIT = rand(3, 4, lo=-0.95, hi=0.95)
GE1 = rand(3, 4, lo=1.0, hi=5.0)
X3 = rand(2, 3, 4)
SQ = rand(1, 3, 1)
TIES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.25, -7.75], "float32")
SPECIAL = np.array([0.0, -1.5, np.nan, np.inf, -np.inf, 3.0], "float32")
INTS = RNG.integers(0, 5, (3, 4)).astype("int32")
MASK = X > 0
MASK2 = Y > 0
IMAGES = rand(2, 5, 6, 3, lo=0.0, hi=1.0)
SIGNAL = rand(2, 9, 3)
KERNEL1 = rand(3, 3, 4)
KERNEL2 = rand(3, 2, 3, 4)
KERNEL2_T = rand(3, 2, 4, 3)  # conv_transpose: (*kernel_size, out, in)
ATT_Q, ATT_K = rand(2, 3, 2, 4), rand(2, 5, 2, 4)  # dot_product_attention: (batch, positions, heads, depth)
ATT_MASK = np.tile(np.array([True, False, True, True, False]), (2, 1, 3, 1))
# no point lands exactly half-way between pixels, where the rounding of "nearest" would be float32 noise
TRANSFORM = np.array([[0.8312, -0.4671, 1.3157, 0.4093, 0.9277, -0.7149, 0.0, 0.0],
                      [1.1119, 0.1337, -0.6731, -0.1893, 0.8741, 1.0917, 0.0, 0.0]], "float32")
PROJECTIVE = np.array([[1.1119, 0.1337, -0.6731, -0.1893, 0.8741, 1.0917, 0.0513, -0.0371]], "float32")


class KerasDiffers:
    """Keras 3.15 on `engines` gives a wrong result (or refuses the call): there mlfront is compared with
    `reference()` (NumPy's answer, or Keras's own on the spelled-out arguments) instead; `why` says what Keras does."""

    def __init__(self, engines, why, reference):
        self.engines, self.why, self.reference = set(engines), why, reference

    def __repr__(self):
        return f"KerasDiffers({sorted(self.engines)})"


def _tf_kernel_affine(*args, **kwargs):
    """TensorFlow's ImageProjectiveTransformV3 (what Keras runs on tensorflow), the per-pixel NumPy reference."""
    from references import preprocessing
    return preprocessing.affine_transform(*args, **kwargs).astype("float32")

# (op, args, kwargs): the same call on mlfront.ops and keras.ops. Defaults first, then the arguments whose
# defaults differ across libraries. "image.<name>" is `ops.image.<name>`.
OP_CASES = [
    ("convert_to_tensor", (X,), {}), ("convert_to_tensor", (INTS,), {"dtype": "float32"}),
    ("convert_to_numpy", (X,), {}), ("cast", (X, "int32"), {}), ("cast", (INTS, "float32"), {}),
    ("dtype", (X,), {}), ("dtype", (INTS,), {}), ("shape", (X3,), {}),
    ("zeros", ((2, 3),), {}), ("zeros", (3,), {"dtype": "int32"}), ("ones", ((2, 3),), {}),
    ("zeros_like", (X,), {}), ("zeros_like", (INTS,), {}), ("ones_like", (X,), {"dtype": "int32"}),
    ("full", ((2, 3), 1.5), {}), ("full", ((2,), 7), {"dtype": "int32"}),
    ("full_like", (X, 2.5), {}), ("full_like", (INTS, 3), {}),
    ("arange", (5,), {}), ("arange", (1.0, 3.0, 0.5), {}), ("arange", (2, 11, 3), {}),
    ("arange", (4,), {"dtype": "float32"}),
    ("eye", (3,), {}), ("eye", (3, 5), {"k": 1},
     KerasDiffers({"tensorflow"}, "returns a (4, 6) array", lambda: np.eye(3, 5, 1, dtype="float32"))),
    ("eye", (4, 2), {"k": -1, "dtype": "int32"},
     KerasDiffers({"tensorflow"}, "returns a (5, 3) array", lambda: np.eye(4, 2, -1, dtype="int32"))),
    ("linspace", (0.0, 1.0), {}), ("linspace", (-3.0, 7.0, 11), {"endpoint": False}),
    ("linspace", (0.0, 1.0, 5), {"retstep": True}), ("linspace", (ROW[:2], ROW[2:], 4), {"axis": 1},
     KerasDiffers({"torch"}, "refuses axis (torch.linspace has none)",
                  lambda: np.linspace(ROW[:2], ROW[2:], 4, axis=1).astype("float32"))),
    ("meshgrid", (ROW[:3], ROW), {}), ("meshgrid", (ROW[:3], ROW), {"indexing": "ij"}),
    ("tril", (X,), {}), ("tril", (X3, -1), {}), ("triu", (X,), {}), ("triu", (X3, 2), {}),
    # elementwise
    ("abs", (X,), {}), ("sign", (X,), {}), ("negative", (X,), {}), ("exp", (X,), {}), ("expm1", (UNIT,), {}),
    ("log", (POS,), {}), ("log1p", (POS,), {}), ("sqrt", (POS,), {}), ("rsqrt", (POS,), {}), ("square", (X,), {}),
    ("floor", (X,), {}), ("round", (TIES,), {}), ("round", (X,), {"decimals": 2}),
    ("sin", (X,), {}), ("cos", (X,), {}), ("tan", (UNIT,), {}), ("arcsin", (UNIT,), {}), ("arccos", (UNIT,), {}),
    ("arctan", (X,), {}), ("arctan2", (X, Y), {}), ("arctan2", (np.array([0.0, 0.0, 1.0, -1.0, 0.0], "float32"),
                                                          np.array([1.0, -1.0, 0.0, 0.0, 0.0], "float32")), {}),
    ("sinh", (X,), {}), ("cosh", (X,), {}), ("tanh", (X,), {}), ("arcsinh", (X,), {}), ("arccosh", (GE1,), {}),
    ("arctanh", (UNIT,), {}), ("erf", (X,), {}),
    ("power", (POS, X), {}), ("power", (X, 3.0), {}), ("power", (INTS, 2), {}),
    ("add", (X, ROW), {}), ("add", (X, 2), {}), ("add", (INTS, INTS), {}), ("add", (INTS, 2.5), {}),
    ("add", (MASK, 1), {}),
    ("multiply", (2, INTS), {}), ("subtract", (X, Y), {}),
    ("subtract", (3.0, X), {}), ("multiply", (X, ROW), {}), ("multiply", (INTS, 2), {}), ("multiply", (INTS, 0.5), {}),
    ("divide", (X, POS), {}),
    ("divide", (INTS, 2), {}), ("maximum", (X, Y), {}), ("maximum", (X, 0.5), {}), ("minimum", (X, ROW), {}),
    ("clip", (X, -1.0, 1.5), {}), ("clip", (INTS, 1, 3), {}),
    ("where", (MASK, X, Y), {}), ("where", (MASK, X, 0.0), {}), ("where", (MASK,), {}),
    ("isnan", (SPECIAL,), {}), ("isinf", (SPECIAL,), {}), ("isfinite", (SPECIAL,), {}),
    ("equal", (INTS, 2), {}), ("equal", (X, Y), {}), ("not_equal", (INTS, 2), {}), ("greater", (X, Y), {}),
    ("greater", (INTS, 1.5), {}),
    ("greater_equal", (INTS, 2), {}), ("less", (X, ROW), {}), ("less_equal", (X, 0.0), {}),
    ("logical_and", (MASK, MASK2), {}), ("logical_or", (MASK, MASK2), {}), ("logical_not", (MASK,), {}),
    ("logical_xor", (MASK, MASK2), {}), ("logical_and", (X, INTS), {}),
    # reductions
    ("sum", (X3,), {}), ("sum", (X3,), {"axis": 1}), ("sum", (X3,), {"axis": (0, 2), "keepdims": True}),
    ("sum", (X3,), {"keepdims": True},
     KerasDiffers({"torch"}, "drops keepdims when axis is None", lambda: np.sum(X3, keepdims=True))),
    ("sum", (INTS,), {"axis": 0}), ("sum", (MASK,), {}), ("prod", (MASK,), {"axis": 0}),
    ("mean", (X3,), {}), ("mean", (X3,), {"axis": -1, "keepdims": True}), ("mean", (INTS,), {}),
    ("std", (INTS,), {"axis": 0}), ("var", (MASK,), {}),
    ("max", (X3,), {}), ("max", (X3,), {"axis": 1, "keepdims": True}), ("max", (X,), {"axis": 1, "initial": 1.0}),
    ("min", (X3,), {}), ("min", (X3,), {"axis": (0, 1)}), ("min", (X,), {"axis": 0, "initial": -1.0}),
    ("prod", (X,), {}), ("prod", (X3,), {"axis": 2, "keepdims": True}), ("prod", (INTS,), {"axis": 1}),
    ("std", (X3,), {}), ("std", (X3,), {"axis": 1}), ("var", (X3,), {}), ("var", (X3,), {"axis": (1, 2)}),
    ("any", (MASK,), {}), ("any", (MASK,), {"axis": 1, "keepdims": True}), ("all", (MASK,), {}),
    ("all", (MASK,), {"axis": 0}),
    ("argmax", (X3,), {}), ("argmax", (X3,), {"axis": 1}), ("argmax", (X3,), {"axis": -1, "keepdims": True}),
    ("argmin", (X3,), {}), ("argmin", (X3,), {"axis": 0}), ("argmin", (X3,), {"keepdims": True}),
    ("logsumexp", (X3,), {}), ("logsumexp", (X3,), {"axis": 1}), ("logsumexp", (X3,), {"axis": -1, "keepdims": True}),
    ("logsumexp", (X3,), {"keepdims": True}),
    ("cumsum", (X,), {}), ("cumsum", (X,), {"axis": 1}), ("cumsum", (INTS,), {"axis": 0, "dtype": "float32"}),
    ("norm", (X,), {}), ("norm", (X,), {"axis": 1}), ("norm", (X,), {"ord": 1, "axis": 1}),
    ("norm", (X,), {"ord": np.inf, "axis": 0, "keepdims": True}), ("norm", (X,), {"ord": "fro"}),
    ("norm", (X,), {"ord": 1, "axis": (0, 1)}), ("norm", (X,), {"ord": -np.inf, "axis": (0, 1)}),
    ("norm", (ROW,), {"ord": 3}), ("norm", (ROW,), {"ord": 0}),
    ("top_k", (X, 2), {}), ("top_k", (X3, 3), {}), ("sort", (X,), {}), ("sort", (X,), {"axis": 0}),
    # shapes, gathers and scatters
    ("reshape", (X, (4, 3)), {}), ("reshape", (X3, (-1,)), {}), ("reshape", (X3, (2, -1)), {}),
    ("transpose", (X3,), {}), ("transpose", (X3, (0, 2, 1)), {}),
    ("expand_dims", (X, 0), {}), ("expand_dims", (X, -1), {}), ("expand_dims", (X, 1), {}),
    ("squeeze", (SQ,), {}), ("squeeze", (SQ,), {"axis": 0}), ("squeeze", (SQ,), {"axis": -1}),
    ("concatenate", ([X, Y],), {}), ("concatenate", ([X, Y],), {"axis": 1}), ("concatenate", ([X, Y],), {"axis": -1}),
    ("stack", ([X, Y],), {}), ("stack", ([X, Y],), {"axis": -1}),
    ("split", (X, 3), {}), ("split", (X, 2), {"axis": 1}), ("split", (X, [1, 3]), {"axis": 1}),
    ("split", (X3, [1]), {}),
    ("take", (X, np.array([0, 5, 11], "int32")), {}), ("take", (X, np.array([2, 0], "int32")), {"axis": 1}),
    ("take", (X3, np.array([[0, 1], [1, 0]], "int32")), {"axis": 0}),
    ("take_along_axis", (X, np.argsort(X, axis=1).astype("int32")), {"axis": 1}),
    ("take_along_axis", (X, np.array([3, 0, 7], "int32")), {}),
    ("broadcast_to", (ROW, (3, 4)), {}), ("broadcast_to", (SQ, (2, 3, 5)), {}),
    ("flip", (X,), {}), ("flip", (X,), {"axis": 1}), ("flip", (X3,), {"axis": (0, 2)}),
    ("tile", (X, 2), {}), ("tile", (X, (2, 1)), {}), ("tile", (X, (2, 1, 2)), {}),
    ("repeat", (X, 2), {}), ("repeat", (X, 2), {"axis": 0}), ("repeat", (X, [1, 0, 2]), {"axis": 0},
     KerasDiffers({"torch", "jax"}, "refuses a list of repeats",
                  lambda: kops.repeat(X, kops.convert_to_tensor([1, 0, 2]), axis=0))),
    ("pad", (X, 1), {},
     KerasDiffers({"torch", "tensorflow"}, "pads only the last axis (torch) or refuses (tensorflow) an int width",
                  lambda: np.pad(X, 1))),
    ("pad", (X, ((1, 0), (0, 2))), {}), ("pad", (X, ((0, 1), (2, 0))), {"constant_values": 5.0}),
    ("one_hot", (INTS, 5), {}), ("one_hot", (INTS, 5), {"axis": 0}), ("one_hot", (INTS, 6), {"dtype": "int32"}),
    ("einsum", ("ij,kj->ik", X, Y), {}), ("einsum", ("bij->bj", X3), {}),
    ("matmul", (X, Y.T), {}), ("matmul", (X3, ROW), {}), ("matmul", (ROW, rand(2, 4, 5)), {}),
    ("matmul", (ROW, ROW), {}), ("matmul", (X3, rand(2, 4, 5)), {}),
    ("slice", (X, (1, 0), (2, 3)), {}), ("slice_update", (X, (1, 1), rand(2, 2)), {}),
    ("scatter", (np.array([[0, 1], [2, 0], [0, 1]], "int32"), np.array([1.0, 2.0, 3.0], "float32"), (3, 2)), {}),
    ("scatter_update", (X, np.array([[0, 1], [2, 3]], "int32"), np.array([9.0, -9.0], "float32")), {}),
    # neural-network functions
    ("relu", (X,), {}), ("sigmoid", (X,), {}), ("softplus", (X,), {}), ("softsign", (X,), {}), ("elu", (X,), {}),
    ("elu", (X,), {"alpha": 0.5}), ("selu", (X,), {}), ("hard_sigmoid", (X,), {}),
    ("softmax", (X,), {}), ("softmax", (X,), {"axis": 0}), ("log_softmax", (X,), {}),
    ("log_softmax", (X3,), {"axis": 1}),
    ("conv", (SIGNAL, KERNEL1), {}), ("conv", (SIGNAL, KERNEL1), {"strides": 2, "padding": "same"}),
    ("conv", (IMAGES, KERNEL2), {}), ("conv", (IMAGES, KERNEL2), {"padding": "same", "dilation_rate": 2}),
    ("conv", (IMAGES, KERNEL2), {"strides": (2, 1)}),
    ("conv_transpose", (IMAGES, KERNEL2_T), {}), ("conv_transpose", (IMAGES, KERNEL2_T), {"strides": 2}),
    ("conv_transpose", (IMAGES, KERNEL2_T), {"strides": 2, "padding": "same"}),
    ("max_pool", (IMAGES, 2), {},
     KerasDiffers({"jax"}, "fails for strides=None", lambda: kops.max_pool(IMAGES, 2, strides=2))),
    ("max_pool", (IMAGES, (2, 3)), {"strides": 1}),
    ("max_pool", (IMAGES, 2), {"padding": "same"},
     KerasDiffers({"jax"}, "fails for strides=None", lambda: kops.max_pool(IMAGES, 2, 2, padding="same"))),
    ("max_pool", (SIGNAL, 3), {"strides": 2}),
    ("average_pool", (IMAGES, 2), {},
     KerasDiffers({"jax"}, "fails for strides=None", lambda: kops.average_pool(IMAGES, 2, strides=2))),
    ("average_pool", (IMAGES, (3, 2)), {"strides": (1, 2)}),
    ("average_pool", (SIGNAL, 2), {"padding": "valid"},
     KerasDiffers({"jax"}, "fails for strides=None", lambda: kops.average_pool(SIGNAL, 2, 2, "valid"))),
    ("dot_product_attention", (ATT_Q, ATT_K, ATT_K), {}),
    ("dot_product_attention", (ATT_Q, ATT_K, ATT_K), {"is_causal": True, "scale": 0.5}),
    ("dot_product_attention", (ATT_Q, ATT_K, ATT_K), {"mask": ATT_MASK}),
    ("stop_gradient", (X,), {}),
    # keras.ops.image
    ("image.resize", (IMAGES, (10, 12)), {}), ("image.resize", (IMAGES, (3, 4)), {}),
    ("image.resize", (IMAGES, (7, 9)), {"interpolation": "nearest"}),
    ("image.affine_transform", (IMAGES, TRANSFORM), {}),
    ("image.affine_transform", (IMAGES, TRANSFORM), {"interpolation": "nearest"}),
    ("image.affine_transform", (IMAGES[:1], PROJECTIVE), {},
     KerasDiffers({"torch", "jax"}, "divides by c0 x + c1 y + 1 unlike its tensorflow backend and its docstring",
                  lambda: _tf_kernel_affine(IMAGES[:1], PROJECTIVE))),
    ("image.affine_transform", (IMAGES, TRANSFORM), {"fill_mode": "nearest"}),
    ("image.affine_transform", (IMAGES, TRANSFORM), {"fill_mode": "reflect", "fill_value": 0.5}),
    ("image.affine_transform", (IMAGES, TRANSFORM), {"fill_mode": "wrap"},
     KerasDiffers({"torch", "jax"}, "wraps like scipy's grid-wrap, unlike its tensorflow backend",
                  lambda: _tf_kernel_affine(IMAGES, TRANSFORM, fill_mode="wrap"))),
    ("image.affine_transform", (IMAGES, TRANSFORM[0]), {"fill_value": 0.25},
     KerasDiffers({"torch", "jax"}, "refuses one transform for a batch of images",
                  lambda: kops.image.affine_transform(IMAGES, np.stack([TRANSFORM[0]] * 2), fill_value=0.25))),
]

# Ops called through their own small cases below (they take functions).
CONTROL_FLOW = {"cond", "while_loop", "fori_loop"}
# Names of `mlfront.ops.__all__` that `keras.ops` lacks: none today; a new one must be added here on purpose.
NO_KERAS_COUNTERPART = set()
IMAGE_OPS = ["image." + name for name in vars(type(ops.image)) if not name.startswith("_")]


def _resolve(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _ours(value):
    return ops.convert_to_numpy(value) if K.get().is_array(value) or isinstance(value, mlfront.Variable) else value


def _theirs(value):
    if isinstance(value, (str, int, float, bool, np.ndarray, np.generic)) or value is None:
        return value
    # an engine tensor straight to NumPy (Keras 3.15's own convert_to_numpy warns about NumPy 2's copy keyword)
    return K.get().to_numpy(value) if K.get().is_array(value) else kops.convert_to_numpy(value)


def assert_same(ours, theirs, what, to_numpy=(_ours, _theirs)):
    """`ours` (mlfront) and `theirs` (Keras) hold the same values: same structure, shapes, dtype kinds, numbers."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), (what, type(ours), len(theirs))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{what}[{i}]", to_numpy)
        return
    if isinstance(theirs, str):
        assert ours == theirs, what
        return
    a, b = np.asarray(to_numpy[0](ours)), np.asarray(to_numpy[1](theirs))
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert a.dtype.kind == b.dtype.kind, (what, a.dtype, b.dtype)
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


# ---------------------------------------------------------------------------------------------- mlfront.ops
def _common_op_names():
    return [n for n in ops.__all__ if n != "image" and hasattr(kops, n)] + IMAGE_OPS


def test_every_op_has_a_keras_namesake_or_is_listed():
    missing = {n for n in ops.__all__ if n != "image" and not hasattr(kops, n)}
    missing |= {n for n in IMAGE_OPS if not hasattr(kops.image, n.split(".", 1)[1])}
    assert missing == NO_KERAS_COUNTERPART


def test_every_common_op_is_compared():
    assert {case[0] for case in OP_CASES} | CONTROL_FLOW == set(_common_op_names())


@pytest.mark.parametrize("name", _common_op_names())
def test_signature_is_keras(name):
    assert inspect.signature(_resolve(ops, name)) == inspect.signature(_resolve(kops, name))


def _keras_args(args):
    """NumPy arrays as Keras tensors (some keras.ops functions refuse NumPy arrays on some engines)."""
    return [kops.convert_to_tensor(a) if isinstance(a, np.ndarray) else _keras_args(a) if isinstance(a, list) else a
            for a in args]


@pytest.mark.parametrize("name,args,kwargs,differs", [c + (None,) * (4 - len(c)) for c in OP_CASES],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(OP_CASES)])
def test_op_matches_keras(name, args, kwargs, differs):
    ours = _resolve(ops, name)(*args, **kwargs)
    if differs is not None and ENGINE in differs.engines:
        assert_same(ours, differs.reference(), f"{name}{kwargs} (Keras {differs.why})")
    else:
        assert_same(ours, _resolve(kops, name)(*_keras_args(args), **kwargs), f"{name}{kwargs}")


DIFFERING = [c for c in OP_CASES if len(c) == 4 and ENGINE in c[3].engines]


@pytest.mark.parametrize("name,args,kwargs,differs", DIFFERING, ids=[f"{c[0]}-{c[3].why}" for c in DIFFERING])
def test_listed_keras_differences_still_hold(name, args, kwargs, differs):
    """A KerasDiffers entry that a newer Keras no longer needs fails here, so the list stays true."""
    try:
        theirs = _resolve(kops, name)(*_keras_args(args), **kwargs)
    except Exception:  # noqa: BLE001 - Keras refusing the call is the listed difference
        return
    with pytest.raises(AssertionError):
        assert_same(differs.reference(), theirs, name)


def test_control_flow_matches_keras():
    for pred in (True, np.array(False)):
        keras_pred = pred if isinstance(pred, bool) else kops.convert_to_tensor(pred)
        assert_same(ops.cond(pred, lambda: ops.multiply(X, 2.0), lambda: ops.negative(X)),
                    kops.cond(keras_pred, lambda: kops.multiply(X, 2.0), lambda: kops.negative(X)), f"cond {pred}")

    def test(i, value):
        return i < 5

    def body(lib):
        return lambda i, value: (lib.add(i, 1), lib.multiply(value, 1.5))

    start = (np.array(0, "int32"), X)
    assert_same(ops.while_loop(test, body(ops), start), kops.while_loop(test, body(kops), start), "while_loop")
    assert_same(ops.while_loop(test, body(ops), start, maximum_iterations=3),
                kops.while_loop(test, body(kops), start, maximum_iterations=3), "while_loop maximum_iterations")
    assert_same(ops.while_loop(lambda v: ops.sum(v) < 100.0, lambda v: ops.multiply(v, 2.0), POS),
                kops.while_loop(lambda v: kops.sum(v) < 100.0, lambda v: kops.multiply(v, 2.0), POS),
                "while_loop on one array")
    assert_same(ops.fori_loop(0, 4, lambda i, v: ops.add(ops.multiply(v, 0.5), ops.cast(i, "float32")), X),
                kops.fori_loop(0, 4, lambda i, v: kops.add(kops.multiply(v, 0.5), kops.cast(i, "float32")), X),
                "fori_loop")


# ---------------------------------------------------------------------------------------------- K functions
KX, KY, KX3 = rand(3, 4), rand(3, 4), rand(2, 3, 4)
KW, KB3 = rand(4, 5), rand(2, 4, 5)
_logits = rand(3, 4)
PROB = (np.exp(_logits) / np.exp(_logits).sum(-1, keepdims=True)).astype("float32")
LABELS = np.array([2, 0, 3], "int32")
TARGET = np.eye(4, dtype="float32")[LABELS]
# probabilities away from 0 and 1: Keras 2 adds epsilon inside the logs of binary_crossentropy, Keras 3 does not,
# which moves the result by about epsilon / p (< 2e-6 here)
BIN_P = rand(3, 4, lo=0.05, hi=0.95)
BIN_T = (rand(3, 4) > 0).astype("float32")
KIMG, KIMG_CF = rand(2, 6, 5, 3), rand(2, 3, 6, 5)
KKERNEL = rand(3, 3, 3, 4)

# Marks a case mlfront accepts beyond Keras 2 (a (rows, columns) eye, a Python bool or a 1-D condition for
# switch, an int pool_size), which the legacy backend refuses: it is compared with Keras 3 only.
EXTENSION = "extension"

# (K function, args, kwargs[, EXTENSION]), checked against `keras.src.legacy.backend` on tensorflow and, on every
# engine, against the Keras 3 function in K3 computing the same thing.
K_CASES = [
    ("int_shape", (KX3,), {}), ("shape", (KX3,), {}), ("ndim", (KX3,), {}), ("dtype", (KX,), {}),
    ("dtype", (INTS,), {}), ("cast", (KX, "int32"), {}), ("cast", (INTS, "float32"), {}),
    ("constant", ([[1, 2], [3, 4]],), {}), ("constant", (2.5,), {"shape": (2, 3)}),
    ("constant", (INTS,), {"dtype": "float32"}), ("constant", (KX3,), {"shape": (4, 6)}), ("variable", (KX,), {}),
    ("variable", (INTS,), {"dtype": "int32"}), ("zeros", ((2, 3),), {}), ("ones", ((2, 3),), {"dtype": "int32"}),
    ("eye", (3,), {}), ("eye", ((2, 4),), {}, EXTENSION), ("zeros_like", (KX,), {}), ("ones_like", (INTS,), {}),
    ("ones_like", (KX,), {"dtype": "int32"}), ("get_value", (KX,), {}), ("batch_get_value", ([KX, INTS],), {}),
    # reductions
    ("sum", (KX3,), {}), ("sum", (KX3,), {"axis": 1}), ("sum", (KX3,), {"axis": [0, 2], "keepdims": True}),
    ("sum", (KX3,), {"keepdims": True}), ("mean", (KX3,), {"axis": -1}), ("mean", (KX3,), {"keepdims": True}),
    ("max", (KX3,), {}), ("max", (KX3,), {"axis": (1,)}), ("min", (KX3,), {"axis": -2, "keepdims": True}),
    ("prod", (KX,), {"axis": 0}), ("prod", (KX,), {}), ("std", (KX3,), {"axis": 1}), ("std", (KX3,), {}),
    ("var", (KX3,), {}), ("var", (KX3,), {"axis": -1, "keepdims": True}),
    ("argmax", (KX3,), {}), ("argmax", (KX3,), {"axis": 0}), ("argmin", (KX3,), {}), ("argmin", (KX3,), {"axis": 1}),
    # elementwise
    ("square", (KX,), {}), ("sqrt", (KX,), {}), ("abs", (KX,), {}), ("exp", (KX,), {}), ("log", (POS,), {}),
    ("pow", (KX, 2), {}), ("pow", (POS, 0.5), {}), ("pow", (POS, KX), {}),
    ("clip", (KX, -1.0, 1.0), {}), ("clip", (KX, 0.5, 0.2), {}), ("clip", (KX, None, 1.0), {}),
    ("sign", (KX,), {}), ("round", (TIES,), {}), ("round", (KX,), {}),
    ("equal", (KX, KY), {}), ("equal", (INTS, 2), {}), ("not_equal", (INTS, 2), {}), ("greater", (KX, KY), {}),
    ("greater_equal", (KX, 0.5), {}), ("less", (KX, KY), {}), ("less_equal", (INTS, 1), {}),
    ("maximum", (KX, KY), {}), ("minimum", (KX, KY), {}), ("sin", (KX,), {}), ("cos", (KX,), {}),
    # products
    ("dot", (KX, KW), {}), ("dot", (KX3, KW), {}), ("dot", (KX3, KB3), {}),
    ("batch_dot", (KX3, KB3), {}), ("batch_dot", (KX3, KX3), {"axes": 2}), ("batch_dot", (KX, KY), {}),
    ("batch_dot", (KX3, KX3), {"axes": (1, 1)}), ("batch_dot", (KX3, KY[:2]), {"axes": (2, 1)}),
    # reshaping
    ("transpose", (KX,), {}), ("transpose", (KX3,), {}), ("reshape", (KX3, (4, -1)), {}),
    ("permute_dimensions", (KX3, (0, 2, 1)), {}), ("expand_dims", (KX,), {}), ("expand_dims", (KX,), {"axis": 0}),
    ("squeeze", (SQ, 0), {}), ("squeeze", (SQ, -1), {}), ("concatenate", ([KX, KY],), {}),
    ("concatenate", ([KX, KY],), {"axis": 0}), ("stack", ([KX, KY],), {}), ("stack", ([KX, KY],), {"axis": -1}),
    ("tile", (KX, (2, 1)), {}), ("tile", (ROW, 2), {}), ("repeat_elements", (KX, 2, 1), {}),
    ("repeat_elements", (KX3, 3, -1), {}), ("flatten", (KX3,), {}), ("batch_flatten", (KX3,), {}),
    ("one_hot", (LABELS, 5), {}), ("one_hot", (INTS, 5), {}), ("gather", (KX, np.array([2, 0], "int32")), {}),
    ("gather", (KX3, np.array([[0, 1], [1, 1]], "int32")), {}),
    # activations
    ("l2_normalize", (KX,), {}), ("l2_normalize", (KX,), {"axis": 1}), ("l2_normalize", (KX3,), {"axis": -1}),
    ("relu", (KX,), {}), ("relu", (KX,), {"alpha": 0.1}), ("relu", (KX,), {"max_value": 1.0}),
    ("relu", (KX,), {"alpha": 0.2, "max_value": 2.0, "threshold": 0.5}), ("relu", (KX,), {"threshold": -1.0}),
    ("elu", (KX,), {}), ("elu", (KX,), {"alpha": 0.5}), ("softmax", (KX,), {}), ("softmax", (KX3,), {"axis": 1}),
    ("softplus", (KX,), {}), ("softsign", (KX,), {}), ("sigmoid", (KX,), {}), ("hard_sigmoid", (KX,), {}),
    ("tanh", (KX,), {}),
    # losses
    ("categorical_crossentropy", (TARGET, PROB), {}),
    ("categorical_crossentropy", (TARGET, _logits), {"from_logits": True}),
    ("categorical_crossentropy", (TARGET.T, PROB.T), {"axis": 0}),
    ("sparse_categorical_crossentropy", (LABELS, PROB), {}),
    ("sparse_categorical_crossentropy", (LABELS, _logits), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (LABELS[:, None], PROB), {}),
    ("binary_crossentropy", (BIN_T, BIN_P), {}), ("binary_crossentropy", (BIN_T, KX), {"from_logits": True}),
    # choosing, gradients, convolution
    ("switch", (MASK, KX, KY), {}), ("switch", (KX3[..., 0] > 0, KX3, -KX3), {}),
    ("switch", (MASK[:, 0], KX, KY), {}, EXTENSION), ("switch", (True, KX, KY), {}, EXTENSION),
    ("stop_gradient", (KX,), {}), ("stop_gradient", ([KX, KY],), {}),
    ("bias_add", (KX3, ROW), {}), ("bias_add", (KIMG_CF, rand(3)), {"data_format": "channels_first"}),
    ("bias_add", (KX3, rand(3, 4)), {}),
    ("conv2d", (KIMG, KKERNEL), {}), ("conv2d", (KIMG, KKERNEL), {"strides": 2, "padding": "same"}),
    ("conv2d", (KIMG, KKERNEL), {"dilation_rate": (2, 1)}),
    ("conv2d", (KIMG_CF, KKERNEL), {"data_format": "channels_first", "padding": "same"}),
    ("pool2d", (KIMG, (2, 2)), {}), ("pool2d", (KIMG, (2, 2)), {"strides": (2, 2), "pool_mode": "avg"}),
    ("pool2d", (KIMG, (3, 3)), {"strides": (1, 2), "padding": "same"}),
    ("pool2d", (KIMG, 3), {}, EXTENSION),
    ("pool2d", (KIMG_CF, (2, 2)), {"strides": (2, 1), "data_format": "channels_first", "pool_mode": "avg"}),
]


def _k3_expand(condition, then, otherwise):
    condition = kops.convert_to_tensor(condition)
    extra = len(kops.shape(then)) - len(kops.shape(condition))
    return kops.where(kops.reshape(condition, kops.shape(condition) + (1,) * extra), then, otherwise)


def _k3_axis(x, axis, keepdims):
    """Every axis spelled out for axis=None with keepdims (Keras 3.15's torch sum / mean drop keepdims there)."""
    return tuple(range(len(kops.shape(x)))) if axis is None and keepdims else axis


def _nhwc_on_tensorflow(reference):
    """`reference` (a conv2d / pool2d of Keras 3 or of Keras 2's backend) given a channels_first image: on
    tensorflow run on its channels_last transpose and transposed back, since TensorFlow's CPU kernels refuse NCHW
    (2.21) and the references pass it through; elsewhere as it is."""
    def run(x, *args, data_format=None, **kwargs):
        channels_first = (data_format or keras.backend.image_data_format()) == "channels_first"
        if ENGINE != "tensorflow" or not channels_first:
            return reference(x, *args, data_format=data_format, **kwargs)
        y = reference(kops.transpose(x, (0, 2, 3, 1)), *args, data_format="channels_last", **kwargs)
        return kops.transpose(y, (0, 3, 1, 2))
    return run


@_nhwc_on_tensorflow
def _k3_pool(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    pool = kops.max_pool if pool_mode == "max" else kops.average_pool
    return pool(x, pool_size, strides, padding, data_format)


def _k3_dot(x, y):
    return kops.tensordot(x, y, axes=([len(kops.shape(x)) - 1], [max(len(kops.shape(y)) - 2, 0)]))


def _k3_constant(value, dtype=None, shape=None):
    tensor = kops.convert_to_tensor(value, dtype or "float32")
    if shape is None:
        return tensor
    return kops.broadcast_to(tensor, shape) if kops.size(tensor) == 1 else kops.reshape(tensor, shape)


# The Keras 3 function (Keras 2's defaults spelled out) that computes what each K function computes.
K3 = {
    "int_shape": kops.shape, "shape": kops.shape, "ndim": kops.ndim,
    "dtype": lambda x: keras.backend.standardize_dtype(x.dtype), "cast": kops.cast,
    "constant": _k3_constant,
    "variable": lambda value, dtype=None: keras.Variable(value, dtype=dtype or "float32", trainable=False),
    "zeros": lambda shape, dtype=None: kops.zeros(shape, dtype or "float32"),
    "ones": lambda shape, dtype=None: kops.ones(shape, dtype or "float32"),
    "eye": lambda size, dtype=None: kops.eye(*((size,) if isinstance(size, int) else size), dtype=dtype),
    "zeros_like": kops.zeros_like, "ones_like": kops.ones_like, "get_value": kops.convert_to_numpy,
    "batch_get_value": lambda xs: [kops.convert_to_numpy(x) for x in xs],
    "sum": lambda x, axis=None, keepdims=False: kops.sum(x, _k3_axis(x, axis, keepdims), keepdims),
    "mean": lambda x, axis=None, keepdims=False: kops.mean(x, _k3_axis(x, axis, keepdims), keepdims),
    "max": kops.max, "min": kops.min, "prod": kops.prod, "std": kops.std, "var": kops.var,
    "argmax": lambda x, axis=-1: kops.argmax(x, axis), "argmin": lambda x, axis=-1: kops.argmin(x, axis),
    "square": kops.square, "sqrt": lambda x: kops.sqrt(kops.maximum(x, 0.0)), "abs": kops.absolute, "exp": kops.exp,
    "log": kops.log, "pow": kops.power,
    "clip": lambda x, lo, hi: kops.clip(x, -np.inf if lo is None else lo,
                                        np.inf if hi is None else hi if lo is None else max(hi, lo)),
    "sign": kops.sign, "round": kops.round, "equal": kops.equal, "not_equal": kops.not_equal,
    "greater": kops.greater, "greater_equal": kops.greater_equal, "less": kops.less, "less_equal": kops.less_equal,
    "maximum": kops.maximum, "minimum": kops.minimum, "sin": kops.sin, "cos": kops.cos, "dot": _k3_dot,
    "transpose": kops.transpose, "reshape": kops.reshape, "permute_dimensions": kops.transpose,
    "expand_dims": lambda x, axis=-1: kops.expand_dims(x, axis), "squeeze": kops.squeeze,
    "concatenate": lambda xs, axis=-1: kops.concatenate(xs, axis), "stack": kops.stack, "tile": kops.tile,
    "repeat_elements": kops.repeat, "flatten": lambda x: kops.reshape(x, (-1,)),
    "batch_flatten": lambda x: kops.reshape(x, (kops.shape(x)[0], -1)), "one_hot": kops.one_hot,
    "gather": lambda reference, indices: kops.take(reference, indices, axis=0),
    "l2_normalize": lambda x, axis=None: kops.normalize(x, _k3_axis(x, axis, True), epsilon=1e-6),
    "relu": lambda x, alpha=0.0, max_value=None, threshold=0.0: keras.activations.relu(x, alpha, max_value, threshold),
    "elu": kops.elu, "softmax": kops.softmax, "softplus": kops.softplus, "softsign": kops.softsign,
    "sigmoid": kops.sigmoid, "tanh": kops.tanh, "categorical_crossentropy": kops.categorical_crossentropy,
    "sparse_categorical_crossentropy": lambda target, output, from_logits=False, axis=-1:
        kops.sparse_categorical_crossentropy(kops.reshape(target, (-1,)), output, from_logits, axis),
    "binary_crossentropy": kops.binary_crossentropy,
    "switch": lambda condition, then, otherwise: (then if condition else otherwise) if isinstance(condition, bool)
        else _k3_expand(condition, then, otherwise),
    "stop_gradient": lambda x: [kops.stop_gradient(v) for v in x] if isinstance(x, list) else kops.stop_gradient(x),
    "conv2d": _nhwc_on_tensorflow(lambda x, kernel, strides=(1, 1), padding="valid", data_format=None,
                                  dilation_rate=(1, 1): kops.conv(x, kernel, strides, padding, data_format,
                                                                  dilation_rate)),
    "pool2d": _k3_pool,
}
# K functions whose Keras 2 meaning no Keras 3 function has (Keras 3's hard_sigmoid is relu6(x + 3) / 6, Keras 2's
# clip(0.2 x + 0.5, 0, 1)); they are checked against keras.src.legacy.backend on tensorflow and the tf_keras fixture.
KERAS2_ONLY = {"batch_dot", "bias_add", "hard_sigmoid"}
# Tested below on their own: settings, counters, the engine's name, random draws.
K_SPECIAL = {"epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format", "set_image_data_format",
             "clear_session", "get_uid", "backend", "is_keras_tensor", "set_value"}
K_RANDOM = {"random_normal", "random_uniform", "random_bernoulli", "dropout"}
# Keras 3 has no learning phase and no graph functions (its legacy `gradients` is TF1-graph-only), and resets
# its uids only in clear_session.
NO_KERAS3_REFERENCE = {"learning_phase", "set_learning_phase", "in_train_phase", "in_test_phase", "reset_uids",
                       "function", "gradients"}


def test_every_k_function_is_compared():
    cased = {case[0] for case in K_CASES}
    assert cased | K_SPECIAL | K_RANDOM | NO_KERAS3_REFERENCE == set(K.keras2_function_names)
    assert cased - set(K3) == KERAS2_ONLY
    if ENGINE == "tensorflow":
        from keras.src.legacy import backend as legacy
        assert {name for name in cased | {"set_value"} | K_RANDOM if not hasattr(legacy, name)} == set()


K_PARAMS = [c + (None,) * (4 - len(c)) for c in K_CASES]
K_IDS = [f"{c[0]}-{i}" for i, c in enumerate(K_CASES)]


@pytest.mark.parametrize("name,args,kwargs,extension", K_PARAMS, ids=K_IDS)
def test_k_function_matches_keras3(name, args, kwargs, extension):
    if name in KERAS2_ONLY:
        pytest.skip(f"{name}: no Keras 3 function means the same (checked against the legacy backend on tensorflow)")
    assert_same(getattr(K, name)(*args, **kwargs), K3[name](*_keras_args(args), **kwargs), f"K.{name}{kwargs}")


def _legacy():
    if ENGINE != "tensorflow":
        pytest.skip("keras.src.legacy.backend is TensorFlow-only")
    from keras.src.legacy import backend as legacy
    return legacy


def _legacy_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else _theirs(value)


@pytest.mark.parametrize("name,args,kwargs,extension", K_PARAMS, ids=K_IDS)
def test_k_function_matches_legacy_backend(name, args, kwargs, extension):
    legacy = _legacy()
    if extension:
        pytest.skip(f"{name}: an mlfront extension Keras 2 refuses")
    # its functions read tensor attributes (`.shape.rank`, `.dtype.base_dtype`); `constant` wants a NumPy value
    function = getattr(legacy, name)
    function = _nhwc_on_tensorflow(function) if name in ("conv2d", "pool2d") else function
    theirs = function(*(args if name == "constant" else _keras_args(args)), **kwargs)
    theirs = list(theirs) if isinstance(theirs, map) else theirs  # its stop_gradient of a list gives a map
    assert_same(getattr(K, name)(*args, **kwargs), theirs, f"K.{name}{kwargs}", to_numpy=(_ours, _legacy_numpy))


def test_settings_match_keras3():
    assert K.backend() == keras.backend.backend()
    assert (K.epsilon(), K.floatx(), K.image_data_format()) == \
        (keras.backend.epsilon(), keras.backend.floatx(), keras.backend.image_data_format())
    saved = K.epsilon(), K.floatx(), K.image_data_format()
    try:
        # each setting, set the same way in both, reaches the functions: the clip of probabilities, the default
        # dtype, the default layout
        for lib in (K, keras.backend):
            lib.set_epsilon(1e-2)
        assert K.epsilon() == keras.backend.epsilon()
        assert_same(K.categorical_crossentropy(TARGET, PROB), kops.categorical_crossentropy(TARGET, PROB), "epsilon")
        for lib in (K, keras.backend):
            lib.set_floatx("float16")
        assert K.floatx() == keras.backend.floatx()
        assert_same(K.zeros((2, 3)), kops.zeros((2, 3)), "floatx")
        assert ops.dtype(K.zeros((2, 3))) == ops.dtype(K.random_uniform((2,))) == "float16"
        for lib in (K, keras.backend):
            lib.set_floatx(saved[1])
            lib.set_image_data_format("channels_first")
        assert K.image_data_format() == keras.backend.image_data_format()
        assert_same(K.conv2d(KIMG_CF, KKERNEL), K3["conv2d"](KIMG_CF, KKERNEL), "image_data_format")
    finally:
        for lib in (K, keras.backend):
            lib.set_epsilon(saved[0])
            lib.set_floatx(saved[1])
            lib.set_image_data_format(saved[2])


def test_uids_and_clear_session_match_keras3():
    K.clear_session()
    keras.backend.clear_session()
    ours = [K.get_uid("dense"), K.get_uid("dense"), K.get_uid("conv"), K.get_uid("dense")]
    assert ours == [keras.backend.get_uid("dense"), keras.backend.get_uid("dense"), keras.backend.get_uid("conv"),
                    keras.backend.get_uid("dense")] == [1, 2, 1, 3]
    K.clear_session()
    keras.backend.clear_session()
    assert K.get_uid("dense") == keras.backend.get_uid("dense") == 1


def test_is_keras_tensor_and_set_value_match_keras3():
    assert K.is_keras_tensor(mlfront.Input((3,))) is keras.backend.is_keras_tensor(keras.Input((3,))) is True
    assert K.is_keras_tensor(K.constant(KX)) is keras.backend.is_keras_tensor(kops.convert_to_tensor(KX)) is False
    ours = K.variable(KX)
    K.set_value(ours, KY)
    theirs = keras.Variable(KX)
    theirs.assign(KY)
    assert_same(K.get_value(ours), kops.convert_to_numpy(theirs), "set_value")
    if ENGINE == "tensorflow":
        from keras.src.legacy import backend as legacy
        variable = legacy.variable(KX)
        legacy.set_value(variable, KY)
        assert_same(K.get_value(ours), legacy.get_value(variable), "legacy set_value")


# ---------------------------------------------------------------------------------------------- random functions
DRAWS = 4000
DROPPED = np.full((DRAWS,), 2.0, "float32")
# (K function, args, kwargs, the Keras 3 call drawing from the same distribution, (mean, std) of that distribution)
RANDOM_CASES = [
    ("random_normal", ((DRAWS,),), {"mean": 1.0, "stddev": 2.0, "seed": 5},
     lambda: keras.random.normal((DRAWS,), mean=1.0, stddev=2.0, seed=5), (1.0, 2.0)),
    ("random_uniform", ((DRAWS,),), {"minval": -1.0, "maxval": 3.0, "seed": 5},
     lambda: keras.random.uniform((DRAWS,), minval=-1.0, maxval=3.0, seed=5), (1.0, 4.0 / np.sqrt(12.0))),
    ("random_bernoulli", ((DRAWS,),), {"p": 0.3, "seed": 5},
     lambda: keras.random.binomial((DRAWS,), counts=1, probabilities=0.3, seed=5), (0.3, np.sqrt(0.21))),
    ("dropout", (DROPPED, 0.4), {"seed": 5},
     lambda: keras.random.dropout(kops.convert_to_tensor(DROPPED), 0.4, seed=5),
     (2.0, 2.0 / 0.6 * np.sqrt(0.24))),
]


def _assert_moments(samples, mean, std, what):
    samples = np.asarray(samples, "float64")
    # six standard errors: a fixed seed, so this is about the definition, not luck
    assert abs(samples.mean() - mean) < 6 * std / np.sqrt(samples.size), (what, samples.mean(), mean)
    assert abs(samples.std() - std) < 6 * std / np.sqrt(2 * samples.size), (what, samples.std(), std)


@pytest.mark.parametrize("name,args,kwargs,keras_call,moments", RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_random_functions_match_keras3_in_distribution(name, args, kwargs, keras_call, moments):
    ours = ops.convert_to_numpy(getattr(K, name)(*args, **kwargs))
    references = {"keras 3": kops.convert_to_numpy(keras_call())}
    if ENGINE == "tensorflow":
        from keras.src.legacy import backend as legacy
        references["legacy backend"] = getattr(legacy, name)(*args, **kwargs).numpy()
    for source, theirs in references.items():
        assert ours.shape == theirs.shape and ours.dtype.kind == theirs.dtype.kind == "f", (name, source)
        _assert_moments(theirs, *moments, f"{name} ({source})")
    _assert_moments(ours, *moments, name)
    if name == "random_uniform":
        assert ours.min() >= -1.0 and ours.max() < 3.0
    if name in ("random_bernoulli", "dropout"):
        assert set(np.unique(ours)) <= set(np.unique(references["keras 3"]))  # the same two values


def test_dropout_noise_shape_matches_keras3():
    x = np.ones((400, 10), "float32")
    ours = ops.convert_to_numpy(K.dropout(x, 0.5, noise_shape=(400, 1), seed=3))
    theirs = kops.convert_to_numpy(keras.random.dropout(kops.convert_to_tensor(x), 0.5, noise_shape=(400, 1), seed=3))
    for values, what in ((ours, "mlfront"), (theirs, "keras")):
        assert (values == values[:, :1]).all(), what  # one draw per row, broadcast along the noise_shape's 1
        _assert_moments(values[:, 0], 1.0, 1.0, f"dropout noise_shape ({what})")
