"""mlfront.distribution on PyTorch: torch.distributed, one process per device, as torchrun starts.

DataParallel (`TorchRuntime`): each process runs the eager step on its share of every global batch; the gradients
are summed over the processes as DDP does it (flattened into buckets of about 25 MB, one all-reduce per bucket,
each launched as soon as the backward pass has made it), and the replicas' state is combined by the core
(`mlfront.distribution.replicas`). gloo serves CPU tensors, nccl CUDA ones. A process that dies makes the others'
next collective fail; one that hangs makes it fail after `MLFRONT_DISTRIBUTION_TIMEOUT` seconds (default 300).

ModelParallel: `mlfront_torch.sharded` (DTensor, imported only when used: it takes most of a second).
"""

import atexit
import datetime
import functools
import os
import warnings

import numpy as np
import torch
import torch.distributed as dist

from mlfront.distribution import positive_setting, timeout_seconds
from mlfront.distribution.replicas import Runtime, local_batch_size
from mlfront.training.data import map_structure

BUCKET_BYTES = 25 * 2**20  # DDP's default bucket size (`bucket_cap_mb`); MLFRONT_TORCH_BUCKET_MB sets another


def bucket_bytes():
    return positive_setting("MLFRONT_TORCH_BUCKET_MB", BUCKET_BYTES / 2**20, "megabytes") * 2**20


def initialize(job_addresses, num_processes, process_id):
    if dist.is_initialized():
        raise RuntimeError("initialize: this process is already part of a torch.distributed job.")
    cuda = torch.cuda.is_available()
    if cuda:  # one GPU per process: torchrun's LOCAL_RANK, else the rank modulo the GPUs of this machine
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", process_id % torch.cuda.device_count())))
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://{job_addresses[0]}",
                            world_size=num_processes, rank=process_id,
                            timeout=datetime.timedelta(seconds=timeout_seconds()))
    atexit.register(_leave)  # a process group left to the interpreter's shutdown can abort the process


def _leave():
    if dist.is_initialized():
        dist.destroy_process_group()


def list_devices(device_type=None):
    kind = device_type or ("cuda" if torch.cuda.is_available() else "cpu")
    kind = "cuda" if kind == "gpu" else kind
    if kind not in ("cpu", "cuda") or kind == "cuda" and not torch.cuda.is_available():
        return []
    if dist.is_initialized():  # the job's devices: one per process
        return [f"{kind}:{rank}" for rank in range(dist.get_world_size())]
    return ["cpu:0"] if kind == "cpu" else [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def process_index():
    return dist.get_rank() if dist.is_initialized() else 0


def process_count():
    return dist.get_world_size() if dist.is_initialized() else 1


class TorchRuntime(Runtime):
    per_replica = True
    _early = None  # the _EarlyBuckets of the backward pass under way

    def __init__(self, distribution, backend):
        self.num_replicas = self.process_count = process_count()
        self.process_index = process_index()
        if distribution.num_replicas != self.num_replicas:
            raise ValueError(f"DataParallel on torch runs one replica per process: the distribution has "
                             f"{distribution.num_replicas} devices but the job has {self.num_replicas} processes "
                             f"(launch one process per device, e.g. `torchrun --nproc-per-node "
                             f"{distribution.num_replicas} script.py`, and call mlfront.distribution.initialize()).")
        self.backend = backend

    def local_loader(self, loader, seed, epoch):
        from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
        shards, index = self.input_shards()
        if (shards == 1 or not isinstance(loader, DataLoader) or loader.batch_size is None
                or loader.batch_size % shards or type(loader.sampler) not in (RandomSampler, SequentialSampler)):
            return None  # (an iterable dataset, a batch sampler of its own, a batch the shards cannot split)
        sampler = _ShareOfGlobalBatches(loader.dataset, shards, index, shuffle=type(loader.sampler) is RandomSampler,
                                        seed=seed, global_batch=loader.batch_size, drop_last=loader.drop_last)
        sampler.set_epoch(epoch)
        workers = {"prefetch_factor": loader.prefetch_factor,
                   "persistent_workers": loader.persistent_workers} if loader.num_workers else {}
        return DataLoader(loader.dataset, batch_size=loader.batch_size // shards, sampler=sampler,
                          num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                          drop_last=loader.drop_last, timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                          multiprocessing_context=loader.multiprocessing_context, generator=loader.generator,
                          **workers)

    def input_shards(self):
        """(how many different shares of each global batch the processes read, this process's share)."""
        return self.num_replicas, self.process_index

    def local_batch(self, array):
        return self.backend.prepare_batch(array)

    def rows_read(self, samples):
        """(start, stop) of this process's rows of a batch of `samples`: np.array_split's shares, in rank order
        (none, for a batch of fewer samples than processes: such a replica contributes nothing to the step)."""
        if self.num_replicas == 1:
            return None
        base, extra = divmod(samples, self.num_replicas)
        start = self.process_index * base + min(self.process_index, extra)
        return start, start + base + (self.process_index < extra)

    def shard_batch(self, array):
        if self.num_replicas > 1 and getattr(array, "ndim", 0):
            start, stop = self.rows_read(len(array))
            array = array[start:stop]
        return self.backend.prepare_batch(array)

    def _eager(self, step, jit):
        if jit in (True, "torch.compile"):
            warnings.warn("Distributed training on torch runs the eager step: the collectives of torch.distributed "
                          "are not captured by mlfront's torch.compile path.", stacklevel=5)
        return self.backend.compile(step, "auto")

    def compile(self, step, jit, state, kind):
        compiled = self._eager(step, jit)
        if kind != "predict" or self.num_replicas == 1:
            return compiled

        def run(values, batches, key):  # each process predicted its rows: all of them, in order, everywhere
            outputs, key = compiled(values, batches, key)
            return [map_structure(self._gather_rows, o) for o in outputs], key
        return run

    def _call(self, what, fn, errors=(RuntimeError, dist.DistBackendError)):
        try:
            return fn()
        except errors as err:
            raise RuntimeError(f"DataParallel: process {self.process_index} of {self.num_replicas} could not "
                               f"{what}: another process stopped or did not answer within "
                               f"{timeout_seconds():g} s ({err}).") from err

    def replica_sum(self, arrays):
        if self.num_replicas == 1:
            return list(arrays)
        if any(a.requires_grad for a in arrays):  # batch statistics: the gradient flows back through the sum
            return self._call("sum the batch statistics", lambda: [differentiable_all_reduce(a) for a in arrays])
        arrays = [a.detach() for a in arrays]
        buckets = _buckets(arrays, bucket_bytes())
        flats = [torch.cat([arrays[i].reshape(-1) for i in bucket]) for bucket in buckets]
        works = self._call("sum the gradients", lambda: [dist.all_reduce(f, async_op=True) for f in flats])
        self._call("sum the gradients", lambda: [w.wait() for w in works])
        summed = list(arrays)
        for bucket, flat in zip(buckets, flats):
            offset = 0
            for i in bucket:
                size = arrays[i].numel()
                summed[i] = flat[offset:offset + size].view(arrays[i].shape)
                offset += size
        return summed

    def watch_gradients(self, params):
        """Before a backward pass over `params` (called by value_and_grad): when their gradients fill more than
        one bucket, hooks all-reduce each bucket as soon as the pass has made it, in bucket order on every process,
        while the pass goes on (DDP's overlap); `sum_gradients` then takes those sums."""
        self._early = None
        if self.num_replicas == 1:
            return
        backward_order = list(range(len(params)))[::-1]  # the last layers' gradients come first
        buckets = [[backward_order[k] for k in bucket]
                   for bucket in _buckets([params[i] for i in backward_order], bucket_bytes())]
        if len(buckets) < 2:  # one bucket: summed at the end, with the step's other sums
            return
        self._early = _EarlyBuckets(self, buckets, local_batch_size())
        for i, param in enumerate(params):
            param.register_hook(functools.partial(self._early.ready, i))

    def sum_gradients(self, grads, weight, extras):
        early, self._early = self._early, None
        if early is None:
            return super().sum_gradients(grads, weight, extras)
        summed = [None] * len(grads)
        for bucket, (flat, work) in zip(early.buckets, early.launched):
            self._call("sum the gradients", work.wait)
            if all(i < len(grads) and grads[i] is early.grads.get(i) for i in bucket):  # (not changed since)
                offset = 0
                for i in bucket:
                    summed[i] = flat[offset:offset + grads[i].numel()].view(grads[i].shape)
                    offset += grads[i].numel()
        late = [i for i, value in enumerate(summed) if value is None]  # unused weights, changed gradients
        late_sums, total, extras = super().sum_gradients([grads[i] for i in late], weight, extras)
        for i, value in zip(late, late_sums):
            summed[i] = value
        return summed, total, extras

    def first_replica(self, arrays):
        return self.broadcast(arrays)

    def broadcast(self, values):
        if self.num_replicas == 1:
            return values
        values = [v.detach().clone() for v in values]
        self._call("receive process 0's values", lambda: [dist.broadcast(v, 0) for v in values])
        return values

    def shared_seed(self, seed):
        if self.num_replicas == 1:
            return seed
        value = torch.tensor([seed % 2**62], dtype=torch.int64, device=self.backend.device)
        self._call("receive process 0's seed", lambda: dist.broadcast(value, 0))
        return int(value.item())

    def _gather_rows(self, local):
        sizes = torch.zeros(self.num_replicas, dtype=torch.int64, device=local.device)
        sizes[self.process_index] = local.shape[0]
        self._call("gather the predictions", lambda: dist.all_reduce(sizes))
        longest = int(sizes.max())
        padded = torch.zeros((longest,) + tuple(local.shape[1:]), dtype=local.dtype, device=local.device)
        padded[:local.shape[0]] = local
        pieces = [torch.empty_like(padded) for _ in range(self.num_replicas)]
        self._call("gather the predictions", lambda: dist.all_gather(pieces, padded))
        return torch.cat([piece[:int(n)] for piece, n in zip(pieces, sizes)])


class _ShareOfGlobalBatches(torch.utils.data.DistributedSampler):
    """A DistributedSampler that does not pad: shard r reads samples r, r + shards, ... of the epoch's order, so
    its k-th batch of global_batch / shards samples and the other shards' make up exactly the k-th global batch,
    the last one too (training equals one device reading the loader, whatever the sample count). With
    `drop_last` the order is first cut to whole global batches, as the loader on one device drops the rest."""

    def __init__(self, dataset, shards, index, shuffle, seed, global_batch, drop_last):
        super().__init__(dataset, shards, index, shuffle=shuffle, seed=seed)
        samples = len(dataset)
        self.kept = samples - samples % global_batch if drop_last else samples
        if 0 < self.kept % global_batch < shards:
            raise ValueError(f"DataParallel: the DataLoader's last batch of {self.kept % global_batch} samples "
                             f"cannot be shared by {shards} replicas; use drop_last=True or a number of samples "
                             f"giving every replica one at least.")

    def __iter__(self):
        if self.shuffle:  # DistributedSampler's order for (seed, epoch)
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            order = list(range(len(self.dataset)))
        return iter(order[self.rank:self.kept:self.num_replicas])

    def __len__(self):
        return len(range(self.rank, self.kept, self.num_replicas))


class _SumOverProcesses(torch.autograd.Function):
    """all_reduce(sum) with its gradient: the sum over the processes of the outputs' gradients."""

    @staticmethod
    def forward(ctx, tensor):
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def differentiable_all_reduce(tensor):
    return _SumOverProcesses.apply(tensor)


class _EarlyBuckets:
    """The gradient buckets of one backward pass, each all-reduced (weighted by the local batch size) as soon as
    its last gradient is made and the buckets before it are launched."""

    def __init__(self, runtime, buckets, weight):
        self.runtime, self.buckets, self.weight = runtime, buckets, weight
        self.missing = [len(bucket) for bucket in buckets]
        self.bucket_of = {i: b for b, bucket in enumerate(buckets) for i in bucket}
        self.grads, self.launched = {}, []

    def ready(self, index, grad):
        self.grads[index] = grad
        self.missing[self.bucket_of[index]] -= 1
        while len(self.launched) < len(self.buckets) and self.missing[len(self.launched)] == 0:
            bucket = self.buckets[len(self.launched)]
            flat = torch.cat([self.grads[i].detach().reshape(-1) for i in bucket]) * self.weight
            work = self.runtime._call("sum the gradients", lambda: dist.all_reduce(flat, async_op=True))
            self.launched.append((flat, work))


def _buckets(arrays, limit):
    """Indices of `arrays` grouped by dtype into buckets of about `limit` bytes each."""
    buckets, open_buckets = [], {}
    for i, array in enumerate(arrays):
        bucket, size = open_buckets.get(array.dtype, (None, 0))
        if bucket is None or size + array.numel() * array.element_size() > limit:
            bucket, size = [], 0
            buckets.append(bucket)
        bucket.append(i)
        open_buckets[array.dtype] = (bucket, size + array.numel() * array.element_size())
    return buckets

