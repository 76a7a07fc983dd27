"""Transfer learning the Keras way, on any engine: pretrain, save, reload, freeze, train a new head, fine-tune.

    MLFRONT_BACKEND=torch python examples/transfer_learning.py [--out DIR]       # or jax, tensorflow

Data: scikit-learn's 8x8 handwritten digits (shipped with scikit-learn, no download). A small convolutional
base is pretrained on the digits 0-4 and saved with `save_weights`. A fresh copy of the base reloads those
weights, is frozen (`trainable = False`), and gets a new classifier head for the digits 5-9, trained on only
100 labelled images. For comparison, the same network is trained from scratch on those 100 images. Finally the
base is unfrozen and the whole model fine-tuned with a small learning rate (recompiling, as Keras requires).

The saved base weights and the curves of the head training and fine-tuning (one PNG) go to DIR (default: a
new temporary directory). `MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"


def load_digits_split(seed=0):
    """(x, y) for the pretraining task (digits 0-4) and the new task (digits 5-9, labels 0-4)."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # (n, 8, 8, 1), values in [0, 1]
    y = digits.target
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    source, target = y < 5, y >= 5
    return (x[source], y[source]), (x[target], y[target] - 5)


def build_base():
    """A small convolutional feature extractor: 8x8x1 images -> 2x2x32 = 128 features."""
    images = layers.Input(shape=(8, 8, 1), name="images")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(images)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    features = layers.Flatten(name="features")(x)
    return mlfront.Model(images, features, name="digits_base")


def with_head(base, classes, name, base_training=None):
    """`base` plus a new classifier head. `base_training=False` runs the base in inference mode for good, so
    its BatchNormalization layers keep their statistics even after the base is unfrozen for fine-tuning."""
    inputs = layers.Input(shape=(8, 8, 1), name="inputs")
    x = base(inputs, training=base_training)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="head")(x)
    return mlfront.Model(inputs, outputs, name=name)


def main(out_dir=None, pretrain_epochs=None, head_epochs=None, tune_epochs=None, labelled=100):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_transfer_learning_")
    os.makedirs(out_dir, exist_ok=True)
    pretrain_epochs = pretrain_epochs or (3 if QUICK else 10)
    head_epochs = head_epochs or (10 if QUICK else 30)
    tune_epochs = tune_epochs or (3 if QUICK else 10)
    mlfront.utils.set_random_seed(7)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_source, y_source), (x_target, y_target) = load_digits_split()
    x_few, y_few = x_target[:labelled], y_target[:labelled]  # the few labelled images of the new task
    x_test, y_test = x_target[labelled:], y_target[labelled:]

    # 1. pretrain a base on the source task and save its weights
    base = build_base()
    pretrain = with_head(base, 5, "pretrain")
    pretrain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    pretrain.fit(x_source, y_source, batch_size=32, epochs=pretrain_epochs, verbose=0)
    print(f"Pretrained on digits 0-4: accuracy {pretrain.evaluate(x_source, y_source, verbose=0)[1]:.3f}")

    path = os.path.join(out_dir, "digits_base.weights.h5")
    base.save_weights(path)

    # 2. a fresh base with the saved weights, frozen, under a new head for the digits 5-9
    reloaded = build_base()
    reloaded.load_weights(path)
    reloaded.trainable = False
    model = with_head(reloaded, 5, "transfer", base_training=False)
    model.summary()
    frozen = reloaded.get_weights()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    head_history = model.fit(x_few, y_few, batch_size=20, epochs=head_epochs, validation_data=(x_test, y_test),
                             verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, reloaded.get_weights())), "frozen base changed"
    transfer_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]

    # 3. the same network trained from scratch on the same few images, for comparison
    scratch = with_head(build_base(), 5, "scratch")
    scratch.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch.fit(x_few, y_few, batch_size=20, epochs=head_epochs, verbose=0)
    scratch_accuracy = scratch.evaluate(x_test, y_test, verbose=0)[1]
    print(f"Digits 5-9 from {labelled} labelled images: frozen pretrained base {transfer_accuracy:.3f}, "
          f"from scratch {scratch_accuracy:.3f} (test accuracy)")

    # 4. fine-tune everything with a small learning rate: unfreeze, then recompile so the change takes effect
    reloaded.trainable = True
    model.compile(optimizer=mlfront.optimizers.Adam(learning_rate=1e-4), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    tune_history = model.fit(x_few, y_few, batch_size=20, epochs=tune_epochs, validation_data=(x_test, y_test),
                             verbose=0)
    tuned_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"After fine-tuning the whole model: {tuned_accuracy:.3f}")

    # one curve per metric: the head's epochs, then the fine-tuning epochs
    curves = {name: head_history.history[name] + tune_history.history[name] for name in head_history.history}
    plot = os.path.join(out_dir, "transfer_learning_history.png")
    mlfront.utils.plot_history(curves, plot)
    print(f"Training curves saved to {plot}")
    return transfer_accuracy, scratch_accuracy, tuned_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the weights and the plot (default: a new temporary directory)")
    main(parser.parse_args().out)
