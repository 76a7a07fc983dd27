"""mlfront.distribution: the Keras 3 API, and data-parallel training equal to one device on every engine.

The training runs happen in fresh processes (tests/distributed_worker.py): 2 processes on 127.0.0.1 on every
engine, and, where one process drives several devices, 1 process with MLFRONT_NUM_CPU_DEVICES=2.
"""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import mlfront
from mlfront import distribution

B = mlfront.backend.get()
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")
TOLERANCE = 1e-5
# what a distributed run counts that one device has no equal of
NOT_COMPARED = ("dp_shard_shape", "dp_reads", "dp_fit_collectives", "dp_fit_all_reduces", "dp_shuffled")


# ---------------------------------------------------------------------- API
def test_device_mesh_and_data_parallel_defaults():
    devices = distribution.list_devices()
    assert devices and all(":" in d for d in devices)
    data_parallel = distribution.DataParallel()
    assert data_parallel.device_mesh.axis_names == ["batch"]
    assert data_parallel.num_replicas == len(devices)
    with pytest.raises(ValueError, match="needs 4 devices"):
        distribution.DeviceMesh((2, 2), ["batch", "model"], devices=["cpu:0"])
    with pytest.raises(ValueError, match="axis_names"):
        distribution.DeviceMesh((1,), ["a", "b"], devices=devices[:1])
    with pytest.raises(ValueError, match="not both"):
        distribution.DataParallel(device_mesh=data_parallel.device_mesh, devices=devices)
    assert data_parallel.auto_shard_dataset and not distribution.DataParallel(auto_shard_dataset=False).auto_shard_dataset
    with pytest.raises(ValueError, match="`auto_shard_dataset` must be True or False, got 'no'"):
        distribution.DataParallel(auto_shard_dataset="no")


def test_layout_map_matches_paths_by_regex():
    mesh = distribution.DeviceMesh((1, 1), ["batch", "model"], devices=distribution.list_devices()[:1])
    layout_map = distribution.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["dense.*bias"] = distribution.TensorLayout(("model",))
    assert layout_map["dense_1/kernel"].axes == (None, "model")
    assert layout_map["dense_1/bias"].axes == ("model",)
    assert layout_map["conv/kernel"] is None
    layout_map["dense_1.*"] = (None, None)
    with pytest.raises(ValueError, match="matches several keys"):
        layout_map["dense_1/kernel"]
    with pytest.raises(ValueError, match="not axes of the mesh"):
        layout_map["x"] = ("data",)
    with pytest.raises(ValueError, match="LayoutMap"):
        distribution.ModelParallel(layout_map={"a": (None,)})
    with pytest.raises(ValueError, match="batch_dim_name"):
        distribution.ModelParallel(layout_map=layout_map, batch_dim_name="rows")


def test_model_parallel_checks_layouts_against_the_variables():
    mesh = distribution.DeviceMesh((1, 2), ["batch", "model"], devices=["cpu:0", "cpu:1"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map["bias"] = ("model",)
    layout_map["kernel"] = ("model", "model")
    layout_map["scale"] = (None, "model")
    parallel = distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    assert parallel.get_variable_layout(mlfront.Variable(np.zeros(4), name="bias")).axes == ("model",)
    with pytest.raises(ValueError, match="'bias'.*shape \\(3,\\).*not a multiple"):
        parallel.get_variable_layout(mlfront.Variable(np.zeros(3), name="bias"))
    with pytest.raises(ValueError, match="same mesh axis"):
        parallel.get_variable_layout(mlfront.Variable(np.zeros((4, 4)), name="kernel"))
    with pytest.raises(ValueError, match="has 2 axes"):
        parallel.get_variable_layout(mlfront.Variable(np.zeros(4), name="scale"))


def test_set_distribution_checks_its_argument():
    with pytest.raises(ValueError, match="DataParallel"):
        distribution.set_distribution("data_parallel")
    distribution.set_distribution(None)
    assert distribution.distribution() is None
    assert distribution.process_index() == 0 and distribution.process_count() == 1 and distribution.is_chief()


@pytest.mark.parametrize("env, expected", [
    ({"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "1234"}, (["10.0.0.1:1234"], 2, 1)),
    ({"JAX_COORDINATOR_ADDRESS": "10.0.0.2:99", "JAX_NUM_PROCESSES": "3", "JAX_PROCESS_ID": "2"},
     (["10.0.0.2:99"], 3, 2)),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'},
     (["a:1", "b:2"], 2, 1)),
    ({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "h:5", "KERAS_DISTRIBUTION_NUM_PROCESSES": "4",
      "KERAS_DISTRIBUTION_PROCESS_ID": "0"}, (["h:5"], 4, 0)),
])
def test_initialize_reads_the_launchers_environment(monkeypatch, env, expected):
    for name in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT", "JAX_COORDINATOR_ADDRESS", "TF_CONFIG",
                 "MLFRONT_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    calls = []
    monkeypatch.setattr(B, "initialize_distributed", lambda *args: calls.append(args))
    distribution.initialize()
    assert calls == [expected]


@pytest.mark.parametrize("kwargs, message", [
    (dict(job_addresses="h:1", num_processes=2, process_id=2), "below `num_processes`"),
    (dict(job_addresses="nohost", num_processes=2, process_id=0), "host:port"),
    (dict(job_addresses="h:1", num_processes="two", process_id=0), "num_processes"),
    (dict(job_addresses="a:1,b:2,c:3", num_processes=2, process_id=0), "one per process"),
])
def test_initialize_rejects_a_bad_job(monkeypatch, kwargs, message):
    monkeypatch.setattr(B, "initialize_distributed", lambda *args: pytest.fail("must not be called"))
    with pytest.raises(ValueError, match=message):
        distribution.initialize(**kwargs)


def test_variables_declare_how_replicas_combine_them():
    layer = mlfront.layers.BatchNormalization()
    layer.build((None, 3))
    assert [v.aggregation for v in layer.weights] == ["none", "none", "mean", "mean"]
    metric = mlfront.metrics.Mean()
    assert {v.aggregation for v in metric.variables} == {"sum"}
    with pytest.raises(ValueError, match="aggregation"):
        mlfront.Variable(np.zeros(2), aggregation="max")


# ---------------------------------------------------------------------- training, in fresh processes
def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _launch(case, out, processes=2, devices=None, extra=(), timeout=300, env=None):
    """Run the worker as `processes` processes (each with `devices` CPU devices); returns their results."""
    environment = dict(os.environ, **(env or {}))
    if devices:
        environment["MLFRONT_NUM_CPU_DEVICES"] = str(devices)
    addresses = ",".join(f"127.0.0.1:{port}" for port in _free_ports(processes))
    commands = [[sys.executable, WORKER, case, str(out), *extra] +
                (["--processes", str(processes), "--process-id", str(i), "--address", addresses]
                 if processes > 1 else []) for i in range(processes)]
    running = [subprocess.Popen(c, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for c in commands]
    started, results = time.monotonic(), []
    for process in running:
        try:
            output, _ = process.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            for p in running:
                p.kill()
            pytest.fail(f"{case}: a process of the distributed run did not finish within {timeout} s")
        results.append((process.returncode, output))
    return results, time.monotonic() - started


def _assert_all_succeeded(results):
    for index, (code, output) in enumerate(results):
        assert code == 0, f"process {index} exited with {code}:\n{output[-3000:]}"


def _assert_equal_to_one_device(out, replicas):
    result = np.load(os.path.join(out, "result_0.npz"))
    assert int(result["replicas"]) == replicas
    compared = [k for k in result.files if k.startswith("dp_") and k not in NOT_COMPARED]
    assert len([k for k in compared if "weight" in k]) >= 4
    for key in compared:
        if np.issubdtype(result[key].dtype, np.floating):  # (assert_allclose accepts NaNs at matching positions)
            assert np.isfinite(result[key]).all(), f"{key}: training diverged, {result[key]!r}"
        np.testing.assert_allclose(result[key], result["one_" + key[3:]], atol=TOLERANCE, rtol=0, err_msg=key)


@pytest.mark.parametrize("case", ["mlp", "adam", "bn", "short_last"])
def test_two_processes_train_as_one_device(tmp_path, case):
    """20 steps over 2 processes on 127.0.0.1 give the weights, logs, evaluation and predictions of one device,
    also when the last batch leaves a process without rows (short_last)."""
    results, _ = _launch(case, tmp_path, processes=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    other = np.load(os.path.join(tmp_path, "result_1.npz"))
    first = np.load(os.path.join(tmp_path, "result_0.npz"))
    for key in (k for k in other.files if k.startswith("dp_")):
        np.testing.assert_array_equal(other[key], first[key], err_msg=f"{key} differs between the processes")
    if B.one_process_per_device and case in ("mlp", "adam"):  # the loss and metric sums ride with the gradients
        assert int(first["dp_fit_collectives"]) == int(first["dp_steps"]), "one collective per training step"


@pytest.mark.skipif(not B.one_process_per_device, reason="torch's gradient buckets")
@pytest.mark.parametrize("case", ["adam", "bn"])
def test_gradient_buckets_summed_during_the_backward_pass_train_as_one_device(tmp_path, case):
    """With buckets of a few bytes every weight's gradient is all-reduced by itself as soon as the backward pass
    makes it (in a model larger than a bucket, DDP's overlap): training still equals one device."""
    results, _ = _launch(case, tmp_path, processes=2, env={"MLFRONT_TORCH_BUCKET_MB": "1e-6"})
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    first = np.load(os.path.join(tmp_path, "result_0.npz"))
    weights = len([k for k in first.files if k.startswith("dp_weight")])
    trainable = 4 + 2 * (case == "bn")  # two Dense kernels and biases (+ gamma and beta); no moving statistics
    assert weights >= trainable
    # per step: a bucket per trainable weight during the backward pass, then the loss and metric sums
    assert int(first["dp_fit_all_reduces"]) >= int(first["dp_steps"]) * (trainable + 1)
    assert int(first["dp_fit_collectives"]) == int(first["dp_steps"]) * (1 + (case == "bn"))


def test_the_timeout_setting_is_checked(monkeypatch):
    monkeypatch.setenv("MLFRONT_DISTRIBUTION_TIMEOUT", "0")
    with pytest.raises(ValueError, match="MLFRONT_DISTRIBUTION_TIMEOUT must be a positive number of seconds, got '0'"):
        distribution.timeout_seconds()
    monkeypatch.setenv("MLFRONT_DISTRIBUTION_TIMEOUT", "12.5")
    assert distribution.timeout_seconds() == 12.5
    monkeypatch.delenv("MLFRONT_DISTRIBUTION_TIMEOUT")
    assert distribution.timeout_seconds() == 300


@pytest.mark.skipif(not B.one_process_per_device, reason="torch's gradient buckets")
def test_the_bucket_size_is_checked(monkeypatch):
    from mlfront_torch import distributed as torch_distributed
    for bad in ("0", "-1", "big"):
        monkeypatch.setenv("MLFRONT_TORCH_BUCKET_MB", bad)
        with pytest.raises(ValueError, match=f"MLFRONT_TORCH_BUCKET_MB must be a positive number.*{bad!r}"):
            torch_distributed.bucket_bytes()
    monkeypatch.setenv("MLFRONT_TORCH_BUCKET_MB", "0.5")
    assert torch_distributed.bucket_bytes() == 2**19
    monkeypatch.delenv("MLFRONT_TORCH_BUCKET_MB")
    assert torch_distributed.bucket_bytes() == 25 * 2**20


@pytest.mark.skipif(not B.one_process_per_device, reason="a torch DataLoader is split on the torch backend")
def test_each_process_reads_only_its_rows_of_a_data_loader(tmp_path):
    """fit / evaluate on a DataLoader over 2 processes: a DistributedSampler gives each process half of every
    batch (half the samples; an odd count is not padded), and training equals one device reading the whole
    loader."""
    pytest.importorskip("torch")
    results, _ = _launch("loader", tmp_path, processes=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    first, other = (np.load(os.path.join(tmp_path, f"result_{i}.npz")) for i in (0, 1))
    assert int(first["one_reads"]) == 2 * 651
    assert (int(first["dp_reads"]), int(other["dp_reads"])) == (2 * 326, 2 * 325)  # fit and evaluate


def test_each_process_reads_only_its_batches_of_a_py_dataset(tmp_path):
    """fit / evaluate on a PyDataset over 2 processes: each step takes one batch per process, each process reads
    half the batches (and the short last one), and training equals one device on the batches taken together."""
    results, _ = _launch("pydataset", tmp_path, processes=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    first, other = (np.load(os.path.join(tmp_path, f"result_{i}.npz")) for i in (0, 1))
    assert int(first["dp_reads"]) == int(other["dp_reads"]) == 2 * (10 * 32 + 10)  # fit and evaluate, of 650
    assert len(first["dp_loss"]) == 1
    # shuffled: each epoch the processes read disjoint halves of batches 0-19 (their own order), and both batch 20
    epochs = [(first["dp_shuffled"][e * 11:(e + 1) * 11], other["dp_shuffled"][e * 11:(e + 1) * 11]) for e in (0, 1)]
    assert len(first["dp_shuffled"]) == len(other["dp_shuffled"]) == 22
    for mine, theirs in epochs:
        assert sorted(np.concatenate([mine[:10], theirs[:10]]).tolist()) == list(range(20))
        assert mine[10] == theirs[10] == 20
    assert epochs[0][0][:10].tolist() != epochs[1][0][:10].tolist()  # a new order each epoch


def test_a_tf_data_dataset_over_two_processes_trains_as_one_device(tmp_path):
    """fit / evaluate on a tf.data Dataset over 2 processes: on tensorflow each worker is given only its rows of
    every batch (tf.distribute's auto-shard); other engines' processes read each batch and keep their rows."""
    pytest.importorskip("tensorflow")
    results, _ = _launch("tfdata", tmp_path, processes=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    rows = [int(np.load(os.path.join(tmp_path, f"result_{i}.npz"))["dp_reads"]) for i in (0, 1)]
    tf = mlfront.backend() == "tensorflow"  # fit and evaluate; a last batch of 1 row goes to one worker
    expected = [2 * 321, 2 * 320] if tf else [2 * 641, 2 * 641]
    assert rows == [n + 45 for n in expected]  # (and predict's 45 rows, which every process is given whole)


def test_processes_given_their_own_data_train_on_it_together(tmp_path):
    """DataParallel(auto_shard_dataset=False): each process fits its own samples; a step's global batch is both
    processes' batches, as one device's batch of twice the size; predict gathers both processes' predictions."""
    results, _ = _launch("local_data", tmp_path, processes=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)
    assert np.load(os.path.join(tmp_path, "result_0.npz"))["dp_predicted"].shape[0] == 90


@pytest.mark.skipif(B.one_process_per_device, reason="this engine runs one process per device")
@pytest.mark.parametrize("case", ["adam", "adam_tied", "bn", "short_last"])  # (adam: an uneven last batch)
def test_two_local_devices_train_as_one_device(tmp_path, case):
    results, _ = _launch(case, tmp_path, processes=1, devices=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=2)


def test_a_dead_process_stops_the_others_with_an_error(tmp_path):
    """Process 1 exits after 3 steps: process 0 fails with a clear error well before the timeout, never hangs."""
    results, seconds = _launch("die", tmp_path, processes=2, extra=["--no-reference"], timeout=240,
                               env={"MLFRONT_DISTRIBUTION_TIMEOUT": "30"})
    assert results[1][0] == 7
    code, output = results[0]
    assert code != 0, output[-2000:]
    assert "DataParallel" in output or "process" in output.lower(), output[-2000:]
    assert seconds < 150


def test_a_restarted_job_resumes_from_backup_and_restore(tmp_path):
    """A 2-process job stopped at the start of epoch 3 and started again ends as the uninterrupted job; only
    process 0 writes the backup, the checkpoint and the CSV log."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir(), resumed.mkdir()
    _assert_all_succeeded(_launch("backup", whole, extra=["--no-reference"])[0])
    stopped, _ = _launch("backup", resumed, extra=["--no-reference", "--interrupt-at", "2"])
    assert [code for code, _ in stopped] == [3, 3]
    assert os.path.isdir(resumed / "backup")
    _assert_all_succeeded(_launch("backup", resumed, extra=["--no-reference"])[0])
    expected, got = np.load(whole / "result_0.npz"), np.load(resumed / "result_0.npz")
    assert len(expected["dp_loss"]) == 4 and len(got["dp_loss"]) == 2  # the restarted job ran epochs 3 and 4 only
    np.testing.assert_allclose(got["dp_loss"], expected["dp_loss"][2:], atol=TOLERANCE, rtol=0)
    for key in (k for k in expected.files if k.startswith("dp_weight")):
        np.testing.assert_allclose(got[key], expected[key], atol=TOLERANCE, rtol=0, err_msg=key)
    with open(whole / "log.csv") as f:
        rows = f.read().strip().splitlines()
    assert len(rows) == 1 + 4, rows  # a header and 4 epochs, written once
    assert os.path.exists(whole / "best.weights.h5")


@pytest.mark.skipif("ModelParallel" not in B.distributions, reason="no sharded weights on this engine")
@pytest.mark.parametrize("case, replicas, shard, whole", [("model_parallel", 1, (8, 8), (8, 16)),
                                                           ("model_parallel_batch", 2, (8, 16), (8, 16)),
                                                           ("model_parallel_blocks", 1, (16, 8), (16, 16))])
def test_sharded_weights_train_as_one_device(tmp_path, case, replicas, shard, whole):
    """ModelParallel on a (1, 2) mesh: the hidden kernel lives in two halves; on a (2, 1) mesh the batch does.
    Either way training equals one device, also for attention, normalization, convolution and dropout."""
    if B.one_process_per_device:
        results, _ = _launch(case, tmp_path, processes=2)
    else:
        results, _ = _launch(case, tmp_path, processes=1, devices=2)
    _assert_all_succeeded(results)
    _assert_equal_to_one_device(tmp_path, replicas=replicas)
    result = np.load(os.path.join(tmp_path, "result_0.npz"))
    assert tuple(result["dp_shard_shape"]) == shard and tuple(result["one_shard_shape"]) == whole


@pytest.mark.skipif("ModelParallel" in B.distributions, reason="this engine shards weights")
def test_model_parallel_is_refused_clearly():
    layout_map = distribution.LayoutMap(distribution.DeviceMesh((1,), ["batch"], distribution.list_devices()[:1]))
    with pytest.raises(ValueError, match="ModelParallel is not supported on the .* backend"):
        distribution.set_distribution(distribution.ModelParallel(layout_map=layout_map))
    assert distribution.distribution() is None


def test_the_distributed_example_learns_over_two_processes(tmp_path):
    """examples/distributed_mnist.py launched as 2 processes (the job described by MLFRONT_DISTRIBUTION_*, as a
    launcher would): it learns, and process 0 alone prints and writes the checkpoint and the log."""
    pytest.importorskip("sklearn")
    script = os.path.join(os.path.dirname(WORKER), os.pardir, "examples", "distributed_mnist.py")
    addresses = ",".join(f"127.0.0.1:{port}" for port in _free_ports(2))
    running = []
    for index in range(2):
        env = dict(os.environ, MLFRONT_EXAMPLES_QUICK="1", MLFRONT_DISTRIBUTION_JOB_ADDRESSES=addresses,
                   MLFRONT_DISTRIBUTION_NUM_PROCESSES="2", MLFRONT_DISTRIBUTION_PROCESS_ID=str(index))
        running.append(subprocess.Popen([sys.executable, script, "--out", str(tmp_path)], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = [p.communicate(timeout=300) for p in running]
    for process, (stdout, stderr) in zip(running, outputs):
        assert process.returncode == 0, stderr[-3000:]
    chief, other = outputs[0][0], outputs[1][0]
    accuracy = float(chief.split("Test accuracy: ")[1].split()[0])
    assert accuracy > 0.5, chief
    assert "2 replicas over 2 process(es)" in chief
    assert "Epoch" not in other and "accuracy" not in other, other  # (the engine's own messages may be there)
    assert os.path.exists(tmp_path / "digits.keras") and len((tmp_path / "log.csv").read_text().splitlines()) == 3
