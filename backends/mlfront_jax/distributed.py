"""mlfront.distribution on JAX: a `Mesh` of the job's devices and `NamedSharding`s inside the one jitted step.

The step stays the single-device computation on global arrays: the batch is sharded over the mesh's batch
axis, the weights replicated or (ModelParallel) sharded by the layout map, and XLA inserts the collectives.
Several processes (`jax.distributed.initialize`) each hold their share of every global batch.
"""

import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from mlfront.distribution import timeout_seconds
from mlfront.distribution.replicas import Runtime


def configure_cpu_devices():
    """MLFRONT_NUM_CPU_DEVICES=N: N host devices (XLA's host device count), set before jax starts."""
    count = os.environ.get("MLFRONT_NUM_CPU_DEVICES")
    if count:
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"MLFRONT_NUM_CPU_DEVICES must be a positive integer, got {count!r}.")
        jax.config.update("jax_num_cpu_devices", int(count))


def list_devices(device_type=None):
    try:
        devices = jax.devices(device_type) if device_type else jax.devices()
    except RuntimeError:  # no device of that type
        return []
    return [f"{d.platform}:{d.id}" for d in devices]


def initialize(job_addresses, num_processes, process_id):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # collectives of CPU devices across processes
    # a process that stops sending heartbeats for the timeout counts as dead: the others' collectives then fail
    jax.distributed.initialize(coordinator_address=job_addresses[0], num_processes=num_processes,
                               process_id=process_id, heartbeat_timeout_seconds=max(1, round(timeout_seconds())))


class JaxRuntime(Runtime):
    per_replica = False

    def __init__(self, distribution):
        by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
        names = list(distribution.device_mesh.devices.ravel())
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"{type(distribution).__name__}: devices {missing} are not among jax's devices "
                             f"{sorted(by_name)}.")
        devices = np.array([by_name[n] for n in names], dtype=object).reshape(distribution.device_mesh.shape)
        self.mesh = Mesh(devices, tuple(distribution.device_mesh.axis_names))
        self.distribution = distribution
        self.batch_axis = distribution.batch_dim_name
        self.num_replicas = distribution.num_replicas
        self.process_index, self.process_count = jax.process_index(), jax.process_count()
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.batch_sharded = NamedSharding(self.mesh, PartitionSpec(self.batch_axis))

    def shard_batch(self, array):
        array = np.asarray(array)
        # a batch the replicas cannot share evenly (the last one of an epoch) is computed whole on every device
        sharding = self.batch_sharded if array.ndim and len(array) % self.num_replicas == 0 else self.replicated
        if self.process_count == 1:
            return jax.device_put(array, sharding)
        shares, index = self.input_shards()
        if sharding is self.batch_sharded and shares > 1:
            share = len(array) // shares
            array = array[index * share:(index + 1) * share]
        return jax.make_array_from_process_local_data(sharding, array)

    def input_shards(self):
        if self.num_replicas % self.process_count:  # processes that share the batch rows read the same ones
            return 1, 0
        return self.process_count, self.process_index

    def local_batch(self, array):
        array = np.asarray(array)
        if self.process_count == 1:
            return self.shard_batch(array)
        if not array.ndim:
            return jax.make_array_from_process_local_data(self.replicated, array)
        # every process must give as many rows (jax assumes it; checking would take a collective, which the
        # loading thread must not run beside the step's)
        per_process = self.num_replicas // self.input_shards()[0]
        if len(array) % per_process:
            raise ValueError(f"DataParallel on jax: a process's batch must split over its {per_process} devices on "
                             f"the batch axis; got {len(array)} rows.")
        return jax.make_array_from_process_local_data(self.batch_sharded, array)

    def _variable_sharding(self, variable):
        layout = self.distribution.get_variable_layout(variable)
        if layout is None:
            return self.replicated
        return NamedSharding(self.mesh, PartitionSpec(*layout.axes))

    def compile(self, step, jit, state, kind):
        shardings = [self._variable_sharding(v) for v in state]
        if kind == "predict":
            compiled = jax.jit(step) if jit else step
        else:  # the train and test steps donate the state they replace, as on one device (`compile_donating`)
            compiled = jax.jit(step, out_shardings=(shardings, self.replicated), donate_argnums=0) if jit else step

        laid_out = []  # the arrays the last call returned, already in their shardings

        def run(values, batches, key):
            # arrays other than the last call's (a first call, set_weights, a variable assigned another's array,
            # predict) are laid out as copies, so that donating them leaves the caller's arrays valid
            if len(values) != len(laid_out) or any(v is not w for v, w in zip(values, laid_out)):
                values = jax.device_put(list(values), shardings)
                if kind != "predict":
                    values = [jax.numpy.copy(v) for v in values]
            if getattr(key, "sharding", None) != self.replicated:
                key = jax.device_put(key, self.replicated)
            outputs, key = compiled(values, batches, key)
            if kind == "predict" and self.process_count > 1:  # each process reads the whole predictions
                outputs = multihost_utils.process_allgather(outputs, tiled=True)
            if kind != "predict":
                laid_out[:] = outputs
            return outputs, key
        return run

    def broadcast(self, values):
        if self.process_count == 1:
            return values
        host = multihost_utils.broadcast_one_to_all([np.asarray(v) for v in values])
        return [jax.numpy.asarray(v) for v in host]

    def shared_seed(self, seed):
        if self.process_count == 1:
            return seed
        return int(multihost_utils.broadcast_one_to_all(np.asarray(seed % 2**31, np.int32)))
