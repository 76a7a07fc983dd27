"""`image_dataset_from_directory`: a folder of images (one subfolder per class) as a dataset of batches."""

import numpy as np

from mlfront.utils import dataset_utils, image_resize

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 verbose=True):
    """Generates a dataset of image batches from the image files in a directory (Keras 3 semantics).

    With `labels="inferred"`, `directory` holds one subfolder per class:

    ```
    main_directory/
    ...class_a/
    ......a_image_1.jpg
    ...class_b/
    ......b_image_1.jpg
    ```

    Supported formats: .bmp, .gif (first frame), .jpeg, .jpg, .png. Images are decoded with Pillow when their
    batch is needed and resized with the arithmetic of `tf.image.resize`. Instead of a `tf.data.Dataset` the
    result is a `BatchedDataset`, which `fit` / `evaluate` / `predict` take on every engine.

    Args:
        directory: the folder of the data.
        labels: `"inferred"` (from the subfolders), None (no labels) or a list/tuple of integer labels, one
            per image file in sorted path order (`os.walk` order).
        label_mode: `"int"` (int32 labels, for `sparse_categorical_crossentropy`), `"categorical"` (one-hot
            float32), `"binary"` (float32 0/1 of shape (batch, 1), exactly 2 classes) or None (no labels).
        class_names: only with `labels="inferred"`: the subfolders to use, in label order (default: all,
            sorted).
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"` (1, 3 or 4 channels).
        batch_size: images per batch (default 32); None yields single images.
        image_size: `(height, width)` the images are resized to (default `(256, 256)`); an int is square.
        shuffle: shuffle the files (default True), with a new order every epoch; else alphanumeric order.
        seed: seed of the shuffling.
        validation_split: fraction (between 0 and 1) of the files reserved for validation (the last ones).
        subset: `"training"`, `"validation"` or `"both"` (returns `[training, validation]`); only with
            `validation_split`.
        interpolation: `"bilinear"` (default), `"nearest"`, `"bicubic"`, `"area"`, `"lanczos3"`,
            `"lanczos5"`, `"gaussian"` or `"mitchellcubic"`.
        follow_links: also descend into subfolders that are symbolic links.
        crop_to_aspect_ratio: resize without distortion by cropping the largest centred box with the aspect
            ratio of `image_size` first (`smart_resize`).
        pad_to_aspect_ratio: resize without distortion by padding with zeros to the aspect ratio of
            `image_size` (`tf.image.resize_with_pad`).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        verbose: print how many files and classes were found.

    Returns:
        A `BatchedDataset` of `(images, labels)` batches (`images` alone when there are no labels): images
        are float32 `(batch, height, width, channels)`. It has `class_names` and `file_paths` attributes. A
        list of two such datasets with `subset="both"`.
    """
    where = "image_dataset_from_directory"
    labels, label_mode = dataset_utils.check_label_args(labels, label_mode, class_names, where, "image")
    if color_mode not in _CHANNELS:
        raise ValueError(f"{where}: `color_mode` must be one of {{\"rgb\", \"rgba\", \"grayscale\"}}. "
                         f"Received: color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"{where}: invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size!r}")
    image_size = tuple(int(s) for s in image_size)
    if not isinstance(interpolation, str) or interpolation.lower() not in image_resize.INTERPOLATIONS:
        raise ValueError(f"{where}: argument `interpolation` should be one of {image_resize.INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    interpolation = interpolation.lower()
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{where}: only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to True.")
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    dataset_utils.check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1e6))

    paths, labels, class_names = dataset_utils.index_directory(
        directory, labels, ALLOWLIST_FORMATS, class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"{where}: when passing `label_mode=\"binary\"`, there must be exactly 2 class_names. "
                         f"Received: class_names={class_names}")
    reader = _ImageReader(image_size, color_mode, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                          data_format)

    return dataset_utils.labelled_file_datasets(
        paths, labels, lambda batch_paths: np.stack([reader(p) for p in batch_paths]), subset=subset,
        validation_split=validation_split, shuffle=shuffle, seed=seed, batch_size=batch_size, label_mode=label_mode,
        class_names=class_names, verbose=verbose,
        missing=lambda kind: f"{where}: no {kind}images found in directory {directory!r}. "
                             f"Allowed formats: {ALLOWLIST_FORMATS}")


class _ImageReader:
    """Reads one image file into an array of the requested size, channels and layout, as Keras's TensorFlow
    pipeline does: decoded to uint8, then resized (float32; uint8 kept by "nearest")."""

    def __init__(self, image_size, color_mode, interpolation, crop, pad, data_format):
        self.image_size, self.color_mode, self.interpolation = image_size, color_mode, interpolation
        self.crop, self.pad, self.data_format = crop, pad, data_format

    def __call__(self, path):
        image = decode_image(path, self.color_mode)
        if self.crop:
            image = image_resize.smart_resize(image, self.image_size, self.interpolation)
        elif self.pad:
            image = image_resize.resize_with_pad(image, *self.image_size, interpolation=self.interpolation)
        else:
            image = image_resize.resize_images(image, self.image_size, self.interpolation)
        if self.interpolation == "nearest":
            image = image.astype(np.uint8)
        return image.transpose(2, 0, 1) if self.data_format == "channels_first" else image


def decode_image(path, color_mode):
    """The image file at `path` as a uint8 `(height, width, channels)` array, with TensorFlow's conversions:
    colour to grayscale with libpng's integer weights, 16-bit grayscale to its high byte."""
    from mlfront.utils.image_utils import img_to_array, load_img

    if color_mode != "grayscale":
        return img_to_array(load_img(path, color_mode=color_mode), dtype="uint8")
    gray = load_img(path, color_mode="grayscale")
    if gray.mode in ("I;16", "I"):
        return np.clip(img_to_array(gray, dtype="int64") >> 8, 0, 255).astype(np.uint8)
    # exact for grey sources too: the three weights sum to 2 ** 15
    red, green, blue = np.moveaxis(img_to_array(load_img(path, color_mode="rgb"), dtype="int64"), -1, 0)
    return ((9797 * red + 19234 * green + 3737 * blue) >> 15).astype(np.uint8)[..., None]
