"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization: the identity at
inference, the documented noise in training (exact structure and moments against NumPy formulas), configs that
round-trip and match Keras 3's keys, and a training step in a model."""

import math

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import check_config
from keras_reference import keras


RNG = np.random.default_rng(3)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _call(layer, x, training):
    return ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=training))


CASES = [(layers.SpatialDropout1D, {"rate": 0.5}, (4, 6, 8)),
         (layers.SpatialDropout2D, {"rate": 0.5}, (4, 3, 5, 8)),
         (layers.SpatialDropout3D, {"rate": 0.5}, (4, 2, 3, 2, 8)),
         (layers.GaussianNoise, {"stddev": 0.5}, (4, 7)),
         (layers.GaussianDropout, {"rate": 0.3}, (4, 7)),
         (layers.AlphaDropout, {"rate": 0.3}, (4, 7)),
         (layers.ActivityRegularization, {"l1": 0.01, "l2": 0.1}, (4, 7))]


@pytest.mark.parametrize("layer_class, kwargs, shape", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_identity_outside_training_and_config_round_trip(layer_class, kwargs, shape):
    x = RNG.normal(size=shape).astype("float32")
    layer = layer_class(**kwargs, **({"seed": 1} if "seed" in layer_class.__init__.__code__.co_varnames else {}))
    np.testing.assert_array_equal(_call(layer, x, training=False), x)
    config = check_config(layer)
    clone = layer_class.from_config(config)
    assert clone.get_config() == config
    if keras is not None:
        theirs = getattr(keras.layers, layer_class.__name__)(**kwargs).get_config()
        ignored = {"batch_input_shape", "trainable"}  # Keras's SpatialDropout configs leave `trainable` out
        assert sorted(set(config) - ignored) == sorted(set(theirs) - ignored)


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((64, 5, 6, 3), "float32")
    out = _call(layers.SpatialDropout2D(0.5, seed=4), x, training=True)
    per_map = out.reshape(64, 30, 3)
    assert np.all(per_map == per_map[:, :1])  # one draw per (sample, channel)
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.3 < (per_map[:, 0] == 0).mean() < 0.7
    first = _call(layers.SpatialDropout2D(0.5, data_format="channels_first", seed=4), x, training=True)
    assert np.all(first == first[:, :, :1, :1])  # channels_first: one draw per (sample, axis 1)
    seq = _call(layers.SpatialDropout1D(0.5, seed=2), np.ones((32, 9, 4), "float32"), training=True)
    assert np.all(seq == seq[:, :1])


def test_gaussian_layers_have_the_documented_moments():
    x = np.full((200, 500), 2.0, "float32")
    noisy = _call(layers.GaussianNoise(0.5, seed=3), x, training=True)
    assert abs(noisy.mean() - 2.0) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    scaled = _call(layers.GaussianDropout(0.3, seed=3), x, training=True)
    assert abs(scaled.mean() - 2.0) < 0.02 and abs(scaled.std() - 2.0 * math.sqrt(0.3 / 0.7)) < 0.02


def test_alpha_dropout_keeps_selu_statistics():
    x = RNG.normal(size=(400, 500)).astype("float32")
    rate = 0.2
    out = _call(layers.AlphaDropout(rate, seed=5), x, training=True)
    saturation = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * saturation ** 2)) ** -0.5
    b = -a * saturation * rate
    kept = np.isclose(out, a * x + b, atol=1e-5)
    assert np.all(kept | np.isclose(out, a * saturation + b, atol=1e-5))
    assert abs((~kept).mean() - rate) < 0.01
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1.0) < 0.02  # zero mean, unit variance kept


def test_activity_regularization_adds_its_penalty_per_sample():
    x = RNG.normal(size=(8, 5)).astype("float32")
    inputs = mlfront.Input(shape=(5,))
    model = mlfront.Model(inputs, layers.ActivityRegularization(l1=0.01, l2=0.1)(layers.Dense(3)(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    y_pred = model.predict(x, verbose=0)
    zeros = np.zeros((8, 3), "float32")
    expected = np.mean(y_pred ** 2) + (0.01 * np.abs(y_pred).sum() + 0.1 * (y_pred ** 2).sum()) / 8
    assert model.evaluate(x, zeros, batch_size=8, verbose=0) == pytest.approx(expected, rel=1e-5)
    before = model.get_weights()[0].copy()
    model.fit(x, zeros, batch_size=8, verbose=0)
    assert not np.allclose(model.get_weights()[0], before)


def test_noise_layers_train_in_a_model_and_reject_bad_arguments():
    x = RNG.normal(size=(16, 6, 4)).astype("float32")
    model = mlfront.Sequential([mlfront.Input(shape=(6, 4)), layers.SpatialDropout1D(0.2), layers.GaussianNoise(0.1),
                                layers.Flatten(), layers.Dense(4, activation="selu"), layers.AlphaDropout(0.1),
                                layers.GaussianDropout(0.1), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x[:, 0, :1], epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    with pytest.raises(ValueError, match="GaussianDropout 'g': `rate` must be a number in \\[0, 1\\), got 1.5"):
        layers.GaussianDropout(1.5, name="g")
    with pytest.raises(ValueError, match="GaussianNoise 'n': `stddev` must be a number >= 0"):
        layers.GaussianNoise(-1, name="n")
    with pytest.raises(ValueError, match="SpatialDropout2D 's': expected inputs of rank 4 .* got shape \\(2, 3\\)"):
        layers.SpatialDropout2D(0.5, name="s")(ops.convert_to_tensor(np.ones((2, 3), "float32")))
