"""`ModelCheckpoint`: save the model (or its weights) during training, every epoch or every few batches."""

import os

from mlfront.callbacks.base import Callback, monitored_value, resolve_mode


class ModelCheckpoint(Callback):
    """Save the model (or its weights) at the end of every epoch, or every `save_freq` batches.

    `filepath` may hold format fields filled from the epoch number (1-based, as Keras prints it), the
    batch index (with an integer `save_freq`) and the logs, e.g. `"w-{epoch:02d}-{val_loss:.2f}.weights.h5"`.

    What is written: the weights, in mlfront's HDF5 weights format (`model.save_weights`), when
    `save_weights_only=True` (the path must then end in ".h5" or ".hdf5", as Keras 2 wrote them, e.g.
    ".weights.h5") or when `filepath` ends in ".weights.h5". Reload with `model.load_weights(path)`.
    The whole model (`model.save`) when `filepath` ends in ".keras" and `save_weights_only=False`; reload it
    with `mlfront.models.load_model(path)`; in Keras 2's legacy HDF5 format when `filepath` ends in ".h5" or
    ".hdf5" (but not ".weights.h5") and `save_weights_only=False`, as Keras 2 does.

    Args:
        filepath: path, optionally with format fields (see above). Missing directories are created.
        monitor: the logged quantity compared when `save_best_only` (e.g. "val_loss", "val_accuracy").
        verbose: 1 prints a line on each save.
        save_best_only: save only when `monitor` improved on the best value seen so far.
        save_weights_only: save only the weights (see above).
        mode: "auto", "min" or "max": whether lower or higher `monitor` is better ("auto" asks the metric).
        save_freq: "epoch", or an integer number of batches between saves.
        initial_value_threshold: with `save_best_only`, the value `monitor` must beat for the first save.
    """

    chief_only = True  # in a distributed job process 0 writes

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: `save_freq` must be 'epoch' or a positive integer, "
                             f"got {save_freq!r}.")
        self.filepath = os.fspath(filepath)
        _check_suffix(self.filepath, save_weights_only)
        self.monitor, self.verbose, self.mode = monitor, verbose, mode
        self.save_best_only, self.save_weights_only, self.save_freq = save_best_only, save_weights_only, save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = None
        self._current_epoch = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs=None):
        self._resolved_mode = None

    def _is_improvement(self, current):
        if self._resolved_mode is None:
            self._resolved_mode = resolve_mode(self.mode, self.monitor, self.model, "ModelCheckpoint")
            if self.best is None:
                start = self.initial_value_threshold
                self.best = float(start) if start is not None else \
                    (float("inf") if self._resolved_mode == "min" else -float("inf"))
        return current < self.best if self._resolved_mode == "min" else current > self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, dict(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, dict(logs or {}))

    def _file_path(self, epoch, batch, logs):
        fields = {**logs, "epoch": epoch + 1}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names the field {error.args[0]!r}, "
                           f"which is not among the logs and epoch/batch: {sorted(fields)}.") from None

    def _save(self, epoch, batch, logs):
        if self.save_best_only:
            current = monitored_value(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if not self._is_improvement(current):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            previous, self.best = self.best, current
        path = self._file_path(epoch, batch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.verbose:
            what = f"{self.monitor} improved from {previous:.5f} to {current:.5f}, saving" if self.save_best_only \
                else "saving"
            print(f"\nEpoch {epoch + 1}: {what} model to {path}")
        if not self.save_weights_only and not path.endswith(".weights.h5"):
            self.model.save(path, overwrite=True)
        else:
            self.model.save_weights(path, overwrite=True)


def _check_suffix(filepath, save_weights_only):
    """Keras's rule: the suffix says what is written; refuse what cannot be written (before training starts)."""
    if filepath.endswith(".weights.h5") or save_weights_only and filepath.endswith((".h5", ".hdf5")):
        return
    if filepath.endswith((".keras", ".h5", ".hdf5")) and not save_weights_only:
        return
    if save_weights_only:
        raise ValueError(f"ModelCheckpoint: with save_weights_only=True, `filepath` must end in '.weights.h5' "
                         f"(or '.h5'); got {filepath!r}.")
    raise ValueError(f"ModelCheckpoint: `filepath` must end in '.keras' or '.h5' (a whole model) or "
                     f"'.weights.h5' (with save_weights_only=True); got {filepath!r}.")
