"""Boston housing prices (StatLib), a small regression dataset with 13 features (Keras's `boston_housing.npz`)."""

from mlfront.datasets import _files
from mlfront.datasets._housing import check_test_split, shuffled_split

ORIGIN = _files.KERAS_ORIGIN + "boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """Load the Boston housing dataset: 506 samples of 13 attributes; targets are median prices in k$.

    Note that the dataset has an ethical problem (its "B" variable); Keras discourages its use except to
    illustrate that problem, and offers `california_housing` instead.

    Args:
        path: the file name in the dataset cache (`$MLFRONT_HOME/datasets`, then `~/.keras/datasets`).
        test_split: the fraction of the samples kept for testing, in [0, 1).
        seed: the seed shuffling the samples before the split.
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays of shapes (n, 13) and (n,).
    """
    check_test_split(test_split, "boston_housing.load_data")
    path = _files.find_or_download(path, ORIGIN, FILE_HASH, cache_dir=cache_dir)
    return shuffled_split(*features_and_targets(path), test_split, seed)


def features_and_targets(path):
    """The arrays `x` (samples x features) and `y` (one target per sample) of a housing npz file."""
    arrays = _files.read_npz(path, ["x", "y"])
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"{path}: expected x of shape (n, features) and y of shape (n,), got {x.shape} and "
                         f"{y.shape}.")
    return x, y
