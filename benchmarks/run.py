"""Side-by-side benchmark: mlfront `fit`/`predict` vs the best hand-written loop of each engine and vs Keras 3.

Every (workload, implementation, engine) runs in its own process (benchmarks/workloads.py); implementations alternate
over `--rounds` rounds, in reverse order every other round. The report gives medians and ratios: training throughput
mlfront / best raw and mlfront / Keras 3 (higher is better), single-sample predict latency mlfront / raw forward
(lower is better), peak-memory ratio, the first-step seconds of each, and the import time of `import mlfront` vs
`import <engine>` (fresh processes, median of a few). An implementation that fails is reported as "failed: <error>";
Keras 3 missing from an engine's interpreter is reported as "missing".

    python benchmarks/run.py --quick --rounds 1 --python-torch .tox/torch/bin/python \\
        --python-jax .tox/jax/bin/python --python-tensorflow .tox/tensorflow/bin/python
    python benchmarks/run.py --workloads mlp resnet --rounds 2 --engines jax --python-jax .tox/jax/bin/python
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from workloads import ENGINES, IMPLS, SCALES, WORKLOADS  # noqa: E402

IMPORT_MODULES = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


THREADS = None  # --threads: set by main() for every worker


def worker_env(engine):
    env = dict(os.environ, MLFRONT_BACKEND=engine, KERAS_BACKEND=engine, TF_CPP_MIN_LOG_LEVEL="3")
    if THREADS is not None:  # the same for every implementation, so the ratios stay fair
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            env[name] = str(THREADS)
    paths = [REPO, os.path.join(REPO, "backends")] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("MLFRONT_HOME", tempfile.mkdtemp(prefix="mlfront-bench-"))
    return env


def first_error_line(stderr):
    """The line that names the error: the last `SomeError: ...` line of a traceback, else the last line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Exit")) or head.startswith("--require-gpu"):
            return line[:200]
    return lines[-1][:200] if lines else "no output"


def run_worker(python, workload, impl, engine, args, reverse, timeout=None):
    """One worker process; returns its measures or {"error": "<first error line>"}."""
    timeout = args.worker_timeout if timeout is None else timeout
    command = [python, os.path.join(HERE, "workloads.py"), "--workload", workload, "--impl", impl, "--engine", engine,
               "--scale", args.scale]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    if reverse:
        command.append("--reverse")
    if args.require_gpu:
        command.append("--require-gpu")
    try:
        out = subprocess.run(command, capture_output=True, text=True, env=worker_env(engine),
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": first_error_line(out.stderr or out.stdout)}
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no JSON result in the output: {out.stdout[-200:]!r}"}


def has_module(python, module, engine):
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([python, "-c", code], env=worker_env(engine), capture_output=True).returncode == 0


def import_seconds(python, engine, module, repeats):
    """Median seconds of `import <module>` in fresh processes (MLFRONT_BACKEND set, so mlfront loads the engine).

    Python's bytecode cache is on (PYTHONDONTWRITEBYTECODE unset) and an unmeasured first import fills it, as a
    pip install does: otherwise every import would compile the sources again, which no installed package does."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = worker_env(engine)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for attempt in range(repeats + 1):  # (the first fills the cache)
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            return None, first_error_line(out.stderr)
        if attempt:
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times), None


def median(runs, key):
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def summarize(runs):
    """Medians over the rounds; for raw also the median of every variant and the fastest variant."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"] if runs else "not run"}
    keys = ("steps_per_second", "predict_latency_s", "predict_samples_per_second", "peak_rss_mib", "first_step_s")
    out = {k: median(ok, k) for k in keys}
    out["rounds_ok"], out["rounds"] = len(ok), len(runs)
    if "variants" in ok[0]:
        variants = {name: statistics.median(r["variants"][name] for r in ok if name in r["variants"])
                    for name in ok[0]["variants"]}
        out["variants"] = variants
        out["best_variant"] = max(variants, key=variants.get)
        out["steps_per_second"] = variants[out["best_variant"]]
        out["device"] = ok[0].get("device")
    if len(ok) < len(runs):
        out["partial_error"] = next(r["error"] for r in runs if "error" in r)
    return out


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def cell(summary, key, spec, scale=1.0):
    if summary is None:
        return "-"
    if "missing" in summary:
        return "missing"
    if "error" in summary:
        return "failed" if key != "steps_per_second" else f"failed: {summary['error']}"
    value = summary.get(key)
    return fmt(None if value is None else value * scale, spec)


def table(summaries, workloads, engines, impls):
    """The markdown report: one row per (workload, engine)."""
    lines = ["| workload | engine | train steps/s raw (best variant) | mlfront | Keras 3 | mlfront/raw |"
             " mlfront/Keras |"
             " predict 1 sample ms raw / mlfront / Keras | latency mlfront/raw | batched predict samples/s raw /"
             " mlfront / Keras | peak MiB raw / mlfront / Keras | memory mlfront/raw |"
             " first step s raw / mlfront / Keras |",
             "|" + "---|" * 13]
    for workload in workloads:
        for engine in engines:
            s = {impl: summaries.get((workload, engine, impl)) for impl in IMPLS}
            raw, mlf, ker = s["raw"], s["mlfront"], s["keras"]
            if "keras" not in impls:
                ker = None

            def good(x):
                return x is not None and "error" not in x and "missing" not in x
            raw_train = cell(raw, "steps_per_second", ".1f")
            if good(raw):
                raw_train += f" ({raw['best_variant']})"
            g = {k: (v if good(v) else {}) for k, v in (("raw", raw), ("mlf", mlf), ("ker", ker))}
            trio = [(raw, "raw"), (mlf, "mlf"), (ker, "ker")]
            lines.append("| " + " | ".join([
                workload, engine, raw_train, cell(mlf, "steps_per_second", ".1f"), cell(ker, "steps_per_second", ".1f"),
                ratio(g["mlf"].get("steps_per_second"), g["raw"].get("steps_per_second")),
                ratio(g["mlf"].get("steps_per_second"), g["ker"].get("steps_per_second")),
                " / ".join(cell(x, "predict_latency_s", ".3f", 1e3) for x, _ in trio),
                ratio(g["mlf"].get("predict_latency_s"), g["raw"].get("predict_latency_s")),
                " / ".join(cell(x, "predict_samples_per_second", ".0f") for x, _ in trio),
                " / ".join(cell(x, "peak_rss_mib", ".0f") for x, _ in trio),
                ratio(g["mlf"].get("peak_rss_mib"), g["raw"].get("peak_rss_mib")),
                " / ".join(cell(x, "first_step_s", ".2f") for x, _ in trio)]) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per worker (default: per scale)")
    parser.add_argument("--scale", choices=SCALES, default="cpu", help="sizes: quick (smoke), cpu, gpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run (same as --scale quick)")
    parser.add_argument("--json", metavar="PATH", help="also write every run and the medians to this JSON file")
    parser.add_argument("--import-repeats", type=int, default=3, help="fresh processes per import-time median")
    parser.add_argument("--worker-timeout", type=float, default=300.0, help="seconds before a worker is failed")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds after which no new worker starts (the rest is reported as not run); a running "
                             "worker is stopped 60 s after it")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op CPU threads of every worker (OMP/MKL/TF); on a loaded shared CPU torch's "
                             "OpenMP spin-waits make 1 much faster than the default")
    parser.add_argument("--require-gpu", action="store_true", help="fail raw workers that do not run on a GPU")
    for engine in ENGINES:
        parser.add_argument(f"--python-{engine}", default=sys.executable, metavar="PYTHON",
                            help=f"interpreter with {engine} installed (default: this one)")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale = "quick"
    global THREADS
    THREADS = args.threads
    if args.rounds < 1:
        parser.error(f"--rounds: expected at least 1, got {args.rounds}")
    pythons = {e: getattr(args, f"python_{e}") for e in args.engines}
    started = time.monotonic()

    impls = {}
    for engine in args.engines:
        impls[engine] = list(args.impls)
        if "keras" in impls[engine] and not has_module(pythons[engine], "keras", engine):
            impls[engine].remove("keras")
            print(f"{engine}: keras is not installed in {pythons[engine]}; Keras 3 columns skipped", flush=True)

    results = {}
    for round_index in range(args.rounds):
        for workload in args.workloads:
            for engine in args.engines:
                order = impls[engine] if round_index % 2 == 0 else impls[engine][::-1]
                for impl in order:
                    key = (workload, engine, impl)
                    timeout = args.worker_timeout
                    if args.deadline is not None:
                        elapsed = time.monotonic() - started
                        if elapsed > args.deadline:
                            results.setdefault(key, []).append({"error": "not run (deadline)"})
                            continue
                        timeout = min(timeout, args.deadline + 60 - elapsed)
                    r = run_worker(pythons[engine], workload, impl, engine, args, round_index % 2 == 1, timeout)
                    results.setdefault(key, []).append(r)
                    if "error" in r:
                        print(f"round {round_index + 1} {workload:11s} {engine:10s} {impl:7s} failed: {r['error']}",
                              flush=True)
                    else:
                        extra = f" best {r['best_variant']}" if "best_variant" in r else ""
                        print(f"round {round_index + 1} {workload:11s} {engine:10s} {impl:7s} "
                              f"{r['steps_per_second']:9.1f} steps/s  predict {r['predict_latency_s'] * 1e3:7.3f} ms"
                              f"  first step {r['first_step_s']:6.2f} s{extra}", flush=True)

    imports = {}
    for engine in args.engines:
        engine_s, engine_err = import_seconds(pythons[engine], engine, IMPORT_MODULES[engine], args.import_repeats)
        mlf_s, mlf_err = import_seconds(pythons[engine], engine, "mlfront", args.import_repeats)
        imports[engine] = {"engine_s": engine_s, "mlfront_s": mlf_s, "error": engine_err or mlf_err}

    summaries = {key: summarize(runs) for key, runs in results.items()}
    for engine in args.engines:
        if "keras" in args.impls and "keras" not in impls[engine]:
            for workload in args.workloads:
                summaries[(workload, engine, "keras")] = {"missing": "keras is not installed"}
    threads = "" if args.threads is None else f", {args.threads} intra-op thread(s)"
    print(f"\n## mlfront benchmark ({args.scale} sizes, medians over {args.rounds} round(s){threads})\n")
    print(table(summaries, args.workloads, args.engines, args.impls))
    variant_lines = []
    for (workload, engine, impl), s in summaries.items():
        if impl == "raw" and "variants" in s:
            listed = ", ".join(f"{name} {sps:.1f}" for name, sps in s["variants"].items())
            variant_lines.append(f"- {workload} {engine} ({s['device']}): {listed} steps/s")
    missing = [e for e in args.engines if "keras" in args.impls and "keras" not in impls[e]]
    if missing:
        print(f"\nKeras 3 missing for: {', '.join(missing)}")
    if variant_lines:
        print("\nRaw variants (median steps/s):\n" + "\n".join(variant_lines))
    print("\nImport time (fresh process, median of %d): " % args.import_repeats + "; ".join(
        f"{e}: failed: {v['error']}" if v["error"] else
        f"{e}: import {IMPORT_MODULES[e]} {v['engine_s']:.2f} s, import mlfront {v['mlfront_s']:.2f} s "
        f"(x{v['mlfront_s'] / v['engine_s']:.2f})" for e, v in imports.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items()},
                       "runs": [{"workload": w, "engine": e, "impl": i, "results": r}
                                for (w, e, i), r in results.items()],
                       "medians": [{"workload": w, "engine": e, "impl": i, **s} for (w, e, i), s in summaries.items()],
                       "imports": imports}, f, indent=1)
    return summaries


if __name__ == "__main__":
    main()
