"""ConvLSTM1D and ConvLSTM2D: a NumPy reference built from the convolution reference, Keras 3 with the same weights
where installed, masks, go_backwards, returned states, channels_first, config round trips and training."""

import os

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import check_config
from references import conv as ref
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(31)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def conv_lstm(x, kernel, recurrent, bias, strides=1, padding="valid", mask=None, backwards=False):
    """(outputs per step, h, c) of the reference ConvLSTM over channels_last `x` (batch, time, *spatial, ch)."""
    steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    h = c = None
    outputs = []
    for t in steps:
        z = ref.conv(x[:, t], kernel, strides=strides, padding=padding) + bias
        if h is None:
            h = c = np.zeros(z.shape[:-1] + (z.shape[-1] // 4,))
        z = z + ref.conv(h, recurrent, padding="same")
        i, f, g, o = np.split(z, 4, axis=-1)
        new_c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        new_h = sigmoid(o) * np.tanh(new_c)
        if mask is not None:
            keep = mask[:, t].reshape((-1,) + (1,) * (new_h.ndim - 1))
            new_h, new_c = np.where(keep, new_h, h), np.where(keep, new_c, c)
        h, c = new_h, new_c
        outputs.append(h)
    return np.stack(outputs, 1), h, c


def _t(x):
    return ops.convert_to_tensor(x)


def _np(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("layer_class, shape, kwargs", [
    (layers.ConvLSTM2D, (2, 3, 5, 5, 2), {"filters": 3, "kernel_size": 3}),
    (layers.ConvLSTM2D, (2, 3, 6, 6, 2), {"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2}),
    (layers.ConvLSTM1D, (2, 4, 7, 3), {"filters": 4, "kernel_size": 2}),
], ids=["2d-valid", "2d-same-strided", "1d"])
def test_conv_lstm_matches_numpy(layer_class, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    mask = np.ones(shape[:2], bool)
    mask[0, -1] = False
    layer = layer_class(**kwargs, return_sequences=True, return_state=True, bias_initializer="random_normal")
    outputs, h, c = layer(_t(x), mask=_t(mask))
    kernel, recurrent, bias = [w.astype("float64") for w in layer.get_weights()]
    options = {k: kwargs[k] for k in ("strides", "padding") if k in kwargs}
    expected, expected_h, expected_c = conv_lstm(x, kernel, recurrent, bias, mask=mask, **options)
    for got, want in ((outputs, expected), (h, expected_h), (c, expected_c)):
        np.testing.assert_allclose(_np(got), want, atol=1e-5)
    last = layer_class(**kwargs, go_backwards=True)
    last(_t(x))
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(last(_t(x))), conv_lstm(x, kernel, recurrent, bias, backwards=True,
                                                          **options)[1], atol=1e-5)
    zeros = layer_class(**kwargs, return_sequences=True, zero_output_for_mask=True)
    zeros(_t(x))
    zeros.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(zeros(_t(x), mask=_t(mask))),
                               expected * mask.reshape(mask.shape + (1,) * (expected.ndim - 2)), atol=1e-5)
    symbolic = layer_class(**kwargs, return_sequences=True)(mlfront.Input(shape=shape[1:]))
    assert tuple(symbolic.shape[1:]) == expected.shape[1:]


def test_channels_first_and_unit_forget_bias():
    x = RNG.normal(size=(2, 3, 2, 5, 5)).astype("float32")  # (batch, time, channels, rows, cols)
    layer = layers.ConvLSTM2D(3, 3, data_format="channels_first", return_sequences=True)
    out = _np(layer(_t(x)))
    kernel, recurrent, bias = layer.get_weights()
    assert np.all(bias[3:6] == 1.0) and np.all(bias[:3] == 0.0)
    expected = conv_lstm(x.transpose(0, 1, 3, 4, 2), kernel, recurrent, bias)[0]
    np.testing.assert_allclose(out, expected.transpose(0, 1, 4, 2, 3), atol=1e-5)
    assert layer.compute_output_shape((None, 3, 2, 5, 5)) == (None, 3, 3, 3, 3)


def test_conv_lstm_trains_round_trips_and_rejects_bad_arguments(tmp_path):
    x = RNG.normal(size=(4, 3, 6, 6, 1)).astype("float32")
    model = mlfront.Sequential([mlfront.Input(shape=(3, 6, 6, 1)),
                                layers.ConvLSTM2D(2, 3, padding="same", dropout=0.1, recurrent_dropout=0.1),
                                layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, RNG.normal(size=(4, 1)), epochs=2, batch_size=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    model.save(tmp_path / "conv_lstm.keras")
    np.testing.assert_allclose(mlfront.models.load_model(tmp_path / "conv_lstm.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-5)
    layer = layers.ConvLSTM1D(2, 3, recurrent_activation="hard_sigmoid", return_state=True, seed=4)
    assert layers.ConvLSTM1D.from_config(check_config(layer)).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="ConvLSTM2D 'a': expected ndim=5"):
        layers.ConvLSTM2D(2, 3, name="a")(_t(x[:, 0]))
    with pytest.raises(ValueError, match="ConvLSTM1D 'b': `dropout` must be in \\[0, 1\\)"):
        layers.ConvLSTM1D(2, 3, dropout=2.0, name="b")
    with pytest.raises(ValueError, match="ConvLSTM2D 'c': stateful=True is not supported"):
        layers.ConvLSTM2D(2, 3, stateful=True, name="c")


@needs_keras
@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True), (2, 3, 5, 5, 2)),
    (lambda lib: lib.layers.ConvLSTM1D(2, 2, strides=2, return_state=True), (2, 3, 7, 3)),
], ids=["2d", "1d"])
def test_matches_keras_with_the_same_weights(make, shape):
    x = RNG.normal(size=shape).astype("float32")
    ours, theirs = make(mlfront), make(keras)
    ours(_t(x))
    theirs(x)
    weights = [RNG.normal(scale=0.3, size=np.shape(w)).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    got, want = ours(_t(x)), theirs(x)
    for a, b in zip(got if isinstance(got, list) else [got], want if isinstance(want, (list, tuple)) else [want]):
        np.testing.assert_allclose(_np(a), keras.ops.convert_to_numpy(b), atol=1e-5)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
