"""Discretization: bucket continuous values by bin boundaries, given or learnt as quantiles by `adapt`."""

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.base import Layer
from mlfront.layers.preprocessing.category_encoding import encode_categories
from mlfront.layers.preprocessing.factors import choice
from mlfront.training import data as _data

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    """Maps each value to the index of its bin: `i` such that `bin_boundaries[i - 1] <= x < bin_boundaries[i]`.

    Args:
        bin_boundaries: sorted boundaries; `len(bin_boundaries) + 1` bins, the outer ones unbounded.
        num_bins: instead of `bin_boundaries`, the number of bins that `adapt` finds as quantiles of data.
        epsilon: the resolution of `adapt`'s quantile summary (a fraction of the data).
        output_mode: "int" (bin indices, int32) or "one_hot", "multi_hot", "count" (as CategoryEncoding).
        sparse: not supported (False).

    `adapt` keeps Keras's quantile summary: each batch is reduced to every `n * epsilon`-th sorted value
    (weighted by the values it stands for), summaries are merged by interpolating their cumulative weights, and
    the boundaries are the summary's `1 / num_bins` quantiles. On data smaller than `1 / epsilon` values the
    boundaries are interpolated quantiles of the data itself; on larger data they are approximate, and equal
    Keras's for the same data and batches.
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        label = f"Discretization '{self.name}'"
        self.output_mode = choice(output_mode, OUTPUT_MODES, label, "output_mode")
        if sparse:
            raise NotImplementedError(f"{label}: sparse=True is not supported; outputs are dense.")
        if num_bins is not None and (not isinstance(num_bins, (int, np.integer)) or num_bins < 0):
            raise ValueError(f"{label}: `num_bins` must be an int >= 0, got num_bins={num_bins!r}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"{label}: give `num_bins` or `bin_boundaries`, not both; got num_bins={num_bins} and "
                             f"bin_boundaries={bin_boundaries}.")
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f"{label}: set either `num_bins` or `bin_boundaries`.")
        if not 0 < epsilon < 1:
            raise ValueError(f"{label}: `epsilon` must be in (0, 1), got epsilon={epsilon!r}.")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in bin_boundaries]
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries)):
                raise ValueError(f"{label}: `bin_boundaries` must be sorted, got {bin_boundaries}.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.sparse = False
        self._summary = _empty_summary()

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Learn `num_bins - 1` boundaries as quantiles of `data`.

        Args:
            data: a NumPy array, or batches: a generator/iterator, a list of arrays, a `PyDataset`, a
                `tf.data.Dataset` or a torch DataLoader (a batch may be `(x, y)`; only `x` is used).
            batch_size: for an array, summarize it in batches of this size.
            steps: the number of batches to read from a generator/dataset (all of them when None).
        """
        if self.num_bins is None:
            raise ValueError(f"Discretization '{self.name}': adapt() needs a layer made with `num_bins`, not "
                             f"`bin_boundaries`.")
        self._summary = _empty_summary()
        for batch in self._adapt_batches(data, batch_size, steps):
            batch_summary = _summarize(np.asarray(batch).astype("float32"), self.epsilon)
            self._summary = _compress(_merge(batch_summary, self._summary), self.epsilon)
        if self._summary.shape[1] == 0:
            raise ValueError(f"Discretization '{self.name}': adapt() got no data.")
        self.bin_boundaries = _compress(self._summary, 1.0 / self.num_bins)[0, :-1].tolist() \
            if self.num_bins else []

    def _adapt_batches(self, data, batch_size, steps):
        B = _backend.get()
        if B.is_array(data):
            data = B.to_numpy(data)
        if isinstance(data, np.ndarray) and batch_size is None:
            return [data]
        if isinstance(data, (list, tuple)):
            if not all(isinstance(d, np.ndarray) or B.is_array(d) for d in data):
                return [np.asarray(data)]
            data = iter(data)  # a list of batches, as Keras 3 reads it
        adapter = _data.adapt(data, batch_size=batch_size, steps=steps)
        return (B.to_numpy(x) for i, (x, _, _) in enumerate(adapter.batches()) if steps is None or i < steps)

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        B = _backend.get()
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}': pass `bin_boundaries` or call adapt() before using "
                             f"the layer.")
        inputs = inputs if B.dtype(inputs) == "float32" else B.cast(inputs, "float32")
        if self.bin_boundaries:
            boundaries = B.convert(np.asarray(self.bin_boundaries, "float32"))
            indices = B.cast(B.sum(B.cast(B.expand_dims(inputs, -1) >= boundaries, "int32"), axis=-1), "int32")
        else:
            indices = B.cast(B.zeros_like(inputs), "int32")
        if self.output_mode == "int":
            return indices
        return encode_categories(indices, self.output_mode, len(self.bin_boundaries) + 1,
                                 caller=f"Discretization '{self.name}'")

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:1] + shape[2:] + (depth,) if len(shape) >= 2 else (depth,)

    def get_config(self):
        config = {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                  "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}
        config.pop("trainable")  # a Discretization has no weights; Keras's takes no `trainable` argument
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            # an adapted layer: rebuild it with num_bins, then restore what adapt learnt
            del config["bin_boundaries"]
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)


# ---------------------------------------------------------------------- the quantile summary (Keras's algorithm)
# A summary is a (2, k) float32 array: sorted values and the number of data values each stands for.
def _empty_summary():
    return np.zeros((2, 0), "float32")


def _summarize(values, epsilon):
    """Every `step`-th sorted value, each weighted by `step = max(n * epsilon, 1)`."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.ones_like(picked) * step])


def _merge(first, second):
    merged = np.concatenate((first, second), axis=1)
    return np.take(merged, np.argsort(merged[0]), axis=1)


def _compress(summary, epsilon):
    """At most `1 / epsilon` points: the values at cumulative-weight fractions epsilon, 2 epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    position = cumulative / cumulative[-1]
    values = np.interp(fractions, position, summary[0])
    cumulative = np.interp(fractions, position, cumulative)
    weights = cumulative - np.concatenate(([0.0], cumulative[:-1]))
    return np.stack((values, weights)).astype("float32")
