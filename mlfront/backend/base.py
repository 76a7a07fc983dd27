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

    @abc.abstractmethod
    def compile(self, fn, jit=True):
        """`fn` compiled for repeated calls with same-shaped arguments (or `fn` itself when `jit` is False).

        The function must be pure: it reads only its arguments and returns its results.
        """

    @abc.abstractmethod
    def stop_gradient(self, x): """`x`, treated as a constant by autodiff."""

    # ------------------------------------------------------------------ composites, written once
    def full(self, shape, value, dtype="float32"):
        return self.ones(shape, dtype) * value

    def zeros_like(self, x):
        return self.zeros(self.shape(x), self.dtype(x))

    def ones_like(self, x):
        return self.ones(self.shape(x), self.dtype(x))

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
        return self.exp(self.sum(self.log(x), axis=axis, keepdims=keepdims))

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
