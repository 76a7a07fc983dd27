"""Keras 2's `layers.experimental` namespace: `layers.experimental.preprocessing.<Name>`."""

from mlfront.layers.experimental import preprocessing

__all__ = ["preprocessing"]
