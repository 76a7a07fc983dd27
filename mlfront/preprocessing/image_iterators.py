"""The batch iterators `ImageDataGenerator.flow*` return: `NumpyArrayIterator`, `DirectoryIterator`,
`DataFrameIterator`, on a common `Iterator` (a `PyDataset`, so `fit` / `evaluate` / `predict` read them).

Randomness follows Keras 2: batch `k` of an epoch draws its transforms from `np.random.RandomState(seed + s + k)`,
where `s` counts the batches served in earlier epochs, and a shuffled epoch's sample order is the first draw
of batch 0's stream. Read in order, that is exactly the sequence Keras 2 draws from its re-seeded global
generator; here it does not depend on the order the batches are read in, so worker threads give the same data.
"""

import inspect
import os
import threading
import warnings

import numpy as np

from mlfront import random as _random
from mlfront.training.data import PyDataset
from mlfront.utils import image_utils

WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
COLOR_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


class Iterator(PyDataset):
    """Base class of the image batch iterators: batches of `batch_size` out of `n` samples.

    Subclasses implement `_get_batches_of_transformed_samples(index_array, rng)`.

    Args:
        n: number of samples.
        batch_size: samples per batch.
        shuffle: shuffle the sample order at the start of every epoch.
        seed: seed of the shuffling and of the random transformations (None: drawn from mlfront's global
            generator, so `mlfront.utils.set_random_seed` makes runs repeatable).
    """

    white_list_formats = WHITE_LIST_FORMATS
    # `fit(shuffle=True)` must not reorder the batches: the iterator's own `shuffle` and `seed` decide the order
    orders_itself = True

    def __init__(self, n, batch_size, shuffle, seed):
        super().__init__()
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"{type(self).__name__}: `batch_size` must be a positive integer, got {batch_size!r}.")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._base_seed = _random.new_seed() if seed is None else int(seed)
        self.lock = threading.Lock()
        self.batch_index = 0
        self.total_batches_seen = 0
        self._epoch_start = 0  # batches served before the current epoch
        self._order_in_batch0_stream = False
        self.index_array = None

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def _epoch_rng(self, batch):
        return np.random.RandomState((self._base_seed + batch) % 2**32)

    def _start_epoch(self, order_in_batch0_stream):
        """New epoch state; the order is batch 0's first draw (Keras's `next()` and first `__getitem__`), or
        comes from a stream of its own (Keras's `on_epoch_end` draws it from the unseeded global state)."""
        self._epoch_start = self.total_batches_seen
        self._order_in_batch0_stream = order_in_batch0_stream and self.shuffle
        if not self.shuffle:
            self.index_array = np.arange(self.n)
        elif order_in_batch0_stream:
            self.index_array = self._epoch_rng(self._epoch_start).permutation(self.n)
        else:
            self.index_array = np.random.RandomState([self._base_seed % 2**32, self._epoch_start, 1]) \
                .permutation(self.n)

    def __getitem__(self, idx):
        if not isinstance(idx, (int, np.integer)) or not 0 <= idx < len(self):
            raise ValueError(f"{type(self).__name__}: asked for batch {idx!r}, but there are {len(self)} batches "
                             f"(indices 0 to {len(self) - 1}).")
        with self.lock:
            if self.index_array is None:
                self._start_epoch(True)
            state = self._epoch_start, self.index_array, self._order_in_batch0_stream
            self.total_batches_seen += 1
        return self._batch(int(idx), *state)

    def _batch(self, idx, start, order, order_in_batch0_stream):
        rng = self._epoch_rng(start + idx)
        if idx == 0 and order_in_batch0_stream:
            rng.permutation(self.n)  # the epoch's order was this stream's first draw
        index_array = order[self.batch_size * idx:self.batch_size * (idx + 1)]
        if _takes_rng(type(self)):
            return self._get_batches_of_transformed_samples(index_array, rng)
        # a Keras 2 subclass (`_get_batches_of_transformed_samples(index_array)`) draws from NumPy's global
        # generator, which Keras 2 seeds for each batch
        np.random.set_state(rng.get_state())
        return self._get_batches_of_transformed_samples(index_array)

    def on_epoch_end(self):
        """Starts a new epoch: a new sample order when shuffling, new random transformations."""
        with self.lock:
            self._start_epoch(False)

    def reset(self):
        """Makes `next()` start a new epoch."""
        with self.lock:
            self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def next(self):
        """The next batch; after the last batch of an epoch, the first batch of a new epoch."""
        if self.n == 0:
            raise ValueError(f"{type(self).__name__}: there are no samples to make a batch of.")
        with self.lock:
            if self.batch_index == 0:
                self._start_epoch(True)
            idx = self.batch_index
            self.batch_index = idx + 1 if (idx + 1) * self.batch_size < self.n else 0
            state = self._epoch_start, self.index_array, self._order_in_batch0_stream
            self.total_batches_seen += 1
        return self._batch(idx, *state)

    def _get_batches_of_transformed_samples(self, index_array, rng):
        """The batch of the samples `index_array`, transformed with draws from `rng`."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_get_batches_of_transformed_samples`.")

    def _augment(self, x, rng):
        """One sample, randomly transformed and standardized by the generator (the same draws as Keras 2)."""
        generator = self.image_data_generator
        if generator is None:
            return x
        x = generator.apply_transform(x, generator._draw_transform(x.shape, rng))
        if generator._overrides("standardize"):  # a subclass's standardize runs per image, as in Keras 2
            return generator.standardize(x)
        if generator.preprocessing_function is not None:
            x = generator.preprocessing_function(x)
        return x

    def _standardize_batch(self, batch_x):
        generator = self.image_data_generator
        if generator is None or generator._overrides("standardize"):
            return batch_x
        return generator._standardize_batch(batch_x)

    def _save_batch(self, batch_x, index_array, rng, hash_range):
        for image, j in zip(batch_x, index_array):
            name = f"{self.save_prefix}_{j}_{rng.randint(hash_range)}.{self.save_format}"
            image_utils.save_img(os.path.join(self.save_to_dir, name), image, data_format=self.data_format,
                                 file_format=_pil_format(self.save_format), scale=True)


_TAKES_RNG = {}


def _takes_rng(cls):
    """Whether `cls._get_batches_of_transformed_samples` takes the batch's random generator (mlfront's form)."""
    if cls not in _TAKES_RNG:
        parameters = inspect.signature(cls._get_batches_of_transformed_samples).parameters
        _TAKES_RNG[cls] = len(parameters) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters.values())
    return _TAKES_RNG[cls]


def _pil_format(save_format):
    fmt = save_format.lower()
    return "jpeg" if fmt == "jpg" else "tiff" if fmt == "tif" else fmt


class NumpyArrayIterator(Iterator):
    """Batches of (augmented) images from a NumPy array, with their labels and sample weights.

    Args:
        x: rank-4 array of images, or a tuple `(images, misc)` where `misc` (an array or list of arrays) is
            passed through unchanged as extra inputs.
        y: labels (or None).
        image_data_generator: the `ImageDataGenerator` that transforms and standardizes the images.
        batch_size: samples per batch.
        shuffle: shuffle the order every epoch.
        sample_weight: per-sample weights (or None).
        seed: random seed.
        data_format: `"channels_last"` or `"channels_first"`.
        save_to_dir: folder where the augmented images are also saved (or None).
        save_prefix: file-name prefix of the saved images.
        save_format: format of the saved images (`"png"`, `"jpeg"`, ...).
        subset: `"training"` or `"validation"` with the generator's `validation_split` (validation: the first
            `validation_split` fraction of the samples).
        ignore_class_split: do not check that both subsets hold the same classes.
        dtype: dtype of the image batches.
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png", subset=None,
                 ignore_class_split=False, dtype=None):
        self.dtype = dtype or "float32"
        self.data_format = image_utils.check_data_format(data_format, "NumpyArrayIterator")
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(f"NumpyArrayIterator: a tuple `x` must be (images, misc_inputs), got {len(x)} "
                                 f"items.")
            misc = [np.asarray(m) for m in x[1]] if isinstance(x[1], list) else [np.asarray(x[1])]
            x = x[0]
            for m in misc:
                if len(m) != len(x):
                    raise ValueError(f"NumpyArrayIterator: all the arrays in `x` must have the same length; got "
                                     f"{len(x)} images and an extra input of length {len(m)}.")
        else:
            misc = []
        if y is not None and len(x) != len(y):
            raise ValueError(f"NumpyArrayIterator: `x` (images) and `y` (labels) must have the same length; got "
                             f"x.shape={np.shape(x)}, y.shape={np.shape(y)}.")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"NumpyArrayIterator: `x` and `sample_weight` must have the same length; got "
                             f"x.shape={np.shape(x)}, sample_weight.shape={np.shape(sample_weight)}.")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"NumpyArrayIterator: `subset` must be 'training' or 'validation', got {subset!r}.")
            split = int(len(x) * image_data_generator._validation_split)
            if y is not None and not ignore_class_split and \
                    not np.array_equal(np.unique(y[:split]), np.unique(y[split:])):
                raise ValueError("NumpyArrayIterator: the training and validation subsets hold different classes "
                                 "after the split. If the arrays are sorted by label, shuffle them first (or pass "
                                 "ignore_class_split=True).")
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x, misc = x[part], [m[part] for m in misc]
            y = None if y is None else y[part]
            sample_weight = None if sample_weight is None else sample_weight[part]
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f"NumpyArrayIterator: the images `x` must have rank 4 (samples, rows, cols, channels); "
                             f"got an array of shape {self.x.shape}.")
        channels_axis = 3 if self.data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(f"NumpyArrayIterator: data_format={self.data_format!r} expects 1, 3 or 4 channels on axis "
                          f"{channels_axis}, but `x` has shape {self.x.shape}.", stacklevel=3)
        self.x_misc = misc
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array, rng):
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = self._augment(self.x[j].astype(self.dtype), rng)
        batch_x = self._standardize_batch(batch_x)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng, 10000)
        inputs = [batch_x] + [m[index_array] for m in self.x_misc] if self.x_misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


class BatchFromFilesMixin:
    """Loading, augmenting and labelling batches of image files (shared by the directory and dataframe iterators).

    Subclasses set `filepaths`, `labels`, `sample_weight`, `classes`, `class_indices` and `class_mode`.
    """

    def set_processing_attrs(self, image_data_generator, target_size, color_mode, data_format, save_to_dir,
                             save_prefix, save_format, subset, interpolation, keep_aspect_ratio):
        where = type(self).__name__
        self.image_data_generator = image_data_generator
        if len(tuple(target_size)) != 2:
            raise ValueError(f"{where}: `target_size` must be (height, width), got {target_size!r}.")
        self.target_size = tuple(int(s) for s in target_size)
        self.keep_aspect_ratio = keep_aspect_ratio
        if color_mode not in COLOR_CHANNELS:
            raise ValueError(f"{where}: `color_mode` must be 'rgb', 'rgba' or 'grayscale', got {color_mode!r}.")
        self.color_mode = color_mode
        self.data_format = image_utils.check_data_format(data_format, where)
        channels = (COLOR_CHANNELS[color_mode],)
        self.image_shape = self.target_size + channels if self.data_format == "channels_last" \
            else channels + self.target_size
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        image_utils.resample_filter(interpolation, where)
        self.interpolation = interpolation
        if subset is None:
            self.split = None
        elif subset in ("training", "validation"):
            fraction = image_data_generator._validation_split
            self.split = (0, fraction) if subset == "validation" else (fraction, 1)
        else:
            raise ValueError(f"{where}: `subset` must be 'training', 'validation' or None, got {subset!r}.")
        self.subset = subset

    def _get_batches_of_transformed_samples(self, index_array, rng):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = image_utils.load_img(self.filepaths[j], color_mode=self.color_mode, target_size=self.target_size,
                                       interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio)
            x = image_utils.img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            img.close()
            batch_x[i] = self._augment(x, rng)
        batch_x = self._standardize_batch(batch_x)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng, 10**7)
        mode = self.class_mode
        if mode == "input":
            batch_y = batch_x.copy()
        elif mode in ("binary", "sparse"):
            batch_y = np.asarray(self.classes, dtype=self.dtype)[index_array]
        elif mode == "categorical":
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for i, j in enumerate(index_array):
                batch_y[i, self.classes[j]] = 1.0  # a list of classes (multi-label) sets several
        elif mode == "multi_output":
            batch_y = [output[index_array] for output in self.labels]
        elif mode == "raw":
            batch_y = self.labels[index_array]
        else:
            return batch_x
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]


class DirectoryIterator(BatchFromFilesMixin, Iterator):
    """Batches of (augmented) images read from a folder with one subfolder per class.

    Classes are the subfolders in sorted order (or `classes`); within a class, files are in sorted path order
    (nested folders included). With `subset`, each class's first `validation_split` fraction of files is the
    validation subset, the rest the training subset (Keras 2's split).

    Args:
        directory: the folder.
        image_data_generator: the `ImageDataGenerator` (or None: no transformation).
        target_size: `(height, width)` the images are resized to.
        color_mode: `"rgb"`, `"rgba"` or `"grayscale"`.
        classes: list of subfolder names to use, in label order (default: all, sorted).
        class_mode: `"categorical"` (one-hot), `"binary"` (0/1), `"sparse"` (integer), `"input"` (the images
            themselves, for autoencoders) or None (images only).
        batch_size: samples per batch.
        shuffle: shuffle the order every epoch.
        seed: random seed.
        data_format: `"channels_last"` or `"channels_first"`.
        save_to_dir: folder where the augmented images are also saved (or None).
        save_prefix: file-name prefix of the saved images.
        save_format: format of the saved images.
        follow_links: descend into symbolically linked folders.
        subset: `"training"` or `"validation"` (with the generator's `validation_split`), or None.
        interpolation: resampling used to resize (`"nearest"`, `"bilinear"`, `"bicubic"`, ...).
        keep_aspect_ratio: crop to the target aspect ratio before resizing.
        dtype: dtype of the batches.
    """

    allowed_class_modes = ("categorical", "binary", "sparse", "input", None)

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png", follow_links=False, subset=None,
                 interpolation="nearest", keep_aspect_ratio=False, dtype=None):
        from mlfront.utils.dataset_utils import index_directory

        self.set_processing_attrs(image_data_generator, target_size, color_mode, data_format, save_to_dir,
                                  save_prefix, save_format, subset, interpolation, keep_aspect_ratio)
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"DirectoryIterator: `class_mode` must be one of {self.allowed_class_modes}, got "
                             f"{class_mode!r}.")
        self.directory = os.fspath(directory)
        self.class_mode = class_mode
        self.dtype = dtype or "float32"
        if not os.path.isdir(self.directory):
            raise ValueError(f"flow_from_directory: `directory` {self.directory!r} does not exist or is not a "
                             f"folder.")
        missing = [c for c in classes or () if not os.path.isdir(os.path.join(self.directory, str(c)))]
        if missing:
            raise ValueError(f"flow_from_directory: `classes` names folder(s) {missing} that are not in "
                             f"{self.directory!r}.")
        formats = tuple("." + f for f in self.white_list_formats)
        paths, labels, class_names = index_directory(self.directory, "inferred", formats,
                                                     class_names=list(classes) if classes else None,
                                                     shuffle=False, follow_links=follow_links, verbose=False)
        self.class_indices = {name: i for i, name in enumerate(class_names)}
        self.num_classes = len(class_names)
        keep = np.ones(len(paths), dtype=bool)
        if self.split is not None:
            for label in range(self.num_classes):
                members = np.flatnonzero(labels == label)
                count = len(members)
                keep[members] = False
                keep[members[int(self.split[0] * count):int(self.split[1] * count)]] = True
        self._filepaths = [p for p, k in zip(paths, keep) if k]
        self.filenames = [os.path.relpath(p, self.directory) for p in self._filepaths]
        self.classes = labels[keep].astype("int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        """Absolute (directory-joined) paths of the images, in sample order."""
        return self._filepaths

    @property
    def labels(self):
        return self.classes

    @property
    def sample_weight(self):
        return None


class DataFrameIterator(BatchFromFilesMixin, Iterator):
    """Batches of (augmented) images whose file names (and labels) come from a pandas DataFrame.

    Args:
        dataframe: a `pandas.DataFrame`; `x_col` holds file paths (relative to `directory`, or absolute when
            `directory` is None).
        directory: the folder the file names are relative to (or None).
        image_data_generator: the `ImageDataGenerator` (or None).
        x_col: the column of file names.
        y_col: the label column (a list of columns with `class_mode="multi_output"` or `"raw"`).
        weight_col: a numeric column of sample weights (or None).
        target_size: `(height, width)` the images are resized to.
        color_mode: `"rgb"`, `"rgba"` or `"grayscale"`.
        classes: the class names to keep, in label order (default: all labels found, sorted).
        class_mode: `"categorical"` (string labels or lists of them, one-/multi-hot), `"binary"`, `"sparse"`,
            `"raw"` (the `y_col` values as they are), `"multi_output"` (one array per `y_col` column),
            `"input"` or None.
        batch_size: samples per batch.
        shuffle: shuffle the order every epoch.
        seed: random seed.
        data_format: `"channels_last"` or `"channels_first"`.
        save_to_dir: folder where the augmented images are also saved (or None).
        save_prefix: file-name prefix of the saved images.
        save_format: format of the saved images.
        subset: `"training"` or `"validation"` (the first `validation_split` fraction of the rows validates).
        interpolation: resampling used to resize.
        keep_aspect_ratio: crop to the target aspect ratio before resizing.
        dtype: dtype of the batches.
        validate_filenames: drop the rows whose file is missing or not an allowed image type (with a warning).
    """

    allowed_class_modes = ("binary", "categorical", "input", "multi_output", "raw", "sparse", None)

    def __init__(self, dataframe, directory=None, image_data_generator=None, x_col="filename", y_col="class",
                 weight_col=None, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format="channels_last",
                 save_to_dir=None, save_prefix="", save_format="png", subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype="float32", validate_filenames=True):
        self.set_processing_attrs(image_data_generator, target_size, color_mode, data_format, save_to_dir,
                                  save_prefix, save_format, subset, interpolation, keep_aspect_ratio)
        if not hasattr(dataframe, "iloc") or not hasattr(dataframe, "columns"):
            raise TypeError(f"DataFrameIterator: `dataframe` must be a pandas DataFrame, got "
                            f"{type(dataframe).__name__}.")
        df = dataframe.copy()
        self.directory = os.fspath(directory) if directory is not None else ""
        self.class_mode = class_mode
        self.dtype = dtype or "float32"
        self._check_params(df, x_col, y_col, weight_col, classes)
        if validate_filenames:
            df = self._filter_valid_filepaths(df, x_col)
        with_classes = class_mode not in ("input", "multi_output", "raw", None)
        if with_classes:
            df, classes = self._filter_classes(df, y_col, classes)
            self.class_indices = {name: i for i, name in enumerate(classes)}
        else:
            self.class_indices = {}
        if self.split:
            count = len(df)
            df = df.iloc[int(self.split[0] * count):int(self.split[1] * count)]
        if with_classes:
            self.classes = self._get_classes(df, y_col)
        else:
            self.classes = None
        self.filenames = df[x_col].tolist()
        self._sample_weight = df[weight_col].values if weight_col else None
        if class_mode == "multi_output":
            self._targets = [np.array(df[col].tolist()) for col in y_col]
        elif class_mode == "raw":
            self._targets = df[y_col].values
        self.samples = len(self.filenames)
        checked = "validated" if validate_filenames else "non-validated"
        suffix = f" belonging to {len(self.class_indices)} classes" if with_classes else ""
        print(f"Found {self.samples} {checked} image filenames{suffix}.")
        self._filepaths = [os.path.join(self.directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_params(self, df, x_col, y_col, weight_col, classes):
        mode = self.class_mode
        if mode not in self.allowed_class_modes:
            raise ValueError(f"DataFrameIterator: `class_mode` must be one of {self.allowed_class_modes}, got "
                             f"{mode!r}.")
        if mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError(f"DataFrameIterator: with class_mode='multi_output', `y_col` must be a list of "
                            f"columns, got {type(y_col).__name__}.")
        columns = [x_col] + ([] if mode in ("input", None) else (y_col if isinstance(y_col, list) else [y_col]))
        columns += [weight_col] if weight_col else []
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"DataFrameIterator: column(s) {missing} are not in the dataframe (its columns: "
                             f"{list(df.columns)}).")
        if not all(isinstance(v, str) for v in df[x_col]):
            raise TypeError(f"DataFrameIterator: all the values of x_col={x_col!r} must be strings (file names).")
        if mode in ("binary", "sparse") and not all(isinstance(v, str) for v in df[y_col]):
            raise TypeError(f"DataFrameIterator: with class_mode={mode!r}, the values of y_col={y_col!r} must be "
                            f"strings.")
        if mode == "binary":
            count = len(set(classes)) if classes else df[y_col].nunique()
            if count != 2:
                raise ValueError(f"DataFrameIterator: class_mode='binary' needs exactly 2 classes, got {count}.")
        if mode == "categorical" and not all(isinstance(v, (str, list, tuple)) for v in df[y_col]):
            raise TypeError(f"DataFrameIterator: with class_mode='categorical', the values of y_col={y_col!r} "
                            f"must be strings, lists or tuples.")
        if classes and mode in ("input", "multi_output", "raw", None):
            warnings.warn(f"DataFrameIterator: `classes` is not used with class_mode={mode!r}.", stacklevel=4)
        from pandas.api.types import is_numeric_dtype

        if weight_col and not is_numeric_dtype(df[weight_col].dtype):
            raise TypeError(f"DataFrameIterator: weight_col={weight_col!r} must be a numeric column, got dtype "
                            f"{df[weight_col].dtype}.")

    @staticmethod
    def _filter_classes(df, y_col, classes):
        """The rows whose labels are in `classes` (all labels, sorted, when None), and the class list."""
        df = df.copy()
        if classes:
            classes = list(dict.fromkeys(classes))
            wanted = set(classes)

            def keep(labels):
                if isinstance(labels, (list, tuple)):
                    return [c for c in labels if c in wanted] or None
                return labels if labels in wanted else None
            df[y_col] = df[y_col].apply(keep)
        else:
            found = set()
            for value in df[y_col]:
                found.update(value) if isinstance(value, (list, tuple)) else found.add(value)
            classes = sorted(found)
        return df.dropna(subset=[y_col]), classes

    def _get_classes(self, df, y_col):
        return [[self.class_indices[c] for c in v] if isinstance(v, (list, tuple)) else self.class_indices[v]
                for v in df[y_col]]

    def _filter_valid_filepaths(self, df, x_col):
        formats = tuple("." + f for f in self.white_list_formats)
        paths = [os.path.join(self.directory, name) for name in df[x_col]]
        mask = np.array([p.lower().endswith(formats) and os.path.isfile(p) for p in paths], dtype=bool)
        invalid = int((~mask).sum())
        if invalid:
            warnings.warn(f"DataFrameIterator: {invalid} invalid image filename(s) in x_col={x_col!r} (missing, or "
                          f"not one of {', '.join(self.white_list_formats)}); they are left out.", stacklevel=4)
        return df[mask]

    @property
    def filepaths(self):
        return self._filepaths

    @property
    def labels(self):
        return self._targets if self.class_mode in ("multi_output", "raw") else self.classes

    @property
    def sample_weight(self):
        return self._sample_weight
