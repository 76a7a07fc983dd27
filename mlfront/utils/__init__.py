"""Utilities: `to_categorical`, `set_random_seed`, ... (also reachable as `mlfront.utils.np_utils`)."""

import numpy as np

from mlfront.random import set_seed as set_random_seed
from mlfront.training.data import PyDataset, Sequence
from mlfront.utils.file_utils import get_file
from mlfront.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from mlfront.utils.dataset_utils import BatchedDataset
from mlfront.utils.image_dataset import image_dataset_from_directory
from mlfront.utils.image_resize import smart_resize
from mlfront.utils.text_dataset import text_dataset_from_directory
from mlfront.utils.timeseries_dataset import timeseries_dataset_from_array
from mlfront.utils.plotting import plot_history
from mlfront.utils.model_visualization import model_to_dot, plot_model
from mlfront.utils.split_dataset import split_dataset
from mlfront.utils.data_packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from mlfront.preprocessing.sequence import pad_sequences
from mlfront.saving.serialization import (custom_object_scope, CustomObjectScope, deserialize_keras_object,
                                          get_registered_object, register_keras_serializable, serialize_keras_object)


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels `y` (any shape; a trailing axis of 1 is dropped) into `num_classes`."""
    y = np.asarray(y, dtype="int64")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative integers, got a minimum of {y.min()}.")
    num_classes = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: label {int(y.max())} does not fit num_classes={num_classes}.")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """`x` scaled to unit `order`-norm along `axis`."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


__all__ = ["image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "smart_resize", "BatchedDataset",
           "to_categorical", "normalize", "set_random_seed", "plot_history", "PyDataset", "Sequence",
           "load_img", "img_to_array", "array_to_img", "save_img"]
__all__ += ["get_file", "pad_sequences"]
__all__ += ["plot_model", "model_to_dot", "split_dataset", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]
__all__ += ["register_keras_serializable", "custom_object_scope", "CustomObjectScope", "get_registered_object",
            "serialize_keras_object", "deserialize_keras_object"]
