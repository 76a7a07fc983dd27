"""The Backend interface mapped onto PyTorch (eager by default, `torch.compile` on request)."""

import threading

import numpy as np
import torch
import torch.nn.functional as F

from mlfront.backend.base import Backend, conv_transpose_padding, explicit_padding
from mlfront.distribution.replicas import current_runtime
from mlfront_torch import distributed as _distributed

DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64,
    "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "bool": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
_MASK64 = (1 << 64) - 1


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _detach(tree):
    if isinstance(tree, torch.Tensor):
        return tree.detach()
    if isinstance(tree, (list, tuple)):
        return type(tree)(_detach(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _detach(v) for k, v in tree.items()}
    return tree


class TorchBackend(Backend):
    name = "torch"
    traces = False

    def __init__(self):
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _dtype(self, dtype):
        """torch's dtype for a dtype name, a NumPy dtype / type or a torch dtype (Keras code passes all)."""
        return DTYPES[dtype] if type(dtype) is str else DTYPES[self.standardize_dtype(dtype)]

    # creation and conversion
    def convert(self, x, dtype=None):
        dtype = self._dtype(dtype) if dtype else None
        if isinstance(x, torch.Tensor):
            return x if dtype is None or x.dtype == dtype else x.to(dtype)
        if isinstance(x, np.ndarray):
            if dtype is None and x.dtype == np.float64:
                dtype = torch.float32
            if not x.flags.writeable:  # torch tensors share memory with the array and must be writable
                x = x.copy()
            return torch.as_tensor(x, dtype=dtype, device=self.device)
        if dtype is None and isinstance(x, float):
            dtype = torch.float32
        return torch.as_tensor(x, dtype=dtype, device=self.device)

    def prepare_batch(self, array):
        # on CUDA a batch goes through pinned host memory and is copied without blocking the host
        if self.device.type != "cuda" or not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            return self.convert(array)
        if array.dtype == np.float64 or not array.flags.writeable:
            array = array.astype(np.float32 if array.dtype == np.float64 else array.dtype)
        host = torch.from_numpy(array)
        return host.pin_memory().to(self.device, non_blocking=True)

    def to_numpy(self, x):
        if not isinstance(x, torch.Tensor):
            return np.asarray(x)
        if type(x) is not torch.Tensor and hasattr(x, "full_tensor"):  # a DTensor (ModelParallel): all of it
            x = x.full_tensor()
        return x.detach().cpu().numpy()

    def is_array(self, x):
        return isinstance(x, torch.Tensor)

    def zeros(self, shape, dtype="float32"):
        return torch.zeros(tuple(shape), dtype=self._dtype(dtype), device=self.device)

    def ones(self, shape, dtype="float32"):
        return torch.ones(tuple(shape), dtype=self._dtype(dtype), device=self.device)

    def full(self, shape, value, dtype="float32"):
        return torch.full(tuple(shape), value, dtype=self._dtype(dtype), device=self.device)

    def arange(self, start, stop=None, step=1, dtype="int32"):
        if stop is None:
            start, stop = 0, start
        return torch.arange(start, stop, step, dtype=self._dtype(dtype), device=self.device)

    def cast(self, x, dtype):
        return x.to(self._dtype(dtype))

    def dtype(self, x):
        return DTYPE_NAMES[x.dtype]

    def shape(self, x):
        return tuple(x.shape)

    # elementwise math
    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    sqrt = staticmethod(torch.sqrt)
    abs = staticmethod(torch.abs)
    sign = staticmethod(torch.sign)
    tanh = staticmethod(torch.tanh)
    floor = staticmethod(torch.floor)
    log1p = staticmethod(torch.log1p)
    expm1 = staticmethod(torch.expm1)
    # --- optimizers/schedules helper: cosine (CosineDecay)
    cos = staticmethod(torch.cos)
    sigmoid = staticmethod(torch.sigmoid)
    relu = staticmethod(torch.relu)
    square = staticmethod(torch.square)
    lerp = staticmethod(torch.lerp)  # one fused kernel instead of three
    softplus = staticmethod(F.softplus)
    softsign = staticmethod(F.softsign)
    selu = staticmethod(F.selu)

    def elu(self, x, alpha=1.0):
        return F.elu(x, alpha)

    def maximum(self, x, y):
        return torch.clamp(x, min=y) if not isinstance(y, torch.Tensor) else torch.maximum(x, y)

    def minimum(self, x, y):
        return torch.clamp(x, max=y) if not isinstance(y, torch.Tensor) else torch.minimum(x, y)

    def clip(self, x, min_value, max_value):
        return torch.clamp(x, min_value, max_value)

    def where(self, condition, x, y):
        return torch.where(condition, x, y)

    # reductions
    def sum(self, x, axis=None, keepdims=False):
        if axis is None and not keepdims:
            return torch.sum(x)
        return torch.sum(x, dim=tuple(range(x.dim())) if axis is None else _axis(axis), keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        if axis is None and not keepdims:
            return torch.mean(x)
        return torch.mean(x, dim=tuple(range(x.dim())) if axis is None else _axis(axis), keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return torch.amax(x, dim=() if axis is None else _axis(axis), keepdim=keepdims)

    def min(self, x, axis=None, keepdims=False):
        return torch.amin(x, dim=() if axis is None else _axis(axis), keepdim=keepdims)

    def argmax(self, x, axis=-1):
        return torch.argmax(x, dim=axis)

    # linear algebra and shapes
    matmul = staticmethod(torch.matmul)

    def reshape(self, x, shape):
        return torch.reshape(x, tuple(shape))

    def split(self, x, num, axis=-1):
        return list(torch.chunk(x, num, dim=axis))

    def transpose(self, x, axes=None):
        return x.permute(*(axes if axes is not None else reversed(range(x.dim()))))

    def expand_dims(self, x, axis):
        return torch.unsqueeze(x, axis)

    def squeeze(self, x, axis):
        return torch.squeeze(x, axis)

    def concatenate(self, xs, axis=0):
        return torch.cat(list(xs), dim=axis)

    def stack(self, xs, axis=0):
        return torch.stack(list(xs), dim=axis)

    def take(self, x, indices, axis=0):
        return torch.index_select(x, axis, indices.reshape(-1).long()).reshape(
            x.shape[:axis % x.dim()] + indices.shape + x.shape[axis % x.dim() + 1:])

    def take_along_axis(self, x, indices, axis):
        return torch.gather(x, axis, indices.long())

    def broadcast_to(self, x, shape):
        return torch.broadcast_to(x, tuple(shape))

    def one_hot(self, indices, num_classes, dtype="float32"):
        return F.one_hot(indices.long(), num_classes).to(self._dtype(dtype))

    def top_k(self, x, k):
        values, indices = torch.topk(x, k, dim=-1)
        return values, indices.to(torch.int32)

    def cumsum(self, x, axis=0):
        return torch.cumsum(x, dim=axis)

    def sort(self, x, axis=-1):
        return torch.sort(x, dim=axis).values

    # random numbers: eager torch needs no traced keys, so a key is a 64-bit integer seed
    def rng_key(self, seed):
        return int(seed) & _MASK64

    # A step captured as a graph (jit_compile="torch.compile") receives its key as an int64 tensor: splitting
    # it and drawing from it are then tensor ops (splitmix64 with wrapping int64 arithmetic), the same key
    # sequence as for integer keys, and counter-based random numbers instead of a torch.Generator's.
    def rng_split(self, key, num=2):
        if isinstance(key, torch.Tensor):
            return [_splitmix64_tensor(key + (i + 1)) for i in range(num)]
        return [_splitmix64(key + i + 1) for i in range(num)]

    def rng_key_to_numpy(self, key):
        return np.asarray(int(key) & _MASK64, np.uint64)

    def rng_key_from_numpy(self, array):
        return int(array) & _MASK64

    def _generator(self, key):
        return torch.Generator(device=self.device).manual_seed(key)

    def _uniform_from_key(self, key, shape, dtype):
        """Uniform [0, 1) numbers of `shape` from a tensor key: 24 bits of splitmix64(mix(key) + i) each."""
        count = int(np.prod(shape, dtype=np.int64))
        bits = _splitmix64_tensor(_splitmix64_tensor(key) + torch.arange(count, device=key.device))
        return ((bits >> 39).to(torch.float32) * 2.0 ** -24).reshape(tuple(shape)).to(self._dtype(dtype))

    def random_uniform(self, key, shape, minval=0.0, maxval=1.0, dtype="float32"):
        if isinstance(key, torch.Tensor):
            sample = self._uniform_from_key(key, shape, dtype)
        else:
            sample = torch.rand(tuple(shape), generator=self._generator(key), dtype=self._dtype(dtype),
                                device=self.device)
        return sample * (maxval - minval) + minval if (minval, maxval) != (0.0, 1.0) else sample

    def random_normal(self, key, shape, mean=0.0, stddev=1.0, dtype="float32"):
        if isinstance(key, torch.Tensor):  # Box-Muller on two uniform streams
            pair = self._uniform_from_key(key, (2,) + tuple(shape), "float32")
            radius = torch.sqrt(-2.0 * torch.log(pair[0] + 2.0 ** -25))
            sample = (radius * torch.cos(2.0 * np.pi * pair[1])).to(self._dtype(dtype))
        else:
            sample = torch.randn(tuple(shape), generator=self._generator(key), dtype=self._dtype(dtype),
                                 device=self.device)
        return sample * stddev + mean if (mean, stddev) != (0.0, 1.0) else sample

    def dropout(self, key, x, rate):
        if isinstance(key, torch.Tensor):
            keep = (self._uniform_from_key(key, x.shape, "float32") >= rate).to(x.dtype)
        else:
            keep = torch.empty_like(x).bernoulli_(1.0 - rate, generator=self._generator(key))
        return x * keep / (1.0 - rate)

    # einsum (normalization and attention layers)
    def einsum(self, subscripts, *operands):
        return torch.einsum(subscripts, *operands)

    rsqrt = staticmethod(torch.rsqrt)

    def layer_norm(self, x, axes, gamma, beta, epsilon):
        if tuple(axes) != tuple(range(x.ndim - len(axes), x.ndim)):  # F.layer_norm takes trailing axes only
            return super().layer_norm(x, axes, gamma, beta, epsilon)
        return F.layer_norm(x, x.shape[x.ndim - len(axes):], gamma, beta, epsilon)

    def dot_product_attention(self, query, key, value, bias=None, mask=None, scale=None, is_causal=False):
        if bias is not None or mask is not None or self.sharded_tensors:
            # the composite: a row with every key masked stays finite; DTensors take the plain einsums
            return super().dot_product_attention(query, key, value, bias, mask, scale, is_causal)
        # torch's fused kernel, on (batch, heads, positions, depth)
        q, k, v = (t.transpose(1, 2) for t in (query, key, value))
        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, scale=scale).transpose(1, 2)

    # nn kernels
    def affine(self, x, kernel, bias=None):
        return F.linear(x, kernel.T, bias)

    def softmax(self, x, axis=-1):
        return torch.softmax(x, dim=axis)

    def log_softmax(self, x, axis=-1):
        return torch.log_softmax(x, dim=axis)

    def logsumexp(self, x, axis=-1, keepdims=False):
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)

    def sparse_categorical_crossentropy_from_logits(self, labels, logits):
        return F.cross_entropy(logits, labels.long(), reduction="none")

    def binary_crossentropy_from_logits(self, labels, logits):
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="none")

    # convolution, pooling, padding: channels_last outside, torch's channels_first kernels inside
    # (permutes are views, so channels_first layers cost no copies). Asymmetric "same" padding is
    # applied with F.pad first, since torch pads both sides equally.
    def conv(self, x, kernel, strides, padding="valid", dilation_rate=None, groups=1):
        return self.conv_with_bias(x, kernel, None, strides, padding, dilation_rate, groups)

    def conv_with_bias(self, x, kernel, bias, strides, padding="valid", dilation_rate=None, groups=1):
        if bias is not None and self.sharded_tensors:  # DTensors: the bias added as a plain op
            return super().conv_with_bias(x, kernel, bias, strides, padding, dilation_rate, groups)
        n = x.dim() - 2
        dilation_rate = tuple(dilation_rate or (1,) * n)
        pads = explicit_padding(padding, x.shape[1:-1], kernel.shape[:n], strides, dilation_rate)
        if self.sharded_tensors:
            x, kernel = _unsplit(x), _unsplit(kernel)
        x = _channels_first(x)
        if any(lo != hi for lo, hi in pads):
            x, pads = F.pad(x, _torch_pads(pads)), [(0, 0)] * n
        weight = kernel.permute(n + 1, n, *range(n))
        y = _CONV[n](x, weight, bias, tuple(strides), tuple(lo for lo, _ in pads), dilation_rate, groups)
        return _PlainGradient.apply(_channels_last(y)) if self.sharded_tensors else _channels_last(y)

    def conv_transpose(self, x, kernel, strides, padding="valid", output_padding=None, dilation_rate=None):
        n = x.dim() - 2
        dilation_rate = tuple(dilation_rate or (1,) * n)
        if self.sharded_tensors:
            x, kernel = _unsplit(x), _unsplit(kernel)
        weight = kernel.permute(n + 1, n, *range(n))
        y = _CONV_TRANSPOSE[n](_channels_first(x), weight, None, tuple(strides), 0, 0, 1, dilation_rate)
        trim = conv_transpose_padding(x.shape[1:-1], kernel.shape[:n], strides, padding, output_padding,
                                      dilation_rate)
        y = _channels_last(F.pad(y, _torch_pads(trim)) if any(lo or hi for lo, hi in trim) else y)
        return _PlainGradient.apply(y) if self.sharded_tensors else y

    def max_pool(self, x, pool_size, strides, padding="valid"):
        n = x.dim() - 2
        pads = explicit_padding(padding, x.shape[1:-1], pool_size, strides)
        x = _channels_first(x)
        if any(lo or hi for lo, hi in pads):
            x = F.pad(x, _torch_pads(pads), value=-float("inf"))
        return _channels_last(_MAX_POOL[n](x, tuple(pool_size), tuple(strides)))

    def avg_pool(self, x, pool_size, strides, padding="valid"):
        n = x.dim() - 2
        pads = explicit_padding(padding, x.shape[1:-1], pool_size, strides)
        x, pool_size, strides = _channels_first(x), tuple(pool_size), tuple(strides)
        if all(lo == hi for lo, hi in pads):  # native: symmetric padding left out of the mean
            return _channels_last(_AVG_POOL[n](x, pool_size, strides, tuple(lo for lo, _ in pads),
                                               count_include_pad=False))
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = _AVG_POOL[n](F.pad(x, _torch_pads(pads)), pool_size, strides)
        counts = _AVG_POOL[n](F.pad(ones, _torch_pads(pads)), pool_size, strides)
        return _channels_last(sums / counts)

    def pad(self, x, pad_width, constant_values=0):
        return F.pad(x, _torch_pads(pad_width), value=constant_values)

    # recurrent networks: the time loop is the base class's Python loop. Cells with the default activations and
    # no mask or recurrent dropout run torch's fused kernels instead, on the Keras weights re-laid out
    # (torch keeps (out, in) matrices; its GRU gate order is r, z, n where Keras has z, r, h).
    def flip(self, x, axis):
        return torch.flip(x, (axis,))

    def simple_rnn(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, **options):
        if not _fusable(options, "activation"):
            return super().simple_rnn(inputs, initial_state, kernel, recurrent_kernel, bias, **options)
        outputs, h = _run_fused(torch._VF.rnn_tanh, inputs, initial_state[0], kernel, recurrent_kernel, bias,
                                None, options)
        return outputs, [h[0]]

    def lstm(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, **options):
        if not _fusable(options, "activation", "recurrent_activation"):
            return super().lstm(inputs, initial_state, kernel, recurrent_kernel, bias, **options)
        h0, c0 = initial_state
        outputs, h, c = _run_fused(torch._VF.lstm, inputs, (h0, c0), kernel, recurrent_kernel, bias, None, options)
        return outputs, [h[0], c[0]]

    def gru(self, inputs, initial_state, kernel, recurrent_kernel, bias=None, reset_after=True, **options):
        if not reset_after or not _fusable(options, "activation", "recurrent_activation"):
            return super().gru(inputs, initial_state, kernel, recurrent_kernel, bias, reset_after, **options)
        units = recurrent_kernel.shape[0]

        def to_rzn(w):  # Keras z, r, h blocks on the last axis -> torch r, z, n
            return torch.cat([w[..., units:2 * units], w[..., :units], w[..., 2 * units:]], dim=-1)
        biases = None if bias is None else (to_rzn(bias[0]), to_rzn(bias[1]))
        outputs, h = _run_fused(torch._VF.gru, inputs, initial_state[0], to_rzn(kernel), to_rzn(recurrent_kernel),
                                None, biases, options)
        return outputs, [h[0]]

    # autodiff and compilation
    def value_and_grad(self, fn, has_aux=False):
        def value_and_grad_fn(params, *args, **kwargs):
            params = [p.detach().requires_grad_(True) for p in params]
            runtime = current_runtime()
            if isinstance(runtime, _distributed.TorchRuntime):  # data parallel: sum buckets during the backward
                runtime.watch_gradients(params)
            with torch.enable_grad():
                out = fn(params, *args, **kwargs)
                value, aux = out if has_aux else (out, None)
                grads = torch.autograd.grad(value, params, allow_unused=True) if params else []
            grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
            value = value.detach()
            return ((value, _detach(aux)) if has_aux else value), grads
        return value_and_grad_fn

    compile_modes = ("torch.compile",)

    def compile_traces(self, jit):
        return jit in (True, "torch.compile")

    def compile(self, fn, jit="auto"):
        # "auto" is eager: as fast as a hand-written eager loop, nothing to warm up. True / "torch.compile" capture
        # the whole step as one graph for inductor. Steps run without recording a tape; value_and_grad turns
        # recording on where it needs it.
        fn = torch.no_grad()(fn)
        return _GraphStep(fn, fallback=jit is True) if jit in (True, "torch.compile") else fn

    stop_gradient = staticmethod(torch.Tensor.detach)

    # distribution: torch.distributed, one process per device
    one_process_per_device = True
    sharded_tensors = False  # True once ModelParallel has made DTensors in this process
    distributions = ("DataParallel", "ModelParallel")
    list_devices = staticmethod(_distributed.list_devices)
    initialize_distributed = staticmethod(_distributed.initialize)
    process_index = staticmethod(_distributed.process_index)
    process_count = staticmethod(_distributed.process_count)

    def distributed_runtime(self, distribution):
        from mlfront.distribution import ModelParallel
        if isinstance(distribution, ModelParallel):
            from mlfront_torch.sharded import ShardedRuntime
            return ShardedRuntime(distribution, self)
        return _distributed.TorchRuntime(distribution, self)

    def batch_norm_training(self, x, axis, gamma, beta, epsilon):
        # torch's fused kernel (forward and backward) on the channels-first view. It also returns the batch
        # mean and 1 / sqrt(biased variance + epsilon), from which the moving averages are updated.
        if x.numel() == 0:  # a replica's empty share of a distributed batch (the fused kernel refuses it)
            zeros = torch.zeros(x.shape[axis], dtype=x.dtype, device=x.device)
            return x.clone(), zeros, zeros
        channels_first = torch.movedim(x, axis, 1) if axis != 1 else x
        outputs, mean, inverse_std = torch.native_batch_norm(channels_first, gamma, beta, None, None, True, 0.0,
                                                             epsilon)
        variance = (1.0 / torch.square(inverse_std.detach()) - epsilon).clamp_min(0.0)
        return (torch.movedim(outputs, 1, axis) if axis != 1 else outputs), mean.detach(), variance

    def batch_norm(self, x, axis, mean, variance, gamma, beta, epsilon):
        if mean.requires_grad or variance.requires_grad or self.sharded_tensors or x.numel() == 0:
            return super().batch_norm(x, axis, mean, variance, gamma, beta, epsilon)  # batch statistics
        # constant (moving) statistics: torch's one fused kernel, on the channels-first view
        channels_first = torch.movedim(x, axis, 1) if axis != 1 else x
        outputs = F.batch_norm(channels_first, mean, variance, gamma, beta, False, 0.0, epsilon)
        return torch.movedim(outputs, 1, axis) if axis != 1 else outputs

    # optimizer steps: torch's fused Adam kernel on CPU, else its multi-tensor kernels (torch.optim's foreach path)
    def adam_update(self, params, grads, momentums, velocities, alpha, beta_1, beta_2, epsilon):
        if _fused_adam_applies(params, grads, momentums, velocities, alpha, beta_1, beta_2):
            return _fused_adam(params, grads, momentums, velocities, alpha, beta_1, beta_2, epsilon)
        new_m = torch._foreach_lerp(momentums, grads, 1.0 - beta_1)
        new_v = torch._foreach_lerp(velocities, torch._foreach_mul(grads, grads), 1.0 - beta_2)
        steps = torch._foreach_div(new_m, torch._foreach_add(torch._foreach_sqrt(new_v), epsilon))
        torch._foreach_mul_(steps, alpha)
        return torch._foreach_sub(params, steps), new_m, new_v

    def sgd_momentum_update(self, params, grads, momentums, learning_rate, momentum, nesterov):
        scaled = torch._foreach_mul(grads, learning_rate)
        new_m = torch._foreach_sub(torch._foreach_mul(momentums, momentum), scaled)
        if nesterov:
            return torch._foreach_sub(torch._foreach_add(params, torch._foreach_mul(new_m, momentum)), scaled), new_m
        return torch._foreach_add(params, new_m), new_m

    # keras.ops numerics (issue 9, item 4): torch's own kernels for the base composites
    def standardize_dtype(self, dtype):
        return DTYPE_NAMES[dtype] if isinstance(dtype, torch.dtype) else super().standardize_dtype(dtype)

    sin = staticmethod(torch.sin)
    tan = staticmethod(torch.tan)
    sinh = staticmethod(torch.sinh)
    cosh = staticmethod(torch.cosh)
    arcsin = staticmethod(torch.asin)
    arccos = staticmethod(torch.acos)
    arctan = staticmethod(torch.atan)
    arctan2 = staticmethod(torch.atan2)
    arcsinh = staticmethod(torch.asinh)
    arccosh = staticmethod(torch.acosh)
    arctanh = staticmethod(torch.atanh)
    erf = staticmethod(torch.erf)
    power = staticmethod(torch.pow)
    isnan = staticmethod(torch.isnan)
    isinf = staticmethod(torch.isinf)
    isfinite = staticmethod(torch.isfinite)
    logical_not = staticmethod(torch.logical_not)
    logical_and = staticmethod(torch.logical_and)
    logical_or = staticmethod(torch.logical_or)
    logical_xor = staticmethod(torch.logical_xor)

    def prod(self, x, axis=None, keepdims=False):
        if axis is None:
            out = torch.prod(x)
            return out.reshape((1,) * x.dim()) if keepdims else out
        for a in sorted((d % x.dim() for d in (axis if isinstance(axis, (list, tuple)) else [axis])), reverse=True):
            x = torch.prod(x, dim=a, keepdim=keepdims)
        return x

    def any(self, x, axis=None, keepdims=False):
        return torch.any(x.bool(), dim=_axis(axis), keepdim=keepdims) if axis is not None else torch.any(x.bool())

    def all(self, x, axis=None, keepdims=False):
        return torch.all(x.bool(), dim=_axis(axis), keepdim=keepdims) if axis is not None else torch.all(x.bool())

    def argmin(self, x, axis=-1):
        return torch.argmin(x, dim=axis)

    def round(self, x, decimals=0):
        return torch.round(x, decimals=decimals)

    def tile(self, x, repeats):
        return torch.tile(x, tuple(repeats) if isinstance(repeats, (list, tuple)) else (repeats,))

    def repeat(self, x, repeats, axis=None):
        if isinstance(repeats, (list, tuple)):
            repeats = torch.as_tensor(repeats, device=x.device)
        return torch.repeat_interleave(x, repeats, dim=axis)

    def tril(self, x, k=0):
        return torch.tril(x, k)

    def triu(self, x, k=0):
        return torch.triu(x, k)

    def eye(self, N, M=None, k=0, dtype="float32"):
        if k:  # torch.eye has no diagonal offset
            return super().eye(N, M, k, dtype)
        return torch.eye(N, N if M is None else M, dtype=self._dtype(dtype), device=self.device)

    def scatter(self, indices, values, shape):
        out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
        index = tuple(indices.long().reshape(-1, indices.shape[-1]).T)
        return out.index_put_(index, values.reshape((-1,) + tuple(shape[indices.shape[-1]:])), accumulate=True)

    def scatter_update(self, inputs, indices, updates):
        index = tuple(indices.long().reshape(-1, indices.shape[-1]).T)
        return inputs.clone().index_put_(index, updates.to(inputs.dtype))

    def slice(self, inputs, start_indices, shape):
        for axis, (start, size) in enumerate(zip(start_indices, shape)):
            inputs = inputs.narrow(axis, int(start), int(size))
        return inputs

    def slice_update(self, inputs, start_indices, updates):
        out = inputs.clone()
        out[tuple(slice(int(s), int(s) + n) for s, n in zip(start_indices, updates.shape))] = updates.to(out.dtype)
        return out

    # Model.export
    export_formats = ("onnx",)
    export_options = {"onnx": ("opset_version",)}

    def export_model(self, forward, values, input_specs, filepath, format, **options):
        if format != "onnx":
            return super().export_model(forward, values, input_specs, filepath, format, **options)
        _export_onnx(forward, values, input_specs, filepath, self.device, **options)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


# Under ModelParallel a convolution runs on plain tensors: DTensor's convolution rules (torch 2.13) mis-shape the
# output of a kernel split over its channels and fail on partial inputs or gradients. Its operands are gathered
# whole (their gradients flow back split), and the gradient reaching its output is made whole as well.
def _unsplit(x):
    return x.full_tensor() if type(x) is not torch.Tensor and hasattr(x, "full_tensor") else x


class _PlainGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return _unsplit(grad)


def _channels_first(x):
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def _channels_last(x):
    return x.permute(0, *range(2, x.dim()), 1)


def _torch_pads(pairs):
    """(before, after) pairs, first axis first, as F.pad's flat list (last axis first); negatives cut."""
    return [int(p) for pair in reversed(list(pairs)) for p in pair]


def _fusable(options, *activations):
    """Whether a recurrent cell can run a fused kernel: default activations, no mask, no recurrent dropout."""
    names = activations + ("mask", "recurrent_dropout_mask")
    return all(options.get(name) is None for name in names)


def _run_fused(kernel_fn, inputs, hx, kernel, recurrent_kernel, bias, biases, options):
    """One batch-first layer of a torch._VF recurrent kernel on Keras-layout weights: (outputs, *final states).

    `bias` is one input bias (the recurrent one is then zero); `biases` an (input, recurrent) pair.
    """
    if options.get("go_backwards"):
        inputs = torch.flip(inputs, (1,))
    params = [kernel.T, recurrent_kernel.T]
    if bias is not None:
        biases = (bias, torch.zeros_like(bias))
    if biases is not None:
        params += list(biases)
    hx = tuple(h.unsqueeze(0) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(0)
    return kernel_fn(inputs, hx, params, biases is not None, 1, 0.0, False, False, True)


def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) & ((1 << 63) - 1)


def _int64(constant):
    """A 64-bit constant as the signed int64 with the same bits."""
    return constant - (1 << 64) if constant >= 1 << 63 else constant


def _shift_right(x, bits):
    """Logical right shift of int64 tensors (torch's >> is arithmetic)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _splitmix64_tensor(x):
    """`_splitmix64` on int64 tensors: the same bits, the products wrapping modulo 2**64."""
    x = x + _int64(0x9E3779B97F4A7C15)
    x = (x ^ _shift_right(x, 30)) * _int64(0xBF58476D1CE4E5B9)
    x = (x ^ _shift_right(x, 27)) * _int64(0x94D049BB133111EB)
    return (x ^ _shift_right(x, 31)) & ((1 << 63) - 1)


_FUSED_ADAM_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)
_graph_capture = threading.local()  # .active: a _GraphStep is tracing (inductor fuses the foreach ops itself)


def _fused_adam_applies(params, grads, momentums, velocities, alpha, beta_1, beta_2):
    """Whether `_fused_adam` computes this update: eager, on CPU, every tensor dense and of one float dtype."""
    if not params or getattr(_graph_capture, "active", False) or not (0 <= beta_1 < 1 and 0 <= beta_2 < 1):
        return False
    dtype = params[0].dtype
    if dtype not in _FUSED_ADAM_DTYPES or isinstance(alpha, torch.Tensor) and alpha.device.type != "cpu":
        return False
    return all(type(t) is torch.Tensor and t.device.type == "cpu" and t.dtype == dtype and t.is_contiguous()
               for tensors in (params, grads, momentums, velocities) for t in tensors)


_NO_BIAS_CORRECTION_STEP = torch.tensor(1e30)  # beta ** step == 0: the kernel's bias corrections are 1


def _fused_adam(params, grads, momentums, velocities, alpha, beta_1, beta_2, epsilon):
    """Keras's Adam step `p -= alpha * m / (sqrt(v) + eps)` (alpha carries the bias corrections) by torch's fused
    kernel, one pass over each tensor. The kernel updates in place, so it runs on copies: the step stays pure
    (the caller's tensors, which weights saved by a callback may share, are left as they were)."""
    with torch.no_grad():
        new_p, new_m, new_v = ([t.clone() for t in tensors] for tensors in (params, momentums, velocities))
        torch._fused_adam_(new_p, list(grads), new_m, new_v, [], [_NO_BIAS_CORRECTION_STEP] * len(new_p),
                           lr=alpha, beta1=beta_1, beta2=beta_2, weight_decay=0.0, eps=epsilon, amsgrad=False,
                           maximize=False)
    return new_p, new_m, new_v


class _GraphStep:
    """A pure step captured once per argument signature as one aten graph and compiled by torch.compile.

    make_fx traces through autograd, so the graph holds the forward pass, the backward pass and the optimizer
    update: no Python runs per step and dynamo sees no mlfront code (nothing to guard, no graph breaks).
    Integer random keys become int64 tensor inputs, so a new key per step does not change the signature.
    With `fallback` (jit_compile=True), a step that cannot be captured (it reads tensor values in Python)
    runs eagerly after a warning; with "torch.compile" named explicitly the error is raised.
    """

    def __init__(self, fn, fallback):
        self.fn, self.fallback, self.graphs = fn, fallback, {}

    def __call__(self, *args):
        leaves, spec = torch.utils._pytree.tree_flatten(args)
        leaves = [torch.tensor(_int64(leaf), dtype=torch.int64) if type(leaf) is int else leaf for leaf in leaves]
        tensors = [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]
        signature = (spec, tuple((tuple(leaf.shape), leaf.dtype, leaf.device) if isinstance(leaf, torch.Tensor)
                                 else leaf for leaf in leaves))
        graph = self.graphs.get(signature)
        if graph is None:
            graph = self.graphs[signature] = self._capture(leaves, spec, tensors)
        return graph(*tensors)

    def _capture(self, leaves, spec, tensors):
        from torch.fx.experimental.proxy_tensor import make_fx
        is_tensor = [isinstance(leaf, torch.Tensor) for leaf in leaves]

        def flat_step(*flat_tensors):
            given = iter(flat_tensors)
            rebuilt = [next(given) if tensor else leaf for leaf, tensor in zip(leaves, is_tensor)]
            return self.fn(*torch.utils._pytree.tree_unflatten(rebuilt, spec))
        try:
            _graph_capture.active = True
            try:
                graph = make_fx(flat_step, tracing_mode="fake")(*tensors)
            finally:
                _graph_capture.active = False
            compiled = torch.compile(graph, dynamic=False)
            compiled(*tensors)  # compile now (the step is pure: this call changes nothing)
            return compiled
        except Exception as error:
            if not self.fallback:
                raise
            import warnings
            warnings.warn(f"jit_compile=True: torch.compile cannot capture this model's step as one graph "
                          f"({type(error).__name__}: {str(error).strip().splitlines()[0][:300] if str(error) else ''}); "
                          f"running it eagerly instead.", RuntimeWarning, stacklevel=3)
            return flat_step


# ---------------------------------------------------------------------- Model.export: ONNX through torch.onnx
def _export_onnx(forward, values, input_specs, filepath, device, opset_version=None):
    """An ONNX file of `forward` traced by torch.export (torch.onnx's dynamo exporter), weights embedded."""
    module = _ExportModule(forward, values).eval()
    # Example inputs only fix the rank: batch 2 and 3 for other dynamic axes (torch.export specializes 0 and 1).
    examples = tuple(torch.zeros(tuple((2 if axis == 0 else 3) if d is None else d for axis, d in enumerate(shape)),
                                 dtype=DTYPES[dtype], device=device)
                     for _, shape, dtype in input_specs)
    with torch.no_grad():
        output_names = list(forward(values, list(examples)))
    batch = torch.export.Dim("batch")
    dynamic = tuple({axis: batch if axis == 0 else torch.export.Dim.AUTO
                     for axis, d in enumerate(shape) if d is None} for _, shape, _ in input_specs)
    with torch.no_grad():
        torch.onnx.export(module, examples, filepath, input_names=[name for name, _, _ in input_specs],
                          output_names=output_names, opset_version=opset_version, dynamo=True,
                          external_data=False, dynamic_shapes=(dynamic,), verbose=False)


class _ExportModule(torch.nn.Module):
    """`forward(values, inputs)` as a module whose buffers are the model's weights (the ONNX initializers)."""

    def __init__(self, forward, values):
        super().__init__()
        self._forward = forward
        self._count = len(values)
        for index, value in enumerate(values):
            self.register_buffer(f"weight_{index}", value.detach())

    def forward(self, *inputs):
        values = [getattr(self, f"weight_{index}") for index in range(self._count)]
        return tuple(self._forward(values, list(inputs)).values())
