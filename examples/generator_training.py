"""Training from generators, on any engine: a Python generator, a `Sequence` subclass, and Keras 2's `fit_generator`.

    MLFRONT_BACKEND=torch python examples/generator_training.py [--out DIR]       # or jax, tensorflow

Data: scikit-learn's 8x8 handwritten digits (no download), served batch by batch as a data pipeline would
serve files too large for memory, with a little random noise added to each training batch (augmentation):

1. an endless Python generator, trained with `model.fit(generator, steps_per_epoch=..., epochs=...)`;
2. a `mlfront.utils.Sequence` subclass (batches by index, reshuffled by `on_epoch_end`), trained with
   `model.fit(sequence, epochs=...)` and validated with another Sequence;
3. the same generator with Keras 2's `model.fit_generator(...)`, then `evaluate_generator` and
   `predict_generator`.

Each prints its test accuracy; the training curves are saved as PNGs in DIR (default: a new temporary
directory). `MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import math
import os
import tempfile
import warnings

import numpy as np

import mlfront
from mlfront import layers
from mlfront.utils import Sequence

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"
BATCH_SIZE = 32


def load_data(seed=0):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = mlfront.utils.to_categorical(digits.target, 10)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def noisy_batches(x, y, batch_size, seed=0):
    """Endless (x, y) batches: each pass over the data in a new order, pixels jittered by noise."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            noise = rng.normal(0.0, 0.05, size=x[index].shape).astype("float32")
            yield np.clip(x[index] + noise, 0.0, 1.0), y[index]


class DigitsSequence(Sequence):
    """Batches by index; `shuffle=True` draws a new order after every epoch."""

    def __init__(self, x, y, batch_size, shuffle=False, noise=0.0, seed=0):
        super().__init__()
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.x[rows]
        if self.noise:
            x = np.clip(x + self.rng.normal(0.0, self.noise, size=x.shape).astype("float32"), 0.0, 1.0)
        return x, self.y[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.x))


def build_model():
    model = mlfront.Sequential([
        layers.Dense(64, activation="relu", input_shape=(64,)),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_generator_training_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (4 if QUICK else 25)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test) = load_data()
    x_fit, y_fit, x_val, y_val = x_train[:-144], y_train[:-144], x_train[-144:], y_train[-144:]
    steps_per_epoch = len(x_fit) // BATCH_SIZE
    histories = {}

    # 1. a Python generator: it never ends, so `steps_per_epoch` says where an epoch stops
    mlfront.utils.set_random_seed(1)
    model = build_model()
    histories["generator"] = model.fit(noisy_batches(x_fit, y_fit, BATCH_SIZE), steps_per_epoch=steps_per_epoch,
                                       epochs=epochs, validation_data=(x_val, y_val), verbose=2)
    print(f"fit(generator) test accuracy: {model.evaluate(x_test, y_test, verbose=0)[1]:.4f}")

    # 2. a Sequence: its length is the number of batches per epoch
    mlfront.utils.set_random_seed(1)
    model = build_model()
    train_sequence = DigitsSequence(x_fit, y_fit, BATCH_SIZE, shuffle=True, noise=0.05)
    histories["sequence"] = model.fit(train_sequence, epochs=epochs,
                                      validation_data=DigitsSequence(x_val, y_val, BATCH_SIZE), verbose=2)
    test_sequence = DigitsSequence(x_test, y_test, BATCH_SIZE)
    print(f"fit(Sequence) test accuracy: {model.evaluate(test_sequence, verbose=0)[1]:.4f}")

    # 3. Keras 2's generator methods (deprecated spellings of fit / evaluate / predict)
    mlfront.utils.set_random_seed(1)
    model = build_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        histories["fit_generator"] = model.fit_generator(noisy_batches(x_fit, y_fit, BATCH_SIZE),
                                                         steps_per_epoch=steps_per_epoch, epochs=epochs,
                                                         validation_data=DigitsSequence(x_val, y_val, BATCH_SIZE),
                                                         verbose=2)
        loss, accuracy = model.evaluate_generator(test_sequence, steps=len(test_sequence))
        probabilities = model.predict_generator(test_sequence, steps=len(test_sequence))
    assert probabilities.shape == (len(x_test), 10)
    assert np.isclose(accuracy, np.mean(probabilities.argmax(1) == y_test.argmax(1)), atol=1e-6)
    print(f"fit_generator test accuracy: {accuracy:.4f}")

    for name, history in histories.items():
        mlfront.utils.plot_history(history, os.path.join(out_dir, f"generator_training_{name}.png"))
    print(f"Training curves saved in {out_dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plots (default: a new temporary directory)")
    main(parser.parse_args().out)
