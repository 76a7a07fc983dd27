"""The Backend interface mapped onto JAX (`jax.jit` for compiled steps, `jax.random` keys)."""

import jax
import jax.numpy as jnp
import numpy as np

from mlfront.backend.base import Backend


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


class JaxBackend(Backend):
    name = "jax"
    traces = True

    # creation and conversion
    def convert(self, x, dtype=None):
        if dtype is None and isinstance(x, (float, np.ndarray)) and np.asarray(x).dtype == np.float64:
            dtype = "float32"
        return jnp.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def is_array(self, x):
        return isinstance(x, jax.Array)

    def zeros(self, shape, dtype="float32"):
        return jnp.zeros(shape, dtype)

    def ones(self, shape, dtype="float32"):
        return jnp.ones(shape, dtype)

    def full(self, shape, value, dtype="float32"):
        return jnp.full(shape, value, dtype)

    def arange(self, start, stop=None, step=1, dtype="int32"):
        return jnp.arange(start, stop, step, dtype=dtype)

    def cast(self, x, dtype):
        return x.astype(dtype)

    def dtype(self, x):
        return jnp.dtype(x.dtype).name

    def shape(self, x):
        return tuple(x.shape)

    # elementwise math
    exp = staticmethod(jnp.exp)
    log = staticmethod(jnp.log)
    sqrt = staticmethod(jnp.sqrt)
    abs = staticmethod(jnp.abs)
    sign = staticmethod(jnp.sign)
    tanh = staticmethod(jnp.tanh)
    floor = staticmethod(jnp.floor)
    log1p = staticmethod(jnp.log1p)
    expm1 = staticmethod(jnp.expm1)
    maximum = staticmethod(jnp.maximum)
    minimum = staticmethod(jnp.minimum)
    where = staticmethod(jnp.where)
    square = staticmethod(jnp.square)
    sigmoid = staticmethod(jax.nn.sigmoid)
    relu = staticmethod(jax.nn.relu)
    softplus = staticmethod(jax.nn.softplus)
    selu = staticmethod(jax.nn.selu)

    def clip(self, x, min_value, max_value):
        return jnp.clip(x, min_value, max_value)

    def elu(self, x, alpha=1.0):
        return jax.nn.elu(x, alpha)

    # reductions
    def sum(self, x, axis=None, keepdims=False):
        return jnp.sum(x, axis=_axis(axis), keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return jnp.mean(x, axis=_axis(axis), keepdims=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return jnp.max(x, axis=_axis(axis), keepdims=keepdims)

    def min(self, x, axis=None, keepdims=False):
        return jnp.min(x, axis=_axis(axis), keepdims=keepdims)

    def argmax(self, x, axis=-1):
        return jnp.argmax(x, axis=axis)

    # linear algebra and shapes
    matmul = staticmethod(jnp.matmul)
    reshape = staticmethod(jnp.reshape)
    expand_dims = staticmethod(jnp.expand_dims)
    squeeze = staticmethod(jnp.squeeze)
    broadcast_to = staticmethod(jnp.broadcast_to)
    cumsum = staticmethod(jnp.cumsum)
    sort = staticmethod(jnp.sort)

    def transpose(self, x, axes=None):
        return jnp.transpose(x, axes)

    def concatenate(self, xs, axis=0):
        return jnp.concatenate(list(xs), axis=axis)

    def stack(self, xs, axis=0):
        return jnp.stack(list(xs), axis=axis)

    def take(self, x, indices, axis=0):
        return jnp.take(x, indices, axis=axis)

    def take_along_axis(self, x, indices, axis):
        return jnp.take_along_axis(x, indices, axis=axis)

    def one_hot(self, indices, num_classes, dtype="float32"):
        return jax.nn.one_hot(indices, num_classes, dtype=dtype)

    def top_k(self, x, k):
        return jax.lax.top_k(x, k)

    # random numbers
    def rng_key(self, seed):
        return jax.random.key_data(jax.random.key(seed))

    def rng_split(self, key, num=2):
        keys = jax.random.split(jax.random.wrap_key_data(key), num)
        return [jax.random.key_data(k) for k in keys]

    def random_uniform(self, key, shape, minval=0.0, maxval=1.0, dtype="float32"):
        return jax.random.uniform(jax.random.wrap_key_data(key), tuple(shape), dtype, minval, maxval)

    def random_normal(self, key, shape, mean=0.0, stddev=1.0, dtype="float32"):
        return jax.random.normal(jax.random.wrap_key_data(key), tuple(shape), dtype) * stddev + mean

    def dropout(self, key, x, rate):
        keep = jax.random.bernoulli(jax.random.wrap_key_data(key), 1.0 - rate, x.shape)
        return jnp.where(keep, x / (1.0 - rate), 0.0)

    # nn kernels
    def softmax(self, x, axis=-1):
        return jax.nn.softmax(x, axis=axis)

    def log_softmax(self, x, axis=-1):
        return jax.nn.log_softmax(x, axis=axis)

    def logsumexp(self, x, axis=-1, keepdims=False):
        return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)

    # autodiff and compilation
    def value_and_grad(self, fn, has_aux=False):
        return jax.value_and_grad(fn, has_aux=has_aux)

    def compile(self, fn, jit=True):
        return jax.jit(fn) if jit else fn

    stop_gradient = staticmethod(jax.lax.stop_gradient)
