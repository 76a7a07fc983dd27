"""mlfront.distribution's ModelParallel on PyTorch: DTensor over a torch DeviceMesh, one process per device.

The weights a layout map names are DTensors split over the mesh (optimizer slots made from them are split
alike), the batch is a DTensor split over the batch axis, and the one eager step runs on them as on global
tensors: DTensor's sharding propagation inserts the collectives. Other state stays plain tensors, the same on
every process. A model too large for one device is the use case: each process holds its shards only.
"""

import atexit

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
from torch.distributed.tensor.experimental import implicit_replication

from mlfront.training.data import map_structure
from mlfront_torch.distributed import TorchRuntime, _leave, process_count, process_index


class ShardedRuntime(TorchRuntime):
    """ModelParallel: weights split over a torch DeviceMesh as DTensors, one global step (see the module)."""

    per_replica = False

    def __init__(self, distribution, backend):
        mesh = distribution.device_mesh
        if not dist.is_initialized() and mesh.devices.size == 1:  # a job of one: a process group of one
            dist.init_process_group("gloo", store=dist.HashStore(), world_size=1, rank=0)
            atexit.register(_leave)
        if mesh.devices.size != process_count():
            raise ValueError(f"ModelParallel on torch runs one process per device: the mesh {mesh.shape} has "
                             f"{mesh.devices.size} devices but the job has {process_count()} processes.")
        ranks = np.vectorize(lambda name: int(name.rsplit(":", 1)[1]))(mesh.devices)  # "cpu:3" is rank 3
        self.mesh = DeviceMesh(backend.device.type, torch.as_tensor(ranks), mesh_dim_names=tuple(mesh.axis_names))
        self.distribution, self.backend = distribution, backend
        self.batch_dim = mesh.axis_names.index(distribution.batch_dim_name)
        self.num_replicas = distribution.num_replicas
        self.process_index, self.process_count = process_index(), process_count()
        _allow_plain_tensors()
        backend.sharded_tensors = True

    def shard_batch(self, array):
        array = np.asarray(array)
        if self.num_replicas == 1 or not array.ndim or len(array) % self.num_replicas:
            return self.backend.prepare_batch(array)  # the whole batch on every process (implicitly replicated)
        share = len(array) // self.num_replicas
        start = self.input_shards()[1] * share
        return self.local_batch(array[start:start + share])

    def rows_read(self, samples):
        return None  # shard_batch picks the rows (by mesh coordinate; a batch the axis cannot split stays whole)

    def input_shards(self):
        return self.num_replicas, self.mesh.get_coordinate()[self.batch_dim]  # processes along the batch axis

    def local_batch(self, array):
        if self.num_replicas == 1 or not np.ndim(array):
            return self.backend.prepare_batch(array)
        placements = [Shard(0) if d == self.batch_dim else Replicate() for d in range(self.mesh.ndim)]
        return DTensor.from_local(self.backend.prepare_batch(array), self.mesh, placements, run_check=False)

    def _placements(self, variable):
        layout = self.distribution.get_variable_layout(variable)
        if layout is None:
            return None
        return [Shard(layout.axes.index(name)) if name in layout.axes else Replicate()
                for name in self.distribution.device_mesh.axis_names]

    def _place(self, value, placements):
        """`value` as a Variable with these placements keeps it: a DTensor split so, or (None) a plain tensor."""
        if placements is None:
            return value.full_tensor() if isinstance(value, DTensor) else value
        if not isinstance(value, DTensor):
            return distribute_tensor(value, self.mesh, placements)
        return value if list(value.placements) == placements else value.redistribute(self.mesh, placements)

    def compile(self, step, jit, state, kind):
        compiled = self._eager(step, jit)
        placements = [self._placements(v) for v in state]

        def run(values, batches, key):
            values = [self._place(v, p) for v, p in zip(values, placements)]
            # (only a failed collective means another process; an op DTensor cannot split raises as it is)
            outputs, key = self._call("run the step", lambda: compiled(values, batches, key), dist.DistBackendError)
            if kind == "predict":
                return [map_structure(_whole, o) for o in outputs], _whole(key)
            return [self._place(o, p) for o, p in zip(outputs, placements)], _whole(key)
        return run

    def broadcast(self, values):
        plain = iter(super().broadcast([v for v in values if not isinstance(v, DTensor)]))
        return [v if isinstance(v, DTensor) else next(plain) for v in values]  # DTensors came from steps: alike


_replication = []


def _allow_plain_tensors():
    """From now on, in this process, a plain tensor meeting a DTensor counts as replicated: in mlfront every
    plain tensor is the same on every process (process 0's weights, shared random keys, constants, the global
    batch), so a step, a build call or a user's `model(x)` mixes them with the sharded weights."""
    if not _replication:
        _replication.append(implicit_replication())
        _replication[0].__enter__()  # held open for the process's life (kept here, never collected)


def _whole(value):
    return value.full_tensor() if isinstance(value, DTensor) else value
