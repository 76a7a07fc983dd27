"""`TensorBoard`: write training scalars (and weight histograms) as TensorBoard event files.

Needs the `tensorboard` package (`pip install tensorboard`, the `mlfront[tensorboard]` extra), imported
when training starts. Files are written with its record writer, so no engine is involved.
"""

import os
import socket
import time

import numpy as np

from mlfront.callbacks.base import Callback


def _tensorboard_modules():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError as error:
        raise ImportError("TensorBoard callback: the `tensorboard` package is needed to write event files; "
                          "install it with `pip install tensorboard`.") from error
    return RecordWriter, event_pb2, summary_pb2


class _Writer:
    """One event file in one directory: scalars and histograms at integer steps.

    Records are written with tensorboard's plain-file record writer (its file-system layer would import
    TensorFlow when that is installed, which a torch or jax run should not pay for).
    """

    _count = 0

    def __init__(self, directory):
        RecordWriter, self._event_pb2, self._summary_pb2 = _tensorboard_modules()
        os.makedirs(directory, exist_ok=True)
        _Writer._count += 1
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{_Writer._count}.v2"
        self._file = RecordWriter(open(os.path.join(directory, name), "wb"))
        self._file.write(self._event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
                         .SerializeToString())

    def _write(self, step, value):
        summary = self._summary_pb2.Summary(value=[value])
        event = self._event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._file.write(event.SerializeToString())

    def scalar(self, tag, value, step):
        self._write(step, self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value)))

    def histogram(self, tag, values, step, buckets=30):
        values = np.asarray(values, dtype=np.float64).ravel()
        counts, edges = np.histogram(values, bins=buckets)
        proto = self._summary_pb2.HistogramProto(
            min=float(values.min()), max=float(values.max()), num=float(values.size), sum=float(values.sum()),
            sum_squares=float(np.square(values).sum()), bucket_limit=edges[1:].tolist(),
            bucket=counts.astype(np.float64).tolist())
        self._write(step, self._summary_pb2.Summary.Value(tag=tag, histo=proto))

    def flush(self):
        self._file.flush()

    def close(self):
        self._file.close()


class TensorBoard(Callback):
    """Log training to `log_dir` for TensorBoard: `log_dir/train` and `log_dir/validation` event files.

    Each epoch writes "epoch_<name>" scalars at step `epoch`: the training logs (and "epoch_learning_rate")
    in train/, the "val_" logs without their prefix in validation/. With `update_freq="batch"` or an
    integer n, training logs are also written every n batches as "batch_<name>" at the global batch count.
    With `histogram_freq=n`, every n epochs each weight's histogram is written to train/ under its path.

    Args:
        log_dir: directory for the event files.
        histogram_freq: epochs between weight histograms (0: none).
        write_graph: accepted for Keras compatibility (Keras writes a graph only for TensorFlow's traced
            functions; mlfront writes none).
        write_images, profile_batch, embeddings_freq, embeddings_metadata: only their defaults (False, 0, 0,
            None) are supported: images, profiles and embeddings are not written, so other values raise
            NotImplementedError.
        write_steps_per_second: also log "epoch_steps_per_second".
        update_freq: "epoch", "batch" or an integer number of batches.
    """

    chief_only = True  # in a distributed job process 0 writes

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}.")
        for arg, value in (("write_images", write_images), ("profile_batch", profile_batch),
                           ("embeddings_freq", embeddings_freq), ("embeddings_metadata", embeddings_metadata)):
            if value:
                raise NotImplementedError(f"TensorBoard: {arg}={value!r} is not supported by mlfront (it writes "
                                          f"scalars and weight histograms only); leave `{arg}` at its default.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph, self.write_images = histogram_freq, write_graph, write_images
        self.write_steps_per_second, self.update_freq = write_steps_per_second, update_freq
        self.profile_batch, self.embeddings_freq = profile_batch, embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_batch = 0

    def _writer(self, kind):
        if kind not in self._writers:
            self._writers[kind] = _Writer(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def on_train_begin(self, logs=None):
        _tensorboard_modules()  # fail early when tensorboard is missing
        self._global_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        self._epoch_batches = batch + 1
        if self.update_freq == "epoch" or self._global_batch % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.scalar("batch_" + name, value, self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and "learning_rate" not in train:
            train["learning_rate"] = optimizer.learning_rate
        if self.write_steps_per_second:
            train["steps_per_second"] = self._epoch_batches / max(time.perf_counter() - self._epoch_start, 1e-9)
        for kind, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(kind)
                for name, value in values.items():
                    if np.ndim(value) == 0:
                        writer.scalar("epoch_" + name, value, epoch)
                writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for variable in self.model.weights:
                writer.histogram(variable.path, variable.numpy(), epoch)
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def release_resources(self):
        self.on_train_end()
