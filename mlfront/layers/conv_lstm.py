"""Convolutional LSTMs (Shi et al. 2015): ConvLSTM1D and ConvLSTM2D over sequences of signals or images.

An LSTM whose input and recurrent products are convolutions: for `(batch, time, *spatial, channels)` inputs the
states h and c are `(batch, *output_spatial, filters)` maps. Weights in Keras's layout: `kernel`
`(*kernel_size, channels, 4 * filters)`, `recurrent_kernel` `(*kernel_size, filters, 4 * filters)`, `bias`
`(4 * filters,)`, gates i, f, c, o. The input convolution takes `strides`, `padding` and `dilation_rate`; the
recurrent one is "same" with stride 1, so the states keep the output's size.
"""

from mlfront import activations as _activations
from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront.layers.base import check_seed, next_key, resolve_training, serialized
from mlfront.layers.convolutional import BaseConv, from_channels_last, to_channels_last
from mlfront.layers.recurrent import LSTM, output_mask


class _ConvLSTM(BaseConv):
    """Shared machinery of ConvLSTM1D / ConvLSTM2D.

    Args:
        filters, kernel_size, strides, padding ("valid" / "same"), data_format, dilation_rate: of the input
            convolution, as in Conv1D / Conv2D.
        activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, unit_forget_bias: as in LSTM.
        kernel / recurrent / bias initializers, regularizers and constraints, activity_regularizer.
        dropout / recurrent_dropout: fractions of the inputs / of the previous h dropped in training, one mask
            per sequence.
        seed: the layer's own random stream outside a training step.
        return_sequences, return_state, go_backwards, zero_output_for_mask: as in LSTM. stateful: only False;
            unroll: accepted (the engine's loop gives the same result).

    Call arguments: `inputs` (batch, time, *spatial, channels) (channels first: (batch, time, channels,
    *spatial)), `initial_state` ([h, c]), `mask` (batch, time), `training`.
    """

    _state_names = ("h", "c")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        kind = self._kind()
        if self.padding == "causal":
            raise ValueError(f"{kind}: `padding` must be 'valid' or 'same', got 'causal'.")
        if stateful:
            raise ValueError(f"{kind}: stateful=True is not supported (states are not carried between batches); "
                             f"use stateful=False and pass `initial_state=` instead.")
        for argument, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ValueError(f"{kind}: `{argument}` must be in [0, 1), got {rate!r}.")
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.units = self.filters  # LSTM's forget-bias initializer reads `units`
        self.unit_forget_bias = unit_forget_bias
        self.recurrent_initializer, self.recurrent_regularizer = recurrent_initializer, recurrent_regularizer
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self._recurrent_args = serialized(recurrent_initializer=recurrent_initializer,
                                          recurrent_regularizer=recurrent_regularizer,
                                          recurrent_constraint=recurrent_constraint)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = check_seed(seed, kind)
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.stateful, self.unroll, self.zero_output_for_mask = False, unroll, zero_output_for_mask
        self.supports_masking = True

    _bias_initializer = LSTM._bias_initializer  # the forget gate's bias starts at 1 with unit_forget_bias

    def _step_shape(self, input_shape):
        if len(input_shape) != self.rank + 3:
            raise ValueError(f"{self._kind()}: expected ndim={self.rank + 3} (batch, time, {self.rank} spatial "
                             f"axes, channels), found ndim={len(input_shape)}: input shape {tuple(input_shape)}.")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [sequences, *initial_states]
            input_shape = input_shape[0]
        channels = self._check_build_input(self._step_shape(input_shape))
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, 4 * self.filters),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", self.kernel_size + (self.filters, 4 * self.filters),
                                                self.recurrent_initializer, self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", (4 * self.filters,), self._bias_initializer(), self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _dropout_mask(self, shape, rate):
        B = _backend.get()
        return B.dropout(next_key(self), B.ones(shape), rate)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        B = _backend.get()
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        shape = tuple(B.shape(inputs))
        # channels_last steps, time first for the loop: (time, batch, *spatial, channels)
        steps = [to_channels_last(B, inputs[:, t], self.data_format) for t in range(shape[1])] \
            if self.data_format == "channels_first" else None
        sequence = B.stack(steps, axis=0) if steps is not None else \
            B.transpose(inputs, (1, 0) + tuple(range(2, len(shape))))
        step_shape = tuple(B.shape(sequence))[1:]
        out_spatial = self._output_spatial(step_shape if self.data_format == "channels_last" else
                                           (step_shape[0], step_shape[-1]) + step_shape[1:-1])
        state_shape = (step_shape[0],) + tuple(out_spatial) + (self.filters,)
        if initial_state is None:
            states = [B.zeros(state_shape, B.dtype(inputs))] * 2
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != 2:
                raise ValueError(f"{self._kind()}: `initial_state` must hold 2 arrays (h, c), got {len(states)}.")
            states = [to_channels_last(B, B.convert(s), self.data_format) for s in states]
        input_mask = recurrent_mask = None
        if resolve_training(training):
            if self.dropout:
                input_mask = self._dropout_mask(step_shape, self.dropout)
            if self.recurrent_dropout:
                recurrent_mask = self._dropout_mask(state_shape, self.recurrent_dropout)
        sequences = [sequence] + ([B.transpose(B.cast(mask, "bool"), (1, 0))] if mask is not None else [])
        if self.go_backwards:
            sequences = [B.flip(s, 0) for s in sequences]
        padding, zero_output = self.padding, self.zero_output_for_mask and self.return_sequences
        kernel, recurrent_kernel = self.kernel.value, self.recurrent_kernel.value
        bias = None if self.bias is None else self.bias.value
        ones = (1,) * self.rank

        def step(carry, inputs_t):
            h, c = carry
            x = inputs_t[0] if input_mask is None else inputs_t[0] * input_mask
            z = B.conv(x, kernel, self.strides, padding, self.dilation_rate)
            z = z + B.conv(h if recurrent_mask is None else h * recurrent_mask, recurrent_kernel, ones, "same",
                           ones)
            if bias is not None:
                z = z + bias
            z_i, z_f, z_c, z_o = B.split(z, 4, axis=-1)
            new_c = self.recurrent_activation(z_f) * c + self.recurrent_activation(z_i) * self.activation(z_c)
            new_h = self.recurrent_activation(z_o) * self.activation(new_c)
            if len(inputs_t) == 1:
                return [new_h, new_c], new_h
            # masked steps keep the states and repeat the output (or output zeros)
            keep = B.reshape(inputs_t[1], (-1,) + (1,) * (self.rank + 1))
            new_h, new_c = B.where(keep, new_h, h), B.where(keep, new_c, c)
            return [new_h, new_c], B.where(keep, new_h, B.zeros_like(new_h)) if zero_output else new_h

        (h, c), outputs = B.scan(step, states, sequences)
        if self.return_sequences:
            rank = len(B.shape(outputs))
            output = B.transpose(outputs, (1, 0) + tuple(range(2, rank)))
            if self.data_format == "channels_first":
                output = B.stack([from_channels_last(B, output[:, t], self.data_format)
                                  for t in range(B.shape(output)[1])], axis=1)
        else:
            output = from_channels_last(B, h, self.data_format)
        if self.return_state:
            return [output, from_channels_last(B, h, self.data_format), from_channels_last(B, c, self.data_format)]
        return output

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        step = self._step_shape(input_shape)
        self._input_channels(step)
        spatial = self._output_spatial(step)
        state = (input_shape[0],) + (tuple(spatial) + (self.filters,) if self.data_format == "channels_last"
                                     else (self.filters,) + tuple(spatial))
        output = (state[0], input_shape[1]) + state[1:] if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        return output_mask(mask, self.return_sequences, self.return_state, 2)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        return {**config, **self._recurrent_args,
                "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}


class ConvLSTM1D(_ConvLSTM):
    """Convolutional LSTM over sequences of 1D signals `(batch, time, steps, channels)`. See `_ConvLSTM`."""
    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM over sequences of images `(batch, time, rows, cols, channels)`. See `_ConvLSTM`."""
    rank = 2
