"""The word-index processing IMDB and Reuters share, in Keras's order and with Keras's conventions.

Sequences are handled as one flat int64 array of all word indices plus the length of each sequence, so every
step is a vectorized NumPy operation instead of a Python loop over millions of words.
"""

import itertools
import warnings

import numpy as np


def legacy_kwargs(where, num_words, kwargs):
    """`num_words`, taking Keras 1's `nb_words` spelling; any other keyword is an error."""
    if "nb_words" in kwargs:
        warnings.warn(f"{where}: the `nb_words` argument has been renamed `num_words`.", stacklevel=3)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"{where}: unrecognized keyword arguments {sorted(kwargs)}.")
    return num_words


def flatten(sequences, labels, order, where):
    """`(flat, lengths, labels)` of a 1-D object array of integer lists with one label each (checked), taken
    in the order of the index array `order`."""
    if not isinstance(sequences, np.ndarray) or sequences.ndim != 1 or \
            not all(isinstance(x, (list, tuple, np.ndarray)) for x in sequences):
        raise ValueError(f"{where}: expected a 1-D array of word-index lists.")
    if not isinstance(labels, np.ndarray) or labels.shape != (len(sequences),):
        raise ValueError(f"{where}: expected one label per sequence ({len(sequences)}), got labels of shape "
                         f"{getattr(labels, 'shape', None)}.")
    sequences, labels = sequences[order], labels[order]
    lengths = np.array([len(x) for x in sequences], dtype=np.int64)
    flat = np.array(list(itertools.chain.from_iterable(sequences)))
    if flat.size == 0:
        flat = flat.astype(np.int64)
    elif flat.ndim != 1 or flat.dtype.kind not in "iu":
        raise ValueError(f"{where}: word indices must be integers, got {flat.dtype} values.")
    return flat.astype(np.int64, copy=False), lengths, labels


def shift(flat, lengths, start_char, index_from):
    """Each index plus `index_from`, each sequence led by `start_char` unless it is None."""
    flat = flat + (index_from or 0)
    if start_char is None:
        return flat, lengths
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.insert(flat, starts, start_char), lengths + 1


def drop_long(maxlen, flat, lengths, labels):
    """The sequences shorter than `maxlen` (strictly, as Keras), with their labels."""
    keep = lengths < maxlen
    return flat[np.repeat(keep, lengths)], lengths[keep], labels[keep]


def limit_vocabulary(flat, lengths, num_words, skip_top, oov_char):
    """Indices outside `[skip_top, num_words)` replaced by `oov_char` (or removed when it is None).

    Without `num_words`, the bound is the largest index present, which (as in Keras) is itself outside."""
    if not num_words:
        num_words = int(flat.max()) if flat.size else 0
    inside = (flat >= skip_top) & (flat < num_words)
    if oov_char is not None:
        return np.where(inside, flat, oov_char), lengths
    sequence_of = np.repeat(np.arange(len(lengths)), lengths)
    return flat[inside], np.bincount(sequence_of[inside], minlength=len(lengths)).astype(np.int64)


def object_array(flat, lengths):
    """A 1-D object array of Python int lists (never 2-D, even when all lengths are equal)."""
    out = np.empty(len(lengths), dtype=object)
    for i, part in enumerate(np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []):
        out[i] = part.tolist()
    return out
