"""RandomFlip: flips images left-right and/or upside down in training."""

from mlfront import backend as _backend
from mlfront.layers.preprocessing.factors import choice
from mlfront.layers.preprocessing.image_layer import RandomImageLayer

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"


class RandomFlip(RandomImageLayer):
    """Flips each image with probability 1/2 in training; passes images through in inference.

    Args:
        mode: "horizontal" (left-right), "vertical" (upside down) or "horizontal_and_vertical" (default). As in
            Keras 3, the last mode draws one coin per image: a flipped image is flipped both ways.
        seed: seeds the layer's own random stream for calls outside `fit`.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = choice(mode, (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL), self.label, "mode")

    def call(self, inputs, training=None):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        if not self.active(training):
            return restore(images)
        flips = self.uniform((B.shape(images)[0], 1, 1, 1), 0.0, 1.0) <= 0.5
        flips = B.broadcast_to(flips, B.shape(images))
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            images = B.where(flips, B.flip(images, 2), images)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            images = B.where(flips, B.flip(images, 1), images)
        return restore(images)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
