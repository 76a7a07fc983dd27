"""NumPy references for the normalization, reshaping, merging and attention layers.

Written from the formulas with plain loops where that keeps them independent of the layers' einsum code.
"""

import numpy as np

from references.core import softmax


# ---------------------------------------------------------------------- normalization
def batch_norm_train(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Output with the batch statistics, and (mean, biased variance) per entry of `axis`."""
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return batch_norm_infer(x, gamma, beta, mean, var, axis, epsilon), mean, var


def batch_norm_infer(x, gamma, beta, mean, var, axis=-1, epsilon=1e-3):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mean, var, gamma, beta = (np.reshape(v, shape) for v in (mean, var, gamma, beta))
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def moving_update(moving, batch_value, momentum=0.99):
    return moving * momentum + batch_value * (1 - momentum)


def layer_norm(x, gamma, beta, axes=(-1,), epsilon=1e-3):
    axes = tuple(a % x.ndim for a in axes)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    return (x - mean) / np.sqrt(var + epsilon) * np.reshape(gamma, shape) + np.reshape(beta, shape)


# ---------------------------------------------------------------------- merging
def batch_dot(x, y, axes):
    """Per sample: `tensordot` of x[i] and y[i] over axes (a, b) (numbered with the batch axis); a trailing
    axis of size 1 when nothing but the batch axis is left."""
    a, b = (axes, axes) if isinstance(axes, int) else axes
    a, b = a % x.ndim, b % y.ndim
    out = np.stack([np.tensordot(x[i], y[i], axes=(a - 1, b - 1)) for i in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


def l2_normalize(x, axis):
    return x / np.sqrt(np.maximum((x ** 2).sum(axis=axis, keepdims=True), 1e-12))


# ---------------------------------------------------------------------- attention
def multi_head_attention(query, value, key, weights, num_heads, attention_mask=None, use_bias=True):
    """Rank-3 inputs (batch, positions, features), head by head with plain matrix products.

    `weights` is the layer's list in Keras order. Returns (output, scores (batch, heads, T, S)).
    """
    if use_bias:
        qk, qb, kk, kb, vk, vb, ok, ob = weights
    else:
        qk, kk, vk, ok = weights
        qb, kb, vb = (np.zeros(w.shape[1:]) for w in (qk, kk, vk))
        ob = np.zeros(ok.shape[-1])
    key_dim = qk.shape[-1]
    batch, t = query.shape[:2]
    output = np.zeros((batch, t, ok.shape[-1])) + ob
    scores = np.zeros((batch, num_heads, t, value.shape[1]))
    for h in range(num_heads):
        q = query @ qk[:, h, :] + qb[h]
        k = key @ kk[:, h, :] + kb[h]
        v = value @ vk[:, h, :] + vb[h]
        logits = q @ np.swapaxes(k, 1, 2) / np.sqrt(key_dim)
        if attention_mask is not None:
            logits = np.where(attention_mask, logits, -1e9)
        scores[:, h] = softmax(logits, axis=-1)
        output += (scores[:, h] @ v) @ ok[h]
    return output, scores


def finite_difference_grads(fn, arrays, eps=1e-4):
    """Central-difference gradients of the scalar `fn(*arrays)` (float64) with respect to every array."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            saved = a[index]
            a[index] = saved + eps
            up = fn(*arrays)
            a[index] = saved - eps
            down = fn(*arrays)
            a[index] = saved
            g[index] = (up - down) / (2 * eps)
        grads.append(g)
    return grads
