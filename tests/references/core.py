"""NumPy references for the core: activations, Dense, losses, metrics."""

import numpy as np

EPS = 1e-7


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return x - x.max(axis=axis, keepdims=True) - np.log(np.exp(x - x.max(axis=axis, keepdims=True)).sum(
        axis=axis, keepdims=True))


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "softmax": softmax,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0, 1),
    "linear": lambda x: x,
}


def dense(x, kernel, bias, activation="linear"):
    return ACTIVATIONS[activation](x @ kernel + bias)


def mse(t, p):
    return np.mean((p - t) ** 2, axis=-1)


def mae(t, p):
    return np.mean(np.abs(p - t), axis=-1)


def binary_crossentropy(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=-1)


def categorical_crossentropy(t, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(p), axis=-1)


def sparse_categorical_crossentropy(labels, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.log(p[np.arange(len(labels)), labels])
