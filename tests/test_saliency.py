"""`mlfront.gradients`: input gradients and saliency maps, against analytic NumPy gradients and finite differences."""

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.gradients import input_gradients, saliency_map
from references import conv as ref_conv
from references.layers import finite_difference_grads


def _linear(classes=3, activation=None):
    model = mlfront.Sequential([layers.Input(shape=(4, 4, 2)), layers.Flatten(),
                                layers.Dense(classes, activation=activation, name="scores")])
    return model, *model.get_layer("scores").get_weights()


def test_linear_model_gradient_is_the_weight_column(rng):
    model, kernel, _ = _linear()
    images = rng.normal(0, 1, (3, 4, 4, 2)).astype(np.float32)
    classes = np.array([0, 2, 1])
    expected = np.stack([kernel[:, c].reshape(4, 4, 2) for c in classes])
    grads = input_gradients(model, images, classes)
    assert grads.shape == images.shape and grads.dtype == np.float32
    np.testing.assert_allclose(grads, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(saliency_map(model, images, classes), np.abs(expected), rtol=1e-5, atol=1e-6)
    # one class for every sample; backend arrays are accepted too
    same = saliency_map(model, mlfront.ops.convert_to_tensor(images), 2)
    np.testing.assert_allclose(same, np.abs(np.broadcast_to(kernel[:, 2].reshape(4, 4, 2), images.shape)),
                               rtol=1e-5, atol=1e-6)


def test_softmax_model_gradient_of_the_probability(rng):
    model, kernel, bias = _linear(activation="softmax")
    images = rng.normal(0, 1, (2, 4, 4, 2)).astype(np.float32)
    flat = images.reshape(2, -1).astype(np.float64)
    logits = flat @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    c = 1
    # d p_c / d x = p_c * (W[:, c] - sum_k p_k W[:, k])
    expected = p[:, c:c + 1] * (kernel[:, c][None] - p @ kernel.T)
    np.testing.assert_allclose(saliency_map(model, images, c), np.abs(expected).reshape(images.shape),
                               rtol=1e-4, atol=1e-6)


def test_tiny_conv_model_against_finite_differences(rng):
    model = mlfront.Sequential([layers.Input(shape=(5, 5, 2)), layers.Conv2D(3, 3, activation="tanh", name="conv"),
                                layers.Flatten(), layers.Dense(4, name="scores")])
    kernel, conv_bias = model.get_layer("conv").get_weights()
    dense_kernel, dense_bias = model.get_layer("scores").get_weights()
    images = rng.normal(0, 1, (2, 5, 5, 2)).astype(np.float32)
    classes = np.array([3, 0])

    def total_score(x):  # float64 NumPy forward pass, summed over the batch for each sample's class
        h = np.tanh(ref_conv.conv(x, kernel) + conv_bias).reshape(len(x), -1)
        scores = h @ dense_kernel + dense_bias
        return scores[np.arange(len(x)), classes].sum()

    (numeric,) = finite_difference_grads(total_score, [images], eps=1e-4)
    np.testing.assert_allclose(input_gradients(model, images, classes), numeric, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(saliency_map(model, images, classes), np.abs(numeric), rtol=1e-4, atol=1e-5)


def test_argument_errors(rng):
    model, _, _ = _linear()
    images = rng.normal(0, 1, (2, 4, 4, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=r"class_index.*\[0, 3\)"):
        saliency_map(model, images, 3)
    with pytest.raises(ValueError, match="one int per sample"):
        saliency_map(model, images, [0, 1, 2])
