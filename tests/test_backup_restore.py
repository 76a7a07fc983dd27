"""BackupAndRestore: an interrupted `fit` (shuffled, with Dropout) resumes to the weights of an uninterrupted
one, bit for bit; backups are switched atomically, survive a kill, and a damaged one is a clear error."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlfront
from mlfront import callbacks, layers
from mlfront.callbacks import backup_and_restore
from mlfront.training import training_state as state_api

EPOCHS = 3


def _data(n=23):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.3]], "float32")).astype("float32")
    return x, y


def _model(seed, with_input=True, eager=True):
    """Dense-Dropout-Dense, its initial weights drawn from `seed`."""
    mlfront.utils.set_random_seed(seed)
    stack = [layers.Input((4,))] if with_input else []
    model = mlfront.Sequential(stack + [layers.Dense(8, activation="relu"), layers.Dropout(0.5), layers.Dense(1)])
    model.compile(optimizer=mlfront.optimizers.Adam(0.01), loss="mse", run_eagerly=eager)
    return model


def _fit(model, epochs=EPOCHS, **kwargs):
    x, y = _data()
    return model.fit(x, y, batch_size=5, epochs=epochs, shuffle=kwargs.pop("shuffle", True), verbose=0, **kwargs)


class _Interrupt(Exception):
    pass


class _InterruptAt(callbacks.Callback):
    """Raises before batch `batch` of epoch `epoch` (a crash in the middle of training)."""

    def __init__(self, epoch, batch=0):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise _Interrupt()


class _BatchLog(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen, self.epoch = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append((self.epoch, batch))


def _assert_same_weights(model, reference):
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)


def _reference_weights():
    model = _model(seed=1)
    _fit(model)
    return model


# ---------------------------------------------------------------------- exact resumption
@pytest.mark.parametrize("save_freq, first_batches", [("epoch", [(1, 0), (1, 1)]), (2, [(1, 1), (1, 2)])],
                         ids=["epoch", "every-2-batches"])
def test_an_interrupted_shuffled_run_with_dropout_resumes_bit_for_bit(tmp_path, save_freq, first_batches):
    reference = _reference_weights()
    backup = str(tmp_path / "backup")
    with pytest.raises(_Interrupt):  # 5 batches an epoch: killed before batch 2 of epoch 1
        _fit(_model(seed=1), callbacks=[callbacks.BackupAndRestore(backup, save_freq=save_freq),
                                        _InterruptAt(1, 2)])
    resumed = _model(seed=99)  # a new process: other initial weights, another random key
    log = _BatchLog()
    history = _fit(resumed, callbacks=[callbacks.BackupAndRestore(backup, save_freq=save_freq), log])
    # "epoch": epoch 1 runs again from its start; every 2 batches: the backup after batch 0 of epoch 1
    # (the 6th batch) resumes at batch 1
    assert log.seen[:2] == first_batches
    assert history.epoch == [1, 2]
    assert int(resumed.optimizer.iterations.numpy()) == EPOCHS * 5
    _assert_same_weights(resumed, reference)
    assert not os.path.exists(backup)  # deleted after the finished fit


def test_resuming_an_unbuilt_model_restores_weights_at_the_first_batch(tmp_path):
    reference = _model(seed=1, with_input=False)
    _fit(reference)
    backup = str(tmp_path / "backup")
    with pytest.raises(_Interrupt):
        _fit(_model(seed=1, with_input=False), callbacks=[callbacks.BackupAndRestore(backup), _InterruptAt(2)])
    resumed = _model(seed=5, with_input=False)
    assert _fit(resumed, callbacks=[callbacks.BackupAndRestore(backup)]).epoch == [2]
    _assert_same_weights(resumed, reference)


def test_the_learning_rate_set_by_a_callback_is_restored(tmp_path):
    backup = str(tmp_path / "b")
    model = _model(seed=1)

    def lower(epoch, logs):
        model.optimizer.learning_rate = 0.0025
    with pytest.raises(_Interrupt):
        _fit(model, callbacks=[callbacks.LambdaCallback(on_epoch_end=lower), callbacks.BackupAndRestore(backup),
                               _InterruptAt(1)])
    resumed = _model(seed=2, with_input=False)
    rates = []
    seen = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: rates.append(resumed.optimizer.learning_rate))
    _fit(resumed, epochs=2, callbacks=[callbacks.BackupAndRestore(backup), seen])
    np.testing.assert_allclose(rates, [0.0025], rtol=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == 10


# ---------------------------------------------------------------------- the backup directory
def _backups(backup):
    return sorted(e for e in os.listdir(backup) if e.startswith("backup-"))


def _pointer(backup):
    with open(os.path.join(backup, "latest")) as f:
        return json.load(f)["checkpoints"]


def test_one_complete_directory_per_backup_and_the_previous_one_with_double_checkpoint(tmp_path):
    single, double = str(tmp_path / "single"), str(tmp_path / "double")
    _fit(_model(seed=1), callbacks=[callbacks.BackupAndRestore(single, delete_checkpoint=False),
                                    callbacks.BackupAndRestore(double, double_checkpoint=True,
                                                               delete_checkpoint=False)])
    assert _backups(single) == ["backup-000003"] and _pointer(single) == ["backup-000003"]
    assert sorted(os.listdir(os.path.join(single, "backup-000003"))) == [
        "model.weights.h5", "optimizer.npz", "training_metadata.json"]
    assert _pointer(double) == ["backup-000003", "backup-000002"] and _backups(double) == [
        "backup-000002", "backup-000003"]
    with open(os.path.join(single, "backup-000003", "training_metadata.json")) as f:
        state = json.load(f)["training_state"]
    assert (state["epoch"], state["step"]) == (EPOCHS, 0) and isinstance(state["shuffle_seed"], int)


def test_a_failed_backup_leaves_the_previous_one_in_use(tmp_path, monkeypatch):
    backup = str(tmp_path / "backup")
    writes = []
    real_write = backup_and_restore.atomic_write

    def failing_write(path, data, caller="atomic_write"):
        writes.append(path)
        if len(writes) == 5:  # 3 writes a backup; the 2nd one's optimizer state is written, its metadata fails
            raise OSError(28, "No space left on device")
        return real_write(path, data, caller)
    monkeypatch.setattr(backup_and_restore, "atomic_write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        _fit(_model(seed=1), callbacks=[callbacks.BackupAndRestore(backup)])
    monkeypatch.undo()
    assert sorted(os.listdir(backup)) == ["backup-000001", "latest"]  # no half-written directory remains
    resumed = _model(seed=3)
    assert _fit(resumed, callbacks=[callbacks.BackupAndRestore(backup)]).epoch == [1, 2]


_KILLED_RUN = """
import os, signal, sys
sys.path[:0] = [{tests!r}]
import test_backup_restore as t
from mlfront.callbacks import backup_and_restore

model = t._model(seed=1)
model.optimizer.build(model.trainable_variables)
backup = backup_and_restore.BackupAndRestore({backup!r})
backup.set_model(model)
model._fit_position = (1, 0)  # as after epoch 0 of a fit
backup._backup()
real, count = backup_and_restore.atomic_write, []

def write(path, data, caller="atomic_write"):
    count.append(path)
    if len(count) == 2:  # the 2nd backup: killed after its weights and optimizer state, before its metadata
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data, caller)
backup_and_restore.atomic_write = write
model.set_weights([w + 1 for w in model.get_weights()])
model._fit_position = (2, 0)
backup._backup()
"""


class _WeightsAtStart(callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self, "weights"):
            self.weights = self.model.get_weights()


def test_a_killed_backup_leaves_the_previous_one_loadable_and_its_leftovers_are_removed(tmp_path):
    backup = str(tmp_path / "backup")
    script = _KILLED_RUN.format(tests=os.path.dirname(__file__), backup=backup)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=120,
                            env=dict(os.environ))
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    leftovers = [e for e in os.listdir(backup) if ".mlfront-tmp-" in e]
    assert leftovers and _pointer(backup) == ["backup-000001"]
    log, start = _BatchLog(), _WeightsAtStart()
    _fit(_model(seed=3), epochs=2, callbacks=[callbacks.BackupAndRestore(backup, delete_checkpoint=False), log,
                                              start])
    assert log.seen[0] == (1, 0)  # resumed from the complete first backup, with its weights
    for got, want in zip(start.weights, _model(seed=1).get_weights()):
        np.testing.assert_array_equal(got, want)
    assert not [e for e in os.listdir(backup) if ".mlfront-tmp-" in e]  # removed by the next backup
    assert _pointer(backup) == ["backup-000002"] and _backups(backup) == ["backup-000002"]


# ---------------------------------------------------------------------- damaged backups
def _interrupted_backup(tmp_path, **kwargs):
    backup = str(tmp_path / "backup")
    with pytest.raises(_Interrupt):
        _fit(_model(seed=1), callbacks=[callbacks.BackupAndRestore(backup, **kwargs), _InterruptAt(2)])
    return backup


def test_corrupt_metadata_is_an_error_naming_the_file(tmp_path):
    backup = _interrupted_backup(tmp_path)
    path = os.path.join(backup, "backup-000002", "training_metadata.json")
    with open(path, "w") as f:
        f.write('{"format": "mlfront.BackupAndRestore", "version": 1, "optimizer_variables": 3, "training_st')
    with pytest.raises(ValueError, match=f"{path}.*not valid JSON"):
        _fit(_model(seed=3), callbacks=[callbacks.BackupAndRestore(backup)])
    with open(path, "w") as f:
        json.dump({"format": "mlfront.BackupAndRestore", "version": 1, "optimizer_variables": 7,
                   "training_state": {"epoch": "two", "step": 0}}, f)
    with pytest.raises(ValueError, match=f"{path}.*state\\['epoch'\\]"):
        _fit(_model(seed=3), callbacks=[callbacks.BackupAndRestore(backup)])
    with open(os.path.join(backup, "latest"), "w") as f:
        f.write('{"checkpoints": ["../../etc"]}')
    with pytest.raises(ValueError, match="latest is corrupt"):
        _fit(_model(seed=3), callbacks=[callbacks.BackupAndRestore(backup)])


def test_a_damaged_optimizer_state_is_refused_before_anything_is_assigned(tmp_path):
    backup = _interrupted_backup(tmp_path)
    path = os.path.join(backup, "backup-000002", "optimizer.npz")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    model = _model(seed=3)
    before = model.get_weights()
    with pytest.raises(ValueError, match="optimizer.npz"):
        _fit(model, callbacks=[callbacks.BackupAndRestore(backup)])
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    backup = _interrupted_backup(tmp_path, double_checkpoint=True)
    assert _pointer(backup) == ["backup-000002", "backup-000001"]
    with open(os.path.join(backup, "backup-000002", "training_metadata.json"), "w") as f:
        f.write("garbage")
    log = _BatchLog()
    with pytest.warns(UserWarning, match="previous one"):
        _fit(_model(seed=3), callbacks=[callbacks.BackupAndRestore(backup, double_checkpoint=True), log])
    assert log.seen[0] == (1, 0)


# ---------------------------------------------------------------------- the training-state API
def test_training_state_is_json_and_restores_the_random_key():
    model = _model(seed=1)
    _fit(model, epochs=1)
    state = json.loads(json.dumps(state_api.training_state(model)))
    assert (state["epoch"], state["step"]) == (1, 0)
    other = _model(seed=2)
    state_api.restore_training_state(other, state)
    assert state_api.training_state(other)["rng_key"] == state["rng_key"]
    assert other._resume is None  # only resume=True moves the next fit
    # the restored key drives the Dropout masks: same weights and key, same step; another key, another step
    x, y = _data()
    twins = [_model(seed=4) for _ in range(3)]
    for twin in twins[:2]:
        state_api.restore_training_state(twin, state)
    for twin in twins:
        twin.train_on_batch(x, y)
    np.testing.assert_array_equal(twins[0].get_weights()[0], twins[1].get_weights()[0])
    assert not np.array_equal(twins[0].get_weights()[0], twins[2].get_weights()[0])


@pytest.mark.parametrize("state, field", [
    ([], "`state`"), ({"epoch": -1, "step": 0}, "epoch"), ({"epoch": 0, "step": True}, "step"),
    ({"epoch": 0, "step": 0, "shuffle_seed": "s"}, "shuffle_seed"),
    ({"epoch": 0, "step": 0, "rng_key": {"dtype": "float32", "shape": [2], "values": [1, 2]}}, "dtype"),
    ({"epoch": 0, "step": 0, "rng_key": {"dtype": "uint32", "shape": [3], "values": [1, 2]}}, "rng_key"),
    ({"epoch": 0, "step": 0, "rng_key": {"dtype": "uint32", "shape": [1], "values": [-1]}}, "fit in uint32"),
])
def test_a_malformed_training_state_is_refused_naming_the_field(state, field):
    model = _model(seed=1)
    with pytest.raises(ValueError, match=field):
        state_api.restore_training_state(model, state)


def test_epoch_orders_depend_on_seed_and_epoch_only():
    first = mlfront.random.epoch_permutation(10, 7, 3)
    mlfront.random.numpy_generator().normal(size=5)  # other draws in between change nothing
    np.testing.assert_array_equal(first, mlfront.random.epoch_permutation(10, 7, 3))
    assert not np.array_equal(first, mlfront.random.epoch_permutation(10, 7, 4))
    assert sorted(first) == list(range(10))


class _Indexed(mlfront.utils.PyDataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        return np.full((2, 4), index, "float32"), np.zeros((2, 1), "float32")


@pytest.mark.parametrize("source", ["arrays", "pydataset"])
def test_a_resumed_epoch_sees_the_rest_of_the_same_order(source):
    from mlfront.training import data

    def first_values(skip):
        if source == "arrays":
            adapter = data.adapt(np.arange(12, dtype="float32").reshape(12, 1), batch_size=2, shuffle=True)
        else:
            adapter = data.adapt(_Indexed(), shuffle=True)
        adapter.shuffle_seed, adapter.epoch = 11, 2
        return [float(np.asarray(data.as_numpy(x)).ravel()[0]) for x, _, _ in adapter.batches(skip)]
    full = first_values(0)
    assert first_values(2) == full[2:] and len(full) == 6 and full != sorted(full)
