"""Callbacks: hooks into fit / evaluate / predict (Keras names)."""

from mlfront.callbacks.backup_and_restore import BackupAndRestore
from mlfront.callbacks.base import Callback, CallbackList
from mlfront.callbacks.checkpoint import ModelCheckpoint
from mlfront.callbacks.csv_logger import CSVLogger
from mlfront.callbacks.early_stopping import EarlyStopping
from mlfront.callbacks.history import History
from mlfront.callbacks.lambda_callback import LambdaCallback
from mlfront.callbacks.lr_schedulers import LearningRateScheduler, ReduceLROnPlateau
from mlfront.callbacks.progbar import Progbar, ProgbarLogger
from mlfront.callbacks.tensorboard import TensorBoard
from mlfront.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "Progbar", "ProgbarLogger",
           "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN"]
