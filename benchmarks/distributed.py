"""Data-parallel training: mlfront's `DataParallel` vs the distributed loop an expert writes on each engine.

For the MLP and the CNN of workloads.py (global batch 128 each), per engine, three implementations:

- "mlfront 1 device": `fit` without a distribution;
- "mlfront DP": `mlfront.distribution.set_distribution(DataParallel())` and the same `fit` over `--replicas`
  (2) replicas: torch runs one process per replica joined with `mlfront.distribution.initialize` on 127.0.0.1
  (gloo on CPU, nccl with one GPU per process on CUDA); jax and tensorflow run one process driving the replicas
  (`MLFRONT_NUM_CPU_DEVICES=2` on CPU; their GPUs where they see some);
- "hand-written DP": torch `DistributedDataParallel` over the nn.Sequential of raw_torch.py with
  `torch.optim.Adam(fused=True)` (images in channels_last memory, `--torch-memory-format`), one process per
  replica, each on its half of every global batch (rows picked from one permutation shared by the processes);
  jax: one `jax.jit` step (optax adam, donated params and optimizer state) with the global batch put as
  `NamedSharding(Mesh(devices, ("batch",)), P("batch"))` and the params replicated, so XLA adds the gradient
  all-reduce; tensorflow: `tf.distribute.MirroredStrategy` over the replica devices (logical CPU devices on
  CPU), tf.Variables from raw_tensorflow.py created in its scope, a
  `tf.function` step that calls `strategy.run` for the per-replica gradients (loss from
  `tf.nn.compute_average_loss` over the global batch), sums them with `extended.batch_reduce_to` and applies
  Adam written with tf ops on every mirror through `extended.update`; batches from
  `strategy.experimental_distribute_dataset` over a shuffled, repeated, prefetched `tf.data` pipeline.

The measure is training steps/s (global batches per second): the median over `--windows` timed windows (an epoch
of `fit`, a pass of the hand loop over the same samples, reshuffled each time) after one warm-up window that
holds the compilation. Every measurement is its own fresh process (or processes); implementations alternate over
`--rounds` rounds, in reverse order every other round, and the report gives medians: mlfront DP / hand-written DP
(the goal is >= 0.95) and the scaling mlfront DP / mlfront 1 device.

Threads: each replica gets an equal share of the cores, the same in every measurement, and mlfront and the hand
loop of a configuration get the same settings: OMP_NUM_THREADS = MKL_NUM_THREADS = TF_NUM_INTRAOP_THREADS =
TF_NUM_INTEROP_THREADS = (cores / replicas) x (the replicas the process drives); `--threads` sets the per-replica
share. So on 2 cores with 2 replicas: torch 1 device = 1 process x 1 thread, torch DP (mlfront and DDP) = 2
processes x 1 thread; jax and tensorflow 1 device = 1 thread, DP = 1 process x 2 threads. (One thread per replica
because torch's OpenMP spin-waits make 2 threads in a process on a loaded 2-core machine many times slower. XLA's
CPU client sizes its own pool from the cores, whatever these say, the same for mlfront and the hand loop.) On a
2-core CPU two replicas cannot scale much: there the figure that matters is mlfront / hand-written.

    python benchmarks/distributed.py --quick --rounds 1 --python-torch .tox/torch/bin/python \\
        --python-jax .tox/jax/bin/python --python-tensorflow .tox/tensorflow/bin/python
    python benchmarks/distributed.py --rounds 2 --json /tmp/distributed.json --python-torch .tox/torch/bin/python \\
        --python-jax .tox/jax/bin/python --python-tensorflow .tox/tensorflow/bin/python
    python benchmarks/distributed.py --engines jax --workloads cnn --python-jax .tox/jax/bin/python

The same script runs on a multi-GPU machine: torch workers use CUDA (nccl, one process per GPU) and jax /
tensorflow their GPUs when they see them; the device each measurement ran on is printed under the table.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workers import environment  # noqa: E402
from workloads import CPU_SIZES, build_model, compile_model, make_data  # noqa: E402

ENGINES = ("torch", "jax", "tensorflow")
WORKLOADS = ("mlp", "cnn")
IMPLS = ("mlfront-1", "mlfront-dp", "hand-dp")
LABELS = {"mlfront-1": "mlfront 1 device", "mlfront-dp": "mlfront DP", "hand-dp": "hand-written DP"}
# (global batches per timed window, timed windows) per workload; one more window warms up first
SIZES = {"full": {"mlp": (120, 5), "cnn": (16, 5)}, "quick": {"mlp": (4, 2), "cnn": (2, 2)}}
LEARNING_RATE = 1e-3


def global_batch(workload):
    """The workload's usual batch in run.py (128 for the MLP and the CNN), split over the replicas."""
    return CPU_SIZES[workload][0]


def first_error_line(text):
    """The line that names the error: the last `SomeError: ...` line of a traceback, else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Exit")):
            return line[:200]
    return lines[-1][:200] if lines else "no output"


def window_result(seconds, steps, device, replicas):
    """The JSON a worker prints: steps/s of each timed window, their median, and where it ran."""
    rates = [steps / s for s in seconds]
    return {"steps_per_second": statistics.median(rates), "windows": rates, "device": device, "replicas": replicas}


# ---------------------------------------------------------------------------------------------- mlfront
def mlfront_worker(args):
    """`fit` over 1 + windows epochs, each epoch a window timed by a callback; DataParallel for "mlfront-dp"."""
    import mlfront
    from mlfront import distribution
    if args.processes > 1:
        distribution.initialize(args.address, args.processes, args.process_id)
    replicas = 1
    if args.impl == "mlfront-dp":
        devices = distribution.list_devices()
        if len(devices) < args.replicas:
            raise RuntimeError(f"mlfront DP: {args.replicas} replicas asked for, the job has the devices {devices}")
        distribution.set_distribution(distribution.DataParallel(devices=devices[:args.replicas]))
        replicas = distribution.distribution().num_replicas
    batch = global_batch(args.workload)
    x, y = make_data(args.workload, args.steps * batch)
    model = build_model(mlfront, args.workload)
    compile_model(mlfront, model, args.workload)
    starts, seconds = {}, []

    def begin(epoch, logs=None):
        starts[epoch] = time.perf_counter()

    def end(epoch, logs=None):
        if epoch > 0:  # epoch 0 warms up (tracing, compilation, allocator)
            seconds.append(time.perf_counter() - starts[epoch])
    timer = mlfront.callbacks.LambdaCallback(on_epoch_begin=begin, on_epoch_end=end)
    model.fit(x, y, batch_size=batch, epochs=1 + args.windows, verbose=0, callbacks=[timer])
    active = distribution.distribution()
    devices = list(active.device_mesh.devices.ravel()) if active else distribution.list_devices()[:1]
    where = f"{devices[0]} x{len(devices)}" + (f" ({args.processes} processes)" if args.processes > 1 else "")
    return window_result(seconds, args.steps, where, replicas)


# ---------------------------------------------------------------------------------------------- torch
def torch_worker(args):
    """DistributedDataParallel over raw_torch's nn.Sequential, Adam; one process per replica, each on its rows of
    every global batch (one permutation per window, the same in every process)."""
    import datetime

    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel

    import raw_torch
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(args.process_id % torch.cuda.device_count())
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://{args.address}",
                            world_size=args.processes, rank=args.process_id, timeout=datetime.timedelta(seconds=300))
    try:
        batch = global_batch(args.workload)
        share, n = batch // args.processes, args.steps * batch
        if share * args.processes != batch:
            raise ValueError(f"hand-written DP: a global batch of {batch} cannot be split evenly over "
                             f"{args.processes} processes")
        x, y = make_data(args.workload, n)
        X = torch.from_numpy(x)
        module = raw_torch.build(args.workload).to(device)
        if X.ndim == 4:  # NHWC images to torch's NCHW, once; in channels_last memory where asked (faster on CPU)
            layout = torch.channels_last if args.torch_memory_format == "channels_last" else torch.contiguous_format
            X = X.permute(0, 3, 1, 2).contiguous(memory_format=layout)
            module = module.to(memory_format=layout)
        X, Y = X.to(device), torch.from_numpy(y).long().to(device)
        torch.manual_seed(0)  # DDP broadcasts rank 0's initial weights anyway
        model = DistributedDataParallel(module, device_ids=[device.index] if cuda else None)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=True)
        first = args.process_id * share
        seconds = []
        for window in range(1 + args.windows):
            order = torch.from_numpy(np.random.default_rng(window).permutation(n)).to(device)
            start = time.perf_counter()
            for i in range(0, n, batch):
                rows = order[i + first:i + first + share]
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(X[rows]), Y[rows])
                loss.backward()
                optimizer.step()
            loss.item()  # waits for the last step (CUDA)
            if window > 0:
                seconds.append(time.perf_counter() - start)
        name = f"cuda:{device.index} ({torch.cuda.get_device_name(device)})" if cuda else "cpu:0"
        return window_result(seconds, args.steps, f"{name} x{args.processes} ({args.processes} processes)",
                             args.processes)
    finally:
        dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------- jax
def jax_worker(args):
    """One jitted step (optax adam, params and optimizer state donated) on a Mesh of the replica devices: the
    global batch sharded on "batch", the params replicated; XLA all-reduces the gradients."""
    import functools

    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    count = os.environ.get("MLFRONT_NUM_CPU_DEVICES")  # the same host device count mlfront's adapter sets
    if count:
        jax.config.update("jax_num_cpu_devices", int(count))

    import raw_jax
    devices = jax.devices()[:args.replicas]
    if len(devices) < args.replicas:
        raise RuntimeError(f"hand-written DP: {args.replicas} replicas asked for, jax has the devices {jax.devices()}")
    mesh = Mesh(np.array(devices), ("batch",))
    replicated, sharded = NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))
    params, _, forward = raw_jax.init_model(args.workload)
    loss_fn, optimizer = raw_jax.loss_for(args.workload), raw_jax.adam(LEARNING_RATE)
    params = jax.device_put(params, replicated)
    opt_state = jax.device_put(optimizer.init(params), replicated)

    @functools.partial(jax.jit, donate_argnums=(0, 1), out_shardings=replicated)
    def train_step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(forward(p, {}, xb, True)[0], yb))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return raw_jax.apply_updates(params, updates), opt_state, loss

    batch = global_batch(args.workload)
    n = args.steps * batch
    x, y = make_data(args.workload, n)
    seconds = []
    for window in range(1 + args.windows):
        order = np.random.default_rng(window).permutation(n)
        start = time.perf_counter()
        for i in range(0, n, batch):
            rows = order[i:i + batch]
            params, opt_state, loss = train_step(params, opt_state, jax.device_put(x[rows], sharded),
                                                 jax.device_put(y[rows], sharded))
        jax.block_until_ready(params)
        if window > 0:
            seconds.append(time.perf_counter() - start)
    return window_result(seconds, args.steps, f"{devices[0].platform} x{len(devices)} ({raw_jax.optimizer_name()})",
                         len(devices))


# ---------------------------------------------------------------------------------------------- tensorflow
def tensorflow_worker(args):
    """MirroredStrategy over the replica devices, tf.Variables in its scope, a tf.function step around
    `strategy.run`, the gradients summed by `batch_reduce_to` and Adam (tf ops) applied to every mirror."""
    import tensorflow as tf

    import raw_tensorflow
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        devices = [f"/gpu:{i}" for i in range(min(len(gpus), args.replicas))]
    else:  # logical CPU devices, as mlfront's MLFRONT_NUM_CPU_DEVICES makes them
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas)
        devices = [f"/cpu:{i}" for i in range(args.replicas)]
    if len(devices) < args.replicas:
        raise RuntimeError(f"hand-written DP: {args.replicas} replicas asked for, tensorflow has {devices}")
    strategy = tf.distribute.MirroredStrategy(devices)
    batch = global_batch(args.workload)
    n = args.steps * batch
    x, y = make_data(args.workload, n)
    with strategy.scope():
        variables, forward = raw_tensorflow.build(args.workload)
        moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
        t = tf.Variable(0.0)
    data = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=0, reshuffle_each_iteration=True)
            .batch(batch, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    batches = iter(strategy.experimental_distribute_dataset(data))

    def replica_gradients(xb, yb):
        with tf.GradientTape() as tape:
            per_sample = tf.nn.sparse_softmax_cross_entropy_with_logits(yb, forward(xb, True))
            loss = tf.nn.compute_average_loss(per_sample, global_batch_size=batch)
        return loss, tape.gradient(loss, variables)

    def adam(variable, gradient, m, s, rate):  # runs once per mirror, on its device
        m.assign_add((gradient - m) * 0.1)
        s.assign_add((tf.square(gradient) - s) * 0.001)
        variable.assign_sub(rate * m / (tf.sqrt(s) + 1e-7))

    @tf.function
    def train_step(iterator):
        loss, grads = strategy.run(replica_gradients, args=next(iterator))
        grads = strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.SUM, list(zip(grads, variables)))
        t.assign_add(1.0)
        rate = LEARNING_RATE * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for v, g, (m, s) in zip(variables, grads, moments):
            strategy.extended.update(v, adam, args=(g, m, s, rate))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)

    seconds = []
    for window in range(1 + args.windows):
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = train_step(batches)
        loss.numpy()
        if window > 0:
            seconds.append(time.perf_counter() - start)
    return window_result(seconds, args.steps, f"{devices[0].strip('/')} x{len(devices)}", len(devices))


HAND_WORKERS = {"torch": torch_worker, "jax": jax_worker, "tensorflow": tensorflow_worker}


# ---------------------------------------------------------------------------------------------- orchestration
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_of(engine, impl, replicas):
    """torch runs one process per replica; jax and tensorflow one process driving every replica."""
    return replicas if engine == "torch" and impl != "mlfront-1" else 1


def worker_env(engine, impl, processes, args):
    """The worker's environment: the engine selected, the same thread settings for mlfront and the hand loop."""
    env = environment(engine)
    per_replica = args.threads or max(1, (os.cpu_count() or 1) // args.replicas)
    threads = per_replica * (1 if impl == "mlfront-1" or processes > 1 else args.replicas)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        env[name] = str(threads)
    env.pop("MLFRONT_NUM_CPU_DEVICES", None)
    if impl != "mlfront-1" and processes == 1:
        env["MLFRONT_NUM_CPU_DEVICES"] = str(args.replicas)
    return env, threads


def measure(python, engine, workload, impl, args):
    """One measurement in fresh processes: process 0's result, or {"error": the first error line}."""
    processes = processes_of(engine, impl, args.replicas)
    env, threads = worker_env(engine, impl, processes, args)
    steps, windows = SIZES["quick" if args.quick else "full"][workload]
    address = f"127.0.0.1:{free_port()}"
    logs = tempfile.mkdtemp(prefix="mlfront-distributed-")
    running = []
    for rank in range(processes):
        command = [python, os.path.abspath(__file__), "--worker", impl, "--engine", engine, "--workloads", workload,
                   "--steps", str(steps), "--windows", str(windows), "--replicas", str(args.replicas),
                   "--processes", str(processes), "--process-id", str(rank), "--address", address,
                   "--torch-memory-format", args.torch_memory_format]
        out = open(os.path.join(logs, f"out_{rank}.txt"), "w+")  # files, not pipes: no process blocks on a pipe
        err = open(os.path.join(logs, f"err_{rank}.txt"), "w+")
        running.append((subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True), out, err))
    deadline, timed_out = time.monotonic() + args.worker_timeout, False
    for process, _, _ in running:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            for other, _, _ in running:
                if other.poll() is None:
                    other.kill()
                    other.wait()
            break
    texts = []
    for process, out, err in running:
        out.seek(0)
        err.seek(0)
        texts.append((process.returncode, out.read(), err.read()))
        out.close()
        err.close()
    if timed_out:
        return {"error": f"timed out after {args.worker_timeout:.0f} s", "threads": threads, "processes": processes}
    failed = [(code, o, e) for code, o, e in texts if code != 0]
    if failed:  # process 0's error first: another process's is often only "the peer went away"
        return {"error": first_error_line(failed[0][2] or failed[0][1]), "threads": threads, "processes": processes}
    try:
        result = json.loads(texts[0][1].strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no JSON result in the output: {texts[0][1][-200:]!r}"}
    result.update(threads=threads, processes=processes)
    return result


def summarize(runs):
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"] if runs else "not run"}
    out = {"steps_per_second": statistics.median(r["steps_per_second"] for r in ok), "device": ok[0]["device"],
           "threads": ok[0]["threads"], "processes": ok[0]["processes"], "rounds_ok": len(ok), "rounds": len(runs)}
    if len(ok) < len(runs):
        out["partial_error"] = next(r["error"] for r in runs if "error" in r)
    return out


def rate(summary):
    return summary.get("steps_per_second") if summary and "error" not in summary else None


def cell(summary):
    if summary is None:
        return "-"
    if "error" in summary:
        return f"failed: {summary['error']}"
    return f"{summary['steps_per_second']:.1f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def table(summaries, workloads, engines, replicas):
    """The markdown report: one row per (workload, engine)."""
    lines = [f"| workload | engine | global batch | mlfront 1 device steps/s | mlfront DP x{replicas} steps/s | "
             f"hand-written DP x{replicas} steps/s | mlfront DP / hand-written DP | "
             f"scaling mlfront DP / mlfront 1 device |", "|" + "---|" * 8]
    for workload in workloads:
        for engine in engines:
            s = {impl: summaries.get((workload, engine, impl)) for impl in IMPLS}
            one, dp, hand = (rate(s[i]) for i in IMPLS)
            lines.append("| " + " | ".join([workload, engine, str(global_batch(workload)), cell(s["mlfront-1"]),
                                             cell(s["mlfront-dp"]), cell(s["hand-dp"]), ratio(dp, hand),
                                             ratio(dp, one)]) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=2, help="data-parallel width (processes on torch)")
    parser.add_argument("--quick", action="store_true", help="a few steps per window: a smoke run")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads per replica (default: the cores divided by the replicas)")
    parser.add_argument("--json", metavar="FILE", help="also write every run and the medians to this JSON file")
    parser.add_argument("--worker-timeout", type=float, default=300.0, help="seconds before a measurement fails")
    parser.add_argument("--torch-memory-format", choices=("channels_last", "contiguous"), default="channels_last",
                        help="the hand-written DDP loop's image layout (channels_last: the faster one on CPU)")
    for engine in ENGINES:
        parser.add_argument(f"--python-{engine}", default=sys.executable, metavar="PYTHON",
                            help=f"interpreter with {engine} installed (default: this one)")
    # one worker process (the orchestrator starts these)
    parser.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--windows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--address", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.impl, args.workload = args.worker, args.workloads[0]
        result = (mlfront_worker if args.impl.startswith("mlfront") else HAND_WORKERS[args.engine])(args)
        print(json.dumps(result), flush=True)
        return result
    if args.rounds < 1 or args.replicas < 2:
        parser.error("--rounds must be at least 1 and --replicas at least 2")

    results = {}
    started = time.monotonic()
    for round_index in range(args.rounds):
        order = IMPLS if round_index % 2 == 0 else IMPLS[::-1]
        for workload in args.workloads:
            for engine in args.engines:
                for impl in order:
                    r = measure(getattr(args, f"python_{engine}"), engine, workload, impl, args)
                    results.setdefault((workload, engine, impl), []).append(r)
                    what = f"round {round_index + 1} {workload:4s} {engine:10s} {LABELS[impl]:16s}"
                    if "error" in r:
                        print(f"{what} failed: {r['error']}", flush=True)
                    else:
                        print(f"{what} {r['steps_per_second']:8.1f} steps/s  ({r['device']}, {r['processes']} "
                              f"process(es) x {r['threads']} thread(s); windows "
                              f"{', '.join(f'{w:.1f}' for w in r['windows'])})", flush=True)
    summaries = {key: summarize(runs) for key, runs in results.items()}
    sizes = SIZES["quick" if args.quick else "full"]
    print(f"\n## Data-parallel training ({'quick' if args.quick else 'full'} run: "
          + ", ".join(f"{w} {sizes[w][0]} steps x {sizes[w][1]} windows" for w in args.workloads)
          + f"; medians over {args.rounds} round(s); {time.monotonic() - started:.0f} s)\n")
    print(table(summaries, args.workloads, args.engines, args.replicas))
    notes = []
    for (workload, engine, impl), s in summaries.items():
        if "error" not in s:
            notes.append(f"- {workload} {engine} {LABELS[impl]}: {s['device']}, {s['processes']} process(es) x "
                         f"{s['threads']} thread(s)" + (f"; {s['rounds_ok']}/{s['rounds']} rounds ok "
                                                        f"({s['partial_error']})" if "partial_error" in s else ""))
    if notes:
        print("\nWhere each ran:\n" + "\n".join(notes))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "engine", "steps",
                                                                                  "windows", "process_id", "address")},
                       "runs": [{"workload": w, "engine": e, "impl": i, "results": r}
                                for (w, e, i), r in results.items()],
                       "medians": [{"workload": w, "engine": e, "impl": i, **s}
                                   for (w, e, i), s in summaries.items()]}, f, indent=1)
    return summaries


if __name__ == "__main__":
    main()
