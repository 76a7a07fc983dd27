"""mlfront adapter for TensorFlow, registered in the `mlfront.backends` entry-point group as "tensorflow"."""

from mlfront_tensorflow.backend import TensorFlowBackend

__all__ = ["TensorFlowBackend"]
