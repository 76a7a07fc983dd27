"""The activations beyond the seed set (gelu, leaky_relu, relu6, mish, hard_silu, hard_tanh, celu, glu, sparse_plus,
relu's options) and the activation layers ReLU, LeakyReLU, PReLU, ELU, Softmax: NumPy formulas, and real Keras 3
on the same engine where it is installed (|Δ| < 1e-5)."""

import math

import numpy as np
import pytest

import mlfront
from mlfront import activations, layers, ops
from layer_testing import run_layer_test
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(7)
X = np.concatenate([RNG.uniform(-4, 4, (5, 6)), [[-1.0, 1.0, 0.0, -0.5, 0.5, 6.5]]]).astype("float32")


def _erf(values):
    return np.vectorize(math.erf)(values.astype("float64"))


def _softplus(x):
    return np.logaddexp(0, x)


REFERENCES = {
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
    "glu": lambda x: x[:, :3] / (1 + np.exp(-x[:, 3:])),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
}


def _run(fn, x, **kwargs):
    return ops.convert_to_numpy(fn(ops.convert_to_tensor(x), **kwargs))


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_numpy(name):
    np.testing.assert_allclose(_run(activations.get(name), X), REFERENCES[name](X), atol=1e-5, rtol=1e-5)


def test_activation_options_match_numpy():
    tanh_gelu = 0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)))
    np.testing.assert_allclose(_run(activations.gelu, X, approximate=True), tanh_gelu, atol=1e-5)
    np.testing.assert_allclose(_run(activations.leaky_relu, X, negative_slope=0.05), np.where(X > 0, X, 0.05 * X),
                               atol=1e-6)
    np.testing.assert_allclose(_run(activations.celu, X, alpha=2.0),
                               np.maximum(X, 0) + np.minimum(0, 2 * np.expm1(X / 2)), atol=1e-5)
    relu_options = np.where(X > 0.5, X, 0.1 * (X - 0.5))
    np.testing.assert_allclose(_run(activations.relu, X, negative_slope=0.1, max_value=3.0, threshold=0.5),
                               np.minimum(relu_options, 3.0), atol=1e-6)
    np.testing.assert_allclose(_run(activations.glu, X.T, axis=0), X.T[:3] / (1 + np.exp(-X.T[3:])), atol=1e-6)


def test_activation_errors_name_the_argument():
    with pytest.raises(ValueError, match="glu: the size of axis -1 must be even, got 5"):
        activations.glu(ops.convert_to_tensor(X[:, :5]))
    with pytest.raises(ValueError, match="relu: `negative_slope` and `max_value` must be >= 0"):
        activations.relu(ops.convert_to_tensor(X), max_value=-1.0)


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - {"glu"}))  # glu halves the units: not a Dense activation
def test_activation_by_name_in_dense_trains_and_round_trips(name):
    model = mlfront.Sequential([mlfront.Input(shape=(6,)), layers.Dense(4, activation=name), layers.Dense(1)])
    assert model.layers[0].get_config()["activation"] == name
    assert layers.Dense.from_config(model.layers[0].get_config()).activation is activations.get(name)
    model.compile(optimizer="sgd", loss="mse")
    before = model.layers[0].kernel.numpy().copy()
    model.fit(X, X[:, :1], epochs=1, batch_size=6, verbose=0)
    assert not np.allclose(model.layers[0].kernel.numpy(), before)


@needs_keras
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_keras(name):
    expected = keras.ops.convert_to_numpy(getattr(keras.activations, name)(X))
    np.testing.assert_allclose(_run(activations.get(name), X), expected, atol=1e-5, rtol=1e-5)


@needs_keras
def test_activation_options_match_keras():
    kx = keras.ops.convert_to_tensor(X)
    pairs = [(activations.gelu(ops.convert_to_tensor(X), approximate=True), keras.activations.gelu(kx, True)),
             (activations.relu(ops.convert_to_tensor(X), negative_slope=0.1, max_value=3.0, threshold=0.5),
              keras.activations.relu(kx, negative_slope=0.1, max_value=3.0, threshold=0.5)),
             (activations.celu(ops.convert_to_tensor(X), alpha=2.0), keras.activations.celu(kx, alpha=2.0))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs), atol=1e-5)


# ---------------------------------------------------------------------------------------------------- layers
LAYER_CASES = [
    ("ReLU", {}, lambda x: np.maximum(x, 0)),
    ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5},
     lambda x: np.minimum(np.where(x > 0.5, x, 0.1 * (x - 0.5)), 2.0)),
    ("LeakyReLU", {}, lambda x: np.where(x > 0, x, 0.3 * x)),
    ("LeakyReLU", {"negative_slope": 0.01}, lambda x: np.where(x > 0, x, 0.01 * x)),
    ("ELU", {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0)))),
    ("Softmax", {}, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("Softmax", {"axis": 0}, lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
]


@pytest.mark.parametrize("class_name, kwargs, reference", LAYER_CASES)
def test_activation_layer_matches_numpy(class_name, kwargs, reference):
    run_layer_test(getattr(layers, class_name), kwargs, X, expected_output=reference(X.astype("float64")),
                   expected_output_shape=X.shape, expected_num_trainable_weights=0)


def test_softmax_over_several_axes_and_with_a_mask():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    run_layer_test(layers.Softmax, {"axis": (1, 2)}, x, expected_output_shape=x.shape,
                   expected_output=np.exp(x) / np.exp(x).sum((1, 2), keepdims=True))
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], bool)
    x2 = x[:, 0]
    out = ops.convert_to_numpy(layers.Softmax()(ops.convert_to_tensor(x2), ops.convert_to_tensor(mask)))
    expected = np.where(mask, np.exp(x2), 0) / np.where(mask, np.exp(x2), 0).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_prelu_learns_a_slope_per_channel():
    x = RNG.normal(size=(4, 3, 5, 2)).astype("float32")

    def reference(layer, x):
        return np.where(x > 0, x, x * layer.alpha.numpy())
    layer, _ = run_layer_test(layers.PReLU, {"alpha_initializer": "ones", "shared_axes": [1, 2]}, x,
                              reference=reference, expected_output_shape=x.shape, expected_num_trainable_weights=1)
    assert tuple(layer.alpha.shape) == (1, 1, 2)
    layer.alpha.assign(np.array([[[0.25, -2.0]]], "float32"))
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x)))
    np.testing.assert_allclose(out, np.where(x > 0, x, x * np.array([0.25, -2.0])), atol=1e-6)
    run_layer_test(layers.PReLU, {"alpha_constraint": "non_neg"}, X, reference=reference,
                   expected_num_trainable_weights=1)


def test_layer_argument_errors_name_the_layer():
    with pytest.raises(ValueError, match="ReLU 'r': `max_value` must be a number >= 0, got -1"):
        layers.ReLU(max_value=-1, name="r")
    with pytest.raises(ValueError, match="LeakyReLU 'l': `negative_slope` must be a number >= 0"):
        layers.LeakyReLU(negative_slope="big", name="l")
    with pytest.raises(ValueError, match="PReLU 'p': `shared_axes` must be axes >= 1"):
        layers.PReLU(shared_axes=[0], name="p")
    with pytest.raises(ValueError, match="PReLU 'q': shared axis 3 is out of range"):
        layers.PReLU(shared_axes=3, name="q")(ops.convert_to_tensor(X))


def test_keras2_leaky_relu_alpha_and_module_path():
    from mlfront.layers.advanced_activations import LeakyReLU
    with pytest.warns(DeprecationWarning, match="alpha"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == pytest.approx(0.1)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(ops.convert_to_tensor(X))), np.where(X > 0, X, 0.1 * X),
                               atol=1e-6)


@needs_keras
@pytest.mark.parametrize("class_name, kwargs, reference", LAYER_CASES)
def test_activation_layer_matches_keras(class_name, kwargs, reference):
    ours = ops.convert_to_numpy(getattr(layers, class_name)(**kwargs)(ops.convert_to_tensor(X)))
    theirs = keras.ops.convert_to_numpy(getattr(keras.layers, class_name)(**kwargs)(X))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@needs_keras
def test_prelu_matches_keras_with_the_same_weights():
    x = RNG.normal(size=(4, 3, 2)).astype("float32")
    ours, theirs = layers.PReLU(shared_axes=[1]), keras.layers.PReLU(shared_axes=[1])
    ours(ops.convert_to_tensor(x))
    theirs(x)
    alpha = RNG.uniform(-1, 1, (1, 2)).astype("float32")
    ours.set_weights([alpha])
    theirs.set_weights([alpha])
    np.testing.assert_allclose(ops.convert_to_numpy(ours(ops.convert_to_tensor(x))),
                               keras.ops.convert_to_numpy(theirs(x)), atol=1e-6)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
