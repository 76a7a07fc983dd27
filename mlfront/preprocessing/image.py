"""Keras 2's `keras.preprocessing.image`: `ImageDataGenerator` (real-time augmentation), its iterators, the
single-image transformations and the image file helpers.

The same seed gives the same augmented images as Keras 2 (same NumPy draws, same SciPy resampling).
"""

import numbers
import warnings

import numpy as np

from mlfront.preprocessing.image_iterators import (DataFrameIterator, DirectoryIterator, Iterator,
                                                   NumpyArrayIterator)
from mlfront.preprocessing.image_transforms import (FILL_MODES, apply_affine_transform, apply_brightness_shift,
                                                    apply_channel_shift, flip_axis, random_brightness,
                                                    random_channel_shift, random_rotation, random_shear,
                                                    random_shift, random_zoom, transform_matrix_offset_center)
from mlfront.utils.image_resize import smart_resize
from mlfront.utils.image_utils import array_to_img, check_data_format, img_to_array, load_img, save_img


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_shift_range(value, name):
    """A shift range is a float (fraction of the size if < 1, else pixels), an int (pixels) or a list."""
    if _is_number(value):
        return value
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and all(_is_number(v) for v in value):
        return value
    raise ValueError(f"ImageDataGenerator: `{name}` must be a float, an int or a 1D list of numbers, got {value!r}.")


def _enabled(spec):
    """Keras 2's test `if shift_range:` (a non-empty list is on even when it holds only zeros)."""
    return len(spec) > 0 if isinstance(spec, np.ndarray) else bool(spec)


def _draw_shift(rng, spec, size):
    """Keras 2's draw: a list or an int picks a value (ints: 0..spec-1) and a sign; a float is uniform."""
    if isinstance(spec, numbers.Integral) or not _is_number(spec):
        shift = rng.choice(spec)
        shift *= rng.choice([-1, 1])
    else:
        shift = rng.uniform(-spec, spec)
    if np.max(spec) < 1:
        shift *= size
    return shift


class ImageDataGenerator:
    """Generates batches of images with real-time data augmentation (Keras 2 API).

    Args:
        featurewise_center: subtract the dataset's per-channel mean (learned by `fit`).
        samplewise_center: subtract each image's mean.
        featurewise_std_normalization: divide by the dataset's per-channel std (learned by `fit`).
        samplewise_std_normalization: divide each image by its std.
        zca_whitening: apply ZCA whitening (learned by `fit`).
        zca_epsilon: epsilon of the ZCA whitening.
        rotation_range: rotations drawn from [-rotation_range, rotation_range] degrees.
        width_shift_range: horizontal shifts: a float (a fraction of the width if < 1, else pixels) drawn
            uniformly from [-r, r]; an int: whole pixels from (-r, r); a list: one of its values, either sign.
        height_shift_range: vertical shifts, same forms as `width_shift_range`. As in Keras 2 (tf_keras), a
            shift drawn from `height_shift_range` (scaled by the height) moves the image along its columns and
            one from `width_shift_range` (scaled by the width) along its rows; kept so the same seed gives
            Keras 2's images.
        brightness_range: `(lower, upper)` brightness factors, or None.
        shear_range: shear angles drawn from [-shear_range, shear_range] degrees.
        zoom_range: a float `z` (zooms drawn from [1 - z, 1 + z]) or `[lower, upper]`.
        channel_shift_range: channel shifts drawn from [-r, r].
        fill_mode: how points outside the image are filled: `"constant"`, `"nearest"`, `"reflect"` or
            `"wrap"` (SciPy's other modes too).
        cval: the value for `fill_mode="constant"`.
        horizontal_flip: randomly flip images horizontally.
        vertical_flip: randomly flip images vertically.
        rescale: a factor multiplied in before the other standardization (e.g. `1 / 255`), or None / 0.
        preprocessing_function: a function applied to each image (rank 3) after augmentation, before the
            rest of the standardization.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        validation_split: fraction of the data reserved for `subset="validation"`, in [0, 1).
        interpolation_order: spline order of the affine resampling, 0 to 5.
        dtype: dtype of the generated arrays (default `"float32"`).

    Example:
        >>> datagen = ImageDataGenerator(rotation_range=20, horizontal_flip=True, rescale=1 / 255)
        >>> model.fit(datagen.flow(x_train, y_train, batch_size=32), epochs=5)
    """

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        self.data_format = check_data_format(data_format, "ImageDataGenerator")
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if self.data_format == "channels_last" \
            else (1, 2, 3)
        for name, value in (("rotation_range", rotation_range), ("shear_range", shear_range),
                            ("channel_shift_range", channel_shift_range), ("zca_epsilon", zca_epsilon),
                            ("cval", cval)):
            if not _is_number(value):
                raise ValueError(f"ImageDataGenerator: `{name}` must be a number, got {value!r}.")
        self.width_shift_range = _check_shift_range(width_shift_range, "width_shift_range")
        self.height_shift_range = _check_shift_range(height_shift_range, "height_shift_range")
        if _is_number(zoom_range):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2 and all(map(_is_number, zoom_range)):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"ImageDataGenerator: `zoom_range` must be a float or a tuple or list of two floats, "
                             f"got {zoom_range!r}.")
        if brightness_range is not None and not (isinstance(brightness_range, (list, tuple))
                                                 and len(brightness_range) == 2
                                                 and all(map(_is_number, brightness_range))):
            raise ValueError(f"ImageDataGenerator: `brightness_range` must be None or a tuple or list of two "
                             f"floats, got {brightness_range!r}.")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: `fill_mode` must be one of {', '.join(FILL_MODES)}; got "
                             f"{fill_mode!r}.")
        if not isinstance(interpolation_order, numbers.Integral) or not 0 <= interpolation_order <= 5:
            raise ValueError(f"ImageDataGenerator: `interpolation_order` must be an integer from 0 to 5, got "
                             f"{interpolation_order!r}.")
        if rescale is not None and not _is_number(rescale):
            raise ValueError(f"ImageDataGenerator: `rescale` must be a number or None, got {rescale!r}.")
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError(f"ImageDataGenerator: `preprocessing_function` must be callable, got "
                             f"{preprocessing_function!r}.")
        if not _is_number(validation_split) or not 0 <= validation_split < 1:
            raise ValueError(f"ImageDataGenerator: `validation_split` must be in [0, 1), got {validation_split!r}.")
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        self.brightness_range = brightness_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.interpolation_order = interpolation_order
        self.dtype = dtype or "float32"
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None
        self._resolve_implied_options()

    def _resolve_implied_options(self):
        """Keras 2's overrides: ZCA and featurewise std need featurewise centring (ZCA replaces the std)."""
        if self.zca_whitening:
            if not self.featurewise_center:
                self.featurewise_center = True
                warnings.warn("ImageDataGenerator: `zca_whitening` turns on `featurewise_center`.", stacklevel=3)
            if self.featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("ImageDataGenerator: `zca_whitening` turns off `featurewise_std_normalization`.",
                              stacklevel=3)
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("ImageDataGenerator: `featurewise_std_normalization` turns on `featurewise_center`.",
                          stacklevel=3)
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            warnings.warn("ImageDataGenerator: `samplewise_std_normalization` turns on `samplewise_center`.",
                          stacklevel=3)

    # ------------------------------------------------------------------ iterators
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", ignore_class_split=False, subset=None):
        """Batches of augmented images from arrays.

        Args:
            x: rank-4 array of images, or `(images, misc)` with extra inputs passed through unchanged.
            y: labels (or None).
            batch_size: samples per batch.
            shuffle: shuffle the order every epoch.
            sample_weight: per-sample weights (or None).
            seed: random seed of the shuffling and the transformations.
            save_to_dir: folder where the augmented images are also saved (or None).
            save_prefix: file-name prefix of the saved images.
            save_format: format of the saved images.
            ignore_class_split: do not check that the subsets hold the same classes.
            subset: `"training"` or `"validation"` (with `validation_split`), or None.

        Returns:
            A `NumpyArrayIterator` yielding `x`, `(x, y)` or `(x, y, sample_weight)` batches.
        """
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, save_to_dir=None,
                            save_prefix="", save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """Batches of augmented images read from a folder with one subfolder per class.

        See `DirectoryIterator` for the arguments.

        Returns:
            A `DirectoryIterator` yielding `(x, y)` batches (`x` only with `class_mode=None`).
        """
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class", weight_col=None,
                            target_size=(256, 256), color_mode="rgb", classes=None, class_mode="categorical",
                            batch_size=32, shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", subset=None, interpolation="nearest", validate_filenames=True,
                            **kwargs):
        """Batches of augmented images whose files and labels are listed in a pandas DataFrame.

        See `DataFrameIterator` for the arguments. Keras 2's deprecated `has_ext`, `sort` and
        `drop_duplicates` are accepted with a warning (they no longer change anything), and
        `class_mode="other"` means `"raw"`.

        Returns:
            A `DataFrameIterator`.
        """
        for name in ("has_ext", "sort", "drop_duplicates"):
            if name in kwargs:
                kwargs.pop(name)
                warnings.warn(f"flow_from_dataframe: `{name}` is deprecated and has no effect.", DeprecationWarning,
                              stacklevel=2)
        if kwargs:
            raise TypeError(f"flow_from_dataframe: unexpected keyword argument(s) {sorted(kwargs)}.")
        if class_mode == "other":
            warnings.warn('flow_from_dataframe: class_mode="other" is deprecated, use "raw".', DeprecationWarning,
                          stacklevel=2)
            class_mode = "raw"
        return DataFrameIterator(dataframe, directory, self, x_col=x_col, y_col=y_col, weight_col=weight_col,
                                 target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, subset=subset, interpolation=interpolation,
                                 validate_filenames=validate_filenames, dtype=self.dtype)

    # ------------------------------------------------------------------ standardization
    def standardize(self, x):
        """Applies the normalization configuration to an image or a batch of images, in place where it can.

        In order: `preprocessing_function` (per image), `rescale`, samplewise centring and std normalization
        (per image), featurewise centring and std normalization, ZCA whitening.

        Args:
            x: one image (rank 3) or a batch (rank 4), floating point; it is changed in place (pass a copy
                to keep it).

        Returns:
            The standardized array.
        """
        x = np.asarray(x)
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x) if x.ndim == 3 else \
                np.stack([self.preprocessing_function(image) for image in x])
        return self._standardize_batch(x)

    def _standardize_batch(self, x):
        """`standardize` after `preprocessing_function`, vectorized over the images of `x` (rank 3 or 4)."""
        if x.ndim not in (3, 4):
            raise ValueError(f"ImageDataGenerator.standardize: expected an image (rank 3) or a batch (rank 4), got "
                             f"shape {x.shape}.")
        if self.rescale:
            x *= self.rescale
        image_axes = tuple(range(x.ndim - 3, x.ndim))
        if self.samplewise_center:
            x -= np.mean(x, axis=image_axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, axis=image_axes, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                self._warn_not_fit("featurewise_center")
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                self._warn_not_fit("featurewise_std_normalization")
            else:
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                self._warn_not_fit("zca_whitening")
            else:
                flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
                x = (flat @ self.zca_whitening_matrix).reshape(x.shape)
        return x

    @staticmethod
    def _warn_not_fit(option):
        warnings.warn(f"ImageDataGenerator: `{option}` is set but the generator has not been fit on data; call "
                      f"`.fit(x)` first.", stacklevel=4)

    # ------------------------------------------------------------------ random transformations
    def get_random_transform(self, img_shape, seed=None):
        """Draws random transformation parameters for one image (Keras 2's draws, in Keras 2's order).

        Args:
            img_shape: the image's shape (rank 3).
            seed: a random seed (None: NumPy's global generator).

        Returns:
            A dict with `theta`, `tx`, `ty`, `shear`, `zx`, `zy`, `flip_horizontal`, `flip_vertical`,
            `channel_shift_intensity` and `brightness`.
        """
        return self._random_transform_parameters(img_shape, np.random if seed is None else
                                                 np.random.RandomState(seed))

    def _draw_transform(self, img_shape, rng):
        """The parameters for one image from `rng`; a subclass's own `get_random_transform` is honoured."""
        if self._overrides("get_random_transform"):
            return self.get_random_transform(img_shape, seed=int(rng.randint(2**31 - 1)))
        return self._random_transform_parameters(img_shape, rng)

    def _overrides(self, method):
        """Whether a subclass replaced `method` (the iterators then call it as Keras 2 does)."""
        return getattr(type(self), method) is not getattr(ImageDataGenerator, method)

    def _random_transform_parameters(self, img_shape, rng):
        if len(img_shape) != 3:
            raise ValueError(f"ImageDataGenerator.get_random_transform: `img_shape` must be an image's shape "
                             f"(rank 3), got {img_shape!r}.")
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = _draw_shift(rng, self.height_shift_range, rows) if _enabled(self.height_shift_range) else 0
        ty = _draw_shift(rng, self.width_shift_range, cols) if _enabled(self.width_shift_range) else 0
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (rng.random() < 0.5) * self.horizontal_flip
        flip_vertical = (rng.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift_intensity, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """Applies transformation parameters (as from `get_random_transform`) to one image.

        Args:
            x: one image (rank 3).
            transform_parameters: dict of `theta`, `tx`, `ty`, `shear`, `zx`, `zy`, `flip_horizontal`,
                `flip_vertical`, `channel_shift_intensity`, `brightness` (missing keys: no change).

        Returns:
            The transformed image.
        """
        unknown = set(transform_parameters) - {"theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal",
                                               "flip_vertical", "channel_shift_intensity", "brightness"}
        if unknown:
            raise ValueError(f"ImageDataGenerator.apply_transform: unknown transformation parameter(s) "
                             f"{sorted(unknown)}.")
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        p = transform_parameters
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                                   p.get("zx", 1), p.get("zy", 1), row_axis=row, col_axis=col, channel_axis=channel,
                                   fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"], channel)
        if p.get("flip_horizontal", False):
            x = flip_axis(x, col)
        if p.get("flip_vertical", False):
            x = flip_axis(x, row)
        if p.get("brightness") is not None:
            last = np.moveaxis(x, channel, -1)
            x = np.moveaxis(apply_brightness_shift(last, p["brightness"], False), -1, channel)
        return x

    def random_transform(self, x, seed=None):
        """One image randomly transformed (`get_random_transform` then `apply_transform`).

        Args:
            x: one image (rank 3).
            seed: a random seed (None: NumPy's global generator).

        Returns:
            The transformed image.
        """
        x = np.asarray(x)
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    # ------------------------------------------------------------------ fitting
    def fit(self, x, augment=False, rounds=1, seed=None):
        """Learns the featurewise mean, std and ZCA matrix from sample images.

        Args:
            x: rank-4 array of images.
            augment: fit on randomly augmented copies of the images.
            rounds: with `augment`, how many augmented copies of each image.
            seed: random seed of the augmentation.
        """
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: `x` must have rank 4 (samples, rows, cols, channels); got "
                             f"shape {x.shape}.")
        if not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise ValueError(f"ImageDataGenerator.fit: `rounds` must be a positive integer, got {rounds!r}.")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: data_format={self.data_format!r} expects 1, 3 or 4 channels on "
                          f"axis {self.channel_axis}, but `x` has shape {x.shape}.", stacklevel=2)
        rng = np.random if seed is None else np.random.RandomState(seed)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.stack([self.apply_transform(image, self._draw_transform(image.shape, rng))
                          for _ in range(rounds) for image in x]).astype(self.dtype)
        axes = (0, self.row_axis, self.col_axis)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes).reshape(shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes).reshape(shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            s_inv = np.sqrt(len(x)) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = (u * s_inv) @ u.T


__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator", "DataFrameIterator",
           "load_img", "img_to_array", "array_to_img", "save_img", "apply_affine_transform",
           "apply_brightness_shift", "apply_channel_shift", "random_rotation", "random_shift", "random_shear",
           "random_zoom", "random_channel_shift", "random_brightness", "flip_axis", "transform_matrix_offset_center",
           "smart_resize"]
