"""compile / fit / evaluate / predict end to end, checked against NumPy."""

import numpy as np
import pytest

import mlfront
from mlfront import layers
from references import core as ref


def linear_model(inputs=3, outputs=1, **dense_kwargs):
    return mlfront.Sequential([layers.Dense(outputs, input_shape=(inputs,), **dense_kwargs)])


def test_sgd_train_on_batch_equals_a_numpy_gradient_step(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    model = linear_model(3, 2)
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.1), loss="mse")
    kernel, bias = model.get_weights()
    loss = model.train_on_batch(x, y)
    residual = x @ kernel + bias - y
    np.testing.assert_allclose(loss, np.mean(residual ** 2), rtol=1e-5)
    grad_out = 2 * residual / residual.size
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_allclose(new_kernel, kernel - 0.1 * x.T @ grad_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_bias, bias - 0.1 * grad_out.sum(0), rtol=1e-5, atol=1e-6)


def test_fit_learns_and_history_has_keras_keys(rng):
    x = rng.normal(size=(256, 4)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype("int32")
    y = mlfront.utils.to_categorical(labels, 2)
    model = mlfront.Sequential([layers.Dense(16, activation="relu", input_dim=4), layers.Dropout(0.1),
                                layers.Dense(2, activation="softmax")])
    model.compile(optimizer=mlfront.optimizers.Adam(lr=0.02), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 8 and history.epoch == list(range(8))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    # validation_split holds out the LAST quarter; its logs are the final weights evaluated on it
    val_loss, val_acc = model.evaluate(x[192:], y[192:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], val_loss, rtol=1e-5)
    np.testing.assert_allclose(history.history["val_accuracy"][-1], val_acc, rtol=1e-6)


def test_evaluate_and_predict_match_numpy(rng):
    x = rng.normal(size=(50, 3)).astype("float32")
    labels = rng.integers(0, 4, size=50).astype("int32")
    model = mlfront.Sequential([layers.Dense(4, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kernel, bias = model.get_weights()
    probs = ref.softmax(x @ kernel + bias)
    predicted = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (50, 4)
    np.testing.assert_allclose(predicted, probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), probs[:5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x[:5])), probs[:5], rtol=1e-5, atol=1e-6)
    loss, accuracy = model.evaluate(x, labels, batch_size=16, verbose=0)
    np.testing.assert_allclose(loss, ref.sparse_categorical_crossentropy(labels, probs).mean(), rtol=1e-5)
    np.testing.assert_allclose(accuracy, (probs.argmax(1) == labels).mean(), rtol=1e-6)
    assert model.evaluate(x, labels, return_dict=True, verbose=0).keys() == {"loss", "accuracy"}


def test_single_output_losses_and_loss_weights_given_as_one_entry_lists(rng):
    """Keras accepts `loss=["mse"], loss_weights=[0.5]` for a single-output model; metrics lists stay lists."""
    x = rng.normal(size=(20, 3)).astype("float32")
    y = rng.normal(size=(20, 1)).astype("float32")
    model = linear_model()
    model.compile(optimizer="sgd", loss=["mse"], loss_weights=[0.5], metrics=["mae", "mse"])
    kernel, bias = model.get_weights()
    error = x @ kernel + bias - y
    loss, mae, mse = model.evaluate(x, y, batch_size=20, verbose=0)
    np.testing.assert_allclose([loss, mae, mse], [0.5 * (error ** 2).mean(), np.abs(error).mean(),
                                                   (error ** 2).mean()], rtol=1e-5)
    with pytest.raises(ValueError, match="list of 2 entries but the model has 1 outputs"):
        linear_model().compile(optimizer="sgd", loss="mse", loss_weights=[0.5, 1.0])


@pytest.mark.parametrize("loss, y_kind, expected_metric", [
    ("binary_crossentropy", "binary", "binary"), ("categorical_crossentropy", "onehot", "categorical"),
    ("sparse_categorical_crossentropy", "sparse", "sparse"), ("mse", "binary", "binary"),
    ("mse", "onehot", "categorical")])
def test_accuracy_is_resolved_like_keras(loss, y_kind, expected_metric, rng):
    x = rng.normal(size=(40, 3)).astype("float32")
    labels = rng.integers(0, 3, size=40)
    units = 1 if y_kind == "binary" else 3
    y = {"binary": (labels > 0).astype("float32")[:, None], "onehot": mlfront.utils.to_categorical(labels, 3),
         "sparse": labels.astype("int32")}[y_kind]
    model = mlfront.Sequential([layers.Dense(units, activation="sigmoid" if units == 1 else "softmax",
                                             input_shape=(3,))])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    _, accuracy = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)
    expected = {"binary": lambda: ((p > 0.5) == (y > 0.5)).mean(),
                "categorical": lambda: (p.argmax(1) == y.argmax(1)).mean(),
                "sparse": lambda: (p.argmax(1) == y).mean()}[expected_metric]()
    np.testing.assert_allclose(accuracy, expected, rtol=1e-6)


def test_evaluate_without_metrics_returns_a_scalar(rng):
    model = linear_model()
    model.compile(optimizer="adam", loss="mae")
    result = model.evaluate(rng.normal(size=(10, 3)), rng.normal(size=(10, 1)), verbose=0)
    assert isinstance(result, float)


def test_wrong_feature_size_names_the_layer_and_both_shapes(rng):
    model = mlfront.Sequential([layers.Dense(4, input_shape=(784,), name="hidden"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"layer 'hidden'.*expected shape=\(None, 784\).*found shape=\(10, 100\)"):
        model.fit(np.zeros((10, 100)), np.zeros((10, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"layer 'hidden'.*found shape=\(2, 5\)"):
        model.predict(np.zeros((2, 5)), verbose=0)


def test_x_y_length_mismatch_is_reported(rng):
    model = linear_model()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"cardinality.*x sizes: \[100\].*y sizes: \[90\]"):
        model.fit(np.zeros((100, 3)), np.zeros((90, 1)), verbose=0)


def test_unknown_optimizer_and_loss_names_list_valid_ones():
    model = linear_model()
    with pytest.raises(ValueError, match="Unknown optimizer 'adamx'.*adam.*rmsprop.*sgd"):
        model.compile(optimizer="adamx", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss 'msee'.*mean_squared_error"):
        model.compile(optimizer="adam", loss="msee")


def test_fit_before_compile_raises():
    with pytest.raises(RuntimeError, match="must be compiled"):
        linear_model().fit(np.zeros((4, 3)), np.zeros((4, 1)), verbose=0)


def test_model_without_input_shape_is_built_on_first_batch(rng):
    model = mlfront.Sequential()
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(1))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.normal(size=(12, 5)), rng.normal(size=(12, 1)), epochs=1, verbose=0)
    assert [w.shape for w in model.get_weights()] == [(5, 3), (3,), (3, 1), (1,)]


def test_verbose_1_prints_a_keras_progress_bar(rng, capsys):
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(rng.normal(size=(64, 3)), rng.normal(size=(64, 1)), batch_size=16, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4 [==============================] - " in out
    assert "/step - loss: " in out and " - mae: " in out


def test_verbose_2_prints_one_line_per_epoch(rng, capsys):
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.normal(size=(64, 3)), rng.normal(size=(64, 1)), batch_size=16, epochs=3, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("4/4 - ")]
    assert len(lines) == 3 and all("loss: " in l for l in lines)


def test_summary_has_keras_layout_and_counts(capsys):
    model = mlfront.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)), layers.Dropout(0.2),
                                layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")],
                               name="mnist_mlp")
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "mnist_mlp"' in out
    assert "Layer (type)" in out and "Output Shape" in out and "Param #" in out
    assert "(None, 512)" in out and "401920" in out and "262656" in out and "5130" in out
    assert "Total params: 669,706" in out and "Trainable params: 669,706" in out and "Non-trainable params: 0" in out


def test_to_categorical_and_keras2_np_utils():
    from mlfront.utils import np_utils
    np.testing.assert_array_equal(np_utils.to_categorical([0, 2, 1], 3), np.eye(3)[[0, 2, 1]])
    assert mlfront.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    with pytest.raises(ValueError, match="label 5 does not fit num_classes=3"):
        mlfront.utils.to_categorical([5], 3)


def test_set_random_seed_makes_training_repeatable(rng):
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")

    def run():
        mlfront.utils.set_random_seed(99)
        model = mlfront.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dropout(0.5),
                                    layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_feature_extraction_from_a_trained_sequential_model(rng):
    x = rng.normal(size=(20, 4)).astype("float32")
    model = mlfront.Sequential([layers.Dense(6, activation="relu", input_shape=(4,)), layers.Dense(3, name="features"),
                                layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, rng.normal(size=(20, 1)), epochs=1, verbose=0)
    extractor = mlfront.Model(inputs=model.input, outputs=model.get_layer("features").output)
    k1, b1, k2, b2 = (w for layer in model.layers[:2] for w in layer.get_weights())
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(extractor.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert model.layers[1].output.shape == (None, 3)
