"""The Backend interface mapped onto JAX (`jax.jit` for compiled steps, `jax.random` keys)."""

import jax
import jax.numpy as jnp
import numpy as np

from mlfront.backend.base import Backend, conv_transpose_padding
from mlfront_jax import distributed as _distributed


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _conv_dimensions(n, kernel_out_axis, kernel_in_axis):
    """lax dimension numbers for channels_last images and a (*kernel_size, ., .) kernel."""
    image = (0, n + 1) + tuple(range(1, n + 1))
    return jax.lax.ConvDimensionNumbers(image, (kernel_out_axis, kernel_in_axis) + tuple(range(n)), image)


class JaxBackend(Backend):
    name = "jax"
    traces = True

    def __init__(self):
        _distributed.configure_cpu_devices()

    # creation and conversion
    def convert(self, x, dtype=None):
        if dtype is None and isinstance(x, (float, np.ndarray)) and np.asarray(x).dtype == np.float64:
            dtype = "float32"
        return jnp.asarray(x, dtype=dtype)

    def prepare_batch(self, array):
        # jitted functions take NumPy arrays and move them to the device in C++, faster than jnp.asarray here
        return array

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
    # --- optimizers/schedules helper: cosine (CosineDecay)
    cos = staticmethod(jnp.cos)
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

    def split(self, x, num, axis=-1):
        return jnp.split(x, num, axis=axis)

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

    # einsum (normalization and attention layers)
    def einsum(self, subscripts, *operands):
        return jnp.einsum(subscripts, *operands)

    rsqrt = staticmethod(jax.lax.rsqrt)

    # nn kernels
    def softmax(self, x, axis=-1):
        return jax.nn.softmax(x, axis=axis)

    def log_softmax(self, x, axis=-1):
        return jax.nn.log_softmax(x, axis=axis)

    def logsumexp(self, x, axis=-1, keepdims=False):
        return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)

    def layer_norm(self, x, axes, gamma, beta, epsilon):
        # XLA fuses ((x - mean) * rsqrt) * gamma and its gradient better than (x - mean) * (rsqrt * gamma): 1.4x
        mean, variance = jnp.mean(x, axis=axes, keepdims=True), jnp.var(x, axis=axes, keepdims=True)
        outputs = (x - mean) * jax.lax.rsqrt(variance + epsilon)
        shape = [d if a in axes else 1 for a, d in enumerate(x.shape)]
        if gamma is not None:
            outputs = outputs * jnp.reshape(gamma, shape)
        return outputs if beta is None else outputs + jnp.reshape(beta, shape)

    def dot_product_attention(self, query, key, value, bias=None, mask=None, scale=None, is_causal=False):
        if value.shape[-1] != query.shape[-1]:  # jax.nn's kernel needs one depth for all three
            return super().dot_product_attention(query, key, value, bias, mask, scale, is_causal)
        return jax.nn.dot_product_attention(query, key, value, bias, None if mask is None else mask.astype(bool),
                                            scale=scale, is_causal=is_causal)

    # convolution, pooling, padding (channels_last; lax pads "SAME" with the odd cell after, as Keras does)
    def conv(self, x, kernel, strides, padding="valid", dilation_rate=None, groups=1):
        n = x.ndim - 2
        padding = padding.upper() if isinstance(padding, str) else [tuple(p) for p in padding]
        return jax.lax.conv_general_dilated(x, kernel, tuple(strides), padding, rhs_dilation=dilation_rate,
                                            dimension_numbers=_conv_dimensions(n, n + 1, n),
                                            feature_group_count=groups)

    def conv_transpose(self, x, kernel, strides, padding="valid", output_padding=None, dilation_rate=None):
        # a stride-1 convolution of the stride-dilated input with the flipped kernel, padded to Keras's output
        n = x.ndim - 2
        dilation_rate = tuple(dilation_rate or (1,) * n)
        trim = conv_transpose_padding(x.shape[1:-1], kernel.shape[:n], strides, padding, output_padding,
                                      dilation_rate)
        pads = [((k - 1) * d + lo, (k - 1) * d + hi) for k, d, (lo, hi) in zip(kernel.shape[:n], dilation_rate, trim)]
        flipped = jnp.flip(kernel, axis=tuple(range(n)))
        return jax.lax.conv_general_dilated(x, flipped, (1,) * n, pads, lhs_dilation=tuple(strides),
                                            rhs_dilation=dilation_rate, dimension_numbers=_conv_dimensions(n, n, n + 1))

    def max_pool(self, x, pool_size, strides, padding="valid"):
        return self._pool(x, jax.lax.max, -jnp.inf, pool_size, strides, padding)

    def avg_pool(self, x, pool_size, strides, padding="valid"):
        sums = self._pool(x, jax.lax.add, 0.0, pool_size, strides, padding)
        if padding == "valid":
            return sums / float(np.prod(pool_size))
        counts = self._pool(jnp.ones((1,) + x.shape[1:-1] + (1,), x.dtype), jax.lax.add, 0.0, pool_size, strides,
                            padding)
        return sums / counts

    def _pool(self, x, op, init, pool_size, strides, padding):
        return jax.lax.reduce_window(x, np.array(init, x.dtype), op, (1, *pool_size, 1), (1, *strides, 1),
                                     padding.upper())

    def pad(self, x, pad_width, constant_values=0):
        return jnp.pad(x, [tuple(p) for p in pad_width], constant_values=constant_values)

    # recurrent networks: the time loop is jax.lax.scan (one compiled step body) when traced (jit, grad);
    # on concrete arrays the base Python loop, since an eager lax.scan compiles its body on every call.
    def scan(self, step_fn, carry, sequences):
        if not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((carry, sequences))):
            return super().scan(step_fn, carry, sequences)

        def body(carry, inputs_t):
            carry, output = step_fn(list(carry), list(inputs_t))
            return list(carry), output
        carry, outputs = jax.lax.scan(body, list(carry), list(sequences))
        return list(carry), outputs

    def flip(self, x, axis):
        return jnp.flip(x, axis)

    # LSTM / GRU (reset_after) with the default activations and neither mask nor recurrent dropout: a fused
    # scan with a hand-written backward (see `_lstm_core`); the other cases take the base composites.
    def lstm(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, **options):
        if not _rnn_fusable(options):
            return super().lstm(inputs, initial_state, kernel, recurrent_kernel, bias, **options)
        if bias is None:
            bias = jnp.zeros(recurrent_kernel.shape[1:], recurrent_kernel.dtype)
        h0, c0 = initial_state
        hs, h, c = _fused_lstm(_time_major(inputs, options.get("go_backwards")), h0, c0, kernel,
                               recurrent_kernel, bias)
        return jnp.swapaxes(hs, 0, 1), [h, c]

    def gru(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, reset_after=True, **options):
        if not reset_after or not _rnn_fusable(options):
            return super().gru(inputs, initial_state, kernel, recurrent_kernel, bias, reset_after, **options)
        if bias is None:
            bias = jnp.zeros((2,) + recurrent_kernel.shape[1:], recurrent_kernel.dtype)
        hs, h = _fused_gru(_time_major(inputs, options.get("go_backwards")), initial_state[0], kernel,
                           recurrent_kernel, bias[0], bias[1])
        return jnp.swapaxes(hs, 0, 1), [h]

    # image sampling: the base composites, compiled as one function per shape (eager JAX would compile each of
    # their ~100 small ops on a new shape: seconds instead of a fraction of one)
    def resize(self, images, size, interpolation="bilinear"):
        return _jit_resize(self, images, tuple(int(s) for s in size), interpolation)

    def affine_transform(self, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        return _jit_affine_transform(self, images, transforms, interpolation, fill_mode, fill_value)

    # keras.ops numerics (issue 9, item 4): jax.numpy and lax for the base composites
    sin = staticmethod(jnp.sin)
    tan = staticmethod(jnp.tan)
    sinh = staticmethod(jnp.sinh)
    cosh = staticmethod(jnp.cosh)
    arcsin = staticmethod(jnp.arcsin)
    arccos = staticmethod(jnp.arccos)
    arctan = staticmethod(jnp.arctan)
    arctan2 = staticmethod(jnp.arctan2)
    arcsinh = staticmethod(jnp.arcsinh)
    arccosh = staticmethod(jnp.arccosh)
    arctanh = staticmethod(jnp.arctanh)
    erf = staticmethod(jax.scipy.special.erf)
    power = staticmethod(jnp.power)
    isnan = staticmethod(jnp.isnan)
    isinf = staticmethod(jnp.isinf)
    isfinite = staticmethod(jnp.isfinite)
    logical_not = staticmethod(jnp.logical_not)
    logical_and = staticmethod(jnp.logical_and)
    logical_or = staticmethod(jnp.logical_or)
    logical_xor = staticmethod(jnp.logical_xor)
    tril = staticmethod(jnp.tril)
    triu = staticmethod(jnp.triu)

    def prod(self, x, axis=None, keepdims=False):
        return jnp.prod(x, axis=_axis(axis), keepdims=keepdims)

    def any(self, x, axis=None, keepdims=False):
        return jnp.any(x, axis=_axis(axis), keepdims=keepdims)

    def all(self, x, axis=None, keepdims=False):
        return jnp.all(x, axis=_axis(axis), keepdims=keepdims)

    def argmin(self, x, axis=-1):
        return jnp.argmin(x, axis=axis)

    def round(self, x, decimals=0):
        return jnp.round(x, decimals)

    def tile(self, x, repeats):
        return jnp.tile(x, repeats)

    def repeat(self, x, repeats, axis=None):
        return jnp.repeat(x, jnp.asarray(repeats) if isinstance(repeats, (list, tuple)) else repeats, axis=axis)

    def eye(self, N, M=None, k=0, dtype="float32"):
        return jnp.eye(N, M, k, dtype=dtype)

    def linspace(self, start, stop, num=50, endpoint=True, retstep=False, dtype="float32", axis=0):
        return jnp.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)

    def meshgrid(self, *x, indexing="xy"):
        return list(jnp.meshgrid(*x, indexing=indexing))

    def scatter(self, indices, values, shape):
        index = tuple(jnp.moveaxis(indices, -1, 0))
        return jnp.zeros(shape, values.dtype).at[index].add(values)

    def scatter_update(self, inputs, indices, updates):
        return inputs.at[tuple(jnp.moveaxis(indices, -1, 0))].set(updates)

    def slice(self, inputs, start_indices, shape):
        return jax.lax.dynamic_slice(inputs, start_indices, shape)

    def slice_update(self, inputs, start_indices, updates):
        return jax.lax.dynamic_update_slice(inputs, updates.astype(inputs.dtype), start_indices)

    def cond(self, pred, true_fn, false_fn):
        return jax.lax.cond(pred, true_fn, false_fn)

    def while_loop(self, cond, body, loop_vars, maximum_iterations=None):
        if maximum_iterations is None:
            return tuple(jax.lax.while_loop(lambda v: cond(*v), lambda v: tuple(body(*v)), tuple(loop_vars)))
        # count the steps in the carry to stop after `maximum_iterations`
        def counted_cond(state):
            return jnp.logical_and(state[0] < maximum_iterations, cond(*state[1]))
        def counted_body(state):
            return state[0] + 1, tuple(body(*state[1]))
        return tuple(jax.lax.while_loop(counted_cond, counted_body, (0, tuple(loop_vars)))[1])

    def fori_loop(self, lower, upper, body_fun, init_val):
        return jax.lax.fori_loop(lower, upper, body_fun, init_val)

    # autodiff and compilation
    def value_and_grad(self, fn, has_aux=False):
        return jax.value_and_grad(fn, has_aux=has_aux)

    def compile(self, fn, jit="auto"):
        return jax.jit(fn) if jit else fn  # jax.jit is XLA already: "auto" and True are the same

    def compile_donating(self, fn, jit="auto"):
        # the step's results reuse the buffers of the state it replaces (about 20% more MLP steps per second)
        return _DonatingStep(fn) if jit else fn

    stop_gradient = staticmethod(jax.lax.stop_gradient)

    # distribution: a Mesh with NamedShardings inside the one jitted step
    distributions = ("DataParallel", "ModelParallel")
    list_devices = staticmethod(_distributed.list_devices)
    initialize_distributed = staticmethod(_distributed.initialize)
    process_index = staticmethod(jax.process_index)
    process_count = staticmethod(jax.process_count)
    distributed_runtime = staticmethod(_distributed.JaxRuntime)


class _DonatingStep:
    """`jax.jit(fn, donate_argnums=0)` on a list of arrays. The first call runs on copies (its arguments stay
    valid, see `Backend.compile_donating`); an array listed twice (two variables holding one value) is copied
    once more, since XLA cannot donate one buffer twice."""

    def __init__(self, fn):
        self._jitted = jax.jit(fn, donate_argnums=0)
        self._called = False

    def __call__(self, values, *args):
        if not self._called:
            self._called = True
            values = [jnp.copy(v) for v in values]
        elif len({id(v) for v in values}) != len(values):
            seen = set()
            values = [jnp.copy(v) if id(v) in seen else seen.add(id(v)) or v for v in values]
        return self._jitted(values, *args)


_jit_resize = jax.jit(Backend.resize, static_argnums=(0, 2, 3))
_jit_affine_transform = jax.jit(Backend.affine_transform, static_argnums=(0, 3, 4))


# Fused recurrent cells (default activations, no mask, no recurrent dropout). Time-major sequences; the input
# product stays inside the step: on XLA:CPU a loop reading a (time, batch, 4 * units) pre-projected sequence is
# about twice as slow as one multiplying its (time, batch, features) slice. The hand-written backward keeps
# only the gate activations as residuals and accumulates the weight gradients in the reverse loop's carry.
def _rnn_fusable(options):
    return all(options.get(name) is None for name in
               ("activation", "recurrent_activation", "mask", "recurrent_dropout_mask"))


def _time_major(inputs, go_backwards):
    xs = jnp.swapaxes(inputs, 0, 1)
    return jnp.flip(xs, 0) if go_backwards else xs


def _shifted(first, seq):
    """The sequence of previous values: `first`, seq[0], ..., seq[-2]."""
    return jnp.concatenate([first[None], seq[:-1]], 0)


def _lstm_forward(xs, h0, c0, kernel, recurrent_kernel, bias):
    def step(carry, x):
        h, c = carry
        z = jnp.matmul(x, kernel) + jnp.matmul(h, recurrent_kernel) + bias
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        i, f, o, g = jax.nn.sigmoid(z_i), jax.nn.sigmoid(z_f), jax.nn.sigmoid(z_o), jnp.tanh(z_c)
        c = (f * c + i * g).astype(c0.dtype)
        h = (o * jnp.tanh(c)).astype(h0.dtype)
        return (h, c), (h, c, i, f, g, o)
    (h, c), (hs, cs, i, f, g, o) = jax.lax.scan(step, (h0, c0), xs)
    return (hs, h, c), (xs, hs, cs, i, f, g, o, h0, c0, kernel, recurrent_kernel, bias)


def _lstm_backward(residuals, cotangents):
    xs, hs, cs, i, f, g, o, h0, c0, kernel, recurrent_kernel, bias = residuals
    d_hs, d_h, d_c = cotangents
    kernel_t, recurrent_t = kernel.T, recurrent_kernel.T

    def step(carry, inputs_t):
        dh, dc, dk, drk, db = carry
        dh_t, x, h_prev, c_prev, c, i, f, g, o = inputs_t
        dh = dh + dh_t
        tanh_c = jnp.tanh(c)
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz = jnp.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
                              dh * tanh_c * o * (1.0 - o)], axis=-1)
        carry = (jnp.matmul(dz, recurrent_t).astype(dh.dtype), (dc * f).astype(dc.dtype),
                 dk + jnp.matmul(x.T, dz).astype(dk.dtype), drk + jnp.matmul(h_prev.T, dz).astype(drk.dtype),
                 db + jnp.sum(dz, 0).astype(db.dtype))
        return carry, jnp.matmul(dz, kernel_t).astype(xs.dtype)
    init = (d_h, d_c, jnp.zeros_like(kernel), jnp.zeros_like(recurrent_kernel), jnp.zeros_like(bias))
    sequences = (d_hs, xs, _shifted(h0, hs), _shifted(c0, cs), cs, i, f, g, o)
    (dh0, dc0, dk, drk, db), dxs = jax.lax.scan(step, init, sequences, reverse=True)
    return dxs, dh0, dc0, dk, drk, db


@jax.custom_vjp
def _lstm_core(xs, h0, c0, kernel, recurrent_kernel, bias):
    return _lstm_forward(xs, h0, c0, kernel, recurrent_kernel, bias)[0]


_lstm_core.defvjp(_lstm_forward, _lstm_backward)
_fused_lstm = jax.jit(_lstm_core)  # compiled once per shape when called on concrete arrays


def _gru_forward(xs, h0, kernel, recurrent_kernel, input_bias, recurrent_bias):
    def step(h, x):
        x_z, x_r, x_h = jnp.split(jnp.matmul(x, kernel) + input_bias, 3, axis=-1)
        inner_z, inner_r, inner_h = jnp.split(jnp.matmul(h, recurrent_kernel) + recurrent_bias, 3, axis=-1)
        z, r = jax.nn.sigmoid(x_z + inner_z), jax.nn.sigmoid(x_r + inner_r)
        candidate = jnp.tanh(x_h + r * inner_h)
        h = (z * h + (1.0 - z) * candidate).astype(h0.dtype)
        return h, (h, z, r, candidate, inner_h)
    h, (hs, z, r, candidate, inner_h) = jax.lax.scan(step, h0, xs)
    return (hs, h), (xs, hs, z, r, candidate, inner_h, h0, kernel, recurrent_kernel, input_bias, recurrent_bias)


def _gru_backward(residuals, cotangents):
    xs, hs, z, r, candidate, inner_h, h0, kernel, recurrent_kernel, input_bias, recurrent_bias = residuals
    d_hs, d_h = cotangents
    kernel_t, recurrent_t = kernel.T, recurrent_kernel.T

    def step(carry, inputs_t):
        dh, dk, drk, dbi, dbr = carry
        dh_t, x, h_prev, z, r, candidate, inner_h = inputs_t
        dh = dh + dh_t
        dz = dh * (h_prev - candidate) * z * (1.0 - z)
        d_candidate = dh * (1.0 - z) * (1.0 - candidate * candidate)
        dr = d_candidate * inner_h * r * (1.0 - r)
        d_inner = jnp.concatenate([dz, dr, d_candidate * r], axis=-1)
        d_x = jnp.concatenate([dz, dr, d_candidate], axis=-1)
        carry = ((dh * z + jnp.matmul(d_inner, recurrent_t)).astype(dh.dtype),
                 dk + jnp.matmul(x.T, d_x).astype(dk.dtype), drk + jnp.matmul(h_prev.T, d_inner).astype(drk.dtype),
                 dbi + jnp.sum(d_x, 0).astype(dbi.dtype), dbr + jnp.sum(d_inner, 0).astype(dbr.dtype))
        return carry, jnp.matmul(d_x, kernel_t).astype(xs.dtype)
    init = (d_h, jnp.zeros_like(kernel), jnp.zeros_like(recurrent_kernel), jnp.zeros_like(input_bias),
            jnp.zeros_like(recurrent_bias))
    sequences = (d_hs, xs, _shifted(h0, hs), z, r, candidate, inner_h)
    (dh0, dk, drk, dbi, dbr), dxs = jax.lax.scan(step, init, sequences, reverse=True)
    return dxs, dh0, dk, drk, dbi, dbr


@jax.custom_vjp
def _gru_core(xs, h0, kernel, recurrent_kernel, input_bias, recurrent_bias):
    return _gru_forward(xs, h0, kernel, recurrent_kernel, input_bias, recurrent_bias)[0]


_gru_core.defvjp(_gru_forward, _gru_backward)
_fused_gru = jax.jit(_gru_core)
