"""Models: `Sequential`, `Model` (functional or subclassed)."""

from mlfront.models.model import Model
from mlfront.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
