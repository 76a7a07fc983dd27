"""The classic Keras MLP workflow on handwritten digits, on any engine.

    MLFRONT_BACKEND=torch python examples/mnist_mlp.py       # or jax, tensorflow

Uses MNIST from `mnist.npz` when the file is present locally (path in $MNIST_NPZ or ~/.keras/datasets/mnist.npz),
else scikit-learn's 8x8 handwritten digits, which ship inside the scikit-learn package (no download).
"""

import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers


def load_data():
    """(x_train, y_train), (x_test, y_test), image size: MNIST if found locally, else scikit-learn digits."""
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


def main(epochs=30):
    mlfront.utils.set_random_seed(42)
    print(f"mlfront backend: {mlfront.backend()}")
    # 1. load
    (x_train, y_train), (x_test, y_test), pixels, max_value = load_data()
    # 2. preprocess
    x_train = x_train.reshape(len(x_train), pixels).astype("float32") / max_value
    x_test = x_test.reshape(len(x_test), pixels).astype("float32") / max_value
    y_train = mlfront.utils.to_categorical(y_train, 10)
    y_test = mlfront.utils.to_categorical(y_test, 10)
    # 3. build
    model = mlfront.Sequential([
        layers.Dense(128, activation="relu", input_shape=(pixels,)),
        layers.Dropout(0.2),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    model.summary()
    # 4. compile
    model.compile(optimizer=mlfront.optimizers.Adam(lr=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    # 5. fit
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=2)
    # 6. evaluate
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_accuracy:.4f}")
    # 7. predict
    predictions = model.predict(x_test[:5], verbose=0)
    print("Predicted:", predictions.argmax(axis=1), "True:", y_test[:5].argmax(axis=1))
    # 8. save the weights and load them back into a fresh model
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist_mlp.weights.h5")
        model.save_weights(path)
        clone = mlfront.Sequential.from_config(model.get_config())
        clone.load_weights(path)
        assert np.allclose(clone.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
        print(f"Weights saved to and reloaded from {os.path.basename(path)}: predictions identical.")
    return history, test_accuracy


if __name__ == "__main__":
    main()
