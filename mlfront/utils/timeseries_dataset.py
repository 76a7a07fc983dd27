"""`timeseries_dataset_from_array`: sliding windows over an array, as a dataset of batches."""

import numpy as np

from mlfront.utils.dataset_utils import BatchedDataset


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Creates a dataset of sliding windows over a timeseries (Keras 3 semantics).

    Window `i` starts at step `start_index + i * sequence_stride` and takes `sequence_length` steps, one every
    `sampling_rate` steps; its target is `targets[start_index + i * sequence_stride]` (the step at which the
    window starts). Windows are gathered from `data` when their batch is requested.

    Args:
        data: an array (or anything `np.asarray` reads, e.g. a list or DataFrame) of timesteps, first axis time.
        targets: targets for the windows (first axis time, as `data`), or None for a dataset of windows only.
        sequence_length: the number of timesteps in each window.
        sequence_stride: the step between the starts of consecutive windows (default 1).
        sampling_rate: the step between the timesteps within a window (default 1).
        batch_size: windows per batch (default 128); None yields single windows.
        shuffle: shuffle the windows (a new order every epoch).
        seed: seed of the shuffling.
        start_index: the first timestep of `data` used (default 0).
        end_index: the timestep after the last one used (default `len(data)`).

    Returns:
        A `BatchedDataset` of `(windows, targets)` batches, `windows` of shape
        `(batch, sequence_length) + data.shape[1:]` (`windows` alone when `targets` is None).

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(100), None, sequence_length=10, batch_size=8)
        >>> ds[0].shape
        (8, 10)
    """
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"timeseries_dataset_from_array: `data` must be an array with a time axis first, "
                         f"got a scalar {data!r}.")
    n = len(data)
    _check_indices(start_index, end_index, n)
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, "
                             f"for data of length {n}")
    if int(sequence_length) != sequence_length or sequence_length < 1:
        raise ValueError(f"timeseries_dataset_from_array: `sequence_length` must be a positive integer, "
                         f"got {sequence_length!r}.")
    start = start_index or 0
    end = n if end_index is None else end_index
    targets = None if targets is None else np.asarray(targets)

    num_windows = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_windows = min(num_windows, len(targets))
    starts = np.arange(0, max(num_windows, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = int(np.random.randint(1e6))
        np.random.RandomState(seed).shuffle(starts)
    steps = np.arange(sequence_length) * sampling_rate
    window_data = data[start:end]
    window_targets = None if targets is None else targets[start:end]

    def load(indices):
        first = starts[indices]
        windows = window_data[first[:, None] + steps]
        return windows if window_targets is None else (windows, window_targets[first])
    return BatchedDataset(load, len(starts), batch_size=batch_size, shuffle=shuffle, seed=seed)


def _check_indices(start_index, end_index, n):
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
