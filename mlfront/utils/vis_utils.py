"""Keras 2 spelling: `keras.utils.vis_utils.plot_model` / `model_to_dot` (see `model_visualization`)."""

from mlfront.utils.model_visualization import model_to_dot, plot_model

__all__ = ["model_to_dot", "plot_model"]
