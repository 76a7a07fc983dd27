"""`Hashing`: values hashed into `num_bins` bins, with TensorFlow's (hence Keras's) exact hash functions."""

import numpy as np

from mlfront.layers.preprocessing import _hash_functions
from mlfront.layers.preprocessing.host import (HostLayer, as_bytes, as_text, encode_categorical, encoded_shape,
                                               refuse_unsupported, validate_choice)
from mlfront.layers.preprocessing.index_lookup import _salt_pair


class Hashing(HostLayer):
    """Hashes strings or integers into `num_bins` bins; a host (NumPy) layer.

    Strings are hashed as their UTF-8 bytes, integers as their decimal strings (floats are truncated to
    integers first): FarmHash Fingerprint64 modulo the bins (`tf.strings.to_hash_bucket_fast`), or keyed
    SipHash-2-4 when a `salt` is given (`to_hash_bucket_strong`), so the bins match Keras's.

    Args:
        num_bins: the number of bins, the mask bin included.
        mask_value: a value that goes to bin 0 (the others then use bins 1 .. num_bins - 1).
        salt: an integer or a pair of integers: the SipHash key.
        output_mode: "int" (bin indices), "one_hot", "multi_hot" or "count".
        sparse: must be False (mlfront returns dense arrays).
        dtype: the output dtype (default "int64" in "int" mode, else "float32").

    Example:
        ```python
        mlfront.layers.Hashing(num_bins=3, salt=133)([["A"], ["B"], ["C"]])
        ```
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, dtype=None,
                 **kwargs):
        if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(f"Hashing: `num_bins` must be a positive integer, got num_bins={num_bins!r}.")
        validate_choice(output_mode, ("int", "one_hot", "multi_hot", "count"), "Hashing", "output_mode")
        if sparse and output_mode == "int":
            raise ValueError("Hashing: `sparse` may only be true with output_mode 'one_hot', 'multi_hot' or "
                             "'count'; got output_mode='int'.")
        refuse_unsupported("Hashing", sparse=sparse)
        dtype = dtype or ("int64" if output_mode == "int" else "float32")
        if output_mode == "int" and dtype not in ("int32", "int64"):
            raise ValueError(f"Hashing: with output_mode='int', `dtype` must be 'int32' or 'int64', got "
                             f"dtype={dtype!r}.")
        super().__init__(dtype=dtype, **kwargs)
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.salt = _salt_pair(salt, "Hashing")
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs):
        bins = self._hash_to_bins(np.asarray(inputs))
        if self.output_mode == "int":
            return bins.astype(self.dtype)
        return encode_categorical(bins, self.output_mode, self.num_bins, self.dtype)

    def _hash_to_bins(self, values):
        hash_bins = self.num_bins
        mask = None
        if self.mask_value is not None and hash_bins > 1:
            hash_bins -= 1
            mask = _equal(values, self.mask_value, self.name)
        bins = _hash_functions.hash_buckets(_hashed_bytes(values, self.name), hash_bins, self.salt)
        if mask is not None:
            bins = np.where(mask, 0, bins + 1)
        return bins

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode, "sparse": self.sparse}


def _hashed_bytes(values, layer_name):
    """What TensorFlow hashes: the UTF-8 bytes of strings, the decimal strings of integers (and of floats
    truncated to int64), "true"/"false" for booleans."""
    kind = values.dtype.kind
    if kind in "USO":
        return as_bytes(as_text(values, "utf-8", layer_name))
    if kind == "f":
        values = values.astype(np.int64)
    elif kind == "b":
        text = np.where(values, "true", "false")
        return as_bytes(text.astype(object))
    elif kind not in "iu":
        raise ValueError(f"Layer '{layer_name}' hashes strings or numbers, got an array of dtype {values.dtype}.")
    out = np.empty(values.size, dtype=object)
    out[:] = [str(v).encode() for v in values.reshape(-1).tolist()]
    return out.reshape(values.shape)


def _equal(values, mask_value, layer_name):
    kind = values.dtype.kind
    if kind in "USO":
        if not isinstance(mask_value, (str, bytes)):
            raise ValueError(f"Hashing '{layer_name}': `mask_value` {mask_value!r} cannot be compared with string "
                             f"inputs.")
        text = as_text(values, "utf-8", layer_name)
        target = mask_value.decode("utf-8", "surrogateescape") if isinstance(mask_value, bytes) else mask_value
        return text == target
    if isinstance(mask_value, (str, bytes)):
        raise ValueError(f"Hashing '{layer_name}': the string `mask_value` {mask_value!r} cannot be compared with "
                         f"numeric inputs of dtype {values.dtype}.")
    return values == mask_value
