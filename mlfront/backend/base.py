"""The Backend interface: every tensor operation the core uses, in one abstract class.

An engine adapter subclasses `Backend` and maps each *primitive* (the abstract methods) to its engine.
*Composites* (the concrete methods below the primitives) are written once here on top of the primitives;
an adapter overrides one only where its engine has a faster fused kernel.

Contract on arrays: a backend array supports the Python operators `+ - * / ** @`, unary `-`, comparison
operators and basic slicing (`x[:, 1:]`), with NumPy broadcasting. Dtypes are named by strings
("float32", "int32", "bool", ...). Random numbers are drawn from explicit keys (`rng_key`, `rng_split`),
so a compiled step stays pure.
"""

import abc
import math

import numpy as _np

from mlfront.backend import image_sampling as _image_sampling


# ---------------------------------------------------------------------- convolution shape arithmetic
# Plain-Python helpers shared by the adapters (padding pairs) and the conv/pooling layers (output shapes).
def conv_output_length(length, kernel_size, stride, padding, dilation=1):
    """Output length of a convolution/pooling window along one axis (None stays None).

    `padding` is "valid", "same", "causal" or an explicit (before, after) pair.
    """
    if length is None:
        return None
    extent = (kernel_size - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    before, after = (0, 0) if padding == "valid" else padding
    return max((length + before + after - extent) // stride + 1, 0)


def same_padding(length, kernel_size, stride, dilation=1):
    """(before, after) padding of "same" along one axis; the odd cell goes after (TensorFlow/Keras rule)."""
    extent = (kernel_size - 1) * dilation + 1
    total = max((-(-length // stride) - 1) * stride + extent - length, 0)
    return total // 2, total - total // 2


def explicit_padding(padding, spatial_shape, kernel_size, strides, dilation_rate=None):
    """`padding` ("valid", "same" or pairs) as a list of (before, after) pairs, one per spatial axis."""
    dilation_rate = dilation_rate or (1,) * len(spatial_shape)
    if padding == "valid":
        return [(0, 0)] * len(spatial_shape)
    if padding == "same":
        return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial_shape, kernel_size, strides, dilation_rate)]
    return [tuple(int(p) for p in pair) for pair in padding]


def conv_transpose_output_length(length, kernel_size, stride, padding, output_padding=None, dilation=1):
    """Output length of a transposed convolution along one axis (Keras's formula; None stays None)."""
    if length is None:
        return None
    extent = (kernel_size - 1) * dilation + 1
    if output_padding is None:
        return length * stride if padding == "same" else length * stride + max(extent - stride, 0)
    crop = extent // 2 if padding == "same" else 0
    return (length - 1) * stride + extent - 2 * crop + output_padding


def conv_transpose_padding(spatial_shape, kernel_size, strides, padding, output_padding=None, dilation_rate=None):
    """(before, after) per spatial axis that turn the full transposed convolution into Keras's output.

    The full result along an axis is `(length - 1) * stride + extent` long; negative values cut cells off,
    positive ones add zeros. The cut at the start is the "before" padding of the forward convolution whose
    gradient this is (the odd cell after, as in TensorFlow); the end is cut or extended to
    `conv_transpose_output_length`.
    """
    n = len(spatial_shape)
    dilation_rate = dilation_rate or (1,) * n
    output_padding = output_padding or (None,) * n
    pairs = []
    for length, k, s, p, d in zip(spatial_shape, kernel_size, strides, output_padding, dilation_rate):
        full = (length - 1) * s + (k - 1) * d + 1
        out = conv_transpose_output_length(length, k, s, padding, p, d)
        crop = max(full - out, 0) // 2 if padding == "same" else 0
        pairs.append((-crop, out - full + crop))
    return pairs


class Backend(abc.ABC):
    """Abstract engine adapter. Subclasses set `name` and implement every abstract method."""

    name = "abstract"
    #: True when `compile` traces the function (jax.jit, tf.function): values are then symbolic inside.
    traces = False

    # ------------------------------------------------------------------ creation and conversion
    @abc.abstractmethod
    def convert(self, x, dtype=None):
        """An engine array from a NumPy array, Python scalar/list or engine array (no copy when possible)."""

    @abc.abstractmethod
    def to_numpy(self, x):
        """A NumPy array with the values of engine array `x`."""

    @abc.abstractmethod
    def is_array(self, x):
        """True when `x` is an array of this engine (concrete or traced)."""

    @abc.abstractmethod
    def zeros(self, shape, dtype="float32"):
        """An array of zeros."""

    @abc.abstractmethod
    def ones(self, shape, dtype="float32"):
        """An array of ones."""

    @abc.abstractmethod
    def arange(self, start, stop=None, step=1, dtype="int32"):
        """Evenly spaced values, like `numpy.arange`."""

    @abc.abstractmethod
    def cast(self, x, dtype):
        """`x` converted to `dtype`."""

    @abc.abstractmethod
    def dtype(self, x):
        """The dtype name of `x` ("float32", ...)."""

    @abc.abstractmethod
    def shape(self, x):
        """The shape of `x` as a tuple of ints (None for a dimension unknown while tracing)."""

    # ------------------------------------------------------------------ elementwise math
    @abc.abstractmethod
    def exp(self, x): """e ** x."""

    @abc.abstractmethod
    def log(self, x): """Natural logarithm."""

    @abc.abstractmethod
    def sqrt(self, x): """Square root."""

    @abc.abstractmethod
    def abs(self, x): """Absolute value."""

    @abc.abstractmethod
    def sign(self, x): """-1, 0 or 1."""

    @abc.abstractmethod
    def tanh(self, x): """Hyperbolic tangent."""

    @abc.abstractmethod
    def maximum(self, x, y): """Elementwise maximum."""

    @abc.abstractmethod
    def minimum(self, x, y): """Elementwise minimum."""

    @abc.abstractmethod
    def where(self, condition, x, y): """`x` where `condition` holds, else `y`."""

    @abc.abstractmethod
    def floor(self, x): """Round down."""

    @abc.abstractmethod
    def log1p(self, x): """log(1 + x), accurate near 0."""

    @abc.abstractmethod
    def expm1(self, x): """exp(x) - 1, accurate near 0."""

    # --- optimizers/schedules helper: cosine (CosineDecay)
    @abc.abstractmethod
    def cos(self, x): """Cosine (radians)."""

    # ------------------------------------------------------------------ reductions
    @abc.abstractmethod
    def sum(self, x, axis=None, keepdims=False): """Sum over `axis` (int, tuple or None for all)."""

    @abc.abstractmethod
    def mean(self, x, axis=None, keepdims=False): """Mean over `axis`."""

    @abc.abstractmethod
    def max(self, x, axis=None, keepdims=False): """Maximum over `axis`."""

    @abc.abstractmethod
    def min(self, x, axis=None, keepdims=False): """Minimum over `axis`."""

    @abc.abstractmethod
    def argmax(self, x, axis=-1): """Index of the maximum along `axis`."""

    # ------------------------------------------------------------------ linear algebra and shapes
    @abc.abstractmethod
    def matmul(self, x, y): """Matrix product with batch broadcasting."""

    @abc.abstractmethod
    def reshape(self, x, shape): """`x` with a new shape (one entry may be -1)."""

    @abc.abstractmethod
    def transpose(self, x, axes=None): """Permute the axes (reverse them when `axes` is None)."""

    @abc.abstractmethod
    def expand_dims(self, x, axis): """`x` with a new axis of length 1 at `axis`."""

    @abc.abstractmethod
    def squeeze(self, x, axis): """`x` without the length-1 axis `axis`."""

    @abc.abstractmethod
    def concatenate(self, xs, axis=0): """Join arrays along an existing axis."""

    @abc.abstractmethod
    def stack(self, xs, axis=0): """Join arrays along a new axis."""

    @abc.abstractmethod
    def take(self, x, indices, axis=0): """Gather entries of `x` at integer `indices` along `axis`."""

    @abc.abstractmethod
    def take_along_axis(self, x, indices, axis): """Pick one entry per position along `axis`."""

    @abc.abstractmethod
    def broadcast_to(self, x, shape): """`x` broadcast to `shape`."""

    @abc.abstractmethod
    def one_hot(self, indices, num_classes, dtype="float32"): """One-hot encoding on a new last axis."""

    @abc.abstractmethod
    def top_k(self, x, k): """(values, indices) of the `k` largest entries along the last axis, sorted."""

    @abc.abstractmethod
    def cumsum(self, x, axis=0): """Cumulative sum along `axis`."""

    @abc.abstractmethod
    def sort(self, x, axis=-1): """Values sorted in ascending order along `axis`."""

    # ------------------------------------------------------------------ random numbers (explicit keys)
    @abc.abstractmethod
    def rng_key(self, seed):
        """A random key made from an integer seed."""

    @abc.abstractmethod
    def rng_split(self, key, num=2):
        """`num` new independent keys derived from `key` (a list)."""

    @abc.abstractmethod
    def random_uniform(self, key, shape, minval=0.0, maxval=1.0, dtype="float32"):
        """Uniform samples in [minval, maxval) drawn from `key`."""

    @abc.abstractmethod
    def random_normal(self, key, shape, mean=0.0, stddev=1.0, dtype="float32"):
        """Normal samples drawn from `key`."""

    # ------------------------------------------------------------------ autodiff and compilation
    @abc.abstractmethod
    def value_and_grad(self, fn, has_aux=False):
        """Functional autodiff over the first argument, a list of arrays.

        Returns `g(params, *args) -> (value, grads)`, or `((value, aux), grads)` when `has_aux`;
        `grads` is a list matching `params`. Values returned are detached from any tape.
        """

    #: The `jit_compile` values this engine accepts besides "auto", True and False (e.g. ("xla",)).
    compile_modes = ()

    def compile_traces(self, jit):
        """True when `compile(fn, jit)` traces `fn` (its values are placeholders while it runs once)."""
        return self.traces and bool(jit)

    @abc.abstractmethod
    def compile(self, fn, jit="auto"):
        """`fn` compiled for repeated calls with same-shaped arguments.

        `jit`: "auto" the engine's default compiled mode, True its strongest compiler (warning and using the
        default mode for a function it cannot compile), False `fn` itself, or one of `compile_modes`. The
        function must be pure: it reads only its arguments (arrays, lists, tuples, dicts, None and random keys)
        and returns its results.
        """

    def compile_donating(self, fn, jit="auto"):
        """`compile(fn, jit)` for a caller that hands over the arrays of `fn`'s first argument (a list): it
        replaces them by the results and never reads them again, so the engine may reuse their memory for the
        results (jax donates the buffers). The first call leaves its arguments valid (the trainer may run its
        first step again). By default the same as `compile`."""
        return self.compile(fn, jit)

    @abc.abstractmethod
    def stop_gradient(self, x): """`x`, treated as a constant by autodiff."""

    # ------------------------------------------------------------------ convolution, pooling, padding
    # Images are channels_last: (batch, *spatial, channels), 1 to 3 spatial axes. `strides`, `pool_size`,
    # `dilation_rate` are tuples with one int per spatial axis. `padding` is "valid", "same" (any odd cell of
    # padding goes after: bottom/right, as in Keras) or explicit [(before, after), ...] per spatial axis;
    # `explicit_padding` (module level) turns the strings into pairs.
    @abc.abstractmethod
    def conv(self, x, kernel, strides, padding="valid", dilation_rate=None, groups=1):
        """Convolution (cross-correlation) of `x` (batch, *spatial, in) with `kernel` (*kernel_size, in // groups,
        out). With `groups` > 1 the input channels and the filters are split into that many groups, group g of
        the filters seeing only group g of the channels (a depthwise convolution is groups = in)."""

    def conv_with_bias(self, x, kernel, bias, strides, padding="valid", dilation_rate=None, groups=1):
        """`conv(...) + bias` (a Conv layer's linear part; `bias` of shape (out,), or None for none); engines
        whose kernel adds the bias itself override it."""
        y = self.conv(x, kernel, strides, padding, dilation_rate, groups)
        return y if bias is None else y + bias

    def grouped_conv_by_parts(self, x, kernel, strides, padding, dilation_rate, groups):
        """A grouped convolution as `groups` plain ones on channel slices, concatenated: for an engine whose
        kernel lacks groups (an adapter's `conv` calls it there)."""
        parts = zip(self.split(x, groups, axis=-1), self.split(kernel, groups, axis=-1))
        return self.concatenate([self.conv(part, k, strides, padding, dilation_rate) for part, k in parts], axis=-1)

    @abc.abstractmethod
    def conv_transpose(self, x, kernel, strides, padding="valid", output_padding=None, dilation_rate=None):
        """Transposed convolution of `x` (batch, *spatial, in) with `kernel` (*kernel_size, out, in).

        `padding` is "valid" or "same"; output lengths follow `conv_transpose_output_length` and the output is
        the full transposed convolution trimmed by `conv_transpose_padding` (Keras's convention on every engine).
        """

    @abc.abstractmethod
    def max_pool(self, x, pool_size, strides, padding="valid"):
        """Maximum over windows; `padding` is "valid" or "same" (padded cells never win)."""

    @abc.abstractmethod
    def avg_pool(self, x, pool_size, strides, padding="valid"):
        """Mean over windows; `padding` is "valid" or "same" (padded cells are left out of the mean)."""

    @abc.abstractmethod
    def pad(self, x, pad_width, constant_values=0):
        """`x` padded with `constant_values`; `pad_width` holds a (before, after) pair for every axis."""

    # ------------------------------------------------------------------ einsum (normalization and attention layers)
    @abc.abstractmethod
    def einsum(self, subscripts, *operands):
        """Einstein summation, like `numpy.einsum("btnh,bsnh->bnts", q, k)` (explicit `->` output)."""

    def rsqrt(self, x):
        """1 / sqrt(x)."""
        return 1.0 / self.sqrt(x)

    def layer_norm(self, x, axes, gamma, beta, epsilon):
        """Layer normalization of every sample over `axes` (sorted, non-negative): `(x - mean) / sqrt(var +
        epsilon) * gamma + beta`, the biased variance; gamma / beta (shaped as those axes of x) may be None.
        Engines with a fused kernel, or a form their compiler fuses better, override it."""
        mean, variance = self.mean(x, axis=axes, keepdims=True), self.var(x, axis=axes, keepdims=True)
        factor = self.rsqrt(variance + epsilon)
        shape = [d if a in axes else 1 for a, d in enumerate(self.shape(x))]
        if gamma is not None:
            factor = factor * self.reshape(gamma, shape)
        outputs = (x - mean) * factor
        return outputs if beta is None else outputs + self.reshape(beta, shape)

    def dot_product_attention(self, query, key, value, bias=None, mask=None, scale=None, is_causal=False):
        """`softmax(q . k * scale + bias) . v` over (batch, positions, heads, depth) inputs, as keras.ops's:
        `mask` (boolean, broadcastable to (batch, heads, query positions, key positions)) is True where a key
        may be attended, `is_causal` lets query i attend keys 0..i only, `scale` defaults to 1 / sqrt(depth).
        Engines with a fused attention kernel override it."""
        depth = self.shape(query)[-1]
        scores = self.einsum("btnh,bsnh->bnts", query, key) * (1.0 / math.sqrt(depth) if scale is None else scale)
        if bias is not None:
            scores = scores + bias
        return self.einsum("bnts,bsnh->btnh", self.attention_weights(scores, mask, is_causal), value)

    def attention_weights(self, scores, mask=None, is_causal=False):
        """The softmax over the last axis of attention `scores` (..., query positions, key positions), with the
        score -1e9 where `mask` (boolean, broadcastable to `scores`) is False and, with `is_causal`, at keys after
        the query: a query that may attend to no key gets uniform weights, as in Keras."""
        if is_causal:
            t, s = self.shape(scores)[-2:]
            causal = self.expand_dims(self.arange(t), -1) >= self.expand_dims(self.arange(s), 0)
            mask = causal if mask is None else self.logical_and(self.cast(mask, "bool"), causal)
        if mask is not None:
            mask = self.broadcast_to(self.cast(mask, "bool"), self.shape(scores))
            scores = self.where(mask, scores, self.full(self.shape(scores), -1e9, self.dtype(scores)))
        return self.softmax(scores, axis=-1)

    # ------------------------------------------------------------------ composites, written once
    def prepare_batch(self, array):
        """A NumPy batch made ready to pass to a compiled step (by default: converted to an engine array)."""
        return self.convert(array)

    def rng_key_to_numpy(self, key):
        """A random key as a NumPy integer array (dtype kept), to store the random state of a training run.

        `rng_key_from_numpy` turns it back into the same key. By default the key is an engine array.
        """
        return self.to_numpy(key)

    def rng_key_from_numpy(self, array):
        """The random key stored as `array` by `rng_key_to_numpy`."""
        return self.convert(array)

    def full(self, shape, value, dtype="float32"):
        return self.ones(shape, dtype) * value

    def zeros_like(self, x):
        return self.zeros(self.shape(x), self.dtype(x))

    def ones_like(self, x):
        return self.ones(self.shape(x), self.dtype(x))

    def split(self, x, num, axis=-1):
        """`x` cut into `num` equal parts along `axis` (a list)."""
        size = self.shape(x)[axis] // num
        index = [slice(None)] * len(self.shape(x))
        parts = []
        for k in range(num):
            index[axis] = slice(k * size, (k + 1) * size)
            parts.append(x[tuple(index)])
        return parts

    def lerp(self, start, end, weight):
        """`start + weight * (end - start)`: a moving average step (optimizer moments, normalization stats)."""
        return start + weight * (end - start)

    def batch_norm_training(self, x, axis, gamma, beta, epsilon):
        """Batch normalization by the batch's own statistics over every axis but `axis` (the channels):
        `(x - mean) / sqrt(var + epsilon) * gamma + beta` (gamma / beta may be None). Returns (outputs, mean,
        variance), the biased variance, both of shape (channels,). Engines with a fused kernel override it."""
        reduce = [a for a in range(len(self.shape(x))) if a != axis]
        mean, variance = self.mean(x, axis=reduce), self.var(x, axis=reduce)
        return self.batch_norm(x, axis, mean, variance, gamma, beta, epsilon), mean, variance

    def batch_norm(self, x, axis, mean, variance, gamma, beta, epsilon):
        """`(x - mean) / sqrt(variance + epsilon) * gamma + beta` with the given per-channel statistics (each of
        shape (channels,), `axis` the channels; gamma / beta may be None). Engines with a fused kernel override
        it for statistics that are constants (moving averages)."""
        # x * scale + shift, with scale and shift per channel: the compilers fuse this form (and its gradient)
        # into fewer passes over x than (x - mean) * rsqrt(...) * gamma + beta (2.3x faster under jax.jit)
        shape = [1] * len(self.shape(x))
        shape[axis] = -1
        scale = self.rsqrt(self.reshape(variance, shape) + epsilon)
        if gamma is not None:
            scale = scale * self.reshape(gamma, shape)
        shift = -self.reshape(mean, shape) * scale
        if beta is not None:
            shift = shift + self.reshape(beta, shape)
        return x * scale + shift

    # Optimizer steps over lists of tensors: engines with multi-tensor kernels (torch's `_foreach_*`) override
    # them to launch a few kernels for all of a model's weights instead of several per weight.
    def adam_update(self, params, grads, momentums, velocities, alpha, beta_1, beta_2, epsilon):
        """One Adam step: `m = lerp(m, g, 1 - b1); v = lerp(v, g², 1 - b2); p -= alpha * m / (sqrt(v) + eps)`
        for each tensor; returns the lists (new params, new momentums, new velocities)."""
        new_m = [self.lerp(m, g, 1.0 - beta_1) for m, g in zip(momentums, grads)]
        new_v = [self.lerp(v, self.square(g), 1.0 - beta_2) for v, g in zip(velocities, grads)]
        new_p = [p - alpha * m / (self.sqrt(v) + epsilon) for p, m, v in zip(params, new_m, new_v)]
        return new_p, new_m, new_v

    def sgd_momentum_update(self, params, grads, momentums, learning_rate, momentum, nesterov):
        """One SGD step with momentum: `m = momentum * m - lr * g`, then `p += m` (or, Nesterov,
        `p += momentum * m - lr * g`); returns the lists (new params, new momentums)."""
        new_m = [momentum * m - learning_rate * g for m, g in zip(momentums, grads)]
        if nesterov:
            new_p = [p + momentum * m - learning_rate * g for p, m, g in zip(params, new_m, grads)]
        else:
            new_p = [p + m for p, m in zip(params, new_m)]
        return new_p, new_m

    def square(self, x):
        return x * x

    def log_safe(self, x, eps=1e-7):
        return self.log(self.maximum(x, eps))

    def clip(self, x, min_value, max_value):
        return self.minimum(self.maximum(x, min_value), max_value)

    def var(self, x, axis=None, keepdims=False):
        centred = x - self.mean(x, axis=axis, keepdims=True)
        return self.mean(centred * centred, axis=axis, keepdims=keepdims)

    def std(self, x, axis=None, keepdims=False):
        return self.sqrt(self.var(x, axis=axis, keepdims=keepdims))

    def prod(self, x, axis=None, keepdims=False):
        # |product| from the log-magnitudes, its sign from the parity of the negative factors
        dtype = self.dtype(x)
        v = x if dtype.startswith(("float", "bfloat")) else self.cast(x, "float32")
        magnitude = self.exp(self.sum(self.log(self.abs(v)), axis=axis, keepdims=keepdims))
        negatives = self.sum(self.cast(v < 0, self.dtype(v)), axis=axis, keepdims=keepdims)
        out = magnitude * (1.0 - 2.0 * (negatives - 2.0 * self.floor(negatives / 2.0)))
        return out if v is x else self.cast(self.round(out), dtype)

    def affine(self, x, kernel, bias=None):
        """`x @ kernel + bias` (a Dense layer's linear part)."""
        y = self.matmul(x, kernel)
        return y if bias is None else y + bias

    def flatten_batch(self, x):
        """Keep the first axis and flatten the rest (what `Flatten` does)."""
        shape = self.shape(x)
        return self.reshape(x, (-1, math.prod(shape[1:])))

    def equal(self, x, y):
        return x == y

    def sigmoid(self, x):
        return 1.0 / (1.0 + self.exp(-x))

    def relu(self, x):
        return self.maximum(x, 0.0)

    def softplus(self, x):
        # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
        return self.relu(x) + self.log1p(self.exp(-self.abs(x)))

    def elu(self, x, alpha=1.0):
        return self.where(x > 0, x, alpha * self.expm1(self.minimum(x, 0.0)))

    def selu(self, x):
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return scale * self.elu(x, alpha)

    def softsign(self, x):
        return x / (1.0 + self.abs(x))

    def hard_sigmoid(self, x):
        # Keras 3 definition: relu6(x + 3) / 6
        return self.clip(x / 6.0 + 0.5, 0.0, 1.0)

    def logsumexp(self, x, axis=-1, keepdims=False):
        peak = self.stop_gradient(self.max(x, axis=axis, keepdims=True))
        out = self.log(self.sum(self.exp(x - peak), axis=axis, keepdims=True)) + peak
        return out if keepdims else self.squeeze(out, axis)

    def softmax(self, x, axis=-1):
        shifted = self.exp(x - self.stop_gradient(self.max(x, axis=axis, keepdims=True)))
        return shifted / self.sum(shifted, axis=axis, keepdims=True)

    def log_softmax(self, x, axis=-1):
        return x - self.logsumexp(x, axis=axis, keepdims=True)

    def dropout(self, key, x, rate):
        """Inverted dropout: zero each entry with probability `rate`, scale the rest by 1 / (1 - rate)."""
        keep = self.random_uniform(key, self.shape(x), dtype=self.dtype(x)) >= rate
        return self.where(keep, x / (1.0 - rate), self.zeros_like(x))

    def sparse_categorical_crossentropy_from_logits(self, labels, logits):
        """-log softmax(logits)[label] per sample; `labels` are integer class indices."""
        picked = self.take_along_axis(self.log_softmax(logits), self.expand_dims(labels, -1), axis=-1)
        return -self.squeeze(picked, -1)

    def binary_crossentropy_from_logits(self, labels, logits):
        """Sigmoid cross-entropy per entry, stable for large |logits|."""
        return self.relu(logits) - logits * labels + self.log1p(self.exp(-self.abs(logits)))

    def global_norm(self, xs):
        return self.sqrt(sum(self.sum(x * x) for x in xs))

    # ------------------------------------------------------------------ keras.ops numerics (issue 9, item 4)
    # Composites for the `keras.ops` functions the core does not use itself, written on the primitives above.
    # They take engine arrays and concrete Python arguments; each adapter overrides them with its native kernel,
    # and tests/test_ops_api.py checks every composite against those overrides.
    def standardize_dtype(self, dtype):
        """The dtype name ("float32", ...) of a name, a NumPy dtype or type, or an engine dtype object."""
        if dtype is None or isinstance(dtype, str):
            return dtype
        name = getattr(dtype, "name", None)  # numpy.dtype and tf.DType carry their name
        if isinstance(name, str):
            return name
        try:
            return _np.dtype(dtype).name  # NumPy/JAX scalar types such as np.float32, jnp.float32
        except TypeError:
            raise ValueError(f"dtype: expected a dtype name or dtype object, got {dtype!r}") from None

    def sin(self, x):
        return self.cos(x - math.pi / 2)

    def tan(self, x):
        return self.sin(x) / self.cos(x)

    def sinh(self, x):
        return (self.expm1(x) - self.expm1(-x)) / 2.0

    def cosh(self, x):
        return (self.exp(x) + self.exp(-x)) / 2.0

    def arctan(self, x):
        # Cephes' single-precision argument reduction and polynomial (accurate to float32 rounding)
        a = self.abs(x)
        big, mid = a > 2.414213562373095, a > 0.4142135623730950
        safe = self.where(big, a, self.ones_like(a))
        reduced = self.where(big, -1.0 / safe, self.where(mid, (a - 1.0) / (a + 1.0), a))
        offset = self.where(big, math.pi / 2, self.where(mid, math.pi / 4, 0.0) * self.ones_like(a))
        z = reduced * reduced
        poly = (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z
        return self.sign(x) * (offset + poly * reduced + reduced)

    def arctan2(self, x1, x2):
        """The angle of the point `(x2, x1)` in radians, in `[-pi, pi]` (NumPy's `arctan2(y=x1, x=x2)`)."""
        safe = self.where(x2 == 0, self.ones_like(x2), x2)
        base = self.arctan(x1 / safe)
        negative_y = self.where(x1 < 0, -math.pi * self.ones_like(base), math.pi * self.ones_like(base))
        angle = self.where(x2 < 0, base + negative_y, base)
        on_y_axis = self.where(x1 < 0, -math.pi / 2 * self.ones_like(base), math.pi / 2 * self.ones_like(base))
        on_y_axis = self.where(x1 == 0, self.zeros_like(base), on_y_axis)
        return self.where(x2 == 0, on_y_axis, angle)

    def arcsin(self, x):
        return self.arctan2(x, self.sqrt(1.0 - x * x))

    def arccos(self, x):
        return self.arctan2(self.sqrt(1.0 - x * x), x)

    def arcsinh(self, x):
        a = self.abs(x)
        return self.sign(x) * self.log1p(a + a * a / (1.0 + self.sqrt(a * a + 1.0)))

    def arccosh(self, x):
        return self.log(x + self.sqrt(x * x - 1.0))

    def arctanh(self, x):
        return 0.5 * self.log1p(2.0 * x / (1.0 - x))

    def erf(self, x):
        # Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7)
        a = self.abs(x)
        t = 1.0 / (1.0 + 0.3275911 * a)
        poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
        return self.sign(x) * (1.0 - poly * self.exp(-a * a))

    def power(self, x1, x2):
        return x1 ** x2

    def isnan(self, x):
        return x != x

    def isinf(self, x):
        return self.abs(x) == math.inf

    def isfinite(self, x):
        return self.abs(x) < math.inf

    def logical_not(self, x):
        return self.cast(x, "bool") == False  # noqa: E712 (an elementwise comparison, not a truth test)

    def logical_and(self, x1, x2):
        return self.cast(x1, "bool") & self.cast(x2, "bool")

    def logical_or(self, x1, x2):
        return self.cast(x1, "bool") | self.cast(x2, "bool")

    def logical_xor(self, x1, x2):
        return self.cast(x1, "bool") != self.cast(x2, "bool")

    def any(self, x, axis=None, keepdims=False):
        return self.max(self.cast(self.cast(x, "bool"), "int32"), axis=axis, keepdims=keepdims) > 0

    def all(self, x, axis=None, keepdims=False):
        return self.min(self.cast(self.cast(x, "bool"), "int32"), axis=axis, keepdims=keepdims) > 0

    def argmin(self, x, axis=-1):
        """Index of the (first) minimum along `axis`."""
        return self.argmax(-x if self.dtype(x) != "bool" else self.logical_not(x), axis=axis)

    def round(self, x, decimals=0):
        """Round half to even, like NumPy, at `decimals` digits."""
        scale = 10.0 ** decimals
        y = x * scale if decimals else x
        r = self.floor(y + 0.5)
        odd_tie = (r - y == 0.5) & (r - 2.0 * self.floor(r / 2.0) == 1.0)
        r = self.where(odd_tie, r - 1.0, r)
        return r / scale if decimals else r

    def tile(self, x, repeats):
        repeats = [int(r) for r in (repeats if isinstance(repeats, (list, tuple)) else [repeats])]
        shape = list(self.shape(x))
        shape = [1] * (len(repeats) - len(shape)) + shape
        repeats = [1] * (len(shape) - len(repeats)) + repeats
        interleaved = [n for pair in zip([1] * len(shape), shape) for n in pair]
        target = [n for pair in zip(repeats, shape) for n in pair]
        x = self.broadcast_to(self.reshape(x, interleaved), target)
        return self.reshape(x, [r * n for r, n in zip(repeats, shape)])

    def repeat(self, x, repeats, axis=None):
        """Each entry repeated `repeats` times (an int, or one int per entry) along `axis` (flattened if None)."""
        if axis is None:
            x, axis = self.reshape(x, (-1,)), 0
        axis = axis % len(self.shape(x))
        if isinstance(repeats, (list, tuple)) or self.is_array(repeats):
            counts = _np.asarray(self.to_numpy(repeats) if self.is_array(repeats) else repeats)
            index = _np.repeat(_np.arange(self.shape(x)[axis]), counts)
            return self.take(x, self.convert(index.astype("int32")), axis=axis)
        shape = list(self.shape(x))
        expanded = self.expand_dims(x, axis + 1)
        tiled = self.broadcast_to(expanded, shape[:axis + 1] + [int(repeats)] + shape[axis + 1:])
        return self.reshape(tiled, shape[:axis] + [shape[axis] * int(repeats)] + shape[axis + 1:])

    def _band(self, x, k, lower):
        rows, cols = self.shape(x)[-2:]
        r = self.expand_dims(self.arange(rows), 1)
        c = self.expand_dims(self.arange(cols), 0)
        keep = (c - r <= k) if lower else (c - r >= k)
        return self.where(keep, x, self.zeros_like(x))

    def tril(self, x, k=0):
        return self._band(x, k, lower=True)

    def triu(self, x, k=0):
        return self._band(x, k, lower=False)

    def eye(self, N, M=None, k=0, dtype="float32"):
        r = self.expand_dims(self.arange(N), 1)
        c = self.expand_dims(self.arange(N if M is None else M), 0)
        return self.cast(c - r == k, dtype)

    def linspace(self, start, stop, num=50, endpoint=True, retstep=False, dtype="float32", axis=0):
        start, stop = self.cast(self.convert(start), "float32"), self.cast(self.convert(stop), "float32")
        divisor = (num - 1) if endpoint else num
        step = (stop - start) / max(divisor, 1)
        t = self.reshape(self.arange(num, dtype="float32"), (num,) + (1,) * len(self.shape(start)))
        out = start + t * step
        if endpoint and num > 1:  # the last sample is exactly `stop`, as in NumPy
            out = self.concatenate([out[:-1], self.expand_dims(stop, 0)], axis=0)
        if axis != 0:
            order = list(range(1, len(self.shape(out))))
            order.insert(axis % len(self.shape(out)), 0)
            out = self.transpose(out, order)
        out = self.cast(out, dtype)
        return (out, step) if retstep else out

    def meshgrid(self, *x, indexing="xy"):
        if indexing not in ("xy", "ij"):
            raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
        sizes = [self.shape(v)[0] for v in x]
        if indexing == "xy" and len(x) > 1:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        grids = []
        for i, v in enumerate(x):
            axis = (1 - i if i < 2 else i) if indexing == "xy" and len(x) > 1 else i
            shape = [1] * len(x)
            shape[axis] = -1
            grids.append(self.broadcast_to(self.reshape(v, shape), sizes))
        return grids

    def norm(self, x, ord=None, axis=None, keepdims=False):
        """Vector or matrix norm, like `numpy.linalg.norm` (matrix `ord` "nuc", 2 and -2 are not supported)."""
        ndim = len(self.shape(x))
        if axis is None:
            if ord is None:
                return self.sqrt(self.sum(x * x, axis=tuple(range(ndim)), keepdims=keepdims))
            axis = tuple(range(ndim)) if ndim <= 2 else None
            if axis is None:
                raise ValueError(f"norm: ord={ord!r} needs an axis for a {ndim}-D input")
        axis = (axis,) if isinstance(axis, int) else tuple(axis)
        a = self.abs(x)
        if len(axis) == 1:
            if ord is None or ord == 2:
                return self.sqrt(self.sum(x * x, axis=axis, keepdims=keepdims))
            if ord == math.inf:
                return self.max(a, axis=axis, keepdims=keepdims)
            if ord == -math.inf:
                return self.min(a, axis=axis, keepdims=keepdims)
            if ord == 0:
                return self.sum(self.cast(x != 0, self.dtype(x)), axis=axis, keepdims=keepdims)
            if isinstance(ord, str):
                raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
            return self.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
        if len(axis) != 2:
            raise ValueError(f"norm: axis must name 1 or 2 axes, got {axis!r}")
        rows, cols = (ax % ndim for ax in axis)
        if ord is None or ord == "fro":
            return self.sqrt(self.sum(x * x, axis=(rows, cols), keepdims=keepdims))
        if ord in (1, -1, math.inf, -math.inf):
            summed, other = (rows, cols) if ord in (1, -1) else (cols, rows)
            sums = self.sum(a, axis=summed, keepdims=True)
            pick = self.max if ord in (1, math.inf) else self.min
            out = pick(sums, axis=other, keepdims=True)
            return out if keepdims else self.squeeze(self.squeeze(out, max(rows, cols)), min(rows, cols))
        raise NotImplementedError(f"norm: matrix ord={ord!r} (needs singular values) is not supported")

    def scatter(self, indices, values, shape):
        """Zeros of `shape` with `values` added at `indices` (an `(N, k)` int array; repeats accumulate)."""
        shape = tuple(int(n) for n in shape)
        k = self.shape(indices)[-1]
        strides = [math.prod(shape[i + 1:k]) for i in range(k)]
        flat = self.sum(self.cast(indices, "int32") * self.convert(_np.asarray(strides, "int32")), axis=-1)
        flat = self.reshape(flat, (-1,))
        cells = math.prod(shape[:k])
        selector = self.one_hot(flat, cells, dtype=self.dtype(values))  # (N, cells)
        rows = self.reshape(values, (self.shape(flat)[0], -1))
        return self.reshape(self.matmul(self.transpose(selector), rows), shape)

    def scatter_update(self, inputs, indices, updates):
        """`inputs` with the entries at `indices` replaced by `updates`."""
        shape = self.shape(inputs)
        hit = self.scatter(indices, self.ones_like(updates), shape) > 0
        return self.where(hit, self.scatter(indices, updates, shape), inputs)

    def slice(self, inputs, start_indices, shape):
        """The block of `inputs` of size `shape` that starts at `start_indices` (Python ints)."""
        return inputs[tuple(slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))]

    def slice_update(self, inputs, start_indices, updates):
        """`inputs` with the block starting at `start_indices` (Python ints) replaced by `updates`."""
        full, block = self.shape(inputs), self.shape(updates)
        widths = [(int(s), n - int(s) - b) for s, n, b in zip(start_indices, full, block)]
        placed = self.pad(self.cast(updates, self.dtype(inputs)), widths)
        inside = self.pad(self.ones(block, "int32"), widths) > 0
        return self.where(inside, placed, inputs)

    def cond(self, pred, true_fn, false_fn):
        return true_fn() if bool(pred) else false_fn()

    def while_loop(self, cond, body, loop_vars, maximum_iterations=None):
        """`body(*loop_vars)` applied while `cond(*loop_vars)` holds (at most `maximum_iterations` times)."""
        steps = 0
        while (maximum_iterations is None or steps < maximum_iterations) and bool(cond(*loop_vars)):
            loop_vars = tuple(body(*loop_vars))
            steps += 1
        return loop_vars

    def fori_loop(self, lower, upper, body_fun, init_val):
        value = init_val
        for i in range(int(lower), int(upper)):
            value = body_fun(i, value)
        return value

    # ------------------------------------------------------------------ image sampling (preprocessing layers)
    # Channels_last float batches; the arithmetic lives in `image_sampling` (gathers, floor, where, clip).
    def resize(self, images, size, interpolation="bilinear"):
        """`images` resized to `size = (height, width)` like `tf.image.resize`: half-pixel centres, no
        antialiasing; `interpolation` "bilinear" or "nearest"."""
        return _image_sampling.resize(self, images, size, interpolation)

    def affine_transform(self, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        """`images` warped by projective `transforms` `[a0, a1, a2, b0, b1, b2, c0, c1]` (each maps output points
        to input points, as in `tf.raw_ops.ImageProjectiveTransformV3`); `fill_mode` "reflect", "wrap",
        "constant" or "nearest"; `interpolation` "bilinear" or "nearest"."""
        return _image_sampling.affine_transform(self, images, transforms, interpolation, fill_mode, fill_value)

    # ------------------------------------------------------------------ recurrent networks (time loops)
    # `scan` is the time loop: a Python loop here (what eager torch does anyway); jax and tensorflow override it
    # with their compiled loops. `simple_rnn` / `lstm` / `gru` are the Keras cells (Keras weight layout) written
    # once on `rnn`; an adapter may override them with a fused kernel when its math matches, calling these
    # composites for the cases the kernel does not cover (masks, recurrent dropout, other activations).
    def scan(self, step_fn, carry, sequences):
        """Loop `step_fn(carry, inputs_t) -> (carry, output_t)` over the leading (time) axis.

        `carry` is a list of arrays; `sequences` a list of arrays whose first axis is time, and `inputs_t`
        the list of their slices at one step. Returns `(final carry, outputs stacked on a new first axis)`.
        """
        outputs = []
        for t in range(self.shape(sequences[0])[0]):
            carry, output = step_fn(list(carry), [x[t] for x in sequences])
            outputs.append(output)
        return list(carry), self.stack(outputs, axis=0)

    def flip(self, x, axis):
        """`x` with its entries along `axis` in reverse order."""
        n = self.shape(x)[axis]
        return self.take(x, self.arange(n - 1, -1, -1), axis=axis)

    def rnn(self, step_fn, inputs, initial_state, mask=None, go_backwards=False, zero_output_for_mask=False):
        """Run a recurrent cell over `inputs` (batch, time, ...).

        `step_fn(inputs_t, states) -> (output_t, new_states)`; the first state has the output's shape.
        `mask` (batch, time), bool: a masked step keeps the states and repeats the previous output (the first
        state), or outputs zeros with `zero_output_for_mask`. `go_backwards` runs from the last step and
        returns the outputs in that order. Returns `(outputs (batch, time, units), final_states)`.
        """
        rank = len(self.shape(inputs))
        sequences = [self.transpose(inputs, (1, 0) + tuple(range(2, rank)))]
        if mask is not None:
            sequences.append(self.transpose(mask, (1, 0)))
        if go_backwards:
            sequences = [self.flip(s, 0) for s in sequences]

        def step(states, inputs_t):
            output, new_states = step_fn(inputs_t[0], states)
            if mask is None:
                return list(new_states), output
            keep = self.expand_dims(inputs_t[1], -1)
            new_states = [self.where(keep, new, old) for new, old in zip(new_states, states)]
            previous = self.zeros_like(output) if zero_output_for_mask else states[0]
            return new_states, self.where(keep, output, previous)

        states, outputs = self.scan(step, list(initial_state), sequences)
        return self.transpose(outputs, (1, 0, 2)), states

    def simple_rnn(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, activation=None, mask=None,
                   go_backwards=False, zero_output_for_mask=False, recurrent_dropout_mask=None):
        """Keras SimpleRNN: `h = activation(x @ kernel + bias + h @ recurrent_kernel)` (tanh when None).

        `initial_state` is `[h]`; returns `(outputs, [h])`. `recurrent_dropout_mask` multiplies `h` before
        the recurrent product.
        """
        activation = activation or self.tanh
        projected = self.affine(inputs, kernel, bias)

        def step(x, states):
            h = states[0] if recurrent_dropout_mask is None else states[0] * recurrent_dropout_mask
            h = activation(x + self.matmul(h, recurrent_kernel))
            return h, [h]
        return self.rnn(step, projected, initial_state, mask, go_backwards, zero_output_for_mask)

    def lstm(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, activation=None,
             recurrent_activation=None, mask=None, go_backwards=False, zero_output_for_mask=False,
             recurrent_dropout_mask=None):
        """Keras LSTM with gates i, f, c, o in that order along the last axis of the weights.

        `kernel` (features, 4 * units), `recurrent_kernel` (units, 4 * units), `bias` (4 * units,);
        `activation` tanh and `recurrent_activation` sigmoid when None. `initial_state` is `[h, c]`;
        returns `(outputs, [h, c])`.
        """
        activation = activation or self.tanh
        gate = recurrent_activation or self.sigmoid
        units = self.shape(recurrent_kernel)[0]
        projected = self.affine(inputs, kernel, bias)  # the input part of every step in one product

        def step(x, states):
            h, c = states
            if recurrent_dropout_mask is not None:
                h = h * recurrent_dropout_mask
            z = x + self.matmul(h, recurrent_kernel)
            z_i, z_f, z_c, z_o = self.split(z, 4, axis=-1)
            c = gate(z_f) * c + gate(z_i) * activation(z_c)
            h = gate(z_o) * activation(c)
            return h, [h, c]
        return self.rnn(step, projected, initial_state, mask, go_backwards, zero_output_for_mask)

    def gru(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, reset_after=True, activation=None,
            recurrent_activation=None, mask=None, go_backwards=False, zero_output_for_mask=False,
            recurrent_dropout_mask=None):
        """Keras GRU with gates z, r, h in that order along the last axis of the weights.

        `bias` is (3 * units,), or (2, 3 * units) (input and recurrent biases) when `reset_after`, which
        applies the reset gate after the recurrent product. `initial_state` is `[h]`; returns `(outputs, [h])`.
        """
        activation = activation or self.tanh
        gate = recurrent_activation or self.sigmoid
        units = self.shape(recurrent_kernel)[0]
        input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after and bias is not None else (bias, None)
        projected = self.affine(inputs, kernel, input_bias)

        def step(x, states):
            h = states[0]
            h_in = h if recurrent_dropout_mask is None else h * recurrent_dropout_mask
            if reset_after:
                inner = self.affine(h_in, recurrent_kernel, recurrent_bias)
            else:
                inner = self.matmul(h_in, recurrent_kernel[:, :2 * units])
            x_z, x_r, x_h = self.split(x, 3, axis=-1)
            if reset_after:
                inner_z, inner_r, inner_h = self.split(inner, 3, axis=-1)
            else:
                inner_z, inner_r = self.split(inner, 2, axis=-1)
            z = gate(x_z + inner_z)
            r = gate(x_r + inner_r)
            if reset_after:
                candidate = r * inner_h
            else:
                candidate = self.matmul(r * h_in, recurrent_kernel[:, 2 * units:])
            h = z * h + (1.0 - z) * activation(x_h + candidate)
            return h, [h]
        return self.rnn(step, projected, initial_state, mask, go_backwards, zero_output_for_mask)

    # ------------------------------------------------------------------ capabilities
    def native_dataset(self, generator_fn, element_spec):
        """The engine's own dataset type (e.g. `tf.data.Dataset`) reading the batches `generator_fn()` yields.

        `element_spec` mirrors one element: a `(shape, dtype)` pair (None for an unknown dimension, dtype
        names such as "float32" or "string"), or a tuple of them. Engines without a dataset type raise.
        """
        raise NotImplementedError(f"the {self.name} backend has no native dataset type (as_tf_dataset needs the "
                                  f"tensorflow backend); iterate the dataset or pass it to fit directly.")

    #: The `Model.export` formats this engine writes ("tf_saved_model", "onnx", ...).
    export_formats = ()
    #: Per format, the extra keyword arguments `export_model` accepts (e.g. {"onnx": ("opset_version",)}).
    export_options = {}

    def export_model(self, forward, values, input_specs, filepath, format, **options):
        """Write an inference artifact of a model in `format` (one of `export_formats`) at `filepath`.

        Args:
            forward: pure function `forward(values, inputs) -> {output name: array}`, the model in inference
                mode computed with the variable values `values` on the list of input arrays `inputs`.
            values: the model's variable values (engine arrays), stored in the artifact as its weights.
            input_specs: one `(name, shape, dtype)` per input; None dimensions (the batch always is) stay dynamic.
            filepath: where to write the artifact (a new path; the caller moves it into place).
            format: the format name.
            **options: the format's extra arguments, among `export_options[format]`.
        """
        raise NotImplementedError(f"the {self.name} backend exports no format (Model.export format={format!r}).")

    # ------------------------------------------------------------------ distribution (mlfront.distribution)
    #: True where the engine runs one process per device (torch), so several devices mean several processes;
    #: False where one process drives several devices (`MLFRONT_NUM_CPU_DEVICES` gives a CPU several).
    one_process_per_device = False
    #: The `mlfront.distribution` classes the engine runs.
    distributions = ()

    def list_devices(self, device_type=None):
        """The job's devices of `device_type` ("cpu", "gpu", "tpu"; None: the engine's default) as names
        such as "cpu:0"."""
        return ["cpu:0"] if device_type in (None, "cpu") else []

    def initialize_distributed(self, job_addresses, num_processes, process_id):
        """Join a multi-process job through the engine's runtime: `job_addresses` is a list holding the
        coordinator's "host:port" or every process's, checked by `mlfront.distribution.initialize`."""
        raise NotImplementedError(f"the {self.name} backend cannot join a multi-process job.")

    def process_index(self):
        """This process's index in the job (0 alone)."""
        return 0

    def process_count(self):
        """How many processes the job has."""
        return 1

    def distributed_runtime(self, distribution):
        """The `mlfront.distribution.replicas.Runtime` that runs steps under `distribution` (a DataParallel /
        ModelParallel); engines without distribution support raise."""
        raise ValueError(f"the {self.name} backend has no distribution support ({type(distribution).__name__}).")
