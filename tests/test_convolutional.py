"""Convolution layers and the conv/conv_transpose backend primitives against loop-based NumPy references."""

import numpy as np
import pytest

import mlfront
from mlfront import backend as _backend
from mlfront import layers, ops
from references import conv as ref
from layer_testing import run_layer_test

RTOL, ATOL = 1e-5, 1e-5


def _cf(x):
    """channels_last -> channels_first."""
    return np.moveaxis(x, -1, 1)


def _cl(x):
    """channels_first -> channels_last."""
    return np.moveaxis(x, 1, -1)


def _conv_reference(transpose=False, activation=None):
    def reference(layer, x):
        kernel, bias = layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else 0.0
        channels_first = layer.data_format == "channels_first"
        x = _cl(x) if channels_first else x
        if transpose:
            y = ref.conv_transpose(x, kernel, layer.strides, layer.padding, layer.output_padding, layer.dilation_rate)
        else:
            y = ref.conv(x, kernel, layer.strides, layer.padding, layer.dilation_rate)
        y = y + bias
        y = np.maximum(y, 0) if activation == "relu" else y
        return _cf(y) if channels_first else y
    return reference


CONV2D_CASES = [
    # kernel_size, strides, padding, dilation_rate, data_format
    (3, 1, "valid", 1, "channels_last"),
    (3, 1, "same", 1, "channels_last"),
    (2, 2, "same", 1, "channels_last"),  # even kernel, stride 2: Keras pads the extra cell bottom/right
    (4, 2, "same", 1, "channels_last"),
    ((3, 2), (2, 1), "same", 1, "channels_last"),
    (3, 1, "same", 2, "channels_last"),  # dilation
    (2, 1, "valid", (2, 1), "channels_last"),
    (2, 2, "same", 1, "channels_first"),
    (3, 1, "same", 2, "channels_first"),
]


@pytest.mark.parametrize("kernel_size, strides, padding, dilation, data_format", CONV2D_CASES)
def test_conv2d_matches_reference(rng, kernel_size, strides, padding, dilation, data_format):
    x = rng.normal(size=(2, 6, 5, 3)).astype("float32")
    x = _cf(x) if data_format == "channels_first" else x
    run_layer_test(layers.Conv2D, dict(filters=2, kernel_size=kernel_size, strides=strides, padding=padding,
                                       dilation_rate=dilation, data_format=data_format,
                                       bias_initializer="random_normal"),
                   x, reference=_conv_reference(), rtol=RTOL, atol=ATOL, expected_num_trainable_weights=2,
                   train=kernel_size == 2)  # one training step per family keeps the file fast


@pytest.mark.parametrize("kernel_size, strides, padding, dilation", [
    (3, 1, "valid", 1), (2, 2, "same", 1), (3, 1, "causal", 1), (2, 1, "causal", 3), (3, 2, "causal", 1)])
def test_conv1d_matches_reference(rng, kernel_size, strides, padding, dilation):
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    layer, y = run_layer_test(layers.Conv1D, dict(filters=4, kernel_size=kernel_size, strides=strides,
                                                  padding=padding, dilation_rate=dilation, activation="relu"),
                              x, reference=_conv_reference(activation="relu"), rtol=RTOL, atol=ATOL,
                              train=padding == "causal" and dilation == 3)
    if padding == "causal":  # no output may depend on a later step
        x2 = x.copy()
        x2[:, -1] += 10.0
        y2 = ops.convert_to_numpy(layer(ops.convert_to_tensor(x2)))
        np.testing.assert_allclose(y2[:, :-1], y[:, :-1], rtol=RTOL, atol=ATOL)


def test_conv1d_channels_first_and_no_bias(rng):
    x = rng.normal(size=(2, 3, 6)).astype("float32")
    run_layer_test(layers.Conv1D, dict(filters=2, kernel_size=2, padding="same", use_bias=False,
                                       data_format="channels_first"),
                   x, reference=_conv_reference(), expected_output_shape=(2, 2, 6),
                   expected_num_trainable_weights=1)


def test_conv3d_matches_reference(rng):
    x = rng.normal(size=(1, 4, 3, 4, 2)).astype("float32")
    run_layer_test(layers.Conv3D, dict(filters=2, kernel_size=2, strides=(1, 2, 2), padding="same"),
                   x, reference=_conv_reference(), expected_output_shape=(1, 4, 2, 2, 2))


CONV2D_TRANSPOSE_CASES = [
    # kernel_size, strides, padding, output_padding, dilation_rate, expected spatial output for a 3x3 input
    (3, 2, "same", None, 1, (6, 6)),
    (2, 2, "same", None, 1, (6, 6)),
    (3, 2, "valid", None, 1, (7, 7)),
    (2, 3, "valid", None, 1, (9, 9)),
    (4, 2, "same", 1, 1, (5, 5)),
    (2, 2, "same", 0, 1, (4, 4)),
    (2, 3, "valid", 2, 1, (10, 10)),
    ((3, 2), (2, 1), "same", None, 1, (6, 3)),
    (3, 1, "same", None, 2, (3, 3)),  # dilation
    (3, 1, "valid", None, 2, (7, 7)),
]


@pytest.mark.parametrize("kernel_size, strides, padding, output_padding, dilation, spatial", CONV2D_TRANSPOSE_CASES)
def test_conv2d_transpose_matches_reference(rng, kernel_size, strides, padding, output_padding, dilation, spatial):
    x = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    layer, _ = run_layer_test(
        layers.Conv2DTranspose, dict(filters=2, kernel_size=kernel_size, strides=strides, padding=padding,
                                     output_padding=output_padding, dilation_rate=dilation,
                                     bias_initializer="random_normal"),
        x, reference=_conv_reference(transpose=True), expected_output_shape=(2,) + spatial + (2,),
        rtol=RTOL, atol=ATOL, train=output_padding == 1)
    assert layer.kernel.shape == layer.kernel_size + (2, 3)  # Keras layout (*kernel_size, filters, in)
    assert layer.compute_output_shape((None, 3, 3, 3)) == (None,) + spatial + (2,)


def test_conv2d_transpose_channels_first(rng):
    x = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    run_layer_test(layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same",
                                                data_format="channels_first"),
                   x, reference=_conv_reference(transpose=True), expected_output_shape=(2, 2, 8, 6), train=False)


def test_conv1d_and_conv3d_transpose(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    run_layer_test(layers.Conv1DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="valid"),
                   x, reference=_conv_reference(transpose=True), expected_output_shape=(2, 9, 2))
    x = rng.normal(size=(1, 2, 3, 2, 2)).astype("float32")
    run_layer_test(layers.Conv3DTranspose, dict(filters=1, kernel_size=2, strides=2, padding="same"),
                   x, reference=_conv_reference(transpose=True), expected_output_shape=(1, 4, 6, 4, 1),
                   train=False)


def test_reference_transpose_is_the_adjoint_of_conv(rng):
    """Checks the NumPy references against each other: <convT(x), y> == <x, conv(y)> with the same kernel."""
    for kernel_size, stride, padding in [(3, 2, "same"), (2, 2, "same"), (4, 2, "same"), (3, 2, "valid")]:
        x = rng.normal(size=(1, 3, 3, 2))
        kernel = rng.normal(size=(kernel_size, kernel_size, 4, 2))  # transposed layout (k, k, out=4, in=2)
        up = ref.conv_transpose(x, kernel, stride, padding)
        y = rng.normal(size=up.shape)
        down = ref.conv(y, kernel, stride, padding)  # forward layout (k, k, in=4, out=2)
        np.testing.assert_allclose(np.sum(up * y), np.sum(x * down), rtol=1e-10)


def _grads(fn, arrays):
    value_and_grad = mlfront.value_and_grad(lambda params: fn(*params))
    _, grads = value_and_grad([ops.convert_to_tensor(a) for a in arrays])
    return [ops.convert_to_numpy(g) for g in grads]


@pytest.mark.parametrize("op, kernel_shape, strides, padding, dilation", [
    ("conv", (2, 2, 2, 3), (2, 2), "same", (1, 1)),
    ("conv", (3, 2, 2, 3), (1, 1), "same", (2, 1)),
    ("conv", (3, 2, 3), (2,), [(2, 0)], (1,)),  # explicit (causal-style) padding
    ("conv_transpose", (3, 3, 3, 2), (2, 2), "same", (1, 1)),
    ("conv_transpose", (2, 2, 3, 2), (2, 2), "valid", (1, 1)),
])
def test_gradients_wrt_input_and_kernel(rng, op, kernel_shape, strides, padding, dilation):
    n = len(strides)
    x = rng.normal(size=(1,) + (4,) * n + (2,)).astype("float32")
    kernel = rng.normal(size=kernel_shape).astype("float32")

    def reference(x, kernel):
        if op == "conv":
            return ref.conv(x, kernel, strides, padding if isinstance(padding, str) else "causal", dilation)
        return ref.conv_transpose(x, kernel, strides, padding, None, dilation)

    weights = rng.normal(size=reference(x, kernel).shape)

    def loss(x, kernel):
        y = getattr(ops, op)(x, kernel, strides, padding, dilation_rate=dilation)
        return ops.sum(y * ops.convert_to_tensor(weights.astype("float32")))

    grad_x, grad_k = _grads(loss, [x, kernel])
    expected_x = ref.numeric_grad(lambda v: np.sum(reference(v, kernel) * weights), x)
    expected_k = ref.numeric_grad(lambda v: np.sum(reference(x, v) * weights), kernel)
    np.testing.assert_allclose(grad_x, expected_x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grad_k, expected_k, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel_shape, strides, padding, groups", [
    ((3, 3, 2, 4), (1, 1), "same", 1),
    ((2, 2, 1, 4), (2, 2), "same", 2),  # grouped, and "same" padded on one side only
    ((3, 2, 3), (1,), "valid", 1),
])
def test_conv_with_bias_is_the_convolution_plus_the_bias(rng, kernel_shape, strides, padding, groups):
    """Backend.conv_with_bias (torch: the bias inside the kernel) against the NumPy convolution plus the bias,
    gradients included (the bias gradient is the sum of the output gradient over all but the channel axis)."""
    B = _backend.get()
    n = len(strides)
    x = rng.normal(size=(2,) + (5,) * n + (2,)).astype("float32")
    kernel = rng.normal(size=kernel_shape).astype("float32")
    bias = rng.normal(size=kernel_shape[-1]).astype("float32")

    def reference(x, kernel):  # a grouped convolution: one plain convolution per group, concatenated
        parts = [ref.conv(xs, ks, strides, padding) for xs, ks in
                 zip(np.split(x, groups, axis=-1), np.split(kernel, groups, axis=-1))]
        return np.concatenate(parts, axis=-1) + bias

    expected = reference(x, kernel)
    weights = rng.normal(size=expected.shape).astype("float32")

    def loss(x, kernel, bias):
        y = B.conv_with_bias(x, kernel, bias, strides, padding, None, groups)
        return ops.sum(y * ops.convert_to_tensor(weights))

    y = B.conv_with_bias(*(ops.convert_to_tensor(a) for a in (x, kernel, bias)), strides, padding, None, groups)
    np.testing.assert_allclose(ops.convert_to_numpy(y), expected, rtol=RTOL, atol=ATOL)
    grad_x, grad_k, grad_b = _grads(loss, [x, kernel, bias])
    np.testing.assert_allclose(grad_x, ref.numeric_grad(lambda v: np.sum(reference(v, kernel) * weights), x),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(grad_k, ref.numeric_grad(lambda v: np.sum(reference(x, v) * weights), kernel),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(grad_b, weights.reshape(-1, weights.shape[-1]).sum(axis=0), rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_agrees_with_the_engine_kernel(rng):
    """Where the engine's own "same" follows the same rule, its kernel gives the same numbers."""
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    kernel = rng.normal(size=(2, 4, 3, 2)).astype("float32")
    ours = ops.convert_to_numpy(ops.conv(ops.convert_to_tensor(x), ops.convert_to_tensor(kernel), (1, 1), "same"))
    if mlfront.backend() == "tensorflow":
        import tensorflow as tf
        theirs = tf.nn.conv2d(x, kernel, 1, "SAME").numpy()
    elif mlfront.backend() == "jax":
        import jax
        theirs = np.asarray(jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC")))
    else:
        import torch
        theirs = torch.nn.functional.conv2d(torch.tensor(_cf(x)), torch.tensor(kernel).permute(3, 2, 0, 1),
                                            padding="same")
        theirs = _cl(theirs.numpy())
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_conv_net_trains_in_a_sequential_model(rng):
    x = rng.normal(size=(4, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=(4,))
    model = mlfront.Sequential([
        layers.Input(shape=(6, 6, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2DTranspose(2, 2, strides=2),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3),
    ])
    assert model.layers[2].compute_output_shape((None, 3, 3, 4)) == (None, 6, 6, 2)
    model.compile(optimizer="adam", loss=mlfront.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])) and history.history["loss"][-1] < history.history["loss"][0]


def test_config_uses_keras_names_and_aliases():
    layer = layers.Convolution2D(8, 3, strides=(2, 2), padding="SAME", kernel_regularizer="l2")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 2) and config["padding"] == "same"
    assert config["data_format"] == "channels_last" and config["kernel_regularizer"] == "l2"
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    clone = layers.Conv2D.from_config(config)
    assert clone.kernel_size == (3, 3) and clone.strides == (2, 2)


def test_regularizer_contributes_a_loss(rng):
    layer = layers.Conv2D(2, 2, kernel_regularizer="l2")
    layer(ops.convert_to_tensor(rng.normal(size=(1, 3, 3, 1)).astype("float32")))
    (penalty,) = layer.regularization_losses()
    np.testing.assert_allclose(ops.convert_to_numpy(penalty), 0.01 * np.sum(layer.kernel.numpy() ** 2), rtol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Conv2D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(2, (3, 3, 3)), "kernel_size"),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: layers.Conv2D(2, 3, data_format="NHWC"), "data_format"),
])
def test_invalid_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_input_rank_is_reported(rng):
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2D(2, 3)(ops.convert_to_tensor(rng.normal(size=(2, 5, 3)).astype("float32")))
