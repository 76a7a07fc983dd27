"""`BackupAndRestore`: resume an interrupted `fit` exactly where its last backup left it.

Layout of `backup_dir` (one training job per directory):

    latest                      JSON {"checkpoints": ["backup-000007", ...]}, newest first: the switch
    backup-000007/              one complete backup, created whole (`atomic_directory`)
        model.weights.h5        the model's weights (`Model.save_weights`)
        optimizer.npz           the optimizer's variables (iterations, learning rate, slots), in order
        training_metadata.json  the trainer's state (`training_state`): position, shuffle seed, random key

A backup directory is filled under a temporary name, fsynced and renamed; then `latest` is replaced
atomically to name it, and older backups are deleted. A process killed at any moment leaves `latest`
naming a complete backup; what it left half-written is removed by the next backup.
"""

import io
import json
import os
import re
import shutil
import stat
import warnings
import zipfile

import numpy as np

from mlfront.callbacks.base import Callback
from mlfront.distribution import is_chief
from mlfront.saving.atomic import atomic_directory, atomic_write, remove_stale_temporaries_in
from mlfront.training import training_state as _state

_POINTER = "latest"
_WEIGHTS = "model.weights.h5"
_OPTIMIZER = "optimizer.npz"
_METADATA = "training_metadata.json"
_FORMAT = "mlfront.BackupAndRestore"
_NAME = re.compile(r"backup-(\d{6,12})\Z")
_MAX_JSON_BYTES = 1 << 16
_CALLER = "BackupAndRestore"


class BackupAndRestore(Callback):
    """Back up the training state during `fit`; a later `fit` with the same `backup_dir` resumes from it.

    A backup holds the model's weights, the optimizer's state (iterations, learning rate, slots), the
    position reached (epoch and batch), the shuffle seed of the run (each epoch's sample order is drawn
    from it and the epoch number) and the trainer's random key (Dropout). A resumed `fit` therefore ends
    with the same weights as an uninterrupted one, also with `shuffle=True` and Dropout. With an integer
    `save_freq`, the resumed run skips the batches of the interrupted epoch the backup had completed.

    The backup is deleted when `fit` ends normally (also after `EarlyStopping`), unless
    `delete_checkpoint=False`. Not part of the backup: the metric values of an epoch interrupted in the
    middle (its logs cover the batches run after resuming), other callbacks' state, and the position
    inside data sources that keep their own random state (generators, `tf.data` shuffling, Keras 2 image
    iterators).

    Args:
        backup_dir: directory for the backups (created if needed); use one per training job.
        save_freq: "epoch" (a backup at the end of each epoch), an integer (a backup every that many
            batches) or False (never back up, only restore).
        double_checkpoint: keep the previous backup too; when the latest one cannot be read (a damaged
            disk), training resumes from the previous one.
        delete_checkpoint: delete `backup_dir` when training ends normally.

    Example:
        >>> backup = mlfront.callbacks.BackupAndRestore("/tmp/job-42")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # killed at epoch 4
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # runs epochs 4 to 9
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: `backup_dir` must be a directory path, got an empty value.")
        if save_freq not in ("epoch", False) and not (isinstance(save_freq, int) and not isinstance(
                save_freq, bool) and save_freq > 0):
            raise ValueError(f"BackupAndRestore: `save_freq` must be 'epoch', a positive integer or False, "
                             f"got {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint, self.delete_checkpoint = save_freq, bool(double_checkpoint), \
            bool(delete_checkpoint)
        self._pending = None
        self._restored = 0
        self._batches_since_save = 0

    # ------------------------------------------------------------------ restoring
    def on_train_begin(self, logs=None):
        self._pending = None
        self._restored = 0
        self._batches_since_save = 0
        names = _read_pointer(self.backup_dir)
        if not names:
            return
        candidates = names if self.double_checkpoint else names[:1]
        for index, name in enumerate(candidates):
            directory = os.path.join(self.backup_dir, name)
            try:
                metadata = _read_metadata(directory)
                self._pending = directory, metadata
                if self.model.built:
                    self._restore()
                else:
                    # The optimizer's own state (iterations, learning rate) exists already: restore it now,
                    # so that callbacks setting the learning rate at epoch begin see it; weights and slots
                    # follow once the first batch has built the model.
                    values = _read_optimizer(self.model.optimizer, directory, metadata, only_existing=True)
                    self._restored = _assign(self.model.optimizer.variables, values)
            except (OSError, ValueError) as error:
                if index + 1 == len(candidates):
                    raise
                warnings.warn(f"BackupAndRestore: the latest backup cannot be restored ({error}); resuming from "
                              f"the previous one.", stacklevel=2)
                continue
            _state.restore_training_state(self.model, metadata["training_state"], resume=True)
            return

    def on_train_batch_begin(self, batch, logs=None):
        if self._pending is not None:
            self._restore()

    def _restore(self):
        (directory, metadata), self._pending = self._pending, None
        optimizer = self.model.optimizer
        if optimizer._built_for is None:  # create the slots the backup holds values for
            optimizer.build(self.model.trainable_variables)
        values = _read_optimizer(optimizer, directory, metadata)  # checked before the weights change
        self.model.load_weights(os.path.join(directory, _WEIGHTS))
        _assign(optimizer.variables[self._restored:], values[self._restored:])

    # ------------------------------------------------------------------ backing up
    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq in ("epoch", False):
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._backup()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup()

    def _backup(self):
        """Write one complete backup directory, then switch `latest` to it and delete older ones (process 0 of
        a distributed job; every process restores from it)."""
        if not is_chief():
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        remove_stale_temporaries_in(self.backup_dir)
        try:
            kept = _read_pointer(self.backup_dir)[:1] if self.double_checkpoint else []
        except ValueError:
            kept = []  # an unreadable pointer is replaced below
        numbers = [int(m.group(1)) for m in map(_NAME.match, os.listdir(self.backup_dir)) if m]
        name = f"backup-{max(numbers, default=0) + 1:06d}"
        optimizer_values = [np.asarray(v.numpy()) for v in self.model.optimizer.variables]
        metadata = {"format": _FORMAT, "version": 1, "optimizer_variables": len(optimizer_values),
                    "training_state": _state.training_state(self.model)}
        with atomic_directory(os.path.join(self.backup_dir, name), caller=_CALLER) as folder:
            self.model.save_weights(os.path.join(folder, _WEIGHTS), overwrite=True)
            buffer = io.BytesIO()
            np.savez(buffer, **{f"{i:05d}": value for i, value in enumerate(optimizer_values)})
            atomic_write(os.path.join(folder, _OPTIMIZER), buffer.getbuffer(), caller=_CALLER)
            atomic_write(os.path.join(folder, _METADATA), json.dumps(metadata).encode("utf8"), caller=_CALLER)
        keep = [name] + kept
        atomic_write(os.path.join(self.backup_dir, _POINTER), json.dumps({"checkpoints": keep}).encode("utf8"),
                     caller=_CALLER)
        for entry in os.listdir(self.backup_dir):
            if _NAME.match(entry) and entry not in keep:
                shutil.rmtree(os.path.join(self.backup_dir, entry), ignore_errors=True)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir, ignore_errors=True)


# ---------------------------------------------------------------------- reading a backup defensively
def _read_json(path, what):
    """The JSON value in the small regular file `path`; a clear ValueError naming it otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ValueError(f"BackupAndRestore: the backup is incomplete: {path} ({what}) is missing.") from None
    except OSError as error:
        raise ValueError(f"BackupAndRestore: cannot open {path} ({what}): {error.strerror}.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"BackupAndRestore: {path} ({what}) is not a regular file.")
        if info.st_size > _MAX_JSON_BYTES:
            raise ValueError(f"BackupAndRestore: {path} ({what}) has {info.st_size} bytes; a backup's JSON files "
                             f"have at most {_MAX_JSON_BYTES}.")
        data = f.read(_MAX_JSON_BYTES + 1)
    try:
        return json.loads(data.decode("utf8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"BackupAndRestore: {path} ({what}) is corrupt: not valid JSON ({error}).") from None


def _read_pointer(backup_dir):
    """The backup names `latest` lists (newest first); [] when there is no backup yet."""
    path = os.path.join(backup_dir, _POINTER)
    if not os.path.lexists(path):
        return []
    pointer = _read_json(path, "the list of backups")
    names = pointer.get("checkpoints") if isinstance(pointer, dict) else None
    if not (isinstance(names, list) and 1 <= len(names) <= 2 and all(
            isinstance(n, str) and _NAME.match(n) for n in names)):
        raise ValueError(f"BackupAndRestore: {path} is corrupt: expected {{\"checkpoints\": [1 or 2 names like "
                         f"'backup-000001']}}, got {pointer!r:.200}.")
    return names


def _read_metadata(directory):
    """The checked metadata of the backup in `directory`."""
    path = os.path.join(directory, _METADATA)
    metadata = _read_json(path, "the training metadata")
    if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT or metadata.get("version") != 1:
        raise ValueError(f"BackupAndRestore: {path} is not the metadata of an mlfront backup (format "
                         f"{_FORMAT!r}, version 1).")
    count = metadata.get("optimizer_variables")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"BackupAndRestore: {path} is corrupt: 'optimizer_variables' should be a non-negative "
                         f"integer, got {count!r}.")
    try:
        _state.check_training_state(metadata.get("training_state"))
    except ValueError as error:
        raise ValueError(f"BackupAndRestore: {path} is corrupt: {error}") from None
    return metadata


def _read_optimizer(optimizer, directory, metadata, only_existing=False):
    """The stored optimizer state, every array's shape and dtype checked against the optimizer's variables.

    With `only_existing`, only the variables the optimizer has before being built (they come first).
    """
    path = os.path.join(directory, _OPTIMIZER)
    variables = optimizer.variables
    count = metadata["optimizer_variables"]
    wanted = len(variables) if only_existing else count
    if (len(variables) > count) if only_existing else (count != len(variables)):
        raise ValueError(f"BackupAndRestore: the optimizer state in {path} ({count} arrays) does not match "
                         f"optimizer '{optimizer.name}' ({len(variables)} variables); was the backup made with "
                         f"another model or optimizer?")
    return _read_arrays(path, [tuple(v.shape) for v in variables[:wanted]], count)


def _assign(variables, values):
    """Assign `values` to the first len(values) `variables`; returns how many were assigned."""
    for variable, value in zip(variables, values):
        variable.assign(value.astype(variable.dtype))
    return len(values)


def _read_arrays(path, shapes, count):
    """The first len(shapes) arrays of the `.npz` file `path` (which must hold `count`), each checked
    against its expected shape and for a plain numeric dtype before its data is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
            if names != [f"{i:05d}.npy" for i in range(count)]:
                raise ValueError(f"BackupAndRestore: {path} is corrupt: expected {count} arrays, found members "
                                 f"{names[:5]}{'...' if len(names) > 5 else ''}.")
            return [_read_member(archive, name, shape, path) for name, shape in zip(names, shapes)]
    except FileNotFoundError:
        raise ValueError(f"BackupAndRestore: the backup is incomplete: {path} is missing.") from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"BackupAndRestore: {path} is corrupt ({error}).") from None


def _read_member(archive, name, shape, path):
    with archive.open(name) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            stored_shape, fortran, dtype = read_header(member)
        except ValueError as error:
            raise ValueError(f"BackupAndRestore: {path} is corrupt: array {name} has no valid header "
                             f"({error}).") from None
        if dtype.kind not in "biuf" or tuple(stored_shape) != shape:
            raise ValueError(f"BackupAndRestore: the optimizer state in {path} does not match the optimizer: "
                             f"array {name} has shape {stored_shape} and dtype {dtype}, expected shape {shape} "
                             f"of numbers.")
        size = int(np.prod(stored_shape)) * dtype.itemsize
        data = member.read(size + 1)
    if len(data) != size:
        raise ValueError(f"BackupAndRestore: {path} is corrupt: array {name} holds {len(data)} bytes, its header "
                         f"declares {size}.")
    return np.frombuffer(data, dtype).reshape(stored_shape, order="F" if fortran else "C")
