"""Layers (Keras names and arguments)."""

from mlfront.layers.base import Layer
from mlfront.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer
from mlfront.layers.convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D,
                                          Conv3DTranspose, Convolution1D, Convolution1DTranspose, Convolution2D,
                                          Convolution2DTranspose, Convolution3D, Convolution3DTranspose,
                                          DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                                          SeparableConvolution1D, SeparableConvolution2D)
from mlfront.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D,
                                    AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
                                    GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool1D,
                                    GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                    GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D,
                                    MaxPooling3D)
from mlfront.layers.spatial import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,
                                    ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from mlfront.layers.embedding import Embedding, Masking
from mlfront.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from mlfront.layers.rnn import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from mlfront.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten",
           "Embedding", "Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "RNN",
           "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "ConvLSTM1D", "ConvLSTM2D"]

# convolution, pooling and spatial layers (with their Keras aliases)
__all__ += ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
            "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
            "Convolution3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
            "SeparableConvolution1D", "SeparableConvolution2D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
            "AveragePooling2D", "AveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D",
            "AvgPool3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
            "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
            "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "ZeroPadding1D",
            "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D",
            "UpSampling2D", "UpSampling3D"]

# normalization, reshaping, merging and attention layers (with Keras's functional merge forms)
from mlfront.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,  # noqa: E402
                                          UnitNormalization)
from mlfront.layers.reshaping import Lambda, Permute, RepeatVector, Reshape  # noqa: E402
from mlfront.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,  # noqa: E402
                                    Subtract, add, average, concatenate, dot, maximum, minimum, multiply,
                                    subtract)
from mlfront.layers.attention import AdditiveAttention, Attention, MultiHeadAttention  # noqa: E402
from mlfront.layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax  # noqa: E402
from mlfront.layers.regularization import (ActivityRegularization, AlphaDropout, GaussianDropout,  # noqa: E402
                                           GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)

__all__ += ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Reshape", "Permute", "RepeatVector", "Lambda", "Add",
            "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
            "multiply", "average", "maximum", "minimum", "concatenate", "dot", "MultiHeadAttention", "Attention", "AdditiveAttention", "ReLU",
            "LeakyReLU", "PReLU", "ELU", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
            "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"]

# preprocessing layers (numeric and image), and Keras 2's `layers.experimental.preprocessing` spelling
from mlfront.layers.preprocessing import (CategoryEncoding, CenterCrop, Discretization, Normalization,  # noqa: E402
                                          RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
                                          RandomTranslation, RandomZoom, Rescaling, Resizing)
from mlfront.layers.preprocessing import Hashing, IntegerLookup, StringLookup, TextVectorization  # noqa: E402
from mlfront.layers import experimental  # noqa: E402

__all__ += ["Normalization", "Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
            "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "CategoryEncoding",
            "Discretization", "experimental"]
__all__ += ["Hashing", "IntegerLookup", "StringLookup", "TextVectorization"]

# ops on symbolic tensors (`K.concatenate([a, b])`, `a + b`, `x[:, 0]`) record OpLayer nodes
from mlfront.layers.op_layer import OpLayer  # noqa: E402

__all__ += ["OpLayer"]
