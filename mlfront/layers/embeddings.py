"""Keras 2's `keras.layers.embeddings` import path."""

from mlfront.layers.embedding import Embedding

__all__ = ["Embedding"]
