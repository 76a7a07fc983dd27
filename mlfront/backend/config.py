"""Global defaults shared by the Keras 2 `K` functions and the layers: fuzz factor, float dtype, image layout.

Layers read `floatx()` for their default dtype and `image_data_format()` for `data_format=None`, so
`K.set_floatx` / `K.set_image_data_format` change what new layers do, as in Keras.
"""

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
_DATA_FORMATS = ("channels_last", "channels_first")

_epsilon = 1e-7
_floatx = "float32"
_image_data_format = "channels_last"


def epsilon():
    """The fuzz factor used in numeric expressions (1e-7 by default)."""
    return _epsilon


def set_epsilon(value):
    """Set the fuzz factor returned by `epsilon()`.

    Args:
        value: a positive float.
    """
    global _epsilon
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"set_epsilon: `value` must be a positive float, got {value!r}.")
    _epsilon = float(value)


def floatx():
    """The default float dtype name ("float32")."""
    return _floatx


def set_floatx(value):
    """Set the default float dtype of new layers and of `K` functions called with `dtype=None`.

    Args:
        value: one of "float16", "bfloat16", "float32", "float64".
    """
    global _floatx
    if value not in _FLOAT_DTYPES:
        raise ValueError(f"set_floatx: `value` must be one of {_FLOAT_DTYPES}, got {value!r}.")
    _floatx = str(value)


def image_data_format():
    """The default image layout of layers built with `data_format=None` ("channels_last")."""
    return _image_data_format


def set_image_data_format(data_format):
    """Set the default image layout.

    Args:
        data_format: "channels_last" or "channels_first".
    """
    global _image_data_format
    if data_format not in _DATA_FORMATS:
        raise ValueError(f"set_image_data_format: `data_format` must be one of {_DATA_FORMATS}, "
                         f"got {data_format!r}.")
    _image_data_format = str(data_format)
