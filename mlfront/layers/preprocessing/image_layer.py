"""What the image preprocessing layers share: image layouts, single images or batches, random keys.

Layers compute on channels_last float batches; `ImagePreprocessingLayer.as_batch` turns any accepted input
(rank 3 or 4, channels_last or channels_first) into one and hands back the function that restores the layout.
Random layers draw from the training step's key stream, as Dropout does, so `fit` stays deterministic under
`mlfront.utils.set_random_seed`; outside a step, a layer built with a `seed` draws from its own seeded stream.
"""


from mlfront import backend as _backend
from mlfront.layers.base import Layer, check_seed, next_key, resolve_training
from mlfront.layers.convolutional import from_channels_last, normalize_data_format, to_channels_last


class ImagePreprocessingLayer(Layer):
    """Base of the image layers. `data_format` is "channels_last" (default) or "channels_first"."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, self.label)
        self.supports_masking = False

    @property
    def label(self):
        """How errors name this layer: `RandomFlip 'random_flip'`."""
        return f"{type(self).__name__} '{self.name}'"

    def as_batch(self, inputs):
        """`(images, restore)`: `inputs` as a channels_last float batch, and `restore(outputs)` to undo that."""
        B = _backend.get()
        rank = len(B.shape(inputs))
        if rank not in (3, 4):
            raise ValueError(f"{self.label}: expected an image (rank 3) or a batch of images (rank 4), got an "
                             f"input of shape {tuple(B.shape(inputs))}.")
        images = inputs if B.dtype(inputs) == self.dtype else B.cast(inputs, self.dtype)
        images = to_channels_last(B, B.expand_dims(images, 0) if rank == 3 else images, self.data_format)

        def restore(outputs):
            outputs = from_channels_last(B, outputs, self.data_format)
            return B.squeeze(outputs, 0) if rank == 3 else outputs
        return images, restore

    def spatial_axes(self, rank):
        """(height axis, width axis) of an input of `rank` 3 or 4."""
        if rank not in (3, 4):
            raise ValueError(f"{self.label}: expected an input shape of rank 3 or 4, got rank {rank}.")
        first = rank - 3 if self.data_format == "channels_last" else rank - 2
        return first, first + 1

    def with_size(self, input_shape, height, width):
        """`input_shape` with its height and width replaced."""
        shape = list(input_shape)
        h_axis, w_axis = self.spatial_axes(len(shape))
        shape[h_axis], shape[w_axis] = height, width
        return tuple(shape)

    def compute_output_shape(self, input_shape):
        self.spatial_axes(len(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class RandomImageLayer(ImagePreprocessingLayer):
    """Base of the random image layers: active only in training; `seed` seeds standalone calls."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = check_seed(seed, self.label)

    def active(self, training):
        return resolve_training(training)

    def next_key(self):
        """A fresh random key: from the running step's stream, else the layer's seeded stream, else a new one."""
        return next_key(self)

    def uniform(self, shape, low, high):
        """Uniform float32 samples in [low, high) from a fresh key (exactly `low` when `low == high`)."""
        return _backend.get().random_uniform(self.next_key(), shape, float(low), float(high))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
