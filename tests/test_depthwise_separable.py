"""Grouped convolutions (`groups=`), DepthwiseConv1D/2D and SeparableConv1D/2D: NumPy references built from the plain
convolution reference, Keras 3 with the same weights where it is installed, config round trips, training steps, and
argument errors."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import run_layer_test
from references import conv as ref
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(13)


def grouped(x, kernel, groups, **kwargs):
    """Reference grouped convolution: group g of the filters over group g of the channels."""
    parts = zip(np.split(x, groups, axis=-1), np.split(kernel, groups, axis=-1))
    return np.concatenate([ref.conv(part, k, **kwargs) for part, k in parts], axis=-1)


def depthwise(x, kernel, **kwargs):
    """Reference depthwise convolution: channel c with its own (..., 1, multiplier) filters, output c * m + j."""
    return np.concatenate([ref.conv(x[..., c:c + 1], kernel[..., c:c + 1, :], **kwargs)
                           for c in range(x.shape[-1])], axis=-1)


@pytest.mark.parametrize("layer_class, shape, kwargs", [
    (layers.Conv1D, (2, 9, 6), {"filters": 4, "kernel_size": 3, "groups": 2}),
    (layers.Conv2D, (2, 7, 6, 6), {"filters": 6, "kernel_size": 3, "groups": 3, "padding": "same"}),
    (layers.Conv2D, (2, 7, 6, 4), {"filters": 8, "kernel_size": 2, "groups": 4, "strides": 2}),
    (layers.Conv3D, (1, 4, 5, 4, 4), {"filters": 4, "kernel_size": 2, "groups": 2}),
], ids=["conv1d", "conv2d-same", "conv2d-strided", "conv3d"])
def test_grouped_convolution_matches_numpy(layer_class, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    call_kwargs = {k: kwargs[k] for k in ("strides", "padding") if k in kwargs}

    def reference(layer, x):
        return grouped(x, layer.kernel.numpy(), kwargs["groups"], **call_kwargs) + layer.bias.numpy()
    layer, _ = run_layer_test(layer_class, {**kwargs, "bias_initializer": "random_normal"}, x, reference=reference,
                              expected_num_trainable_weights=2, rtol=1e-4, atol=1e-4)
    assert tuple(layer.kernel.shape)[-2:] == (shape[-1] // kwargs["groups"], kwargs["filters"])


@pytest.mark.parametrize("layer_class, shape, kwargs", [
    (layers.DepthwiseConv1D, (2, 9, 3), {"kernel_size": 3, "depth_multiplier": 2}),
    (layers.DepthwiseConv2D, (2, 6, 7, 3), {"kernel_size": (3, 2), "padding": "same"}),
    (layers.DepthwiseConv2D, (2, 8, 8, 2), {"kernel_size": 3, "depth_multiplier": 3, "strides": 2}),
    (layers.DepthwiseConv2D, (1, 9, 9, 2), {"kernel_size": 3, "dilation_rate": 2}),
], ids=["1d-multiplier", "2d-same", "2d-strided", "2d-dilated"])
def test_depthwise_convolution_matches_numpy(layer_class, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    call_kwargs = {k: kwargs[k] for k in ("strides", "padding", "dilation_rate") if k in kwargs}

    def reference(layer, x):
        return depthwise(x, layer.kernel.numpy(), **call_kwargs) + layer.bias.numpy()
    layer, out = run_layer_test(layer_class, {**kwargs, "bias_initializer": "random_normal"}, x,
                                reference=reference, expected_num_trainable_weights=2, rtol=1e-4, atol=1e-4)
    assert out.shape[-1] == shape[-1] * kwargs.get("depth_multiplier", 1)


@pytest.mark.parametrize("layer_class, shape, kwargs", [
    (layers.SeparableConv1D, (2, 9, 3), {"filters": 4, "kernel_size": 3, "depth_multiplier": 2}),
    (layers.SeparableConv2D, (2, 6, 7, 3), {"filters": 5, "kernel_size": 3, "padding": "same",
                                             "activation": "relu"}),
    (layers.SeparableConv2D, (2, 8, 8, 2), {"filters": 3, "kernel_size": 2, "strides": 2, "use_bias": False}),
], ids=["1d", "2d-same-relu", "2d-strided-nobias"])
def test_separable_convolution_matches_numpy(layer_class, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    call_kwargs = {k: kwargs[k] for k in ("strides", "padding") if k in kwargs}

    def reference(layer, x):
        out = ref.conv(depthwise(x, layer.depthwise_kernel.numpy(), **call_kwargs), layer.pointwise_kernel.numpy())
        out = out + (layer.bias.numpy() if layer.use_bias else 0)
        return np.maximum(out, 0) if kwargs.get("activation") == "relu" else out
    run_layer_test(layer_class, kwargs, x, reference=reference,
                   expected_num_trainable_weights=3 if kwargs.get("use_bias", True) else 2, rtol=1e-4, atol=1e-4)


def test_channels_first_depthwise_and_separable():
    x = RNG.normal(size=(2, 3, 6, 6)).astype("float32")
    layer = layers.SeparableConv2D(4, 3, data_format="channels_first")
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x)))
    x_last = x.transpose(0, 2, 3, 1)
    expected = ref.conv(depthwise(x_last, layer.depthwise_kernel.numpy()), layer.pointwise_kernel.numpy())
    np.testing.assert_allclose(out, expected.transpose(0, 3, 1, 2), atol=1e-4)
    assert layer.compute_output_shape((None, 3, 6, 6)) == (None, 4, 4, 4)


def test_grouped_and_depthwise_errors_name_the_layer():
    with pytest.raises(ValueError, match="Conv2D 'c': `filters` \\(5\\) must be divisible by `groups` \\(2\\)"):
        layers.Conv2D(5, 3, groups=2, name="c")
    with pytest.raises(ValueError, match="Conv2D 'd': the 3 input channels must be divisible by `groups` \\(2\\)"):
        layers.Conv2D(4, 3, groups=2, name="d")(ops.convert_to_tensor(np.ones((1, 5, 5, 3), "float32")))
    with pytest.raises(ValueError, match="DepthwiseConv2D 'e': `depth_multiplier` must be a positive integer"):
        layers.DepthwiseConv2D(3, depth_multiplier=0, name="e")
    with pytest.raises(ValueError, match="SeparableConv2D 'f': .*kernel"):
        layers.SeparableConv2D(2, 5, name="f")(ops.convert_to_tensor(np.ones((1, 3, 3, 2), "float32")))


def test_mobile_style_model_trains_and_saves(tmp_path):
    model = mlfront.Sequential([mlfront.Input(shape=(8, 8, 3)), layers.Conv2D(8, 3, groups=1, padding="same"),
                                layers.DepthwiseConv2D(3, padding="same", activation="relu"),
                                layers.SeparableConv2D(8, 3, activation="relu"), layers.Conv2D(8, 1, groups=4),
                                layers.GlobalAveragePooling2D(), layers.Dense(2)])
    model.compile(optimizer="adam", loss=mlfront.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = RNG.normal(size=(16, 8, 8, 3)).astype("float32"), RNG.integers(0, 2, 16)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "mobile.keras"
    model.save(path)
    np.testing.assert_allclose(mlfront.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


@needs_keras
@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.layers.Conv2D(6, 3, groups=3, padding="same"), (2, 6, 6, 6)),
    (lambda lib: lib.layers.Conv1D(4, 2, groups=2), (2, 7, 4)),
    (lambda lib: lib.layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2), (2, 7, 7, 3)),
    (lambda lib: lib.layers.DepthwiseConv1D(3, padding="same"), (2, 7, 3)),
    (lambda lib: lib.layers.SeparableConv2D(5, 3, depth_multiplier=2, padding="same"), (2, 6, 6, 3)),
    (lambda lib: lib.layers.SeparableConv1D(4, 3), (2, 7, 3)),
], ids=["conv2d-groups", "conv1d-groups", "depthwise2d", "depthwise1d", "separable2d", "separable1d"])
def test_matches_keras_with_the_same_weights(make, shape):
    x = RNG.normal(size=shape).astype("float32")
    ours, theirs = make(mlfront), make(keras)
    ours(ops.convert_to_tensor(x))
    theirs(x)
    weights = [RNG.normal(size=np.shape(w)).astype("float32") for w in theirs.get_weights()]
    assert [tuple(np.shape(w)) for w in ours.get_weights()] == [w.shape for w in weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(ops.convert_to_numpy(ours(ops.convert_to_tensor(x))),
                               keras.ops.convert_to_numpy(theirs(x)), atol=1e-4)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
