"""Keras 2's text preprocessing: `Tokenizer`, `text_to_word_sequence`, `one_hot`, `hashing_trick`.

Results equal Keras 2's (`keras.preprocessing.text`) on the same texts: the same vocabulary order, indices,
matrices and JSON. Pure Python and NumPy; no engine is involved.
"""

import collections
import hashlib
import json
import math
import re
import warnings

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def _check_filters(filters, caller):
    """Filters as one string of characters (Keras takes a string or a list of single characters)."""
    if isinstance(filters, (list, tuple)) and all(isinstance(c, str) and len(c) == 1 for c in filters):
        return "".join(filters)
    if not isinstance(filters, str):
        raise TypeError(f"{caller}: `filters` must be a string of characters to remove (or a list of single "
                        f"characters), got {type(filters).__name__}.")
    return filters


def _check_split(split, caller):
    if not isinstance(split, str) or not split:
        raise ValueError(f"{caller}: `split` must be a non-empty string, got {split!r}.")
    return split


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits a text into a list of words.

    Every character in `filters` becomes a separator, the text is split on `split` and empty pieces are dropped.

    Args:
        input_text: the text (a string).
        filters: characters to remove (a string, or a list of single characters). The default is the
            punctuation without `'`, plus tab and newline.
        lower: whether to lowercase the text first.
        split: the word separator.

    Returns:
        A list of words.

    Example:
        >>> text_to_word_sequence("This is a sample sentence.")
        ['this', 'is', 'a', 'sample', 'sentence']
    """
    if not isinstance(input_text, str):
        raise TypeError(f"text_to_word_sequence: `input_text` must be a string, got "
                        f"{type(input_text).__name__}.")
    filters = _check_filters(filters, "text_to_word_sequence")
    split = _check_split(split, "text_to_word_sequence")
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [word for word in input_text.split(split) if word]


def _md5_hash(word):
    # Keras 2's "md5": the whole 128-bit digest of the UTF-8 bytes as an integer.
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Maps each word of a text to an index in `[1, n - 1]` by hashing (0 stays reserved).

    Args:
        text: the text (a string).
        n: size of the hashing space (indices are `hash(word) % (n - 1) + 1`).
        hash_function: None for Python's built-in `hash` (as Keras 2 does: string hashes change between
            processes unless `PYTHONHASHSEED` is fixed), `"md5"` for a stable hash (the 128-bit MD5 digest of
            the UTF-8 word as an integer, like Keras 2), or a function from a string to an integer.
        filters: characters to remove, see `text_to_word_sequence`.
        lower: whether to lowercase the text first.
        split: the word separator.
        analyzer: a function from the text to its list of words, used instead of
            `text_to_word_sequence` when given.

    Returns:
        A list of integer indices, one per word (different words may share an index).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: `n` must be an integer >= 2 (indices are in [1, n - 1]), got {n!r}.")
    if hash_function is None:
        hash_function = hash
    elif isinstance(hash_function, str):
        if hash_function != "md5":
            raise ValueError(f"hashing_trick: `hash_function` must be None, 'md5' or a callable, got "
                             f"{hash_function!r}.")
        hash_function = _md5_hash
    elif not callable(hash_function):
        raise TypeError(f"hashing_trick: `hash_function` must be None, 'md5' or a callable, got "
                        f"{type(hash_function).__name__}.")
    if analyzer is None:
        words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    elif callable(analyzer):
        words = analyzer(text)
    else:
        raise TypeError(f"hashing_trick: `analyzer` must be a callable or None, got {type(analyzer).__name__}.")
    return [hash_function(word) % (int(n) - 1) + 1 for word in words]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Keras 2's `one_hot`: `hashing_trick` with Python's `hash` (fix `PYTHONHASHSEED` for repeatable indices).

    Args:
        input_text: the text (a string).
        n: size of the hashing space; the indices are in `[1, n - 1]`.
        filters: characters to remove, see `text_to_word_sequence`.
        lower: whether to lowercase the text first.
        split: the word separator.
        analyzer: a function from the text to its list of words.

    Returns:
        A list of integer indices, one per word.
    """
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower, split=split,
                         analyzer=analyzer)


def _check_num_words(num_words, caller):
    if num_words is None:
        return None
    if isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer)) or not 0 <= num_words < 2**31:
        raise ValueError(f"{caller}: `num_words` must be None or a non-negative integer, got {num_words!r}.")
    return int(num_words)


def _check_count(value, name, caller):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{caller}: `{name}` must be a non-negative integer, got {value!r}.")
    return int(value)


def _check_bool(value, name, caller):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{caller}: `{name}` must be True or False, got {value!r}.")
    return bool(value)


class Tokenizer:
    """Keras 2's text tokenizer: builds a word index from texts and turns texts into sequences or matrices.

    Words are indexed from 1 by decreasing count (words seen as often keep their first-seen order); 0 is never
    a word. With `oov_token`, that token takes index 1 and stands for unknown words.

    Args:
        num_words: when set, only words with an index below `num_words` (the `num_words - 1` most common) are
            used by `texts_to_sequences` and the matrices; the others are dropped, or become `oov_token`.
        filters: characters removed from the texts (default: punctuation without `'`, tab, newline).
        lower: whether to lowercase the texts.
        split: the word separator.
        char_level: whether every character is a token.
        oov_token: the token that replaces out-of-vocabulary words, or None to drop them.
        analyzer: a function from a text to its list of tokens, used instead of `text_to_word_sequence`.
        document_count: the number of documents already seen (used when restoring a tokenizer).
        **kwargs: `nb_words`, the Keras 1 name of `num_words`.

    Attributes:
        word_counts: `OrderedDict` word -> count, in first-seen order.
        word_docs: word -> number of documents containing it.
        word_index: word -> index; `index_word` is its inverse.
        index_docs: index -> number of documents containing it.
        document_count: number of documents (texts or sequences) fitted.

    Example:
        >>> tokenizer = Tokenizer(oov_token="<unk>")
        >>> tokenizer.fit_on_texts(["the cat sat", "the dog"])
        >>> tokenizer.texts_to_sequences(["the bird sat"])
        [[2, 1, 4]]
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, document_count=0, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("Tokenizer: `nb_words` was renamed `num_words`.", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}.")
        self.num_words = _check_num_words(num_words, "Tokenizer")
        self.filters = _check_filters(filters, "Tokenizer")
        self.lower = _check_bool(lower, "lower", "Tokenizer")
        self.split = _check_split(split, "Tokenizer")
        self.char_level = _check_bool(char_level, "char_level", "Tokenizer")
        if oov_token is not None and not isinstance(oov_token, str):
            raise TypeError(f"Tokenizer: `oov_token` must be a string or None, got {type(oov_token).__name__}.")
        self.oov_token = oov_token
        if analyzer is not None and not callable(analyzer):
            raise TypeError(f"Tokenizer: `analyzer` must be a callable or None, got {type(analyzer).__name__}.")
        self.analyzer = analyzer
        self.document_count = _check_count(document_count, "document_count", "Tokenizer")
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def _tokens(self, text, caller, position):
        """The tokens of one text: a list/tuple of strings is already tokens, a string is split (or analyzed)."""
        if isinstance(text, (list, tuple)):
            for token in text:
                if not isinstance(token, str):
                    raise TypeError(f"Tokenizer.{caller}: text {position} is a list of tokens, which must be "
                                    f"strings; found {type(token).__name__}.")
            return [token.lower() for token in text] if self.lower else list(text)
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.{caller}: each text must be a string or a list of string tokens; text "
                            f"{position} is {type(text).__name__}.")
        if self.char_level:
            return text.lower() if self.lower else text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    @staticmethod
    def _check_collection(texts, name, caller):
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"Tokenizer.{caller}: `{name}` must be a list (or iterable) of texts, got a single "
                            f"string; wrap it in a list: [{texts[:20]!r}...].")
        if not hasattr(texts, "__iter__"):
            raise TypeError(f"Tokenizer.{caller}: `{name}` must be a list (or iterable), got "
                            f"{type(texts).__name__}.")

    def fit_on_texts(self, texts):
        """Updates the vocabulary from texts.

        Args:
            texts: an iterable of texts (strings), or of lists of string tokens.
        """
        self._check_collection(texts, "texts", "fit_on_texts")
        for position, text in enumerate(texts):
            tokens = self._tokens(text, "fit_on_texts", position)
            self.document_count += 1
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        self._rebuild_index()

    def _rebuild_index(self):
        # Python's sort is stable: equal counts keep their first-seen order, as in Keras 2.
        by_count = sorted(self.word_counts.items(), key=lambda item: -item[1])
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [word for word, _ in by_count]
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, count in self.word_docs.items():
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences):
        """Updates the document counts from sequences of word indices (needed for tfidf matrices when the
        tokenizer was not fitted on texts).

        Args:
            sequences: a list of sequences of integer word indices.
        """
        self._check_collection(sequences, "sequences", "fit_on_sequences")
        sequences = list(sequences)
        for position, sequence in enumerate(sequences):
            for index in set(self._indices(sequence, "fit_on_sequences", position)):
                self.index_docs[index] += 1
        self.document_count += len(sequences)

    @staticmethod
    def _indices(sequence, caller, position, allow_negative=True):
        if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__iter__"):
            raise TypeError(f"Tokenizer.{caller}: sequence {position} must be a list of integer word indices, "
                            f"got {type(sequence).__name__}.")
        indices = []
        for index in sequence:
            if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"Tokenizer.{caller}: sequence {position} must hold integer word indices, found "
                                f"{index!r}.")
            if index < 0 and not allow_negative:
                raise ValueError(f"Tokenizer.{caller}: word indices must be non-negative, sequence {position} "
                                 f"holds {index}.")
            indices.append(int(index))
        return indices

    def texts_to_sequences(self, texts):
        """Turns each text into a list of word indices.

        Unknown words are dropped (or become the `oov_token` index); with `num_words`, so are words with an
        index >= `num_words`.

        Args:
            texts: a list of texts (strings), or of lists of string tokens.

        Returns:
            A list of lists of integers.
        """
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Like `texts_to_sequences`, one sequence at a time.

        Args:
            texts: an iterable of texts (strings), or of lists of string tokens.

        Yields:
            One list of word indices per text.
        """
        self._check_collection(texts, "texts", "texts_to_sequences")
        oov_index = self.word_index.get(self.oov_token)
        for position, text in enumerate(texts):
            sequence = []
            for token in self._tokens(text, "texts_to_sequences", position):
                index = self.word_index.get(token)
                if index is not None and self.num_words and index >= self.num_words:
                    index = None
                if index is None:
                    index = oov_index if self.oov_token is not None else None
                if index is not None:
                    sequence.append(index)
            yield sequence

    def sequences_to_texts(self, sequences):
        """Turns each sequence of word indices back into a text (the words joined by spaces).

        Unknown indices (and, with `num_words`, indices >= `num_words`) are dropped, or become `oov_token`.

        Args:
            sequences: a list of sequences of integer word indices.

        Returns:
            A list of strings.
        """
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Like `sequences_to_texts`, one text at a time.

        Args:
            sequences: an iterable of sequences of integer word indices.

        Yields:
            One string per sequence.
        """
        self._check_collection(sequences, "sequences", "sequences_to_texts")
        oov_index = self.word_index.get(self.oov_token)
        oov_word = self.index_word.get(oov_index) if self.oov_token is not None else None
        for position, sequence in enumerate(sequences):
            words = []
            for index in self._indices(sequence, "sequences_to_texts", position):
                word = self.index_word.get(index)
                if word is not None and self.num_words and index >= self.num_words:
                    word = None
                if word is None:
                    word = oov_word
                if word is not None:
                    words.append(word)
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        """Turns texts into a `(len(texts), num_words)` matrix; see `sequences_to_matrix`.

        Args:
            texts: a list of texts (strings), or of lists of string tokens.
            mode: one of "binary", "count", "tfidf", "freq".

        Returns:
            A float64 NumPy array.
        """
        self._check_mode(mode, "texts_to_matrix")
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    @staticmethod
    def _check_mode(mode, caller):
        if mode not in MATRIX_MODES:
            raise ValueError(f"Tokenizer.{caller}: unknown vectorization `mode` {mode!r}; expected one of "
                             f"{', '.join(MATRIX_MODES)}.")

    def sequences_to_matrix(self, sequences, mode="binary"):
        """Turns sequences of word indices into a `(len(sequences), num_words)` matrix.

        Column `j` of row `i` holds, for index `j` in sequence `i` (indices >= the width are skipped):
        "binary" 1; "count" its count `c`; "freq" `c / len(sequence)`; "tfidf"
        `(1 + log(c)) * log(1 + document_count / (1 + index_docs[j]))`. The width is `num_words`, else
        `len(word_index) + 1`.

        Args:
            sequences: a list of sequences of integer word indices.
            mode: one of "binary", "count", "tfidf", "freq".

        Returns:
            A float64 NumPy array.
        """
        self._check_mode(mode, "sequences_to_matrix")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer.sequences_to_matrix: the matrix width is unknown: pass `num_words` to "
                             "Tokenizer, or fit it on some texts first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer.sequences_to_matrix: fit the Tokenizer on some data before using "
                             "mode='tfidf' (document_count is 0).")
        self._check_collection(sequences, "sequences", "sequences_to_matrix")
        sequences = [self._indices(s, "sequences_to_matrix", p, allow_negative=False)
                     for p, s in enumerate(sequences)]
        matrix = np.zeros((len(sequences), width))
        for row, sequence in enumerate(sequences):
            counts = collections.Counter(index for index in sequence if index < width)
            for index, count in counts.items():
                if mode == "binary":
                    matrix[row, index] = 1
                elif mode == "count":
                    matrix[row, index] = count
                elif mode == "freq":
                    matrix[row, index] = count / len(sequence)
                else:
                    idf = math.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
                    matrix[row, index] = (1 + math.log(count)) * idf
        return matrix

    def get_config(self):
        """The tokenizer's configuration and vocabulary, the dictionaries as JSON strings (as Keras 2 writes them).

        Returns:
            A dict of plain Python values. The `analyzer` function is not part of it.
        """
        if self.analyzer is not None:
            warnings.warn("Tokenizer.get_config: the `analyzer` function is not serialized; set it again on the "
                          "restored tokenizer.", stacklevel=2)
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """The tokenizer as a JSON string, read back by `tokenizer_from_json`.

        Args:
            **kwargs: passed to `json.dumps`.

        Returns:
            A JSON string `{"class_name": "Tokenizer", "config": {...}}`.
        """
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} is not allowed")


def _parse_json(text, what):
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"tokenizer_from_json: {what} must be a JSON string, got {type(text).__name__}.")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"tokenizer_from_json: {what} is not valid JSON: {error}") from None


_INDEX_KEY = re.compile(r"\A[0-9]{1,10}\Z")


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read_mapping(config, field, key_is_index, value_check, expected):
    """One dictionary field of the config (itself a JSON string), with every key and value checked."""
    if field not in config:
        raise ValueError(f"tokenizer_from_json: the config has no `{field}`.")
    mapping = _parse_json(config[field], f"`{field}`")
    if not isinstance(mapping, dict):
        raise ValueError(f"tokenizer_from_json: `{field}` must encode a JSON object, got "
                         f"{type(mapping).__name__}.")
    out = {}
    for key, value in mapping.items():
        if key_is_index:
            if not _INDEX_KEY.match(key):
                raise ValueError(f"tokenizer_from_json: `{field}` keys must be non-negative integers, found "
                                 f"{key[:40]!r}.")
            key = int(key)
        if not value_check(value):
            raise ValueError(f"tokenizer_from_json: `{field}` values must be {expected}, found {value!r:.40} "
                             f"for key {key!r:.40}.")
        out[key] = value
    return out


_SCALAR_FIELDS = ("num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count")
_MAPPING_FIELDS = ("word_counts", "word_docs", "index_docs", "index_word", "word_index")


def tokenizer_from_json(json_string):
    """A `Tokenizer` from the JSON that `Tokenizer.to_json` (here or in Keras 2) wrote.

    The JSON is only parsed, never executed; every field is type-checked and a malformed one raises a
    `ValueError` or `TypeError` naming it.

    Args:
        json_string: the JSON string.

    Returns:
        A fitted `Tokenizer`.
    """
    data = _parse_json(json_string, "`json_string`")
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError("tokenizer_from_json: expected a JSON object with a `config` object, as written by "
                         "Tokenizer.to_json.")
    class_name = data.get("class_name", "Tokenizer")
    if class_name != "Tokenizer":
        raise ValueError(f"tokenizer_from_json: expected class_name 'Tokenizer', got {class_name!r:.60}.")
    config = data["config"]
    unknown = sorted(set(config) - set(_SCALAR_FIELDS) - set(_MAPPING_FIELDS))
    if unknown:
        raise ValueError(f"tokenizer_from_json: unknown config fields {[k[:40] for k in unknown[:5]]}.")
    try:
        tokenizer = Tokenizer(**{k: config[k] for k in _SCALAR_FIELDS if k in config})
    except (TypeError, ValueError) as error:
        raise ValueError(f"tokenizer_from_json: invalid config: {error}") from None

    word_counts = _read_mapping(config, "word_counts", False, _is_count, "non-negative integers")
    tokenizer.word_counts = collections.OrderedDict(word_counts)
    tokenizer.word_docs = collections.defaultdict(
        int, _read_mapping(config, "word_docs", False, _is_count, "non-negative integers"))
    tokenizer.index_docs = collections.defaultdict(
        int, _read_mapping(config, "index_docs", True, _is_count, "non-negative integers"))
    tokenizer.index_word = _read_mapping(config, "index_word", True, lambda v: isinstance(v, str), "strings")
    tokenizer.word_index = _read_mapping(config, "word_index", False, _is_count, "non-negative integers")
    return tokenizer


__all__ = ["Tokenizer", "tokenizer_from_json", "text_to_word_sequence", "one_hot", "hashing_trick"]
