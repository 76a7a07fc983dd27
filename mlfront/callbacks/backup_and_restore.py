"""`BackupAndRestore`: resume an interrupted `fit` from its last backup."""

import io
import json
import os
import shutil

import numpy as np

from mlfront.callbacks.base import Callback
from mlfront.saving.atomic import atomic_write

_WEIGHTS = "latest.weights.h5"
_OPTIMIZER = "latest.optimizer.npz"
_METADATA = "training_metadata.json"


class BackupAndRestore(Callback):
    """Back up the training state during `fit`; a later `fit` with the same `backup_dir` resumes from it.

    Each backup holds the model's weights, the optimizer's state (iterations, learning rate, slots) and the
    epoch to resume from. With `save_freq="epoch"` that is the epoch after the last finished one; with an
    integer `save_freq` (a backup every that many batches) an unfinished epoch is run again from its start,
    from the weights of the backup. The backup is deleted when `fit` ends normally (also after
    `EarlyStopping`), unless `delete_checkpoint=False`.

    Data order and random draws (shuffling, dropout) are not part of the backup; with `shuffle=False` and no
    randomness a resumed run reproduces an uninterrupted one.

    Args:
        backup_dir: directory for the backup files (created if needed); use one per training job.
        save_freq: "epoch", an integer number of batches, or False (never back up, only restore).
        double_checkpoint: keep the previous backup too (in `backup_dir/previous`), used when the latest
            one is incomplete.
        delete_checkpoint: delete the backup when training ends normally.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: `backup_dir` must be a directory path, got an empty value.")
        if save_freq not in ("epoch", False) and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"BackupAndRestore: `save_freq` must be 'epoch', a positive integer or False, "
                             f"got {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint, self.delete_checkpoint = save_freq, double_checkpoint, \
            delete_checkpoint
        self._pending = None
        self._current_epoch = 0
        self._batches_since_save = 0

    # ------------------------------------------------------------------ restoring
    def on_train_begin(self, logs=None):
        self._pending = None
        self._restored = 0
        self._batches_since_save = 0
        for directory in (self.backup_dir, os.path.join(self.backup_dir, "previous")):
            metadata = _read_metadata(directory)
            if metadata is not None:
                self.model._initial_epoch = int(metadata["epoch"])  # the trainer starts its epoch loop here
                self._pending = directory
                break
        if self._pending is None:
            return
        if self.model.built:
            self._restore()
        else:
            # The optimizer's own state (iterations, learning rate) exists already: restore it now, so that
            # callbacks setting the learning rate at epoch begin see it; weights and slots follow once the
            # first batch has built the model.
            self._restored = _load_optimizer(self.model.optimizer, self._pending, only_existing=True)

    def on_train_batch_begin(self, batch, logs=None):
        if self._pending is not None:
            self._restore()

    def _restore(self):
        directory, self._pending = self._pending, None
        self.model.load_weights(os.path.join(directory, _WEIGHTS))
        optimizer = self.model.optimizer
        if optimizer._built_for is None:  # create the slots the backup holds values for
            optimizer.build(self.model.trainable_variables)
        _load_optimizer(optimizer, directory, skip=self._restored)

    # ------------------------------------------------------------------ backing up
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not isinstance(self.save_freq, int) or self.save_freq is False:
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._backup(self._current_epoch)  # this epoch is unfinished: resume runs it again

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup(epoch + 1)

    def _backup(self, resume_epoch):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and _read_metadata(self.backup_dir) is not None:
            previous = os.path.join(self.backup_dir, "previous")
            os.makedirs(previous, exist_ok=True)
            for name in (_WEIGHTS, _OPTIMIZER, _METADATA):
                with open(os.path.join(self.backup_dir, name), "rb") as f:
                    atomic_write(os.path.join(previous, name), f.read(), caller="BackupAndRestore")
        self.model.save_weights(os.path.join(self.backup_dir, _WEIGHTS), overwrite=True)
        optimizer = self.model.optimizer
        arrays = {f"{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(os.path.join(self.backup_dir, _OPTIMIZER), buffer.getbuffer(), caller="BackupAndRestore")
        # Written last: a backup counts only once its metadata names it.
        metadata = {"epoch": resume_epoch, "optimizer_variables": len(arrays)}
        atomic_write(os.path.join(self.backup_dir, _METADATA), json.dumps(metadata).encode("utf8"),
                     caller="BackupAndRestore")

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def _read_metadata(directory):
    """The metadata of the complete backup in `directory`, or None (no backup, or a part of it missing)."""
    if not all(os.path.exists(os.path.join(directory, name)) for name in (_WEIGHTS, _OPTIMIZER, _METADATA)):
        return None
    try:
        with open(os.path.join(directory, _METADATA)) as f:
            metadata = json.load(f)
        return metadata if isinstance(metadata.get("epoch"), int) else None
    except (OSError, ValueError, AttributeError):
        return None


def _load_optimizer(optimizer, directory, only_existing=False, skip=0):
    """Assign the stored optimizer state (shapes checked before assigning); returns how many variables were
    assigned. With `only_existing`, only the variables the optimizer has before being built (they come
    first); `skip` leaves out that many leading variables (assigned before)."""
    with np.load(os.path.join(directory, _OPTIMIZER)) as stored:
        values = [stored[key] for key in sorted(stored.files)]
    variables = optimizer.variables
    if only_existing:
        values = values[:len(variables)]
    if len(values) != len(variables) or any(tuple(a.shape) != tuple(v.shape) for a, v in zip(values, variables)):
        raise ValueError(f"BackupAndRestore: the optimizer state in {directory} ({len(values)} arrays) does not "
                         f"match optimizer '{optimizer.name}' ({len(variables)} variables); was the backup "
                         f"made with another model or optimizer?")
    for variable, value in list(zip(variables, values))[skip:]:
        variable.assign(value.astype(variable.dtype))
    return len(values)

