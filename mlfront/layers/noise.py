"""Keras 2's `keras.layers.noise` import path: the noise layers."""

from mlfront.layers.regularization import AlphaDropout, GaussianDropout, GaussianNoise

__all__ = ["AlphaDropout", "GaussianDropout", "GaussianNoise"]
