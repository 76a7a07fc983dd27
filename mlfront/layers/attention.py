"""Attention layers: MultiHeadAttention (Keras weight layout), Attention (Luong-style) and AdditiveAttention
(Bahdanau-style)."""

import math

from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront import regularizers as _regularizers
from mlfront.layers import graph as _graph
from mlfront.layers.base import Layer, _shape_of, check_seed, next_key, positive_int, resolve_training, serialized

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class MultiHeadAttention(Layer):
    """Multi-head (scaled dot-product) attention, as in "Attention Is All You Need".

    `query` (batch, *T, query_dim) attends to `value` (batch, *S, value_dim) through `key` (`value` when None):
    each head projects them to `key_dim` / `value_dim` features, takes `softmax(q . k / sqrt(key_dim))` over the
    key positions (masked by `attention_mask`), averages the projected values with these weights, and the
    heads are projected together to the output.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (`key_dim` when None).
        dropout: dropout rate on the attention weights (in training).
        use_bias: whether the projections have biases.
        output_shape: the size of the output's last axis (the query's last axis when None).
        attention_axes: the axes attention runs over (by default every axis between batch and features).
        kernel_initializer / bias_initializer, kernel_regularizer / bias_regularizer, kernel_constraint /
            bias_constraint: of every projection.
        activity_regularizer: a penalty on the layer's output (stored; the layer base adds it to the loss).

    Call arguments:
        query, value, key (optional): arrays; `layer([query, value])` or `layer([query, value, key])` also work.
        attention_mask: boolean (batch, *T, *S); False blocks attention from a query position to a key position.
        return_attention_scores: also return the weights, shaped (batch, num_heads, *T, *S).
        training: whether dropout is active.
        use_causal_mask: block attention to later positions (one attention axis only).

    Weights, in order: query kernel (query_dim, num_heads, key_dim) and bias (num_heads, key_dim), key kernel
    and bias, value kernel (value_dim_in, num_heads, value_dim) and bias, output kernel
    (num_heads, value_dim, output_dim) and bias (output_dim,).
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, use_gate=False, sliding_window=None, **kwargs):
        super().__init__(**kwargs)
        # Keras 3.15 configs carry these two (off there); the variants they select are not implemented.
        if use_gate or sliding_window is not None:
            raise NotImplementedError(f"MultiHeadAttention '{self.name}': use_gate={use_gate!r} / sliding_window="
                                      f"{sliding_window!r} are not supported; only False / None are.")
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim)):
            if value is not None:
                positive_int(value, arg, f"MultiHeadAttention '{self.name}'")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention '{self.name}': `dropout` must be in [0, 1), got {dropout!r}.")
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"MultiHeadAttention '{self.name}': only a single output size is supported, got "
                                 f"output_shape={output_shape!r}.")
            output_shape = output_shape[0]
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim or key_dim)
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.output_shape = output_shape
        self.attention_axes = None if attention_axes is None else \
            ((attention_axes,) if isinstance(attention_axes, int) else tuple(attention_axes))
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.seed = check_seed(seed, f"MultiHeadAttention '{self.name}'")  # seeds standalone calls' dropout
        self._symbolic_scores = False

    # ------------------------------------------------------------------ weights
    def _projection(self, name, kernel_shape, bias_shape):
        kernel = self.add_weight(f"{name}/kernel", kernel_shape, self.kernel_initializer, self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        bias = self.add_weight(f"{name}/bias", bias_shape, self.bias_initializer, self.bias_regularizer,
                               constraint=self.bias_constraint) if self.use_bias else None
        return kernel, bias

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the projections for inputs of these shapes (`value_shape` defaults to `query_shape`)."""
        if isinstance(query_shape, list):  # called on [query, value(, key)]
            query_shape, value_shape, key_shape = (list(query_shape) + [None, None])[:3]
        value_shape = tuple(value_shape or query_shape)
        key_shape = tuple(key_shape or value_shape)
        query_shape = tuple(query_shape)
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if shape[-1] is None:
                raise ValueError(f"MultiHeadAttention '{self.name}': the last axis of `{name}` must have a known "
                                 f"size, got shape {shape}.")
        if len(query_shape) != len(value_shape) or len(key_shape) != len(value_shape):
            raise ValueError(f"MultiHeadAttention '{self.name}': query, value and key must have the same rank, got "
                             f"shapes {query_shape}, {value_shape}, {key_shape}.")
        rank = len(query_shape)
        axes = self.attention_axes or tuple(range(1, rank - 1))
        self._attention_axes = tuple(sorted(a % rank for a in axes))
        if not self._attention_axes or any(a in (0, rank - 1) for a in self._attention_axes):
            raise ValueError(f"MultiHeadAttention '{self.name}': `attention_axes` must name axes between the batch "
                             f"and the features axes of inputs of rank {rank}, got {self.attention_axes}.")
        self._output_dim = self.output_shape or query_shape[-1]
        heads = self.num_heads
        self.query_kernel, self.query_bias = self._projection("query", (query_shape[-1], heads, self.key_dim),
                                                              (heads, self.key_dim))
        self.key_kernel, self.key_bias = self._projection("key", (key_shape[-1], heads, self.key_dim),
                                                          (heads, self.key_dim))
        self.value_kernel, self.value_bias = self._projection("value", (value_shape[-1], heads, self.value_dim),
                                                              (heads, self.value_dim))
        self.output_kernel, self.output_bias = self._projection("attention_output",
                                                                (heads, self.value_dim, self._output_dim),
                                                                (self._output_dim,))
        self._equations(rank)
        self.built = True

    def _equations(self, rank):
        """The einsum equations of the projections and of the attention for inputs of `rank`."""
        t = _LETTERS[:rank - 1]  # batch and positions of the query
        s = "".join(_LETTERS[rank - 1 + i] if i in self._attention_axes else c for i, c in enumerate(t))
        self._project_in = f"{t}x,xny->{t}ny"
        self._project_out = f"{t}ny,nyx->{t}x"
        # Scores: batch and non-attention axes, then heads, then the query's and the key's attention positions.
        free = "".join(c for i, c in enumerate(t) if i not in self._attention_axes)
        t_att = "".join(t[i] for i in self._attention_axes)
        s_att = "".join(s[i] for i in self._attention_axes)
        scores = f"{free}n{t_att}{s_att}"
        self._scores_equation = f"{t}ny,{s}ny->{scores}"
        self._combine_equation = f"{scores},{s}ny->{t}ny"
        self._num_key_axes = len(self._attention_axes)

    # ------------------------------------------------------------------ calling
    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None and isinstance(query, (list, tuple)):
            if not 2 <= len(query) <= 3:
                raise ValueError(f"MultiHeadAttention '{self.name}': a list input must be [query, value] or "
                                 f"[query, value, key], got {len(query)} tensors.")
            query, value, key = (list(query) + [None])[:3]
        if value is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': `value` is required (pass the query again for "
                             f"self-attention).")
        if not self.built:
            shape = (lambda t: tuple(t.shape)) if _graph.is_symbolic([query, value, key]) else _shape_of
            self.build(shape(query), shape(value), None if key is None else shape(key))
        if _graph.is_symbolic([query, value, key]):
            # compute_output_shape sees only shapes: tell it whether the scores are an output too
            self._symbolic_scores = bool(kwargs.get("return_attention_scores"))
            try:
                return super().__call__([query, value] + ([key] if key is not None else []), **kwargs)
            finally:
                self._symbolic_scores = False
        return super().__call__(query, value, key, **kwargs)

    def call(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False):
        if isinstance(query, (list, tuple)):  # replayed from a functional graph as [query, value(, key)]
            query, value, key = (list(query) + [None])[:3]
        B = _backend.get()
        key = value if key is None else key
        q = B.einsum(self._project_in, query, self.query_kernel.value)
        k = B.einsum(self._project_in, key, self.key_kernel.value)
        v = B.einsum(self._project_in, value, self.value_kernel.value)
        if self.use_bias:
            q, k, v = q + self.query_bias.value, k + self.key_bias.value, v + self.value_bias.value
        dropout = self.dropout and resolve_training(training)
        if self._num_key_axes == 1 and len(B.shape(q)) == 4 and not dropout and not return_attention_scores:
            # (batch, positions, heads, depth) and nothing needs the weights: the engine's fused attention
            attended = B.dot_product_attention(q, k, v, mask=self._scores_mask(B, attention_mask, 4),
                                               scale=1.0 / math.sqrt(self.key_dim), is_causal=use_causal_mask)
        else:
            scores = B.einsum(self._scores_equation, q * (1.0 / math.sqrt(self.key_dim)), k)
            weights = self._attention_weights(B, scores, attention_mask, use_causal_mask)
            dropped = B.dropout(next_key(self), weights, self.dropout) if dropout else weights
            attended = B.einsum(self._combine_equation, dropped, v)
        output = B.einsum(self._project_out, attended, self.output_kernel.value)
        if self.use_bias:
            output = output + self.output_bias.value
        return (output, weights) if return_attention_scores else output

    def _scores_mask(self, B, attention_mask, rank):
        """`attention_mask` as a boolean mask of the rank of the scores, or None: (batch, *T, *S) ->
        (batch, 1, *T, *S), one axis for the heads (more for non-attention axes)."""
        if attention_mask is None:
            return None
        mask = B.cast(attention_mask, "bool")
        while len(B.shape(mask)) < rank:
            mask = B.expand_dims(mask, -2 * self._num_key_axes - 1)
        return mask

    def _attention_weights(self, B, scores, attention_mask, use_causal_mask):
        """Softmax over the key positions (the last attention axes); masked entries get no weight."""
        mask = self._scores_mask(B, attention_mask, len(B.shape(scores)))
        if self._num_key_axes == 1:
            return B.attention_weights(scores, mask, is_causal=use_causal_mask)
        if use_causal_mask:
            raise ValueError(f"MultiHeadAttention '{self.name}': `use_causal_mask` needs a single attention "
                             f"axis, got {self._attention_axes}.")
        # several key axes: one softmax over all their positions, flattened into one axis
        shape = B.shape(scores)
        flat = shape[:-self._num_key_axes] + (-1,)
        if mask is not None:
            mask = B.reshape(B.broadcast_to(mask, shape), flat)
        return B.reshape(B.attention_weights(B.reshape(scores, flat), mask), shape)

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list):
            query_shape, value_shape = query_shape[0], query_shape[1]
        query_shape = tuple(query_shape)
        value_shape = tuple(value_shape or query_shape)
        output = query_shape[:-1] + (self.output_shape or query_shape[-1],)
        if not self._symbolic_scores:
            return output
        rank = len(query_shape)
        axes = self.attention_axes or tuple(range(1, rank - 1))
        axes = tuple(sorted(a % rank for a in axes))
        free = tuple(query_shape[i] for i in range(rank - 1) if i not in axes)
        scores = free + (self.num_heads,) + tuple(query_shape[i] for i in axes) + tuple(value_shape[i] for i in axes)
        return [output, scores]

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "use_gate": False, "sliding_window": None,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape, "attention_axes": self.attention_axes,
                **serialized(kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer,
                             kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
                             activity_regularizer=self.activity_regularizer,
                             kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint),
                "seed": self.seed}


class Attention(Layer):
    """Dot-product (Luong-style) attention of a query sequence over a value sequence.

    Called on `[query, value]` or `[query, value, key]` (`key` defaults to `value`), shapes `(batch, Tq, dim)`,
    `(batch, Tv, dim)`: scores `query . key` (times a learned scalar `scale` with `use_scale`), or with
    `score_mode="concat"` `concat_score_weight * sum(tanh(scale * (query + key)))`; softmax over the value steps
    (masked by the value mask and, with `use_causal_mask`, by causality); the output is the weighted sum of
    values, zero where the query mask is False.

    Args:
        use_scale: learn a scalar scale of the scores.
        score_mode: "dot" or "concat".
        dropout: the fraction of attention weights dropped in training.
        seed: the layer's own random stream for dropout outside a training step.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__} '{self.name}': `score_mode` must be 'dot' or 'concat', got "
                             f"{score_mode!r}.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': `dropout` must be in [0, 1), got {dropout!r}.")
        self.use_scale, self.score_mode, self.dropout = bool(use_scale), score_mode, float(dropout)
        self.seed = check_seed(seed, f"{type(self).__name__} '{self.name}'")
        self.supports_masking = True

    def _check_inputs(self, shapes):
        if not isinstance(shapes, (list, tuple)) or len(shapes) not in (2, 3) or \
                not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{type(self).__name__} '{self.name}': expects a list [query, value] or "
                             f"[query, value, key], got {shapes!r}.")
        if any(len(s) != 3 for s in shapes):
            raise ValueError(f"{type(self).__name__} '{self.name}': query, value and key must be of rank 3 "
                             f"(batch, steps, dim), got shapes {[tuple(s) for s in shapes]}.")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) == 3 else value
        if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
            raise ValueError(f"{type(self).__name__} '{self.name}': the query's last axis ({query[-1]}) must equal "
                             f"the key's ({key[-1]}).")
        if value[1] is not None and key[1] is not None and value[1] != key[1]:
            raise ValueError(f"{type(self).__name__} '{self.name}': value and key must have the same number of "
                             f"steps, got {value[1]} and {key[1]}.")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones") \
            if self.score_mode == "concat" else None
        self.built = True

    def _scores(self, B, query, key):
        if self.score_mode == "dot":
            scores = B.matmul(query, B.transpose(key, (0, 2, 1)))
            return scores * self.scale.value if self.scale is not None else scores
        summed = B.expand_dims(query, -2) + B.expand_dims(key, -3)
        if self.scale is not None:
            summed = self.scale.value * summed
        return self.concat_score_weight.value * B.sum(B.tanh(summed), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        B = _backend.get()
        self._check_inputs([tuple(B.shape(x)) for x in inputs] if isinstance(inputs, (list, tuple)) else inputs)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (list(mask) + [None, None])[:2] if mask is not None else (None, None)
        scores = self._scores(B, query, key)
        keep = None if value_mask is None else B.expand_dims(B.cast(value_mask, "bool"), -2)  # (batch, 1, Tv)
        if use_causal_mask:
            steps_q, steps_v = B.shape(scores)[-2:]
            causal = B.expand_dims(B.arange(steps_q), -1) >= B.expand_dims(B.arange(steps_v), 0)
            keep = causal if keep is None else B.logical_and(keep, causal)
        if keep is not None:  # masked steps lose 1e9 (float16: its largest value), as in Keras
            large = 65504.0 if B.dtype(scores) == "float16" else 1e9
            scores = B.where(keep, scores, scores - large)
        weights = B.softmax(scores, axis=-1)
        dropped = B.dropout(next_key(self), weights, self.dropout) \
            if self.dropout and resolve_training(training) else weights
        output = B.matmul(dropped, value)
        if query_mask is not None:
            output = B.where(B.expand_dims(B.cast(query_mask, "bool"), -1), output, B.zeros_like(output))
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: scores `sum(scale * tanh(query + key))` over the feature axis, with a
    learned per-feature `scale` (with `use_scale`, the default); the rest as in Attention."""

    _not_in_config = ("score_mode",)

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = self.add_weight("scale", (input_shape[0][-1],), "glorot_uniform") if self.use_scale else None
        self.concat_score_weight = None
        self.built = True

    def _scores(self, B, query, key):
        tanh = B.tanh(B.expand_dims(query, -2) + B.expand_dims(key, -3))
        return B.sum(tanh * self.scale.value if self.scale is not None else tanh, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
