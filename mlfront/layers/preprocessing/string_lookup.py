"""`StringLookup`: strings to vocabulary indices (or encodings), and back with `invert=True` (Keras 3)."""

import numpy as np

from mlfront.layers.preprocessing.host import as_bytes, as_text
from mlfront.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary; a host (NumPy) layer.

    Args:
        max_tokens: the largest vocabulary size, mask and OOV indices included (None: no limit).
        num_oov_indices: how many indices out-of-vocabulary strings share (hashed among them when more than 1;
            0: an OOV input is an error).
        mask_token: a string that means "masked": index 0 in "int" mode, dropped in the other modes.
        oov_token: the string `invert=True` returns for OOV indices.
        vocabulary: a list / 1D array of strings, or a path to a text file with one string per line.
        idf_weights: one inverse-document-frequency weight per vocabulary term (output_mode "tf_idf").
        invert: map indices back to strings.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: give the encoded outputs `max_tokens` columns whatever the vocabulary size.
        sparse: must be False (mlfront returns dense arrays).
        encoding: the text encoding of bytes inputs and vocabulary files.
        salt: an integer or pair of integers: hash OOV strings with keyed SipHash instead of FarmHash.

    Example:
        ```python
        layer = mlfront.layers.StringLookup(vocabulary=["a", "b", "c"])
        layer(["a", "c", "z"])  # array([1, 3, 0])
        ```
    """

    _token_kind = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        "".encode(encoding)  # an unknown encoding fails here, with Python's LookupError naming it
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=self._token_or_none(mask_token), oov_token=self._token_or_none(oov_token),
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt, name=name, **kwargs)

    def _token_or_none(self, token):
        return None if token is None else self._normalize_token(token)

    def _normalize_token(self, token):
        if isinstance(token, bytes):
            return token.decode(self.encoding, "surrogateescape")
        if isinstance(token, str):
            return str(token)
        raise ValueError(f"StringLookup: vocabulary terms and special tokens must be strings, got {token!r} of "
                         f"type {type(token).__name__}.")

    def _parse_vocabulary_line(self, line):
        return line

    def _tokens_from(self, array):
        return as_text(array, self.encoding, self.name)

    def _hash_bytes(self, tokens):
        return as_bytes(np.asarray(tokens, dtype=object), self.encoding)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding, "salt": self.salt}
