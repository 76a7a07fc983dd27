"""Callbacks: each one's behaviour in `fit` on a tiny Dense model (20 samples), checked exactly."""

import csv
import os
import sys
import types

import numpy as np
import pytest

import mlfront
from mlfront import callbacks, layers


def _data(rng, n=20):
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.1).astype("float32")
    return x, y


def _model(optimizer=None, with_input=True, eager=True):
    """A Dense(1) regression model; steps run eagerly (fast on every engine) unless `eager=False`."""
    stack = ([layers.Input((3,))] if with_input else []) + [layers.Dense(1)]
    model = mlfront.Sequential(stack)
    model.compile(optimizer=optimizer or mlfront.optimizers.SGD(0.05), loss="mse", metrics=["mae"],
                  run_eagerly=eager)
    return model


def _scripted(name, values):
    """A callback that writes `values[epoch]` into the epoch logs as `name` (it must come first in the list)."""
    def write(epoch, logs):
        logs[name] = values[epoch]
    return callbacks.LambdaCallback(on_epoch_end=write)


def _fit(model, data, **kwargs):
    x, y = data
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("shuffle", False)
    return model.fit(x, y, batch_size=kwargs.pop("batch_size", 5), **kwargs)


# ---------------------------------------------------------------------- LambdaCallback, History, stop_training
def test_lambda_callback_hooks_and_history(rng):
    data = _data(rng)
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch, round(logs["loss"], 6) >= 0)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: calls.append("train_end"))
    history = _fit(_model(), data, epochs=2, callbacks=[cb], validation_data=data)
    keys = ["loss", "mae", "val_loss", "val_mae"]
    batches = [("batch", i, True) for i in range(4)]
    assert calls == ["train_begin", ("epoch_begin", 0), *batches, ("epoch_end", 0, keys),
                     ("epoch_begin", 1), *batches, ("epoch_end", 1, keys), "train_end"]
    assert history.epoch == [0, 1] and sorted(history.history) == keys
    with pytest.raises(TypeError, match="unknown hook"):
        callbacks.LambdaCallback(on_epoch_finish=print)


def test_stop_training_in_a_batch_ends_fit(rng):
    seen = []

    def stop(batch, logs):
        seen.append(batch)
        if batch == 1:
            model.stop_training = True
    model = _model()
    history = _fit(model, _data(rng), epochs=5, callbacks=[callbacks.LambdaCallback(on_train_batch_end=stop)])
    assert seen == [0, 1] and len(history.history["loss"]) == 1


def test_progbar_logger_verbose_2_prints_one_line_per_epoch(rng, capsys):
    _fit(_model(), _data(rng), epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert out.count("4/4") == 2 and " - loss: " in out and " - mae: " in out


# ---------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("values, kwargs, epochs_run", [
    # best 0.8 at epoch 1; epochs 2 and 3 do not improve: the wait reaches patience=2 at epoch 3
    ([1.0, 0.8, 0.9, 0.85, 0.5, 0.4], dict(patience=2), 4),
    # patience=0: the first epoch that does not improve stops training
    ([1.0, 0.9, 0.95, 0.1], dict(patience=0), 3),
    # improvements smaller than min_delta=0.1 do not count: 0.95 and 0.9 are within 0.1 of 1.0
    ([1.0, 0.95, 0.91, 0.5], dict(patience=2, min_delta=0.1), 3),
    # epochs before start_from_epoch are ignored
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dict(patience=1, start_from_epoch=3), 5),
    # improvements that do not beat baseline=0.5 do not reset the wait: the first non-improving epoch stops
    ([1.0, 0.9, 0.8, 0.85, 0.9, 0.95], dict(patience=2, baseline=0.5), 4),
    # the same without baseline: the wait restarts at epoch 2, so it reaches 2 at epoch 4
    ([1.0, 0.9, 0.8, 0.85, 0.9, 0.95], dict(patience=2), 5),
    # mode="max" on a rising quantity never stops
    ([0.1, 0.2, 0.3, 0.4], dict(patience=0, mode="max"), 4),
])
def test_early_stopping_stops_at_the_right_epoch(rng, values, kwargs, epochs_run):
    stopper = callbacks.EarlyStopping(monitor="val_loss", **kwargs)
    history = _fit(_model(), _data(rng), epochs=len(values),
                   callbacks=[_scripted("val_loss", values), stopper])
    assert len(history.history["loss"]) == epochs_run
    assert history.history["val_loss"] == values[:epochs_run]
    assert stopper.stopped_epoch == (epochs_run - 1 if epochs_run < len(values) else 0)


def test_early_stopping_auto_mode_uses_the_metric_direction(rng):
    x, y = _data(rng)
    labels = (y > 0).astype("float32")
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    stopper = callbacks.EarlyStopping(monitor="accuracy", patience=1)
    model.fit(x, labels, epochs=3, verbose=0, shuffle=False,
              callbacks=[_scripted("accuracy", [0.5, 0.6, 0.7]), stopper])
    assert stopper._resolved_mode == "max" and stopper.stopped_epoch == 0
    assert callbacks.base.resolve_mode("auto", "val_loss") == "min"
    assert callbacks.base.resolve_mode("auto", "val_auc") == "max"


def test_early_stopping_restores_the_best_epochs_weights(rng):
    weights = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    model = _model()
    values = [1.0, 0.5, 0.7, 0.8, 0.9]
    _fit(model, _data(rng), epochs=5, callbacks=[_scripted("val_loss", values), record,
                                                 callbacks.EarlyStopping(patience=2, restore_best_weights=True)])
    assert len(weights) == 4  # stopped at epoch 3
    for restored, best in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(weights[1][0], weights[3][0])
    # also restored when training ends without stopping (Keras 3)
    weights.clear()
    model = _model()
    _fit(model, _data(rng), epochs=3, callbacks=[_scripted("val_loss", [0.3, 0.2, 0.4]), record,
                                                 callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
    for restored, best in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(restored, best)


# ---------------------------------------------------------------------- learning-rate callbacks
def test_learning_rate_scheduler_sets_the_rate_used_by_the_step(rng):
    weights = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.0 if epoch == 1 else lr * 0.5)
    model = _model(mlfront.optimizers.SGD(0.1), eager=False)  # the compiled step must see the new rate
    history = _fit(model, _data(rng), epochs=3, callbacks=[schedule, record])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.0, 0.0], rtol=1e-6)
    for before, after in zip(weights[0], weights[1]):  # rate 0 in epoch 1: nothing moved
        np.testing.assert_array_equal(before, after)
    assert not np.array_equal(weights[0][0], _model().get_weights()[0])
    # the Keras 1 form schedule(epoch)
    model = _model(mlfront.optimizers.SGD(0.1))
    history = _fit(model, _data(rng), epochs=2, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.01 * (e + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.02], rtol=1e-6)


def test_reduce_lr_on_plateau_reduces_at_the_right_epochs(rng):
    values = [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.94, 0.96, 0.97]
    reducer = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=2, min_lr=0.03,
                                          min_delta=0.0)
    model = _model(mlfront.optimizers.SGD(0.2))
    history = _fit(model, _data(rng), epochs=len(values), callbacks=[_scripted("val_loss", values), reducer])
    # The logged rate is the one used during the epoch (a reduction happens at the epoch's end). Best 0.9 at
    # epoch 1; waits 1, 2 at epochs 2, 3 -> 0.1 and a cooldown of 2: epoch 4 is in cooldown, epoch 5 ends it
    # (counter 0) and waits 1; epoch 6 waits 2 -> 0.05; epoch 7 in cooldown; epoch 8 waits 1.
    expected = [0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    np.testing.assert_allclose(model.optimizer.learning_rate, 0.05, rtol=1e-6)
    # never below min_lr
    model = _model(mlfront.optimizers.SGD(0.05))
    _fit(model, _data(rng), epochs=4, callbacks=[_scripted("val_loss", [1.0, 1.0, 1.0, 1.0]),
                                                 callbacks.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.01)])
    np.testing.assert_allclose(model.optimizer.learning_rate, 0.01, rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.5)


# ---------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_names_files_from_logs_and_they_load(rng, tmp_path):
    weights = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    pattern = str(tmp_path / "ckpt" / "w-{epoch:02d}-{val_loss:.2f}.weights.h5")
    model = _model()
    data = _data(rng)
    history = _fit(model, data, epochs=3, validation_data=data,
                   callbacks=[record, callbacks.ModelCheckpoint(pattern, save_weights_only=True)])
    expected = sorted(f"w-{e + 1:02d}-{v:.2f}.weights.h5" for e, v in enumerate(history.history["val_loss"]))
    assert sorted(os.listdir(tmp_path / "ckpt")) == expected
    for epoch in range(3):
        fresh = _model()
        fresh.load_weights(pattern.format(epoch=epoch + 1, val_loss=history.history["val_loss"][epoch]))
        for loaded, saved in zip(fresh.get_weights(), weights[epoch]):
            np.testing.assert_array_equal(loaded, saved)


def test_model_checkpoint_save_best_only(rng, tmp_path):
    weights = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    model = _model()
    values = [0.5, 0.7, 0.4, 0.4, 0.6]
    _fit(model, _data(rng), epochs=5, callbacks=[
        _scripted("val_acc", values), record,
        callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch}.weights.h5"), monitor="val_acc",
                                  save_best_only=True),  # "acc": higher is better
        callbacks.ModelCheckpoint(str(tmp_path / "low-{epoch}.weights.h5"), monitor="val_acc",
                                  save_best_only=True, mode="min"),
        callbacks.ModelCheckpoint(str(tmp_path / "last.weights.h5"), monitor="val_acc", save_best_only=True,
                                  mode="max", initial_value_threshold=0.6)])
    files = sorted(os.listdir(tmp_path))
    assert files == ["best-1.weights.h5", "best-2.weights.h5", "last.weights.h5", "low-1.weights.h5",
                     "low-3.weights.h5"]
    fresh = _model()
    fresh.load_weights(str(tmp_path / "last.weights.h5"))  # only epoch 2 (0.7) beat 0.6
    np.testing.assert_array_equal(fresh.get_weights()[0], weights[1][0])


def test_model_checkpoint_every_n_batches(rng, tmp_path):
    _fit(_model(), _data(rng), epochs=2, callbacks=[
        callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.weights.h5"), save_freq=3)])
    # 4 batches per epoch: saves after batches 3, 6 (epoch 2, its 2nd batch)
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.weights.h5", "e2-b2.weights.h5"]
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("x.weights.h5", save_freq="often")


def test_model_checkpoint_suffix_says_what_is_written(rng, tmp_path):
    # Keras 2 style: weights under any HDF5 name with save_weights_only=True
    path = str(tmp_path / "weights.{epoch:02d}.hdf5")
    model = _model()
    _fit(model, _data(rng), epochs=1, callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True)])
    restored = _model()
    restored.load_weights(str(tmp_path / "weights.01.hdf5"))
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a .keras path holds the whole model: load_model rebuilds it with its weights
    _fit(model, _data(rng), epochs=1, callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "best.keras"))])
    loaded = mlfront.models.load_model(str(tmp_path / "best.keras"))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a .h5 path (not .weights.h5) holds the whole model in Keras 2's legacy format, as in Keras 2
    _fit(model, _data(rng), epochs=1, callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "best.h5"))])
    loaded = mlfront.models.load_model(str(tmp_path / "best.h5"))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"must end in '\.keras'.*got 'ckpt\.bin'"):
        callbacks.ModelCheckpoint("ckpt.bin")
    with pytest.raises(ValueError, match=r"save_weights_only=True, `filepath` must end in '\.weights\.h5'"):
        callbacks.ModelCheckpoint("ckpt.keras", save_weights_only=True)


# ---------------------------------------------------------------------- CSVLogger
def test_csv_logger_writes_history_and_appends(rng, tmp_path):
    path = str(tmp_path / "log.csv")
    model = _model()
    data = _data(rng)
    first = _fit(model, data, epochs=2, validation_data=data, callbacks=[callbacks.CSVLogger(path)])
    second = _fit(model, data, epochs=1, validation_data=data,
                  callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae"
    rows = [line.replace(";", ",").split(",") for line in lines[1:]]
    assert [row[0] for row in rows] == ["0", "1", "0"]
    history = {k: first.history[k] + second.history[k] for k in first.history}
    for i, row in enumerate(rows):
        for name, cell in zip(["loss", "mae", "val_loss", "val_mae"], row[1:]):
            assert float(cell) == pytest.approx(history[name][i], rel=1e-6)
    # missing values (validation every 2nd epoch) are written as NA
    path = str(tmp_path / "na.csv")
    _fit(model, data, epochs=2, validation_data=data, validation_freq=2, callbacks=[callbacks.CSVLogger(path)])
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae"] and len(rows) == 3


# ---------------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_stops_after_the_bad_batch(rng):
    x, y = _data(rng)
    x[12] = np.nan  # in the third batch of 5
    seen = []
    history = _fit(_model(), (x, y), epochs=3, callbacks=[
        callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch)),
        callbacks.TerminateOnNaN()])
    assert seen == [0, 1, 2] and len(history.history["loss"]) == 1
    with pytest.raises(RuntimeError, match="invalid loss"):
        _fit(_model(), (x, y), epochs=1, callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


# BackupAndRestore: tests/test_backup_restore.py


# ---------------------------------------------------------------------- TensorBoard
def test_tensorboard_writes_epoch_scalars_and_histograms(rng, tmp_path):
    pytest.importorskip("tensorboard")
    # tensorboard reads files through TensorFlow when it is installed; its "notf" marker module makes it use
    # its own plain-file layer, so a torch or jax run does not import TensorFlow just for this test.
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from tensorboard.backend.event_processing import event_accumulator
    data = _data(rng)
    log_dir = str(tmp_path / "tb")
    history = _fit(_model(), data, epochs=3, validation_data=data,
                   callbacks=[callbacks.TensorBoard(log_dir, histogram_freq=2, update_freq=2)])

    def load(kind):
        acc = event_accumulator.EventAccumulator(os.path.join(log_dir, kind),
                                                 size_guidance={"scalars": 0, "histograms": 0})  # keep all
        acc.Reload()
        return acc
    train, validation = load("train"), load("validation")
    for acc, prefix in ((train, ""), (validation, "val_")):
        for name in ("loss", "mae"):
            events = acc.Scalars("epoch_" + name)
            assert [e.step for e in events] == [0, 1, 2]
            np.testing.assert_allclose([e.value for e in events], history.history[prefix + name], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_learning_rate")], [0.05] * 3, rtol=1e-6)
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8, 10, 12]
    assert "epoch_learning_rate" not in validation.Tags()["scalars"]
    histograms = train.Tags()["histograms"]
    assert len(histograms) == 2
    assert [e.step for e in train.Histograms(histograms[0])] == [0, 2]
