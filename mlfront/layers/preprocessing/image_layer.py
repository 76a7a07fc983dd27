"""What the image preprocessing layers share: image layouts, single images or batches, random keys.

Layers compute on channels_last float batches; `ImagePreprocessingLayer.as_batch` turns any accepted input
(rank 3 or 4, channels_last or channels_first) into one and hands back the function that restores the layout.
Random layers draw from the training step's key stream, as Dropout does, so `fit` stays deterministic under
`mlfront.utils.set_random_seed`; outside a step, a layer built with a `seed` draws from its own seeded stream.
"""

import numbers

from mlfront import backend as _backend
from mlfront.backend import context as _context
from mlfront.layers.base import Layer, resolve_training
from mlfront.layers.convolutional import from_channels_last, normalize_data_format, to_channels_last
from mlfront.layers.preprocessing.concrete import concrete_values
from mlfront.random import KeyStream


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
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{self.label}: `seed` must be an int or None, got {seed!r}.")
        self.seed = None if seed is None else int(seed)
        self._own_key = None

    def active(self, training):
        return resolve_training(training)

    def next_key(self):
        """A fresh random key: from the running step's stream, else the layer's seeded stream, else a new one."""
        B = _backend.get()
        stream = _context.current()[1]
        if stream is not None or self.seed is None:
            return (stream or KeyStream()).next()
        # The seeded stream advances only on concrete keys: traced without a step's stream (mlfront.jit with no
        # seed), the layer bakes in a fixed key rather than keep a traced one.
        key, sub = B.rng_split(B.rng_key(self.seed) if self._own_key is None else self._own_key, 2)
        if concrete_values(key) is not None:
            self._own_key = key
        return sub

    def uniform(self, shape, low, high):
        """Uniform float32 samples in [low, high) from a fresh key (exactly `low` when `low == high`)."""
        return _backend.get().random_uniform(self.next_key(), shape, float(low), float(high))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
