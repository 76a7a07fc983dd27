"""Keras 2 spelling: `keras.utils.data_utils.get_file`, `Sequence`, `PyDataset`."""

from mlfront.training.data import PyDataset, Sequence
from mlfront.utils.file_utils import get_file, validate_file

__all__ = ["get_file", "validate_file", "Sequence", "PyDataset"]
