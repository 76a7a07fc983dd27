"""NumPy references for convolution, pooling and spatial layers: direct loops over output positions.

Images are channels_last (batch, *spatial, channels); kernels are Keras's (*kernel_size, in, out) for conv and
(*kernel_size, out, in) for transposed conv. Written for clarity on tiny inputs, computed in float64.
"""

import itertools

import numpy as np


def _tuple(value, n):
    return (value,) * n if isinstance(value, int) else tuple(value)


def _pads(padding, lengths, extents, strides):
    """(before, after) pairs: "same" keeps ceil(length / stride) outputs, the odd padded cell at the end."""
    if padding == "valid":
        return [(0, 0)] * len(lengths)
    if padding == "causal":
        return [(e - 1, 0) for e in extents]
    pairs = []
    for length, extent, stride in zip(lengths, extents, strides):
        outputs = -(-length // stride)
        total = max((outputs - 1) * stride + extent - length, 0)
        pairs.append((total // 2, total - total // 2))
    return pairs


def conv(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """Cross-correlation of `x` (batch, *spatial, in) with `kernel` (*kernel_size, in, out)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    n = x.ndim - 2
    strides, dilation = _tuple(strides, n), _tuple(dilation_rate, n)
    ksize = kernel.shape[:n]
    extents = [(k - 1) * d + 1 for k, d in zip(ksize, dilation)]
    pads = _pads(padding, x.shape[1:-1], extents, strides)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_shape = [(length - e) // s + 1 for length, e, s in zip(xp.shape[1:-1], extents, strides)]
    out = np.zeros((x.shape[0], *out_shape, kernel.shape[-1]))
    for o in itertools.product(*map(range, out_shape)):
        for k in itertools.product(*map(range, ksize)):
            pos = tuple(oi * s + ki * d for oi, ki, s, d in zip(o, k, strides, dilation))
            out[(slice(None), *o)] += xp[(slice(None), *pos)] @ kernel[k]
    return out


def conv_transpose_length(length, k, stride, padding, output_padding, dilation):
    """Keras's output length of a transposed convolution along one axis."""
    extent = (k - 1) * dilation + 1
    if output_padding is None:
        return length * stride + (max(extent - stride, 0) if padding == "valid" else 0)
    return (length - 1) * stride + extent - 2 * (extent // 2 if padding == "same" else 0) + output_padding


def conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Transposed convolution: every input cell scatters `kernel`-weighted copies into the output.

    The full scatter is cut at the start by the "same" padding of the matching forward convolution and cut
    or zero-extended at the end to Keras's output length.
    """
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    n = x.ndim - 2
    strides, dilation = _tuple(strides, n), _tuple(dilation_rate, n)
    output_padding = (None,) * n if output_padding is None else _tuple(output_padding, n)
    ksize = kernel.shape[:n]
    lengths = x.shape[1:-1]
    full_shape = [(length - 1) * s + (k - 1) * d + 1 for length, k, s, d in zip(lengths, ksize, strides, dilation)]
    full = np.zeros((x.shape[0], *full_shape, kernel.shape[n]))
    for i in itertools.product(*map(range, lengths)):
        for k in itertools.product(*map(range, ksize)):
            pos = tuple(ii * s + ki * d for ii, ki, s, d in zip(i, k, strides, dilation))
            full[(slice(None), *pos)] += x[(slice(None), *i)] @ kernel[k].T
    out_shape = [conv_transpose_length(length, k, s, padding, p, d)
                 for length, k, s, p, d in zip(lengths, ksize, strides, output_padding, dilation)]
    out = np.zeros((x.shape[0], *out_shape, kernel.shape[n]))
    src, dst = [slice(None)], [slice(None)]
    for size, out_size in zip(full_shape, out_shape):
        start = max(size - out_size, 0) // 2 if padding == "same" else 0
        stop = min(size, start + out_size)
        src.append(slice(start, stop))
        dst.append(slice(0, stop - start))
    out[tuple(dst)] = full[tuple(src)]
    return out


def _windows(x, pool_size, strides, padding):
    """Yield (output index, window of valid cells) for every pooling window."""
    n = x.ndim - 2
    pool_size, strides = _tuple(pool_size, n), _tuple(strides, n)
    pads = _pads(padding, x.shape[1:-1], pool_size, strides)
    out_shape = [(length + lo + hi - p) // s + 1
                 for length, (lo, hi), p, s in zip(x.shape[1:-1], pads, pool_size, strides)]
    for o in itertools.product(*map(range, out_shape)):
        window = tuple(slice(max(oi * s - lo, 0), min(oi * s - lo + p, length))
                       for oi, s, (lo, _), p, length in zip(o, strides, pads, pool_size, x.shape[1:-1]))
        yield o, out_shape, x[(slice(None), *window)]


def pool(x, pool_size, strides=None, padding="valid", kind="max"):
    """Max or average pooling over windows; padded cells never count (they are simply not in the window)."""
    x = np.asarray(x, np.float64)
    strides = pool_size if strides is None else strides
    out = None
    spatial = tuple(range(1, x.ndim - 1))
    for o, out_shape, window in _windows(x, pool_size, strides, padding):
        if out is None:
            out = np.zeros((x.shape[0], *out_shape, x.shape[-1]))
        out[(slice(None), *o)] = window.max(axis=spatial) if kind == "max" else window.mean(axis=spatial)
    return out


def global_pool(x, kind="avg", mask=None, keepdims=False):
    """Mean or max over the spatial axes of a channels_last array; masked-out steps (1D) are ignored."""
    x = np.asarray(x, np.float64)
    spatial = tuple(range(1, x.ndim - 1))
    if mask is not None:
        m = np.asarray(mask, bool)[..., None]
        if kind == "avg":
            out = (x * m).sum(axis=spatial, keepdims=True) / m.sum(axis=spatial, keepdims=True)
        else:
            out = np.where(m, x, -np.inf).max(axis=spatial, keepdims=True)
    else:
        out = x.mean(axis=spatial, keepdims=True) if kind == "avg" else x.max(axis=spatial, keepdims=True)
    return out if keepdims else out.reshape(out.shape[0], -1)


def upsample_nearest(x, size):
    """Repeat every spatial cell `size[i]` times along spatial axis i."""
    for axis, s in enumerate(size, start=1):
        x = np.repeat(x, s, axis=axis)
    return x


def upsample_bilinear_2d(x, size):
    """Bilinear resize by integer factors with half-pixel centres (edges clamped)."""
    x = np.asarray(x, np.float64)
    out = x
    for axis, s in ((1, size[0]), (2, size[1])):
        length = out.shape[axis]
        centres = (np.arange(length * s) + 0.5) / s - 0.5
        centres = np.clip(centres, 0, length - 1)
        lo = np.floor(centres).astype(int)
        hi = np.minimum(lo + 1, length - 1)
        w = (centres - lo).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        out = np.take(out, lo, axis=axis) * (1 - w) + np.take(out, hi, axis=axis) * w
    return out


def numeric_grad(fn, x, eps=1e-3):
    """Central-difference gradient of the scalar `fn(x)` (float64), one entry at a time."""
    x = np.array(x, np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + eps
        up = fn(x)
        x[i] = old - eps
        down = fn(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad
