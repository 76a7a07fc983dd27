"""mlfront.distribution on TensorFlow: tf.distribute's `MirroredStrategy` (the devices of one process) and
`MultiWorkerMirroredStrategy` (several processes, from TF_CONFIG).

The step runs once per replica inside one `tf.function`, through `strategy.run`: every replica reads the whole
batch this process holds and keeps its rows (np.array_split's shares, in replica order), the gradients and
synchronized batch statistics are summed with the replica context's `all_reduce`, and the replicas' state is
combined by the core (`mlfront.distribution.replicas`). Predictions are gathered over all replicas in order.
The step is a plain tf.function: `jit_compile=True` warns and runs it so (XLA compiles for one device).
"""

import json
import os
import warnings

import numpy as np
import tensorflow as tf

from mlfront.distribution import timeout_seconds
from mlfront.distribution.replicas import Runtime
from mlfront.training.data import map_structure

_strategy = [None]  # the MultiWorkerMirroredStrategy made by initialize (before any other TensorFlow op)
_SUM = tf.distribute.ReduceOp.SUM


def configure_cpu_devices():
    """MLFRONT_NUM_CPU_DEVICES=N: N logical CPU devices, set before TensorFlow starts its runtime."""
    count = os.environ.get("MLFRONT_NUM_CPU_DEVICES")
    if count:
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"MLFRONT_NUM_CPU_DEVICES must be a positive integer, got {count!r}.")
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))
        except RuntimeError as err:  # TensorFlow ran an op before the backend was made
            raise RuntimeError(f"MLFRONT_NUM_CPU_DEVICES={count}: TensorFlow's devices are already initialized; "
                               f"select the tensorflow backend before running TensorFlow ops ({err}).") from None


def initialize(job_addresses, num_processes, process_id):
    if _strategy[0] is not None:
        raise RuntimeError("initialize: this process is already part of a tf.distribute multi-worker job.")
    if not os.environ.get("TF_CONFIG"):
        if len(job_addresses) != num_processes:
            raise ValueError(f"initialize: TensorFlow's multi-worker jobs need every process's 'host:port' "
                             f"(TF_CONFIG's worker list): pass {num_processes} comma-separated addresses, got "
                             f"{','.join(job_addresses)!r}.")
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": list(job_addresses)},
                                              "task": {"type": "worker", "index": process_id}})
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_seconds())
    _strategy[0] = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def process_index():
    return _strategy[0].cluster_resolver.task_id if _strategy[0] is not None else 0


def process_count():
    return _strategy[0].cluster_resolver.cluster_spec().num_tasks("worker") if _strategy[0] is not None else 1


def list_devices(device_type=None):
    kind = (device_type or ("gpu" if tf.config.list_logical_devices("GPU") else "cpu")).lower()
    if kind not in ("cpu", "gpu", "tpu"):
        return []
    if _strategy[0] is not None:  # the job's devices: every worker's replicas
        local = len(_strategy[0].extended.worker_devices)
        return [f"{kind}:{i}" for i in range(process_count() * local)]
    return [f"{kind}:{i}" for i in range(len(tf.config.list_logical_devices(kind.upper())))]


class TensorFlowRuntime(Runtime):
    per_replica = True
    loader_reads_collectively = True  # a distributed dataset's workers agree on each next batch

    def __init__(self, distribution, backend):
        from mlfront.distribution import ModelParallel
        if isinstance(distribution, ModelParallel):
            raise ValueError("ModelParallel is not supported on the tensorflow backend (mlfront does not drive "
                             "DTensor); use DataParallel.")
        names = [str(d) for d in distribution.device_mesh.devices.ravel()]
        if _strategy[0] is not None:
            self.strategy = _strategy[0]
        else:
            missing = [n for n in names if n not in list_devices(n.split(":")[0])]
            if missing:
                raise ValueError(f"DataParallel: devices {missing} are not among tensorflow's devices "
                                 f"{list_devices('cpu') + list_devices('gpu')}.")
            self.strategy = tf.distribute.MirroredStrategy(devices=["/" + n for n in names])
        self.num_replicas = self.strategy.num_replicas_in_sync
        if distribution.num_replicas != self.num_replicas:
            raise ValueError(f"DataParallel on tensorflow: the distribution has {distribution.num_replicas} devices "
                             f"but the strategy has {self.num_replicas} replicas "
                             f"({process_count()} workers x {len(self.strategy.extended.worker_devices)} devices); "
                             f"use DataParallel() with the job's devices (list_devices()).")
        self.local_replicas = len(self.strategy.extended.worker_devices)
        self.process_index, self.process_count = process_index(), process_count()
        self.backend = backend

    def shard_batch(self, array):
        if self.process_count > 1 and getattr(array, "ndim", 0):
            array = np.array_split(array, self.process_count)[self.process_index]
        return self.backend.prepare_batch(array)

    def local_batch(self, array):  # the replicas of this process split it (`_rows`)
        return self.backend.prepare_batch(array)

    def local_loader(self, loader, seed, epoch):
        if self.process_count == 1 or not isinstance(loader, tf.data.Dataset):
            return None
        # tf.distribute's own auto-shard (by files where the pipeline reads files, else by data) and rebatching:
        # this worker's batches are its rows of the global batches, as tf.keras distributes a dataset
        distributed = self.strategy.experimental_distribute_dataset(loader)
        return (tf.nest.map_structure(self._local_rows, element) for element in distributed)

    def _local_rows(self, value):
        """This worker's rows of a distributed dataset's element: its replicas' parts, in replica order."""
        parts = [np.asarray(part) for part in self.strategy.experimental_local_results(value)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def compile(self, step, jit, state, kind):
        if not jit:
            raise ValueError("DataParallel on tensorflow runs the step as a tf.function; run_eagerly=True / "
                             "jit_compile=False is not supported.")
        if jit is True or jit == "xla":
            warnings.warn("DataParallel on tensorflow runs the step as a plain tf.function: XLA does not compile "
                          "a step that spans several devices.", stacklevel=4)

        def replica_fn(values, batches, key):
            context = tf.distribute.get_replica_context()
            index = tf.get_static_value(context.replica_id_in_sync_group) % self.local_replicas
            batches = [map_structure(lambda a: self._rows(a, index), batch) for batch in batches]
            outputs, key = step(values, batches, key)
            if kind == "predict":  # every replica's rows, in replica order (all_gather takes uneven shares)
                outputs = [map_structure(lambda o: context.all_gather(o, axis=0), o) for o in outputs]
            return outputs, key

        def run(values, batches, key):  # every replica ends with the same values (or the gathered predictions)
            return self._first_local(self.strategy.run(replica_fn, args=(values, batches, key)))
        compiled = self.backend.compile_plain(run)

        def call(values, batches, key):
            try:
                return compiled(values, batches, key)
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError) as err:
                cause = [line for line in str(err).splitlines() if "aborted by" in line] or [type(err).__name__]
                raise RuntimeError(f"DataParallel: process {self.process_index} of {self.process_count} could not "
                                   f"run the step: another process stopped or did not answer within "
                                   f"{timeout_seconds():g} s ({cause[0].strip()}).") from err
        return call

    def _rows(self, array, index):
        """Replica `index`'s rows of this process's batch: np.array_split's share (none, for a batch of fewer
        samples than replicas)."""
        samples = array.shape[0] if array.shape.rank else None
        if samples is None or self.local_replicas == 1:
            return array
        base, extra = divmod(samples, self.local_replicas)
        start = index * base + min(index, extra)
        return array[start:start + base + (index < extra)]

    def _first_local(self, result):
        return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], result)

    def replica_sum(self, arrays):
        return _all_reduce_sum([tf.identity(a) for a in arrays])

    def first_replica(self, arrays):
        first = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 0)
        return _all_reduce_sum([tf.where(first, a, tf.zeros_like(a)) for a in arrays])

    def _from_process_0(self, arrays):
        run = tf.function(lambda a: self.strategy.run(self.first_replica, args=(a,)), autograph=False)
        return self._first_local(run([tf.convert_to_tensor(a) for a in arrays]))

    def broadcast(self, values):
        if self.process_count == 1 or not values:
            return values
        return self._from_process_0(values)

    def shared_seed(self, seed):
        if self.process_count == 1:
            return seed
        return int(self._from_process_0([tf.constant(seed % 2**62, tf.int64)])[0])


def _all_reduce_sum(arrays):
    """Each array summed over the replicas, one all_reduce per dtype: the multi-worker all_reduce packs a list
    into one tensor. The arrays must be placed on the replica's device (a step input passed through unchanged
    has no device; tf.identity gives it one)."""
    context, summed = tf.distribute.get_replica_context(), list(arrays)
    for dtype in dict.fromkeys(a.dtype for a in arrays):  # in the same order on every worker
        indices = [i for i, a in enumerate(arrays) if a.dtype == dtype]
        for i, value in zip(indices, context.all_reduce(_SUM, [arrays[i] for i in indices])):
            summed[i] = value
    return summed
