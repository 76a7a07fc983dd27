"""Keras 2's spelling `layers.experimental.preprocessing.<Name>` of the preprocessing layers (the same classes)."""

from mlfront.layers.preprocessing import (CategoryEncoding, CenterCrop, Discretization, Normalization,  # noqa: F401
                                          RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation,
                                          RandomZoom, Rescaling, Resizing)
from mlfront.layers.preprocessing import Hashing, IntegerLookup, StringLookup, TextVectorization  # noqa: F401

__all__ = ["Normalization", "Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomZoom", "RandomTranslation", "RandomContrast", "CategoryEncoding", "Discretization"]
__all__ += ["Hashing", "IntegerLookup", "StringLookup", "TextVectorization"]
