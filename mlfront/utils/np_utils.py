"""Keras 2 spelling: `keras.utils.np_utils.to_categorical`."""

from mlfront.utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize"]
