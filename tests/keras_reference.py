"""Real Keras 3 as a test reference: `keras` is the module when it is installed and runs on mlfront's engine
(`KERAS_BACKEND` = the env's engine, as tox sets it), else None; `needs_keras` skips a test without it."""

import os

import pytest

import mlfront

os.environ.setdefault("KERAS_BACKEND", mlfront.backend())
try:
    import keras
    if keras.backend.backend() != mlfront.backend():
        keras = None
except ImportError:
    keras = None

needs_keras = pytest.mark.skipif(keras is None, reason="Keras 3 on this engine is not installed")
