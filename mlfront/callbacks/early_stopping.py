"""`EarlyStopping`: stop training when a monitored quantity stops improving."""

from mlfront.callbacks.base import Callback, monitored_value, resolve_mode


class EarlyStopping(Callback):
    """Stop `fit` once `monitor` has not improved for `patience` epochs.

    An epoch improves when its value beats the best so far by more than `min_delta` (lower in "min"
    mode, higher in "max" mode). Each epoch without improvement adds one to a wait counter; training
    stops at the end of the epoch where the counter reaches `patience` (never after the first epoch).

    Args:
        monitor: the logged quantity to watch (e.g. "val_loss", "val_accuracy").
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: "auto", "min" or "max" ("auto" asks the metric which way is better).
        baseline: the counter is reset only by epochs that also beat this value.
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        start_from_epoch: epochs to ignore at the start (warm-up).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.min_delta, self.patience, self.verbose = monitor, abs(min_delta), patience, verbose
        self.mode, self.baseline = mode, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self._resolved_mode = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._resolved_mode = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def _is_improvement(self, value, reference):
        if self._resolved_mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        if self._resolved_mode is None:  # the model's metrics exist now
            self._resolved_mode = resolve_mode(self.mode, self.monitor, self.model, "EarlyStopping")
            self.best = float("inf") if self._resolved_mode == "min" else -float("inf")
        current = monitored_value(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
