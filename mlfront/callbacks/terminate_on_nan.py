"""`TerminateOnNaN`: stop training as soon as the loss is NaN or infinite."""

import math

from mlfront.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop `fit` after the first training batch whose loss is NaN or infinite.

    Reading the loss every batch waits for the device each step, as in Keras.

    Args:
        raise_error: raise a `RuntimeError` instead of stopping quietly.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(f"TerminateOnNaN: batch {batch}: invalid loss {float(loss)}, training stopped.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
