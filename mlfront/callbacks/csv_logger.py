"""`CSVLogger`: one CSV row of logs per epoch."""

import csv
import os

import numpy as np

from mlfront.callbacks.base import Callback


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file: a header `epoch,<log names sorted>`, then one row per epoch
    (epochs counted from 0). Values missing in an epoch (e.g. validation skipped by `validation_freq`) are
    written as "NA".

    Args:
        filename: path of the CSV file.
        separator: the field separator.
        append: add rows to an existing file (no second header) instead of overwriting it.
    """

    chief_only = True  # in a distributed job process 0 writes

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = None
        self.writer = None
        self.file = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys = None
        self.writer = None
        self._write_header = not has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                         lineterminator="\n", extrasaction="ignore")
            if self._write_header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{key: _cell(logs[key]) if key in logs else "NA" for key in self.keys}}
        self.writer.writerow(row)
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None

    release_resources = on_train_end  # the rows written so far stay in the file


def _cell(value):
    """A log value as a CSV cell: numbers as they are, arrays as "[a, b, ...]"."""
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    if array.ndim == 0:
        return array.item()
    return "[" + ", ".join(str(v) for v in array.ravel().tolist()) + "]"
