"""`History`: records each epoch's logs; `fit` returns it."""

from mlfront.callbacks.base import Callback


class History(Callback):
    """`history.history` maps each metric name ("loss", "val_accuracy", ...) to its per-epoch values;
    `history.epoch` lists the epoch indices."""

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
