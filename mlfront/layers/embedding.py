"""Embedding (integer indices to dense vectors) and Masking (skip padded time steps)."""

from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import initializers as _initializers
from mlfront import regularizers as _regularizers
from mlfront.layers.base import Layer, positive_int
from mlfront.layers.core import _no_quantization, serialized


class Embedding(Layer):
    """Turns integer indices into dense vectors: row `i` of an `(input_dim, output_dim)` table.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: size of each vector.
        embeddings_initializer: initializer of the table ("uniform": uniform in [-0.05, 0.05]).
        embeddings_regularizer: penalty on the table, added to the loss.
        embeddings_constraint: a projection applied to the table after each optimizer step.
        activity_regularizer: a penalty on the layer's output (stored; the layer base adds it to the loss).
        mask_zero: whether index 0 is padding; the layer then outputs a mask (`inputs != 0`) that masking
            layers downstream (LSTM, GRU, ...) use to skip those steps. `input_dim` should then count index 0.
        weights: optional initial value, a list holding the table.
        input_length: Keras 2 spelling of the (fixed) sequence length of a model's first layer.

    Input shape: `(batch, ...)` integers. Output shape: `(batch, ..., output_dim)`.
    """

    _reads_indices = True  # fit/predict keep its integer inputs integers

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, input_length=None,
                 quantization_config=None, activity_regularizer=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,) if isinstance(input_length, int) else tuple(input_length)
        super().__init__(**kwargs)
        _no_quantization(self, quantization_config)
        self.input_dim = positive_int(input_dim, "input_dim", f"Embedding '{self.name}'")
        self.output_dim = positive_int(output_dim, "output_dim", f"Embedding '{self.name}'")
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = embeddings_regularizer
        self.embeddings_constraint = _constraints.get(embeddings_constraint)
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self._initial_weights = weights
        self.supports_masking = True

    def build(self, input_shape=None):
        initializer = self.embeddings_initializer
        if isinstance(initializer, str) and initializer.lower() == "uniform":
            initializer = _initializers.RandomUniform(-0.05, 0.05)
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim), initializer,
                                          self.embeddings_regularizer, constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(self, inputs):
        B = _backend.get()
        if B.dtype(inputs) not in ("int32", "int64"):
            inputs = B.cast(inputs, "int32")
        return B.take(self.embeddings.value, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        return inputs != 0 if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "quantization_config": None,
                **serialized(embeddings_initializer=self.embeddings_initializer,
                             activity_regularizer=self.activity_regularizer,
                             embeddings_regularizer=self.embeddings_regularizer,
                             embeddings_constraint=self.embeddings_constraint), "mask_zero": self.mask_zero}


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value`; zeroes them and passes the mask on.

    Args:
        mask_value: the padding value.

    Input shape: `(batch, time, features)`. The mask is `any(inputs != mask_value, axis=-1)`.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs):
        B = _backend.get()
        differs = B.cast(inputs != self.mask_value, B.dtype(inputs))
        return B.max(differs, axis=-1, keepdims=True)

    def call(self, inputs):
        return inputs * self._keep(inputs)

    def compute_mask(self, inputs, mask=None):
        return _backend.get().squeeze(self._keep(inputs), -1) > 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
