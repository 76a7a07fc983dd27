"""Model and layer API of Keras 2 and 3 (issue 9, item 5): add_loss / losses / add_metric, activity
regularizers, weighted_metrics, validation_freq, steps_per_execution, predict_classes / predict_proba,
Model.build on subclassed models, Keras 2's loading arguments. Numbers against NumPy and, where it is
installed on this engine, against Keras 3 itself."""

import warnings

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops


def _keras():
    """Keras 3 on this env's engine, or skip."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != mlfront.backend():
        pytest.skip("Keras runs on another engine here")
    return keras


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = rng.normal(size=(40, 3)).astype("float32")
    return x, y


def _dense_model(activity_regularizer=None, seed=1):
    mlfront.utils.set_random_seed(seed)
    inputs = mlfront.Input(shape=(5,))
    outputs = layers.Dense(3, activity_regularizer=activity_regularizer)(inputs)
    return mlfront.Model(inputs, outputs)


class ActivityPenalty(layers.Layer):
    """The Keras guide's pattern: a loss and a metric added inside call()."""

    def __init__(self, rate=0.01, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(ops.square(inputs)))
        self.add_metric(ops.mean(inputs), name="mean_activation")
        return inputs


# ---------------------------------------------------------------------- add_loss / losses
def test_add_loss_in_call_joins_the_training_loss(data):
    x, y = data
    mlfront.utils.set_random_seed(2)
    inputs = mlfront.Input(shape=(5,))
    dense = layers.Dense(3)
    outputs = ActivityPenalty(0.01)(dense(inputs))
    model = mlfront.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    kernel, bias = dense.get_weights()
    out = x @ kernel + bias
    expected = np.mean((out - y) ** 2) + 0.01 * np.sum(out ** 2)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(logs["mean_activation"], out.mean(), rtol=1e-5, atol=1e-6)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mean_activation"}
    assert np.all(np.isfinite(history.history["loss"]))


def test_layer_losses_are_those_of_the_last_call_plus_regularization(data):
    x, _ = data
    penalty = ActivityPenalty(0.5)
    dense = layers.Dense(2, kernel_regularizer=mlfront.regularizers.L2(0.1))
    out = penalty(dense(x[:4]))
    losses = penalty.losses
    assert len(losses) == 1
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(losses[0]), 0.5 * np.sum(np.asarray(
        mlfront.backend.get().to_numpy(out)) ** 2), rtol=1e-5)
    penalty(dense(x[:2]))  # a new outermost call: the first call's loss is gone
    assert len(penalty.losses) == 1
    assert len(dense.losses) == 1  # its kernel penalty
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(dense.losses[0]),
                               0.1 * np.sum(dense.get_weights()[0] ** 2), rtol=1e-5)


def test_compile_without_loss_trains_on_added_losses(data):
    """The Keras 2 VAE pattern: the model adds its whole loss, compile() gets none, fit gets no targets."""
    x, _ = data

    class Autoencoder(mlfront.Model):
        def __init__(self):
            super().__init__()
            self.encode = layers.Dense(2)
            self.decode = layers.Dense(5)

        def call(self, inputs):
            reconstruction = self.decode(self.encode(inputs))
            self.add_loss(ops.mean(ops.square(inputs - reconstruction)))
            return reconstruction

    mlfront.utils.set_random_seed(3)
    model = Autoencoder()
    model.compile(optimizer=mlfront.optimizers.Adam(0.05))
    before = model.evaluate(x, verbose=0)
    reconstruction = model.predict(x, verbose=0)
    np.testing.assert_allclose(before, np.mean((x - reconstruction) ** 2), rtol=1e-5)
    model.fit(x, epochs=15, batch_size=10, verbose=0)
    assert model.evaluate(x, verbose=0) < 0.8 * before


def test_compile_without_any_loss_says_so(data):
    x, y = data
    model = _dense_model()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="without a loss"):
        model.fit(x, y, verbose=0)


def test_input_independent_add_loss_is_read_every_step(data):
    x, y = data
    model = _dense_model()
    kernel = model.layers[1].kernel
    model.add_loss(lambda: 0.5 * ops.sum(ops.square(kernel.value)))
    model.compile(optimizer="sgd", loss="mse")
    w, b = model.layers[1].get_weights()
    expected = np.mean((x @ w + b - y) ** 2) + 0.5 * np.sum(w ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=40, verbose=0), expected, rtol=1e-5)


def test_add_loss_rejects_what_is_not_a_tensor():
    with pytest.raises(ValueError, match="add_loss expects a tensor"):
        layers.Dense(2).add_loss("0.5")


def test_shared_layer_regularization_counts_once(data):
    x, y = data
    mlfront.utils.set_random_seed(4)
    shared = layers.Dense(5, kernel_regularizer=mlfront.regularizers.L2(0.3))
    inputs = mlfront.Input(shape=(5,))
    block_a = mlfront.Sequential([shared], name="block_a")
    block_b = mlfront.Sequential([shared], name="block_b")
    outputs = layers.Dense(3)(block_b(block_a(inputs)))
    model = mlfront.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.regularized_variables()) == 1
    w = shared.get_weights()[0]
    head_w, head_b = model.layers[-1].get_weights()
    hidden = (x @ w + shared.get_weights()[1]) @ w + shared.get_weights()[1]
    expected = np.mean((hidden @ head_w + head_b - y) ** 2) + 0.3 * np.sum(w ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=40, verbose=0), expected, rtol=1e-5)


# ---------------------------------------------------------------------- activity regularizers
def test_activity_regularizer_is_divided_by_the_batch_size_as_in_keras(data):
    x, y = data
    model = _dense_model(activity_regularizer=mlfront.regularizers.L2(0.2))
    model.compile(optimizer="sgd", loss="mse")
    w, b = model.layers[1].get_weights()
    out = x[:8] @ w + b
    expected = np.mean((out - y[:8]) ** 2) + 0.2 * np.sum(out ** 2) / 8
    np.testing.assert_allclose(model.evaluate(x[:8], y[:8], batch_size=8, verbose=0), expected, rtol=1e-5)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_activity_regularizer_matches_keras3(data):
    keras = _keras()
    x, y = data
    ours = _dense_model(activity_regularizer="l2")
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activity_regularizer="l2")])
    theirs.set_weights(ours.get_weights())
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="mse")
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=10, verbose=0),
                               theirs.evaluate(x, y, batch_size=10, verbose=0), rtol=1e-5)


# ---------------------------------------------------------------------- weighted_metrics
def test_metrics_ignore_sample_weights_and_weighted_metrics_use_them():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 4)).astype("float32")
    y = rng.normal(size=(30, 1)).astype("float32")
    weights = rng.uniform(0.1, 2.0, size=30).astype("float32")
    mlfront.utils.set_random_seed(6)
    model = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae", "mse"])
    logs = model.evaluate(x, y, sample_weight=weights, batch_size=30, verbose=0, return_dict=True)
    error = (model.predict(x, verbose=0) - y)[:, 0]
    assert list(logs) == ["loss", "mae", "weighted_mae", "mse"]
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(error)), rtol=1e-5)
    np.testing.assert_allclose(logs["weighted_mae"], np.sum(weights * np.abs(error)) / np.sum(weights), rtol=1e-5)
    np.testing.assert_allclose(logs["mse"], np.sum(weights * error ** 2) / np.sum(weights), rtol=1e-5)


def test_weighted_metrics_match_keras3():
    keras = _keras()
    rng = np.random.default_rng(7)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = (rng.uniform(size=(24, 1)) > 0.5).astype("float32")
    weights = rng.uniform(0.1, 2.0, size=24).astype("float32")
    mlfront.utils.set_random_seed(8)
    ours = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(1, activation="sigmoid")])
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    theirs.set_weights(ours.get_weights())
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
    got = ours.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0, return_dict=True)
    want = theirs.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- validation_freq
@pytest.mark.parametrize("freq, validated", [(2, [2, 4]), ([1, 4], [1, 4])])
def test_validation_freq_as_int_or_epoch_list(data, freq, validated):
    x, y = data
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    record = mlfront.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (epoch + 1, "val_loss" in logs)))
    model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=freq, callbacks=[record], verbose=0)
    assert [epoch for epoch, has_val in seen if has_val] == validated


@pytest.mark.parametrize("freq", [0, -1, 1.5, "2", [1, "2"]])
def test_bad_validation_freq(data, freq):
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(*data, validation_data=data, validation_freq=freq, verbose=0)


# ---------------------------------------------------------------------- steps_per_execution
def test_steps_per_execution_runs_k_steps_per_call_with_the_same_result(data):
    x, y = data
    results, batch_ends = [], []
    for k in (1, 3):
        model = _dense_model(seed=9)
        model.compile(optimizer=mlfront.optimizers.SGD(0.05), loss="mse", metrics=["mae"], steps_per_execution=k)
        ends = []
        record = mlfront.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(batch))
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, callbacks=[record], verbose=0)
        results.append((model.get_weights(), history.history,
                        model.evaluate(x, y, batch_size=4, verbose=0), model.predict(x, batch_size=4, verbose=0)))
        batch_ends.append(ends)
    (w1, h1, e1, p1), (w3, h3, e3, p3) = results
    for a, b in zip(w1, w3):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1["loss"], h3["loss"], rtol=1e-5)
    np.testing.assert_allclose(e1, e3, rtol=1e-5)
    np.testing.assert_allclose(p1, p3, rtol=1e-5, atol=1e-6)
    assert batch_ends[0] == list(range(10)) * 2
    assert batch_ends[1] == [2, 5, 8, 9] * 2  # one callback per compiled call of up to 3 steps


def test_steps_per_execution_is_checked():
    model = _dense_model()
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="steps_per_execution"):
            model.compile(optimizer="sgd", loss="mse", steps_per_execution=bad)


def test_steps_per_execution_survives_saving(tmp_path, data):
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"], steps_per_execution=4)
    model.fit(*data, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = mlfront.models.load_model(tmp_path / "m.keras")
    assert loaded.steps_per_execution == 4
    assert loaded._compile_args["weighted_metrics"] == ["mae"]


# ---------------------------------------------------------------------- Keras 2 Sequential predictions
def test_predict_classes_and_proba():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(12, 4)).astype("float32")
    softmax = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(3, activation="softmax")])
    sigmoid = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(1, activation="sigmoid")])
    with pytest.warns(DeprecationWarning, match="predict_classes"):
        classes = softmax.predict_classes(x)
    np.testing.assert_array_equal(classes, softmax.predict(x, verbose=0).argmax(-1))
    with pytest.warns(DeprecationWarning, match="predict_classes"):
        binary = sigmoid.predict_classes(x)
    np.testing.assert_array_equal(binary, (sigmoid.predict(x, verbose=0) > 0.5).astype("int32"))
    assert binary.dtype == np.int32 and binary.shape == (12, 1)
    with pytest.warns(DeprecationWarning, match="predict_proba"):
        proba = softmax.predict_proba(x)
    np.testing.assert_allclose(proba, softmax.predict(x, verbose=0), rtol=1e-6)
    linear = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(3)])
    with pytest.warns(UserWarning, match="invalid probability"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            linear.predict_proba(x * 100)


# ---------------------------------------------------------------------- Model.build on a subclassed model
def test_build_creates_the_weights_of_a_subclassed_model():
    class TwoLayers(mlfront.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = TwoLayers()
    model.build((None, 6))
    assert model.built and model.count_params() == 6 * 4 + 4 + 4 * 2 + 2
    assert [w.shape for w in model.get_weights()] == [(6, 4), (4,), (4, 2), (2,)]
    lines = []
    model.summary(print_fn=lines.append)
    assert "38" in "\n".join(lines)
    with pytest.raises(ValueError, match="expected a shape tuple"):
        TwoLayers().build("six")


# ---------------------------------------------------------------------- Keras 2 loading arguments
class Batches(mlfront.utils.PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return self.x[index * 8:(index + 1) * 8], self.y[index * 8:(index + 1) * 8]


def test_fit_takes_keras2_loading_arguments(data):
    x, y = data
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(Batches(x, y), epochs=1, workers=2, max_queue_size=3, verbose=0)
    with pytest.warns(UserWarning, match="threads, not processes"):
        model.evaluate(Batches(x, y), workers=2, use_multiprocessing=True, verbose=0)
    with pytest.raises(ValueError, match="workers"):
        model.fit(Batches(x, y), workers=-1, verbose=0)
    with pytest.warns(DeprecationWarning, match="fit_generator"):
        model.fit_generator(iter([(x[:8], y[:8])] * 3), steps_per_epoch=3, max_queue_size=1, workers=1, verbose=0)


def test_keras2_batch_shuffle_moves_whole_batches():
    x = np.arange(22, dtype="float32")[:, None]
    adapter = mlfront.training.data.adapt(x, x, batch_size=5, shuffle="batch")
    adapter.shuffle_seed, adapter.epoch = 3, 0
    batches = [np.asarray(mlfront.backend.get().to_numpy(b[0]))[:, 0] for b in adapter.batches()]
    starts = sorted(b[0] for b in batches[:-1])
    assert starts == [0, 5, 10, 15] and [b[0] for b in batches[:-1]] != starts or len(set(starts)) == 4
    for b in batches[:-1]:
        np.testing.assert_array_equal(b, np.arange(b[0], b[0] + 5))
    np.testing.assert_array_equal(batches[-1], [20, 21])
    with pytest.raises(ValueError, match="shuffle"):
        mlfront.training.data.adapt(x, x, shuffle="epoch")


def test_any_layer_takes_an_activity_regularizer(data):
    x, _ = data
    layer = layers.BatchNormalization(activity_regularizer=mlfront.regularizers.L1(0.5))
    out = mlfront.backend.get().to_numpy(layer(x[:4]))
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(layer.losses[0]), 0.5 * np.abs(out).sum() / 4,
                               rtol=1e-5)
    config = layer.get_config()
    assert config["activity_regularizer"]["class_name"] == "L1"
    assert isinstance(layers.BatchNormalization.from_config(config).activity_regularizer, mlfront.regularizers.L1)


# ---------------------------------------------------------------------- Keras 2: symbolic add_loss / add_metric
def test_symbolic_add_loss_and_add_metric_on_a_functional_model(data):
    """The Keras 2 autoencoder pattern: the loss is built from the model's symbolic tensors, compile() gets none."""
    from mlfront import backend as K
    from mlfront.losses import mse

    x, _ = data
    mlfront.utils.set_random_seed(11)
    inputs = mlfront.Input(shape=(5,))
    code = layers.Dense(2, activation="tanh", name="code")(inputs)
    outputs = layers.Dense(5, name="decoded")(code)
    model = mlfront.Model(inputs, outputs)
    model.add_loss(K.mean(mse(inputs, outputs)) + 0.1 * K.mean(K.sum(K.square(code), axis=-1)))
    model.add_metric(K.mean(code), name="mean_code")
    model.compile(optimizer=mlfront.optimizers.Adam(0.02))
    logs = model.evaluate(x, batch_size=40, verbose=0, return_dict=True)
    (w1, b1), (w2, b2) = model.get_layer("code").get_weights(), model.get_layer("decoded").get_weights()
    hidden = np.tanh(x @ w1 + b1)
    decoded = hidden @ w2 + b2
    np.testing.assert_allclose(logs["loss"], np.mean((x - decoded) ** 2) + 0.1 * np.mean(np.sum(hidden ** 2, -1)),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["mean_code"], hidden.mean(), rtol=1e-5, atol=1e-6)
    assert [l.name for l in model.layers][1:] == ["code", "decoded"]  # the loss graph adds no layers
    history = model.fit(x, epochs=8, batch_size=10, validation_data=(x, None), verbose=0)
    assert set(history.history) == {"loss", "mean_code", "val_loss", "val_mean_code"}
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_keras2_variational_autoencoder_runs():
    """Keras 2's variational_autoencoder example, in small: sampling in a Lambda, the KL term from K functions."""
    from mlfront import backend as K
    from mlfront.losses import mse

    def sampling(args):
        z_mean, z_log_var = args
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
        return z_mean + K.exp(0.5 * z_log_var) * epsilon

    x = np.random.default_rng(12).uniform(size=(48, 6)).astype("float32")
    mlfront.utils.set_random_seed(12)
    inputs = mlfront.Input(shape=(6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    z_mean, z_log_var = layers.Dense(2)(hidden), layers.Dense(2)(hidden)
    z = layers.Lambda(sampling, output_shape=(2,))([z_mean, z_log_var])
    outputs = layers.Dense(6, activation="sigmoid")(layers.Dense(8, activation="relu")(z))
    vae = mlfront.Model(inputs, outputs)
    kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    vae.add_loss(K.mean(mse(inputs, outputs) * 6 + kl_loss))
    vae.compile(optimizer="adam")
    history = vae.fit(x, epochs=3, batch_size=16, validation_data=(x, None), verbose=0)
    assert np.all(np.isfinite(history.history["loss"])) and "val_loss" in history.history
    assert vae.predict(x[:3], verbose=0).shape == (3, 6)


def test_symbolic_add_loss_needs_the_model_inputs():
    inputs = mlfront.Input(shape=(3,))
    model = mlfront.Model(inputs, layers.Dense(2)(inputs))
    stranger = mlfront.Input(shape=(3,))
    with pytest.raises(ValueError):
        model.add_loss(mlfront.backend.mean(stranger))
    with pytest.raises(ValueError, match="metric name"):
        model.add_metric(mlfront.backend.mean(inputs))


def test_dropout_seed_makes_standalone_masks_reproducible():
    x = np.ones((4, 50), "float32")
    B = mlfront.backend.get()
    first = [B.to_numpy(layers.Dropout(0.5, seed=7)(x, training=True)) for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])  # same seed, same first mask
    layer = layers.Dropout(0.5, seed=7)
    masks = [B.to_numpy(layer(x, training=True)) for _ in range(2)]
    np.testing.assert_array_equal(masks[0], first[0])
    assert not np.array_equal(masks[0], masks[1])  # the layer's stream advances, as Keras's seed generator
    other = B.to_numpy(layers.Dropout(0.5, seed=8)(x, training=True))
    assert not np.array_equal(other, first[0])
    assert set(np.unique(masks[0])) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="seed"):
        layers.Dropout(0.5, seed="7")


def test_summary_line_length_and_positions():
    model = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(3, name="dense_a")])
    lines = []
    model.summary(line_length=60, positions=[0.5, 0.8, 1.0], print_fn=lines.append)
    table = lines[0].split("\n")
    assert table[1] == "_" * 60
    row = next(l for l in table if l.startswith(" dense_a"))
    assert row.index("(None, 3)") == 31 and row.index("15") == 49  # columns start at 0.5 and 0.8 of 60
    with pytest.raises(ValueError, match="positions"):
        model.summary(positions=[0.5, 1.0])


def test_calling_a_model_on_boolean_numpy_casts_like_predict():
    x = np.random.default_rng(13).uniform(size=(6, 4)) > 0.5
    model = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(2)])
    out = mlfront.backend.get().to_numpy(model(x))
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-6)
    w, b = model.get_weights()
    np.testing.assert_allclose(out, x.astype("float32") @ w + b, rtol=1e-5, atol=1e-6)


def test_numpy_integers_are_layer_sizes_as_in_keras2():
    """Keras 2 scripts compute sizes with NumPy (`num_classes = np.max(y) + 1`)."""
    n = np.int64(4)
    model = mlfront.Sequential([mlfront.Input((np.int64(6),)), layers.Dense(n), layers.RepeatVector(np.int32(2)),
                                layers.LSTM(n, return_sequences=True), layers.Reshape((2, 2, 2)),
                                layers.Conv2D(n, np.int64(2), padding="same"),
                                layers.MaxPooling2D(pool_size=(np.int64(2), np.int64(1))),
                                layers.ZeroPadding2D(np.int64(1))])
    assert model.predict(np.ones((3, 6), "float32"), verbose=0).shape == (3, 3, 4, 4)
    config = model.get_config()
    dense = next(entry for entry in config["layers"] if entry["class_name"] == "Dense")
    assert type(dense["config"]["units"]) is int
    mlfront.Sequential.from_config(config)
    assert type(layers.Embedding(np.int64(10), np.int64(3)).input_dim) is int
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(2, object())
    with pytest.raises(ValueError, match="units"):
        layers.Dense(True)


def test_rnn_seed_makes_standalone_dropout_reproducible():
    x = np.ones((2, 3, 4), "float32")
    B = mlfront.backend.get()
    runs = []
    for _ in range(2):
        mlfront.utils.set_random_seed(14)
        layer = layers.GRU(3, dropout=0.5, seed=5)
        runs.append(B.to_numpy(layer(x, training=True)))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6)
    assert layer.get_config()["seed"] == 5


def test_keras2_initial_weights_argument():
    kernel, bias = np.arange(6, dtype="float32").reshape(3, 2), np.array([1.0, -1.0], "float32")
    layer = layers.Dense(2, weights=[kernel, bias])
    model = mlfront.Sequential([mlfront.Input((3,)), layer])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    np.testing.assert_allclose(model.predict(np.ones((1, 3), "float32"), verbose=0), [[7.0, 8.0]])
    with pytest.raises(ValueError, match="set_weights expected a list of 2"):
        mlfront.Sequential([mlfront.Input((3,)), layers.Dense(2, weights=[kernel])])


def test_keras2_backend_functions_take_numpy_dtypes_python_numbers_and_masks():
    """What Keras 2's mnist_siamese example writes: K.cast(.., y_true.dtype), K.maximum(x, 0), K.mean(bool)."""
    from mlfront import backend as K
    x = K.constant([0.2, 0.7])
    np.testing.assert_array_equal(K.get_value(K.cast(x < 0.5, x.dtype)), [1.0, 0.0])
    for dtype in (np.float32, np.dtype("float32"), "float32"):
        assert K.dtype(K.zeros((2,), dtype=dtype)) == "float32"
        assert K.dtype(K.random_normal((2,), dtype=dtype)) == "float32"
    np.testing.assert_allclose(K.get_value(K.maximum(K.constant([-1.0, 2.0]), 0)), [0.0, 2.0])
    np.testing.assert_allclose(K.get_value(K.minimum(0, K.constant([-1.0, 2.0]))), [-1.0, 0.0])
    assert K.dtype(K.maximum(K.constant([-1.0, 2.0]), 0)) == "float32"
    np.testing.assert_allclose(K.get_value(K.mean(x > 0.5)), 0.5)
    np.testing.assert_allclose(K.get_value(K.var(x > 0.5)), 0.25)
    assert K.dtype(K.std(x > 0.5)) == "float32"
