"""Side-by-side benchmark: mlfront vs a hand-written loop on the same engine (and vs Keras 3 when installed).

Every (implementation, engine) pair runs in its own process; the pairs alternate over several rounds, and the
report gives medians and the mlfront/raw ratios (training throughput: higher is better; single-sample predict
latency: lower is better).

    python benchmarks/run.py --engines torch jax tensorflow --rounds 5
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_worker(workload, impl, engine, epochs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, os.path.join(HERE, "workloads.py"), "--workload", workload, "--impl", impl,
                          "--engine", engine, "--epochs", str(epochs)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{impl}/{engine} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mlp")
    parser.add_argument("--engines", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-keras", action="store_true", help="skip Keras 3 even when it is installed")
    args = parser.parse_args()
    impls = ["raw", "mlfront"] + ([] if args.no_keras or importlib.util.find_spec("keras") is None else ["keras"])
    results = {}
    for round_index in range(args.rounds):
        for engine in args.engines:
            order = impls if round_index % 2 == 0 else impls[::-1]
            for impl in order:
                r = run_worker(args.workload, impl, engine, args.epochs)
                results.setdefault((engine, impl), []).append(r)
                print(f"round {round_index + 1} {engine:10s} {impl:8s} {r['steps_per_second']:8.1f} steps/s "
                      f"predict {r['predict_latency_s'] * 1e6:8.1f} us", flush=True)
    print(f"\n{args.workload}: medians over {args.rounds} rounds")
    print(f"{'engine':10s} {'impl':8s} {'steps/s':>9s} {'vs raw':>7s} {'predict us':>11s} {'vs raw':>7s}")
    for engine in args.engines:
        raw = results[(engine, "raw")]
        raw_sps = statistics.median(r["steps_per_second"] for r in raw)
        raw_lat = statistics.median(r["predict_latency_s"] for r in raw)
        for impl in impls:
            runs = results[(engine, impl)]
            sps = statistics.median(r["steps_per_second"] for r in runs)
            lat = statistics.median(r["predict_latency_s"] for r in runs)
            print(f"{engine:10s} {impl:8s} {sps:9.1f} {sps / raw_sps:7.2f} {lat * 1e6:11.1f} {lat / raw_lat:7.2f}")


if __name__ == "__main__":
    main()
