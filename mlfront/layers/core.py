"""Core layers: Input, Dense, Activation, Dropout, Flatten."""

import math

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import initializers as _initializers
from mlfront import regularizers as _regularizers
from mlfront.backend import config as _config
from mlfront.layers.base import Layer, check_seed, is_int, next_key, positive_int, resolve_training, serialized
from mlfront.layers.graph import Node, SymbolicTensor


class InputLayer(Layer):
    """The entry point of a model: produces the symbolic tensor that `Input` returns."""

    # `shape` is folded into `batch_shape`, as in Keras's config; `ragged` / `optional` (Keras 2 / 3 flags,
    # only False is supported) are read from configs but not written
    _not_in_config = ("shape", "ragged", "optional")

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, batch_input_shape=None, sparse=None, ragged=None, optional=False, **kwargs):
        if batch_shape is None:
            batch_shape = batch_input_shape
        if batch_shape is None:
            shape = shape if shape is not None else input_shape
            if shape is None:
                raise ValueError("Input: give `shape` (without the batch dimension) or `batch_shape`.")
            shape = (int(shape),) if is_int(shape) else tuple(int(d) if is_int(d) else d for d in shape)
            batch_shape = (batch_size,) + shape
        for flag, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise NotImplementedError(f"Input: `{flag}=True` is not supported by mlfront.")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.sparse = False
        self.batch_shape = tuple(batch_shape)
        self.built = True
        node = Node(self, [], (), {}, None)
        node.outputs = SymbolicTensor(self.batch_shape, self.dtype, node, 0, name=self.name)
        self._inbound_nodes.append(node)
        self.output = node.outputs

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": self.sparse, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A symbolic input of `shape` (without the batch dimension), to build models with the Functional API."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape,
                      **kwargs).output


def _no_quantization(layer, quantization_config):
    """Keras 3 configs carry `quantization_config` (None: not quantized); quantized layers are not supported."""
    if quantization_config is not None:
        raise NotImplementedError(f"{type(layer).__name__} '{layer.name}': quantization_config="
                                  f"{quantization_config!r} (a quantized layer) is not supported; only None is.")


class Dense(Layer):
    """`activation(inputs @ kernel + bias)`, applied to the last axis.

    Args:
        units: output size.
        activation: name or function (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer: initializers of the weights.
        kernel_regularizer / bias_regularizer: penalties added to the loss.
        activity_regularizer: a penalty on the layer's output (stored; the layer base adds it to the loss).
        kernel_constraint / bias_constraint: projections applied to the weights after each optimizer step.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, quantization_config=None,
                 **kwargs):
        super().__init__(**kwargs)
        _no_quantization(self, quantization_config)
        self.units = positive_int(units, "units", f"Dense '{self.name}'")
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Dense '{self.name}': expected min_ndim=2 (batch, ..., features), found "
                             f"ndim={len(input_shape)}: input shape {tuple(input_shape)}.")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the input must be known, "
                             f"got input shape {tuple(input_shape)}.")
        self.input_dim = input_dim
        self.kernel = self.add_weight("kernel", (input_dim, self.units), self.kernel_initializer,
                                      self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        B = _backend.get()
        outputs = B.affine(inputs, self.kernel.value, self.bias.value if self.use_bias else None)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        if input_shape[-1] != self.input_dim:
            raise ValueError(f"Dense '{self.name}': expected inputs with last dimension {self.input_dim}, "
                             f"got shape {tuple(input_shape)}.")
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "quantization_config": None,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialized(kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer,
                             kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
                             activity_regularizer=self.activity_regularizer,
                             kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint)}


class Activation(Layer):
    """Applies an activation function (by name or function) to its input."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction `rate` of its inputs in training and scales the rest by 1 / (1 - rate).

    Its randomness comes from the key stream of the training step, so the compiled step stays pure.

    Args:
        rate: the fraction of inputs dropped, in [0, 1).
        noise_shape: the shape of the keep/drop mask, broadcast over the input (e.g. `(batch, 1, features)`
            drops the same features at every time step); None entries take the input's size.
        seed: seeds the layer's own random stream for calls outside a training step (reproducible standalone
            masks, as in Keras); inside `fit` the step's key stream (from the global seed) supplies them.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': `rate` must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = check_seed(seed, f"Dropout '{self.name}'")
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not resolve_training(training) or self.rate == 0:
            return inputs
        B = _backend.get()
        shape = self._mask_shape(inputs)
        if shape is None:
            return B.dropout(next_key(self), inputs, self.rate)
        keep = B.random_uniform(next_key(self), shape, dtype=B.dtype(inputs)) >= self.rate
        return B.where(keep, inputs / (1.0 - self.rate), B.zeros_like(inputs))

    def _mask_shape(self, inputs):
        """The keep/drop mask's shape (broadcast over the input), or None for one draw per entry."""
        if self.noise_shape is None:
            return None
        return tuple(size if n is None else n for n, size in zip(self.noise_shape, _backend.get().shape(inputs)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs):
        B = _backend.get()
        if (self.data_format or _config.image_data_format()) == "channels_first" and len(B.shape(inputs)) > 2:
            inputs = B.transpose(inputs, (0,) + tuple(range(2, len(B.shape(inputs)))) + (1,))
        return B.flatten_batch(inputs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


# Keras 2's `keras.layers.core` also held these; `from mlfront.layers.core import Reshape, Lambda` keeps working.
from mlfront.layers.embedding import Masking  # noqa: E402,F401
from mlfront.layers.reshaping import Lambda, Permute, RepeatVector, Reshape  # noqa: E402,F401
