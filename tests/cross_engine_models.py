"""The models of the cross-engine saving check: together they hold every public layer class of mlfront.

`tests/fixtures/make_cross_engine_fixtures.py` builds each model on one engine, gives every weight a seeded
random value, and saves the model (`.keras`), its inputs and its predictions; `tests/test_cross_engine.py`
loads the files written on every engine and checks the predictions on its own engine.
"""

import numpy as np

import mlfront
from mlfront import layers
from mlfront.saving import register_keras_serializable

_PACKAGE = "cross_engine"


@register_keras_serializable(package=_PACKAGE)
def halve(x):
    """A registered function for the Lambda layer (a loaded Lambda needs `safe_mode=False`)."""
    return x * 0.5


@register_keras_serializable(package=_PACKAGE)
class Residual(mlfront.Model):
    """A subclassed model: a Dense layer plus a skip connection."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units, activation="tanh")

    def call(self, inputs):
        return self.dense(inputs) + inputs

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _vectors():
    inputs = layers.Input(shape=(6,), name="vector")
    x = layers.Normalization(mean=[0.5] * 6, variance=[2.0] * 6)(inputs)
    a = layers.Dense(4, activation="relu")(x)
    b = layers.Dense(4)(layers.Dropout(0.5)(x))
    merged = [layers.Add()([a, b]), layers.Subtract()([a, b]), layers.Multiply()([a, b]), layers.Average()([a, b]),
              layers.Maximum()([a, b]), layers.Minimum()([a, b]), layers.Dot(axes=1)([a, b])]
    x = layers.Concatenate()(merged)
    x = layers.BatchNormalization()(x)
    x = layers.LayerNormalization()(x)
    x = layers.Activation("tanh")(x)
    x = layers.Lambda(halve)(x)
    x = x + 0.1 * mlfront.backend.square(x[:, ::-1])  # ops on symbolic tensors: OpLayer nodes
    nested = mlfront.Sequential([layers.Input(shape=(25,)), layers.Dense(3)], name="nested")
    return mlfront.Model(inputs, Residual()(nested(x)), name="vectors"), [(6,)]


def _sequences():
    inputs = layers.Input(shape=(6, 3), name="sequence")
    x = layers.Masking(mask_value=9.0)(inputs)
    x = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(x)
    x = layers.GRU(3, return_sequences=True)(x)
    x = layers.SimpleRNN(3, return_sequences=True)(x)
    x = layers.TimeDistributed(layers.Dense(4))(x)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=2)(x, x)
    conv = layers.Conv1D(4, 2, padding="same")(x)
    conv = layers.Conv1DTranspose(2, 3)(layers.Cropping1D((1, 1))(layers.ZeroPadding1D(1)(conv)))
    pooled = layers.UpSampling1D(2)(layers.AveragePooling1D(2)(layers.MaxPooling1D(1)(conv)))
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(pooled), layers.GlobalMaxPooling1D()(pooled)])
    x = layers.Flatten()(layers.Permute((2, 1))(layers.Reshape((2, 2))(x)))
    x = layers.LSTM(2)(layers.RepeatVector(3)(x))
    return mlfront.Model(inputs, x, name="sequences"), [(6, 3)]


def _images():
    inputs = layers.Input(shape=(10, 10, 2), name="image")
    x = layers.Rescaling(0.5, offset=0.1)(inputs)
    for random_layer in (layers.RandomFlip(), layers.RandomRotation(0.1), layers.RandomZoom(0.1),
                         layers.RandomTranslation(0.1, 0.1), layers.RandomContrast(0.1), layers.RandomBrightness(0.1),
                         layers.RandomCrop(10, 10)):
        x = random_layer(x)  # the identity at inference
    x = layers.Resizing(8, 8)(layers.CenterCrop(9, 9)(x))
    x = layers.Conv2D(3, 3, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(2, 2, strides=2)(layers.MaxPooling2D()(x))
    x = layers.AveragePooling2D()(layers.Cropping2D(1)(layers.ZeroPadding2D(1)(x)))
    x = layers.UpSampling2D()(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    return mlfront.Model(inputs, x, name="images"), [(10, 10, 2)]


def _volumes():
    inputs = layers.Input(shape=(4, 4, 4, 1), name="volume")
    x = layers.Conv3D(2, 2, padding="same")(inputs)
    x = layers.Conv3DTranspose(2, 2, strides=2)(layers.MaxPooling3D()(x))
    x = layers.AveragePooling3D()(layers.Cropping3D(1)(layers.ZeroPadding3D(1)(x)))
    x = layers.UpSampling3D()(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling3D()(x), layers.GlobalMaxPooling3D()(x)])
    return mlfront.Model(inputs, x, name="volumes"), [(4, 4, 4, 1)]


def _tokens():
    tokens = layers.Input(shape=(5,), dtype="int32", name="tokens")
    values = layers.Input(shape=(3,), name="values")
    embedded = layers.GlobalAveragePooling1D()(layers.Embedding(12, 3)(tokens))
    counts = layers.CategoryEncoding(num_tokens=12, output_mode="count")(tokens)
    looked_up = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(
        layers.IntegerLookup(vocabulary=[1, 3, 5])(tokens))
    hashed = layers.CategoryEncoding(num_tokens=5, output_mode="multi_hot")(layers.Hashing(num_bins=5)(tokens))
    bins = layers.CategoryEncoding(num_tokens=3, output_mode="multi_hot")(
        layers.Discretization(bin_boundaries=[-0.5, 0.5])(values))
    outputs = layers.Dense(2)(layers.Concatenate()([embedded, counts, looked_up, hashed, bins]))
    return mlfront.Model([tokens, values], outputs, name="tokens"), [(5,), (3,)]


def _strings():
    model = mlfront.Sequential([layers.Input(shape=(1,), dtype="string"),
                                layers.TextVectorization(vocabulary=["the", "cat", "sat"], output_mode="count"),
                                layers.Dense(2)], name="text")
    words = mlfront.Sequential([layers.Input(shape=(3,), dtype="string"),
                                layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="count"),
                                layers.Dense(2)], name="words")
    return model, words


def _catalogue():
    """The activation, noise, grouped / depthwise / separable convolution, attention, cell and ConvLSTM layers."""
    inputs = layers.Input(shape=(6, 6, 4), name="image")
    x = layers.Conv2D(4, 3, padding="same", groups=2)(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = layers.SeparableConv2D(4, 3, depth_multiplier=2)(layers.SpatialDropout2D(0.2)(x))
    x = layers.PReLU(shared_axes=[1, 2])(layers.GroupNormalization(groups=2)(x))
    x = layers.ELU(0.5)(layers.LeakyReLU(0.1)(layers.ReLU(max_value=2.0)(x)))
    volume = layers.SpatialDropout3D(0.1)(layers.Reshape((2, 2, 4, 4))(x))
    convlstm = layers.Flatten()(layers.ConvLSTM2D(2, 2, padding="same")(volume))
    signal = layers.Flatten()(layers.ConvLSTM1D(2, 2)(layers.Reshape((4, 4, 4))(x)))
    seq = layers.SpatialDropout1D(0.1)(layers.Reshape((16, 4))(x))
    seq = layers.DepthwiseConv1D(3, padding="same")(layers.SeparableConv1D(4, 3, padding="same")(seq))
    attended = layers.Attention(use_scale=True)([seq, seq])
    seq = layers.AdditiveAttention()([seq, attended])
    seq = layers.RNN([layers.SimpleRNNCell(3), layers.LSTMCell(3)], return_sequences=True)(seq)
    seq = layers.RNN(layers.GRUCell(3))(layers.GaussianNoise(0.1)(seq))
    x = layers.Concatenate()([convlstm, signal, seq])
    x = layers.AlphaDropout(0.1)(layers.GaussianDropout(0.1)(layers.ActivityRegularization(l2=0.01)(x)))
    x = layers.Softmax()(layers.UnitNormalization()(layers.Dense(4)(x)))
    return mlfront.Model(inputs, x, name="catalogue"), [(6, 6, 4)]


MODELS = {"vectors": _vectors, "sequences": _sequences, "images": _images, "volumes": _volumes, "tokens": _tokens,
          "catalogue": _catalogue}
TEXT = ["the cat sat", "a cat", "sat sat on the mat"]
WORDS = [["a", "b", "x"], ["c", "c", "a"], ["z", "b", "b"]]


def build(name):
    """(model, inputs) of catalogue entry `name`, with seeded random weights (positive for variances)."""
    rng = np.random.default_rng(len(name))
    if name in ("text", "words"):
        model = _strings()[0 if name == "text" else 1]
        inputs = [np.array([[t] for t in TEXT])] if name == "text" else [np.array(WORDS)]
    else:
        model, shapes = MODELS[name]()
        inputs = [rng.integers(0, 12, size=(4, *s)).astype("int32") if s == (5,) else
                  rng.normal(size=(4, *s)).astype("float32") for s in shapes]
    weights = []
    for variable in model.weights:
        low, high = (0.5, 1.5) if "variance" in variable.path else (-0.5, 0.5)
        weights.append(rng.uniform(low, high, size=variable.shape).astype(variable.dtype))
    model.set_weights(weights)
    return model, inputs


NAMES = [*MODELS, "text", "words"]
