"""NumPy references (float64) for the losses: per-sample functions and the reductions, from Keras's formulas."""

import numpy as np

from references.core import EPS, binary_crossentropy, categorical_crossentropy  # noqa: F401  (shared)
from references.core import mae as mean_absolute_error  # noqa: F401
from references.core import mse as mean_squared_error  # noqa: F401

def mean_absolute_percentage_error(t, p):
    return 100.0 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), axis=-1)


def mean_squared_logarithmic_error(t, p):
    return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, axis=-1)


def huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2), axis=-1)


def log_cosh(t, p):
    return np.mean(np.log(np.cosh(p - t)), axis=-1)


def cosine_similarity(t, p, axis=-1):
    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)
    return -np.sum(unit(t) * unit(p), axis=axis)


def kl_divergence(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def poisson(t, p):
    return np.mean(p - t * np.log(p + EPS), axis=-1)


def _signed(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def hinge(t, p):
    return np.mean(np.maximum(1 - _signed(t) * p, 0), axis=-1)


def squared_hinge(t, p):
    return np.mean(np.maximum(1 - _signed(t) * p, 0) ** 2, axis=-1)


def categorical_hinge(t, p):
    positive = np.sum(t * p, axis=-1)
    negative = np.max((1 - t) * p, axis=-1)
    return np.maximum(negative - positive + 1, 0)


def reduce(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's reduction of per-sample losses (weights broadcast over trailing loss axes)."""
    weighted = values if sample_weight is None else values * sample_weight.reshape(
        sample_weight.shape[:1] + (1,) * (values.ndim - 1))
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return weighted.sum() / sample_weight.sum()
    return weighted.sum() / weighted.size
