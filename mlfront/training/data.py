"""Turning what users pass to fit / evaluate / predict into batches of backend arrays.

`adapt(...)` returns a `DataAdapter`; each yields `(x, y, sample_weight)` batches (y and sample_weight may
be None) as backend arrays, with `steps` batches per epoch (None when unknown). A `preprocess` callable (a
model's host layers, see `Model.host_preprocess`) maps the x of each NumPy batch before it is converted.
"""

import math

import numpy as np

from mlfront import backend as _backend
from mlfront import random as _random
from mlfront.training.input_dtypes import cast_structure


def map_structure(fn, structure):
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return None if structure is None else fn(structure)


def flatten(structure):
    if isinstance(structure, dict):
        return [a for v in structure.values() for a in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [a for v in structure for a in flatten(v)]
    return [] if structure is None else [structure]


def as_numpy(array):
    """A NumPy array of `array` (an engine array, a NumPy array, a list), dtypes unchanged."""
    B = _backend.get()
    return B.to_numpy(array) if B.is_array(array) else np.asarray(array)


def to_numpy_input(array):
    """A NumPy array with mlfront's default dtypes: float64 -> float32, int64 -> int32 (labels, indices)."""
    array = as_numpy(array)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 or array.dtype == np.uint8 and array.ndim <= 1:
        return array.astype(np.int32)
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    return array


class DataAdapter:
    """Base class: `batches()` iterates one epoch of `(x, y, sample_weight)` backend-array batches."""

    steps = None
    keep_order = False  # predict: under a distribution, no reordering of samples between processes
    preprocess = None  # None, or fn(x of a NumPy batch) -> NumPy x, applied before the conversion
    # how boolean / integer x and y are cast on each NumPy batch (specs of `mlfront.training.input_dtypes`)
    x_dtypes = y_dtypes = None
    # A shuffled epoch's order is drawn from (shuffle_seed, epoch): `fit` sets both, so that a resumed
    # run sees the orders of the uninterrupted one. With shuffle_seed None the global generator draws it.
    shuffle_seed = None
    epoch = 0

    def batches(self, skip=0):
        """One epoch's batches, leaving out its first `skip` batches (a run resumed inside an epoch)."""
        raise NotImplementedError

    def on_epoch_end(self):
        pass


class ArrayDataAdapter(DataAdapter):
    """NumPy arrays (or lists/dicts of them) sliced into (shuffled) batches.

    The data stays in NumPy; each batch is gathered there and converted once, which costs the same on every
    engine (slicing an engine tensor from Python is slow on TensorFlow and JAX).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, preprocess=None):
        # x for a `preprocess` stays as given (host layers take any ints or strings); it converts its outputs
        x = map_structure(to_numpy_input if preprocess is None else as_numpy, x)
        y, sample_weight = (map_structure(to_numpy_input, s) for s in (y, sample_weight))
        self.preprocess = preprocess
        sizes = {name: [len(a) for a in flatten(s)] for name, s in (("x", x), ("y", y), ("sample_weight",
                                                                                        sample_weight))}
        all_sizes = {n for group in sizes.values() for n in group}
        if len(all_sizes) > 1:
            detail = ", ".join(f"{name} sizes: {group}" for name, group in sizes.items() if group)
            raise ValueError(f"Data cardinality is ambiguous: the arrays must all have the same number of "
                             f"samples (first dimension). Got {detail}.")
        if not all_sizes:
            raise ValueError("No input data given: pass `x` (a NumPy array, or a list/dict of arrays).")
        self.num_samples = all_sizes.pop()
        if self.num_samples == 0:
            shapes = {name: [a.shape for a in flatten(s)] for name, s in (("x", x), ("y", y)) if s is not None}
            raise ValueError(f"The data is empty: expected at least one sample, got arrays of shapes {shapes}.")
        if batch_size is None or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
        self.batch_size = int(batch_size)
        if not (isinstance(shuffle, (bool, np.bool_)) or shuffle == "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch' (Keras 2: shuffle whole batches), got "
                             f"{shuffle!r}.")
        self.shuffle = shuffle
        self.steps = math.ceil(self.num_samples / self.batch_size)
        self.data = (x, y, sample_weight)

    def batches(self, skip=0):
        n, size, preprocess = self.num_samples, self.batch_size, self.preprocess
        # under a distribution whose processes each take a slice of every global batch, only that slice is read
        # (a preprocess sees whole batches: its outputs may depend on the batch, e.g. padding to its longest text)
        rows = _rows_read() if preprocess is None else None
        convert = _batch_converter(local=rows is not None)
        order = self._epoch_order() if self.shuffle else None
        for batch_start in range(skip * size, n, size):
            start, stop = batch_start, min(batch_start + size, n)
            if rows is not None:
                low, high = rows(stop - start)
                start, stop = start + low, start + high
            if order is None:
                def pick(a):
                    return a[start:stop]
            else:
                index = order[start:stop]

                def pick(a):
                    return np.take(a, index, axis=0)
            x, y, sample_weight = (map_structure(pick, s) for s in self.data)
            x = preprocess(x) if preprocess is not None else cast_structure(x, self.x_dtypes)
            y = cast_structure(y, self.y_dtypes)
            yield tuple(map_structure(convert, s) for s in (x, y, sample_weight))


    def _epoch_order(self):
        if self.shuffle != "batch":
            return _random.epoch_permutation(self.num_samples, self.shuffle_seed, self.epoch)
        # Keras 2's shuffle="batch": the order of the whole batches changes, their samples and a last partial
        # batch stay together (for data read in chunks, such as HDF5)
        full = self.num_samples // self.batch_size
        chunks = _random.epoch_permutation(full, self.shuffle_seed, self.epoch)
        order = (chunks[:, None] * self.batch_size + np.arange(self.batch_size)).reshape(-1)
        return np.concatenate([order, np.arange(full * self.batch_size, self.num_samples)])


def split_validation(x, y, sample_weight, validation_split):
    """Keras semantics: the last `validation_split` fraction of the samples (before shuffling) validates."""
    if not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1), got {validation_split!r}.")
    arrays = flatten(x)
    if not arrays or not hasattr(arrays[0], "__len__"):
        raise ValueError("`validation_split` needs array inputs (NumPy arrays or lists/dicts of them); "
                         "pass `validation_data` for generators and datasets.")
    n = len(arrays[0])
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(f"`validation_split={validation_split}` leaves no samples for training or validation "
                         f"(there are {n} samples).")

    def head(a):
        return a[:cut]

    def tail(a):
        return a[cut:]
    return ((map_structure(head, x), map_structure(head, y), map_structure(head, sample_weight)),
            (map_structure(tail, x), map_structure(tail, y), map_structure(tail, sample_weight)))


def unpack_validation_data(validation_data):
    """(x, y, sample_weight) from a `validation_data` tuple of 2 or 3 entries, or a dataset-like object."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        x, y, *rest = validation_data
        return x, y, rest[0] if rest else None
    return validation_data, None, None


def class_weight_to_sample_weight(y, sample_weight, class_weight):
    """Per-sample weights from a `{class: weight}` dict (labels as integers or one-hot), times any sample_weight."""
    if not class_weight:
        return sample_weight
    if y is None or isinstance(y, (list, tuple, dict)):
        raise ValueError("`class_weight` needs a single array of targets (integer labels or one-hot).")
    if not isinstance(class_weight, dict):
        raise ValueError(f"`class_weight` must be a dict {{class index: weight}}, got {type(class_weight).__name__}.")
    bad = [k for k in class_weight if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0]
    if bad:
        raise ValueError(f"`class_weight` keys must be class indices (integers >= 0), got {bad!r}.")
    values = [v for v in class_weight.values() if not isinstance(v, (int, float, np.number)) or not np.isfinite(v)]
    if values:
        raise ValueError(f"`class_weight` values must be finite numbers, got {values!r}.")
    labels = np.asarray(y)
    labels = labels.argmax(-1) if labels.ndim > 1 and labels.shape[-1] > 1 else labels.reshape(len(labels))
    labels = labels.astype("int64")
    table = np.ones(max(int(labels.max(initial=0)), max(class_weight)) + 1, np.float32)
    table[list(map(int, class_weight))] = [float(v) for v in class_weight.values()]
    missing = sorted(set(np.unique(labels).tolist()) - set(map(int, class_weight)))
    if missing:
        raise ValueError(f"`class_weight` must give every class in the data a weight, as in Keras 2; classes "
                         f"{missing[:10]} are in the targets but not in class_weight (keys {sorted(class_weight)}).")
    weights = table[labels]
    return weights if sample_weight is None else weights * np.asarray(sample_weight, np.float32)


def unpack_batch(batch):
    """(x, y, sample_weight) from what a generator/dataset yields: x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"A data batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of "
                         f"{len(batch)} items.")
    return batch, None, None


class PyDataset:
    """Keras's `PyDataset` (Keras 2 `Sequence`) contract: batches by index.

    Subclasses implement `__len__` (batches per epoch) and `__getitem__(index)` returning `(x, y)`,
    `(x, y, sample_weight)` or `x`; `on_epoch_end` runs after each epoch.

    Args:
        workers: threads that load upcoming batches while the model trains (1: one thread ahead).
        use_multiprocessing: accepted for Keras compatibility; loading uses threads.
        max_queue_size: how many batches may be loaded ahead.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)


Sequence = PyDataset


class _BatchSource(DataAdapter):
    """Batches produced one at a time by Python code (generators, PyDataset, tf.data, DataLoader), converted to
    backend arrays and loaded one or more batches ahead on a background thread so the step never waits on them."""

    def __init__(self, steps, class_weight=None, workers=1, queue_size=2):
        self.steps = steps
        self.class_weight = class_weight
        self.workers = max(1, workers or 1)
        self.queue_size = max(1, queue_size)

    def raw_batches(self, skip=0):
        """An iterator of one epoch's raw batches (whatever the source yields), without the first `skip`."""
        raise NotImplementedError

    def _prepare(self, batch, local=False, may_be_empty=False):
        """A raw batch as the step's `(x, y, sample_weight)`; `local`: it holds this process's rows only (a
        loader remade by the distribution, a PyDataset shared out by index); `may_be_empty`: it is this process's
        share of a global batch as the distribution split it, which may hold no rows."""
        x, y, sample_weight = unpack_batch(batch)
        y, sample_weight = (map_structure(to_numpy_input, s) for s in (y, sample_weight))
        x = map_structure(to_numpy_input if self.preprocess is None else as_numpy, x)
        check = getattr(self, "check_batch", None)  # set by fit / evaluate / predict (`data_checks`)
        if check is not None:
            check(x, y, sample_weight, may_be_empty=may_be_empty)
        x = cast_structure(x, self.x_dtypes) if self.preprocess is None else self.preprocess(x)
        y = cast_structure(y, self.y_dtypes)
        sample_weight = class_weight_to_sample_weight(y, sample_weight, self.class_weight)
        prepare = _batch_converter(local=local)
        return tuple(map_structure(prepare, s) for s in (x, y, sample_weight))

    def batches(self, skip=0):
        return _prefetch(map(self._prepare, self.raw_batches(skip)), self.queue_size)


def _prefetch(iterator, size):
    """Run `iterator` on a daemon thread, `size` items ahead; errors are re-raised in the consumer."""
    import queue
    import threading

    items = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((done, None))
        except BaseException as err:  # handed to the consumer
            items.put((done, err))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item, err = items.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()


class GeneratorDataAdapter(_BatchSource):
    """A Python generator or iterator of batches. Epochs keep drawing from the same iterator (Keras semantics):
    `steps` batches per epoch, or until it is exhausted when `steps` is None."""

    def __init__(self, generator, steps=None, class_weight=None):
        super().__init__(steps, class_weight)
        self.iterator = iter(generator)

    def raw_batches(self, skip=0):
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self.iterator)
            except StopIteration:
                if self.steps is not None and count < self.steps:
                    import warnings
                    warnings.warn(f"The data generator ran out after {count} of the {self.steps} steps requested "
                                  f"for this epoch.", stacklevel=4)
                return
            count += 1
            if count > skip:  # a generator cannot seek: skipped batches are drawn and dropped
                yield batch


class PyDatasetAdapter(_BatchSource):
    """A `PyDataset` / Keras `Sequence`: batches by index, optionally in shuffled order, loaded on threads.

    Under a distribution over several processes the batches are shared out by index: each training / evaluation
    step takes one batch per process (process p reads the p-th of the next `processes` batches of the epoch's
    order), so each process reads only its part of the data and a step's global batch is those batches
    together. The dataset's last batch (often a short one) and the batches left over at the end of an epoch are
    read by every process, each keeping its share of the rows. An epoch still covers every batch once."""

    def __init__(self, dataset, steps=None, shuffle=False, class_weight=None):
        self.dataset = dataset
        super().__init__(steps, class_weight, workers=getattr(dataset, "workers", 1),
                         queue_size=getattr(dataset, "max_queue_size", 10))
        # a dataset that orders its samples itself (Keras 2's image iterators) keeps its batch order
        self.shuffle = shuffle and not getattr(dataset, "orders_itself", False)

    @property
    def steps(self):
        """Steps per epoch: the batches, or fewer under a distribution over several processes (see the class)."""
        return len(self._plan(np.arange(len(self.dataset))))

    @steps.setter
    def steps(self, limit):
        self.limit = limit  # the user's `steps`, None: all

    def _plan(self, order):
        """The epoch's steps from its batch order: for each, (the batch index this process reads, whether the
        batch holds this process's rows only)."""
        shares, index = _input_shares(self.keep_order)
        if shares == 1 or not len(order):
            steps = [(int(i), False) for i in order]
        else:
            last = len(self.dataset) - 1
            grouped = order[order != last]
            groups = len(grouped) // shares
            steps = [(int(grouped[g * shares + index]), True) for g in range(groups)]
            steps += [(int(i), False) for i in grouped[groups * shares:]] + [(last, False)]
        return steps[:self.limit] if self.limit else steps

    def _epoch_plan(self, skip):
        order = np.arange(len(self.dataset))
        if self.shuffle:
            order = order[_random.epoch_permutation(len(order), self.shuffle_seed, self.epoch)]
        return self._plan(order)[skip:]

    def _read(self, plan):
        if self.workers > 1:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(self.workers) as pool:
                yield from pool.map(self.dataset.__getitem__, [index for index, _ in plan])
        else:
            for index, _ in plan:
                yield self.dataset[index]

    def raw_batches(self, skip=0):
        return self._read(self._epoch_plan(skip))

    def batches(self, skip=0):
        plan = self._epoch_plan(skip)
        prepared = (self._prepare(batch, local) for batch, (_, local) in zip(self._read(plan), plan))
        return _prefetch(prepared, self.queue_size)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def _input_shares(keep_order=False):
    """(how many different shares of each global batch the processes read, this process's share): (1, 0)
    without a distribution, for `predict` (`keep_order`), or when the user shards the input
    (`auto_shard_dataset=False`)."""
    from mlfront import distribution
    runtime = distribution.active_runtime()
    if runtime is None or keep_order or not runtime.shards_inputs:
        return 1, 0
    return runtime.input_shards()


class IterableDataAdapter(_BatchSource):
    """A re-iterable dataset of batches from another library, read afresh each epoch: a `tf.data.Dataset`
    (through `as_numpy_iterator`) or a `torch.utils.data.DataLoader` (its tensors become NumPy arrays)."""

    def __init__(self, dataset, steps=None, class_weight=None):
        try:
            length = len(dataset)
        except TypeError:
            length = None
        super().__init__(steps or (length if length is not None and length >= 0 else None), class_weight)
        self.dataset = dataset

    def _source(self):
        """(an iterator of this epoch's raw batches, whether they hold this process's rows only, whether it must
        be read on the step's thread)."""
        from mlfront import distribution
        # under a distribution, a loader remade to read this process's rows only (see `Runtime.local_loader`)
        runtime = distribution.active_runtime()
        local = None if _input_shares(self.keep_order)[0] == 1 else \
            runtime.local_loader(self.dataset, self.shuffle_seed or 0, self.epoch)
        if local is not None:
            return iter(local), True, runtime.loader_reads_collectively
        if hasattr(self.dataset, "as_numpy_iterator"):
            return self.dataset.as_numpy_iterator(), False, False
        return iter(self.dataset), False, False

    def _take(self, source, skip):
        for count, batch in enumerate(source):
            if self.steps is not None and count >= self.steps:
                return
            if count < skip:
                continue
            # a DataLoader collates (x, y) pairs into a list: that list is the (x, y) tuple, not several inputs
            yield _engine_tensors_to_numpy(tuple(batch) if isinstance(batch, list) else batch)

    def raw_batches(self, skip=0):
        return self._take(self._source()[0], skip)

    def batches(self, skip=0):
        source, local, on_step_thread = self._source()
        prepared = (self._prepare(batch, local, may_be_empty=local) for batch in self._take(source, skip))
        return prepared if on_step_thread else _prefetch(prepared, self.queue_size)


def _rows_read():
    """The runtime's `rows_read` where this process steps on a slice of each global batch that it can read
    alone, else None (no distribution, the user shards the input, or the step takes whole global batches)."""
    from mlfront import distribution
    runtime = distribution.active_runtime()
    if runtime is None or not runtime.shards_inputs or runtime.rows_read(1) is None:
        return None
    return runtime.rows_read


def _batch_converter(local=False):
    """What turns a NumPy batch array into the step's input: the engine's `prepare_batch`, or under a
    distribution its runtime's `shard_batch` (this process's share, or an array sharded over the devices), or
    for a batch of this process's rows only (`local`, or any batch when the user shards the input) its
    `local_batch`."""
    from mlfront import distribution
    runtime = distribution.active_runtime()
    if runtime is None:
        return _backend.get().prepare_batch
    return runtime.local_batch if local or not runtime.shards_inputs else runtime.shard_batch


def _engine_tensors_to_numpy(batch):
    """Tensors of any engine (they all implement `__array__`) inside a batch, as NumPy arrays."""
    if isinstance(batch, dict):
        return {k: _engine_tensors_to_numpy(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_engine_tensors_to_numpy(v) for v in batch)
    return np.asarray(batch) if hasattr(batch, "__array__") else batch


def _is_dataset_of_batches(x):
    module = type(x).__module__ or ""
    return module.startswith("tensorflow") and hasattr(x, "as_numpy_iterator") \
        or module.startswith("torch.utils.data")


def adapt(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None, class_weight=None,
          preprocess=None, x_dtypes=None, y_dtypes=None, max_queue_size=None, workers=None,
          use_multiprocessing=False):
    """A DataAdapter for `x` (and `y`, `sample_weight`) as given to fit / evaluate / predict: NumPy arrays (or
    lists/dicts of them), a Python generator/iterator, a `PyDataset`, a `tf.data.Dataset` or a
    `torch.utils.data.DataLoader` (the last three yield whole batches: `y` must then be None).

    `preprocess`, when given, maps the x of each batch (NumPy, before conversion): a model's host layers.
    `x_dtypes` / `y_dtypes` say how boolean and integer arrays of each batch are cast (see
    `mlfront.training.input_dtypes`; None: as they are).

    Keras 2's loading options (None: the source's own, e.g. a PyDataset's `workers`): `workers` threads load
    a PyDataset's batches in parallel; a generator is read by one background thread (Keras 2's threads took
    turns on it under a lock too); `max_queue_size` batches are loaded ahead. Arrays need neither, as in
    Keras. `use_multiprocessing=True` is served by threads, with a warning: mlfront loads batches on threads."""
    if use_multiprocessing:
        import warnings
        warnings.warn("use_multiprocessing=True: mlfront loads generator and PyDataset batches on threads, not "
                      "processes (set `workers` for parallel loading).", stacklevel=3)
    for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"`{name}` must be an integer >= 0, got {value!r}.")
    if isinstance(x, DataAdapter):
        if preprocess is not None:
            x.preprocess = preprocess
        adapter = x
    else:
        adapter = _make_adapter(x, y, sample_weight, batch_size, shuffle, steps, class_weight, preprocess)
        adapter.preprocess = preprocess
    if isinstance(adapter, _BatchSource):
        if workers is not None and isinstance(adapter, PyDatasetAdapter):
            adapter.workers = max(1, workers)
        if max_queue_size is not None:
            adapter.queue_size = max(1, max_queue_size)
    adapter.x_dtypes, adapter.y_dtypes = x_dtypes, y_dtypes
    return adapter


def _make_adapter(x, y, sample_weight, batch_size, shuffle, steps, class_weight, preprocess):
    batch_sources = isinstance(x, PyDataset) or _is_dataset_of_batches(x) or hasattr(x, "__next__")
    if batch_sources and (y is not None or sample_weight is not None):
        raise ValueError(f"`y` and `sample_weight` must be None when `x` is a {type(x).__name__}, which yields "
                         f"whole batches; got y of type {type(y).__name__}.")
    if isinstance(x, PyDataset):
        return PyDatasetAdapter(x, steps=steps, shuffle=shuffle, class_weight=class_weight)
    if _is_dataset_of_batches(x):
        return IterableDataAdapter(x, steps=steps, class_weight=class_weight)
    if hasattr(x, "__next__"):
        return GeneratorDataAdapter(x, steps=steps, class_weight=class_weight)
    sample_weight = class_weight_to_sample_weight(y, sample_weight, class_weight)
    return ArrayDataAdapter(x, y, sample_weight, batch_size=32 if batch_size is None else batch_size, shuffle=shuffle,
                            preprocess=preprocess)
