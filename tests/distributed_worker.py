"""One process of a distributed test (tests/test_distribution.py launches it): trains a case under
DataParallel and, on process 0, the same case on one device; writes what it got to OUT/result_<process>.npz.

    python tests/distributed_worker.py CASE OUT [--processes N --process-id I --address HOST:PORT]

Cases:
    mlp: Dense-relu-Dense, SGD with momentum, sparse crossentropy from logits, accuracy; 20 steps of 32.
    adam: the MLP with Adam and an uneven last batch (the replicas get 5 and 4 samples).
    adam_tied: the MLP with Adam, fitted, then its hidden kernel's two Adam slots made to hold one array and
        fitted again.
    bn: Dense, BatchNormalization(synchronized=True), Dense; SGD; 20 steps.
    short_last: the bn model on 641 samples: the last batch of 1 leaves one replica without rows.
    die: the MLP, but process 1 exits after 3 steps (the others must stop with an error, not hang).
    model_parallel: the MLP under ModelParallel on a (1, 2) mesh, the hidden layer's kernel and bias split
        over the "model" axis (Adam's slots with them).
    model_parallel_batch: the same layout map on a (2, 1) mesh: the batch split in two, the weights whole.
    model_parallel_blocks: tokens through Embedding, MultiHeadAttention, LayerNormalization, Conv1D, Dropout and
        the MLP, on the (1, 2) mesh, the embeddings, the query, convolution and hidden kernels split; SGD (Adam would
        magnify the rounding noise in the attention key bias's gradient, which is zero in exact arithmetic).
    loader: the MLP fed by torch DataLoaders (651 samples: a last batch of 11, shared as 6 and 5), each process
        reading only its rows of every batch (a DistributedSampler that does not pad); the samples each process
        read are counted.
    pydataset: the MLP fed by a PyDataset of batches of 32 (650 samples: a last batch of 10): each step trains on
        one batch per process (process p reads batches p, p + 2, ...; the last batch is read by both), so it
        equals one device on batches of 64 (and a last one of 10); the samples each process read are counted,
        and the batches each read in 2 shuffled epochs of a fresh model listed.
    tfdata: the MLP fed by a tf.data Dataset of batches of 32 (641 samples: a last batch of 1, which leaves a
        process without rows); on tensorflow each worker reads its rows of every batch (tf.distribute's
        auto-shard), elsewhere every process reads the whole batch; the rows of x each process was given are
        counted.
    local_data: DataParallel(auto_shard_dataset=False): each process fits its own 320 of 640 samples (alternate
        blocks of 32), so the global batches are one device's batches of 64; predict returns both processes'
        predictions, batch by batch.
    backup: the MLP with BackupAndRestore and ModelCheckpoint in OUT; with --interrupt-at E it stops in epoch E.
"""

import argparse
import contextlib
import os
import sys

import numpy as np

import mlfront
from mlfront import distribution, layers

STEPS, BATCH, FEATURES, CLASSES, VOCABULARY = 20, 32, 8, 3, 50


def data(samples):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, FEATURES)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def tokens(x):
    return (np.abs(x) * 10).astype("int32") % VOCABULARY


def build(case):
    mlfront.utils.set_random_seed(7)  # the same dropout masks in every run
    if case == "model_parallel_blocks":
        inputs = mlfront.Input((FEATURES,), dtype="int32")
        embedded = layers.Embedding(VOCABULARY, 16, name="emb")(inputs)
        attended = layers.MultiHeadAttention(2, 8, name="mha")(embedded, embedded)
        hidden = layers.LayerNormalization(name="ln")(embedded + attended)
        hidden = layers.Conv1D(16, 3, padding="same", activation="gelu", name="conv")(hidden)
        hidden = layers.GlobalAveragePooling1D()(layers.Dropout(0.2)(hidden))
    else:
        inputs = hidden = mlfront.Input((FEATURES,))
    hidden = layers.Dense(16, activation="relu", name="hidden")(hidden)
    if case in ("bn", "short_last"):
        hidden = layers.BatchNormalization(synchronized=True)(hidden)
    model = mlfront.Model(inputs, layers.Dense(CLASSES, name="logits")(hidden))
    rng = np.random.default_rng(1)  # the same initial weights for every run
    model.set_weights([w if w.ndim == 1 and np.all(w == 1) else rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    if case.startswith(("adam", "model_parallel")) and case != "model_parallel_blocks":
        optimizer = mlfront.optimizers.Adam(0.01)
    else:
        optimizer = mlfront.optimizers.SGD(0.1, momentum=0.9)
    model.compile(optimizer, mlfront.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def loader(x, y, reads):
    """A torch DataLoader of (x, y) in batches of BATCH that counts the samples read in `reads`."""
    import torch.utils.data

    class Counted(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, index):
            reads[0] += 1
            return x[index], y[index]
    return torch.utils.data.DataLoader(Counted(), batch_size=BATCH)


class Batches(mlfront.utils.PyDataset):
    """A PyDataset of (x, y) in batches of BATCH that counts the samples read in `reads` (and lists the batch
    indices read in `indices`)."""

    def __init__(self, x, y, reads, indices=None):
        super().__init__()
        self.x, self.y, self.reads, self.indices = x, y, reads, indices

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, index):
        rows = slice(index * BATCH, (index + 1) * BATCH)
        self.reads[0] += len(self.x[rows])
        if self.indices is not None:
            self.indices.append(index)
        return self.x[rows], self.y[rows]


def tf_dataset(x, y):
    import tensorflow as tf
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


def own_blocks(x, y):
    """This process's part of the data under auto_shard_dataset=False: every other block of BATCH samples."""
    mine = (np.arange(len(x)) // BATCH) % distribution.process_count() == distribution.process_index()
    return x[mine], y[mine]


@contextlib.contextmanager
def counting_calls(owner, name):
    """Inside: `owner.<name>` counts its calls in the yielded [count]; restored afterwards."""
    original, calls = getattr(owner, name), [0]

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)
    setattr(owner, name, counted)
    try:
        yield calls
    finally:
        setattr(owner, name, original)


def counting_rows(convert, reads):
    """`convert` (a runtime's batch converter) counting the rows of the x arrays (2-D) it is given in `reads`."""
    def counted(array):
        if np.ndim(array) == 2:
            reads[0] += len(array)
        return convert(array)
    return counted


def torch_distributed():
    import torch.distributed
    return torch.distributed


def train(case, out, interrupt_at=None):
    samples = STEPS * BATCH + {"adam": 9, "loader": 11, "pydataset": 10, "tfdata": 1, "short_last": 1}.get(case, 0)
    x, y = data(samples)
    distributed = distribution.distribution() is not None
    if case == "model_parallel_blocks":
        x = tokens(x)
    model = build(case)
    callbacks = []
    if case == "backup":
        callbacks = [mlfront.callbacks.BackupAndRestore(os.path.join(out, "backup")),
                     mlfront.callbacks.ModelCheckpoint(os.path.join(out, "best.weights.h5"), save_weights_only=True),
                     mlfront.callbacks.CSVLogger(os.path.join(out, "log.csv"))]
        if interrupt_at is not None:
            callbacks.append(mlfront.callbacks.LambdaCallback(
                on_epoch_begin=lambda epoch, logs: sys.exit(3) if epoch == interrupt_at else None))
    if case == "die" and distribution.process_index() == 1:
        callbacks.append(mlfront.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: os._exit(7) if batch == 2 else None))
    epochs = 4 if case == "backup" else 1
    reads = [0]
    runtime = distribution.active_runtime()
    if case == "tfdata" and distributed:  # the rows of x this process's steps are given (whole or its share)
        for name in ("shard_batch", "local_batch"):
            setattr(runtime, name, counting_rows(getattr(runtime, name), reads))
    with contextlib.ExitStack() as counters:
        # the step's collectives (python calls, so eager engines only) and torch's all_reduces (buckets included)
        collectives = counters.enter_context(counting_calls(runtime, "replica_sum")) \
            if runtime is not None and runtime.per_replica else [0]
        all_reduces = counters.enter_context(counting_calls(torch_distributed(), "all_reduce")) \
            if mlfront.backend() == "torch" else [0]
        if case == "loader":
            history = model.fit(loader(x, y, reads), epochs=epochs, verbose=0)
        elif case == "tfdata":
            history = model.fit(tf_dataset(x, y), epochs=epochs, verbose=0)
        elif case == "pydataset" and distributed:
            history = model.fit(Batches(x, y, reads), epochs=epochs, shuffle=False, verbose=0)
        elif case == "local_data" and distributed:
            history = model.fit(*own_blocks(x, y), batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
        elif case in ("pydataset", "local_data"):  # one device: the global batches of the distributed run
            history = model.fit(x, y, batch_size=2 * BATCH, epochs=epochs, shuffle=False, verbose=0)
        else:
            history = model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=case == "backup", verbose=0,
                                callbacks=callbacks)
    fit_collectives, fit_all_reduces = collectives[0], all_reduces[0]
    if case == "adam_tied":  # two optimizer slots given one array, then trained on (no step may donate it twice)
        momentum, velocity = [v for v in model.optimizer.variables if v.shape == (FEATURES, 16)]
        momentum.assign(velocity.value)  # (not the reverse: a negative velocity would give NaNs)
        history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    if case == "loader":
        evaluated = model.evaluate(loader(x, y, reads), verbose=0, return_dict=True)
    elif case == "tfdata":
        evaluated = model.evaluate(tf_dataset(x, y), verbose=0, return_dict=True)
    elif case == "pydataset" and distributed:
        evaluated = model.evaluate(Batches(x, y, reads), verbose=0, return_dict=True)
    elif case == "local_data" and distributed:
        evaluated = model.evaluate(*own_blocks(x, y), batch_size=BATCH, verbose=0, return_dict=True)
    else:
        evaluated = model.evaluate(x, y, batch_size=2 * BATCH if case == "local_data" else BATCH, verbose=0,
                                   return_dict=True)
    if case == "local_data" and not distributed:  # what the 2 processes' predictions gather into, batch by batch
        blocks = [x[start:min(start + 16, 45)] for start in range(0, 45, 16)]
        predicted = model.predict(np.concatenate([b for block in blocks for b in (block, block)]), batch_size=16,
                                  verbose=0)
    else:
        predicted = model.predict(x[:45], batch_size=16, verbose=0)
    shuffled = []  # the batches this process read in 2 shuffled epochs of a fresh model (pydataset)
    if case == "pydataset" and distributed:
        build(case).fit(Batches(x, y, [0], shuffled), epochs=2, shuffle=True, verbose=0)
    kernel = model.get_layer("hidden").kernel.value
    if hasattr(kernel, "addressable_shards"):  # jax: the pieces this process's devices hold
        shard_shape = kernel.addressable_shards[0].data.shape
    else:  # a torch DTensor: this process's piece
        shard_shape = kernel.to_local().shape if hasattr(kernel, "to_local") else kernel.shape
    return {"shard_shape": np.asarray(shard_shape), "reads": np.asarray(reads[0]), "shuffled": np.asarray(shuffled),
            "fit_collectives": np.asarray(fit_collectives), "fit_all_reduces": np.asarray(fit_all_reduces),
            "steps": np.asarray(epochs * -(-samples // BATCH)),
            "weights": model.get_weights(), "loss": np.asarray(history.history["loss"]),
            "accuracy": np.asarray(history.history["accuracy"]), "eval_loss": evaluated["loss"],
            "eval_accuracy": evaluated["accuracy"], "predicted": predicted}


def _distribution(case):
    if not case.startswith("model_parallel"):
        return distribution.DataParallel(auto_shard_dataset=case != "local_data")
    mesh = distribution.DeviceMesh((2, 1) if case == "model_parallel_batch" else (1, 2), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map["hidden/kernel"] = (None, "model")
    layout_map["hidden/bias"] = ("model",)
    if case == "model_parallel_blocks":
        layout_map["emb/embeddings"] = (None, "model")
        layout_map["mha/query/kernel"] = (None, "model", None)
        layout_map["conv/kernel"] = (None, None, "model")
    return distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("out")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--address", default=None)
    parser.add_argument("--interrupt-at", type=int, default=None)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    mlfront.utils.set_random_seed(7)  # shuffling and random keys alike in every run of a case
    if args.processes > 1:
        distribution.initialize(args.address, args.processes, args.process_id)
    distribution.set_distribution(_distribution(args.case))
    result = train(args.case, args.out, args.interrupt_at)
    stored = {f"dp_weight_{i}": w for i, w in enumerate(result.pop("weights"))}
    stored.update({f"dp_{k}": np.asarray(v) for k, v in result.items()})
    stored["replicas"] = np.asarray(distribution.distribution().num_replicas)
    if distribution.process_index() == 0 and not args.no_reference:
        distribution.set_distribution(None)
        reference = train(args.case, os.path.join(args.out, "reference"), args.interrupt_at)
        stored.update({f"one_weight_{i}": w for i, w in enumerate(reference.pop("weights"))})
        stored.update({f"one_{k}": np.asarray(v) for k, v in reference.items()})
    np.savez(os.path.join(args.out, f"result_{distribution.process_index()}.npz"), **stored)


if __name__ == "__main__":
    main()
