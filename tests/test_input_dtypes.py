"""Boolean and integer NumPy data in fit / evaluate / predict: cast to float where a float is consumed, kept
integer where an index is (Embedding inputs, sparse labels), as Keras does."""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from mlfront.training import data as _data
from mlfront.training.input_dtypes import input_spec, target_spec


def _one_hot_text(rng, n=12, steps=5, vocab=6):
    """One-hot encoded characters as booleans, as Keras 2's lstm_text_generation example builds them."""
    x = np.zeros((n, steps, vocab), dtype=bool)
    y = np.zeros((n, vocab), dtype=bool)
    for i in range(n):
        x[i, np.arange(steps), rng.integers(0, vocab, steps)] = True
        y[i, rng.integers(0, vocab)] = True
    return x, y


def _lstm_model():
    mlfront.utils.set_random_seed(7)
    model = mlfront.Sequential([layers.LSTM(8, input_shape=(5, 6)), layers.Dense(6, activation="softmax")])
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _flat_model():
    mlfront.utils.set_random_seed(5)
    model = mlfront.Sequential([layers.Dense(8, activation="tanh", input_shape=(30,)),
                                layers.Dense(6, activation="softmax")])
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy")
    return model


def _dense_model(loss="binary_crossentropy", units=1, activation="sigmoid"):
    mlfront.utils.set_random_seed(11)
    inputs = mlfront.Input(shape=(4,))
    model = mlfront.Model(inputs, layers.Dense(units, activation=activation)(layers.Dense(5)(inputs)))
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.3), loss=loss)
    return model


def _assert_same_training(make, data_a, data_b, x_eval_a, x_eval_b, y_eval_a, y_eval_b):
    # one model, restarted from the same weights (plain SGD keeps no state): its compiled steps serve both runs
    a = b = make()
    start = a.get_weights()
    hist_a = a.fit(*data_a, epochs=2, verbose=0, shuffle=False)
    trained = a.get_weights()
    a.set_weights(start)
    hist_b = b.fit(*data_b, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(hist_a.history["loss"], hist_b.history["loss"], atol=1e-6)
    for wa, wb in zip(trained, b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-6)
    batch_size = data_a[2]  # one batch shape: each new shape is a new trace on jax
    np.testing.assert_allclose(a.evaluate(x_eval_a, y_eval_a, batch_size=batch_size, verbose=0),
                               b.evaluate(x_eval_b, y_eval_b, batch_size=batch_size, verbose=0), atol=1e-6)
    np.testing.assert_allclose(a.predict(x_eval_a, batch_size=batch_size, verbose=0),
                               b.predict(x_eval_b, batch_size=batch_size, verbose=0), atol=1e-6)
    return a


def test_boolean_one_hot_x_and_y_into_an_lstm_match_float32(rng):
    x, y = _one_hot_text(rng)
    model = _assert_same_training(_lstm_model, (x, y, 4), (x.astype("float32"), y.astype("float32"), 4),
                                  x, x.astype("float32"), y, y.astype("float32"))
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), model.predict(x[:4].astype("float32"), verbose=0),
                               atol=1e-6)


def test_boolean_labels_with_binary_crossentropy_and_integer_x_into_dense(rng):
    x = rng.integers(0, 5, size=(10, 4)).astype("int64")
    y = rng.random((10, 1)) > 0.5
    _assert_same_training(_dense_model, (x, y, 5), (x.astype("float32"), y.astype("float32"), 5),
                          x, x.astype("float32"), y, y.astype("float32"))
    assert [d for _, d in target_spec(_dense_model())] == ["float32"]


def test_integer_one_hot_labels_for_categorical_crossentropy(rng):
    x = rng.normal(size=(10, 4)).astype("float32")
    y = np.eye(3, dtype="int32")[rng.integers(0, 3, 10)]

    def make():
        return _dense_model("categorical_crossentropy", 3, "softmax")
    _assert_same_training(make, (x, y, 5), (x, y.astype("float32"), 5), x, x, y, y.astype("float32"))


class RecordingEmbedding(layers.Embedding):
    """An Embedding that records the dtype of the indices it is given."""

    seen = []

    def call(self, inputs):
        RecordingEmbedding.seen.append(np.dtype(str(ops.dtype(inputs))).kind)
        return super().call(inputs)


def test_integer_x_into_embedding_stays_integer(rng):
    tokens = rng.integers(0, 20, size=(8, 6)).astype("int64")
    labels = rng.integers(0, 3, size=(8,))
    mlfront.utils.set_random_seed(3)
    model = mlfront.Sequential([RecordingEmbedding(20, 4, input_length=6), layers.GlobalAveragePooling1D(),
                                layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert [d for _, d in input_spec(model)] == [None]
    assert [d for _, d in target_spec(model)] == ["int32"]
    RecordingEmbedding.seen = []
    model.fit(tokens, labels, epochs=1, batch_size=4, verbose=0)
    model.evaluate(tokens, labels, verbose=0)
    predicted = model.predict(tokens, verbose=0)
    assert RecordingEmbedding.seen and set(RecordingEmbedding.seen) == {"i"}
    table = model.layers[0].get_weights()[0]
    dense_w, dense_b = model.layers[2].get_weights()
    logits = table[tokens].mean(1) @ dense_w + dense_b
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(predicted, expected / expected.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    # in a functional model: an integer Input keeps its dtype too, a float one feeding only the Embedding too
    for dtype in ("int32", None):
        inputs = mlfront.Input(shape=(6,), dtype=dtype)
        functional = mlfront.Model(inputs, model.layers[0](inputs))
        RecordingEmbedding.seen = []
        functional.predict(tokens, verbose=0)
        assert set(RecordingEmbedding.seen) == {"i"}


def test_sparse_integer_labels_stay_integer_in_batches(rng):
    model = _dense_model("sparse_categorical_crossentropy", 3, "softmax")
    x = rng.integers(0, 4, size=(6, 4)).astype("int32")
    labels = rng.integers(0, 3, size=(6, 1)).astype("int64")
    batch = next(_data.adapt(x, labels, batch_size=6, x_dtypes=input_spec(model),
                             y_dtypes=target_spec(model)).batches())
    assert ops.convert_to_numpy(batch[0]).dtype == np.float32
    assert ops.convert_to_numpy(batch[1]).dtype == np.int32
    model.fit(x, labels, epochs=1, verbose=0)
    y_pred = model.predict(x, verbose=0)
    loss = -np.log(y_pred[np.arange(6), labels[:, 0]]).mean()
    np.testing.assert_allclose(model.evaluate(x, labels, verbose=0), loss, rtol=1e-5)


class OneHotBatches(mlfront.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


def _generator(x, y, batch_size):
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


@pytest.mark.parametrize("source", ["generator", "pydataset"])
def test_boolean_batches_from_generators_and_pydatasets(rng, source):
    x, y = _one_hot_text(rng)
    xf, yf = x.astype("float32"), y.astype("float32")

    def feed(a, b):
        return _generator(a, b, 4) if source == "generator" else OneHotBatches(a, b, 4)

    x, y = x.reshape(len(x), -1), y.astype("int32")  # flattened one-hot into Dense; integer one-hot labels
    xf, yf = x.astype("float32"), y.astype("float32")
    a = b = _flat_model()
    start = a.get_weights()
    steps = {"steps_per_epoch": 3} if source == "generator" else {}
    hist_a = a.fit(feed(x, y), epochs=2, verbose=0, shuffle=False, **steps)
    a.set_weights(start)
    hist_b = b.fit(feed(xf, yf), epochs=2, verbose=0, shuffle=False, **steps)
    np.testing.assert_allclose(hist_a.history["loss"], hist_b.history["loss"], atol=1e-6)
    eval_steps = {"steps": 3} if source == "generator" else {}
    np.testing.assert_allclose(a.evaluate(feed(x, y), verbose=0, **eval_steps),
                               b.evaluate(feed(xf, yf), verbose=0, **eval_steps), atol=1e-6)
    np.testing.assert_allclose(a.predict(feed(x, y), verbose=0, **eval_steps),
                               b.predict(feed(xf, yf), verbose=0, **eval_steps), atol=1e-6)


def test_boolean_batches_from_an_engine_dataset(rng):
    x, y = _one_hot_text(rng)
    if mlfront.backend() == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        dataset = tf.data.Dataset.from_tensor_slices((x.reshape(len(x), -1), y)).batch(4)
    elif mlfront.backend() == "torch":
        torch = pytest.importorskip("torch")
        from torch.utils.data import DataLoader, TensorDataset
        dataset = DataLoader(TensorDataset(torch.from_numpy(x.reshape(len(x), -1)), torch.from_numpy(y)),
                             batch_size=4)
    else:
        pytest.skip("tf.data and DataLoader need their engine installed")
    a, b = _flat_model(), _flat_model()
    x = x.reshape(len(x), -1)
    hist_a = a.fit(dataset, epochs=1, verbose=0)
    hist_b = b.fit(x.astype("float32"), y.astype("float32"), batch_size=4, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(hist_a.history["loss"], hist_b.history["loss"], atol=1e-6)
    np.testing.assert_allclose(a.predict(dataset, verbose=0), b.predict(x.astype("float32"), batch_size=4, verbose=0),
                               atol=1e-6)
