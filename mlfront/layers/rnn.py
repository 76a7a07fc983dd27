"""The generic recurrent layer `RNN(cell)` and its cells: SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells.

A cell computes one time step: `cell(inputs_t, states) -> (output_t, new_states)`, with `state_size` (an int or a
list of ints) and optionally `output_size`. `RNN` loops it over the time axis of `(batch, time, features)` inputs,
with masking, `go_backwards`, initial states and returned states as the LSTM / GRU layers have them. The stock
cells keep the weights and formulas of those layers (Keras's layout) and, alone in an `RNN`, run through the same
Backend sequence composites (`simple_rnn`, `lstm`, `gru`), so an engine's fused kernel serves `RNN(LSTMCell(n))`
as it serves `LSTM(n)`; custom cells and `StackedRNNCells` run step by step through `Backend.scan`.
"""

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront.layers.base import Layer, check_seed, next_key, positive_int, resolve_training, serialized
from mlfront.layers.recurrent import LSTM, _layer_config, _layer_from_config, output_mask


def _sizes(state_size):
    """`state_size` (an int or a list of ints) as a list of ints."""
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


class _StockCell(Layer):
    """Shared machinery of the three stock cells: Keras's weights, dropout and the one-step call.

    Args (common): units; activation (and recurrent_activation for the gated cells); use_bias; the kernel,
    recurrent and bias initializers, regularizers and constraints; dropout (of the inputs) and recurrent_dropout
    (of the previous state), each one mask per sequence inside `RNN`, a new one per call when called alone; seed
    (the layer's own random stream outside a training step).
    """

    _gates = 1
    _sequence_op = None  # the Backend composite for a whole sequence

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, recurrent_activation=None,
                 **kwargs):
        super().__init__(**kwargs)
        kind = f"{type(self).__name__} '{self.name}'"
        self.units = positive_int(units, "units", kind)
        for argument, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ValueError(f"{kind}: `{argument}` must be in [0, 1), got {rate!r}.")
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation) if recurrent_activation else None
        self.use_bias = use_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = check_seed(seed, kind)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the features dimension of the input must be "
                             f"known, got input shape {tuple(input_shape)}.")
        width = self._gates * self.units
        self.kernel = self.add_weight("kernel", (features, width), self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer,
                                                self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(), self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def dropout_masks(self, batch, features, training):
        """(input mask, recurrent mask): 1 / (1 - rate)-scaled keep masks in training, None where not used."""
        if not resolve_training(training):
            return None, None
        B = _backend.get()
        input_mask = B.dropout(next_key(self), B.ones((batch, features)), self.dropout) if self.dropout else None
        recurrent_mask = B.dropout(next_key(self), B.ones((batch, self.units)), self.recurrent_dropout) \
            if self.recurrent_dropout else None
        return input_mask, recurrent_mask

    def call(self, inputs, states, training=None):
        """One step: `(output, new_states)` for `inputs` (batch, features) and the list of previous states."""
        B = _backend.get()
        single = not isinstance(states, (list, tuple))
        states = [states] if single else list(states)
        input_mask, recurrent_mask = self.dropout_masks(B.shape(inputs)[0], B.shape(inputs)[-1], training)
        output, new_states = self.step(inputs, states, input_mask, recurrent_mask)
        return output, (new_states[0] if single and len(new_states) == 1 else new_states)

    def step(self, inputs, states, input_mask=None, recurrent_mask=None):
        """One step with the given dropout masks (RNN passes one pair for the whole sequence)."""
        B = _backend.get()
        if input_mask is not None:
            inputs = inputs * input_mask
        bias = None if self.bias is None else self.bias.value
        # the sequence composite on a one-step sequence: the same formulas as the layers, in one place
        outputs, new_states = self._sequence_op(B)(
            B.expand_dims(inputs, 1), states, self.kernel.value, self.recurrent_kernel.value, bias,
            recurrent_dropout_mask=recurrent_mask, **self._op_options())
        return outputs[:, 0], list(new_states)

    def sequence(self, inputs, states, mask, go_backwards, zero_output_for_mask, training):
        """(outputs (batch, time, units), final states) of the whole sequence through the Backend composite."""
        B = _backend.get()
        batch, _, features = B.shape(inputs)
        input_mask, recurrent_mask = self.dropout_masks(batch, features, training)
        if input_mask is not None:
            inputs = inputs * B.expand_dims(input_mask, 1)
        bias = None if self.bias is None else self.bias.value
        return self._sequence_op(B)(inputs, states, self.kernel.value, self.recurrent_kernel.value, bias, mask=mask,
                                    go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
                                    recurrent_dropout_mask=recurrent_mask, **self._op_options())

    def _op_options(self):
        return {"activation": None if self.activation is _activations.tanh else self.activation}

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": _activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **serialized(kernel_initializer=self.kernel_initializer,
                             recurrent_initializer=self.recurrent_initializer, bias_initializer=self.bias_initializer,
                             kernel_regularizer=self.kernel_regularizer,
                             recurrent_regularizer=self.recurrent_regularizer, bias_regularizer=self.bias_regularizer,
                             kernel_constraint=self.kernel_constraint, recurrent_constraint=self.recurrent_constraint,
                             bias_constraint=self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


class SimpleRNNCell(_StockCell):
    """The cell of SimpleRNN: `h = activation(x @ kernel + bias + h @ recurrent_kernel)`. State: `h`."""

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNNCell: unexpected keyword argument 'recurrent_activation'.")
        super().__init__(units, activation=activation, **kwargs)

    @staticmethod
    def _sequence_op(B):
        return B.simple_rnn


class _GatedCell(_StockCell):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, **kwargs)

    def _op_options(self):
        return {**super()._op_options(), "recurrent_activation": None if self.recurrent_activation is
                _activations.sigmoid else self.recurrent_activation}

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": _activations.serialize(self.recurrent_activation)}


class LSTMCell(_GatedCell):
    """The cell of LSTM (gates i, f, c, o). States: `[h, c]`. `unit_forget_bias` starts the forget gate's bias
    at 1."""

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    @property
    def state_size(self):
        return [self.units, self.units]

    _bias_initializer = LSTM._bias_initializer  # the forget-gate ones, as the LSTM layer builds them

    @staticmethod
    def _sequence_op(B):
        return B.lstm

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """The cell of GRU (gates z, r, h). State: `h`. `reset_after` as in GRU (bias (2, 3 * units) then)."""

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @staticmethod
    def _sequence_op(B):
        return B.gru

    def _op_options(self):
        return {**super()._op_options(), "reset_after": self.reset_after}

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Several cells as one: at each step the output of one cell is the input of the next; the states are all
    the cells' states in order, the output the last cell's."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells '{self.name}': `cells` must be a non-empty list of cells, got "
                             f"{cells!r}.")
        for cell in cells:
            _check_cell(cell, f"StackedRNNCells '{self.name}'")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [size for cell in self.cells for size in _sizes(cell.state_size)]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell._maybe_build(shape)
            shape = shape[:-1] + (_output_size(cell),)
        self.built = True

    def call(self, inputs, states, training=None):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        new_states, position = [], 0
        for cell in self.cells:
            count = len(_sizes(cell.state_size))
            inputs, cell_states = _call_cell(cell, inputs, states[position:position + count], training)
            new_states += cell_states
            position += count
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [_layer_config(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [_layer_from_config(spec, custom_objects) for spec in config["cells"]]
        return cls(**config)


def _check_cell(cell, owner):
    if not isinstance(cell, Layer) or not hasattr(cell, "state_size"):
        raise ValueError(f"{owner}: a cell must be a Layer with a `call(inputs, states)` and a `state_size`, got "
                         f"{cell!r}.")


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    return size if size is not None else _sizes(cell.state_size)[0]


def _call_cell(cell, inputs, states, training):
    """(output, states as a list) of one step of any cell."""
    output, new_states = cell(inputs, states, training=training) if cell._call_signature.takes_training \
        else cell(inputs, states)
    return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]


class RNN(Layer):
    """A recurrent layer around a cell (or a list of cells, stacked).

    Args:
        cell: a cell (`call(inputs_t, states) -> (output_t, new_states)` and `state_size`), or a list of cells.
        return_sequences: return every step's output (batch, time, output_size), not only the last.
        return_state: also return the final states, as `[output, *states]`.
        go_backwards: process the sequence from its end (returned sequences in that order).
        stateful: only False is supported.
        unroll: accepted for Keras compatibility (the engine's loop gives the same result).
        zero_output_for_mask: output zeros at masked steps instead of the previous output.

    Call arguments: `inputs` (batch, time, features), `initial_state` (a list, one array per state), `mask`
    (batch, time) booleans, `training`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell, f"RNN '{self.name}'")
        if stateful:
            raise ValueError(f"RNN '{self.name}': stateful=True is not supported (states are not carried between "
                             f"batches); use stateful=False and pass `initial_state=` instead.")
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, False, unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [sequences, *initial_states]
            input_shape = input_shape[0]
        if len(input_shape) != 3:
            raise ValueError(f"RNN '{self.name}': expected ndim=3 (batch, time, features), found "
                             f"ndim={len(input_shape)}: input shape {tuple(input_shape)}.")
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0], input_shape[-1]))
        self.built = True

    def _initial_states(self, inputs, initial_state):
        B = _backend.get()
        sizes = _sizes(self.cell.state_size)
        if initial_state is None:
            column = B.zeros_like(inputs[:, 0, :1])  # (batch, 1): the batch size may be dynamic
            return [column + B.zeros((size,), B.dtype(inputs)) for size in sizes]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if isinstance(self.cell, StackedRNNCells):  # flat, or one list per cell (Keras's nesting)
            states = [s for group in states for s in (group if isinstance(group, (list, tuple)) else [group])]
        if len(states) != len(sizes):
            raise ValueError(f"RNN '{self.name}': `initial_state` must hold {len(sizes)} array(s) (the cell's "
                             f"state_size {self.cell.state_size}), got {len(states)}.")
        return [B.convert(s) for s in states]

    def call(self, inputs, initial_state=None, mask=None, training=None):
        B = _backend.get()
        if isinstance(inputs, (list, tuple)):  # Keras 2 style: [sequences, *initial_states]
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        states = self._initial_states(inputs, initial_state)
        mask = None if mask is None else B.cast(mask, "bool")
        zero_output = self.zero_output_for_mask and self.return_sequences
        if isinstance(self.cell, _StockCell):  # the layers' sequence composite: an engine's fused kernel
            outputs, states = self.cell.sequence(inputs, states, mask, self.go_backwards, zero_output, training)
        else:
            outputs, states = self._loop(B, inputs, states, mask, zero_output, training)
        output = outputs if self.return_sequences else outputs[:, -1]
        # stacked cells' states come flat, all cells' in order (Keras nests them per cell; mlfront's symbolic
        # graph holds flat lists of outputs)
        return [output] + list(states) if self.return_state else output

    def _loop(self, B, inputs, states, mask, zero_output, training):
        """Any cell, step by step: the carry is the states and the last output (repeated at masked steps)."""
        sequences = [B.transpose(inputs, (1, 0, 2))]
        if mask is not None:
            sequences.append(B.transpose(mask, (1, 0)))
        if self.go_backwards:
            sequences = [B.flip(s, 0) for s in sequences]
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        batch, features = B.shape(inputs)[0], B.shape(inputs)[-1]
        masks = {}  # each stock cell's dropout masks, one pair for the whole sequence (as in Keras)
        width = features
        for cell in cells:
            if isinstance(cell, _StockCell):
                masks[id(cell)] = cell.dropout_masks(batch, width, training)
            width = _output_size(cell)
        previous_output = B.zeros_like(inputs[:, 0, :1]) + B.zeros((_output_size(self.cell),), B.dtype(inputs))

        def one_step(cell, x, cell_states):
            if isinstance(cell, _StockCell):
                return cell.step(x, cell_states, *masks[id(cell)])
            return _call_cell(cell, x, cell_states, training)

        def step(carry, inputs_t):
            old_states, old_output = carry[:-1], carry[-1]
            x, position, new_states = inputs_t[0], 0, []
            for cell in cells:
                count = len(_sizes(cell.state_size))
                x, cell_states = one_step(cell, x, old_states[position:position + count])
                new_states += cell_states
                position += count
            if mask is None:
                return new_states + [x], x
            keep = B.expand_dims(inputs_t[1], -1)
            new_states = [B.where(keep, new, old) for new, old in zip(new_states, old_states)]
            output = B.where(keep, x, B.zeros_like(x) if zero_output else old_output)
            return new_states + [B.where(keep, x, old_output)], output

        carry, outputs = B.scan(step, list(states) + [previous_output], sequences)
        return B.transpose(outputs, (1, 0, 2)), carry[:-1]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps, size = input_shape[0], input_shape[1], _output_size(self.cell)
        output = (batch, steps, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [output] + [(batch, s) for s in _sizes(self.cell.state_size)]
        return output

    def compute_mask(self, inputs, mask=None):
        return output_mask(mask, self.return_sequences, self.return_state, len(_sizes(self.cell.state_size)))

    def get_config(self):
        return {**super().get_config(), "cell": _layer_config(self.cell), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cell"] = _layer_from_config(config["cell"], custom_objects)
        return cls(**config)
