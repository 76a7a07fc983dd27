"""Speed of catalogue layers against their fused or Keras 3 counterparts, side by side on each engine.

Models (training steps/s of `fit`, each in its own process, alternating over rounds, medians):
- "lstm": Embedding + LSTM(64) + Dense, and "rnn_lstmcell": the same with RNN(LSTMCell(64)) (must match the fused
  LSTM layer: the stock cell runs through the same Backend sequence composite);
- "separable": SeparableConv2D(32, 3) x2 + pooling + Dense on 32x32x3 images, mlfront against Keras 3.

    python benchmarks/layer_speed.py --python-torch .tox/torch/bin/python --python-jax .tox/jax/bin/python \
        --python-tensorflow .tox/tensorflow/bin/python --rounds 3
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workers import run_json  # noqa: E402

ENGINES = ("torch", "jax", "tensorflow")
# (model, implementation) pairs compared on every engine: each ratio is first / second
COMPARISONS = [(("rnn_lstmcell", "mlfront"), ("lstm", "mlfront")), (("separable", "mlfront"), ("separable", "keras"))]
BATCH, STEPS, EPOCHS = 64, 8, 2


def build(lib, model):
    layers = lib.layers
    if model in ("lstm", "rnn_lstmcell"):
        recurrent = layers.LSTM(64) if model == "lstm" else layers.RNN(layers.LSTMCell(64))
        return lib.Sequential([lib.Input(shape=(50,), dtype="int32"), layers.Embedding(1000, 32), recurrent,
                               layers.Dense(1)])
    return lib.Sequential([lib.Input(shape=(32, 32, 3)), layers.SeparableConv2D(32, 3, activation="relu"),
                           layers.SeparableConv2D(32, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                           layers.Dense(10)])


def data(model):
    rng = np.random.default_rng(0)
    n = BATCH * STEPS
    if model == "separable":
        return rng.uniform(size=(n, 32, 32, 3)).astype("float32"), rng.integers(0, 10, n).astype("int32")
    return rng.integers(1, 1000, (n, 50)).astype("int32"), rng.normal(size=(n, 1)).astype("float32")


def worker(model, impl):
    if impl == "mlfront":
        import mlfront as lib
    else:
        import keras as lib
    net = build(lib, model)
    loss = lib.losses.SparseCategoricalCrossentropy(from_logits=True) if model == "separable" else "mse"
    net.compile(optimizer=lib.optimizers.Adam(1e-3), loss=loss)
    x, y = data(model)
    net.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm-up: tracing, allocator
    start = time.perf_counter()
    net.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    return {"steps_per_second": EPOCHS * STEPS / (time.perf_counter() - start)}


def run_one(python, engine, model, impl, timeout):
    return run_json([python, os.path.abspath(__file__), "--worker", model, impl], engine, timeout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    for engine in ENGINES:
        parser.add_argument(f"--python-{engine}", default=sys.executable, metavar="PYTHON")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    print(f"| engine | comparison | steps/s | ratio |\n| --- | --- | --- | --- |")
    for engine in args.engines:
        python = getattr(args, f"python_{engine}")
        for first, second in COMPARISONS:
            runs = {first: [], second: []}
            for round_index in range(args.rounds):
                for key in ((first, second) if round_index % 2 == 0 else (second, first)):
                    runs[key].append(run_one(python, engine, *key, args.timeout))
            speeds = {}
            for key, results in runs.items():
                good = [r["steps_per_second"] for r in results if "error" not in r]
                speeds[key] = statistics.median(good) if good else None
            label = f"{first[0]} {first[1]} / {second[0]} {second[1]}"
            if None in speeds.values():
                errors = [r["error"] for rs in runs.values() for r in rs if "error" in r]
                print(f"| {engine} | {label} | failed: {errors[0]} | |")
                continue
            print(f"| {engine} | {label} | {speeds[first]:.1f} / {speeds[second]:.1f} | "
                  f"{speeds[first] / speeds[second]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
