"""CIFAR-10: 32x32 color images of 10 classes (the Python version of the Toronto archive)."""

from mlfront.datasets import _cifar

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
FOLDER = "cifar-10-batches-py"


def load_data(cache_dir=None):
    """Load CIFAR-10: 50,000 training and 10,000 test images, labels 0-9 (airplane, automobile, bird, cat,
    deer, dog, frog, horse, ship, truck).

    The batches are read straight from `cifar-10-python.tar.gz` (or from a folder Keras extracted it to).

    Args:
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes (50000, 32, 32, 3) (channels last),
        (50000, 1), (10000, 32, 32, 3) and (10000, 1).
    """
    location = _cifar.locate("cifar-10-python.tar.gz", FOLDER, ORIGIN, FILE_HASH, cache_dir)
    splits = [[f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]]
    (x_train, y_train), (x_test, y_test) = _cifar.load_splits(location, FOLDER, splits, "labels", 10)
    return (x_train, y_train.astype("uint8").reshape(-1, 1)), (x_test, y_test.astype("uint8").reshape(-1, 1))
