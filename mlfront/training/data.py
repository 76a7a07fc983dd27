"""Turning what users pass to fit / evaluate / predict into batches of backend arrays.

`adapt(...)` returns a `DataAdapter`; each yields `(x, y, sample_weight)` batches (y and sample_weight may
be None) as backend arrays, with `steps` batches per epoch (None when unknown).
"""

import math

import numpy as np

from mlfront import backend as _backend
from mlfront import random as _random


def map_structure(fn, structure):
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return None if structure is None else fn(structure)


def flatten(structure):
    if isinstance(structure, dict):
        return [a for v in structure.values() for a in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [a for v in structure for a in flatten(v)]
    return [] if structure is None else [structure]


def to_numpy_input(array):
    """A NumPy array with mlfront's default dtypes: float64 -> float32, int64 -> int32 (labels, indices)."""
    B = _backend.get()
    array = B.to_numpy(array) if B.is_array(array) else np.asarray(array)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 or array.dtype == np.uint8 and array.ndim <= 1:
        return array.astype(np.int32)
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    return array


class DataAdapter:
    """Base class: `batches()` iterates one epoch of `(x, y, sample_weight)` backend-array batches."""

    steps = None

    def batches(self):
        raise NotImplementedError

    def on_epoch_end(self):
        pass


class ArrayDataAdapter(DataAdapter):
    """NumPy arrays (or lists/dicts of them) sliced into (shuffled) batches.

    The data stays in NumPy; each batch is gathered there and converted once, which costs the same on every
    engine (slicing an engine tensor from Python is slow on TensorFlow and JAX).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False):
        x, y, sample_weight = (map_structure(to_numpy_input, s) for s in (x, y, sample_weight))
        sizes = {name: [len(a) for a in flatten(s)] for name, s in (("x", x), ("y", y), ("sample_weight",
                                                                                        sample_weight))}
        all_sizes = {n for group in sizes.values() for n in group}
        if len(all_sizes) > 1:
            detail = ", ".join(f"{name} sizes: {group}" for name, group in sizes.items() if group)
            raise ValueError(f"Data cardinality is ambiguous: the arrays must all have the same number of "
                             f"samples (first dimension). Got {detail}.")
        if not all_sizes:
            raise ValueError("No input data given: pass `x` (a NumPy array, or a list/dict of arrays).")
        self.num_samples = all_sizes.pop()
        if batch_size is None or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.steps = math.ceil(self.num_samples / self.batch_size)
        self.data = (x, y, sample_weight)

    def batches(self):
        convert = _backend.get().prepare_batch
        n, size = self.num_samples, self.batch_size
        order = _random.numpy_generator().permutation(n) if self.shuffle else None
        for start in range(0, n, size):
            if order is None:
                def pick(a):
                    return convert(a[start:start + size])
            else:
                index = order[start:start + size]

                def pick(a):
                    return convert(np.take(a, index, axis=0))
            yield tuple(map_structure(pick, s) for s in self.data)


def split_validation(x, y, sample_weight, validation_split):
    """Keras semantics: the last `validation_split` fraction of the samples (before shuffling) validates."""
    if not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1), got {validation_split!r}.")
    arrays = flatten(x)
    if not arrays or not hasattr(arrays[0], "__len__"):
        raise ValueError("`validation_split` needs array inputs (NumPy arrays or lists/dicts of them); "
                         "pass `validation_data` for generators and datasets.")
    n = len(arrays[0])
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(f"`validation_split={validation_split}` leaves no samples for training or validation "
                         f"(there are {n} samples).")

    def head(a):
        return a[:cut]

    def tail(a):
        return a[cut:]
    return ((map_structure(head, x), map_structure(head, y), map_structure(head, sample_weight)),
            (map_structure(tail, x), map_structure(tail, y), map_structure(tail, sample_weight)))


def unpack_validation_data(validation_data):
    """(x, y, sample_weight) from a `validation_data` tuple of 2 or 3 entries, or a dataset-like object."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        x, y, *rest = validation_data
        return x, y, rest[0] if rest else None
    return validation_data, None, None


def adapt(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    """A DataAdapter for `x` (and `y`, `sample_weight`) as given to fit / evaluate / predict."""
    if isinstance(x, DataAdapter):
        return x
    return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size or 32, shuffle=shuffle)
