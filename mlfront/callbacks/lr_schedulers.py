"""Learning-rate callbacks: `LearningRateScheduler` (a schedule per epoch) and `ReduceLROnPlateau`."""

import math

import numpy as np

from mlfront.callbacks.base import Callback, monitored_value, resolve_mode


def _set_learning_rate(model, value, owner):
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: the learning rate must be a finite float, got {value!r}.")
    model.optimizer.learning_rate = value


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch to `schedule(epoch, lr)`.

    `epoch` counts from 0 and `lr` is the current learning rate; a schedule taking only `epoch` works
    too. The rate in use is added to the epoch logs as "learning_rate".

    Args:
        schedule: function `(epoch, lr) -> new learning rate` (a float).
        verbose: 1 prints the new rate each epoch.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: `schedule` must be a function (epoch, lr) -> lr, "
                            f"got {schedule!r}.")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        current = self.model.optimizer.learning_rate
        try:
            new = self.schedule(epoch, current)
        except TypeError:  # the Keras 1 form, schedule(epoch)
            new = self.schedule(epoch)
        if not isinstance(new, (int, float)) and not hasattr(new, "__float__"):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got {new!r}.")
        _set_learning_rate(self.model, new, "LearningRateScheduler")
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience` epochs.

    An epoch improves when its value beats the best so far by more than `min_delta`. After a
    reduction, `cooldown` epochs pass before counting again; the rate never goes below `min_lr`.
    The rate in use is added to the epoch logs as "learning_rate".

    Args:
        monitor: the logged quantity to watch.
        factor: the multiplier of the learning rate, in [0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a line on each reduction.
        mode: "auto", "min" or "max".
        min_delta: the smallest change that counts as an improvement (Keras 2: `epsilon`).
        cooldown: epochs to wait after a reduction before resuming normal operation.
        min_lr: lower bound of the learning rate.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2 name
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) {sorted(kwargs)}.")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: `factor` must be < 1 (the rate is multiplied by it), "
                             f"got {factor!r}.")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, min_delta, cooldown, float(min_lr)
        self._reset()

    def _reset(self):
        self._resolved_mode = None
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_improvement(self, current):
        if self._resolved_mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate
        if self._resolved_mode is None:
            self._resolved_mode = resolve_mode(self.mode, self.monitor, self.model, "ReduceLROnPlateau")
            self.best = float("inf") if self._resolved_mode == "min" else -float("inf")
        current = monitored_value(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = self.model.optimizer.learning_rate
        if np.float32(old) > np.float32(self.min_lr):  # compared as the optimizer stores them
            new = max(old * self.factor, self.min_lr)
            _set_learning_rate(self.model, new, "ReduceLROnPlateau")
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
