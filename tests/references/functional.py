"""NumPy references for the Functional API and subclassing tests: layer stacks read from built layers."""

import numpy as np

from references.core import dense


def dense_layer(layer, x, activation="linear"):
    """The output of the built Dense-like `layer` (weights `kernel`, `bias`) on `x`."""
    return dense(x, layer.kernel.numpy(), layer.bias.numpy(), activation)


def masked_mean(x, mask):
    """Mean over axis 1 of `x` (batch, time, features) counting only the steps where `mask` (batch, time) holds."""
    weights = mask.astype(x.dtype)[..., None]
    return (x * weights).sum(axis=1) / weights.sum(axis=1)


def nonzero_steps(x):
    """The mask a zero-padding detector gives: time steps whose features are not all zero."""
    return np.abs(x).max(axis=-1) > 0
