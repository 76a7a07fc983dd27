"""MNIST handwritten digits (Keras's `mnist.npz`)."""

from mlfront.datasets import _files

ORIGIN = _files.KERAS_ORIGIN + "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz", cache_dir=None):
    """Load the MNIST dataset: 60,000 28x28 grayscale training images of the 10 digits and 10,000 test images.

    Args:
        path: the file name in the dataset cache (`$MLFRONT_HOME/datasets`, then `~/.keras/datasets`).
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes (60000, 28, 28), (60000,),
        (10000, 28, 28) and (10000,); pixels 0-255, labels 0-9.
    """
    path = _files.find_or_download(path, ORIGIN, FILE_HASH, cache_dir=cache_dir)
    return npz_image_pairs(path)


def npz_image_pairs(path):
    """`(x_train, y_train), (x_test, y_test)` of an npz file with those four arrays, lengths checked."""
    arrays = _files.read_npz(path, ["x_train", "y_train", "x_test", "y_test"])
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim < 1 or y.shape != (len(x),):
            raise ValueError(f"{path}: x_{split} of shape {x.shape} needs labels y_{split} of shape ({len(x)},), "
                             f"got {y.shape}.")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
