"""Compiled modes and steps_per_execution: what each `compile()` setting buys on each engine.

For every engine, an MLP trained with `fit` under each setting, each run in its own process, the settings
alternating over rounds; prints the median training steps/s, the ratio to the engine's default
(jit_compile="auto", steps_per_execution=1) and the seconds to the first finished step (trace / compile cost).
Two models: the MLP 784-128-128-10 of run.py (batch 128) and a small MLP 32-32-10 (batch 32), the case where the
per-step overhead that steps_per_execution removes is largest.

    python benchmarks/compiled_modes.py --python-torch .tox/torch/bin/python --python-jax .tox/jax/bin/python \
        --python-tensorflow .tox/tensorflow/bin/python --rounds 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workers import environment, run_json  # noqa: E402

ENGINES = ("torch", "jax", "tensorflow")
MODELS = {"mlp": (784, 128, 128), "small": (32, 32, 32)}  # features, hidden width, batch
STEPS, EPOCHS, CLASSES = 64, 3, 10
# (label, jit_compile, steps_per_execution); the engine's named modes come from Backend.compile_modes
SETTINGS = [("auto", "auto", 1), ("auto, spe=8", "auto", 8), ("jit=True", True, 1), ("jit=True, spe=8", True, 8),
            ("eager", False, 1)]


def worker(model_name, jit_compile, steps_per_execution):
    """Steps/s of `fit` after a warm-up epoch, and the seconds from construction to the first finished step."""
    import mlfront
    features, hidden, batch = MODELS[model_name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * batch, features)).astype("float32")
    y = rng.integers(0, CLASSES, size=STEPS * batch).astype("int32")
    start = time.perf_counter()
    model = mlfront.Sequential([mlfront.Input(shape=(features,)), mlfront.layers.Dense(hidden, activation="relu"),
                                mlfront.layers.Dense(hidden, activation="relu"), mlfront.layers.Dense(CLASSES)])
    model.compile(optimizer=mlfront.optimizers.Adam(1e-3), jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution,
                  loss=mlfront.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:batch * steps_per_execution], y[:batch * steps_per_execution], batch_size=batch, verbose=0)
    first_step = time.perf_counter() - start
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: the full-epoch signature and caches
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=EPOCHS, verbose=0)
    return {"steps_per_second": EPOCHS * STEPS / (time.perf_counter() - start), "first_step_s": first_step}


def settings_for(python, engine):
    """The common settings plus each mode the engine's adapter names in `compile_modes`."""
    code = "import mlfront.backend as b, json; print(json.dumps(list(b.get().compile_modes)))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=environment(engine))
    modes = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []
    return SETTINGS + [(mode, mode, 1) for mode in modes]


def run_one(python, engine, model_name, setting, timeout):
    _, jit_compile, steps_per_execution = setting
    return run_json([python, os.path.abspath(__file__), "--worker", model_name, json.dumps(jit_compile),
                     str(steps_per_execution)], engine, timeout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a worker is failed")
    for engine in ENGINES:
        parser.add_argument(f"--python-{engine}", default=sys.executable, metavar="PYTHON")
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "JIT", "SPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        model_name, jit_compile, steps_per_execution = args.worker
        print(json.dumps(worker(model_name, json.loads(jit_compile), int(steps_per_execution))))
        return
    for engine in args.engines:
        python = getattr(args, f"python_{engine}")
        settings = settings_for(python, engine)
        for model_name in args.models:
            runs = {label: [] for label, _, _ in settings}
            for round_index in range(args.rounds):
                order = settings if round_index % 2 == 0 else settings[::-1]
                for setting in order:
                    runs[setting[0]].append(run_one(python, engine, model_name, setting, args.timeout))
            print(f"\n{engine}, {model_name} (features, width, batch = {MODELS[model_name]}), "
                  f"{args.rounds} rounds, medians")
            print(f"| setting | steps/s | / auto | first step s |\n| --- | --- | --- | --- |")
            base = None
            for label, _, _ in settings:
                good = [r for r in runs[label] if "error" not in r]
                if not good:
                    print(f"| {label} | failed: {runs[label][0]['error']} | | |")
                    continue
                speed = statistics.median(r["steps_per_second"] for r in good)
                first = statistics.median(r["first_step_s"] for r in good)
                base = speed if base is None else base
                print(f"| {label} | {speed:.0f} | {speed / base:.2f} | {first:.1f} |")


if __name__ == "__main__":
    main()
