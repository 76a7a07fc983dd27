"""Nothing accepted is ignored: an argument mlfront does not implement raises an error naming it at any value but
its default (which stays accepted, so Keras configs load); the arguments that were ignored before now work."""

import numpy as np
import pytest

import mlfront
from mlfront import callbacks, layers, losses, ops, optimizers, regularizers

# (what is built, the argument's name, a non-default value, its default); the default must be accepted
UNSUPPORTED = [
    (lambda **a: layers.Dense(2, **a), "quantization_config", {"mode": "int8"}, None),
    (lambda **a: layers.Embedding(4, 2, **a), "quantization_config", {"mode": "int8"}, None),
    (lambda **a: layers.GRU(2, **a), "time_major", True, False),
    (lambda **a: layers.SimpleRNN(2, **a), "stateful", True, False),
    (lambda **a: layers.BatchNormalization(**a), "renorm", True, False),
    (lambda **a: layers.LayerNormalization(**a), "rms_scaling", True, False),
    (lambda **a: layers.MultiHeadAttention(2, 3, **a), "use_gate", True, False),
    (lambda **a: layers.MultiHeadAttention(2, 3, **a), "sliding_window", 4, None),
    (lambda **a: layers.Input((2,), **a), "sparse", True, None),
    (lambda **a: layers.CategoryEncoding(3, **a), "sparse", True, False),
    (lambda **a: layers.Resizing(4, 4, **a), "antialias", True, False),
    (lambda **a: optimizers.Adam(**a), "use_ema", True, False),
    (lambda **a: optimizers.SGD(**a), "gradient_accumulation_steps", 4, None),
    (lambda **a: callbacks.TensorBoard(**a), "write_images", True, False),
    (lambda **a: callbacks.TensorBoard(**a), "profile_batch", (2, 4), 0),
    (lambda **a: callbacks.TensorBoard(**a), "embeddings_freq", 1, 0),
    (lambda **a: callbacks.TensorBoard(**a), "embeddings_metadata", {"embedding": "meta.tsv"}, None),
]


@pytest.mark.parametrize("build, arg, value, default", UNSUPPORTED,
                         ids=[f"{i}-{case[1]}" for i, case in enumerate(UNSUPPORTED)])
def test_unsupported_argument_raises_naming_it_and_default_is_accepted(build, arg, value, default):
    with pytest.raises((NotImplementedError, ValueError), match=arg):
        build(**{arg: value})
    build(**{arg: default})


@pytest.mark.parametrize("build", [lambda: layers.Dense(2, lora_rank=4), lambda: layers.Conv1D(2, 3, lora_rank=4),
                                   lambda: layers.LSTM(2, no_such_argument=1)])
def test_unknown_keras_argument_raises_naming_it(build):
    with pytest.raises(TypeError, match="lora_rank|no_such_argument"):
        build()


def test_loss_dtype_casts_targets_and_predictions_like_keras(rng):
    y_true = rng.normal(size=(4, 3)).astype("float32")
    y_pred = rng.normal(size=(4, 3)).astype("float32")
    loss = losses.MeanSquaredError(dtype="float16")
    value = loss(y_true, y_pred)
    assert ops.convert_to_numpy(value).dtype == np.float16
    expected = np.mean(np.square(y_true.astype("float16") - y_pred.astype("float16")).astype("float32"))
    np.testing.assert_allclose(float(ops.convert_to_numpy(value)), expected, rtol=5e-3)
    assert losses.MeanSquaredError.from_config(loss.get_config()).dtype == "float16"
    assert ops.convert_to_numpy(losses.MeanSquaredError()(y_true, y_pred)).dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        losses.MeanSquaredError(dtype=3)
    keras = pytest.importorskip("keras")
    reference = keras.ops.convert_to_numpy(keras.losses.MeanSquaredError(dtype="float16")(y_true, y_pred))
    np.testing.assert_allclose(float(ops.convert_to_numpy(value)), float(reference), rtol=5e-3)


def test_binary_crossentropy_axis(rng):
    y_true = (rng.random(size=(2, 3, 4)) > 0.5).astype("float32")
    y_pred = rng.uniform(0.05, 0.95, size=(2, 3, 4)).astype("float32")
    per_entry = -(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))
    loss = losses.BinaryCrossentropy(axis=1, reduction="none")
    np.testing.assert_allclose(ops.convert_to_numpy(loss(y_true, y_pred)), per_entry.mean(axis=1), rtol=1e-5)
    assert losses.BinaryCrossentropy().get_config()["axis"] == -1
    keras = pytest.importorskip("keras")
    reference = keras.losses.BinaryCrossentropy(axis=1, reduction="none")(y_true, y_pred)
    np.testing.assert_allclose(ops.convert_to_numpy(loss(y_true, y_pred)), keras.ops.convert_to_numpy(reference),
                               rtol=1e-4)


def test_embedding_stores_activity_regularizer_like_dense():
    layer = layers.Embedding(5, 2, activity_regularizer="l2")
    assert isinstance(layer.activity_regularizer, regularizers.L2)
    config = layer.get_config()
    assert config["activity_regularizer"]["class_name"] == "L2"
    assert isinstance(layers.Embedding.from_config(config).activity_regularizer, regularizers.L2)
    assert layers.Embedding(5, 2).get_config()["activity_regularizer"] is None
    for layer in (layers.Dense(2, activity_regularizer="l1"), layers.Conv1D(2, 3, activity_regularizer="l1"),
                  layers.MultiHeadAttention(2, 3, activity_regularizer="l1")):
        assert isinstance(layer.activity_regularizer, regularizers.L1)


def test_tensorboard_defaults_are_accepted(tmp_path):
    board = callbacks.TensorBoard(str(tmp_path), write_graph=False, write_images=False, profile_batch=0,
                                  embeddings_freq=0, embeddings_metadata=None)
    assert board.log_dir == str(tmp_path)
    assert isinstance(mlfront.callbacks.TensorBoard(str(tmp_path)), callbacks.Callback)
