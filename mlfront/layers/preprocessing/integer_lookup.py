"""`IntegerLookup`: integers to vocabulary indices (or encodings), and back with `invert=True` (Keras 3)."""

import numpy as np

from mlfront.layers.preprocessing.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integers (ids, categories) to contiguous indices through a vocabulary; a host (NumPy) layer.

    Args:
        max_tokens: the largest vocabulary size, mask and OOV indices included (None: no limit).
        num_oov_indices: how many indices out-of-vocabulary values share (`value % num_oov_indices` when more
            than 1; 0: an OOV input is an error).
        mask_token: an integer that means "masked": index 0 in "int" mode, dropped in the other modes.
        oov_token: the value `invert=True` returns for OOV indices.
        vocabulary: a list / 1D array of integers, or a path to a text file with one integer per line.
        vocabulary_dtype: "int64" (the only one, as in Keras).
        idf_weights: one inverse-document-frequency weight per vocabulary term (output_mode "tf_idf").
        invert: map indices back to values.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        sparse: must be False (mlfront returns dense arrays).
        pad_to_max_tokens: give the encoded outputs `max_tokens` columns whatever the vocabulary size.
        oov_method: "floormod" (default) or "farmhash" (hash the decimal form of OOV values).
        salt: with oov_method="farmhash", an integer or pair of integers: keyed SipHash instead of FarmHash.

    Example:
        ```python
        layer = mlfront.layers.IntegerLookup(vocabulary=[12, 36, 1138])
        layer([12, 1138, 42])  # array([1, 3, 0])
        ```
    """

    _token_kind = "int"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup: only `vocabulary_dtype='int64'` is supported, got "
                             f"vocabulary_dtype={vocabulary_dtype!r}.")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else self._normalize_token(mask_token),
                         oov_token=None if oov_token is None else self._normalize_token(oov_token),
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt,
                         name=name, **kwargs)

    def _normalize_token(self, token):
        if isinstance(token, (int, np.integer)) and not isinstance(token, (bool, np.bool_)):
            return int(token)
        if isinstance(token, (float, np.floating)) and float(token).is_integer():
            return int(token)
        raise ValueError(f"IntegerLookup: vocabulary terms and special tokens must be integers, got {token!r} of "
                         f"type {type(token).__name__}.")

    def _parse_vocabulary_line(self, line):
        try:
            return int(line.strip())
        except ValueError:
            raise ValueError(f"IntegerLookup '{self.name}': vocabulary file line {line!r} is not an "
                             f"integer.") from None

    def _tokens_from(self, array):
        array = np.asarray(array)
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise ValueError(f"IntegerLookup '{self.name}' expects integers, got non-integral float values.")
            array = array.astype(np.int64)
        elif array.dtype.kind not in "iu":
            raise ValueError(f"IntegerLookup '{self.name}' expects integers, got an array of dtype {array.dtype}.")
        out = np.empty(array.size, dtype=object)
        out[:] = array.reshape(-1).tolist()
        return out.reshape(array.shape)

    def _hash_bytes(self, tokens):
        out = np.empty(len(tokens), dtype=object)
        out[:] = [str(int(t)).encode() for t in tokens]
        return out

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype, "oov_method": self.oov_method,
                "salt": self.salt}
