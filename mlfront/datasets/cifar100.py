"""CIFAR-100: 32x32 color images of 100 fine classes grouped into 20 coarse ones."""

from mlfront.datasets import _cifar

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
FOLDER = "cifar-100-python"


def load_data(label_mode="fine", cache_dir=None):
    """Load CIFAR-100: 50,000 training and 10,000 test images.

    Args:
        label_mode: `"fine"` (100 classes) or `"coarse"` (the 20 superclasses).
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shapes (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels last), int64 labels of shapes (50000, 1) and (10000, 1), as Keras.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: `label_mode` must be 'fine' or 'coarse', got {label_mode!r}.")
    location = _cifar.locate("cifar-100-python.tar.gz", FOLDER, ORIGIN, FILE_HASH, cache_dir)
    num_classes = 100 if label_mode == "fine" else 20
    (x_train, y_train), (x_test, y_test) = _cifar.load_splits(location, FOLDER, [["train"], ["test"]],
                                                              f"{label_mode}_labels", num_classes)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
