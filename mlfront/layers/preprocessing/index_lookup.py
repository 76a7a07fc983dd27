"""`IndexLookup`: the vocabulary lookup shared by `StringLookup` and `IntegerLookup` (Keras 3's rules).

Index layout: in "int" mode with a `mask_token`, index 0 is the mask; then `num_oov_indices` OOV indices; then
the vocabulary. In the other modes the mask token has no index and is dropped. With several OOV indices, an
OOV string goes to `Fingerprint64(utf-8) % num_oov_indices` (keyed SipHash with a `salt`), an OOV integer to
`value % num_oov_indices` (or the string hash of its decimal form with `oov_method="farmhash"`).

`adapt` orders the vocabulary by count, descending, ties by token, descending; tf_idf learns
`idf = log(1 + num_documents / (1 + document_count))`, the OOV weight being the mean of the learned weights.
"""

import collections
import os

import numpy as np

from mlfront.layers.preprocessing import _hash_functions
from mlfront.layers.preprocessing.host import (HostLayer, encode_categorical, encoded_shape, refuse_unsupported,
                                               to_host_array, validate_choice)

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
MAX_VOCABULARY_FILE_BYTES = 512 * 1024 * 1024


class IndexLookup(HostLayer):
    """Maps tokens to indices through a vocabulary (base class; use `StringLookup` or `IntegerLookup`)."""

    _token_kind = None  # "string" or "int", set by subclasses

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, dtype=None, **kwargs):
        cls = type(self).__name__
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 1):
            raise ValueError(f"{cls}: `max_tokens` must be None or an integer greater than 1, got {max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls}: `pad_to_max_tokens=True` needs `max_tokens` to be set.")
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{cls}: `num_oov_indices` must be an integer >= 0, got {num_oov_indices!r}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        validate_choice(output_mode, OUTPUT_MODES, cls, "output_mode")
        validate_choice(oov_method, ("floormod", "farmhash"), cls, "oov_method")
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: `invert=True` needs `output_mode='int'`, got output_mode={output_mode!r}.")
        if sparse and output_mode == "int":
            raise ValueError(f"{cls}: `sparse` may only be true with output_mode 'one_hot', 'multi_hot', 'count' "
                             f"or 'tf_idf'; got output_mode='int'.")
        refuse_unsupported(cls, sparse=sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: `idf_weights` may only be set with output_mode='tf_idf', got "
                             f"output_mode={output_mode!r}.")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(f"{cls}: with output_mode='tf_idf', a `vocabulary` needs `idf_weights` too.")
        self.salt = _salt_pair(salt, cls)
        if self.salt is not None and self._token_kind == "int" and oov_method != "farmhash":
            raise ValueError(f"{cls}: `salt` needs `oov_method='farmhash'`, got oov_method={oov_method!r}.")
        if dtype is None:
            dtype = self._value_kind() if invert else ("int64" if output_mode == "int" else "float32")
        super().__init__(dtype=dtype, **kwargs)
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = invert
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.oov_method = oov_method
        self._tokens = None  # the vocabulary without the mask / OOV entries
        self._index = {}
        self._idf_weights = None  # float32, one weight per output index (padded like Keras)
        self._has_input_vocabulary = vocabulary is not None
        self._reset_counts()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ token conversion (subclasses)
    def _value_kind(self):
        return "string" if self._token_kind == "string" else "int64"

    def _tokens_from(self, array):
        """An object array of tokens (Python str or int) from the layer's input array."""
        raise NotImplementedError

    def _parse_vocabulary_line(self, line):
        raise NotImplementedError

    # ------------------------------------------------------------------ the index layout
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        """The size of the vocabulary, mask and OOV indices included."""
        return len(self._tokens if self._tokens is not None else ()) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary: a term's index in the list is its index in the output (with the special tokens)."""
        tokens = list(self._tokens) if self._tokens is not None else []
        if not include_special_tokens:
            return tokens
        special = [self.oov_token] * self._token_start_index()
        if self.mask_token is not None and self.output_mode == "int":
            special[0] = self.mask_token
        return special + tokens

    # ------------------------------------------------------------------ setting the vocabulary
    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (and, in tf_idf mode, the inverse document frequencies).

        Args:
            vocabulary: a list / tuple / 1D array of terms, or the path of a text file with one term per line.
                It may start with the special tokens (mask, then OOV) in their order, else they are added.
            idf_weights: 1D weights, one per term of `vocabulary` (tf_idf mode only, required there).
        """
        cls = f"{type(self).__name__} '{self.name}'"
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: `idf_weights` must be set with output_mode='tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: `idf_weights` may only be set with output_mode='tf_idf', got "
                             f"output_mode={self.output_mode!r}.")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{cls}: output_mode='tf_idf' cannot read its vocabulary from a file; pass the "
                                 f"terms and `idf_weights` as lists.")
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        vocabulary = list(np.asarray(vocabulary, dtype=object).reshape(-1)) if not isinstance(
            vocabulary, (list, tuple)) else list(vocabulary)
        vocabulary = [self._normalize_token(t) for t in vocabulary]
        if not vocabulary:
            raise ValueError(f"{cls}: cannot set an empty vocabulary.")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        has_special = vocabulary[:token_start] == special
        tokens = vocabulary[token_start:] if has_special else vocabulary
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary repeats the term(s) {repeated}; each term must appear once.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{cls}: the mask token {self.mask_token!r} appears inside the vocabulary; leave the "
                             f"special tokens out, or put them only at the start in this order: {special}.")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(f"{cls}: the OOV token {self.oov_token!r} appears inside the vocabulary; leave the "
                             f"special tokens out, or put them only at the start in this order: {special}.")
        size = token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{cls}: the vocabulary has {size} entries (special tokens included), more than "
                             f"`max_tokens`={self.max_tokens}.")
        weights = None
        if self.output_mode == "tf_idf":
            given = np.asarray(idf_weights)
            if given.ndim != 1 or len(given) != len(vocabulary) or given.dtype.kind not in "iuf":
                raise ValueError(f"{cls}: `idf_weights` must be 1D numbers, one per vocabulary entry "
                                 f"({len(vocabulary)}); got shape {given.shape} and dtype {given.dtype}.")
            weights = given.astype(np.float32)
            if not has_special:
                # the special tokens get the mean weight, in the dtype of the weights given (as in Keras)
                mean = np.asarray(np.average(given)).astype(given.dtype)
                weights = np.concatenate([np.full(token_start, mean, np.float32), weights])
        self._set_tokens(tokens, weights)

    def _set_tokens(self, tokens, weights):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {token: start + i for i, token in enumerate(self._tokens)}
        if weights is not None:
            if self.pad_to_max_tokens:
                weights = np.concatenate([weights, np.zeros(self.max_tokens - len(weights), np.float32)])
            self._idf_weights = weights.astype(np.float32)

    def _read_vocabulary_file(self, path):
        """The terms of a vocabulary file (one per line), read only when the user passes its path."""
        cls = f"{type(self).__name__} '{self.name}'"
        if not os.path.isfile(path):
            raise ValueError(f"{cls}: vocabulary file {path!r} does not exist (or is not a regular file).")
        size = os.path.getsize(path)
        if size > MAX_VOCABULARY_FILE_BYTES:
            raise ValueError(f"{cls}: vocabulary file {path!r} is {size} bytes, more than the "
                             f"{MAX_VOCABULARY_FILE_BYTES} accepted.")
        with open(path, "rb") as f:
            data = f.read(MAX_VOCABULARY_FILE_BYTES + 1)
        lines = data.decode(getattr(self, "encoding", "utf-8")).split("\n")
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        while lines and lines[-1] == "":
            lines.pop()
        return [self._parse_vocabulary_line(line) for line in lines]

    # ------------------------------------------------------------------ adapt
    def _reset_counts(self):
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    def adapt(self, data, steps=None):
        """Learn the vocabulary (and tf_idf weights) from `data`: an array or list of tokens (a 1D one is
        one token per document), or an iterable of batches (a generator, a `tf.data.Dataset`), reading at
        most `steps` batches."""
        self._reset_counts()
        for batch in _adapt_batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Count the tokens of one batch (a 2D array: one row per document; 1D: one document)."""
        if self._has_input_vocabulary:
            raise ValueError(f"{type(self).__name__} '{self.name}': cannot adapt a layer whose vocabulary was "
                             f"given through the `vocabulary` argument.")
        tokens = self._tokens_from(data)
        if tokens.ndim == 0:
            tokens = tokens.reshape(1)
        if tokens.ndim == 1:
            tokens = tokens.reshape(1, -1)
        self._count_documents([row.reshape(-1).tolist() for row in tokens])

    def _count_documents(self, documents):
        """Add `documents` (lists of tokens) to the counts."""
        for document in documents:
            self._token_counts.update(document)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(document))
        self._num_documents += len(documents)

    def finalize_state(self):
        """Turn the counts into the vocabulary: by count descending, ties by token descending."""
        counts = self._token_counts
        if not counts:
            self._reset_counts()
            return
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        tokens = [token for token, _ in ordered]
        weights = None
        if self.output_mode == "tf_idf":
            document_counts = np.array([self._document_counts[t] for t in tokens], dtype=np.float64)
            weights = np.log(1 + self._num_documents / (1 + document_counts)).astype(np.float32)
            weights = np.concatenate([np.full(self._token_start_index(), np.mean(weights), np.float32), weights])
        self._set_tokens(tokens, weights)
        self._reset_counts()

    # ------------------------------------------------------------------ calling
    def call(self, inputs):
        if self.invert:
            return self._invert(inputs)
        indices = self._lookup(self._tokens_from(inputs))
        if self.output_mode == "int":
            return indices.astype(self.dtype)
        if self._tokens is None and not self.pad_to_max_tokens:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} "
                               f"and pad_to_max_tokens=False, set the vocabulary (or adapt) before calling.")
        weights = self._idf_weights if self.output_mode == "tf_idf" else None
        if self.output_mode == "tf_idf" and weights is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': output_mode='tf_idf' needs idf weights: "
                               f"adapt the layer or pass `vocabulary` with `idf_weights`.")
        return encode_categorical(indices, self.output_mode, self._depth(), self.dtype, weights)

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _lookup(self, tokens):
        """The int64 indices of an object array of tokens; a dropped mask token becomes -2."""
        flat = tokens.reshape(-1)
        unique, inverse = _unique(flat)
        missing = -1 if self.num_oov_indices != 1 else self._oov_start_index()
        mask_index = 0 if self.output_mode == "int" else -2
        found = np.array([mask_index if self.mask_token is not None and u == self.mask_token
                          else self._index.get(u, missing) for u in unique.tolist()], dtype=np.int64)
        if self.num_oov_indices == 0 and (found == -1).any():
            oov = [u for u, f in zip(unique.tolist(), found) if f == -1]
            raise ValueError(f"{type(self).__name__} '{self.name}': with num_oov_indices=0 every input must be in "
                             f"the vocabulary; found out-of-vocabulary value(s) {oov[:10]}. Consider "
                             f"num_oov_indices=1.")
        if self.num_oov_indices > 1 and (found == -1).any():
            oov = found == -1
            found[oov] = self._oov_buckets(unique[oov]) + self._oov_start_index()
        return found[inverse].reshape(tokens.shape)

    def _oov_buckets(self, tokens):
        """The OOV index (0-based) of each out-of-vocabulary token."""
        if self._token_kind == "int" and self.oov_method == "floormod":
            return np.array([t % self.num_oov_indices for t in tokens.tolist()], dtype=np.int64)
        return _hash_functions.hash_buckets(self._hash_bytes(tokens), self.num_oov_indices, self.salt)

    def _invert(self, inputs):
        indices = np.asarray(inputs)
        if indices.dtype.kind not in "iu":
            raise ValueError(f"{type(self).__name__} '{self.name}': with invert=True the inputs are integer "
                             f"indices, got an array of dtype {indices.dtype}.")
        table = self.get_vocabulary()
        start = self._token_start_index()
        out = np.empty(indices.size, dtype=object)
        for i, index in enumerate(indices.reshape(-1).tolist()):
            if index == 0 and self.mask_token is not None:
                out[i] = self.mask_token
            elif start <= index < len(table):
                out[i] = table[index]
            else:
                out[i] = self.oov_token
        out = out.reshape(indices.shape)
        return out.astype(str) if self._token_kind == "string" else out.astype(self.dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else (
            self.vocabulary_size() if self._tokens is not None else None)
        return encoded_shape(input_shape, self.output_mode, depth)

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """The constructor arguments; `vocabulary` and `idf_weights` carry the current (given or adapted)
        vocabulary itself, special tokens first, so `from_config` rebuilds the same lookup."""
        config = super().get_config()
        vocabulary = self.get_vocabulary() if self._tokens is not None else None
        idf = None
        if self._idf_weights is not None and vocabulary is not None:
            idf = self._idf_weights[:len(vocabulary)].tolist()
        config.update({"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                       "mask_token": self.mask_token, "oov_token": self.oov_token, "vocabulary": vocabulary,
                       "idf_weights": idf, "invert": self.invert, "output_mode": self.output_mode,
                       "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens})
        return config

    @classmethod
    def from_config(cls, config):
        """The layer from `get_config()`; a vocabulary file path is refused (configs carry the terms)."""
        vocabulary = config.get("vocabulary")
        if isinstance(vocabulary, (str, bytes, os.PathLike)):
            raise ValueError(f"{cls.__name__}.from_config: `vocabulary` is a file path ({vocabulary!r}); a config "
                             f"must carry the vocabulary list itself, and files named inside a config are never "
                             f"read.")
        config = dict(config)
        size = config.pop("vocabulary_size", None)  # Keras 3's configs: the size of the saved vocabulary
        layer = cls(**config)
        if size is not None and vocabulary is not None and layer.vocabulary_size() != size:
            raise ValueError(f"{cls.__name__}.from_config: the config says vocabulary_size={size}, but its "
                             f"vocabulary has {layer.vocabulary_size()} entries.")
        layer._saved_vocabulary_size = size  # checked when a `.keras` file's vocabulary asset is read
        return layer


def _salt_pair(salt, cls):
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(isinstance(s, int) for s in salt):
        return [int(salt[0]), int(salt[1])]
    if isinstance(salt, int) and not isinstance(salt, bool):
        return [salt, salt]
    raise ValueError(f"{cls}: `salt` must be an integer or a pair of integers, got {salt!r}.")


def _unique(flat):
    """(unique values, inverse indices) of a 1D object array (np.unique needs comparable values)."""
    positions = {}
    inverse = np.empty(len(flat), dtype=np.int64)
    for i, value in enumerate(flat.tolist()):
        inverse[i] = positions.setdefault(value, len(positions))
    unique = np.empty(len(positions), dtype=object)
    unique[:] = list(positions)
    return unique, inverse


def _adapt_batches(data, steps):
    """The batches `adapt` reads: an array-like is one batch (1D: one token per document), any other
    iterable yields batches."""
    if isinstance(data, (list, tuple)) or (hasattr(data, "shape") and hasattr(data, "dtype")):
        array = to_host_array(data)
        yield array.reshape(-1, 1) if array.ndim == 1 else array
        return
    if not hasattr(data, "__iter__"):
        raise ValueError(f"adapt: `data` must be an array, a list or an iterable of batches (a generator, a "
                         f"tf.data.Dataset); got {type(data).__name__}.")
    for count, batch in enumerate(data):
        if steps is not None and count >= steps:
            return
        yield batch
