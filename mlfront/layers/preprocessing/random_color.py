"""RandomContrast and RandomBrightness: random per-image changes of pixel values in training."""

from mlfront import backend as _backend
from mlfront.layers.preprocessing.factors import symmetric_factor
from mlfront.layers.preprocessing.image_layer import RandomImageLayer


def _value_range(layer, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer.label}: `value_range` must be a list of two numbers, got "
                         f"value_range={value_range!r}.")
    return tuple(sorted(float(v) for v in value_range))


class RandomContrast(RandomImageLayer):
    """Scales each image's deviation from its mean (per channel) by a random factor in training.

    `output = clip((x - mean) * f + mean, *value_range)`, with `f` drawn per image from
    `[1 - lower, 1 + upper]`.

    Args:
        factor: a number `f` in [0, 1], for factors in `[1, 1 + f]` (Keras 3's rule: `lower` is clipped at 0;
            Keras 2 drew from `[1 - f, 1 + f]`), or a pair `(lower, upper)` for `[1 - lower, 1 + upper]`.
        value_range: the range outputs are clipped to, (0, 255) by default.
        seed: seeds the layer's own random stream for calls outside `fit`.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = symmetric_factor(factor, (0, 1), self.label)
        self.value_range = _value_range(self, value_range)

    def call(self, inputs, training=None):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        if not self.active(training):
            return restore(images)
        lower, upper = self.factor
        factor = self.uniform((B.shape(images)[0], 1, 1, 1), 1.0 - lower, 1.0 + upper)
        mean = B.mean(B.mean(images, axis=1, keepdims=True), axis=2, keepdims=True)
        return restore(B.clip((images - mean) * factor + mean, *self.value_range))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(RandomImageLayer):
    """Adds a random amount to each image in training: `clip(x + delta, *value_range)`.

    `delta` is drawn per image from `[lower, upper] * (value_range[1] - value_range[0])`.

    Args:
        factor: a number `f` in [-1, 1] for `[-f, f]`, or a pair `(lower, upper)`.
        value_range: the range of the pixel values, (0, 255) by default.
        seed: seeds the layer's own random stream for calls outside `fit`.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = symmetric_factor(factor, (-1, 1), self.label)
        self.value_range = _value_range(self, value_range)

    def call(self, inputs, training=None):
        B = _backend.get()
        images, restore = self.as_batch(inputs)
        if not self.active(training):
            return restore(images)
        low, high = self.value_range
        delta = self.uniform((B.shape(images)[0], 1, 1, 1), *self.factor) * (high - low)
        return restore(B.clip(images + delta, low, high))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
