"""Seeds and random keys.

Initial weights are drawn with NumPy from one global generator, so the same seed gives the same initial
weights on every engine. Randomness inside a step (Dropout) comes from explicit backend keys, handed to
layers through `KeyStream`, so compiled steps stay pure.
"""

import random as _py_random

import numpy as np

from mlfront import backend as _backend

_generator = np.random.default_rng()


def set_seed(seed):
    """Seed mlfront's generator, NumPy's and Python's `random`, making runs repeatable."""
    global _generator
    _generator = np.random.default_rng(seed)
    np.random.seed(seed)
    _py_random.seed(seed)


def numpy_generator(seed=None):
    """A NumPy generator: a fresh one for an explicit `seed`, else the global one."""
    return np.random.default_rng(seed) if seed is not None else _generator


def epoch_permutation(n, seed, epoch):
    """A shuffled order of `range(n)` for epoch `epoch` of a `fit` whose shuffle seed is `seed`.

    The order depends only on `(seed, epoch)`, so a run resumed from a backup (which stores the seed)
    draws the same order for every epoch; with `seed=None` it is drawn from the global generator.
    """
    generator = _generator if seed is None else np.random.default_rng([int(seed), int(epoch)])
    return generator.permutation(n)


def new_seed():
    """A new integer seed drawn from the global generator."""
    return int(_generator.integers(0, 2**31 - 1))


def key(seed=None):
    """A backend random key from an int `seed` (a new seed from the global generator when None).

    For the stateless API: `model.stateless_call(..., seed=mlfront.random.key(step))`.
    """
    return _backend.get().rng_key(new_seed() if seed is None else int(seed))


class KeyStream:
    """Hands out a fresh backend key on each `next()`, by splitting one starting key (pure under tracing)."""

    def __init__(self, key=None):
        self.key = key if key is not None else _backend.get().rng_key(new_seed())

    def next(self):
        self.key, sub = _backend.get().rng_split(self.key, 2)
        return sub
