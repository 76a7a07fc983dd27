"""What one training step does, and what fit does around it: the per-output losses are computed once per
step, the validation data is adapted once per fit and validated with the fit's callbacks (their on_test_*
hooks), batch logs are a lazy mapping, and the three single-batch methods share one path (and its checks)."""

import collections.abc
import json

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.training import data as _data


@pytest.fixture
def data(rng):
    x = rng.normal(size=(24, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def two_outputs(calls):
    inputs = layers.Input((3,))
    model = mlfront.Model(inputs, [layers.Dense(1, name="a")(inputs), layers.Dense(1, name="b")(inputs)])

    def counted_mse(y_true, y_pred):
        calls.append(1)
        return mlfront.ops.mean(mlfront.ops.square(y_true - y_pred), axis=-1)
    model.compile("sgd", [counted_mse, "mae"])
    return model


def test_each_output_loss_is_computed_once_per_step(data):
    x, y = data
    calls = []
    model = two_outputs(calls)
    history = model.fit(x, [y, y], batch_size=24, epochs=1, verbose=0)  # one step (traced once where it traces)
    assert len(calls) == 1
    assert set(history.history) == {"loss", "a_loss", "b_loss"}
    calls.clear()
    logs = model.evaluate(x, [y, y], batch_size=24, verbose=0, return_dict=True)
    assert len(calls) == 1
    np.testing.assert_allclose(logs["loss"], logs["a_loss"] + logs["b_loss"], rtol=1e-5)


class CustomLoss(mlfront.Model):
    """A subclass with its own compute_loss: fit and evaluate use it."""

    def __init__(self):
        super().__init__()
        self.out = layers.Dense(1, name="out")

    def call(self, inputs):
        return self.out(inputs)

    def compute_loss(self, x, y, y_pred, sample_weight=None):
        return 10.0 * mlfront.ops.mean(mlfront.ops.square(y - y_pred))


def test_a_subclass_compute_loss_is_used(data):
    x, y = data
    model = CustomLoss()
    model.compile("sgd", "mse", metrics=["mse"])
    logs = model.evaluate(x, y, batch_size=24, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 10 * logs["mse"], rtol=1e-5)


class Recorder(mlfront.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_batch", batch, sorted(logs)))

    def on_test_end(self, logs=None):
        self.events.append(("test_end", sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch", epoch, sorted(logs)))


def test_validation_runs_with_the_fit_callbacks_and_is_adapted_once(data, monkeypatch):
    x, y = data
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    adapted = []
    adapt = _data.adapt
    monkeypatch.setattr(_data, "adapt", lambda *a, **k: adapted.append(1) or adapt(*a, **k))
    recorder = Recorder()
    model.fit(x, y, batch_size=8, epochs=3, validation_data=(x[:12], y[:12]), validation_batch_size=6,
              callbacks=[recorder], verbose=0)
    assert len(adapted) == 2  # the training data and the validation data, once each for 3 epochs
    epoch_events = [["test_begin", ("test_batch", 0, ["loss"]), ("test_batch", 1, ["loss"]), ("test_end", ["loss"]),
                     ("epoch", epoch, ["loss", "val_loss"])] for epoch in range(3)]
    assert recorder.events == [event for events in epoch_events for event in events]


def test_batch_logs_are_a_lazy_mapping(data):
    x, y = data
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    seen = []

    def look(batch, logs):
        assert isinstance(logs, collections.abc.Mapping)
        copied = {**logs}
        assert copied == dict(logs) == logs.copy() and set(copied) == {"loss", "mae"}
        logs["extra"] = 1.0  # a callback may add entries, as to Keras's dict
        assert json.loads(json.dumps(logs.copy()))["extra"] == 1.0
        seen.append(copied["loss"])
    model.fit(x, y, batch_size=12, epochs=1, verbose=0,
              callbacks=[mlfront.callbacks.LambdaCallback(on_train_batch_end=look)])
    assert len(seen) == 2 and all(np.isfinite(seen))


def test_single_batch_methods_share_the_checks(data):
    x, y = data
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(1, name="out")])
    model.compile("sgd", "mse")
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, verbose=0), rtol=1e-6)
    for method, arguments in ((model.predict_on_batch, (x[:, :2],)), (model.test_on_batch, (x[:, :2], y)),
                              (model.train_on_batch, (x[:, :2], y))):
        with pytest.raises(ValueError, match=f"{method.__name__}: input 0 of layer 'out' is incompatible"):
            method(*arguments)
