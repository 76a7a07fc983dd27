"""`TextVectorization`: raw strings to token indices or bag-of-words encodings (Keras 3), on the host.

The text is standardized (ASCII lower-casing and ASCII punctuation removal, as TensorFlow's string ops do),
split (on ASCII whitespace, or into characters), optionally joined into n-grams, then looked up in a
`StringLookup` whose mask token is "" (index 0 pads "int" outputs) followed by one OOV index.
"""

import os
import re
import string

import numpy as np

from mlfront.layers.preprocessing.host import (HostLayer, as_text, encode_categorical, encode_rows,
                                               refuse_unsupported, validate_choice)
from mlfront.layers.preprocessing.index_lookup import OUTPUT_MODES, _adapt_batches
from mlfront.layers.preprocessing.string_lookup import StringLookup

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ASCII_WHITESPACE = re.compile("[ \t\n\v\f\r]+")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class TextVectorization(HostLayer):
    """Turns strings into sequences of token indices (or multi-hot / count / tf-idf vectors).

    Args:
        max_tokens: the largest vocabulary size, the "" padding and the OOV index included.
        standardize: None, "lower_and_strip_punctuation", "lower", "strip_punctuation", or a callable taking a
            NumPy array of strings and returning one of the same shape.
        split: None, "whitespace", "character", or a callable taking a 1D NumPy array of strings and
            returning, per string, a list of tokens.
        ngrams: None, an integer n (all n-grams up to n) or a tuple of n-gram sizes.
        output_mode: "int", "one_hot" (needs split=None), "multi_hot", "count" or "tf_idf".
        output_sequence_length: in "int" mode, pad or truncate each sequence to this length.
        pad_to_max_tokens: give the encoded outputs `max_tokens` columns whatever the vocabulary size.
        vocabulary: a list of tokens or the path of a file with one token per line.
        idf_weights: one weight per vocabulary token (output_mode "tf_idf").
        sparse, ragged: must be False (mlfront returns dense arrays; "int" outputs are padded with 0).
        encoding: the text encoding of bytes inputs and vocabulary files.

    Example:
        ```python
        layer = mlfront.layers.TextVectorization(output_sequence_length=4)
        layer.adapt(["the cat sat", "the dog"])
        layer(["the cat", "a dog sat"])  # array([[2, 3, 0, 0], [1, 5, 4, 0]])
        ```
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        refuse_unsupported("TextVectorization", sparse=sparse, ragged=ragged)
        if standardize is not None and not callable(standardize):
            validate_choice(standardize, _STANDARDIZE, "TextVectorization", "standardize")
        if split is not None and not callable(split):
            validate_choice(split, _SPLIT, "TextVectorization", "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        validate_choice(output_mode, OUTPUT_MODES, "TextVectorization", "output_mode")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or isinstance(ngrams, int) and ngrams > 0 or isinstance(ngrams, tuple) and ngrams
                and all(isinstance(n, int) and n > 0 for n in ngrams)):
            raise ValueError(f"TextVectorization: `ngrams` must be None, a positive integer or a tuple of positive "
                             f"integers, got ngrams={ngrams!r}.")
        if output_sequence_length is not None and (output_mode != "int" or not isinstance(
                output_sequence_length, int) or output_sequence_length < 0):
            raise ValueError(f"TextVectorization: `output_sequence_length` must be None or a non-negative integer, "
                             f"and may only be set with output_mode='int'; got output_sequence_length="
                             f"{output_sequence_length!r} with output_mode={output_mode!r}.")
        if output_mode == "one_hot" and split is not None:
            raise ValueError("TextVectorization: output_mode='one_hot' with a `split` gives one ragged row of "
                             "one-hot vectors per string, which mlfront does not return; use split=None, or "
                             "output_mode 'multi_hot' / 'count' / 'int'.")
        kwargs.pop("vocabulary_size", None)  # in Keras configs: derived from the vocabulary
        super().__init__(dtype=kwargs.pop("dtype", None) or ("int64" if output_mode == "int" else "float32"),
                         name=name, **kwargs)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                          output_mode=output_mode, encoding=encoding, dtype=self.dtype,
                                          name=f"{self.name}_lookup")

    # ------------------------------------------------------------------ vocabulary
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and tf_idf weights) from `data`.

        Args:
            data: an array or list of strings, or an iterable of batches of them (a generator,
                a `tf.data.Dataset`).
            batch_size: process an array `batch_size` strings at a time (None: at once); the result is the same.
            steps: read at most this many batches of an iterable.
        """
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"TextVectorization.adapt: `batch_size` must be None or a positive integer, got "
                             f"{batch_size!r}.")
        lookup = self._lookup_layer
        lookup._reset_counts()
        for batch in _adapt_batches(data, steps):
            batch = np.asarray(batch) if not isinstance(batch, np.ndarray) else batch
            chunks = [batch] if batch_size is None or batch.ndim == 0 else [
                batch[i:i + batch_size] for i in range(0, len(batch), batch_size)]
            for chunk in chunks:
                self.update_state(chunk)
        self.finalize_state()

    def update_state(self, data):
        """Count the tokens of one batch of strings."""
        if self._lookup_layer._has_input_vocabulary:
            raise ValueError(f"TextVectorization '{self.name}': cannot adapt a layer whose vocabulary was given "
                             f"through the `vocabulary` argument.")
        tokens, _ = self._preprocess(data)
        if isinstance(tokens, np.ndarray):
            self._lookup_layer.update_state(tokens)
        else:
            self._lookup_layer._count_documents(tokens)

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, "" (padding) and "[UNK]" first in "int" mode (with `include_special_tokens`)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list of tokens, or a file path) and, in tf_idf mode, its idf weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def vocabulary_size(self):
        """The vocabulary size, the padding and OOV indices included."""
        return self._lookup_layer.vocabulary_size()

    # ------------------------------------------------------------------ the pipeline
    def _preprocess(self, inputs):
        """(tokens, is_scalar): an array of tokens (split=None) or a list of token lists (one per string)."""
        text = as_text(inputs, self._encoding, self.name)
        if self._standardize is not None:
            text = self._apply_standardize(text)
        if self._split is None:
            tokens = text
            if self._ngrams is not None:
                tokens = _dense_ngrams(tokens, self._ngrams)
            return tokens, False
        scalar = text.ndim == 0
        if text.ndim > 1:
            if text.shape[-1] != 1:
                raise ValueError(f"TextVectorization '{self.name}': to split strings the input must be 1D, or have "
                                 f"a last dimension of 1; got shape {text.shape}.")
            text = text[..., 0]
        if text.ndim > 1:
            raise ValueError(f"TextVectorization '{self.name}': to split strings the input must be 1D (or (N, 1)); "
                             f"got shape {text.shape + (1,)}.")
        rows = text.reshape(-1)
        if self._split == "whitespace":
            documents = [[t for t in _ASCII_WHITESPACE.split(s) if t] for s in rows.tolist()]
        elif self._split == "character":
            documents = [list(s) for s in rows.tolist()]
        else:
            documents = self._apply_split(rows)
        if self._ngrams is not None:
            documents = [_ngrams(d, self._ngrams) for d in documents]
        return documents, scalar

    def _apply_standardize(self, text):
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            text = _map_strings(text, lambda s: s.translate(_ASCII_LOWER))
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _map_strings(text, lambda s: s.translate(_NO_PUNCTUATION))
        if callable(self._standardize):
            result = np.asarray(self._standardize(text.astype(str)))
            if result.shape != text.shape:
                raise ValueError(f"TextVectorization '{self.name}': the `standardize` callable must return an array "
                                 f"of the input's shape {text.shape}, got shape {result.shape}.")
            text = as_text(result, self._encoding, self.name)
        return text

    def _apply_split(self, rows):
        result = self._split(rows.astype(str))
        documents = [list(as_text(np.asarray(d, dtype=object).reshape(-1), self._encoding, self.name))
                     for d in result]
        if len(documents) != len(rows):
            raise ValueError(f"TextVectorization '{self.name}': the `split` callable must return one list of tokens "
                             f"per input string ({len(rows)}), got {len(documents)}.")
        return documents

    def call(self, inputs):
        tokens, scalar = self._preprocess(inputs)
        lookup = self._lookup_layer
        if isinstance(tokens, np.ndarray):  # split=None: a dense array of tokens
            outputs = lookup(tokens)
            if self._output_mode == "int" and self._output_sequence_length is not None:
                outputs = _fit_length(outputs, self._output_sequence_length)
            return outputs
        lengths = [len(d) for d in tokens]
        flat = np.empty(sum(lengths), dtype=object)
        flat[:] = [t for d in tokens for t in d]
        indices = lookup._lookup(flat)
        if self._output_mode == "int":
            width = self._output_sequence_length if self._output_sequence_length is not None else max(
                lengths, default=0)
            out = np.zeros((len(tokens), width), dtype=self.dtype)
            offsets = np.cumsum([0] + lengths)
            for row, (start, length) in enumerate(zip(offsets[:-1], lengths)):
                n = min(length, width)
                out[row, :n] = indices[start:start + n]
            return out[0] if scalar else out
        if lookup._tokens is None and not lookup.pad_to_max_tokens:
            raise RuntimeError(f"TextVectorization '{self.name}': with output_mode={self._output_mode!r} and "
                               f"pad_to_max_tokens=False, set the vocabulary (or adapt) before calling.")
        rows = np.repeat(np.arange(len(tokens)), lengths)
        weights = lookup._idf_weights if self._output_mode == "tf_idf" else None
        if self._output_mode == "tf_idf" and weights is None:
            raise RuntimeError(f"TextVectorization '{self.name}': output_mode='tf_idf' needs idf weights: adapt "
                               f"the layer or pass `vocabulary` with `idf_weights`.")
        out = encode_rows(rows, indices, (len(tokens),), self._output_mode, lookup._depth(), self.dtype, weights)
        return out[0] if scalar else out

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        lookup = self._lookup_layer
        if self._split is None:
            if self._ngrams is not None and input_shape:
                width = input_shape[-1]
                count = None if width is None else sum(max(width - n + 1, 0) for n in self._ngrams)
                input_shape = input_shape[:-1] + (count,)
            shape = lookup.compute_output_shape(input_shape)
            if self._output_mode == "int" and self._output_sequence_length is not None:
                shape = shape[:-1] + (self._output_sequence_length,)
            return shape
        batch = input_shape[:1]
        if self._output_mode == "int":
            return batch + (self._output_sequence_length,)
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else (
            lookup.vocabulary_size() if lookup._tokens is not None else None)
        return batch + (depth,)

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """The constructor arguments; `vocabulary` / `idf_weights` carry the current vocabulary itself."""
        lookup = self._lookup_layer.get_config()
        return {**super().get_config(), "max_tokens": lookup["max_tokens"], "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"], "sparse": False, "ragged": False,
                "vocabulary": lookup["vocabulary"], "idf_weights": lookup["idf_weights"],
                "encoding": self._encoding}

    @classmethod
    def from_config(cls, config):
        """The layer from `get_config()`. A vocabulary file path is refused (configs carry the tokens), and so
        is a serialized (non-callable) standardize / split that is not one of the built-in names."""
        config = dict(config)
        vocabulary = config.get("vocabulary")
        if isinstance(vocabulary, (str, bytes, os.PathLike)):
            raise ValueError(f"TextVectorization.from_config: `vocabulary` is a file path ({vocabulary!r}); a "
                             f"config must carry the vocabulary list itself, and files named inside a config are "
                             f"never read.")
        for key, names in (("standardize", _STANDARDIZE), ("split", _SPLIT)):
            value = config.get(key)
            if value is not None and not callable(value) and value not in names:
                raise ValueError(f"TextVectorization.from_config: `{key}` must be None, one of {list(names)} or a "
                                 f"callable object; got {value!r} (functions are never looked up by a name found "
                                 f"in a config).")
        return cls(**config)


def _map_strings(text, fn):
    out = np.empty(text.size, dtype=object)
    out[:] = [fn(s) for s in text.reshape(-1).tolist()]
    return out.reshape(text.shape)


def _ngrams(tokens, widths):
    """`tf.strings.ngrams(tokens, widths, separator=" ")` of one sequence: every n-gram of each width in turn."""
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _dense_ngrams(tokens, widths):
    """n-grams along the last axis of a dense array of tokens (each row gives the same number of them)."""
    if tokens.ndim == 0:
        tokens = tokens.reshape(1)
    rows = tokens.reshape(-1, tokens.shape[-1])
    grams = [_ngrams(row.tolist(), widths) for row in rows]
    out = np.empty((len(rows), len(grams[0]) if grams else 0), dtype=object)
    for i, g in enumerate(grams):
        out[i, :] = g
    return out.reshape(tokens.shape[:-1] + (out.shape[-1],))


def _fit_length(outputs, length):
    """Truncate or zero-pad the last axis to `length`."""
    outputs = outputs[..., :length]
    missing = length - outputs.shape[-1]
    if missing > 0:
        pad = [(0, 0)] * (outputs.ndim - 1) + [(0, missing)]
        outputs = np.pad(outputs, pad)
    return outputs
