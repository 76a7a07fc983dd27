"""Preprocessing layers: part of the model, so a saved model keeps its preprocessing.

The numeric and image layers run inside the compiled step on every engine; the string and lookup layers are
host layers, run in NumPy on each batch before it reaches the engine (`host.py`)."""

# numeric and image layers
from mlfront.layers.preprocessing.category_encoding import CategoryEncoding
from mlfront.layers.preprocessing.discretization import Discretization
from mlfront.layers.preprocessing.image_geometry import CenterCrop, RandomCrop, Resizing
from mlfront.layers.preprocessing.normalization import Normalization
from mlfront.layers.preprocessing.random_affine import RandomRotation, RandomTranslation, RandomZoom
from mlfront.layers.preprocessing.random_color import RandomBrightness, RandomContrast
from mlfront.layers.preprocessing.random_flip import RandomFlip
from mlfront.layers.preprocessing.rescaling import Rescaling

# string and lookup layers: host layers (NumPy, before the compiled step; see `host.py`)
from mlfront.layers.preprocessing.hashing import Hashing
from mlfront.layers.preprocessing.integer_lookup import IntegerLookup
from mlfront.layers.preprocessing.string_lookup import StringLookup
from mlfront.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["Normalization", "Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "CategoryEncoding",
           "Discretization"]
__all__ += ["Hashing", "IntegerLookup", "StringLookup", "TextVectorization"]
