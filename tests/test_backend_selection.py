"""Backend selection, plug-in discovery, import isolation."""

import json
import os
import pathlib
import re
import subprocess
import sys
from importlib import metadata

import pytest

import mlfront
from mlfront import backend as registry

ENGINES = ("torch", "jax", "tensorflow")
REPO = pathlib.Path(__file__).resolve().parents[1]


def run_python(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if k != "MLFRONT_BACKEND"}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_active_backend_matches_environment():
    assert mlfront.backend() == os.environ.get("MLFRONT_BACKEND", registry.DEFAULT_BACKEND)


def test_builtin_backends_are_registered_as_entry_points():
    assert set(ENGINES) <= set(registry.registered_backends())


def test_unknown_backend_lists_registered_ones():
    result = run_python("import mlfront", MLFRONT_BACKEND="no_such_engine")
    assert result.returncode != 0
    assert "Unknown mlfront backend 'no_such_engine'" in result.stderr
    for name in ENGINES:
        assert name in result.stderr


def test_config_file_picks_backend_when_env_is_unset(tmp_path):
    (tmp_path / "mlfront.json").write_text(json.dumps({"backend": mlfront.backend()}))
    result = run_python("import mlfront; print(mlfront.backend())", MLFRONT_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == mlfront.backend()


def test_environment_variable_wins_over_config_file(tmp_path):
    (tmp_path / "mlfront.json").write_text(json.dumps({"backend": "no_such_engine"}))
    result = run_python("import mlfront; print(mlfront.backend())", MLFRONT_HOME=str(tmp_path),
                        MLFRONT_BACKEND=mlfront.backend())
    assert result.stdout.strip() == mlfront.backend(), result.stderr


def test_import_loads_only_the_chosen_engine_and_writes_no_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    report = "print(','.join(m for m in ('torch', 'jax', 'tensorflow') if m in sys.modules))"
    env = dict(MLFRONT_BACKEND=mlfront.backend(), HOME=str(home), MLFRONT_HOME=str(home / ".mlfront"))
    result = run_python(f"import sys, mlfront; {report}", **env)
    assert result.returncode == 0, result.stderr
    # The engine itself may pull in others (TensorFlow imports Keras 3, which imports JAX when it is installed);
    # mlfront must add none of its own.
    engine_module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}[mlfront.backend()]
    other_home = tmp_path / "other_home"
    engine_alone = run_python(f"import sys, {engine_module}; {report}", **dict(env, HOME=str(other_home)))
    assert mlfront.backend() in result.stdout.strip().split(",")
    assert result.stdout.strip() == engine_alone.stdout.strip()
    # Likewise for files: the engine's own import may write caches (TensorFlow -> Keras -> matplotlib's font
    # cache); importing mlfront writes nothing more.
    def written(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    assert written(home) == written(other_home)
    assert not (home / ".mlfront").exists()


def test_core_never_imports_an_engine():
    pattern = re.compile(r"^\s*(import|from)\s+(torch|jax|jaxlib|tensorflow|keras|optax)\b", re.M)
    offenders = [str(p) for p in (REPO / "mlfront").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


class _FakeEntryPoints:
    """Stands in for importlib.metadata.entry_points, adding one extra plug-in to the real ones."""

    def __init__(self, extra):
        self.extra = extra
        self.real = metadata.entry_points

    def __call__(self, group=None):
        return list(self.real(group=group)) + [self.extra]


def test_third_party_plugin_is_loaded_without_editing_mlfront(monkeypatch):
    active = type(registry.get())
    module = type(sys)("thirdparty_engine")
    module.Engine = type("Engine", (active,), {"name": "thirdparty"})
    monkeypatch.setitem(sys.modules, "thirdparty_engine", module)
    plugin = metadata.EntryPoint(name="thirdparty", value="thirdparty_engine:Engine", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", _FakeEntryPoints(plugin))
    assert "thirdparty" in registry.registered_backends()
    assert registry.load_backend("thirdparty").name == "thirdparty"


def test_registered_backend_without_engine_names_how_to_install(monkeypatch):
    plugin = metadata.EntryPoint(name="ghost", value="ghost_engine_not_installed:Engine",
                                 group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", _FakeEntryPoints(plugin))
    with pytest.raises(registry.BackendError, match="ghost.*could not be imported.*[Ii]nstall"):
        registry.load_backend("ghost")


def test_plugin_must_be_a_backend_subclass(monkeypatch):
    module = type(sys)("not_a_backend")
    module.Engine = object
    monkeypatch.setitem(sys.modules, "not_a_backend", module)
    plugin = metadata.EntryPoint(name="bad", value="not_a_backend:Engine", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", _FakeEntryPoints(plugin))
    with pytest.raises(registry.BackendError, match="subclass of mlfront.backend.Backend"):
        registry.load_backend("bad")
