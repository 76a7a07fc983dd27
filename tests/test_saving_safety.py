"""Hostile and broken HDF5 files are refused cleanly; saves are atomic, crash-safe and honour the umask."""

import errno
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.saving import atomic, safe_files

def make_model():
    return mlfront.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2)])


@pytest.fixture
def saved(tmp_path):
    """A valid weights file, and a fresh model (other weights) that must stay unchanged on a refused load."""
    path = tmp_path / "m.weights.h5"
    make_model().save_weights(path)
    return path, make_model()


def assert_unchanged(model, before):
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def assert_refused(model, path, match):
    before = model.get_weights()
    with pytest.raises(ValueError, match=match) as info:
        model.load_weights(path)
    assert str(path) in str(info.value)
    assert_unchanged(model, before)


def replace_kernel(path, make):
    """Rewrite the first layer's kernel (shape (4, 8)) in the weights file `path` with `make(vars_group, "0")`."""
    with h5py.File(path, "r+") as f:
        group = f["layers"][list(f["layers"])[0]]["vars"]
        del group["0"]
        make(group, "0")


# ---------------------------------------------------------------------------------------------- hostile files
def test_external_storage_is_refused(saved, tmp_path):
    path, model = saved
    secret = tmp_path / "outside" / "secret.bin"
    secret.parent.mkdir()
    secret.write_bytes(np.arange(32, dtype="float32").tobytes())  # exactly what a (4, 8) float32 kernel needs
    replace_kernel(path, lambda g, n: g.create_dataset(n, shape=(4, 8), dtype="float32",
                                                      external=[(str(secret), 0, 128)]))
    assert_refused(model, path, r"external file.*secret\.bin")


def test_external_link_is_refused(saved, tmp_path):
    path, model = saved
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.ones((4, 8), "float32")
    replace_kernel(path, lambda g, n: g.__setitem__(n, h5py.ExternalLink(str(other), "/data")))
    assert_refused(model, path, r"external link.*other\.h5")


def test_soft_link_leaving_the_file_is_refused(saved):
    path, model = saved
    replace_kernel(path, lambda g, n: g.__setitem__(n, h5py.SoftLink("/nowhere")))
    assert_refused(model, path, r"soft link to '/nowhere'.*not an object stored in this file")


def test_soft_link_through_an_external_link_is_refused(saved, tmp_path):
    path, model = saved
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.ones((4, 8), "float32")
    with h5py.File(path, "r+") as f:
        f["elsewhere"] = h5py.ExternalLink(str(other), "/")
    replace_kernel(path, lambda g, n: g.__setitem__(n, h5py.SoftLink("/elsewhere/data")))
    assert_refused(model, path, r"external link")


def test_soft_link_inside_the_file_is_followed(saved, rng):
    path, model = saved
    kernel = rng.normal(size=(4, 8)).astype("float32")
    with h5py.File(path, "r+") as f:
        f["stash/kernel"] = kernel
    replace_kernel(path, lambda g, n: g.__setitem__(n, h5py.SoftLink("/stash/kernel")))
    model.load_weights(path)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel)


def test_virtual_dataset_is_refused(saved, tmp_path):
    path, model = saved
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["data"] = np.ones((4, 8), "float32")
    layout = h5py.VirtualLayout(shape=(4, 8), dtype="float32")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=(4, 8))
    replace_kernel(path, lambda g, n: g.create_virtual_dataset(n, layout))
    assert_refused(model, path, r"virtual dataset")


@pytest.mark.parametrize("kind", ["chunked", "contiguous-fillvalue"])
def test_huge_declared_shape_is_refused_before_reading(saved, kind):
    path, model = saved
    def huge(group, name):
        if kind == "chunked":  # no chunk written: 4 TB of fill value on reading
            group.create_dataset(name, shape=(10 ** 6, 10 ** 6), dtype="float32", chunks=(64, 64))
        else:  # storage allocated late, never written
            group.create_dataset(name, shape=(10 ** 12,), dtype="float32", fillvalue=1.0)
    replace_kernel(path, huge)
    assert os.path.getsize(path) < 100_000
    start = time.perf_counter()
    assert_refused(model, path, r"declares shape .* more than a \d+-byte file can hold")
    assert time.perf_counter() - start < 2.0


def test_shape_of_target_is_checked_before_reading(saved):
    path, model = saved
    replace_kernel(path, lambda g, n: g.create_dataset(n, data=np.zeros((8, 4), "float32")))
    assert_refused(model, path, r"kernel.*shape \(4, 8\).*file holds shape \(8, 4\)")


@pytest.mark.parametrize("dtype", [np.dtype([("a", "f4"), ("b", "f4")]), h5py.vlen_dtype("float32"),
                                   h5py.string_dtype(), np.dtype("S4"), np.dtype("complex64"), np.dtype("int32")])
def test_non_numeric_or_wrong_kind_dtype_is_refused(saved, dtype):
    path, model = saved
    replace_kernel(path, lambda g, n: g.create_dataset(n, shape=(4, 8), dtype=dtype))
    assert_refused(model, path, r"kernel.*has dtype .*but a floating-point array of float32 is expected")


def test_float64_file_values_are_converted(saved, rng):
    path, model = saved
    kernel = rng.normal(size=(4, 8))
    replace_kernel(path, lambda g, n: g.create_dataset(n, data=kernel))
    model.load_weights(path)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel.astype("float32"))


def test_truncated_files_are_refused(saved, tmp_path):
    path, model = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.weights.h5"
    for length in [0, 4, 100, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1]:
        cut.write_bytes(data[:length])
        assert_refused(model, cut, r"not an HDF5 file|truncated or corrupt")


def test_random_bytes_and_garbage_after_the_signature_are_refused(tmp_path, rng):
    model = make_model()
    noise = tmp_path / "noise.weights.h5"
    noise.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_refused(model, noise, r"not an HDF5 file \(no HDF5 signature")
    noise.write_bytes(b"\x89HDF\r\n\x1a\n" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_refused(model, noise, r"cannot be opened as HDF5")


def test_corrupted_bytes_give_a_clear_error_or_a_valid_load(saved, tmp_path, rng):
    """Overwriting random metadata bytes: either HDF5 notices and a ValueError names the file, or the bytes were
    unused; never an h5py exception or a crash."""
    path, model = saved
    data = path.read_bytes()
    broken = tmp_path / "broken.weights.h5"
    refused = 0
    for _ in range(30):
        corrupt = bytearray(data)
        start = int(rng.integers(8, 2048))
        corrupt[start:start + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        broken.write_bytes(bytes(corrupt))
        try:
            make_model().load_weights(broken)
        except ValueError as error:
            assert str(broken) in str(error)
            refused += 1
    assert refused > 0


def test_hdf5_files_of_other_layouts_are_refused(tmp_path):
    model = make_model()
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["dense/kernel"] = np.zeros((4, 8), "float32")
    assert_refused(model, path, r"is not a Keras 3 weights file: it has no root 'vars' group")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = 3
    assert_refused(model, path, r"attribute 'format' of '/' should be a string, got")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "mlfront.weights"
    assert_refused(model, path, r"format='mlfront.weights': it was written in the layout of an older mlfront")
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f["layers/dense/vars/zero"] = np.zeros((4, 8), "float32")
    assert_refused(model, path, r"dataset 'layers/dense/vars/zero' is not a variable of a 'vars' group")


def test_walk_reaches_deep_links_and_survives_hard_link_cycles(tmp_path):
    path = tmp_path / "deep.h5"
    with h5py.File(path, "w") as f:
        f["a/b/c/values"] = np.zeros(3)
        f["a/b/c/loop"] = f["a"]  # a hard link back up: a cycle
    with safe_files.open_hdf5(path, "test") as f:
        assert safe_files.read_array(f["a/b/c/values"], (3,), "float32", path, "test", "values").dtype == "float32"
    with h5py.File(path, "r+") as f:
        f["a/b/c/away"] = h5py.ExternalLink("/etc/passwd", "/")
    with pytest.raises(safe_files.UnsafeFileError, match=r"test: .*deep\.h5 refused: '/a/b/c/away' is an external"):
        with safe_files.open_hdf5(path, "test"):
            pass


def test_a_folder_is_not_a_weights_file(tmp_path):
    with pytest.raises(ValueError, match=r"is not a regular file"):
        make_model().load_weights(tmp_path)


def test_all_values_are_checked_before_any_assignment(saved):
    """A problem in the last weight leaves the first ones unassigned too."""
    path, model = saved
    with h5py.File(path, "r+") as f:
        group = f["layers"][list(f["layers"])[1]]["vars"]
        del group["1"]
        group.create_dataset("1", shape=(2,), dtype="S8")
    assert_refused(model, path, r"has dtype")


# ---------------------------------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_file_mode_follows_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        make_model().save_weights(tmp_path / "m.weights.h5")
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / "m.weights.h5").st_mode & 0o777 == mode


def test_save_is_durable_through_fsync_and_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else None))
        return real_fsync(fd)

    def replace(source, target):
        calls.append(("replace", os.path.basename(source)))
        return real_replace(source, target)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    make_model().save_weights(tmp_path / "m.weights.h5")
    monkeypatch.undo()
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"]
    assert calls[1][1].startswith(".m.weights.h5.mlfront-tmp-")
    if calls[0][1] is not None:
        assert calls[0][1] is False and calls[2][1] is True  # the file first, then its folder


def _folder_is_really_read_only(folder):
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return True
    (folder / "probe").unlink()
    return False


def test_read_only_folder_raises_oserror_and_keeps_the_old_file(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "m.weights.h5"
    make_model().save_weights(path)
    original = path.read_bytes()
    folder.chmod(0o555)
    try:
        if not _folder_is_really_read_only(folder):  # root ignores the mode: make the folder refuse writes
            real_open = os.open

            def read_only_open(name, flags, *args, **kwargs):
                if os.path.dirname(os.path.abspath(name)) == str(folder) and flags & (os.O_WRONLY | os.O_RDWR):
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), name)
                return real_open(name, flags, *args, **kwargs)
            monkeypatch.setattr(os, "open", read_only_open)
        with pytest.raises(OSError, match=r"save_weights: could not write .*m\.weights\.h5") as info:
            make_model().save_weights(path)
        assert info.value.errno in (errno.EACCES, errno.EROFS, errno.EPERM)
        monkeypatch.undo()
    finally:
        folder.chmod(0o755)
    assert path.read_bytes() == original
    assert sorted(p.name for p in folder.iterdir()) == ["m.weights.h5"]


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_full_disk_raises_oserror_and_keeps_the_old_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "m.weights.h5"
    make_model().save_weights(path)
    original = path.read_bytes()
    real = getattr(os, failing)
    state = {"calls": 0}

    def full_disk(fd, *args):
        state["calls"] += 1
        if failing == "write" and state["calls"] == 1:
            return real(fd, args[0][:100])  # a short write first: the rest must still be attempted
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, failing, full_disk)
    with pytest.raises(OSError, match=r"save_weights: could not write .*m\.weights\.h5: No space left") as info:
        make_model().save_weights(path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert state["calls"] >= (2 if failing == "write" else 1)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.weights.h5"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.weights.h5.mlfront-tmp-{dead.pid}-0a1b2c3d"
    alive = tmp_path / f".m.weights.h5.mlfront-tmp-{os.getppid()}-0a1b2c3d"
    other_target = tmp_path / f".n.weights.h5.mlfront-tmp-{dead.pid}-0a1b2c3d"
    for temporary in (stale, alive, other_target):
        temporary.write_bytes(b"partial")
    make_model().save_weights(tmp_path / "m.weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other_target.name, "m.weights.h5"])
    assert atomic.remove_stale_temporaries(tmp_path / "n.weights.h5") == [str(other_target)]


def test_atomic_write_errors_name_the_path(tmp_path):
    with pytest.raises(OSError, match=r"could not write .*missing.*m\.bin") as info:
        atomic.atomic_write(tmp_path / "missing" / "m.bin", b"x", caller="test")
    assert info.value.errno == errno.ENOENT
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError, match=r"test: could not write .*folder"):
        atomic.atomic_write(tmp_path / "folder", b"x", caller="test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_backup_and_restore_writes_atomically_with_the_umask_mode(tmp_path, rng):
    model = make_model()
    model.compile(optimizer="adam", loss="mse")
    backup = tmp_path / "backup"
    previous = os.umask(0o022)
    try:
        model.fit(rng.normal(size=(8, 4)), rng.normal(size=(8, 2)), epochs=2, batch_size=4, verbose=0,
                  callbacks=[mlfront.callbacks.BackupAndRestore(backup, double_checkpoint=True,
                                                                delete_checkpoint=False)])
    finally:
        os.umask(previous)
    files = sorted(p.relative_to(backup).as_posix() for p in backup.rglob("*") if p.is_file())
    assert files == sorted(["latest"] + [f"backup-00000{i}/{name}" for i in (1, 2) for name in (
        "model.weights.h5", "optimizer.npz", "training_metadata.json")])
    assert {os.stat(backup / name).st_mode & 0o777 for name in files} == {0o644}


# ---------------------------------------------------------------------------------------------- SIGKILL
# A fork server: builds the model once, then each "fork" starts a process that saves two alternating weight
# sets over the same file as fast as it can, until the test SIGKILLs it ("reap" collects it). The saving
# processes use only NumPy, h5py and the file system, never the engine, so forking is safe.
SAVER = textwrap.dedent("""
    import os, sys
    import mlfront
    from mlfront import layers
    from mlfront.saving import weights_h5
    mlfront.utils.set_random_seed(7)
    model = mlfront.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2)])
    first = weights_h5.collect_weights(model)
    second = [(c, n, [(p, a + 1) for p, a in v]) for c, n, v in first]
    weights_h5.save_weights(model, sys.argv[1])
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "fork":
            pid = os.fork()
            if pid == 0:
                try:
                    while True:
                        weights_h5.write_weights(sys.argv[1], first)
                        weights_h5.write_weights(sys.argv[1], second)
                finally:
                    os._exit(1)
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1, flush=True)
""")


def _reply(server, timeout=60):
    ready, _, _ = select.select([server.stdout], [], [], timeout)
    assert ready, "the saving subprocess did not answer"
    return server.stdout.readline().strip()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_no_file_is_lost_when_a_save_is_killed(tmp_path, rng):
    path = tmp_path / "m.weights.h5"
    server = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert _reply(server) == "ready"
        model = make_model()
        model.load_weights(path)
        first = model.get_weights()
        second = [w + 1 for w in first]
        versions_seen, kills_mid_write = set(), 0
        for _ in range(30):
            server.stdin.write("fork\n")
            server.stdin.flush()
            pid = int(_reply(server))
            time.sleep(float(rng.uniform(0.001, 0.06)))
            os.kill(pid, signal.SIGKILL)
            server.stdin.write(f"reap {pid}\n")
            server.stdin.flush()
            assert int(_reply(server)) == signal.SIGKILL
            kills_mid_write += any(p.name.startswith(".m.weights.h5.mlfront-tmp-") for p in tmp_path.iterdir())
            model.load_weights(path)  # the surviving file is always complete
            loaded = model.get_weights()
            matches = [all(np.array_equal(a, b) for a, b in zip(loaded, version)) for version in (first, second)]
            assert any(matches)
            versions_seen.add(matches.index(True))
        assert kills_mid_write > 0, "no kill landed during a write; the test did not exercise anything"
        assert versions_seen == {0, 1}
    finally:
        server.kill()
        server.wait()
    make_model().save_weights(path)  # the next save removes what killed saves left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.weights.h5"]
