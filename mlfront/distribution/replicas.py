"""What an engine runtime implements, and how per-replica steps stay one model.

Two kinds of runtime:
- global (jax): the compiled step sees global arrays, the batch sharded over the mesh; the compiler adds the
  collectives, so the step is exactly the single-device computation and nothing below applies;
- per replica (torch processes, tf.distribute replicas): the step runs once per replica on its share of the
  batch. Then, inside the step, `Optimizer.apply` averages the gradients over the replicas (weighted by each
  replica's number of samples, so the result is the gradient of the global batch), and after the step each
  Variable is combined by its `aggregation`: "sum" (metric accumulators: the replicas' increments are added, so
  a metric covers the global batch), "mean" (non-trainable layer state, such as BatchNormalization's moving
  statistics: averaged weighted by the replicas' samples, so a replica left without rows by a short last batch
  does not count), "only_first_replica" (replica 0's value), "none" (identical on every replica: weights and
  optimizer state, updated from the same averaged gradients).
The "sum" and "mean" Variables a step has already changed when it reduces its gradients (the loss and metrics
of the default train_step, BatchNormalization's moving statistics) ride in that same collective, so a step
costs one all-reduce, as DDP's does; what changes later is combined after the step.
"""

import contextlib
import threading

import numpy as np

from mlfront import backend as _backend

AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")
_context = threading.local()  # .runtime (inside a per-replica step on this thread) and .local_batch_size


class Runtime:
    """Base of the engine runtimes (each adapter's `distributed_runtime(distribution)` returns one).

    Attributes:
        per_replica: True when the step runs once per replica (the reductions here apply).
        num_replicas: the data-parallel width.
        process_index / process_count: this process in the job.
        shards_inputs: True: the data each process is given is the whole job's, and mlfront gives each process
            its share (the distribution's `auto_shard_dataset`); False: each process is given its own.
    """

    per_replica = True
    num_replicas = 1
    process_index = 0
    process_count = 1
    shards_inputs = True
    loader_reads_collectively = False  # True: reading a `local_loader` joins collectives (step's thread only)

    def shard_batch(self, array):
        """A NumPy global batch array as the distributed step takes it (this process's share, or a sharded
        global array); the data adapters call it instead of `Backend.prepare_batch`."""
        raise NotImplementedError

    def rows_read(self, samples):
        """(start, stop): the rows of a global batch of `samples` that `shard_batch` keeps, when the data
        adapters may read those rows only and hand them to `local_batch`; None: the step takes the whole batch."""
        return None

    def input_shards(self):
        """(how many different shares of each global batch the processes read, this process's share)."""
        return self.process_count, self.process_index

    def local_loader(self, loader, seed, epoch):
        """A data loader of another library remade to read only this process's rows of each global batch (a
        torch DataLoader over a DistributedSampler, shuffled from `seed` and `epoch`; a tf.data Dataset through
        tf.distribute's auto-shard), or None: the loader is read whole by every process and `shard_batch` keeps
        each process's rows."""
        return None

    def local_batch(self, array):
        """A NumPy batch array of this process's rows only (from `local_loader`, a PyDataset shared out by index,
        or any input when `shards_inputs` is False) as the distributed step takes it: the global batch is every
        process's rows, in process order."""
        raise NotImplementedError

    def compile(self, step, jit, state, kind):
        """`step(values, batches, key) -> (outputs, key)` compiled to run distributed; `state` are the Variables
        `values` belong to (for their layouts). For `kind="predict"` the outputs are the global batch's, in order."""
        raise NotImplementedError

    def replica_sum(self, arrays):
        """Inside a per-replica step: each array summed over all replicas."""
        raise NotImplementedError

    def sum_gradients(self, grads, weight, extras):
        """Inside a per-replica step: (each `weight * g` of `grads` summed over the replicas, `weight` summed,
        each of `extras` summed), in one collective. A runtime that starts summing gradients during the backward
        pass overrides it to use those sums."""
        weighted = [g * w for g, w in zip(grads, _cast_for_each(weight, grads))]
        summed = self.replica_sum(weighted + [weight] + list(extras))
        return summed[:len(grads)], summed[len(grads)], summed[len(grads) + 1:]

    def first_replica(self, arrays):
        """Inside a per-replica step: replica 0's value of each array."""
        raise NotImplementedError

    def broadcast(self, values):
        """Outside a step: process 0's arrays on every process (the initial weights and random key)."""
        return values

    def shared_seed(self, seed):
        """Process 0's `seed` (an int) on every process, so that they shuffle alike."""
        return seed


def current_runtime():
    """The runtime of the per-replica step running on this thread, or None."""
    return getattr(_context, "runtime", None)


@contextlib.contextmanager
def replica_step(runtime):
    """Inside: this thread runs one replica's share of a step (the runtime calls it around the core step)."""
    previous = getattr(_context, "runtime", None)
    _context.runtime = runtime
    try:
        yield
    finally:
        _context.runtime = previous


def note_batch(data):
    """Record the number of samples of the batch this replica trains on next (weights its gradients)."""
    if getattr(_context, "runtime", None) is not None:
        from mlfront.training.data import flatten
        x = data[0] if isinstance(data, tuple) else data
        _context.local_batch_size = _backend.get().shape(flatten(x)[0])[0]


def reduce_gradients(grads):
    """The gradients of the global batch from this replica's: sum(n_r * g_r) / sum(n_r). Identity outside a
    per-replica step (one device, or a global jax step). The step's "sum" / "mean" Variables changed so far are
    combined in the same collective (see `combine_replicas`)."""
    runtime = current_runtime()
    if runtime is None or runtime.num_replicas == 1:
        return grads
    B = _backend.get()
    if not local_batch_size():  # a replica left without rows: it contributes nothing (its losses are undefined)
        grads = [B.zeros_like(g) for g in grads]
    weight = _samples_weight()
    variables, start_values, reduced_kinds = getattr(_context, "step_state", ((), (), ()))
    changed = [i for i in reduced_kinds if variables[i]._value is not start_values[i]]
    values = [variables[i]._value for i in changed]
    summed, total, extras = runtime.sum_gradients(
        grads, weight, [_replica_part(variables[i], start_values[i], v, weight) for i, v in zip(changed, values)])
    _context.combined = {i: (value, _combined(variables[i], start_values[i], reduced, total))
                         for i, value, reduced in zip(changed, values, extras)}
    return [g / t for g, t in zip(summed, _cast_for_each(total, summed))]


def _cast_for_each(value, arrays):
    """`value` in the dtype of each of `arrays`, cast once per distinct dtype (a step's hot path)."""
    B = _backend.get()
    casts = {}
    for array in arrays:
        dtype = B.dtype(array)
        if dtype not in casts:
            casts[dtype] = B.cast(value, dtype)
        yield casts[dtype]


def local_batch_size():
    """The number of samples of this replica's current batch (what its gradients are weighted by)."""
    return getattr(_context, "local_batch_size", 1)


def _samples_weight():
    return _backend.get().convert(np.asarray(local_batch_size(), "float32"))


def batch_moments(x, axes):
    """(mean, biased variance) of `x` over `axes` and over every replica's batch (synchronized
    BatchNormalization); the plain moments outside a per-replica step."""
    B = _backend.get()
    runtime = current_runtime()
    if runtime is None or runtime.num_replicas == 1:
        return B.mean(x, axis=axes), B.var(x, axis=axes)
    count = float(np.prod([B.shape(x)[a] for a in axes]))
    total, squares, counts = runtime.replica_sum([B.sum(x, axis=axes), B.sum(B.square(x), axis=axes),
                                                  B.convert(np.asarray(count, "float32"))])
    mean = total / counts
    return mean, B.maximum(squares / counts - B.square(mean), 0.0)


def _replica_part(variable, start, end, weight):
    """What a replica contributes to the sum that combines `variable`: its increment ("sum"), or its value
    weighted by its samples, `weight` ("mean"); zeros from a replica without samples, whose statistics are
    undefined."""
    B = _backend.get()
    if not local_batch_size():
        return B.zeros_like(end)
    if variable.aggregation == "sum":
        return end - start
    return end * B.cast(weight, B.dtype(end))


def _combined(variable, start, reduced, total):
    """`variable`'s value on every replica from the replicas' summed parts (`total`: the replicas' samples)."""
    if variable.aggregation == "sum":
        return start + reduced
    B = _backend.get()
    is_float = B.standardize_dtype(B.dtype(reduced)).startswith(("float", "bfloat"))
    total = B.cast(total, B.dtype(reduced))
    return reduced / total if is_float else reduced // total


def combine_replicas(variables, start_values, end_values, runtime, plan, already):
    """The values every replica keeps after a step: each Variable combined by its `aggregation` (`plan`:
    `combination_plan(variables)`). `already` maps an index to (the value reduced with the gradients, its
    combined value): kept if still unchanged."""
    reduced_kinds, firsts = plan
    combined = list(end_values)
    pending = []
    for i in reduced_kinds:
        if i in already and already[i][0] is end_values[i]:
            combined[i] = already[i][1]
        elif end_values[i] is not start_values[i]:  # (unchanged: the same on every replica)
            pending.append(i)
    if pending:
        weight = _samples_weight()
        *reduced, total = runtime.replica_sum([_replica_part(variables[i], start_values[i], end_values[i], weight)
                                               for i in pending] + [weight])
        for i, value in zip(pending, reduced):
            combined[i] = _combined(variables[i], start_values[i], value, total)
    if firsts:
        for i, value in zip(firsts, runtime.first_replica([end_values[i] for i in firsts])):
            combined[i] = value
    return combined


def combination_plan(variables):
    """(the indices of the "sum" / "mean" Variables, those of the "only_first_replica" ones)."""
    kinds = [getattr(v, "aggregation", "none") for v in variables]
    return ([i for i, kind in enumerate(kinds) if kind in ("sum", "mean")],
            [i for i, kind in enumerate(kinds) if kind == "only_first_replica"])


def per_replica_step(step, variables, runtime, kind):
    """`step` as one replica runs it: inside the replica context, then (train, test) the Variables combined
    over the replicas; a predict step's outputs are this replica's, gathered by the runtime."""
    plan = combination_plan(variables)

    def run(values, batches, key):
        with replica_step(runtime):
            _context.step_state, _context.combined = (variables, values, plan[0]), {}
            try:
                outputs, key = step(values, batches, key)
                if kind != "predict":
                    outputs = combine_replicas(variables, values, outputs, runtime, plan, _context.combined)
            finally:
                _context.step_state, _context.combined = ((), (), ()), {}
        return outputs, key
    return run


def check_aggregation(aggregation, where):
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"{where}: `aggregation` must be one of {AGGREGATIONS}, got {aggregation!r}.")
    return aggregation
