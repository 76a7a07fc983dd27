"""Saliency maps: which pixels a digits classifier's decision is most sensitive to, on any engine.

    MLFRONT_BACKEND=torch python examples/saliency.py [--out DIR] [--output saliency.png]     # or jax, tensorflow

Trains a small convolutional classifier on scikit-learn's 8x8 handwritten digits (no download), then computes
`mlfront.gradients.saliency_map` (|d score / d pixel|, Simonyan et al. 2013) for a few test images, on the
class the model predicts. It checks the maps mean something: blanking the 8 most salient pixels of an image
should lower the predicted class's score more than blanking 8 random pixels. The images and maps are printed
as text, and saved side by side as a PNG when matplotlib is installed: to `--output`, else to
DIR/saliency.png (default DIR: a new temporary directory). `MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs
(the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers
from mlfront.gradients import saliency_map

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"


def load_digits_data(seed=0):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], digits.target[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def build_classifier():
    """Conv -> pool -> conv -> dense; the last layer gives logits, so saliency explains the raw class score."""
    return mlfront.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(10, name="logits"),
    ])


def blank(images, pixel_indices):
    """Copies of `images` with the given flat pixel indices (one row per image) set to zero."""
    flat = images.reshape(len(images), -1).copy()
    np.put_along_axis(flat, pixel_indices, 0.0, axis=1)
    return flat.reshape(images.shape)


def as_text(image):
    shades = " .:-=+*#%@"
    scaled = np.clip((image / max(image.max(), 1e-12)) * (len(shades) - 1), 0, len(shades) - 1).astype(int)
    return ["".join(shades[v] * 2 for v in row) for row in scaled]


def save_png(path, images, maps, labels):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no PNG written.")
        return
    figure, axes = plt.subplots(2, len(images), figsize=(1.6 * len(images), 3.4))
    for i, (image, heat, label) in enumerate(zip(images, maps, labels)):
        axes[0, i].imshow(image, cmap="gray_r")
        axes[0, i].set_title(f"predicted {label}", fontsize=8)
        axes[1, i].imshow(heat, cmap="hot")
        for ax in axes[:, i]:
            ax.axis("off")
    axes[1, 0].set_title("saliency", fontsize=8, loc="left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"Saved {path}")


def main(output=None, out_dir=None, epochs=None, shown=8, k=8):
    epochs = epochs or (6 if QUICK else 15)
    mlfront.utils.set_random_seed(3)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test) = load_digits_data()
    model = build_classifier()
    model.compile(optimizer="adam", loss=mlfront.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    print(f"Test accuracy: {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")

    images = x_test[:64]
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    maps = saliency_map(model, images, predicted)[..., 0]  # one channel: (64, 8, 8)

    # Blanking the most salient pixels should hurt the predicted class's logit more than blanking random ones.
    def score_drop(blanked):
        before = model.predict(images, verbose=0)[np.arange(len(images)), predicted]
        after = model.predict(blanked, verbose=0)[np.arange(len(images)), predicted]
        return float(np.mean(before - after))

    top = np.argsort(-maps.reshape(len(maps), -1), axis=1)[:, :k]
    random = np.random.default_rng(0).permuted(np.tile(np.arange(64), (len(images), 1)), axis=1)[:, :k]
    print(f"Mean drop of the predicted logit after blanking {k} pixels: "
          f"most salient {score_drop(blank(images, top)):.2f}, random {score_drop(blank(images, random)):.2f}")

    for i in range(2):
        print(f"\nTest image {i} (true {y_test[i]}, predicted {predicted[i]})      saliency")
        for left, right in zip(as_text(images[i, ..., 0]), as_text(maps[i])):
            print(f"  {left}      {right}")
    if output is None:
        out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_saliency_")
        os.makedirs(out_dir, exist_ok=True)
        output = os.path.join(out_dir, "saliency.png")
    save_png(output, images[:shown, ..., 0], maps[:shown], predicted[:shown])
    return maps


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the PNG (default: a new temporary directory)")
    parser.add_argument("--output", help="the PNG's path (overrides --out)")
    arguments = parser.parse_args()
    main(arguments.output, arguments.out)
