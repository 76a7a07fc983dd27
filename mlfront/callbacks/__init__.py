"""Callbacks: hooks into fit / evaluate / predict (Keras names)."""

from mlfront.callbacks.base import Callback, CallbackList
from mlfront.callbacks.history import History
from mlfront.callbacks.progbar import Progbar, ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "Progbar", "ProgbarLogger"]
