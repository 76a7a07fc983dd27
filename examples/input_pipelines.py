"""A BatchNormalization CNN fed by the input pipeline of the active engine's users.

    MLFRONT_BACKEND=tensorflow python examples/input_pipelines.py [--out DIR]       # or torch, jax

`fit` / `evaluate` take the engine's own data pipelines as they are:

- on TensorFlow, a `tf.data.Dataset` (`from_tensor_slices(...).shuffle(...).batch(...).prefetch(...)`);
- on PyTorch, a `torch.utils.data.DataLoader` over a `TensorDataset` (`shuffle=True`);
- on JAX (which has no pipeline of its own), a `mlfront.utils.PyDataset`, as Keras 3 users write one.

The pipeline is picked by `mlfront.backend()`; when the engine's data library cannot be imported, the script
says so and falls back to the PyDataset. Data: scikit-learn's 8x8 handwritten digits (no download).

The training curves are saved as a PNG in DIR (default: a new temporary directory).
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import math
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"
BATCH_SIZE = 32


def load_data(seed=0):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def tf_data_pipeline(x, y, training):
    import tensorflow as tf
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        dataset = dataset.shuffle(len(x), seed=0)
    return dataset.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def torch_pipeline(x, y, training):
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y).long())
    return DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=training,
                      generator=torch.Generator().manual_seed(0))


class DigitsDataset(mlfront.utils.PyDataset):
    """Batches by index; the training set is reshuffled after each epoch."""

    def __init__(self, x, y, training, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.training = x, y, training
        self.rng = np.random.default_rng(0)
        self.order = self.rng.permutation(len(x)) if training else np.arange(len(x))

    def __len__(self):
        return math.ceil(len(self.x) / BATCH_SIZE)

    def __getitem__(self, index):
        rows = self.order[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        if self.training:
            self.order = self.rng.permutation(len(self.x))


def py_dataset_pipeline(x, y, training):
    return DigitsDataset(x, y, training)


PIPELINES = {"tensorflow": ("tf.data.Dataset", tf_data_pipeline),
             "torch": ("torch.utils.data.DataLoader", torch_pipeline)}


def pick_pipeline(x, y):
    """(description, training pipeline, test pipeline) for the active engine."""
    name, make = PIPELINES.get(mlfront.backend(), ("mlfront.utils.PyDataset", py_dataset_pipeline))
    try:
        return name, make(*x, training=True), make(*y, training=False)
    except ImportError as error:
        print(f"{name} is not available ({error}); using a mlfront.utils.PyDataset instead.")
        return ("mlfront.utils.PyDataset", py_dataset_pipeline(*x, training=True),
                py_dataset_pipeline(*y, training=False))


def build_model():
    # momentum=0.9 (Keras's default is 0.99): with ~45 steps per epoch the moving statistics that inference
    # uses must settle within a few epochs.
    return mlfront.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.Activation("relu"),
        layers.Conv2D(32, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.Activation("relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_input_pipelines_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (3 if QUICK else 15)
    mlfront.utils.set_random_seed(2)
    print(f"mlfront backend: {mlfront.backend()}")
    train, test = load_data()
    pipeline, train_data, test_data = pick_pipeline(train, test)
    print(f"Input pipeline: {pipeline}")

    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_data, epochs=epochs, validation_data=test_data, verbose=2)
    test_loss, test_accuracy = model.evaluate(test_data, verbose=0)
    # BatchNormalization learned running statistics during training and uses them at inference.
    bn = model.layers[1]
    print(f"First BatchNormalization moving mean (first 4 channels): {np.round(bn.moving_mean.numpy()[:4], 3)}")
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_accuracy:.4f}")

    path = os.path.join(out_dir, "input_pipelines_history.png")
    mlfront.utils.plot_history(history, path)
    print(f"Training curves saved to {path}")
    return test_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plot (default: a new temporary directory)")
    main(parser.parse_args().out)
