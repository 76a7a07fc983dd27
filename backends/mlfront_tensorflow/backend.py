"""The Backend interface mapped onto TensorFlow (`tf.function` for compiled steps, stateless random ops)."""

import itertools
import warnings

import numpy as np
import tensorflow as tf

from mlfront.backend.base import Backend, conv_transpose_padding
from mlfront_tensorflow import distributed as _distributed


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@tf.custom_gradient
def _relu(x):
    """max(x, 0) with ReLU's gradient (0 at 0). Not `tf.nn.relu`: inside a tf.function grappler fuses
    MatMul + BiasAdd + Relu into one kernel that turns NaN into 0, so NaN inputs trained to a finite loss;
    Maximum is not fused and keeps NaN, as NumPy, torch and jax do."""
    y = tf.maximum(x, tf.zeros((), x.dtype))
    return y, lambda dy: tf.raw_ops.ReluGrad(gradients=dy, features=y)


class TensorFlowBackend(Backend):
    name = "tensorflow"
    traces = True

    def __init__(self):
        _distributed.configure_cpu_devices()

    # creation and conversion
    def convert(self, x, dtype=None):
        if isinstance(x, (tf.Tensor, tf.Variable)):
            return x if dtype is None or x.dtype.name == dtype else tf.cast(x, dtype)
        if dtype is None and isinstance(x, (float, np.ndarray)) and np.asarray(x).dtype == np.float64:
            dtype = "float32"
        return tf.convert_to_tensor(x, dtype=dtype)

    def to_numpy(self, x):
        return x.numpy() if hasattr(x, "numpy") else np.asarray(x)

    def is_array(self, x):
        return isinstance(x, (tf.Tensor, tf.Variable))

    def zeros(self, shape, dtype="float32"):
        return tf.zeros(shape, dtype)

    def ones(self, shape, dtype="float32"):
        return tf.ones(shape, dtype)

    def full(self, shape, value, dtype="float32"):
        return tf.fill(shape, tf.constant(value, dtype))

    def arange(self, start, stop=None, step=1, dtype="int32"):
        return tf.range(start, stop, step, dtype=dtype)

    def cast(self, x, dtype):
        return tf.cast(x, dtype)

    def dtype(self, x):
        return x.dtype.name

    def shape(self, x):
        return tuple(x.shape)

    def zeros_like(self, x):
        return tf.zeros_like(x)

    def ones_like(self, x):
        return tf.ones_like(x)

    # elementwise math
    exp = staticmethod(tf.exp)
    log = staticmethod(tf.math.log)
    sqrt = staticmethod(tf.sqrt)
    abs = staticmethod(tf.abs)
    sign = staticmethod(tf.sign)
    tanh = staticmethod(tf.tanh)
    floor = staticmethod(tf.floor)
    log1p = staticmethod(tf.math.log1p)
    expm1 = staticmethod(tf.math.expm1)
    # --- optimizers/schedules helper: cosine (CosineDecay)
    cos = staticmethod(tf.cos)
    square = staticmethod(tf.square)
    sigmoid = staticmethod(tf.sigmoid)
    relu = staticmethod(_relu)
    softplus = staticmethod(tf.nn.softplus)
    softsign = staticmethod(tf.nn.softsign)
    selu = staticmethod(tf.nn.selu)

    def maximum(self, x, y):
        return tf.maximum(x, tf.cast(y, x.dtype) if isinstance(y, (int, float)) else y)

    def minimum(self, x, y):
        return tf.minimum(x, tf.cast(y, x.dtype) if isinstance(y, (int, float)) else y)

    def clip(self, x, min_value, max_value):
        return tf.clip_by_value(x, min_value, max_value)

    def where(self, condition, x, y):
        return tf.where(condition, x, y)

    def elu(self, x, alpha=1.0):
        return tf.nn.elu(x) if alpha == 1.0 else tf.where(x > 0, x, alpha * tf.math.expm1(tf.minimum(x, 0.0)))

    # reductions
    def sum(self, x, axis=None, keepdims=False):
        return tf.reduce_sum(x, axis=_axis(axis), keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return tf.reduce_mean(x, axis=_axis(axis), keepdims=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return tf.reduce_max(x, axis=_axis(axis), keepdims=keepdims)

    def min(self, x, axis=None, keepdims=False):
        return tf.reduce_min(x, axis=_axis(axis), keepdims=keepdims)

    def argmax(self, x, axis=-1):
        return tf.argmax(x, axis=axis)

    # linear algebra and shapes
    def matmul(self, x, y):
        # tf.matmul wants rank >= 2: a 1-D operand is a row (x) or column (y) vector, its axis dropped after
        x_vector, y_vector = len(x.shape) == 1, len(y.shape) == 1
        out = tf.matmul(x[None, :] if x_vector else x, y[:, None] if y_vector else y)
        out = tf.squeeze(out, -2) if x_vector else out
        return tf.squeeze(out, -1) if y_vector else out

    def affine(self, x, kernel, bias=None):
        # A rank > 2 input as one 2-D product (tensordot reshapes): tf.matmul would broadcast the kernel into a
        # batch matmul, whose kernel gradient is a batched product and a sum, about twice as slow.
        y = tf.tensordot(x, kernel, 1) if len(x.shape) > 2 else self.matmul(x, kernel)
        return y if bias is None else y + bias

    reshape = staticmethod(tf.reshape)
    expand_dims = staticmethod(tf.expand_dims)
    broadcast_to = staticmethod(tf.broadcast_to)

    def squeeze(self, x, axis):
        return tf.squeeze(x, axis)

    def split(self, x, num, axis=-1):
        return tf.split(x, num, axis=axis)  # its gradient is one concat; strided slices each scatter a zero tensor

    def transpose(self, x, axes=None):
        return tf.transpose(x, axes)

    def concatenate(self, xs, axis=0):
        return tf.concat(list(xs), axis=axis)

    def stack(self, xs, axis=0):
        return tf.stack(list(xs), axis=axis)

    def take(self, x, indices, axis=0):
        return tf.gather(x, indices, axis=axis)

    def take_along_axis(self, x, indices, axis):
        return tf.experimental.numpy.take_along_axis(x, indices, axis=axis)

    def one_hot(self, indices, num_classes, dtype="float32"):
        return tf.one_hot(indices, num_classes, dtype=dtype)

    def top_k(self, x, k):
        return tf.math.top_k(x, k)

    def cumsum(self, x, axis=0):
        return tf.cumsum(x, axis=axis)

    def sort(self, x, axis=-1):
        return tf.sort(x, axis=axis)

    # random numbers: stateless ops seeded by a [2] int32 key
    def rng_key(self, seed):
        return tf.constant([int(seed) & 0x7FFFFFFF, (int(seed) >> 31) & 0x7FFFFFFF], tf.int32)

    def rng_split(self, key, num=2):
        return tf.unstack(tf.random.experimental.stateless_split(key, num))

    def random_uniform(self, key, shape, minval=0.0, maxval=1.0, dtype="float32"):
        return tf.random.stateless_uniform(shape, key, minval, maxval, dtype=dtype)

    def random_normal(self, key, shape, mean=0.0, stddev=1.0, dtype="float32"):
        return tf.random.stateless_normal(shape, key, mean, stddev, dtype=dtype)

    def dropout(self, key, x, rate):
        return tf.nn.experimental.stateless_dropout(x, rate, seed=key)

    # einsum (normalization and attention layers)
    def einsum(self, subscripts, *operands):
        return tf.einsum(subscripts, *operands)

    rsqrt = staticmethod(tf.math.rsqrt)

    # nn kernels
    def softmax(self, x, axis=-1):
        return tf.nn.softmax(x, axis=axis)

    def log_softmax(self, x, axis=-1):
        return tf.nn.log_softmax(x, axis=axis)

    def logsumexp(self, x, axis=-1, keepdims=False):
        return tf.reduce_logsumexp(x, axis=axis, keepdims=keepdims)

    def sparse_categorical_crossentropy_from_logits(self, labels, logits):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits)

    def binary_crossentropy_from_logits(self, labels, logits):
        return tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)

    # convolution, pooling, padding (channels_last; TF pads "SAME" with the odd cell after, as Keras does)
    def conv(self, x, kernel, strides, padding="valid", dilation_rate=None, groups=1):
        if groups > 1:  # TF's CPU kernels: no gradient for grouped convolutions (2.21), no groups in Conv3D at all
            depthwise = _depthwise_conv(x, kernel, strides, padding, dilation_rate, groups)
            if depthwise is not None:
                return depthwise
            return self.grouped_conv_by_parts(x, kernel, strides, padding, dilation_rate, groups)
        if not isinstance(padding, str):
            x, padding = tf.pad(x, [(0, 0), *padding, (0, 0)]), "valid"
        return tf.nn.convolution(x, kernel, strides=list(strides), padding=padding.upper(),
                                 dilations=list(dilation_rate) if dilation_rate else None)

    def conv_transpose(self, x, kernel, strides, padding="valid", output_padding=None, dilation_rate=None):
        # the full ("VALID") transposed convolution, then trimmed to Keras's output lengths
        n = len(x.shape) - 2
        dilation_rate = tuple(dilation_rate or (1,) * n)
        spatial, kernel_size = tuple(x.shape[1:-1]), tuple(kernel.shape[:n])
        full = [(length - 1) * s + (k - 1) * d + 1 for length, k, s, d in zip(spatial, kernel_size, strides,
                                                                               dilation_rate)]
        if max(dilation_rate) > 1:  # TF's CPU kernel lacks dilation: the stride-1 equivalent forward convolution
            edges = [((k - 1) * d, (k - 1) * d) for k, d in zip(kernel_size, dilation_rate)]
            flipped = tf.transpose(tf.reverse(kernel, list(range(n))), list(range(n)) + [n + 1, n])
            y = self.conv(x, flipped, strides, edges, dilation_rate)
        else:
            output_shape = tf.concat([tf.shape(x)[:1], tf.constant(full + [kernel.shape[n]], tf.int32)], 0)
            y = tf.nn.conv_transpose(x, kernel, output_shape, strides=list(strides), padding="VALID")
        trim = conv_transpose_padding(spatial, kernel_size, strides, padding, output_padding, dilation_rate)
        cut = tuple(slice(max(-lo, 0), length - max(-hi, 0)) for (lo, hi), length in zip(trim, full))
        y = y[(slice(None),) + cut + (slice(None),)]
        return tf.pad(y, [(0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in trim] + [(0, 0)])

    def max_pool(self, x, pool_size, strides, padding="valid"):
        return tf.nn.pool(x, list(pool_size), "MAX", strides=list(strides), padding=padding.upper())

    def avg_pool(self, x, pool_size, strides, padding="valid"):
        return tf.nn.pool(x, list(pool_size), "AVG", strides=list(strides), padding=padding.upper())

    def pad(self, x, pad_width, constant_values=0):
        return tf.pad(x, [tuple(p) for p in pad_width], constant_values=constant_values)

    # recurrent networks: the time loop is a tf.while_loop writing a TensorArray (works inside tf.function).
    # The first step runs before the loop, so the outputs' dtype and shape are known.
    def scan(self, step_fn, carry, sequences):
        steps = sequences[0].shape[0]  # a Python int keeps the stacked outputs' time axis known
        steps = tf.shape(sequences[0])[0] if steps is None else steps
        # Steps read their inputs from TensorArrays: indexing the whole sequence with the loop counter would make
        # every step's gradient a full-sequence tensor (quadratic in the length).
        inputs = [tf.TensorArray(x.dtype, size=steps, element_shape=x.shape[1:]).unstack(x) for x in sequences]
        carry, first = step_fn(list(carry), [x[0] for x in sequences])
        outputs = tf.TensorArray(first.dtype, size=steps, element_shape=first.shape).write(0, first)

        def body(t, carry, outputs):
            carry, output = step_fn(list(carry), [x.read(t) for x in inputs])
            return t + 1, list(carry), outputs.write(t, output)

        _, carry, outputs = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(1), list(carry), outputs))
        return list(carry), outputs.stack()

    def flip(self, x, axis):
        return tf.reverse(x, [axis])

    # LSTM / GRU (reset_after) with the default activations, neither mask nor recurrent dropout and a known
    # sequence length: a loop with a hand-written backward (see `_fused_lstm`); otherwise the base composites.
    def lstm(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, **options):
        inputs = tf.convert_to_tensor(inputs)
        if not _rnn_fusable(options, inputs):
            return super().lstm(inputs, initial_state, kernel, recurrent_kernel, bias, **options)
        kernel, recurrent_kernel = tf.convert_to_tensor(kernel), tf.convert_to_tensor(recurrent_kernel)
        bias = tf.zeros(recurrent_kernel.shape[1:], recurrent_kernel.dtype) if bias is None else bias
        h0, c0 = (tf.convert_to_tensor(s) for s in initial_state)
        hs, h, c = _fused_lstm(_time_major(inputs, options.get("go_backwards")), h0, c0, kernel, recurrent_kernel,
                               tf.convert_to_tensor(bias))
        return tf.transpose(hs, (1, 0, 2)), [h, c]

    def gru(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, reset_after=True, **options):
        inputs = tf.convert_to_tensor(inputs)
        if not reset_after or not _rnn_fusable(options, inputs):
            return super().gru(inputs, initial_state, kernel, recurrent_kernel, bias, reset_after, **options)
        kernel, recurrent_kernel = tf.convert_to_tensor(kernel), tf.convert_to_tensor(recurrent_kernel)
        if bias is None:
            bias = tf.zeros((2,) + tuple(recurrent_kernel.shape[1:]), recurrent_kernel.dtype)
        bias = tf.convert_to_tensor(bias)
        hs, h = _fused_gru(_time_major(inputs, options.get("go_backwards")), tf.convert_to_tensor(initial_state[0]),
                           kernel, recurrent_kernel, bias[0], bias[1])
        return tf.transpose(hs, (1, 0, 2)), [h]

    # autodiff and compilation
    def value_and_grad(self, fn, has_aux=False):
        def value_and_grad_fn(params, *args, **kwargs):
            with tf.GradientTape() as tape:
                tape.watch(params)
                out = fn(params, *args, **kwargs)
            value, aux = out if has_aux else (out, None)
            grads = tape.gradient(value, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return ((value, aux) if has_aux else value), grads
        return value_and_grad_fn

    compile_modes = ("xla",)

    def compile(self, fn, jit="auto"):
        if not jit:
            return fn
        # Concrete shapes (one trace per batch shape: the full batches and the last one) keep the core simple.
        # No autograph: the core never branches on tensor values, and autograph's conversion dominates tracing time.
        if jit == "auto":
            return _XlaWherePays(fn)
        plain = _FlatCallFunction(tf.function(fn, autograph=False))
        xla = _FlatCallFunction(tf.function(fn, autograph=False, jit_compile=True))
        return xla if jit == "xla" else _XlaOrPlain(xla, plain)

    def compile_plain(self, fn):
        """`fn` as a plain tf.function (no XLA): for steps XLA cannot compile, such as one spanning devices."""
        return _FlatCallFunction(tf.function(fn, autograph=False))

    stop_gradient = staticmethod(tf.stop_gradient)

    # distribution: tf.distribute's MirroredStrategy / MultiWorkerMirroredStrategy, one replica per device
    distributions = ("DataParallel",)
    list_devices = staticmethod(_distributed.list_devices)
    initialize_distributed = staticmethod(_distributed.initialize)
    process_index = staticmethod(_distributed.process_index)
    process_count = staticmethod(_distributed.process_count)

    def distributed_runtime(self, distribution):
        return _distributed.TensorFlowRuntime(distribution, self)

    def native_dataset(self, generator_fn, element_spec):
        def spec(pair):
            shape, dtype = pair
            return tf.TensorSpec(shape, tf.string if dtype == "string" else tf.as_dtype(dtype))
        single = isinstance(element_spec[1], str)  # one (shape, dtype) pair, else a tuple of them
        signature = spec(element_spec) if single else tuple(spec(p) for p in element_spec)
        return tf.data.Dataset.from_generator(generator_fn, output_signature=signature)

    # keras.ops numerics (issue 9, item 4): TensorFlow's own kernels for the base composites
    sin = staticmethod(tf.sin)
    tan = staticmethod(tf.tan)
    sinh = staticmethod(tf.sinh)
    cosh = staticmethod(tf.cosh)
    arcsin = staticmethod(tf.asin)
    arccos = staticmethod(tf.acos)
    arctan = staticmethod(tf.atan)
    arctan2 = staticmethod(tf.atan2)
    arcsinh = staticmethod(tf.asinh)
    arccosh = staticmethod(tf.acosh)
    arctanh = staticmethod(tf.atanh)
    erf = staticmethod(tf.math.erf)
    isnan = staticmethod(tf.math.is_nan)
    isinf = staticmethod(tf.math.is_inf)
    isfinite = staticmethod(tf.math.is_finite)

    def power(self, x1, x2):
        return tf.pow(x1, x2)

    def logical_not(self, x):
        return tf.logical_not(tf.cast(x, tf.bool))

    def logical_and(self, x1, x2):
        return tf.logical_and(tf.cast(x1, tf.bool), tf.cast(x2, tf.bool))

    def logical_or(self, x1, x2):
        return tf.logical_or(tf.cast(x1, tf.bool), tf.cast(x2, tf.bool))

    def logical_xor(self, x1, x2):
        return tf.math.logical_xor(tf.cast(x1, tf.bool), tf.cast(x2, tf.bool))

    def prod(self, x, axis=None, keepdims=False):
        return tf.reduce_prod(x, axis=_axis(axis), keepdims=keepdims)

    def any(self, x, axis=None, keepdims=False):
        return tf.reduce_any(tf.cast(x, tf.bool), axis=_axis(axis), keepdims=keepdims)

    def all(self, x, axis=None, keepdims=False):
        return tf.reduce_all(tf.cast(x, tf.bool), axis=_axis(axis), keepdims=keepdims)

    def argmin(self, x, axis=-1):
        return tf.argmin(x, axis=axis)

    def round(self, x, decimals=0):
        if decimals == 0:
            return tf.round(x)  # half to even, like NumPy
        scale = tf.cast(10.0 ** decimals, x.dtype)
        return tf.round(x * scale) / scale

    def tile(self, x, repeats):
        repeats = list(repeats) if isinstance(repeats, (list, tuple)) else [repeats]
        rank = len(x.shape)
        if len(repeats) > rank:
            x = tf.reshape(x, [1] * (len(repeats) - rank) + list(x.shape))
        return tf.tile(x, [1] * (len(x.shape) - len(repeats)) + repeats)

    def repeat(self, x, repeats, axis=None):
        return tf.repeat(x, repeats, axis=axis)

    def tril(self, x, k=0):
        return tf.experimental.numpy.tril(x, k)

    def triu(self, x, k=0):
        return tf.experimental.numpy.triu(x, k)

    def eye(self, N, M=None, k=0, dtype="float32"):
        return tf.cast(tf.experimental.numpy.eye(N, M, k), dtype)

    def linspace(self, start, stop, num=50, endpoint=True, retstep=False, dtype="float32", axis=0):
        out = tf.experimental.numpy.linspace(tf.cast(start, "float32"), tf.cast(stop, "float32"), num,
                                             endpoint=endpoint, retstep=retstep, axis=axis)
        return (tf.cast(out[0], dtype), out[1]) if retstep else tf.cast(out, dtype)

    def meshgrid(self, *x, indexing="xy"):
        return tf.meshgrid(*x, indexing=indexing)

    def scatter(self, indices, values, shape):
        return tf.scatter_nd(indices, values, shape)

    def scatter_update(self, inputs, indices, updates):
        return tf.tensor_scatter_nd_update(inputs, indices, tf.cast(updates, inputs.dtype))

    def slice(self, inputs, start_indices, shape):
        return tf.slice(inputs, start_indices, shape)

    def slice_update(self, inputs, start_indices, updates):
        # the block's indices, then one scatter: the update stays differentiable and works inside tf.function
        grid = tf.stack(tf.meshgrid(*[tf.range(n) + s for s, n in zip(start_indices, updates.shape)],
                                    indexing="ij"), axis=-1)
        return tf.tensor_scatter_nd_update(inputs, grid, tf.cast(updates, inputs.dtype))

    def cond(self, pred, true_fn, false_fn):
        return tf.cond(pred, true_fn, false_fn)

    def while_loop(self, cond, body, loop_vars, maximum_iterations=None):
        return tuple(tf.while_loop(cond, lambda *v: tuple(body(*v)), tuple(loop_vars),
                                   maximum_iterations=maximum_iterations))

    def fori_loop(self, lower, upper, body_fun, init_val):
        # plain Python bounds run as a Python loop (exactly the eager result); traced bounds as a tf.while_loop
        if isinstance(lower, int) and isinstance(upper, int) and not tf.inside_function():
            return super().fori_loop(lower, upper, body_fun, init_val)
        _, value = tf.while_loop(lambda i, _: i < upper, lambda i, v: (i + 1, body_fun(i, v)),
                                 (tf.convert_to_tensor(lower), init_val))
        return value

    # Model.export
    export_formats = ("tf_saved_model",)
    export_options = {"tf_saved_model": ()}

    def export_model(self, forward, values, input_specs, filepath, format, **options):
        if format != "tf_saved_model":
            return super().export_model(forward, values, input_specs, filepath, format, **options)
        _export_saved_model(forward, values, input_specs, filepath)


class _FlatCallFunction:
    """A tf.function called through its traced concrete function with flat tensor inputs.

    `tf.function.__call__` re-derives the trace type of every argument on every call (about 30 us per tensor);
    a training step passes every weight and optimizer slot, so that alone can cost more than the step. Here the
    concrete function is looked up once per argument signature (shapes, dtypes, Python values) and then called
    with the flat tensors. Falls back to the public call if the concrete-function API is unavailable.
    """

    def __init__(self, function):
        self.function = function
        self.concrete = {}

    def __call__(self, *args):
        flat = tf.nest.flatten(args)
        signature = tuple((tuple(x.shape), x.dtype) if isinstance(x, tf.Tensor) else x for x in flat)
        concrete = self.concrete.get(signature)
        if concrete is None:
            concrete = self.concrete[signature] = self.trace(args)
            return self.first_call(signature, concrete, flat, args)
        return self.call(concrete, flat, args)

    def trace(self, args):
        """The concrete function for a new argument signature."""
        return self.function.get_concrete_function(*args)

    def first_call(self, signature, concrete, flat, args):
        """The first call of a newly traced concrete function (where compilation happens)."""
        return self.call(concrete, flat, args)

    @staticmethod
    def call(concrete, flat, args):
        tensors = [x for x in flat if isinstance(x, tf.Tensor)]
        try:
            return concrete._call_flat(tensors, concrete.captured_inputs)
        except (AttributeError, TypeError):
            return concrete(*args)


def _is_xla_compile_error(error):
    return isinstance(error, (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
                              tf.errors.NotFoundError)) and ("XLA" in str(error) or "xla" in str(error))


def _pays_to_compile_with_xla(graph):
    """Whether XLA is expected to run a traced step faster, its compile time included: no convolution (in the
    graph or a function it calls, such as a loop body) and at most `_XLA_MAX_NODES` nodes."""
    graph_def = graph.as_graph_def()
    nodes = list(itertools.chain(graph_def.node, *(function.node_def for function in graph_def.library.function)))
    return len(nodes) <= _XLA_MAX_NODES and not any(node.op.startswith(("Conv", "DepthwiseConv")) for node in nodes)


# XLA compiles about 2 ms per graph node on this project's CPU machine: the MLP's training step (233 nodes) in
# 0.4 s, within the first step Keras 3 pays, the LSTM's and the Transformer block's (630-730) in 1.4-1.5 s, over it.
_XLA_MAX_NODES = 400


class _XlaWherePays(_FlatCallFunction):
    """`jit_compile="auto"`: each argument signature compiled by XLA where that pays (`_pays_to_compile_with_xla`)
    and XLA can compile it, else the plain tf.function (silently). Measured on CPU: XLA trains the MLP 1.3-1.5x
    faster than the plain tf.function and predicts one sample 1.5-6x faster (LSTM 0.24 vs 1.5 ms), while
    tensorflow's own convolution kernels train a small CNN 4x faster than XLA's and predict its batches 2.5x
    faster. The choice depends on the traced graph only, so a run is reproducible."""

    def __init__(self, fn):
        super().__init__(tf.function(fn, autograph=False))

    def trace(self, args):
        plain = self.function.get_concrete_function(*args)
        if not _pays_to_compile_with_xla(plain.graph):
            return plain
        # XLA compiles the traced graph itself: the user's Python (a layer's call, a symbolic loss) runs once
        return tf.function(lambda *a: plain(*a), autograph=False, jit_compile=True).get_concrete_function(*args)

    def first_call(self, signature, concrete, flat, args):
        try:
            return self.call(concrete, flat, args)
        except tf.errors.OpError as error:  # the step is pure: a failed first call changed nothing
            plain = self.function.get_concrete_function(*args)  # tf.function's cached trace: no retracing
            if concrete is plain or not _is_xla_compile_error(error):
                raise
            self.concrete[signature] = plain
            return self.call(plain, flat, args)


def _depthwise_conv(x, kernel, strides, padding, dilation_rate, groups):
    """A grouped convolution with one group per input channel through `tf.nn.depthwise_conv2d` (which has CPU
    gradients), or None where that kernel cannot take it (3D, other groups, unequal strides, strides with
    dilation)."""
    n, channels = len(x.shape) - 2, x.shape[-1]
    strides, dilation = tuple(strides), tuple(dilation_rate or (1,) * n)
    if n == 1:  # as a (1, length) image; striding its height of 1 changes nothing, and the kernel wants equal strides
        strides, dilation = (strides[0], strides[0]), (1, *dilation)
    if (n > 2 or groups != channels or kernel.shape[-2] != 1 or strides[0] != strides[1]
            or (max(strides) > 1 and max(dilation) > 1)):
        return None
    if not isinstance(padding, str):
        x, padding = tf.pad(x, [(0, 0), *padding, (0, 0)]), "valid"
    filters = tf.reshape(kernel, (*kernel.shape[:n], channels, kernel.shape[-1] // channels))
    if n == 1:
        x, filters = x[:, None], filters[None]
    y = tf.nn.depthwise_conv2d(x, filters, (1, *strides, 1), padding.upper(), dilations=dilation)
    return y[:, 0] if n == 1 else y


class _XlaOrPlain:
    """`jit_compile=True`: the step compiled by XLA, or, when XLA cannot compile it (an op without an XLA
    kernel, a dynamic shape), a warning and the plain tf.function. The step is pure, so a failed first call
    changed nothing."""

    def __init__(self, xla, plain):
        self.current, self.plain = xla, plain

    def __call__(self, *args):
        if self.current is self.plain:
            return self.plain(*args)
        try:
            return self.current(*args)
        except tf.errors.OpError as error:
            if not _is_xla_compile_error(error):
                raise
            first_line = str(error).strip().splitlines()[0][:300]
            warnings.warn(f"jit_compile=True: XLA cannot compile this model's step on tensorflow ({first_line}); "
                          f"running it as a plain tf.function instead.", RuntimeWarning, stacklevel=2)
            self.current = self.plain
            return self.plain(*args)


# ---------------------------------------------------------------------- Model.export: a SavedModel
def _export_saved_model(forward, values, input_specs, filepath):
    """A SavedModel with the weights as variables, a `serve` function and a "serving_default" signature."""
    module = tf.Module()
    module.model_weights = [tf.Variable(v, trainable=False, name=f"weight_{i}") for i, v in enumerate(values)]
    signature = [tf.TensorSpec(shape, dtype, name=name) for name, shape, dtype in input_specs]

    def serve(*inputs):  # one output as a tensor (as Keras's `serve`), several as a dict by output name
        outputs = forward([tf.convert_to_tensor(v) for v in module.model_weights], list(inputs))
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    module.serve = tf.function(serve, input_signature=signature, autograph=False)
    tf.saved_model.save(module, filepath, signatures={"serving_default": module.serve.get_concrete_function()})


# ---------------------------------------------------------------------- mlfront.Variable in TensorFlow ops
# `tf_tensor + variable` converts the right operand with TensorFlow's conversion registry, which would read the
# Variable through `__array__` (a NumPy copy: wrong inside tf.function). Convert it to the array it holds.
def _convert_variable(variable, dtype=None, name=None, as_ref=False):
    return tf.convert_to_tensor(variable.value, dtype=dtype)


def _register_variable_conversion():
    from mlfront.variables import Variable
    tf.register_tensor_conversion_function(Variable, _convert_variable)


_register_variable_conversion()


# Fused recurrent cells (default activations, no mask, no recurrent dropout) on time-major sequences of a
# known length: tf.custom_gradient with a hand-written backward loop that keeps only the gate activations and
# accumulates the weight gradients in its carry, instead of TensorFlow differentiating the while_loop.
def _rnn_fusable(options, inputs):
    return inputs.shape[1] is not None and all(
        options.get(name) is None for name in ("activation", "recurrent_activation", "mask", "recurrent_dropout_mask"))


def _time_major(inputs, go_backwards):
    xs = tf.transpose(inputs, [1, 0] + list(range(2, len(inputs.shape))))
    return tf.reverse(xs, [0]) if go_backwards else xs


def _loop(step, carry, sequences, reverse=False):
    """`step(carry, inputs_t) -> (carry, outputs_t)` over the time axis of `sequences`, first to last (or last
    to first); returns `(carry, stacked outputs)`. The first step runs outside the loop so that the outputs'
    shapes are known."""
    steps = sequences[0].shape[0]
    order = (lambda t: steps - 1 - t) if reverse else (lambda t: t)
    inputs = [tf.TensorArray(x.dtype, size=steps, element_shape=x.shape[1:]).unstack(x) for x in sequences]
    carry, first = step(carry, [x.read(order(0)) for x in inputs])
    outputs = [tf.TensorArray(y.dtype, size=steps, element_shape=y.shape).write(order(0), y) for y in first]

    def body(t, carry, outputs):
        carry, ys = step(carry, [x.read(order(t)) for x in inputs])
        return t + 1, carry, [out.write(order(t), y) for out, y in zip(outputs, ys)]
    _, carry, outputs = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(1), carry, outputs))
    return carry, [out.stack() for out in outputs]


def _shifted(first, sequence):
    """The sequence of previous values: `first`, sequence[0], ..., sequence[-2]."""
    return tf.concat([first[None], sequence[:-1]], 0)


def _or_zeros(gradient, like):
    return tf.zeros_like(like) if gradient is None else gradient


@tf.custom_gradient
def _fused_lstm(xs, h0, c0, kernel, recurrent_kernel, bias):
    def step(carry, inputs_t):
        h, c = carry
        z = tf.matmul(inputs_t[0], kernel) + tf.matmul(h, recurrent_kernel) + bias
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        i, f, o, g = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.sigmoid(z_o), tf.tanh(z_c)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return (h, c), (h, c, i, f, g, o)
    (h, c), (hs, cs, i, f, g, o) = _loop(step, (h0, c0), [xs])

    def backward(d_hs, d_h, d_c):
        kernel_t, recurrent_t = tf.transpose(kernel), tf.transpose(recurrent_kernel)

        def step(carry, inputs_t):
            dh, dc, dk, drk, db = carry
            dh_t, x, h_prev, c_prev, c, i, f, g, o = inputs_t
            dh = dh + dh_t
            tanh_c = tf.tanh(c)
            dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
            dz = tf.concat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
                            dh * tanh_c * o * (1.0 - o)], axis=-1)
            carry = (tf.matmul(dz, recurrent_t), dc * f, dk + tf.matmul(x, dz, transpose_a=True),
                     drk + tf.matmul(h_prev, dz, transpose_a=True), db + tf.reduce_sum(dz, 0))
            return carry, (tf.matmul(dz, kernel_t),)
        init = (_or_zeros(d_h, h0), _or_zeros(d_c, c0), tf.zeros_like(kernel), tf.zeros_like(recurrent_kernel),
                tf.zeros_like(bias))
        sequences = [_or_zeros(d_hs, hs), xs, _shifted(h0, hs), _shifted(c0, cs), cs, i, f, g, o]
        (dh0, dc0, dk, drk, db), (dxs,) = _loop(step, init, sequences, reverse=True)
        return dxs, dh0, dc0, dk, drk, db
    return (hs, h, c), backward


@tf.custom_gradient
def _fused_gru(xs, h0, kernel, recurrent_kernel, input_bias, recurrent_bias):
    def step(h, inputs_t):
        x_z, x_r, x_h = tf.split(tf.matmul(inputs_t[0], kernel) + input_bias, 3, axis=-1)
        inner_z, inner_r, inner_h = tf.split(tf.matmul(h, recurrent_kernel) + recurrent_bias, 3, axis=-1)
        z, r = tf.sigmoid(x_z + inner_z), tf.sigmoid(x_r + inner_r)
        candidate = tf.tanh(x_h + r * inner_h)
        h = z * h + (1.0 - z) * candidate
        return h, (h, z, r, candidate, inner_h)
    h, (hs, z, r, candidate, inner_h) = _loop(step, h0, [xs])

    def backward(d_hs, d_h):
        kernel_t, recurrent_t = tf.transpose(kernel), tf.transpose(recurrent_kernel)

        def step(carry, inputs_t):
            dh, dk, drk, dbi, dbr = carry
            dh_t, x, h_prev, z, r, candidate, inner_h = inputs_t
            dh = dh + dh_t
            dz = dh * (h_prev - candidate) * z * (1.0 - z)
            d_candidate = dh * (1.0 - z) * (1.0 - candidate * candidate)
            dr = d_candidate * inner_h * r * (1.0 - r)
            d_inner = tf.concat([dz, dr, d_candidate * r], axis=-1)
            d_x = tf.concat([dz, dr, d_candidate], axis=-1)
            carry = (dh * z + tf.matmul(d_inner, recurrent_t), dk + tf.matmul(x, d_x, transpose_a=True),
                     drk + tf.matmul(h_prev, d_inner, transpose_a=True), dbi + tf.reduce_sum(d_x, 0),
                     dbr + tf.reduce_sum(d_inner, 0))
            return carry, (tf.matmul(d_x, kernel_t),)
        init = (_or_zeros(d_h, h0), tf.zeros_like(kernel), tf.zeros_like(recurrent_kernel),
                tf.zeros_like(input_bias), tf.zeros_like(recurrent_bias))
        sequences = [_or_zeros(d_hs, hs), xs, _shifted(h0, hs), z, r, candidate, inner_h]
        (dh0, dk, drk, dbi, dbr), (dxs,) = _loop(step, init, sequences, reverse=True)
        return dxs, dh0, dk, drk, dbi, dbr
    return (hs, h), backward
