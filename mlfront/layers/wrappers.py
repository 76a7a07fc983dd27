"""Keras 2's `keras.layers.wrappers` import path."""

from mlfront.layers.recurrent import Bidirectional, TimeDistributed

__all__ = ["Bidirectional", "TimeDistributed"]
