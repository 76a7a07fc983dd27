"""mlfront adapter for PyTorch, registered in the `mlfront.backends` entry-point group as "torch"."""

from mlfront_torch.backend import TorchBackend

__all__ = ["TorchBackend"]
