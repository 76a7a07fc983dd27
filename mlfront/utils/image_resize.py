"""Image resizing in NumPy with the arithmetic of `tf.image.resize` (antialias=False), and `smart_resize`.

Every method is separable: resizing is `rows @ image @ columns.T` with one weight matrix per axis, built
the way TensorFlow's kernels compute their sampling positions and weights (float32, half-pixel centres),
so the images Keras's `image_dataset_from_directory` makes are reproduced on every engine.
"""

import functools

import numpy as np

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")

_f32 = np.float32


def _check_interpolation(interpolation, where):
    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name not in INTERPOLATIONS:
        raise ValueError(f"{where}: `interpolation` must be one of {INTERPOLATIONS}; "
                         f"received: interpolation={interpolation!r}.")
    return name


def _half_pixel_centres(in_size, out_size):
    scale = _f32(in_size) / _f32(out_size)
    return (np.arange(out_size, dtype=_f32) + _f32(0.5)) * scale


def _bilinear_weights(in_size, out_size):
    position = _half_pixel_centres(in_size, out_size) - _f32(0.5)
    below = np.floor(position)
    lerp = (position - below).astype(np.float64)
    lower = np.maximum(below, 0).astype(int)
    upper = np.minimum(np.ceil(position), in_size - 1).astype(int)
    weights = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(weights, (rows, lower), 1 - lerp)
    np.add.at(weights, (rows, upper), lerp)
    return weights


def _nearest_weights(in_size, out_size):
    index = np.clip(np.floor(_half_pixel_centres(in_size, out_size)).astype(int), 0, in_size - 1)
    weights = np.zeros((out_size, in_size))
    weights[np.arange(out_size), index] = 1.0
    return weights


def _keys_cubic_table(a=-0.5, table_size=1024):
    """TensorFlow's tabulated Keys cubic coefficients: for t in [0, 1], the weights at distance t and 1 + t."""
    t = np.arange(table_size + 1, dtype=np.float64) / table_size
    near = (((a + 2) * t - (a + 3)) * t * t + 1).astype(_f32)
    t = t + 1
    far = (((a * t - 5 * a) * t + 8 * a) * t - 4 * a).astype(_f32)
    return near, far


def _bicubic_weights(in_size, out_size, table_size=1024):
    near, far = _keys_cubic_table(table_size=table_size)
    position = _half_pixel_centres(in_size, out_size) - _f32(0.5)
    start = np.floor(position)
    offset = np.rint((position - start) * table_size).astype(int)
    start = start.astype(int)
    taps = (far[offset], near[offset], near[table_size - offset], far[table_size - offset])
    weights = np.zeros((out_size, in_size))
    for row in range(out_size):
        # samples outside the image get no weight; the rest are renormalised (TF's half-pixel bicubic)
        chosen = [(start[row] - 1 + k, taps[k][row]) for k in range(4) if 0 <= start[row] - 1 + k < in_size]
        total = _f32(sum(w for _, w in chosen))
        for index, w in chosen:
            weights[row, index] += float(w / total) if abs(total) >= 1000 * np.finfo(_f32).tiny else float(w)
    return weights


def _area_weights(in_size, out_size):
    scale = _f32(in_size) / _f32(out_size)
    weights = np.zeros((out_size, in_size))
    for row in range(out_size):
        begin, end = _f32(row) * scale, _f32(row + 1) * scale
        for cell in range(int(np.floor(begin)), int(np.ceil(end))):
            # the overlap of [cell, cell + 1) with [begin, end), spelled as TensorFlow's kernel computes it
            if cell < begin:
                overlap = scale if cell + 1 > end else _f32(cell + 1) - begin
            else:
                overlap = end - _f32(cell) if cell + 1 > end else _f32(1.0)
            weights[row, min(cell, in_size - 1)] += overlap
    return weights / float(scale)


def _lanczos(radius):
    def kernel(x):
        x = np.abs(x).astype(_f32)
        pi = _f32(3.14159265359)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = _f32(radius) * np.sin(pi * x) * np.sin(pi * x / _f32(radius)) / (pi * pi * x * x)
        return np.where(x > radius, 0, np.where(x <= 1e-3, 1, value))
    return kernel, radius


def _gaussian(x):
    radius, sigma = 1.5, 1.5 / 3.0
    x = np.abs(x).astype(_f32)
    return np.where(x >= radius, 0, np.exp(-x * x / _f32(2.0 * sigma * sigma)))


def _mitchell_cubic(x):
    x = np.abs(x).astype(_f32)
    outer = (((_f32(-7 / 18) * x + 2) * x - _f32(10 / 3)) * x + _f32(16 / 9))
    inner = ((_f32(7 / 6) * x - 2) * x) * x + _f32(8 / 9)
    return np.where(x >= 2, 0, np.where(x >= 1, outer, inner))


_SAMPLING_KERNELS = {"lanczos3": _lanczos(3), "lanczos5": _lanczos(5), "gaussian": (_gaussian, 1.5),
                     "mitchellcubic": (_mitchell_cubic, 2.0)}


def _kernel_weights(kernel, radius, in_size, out_size):
    """TensorFlow's `scale_and_translate` weights without antialiasing (the kernel keeps its width)."""
    inverse_scale = _f32(1.0 / (_f32(out_size) / _f32(in_size)))
    weights = np.zeros((out_size, in_size))
    for row in range(out_size):
        sample = (_f32(row) + _f32(0.5)) * inverse_scale
        if sample < 0 or sample > in_size:
            continue
        first = int(np.clip(np.ceil(sample - _f32(radius) - _f32(0.5)), 0, in_size - 1))
        last = int(np.clip(np.floor(sample + _f32(radius) - _f32(0.5)), 0, in_size - 1)) + 1
        sources = np.arange(first, last)
        taps = kernel(sources.astype(_f32) + _f32(0.5) - sample).astype(_f32)
        total = _f32(taps.sum(dtype=_f32))
        if abs(total) >= 1000 * np.finfo(_f32).tiny:
            weights[row, first:last] = taps * (_f32(1.0) / total)
    return weights


@functools.lru_cache(maxsize=64)
def _taps(interpolation, in_size, out_size):
    """The weights of one axis as `(index, weight)` arrays of shape (out_size, taps): each output is the
    weighted sum of a few inputs, so resizing costs O(output * taps) instead of a dense matrix product."""
    dense = _weights(interpolation, in_size, out_size)
    count = max(1, int((dense != 0).sum(axis=1).max()))
    index = np.zeros((out_size, count), dtype=np.intp)
    weight = np.zeros((out_size, count), dtype=_f32)  # float32 arithmetic, as TensorFlow's kernels
    for row in range(out_size):
        (used,) = np.nonzero(dense[row])
        index[row, :len(used)] = used
        weight[row, :len(used)] = dense[row, used]
    index.flags.writeable = weight.flags.writeable = False
    return index, weight


def _resize_axis(x, taps):
    """`x` resized along its first axis."""
    index, weight = taps
    shape = (-1,) + (1,) * (x.ndim - 1)
    out = weight[:, 0].reshape(shape) * x[index[:, 0]]
    for k in range(1, index.shape[1]):
        out += weight[:, k].reshape(shape) * x[index[:, k]]
    return out


def _weights(interpolation, in_size, out_size):
    if interpolation == "bilinear":
        return _bilinear_weights(in_size, out_size)
    if interpolation == "nearest":
        return _nearest_weights(in_size, out_size)
    if interpolation == "bicubic":
        return _bicubic_weights(in_size, out_size)
    if interpolation == "area":
        return _area_weights(in_size, out_size)
    kernel, radius = _SAMPLING_KERNELS[interpolation]
    return _kernel_weights(kernel, radius, in_size, out_size)


def resize_images(images, size, interpolation="bilinear", data_format="channels_last"):
    """Resize `(height, width, channels)` or `(batch, height, width, channels)` images to `size`.

    The same numbers as `tf.image.resize(images, size, method=interpolation)` (antialias=False), computed
    in NumPy. The result is float32, except for `"nearest"`, which keeps the input dtype (as TensorFlow).

    Args:
        images: a 3D or 4D array.
        size: `(height, width)` of the output.
        interpolation: one of `"bilinear"`, `"nearest"`, `"bicubic"`, `"area"`, `"lanczos3"`, `"lanczos5"`,
            `"gaussian"`, `"mitchellcubic"`.
        data_format: `"channels_last"` or `"channels_first"` (channels before height and width).

    Returns:
        The resized images, a NumPy array.
    """
    interpolation = _check_interpolation(interpolation, "resize_images")
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"resize_images: expected images of shape (height, width, channels) or "
                         f"(batch, height, width, channels), got shape {images.shape}.")
    height_axis = images.ndim - (2 if data_format == "channels_first" else 3)
    target = _check_size(size, "resize_images")
    out = np.moveaxis(images, (height_axis, height_axis + 1), (0, 1)).astype(_f32)
    out = _resize_axis(out, _taps(interpolation, images.shape[height_axis], target[0]))
    out = _resize_axis(out.swapaxes(0, 1), _taps(interpolation, images.shape[height_axis + 1], target[1]))
    out = np.moveaxis(out.swapaxes(0, 1), (0, 1), (height_axis, height_axis + 1))
    return out.astype(images.dtype if interpolation == "nearest" else _f32)


def _check_size(size, where):
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: `size` must be a tuple of 2 integers (height, width), got {size!r}.") from None
    if height < 1 or width < 1:
        raise ValueError(f"{where}: `size` must be positive, got {size!r}.")
    return height, width


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize an image to `size` without distorting it: crop the largest centred box with the target's aspect
    ratio, then resize it (Keras's `smart_resize`).

    Args:
        x: an image `(height, width, channels)` or a batch of them `(batch, height, width, channels)`
            (channels first with `data_format="channels_first"`).
        size: `(height, width)` of the output.
        interpolation: as in `resize_images` (default `"bilinear"`).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Returns:
        A float32 NumPy array of the resized image(s).

    Example:
        >>> smart_resize(np.zeros((300, 400, 3)), (200, 200)).shape
        (200, 200, 3)
    """
    interpolation = _check_interpolation(interpolation, "smart_resize")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"smart_resize: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    target_height, target_width = _check_size(size, "smart_resize")
    img = np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError(f"smart_resize: expected an image array with shape (height, width, channels), or "
                         f"(batch_size, height, width, channels), but got input of shape {img.shape}.")
    height_axis = img.ndim - (2 if data_format == "channels_first" else 3)
    height, width = img.shape[height_axis], img.shape[height_axis + 1]
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
    box = [slice(None)] * img.ndim
    box[height_axis] = slice(top, top + crop_height)
    box[height_axis + 1] = slice(left, left + crop_width)
    return resize_images(img[tuple(box)], (target_height, target_width), interpolation, data_format).astype(_f32)


def resize_with_pad(image, target_height, target_width, interpolation="bilinear"):
    """Resize a channels-last image to fit inside `(target_height, target_width)` keeping its aspect ratio, and
    pad it with zeros to that size (the same numbers as `tf.image.resize_with_pad`)."""
    image = np.asarray(image)
    height, width = image.shape[-3], image.shape[-2]
    ratio = max(_f32(width) / _f32(target_width), _f32(height) / _f32(target_height))
    new_height, new_width = _f32(height) / ratio, _f32(width) / ratio
    pad_top = max(0, int(np.floor((_f32(target_height) - new_height) / _f32(2))))
    pad_left = max(0, int(np.floor((_f32(target_width) - new_width) / _f32(2))))
    resized = resize_images(image, (int(np.floor(new_height)), int(np.floor(new_width))), interpolation)
    out = np.zeros(image.shape[:-3] + (target_height, target_width, image.shape[-1]), resized.dtype)
    out[..., pad_top:pad_top + resized.shape[-3], pad_left:pad_left + resized.shape[-2], :] = resized
    return out
