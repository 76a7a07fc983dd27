"""Benchmark workloads: each built once with the Keras API (for mlfront and Keras 3) and by hand on each engine.

A worker runs ONE (workload, implementation, engine) in its own process and prints one JSON line with its measures:
training steps/s (after a warm-up epoch), single-sample predict latency, batched predict throughput, peak resident
memory and the time to the first finished training step (from just before model construction). `run.py` alternates
workers over rounds and prints the table. The hand-written loops live in raw_torch.py, raw_jax.py, raw_tensorflow.py;
a raw worker measures every variant of its engine (see their VARIANTS) and reports the fastest as "best raw".

    MLFRONT_BACKEND=torch python benchmarks/workloads.py --workload mlp --impl mlfront --engine torch --scale quick
"""

import argparse
import importlib
import json
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = ("torch", "jax", "tensorflow")
WORKLOADS = ("mlp", "cnn", "lstm", "resnet", "transformer")
IMPLS = ("raw", "mlfront", "keras")
SCALES = ("quick", "cpu", "gpu")

FEATURES, HIDDEN, CLASSES = 784, 128, 10                       # mlp
IMAGE = (28, 28, 1)                                            # cnn: Conv2D(32, 3) + MaxPooling2D(2) + Dense
VOCAB, SEQ_LEN, EMBED, UNITS = 1000, 100, 32, 64               # lstm: Embedding + LSTM + Dense(1)
RES_IMAGE, RES_STEM, RES_BLOCKS = (32, 32, 3), 16, ((16, 1), (32, 2), (32, 1))  # resnet: (width, stride) per block
TR_SEQ, TR_WIDTH, TR_HEADS, TR_KEY_DIM, TR_FF = 128, 128, 4, 32, 256  # transformer encoder block

# Per workload on a 2-core CPU: batch and steps per epoch, so that a worker ends in about 10-25 s.
CPU_SIZES = {"mlp": (128, 100), "cnn": (128, 12), "lstm": (128, 4), "resnet": (64, 4), "transformer": (32, 5)}


def config(workload, scale="cpu", epochs=None):
    """Sizes of one run: batch, steps per epoch, timed epochs, predict-latency calls, batched-predict samples/batch.

    "quick" is a smoke run (tiny batches, 2 steps), "cpu" the default, "gpu" larger batches and more steps."""
    if workload not in CPU_SIZES:
        raise ValueError(f"workload: expected one of {WORKLOADS}, got {workload!r}")
    if scale not in SCALES:
        raise ValueError(f"scale: expected one of {SCALES}, got {scale!r}")
    batch, steps = CPU_SIZES[workload]
    cfg = {"batch": batch, "steps": steps, "epochs": 2, "latency_calls": 200, "predict_samples": 2048,
           "predict_batch": 256}
    if scale == "quick":
        cfg.update(batch=min(batch, 16), steps=2, epochs=1, latency_calls=5, predict_samples=64, predict_batch=32)
    elif scale == "gpu":
        cfg.update(batch=batch * 2, steps=max(steps * 10, 50), epochs=2, latency_calls=300, predict_samples=8192,
                   predict_batch=1024)
    if epochs is not None:
        cfg["epochs"] = int(epochs)
    return cfg


def make_data(workload, n, seed=0):
    """`n` random (inputs, targets) for the workload: float32 features/images (NHWC), int32 tokens; int32 class
    labels, float32 (n, 1) binary targets for the LSTM."""
    rng = np.random.default_rng(seed)
    if workload == "mlp":
        x = rng.normal(size=(n, FEATURES)).astype("float32")
    elif workload in ("cnn", "resnet"):
        x = rng.uniform(size=(n,) + (IMAGE if workload == "cnn" else RES_IMAGE)).astype("float32")
    else:
        x = rng.integers(1, VOCAB, size=(n, SEQ_LEN if workload == "lstm" else TR_SEQ)).astype("int32")
    if workload == "lstm":
        return x, rng.integers(0, 2, size=(n, 1)).astype("float32")
    return x, rng.integers(0, CLASSES, size=n).astype("int32")


def peak_rss_mib():
    """Peak resident memory of this process (ru_maxrss: KiB on Linux, bytes on macOS) in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024


def timed_epochs(run_epoch, cfg, warmup=True):
    """Steps/s over cfg["epochs"] epochs after one warm-up epoch (compilation, allocator, caches)."""
    if warmup:
        run_epoch()
    start = time.perf_counter()
    for _ in range(cfg["epochs"]):
        run_epoch()
    return cfg["epochs"] * cfg["steps"] / (time.perf_counter() - start)


def timed_latency(predict_one, calls):
    """Median seconds of one call after a few warm-up calls."""
    for _ in range(min(10, calls)):
        predict_one()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        predict_one()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def timed_throughput(predict_all, samples, repeats=3):
    """Samples/s of the best of `repeats` batched predictions after a warm-up one."""
    predict_all()
    best = min(_seconds(predict_all) for _ in range(repeats))
    return samples / best


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------- Keras API
def build_model(lib, workload):
    """The workload's model through the Keras API of `lib` (mlfront or keras): the same code for both."""
    layers = lib.layers
    if workload == "mlp":
        return lib.Sequential([lib.Input(shape=(FEATURES,)), layers.Dense(HIDDEN, activation="relu"),
                               layers.Dense(HIDDEN, activation="relu"), layers.Dense(CLASSES)])
    if workload == "cnn":
        return lib.Sequential([lib.Input(shape=IMAGE), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                               layers.Flatten(), layers.Dense(CLASSES)])
    if workload == "lstm":
        return lib.Sequential([lib.Input(shape=(SEQ_LEN,), dtype="int32"), layers.Embedding(VOCAB, EMBED),
                               layers.LSTM(UNITS), layers.Dense(1)])
    if workload == "resnet":
        inputs = lib.Input(shape=RES_IMAGE)
        h = layers.Conv2D(RES_STEM, 3, padding="same", use_bias=False)(inputs)
        h = layers.Activation("relu")(layers.BatchNormalization()(h))
        width_in = RES_STEM
        for width, stride in RES_BLOCKS:
            r = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(h)
            r = layers.Activation("relu")(layers.BatchNormalization()(r))
            r = layers.BatchNormalization()(layers.Conv2D(width, 3, padding="same", use_bias=False)(r))
            skip = h
            if stride != 1 or width != width_in:  # projection shortcut where the shape changes
                skip = layers.BatchNormalization()(layers.Conv2D(width, 1, strides=stride, use_bias=False)(h))
            h = layers.Activation("relu")(layers.Add()([r, skip]))
            width_in = width
        h = layers.GlobalAveragePooling2D()(h)
        return lib.Model(inputs, layers.Dense(CLASSES)(h))
    if workload == "transformer":
        tokens = lib.Input(shape=(TR_SEQ,), dtype="int32")
        h = layers.Embedding(VOCAB, TR_WIDTH)(tokens)
        a = layers.MultiHeadAttention(num_heads=TR_HEADS, key_dim=TR_KEY_DIM)(h, h)
        h = layers.LayerNormalization()(layers.Add()([h, a]))
        f = layers.Dense(TR_WIDTH)(layers.Dense(TR_FF, activation="relu")(h))
        h = layers.LayerNormalization()(layers.Add()([h, f]))
        return lib.Model(tokens, layers.Dense(CLASSES)(layers.GlobalAveragePooling1D()(h)))
    raise ValueError(f"workload: expected one of {WORKLOADS}, got {workload!r}")


def compile_model(lib, model, workload):
    """Adam(1e-3) and cross-entropy from logits (binary for the LSTM, sparse categorical otherwise)."""
    loss = lib.losses.BinaryCrossentropy(from_logits=True) if workload == "lstm" \
        else lib.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=lib.optimizers.Adam(1e-3), loss=loss)


def framework_worker(lib, workload, cfg):
    """All measures of `fit` / `predict` for mlfront or Keras 3."""
    batch = cfg["batch"]
    x, y = make_data(workload, cfg["steps"] * batch)
    x_pred = make_data(workload, cfg["predict_samples"], seed=1)[0]
    start = time.perf_counter()
    model = build_model(lib, workload)
    compile_model(lib, model, workload)
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
    first_step = time.perf_counter() - start
    steps_per_second = timed_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0), cfg)
    one = x[:1]
    latency = timed_latency(lambda: model.predict(one, verbose=0), cfg["latency_calls"])
    throughput = timed_throughput(lambda: model.predict(x_pred, batch_size=cfg["predict_batch"], verbose=0),
                                  len(x_pred))
    return {"steps_per_second": steps_per_second, "predict_latency_s": latency,
            "predict_samples_per_second": throughput, "first_step_s": first_step, "peak_rss_mib": peak_rss_mib()}


def raw_module(engine):
    """The hand-written loops of `engine` (raw_torch / raw_jax / raw_tensorflow beside this file)."""
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    return importlib.import_module(f"raw_{engine}")


def measure_raw_variant(module, workload, variant, cfg, x, y):
    """One variant of a hand-written loop: first-step seconds (construction + first step), then steps/s."""
    start = time.perf_counter()
    run = module.Run(workload, variant, cfg, x, y)
    run.first_step()
    first_step = time.perf_counter() - start
    return run, first_step, timed_epochs(run.epoch, cfg)


def raw_worker(engine, workload, cfg, reverse=False):
    """Every variant of the engine's hand loop; the fastest one also gives the predict measures. The first-step time
    is the first variant's (the only one that starts cold); the peak memory covers all variants."""
    module = raw_module(engine)
    x, y = make_data(workload, cfg["steps"] * cfg["batch"])
    x_pred = make_data(workload, cfg["predict_samples"], seed=1)[0]
    names = list(module.VARIANTS[workload])
    variants, best, cold = {}, None, None
    for name in (names[::-1] if reverse else names):
        run, first_step, steps_per_second = measure_raw_variant(module, workload, name, cfg, x, y)
        variants[name] = steps_per_second
        if cold is None:  # later variants find the engine's kernels warm: only the first is a fresh start
            cold = (name, first_step)
        if best is None or steps_per_second > best[2]:
            best = (name, run, steps_per_second)
        del run
    name, run, steps_per_second = best
    one = x[:1]
    latency = timed_latency(lambda: run.predict(one), cfg["latency_calls"])
    throughput = timed_throughput(lambda: run.predict_batched(x_pred, cfg["predict_batch"]), len(x_pred))
    return {"steps_per_second": steps_per_second, "predict_latency_s": latency,
            "predict_samples_per_second": throughput, "first_step_s": cold[1], "first_step_variant": cold[0],
            "peak_rss_mib": peak_rss_mib(), "best_variant": name, "variants": variants,
            "device": module.device_name()}


def worker(workload, impl, engine, cfg, reverse=False):
    """Run one (workload, impl, engine) in this process; returns the measures dict."""
    os.environ["MLFRONT_BACKEND"] = engine
    os.environ["KERAS_BACKEND"] = engine
    if impl == "raw":
        return raw_worker(engine, workload, cfg, reverse)
    if impl == "mlfront":
        import mlfront as lib
    elif impl == "keras":
        import keras as lib
    else:
        raise ValueError(f"impl: expected one of {IMPLS}, got {impl!r}")
    return framework_worker(lib, workload, cfg)


def main():
    parser = argparse.ArgumentParser(description="Run one benchmark worker (see run.py).")
    parser.add_argument("--workload", choices=WORKLOADS, default="mlp")
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--scale", choices=SCALES, default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs (default: per scale)")
    parser.add_argument("--reverse", action="store_true", help="measure the raw variants in reverse order")
    parser.add_argument("--require-gpu", action="store_true", help="fail unless the raw loop runs on a GPU")
    args = parser.parse_args()
    if args.require_gpu and args.impl == "raw" and not raw_module(args.engine).on_gpu():
        raise SystemExit(f"--require-gpu: {args.engine} sees no GPU")
    result = worker(args.workload, args.impl, args.engine, config(args.workload, args.scale, args.epochs),
                    args.reverse)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
