"""Reuters newswires labelled over 46 topics, as word-index sequences (Keras's `reuters.npz`)."""

import numpy as np

from mlfront.datasets import _files, _sequences
from mlfront.datasets._housing import check_test_split
from mlfront.datasets.imdb import word_index

ORIGIN = _files.KERAS_ORIGIN + "reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = _files.KERAS_ORIGIN + "reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, cache_dir=None, **kwargs):
    """Load the Reuters dataset: 11,228 newswires, each a list of word indices, labelled with 46 topics.

    Processing follows Keras exactly: all newswires are shuffled with `np.random.RandomState(seed)`; indices
    are shifted by `index_from` after a leading `start_char`; sequences of `maxlen` words or more are dropped;
    indices outside `[skip_top, num_words)` become `oov_char`; the last `test_split` fraction is the test set.

    Args:
        path: the file name in the dataset cache (`$MLFRONT_HOME/datasets`, then `~/.keras/datasets`).
        num_words: keep only the `num_words` most frequent words; None keeps all.
        skip_top: the most frequent words to skip (their indices become `oov_char`).
        maxlen: drop sequences not shorter than this; None keeps all.
        test_split: the fraction of the newswires used for testing, in [0, 1).
        seed: the shuffling seed.
        start_char: the index marking the start of each sequence (None: no marker).
        oov_char: the index replacing cut-out words (None: they are removed).
        index_from: the offset added to every word index.
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets` only.
        **kwargs: `nb_words`, Keras 1's name of `num_words`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and integer topic labels
        (indices into `get_label_names()`).
    """
    num_words = _sequences.legacy_kwargs("reuters.load_data", num_words, kwargs)
    check_test_split(test_split, "reuters.load_data")
    path = _files.find_or_download(path, ORIGIN, FILE_HASH, cache_dir=cache_dir)
    arrays = _files.read_npz(path, ["x", "y"])
    indices = np.arange(len(arrays["x"]))
    np.random.RandomState(seed).shuffle(indices)
    flat, lengths, labels = _sequences.flatten(arrays["x"], arrays["y"], indices, f"{path} (x, y)")
    flat, lengths = _sequences.shift(flat, lengths, start_char, index_from)
    if maxlen:
        flat, lengths, labels = _sequences.drop_long(maxlen, flat, lengths, labels)
    xs = _sequences.object_array(*_sequences.limit_vocabulary(flat, lengths, num_words, skip_top, oov_char))
    n = int(len(xs) * (1 - test_split))
    return (xs[:n], labels[:n]), (xs[n:], labels[n:])


def get_word_index(path="reuters_word_index.json"):
    """The word index of the Reuters dataset: a dict from word to its rank (1 = the most frequent).

    Add `index_from` (3 by default) to a rank to get the index used in `load_data`'s sequences.
    """
    return word_index(_files.find_or_download(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH))


def get_label_names():
    """The 46 topic names, indexed by label."""
    return LABEL_NAMES
