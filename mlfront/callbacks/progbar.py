"""The Keras-style progress output of fit / evaluate / predict."""

import sys
import time

from mlfront.callbacks.base import Callback


def _format_time(seconds):
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"


def _format_value(value):
    if hasattr(value, "__len__"):  # a vector result, e.g. F1Score per class
        return "[" + ", ".join(_format_value(float(v)) for v in value) + "]"
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


def _format_logs(logs):
    return "".join(f" - {name}: {_format_value(value)}" for name, value in logs.items())


class Progbar:
    """A text progress bar: `current/target [=====>....] - ETA/elapsed - time/step - metrics`.

    Redraws at most every `interval` seconds (and at the end), so reading the metric values, which syncs the
    device, happens only when something is shown.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit="step", stream=None):
        self.target, self.width, self.verbose, self.interval, self.unit = target, width, verbose, interval, unit
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, current, logs=None, finalize=False):
        """Show progress at step `current`; `logs` is a mapping read only when drawing."""
        now = time.perf_counter()
        at_end = self.target is not None and current >= self.target
        if self.verbose == 2 and not finalize:
            return
        if not (finalize or at_end) and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        values = _format_logs(dict(logs or {}))
        counter = f"{current}/{self.target}" if self.target else f"{current}/Unknown"
        if self.verbose == 2:
            self.stream.write(f"{counter} - {_format_time(elapsed)} - {_format_time(per_step)}/{self.unit}{values}\n")
            self.stream.flush()
            return
        bar = ""
        if self.target:
            filled = int(self.width * current / self.target)
            bar = " [" + "=" * max(filled - 1, 0) + (">" if filled < self.width else "=") * (filled > 0) \
                + "." * (self.width - filled) + "]"
        timing = f"{_format_time(elapsed)} {_format_time(per_step)}/{self.unit}" if finalize or at_end \
            else f"ETA: {_format_time(per_step * ((self.target or current) - current))}"
        self.stream.write(f"\r{counter}{bar} - {timing}{values}" + ("\n" if finalize else ""))
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar (verbose=1) or one line per epoch (verbose=2)."""

    chief_only = True

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self.bar = None
        self.seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}")
            self.bar = Progbar(self.params.get("steps"), verbose=self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.bar is not None and self.verbose == 1:
            self.bar.update(self.seen, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(self.seen, logs, finalize=True)
            self.bar = None
