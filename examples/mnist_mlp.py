"""The classic Keras MLP workflow on handwritten digits, on any engine, and a comparison of training variants.

    MLFRONT_BACKEND=torch python examples/mnist_mlp.py [--out DIR]       # or jax, tensorflow

Part 1 is the classic workflow: load, preprocess, build, compile, fit, evaluate, predict, save and reload the
weights, with Adam and Dropout. Part 2 trains the same MLP other ways (Keras 2 spellings), from the same initial
weights, and prints the test accuracy of each next to part 1's: SGD(lr=0.01, momentum=0.9), RMSprop, without
Dropout, and with `kernel_regularizer=l2(...)`.

The training curves are saved as PNGs in DIR (default: a new temporary directory), never beside this script.
Uses MNIST from `mnist.npz` when the file is present locally (path in $MNIST_NPZ or ~/.keras/datasets/mnist.npz),
else scikit-learn's 8x8 handwritten digits, which ship inside the scikit-learn package (no download).
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers
from mlfront.optimizers import SGD, Adam, RMSprop
from mlfront.regularizers import l2

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"


def load_data():
    """(x_train, y_train), (x_test, y_test), pixels per image, max pixel value: MNIST if found locally, else
    scikit-learn digits."""
    path = os.environ.get("MNIST_NPZ", os.path.expanduser("~/.keras/datasets/mnist.npz"))
    if os.path.exists(path):
        with np.load(path) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"]), 28 * 28, 255.0
    from sklearn.datasets import load_digits
    digits = load_digits()
    x, y = digits.images, digits.target
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:]), 8 * 8, 16.0


def build_mlp(pixels, dropout=0.2, regularizer=None):
    model = mlfront.Sequential()
    model.add(layers.Dense(128, activation="relu", input_shape=(pixels,), kernel_regularizer=regularizer))
    if dropout:
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(128, activation="relu", kernel_regularizer=regularizer))
    if dropout:
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(10, activation="softmax"))
    return model


# name -> (optimizer factory, Dropout rate, kernel regularizer); part 1's model is "Adam(lr=0.001)"
CLASSIC = "Adam(lr=0.001)"
VARIANTS = {
    "SGD(lr=0.01, momentum=0.9)": (lambda: SGD(lr=0.01, momentum=0.9), 0.2, None),
    "RMSprop(lr=0.001)": (lambda: RMSprop(lr=0.001), 0.2, None),
    "Adam, no Dropout": (lambda: Adam(lr=0.001), 0.0, None),
    "Adam, l2(1e-4)": (lambda: Adam(lr=0.001), 0.2, l2(1e-4)),
}


def classic_workflow(data, out_dir, epochs):
    (x_train, y_train), (x_test, y_test), pixels = data
    mlfront.utils.set_random_seed(42)
    model = build_mlp(pixels)
    model.summary()
    model.compile(optimizer=Adam(lr=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=2)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_accuracy:.4f}")
    predictions = model.predict(x_test[:5], verbose=0)
    print("Predicted:", predictions.argmax(axis=1), "True:", y_test[:5].argmax(axis=1))

    path = os.path.join(out_dir, "mnist_mlp.weights.h5")
    model.save_weights(path)
    clone = mlfront.Sequential.from_config(model.get_config())
    clone.load_weights(path)
    assert np.allclose(clone.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
    print(f"Weights saved to and reloaded from {path}: predictions identical.")
    mlfront.utils.plot_history(history, os.path.join(out_dir, "mnist_mlp_history.png"))
    return history, test_accuracy


def compare_variants(data, out_dir, epochs, classic):
    (x_train, y_train), (x_test, y_test), pixels = data
    histories, accuracies = {CLASSIC: classic[0]}, {CLASSIC: classic[1]}
    print(f"Variant {CLASSIC:28s} test accuracy: {classic[1]:.4f}")
    for name, (make_optimizer, dropout, regularizer) in VARIANTS.items():
        mlfront.utils.set_random_seed(42)  # the same initial weights and batches for every variant
        model = build_mlp(pixels, dropout, regularizer)
        model.compile(optimizer=make_optimizer(), loss="categorical_crossentropy", metrics=["accuracy"])
        histories[name] = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1,
                                    verbose=0)
        accuracies[name] = model.evaluate(x_test, y_test, verbose=0)[1]
        print(f"Variant {name:28s} test accuracy: {accuracies[name]:.4f}")
    save_comparison(histories, os.path.join(out_dir, "mnist_mlp_variants.png"))
    return accuracies


def save_comparison(histories, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, history in histories.items():
        epochs = np.arange(1, len(history.history["loss"]) + 1)
        axes[0].plot(epochs, history.history["val_loss"], label=name)
        axes[1].plot(epochs, history.history["val_accuracy"], label=name)
    for ax, title in zip(axes, ("validation loss", "validation accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_mnist_mlp_")
    os.makedirs(out_dir, exist_ok=True)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test), pixels, max_value = load_data()
    x_train = x_train.reshape(len(x_train), pixels).astype("float32") / max_value
    x_test = x_test.reshape(len(x_test), pixels).astype("float32") / max_value
    y_train = mlfront.utils.to_categorical(y_train, 10)
    y_test = mlfront.utils.to_categorical(y_test, 10)
    data = (x_train, y_train), (x_test, y_test), pixels

    epochs = epochs or (4 if QUICK else 20)
    history, test_accuracy = classic_workflow(data, out_dir, epochs)
    accuracies = compare_variants(data, out_dir, epochs, (history, test_accuracy))
    print(f"Plots saved in {out_dir}")
    return test_accuracy, accuracies


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plots and weights (default: a new temporary directory)")
    main(parser.parse_args().out)
