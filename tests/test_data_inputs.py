"""Every kind of input fit / evaluate / predict accept: arrays, generators, PyDataset, tf.data, DataLoader."""

import warnings

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.training.data import PyDataset


@pytest.fixture
def data(rng):
    x = rng.normal(size=(48, 3)).astype("float32")
    y = rng.normal(size=(48, 2)).astype("float32")
    return x, y


def fresh_model(seed=5):
    mlfront.utils.set_random_seed(seed)
    model = mlfront.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(2)])
    model.compile(optimizer=mlfront.optimizers.SGD(0.05, momentum=0.5), loss="mse", metrics=["mae"])
    return model


def batches_of(x, y, size=16):
    while True:
        for start in range(0, len(x), size):
            yield x[start:start + size], y[start:start + size]


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def reference_model(x, y, epochs=2):
    model = fresh_model()
    history = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model, history


def test_generator_with_steps_per_epoch_trains_like_arrays(data):
    x, y = data
    expected, expected_history = reference_model(x, y)
    model = fresh_model()
    history = model.fit(batches_of(x, y), steps_per_epoch=3, epochs=2, verbose=0)
    assert_same_weights(model, expected)
    np.testing.assert_allclose(history.history["loss"], expected_history.history["loss"], rtol=1e-5)


def test_fit_generator_is_kept_for_keras2_code_with_a_warning(data):
    x, y = data
    expected, _ = reference_model(x, y)
    model = fresh_model()
    with pytest.warns(DeprecationWarning, match="fit_generator is deprecated"):
        model.fit_generator(batches_of(x, y), steps_per_epoch=3, epochs=2, verbose=0)
    assert_same_weights(model, expected)
    with pytest.warns(DeprecationWarning):
        loss, mae = model.evaluate_generator(batches_of(x, y), steps=3)
    np.testing.assert_allclose([loss, mae], model.evaluate(x, y, batch_size=16, verbose=0), rtol=1e-5)
    with pytest.warns(DeprecationWarning):
        predicted = model.predict_generator((x[i:i + 16] for i in range(0, 48, 16)), steps=3)
    np.testing.assert_allclose(predicted, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


class ArraySequence(PyDataset):
    def __init__(self, x, y, size=16, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size = x, y, size
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.size))

    def __getitem__(self, index):
        return self.x[index * self.size:(index + 1) * self.size], self.y[index * self.size:(index + 1) * self.size]

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("workers", [1, 3])
def test_pydataset_trains_like_arrays_and_gets_on_epoch_end(data, workers):
    x, y = data
    expected, _ = reference_model(x, y)
    dataset = ArraySequence(x, y, workers=workers)
    model = fresh_model()
    model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(model, expected)
    assert dataset.epochs_ended == 2
    np.testing.assert_allclose(model.predict(ArraySequence(x, y), verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras2_sequence_alias():
    from mlfront.utils import Sequence
    assert Sequence is PyDataset


def test_validation_data_as_generator_with_validation_steps(data):
    x, y = data
    model = fresh_model()
    history = model.fit(x[:32], y[:32], batch_size=16, epochs=1, verbose=0,
                        validation_data=batches_of(x[32:], y[32:]), validation_steps=1)
    np.testing.assert_allclose(history.history["val_loss"][0], model.evaluate(x[32:], y[32:], verbose=0)[0],
                               rtol=1e-5)


def test_tf_data_dataset_works_on_every_backend(data):
    tf = pytest.importorskip("tensorflow")
    x, y = data
    expected, _ = reference_model(x, y)
    model = fresh_model()
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, verbose=0)
    assert_same_weights(model, expected)


def test_torch_dataloader_works_on_every_backend(data):
    torch = pytest.importorskip("torch")
    x, y = data
    expected, _ = reference_model(x, y)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=16, shuffle=False)
    model = fresh_model()
    model.fit(loader, epochs=2, verbose=0)
    assert_same_weights(model, expected)


def frozen_classifier():
    mlfront.utils.set_random_seed(3)
    model = mlfront.Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    return model


def per_sample_ce(model, x, labels):
    p = model.predict(x, verbose=0)
    return -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-7, 1))


def test_class_weight_and_sample_weight_weight_the_loss(rng):
    x = rng.normal(size=(30, 3)).astype("float32")
    labels = rng.integers(0, 3, size=30).astype("int32")
    model = frozen_classifier()
    losses = per_sample_ce(model, x, labels)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    weights = np.array([class_weight[c] for c in labels], "float32")
    history = model.fit(x, labels, batch_size=30, epochs=1, class_weight=class_weight, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(losses * weights), rtol=1e-5)
    sample_weight = rng.uniform(size=30).astype("float32")
    history = model.fit(x, labels, batch_size=30, epochs=1, sample_weight=sample_weight, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(losses * sample_weight), rtol=1e-5)
    one_hot = mlfront.utils.to_categorical(labels, 3)
    model.compile(optimizer=mlfront.optimizers.SGD(0.0), loss="categorical_crossentropy")
    history = model.fit(x, one_hot, batch_size=30, epochs=1, class_weight=class_weight, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(losses * weights), rtol=1e-5)


def test_initial_epoch_and_list_inputs(data):
    x, y = data
    model = fresh_model()
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]


def test_generator_with_y_is_an_error(data):
    x, y = data
    model = fresh_model()
    with pytest.raises(ValueError, match="`y` and `sample_weight` must be None when `x` is a generator"):
        model.fit(batches_of(x, y), y, steps_per_epoch=1, verbose=0)


def test_generator_that_runs_out_warns(data):
    x, y = data
    model = fresh_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(((x[:16], y[:16]) for _ in range(2)), steps_per_epoch=3, epochs=1, verbose=0)
    assert any("ran out after 2 of the 3 steps" in str(w.message) for w in caught)


def test_generator_errors_reach_the_caller(data):
    def broken():
        yield data[0][:16], data[1][:16]
        raise RuntimeError("bad batch file")
    with pytest.raises(RuntimeError, match="bad batch file"):
        fresh_model().fit(broken(), steps_per_epoch=3, verbose=0)
