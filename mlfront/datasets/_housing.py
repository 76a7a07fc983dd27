"""The shuffled train/test split of the housing regression datasets."""

import numpy as np


def check_test_split(test_split, where):
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: `test_split` must be in [0, 1), got {test_split!r}.")


def shuffled_split(x, y, test_split, seed):
    """`(x_train, y_train), (x_test, y_test)`: rows shuffled by `np.random.RandomState(seed)`, the last
    `test_split` fraction for testing (Keras's rule: the first `int(n * (1 - test_split))` rows train)."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
