"""A two-input functional model, on any engine: an image branch and a side-feature branch, concatenated.

    MLFRONT_BACKEND=torch python examples/two_inputs.py [--out DIR]       # or jax, tensorflow

Data: scikit-learn's 8x8 handwritten digits (no download). The "scan" each model sees is damaged: its right
half is blanked. A second input carries 16 side features measured on the undamaged digit: the ink in each
row and in each column. A convolutional branch reads the image, a Dense branch the side features, and
`concatenate` joins them before the classifier; the inputs are fed by name, as a dict. For comparison the
same image branch is trained alone on the damaged scans.

The training curves are saved as a PNG in DIR (default: a new temporary directory).
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D, concatenate

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"


def load_data(seed=0):
    """({"image": damaged scans, "profile": row and column ink}, labels) for training and test."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")
    profile = np.concatenate([images.sum(axis=2), images.sum(axis=1)], axis=1) / 8.0  # (n, 16)
    damaged = images.copy()
    damaged[:, :, 4:] = 0.0
    order = np.random.default_rng(seed).permutation(len(images))
    x = {"image": damaged[order, :, :, None], "profile": profile[order]}
    y = digits.target[order]
    split = int(0.8 * len(y))
    return ({k: v[:split] for k, v in x.items()}, y[:split]), ({k: v[split:] for k, v in x.items()}, y[split:])


def image_branch(image):
    x = Conv2D(16, 3, padding="same", activation="relu")(image)
    x = MaxPooling2D(2)(x)
    x = Conv2D(32, 3, padding="same", activation="relu")(x)
    return Flatten()(x)


def build_two_input_model():
    image = Input(shape=(8, 8, 1), name="image")
    profile = Input(shape=(16,), name="profile")
    side = Dense(32, activation="relu")(profile)
    x = concatenate([image_branch(image), side])
    x = Dropout(0.3)(Dense(64, activation="relu")(x))
    digit = Dense(10, activation="softmax", name="digit")(x)
    return mlfront.Model(inputs=[image, profile], outputs=digit, name="image_and_profile")


def build_image_only_model():
    image = Input(shape=(8, 8, 1), name="image")
    x = Dropout(0.3)(Dense(64, activation="relu")(image_branch(image)))
    return mlfront.Model(image, Dense(10, activation="softmax", name="digit")(x), name="image_only")


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_two_inputs_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (6 if QUICK else 30)
    mlfront.utils.set_random_seed(11)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test) = load_data()

    model = build_two_input_model()
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=2)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    # Inputs may also be given as a list, in the order of `model.inputs`.
    as_list = model.predict([x_test["image"], x_test["profile"]], verbose=0)
    assert np.allclose(as_list, model.predict(x_test, verbose=0), atol=1e-6)

    mlfront.utils.set_random_seed(11)
    alone = build_image_only_model()
    alone.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    alone.fit(x_train["image"], y_train, batch_size=32, epochs=epochs, verbose=0)
    alone_accuracy = alone.evaluate(x_test["image"], y_test, verbose=0)[1]
    print(f"Test accuracy, damaged image alone: {alone_accuracy:.4f}")
    print(f"Test accuracy, image + side features: {accuracy:.4f}")

    path = os.path.join(out_dir, "two_inputs_history.png")
    mlfront.utils.plot_history(history, path)
    print(f"Training curves saved to {path}")
    return accuracy, alone_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plot (default: a new temporary directory)")
    main(parser.parse_args().out)
