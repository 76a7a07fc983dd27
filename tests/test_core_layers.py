"""Dense, Activation, Dropout, Flatten, initializers and regularizers against NumPy references."""

import math

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import run_layer_test
from references import core as ref


@pytest.mark.parametrize("activation", sorted(ref.ACTIVATIONS))
def test_dense_forward_matches_numpy(activation, rng):
    x = rng.normal(size=(4, 5)).astype("float32")
    run_layer_test(layers.Dense, {"units": 3, "activation": activation}, x, expected_output_shape=(4, 3),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=0,
                   reference=lambda layer, x: ref.dense(x, layer.kernel.numpy(), layer.bias.numpy(), activation))


def test_dense_on_3d_input_applies_to_last_axis(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    run_layer_test(layers.Dense, {"units": 2, "use_bias": False}, x, expected_output_shape=(2, 3, 2),
                   expected_num_trainable_weights=1,
                   reference=lambda layer, x: x @ layer.kernel.numpy())


def test_dense_gradients_match_numpy(rng):
    x = rng.normal(size=(6, 4)).astype("float32")
    target = rng.normal(size=(6, 3)).astype("float32")
    layer = layers.Dense(3, activation="tanh")
    layer(ops.convert_to_tensor(x))
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()

    def loss(params, x, t):
        layer.kernel.assign(params[0])
        layer.bias.assign(params[1])
        return ops.mean(ops.square(layer(x) - t))

    value, grads = mlfront.value_and_grad(loss)([layer.kernel.value, layer.bias.value], ops.convert_to_tensor(x),
                                                ops.convert_to_tensor(target))
    y = np.tanh(x @ kernel + bias)
    d_pre = 2 * (y - target) / y.size * (1 - y ** 2)
    np.testing.assert_allclose(float(ops.convert_to_numpy(value)), np.mean((y - target) ** 2), rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(grads[0]), x.T @ d_pre, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(grads[1]), d_pre.sum(0), rtol=1e-4, atol=1e-6)


def test_activation_layer_and_unknown_name(rng):
    x = rng.normal(size=(3, 4)).astype("float32")
    run_layer_test(layers.Activation, {"activation": "softplus"}, x, expected_output=ref.ACTIVATIONS["softplus"](x))
    with pytest.raises(ValueError, match="Unknown activation 'relu6x'.*Valid activation names:.*sigmoid"):
        layers.Dense(2, activation="relu6x")


def test_flatten(rng):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    run_layer_test(layers.Flatten, {}, x, expected_output=x.reshape(2, -1))
    run_layer_test(layers.Flatten, {"data_format": "channels_first"}, x,
                   expected_output=np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))


def test_dropout_is_identity_in_inference_and_scales_kept_units_in_training():
    x = np.ones((200, 50), "float32")
    layer = layers.Dropout(0.3)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(ops.convert_to_tensor(x))), x)
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=True))
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    with pytest.raises(ValueError, match="Dropout.*rate.*1.5"):
        layers.Dropout(1.5)


def test_glorot_uniform_initializer_is_the_same_numpy_draw_on_every_engine():
    mlfront.utils.set_random_seed(7)
    layer = layers.Dense(5)
    layer(ops.convert_to_tensor(np.zeros((1, 8), "float32")))
    limit = math.sqrt(6 / (8 + 5))
    expected = np.random.default_rng(7).uniform(-limit, limit, (8, 5)).astype("float32")
    np.testing.assert_array_equal(layer.kernel.numpy(), expected)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(5, "float32"))


@pytest.mark.parametrize("name, scale, mode", [("he_normal", 2.0, "fan_in"), ("glorot_normal", 1.0, "fan_avg")])
def test_truncated_normal_initializers_have_the_keras_variance(name, scale, mode):
    values = mlfront.initializers.get(name)((400, 300))
    fan = 400 if mode == "fan_in" else 350
    assert abs(values.std() - math.sqrt(scale / fan)) / math.sqrt(scale / fan) < 0.02
    assert np.abs(values).max() <= 2 * math.sqrt(scale / fan) / 0.87962566103423978 + 1e-6


def test_ones_zeros_initializers():
    layer = layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros")
    out = layer(ops.convert_to_tensor(np.full((2, 4), 2.0, "float32")))
    np.testing.assert_allclose(ops.convert_to_numpy(out), np.full((2, 3), 8.0))


def test_regularizers_are_added_to_the_training_loss(rng):
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    model = mlfront.Sequential([layers.Dense(2, input_shape=(4,), kernel_regularizer=mlfront.regularizers.l1_l2(
        l1=0.01, l2=0.1), bias_regularizer="l2")])
    model.compile(optimizer="sgd", loss="mse")
    kernel, bias = model.layers[0].get_weights()
    loss = model.evaluate(x, y, verbose=0)
    expected = np.mean((x @ kernel + bias - y) ** 2) + 0.01 * np.abs(kernel).sum() + 0.1 * (kernel ** 2).sum() \
        + 0.01 * (bias ** 2).sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="Dense.*units.*positive integer.*-3"):
        layers.Dense(-3)
