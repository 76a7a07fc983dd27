"""California housing prices (1990 census, StatLib): 20,640 block groups with 8 features."""

from mlfront.datasets import _files
from mlfront.datasets._housing import check_test_split, shuffled_split
from mlfront.datasets.boston_housing import features_and_targets

ORIGIN = _files.KERAS_ORIGIN + "california_housing.npz"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """Load the California housing dataset; targets are median house values in dollars.

    Features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.

    Args:
        version: `"large"` (all 20,640 samples) or `"small"` (the first 600, a stand-in for Boston housing).
        path: the file name in the dataset cache (`$MLFRONT_HOME/datasets`, then `~/.keras/datasets`).
        test_split: the fraction of the samples kept for testing, in [0, 1).
        seed: the seed shuffling the samples before the split.
        cache_dir: look in (and download to) `cache_dir/datasets` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays of shapes (n, 8) and (n,).
    """
    if version not in ("large", "small"):
        raise ValueError(f"california_housing.load_data: `version` must be 'large' or 'small', got {version!r}.")
    check_test_split(test_split, "california_housing.load_data")
    path = _files.find_or_download(path, ORIGIN, FILE_HASH, cache_dir=cache_dir)
    x, y = features_and_targets(path)
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffled_split(x, y, test_split, seed)
