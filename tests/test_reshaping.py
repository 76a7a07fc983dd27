"""Reshape, Permute, RepeatVector and Lambda against NumPy."""

import numpy as np
import pytest
from layer_testing import run_layer_test

import mlfront
from mlfront import layers, ops


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("target_shape", [(6, 2), (-1, 3), (2, -1, 2), (12,)])
def test_reshape_matches_numpy(target_shape):
    x = _data((2, 3, 4))
    expected = x.reshape((2,) + target_shape)
    run_layer_test(layers.Reshape, {"target_shape": target_shape}, x, expected_output=expected,
                   expected_output_shape=expected.shape, expected_num_trainable_weights=0)


def test_reshape_output_shapes_and_errors():
    layer = layers.Reshape((-1, 2), name="rs")
    assert layer.compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 2)
    with pytest.raises(ValueError, match=r"Reshape 'rs'.*\(3, 5\).*\(-1, 2\)"):
        layer.compute_output_shape((None, 3, 5))
    with pytest.raises(ValueError, match="Reshape 'rs2'.*at most one -1"):
        layers.Reshape((-1, -1), name="rs2")


@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2)])
def test_permute_matches_numpy(dims):
    x = _data((2, 3, 4) if len(dims) == 2 else (2, 3, 4, 5))
    expected = np.transpose(x, (0,) + dims)
    run_layer_test(layers.Permute, {"dims": dims}, x, expected_output=expected, expected_output_shape=expected.shape)


def test_permute_errors():
    with pytest.raises(ValueError, match="Permute 'perm'.*permutation"):
        layers.Permute((0, 1), name="perm")
    with pytest.raises(ValueError, match="Permute 'perm3'.*rank 3"):
        layers.Permute((2, 1), name="perm3")(ops.convert_to_tensor(_data((2, 3, 4, 5))))


def test_repeat_vector_matches_numpy():
    x = _data((2, 3))
    expected = np.repeat(x[:, None, :], 4, axis=1)
    run_layer_test(layers.RepeatVector, {"n": 4}, x, expected_output=expected, expected_output_shape=(2, 4, 3))
    with pytest.raises(ValueError, match="RepeatVector 'rep'.*rank 2"):
        layers.RepeatVector(2, name="rep")(ops.convert_to_tensor(_data((2, 3, 4))))


@mlfront.saving.register_keras_serializable(package="test_reshaping")  # so the Lambda's config is JSON-safe
def _scaled_square(x, factor=1.0):
    return ops.square(x) * factor


def test_lambda_with_arguments_matches_numpy():
    x = _data((2, 3))
    run_layer_test(layers.Lambda, {"function": _scaled_square, "arguments": {"factor": 3.0}}, x,
                   expected_output=3.0 * x ** 2, expected_output_shape=(2, 3))


def test_lambda_output_shape_declared_or_probed():
    x = _data((2, 3, 4))

    @mlfront.saving.register_keras_serializable(package="test_reshaping")
    def flatten(t):
        return ops.reshape(t, (-1, 12))
    probed = layers.Lambda(flatten)
    assert probed.compute_output_shape((None, 3, 4)) == (None, 12)
    declared = layers.Lambda(flatten, output_shape=(12,))
    assert declared.compute_output_shape((5, 3, 4)) == (5, 12)
    computed = layers.Lambda(flatten, output_shape=lambda s: (s[0], s[1] * s[2]))
    assert computed.compute_output_shape((None, 3, 4)) == (None, 12)
    run_layer_test(layers.Lambda, {"function": flatten, "output_shape": (12,)}, x, expected_output=x.reshape(2, 12))


def test_lambda_on_several_inputs_and_in_a_model():
    a, b = layers.Input((3,)), layers.Input((3,))
    out = layers.Lambda(lambda t: t[0] * t[1] + 1.0)([a, b])
    assert out.shape == (None, 3)
    model = mlfront.Model([a, b], layers.Dense(1)(out))
    xa, xb = _data((4, 3)), _data((4, 3), seed=1)
    dense = model.layers[-1]
    expected = (xa * xb + 1.0) @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_lambda_passes_training_and_mask_when_accepted():
    seen = {}

    def fn(x, training=None, mask=None):
        seen.update(training=training, mask=mask)
        return x
    layers.Lambda(fn)(ops.convert_to_tensor(_data((2, 3))), training=True)
    assert seen == {"training": True, "mask": None}
    with pytest.raises(TypeError, match="Lambda 'lam'.*callable"):
        layers.Lambda(3, name="lam")


def test_reshaping_layers_in_a_sequential_model():
    x = _data((2, 6))
    model = mlfront.Sequential([layers.Input((6,)), layers.Reshape((3, 2)), layers.Permute((2, 1)),
                                layers.Reshape((-1,)), layers.RepeatVector(2)])
    expected = np.repeat(np.transpose(x.reshape(2, 3, 2), (0, 2, 1)).reshape(2, 6)[:, None], 2, axis=1)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
