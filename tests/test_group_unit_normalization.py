"""GroupNormalization and UnitNormalization: NumPy formulas, Keras 3 with the same weights where it is installed,
config round trips and a training step (through the shared layer-test helper), and their argument errors."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import run_layer_test
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(11)


def group_norm(x, groups, gamma, beta, axis=-1, epsilon=1e-3):
    x = np.moveaxis(x.astype("float64"), axis, -1)
    grouped = x.reshape(x.shape[:-1] + (groups, x.shape[-1] // groups))
    reduce = tuple(range(1, grouped.ndim - 2)) + (grouped.ndim - 1,)
    mean = grouped.mean(reduce, keepdims=True)
    var = grouped.var(reduce, keepdims=True)
    out = ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape) * gamma + beta
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("shape, groups, axis", [((3, 5, 8), 4, -1), ((2, 4, 4, 6), 3, -1), ((2, 6, 5), 2, 1),
                                                 ((4, 6), 6, -1), ((4, 6), 1, -1)])
def test_group_normalization_matches_numpy(shape, groups, axis):
    x = RNG.normal(2.0, 3.0, size=shape).astype("float32")

    def reference(layer, x):
        return group_norm(x, groups, layer.gamma.numpy(), layer.beta.numpy(), axis)
    layer, _ = run_layer_test(layers.GroupNormalization, {"groups": groups, "axis": axis, "gamma_initializer":
                                                          "random_normal", "beta_initializer": "random_normal"},
                              x, reference=reference, expected_output_shape=shape, expected_num_trainable_weights=2,
                              rtol=1e-4, atol=1e-4)
    assert tuple(layer.gamma.shape) == (shape[axis],)


def test_unit_normalization_matches_numpy():
    x = RNG.normal(size=(3, 4, 5)).astype("float32")
    x[0] = 0.0
    run_layer_test(layers.UnitNormalization, {}, x, expected_output_shape=x.shape,
                   expected_output=np.nan_to_num(x / np.linalg.norm(x, axis=-1, keepdims=True)))
    run_layer_test(layers.UnitNormalization, {"axis": [1, 2]}, x[1:],
                   expected_output=x[1:] / np.sqrt((x[1:] ** 2).sum((1, 2), keepdims=True)))


def test_normalization_argument_errors_name_the_layer():
    with pytest.raises(ValueError, match="GroupNormalization 'g': `groups` \\(4\\) must divide the 6 channels"):
        layers.GroupNormalization(groups=4, name="g")(ops.convert_to_tensor(np.ones((2, 6), "float32")))
    with pytest.raises(ValueError, match="GroupNormalization 'h': `groups` must be an integer >= 1, got 0"):
        layers.GroupNormalization(groups=0, name="h")
    with pytest.raises(ValueError, match="UnitNormalization 'u': `axis` 3 is out of range for inputs of rank 2"):
        layers.UnitNormalization(axis=3, name="u")(ops.convert_to_tensor(np.ones((2, 6), "float32")))


@needs_keras
def test_group_and_unit_normalization_match_keras():
    x = RNG.normal(1.0, 2.0, size=(2, 3, 4, 8)).astype("float32")
    ours, theirs = layers.GroupNormalization(groups=4), keras.layers.GroupNormalization(groups=4)
    ours(ops.convert_to_tensor(x))
    theirs(x)
    weights = [RNG.normal(size=(8,)).astype("float32") for _ in range(2)]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(ops.convert_to_numpy(ours(ops.convert_to_tensor(x))),
                               keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
    np.testing.assert_allclose(ops.convert_to_numpy(layers.UnitNormalization(axis=[1, 3])(ops.convert_to_tensor(x))),
                               keras.ops.convert_to_numpy(keras.layers.UnitNormalization(axis=[1, 3])(x)), atol=1e-6)
