"""Keras's legacy HDF5 formats (Keras 2 / tf.keras): whole models (`model.save("m.h5")`) and weights-only
files (`model.save_weights("w.h5")`).

Layout of a whole-model file, as tf.keras writes it:

- root attributes `keras_version`, `backend`, `model_config` (JSON: `{"class_name": "Sequential" |
  "Functional" | "Model", "config": {...}}` in Keras 2's form: a Functional's `inbound_nodes` as nested
  lists `[[["dense", 0, 0, {}]]]`, `input_layers` / `output_layers` as `[name, node, tensor]` triples)
  and, for a compiled model, `training_config` (JSON: `loss`, `metrics`, `weighted_metrics`,
  `loss_weights`, `optimizer_config`);
- group `model_weights`: attributes `layer_names` (every top-level layer), `backend`, `keras_version`;
  one group per layer with attribute `weight_names` (e.g. `dense/kernel:0`, `lstm/lstm_cell/kernel:0`)
  and the datasets at those paths, in Keras 2's per-layer order (trainable weights, then the others);
- group `optimizer_weights` (attribute `weight_names`) when the optimizer's state is included.

A weights-only file is the `model_weights` group at the root. A string-list attribute too large for one
HDF5 attribute is split into `name0`, `name1`, ... as tf.keras does.

Saving builds the whole image in memory and writes it with `atomic.atomic_write`. Loading opens the file
through `safe_files` (links never followed, external / virtual data refused, sizes checked), parses the
JSON with `json` only, builds the model through the serialization registry (so `safe_mode` refuses a
Lambda's bytecode as for `.keras`), reads and checks every value, and only then assigns.
"""

import io
import json
import os
import warnings

import h5py
import numpy as np

from mlfront import backend as _backend
from mlfront.saving import atomic, keras2_config, safe_files
from mlfront.saving.serialization import deserialize_keras_object, expect_instance

_MAX_JSON_CHARS = 64 << 20
_MAX_NAMES = 1 << 20
_ATTRIBUTE_LIMIT = 64000  # HDF5 object headers hold at most 64 KiB of attributes
_TOP_LEVEL = "top_level_model_weights"
_RECURRENT_CELLS = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}
# Keras 2 optimizer slot names -> the attribute holding mlfront's slots of that kind
_KERAS2_SLOTS = {"m": "momentums", "v": "velocities", "vhat": "velocity_hats", "momentum": "momentums",
                 "velocity": "velocities", "average_gradient": "average_gradients", "accumulator": "accumulators",
                 "accumulated_grad": "accumulated_grads", "accumulated_delta_var": "accumulated_delta_vars",
                 "u": "norms"}


def is_legacy_weights_file(handle):
    """Whether the open HDF5 file `handle` is a Keras 2 whole-model or weights-only file."""
    return "layer_names" in handle.attrs or "layer_names0" in handle.attrs or "model_weights" in handle


# ---------------------------------------------------------------------- Keras 2's weight order
def keras2_layer_weights(layer):
    """The variables of `layer` in Keras 2's order: `trainable_weights + non_trainable_weights`, where a
    layer's own variables come before its sublayers' and a frozen layer's weights all count as
    non-trainable (a model, having no variables of its own, lists its layers' in order)."""
    found, seen = [], set()
    for variable in _trainable(layer) + _non_trainable(layer):
        if id(variable) not in seen:
            seen.add(id(variable))
            found.append(variable)
    return found


def _trainable(layer):
    if not layer.trainable:
        return []
    own = [v for v in layer._variables if v.trainable]
    return own + [v for sub in layer._sublayers() for v in _trainable(sub)]


def _non_trainable(layer):
    if layer.trainable:
        own = [v for v in layer._variables if not v.trainable]
        return own + [v for sub in layer._sublayers() for v in _non_trainable(sub)]
    return list(layer._variables) + [v for sub in layer._sublayers() for v in keras2_layer_weights(sub)]


def _weight_names(layer, variables):
    """tf.keras-style names (`dense/kernel:0`, `lstm/lstm_cell/kernel:0`), unique within the layer."""
    owners = {}

    def visit(owner):
        for v in owner._variables:
            owners.setdefault(id(v), owner)
        for sub in owner._sublayers():
            visit(sub)
    visit(layer)
    names = []
    for variable in variables:
        owner = owners[id(variable)]
        leaf = variable.path.rsplit("/", 1)[-1]
        nested_model = hasattr(layer, "_compile_args") or type(layer).__name__ in ("Sequential", "Functional")
        prefix = owner.name if owner is layer or nested_model else f"{layer.name}/{owner.name}"
        cell = _RECURRENT_CELLS.get(type(owner).__name__)
        name = f"{prefix}/{cell}/{leaf}" if cell else f"{prefix}/{leaf}"
        candidate, k = f"{name}:0", 1
        while candidate in names:
            candidate, k = f"{name}_{k}:0", k + 1
        names.append(candidate)
    return names


# ---------------------------------------------------------------------- saving
def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write `model` (architecture, compile config, weights, optimizer state) to the HDF5 file `filepath`
    in tf.keras's legacy layout (see the module docstring), replacing it atomically.

    Raises:
        FileExistsError: `filepath` exists and `overwrite=False`.
        ValueError: the model's graph cannot be written in Keras 2's config form.
        OSError: the file cannot be written; a previous file is left intact.
    """
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save: {filepath} exists and overwrite=False.")
    atomic.atomic_write(filepath, model_image(model, include_optimizer), caller="save")


def save_weights(model, filepath, overwrite=True):
    """Write the weights of `model` to `filepath` in Keras 2's weights-only `.h5` layout, atomically."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False.")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        _write_weights_group(f, model)
    atomic.atomic_write(filepath, buffer.getbuffer(), caller="save_weights")


def model_image(model, include_optimizer=True):
    """The bytes of the legacy `.h5` file holding `model`."""
    config = _json_text(keras2_config.model_config(model), model)
    compiled = getattr(model, "compiled", False)
    training = _json_text(_training_config(model), model) if compiled else None
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["keras_version"] = _version()
        f.attrs["backend"] = _backend.get().name
        f.attrs["model_config"] = config
        if training is not None:
            f.attrs["training_config"] = training
        _write_weights_group(f.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and compiled and optimizer is not None and optimizer.built:
            group = f.create_group("optimizer_weights")
            names = [f"{v.path}:0" for v in optimizer.variables]
            _write_names(group, "weight_names", names)
            for name, variable in zip(names, optimizer.variables):
                group.create_dataset(name, data=np.asarray(variable.numpy()))
    return buffer.getbuffer()


def _write_weights_group(group, model):
    layers = list(model.layers)
    _write_names(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = _backend.get().name
    group.attrs["keras_version"] = _version()
    for layer in layers:
        variables = keras2_layer_weights(layer)
        _write_layer(group.create_group(layer.name), _weight_names(layer, variables), variables)
    # the model's own variables (a subclassed model's add_weight), as tf.keras stores them
    own = list(model._variables)
    _write_layer(group.create_group(_TOP_LEVEL), [f"{model.name}/{v.path.rsplit('/', 1)[-1]}:{i}"
                                                  for i, v in enumerate(own)], own)


def _write_layer(layer_group, names, variables):
    _write_names(layer_group, "weight_names", names)
    for name, variable in zip(names, variables):
        layer_group.create_dataset(name, data=np.asarray(variable.numpy()))


def _write_names(obj, key, names):
    """A list of names as a byte-string array attribute, split into `key0`, `key1`, ... when too large."""
    data = np.array([n.encode("utf8") for n in names], dtype=f"S{max([1] + [len(n.encode()) for n in names])}")
    chunks = max(1, -(-data.nbytes // _ATTRIBUTE_LIMIT))
    if chunks == 1:
        obj.attrs[key] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        obj.attrs[f"{key}{i}"] = part


def _training_config(model):
    args = model._compile_args
    return {"loss": keras2_config.object_spec(args["loss"]), "metrics": keras2_config.object_spec(args["metrics"]),
            "weighted_metrics": keras2_config.object_spec(args.get("weighted_metrics")), "loss_weights": keras2_config.object_spec(args["loss_weights"]),
            "optimizer_config": keras2_config.optimizer_spec(model.optimizer)}


def _json_text(data, model):
    try:
        return json.dumps(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: the config of model '{model.name}' holds a value JSON cannot store ({error}); a "
                        f"function in a config must be mlfront's own or registered with "
                        f"mlfront.saving.register_keras_serializable.") from None


def _version():
    import mlfront
    return f"mlfront-{mlfront.__version__}"


# ---------------------------------------------------------------------- loading a whole model
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a legacy `.h5` file written by mlfront or by Keras 2 / tf.keras `model.save`.

    Args:
        filepath: the `.h5` file.
        custom_objects: `{name: class or function}` for the user objects the config names.
        compile: compile the model with the saved training config and restore the optimizer's state.
        safe_mode: refuse Python code in the config (a `Lambda`'s bytecode).

    Returns:
        The model, with its weights (and, with `compile=True`, its optimizer state).

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: the file is truncated, corrupt, unsafe, not a whole-model file, or names objects that
            are neither mlfront's nor registered / in `custom_objects`.
    """
    from mlfront.models.model import Model

    filepath = os.fspath(filepath)
    with safe_files.open_hdf5(filepath, "load_model") as f:
        model_config = _read_json(f, "model_config", filepath)
        if model_config is None:
            raise safe_files.UnsafeFileError(f"load_model: {filepath} holds no model (no 'model_config' attribute); "
                                             f"for a weights-only file, build the model and call load_weights.")
        training_config = _read_json(f, "training_config", filepath) if compile else None
        if not isinstance(model_config, dict):
            raise ValueError(f"load_model: {filepath}: 'model_config' should be a JSON object, got "
                             f"{type(model_config).__name__}.")
        try:
            model_config = keras2_config.without_neutral_arguments(model_config)
            model = expect_instance(deserialize_keras_object(model_config, custom_objects=custom_objects,
                                                             safe_mode=safe_mode), Model, "load_model")
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"load_model: {filepath}: cannot rebuild the model from its 'model_config': "
                             f"{error}") from None
        weights = f.get("model_weights")
        if not isinstance(weights, h5py.Group):
            raise safe_files.UnsafeFileError(f"load_model: {filepath} has no 'model_weights' group.")
        assignments = _values_in_order(model, weights, filepath, "load_model", skip_mismatch=False)
        mlfront_file = str(safe_files.read_text_attribute(f, "keras_version", filepath, "load_model",
                                                          default="")).startswith("mlfront-")
        if isinstance(training_config, dict):
            _compile(model, training_config, custom_objects, safe_mode, filepath)
            optimizer_group = f.get("optimizer_weights")
            if isinstance(optimizer_group, h5py.Group):
                optimizer = model.optimizer
                optimizer.build(model.trainable_variables)
                if mlfront_file:
                    assignments += _optimizer_values(optimizer, optimizer_group, filepath)
                else:
                    assignments += _keras2_optimizer_state(optimizer, model, optimizer_group, filepath)
    for variable, array in assignments:
        variable.assign(array)
    return model


def _read_json(f, key, filepath):
    text = None
    if key in f.attrs:
        text = safe_files.read_text_attribute(f, key, filepath, "load_model")
    if text is None:
        return None
    if len(text) > _MAX_JSON_CHARS:
        raise safe_files.UnsafeFileError(f"load_model: {filepath}: attribute '{key}' is too large ({len(text)} "
                                         f"characters).")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"load_model: {filepath}: attribute '{key}' is not valid JSON ({error}).") from None


def _compile(model, training_config, custom_objects, safe_mode, filepath):
    try:
        rebuild = keras2_config.compile_arguments(training_config, len(model.output_names), custom_objects,
                                                  safe_mode)
        model.compile(**rebuild)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"load_model: {filepath}: cannot compile the model from its 'training_config': "
                         f"{error}") from None


def _optimizer_values(optimizer, group, filepath):
    """mlfront's own optimizer state: every variable in `optimizer.variables` order."""
    datasets = _datasets(group, filepath, "load_model", "optimizer_weights")
    variables = optimizer.variables
    if len(datasets) != len(variables):
        raise ValueError(f"load_model: {filepath}: 'optimizer_weights' holds {len(datasets)} values, but optimizer "
                         f"'{optimizer.name}' has {len(variables)} variables.")
    return [(v, safe_files.read_array(d, v.shape, v.dtype, filepath, "load_model", f"optimizer variable '{v.path}'"))
            for v, d in zip(variables, datasets)]


def _keras2_optimizer_state(optimizer, model, group, filepath):
    """The Keras 2 optimizer values when they map onto mlfront's optimizer one to one; else, as Keras 2
    does when it cannot restore them, a warning and a freshly initialized optimizer."""
    try:
        return _keras2_optimizer_values(optimizer, model, group, filepath)
    except safe_files.UnsafeFileError:
        raise
    except ValueError as error:
        warnings.warn(f"{error} The model is compiled with a freshly initialized optimizer.", stacklevel=3)
        return []


def _keras2_optimizer_values(optimizer, model, group, filepath):
    """A Keras 2 optimizer's state: `iteration:0`, then per slot kind one value per trainable variable
    (`Adam/m/<variable>:0`, ...), mapped onto mlfront's slots of the same kind in variable order."""
    names = _read_names(group, "weight_names", filepath, "load_model")
    datasets = _datasets(group, filepath, "load_model", "optimizer_weights", names)
    trainable = model.trainable_variables
    per_kind, values = {}, []
    for name, dataset in zip(names, datasets):
        parts = name.split("/")
        if len(parts) == 1 and parts[0].split(":")[0] in ("iteration", "iter"):
            v = optimizer.iterations
            values.append((v, safe_files.read_array(dataset, v.shape, v.dtype, filepath, "load_model", name)))
            continue
        kind = parts[1] if len(parts) > 2 else None
        if kind not in _KERAS2_SLOTS or not isinstance(getattr(optimizer, _KERAS2_SLOTS[kind], None), list):
            raise ValueError(f"load_model: {filepath}: optimizer value {name!r} has no counterpart in mlfront's "
                             f"{type(optimizer).__name__}; load with compile=False to skip the optimizer state.")
        per_kind.setdefault(kind, []).append((name, dataset))
    for kind, entries in per_kind.items():
        slots = getattr(optimizer, _KERAS2_SLOTS[kind])
        if len(entries) != len(slots) or len(slots) != len(trainable):
            raise ValueError(f"load_model: {filepath}: 'optimizer_weights' holds {len(entries)} '{kind}' values, but "
                             f"optimizer '{optimizer.name}' has {len(slots)} such slots for {len(trainable)} "
                             f"trainable variables; load with compile=False to skip the optimizer state.")
        for slot, (name, dataset) in zip(slots, entries):
            values.append((slot, safe_files.read_array(dataset, slot.shape, slot.dtype, filepath, "load_model",
                                                       f"optimizer value {name!r}")))
    return values


# ---------------------------------------------------------------------- loading weights
def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Assign the weights of the Keras 2 `.h5` file `filepath` (weights-only or whole model) to `model`.

    Like Keras 2: by default the layers with weights are matched in order (names are ignored); with
    `by_name=True` each file layer is matched to the model's layers of the same name and layers absent from
    either side are left alone. Every value is read and checked before the first assignment, so on any
    error the model is unchanged.

    Args:
        model: the model.
        filepath: the `.h5` file.
        skip_mismatch: with `by_name=True`, leave out layers whose weight count or weights whose shape
            differs instead of raising.
        by_name: match by layer name instead of by order.

    Raises:
        ValueError: the file is not a Keras 2 weights file, is corrupt, unsafe, or does not match `model`
            (also `skip_mismatch=True` without `by_name=True`, as in Keras 2).
    """
    filepath = os.fspath(filepath)
    if skip_mismatch and not by_name:
        raise ValueError(f"load_weights: skip_mismatch=True needs by_name=True for the Keras 2 weights file "
                         f"{filepath} (its layers are matched in order).")
    with safe_files.open_hdf5(filepath, "load_weights") as f:
        group = f["model_weights"] if isinstance(f.get("model_weights"), h5py.Group) else f
        if by_name:
            assignments = _values_by_name(model, group, filepath, skip_mismatch)
        else:
            assignments = _values_in_order(model, group, filepath, "load_weights", skip_mismatch=False)
    for variable, array in assignments:
        variable.assign(array)


def layers_with_weights(filepath, caller):
    """The names of the layers holding weights in the Keras 2 `.h5` file `filepath`."""
    filepath = os.fspath(filepath)
    with safe_files.open_hdf5(filepath, caller) as f:
        group = f["model_weights"] if isinstance(f.get("model_weights"), h5py.Group) else f
        return [name for name, weights in _stored_layers(group, filepath, caller) if weights]


def _stored_layers(group, filepath, caller):
    """[(layer name, [(weight name, dataset)])] of a Keras 2 weights group, in `layer_names` order."""
    _check_origin(group, filepath, caller)
    layer_names = _read_names(group, "layer_names", filepath, caller)
    if layer_names is None:
        raise safe_files.UnsafeFileError(f"{caller}: {filepath} is not a Keras 2 weights file (no 'layer_names' "
                                         f"attribute).")
    stored = []
    for name in layer_names:
        layer_group = group.get(name)
        if not isinstance(layer_group, h5py.Group):
            raise safe_files.UnsafeFileError(f"{caller}: {filepath}: layer '{name}' listed in 'layer_names' has no "
                                             f"group.")
        names = _read_names(layer_group, "weight_names", filepath, caller) or []
        stored.append((name, list(zip(names, _datasets(layer_group, filepath, caller, name, names)))))
    return stored


def _values_in_order(model, group, filepath, caller, skip_mismatch):
    targets = [(layer, keras2_layer_weights(layer)) for layer in model.layers]
    targets = [(layer, variables) for layer, variables in targets if variables]
    stored = [(name, weights) for name, weights in _stored_layers(group, filepath, caller) if weights]
    if len(stored) != len(targets):
        raise ValueError(f"{caller}: {filepath} holds weights for {len(stored)} layers "
                         f"({[name for name, _ in stored]}), but model '{model.name}' has {len(targets)} layers "
                         f"with weights ({[layer.name for layer, _ in targets]}).")
    values = []
    for (layer, variables), (stored_name, weights) in zip(targets, stored):
        values += _layer_values(layer, variables, stored_name, weights, filepath, caller, skip_mismatch)
    top = group.get(_TOP_LEVEL)
    names = (_read_names(top, "weight_names", filepath, caller) or []) if isinstance(top, h5py.Group) else []
    own = list(model._variables)
    if names or own:
        weights = list(zip(names, _datasets(top, filepath, caller, _TOP_LEVEL, names))) if names else []
        values += _layer_values(model, own, _TOP_LEVEL, weights, filepath, caller, skip_mismatch)
    return values


def _values_by_name(model, group, filepath, skip_mismatch):
    by_name = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    values = []
    for stored_name, weights in _stored_layers(group, filepath, "load_weights"):
        for layer in by_name.get(stored_name, []):
            variables = keras2_layer_weights(layer)
            if len(variables) != len(weights):
                if skip_mismatch:
                    continue
                raise ValueError(f"load_weights: layer '{layer.name}' has {len(variables)} weights, but {filepath} "
                                 f"holds {len(weights)} for it.")
            values += _layer_values(layer, variables, stored_name, weights, filepath, "load_weights", skip_mismatch)
    return values


def _layer_values(layer, variables, stored_name, weights, filepath, caller, skip_mismatch):
    if len(variables) != len(weights):
        raise ValueError(f"{caller}: layer '{layer.name}' ({type(layer).__name__}) has {len(variables)} weights, but "
                         f"{filepath}'s layer '{stored_name}' holds {len(weights)} "
                         f"({[name for name, _ in weights]}).")
    values = []
    for variable, (name, dataset) in zip(variables, weights):
        what = f"weight '{variable.path}' of layer '{layer.name}' (stored as '{stored_name}/{name}')"
        try:
            values.append((variable, safe_files.read_array(dataset, variable.shape, variable.dtype, filepath,
                                                           caller, what)))
        except safe_files.ShapeMismatchError:
            if not skip_mismatch:
                raise
    return values


def _check_origin(group, filepath, caller):
    """Refuse what Keras 2 itself converted on loading: Keras 1 layouts and Theano's flipped kernels."""
    version = str(safe_files.read_text_attribute(group, "keras_version", filepath, caller, default="2"))
    backend = safe_files.read_text_attribute(group, "backend", filepath, caller, default=None)
    if version.startswith("1") or backend == "theano":
        raise ValueError(f"{caller}: {filepath} was written by Keras {version} on {backend}, whose weight layouts "
                         f"differ (Keras 1 / Theano kernels); mlfront reads files of Keras 2 and later on "
                         f"TensorFlow, JAX, PyTorch or mlfront.")


def _datasets(group, filepath, caller, where, names=None):
    if names is None:
        names = _read_names(group, "weight_names", filepath, caller) or []
    found = []
    for name in names:
        dataset = group.get(name)
        if not isinstance(dataset, h5py.Dataset):
            raise safe_files.UnsafeFileError(f"{caller}: {filepath}: weight '{name}' listed for '{where}' is not a "
                                             f"dataset of the file.")
        found.append(dataset)
    return found


def _read_names(obj, key, filepath, caller):
    """A string-list attribute (also split as `key0`, `key1`, ...), checked before it is read; None if absent."""
    keys = [key] if key in obj.attrs else []
    while not keys or keys[0] != key:
        if f"{key}{len(keys)}" not in obj.attrs:
            break
        keys.append(f"{key}{len(keys)}")
    if not keys:
        return None
    names = []
    for k in keys:
        try:
            attribute = obj.attrs.get_id(k)
            count = attribute.shape[0] if len(attribute.shape) == 1 else (1 if attribute.shape == () else -1)
            if count < 0 or len(names) + count > _MAX_NAMES:
                raise safe_files.UnsafeFileError(f"{caller}: {filepath}: attribute '{k}' of '{obj.name}' should be a "
                                                 f"list of at most {_MAX_NAMES} names, got shape {attribute.shape}.")
            if count == 0:
                continue  # tf.keras writes an empty list as an empty float array
            if attribute.dtype.kind not in "SOU":
                raise safe_files.UnsafeFileError(f"{caller}: {filepath}: attribute '{k}' of '{obj.name}' should hold "
                                                 f"names, got dtype {attribute.dtype}.")
            value = obj.attrs[k]
        except safe_files.UnsafeFileError:
            raise
        except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
            raise safe_files.UnsafeFileError(f"{caller}: {filepath} is corrupt: attribute '{k}' of '{obj.name}' "
                                             f"cannot be read ({error}).") from None
        for item in np.atleast_1d(np.asarray(value, dtype=object)).tolist():
            if isinstance(item, bytes):
                try:
                    item = item.decode("utf8")
                except UnicodeDecodeError:
                    raise safe_files.UnsafeFileError(f"{caller}: {filepath}: attribute '{k}' of '{obj.name}' is not "
                                                     f"UTF-8 text.") from None
            if not isinstance(item, str):
                raise safe_files.UnsafeFileError(f"{caller}: {filepath}: attribute '{k}' of '{obj.name}' should "
                                                 f"hold strings, got {type(item).__name__}.")
            names.append(item)
    return names
