"""Out-of-range fit / evaluate / predict arguments are clear errors (issue 10, item 3), and a fit stopped by
Ctrl-C or by an error in a callback, the data or the step closes its files and loader threads, leaves the model
usable and re-raises the original error (item 5)."""

import os
import threading
import time

import numpy as np
import pytest

import mlfront
from mlfront import callbacks, layers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 4)).astype("float32"), rng.integers(0, 3, size=40)


def _model():
    mlfront.utils.set_random_seed(1)
    model = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# ---------------------------------------------------------------------- item 3: argument checks
@pytest.mark.parametrize("arguments, name", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": -3}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"epochs": -1}, "epochs"), ({"epochs": None}, "epochs"), ({"epochs": 1.5}, "epochs"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"), ({"validation_split": 1.0}, "validation_split"),
    ({"validation_split": -0.1}, "validation_split"), ({"validation_split": "0.2"}, "validation_split"),
    ({"validation_steps": 0}, "validation_steps"), ({"initial_epoch": -1}, "initial_epoch"),
    ({"initial_epoch": 3, "epochs": 2}, "initial_epoch"), ({"validation_batch_size": 0}, "validation_batch_size"),
])
def test_out_of_range_fit_arguments(data, arguments, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        _model().fit(*data, verbose=0, **{"epochs": 1, **arguments})


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize("arguments, name", [({"batch_size": 0}, "batch_size"), ({"steps": 0}, "steps")])
def test_out_of_range_evaluate_and_predict_arguments(data, method, arguments, name):
    model = _model()
    call = getattr(model, method)
    with pytest.raises(ValueError, match=f"{method}: `{name}`"):
        call(*(data if method == "evaluate" else data[:1]), verbose=0, **arguments)


def test_zero_epochs_trains_nothing(data):
    model = _model()
    before = model.get_weights()
    assert model.fit(*data, epochs=0, verbose=0).history == {}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("class_weight, match", [
    ({0: 1.0, 1: 2.0}, r"classes \[2\] are in the targets"), ({"a": 1.0, 0: 1, 1: 1, 2: 1}, "class indices"),
    ({0: 1.0, 1: float("nan"), 2: 1.0}, "finite numbers"), ([1.0, 2.0, 3.0], "must be a dict"),
    ({-1: 1.0, 0: 1, 1: 1, 2: 1}, "class indices"),
])
def test_bad_class_weight(data, class_weight, match):
    with pytest.raises(ValueError, match=match):
        _model().fit(*data, class_weight=class_weight, verbose=0)


def test_sample_weight_of_the_wrong_length(data):
    x, y = data
    with pytest.raises(ValueError, match="sample_weight sizes: \\[39\\]"):
        _model().fit(x, y, sample_weight=np.ones(39), verbose=0)


# ---------------------------------------------------------------------- item 5: interrupts and failures
class StopAt(callbacks.Callback):
    def __init__(self, batch, error):
        super().__init__()
        self.batch, self.error = batch, error

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            raise self.error


class Batches(mlfront.utils.PyDataset):
    """Batches loaded on worker threads; one index raises, like a corrupt file would."""

    def __init__(self, x, y, failing=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.failing = x, y, failing

    def __len__(self):
        return 5

    def __getitem__(self, index):
        if index == self.failing:
            raise OSError(f"cannot read batch {index}")
        return self.x[index * 8:(index + 1) * 8], self.y[index * 8:(index + 1) * 8]


def _loader_threads_settle(baseline, timeout=5.0):
    deadline = time.time() + timeout
    while threading.active_count() > baseline and time.time() < deadline:
        time.sleep(0.05)
    return threading.active_count()


@pytest.mark.parametrize("cause", ["ctrl_c", "callback", "data", "step"])
def test_a_failing_fit_closes_its_files_and_threads_and_the_model_stays_usable(data, tmp_path, cause):
    x, y = data
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)  # the compiled step exists: a failure must not break it
    baseline = threading.active_count()
    logger = callbacks.CSVLogger(str(tmp_path / "log.csv"))
    board = callbacks.TensorBoard(str(tmp_path / "tb"))
    backup = callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=1)
    extra, expected = [], None
    if cause == "ctrl_c":
        extra, expected = [StopAt(2, KeyboardInterrupt())], KeyboardInterrupt
    elif cause == "callback":
        extra, expected = [StopAt(1, RuntimeError("callback failed"))], RuntimeError
    elif cause == "data":
        expected = OSError
    else:
        def broken_loss(y_true, y_pred):
            raise ArithmeticError("loss failed")
        model.compile(optimizer="sgd", loss=broken_loss)
        expected = ArithmeticError
    source = Batches(x, y, failing=3 if cause == "data" else None, workers=2)
    with pytest.raises(expected):
        model.fit(source, epochs=3, verbose=0, callbacks=[backup, logger, board] + extra)
    assert logger.file is None  # closed, rows so far kept
    assert board._writers == {}
    assert _loader_threads_settle(baseline) <= baseline
    if cause in ("ctrl_c", "callback"):
        assert os.path.isdir(tmp_path / "backup")  # not a finished run: the backup stays for the resume
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


def test_an_error_in_release_resources_does_not_hide_the_original_error(data):
    class BadClose(callbacks.Callback):
        def release_resources(self):
            raise OSError("disk gone")

    with pytest.warns(UserWarning, match="release_resources failed"):
        with pytest.raises(KeyboardInterrupt):
            _model().fit(*data, verbose=0, callbacks=[BadClose(), StopAt(0, KeyboardInterrupt())])
