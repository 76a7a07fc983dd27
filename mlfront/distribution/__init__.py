"""Distributed training with Keras 3's `keras.distribution` names, on each engine's own runtime.

    mlfront.distribution.initialize()            # multi-process jobs: reads torchrun's / JAX's / TF_CONFIG env
    mlfront.distribution.set_distribution(mlfront.distribution.DataParallel())
    model.fit(x, y, batch_size=64)                # the same script on one device, several, or several machines

The engine's runtime does the work: torch.distributed (one process per device, gloo on CPU, nccl on CUDA),
a jax `Mesh` with `NamedSharding` inside the one jitted step, `tf.distribute.MirroredStrategy` /
`MultiWorkerMirroredStrategy`. The core only decides what is split (the batch; with `ModelParallel` also the
weights) and, where the engine runs the step once per replica, how the replicas' results are combined (see
`mlfront.distribution.replicas`).

`MLFRONT_NUM_CPU_DEVICES=N`, read by the jax and tensorflow adapters at start-up, gives N CPU devices, so that
multi-device code can be tried on a laptop.
"""

import collections.abc
import os
import re

import numpy as np

from mlfront import backend as _backend

__all__ = ["list_devices", "initialize", "DeviceMesh", "TensorLayout", "LayoutMap", "DataParallel", "ModelParallel",
           "set_distribution", "distribution", "process_index", "process_count", "is_chief"]

_active = [None]  # the distribution set by set_distribution
_JOB_VARIABLES = ("MLFRONT_DISTRIBUTION_JOB_ADDRESSES", "MLFRONT_DISTRIBUTION_NUM_PROCESSES",
                  "MLFRONT_DISTRIBUTION_PROCESS_ID")


def list_devices(device_type=None):
    """The devices of the job ("cpu:0", "gpu:1", ...), of `device_type` ("cpu", "gpu") or the engine's default.

    On torch a multi-process job has one device per process (the process group's), as torchrun arranges."""
    if device_type is not None and device_type not in ("cpu", "gpu", "cuda", "tpu"):
        raise ValueError(f"list_devices: `device_type` must be None, 'cpu', 'gpu' or 'tpu', got {device_type!r}.")
    return list(_backend.get().list_devices("gpu" if device_type == "cuda" else device_type))


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Join a multi-process job (call it first in the script, on every process).

    Arguments left None are read from the environment, in this order: `MLFRONT_DISTRIBUTION_JOB_ADDRESSES` /
    `_NUM_PROCESSES` / `_PROCESS_ID` (Keras 3's `KERAS_DISTRIBUTION_*` too); torchrun's `MASTER_ADDR` +
    `MASTER_PORT`, `WORLD_SIZE`, `RANK`; JAX's `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`;
    TensorFlow's `TF_CONFIG` (its cluster's workers and task index).

    Args:
        job_addresses: "host:port" of the coordinator (process 0), or a comma-separated list of every process's
            address (TF_CONFIG's worker list); the engines that need one address take the first.
        num_processes: how many processes the job has.
        process_id: this process's index, 0 ... num_processes - 1.
    """
    found = _job_from_environment()
    job_addresses = job_addresses if job_addresses is not None else found[0]
    num_processes = num_processes if num_processes is not None else found[1]
    process_id = process_id if process_id is not None else found[2]
    if num_processes is None or process_id is None or job_addresses is None:
        raise ValueError(f"initialize: the job is not described: got job_addresses={job_addresses!r}, "
                         f"num_processes={num_processes!r}, process_id={process_id!r}. Pass them, or launch with "
                         f"torchrun, set JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID, TF_CONFIG, "
                         f"or {', '.join(_JOB_VARIABLES)}.")
    num_processes, process_id = _as_count("num_processes", num_processes, 1), _as_count("process_id", process_id, 0)
    if process_id >= num_processes:
        raise ValueError(f"initialize: `process_id` must be below `num_processes` ({num_processes}), got {process_id}.")
    addresses = [a.strip() for a in str(job_addresses).split(",") if a.strip()]
    for address in addresses:
        if not re.fullmatch(r"[\w.\-\[\]:]+:\d+", address):
            raise ValueError(f"initialize: each job address must be 'host:port', got {address!r}.")
    if len(addresses) not in (1, num_processes):
        raise ValueError(f"initialize: `job_addresses` must hold the coordinator's address or one per process "
                         f"({num_processes}), got {len(addresses)}: {job_addresses!r}.")
    _backend.get().initialize_distributed(addresses, num_processes, process_id)


def _job_from_environment():
    env = os.environ
    for prefix in ("MLFRONT_DISTRIBUTION_", "KERAS_DISTRIBUTION_"):
        if env.get(prefix + "NUM_PROCESSES"):
            return env.get(prefix + "JOB_ADDRESSES"), env[prefix + "NUM_PROCESSES"], env.get(prefix + "PROCESS_ID")
    if env.get("WORLD_SIZE") and env.get("RANK"):  # torchrun
        address = f"{env.get('MASTER_ADDR', '127.0.0.1')}:{env.get('MASTER_PORT', '29500')}"
        return address, env["WORLD_SIZE"], env["RANK"]
    if env.get("JAX_COORDINATOR_ADDRESS"):
        return env["JAX_COORDINATOR_ADDRESS"], env.get("JAX_NUM_PROCESSES"), env.get("JAX_PROCESS_ID")
    if env.get("TF_CONFIG"):
        import json
        try:
            config = json.loads(env["TF_CONFIG"])
            workers, task = config["cluster"]["worker"], config["task"]
            return ",".join(workers), len(workers), int(task["index"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"initialize: TF_CONFIG is not a TensorFlow cluster description with "
                             f"cluster.worker and task.index: {err}") from None
    return None, None, None


def _as_count(name, value, minimum):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"initialize: `{name}` must be an integer >= {minimum}, got {value!r}.") from None
    if isinstance(value, bool) or number < minimum or (isinstance(value, float) and value != number):
        raise ValueError(f"initialize: `{name}` must be an integer >= {minimum}, got {value!r}.")
    return number


def positive_setting(name, default, unit):
    """The positive number in environment variable `name` (`default` when it is unset), else a clear error."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ValueError(f"{name} must be a positive number of {unit}, got {value!r}.")
    return number


def timeout_seconds():
    """How long a collective waits for the other processes before it fails: `MLFRONT_DISTRIBUTION_TIMEOUT`
    seconds (default 300). The adapters give it to their engine (torch's process-group timeout, jax's
    heartbeat timeout, tf.distribute's collective timeout)."""
    return positive_setting("MLFRONT_DISTRIBUTION_TIMEOUT", 300.0, "seconds")


def process_index():
    """This process's index in the job (0 when there is one process)."""
    return _backend.get().process_index()


def process_count():
    """How many processes the job has."""
    return _backend.get().process_count()


def is_chief():
    """Whether this process writes the files of the job (checkpoints, logs, progress): process 0."""
    return process_index() == 0


class DeviceMesh:
    """Devices laid out on named axes, e.g. `DeviceMesh((2, 4), ["batch", "model"])`.

    Args:
        shape: the mesh shape; its product is the number of devices.
        axis_names: one name per mesh axis.
        devices: the device names (`list_devices()` by default), as many as the mesh has places.
    """

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(int(n) for n in shape)
        axis_names = [str(name) for name in axis_names]
        if not shape or any(n < 1 for n in shape):
            raise ValueError(f"DeviceMesh: `shape` must be a non-empty tuple of positive ints, got {shape}.")
        if len(axis_names) != len(shape) or len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: `axis_names` must be {len(shape)} distinct names (one per axis of "
                             f"shape {shape}), got {axis_names}.")
        devices = list_devices() if devices is None else [str(d) for d in np.ravel(np.asarray(devices, object))]
        if len(devices) != int(np.prod(shape)):
            raise ValueError(f"DeviceMesh: shape {shape} needs {int(np.prod(shape))} devices, got {len(devices)}: "
                             f"{devices}.")
        self.shape, self.axis_names = shape, axis_names
        self.devices = np.asarray(devices, dtype=object).reshape(shape)

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape} axis_names={self.axis_names}>"


class TensorLayout:
    """How an array is split over a mesh: one mesh axis name (or None: not split) per array axis."""

    def __init__(self, axes, device_mesh=None):
        self.axes = tuple(None if a is None else str(a) for a in axes)
        self.device_mesh = device_mesh

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}>"


class LayoutMap(collections.abc.MutableMapping):
    """Regexes over variable paths ("dense.*kernel") to layouts (a TensorLayout, or a tuple of mesh axis names).

    A variable takes the layout of the one key that `re.search`es its path; none: replicated. Optimizer slots
    take the layout of their variable.
    """

    def __init__(self, device_mesh):
        if not isinstance(device_mesh, DeviceMesh):
            raise ValueError(f"LayoutMap: `device_mesh` must be a DeviceMesh, got {type(device_mesh).__name__}.")
        self.device_mesh = device_mesh
        self._layouts = {}

    def __setitem__(self, key, layout):
        if not isinstance(layout, TensorLayout):
            if not isinstance(layout, (tuple, list)):
                raise ValueError(f"LayoutMap[{key!r}]: a layout is a TensorLayout or a tuple of mesh axis names, got "
                                 f"{layout!r}.")
            layout = TensorLayout(layout)
        unknown = [a for a in layout.axes if a is not None and a not in self.device_mesh.axis_names]
        if unknown:
            raise ValueError(f"LayoutMap[{key!r}]: axes {unknown} are not axes of the mesh "
                             f"{self.device_mesh.axis_names}.")
        re.compile(key)
        layout.device_mesh = self.device_mesh
        self._layouts[key] = layout

    def __getitem__(self, path):
        if path in self._layouts:
            return self._layouts[path]
        matches = [key for key in self._layouts if re.search(key, path)]
        if len(matches) > 1:
            raise ValueError(f"LayoutMap: the path {path!r} matches several keys {matches}; make them exclusive.")
        return self._layouts[matches[0]] if matches else None

    def __delitem__(self, key):
        del self._layouts[key]

    def __iter__(self):
        return iter(self._layouts)

    def __len__(self):
        return len(self._layouts)


class Distribution:
    """Base of DataParallel and ModelParallel: a mesh and the name of its batch axis."""

    def __init__(self, device_mesh, batch_dim_name, auto_shard_dataset):
        if not isinstance(auto_shard_dataset, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}: `auto_shard_dataset` must be True or False, got "
                             f"{auto_shard_dataset!r}.")
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self._runtime = None

    def get_variable_layout(self, variable):
        """The layout of `variable` (a Variable); None: replicated."""
        return None

    def runtime(self):
        """The engine's runtime for this distribution (made on first use)."""
        if self._runtime is None:
            self._runtime = _backend.get().distributed_runtime(self)
            self._runtime.shards_inputs = self.auto_shard_dataset
        return self._runtime

    @property
    def num_replicas(self):
        """How many copies of the batch axis the mesh has: the data-parallel width."""
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]


class DataParallel(Distribution):
    """Every device holds the whole model; each global batch is split over the devices.

    Args:
        device_mesh: a 1-D DeviceMesh (default: all of `devices` on one axis named "batch").
        devices: the devices to use (default: `list_devices()`).
        auto_shard_dataset: True: every process is given the whole job's data and reads its share (arrays and
            each batch of a generator or tf.data split by rows, a torch DataLoader through a DistributedSampler,
            a PyDataset's batches shared out by index). False: each process is given its own part of the data
            (e.g. its own files), every input is read whole, and a step's global batch is every process's batch
            together; `predict` then returns every process's predictions, batch by batch in process order.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is None:
            devices = list_devices() if devices is None else list(devices)
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        elif devices is not None:
            raise ValueError("DataParallel: pass `device_mesh` or `devices`, not both.")
        if len(device_mesh.shape) != 1:
            raise ValueError(f"DataParallel: `device_mesh` must be 1-D, got shape {device_mesh.shape}; use "
                             f"ModelParallel for several axes.")
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    def __repr__(self):
        return f"<DataParallel replicas={self.num_replicas}>"


class ModelParallel(Distribution):
    """Weights (and their optimizer slots) split over mesh axes by a LayoutMap; the batch split on one axis.

    Args:
        layout_map: a LayoutMap; its mesh is the distribution's.
        batch_dim_name: the mesh axis the batch is split on (default: the mesh's first axis).
        auto_shard_dataset: as for DataParallel.
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True, device_mesh=None):
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"ModelParallel: `layout_map` must be a LayoutMap, got {type(layout_map).__name__}.")
        if device_mesh is not None and device_mesh is not layout_map.device_mesh:
            raise ValueError("ModelParallel: `device_mesh` must be the layout map's mesh (or left out).")
        mesh = layout_map.device_mesh
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(f"ModelParallel: `batch_dim_name` {batch_dim_name!r} is not an axis of the mesh "
                             f"{mesh.axis_names}.")
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self.layout_map = layout_map

    def get_variable_layout(self, variable):
        layout = self.layout_map[getattr(variable, "reference_path", None) or variable.path]
        if layout is not None and len(layout.axes) != len(variable.shape):
            raise ValueError(f"ModelParallel: the layout {layout.axes} for {variable.path!r} has {len(layout.axes)} "
                             f"axes; the variable has shape {variable.shape}.")
        if layout is not None:
            named = [a for a in layout.axes if a is not None]
            if len(set(named)) != len(named):
                raise ValueError(f"ModelParallel: the layout {layout.axes} for {variable.path!r} splits two axes "
                                 f"over the same mesh axis.")
            sizes = dict(zip(self.device_mesh.axis_names, self.device_mesh.shape))
            for size, axis in zip(variable.shape, layout.axes):
                if axis is not None and size % sizes[axis]:
                    raise ValueError(f"ModelParallel: {variable.path!r} (shape {variable.shape}) cannot be split "
                                     f"over mesh axis {axis!r} of size {sizes[axis]}: {size} is not a multiple "
                                     f"of it.")
        return layout

    def __repr__(self):
        return f"<ModelParallel mesh={self.device_mesh.shape} batch_dim_name={self.batch_dim_name!r}>"


def set_distribution(value):
    """Make `value` (a DataParallel / ModelParallel, or None for one device) the distribution of what follows:
    models compiled steps of `fit` / `evaluate` / `predict` made after this call use it."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution: expected a DataParallel, a ModelParallel or None, got "
                         f"{type(value).__name__}.")
    if value is not None:
        value.runtime()  # an engine that cannot run it says so now
    _active[0] = value


def distribution():
    """The distribution set by `set_distribution` (None: one device)."""
    return _active[0]


def active_runtime():
    """The engine runtime of the active distribution, or None without one (used by the training core)."""
    return _active[0].runtime() if _active[0] is not None else None
