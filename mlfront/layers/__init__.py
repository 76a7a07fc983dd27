"""Layers (Keras names and arguments)."""

from mlfront.layers.base import Layer
from mlfront.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten"]
