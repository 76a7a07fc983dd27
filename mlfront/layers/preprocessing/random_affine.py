"""RandomRotation, RandomZoom and RandomTranslation: random affine warps of images in training.

Each layer draws its parameters per image, builds Keras's transform `[a0, a1, a2, b0, b1, b2, 0, 0]` (output
pixel -> input point) and samples with the Backend's `affine_transform`. In inference they pass images through.
"""

import math

from mlfront import backend as _backend
from mlfront.backend.image_sampling import AFFINE_INTERPOLATIONS, FILL_MODES
from mlfront.layers.preprocessing.factors import choice, symmetric_factor, translation_factor, zoom_factor
from mlfront.layers.preprocessing.image_layer import RandomImageLayer


class _RandomAffine(RandomImageLayer):
    """Shared arguments and call of the affine layers; subclasses build the transforms."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        # Keras 3 raises NotImplementedError for these two
        self.fill_mode = choice(fill_mode, FILL_MODES, self.label, "fill_mode", NotImplementedError)
        self.interpolation = choice(interpolation, AFFINE_INTERPOLATIONS, self.label, "interpolation",
                                    NotImplementedError)
        self.fill_value = float(fill_value)

    def call(self, inputs, training=None):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        if not self.active(training):
            return restore(images)
        batch, height, width, _ = B.shape(images)
        transforms = self.transforms(batch, height, width)
        return restore(B.affine_transform(images, transforms, self.interpolation, self.fill_mode, self.fill_value))

    def transforms(self, batch, height, width):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def _affine_rows(B, a0, a1, a2, b0, b1, b2):
    """(batch, 8) transforms from (batch,) columns; the projective part is zero."""
    zeros = B.zeros_like(a0)
    return B.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


class RandomRotation(_RandomAffine):
    """Rotates images by a random angle in training.

    Args:
        factor: a fraction of a full turn: a number `f` for angles in `[-f, f] * 360` degrees, or a pair
            `(lower, upper)`; within [-1, 1]. Positive angles turn counter-clockwise.
        fill_mode: how points outside the image are filled: "reflect" (default), "wrap", "constant", "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: seeds the layer's own random stream for calls outside `fit`.
        fill_value: the value outside the image with fill_mode "constant".
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = symmetric_factor(factor, (-1, 1), self.label)

    def transforms(self, batch, height, width):
        B = _backend.get()
        lower, upper = self.factor
        angle = self.uniform((batch,), lower * 360.0, upper * 360.0) * (math.pi / 180.0)
        cos, sin = B.cos(angle), B.cos(math.pi / 2 - angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)  # rotate about the image centre
        a2 = cx - cx * cos + cy * sin
        b2 = cy - cx * sin - cy * cos
        return _affine_rows(B, cos, -sin, a2, sin, cos, b2)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_RandomAffine):
    """Zooms images in or out by a random amount in training.

    Args:
        height_factor: a number `f` or a pair `(lower, upper)`, each in (-1, 1]: the vertical zoom is drawn
            from `[1 + lower, 1 + upper]` (`[1 - f, 1 + f]`); values above 1 zoom out, below 1 zoom in.
        width_factor: the same for the horizontal zoom; None keeps the aspect ratio (same zoom as vertical).
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = zoom_factor(height_factor, self.label, "height_factor")
        self._width_range = None if width_factor is None else zoom_factor(width_factor, self.label, "width_factor")

    def transforms(self, batch, height, width):
        B = _backend.get()
        zoom_y = self.uniform((batch,), 1.0 + self._height_range[0], 1.0 + self._height_range[1])
        zoom_x = zoom_y if self._width_range is None else \
            self.uniform((batch,), 1.0 + self._width_range[0], 1.0 + self._width_range[1])
        # zoom about the image centre
        x_offset = (width - 1.0) / 2.0 * (1.0 - zoom_x)
        y_offset = (height - 1.0) / 2.0 * (1.0 - zoom_y)
        zeros = B.zeros_like(zoom_x)
        return _affine_rows(B, zoom_x, zeros, x_offset, zeros, zoom_y, y_offset)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_RandomAffine):
    """Shifts images by a random offset in training.

    Args:
        height_factor: a number `f` or a pair `(lower, upper)`, each in [-1, 1], as fractions of the height:
            the vertical shift is drawn from `[lower, upper] * height` (`[-f, f] * height`); positive moves down.
        width_factor: the same for the horizontal shift, as fractions of the width; positive moves right.
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = translation_factor(height_factor, self.label, "height_factor")
        self._width_range = translation_factor(width_factor, self.label, "width_factor")

    def transforms(self, batch, height, width):
        B = _backend.get()
        shift_y = self.uniform((batch,), *self._height_range) * float(height)
        shift_x = self.uniform((batch,), *self._width_range) * float(width)
        ones, zeros = B.ones_like(shift_x), B.zeros_like(shift_x)
        return _affine_rows(B, ones, zeros, -shift_x, zeros, ones, -shift_y)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}
