"""Normalization: `(inputs - mean) / sqrt(variance)` with statistics given or learnt by `adapt`."""

import math

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.base import Layer
from mlfront.training import data as _data

_EPSILON = 1e-7  # Keras's backend epsilon: the smallest standard deviation divided by


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1 per entry of `axis`.

    The statistics are given (`mean`, `variance`) or computed by `adapt(data)` over every axis but `axis`;
    adapted statistics are non-trainable weights (`mean`, `variance`, `count`), so they are saved with the
    model's weights.

    Args:
        axis: the axis (int or tuple) with its own mean and variance per index; None for one scalar mean and
            variance. -1 (the default): the last axis holds the features.
        mean, variance: statistics to use instead of `adapt`, broadcast to the kept axes (both or neither).
        invert: if True, undo the normalization: `mean + inputs * sqrt(variance)`.

    Example:
        >>> layer = Normalization(axis=-1)
        >>> layer.adapt(np.array([[0., 7.], [2., 9.]]))
        >>> layer(np.array([[0., 7.]]))  # [[-1., -1.]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization '{self.name}': give both `mean` and `variance`, or neither; got "
                             f"mean={mean!r} and variance={variance!r}.")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization '{self.name}': `mean` and `variance` must have the same shape, got "
                                 f"{np.shape(mean)} and {np.shape(variance)}.")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization '{self.name}': `mean` has rank {np.ndim(mean)}, more than the "
                                 f"number of kept axes {self.axis}.")
        self.input_mean = None if mean is None else np.asarray(mean, "float32")
        self.input_variance = None if variance is None else np.asarray(variance, "float32")
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Normalization '{self.name}': `axis` {self.axis} is out of range for inputs of rank "
                             f"{ndim}.")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        for a in self._keep:
            if input_shape[a] is None:
                raise ValueError(f"Normalization '{self.name}': kept axis {a} must have a known size, got input "
                                 f"shape {tuple(input_shape)}.")
        self._reduce = tuple(a for a in range(ndim) if a not in self._keep)
        self._build_shape = tuple(input_shape)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep else 1 for a in range(ndim))
        stats_shape = tuple(input_shape[a] for a in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", stats_shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", stats_shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False, dtype="int32")
        else:
            self._given = [self._broadcast_given(v, ndim) for v in (self.input_mean, self.input_variance)]
        self.built = True

    def _broadcast_given(self, value, ndim):
        # trailing dimensions of `value` line up with the last kept axes
        shape = [1] * ndim
        for i in range(1, value.ndim + 1):
            shape[self._keep[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(shape), self._broadcast_shape).astype("float32")
        except ValueError:
            raise ValueError(f"Normalization '{self.name}': `mean`/`variance` of shape {value.shape} cannot be "
                             f"broadcast to the kept axes' shape {self._broadcast_shape}.") from None

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of `data` over every axis but `axis`.

        Args:
            data: a NumPy array, or batches: a generator/iterator, a list of arrays, a `PyDataset`, a
                `tf.data.Dataset` or a torch DataLoader (a batch may be `(x, y)`; only `x` is used).
            batch_size: for an array, go through it in batches of this size (same statistics).
            steps: the number of batches to read from a generator/dataset (all of them when None).
        """
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}': adapt() cannot be used when `mean` and `variance` "
                             f"were given.")
        batches = self._adapt_batches(data, batch_size, steps)
        count, mean, var = 0, None, None
        for batch in batches:
            batch = np.asarray(batch, "float64")
            if not self.built:
                self.build(batch.shape)
            self._check_adapt_shape(batch.shape)
            n = math.prod(batch.shape[a] for a in self._reduce) if self._reduce else 1
            if n == 0:
                continue
            b_mean, b_var = batch.mean(axis=self._reduce), batch.var(axis=self._reduce)
            if count == 0:
                count, mean, var = n, b_mean, b_var
                continue
            # merge two (count, mean, variance) summaries exactly
            total = count + n
            new_mean = mean + (b_mean - mean) * (n / total)
            var = (var + (mean - new_mean) ** 2) * (count / total) + (b_var + (b_mean - new_mean) ** 2) * (n / total)
            count, mean = total, new_mean
        if count == 0:
            raise ValueError(f"Normalization '{self.name}': adapt() got no data.")
        self.adapt_mean.assign(np.asarray(mean, "float32"))
        self.adapt_variance.assign(np.asarray(var, "float32"))
        self.count.assign(np.asarray(min(count, 2**31 - 1), "int32"))

    def _adapt_batches(self, data, batch_size, steps):
        B = _backend.get()
        if isinstance(data, np.ndarray) or B.is_array(data):
            array = B.to_numpy(data) if B.is_array(data) else data
            if batch_size is None:
                return [array]
            data = array
        elif isinstance(data, (list, tuple)) and data and all(isinstance(d, np.ndarray) or B.is_array(d)
                                                            for d in data):
            data = iter(data)  # a list of batches, as Keras 3 reads it
        elif isinstance(data, (list, tuple)):
            return [np.asarray(data)] if batch_size is None else self._adapt_batches(np.asarray(data),
                                                                                    batch_size, steps)
        adapter = _data.adapt(data, batch_size=batch_size, steps=steps)
        return (B.to_numpy(x) for x, _, _ in _limit(adapter.batches(), steps))

    def _check_adapt_shape(self, shape):
        if len(shape) != len(self._build_shape) or any(shape[a] != self._build_shape[a] for a in self._keep):
            raise ValueError(f"Normalization '{self.name}': adapt() got data of shape {tuple(shape)}, incompatible "
                             f"with the layer's input shape {self._build_shape} on the kept axes {self._keep}.")

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        B = _backend.get()
        inputs = inputs if B.dtype(inputs) == self.dtype else B.cast(inputs, self.dtype)
        if self.input_mean is None:
            mean = B.reshape(self.adapt_mean.value, self._broadcast_shape)
            variance = B.reshape(self.adapt_variance.value, self._broadcast_shape)
        else:
            mean, variance = (B.convert(v) for v in self._given)
        std = B.maximum(B.sqrt(variance), _EPSILON)
        return mean + inputs * std if self.invert else (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def as_list(value):
            return None if value is None else value.tolist()
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": as_list(self.input_mean), "variance": as_list(self.input_variance)}


def _limit(batches, steps):
    for i, batch in enumerate(batches):
        if steps is not None and i >= steps:
            return
        yield batch
