"""Binary and categorical focal crossentropy, Dice and Tversky: NumPy formulas, Keras 3 (functions and classes,
same arguments) where it is installed, configs, and training with them by name."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, losses, ops
from keras_reference import keras, needs_keras


EPS = 1e-7
RNG = np.random.default_rng(17)
Y_BIN = RNG.integers(0, 2, (6, 4)).astype("float32")
P_BIN = RNG.uniform(0.02, 0.98, (6, 4)).astype("float32")
LOGITS = RNG.normal(size=(6, 5)).astype("float32")
Y_CAT = np.eye(5, dtype="float32")[RNG.integers(0, 5, 6)]
P_CAT = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)


def np_binary_focal(t, p, gamma=2.0, alpha=0.25, balance=False):
    p = np.clip(p.astype("float64"), EPS, 1 - EPS)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    focal = (1 - (t * p + (1 - t) * (1 - p))) ** gamma * bce
    if balance:
        focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
    return focal.mean(-1)


def np_categorical_focal(t, p, gamma=2.0, alpha=0.25):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - p) ** gamma * -(t * np.log(p))).sum(-1)


def np_tversky(t, p, alpha=0.5, beta=0.5):
    tp, fp, fn = (t * p).sum(), (t * (1 - p)).sum(), ((1 - t) * p).sum()
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _np(x):
    return ops.convert_to_numpy(x)


def test_losses_match_numpy():
    np.testing.assert_allclose(_np(losses.binary_focal_crossentropy(Y_BIN, P_BIN)), np_binary_focal(Y_BIN, P_BIN),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(losses.binary_focal_crossentropy(Y_BIN, P_BIN, apply_class_balancing=True,
                                                                    alpha=0.4, gamma=1.5)),
                               np_binary_focal(Y_BIN, P_BIN, 1.5, 0.4, True), rtol=1e-5, atol=1e-6)
    logits = np.log(P_BIN / (1 - P_BIN))
    np.testing.assert_allclose(_np(losses.binary_focal_crossentropy(Y_BIN, logits, from_logits=True)),
                               np_binary_focal(Y_BIN, P_BIN), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_np(losses.categorical_focal_crossentropy(Y_CAT, P_CAT)),
                               np_categorical_focal(Y_CAT, P_CAT), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(losses.categorical_focal_crossentropy(Y_CAT, LOGITS, from_logits=True, gamma=0.5)),
                               np_categorical_focal(Y_CAT, P_CAT, 0.5), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(losses.dice(Y_BIN, P_BIN)),
                               1 - 2 * (Y_BIN * P_BIN).sum() / (Y_BIN.sum() + P_BIN.sum() + EPS), rtol=1e-6)
    np.testing.assert_allclose(_np(losses.dice(Y_BIN, P_BIN, axis=-1)),
                               1 - 2 * (Y_BIN * P_BIN).sum(-1) / (Y_BIN.sum(-1) + P_BIN.sum(-1) + EPS), rtol=1e-6)
    np.testing.assert_allclose(_np(losses.tversky(Y_BIN, P_BIN, alpha=0.7, beta=0.3)),
                               np_tversky(Y_BIN, P_BIN, 0.7, 0.3), rtol=1e-6)
    np.testing.assert_allclose(_np(losses.tversky(Y_BIN, P_BIN)), _np(losses.dice(Y_BIN, P_BIN)), rtol=1e-6)


def test_loss_classes_reduce_and_round_trip():
    loss = losses.BinaryFocalCrossentropy(gamma=3.0, apply_class_balancing=True)
    assert float(_np(loss(Y_BIN, P_BIN))) == pytest.approx(np_binary_focal(Y_BIN, P_BIN, 3.0, 0.25, True).mean(),
                                                           rel=1e-5)
    for cls, kwargs in ((losses.BinaryFocalCrossentropy, {"alpha": 0.3}), (losses.CategoricalFocalCrossentropy,
                                                                            {"gamma": 1.0}),
                        (losses.Dice, {"axis": -1}), (losses.Tversky, {"alpha": 0.2, "beta": 0.8})):
        original = cls(**kwargs)
        clone = losses.deserialize(losses.serialize(original))
        assert type(clone) is cls and clone.get_config() == original.get_config()
    assert losses.Dice("sum").reduction == "sum"  # Keras's positional order: reduction first
    assert losses.Tversky(0.1, 0.9).get_config()["beta"] == 0.9


@pytest.mark.parametrize("loss, y", [("binary_focal_crossentropy", Y_BIN[:, :1]), ("dice", Y_BIN[:, :1]),
                                     ("tversky", Y_BIN[:, :1]), ("categorical_focal_crossentropy", Y_CAT)])
def test_training_by_name(loss, y):
    units, activation = (5, "softmax") if loss.startswith("categorical") else (1, "sigmoid")
    model = mlfront.Sequential([mlfront.Input(shape=(3,)), layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    x = RNG.normal(size=(6, 3)).astype("float32")
    history = model.fit(x, y, epochs=3, batch_size=6, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]


@needs_keras
@pytest.mark.parametrize("name, y, p, kwargs", [
    ("binary_focal_crossentropy", Y_BIN, P_BIN, {}),
    ("binary_focal_crossentropy", Y_BIN, P_BIN, {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                                 "label_smoothing": 0.1}),
    ("binary_focal_crossentropy", Y_BIN, LOGITS[:, :4], {"from_logits": True}),
    ("categorical_focal_crossentropy", Y_CAT, P_CAT, {"label_smoothing": 0.2}),
    ("categorical_focal_crossentropy", Y_CAT, LOGITS, {"from_logits": True, "alpha": 0.5}),
    ("dice", Y_BIN, P_BIN, {}), ("dice", Y_BIN, P_BIN, {"axis": -1}),
    ("tversky", Y_BIN, P_BIN, {"alpha": 0.7, "beta": 0.3}),
])
def test_losses_match_keras(name, y, p, kwargs):
    np.testing.assert_allclose(_np(getattr(losses, name)(y, p, **kwargs)),
                               keras.ops.convert_to_numpy(getattr(keras.losses, name)(y, p, **kwargs)),
                               rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("class_name", ["BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Dice", "Tversky"])
def test_loss_classes_match_keras(class_name):
    y, p = (Y_CAT, P_CAT) if class_name.startswith("Categorical") else (Y_BIN, P_BIN)
    ours, theirs = getattr(losses, class_name)(), getattr(keras.losses, class_name)()
    assert float(_np(ours(y, p))) == pytest.approx(float(keras.ops.convert_to_numpy(theirs(y, p))), rel=1e-5)
    assert sorted(set(ours.get_config()) - {"dtype"}) == sorted(theirs.get_config())  # every mlfront loss keeps dtype
