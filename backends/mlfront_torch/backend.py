"""The Backend interface mapped onto PyTorch (eager by default, `torch.compile` on request)."""

import numpy as np
import torch
import torch.nn.functional as F

from mlfront.backend.base import Backend

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

    # creation and conversion
    def convert(self, x, dtype=None):
        dtype = DTYPES[dtype] if dtype else None
        if isinstance(x, torch.Tensor):
            return x if dtype is None or x.dtype == dtype else x.to(dtype)
        if isinstance(x, np.ndarray):
            if dtype is None and x.dtype == np.float64:
                dtype = torch.float32
            return torch.as_tensor(x, dtype=dtype, device=self.device)
        if dtype is None and isinstance(x, float):
            dtype = torch.float32
        return torch.as_tensor(x, dtype=dtype, device=self.device)

    def to_numpy(self, x):
        return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)

    def is_array(self, x):
        return isinstance(x, torch.Tensor)

    def zeros(self, shape, dtype="float32"):
        return torch.zeros(tuple(shape), dtype=DTYPES[dtype], device=self.device)

    def ones(self, shape, dtype="float32"):
        return torch.ones(tuple(shape), dtype=DTYPES[dtype], device=self.device)

    def full(self, shape, value, dtype="float32"):
        return torch.full(tuple(shape), value, dtype=DTYPES[dtype], device=self.device)

    def arange(self, start, stop=None, step=1, dtype="int32"):
        if stop is None:
            start, stop = 0, start
        return torch.arange(start, stop, step, dtype=DTYPES[dtype], device=self.device)

    def cast(self, x, dtype):
        return x.to(DTYPES[dtype])

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
    sigmoid = staticmethod(torch.sigmoid)
    relu = staticmethod(torch.relu)
    square = staticmethod(torch.square)
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
        return torch.sum(x) if axis is None else torch.sum(x, dim=_axis(axis), keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return torch.mean(x) if axis is None else torch.mean(x, dim=_axis(axis), keepdim=keepdims)

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
        return F.one_hot(indices.long(), num_classes).to(DTYPES[dtype])

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

    def rng_split(self, key, num=2):
        return [_splitmix64(key + i + 1) for i in range(num)]

    def _generator(self, key):
        return torch.Generator(device=self.device).manual_seed(key)

    def random_uniform(self, key, shape, minval=0.0, maxval=1.0, dtype="float32"):
        sample = torch.rand(tuple(shape), generator=self._generator(key), dtype=DTYPES[dtype], device=self.device)
        return sample * (maxval - minval) + minval if (minval, maxval) != (0.0, 1.0) else sample

    def random_normal(self, key, shape, mean=0.0, stddev=1.0, dtype="float32"):
        sample = torch.randn(tuple(shape), generator=self._generator(key), dtype=DTYPES[dtype], device=self.device)
        return sample * stddev + mean if (mean, stddev) != (0.0, 1.0) else sample

    def dropout(self, key, x, rate):
        keep = torch.empty_like(x).bernoulli_(1.0 - rate, generator=self._generator(key))
        return x * keep / (1.0 - rate)

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

    # autodiff and compilation
    def value_and_grad(self, fn, has_aux=False):
        def value_and_grad_fn(params, *args, **kwargs):
            params = [p.detach().requires_grad_(True) for p in params]
            with torch.enable_grad():
                out = fn(params, *args, **kwargs)
                value, aux = out if has_aux else (out, None)
                grads = torch.autograd.grad(value, params, allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
            value = value.detach()
            return ((value, _detach(aux)) if has_aux else value), grads
        return value_and_grad_fn

    def compile(self, fn, jit=True):
        # Eager PyTorch is already as fast as a hand-written loop; torch.compile only when asked for by name.
        # Steps run without recording a tape; value_and_grad turns recording on where it needs it.
        fn = torch.no_grad()(fn)
        return torch.compile(fn) if jit == "torch.compile" else fn

    stop_gradient = staticmethod(torch.Tensor.detach)


def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) & ((1 << 63) - 1)
