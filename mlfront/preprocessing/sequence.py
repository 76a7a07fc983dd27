"""Keras 2's sequence preprocessing: `pad_sequences`, `TimeseriesGenerator`, `skipgrams`, `make_sampling_table`.

Results equal Keras 2's (`keras.preprocessing.sequence`) for the same inputs and random state. Pure Python and
NumPy; no engine is involved.
"""

import json
import numbers
import random

import numpy as np

from mlfront.training.data import PyDataset


def _check_int(value, name, caller, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{caller}: `{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_choice(value, name, caller):
    if value not in ("pre", "post"):
        raise ValueError(f'{caller}: {name} type "{value}" not understood; `{name}` must be "pre" or "post".')


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (and truncates) sequences to one length: a `(len(sequences), maxlen, *sample_shape)` array.

    Args:
        sequences: a list of sequences (lists or arrays; the entries may themselves be arrays of one shape).
        maxlen: the output length; None for the longest sequence's length.
        dtype: the output dtype. Use `object` (or a string dtype) for strings; an unsized `str` dtype is
            sized to fit the longest string (Keras 2 would truncate the strings to one character there).
        padding: "pre" or "post": where to pad shorter sequences.
        truncating: "pre" or "post": which end to cut from longer sequences.
        value: the padding value (a string needs `dtype=object` or a string dtype).

    Returns:
        A NumPy array.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
        array([[0, 1],
               [2, 3],
               [5, 6]], dtype=int32)
    """
    caller = "pad_sequences"
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise ValueError(f"{caller}: `sequences` must be a list of sequences, got {type(sequences).__name__}.")
    _check_choice(padding, "padding", caller)
    _check_choice(truncating, "truncating", caller)
    if maxlen is not None:
        maxlen = _check_int(maxlen, "maxlen", caller, 0)
    lengths, sample_shape = [], None
    for position, entry in enumerate(sequences):
        if isinstance(entry, (str, bytes)) or not hasattr(entry, "__len__"):
            raise ValueError(f"{caller}: `sequences` must be a list of iterables. Found non-iterable at "
                             f"position {position}: {entry!r:.60}")
        lengths.append(len(entry))
        if sample_shape is None and len(entry):
            sample_shape = _entry_array(entry, None, position).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)

    dtype = np.dtype(dtype)
    is_string = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype != object and not is_string:
        raise ValueError(f"{caller}: `dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
                         f"Set `dtype=object` for variable length strings.")
    # An unsized string dtype is filled as objects and sized once at the end, so no string is cut short.
    fill_dtype = object if is_string and dtype.itemsize == 0 else dtype
    try:
        out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=fill_dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{caller}: padding `value` {value!r:.40} does not fit dtype {dtype}: {error}") from None
    for position, entry in enumerate(sequences):
        if not len(entry) or not maxlen:
            continue
        start = max(len(entry) - maxlen, 0)
        kept = entry[start:] if truncating == "pre" else entry[:maxlen]
        kept = _entry_array(kept, dtype, position)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"{caller}: shape of sample {kept.shape[1:]} of sequence at position {position} "
                             f"is different from expected shape {sample_shape}.")
        if padding == "post":
            out[position, :len(kept)] = kept
        else:
            out[position, maxlen - len(kept):] = kept
    return out.astype(dtype) if fill_dtype is object and dtype != object else out


def _entry_array(entry, dtype, position):
    try:
        return np.asarray(entry, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"pad_sequences: the sequence at position {position} cannot become an array"
                         f"{'' if dtype is None else f' of dtype {dtype}'} (are its entries of one shape?): "
                         f"{error}") from None


class TimeseriesGenerator(PyDataset):
    """Batches of windows over a time series (Keras 2's `TimeseriesGenerator`), usable directly in `fit`.

    Sample `k` of the series ends just before target row `t`: it is `data[t - length : t : sampling_rate]`
    and its target is `targets[t]`, for target rows `t = start_index + length, ... , end_index` every
    `stride` rows.

    Args:
        data: indexable series (a list or array) with time on the first axis.
        targets: the targets, one per time step (same length as `data`).
        length: window length, in time steps (before sampling).
        sampling_rate: period between the time steps kept inside a window.
        stride: period between successive windows.
        start_index: the windows use no step before `start_index`.
        end_index: the last target row used (default: the last step).
        shuffle: whether to draw the target rows at random (with `numpy.random`, like Keras 2) instead of in
            order.
        reverse: whether each window runs backwards in time.
        batch_size: windows per batch (the last batch may be smaller).

    Example:
        >>> data = np.arange(50).reshape(50, 1)
        >>> generator = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
        >>> x, y = generator[0]
        >>> x[:, :, 0].tolist(), y[:, 0].tolist()
        ([[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]], [10, 11])
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0, end_index=None,
                 shuffle=False, reverse=False, batch_size=128):
        super().__init__()
        caller = "TimeseriesGenerator"
        for name, series in (("data", data), ("targets", targets)):
            if not hasattr(series, "__len__") or not hasattr(series, "__getitem__"):
                raise TypeError(f"{caller}: `{name}` must be indexable (a list or array), got "
                                f"{type(series).__name__}.")
        if len(data) != len(targets):
            raise ValueError(f"{caller}: data and targets have to be of same length. Data length is "
                             f"{len(data)} while target length is {len(targets)}.")
        self.data = data
        self.targets = targets
        self.length = _check_int(length, "length", caller, 1)
        self.sampling_rate = _check_int(sampling_rate, "sampling_rate", caller, 1)
        self.stride = _check_int(stride, "stride", caller, 1)
        self.batch_size = _check_int(batch_size, "batch_size", caller, 1)
        # Keras 2 keeps (and serializes) the first target row, start_index + length, as `start_index`.
        self.start_index = _check_int(start_index, "start_index", caller, 0) + self.length
        self.end_index = len(data) - 1 if end_index is None else _check_int(end_index, "end_index", caller, 0)
        if self.end_index > len(data) - 1:
            raise ValueError(f"{caller}: `end_index`={self.end_index} is past the last step of the data "
                             f"({len(data) - 1}).")
        if self.start_index > self.end_index:
            raise ValueError(f"{caller}: `start_index+length={self.start_index} > end_index={self.end_index}` "
                             f"is disallowed, as no part of the sequence would be left to be used as current step.")
        self.shuffle = bool(shuffle)
        self.reverse = bool(reverse)

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"TimeseriesGenerator: batch index must be an integer, got {type(index).__name__}.")
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"TimeseriesGenerator: batch index {index} out of range for {count} batches.")
        index = int(index) % count
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        return (samples[:, ::-1, ...] if self.reverse else samples), targets

    def get_config(self):
        """The generator's arguments, `data` and `targets` as JSON strings (as Keras 2 writes them).

        Returns:
            A dict of plain Python values.
        """
        def encode(series, name):
            series = series.tolist() if isinstance(series, (np.ndarray, np.generic)) else series
            try:
                return json.dumps(series)
            except TypeError as error:
                raise TypeError(f"TimeseriesGenerator.get_config: `{name}` is not JSON serializable: "
                                f"{error}") from None

        return {"data": encode(self.data, "data"), "targets": encode(self.targets, "targets"),
                "length": self.length, "sampling_rate": self.sampling_rate, "stride": self.stride,
                "start_index": self.start_index, "end_index": self.end_index, "shuffle": self.shuffle,
                "reverse": self.reverse, "batch_size": self.batch_size}

    def to_json(self, **kwargs):
        """The configuration as a JSON string `{"class_name": "TimeseriesGenerator", "config": {...}}`.

        Args:
            **kwargs: passed to `json.dumps`.

        Returns:
            A JSON string.
        """
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def make_sampling_table(size, sampling_factor=1e-5):
    """Word2vec's sampling probabilities for word ranks `0 .. size - 1` (for `skipgrams`' `sampling_table`).

    With word frequencies assumed to follow Zipf's law, `frequency(rank) ~ 1 / (rank * (log(rank) + gamma) +
    1/2 - 1/(12 * rank))` (gamma = 0.577, rank 0 counted as 1), and `p = min(1, sqrt(f) / f)` for
    `f = frequency / sampling_factor`, as Keras 2 computes it.

    Args:
        size: number of word ranks.
        sampling_factor: word2vec's sampling factor.

    Returns:
        A float64 array of `size` probabilities.
    """
    size = _check_int(size, "size", "make_sampling_table", 1)
    if not isinstance(sampling_factor, numbers.Real) or not sampling_factor > 0:
        raise ValueError(f"make_sampling_table: `sampling_factor` must be a positive number, got "
                         f"{sampling_factor!r}.")
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    scaled = sampling_factor * inverse_frequency
    return np.minimum(1.0, scaled / np.sqrt(scaled))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True, categorical=False,
              sampling_table=None, seed=None):
    """Skip-gram word pairs from a sequence of word indices: `(word, neighbour)` pairs labelled 1 and
    `(word, random word)` pairs labelled 0.

    The random draws come from Python's `random` module exactly as in Keras 2: the sampling-table tests and the
    negative words from its global state, the final shuffle from `seed` (drawn from the global state when
    None). So after `random.seed(s)` the result equals Keras 2's after the same `random.seed(s)`. Unlike Keras 2,
    the global state is not re-seeded with `seed`.

    Args:
        sequence: a list of word indices; index 0 is not a word and is skipped.
        vocabulary_size: the largest word index + 1 (negative words are drawn from `1 .. vocabulary_size - 1`).
        window_size: half-width of the window of neighbours.
        negative_samples: number of negative pairs per positive pair (0 for none).
        shuffle: whether to shuffle the pairs (and their labels alike).
        categorical: whether the labels are one-hot (`[0, 1]` for positive, `[1, 0]` for negative).
        sampling_table: optional array; word `w` is kept with probability `sampling_table[w]`.
        seed: seed of the shuffle.

    Returns:
        `(couples, labels)`: a list of `[word, context]` pairs and a list of labels.
    """
    caller = "skipgrams"
    if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__len__"):
        raise TypeError(f"{caller}: `sequence` must be a list of word indices, got {type(sequence).__name__}.")
    vocabulary_size = _check_int(vocabulary_size, "vocabulary_size", caller, 2)
    window_size = _check_int(window_size, "window_size", caller, 0)
    if not isinstance(negative_samples, numbers.Real) or negative_samples < 0:
        raise ValueError(f"{caller}: `negative_samples` must be a number >= 0, got {negative_samples!r}.")
    if sampling_table is not None and len(sampling_table) < max(sequence, default=0) + 1:
        raise ValueError(f"{caller}: `sampling_table` has {len(sampling_table)} entries but the sequence holds "
                         f"word index {max(sequence)}.")
    if seed is not None and isinstance(seed, numbers.Integral):
        seed = int(seed)

    couples, labels = [], []
    for i, word in enumerate(sequence):
        if not word:
            continue
        if sampling_table is not None and sampling_table[word] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([word, sequence[j]])
                labels.append([0, 1] if categorical else 1)

    if negative_samples > 0:
        count = int(len(labels) * negative_samples)
        words = [couple[0] for couple in couples]
        random.shuffle(words)
        couples += [[words[k % len(words)], random.randint(1, vocabulary_size - 1)] for k in range(count)]
        labels += [[1, 0] if categorical else 0 for _ in range(count)]

    if shuffle:
        if seed is None:
            seed = random.randint(0, int(10e6))
        # One generator per list, both from `seed`: the same permutation for couples and labels.
        random.Random(seed).shuffle(couples)
        random.Random(seed).shuffle(labels)
    return couples, labels


__all__ = ["pad_sequences", "TimeseriesGenerator", "make_sampling_table", "skipgrams"]
