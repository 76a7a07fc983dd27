"""Resizing, CenterCrop and RandomCrop: layers that change an image's height and width.

Sizes are static, so crop boxes are plain Python ints computed with Keras's arithmetic; the resampling is
the Backend's `resize` composite (the numbers of `tf.image.resize`, which Keras 3 uses on every engine).
"""

import numpy as np

from mlfront import backend as _backend
from mlfront.backend.image_sampling import RESIZE_INTERPOLATIONS
from mlfront.layers.preprocessing.factors import choice
from mlfront.layers.preprocessing.image_layer import ImagePreprocessingLayer, RandomImageLayer

_KERAS_ONLY_INTERPOLATIONS = ("bicubic", "lanczos3", "lanczos5", "area")


def aspect_crop_box(height, width, target_height, target_width):
    """`(top, left, crop_height, crop_width)`: the largest centred box with the target's aspect ratio."""
    crop_height = max(min(height, int(np.float32(width * target_height) / np.float32(target_width))), 1)
    crop_width = max(min(width, int(np.float32(height * target_width) / np.float32(target_height))), 1)
    return int((height - crop_height) / 2), int((width - crop_width) / 2), crop_height, crop_width


def resize_images(images, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                  pad_to_aspect_ratio=False, fill_value=0.0):
    """A channels_last batch resized to `(height, width)`, first cropped or padded to that aspect ratio if asked."""
    B = _backend.get()
    _, in_height, in_width, _ = B.shape(images)
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = aspect_crop_box(in_height, in_width, height, width)
        images = images[:, top:top + crop_height, left:left + crop_width, :]
    elif pad_to_aspect_ratio:
        padded_height = max(in_height, int(np.float32(in_width * height) / np.float32(width)))
        padded_width = max(in_width, int(np.float32(in_height * width) / np.float32(height)))
        # Keras pads the same amount on both sides (so an odd difference loses one row or column)
        top, left = (padded_height - in_height) // 2, (padded_width - in_width) // 2
        if top or left:
            images = B.pad(images, [(0, 0), (top, top), (left, left), (0, 0)], constant_values=fill_value)
    return B.resize(images, (height, width), interpolation)


def _check_size(layer, height, width):
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{layer.label}: `{name}` must be a positive int, got {name}={value!r}.")
    return int(height), int(width)


class Resizing(ImagePreprocessingLayer):
    """Resizes images to `(height, width)`.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default) or "nearest" (half-pixel centres, as `tf.image.resize`).
        crop_to_aspect_ratio: first crop the largest centred box with the target aspect ratio (no distortion).
        pad_to_aspect_ratio: first pad with `fill_value` to the target aspect ratio (no distortion).
        fill_mode: how padding is filled; only "constant" (as in Keras).
        fill_value: the padding value.
        antialias: not supported (False).
        data_format: "channels_last" (default) or "channels_first".

    Outputs are float32, whatever the input dtype.
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(self, height, width)
        if interpolation in _KERAS_ONLY_INTERPOLATIONS:
            raise NotImplementedError(f"{self.label}: interpolation={interpolation!r} is not supported; use one of "
                                      f"{RESIZE_INTERPOLATIONS}.")
        self.interpolation = choice(interpolation, RESIZE_INTERPOLATIONS, self.label, "interpolation")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{self.label}: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be "
                             f"True.")
        self.fill_mode = choice(fill_mode, ("constant",), self.label, "fill_mode")
        if antialias:
            raise NotImplementedError(f"{self.label}: antialias=True is not supported.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_value = float(fill_value)

    def call(self, inputs):
        images, restore = self.as_batch(inputs)
        return restore(resize_images(images, self.height, self.width, self.interpolation,
                                     self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value))

    def compute_output_shape(self, input_shape):
        return self.with_size(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": False}


class CenterCrop(ImagePreprocessingLayer):
    """Crops the central `(height, width)` region of images.

    An image smaller than the target along an axis is instead cropped to the target aspect ratio and resized
    (bilinear), as Keras does.
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(self, height, width)

    def call(self, inputs):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        _, in_height, in_width, _ = B.shape(images)
        if in_height >= self.height and in_width >= self.width:
            top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
            return restore(images[:, top:top + self.height, left:left + self.width, :])
        return restore(resize_images(images, self.height, self.width, crop_to_aspect_ratio=True))

    def compute_output_shape(self, input_shape):
        return self.with_size(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(RandomImageLayer):
    """Crops a random `(height, width)` region in training (one offset for the whole batch).

    In inference, or in training when the input is smaller than the target along an axis, it crops the
    largest centred box with the target aspect ratio and resizes it to `(height, width)` (Keras 2's rule;
    Keras 3.15 returns inference inputs unchanged, whatever their size, which contradicts its own output shape).

    Args:
        height, width: the output size.
        seed: seeds the layer's own random stream for calls outside `fit`.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = _check_size(self, height, width)

    def call(self, inputs, training=None):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        _, in_height, in_width, _ = B.shape(images)
        if self.active(training) and in_height >= self.height and in_width >= self.width:
            top = B.cast(self.uniform((), 0.0, float(in_height - self.height + 1)), "int32")
            left = B.cast(self.uniform((), 0.0, float(in_width - self.width + 1)), "int32")
            images = B.take(images, B.arange(self.height) + top, axis=1)
            return restore(B.take(images, B.arange(self.width) + left, axis=2))
        top, left, crop_height, crop_width = aspect_crop_box(in_height, in_width, self.height, self.width)
        images = images[:, top:top + crop_height, left:left + crop_width, :]
        if (crop_height, crop_width) != (self.height, self.width):
            images = B.resize(images, (self.height, self.width), "bilinear")
        return restore(images)

    def compute_output_shape(self, input_shape):
        return self.with_size(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
