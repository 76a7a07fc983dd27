"""Choosing and loading the engine adapter.

The engine is picked, in order, by the `MLFRONT_BACKEND` environment variable, by the `"backend"` key of
`$MLFRONT_HOME/mlfront.json` (default `~/.mlfront/mlfront.json`), or else by `DEFAULT_BACKEND`.
Adapters are found through the `mlfront.backends` entry-point group, so a third-party package adds an
engine by declaring one entry point; mlfront itself is never edited. Only the chosen adapter is imported.
"""

import json
import os
import sys
import types
from importlib import metadata

from mlfront.backend.base import Backend

ENTRY_POINT_GROUP = "mlfront.backends"
DEFAULT_BACKEND = "torch"
_active = None


class BackendError(ImportError):
    """The requested backend is unknown or its engine is not installed."""


def registered_backends():
    """Names of the backends registered through the `mlfront.backends` entry-point group."""
    return sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})


def home_dir():
    """mlfront's own folder (config file, dataset cache): `$MLFRONT_HOME`, else `~/.mlfront`."""
    return os.environ.get("MLFRONT_HOME") or os.path.join(os.path.expanduser("~"), ".mlfront")


def requested_backend_name():
    """The backend name the environment asks for (env variable, then config file, then default)."""
    name = os.environ.get("MLFRONT_BACKEND")
    if name:
        return name.strip().lower()
    config_path = os.path.join(home_dir(), "mlfront.json")
    if os.path.exists(config_path):
        with open(config_path) as f:
            try:
                config = json.load(f)
            except json.JSONDecodeError as err:
                raise BackendError(f"mlfront config file {config_path} is not valid JSON: {err}") from None
        if config.get("backend"):
            return str(config["backend"]).strip().lower()
    return DEFAULT_BACKEND


def load_backend(name):
    """Import the adapter registered under `name` and return an instance of it."""
    entry_points = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if name not in entry_points:
        raise BackendError(
            f"Unknown mlfront backend {name!r}. Registered backends: {', '.join(sorted(entry_points)) or 'none'} "
            f"(set MLFRONT_BACKEND to one of them, or install a package that registers {name!r} in the "
            f"{ENTRY_POINT_GROUP!r} entry-point group).")
    try:
        backend_class = entry_points[name].load()
    except ImportError as err:
        dist = entry_points[name].dist
        extra = f"pip install '{dist.name}[{name}]'" if dist is not None else f"install the engine for {name!r}"
        raise BackendError(
            f"mlfront backend {name!r} is registered but its engine could not be imported ({err}). "
            f"Install it with: {extra}") from err
    if not (isinstance(backend_class, type) and issubclass(backend_class, Backend)):
        raise BackendError(f"Entry point {name!r} must name a subclass of mlfront.backend.Backend, "
                           f"got {backend_class!r}.")
    return backend_class()


def get():
    """The active Backend object, loaded on first use."""
    global _active
    if _active is None:
        _active = load_backend(requested_backend_name())
    return _active


class _CallableModule(types.ModuleType):
    """Lets `mlfront.backend()` return the active backend's name while `mlfront.backend` stays this module."""

    def __call__(self):
        return get().name


sys.modules[__name__].__class__ = _CallableModule

# Keras 2's backend functions: `import mlfront.backend as K; K.mean(x, axis=-1)`.
from mlfront.backend.keras2_functions import *  # noqa: E402,F401,F403
from mlfront.backend.keras2_functions import __all__ as keras2_function_names  # noqa: E402
