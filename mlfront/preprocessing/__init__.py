"""Keras 2 data preprocessing modules: `image`, `text` and `sequence`."""
