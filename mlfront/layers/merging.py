"""Merge layers: combine a list of inputs (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
Dot), and their Keras functional forms (`add([a, b])`, `concatenate([a, b])`, ...)."""

import functools

from mlfront import backend as _backend
from mlfront.layers.base import Layer


def _logical_and(B, a, b):
    a, b = B.cast(a, "bool"), B.cast(b, "bool")
    return B.where(a, b, B.zeros_like(b))


class Merge(Layer):
    """Base class of the elementwise merge layers: `_merge(list of arrays)` combines the inputs.

    Inputs of different ranks are aligned by adding axes after the batch axis; sizes must then be equal, 1
    (broadcast) or unknown.
    """

    min_inputs = 1
    max_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_list(self, inputs_or_shapes, what):
        name = type(self).__name__
        if not isinstance(inputs_or_shapes, (list, tuple)) or \
                any(d is None or isinstance(d, int) for d in inputs_or_shapes):  # one shape, not a list of them
            raise ValueError(f"{name} '{self.name}' must be called on a list of inputs, got {what}.")
        count = len(inputs_or_shapes)
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            wanted = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                      else f"at least {self.min_inputs}")
            raise ValueError(f"{name} '{self.name}' must be called on a list of {wanted} inputs, got {count}.")

    def build(self, input_shape):
        self._check_list(input_shape, f"an input of shape {input_shape}")
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, f"an input of shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        rank = max(len(s) for s in shapes)
        padded = [s[:1] + (1,) * (rank - len(s)) + s[1:] for s in shapes]
        output = []
        for sizes in zip(*padded):
            known = {d for d in sizes if d is not None and d != 1}
            if len(known) > 1:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have incompatible shapes "
                                 f"{shapes}.")
            if known:
                output.append(known.pop())
            else:
                output.append(None if None in sizes else 1)
        return tuple(output)

    def call(self, inputs):
        B = _backend.get()
        self._check_list(inputs, f"{type(inputs).__name__}")
        rank = max(len(B.shape(x)) for x in inputs)
        aligned = []
        for x in inputs:
            while len(B.shape(x)) < rank:
                x = B.expand_dims(x, 1)
            aligned.append(x)
        return self._merge(B, aligned)

    def _merge(self, B, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The AND of the inputs' masks (None when no input has one)."""
        if mask is None or all(m is None for m in mask):
            return None
        B = _backend.get()
        return functools.reduce(functools.partial(_logical_and, B), [m for m in mask if m is not None])


class Add(Merge):
    """Sums a list of inputs of the same (or broadcastable) shape."""

    def _merge(self, B, inputs):
        return functools.reduce(lambda a, b: a + b, inputs)


class Subtract(Merge):
    """Subtracts the second of exactly two inputs from the first."""

    min_inputs = max_inputs = 2

    def _merge(self, B, inputs):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of inputs elementwise."""

    def _merge(self, B, inputs):
        return functools.reduce(lambda a, b: a * b, inputs)


class Average(Merge):
    """Averages a list of inputs elementwise."""

    def _merge(self, B, inputs):
        return functools.reduce(lambda a, b: a + b, inputs) / float(len(inputs))


class Maximum(Merge):
    """Elementwise maximum of a list of inputs."""

    def _merge(self, B, inputs):
        return functools.reduce(B.maximum, inputs)


class Minimum(Merge):
    """Elementwise minimum of a list of inputs."""

    def _merge(self, B, inputs):
        return functools.reduce(B.minimum, inputs)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`; every other axis must match.

    Args:
        axis: the axis to join along (-1: the features axis).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _axis_for(self, rank):
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate '{self.name}': `axis` {self.axis} is not a non-batch axis of inputs of "
                             f"rank {rank}.")
        return self.axis % rank

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, f"an input of shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate '{self.name}': inputs must have the same rank, got shapes {shapes}.")
        axis = self._axis_for(rank)
        output = []
        for a, sizes in enumerate(zip(*shapes)):
            if a == axis:
                output.append(None if None in sizes else sum(sizes))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise ValueError(f"Concatenate '{self.name}': inputs must match on every axis but the "
                                 f"concatenation axis {self.axis}, got shapes {shapes}.")
            output.append(known.pop() if known else None)
        return tuple(output)

    def call(self, inputs):
        B = _backend.get()
        self._check_list(inputs, f"{type(inputs).__name__}")
        return B.concatenate(list(inputs), axis=self._axis_for(len(B.shape(inputs[0]))))

    def compute_mask(self, inputs, mask=None):
        """Joined along `axis` for a time-like axis (missing masks count as all True); the AND of the masks
        when joining along the features axis."""
        if mask is None or all(m is None for m in mask):
            return None
        B = _backend.get()
        rank = len(B.shape(inputs[0]))
        axis = self._axis_for(rank)
        if axis == rank - 1:
            return super().compute_mask(inputs, mask)
        masks = [B.cast(m, "bool") if m is not None else B.ones(B.shape(x)[:-1], "bool")
                 for x, m in zip(inputs, mask)]
        return B.concatenate(masks, axis=axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Dot products between the samples of two inputs (Keras's batch dot).

    The axis `axes[0]` of the first input is contracted with the axis `axes[1]` of the second; the output
    holds the batch axis, then the first input's other axes, then the second's. A result with only the batch
    axis left gets a trailing axis of size 1, e.g. (batch, n) . (batch, n) -> (batch, 1).

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints; never the batch axis 0.
        normalize: whether to L2-normalize both inputs along the contracted axes first (cosine similarity).
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int) and (len(axes) != 2 or not all(isinstance(a, int) for a in axes)):
            raise ValueError(f"Dot '{self.name}': `axes` must be an int or a pair of ints, got {axes!r}.")
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = normalize
        self.supports_masking = False

    def _resolve_axes(self, shapes):
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        resolved = tuple(a % len(s) if -len(s) <= a < len(s) else None for a, s in zip(axes, shapes))
        if None in resolved or 0 in resolved:
            raise ValueError(f"Dot '{self.name}': `axes` {self.axes} must name non-batch axes of the inputs, got "
                             f"shapes {[tuple(s) for s in shapes]}.")
        first, second = (shapes[0][resolved[0]], shapes[1][resolved[1]])
        if first is not None and second is not None and first != second:
            raise ValueError(f"Dot '{self.name}': the contracted axes have different sizes ({first} != {second}) "
                             f"for input shapes {[tuple(s) for s in shapes]} and axes {self.axes}.")
        return resolved

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, f"an input of shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        a, b = self._resolve_axes(shapes)
        output = (shapes[0][0],) + shapes[0][1:a] + shapes[0][a + 1:] + shapes[1][1:b] + shapes[1][b + 1:]
        return output if len(output) > 1 else output + (1,)

    def call(self, inputs):
        B = _backend.get()
        self._check_list(inputs, f"{type(inputs).__name__}")
        x, y = inputs
        a, b = self._resolve_axes([B.shape(x), B.shape(y)])
        if self.normalize:
            x, y = _l2_normalize(B, x, a), _l2_normalize(B, y, b)
        rank_x, rank_y = len(B.shape(x)), len(B.shape(y))
        letters = "abcdefghijklmnopqrstuvwxy"
        x_letters = ["z"] + list(letters[:rank_x - 1])
        y_letters = ["z"] + list(letters[rank_x - 1:rank_x + rank_y - 2])
        y_letters[b] = x_letters[a]  # the contracted axis shares one letter
        kept = [c for i, c in enumerate(x_letters[1:], 1) if i != a] + \
               [c for i, c in enumerate(y_letters[1:], 1) if i != b]
        output = B.einsum(f"{''.join(x_letters)},{''.join(y_letters)}->z{''.join(kept)}", x, y)
        return output if kept else B.expand_dims(output, -1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(B, x, axis):
    return x * B.rsqrt(B.maximum(B.sum(B.square(x), axis=axis, keepdims=True), 1e-12))


# ---------------------------------------------------------------------- Keras's functional forms
def add(inputs, **kwargs):
    """`Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis=axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """`Dot(axes, normalize, **kwargs)(inputs)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
