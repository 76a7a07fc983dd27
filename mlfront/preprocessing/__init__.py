"""Keras 2's data preprocessing modules: `image` (ImageDataGenerator), `text` (Tokenizer) and `sequence`
(pad_sequences, TimeseriesGenerator), plus the dataset builders Keras 2.x also offered here.

The preprocessing *layers* (Keras 3's way) are in `mlfront.layers`.
"""

from mlfront.preprocessing import image, sequence, text
from mlfront.utils.image_dataset import image_dataset_from_directory
from mlfront.utils.text_dataset import text_dataset_from_directory
from mlfront.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["image", "sequence", "text", "image_dataset_from_directory", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
