"""A subclassed model (`class DigitNet(mlfront.Model)` with `call`), trained with `fit`, on any engine.

    MLFRONT_BACKEND=torch python examples/subclassed_model.py [--out DIR]       # or jax, tensorflow

The layers are created in `__init__` and used in `call(self, inputs, training=None)`, which runs ordinary
Python: a loop over a list of residual blocks, and Dropout only while training. The model is compiled,
fitted, evaluated and used to predict like any Keras model; its weights are saved and loaded into a fresh
instance, which must predict the same. Data: scikit-learn's 8x8 handwritten digits (no download).

The training curves are saved as a PNG in DIR (default: a new temporary directory).
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers


QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"


class ResidualBlock(layers.Layer):
    """`relu(x + Dense(Dense(x)))`: a custom layer made of other layers."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = layers.Dense(units, activation="relu")
        self.outer = layers.Dense(units)

    def call(self, inputs):
        return mlfront.ops.relu(inputs + self.outer(self.inner(inputs)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class DigitNet(mlfront.Model):
    def __init__(self, num_classes=10, width=64, blocks=2, dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.stem = layers.Dense(width, activation="relu")
        self.blocks = [ResidualBlock(width, name=f"residual_{i}") for i in range(blocks)]
        self.dropout = layers.Dropout(dropout)
        self.classifier = layers.Dense(num_classes, activation="softmax")

    def call(self, inputs, training=None):
        x = self.stem(inputs)
        for block in self.blocks:
            x = block(x)
        x = self.dropout(x, training=training)
        return self.classifier(x)


def load_data(seed=0):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], digits.target[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_subclassed_model_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (5 if QUICK else 30)
    mlfront.utils.set_random_seed(5)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test) = load_data()

    model = DigitNet(name="digit_net")
    model.compile(optimizer=mlfront.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=2)
    model.summary()
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_accuracy:.4f}")
    predictions = model.predict(x_test, verbose=0)

    # A subclassed model has no config of its layer graph: save the weights, rebuild from the class, call it
    # once on a batch so that its layers create their weights, then load.
    path = os.path.join(out_dir, "digit_net.weights.h5")
    model.save_weights(path)
    fresh = DigitNet(name="digit_net")
    fresh(x_test[:1])
    fresh.load_weights(path)
    assert np.allclose(fresh.predict(x_test, verbose=0), predictions, atol=1e-6)
    print(f"Weights saved to {path} and loaded into a new DigitNet: predictions identical.")

    plot = os.path.join(out_dir, "subclassed_model_history.png")
    mlfront.utils.plot_history(history, plot)
    print(f"Training curves saved to {plot}")
    return test_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plot and weights (default: a new temporary directory)")
    main(parser.parse_args().out)
