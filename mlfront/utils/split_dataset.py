"""`split_dataset`: a dataset cut into a left part and a right part (e.g. train / test), as Keras 3's.

Keras returns `tf.data.Dataset`s of single samples; mlfront returns two `BatchedDataset`s (the engine-neutral
dataset of `mlfront.utils.dataset_utils`), batched so that `model.fit(left)` reads them directly.
"""

import numbers
import random

import numpy as np

from mlfront.training.data import PyDataset, as_numpy, flatten
from mlfront.utils.dataset_utils import BatchedDataset

_DEFAULT_BATCH_SIZE = 32  # fit's default


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, batch_size="auto",
                  preferred_backend=None):
    """Split `dataset` into a left and a right dataset, by samples.

    The samples are taken in order (shuffled first with `shuffle=True`): the left dataset holds the first
    `left_size` of them, the right dataset the last `right_size`; with both sizes given, the samples between
    them are in neither. The order for a `seed` is the one Keras draws (Python's `random.Random(seed).shuffle`).

    Args:
        dataset: a NumPy array; a list or tuple of arrays with the same number of samples (e.g. `(x, y)`;
            each sample is then a tuple); a dict of such arrays (samples are dicts); a list/tuple whose items
            are arrays or dicts of arrays (e.g. `({"a": xa, "b": xb}, y)`); or a `PyDataset` /
            `BatchedDataset`, whose batches are read and cut into samples.
        left_size: the left part: a fraction in (0, 1) of the samples (rounded), or a number of samples;
            None: what `right_size` leaves.
        right_size: the right part, likewise; None: what `left_size` leaves.
        shuffle: shuffle the samples before splitting.
        seed: the shuffling seed (a random one when None).
        batch_size: samples per batch of the returned datasets. "auto": 32 (fit's default) for arrays, the
            batch size of a `PyDataset` / `BatchedDataset` input. None gives single samples, as Keras's
            `tf.data` result (then call `.batch(n)` before `fit`, as with Keras; not for dict or nested
            samples, which need a batch size here).
        preferred_backend: Keras's choice of dataset type; only None or the active backend's name.

    Returns:
        `(left, right)`: two `BatchedDataset`s (not reshuffled per epoch), keeping the `class_names` of a
        `BatchedDataset` input.

    Raises:
        TypeError: `dataset` or a size of the wrong type.
        ValueError: no size given, sizes out of range or leaving a side empty, or arrays of different lengths.

    Example:
        ```python
        x, y = np.random.random((1000, 4)), np.random.randint(0, 2, (1000,))
        train, test = mlfront.utils.split_dataset((x, y), left_size=0.8, shuffle=True, seed=1)
        model.fit(train, validation_data=test)
        ```
    """
    from mlfront import backend as _backend

    if preferred_backend is not None and preferred_backend != _backend():
        raise ValueError(f"split_dataset: `preferred_backend` must be None or the active backend "
                         f"{_backend()!r} (mlfront returns engine-neutral datasets); got {preferred_backend!r}.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. Received: "
                         "left_size=None and right_size=None")
    class_names = getattr(dataset, "class_names", None)
    if isinstance(dataset, PyDataset):
        dataset, own_batch_size = _samples_of(dataset)
    else:
        own_batch_size = _DEFAULT_BATCH_SIZE
    if isinstance(batch_size, str) and batch_size == "auto":
        batch_size = own_batch_size
    elif batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                     or batch_size < 1):
        raise ValueError(f"split_dataset: `batch_size` must be \"auto\", None or a positive integer; got "
                         f"{batch_size!r}.")
    data = _standardize(dataset)
    leaves, pack = _flatten(data)
    total = len(leaves[0])
    left_size, right_size = _split_sizes(left_size, right_size, total)
    if batch_size is None and pack is not None:
        raise ValueError("split_dataset: `batch_size=None` (single samples) needs an array or a list/tuple of "
                         "arrays; samples with dicts need a batch size (e.g. batch_size=32).")
    order = list(range(total))
    if shuffle:
        random.Random(seed).shuffle(order)
    order = np.asarray(order)
    as_tuple = not isinstance(data, np.ndarray)
    return tuple(_dataset(leaves, pack, as_tuple, indices, batch_size, class_names)
                 for indices in (order[:left_size], order[total - right_size:]))


def _dataset(leaves, pack, as_tuple, indices, batch_size, class_names):
    def load(positions):
        rows = indices[positions]
        taken = tuple(np.take(leaf, rows, axis=0) for leaf in leaves)
        return taken if as_tuple else taken[0]

    dataset = BatchedDataset(load, len(indices), batch_size=batch_size, shuffle=False, class_names=class_names)
    return dataset if pack is None else dataset.map(pack)


def _standardize(dataset):
    """The dataset as a NumPy array, a tuple of arrays / dicts of arrays, or a dict of arrays."""
    if isinstance(dataset, dict):
        return {key: _array(value, f"dataset[{key!r}]") for key, value in dataset.items()}
    if isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ValueError("split_dataset: received an empty list/tuple as `dataset`; pass arrays.")
        nested = [i for i, item in enumerate(dataset) if isinstance(item, (list, tuple))]
        if nested:
            raise TypeError(f"split_dataset: the items of a list/tuple `dataset` must be arrays or dicts of "
                            f"arrays; items {nested} are lists/tuples (use a dict for several inputs).")
        return tuple(_standardize(item) if isinstance(item, dict) else _array(item, f"dataset[{i}]")
                     for i, item in enumerate(dataset))
    if hasattr(dataset, "shape") and hasattr(dataset, "__array__"):
        return _array(dataset, "dataset")
    raise TypeError(f"split_dataset: `dataset` must be a NumPy array, a list/tuple/dict of arrays, or a "
                    f"PyDataset / BatchedDataset; got {type(dataset).__name__}.")


def _array(value, what):
    array = as_numpy(value)
    if array.ndim == 0:
        raise ValueError(f"split_dataset: {what} must have a first (sample) axis; got a scalar.")
    return array


def _flatten(data):
    """(leaf arrays, pack): `pack(*leaves)` rebuilds the structure of a sample batch, or None when the batch
    is the leaves themselves (one array, or a tuple of arrays)."""
    if isinstance(data, np.ndarray):
        leaves, pack = [data], None
    elif isinstance(data, dict):
        keys = list(data)
        leaves = [data[key] for key in keys]

        def pack(*values):
            return dict(zip(keys, values))
    elif all(isinstance(item, np.ndarray) for item in data):
        leaves, pack = list(data), None
    else:
        parts = [list(item) if isinstance(item, dict) else None for item in data]
        leaves = [a for item in data for a in (item.values() if isinstance(item, dict) else [item])]

        def pack(*values):
            values, out = list(values), []
            for keys in parts:
                out.append(values.pop(0) if keys is None else {key: values.pop(0) for key in keys})
            return tuple(out)
    lengths = [len(leaf) for leaf in leaves]
    if not leaves or len(set(lengths)) > 1:
        raise ValueError(f"split_dataset: the arrays of `dataset` must have the same number of samples (first "
                         f"axis); got lengths {lengths}.")
    return leaves, pack


def _samples_of(dataset):
    """(the samples of every batch of a PyDataset, joined: an array / tuple / dict), its batch size)."""
    if not len(dataset):
        raise ValueError("split_dataset: the PyDataset given as `dataset` has no batches.")
    unbatched = isinstance(dataset, BatchedDataset) and dataset._batch_size is None
    batches = [dataset[i] for i in range(len(dataset))]
    first = batches[0]
    join = np.stack if unbatched else np.concatenate

    def joined(parts):
        if isinstance(parts[0], (list, tuple)):
            raise TypeError("split_dataset: the PyDataset's batches hold nested lists/tuples; batches of `x`, "
                            "`(x, y)` or `(x, y, sample_weight)` made of arrays or dicts of arrays can be split.")
        if isinstance(parts[0], dict):
            return {key: join([as_numpy(p[key]) for p in parts]) for key in parts[0]}
        return join([as_numpy(p) for p in parts])

    if isinstance(first, list):
        raise TypeError("split_dataset: the PyDataset's batches are lists; batches of `x`, `(x, y)` or "
                        "`(x, y, sample_weight)` (arrays or dicts of arrays) can be split.")
    samples = tuple(joined([b[k] for b in batches]) for k in range(len(first))) if isinstance(first, tuple) \
        else joined(batches)
    if unbatched:
        return samples, None
    if isinstance(dataset, BatchedDataset):
        return samples, dataset._batch_size
    return samples, len(flatten(first)[0])


def _split_sizes(left_size, right_size, total):
    """The (left, right) numbers of samples from Keras's `left_size` / `right_size` (fractions or counts)."""
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Real)):
            raise TypeError(f"Invalid `{name}` type. Expected: int or float or None, received: "
                            f"{type(size).__name__} ({size!r}).")
        if isinstance(size, numbers.Integral):
            size = int(size)
            if not 0 < size < total:
                raise ValueError(f"`{name}` should be either a positive integer smaller than {total} (the number "
                                 f"of samples), or a float within the range (0, 1). Received: {name}={size}")
        elif size is not None:
            size = float(size)
            if not 0 < size < 1:
                raise ValueError(f"`{name}` should be either a positive integer smaller than {total} (the number "
                                 f"of samples), or a float within the range (0, 1). Received: {name}={size}")
        sizes.append(size)
    left, right = sizes
    if isinstance(left, float) and isinstance(right, float) and left + right > 1:
        raise ValueError(f"The sum of `left_size` and `right_size` is greater than 1 ({left} + {right}). It must "
                         f"be less than or equal to 1.")
    left, right = (round(s * total) if isinstance(s, float) else s for s in (left, right))
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` ({left} + {right} samples) should be at most "
                         f"the {total} samples of `dataset`.")
    for side, size in (("left", left), ("right", right)):
        if size <= 0:
            raise ValueError(f"With `dataset` of length={total}, left_size={left} and right_size={right}, the "
                             f"{side} side dataset split would be empty. Adjust the sizes.")
    return left, right
