"""IMDB movie reviews labelled by sentiment, as word-index sequences (Keras's `imdb.npz`)."""

import numpy as np

from mlfront.datasets import _files, _sequences

ORIGIN = _files.KERAS_ORIGIN + "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = _files.KERAS_ORIGIN + "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, cache_dir=None, **kwargs):
    """Load the IMDB dataset: 25,000 training and 25,000 test reviews, labels 1 (positive) or 0.

    Each review is a list of word indices: a word's frequency rank in the data (1 = the most frequent) plus
    `index_from`, so that 0 (padding), `start_char` and `oov_char` are free.

    Processing follows Keras exactly: each split is shuffled with `np.random.RandomState(seed)` (train, then
    test, from the same generator); indices are shifted by `index_from` after a leading `start_char`;
    sequences of `maxlen` words or more are dropped; indices outside `[skip_top, num_words)` become `oov_char`.

    Args:
        path: the file name in the dataset cache (`$MLFRONT_HOME/datasets`, then `~/.keras/datasets`).
        num_words: keep only the `num_words` most frequent words (larger indices become `oov_char`); None
            keeps all.
        skip_top: the most frequent words to skip (their indices become `oov_char`).
        maxlen: drop sequences not shorter than this; None keeps all.
        seed: the shuffling seed.
        start_char: the index marking the start of each sequence (None: no marker).
        oov_char: the index replacing cut-out words (None: they are removed).
        index_from: the offset added to every word index.
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.
        **kwargs: `nb_words`, Keras 1's name of `num_words`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and integer label arrays.

    Raises:
        ValueError: `maxlen` is so low that no sequence of a split is kept.
    """
    num_words = _sequences.legacy_kwargs("imdb.load_data", num_words, kwargs)
    path = _files.find_or_download(path, ORIGIN, FILE_HASH, cache_dir=cache_dir)
    arrays = _files.read_npz(path, ["x_train", "y_train", "x_test", "y_test"])
    rng = np.random.RandomState(seed)
    splits = []
    for split in ("train", "test"):
        x, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        indices = np.arange(len(x))
        rng.shuffle(indices)
        flat, lengths, labels = _sequences.flatten(x, labels, indices, f"{path} (x_{split}, y_{split})")
        flat, lengths = _sequences.shift(flat, lengths, start_char, index_from)
        if maxlen:
            flat, lengths, labels = _sequences.drop_long(maxlen, flat, lengths, labels)
        splits.append((flat, lengths, labels))
    (flat_train, lengths_train, labels_train), (flat_test, lengths_test, labels_test) = splits
    if maxlen and (not len(lengths_train) or not len(lengths_test)):
        raise ValueError(f"imdb.load_data: after keeping only sequences shorter than maxlen={maxlen}, no sequence "
                         f"of the {'training' if not len(lengths_train) else 'test'} set is left. Increase maxlen.")
    flat, lengths = _sequences.limit_vocabulary(np.concatenate([flat_train, flat_test]),
                                                np.concatenate([lengths_train, lengths_test]),
                                                num_words, skip_top, oov_char)
    xs = _sequences.object_array(flat, lengths)
    n = len(lengths_train)
    return (xs[:n], labels_train), (xs[n:], labels_test)


def get_word_index(path="imdb_word_index.json"):
    """The word index of the IMDB dataset: a dict from word to its rank (1 = the most frequent).

    Add `index_from` (3 by default) to a rank to get the index used in `load_data`'s sequences.
    """
    path = _files.find_or_download(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH)
    return word_index(path)


def word_index(path):
    """A word-index JSON file, checked to map strings to integers."""
    index = _files.read_json(path)
    if not isinstance(index, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in index.items()):
        raise ValueError(f"{path}: a word index must be a JSON object mapping words to integers.")
    return index
