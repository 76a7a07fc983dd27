"""Soak test: resident-memory growth and per-call latency drift over long runs of predict, model(x) and fit.

On one small MLP (one model for the whole run) it makes N `model.predict(x[i:i+1], verbose=0)` calls on single
samples, N direct `model(x[i:i+1])` calls, then F `model.fit(x, y, epochs=1, verbose=0)` calls on 256 samples.
For each phase it reports the resident memory (VmRSS) after the warm-up (the first 5% of the predict / direct
calls, the first 10% of the fits) and at the end, the growth between them (goal: under 5%), and the median
latency of the first and of the last 10% of the calls (goal: no drift), and as a control the median latency of
the same calls on a fresh model made after the soak (a shared machine's load moves latencies too).

    MLFRONT_BACKEND=torch python benchmarks/soak.py              # the engine of MLFRONT_BACKEND, in this process
    python benchmarks/soak.py --backends torch,jax,tensorflow   # each engine in its own process, from .tox/<engine>
    python benchmarks/soak.py --quick                           # 2,000 calls and 40 fits instead of 20,000 / 200

Not part of the test suite: a full run takes minutes per engine.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FEATURES, HIDDEN, CLASSES, FIT_SAMPLES = 32, 64, 10, 256
GROWTH_GOAL, DRIFT_GOAL = 0.05, 0.10  # growth after warm-up; drift of the last 10% median over the first 10%


def resident_bytes():
    """This process's resident set size now (VmRSS of /proc/self/status), after a garbage collection."""
    gc.collect()
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource  # no /proc (macOS): the peak, which still shows growth, since it never shrinks

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def soak(calls, warmup, call):
    """Run `call(i)` for i in range(calls); returns the phase's figures (memory after `warmup` calls and at the
    end, the median latency of the first and the last 10% of the calls)."""
    latencies = np.empty(calls)
    after_warmup = None
    for i in range(calls):
        if i == warmup:
            after_warmup = resident_bytes()
        start = time.perf_counter()
        call(i)
        latencies[i] = time.perf_counter() - start
    end = resident_bytes()
    tenth = max(1, calls // 10)
    first, last = float(np.median(latencies[:tenth])), float(np.median(latencies[-tenth:]))
    return {"calls": calls, "rss_warm": after_warmup, "rss_end": end, "growth": end / after_warmup - 1,
            "first_median_s": first, "last_median_s": last, "drift": last / first - 1}


def make_model():
    import mlfront

    model = mlfront.Sequential([mlfront.Input((FEATURES,)), mlfront.layers.Dense(HIDDEN, activation="relu"),
                                mlfront.layers.Dense(HIDDEN, activation="relu"),
                                mlfront.layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def phases(model, x, y):
    """{phase: call(i)} on `model`: single-sample predict, single-sample direct call, a fit on 256 samples."""
    import mlfront

    B = mlfront.backend.get()
    fx, fy = x[:FIT_SAMPLES], y[:FIT_SAMPLES]
    return {"predict": lambda i: model.predict(x[i:i + 1], verbose=0),
            "model(x)": lambda i: B.to_numpy(model(x[i:i + 1])),
            "fit": lambda i: model.fit(fx, fy, epochs=1, verbose=0)}


def control_median(call, warmup, calls):
    """The median latency of `calls` calls after `warmup` calls (on a fresh model, after the soak)."""
    for i in range(warmup):
        call(i)
    latencies = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)
    return float(np.median(latencies))


def run_engine(calls, fits):
    """All three phases on the engine of MLFRONT_BACKEND; returns {phase: figures}.

    After the soak, a fresh model makes a tenth of each phase's calls (after the same warm-up): when the soaked
    model's last calls are no slower than the fresh model's, a drift comes from the machine (load), not the model.
    """
    import mlfront

    rng = np.random.default_rng(0)
    x = rng.normal(size=(max(calls, FIT_SAMPLES), FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=len(x)).astype("int32")
    counts = {"predict": (calls, max(1, calls // 20)), "model(x)": (calls, max(1, calls // 20)),
              "fit": (fits, max(1, fits // 10))}
    results = {"engine": mlfront.backend(), "load_before": _load()}
    for name, call in phases(make_model(), x, y).items():
        results[name] = soak(counts[name][0], counts[name][1], call)
    for name, call in phases(make_model(), x, y).items():
        results[name]["fresh_median_s"] = control_median(call, counts[name][1], max(1, counts[name][0] // 10))
    results["load_after"] = _load()
    return results


def _load():
    """The 1-minute load average (None where the OS has none): latencies on a shared machine follow it."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


# ---------------------------------------------------------------------------------------------- driver
def run_worker(engine, python, calls, fits):
    env = dict(os.environ, MLFRONT_BACKEND=engine, KERAS_BACKEND=engine, TF_CPP_MIN_LOG_LEVEL="3")  # and OMP_NUM_THREADS
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", "--calls", str(calls), "--fits",
                          str(fits)], capture_output=True, text=True, env=env, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"soak on {engine} ({python}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(all_results):
    print(f"{'engine':10s} {'phase':9s} {'calls':>6s} {'RSS warm MiB':>12s} {'RSS end MiB':>11s} {'growth':>7s} "
          f"{'first 10% us':>12s} {'last 10% us':>11s} {'drift':>7s} {'fresh us':>9s}  verdict")
    for results in all_results:
        for phase in ("predict", "model(x)", "fit"):
            r = results[phase]
            flags = [word for word, bad in (("memory grows", r["growth"] > GROWTH_GOAL),
                                            ("latency drifts", r["drift"] > DRIFT_GOAL)) if bad]
            if r["drift"] > DRIFT_GOAL and r["last_median_s"] <= r["fresh_median_s"] * (1 + DRIFT_GOAL):
                flags[-1] += " (a fresh model is as slow: the machine, not the model)"
            print(f"{results['engine']:10s} {phase:9s} {r['calls']:6d} {r['rss_warm'] / 2**20:12.1f} "
                  f"{r['rss_end'] / 2**20:11.1f} {r['growth'] * 100:6.1f}% {r['first_median_s'] * 1e6:12.1f} "
                  f"{r['last_median_s'] * 1e6:11.1f} {r['drift'] * 100:6.1f}% {r['fresh_median_s'] * 1e6:9.1f}  "
                  f"{', '.join(flags) or 'ok'}")
    for results in all_results:
        if results["load_before"] is not None:
            print(f"{results['engine']}: 1-minute load average {results['load_before']:.2f} before, "
                  f"{results['load_after']:.2f} after ({os.cpu_count()} CPUs)")
    print(f"goals: memory growth after warm-up < {GROWTH_GOAL:.0%}; last-10% median latency within "
          f"{DRIFT_GOAL:.0%} of the first-10% median")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", help="comma-separated engines, each run by .tox/<engine>/bin/python "
                        "(default: only the engine of MLFRONT_BACKEND, in this process)")
    parser.add_argument("--quick", action="store_true", help="2,000 calls and 40 fits (unless given)")
    parser.add_argument("--calls", type=int, help="predict calls, and as many model(x) calls (default 20,000)")
    parser.add_argument("--fits", type=int, help="fit calls (default 200)")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the engines (default: theirs); on a "
                        "loaded machine 1 keeps torch's intra-op threads from spinning against other processes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read when the engine is imported, after this
    calls = args.calls if args.calls is not None else 2000 if args.quick else 20000
    fits = args.fits if args.fits is not None else 40 if args.quick else 200
    if calls < 20 or fits < 10:
        parser.error(f"--calls must be >= 20 and --fits >= 10 (to leave a warm-up), got {calls} and {fits}")
    if args.worker:
        print(json.dumps(run_engine(calls, fits)))
        return
    if not args.backends:
        print_table([run_engine(calls, fits)])
        return
    all_results = []
    for engine in [e.strip() for e in args.backends.split(",") if e.strip()]:
        python = os.path.join(REPO, ".tox", engine, "bin", "python")
        if not os.path.exists(python):
            parser.error(f"--backends: no interpreter for engine {engine!r} at {python} (create it with "
                         f"`tox -e {engine} --notest`)")
        all_results.append(run_worker(engine, python, calls, fits))
        print(f"{engine} done", flush=True)
    print_table(all_results)


if __name__ == "__main__":
    main()
