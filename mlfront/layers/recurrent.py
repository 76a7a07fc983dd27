"""Recurrent layers: SimpleRNN, LSTM, GRU, and the Bidirectional and TimeDistributed wrappers.

Weights follow Keras's layout (so weights saved by Keras load unchanged): `kernel` (features, gates * units),
`recurrent_kernel` (units, gates * units) and `bias`, with gates i, f, c, o for LSTM and z, r, h for GRU.
The cells themselves are Backend composites (`simple_rnn`, `lstm`, `gru`) that an engine may run as a fused
kernel; these layers handle arguments, initial states, dropout masks and output shapes.
"""

import numpy as np

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import initializers as _initializers
from mlfront.layers.base import Layer, check_seed, next_key, positive_int, resolve_training, serialized
from mlfront.saving.serialization import (deserialize_keras_object, expect_instance, layer_objects,
                                          serialize_keras_object)


class _Recurrent(Layer):
    """Shared machinery of SimpleRNN, LSTM and GRU.

    Args (common to the three layers):
        units: size of the output and of each state.
        activation / recurrent_activation: the cell's activations (None: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer / recurrent_initializer / bias_initializer: initializers of the weights.
        kernel_regularizer / recurrent_regularizer / bias_regularizer: penalties added to the loss.
        activity_regularizer: a penalty on the layer's output (stored; the layer base adds it to the loss).
        kernel_constraint / recurrent_constraint / bias_constraint: projections applied to the weights after
            each optimizer step.
        dropout: fraction of the inputs dropped in training (one mask per sequence).
        seed: seeds the layer's own random stream for its dropout masks in calls outside a training step.
        recurrent_dropout: fraction of the previous state dropped before the recurrent product in training
            (one mask per sequence).
        return_sequences: return the output of every step (batch, time, units) rather than the last one.
        return_state: also return the final states, as `[output, *states]`.
        go_backwards: process the sequence from its end; returned sequences are then in that reversed order.
        stateful: only False is supported.
        unroll, implementation: accepted for Keras compatibility; they choose how Keras computes the same
            result (an unrolled loop, fewer larger products), so the engine's loop gives identical outputs.
        zero_output_for_mask: output zeros at masked steps instead of repeating the previous output.
        time_major: Keras 2's flag for (time, batch, ...) inputs; only False is supported.

    Call arguments: `inputs` (batch, time, features), `initial_state` (a list of arrays, one per state;
    zeros by default), `mask` (batch, time) of booleans, `training`.
    """

    _gates = 1
    _state_names = ("h",)

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                 recurrent_activation=None, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, implementation=None, input_dim=None, input_length=None,
                 time_major=False, seed=None, **kwargs):
        if input_dim is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length, input_dim)  # Keras 2 spelling
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.seed = check_seed(seed, f"{kind} '{self.name}'")  # seeds standalone calls' dropout masks
        units = positive_int(units, "units", f"{kind} '{self.name}'")
        if time_major:
            raise NotImplementedError(f"{kind} '{self.name}': `time_major=True` (Keras 2) is not supported; "
                                      f"pass inputs as (batch, time, features).")
        if stateful:
            raise ValueError(f"{kind} '{self.name}': stateful=True is not supported (states are not carried "
                             f"between batches); use stateful=False and pass `initial_state=` instead.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{kind} '{self.name}': `{arg}` must be in [0, 1), got {rate!r}.")
        self.units = units
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = False
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.implementation = implementation
        self.supports_masking = True

    # ------------------------------------------------------------------ weights
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [sequences, *initial_states]
            input_shape = input_shape[0]
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected ndim=3 (batch, time, features), found "
                             f"ndim={len(input_shape)}: input shape {tuple(input_shape)}.")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the features dimension of the input must be "
                             f"known, got input shape {tuple(input_shape)}.")
        width = self._gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, width), self.kernel_initializer,
                                      self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer, self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(), self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    # ------------------------------------------------------------------ calling
    def _cell(self, inputs, states, mask, recurrent_dropout_mask):
        """(outputs (batch, time, units), final states) of the Backend composite for this cell."""
        raise NotImplementedError

    def _option(self, activation, default):
        """None when `activation` is the cell's default (lets an engine use its fused kernel)."""
        return None if activation is default else activation

    def _initial_state(self, inputs, initial_state):
        B = _backend.get()
        count = len(self._state_names)
        if initial_state is None:
            # (batch, units) by broadcasting, since the batch size may be dynamic (None) when traced for export
            zeros = B.zeros_like(inputs[:, 0, :1]) + B.zeros((self.units,), B.dtype(inputs))
            return [zeros] * count
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != count:
            raise ValueError(f"{type(self).__name__} '{self.name}': `initial_state` must hold {count} array(s) "
                             f"({', '.join(self._state_names)}), got {len(states)}.")
        return [B.convert(s) for s in states]

    def _dropout_mask(self, batch, size, rate):
        B = _backend.get()
        return B.dropout(next_key(self), B.ones((batch, size)), rate)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        B = _backend.get()
        if isinstance(inputs, (list, tuple)):  # Keras 2 style: [sequences, *initial_states]
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        states = self._initial_state(inputs, initial_state)
        if mask is not None:
            mask = B.cast(mask, "bool")
        batch, _, features = B.shape(inputs)
        recurrent_dropout_mask = None
        if resolve_training(training):
            if self.dropout > 0:
                inputs = inputs * B.expand_dims(self._dropout_mask(batch, features, self.dropout), 1)
            if self.recurrent_dropout > 0:
                recurrent_dropout_mask = self._dropout_mask(batch, self.units, self.recurrent_dropout)
        outputs, states = self._cell(inputs, states, mask, recurrent_dropout_mask)
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output] + list(states) if self.return_state else output

    def _options(self, mask, recurrent_dropout_mask):
        return dict(mask=mask, go_backwards=self.go_backwards,
                    zero_output_for_mask=self.zero_output_for_mask and self.return_sequences,
                    recurrent_dropout_mask=recurrent_dropout_mask)

    # ------------------------------------------------------------------ shapes, masks, configuration
    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):  # [sequences, *initial_states]
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * len(self._state_names)
        return output

    def compute_mask(self, inputs, mask=None):
        return output_mask(mask, self.return_sequences, self.return_state, len(self._state_names))

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                  **serialized(kernel_initializer=self.kernel_initializer,
                               recurrent_initializer=self.recurrent_initializer,
                               bias_initializer=self.bias_initializer, kernel_regularizer=self.kernel_regularizer,
                               recurrent_regularizer=self.recurrent_regularizer,
                               bias_regularizer=self.bias_regularizer,
                               activity_regularizer=self.activity_regularizer,
                               kernel_constraint=self.kernel_constraint,
                               recurrent_constraint=self.recurrent_constraint,
                               bias_constraint=self.bias_constraint),
                  "dropout": self.dropout, "seed": self.seed,
                  "recurrent_dropout": self.recurrent_dropout, "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": self.zero_output_for_mask}
        if self.implementation is not None:
            config["implementation"] = self.implementation
        return config


class SimpleRNN(_Recurrent):
    """Fully connected RNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Args: `units`, `activation="tanh"`, `use_bias=True`, `kernel_initializer="glorot_uniform"`,
    `recurrent_initializer="orthogonal"`, `bias_initializer="zeros"`, and the arguments common to the recurrent
    layers (regularizers, `dropout`, `recurrent_dropout`, `return_sequences`, `return_state`, `go_backwards`,
    ...; see `LSTM`). State: `[h]`.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         **kwargs)

    def _cell(self, inputs, states, mask, recurrent_dropout_mask):
        return _backend.get().simple_rnn(
            inputs, states, self.kernel.value, self.recurrent_kernel.value, _value(self.bias),
            activation=self._option(self.activation, _activations.tanh),
            **self._options(mask, recurrent_dropout_mask))


class LSTM(_Recurrent):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997), Keras's gate layout i, f, c, o.

    Args:
        units: size of the output and of the states h and c.
        activation: of the cell candidate and the output ("tanh").
        recurrent_activation: of the gates ("sigmoid").
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
            bias_initializer ("zeros").
        unit_forget_bias: start the forget gate's bias at 1 (as Jozefowicz et al. 2015 recommend).
        **kwargs: the arguments common to the recurrent layers: kernel/recurrent/bias regularizers, `dropout`,
            `recurrent_dropout`, `return_sequences`, `return_state`, `go_backwards`, `stateful` (False only),
            `unroll`, `zero_output_for_mask`, and the base layer's `name`, `input_shape`, ...

    States: `[h, c]`. With the default activations and neither mask nor recurrent dropout an engine may run
    its fused LSTM kernel.
    """

    _gates = 4
    _state_names = ("h", "c")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = _initializers.get(self.bias_initializer), self.units

        def forget_bias_one(shape, dtype="float32"):
            return np.concatenate([base((units,), dtype), np.ones((units,), dtype),
                                   base((2 * units,), dtype)]).astype(dtype)
        return forget_bias_one

    def _cell(self, inputs, states, mask, recurrent_dropout_mask):
        return _backend.get().lstm(
            inputs, states, self.kernel.value, self.recurrent_kernel.value, _value(self.bias),
            activation=self._option(self.activation, _activations.tanh),
            recurrent_activation=self._option(self.recurrent_activation, _activations.sigmoid),
            **self._options(mask, recurrent_dropout_mask))

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated Recurrent Unit (Cho et al., 2014), Keras's gate layout z, r, h.

    Args:
        units, activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, kernel_initializer
            ("glorot_uniform"), recurrent_initializer ("orthogonal"), bias_initializer ("zeros").
        reset_after: apply the reset gate after the recurrent product (True: the cuDNN-compatible variant,
            with separate input and recurrent biases, bias shape (2, 3 * units)); False: before it, with one
            bias (3 * units,).
        **kwargs: the arguments common to the recurrent layers (see `LSTM`).

    State: `[h]`.
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 reset_after=True, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _cell(self, inputs, states, mask, recurrent_dropout_mask):
        return _backend.get().gru(
            inputs, states, self.kernel.value, self.recurrent_kernel.value, _value(self.bias),
            reset_after=self.reset_after, activation=self._option(self.activation, _activations.tanh),
            recurrent_activation=self._option(self.recurrent_activation, _activations.sigmoid),
            **self._options(mask, recurrent_dropout_mask))

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


def output_mask(mask, return_sequences, return_state, state_count):
    """The output mask of a recurrent layer: the input's time mask for returned sequences (None for the last
    step only), followed by None for each returned state."""
    if isinstance(mask, (list, tuple)):  # [sequences, *initial_states]
        mask = mask[0]
    sequence_mask = mask if return_sequences else None
    return [sequence_mask] + [None] * state_count if return_state else sequence_mask


def _value(variable):
    return None if variable is None else variable.value


def _strip_prefix(name):
    for prefix in ("forward_", "backward_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _layer_config(layer):
    return serialize_keras_object(layer)


def _layer_from_config(spec, custom_objects=None):
    if isinstance(spec, Layer):
        return spec
    layer = deserialize_keras_object(spec, custom_objects, module_objects=layer_objects())
    return expect_instance(layer, Layer, "wrapped layer config")


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards over the sequence, and merges their outputs.

    Args:
        layer: the recurrent layer (SimpleRNN, LSTM, GRU); it is re-created from its config (new weights).
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (return both outputs as a list).
        backward_layer: optional layer for the backward direction (its `go_backwards` must differ from
            `layer`'s, and `return_sequences` / `return_state` must match).

    With `return_state`, returns `[output(s)..., *forward_states, *backward_states]`. An `initial_state`
    list is split in halves: forward states first. With `return_sequences`, masked steps output zeros.
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, weights=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: `layer` must be a Layer instance, got {layer!r}.")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Bidirectional: `merge_mode` must be one of 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}.")
        if layer._declared_input_shape is not None and not {"input_shape", "batch_input_shape"} & set(kwargs):
            kwargs["batch_input_shape"] = layer._declared_input_shape
        super().__init__(**kwargs)
        config = layer.get_config()
        config.pop("batch_input_shape", None)
        base_name = _strip_prefix(layer.name)
        self.forward_layer = type(layer).from_config({**config, "name": "forward_" + base_name})
        if backward_layer is None:
            backward_layer = type(layer).from_config({**config, "name": "backward_" + base_name,
                                                      "go_backwards": not layer.go_backwards})
        self.backward_layer = backward_layer
        for attr in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, attr) != getattr(backward_layer, attr):
                raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have the same "
                                 f"`{attr}`, got {getattr(self.forward_layer, attr)} and "
                                 f"{getattr(backward_layer, attr)}.")
        if self.forward_layer.go_backwards == backward_layer.go_backwards:
            raise ValueError(f"Bidirectional '{self.name}': the backward layer must have go_backwards="
                             f"{not self.forward_layer.go_backwards}, got {backward_layer.go_backwards}.")
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = False
        self._initial_weights = weights
        self.supports_masking = True

    def build(self, input_shape):
        for direction in (self.forward_layer, self.backward_layer):
            direction._maybe_build(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(self, inputs, initial_state=None, mask=None, training=None):
        B = _backend.get()
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = B.flip(y_rev, 1)
        output = self._merge(y, y_rev)
        if not self.return_state:
            return output
        return (output if self.merge_mode is None else [output]) + states

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return _backend.get().concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "mul":
            return y * y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2.0
        return [y, y_rev]

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (2 * shape[-1],)
        outputs = [tuple(shape), tuple(shape)] if self.merge_mode is None else [tuple(shape)]
        if self.return_state:
            return outputs + states + states
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            return masks + [None] * (2 * len(self.forward_layer._state_names))
        return masks if self.merge_mode is None else output_mask

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": _layer_config(self.forward_layer), "backward_layer": _layer_config(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _layer_from_config(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _layer_from_config(config["backward_layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Layer):
    """Applies `layer` to every time step (axis 1) of its input, with the same weights.

    Args:
        layer: the layer to apply (e.g. `Dense`); it sees inputs of shape (batch * time, ...).

    Input shape: `(batch, time, ...)`. Output shape: `(batch, time) + layer's output shape per step`.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer instance, got {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _step_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': expected inputs of rank 3 or more (batch, time, ...), "
                             f"got shape {tuple(input_shape)}.")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._step_shape(input_shape))
        self.built = True

    def call(self, inputs, training=None, mask=None):
        B = _backend.get()
        shape = B.shape(inputs)
        kwargs = {}
        if self.layer._call_takes_training:
            kwargs["training"] = training
        if mask is not None and self.layer._call_takes_mask:
            kwargs["mask"] = B.reshape(mask, (-1,) + tuple(B.shape(mask)[2:]))
        outputs = self.layer(B.reshape(inputs, (-1,) + tuple(shape[2:])), **kwargs)
        return B.reshape(outputs, tuple(shape[:2]) + tuple(B.shape(outputs)[1:]))

    def compute_output_shape(self, input_shape):
        step = self.layer.compute_output_shape(self._step_shape(input_shape))
        return tuple(input_shape[:2]) + tuple(step[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _layer_config(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _layer_from_config(config["layer"], custom_objects)
        return cls(**config)


# Keras 2's `keras.layers.recurrent` also held the generic RNN and the cells. Imported last: mlfront.layers.rnn
# itself imports from this module.
from mlfront.layers.rnn import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells  # noqa: E402,F401
