"""Keras 2 import paths resolve to the same objects as the Keras 3 ones (thin aliases, no second copy)."""

import importlib

import pytest

import mlfront
from mlfront import layers

# (Keras 2 module path, names a Keras 2 script imports from it, where the same object lives in mlfront)
KERAS2_PATHS = [
    ("mlfront.layers.core", ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
                             "Lambda", "Masking"], layers),
    ("mlfront.layers.embeddings", ["Embedding"], layers),
    ("mlfront.layers.recurrent", ["SimpleRNN", "LSTM", "GRU"], layers),
    ("mlfront.layers.wrappers", ["Bidirectional", "TimeDistributed"], layers),
    ("mlfront.layers.convolutional", ["Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Convolution2D",
                                      "ZeroPadding2D", "Cropping2D", "UpSampling2D"], layers),
    ("mlfront.layers.pooling", ["MaxPooling2D", "AveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D"],
     layers),
    ("mlfront.layers.normalization", ["BatchNormalization"], layers),
    ("mlfront.layers.merge", ["Add", "Concatenate", "Multiply", "Dot", "add", "concatenate", "multiply", "dot"],
     layers),
    ("mlfront.utils.np_utils", ["to_categorical", "normalize"], mlfront.utils),
]


@pytest.mark.parametrize("module_path,names,home", KERAS2_PATHS, ids=[p[0] for p in KERAS2_PATHS])
def test_keras2_module_exposes_the_same_objects(module_path, names, home):
    module = importlib.import_module(module_path)
    for name in names:
        assert getattr(module, name) is getattr(home, name), f"{module_path}.{name}"


def test_keras2_style_script_header_builds_a_model():
    from mlfront.layers.convolutional import Conv2D, ZeroPadding2D
    from mlfront.layers.core import Dense, Flatten
    from mlfront.layers.pooling import MaxPooling2D
    model = mlfront.Sequential([ZeroPadding2D(1, input_shape=(6, 6, 1)), Conv2D(2, 3), MaxPooling2D(), Flatten(),
                                Dense(3)])
    assert model.predict(__import__("numpy").zeros((2, 6, 6, 1), "float32")).shape == (2, 3)
