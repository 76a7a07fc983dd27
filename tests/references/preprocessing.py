"""NumPy references for the preprocessing layers, written pixel by pixel from the definitions.

They use float64 and plain loops, so they share no code (and no vectorization tricks) with mlfront's composites.
"""

import math

import numpy as np


# ---------------------------------------------------------------------- resize (tf.image.resize, half-pixel centres)
def resize(images, height, width, interpolation="bilinear"):
    n, in_h, in_w, c = images.shape
    out = np.zeros((n, height, width, c))
    sy, sx = in_h / height, in_w / width
    for i in range(height):
        for j in range(width):
            if interpolation == "nearest":
                y = min(int(math.floor((i + 0.5) * sy)), in_h - 1)
                x = min(int(math.floor((j + 0.5) * sx)), in_w - 1)
                out[:, i, j] = images[:, y, x]
                continue
            y, x = (i + 0.5) * sy - 0.5, (j + 0.5) * sx - 0.5
            y0, x0 = math.floor(y), math.floor(x)
            dy, dx = y - y0, x - x0

            def pixel(yy, xx):
                return images[:, min(max(yy, 0), in_h - 1), min(max(xx, 0), in_w - 1)]
            top = pixel(y0, x0) * (1 - dx) + pixel(y0, x0 + 1) * dx
            bottom = pixel(y0 + 1, x0) * (1 - dx) + pixel(y0 + 1, x0 + 1) * dx
            out[:, i, j] = top * (1 - dy) + bottom * dy
    return out


# ---------------------------------------------------------------------- projective transform
def _fold(v, n, mode):
    """TensorFlow's ImageProjectiveTransform coordinate mapping, one scalar at a time."""
    if mode == "constant":
        return v
    if n <= 1:
        return 0.0
    if mode == "reflect":
        if v < 0:
            v = 2 * n * int(-v / (2 * n)) + v
            v = v + 2 * n if v < -n else -v - 1
        elif v > n - 1:
            v = v - 2 * n * int(v / (2 * n))
            if v >= n:
                v = 2 * n - v - 1
    elif mode == "wrap":
        if v < 0:
            v = v + n * (int(-v / (n - 1)) + 1)
        elif v > n - 1:
            v = v - n * int(v / (n - 1))
    return min(max(v, 0.0), n - 1.0)


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    n, h, w, c = images.shape
    transforms = np.reshape(transforms, (-1, 8))
    out = np.zeros(images.shape)

    def read(b, y, x):
        return images[b, y, x] if 0 <= y < h and 0 <= x < w else np.full(c, fill_value)

    for b in range(n):
        a0, a1, a2, b0, b1, b2, c0, c1 = (float(t) for t in transforms[b if len(transforms) > 1 else 0])
        for i in range(h):
            for j in range(w):
                k = c0 * j + c1 * i + 1.0
                if k == 0:
                    out[b, i, j] = fill_value
                    continue
                x = _fold((a0 * j + a1 * i + a2) / k, w, fill_mode)
                y = _fold((b0 * j + b1 * i + b2) / k, h, fill_mode)
                if interpolation == "nearest":
                    out[b, i, j] = read(b, int(_round_half_away(y)), int(_round_half_away(x)))
                    continue
                y0, x0 = math.floor(y), math.floor(x)
                top = (x0 + 1 - x) * read(b, y0, x0) + (x - x0) * read(b, y0, x0 + 1)
                bottom = (x0 + 1 - x) * read(b, y0 + 1, x0) + (x - x0) * read(b, y0 + 1, x0 + 1)
                out[b, i, j] = (y0 + 1 - y) * top + (y - y0) * bottom
    return out


def _round_half_away(v):
    return math.copysign(math.floor(abs(v) + 0.5), v)


def rotation_transform(angle_degrees, height, width):
    """Keras's rotation about the image centre, output -> input points."""
    t = math.radians(angle_degrees)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.array([math.cos(t), -math.sin(t), cx - cx * math.cos(t) + cy * math.sin(t),
                     math.sin(t), math.cos(t), cy - cx * math.sin(t) - cy * math.cos(t), 0, 0])


# ---------------------------------------------------------------------- numeric layers
def normalize(x, mean, variance, invert=False):
    std = np.maximum(np.sqrt(variance), 1e-7)
    return mean + x * std if invert else (x - mean) / std


def category_encode(indices, num_tokens, mode, count_weights=None):
    """Rank-1 (one sample) or rank-2 (a batch of samples) integer inputs."""
    indices = np.asarray(indices)
    if mode == "one_hot":
        flat = indices[..., 0] if indices.ndim > 1 and indices.shape[-1] == 1 else indices
        return np.eye(num_tokens)[flat]
    rows = indices if indices.ndim == 2 else indices[None]
    weights = np.ones(rows.shape) if count_weights is None else np.reshape(count_weights, rows.shape)
    out = np.zeros((len(rows), num_tokens))
    for r, (row, row_weights) in enumerate(zip(rows, weights)):
        for index, weight in zip(row, row_weights):
            out[r, index] = 1.0 if mode == "multi_hot" else out[r, index] + weight
    return out if indices.ndim == 2 else out[0]
