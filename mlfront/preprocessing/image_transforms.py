"""Keras 2's single-image augmentation functions (`keras.preprocessing.image.random_rotation`, ...).

They work on one 3D NumPy image. The affine ones compose their matrix in Keras 2's order (rotation, shift,
shear, zoom), offset it to the image centre and resample each channel with `scipy.ndimage.affine_transform`,
so they give Keras 2's pixels. The `random_*` functions draw from NumPy's global generator, as Keras 2 does.
"""

import numpy as np

from mlfront.utils import image_utils

FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror", "grid-constant", "grid-mirror", "grid-wrap")


def _ndimage():
    try:
        from scipy import ndimage
    except ImportError:
        raise ImportError("Image transformations need SciPy: `pip install scipy` "
                          "(or `pip install \"mlfront[image]\"`).") from None
    return ndimage


def flip_axis(x, axis):
    """`x` reversed along `axis` (a view)."""
    return np.flip(np.asarray(x), axis)


def transform_matrix_offset_center(matrix, x, y):
    """The 3x3 homogeneous `matrix` made to act about the centre of an `x` by `y` image."""
    o_x = float(x) / 2 - 0.5
    o_y = float(y) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def affine_matrix(theta=0, tx=0, ty=0, shear=0, zx=1, zy=1):
    """The 3x3 matrix rotation @ shift @ shear @ zoom (angles in degrees), or None for the identity."""
    parts = []
    if theta != 0:
        t = np.deg2rad(theta)
        parts.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not parts:
        return None
    matrix = parts[0]
    for part in parts[1:]:
        matrix = matrix @ part
    return matrix


def _check_axes(x, row_axis, col_axis, channel_axis, where):
    if x.ndim != 3:
        raise ValueError(f"{where}: expected a single image of rank 3, got an array of shape {x.shape}.")
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2]:
        raise ValueError(f"{where}: `row_axis`, `col_axis` and `channel_axis` must be 0, 1 and 2 in some order; "
                         f"got {row_axis}, {col_axis}, {channel_axis}.")
    if channel_axis not in (0, 2):
        raise ValueError(f"{where}: `channel_axis` must be 0 or 2 (channels first or last), got {channel_axis}.")


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2, channel_axis=0,
                           fill_mode="nearest", cval=0.0, order=1):
    """Applies an affine transformation to one image.

    Args:
        x: 3D image array.
        theta: rotation angle in degrees.
        tx: shift along the columns, in pixels (Keras 2's "width shift").
        ty: shift along the rows, in pixels (Keras 2's "height shift").
        shear: shear angle in degrees.
        zx: zoom along the columns (x).
        zy: zoom along the rows (y).
        row_axis: index of the rows axis in `x`.
        col_axis: index of the columns axis in `x`.
        channel_axis: index of the channels axis in `x` (0 or 2).
        fill_mode: how points outside the image are filled (`"constant"`, `"nearest"`, `"reflect"`,
            `"wrap"`; SciPy's other modes work too).
        cval: the fill value for `fill_mode="constant"`.
        order: spline interpolation order, 0 to 5.

    Returns:
        The transformed image (same shape and dtype).
    """
    x = np.asarray(x)
    _check_axes(x, row_axis, col_axis, channel_axis, "apply_affine_transform")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"apply_affine_transform: `fill_mode` must be one of {', '.join(FILL_MODES)}; "
                         f"got {fill_mode!r}.")
    matrix = affine_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    ndimage = _ndimage()
    matrix = transform_matrix_offset_center(matrix, x.shape[row_axis], x.shape[col_axis])
    if col_axis > row_axis:  # Keras 2's convention: then the matrix's first two coordinates trade places
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    channels = np.moveaxis(x, channel_axis, 0)
    out = np.stack([ndimage.affine_transform(c, matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode,
                                             cval=cval) for c in channels])
    return np.moveaxis(out, 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Adds `intensity` to every channel, clipped to the image's original value range.

    Args:
        x: 3D image array.
        intensity: the value added.
        channel_axis: index of the channels axis (unused by the arithmetic; kept for Keras's signature).

    Returns:
        The shifted image.
    """
    x = np.asarray(x)
    if x.ndim != 3 or not -3 <= channel_axis < 3:
        raise ValueError(f"apply_channel_shift: expected a rank-3 image and a channel axis in it; got shape "
                         f"{x.shape} and channel_axis={channel_axis}.")
    return np.clip(x + intensity, np.min(x), np.max(x))


def apply_brightness_shift(x, brightness, scale=True):
    """Scales the brightness of a channels-last image with Pillow's `ImageEnhance.Brightness`.

    Args:
        x: 3D channels-last image array.
        brightness: the enhancement factor (1.0: unchanged, 0: black).
        scale: rescale the values to 0..255 before enhancing (as `array_to_img(scale=True)`); when False,
            values outside 0..255 are still rescaled, and mapped back to their range afterwards.

    Returns:
        The image as a float32 array.
    """
    from PIL import ImageEnhance

    x = np.asarray(x)
    x_min, x_max = np.min(x), np.max(x)
    out_of_range = x_min < 0 or x_max > 255
    img = image_utils.array_to_img(x, scale=out_of_range or scale)
    out = image_utils.img_to_array(ImageEnhance.Brightness(img).enhance(brightness))
    if not scale and out_of_range:
        out = out / 255 * (x_max - x_min) + x_min
    return out


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                    interpolation_order=1):
    """Rotates one image by an angle drawn uniformly from [-rg, rg] degrees (see `apply_affine_transform`)."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shifts one image by fractions of its size drawn from [-hrg, hrg] (rows) and [-wrg, wrg] (columns)."""
    x = np.asarray(x)
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shears one image by an angle drawn from [-intensity, intensity] degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                interpolation_order=1):
    """Zooms one image by factors (rows, columns) drawn from `zoom_range = (lower, upper)`."""
    if len(zoom_range) != 2:
        raise ValueError(f"random_zoom: `zoom_range` must be a tuple or list of two floats, got {zoom_range!r}.")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """Shifts the channel values by an intensity drawn from [-intensity_range, intensity_range]."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def random_brightness(x, brightness_range, scale=True):
    """Scales the brightness by a factor drawn from `brightness_range = (lower, upper)`."""
    if len(brightness_range) != 2:
        raise ValueError(f"random_brightness: `brightness_range` must be a tuple or list of two floats, got "
                         f"{brightness_range!r}.")
    factor = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, factor, scale)
