"""Keras's small built-in datasets, read from the files Keras uses (found locally, else downloaded).

Each module has `load_data()`, returning what Keras returns. Files are looked up in `$MLFRONT_HOME/datasets`
(default `~/.mlfront/datasets`), then in Keras's cache (`$KERAS_HOME/datasets`, default `~/.keras/datasets`),
and downloaded into the first only when found in neither.
"""

from mlfront.datasets import boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist
from mlfront.datasets import reuters

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
           "reuters"]
