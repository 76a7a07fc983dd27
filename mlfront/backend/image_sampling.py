"""Image sampling written once on Backend primitives: the `resize` and `affine_transform` composites.

Images are channels_last batches `(batch, height, width, channels)` of floats. The numbers follow what Keras 3
uses on every engine: `tf.image.resize` (half-pixel centres, no antialiasing) and the projective transform of
`tf.raw_ops.ImageProjectiveTransformV3`, including its coordinate folding for each fill mode.
"""

import numpy as np

RESIZE_INTERPOLATIONS = ("bilinear", "nearest")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def check_choice(value, choices, argument, caller):
    if value not in choices:
        raise ValueError(f"{caller}: `{argument}` must be one of {choices}, got {value!r}.")


# ---------------------------------------------------------------------- resize
def resize_sources(in_size, out_size, interpolation):
    """Where each output index along one axis reads from: `(lower, upper, weight of upper)`, in NumPy.

    Half-pixel centres: output index `i` sits at input position `(i + 0.5) * in_size / out_size - 0.5`;
    computed in float32 like TensorFlow. "nearest" reads `floor((i + 0.5) * scale)` and has no weight.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    centres = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale
    if interpolation == "nearest":
        index = np.clip(np.floor(centres), 0, in_size - 1).astype(np.int32)
        return index, index, None
    position = centres - np.float32(0.5)
    base = np.floor(position)
    lower = np.maximum(base, 0).astype(np.int32)
    upper = np.minimum(np.ceil(position), in_size - 1).astype(np.int32)
    return lower, upper, (position - base).astype(np.float32)


def resize(B, images, size, interpolation="bilinear"):
    """`images` resized to `size = (height, width)`, like `tf.image.resize(images, size, method)`."""
    check_choice(interpolation, RESIZE_INTERPOLATIONS, "interpolation", "resize")
    out = images
    # Width first, then height: the order of TensorFlow's two linear interpolations.
    for axis in (2, 1):
        in_size, out_size = B.shape(out)[axis], int(size[axis - 1])
        if in_size == out_size:
            continue
        lower, upper, weight = resize_sources(in_size, out_size, interpolation)
        low = B.take(out, B.convert(lower), axis=axis)
        if weight is None:
            out = low
            continue
        high = B.take(out, B.convert(upper), axis=axis)
        shape = [1, 1, 1, 1]
        shape[axis] = out_size
        out = low + (high - low) * B.convert(weight.reshape(shape))
    return out


# ---------------------------------------------------------------------- affine (projective) transform
def affine_transform(B, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """`images` transformed by `transforms`, like `tf.raw_ops.ImageProjectiveTransformV3`.

    A transform `[a0, a1, a2, b0, b1, b2, c0, c1]` maps each output pixel `(x, y)` to the input point
    `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`. `transforms` is `(8,)` or
    `(batch or 1, 8)`. Points outside the image are folded back in by `fill_mode` ("reflect", "wrap",
    "nearest") or read as `fill_value` ("constant").
    """
    check_choice(interpolation, AFFINE_INTERPOLATIONS, "interpolation", "affine_transform")
    check_choice(fill_mode, FILL_MODES, "fill_mode", "affine_transform")
    batch, height, width, _ = B.shape(images)
    transforms = B.cast(transforms, "float32")
    if len(B.shape(transforms)) == 1:
        transforms = B.reshape(transforms, (1, 8))
    count = B.shape(transforms)[0]
    a0, a1, a2, b0, b1, b2, c0, c1 = (B.reshape(transforms[:, i], (count, 1, 1)) for i in range(8))
    xs = B.reshape(B.arange(width, dtype="float32"), (1, 1, width))
    ys = B.reshape(B.arange(height, dtype="float32"), (1, height, 1))
    projection = c0 * xs + c1 * ys + 1.0
    at_infinity = B.equal(projection, 0.0)
    projection = B.where(at_infinity, B.ones_like(projection), projection)
    in_x = _fold(B, (a0 * xs + a1 * ys + a2) / projection, width, fill_mode)
    in_y = _fold(B, (b0 * xs + b1 * ys + b2) / projection, height, fill_mode)
    in_x, in_y = (B.broadcast_to(v, (batch, height, width)) for v in (in_x, in_y))

    read = _Reader(B, images, fill_value)
    if interpolation == "nearest":
        out = read(_round_half_away(B, in_y), _round_half_away(B, in_x))
    else:
        x0, y0 = B.floor(in_x), B.floor(in_y)
        x1, y1 = x0 + 1.0, y0 + 1.0
        wx0, wx1 = B.expand_dims(x1 - in_x, -1), B.expand_dims(in_x - x0, -1)
        wy0, wy1 = B.expand_dims(y1 - in_y, -1), B.expand_dims(in_y - y0, -1)
        top = wx0 * read(y0, x0) + wx1 * read(y0, x1)
        bottom = wx0 * read(y1, x0) + wx1 * read(y1, x1)
        out = wy0 * top + wy1 * bottom
    at_infinity = B.broadcast_to(B.expand_dims(at_infinity, -1), B.shape(out))
    return B.where(at_infinity, B.zeros_like(out) + fill_value, out)


def _fold(B, coord, length, fill_mode):
    """Input coordinates folded into `[0, length - 1]` the way TensorFlow's kernel does for `fill_mode`.

    TensorFlow's "wrap" divides by `length - 1` where a plain wrap would divide by `length`; kept as it is, since
    Keras's numbers on the TensorFlow backend are the reference.
    """
    if fill_mode == "constant":
        return coord
    last = float(length - 1)
    if length <= 1:
        return B.zeros_like(coord)
    if fill_mode == "reflect":
        span = 2.0 * length
        below = coord + span * B.floor(-coord / span)
        below = B.where(below < -length, below + span, -below - 1.0)
        above = coord - span * B.floor(coord / span)
        above = B.where(above >= length, span - above - 1.0, above)
        coord = B.where(coord < 0, below, B.where(coord > last, above, coord))
    elif fill_mode == "wrap":
        below = coord + length * (B.floor(-coord / last) + 1.0)
        above = coord - length * B.floor(coord / last)
        coord = B.where(coord < 0, below, B.where(coord > last, above, coord))
    return B.clip(coord, 0.0, last)


def _round_half_away(B, v):
    """Round to the nearest integer, halves away from zero (C's `round`, which TensorFlow uses)."""
    return B.sign(v) * B.floor(B.abs(v) + 0.5)


class _Reader:
    """Reads `images[b, y, x, :]` at integer-valued float coordinates, `fill_value` outside the image."""

    def __init__(self, B, images, fill_value):
        self.B = B
        self.batch, self.height, self.width, self.channels = B.shape(images)
        self.flat = B.reshape(images, (-1, self.channels))
        self.fill_value = fill_value
        self.offsets = B.reshape(B.arange(self.batch) * (self.height * self.width), (self.batch, 1, 1))

    def __call__(self, y, x):
        B = self.B
        inside = (B.cast(y >= 0, "float32") * B.cast(y <= self.height - 1, "float32")
                  * B.cast(x >= 0, "float32") * B.cast(x <= self.width - 1, "float32")) > 0
        yi = B.cast(B.clip(y, 0.0, float(self.height - 1)), "int32")
        xi = B.cast(B.clip(x, 0.0, float(self.width - 1)), "int32")
        index = B.reshape(self.offsets + yi * self.width + xi, (-1,))
        values = B.reshape(B.take(self.flat, index, axis=0), (self.batch, self.height, self.width, self.channels))
        inside = B.broadcast_to(B.expand_dims(inside, -1), B.shape(values))
        return B.where(inside, values, B.zeros_like(values) + self.fill_value)
