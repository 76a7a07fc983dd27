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
    ("mlfront.layers.advanced_activations", ["LeakyReLU", "PReLU", "ELU", "ReLU", "Softmax"], layers),
    ("mlfront.layers.noise", ["GaussianNoise", "GaussianDropout", "AlphaDropout"], layers),
    ("mlfront.layers.convolutional", ["SeparableConv2D", "SeparableConvolution2D", "DepthwiseConv2D"], layers),
    ("mlfront.layers.recurrent", ["RNN", "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"], layers),
    ("mlfront.layers.merge", ["Add", "Concatenate", "Multiply", "Dot", "add", "concatenate", "multiply", "dot"],
     layers),
    ("mlfront.utils.np_utils", ["to_categorical", "normalize"], mlfront.utils),
    ("mlfront.utils.data_utils", ["get_file", "Sequence", "PyDataset"], mlfront.utils),
    ("mlfront.preprocessing.image", ["load_img", "img_to_array", "array_to_img", "save_img", "smart_resize"],
     mlfront.utils),
    ("mlfront.preprocessing.sequence", ["pad_sequences"], mlfront.utils),
    ("mlfront.preprocessing", ["image_dataset_from_directory", "text_dataset_from_directory",
                               "timeseries_dataset_from_array"], mlfront.utils),
]


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters",
                                  "boston_housing", "california_housing"])
def test_keras2_dataset_modules(name):
    """`from keras.datasets import mnist` and `keras.datasets.mnist.load_data` both resolve."""
    module = importlib.import_module(f"mlfront.datasets.{name}")
    assert getattr(mlfront.datasets, name) is module
    assert callable(module.load_data)


def test_keras2_preprocessing_modules_are_attributes_after_import():
    assert mlfront.preprocessing.image.ImageDataGenerator.__module__ == "mlfront.preprocessing.image"
    assert mlfront.preprocessing.text.Tokenizer.__module__ == "mlfront.preprocessing.text"
    assert mlfront.preprocessing.sequence.TimeseriesGenerator.__module__ == "mlfront.preprocessing.sequence"


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
