"""Scanning folders of labelled files, and the engine-neutral dataset the dataset builders return.

`index_directory` lists a folder's files with their labels the way Keras 3 does (shared by
`image_dataset_from_directory`, `text_dataset_from_directory` and Keras 2's `flow_from_directory`).
`BatchedDataset` is what the builders return instead of a `tf.data.Dataset`: a `PyDataset` of NumPy batches
that `fit` / `evaluate` / `predict` read on every engine, with the parts of the tf.data API users call on it.
"""

import os

import numpy as np

from mlfront.training.data import PyDataset


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """List the files of `directory` whose names end with one of `formats`, with their integer labels.

    Files are listed class by class (each class's files in sorted path order, walking nested folders too),
    then, when `shuffle`, all shuffled together with `np.random.RandomState(seed)` (labels with the same
    permutation), as Keras 3 does.

    Args:
        directory: the folder to scan.
        labels: `"inferred"` (one subfolder per class, the label is the subfolder), `None` (no labels; the
            whole tree is scanned) or a list/tuple of integer labels, one per file in sorted path order.
        formats: a tuple of allowed file extensions, lowercase with the dot, e.g. `(".png", ".jpg")`.
        class_names: only with `labels="inferred"`: the subfolders to use, in label order (default: every
            subfolder not starting with ".", sorted).
        shuffle: shuffle the files (default True); else they stay in sorted order.
        seed: the shuffling seed (a random one when None).
        follow_links: also descend into folders that are symbolic links.
        verbose: print how many files and classes were found.

    Returns:
        `(file_paths, labels, class_names)`: a list of paths (`directory` joined with the relative path), an
        int32 NumPy array of labels (None when `labels=None`) and the list of class names (None when
        `labels=None`; the sorted label values as strings for explicit labels).

    Raises:
        ValueError: `directory` is not a folder, `class_names` does not match its subfolders or is given
            without `labels="inferred"`, or `labels` does not have one entry per file.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory!r}: it does not exist or is not a folder.")
    formats = tuple(f.lower() for f in ((formats,) if isinstance(formats, str) else formats))
    if isinstance(labels, str) and labels == "inferred":
        subdirs = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"The `class_names` passed did not match the names of the subdirectories of "
                                 f"{directory!r}. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}.")
            subdirs = class_names
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be passed with `labels=\"inferred\"`; with "
                             + ("`labels=None` there are no classes." if labels is None else
                                "explicit `labels` the class names are the sorted label values."))
        if labels is not None and not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(f"`labels` must be \"inferred\", None or a list/tuple of integer labels; "
                             f"got {labels!r}.")
        subdirs = [""]

    file_paths, label_list = [], []
    for index, subdir in enumerate(subdirs):
        for path in _iter_files(os.path.join(directory, subdir), formats, follow_links):
            file_paths.append(os.path.join(directory, subdir, path) if subdir else os.path.join(directory, path))
            label_list.append(index)

    if isinstance(labels, str):
        class_names = list(subdirs)
        labels = np.asarray(label_list, dtype="int32")
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(file_paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target "
                             f"directory. len(labels) is {len(labels)} while we found {len(file_paths)} files "
                             f"in directory {directory!r}.")
        labels = np.asarray(labels)
        class_names = [str(label) for label in sorted(set(labels.tolist()))]
        labels = labels.astype("int32")
    if verbose:
        found = f"Found {len(file_paths)} files"
        print(found + "." if labels is None else f"{found} belonging to {len(class_names)} classes.")

    if shuffle:
        order = np.arange(len(file_paths))
        # same draws as Keras's `RandomState(seed).shuffle(file_paths)`: the same permutation for a seed
        np.random.RandomState(np.random.randint(1e6) if seed is None else seed).shuffle(order)
        file_paths = [file_paths[i] for i in order]
        if labels is not None:
            labels = labels[order]
    return file_paths, labels, class_names


def _iter_files(folder, formats, follow_links):
    """Paths relative to `folder` of its files (recursively) ending with `formats`, folders in sorted order."""
    walk = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.relpath(os.path.join(root, name), folder)


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    """Keras's checks of `validation_split` / `subset` / `seed` for the dataset builders."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"`subset` must be either \"training\", \"validation\" or \"both\", received: {subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, "
                         "to make sure that there is no overlap between the training and validation subset.")


def split_for_subset(samples, labels, validation_split, subset, verbose=True):
    """The `subset` ("training": the first part, "validation": the last `validation_split` fraction) of the
    samples and labels; all of them when `validation_split` is not set."""
    if not validation_split:
        return samples, labels
    cut = len(samples) - int(validation_split * len(samples))
    part = slice(None, cut) if subset == "training" else slice(cut, None)
    if verbose:
        print(f"Using {cut if subset == 'training' else len(samples) - cut} files for {subset}.")
    return samples[part], None if labels is None else labels[part]


def labelled_file_datasets(paths, labels, read_batch, *, subset, validation_split, shuffle, seed, batch_size,
                           label_mode, class_names, verbose, missing):
    """The `BatchedDataset` of labelled files for `subset` (a list [training, validation] for "both").

    `read_batch(paths)` reads a batch of samples from their files, lazily per batch; `missing(kind)` is the
    error message when a subset holds no file.
    """
    def build(subset_name, shuffled, kind=""):
        part_paths, part_labels = split_for_subset(paths, labels, validation_split, subset_name, verbose)
        if not part_paths:
            raise ValueError(missing(kind))
        encoded = None if label_mode is None else encode_labels(part_labels, label_mode, len(class_names))

        def load(indices):
            samples = read_batch([part_paths[i] for i in indices])
            return samples if encoded is None else (samples, encoded[indices])
        return BatchedDataset(load, len(part_paths), batch_size=batch_size, shuffle=shuffled, seed=seed,
                              class_names=class_names, file_paths=list(part_paths))

    if subset == "both":
        # as Keras: the validation part is not reshuffled each epoch
        return [build("training", shuffle, "training "), build("validation", False, "validation ")]
    return build(subset, shuffle)


def encode_labels(labels, label_mode, num_classes):
    """Integer labels as Keras's `label_mode` gives them: "int" (int32), "categorical" (one-hot float32) or
    "binary" (float32 of shape (n, 1))."""
    labels = np.asarray(labels, dtype="int32")
    if label_mode == "categorical" and labels.size and not 0 <= labels.min() <= labels.max() < num_classes:
        raise ValueError(f"label_mode=\"categorical\" needs labels in [0, {num_classes}) (one per class); got "
                         f"labels from {labels.min()} to {labels.max()}.")
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels


def check_label_args(labels, label_mode, class_names, where, what):
    """Keras's checks of `labels` / `label_mode` / `class_names`; returns `(labels, label_mode)` with both None
    when the dataset has no labels."""
    if not (labels is None or isinstance(labels, str) and labels == "inferred"):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"{where}: `labels` argument should be a list/tuple of integer labels, of the same "
                             f"size as the number of {what} files in the target directory. If you wish to infer "
                             f"the labels from the subdirectory names in the target directory, pass "
                             f"`labels=\"inferred\"`. If you wish to get a dataset that only contains {what} "
                             f"samples (no labels), pass `labels=None`. Received: labels={labels!r}")
        if class_names:
            raise ValueError(f"{where}: you can only pass `class_names` if `labels=\"inferred\"`. Received: "
                             f"labels={labels!r}, and class_names={class_names!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{where}: `label_mode` argument must be one of \"int\", \"categorical\", \"binary\", "
                         f"or None. Received: label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


class BatchedDataset(PyDataset):
    """The dataset that `image_dataset_from_directory`, `text_dataset_from_directory` and
    `timeseries_dataset_from_array` return: batches of NumPy arrays, loaded lazily, that `fit`, `evaluate`
    and `predict` read on every engine (what Keras returns as a `tf.data.Dataset`).

    Indexing gives batch `i` of the current epoch, `(x, y)` or `x` alone for a dataset without labels;
    iterating yields one epoch of batches. With `shuffle=True` the samples are put in a new order every epoch
    (at the end of each iteration and at `on_epoch_end`), repeatably for a given `seed`. Samples are loaded
    (files read and decoded) only when their batch is requested, so loading overlaps training: `fit` loads
    upcoming batches on background threads.

    Also offers the parts of the `tf.data.Dataset` API used on these datasets: `take`, `unbatch`, `batch`,
    `map`, `cache`, `prefetch`, `cardinality`, `as_numpy_iterator`, and `as_tf_dataset()` on engines that
    have a native dataset type (TensorFlow).

    Args:
        load: a function of an array of sample indices returning their batch: an array, or a tuple of arrays
            (e.g. `(x, y)`), each with a first axis of `len(indices)`.
        num_samples: how many samples there are.
        batch_size: samples per batch; None gives single samples without a batch axis.
        shuffle: reshuffle the samples every epoch.
        seed: seed of the shuffling (random when None).
        class_names: the class names, as Keras sets them (None for unlabelled or timeseries data).
        file_paths: the files of the samples, in their order before any per-epoch shuffling (None when the
            data does not come from files).

    Attributes:
        class_names: as above.
        file_paths: as above.
    """

    def __init__(self, load, num_samples, batch_size=32, shuffle=False, seed=None, class_names=None,
                 file_paths=None):
        super().__init__()
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"BatchedDataset: `batch_size` must be a positive integer or None, "
                             f"got {batch_size!r}.")
        self._load = load
        self._num_samples = int(num_samples)
        self._batch_size = None if batch_size is None else int(batch_size)
        self._shuffle = bool(shuffle)
        self._seed = int(np.random.randint(1e6)) if seed is None else int(seed)
        self._epoch = 0
        self._order = (None, None)
        self._limit = None  # samples, set by `take`
        self._maps = ()
        self._cache = None
        self.class_names = class_names
        self.file_paths = file_paths

    # -- the PyDataset contract ------------------------------------------------------------------------------
    def __len__(self):
        n = self._visible_samples()
        return n if self._batch_size is None else -(-n // self._batch_size)

    def __getitem__(self, index):
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"BatchedDataset: batch index {index} out of range for {count} batches.")
        index %= count
        size = self._batch_size or 1
        positions = np.arange(index * size, min((index + 1) * size, self._visible_samples()))
        batch = self._fetch(self._epoch_order()[positions])
        if self._batch_size is None:
            batch = _map_arrays(lambda a: a[0], batch)
        for fn in self._maps:
            batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
        return batch

    def on_epoch_end(self):
        """Start a new epoch: with `shuffle=True`, the samples get a new order."""
        self._epoch += 1

    def __iter__(self):
        try:
            for index in range(len(self)):
                yield self[index]
        finally:
            self.on_epoch_end()

    # -- the tf.data-like API ----------------------------------------------------------------------------------
    def cardinality(self):
        """The number of batches (elements when unbatched), as an int."""
        return len(self)

    def take(self, count):
        """A dataset of the first `count` batches (elements when unbatched) of each epoch; -1 takes all."""
        count = int(count)
        if count < -1:
            raise ValueError(f"BatchedDataset.take: `count` must be -1 or non-negative, got {count}.")
        derived = self._derive()
        if count >= 0:
            derived._limit = min(self._visible_samples(), count * (self._batch_size or 1))
        return derived

    def unbatch(self):
        """A dataset of single samples (no batch axis); transformations from `map` must come after it."""
        if self._maps:
            raise ValueError("BatchedDataset.unbatch: call unbatch() before map(), whose function was "
                             "written for batches.")
        derived = self._derive()
        derived._batch_size = None
        return derived

    def batch(self, batch_size, drop_remainder=False):
        """A dataset of batches of `batch_size` samples, after `unbatch()` (batches of batches are not
        supported)."""
        if drop_remainder:
            raise NotImplementedError("BatchedDataset.batch: `drop_remainder=True` is not supported.")
        if self._batch_size is not None:
            raise ValueError(f"BatchedDataset.batch: the dataset is already batched (batch_size="
                             f"{self._batch_size}); call unbatch() first to batch it differently.")
        if self._maps:
            raise ValueError("BatchedDataset.batch: call batch() before map(), whose function was written "
                             "for the current batches.")
        if batch_size is None or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"BatchedDataset.batch: `batch_size` must be a positive integer, got {batch_size!r}.")
        derived = self._derive()
        derived._batch_size = int(batch_size)
        return derived

    def map(self, map_func, num_parallel_calls=None, deterministic=None):
        """A dataset whose batches are `map_func(x, y)` (`map_func(x)` without labels) of these NumPy batches,
        like `tf.data.Dataset.map` (a tuple is passed as separate arguments). `num_parallel_calls` and
        `deterministic` are accepted for compatibility: `fit` already loads batches on background threads."""
        if not callable(map_func):
            raise TypeError(f"BatchedDataset.map: `map_func` must be callable, got {type(map_func).__name__}.")
        derived = self._derive()
        derived._maps = self._maps + (map_func,)
        return derived

    def cache(self, filename=""):
        """A dataset that keeps each sample in memory once loaded (files are read and decoded once); functions
        given to `map` still run on every batch. Only the in-memory cache exists: `filename` must be ""."""
        if filename:
            raise NotImplementedError(f"BatchedDataset.cache: caching to a file is not supported "
                                      f"(filename={filename!r}); call cache() to cache in memory.")
        derived = self._derive()
        if derived._cache is None:
            derived._cache = {}
        return derived

    def prefetch(self, buffer_size):
        """A dataset `fit` loads up to `buffer_size` batches ahead of the step (its `max_queue_size`; `fit`
        always prefetches on a background thread). -1 (`tf.data.AUTOTUNE`) keeps the default of 10."""
        buffer_size = int(buffer_size)
        if buffer_size == 0 or buffer_size < -1:
            raise ValueError(f"BatchedDataset.prefetch: `buffer_size` must be positive or -1 (AUTOTUNE), "
                             f"got {buffer_size}.")
        derived = self._derive()
        if buffer_size > 0:
            derived.max_queue_size = buffer_size
        return derived

    def as_numpy_iterator(self):
        """An iterator over one epoch of NumPy batches (what iterating the dataset gives)."""
        return iter(self)

    def as_tf_dataset(self):
        """This dataset as the engine's own dataset type (a `tf.data.Dataset` on TensorFlow), read through a
        generator; raises NotImplementedError on engines without one."""
        from mlfront import backend as _backend

        if not len(self):
            raise ValueError("BatchedDataset.as_tf_dataset: the dataset is empty.")
        batched = self._batch_size is not None

        def spec(array):
            array = np.asarray(array)
            dtype = "string" if array.dtype.kind in "OSU" else array.dtype.name
            return ((None,) + array.shape[1:] if batched else array.shape), dtype
        return _backend.get().native_dataset(self.__iter__, _map_arrays(spec, self[0]))

    # -- internals ---------------------------------------------------------------------------------------------
    def _visible_samples(self):
        return self._num_samples if self._limit is None else min(self._limit, self._num_samples)

    def _epoch_order(self):
        if not self._shuffle:
            return np.arange(self._num_samples)
        epoch, order = self._order
        if epoch != self._epoch:  # one permutation per epoch, the same for a given (seed, epoch)
            order = np.random.default_rng([self._seed, self._epoch]).permutation(self._num_samples)
            self._order = (self._epoch, order)
        return order

    def _fetch(self, indices):
        if self._cache is None:
            return self._load(indices)
        missing = [int(i) for i in indices if int(i) not in self._cache]
        if missing:
            loaded = self._load(np.asarray(missing))
            for position, index in enumerate(missing):
                self._cache[index] = _map_arrays(lambda a, p=position: a[p], loaded)
        samples = [self._cache[int(i)] for i in indices]
        if isinstance(samples[0], tuple):
            return tuple(np.stack([s[k] for s in samples]) for k in range(len(samples[0])))
        return np.stack(samples)

    def _derive(self):
        import copy

        derived = copy.copy(self)
        derived._epoch = 0
        derived._order = (None, None)
        return derived

    def __repr__(self):
        return (f"<BatchedDataset: {len(self)} batches of {self._batch_size} from {self._num_samples} samples"
                f"{', shuffled' if self._shuffle else ''}>")


def _map_arrays(fn, batch):
    return tuple(fn(a) for a in batch) if isinstance(batch, tuple) else fn(batch)
