"""Image files <-> NumPy arrays through Pillow: `load_img`, `img_to_array`, `array_to_img`, `save_img`.

Keras 2 / Keras 3 `keras.utils` semantics. Pillow is imported only when one of these is called.
"""

import io
import os
import pathlib
import tempfile
import warnings

import numpy as np

DATA_FORMATS = ("channels_first", "channels_last")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
COLOR_MODES = ("grayscale", "rgb", "rgba")


def pil_image():
    """The `PIL.Image` module, or an ImportError saying how to install Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("mlfront image utilities need Pillow: `pip install pillow` "
                          "(or `pip install \"mlfront[image]\"`).") from None
    return Image


def check_data_format(data_format, where):
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{where}: `data_format` must be 'channels_first' or 'channels_last', "
                         f"got {data_format!r}.")
    return data_format


def resample_filter(interpolation, where="load_img"):
    """The Pillow resampling filter named `interpolation`."""
    Image = pil_image()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: `interpolation` must be one of {', '.join(INTERPOLATIONS)}; "
                         f"got {interpolation!r}.")
    resampling = getattr(Image, "Resampling", Image)
    return getattr(resampling, interpolation.upper())


def atomic_write_bytes(path, data):
    """Write `data` to `path` through a temporary file in the same folder and a rename (no partial files)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _open(path):
    """A fully decoded Pillow image from a path or a binary file object; a non-image names the file."""
    Image = pil_image()
    if isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)
        with open(name, "rb") as f:
            source = io.BytesIO(f.read())
    elif hasattr(path, "read"):
        name, source = getattr(path, "name", repr(path)), path
    else:
        raise TypeError(f"load_img: `path` must be a path (str, bytes, pathlib.Path) or a binary file object, "
                        f"got {type(path).__name__}.")
    try:
        img = Image.open(source)
        img.load()
    except Image.DecompressionBombError as err:
        raise ValueError(f"load_img: {name} is too large to decode safely ({err}).") from None
    except (OSError, SyntaxError, ValueError) as err:  # Pillow's UnidentifiedImageError is an OSError
        raise ValueError(f"load_img: {name} is not a readable image file ({err}).") from None
    return img


def _center_crop_box(size, target):
    """The largest centred (left, upper, right, lower) box of `size` (w, h) with the aspect ratio of `target`."""
    width, height = size
    target_width, target_height = target
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return left, top, left + crop_width, top + crop_height


def load_img(path, grayscale=False, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file into a Pillow image.

    Args:
        path: path of the file (str, bytes or `pathlib.Path`) or a binary file object (e.g. `io.BytesIO`).
        grayscale: deprecated, same as `color_mode="grayscale"`.
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"`: the mode the image is converted to.
        target_size: None (keep the file's size) or `(height, width)`.
        interpolation: resampling used when resizing: `"nearest"`, `"bilinear"`, `"bicubic"`, `"hamming"`,
            `"box"` or `"lanczos"`.
        keep_aspect_ratio: resize without distortion: crop the largest centred box with the target's aspect
            ratio first.

    Returns:
        A `PIL.Image.Image`.

    Raises:
        ValueError: the file is not an image, is too large to decode safely (Pillow's decompression-bomb
            limit), or an argument is invalid.

    Example:
        >>> img = load_img("cat.png", target_size=(224, 224))
        >>> x = img_to_array(img)  # (224, 224, 3) float32
    """
    if grayscale:
        warnings.warn('load_img: `grayscale` is deprecated, use color_mode="grayscale".', stacklevel=2)
        color_mode = "grayscale"
    if color_mode not in COLOR_MODES:
        raise ValueError(f"load_img: `color_mode` must be 'grayscale', 'rgb' or 'rgba', got {color_mode!r}.")
    img = _open(path)
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif img.mode != color_mode.upper():
        img = img.convert(color_mode.upper())
    if target_size is not None:
        if len(target_size) != 2 or any(int(s) < 1 for s in target_size):
            raise ValueError(f"load_img: `target_size` must be (height, width) of positive integers, "
                             f"got {target_size!r}.")
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            resample = resample_filter(interpolation)
            box = _center_crop_box(img.size, size) if keep_aspect_ratio else None
            img = img.resize(size, resample, box=box)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """Converts a Pillow image (or anything NumPy can read as a 2D/3D image) to a 3D array.

    Args:
        img: a `PIL.Image.Image`.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dtype: the array's dtype (default `"float32"`).

    Returns:
        An array of shape `(height, width, channels)` (or `(channels, height, width)`).
    """
    data_format = check_data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[..., None]
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"img_to_array: expected a 2D or 3D image, got an array of shape {x.shape}.")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """Converts a 3D array to a Pillow image.

    Args:
        x: array of shape `(height, width, channels)` (or channels first), with 1, 3 or 4 channels.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        scale: shift and scale the values so they span 0..255.
        dtype: the dtype the values are handled in (default `"float32"`).

    Returns:
        A `PIL.Image.Image` in mode "L" (or "I" for values above 255), "RGB" or "RGBA".
    """
    Image = pil_image()
    data_format = check_data_format(data_format, "array_to_img")
    x = np.array(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected a single image of rank 3, got an array of shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: images must have 1, 3 or 4 channels, got {channels} (shape {x.shape}).")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves an array as an image file (written atomically: a temporary file, then a rename).

    Args:
        path: file path, or a binary file object (then `file_format` is needed).
        x: a 3D image array (see `array_to_img`).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        file_format: e.g. `"png"`, `"jpeg"`; None: taken from the file name's extension.
        scale: shift and scale the values to 0..255 first.
        **kwargs: passed to `PIL.Image.Image.save` (e.g. `quality=90`).
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("save_img: JPEG has no alpha channel; the RGBA image is converted to RGB.", stacklevel=2)
        img = img.convert("RGB")
    if hasattr(path, "write"):
        img.save(path, format=file_format, **kwargs)
        return
    path = os.fsdecode(path) if not isinstance(path, pathlib.Path) else str(path)
    if file_format is None:
        file_format = pil_image().registered_extensions().get(os.path.splitext(path)[1].lower())
        if file_format is None:
            raise ValueError(f"save_img: cannot tell the image format from the file name {path!r}; "
                             f"pass `file_format` (e.g. 'png').")
    buffer = io.BytesIO()
    img.save(buffer, format=file_format, **kwargs)
    atomic_write_bytes(path, buffer.getvalue())
