"""A CNN trained from a folder of images with `ImageDataGenerator` augmentation, the Keras 2 way, on any engine.

    MLFRONT_BACKEND=torch python examples/image_folder_cnn.py [--out DIR]       # or jax, tensorflow

The script first writes the image folders a Keras user would have: scikit-learn's 8x8 handwritten digits
(no download), upscaled to 24x24 and saved as grayscale PNG files, one subfolder per class:

    DIR/digits/train/0/0000.png ...   DIR/digits/train/9/...   DIR/digits/test/0/... (held out)

Then, as in Keras 2's "image classification from a folder" recipe:

- `ImageDataGenerator(rescale=1/255, rotation_range=..., width_shift_range=..., zoom_range=...,
  validation_split=0.2)` reads `train/` with `flow_from_directory(..., subset="training")` and augments it;
- a second generator without augmentation (same `validation_split`) reads the validation subset
  (`subset="validation"`), so both see the same split of the files;
- `fit(train_generator, validation_data=validation_generator)`, then `evaluate` and `predict` on `test/`
  (`shuffle=False`, so the predictions line up with `test_generator.classes`).

The training curves and a grid of augmented training images are saved as PNGs in DIR (default: a new
temporary directory). `MLFRONT_EXAMPLES_QUICK=1` uses fewer images and epochs (the test suite's setting).
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import layers
from mlfront.preprocessing.image import ImageDataGenerator

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"
IMAGE_SIZE = (24, 24)


def write_digit_folders(root, per_class_train, per_class_test, seed=0):
    """Writes root/train/<digit>/*.png and root/test/<digit>/*.png; returns (train folder, test folder)."""
    from PIL import Image
    from sklearn.datasets import load_digits
    digits = load_digits()
    rng = np.random.default_rng(seed)
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(digits.target == digit))
        subsets = {"train": members[:per_class_train],
                   "test": members[per_class_train:per_class_train + per_class_test]}
        for subset, indices in subsets.items():
            folder = os.path.join(root, subset, str(digit))
            os.makedirs(folder, exist_ok=True)
            for index in indices:
                pixels = (digits.images[index] * (255.0 / 16.0)).round().astype("uint8")
                image = Image.fromarray(pixels, mode="L").resize(IMAGE_SIZE, Image.BILINEAR)
                image.save(os.path.join(folder, f"{index:04d}.png"))
    return os.path.join(root, "train"), os.path.join(root, "test")


def build_cnn(num_classes):
    return mlfront.Sequential([
        layers.Conv2D(16, (3, 3), activation="relu", input_shape=IMAGE_SIZE + (1,)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(num_classes, activation="softmax"),
    ])


def save_augmented_grid(batch, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    images, labels = batch
    figure, axes = plt.subplots(2, 8, figsize=(8, 2.4))
    for ax, image, label in zip(axes.flat, images, labels.argmax(axis=1)):
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
        ax.set_title(str(label), fontsize=8)
        ax.axis("off")
    figure.suptitle("augmented training images", fontsize=9)
    figure.savefig(path)
    plt.close(figure)


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_image_folder_cnn_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (4 if QUICK else 20)
    per_class_train, per_class_test = (40, 15) if QUICK else (144, 35)
    mlfront.utils.set_random_seed(8)
    print(f"mlfront backend: {mlfront.backend()}")
    train_dir, test_dir = write_digit_folders(os.path.join(out_dir, "digits"), per_class_train, per_class_test)

    batch_size = 32
    train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=10, width_shift_range=0.1,
                                       height_shift_range=0.1, zoom_range=0.1, validation_split=0.2)
    plain_datagen = ImageDataGenerator(rescale=1.0 / 255, validation_split=0.2)
    train_generator = train_datagen.flow_from_directory(train_dir, target_size=IMAGE_SIZE, color_mode="grayscale",
                                                        batch_size=batch_size, class_mode="categorical",
                                                        subset="training", seed=1)
    validation_generator = plain_datagen.flow_from_directory(train_dir, target_size=IMAGE_SIZE,
                                                             color_mode="grayscale", batch_size=batch_size,
                                                             class_mode="categorical", subset="validation",
                                                             shuffle=False)
    test_generator = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory(
        test_dir, target_size=IMAGE_SIZE, color_mode="grayscale", batch_size=batch_size,
        class_mode="categorical", shuffle=False)
    print(f"Classes: {train_generator.class_indices}")
    save_augmented_grid(next(train_generator), os.path.join(out_dir, "image_folder_cnn_augmented.png"))
    train_generator.reset()

    model = build_cnn(train_generator.num_classes)
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_generator, epochs=epochs, validation_data=validation_generator, verbose=2)
    test_loss, test_accuracy = model.evaluate(test_generator, verbose=0)
    predicted = model.predict(test_generator, verbose=0).argmax(axis=1)
    assert np.isclose(np.mean(predicted == test_generator.classes), test_accuracy, atol=1e-6)
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_accuracy:.4f} "
          f"({test_generator.samples} images in {test_dir})")

    path = os.path.join(out_dir, "image_folder_cnn_history.png")
    mlfront.utils.plot_history(history, path)
    print(f"Training curves saved to {path}")
    return test_accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the image folders and plots (default: a new temporary "
                                      "directory)")
    main(parser.parse_args().out)
