"""Whole models in the `.keras` zip, Keras 3's format: `model.save("m.keras")` and `load_model("m.keras")`.

Members of the zip (as Keras 3 writes them, so each reads the other's files):
    config.json: `serialize_keras_object(model)`, a Functional model's graph in Keras 3's form
        (`keras3_config.to_keras3_form`), plus `"compile_config"` (optimizer, loss, metrics,
        loss_weights, each through the serialization registry) when the model is compiled, and
        `"build_config"` (the input shape) for a model built by its first call (a subclassed model).
    metadata.json: `keras_version` ("mlfront-<version>"; Keras writes its own version), `backend`,
        `date_saved`, and for a compiled model `mlfront_training_state` (`training_state.training_state`:
        the random key of the next train step, so a model with Dropout resumes exactly).
    model.weights.h5: the model's weights in Keras 3's weights layout (`weights_h5`); for a compiled model
        whose optimizer is built, also the optimizer's state under `optimizer/vars` (iteration, learning
        rate, slots in Keras's order), so that training resumes exactly.
    assets/<object path>/vocabulary.txt: written by Keras 3 for an adapted lookup layer (mlfront keeps
        the vocabulary in the config instead); read as UTF-8 lines and set on that layer. Any other asset
        is refused by name.

The zip is built in memory and written with `atomic.atomic_write`. Loading checks the archive before
reading a member (regular file, a real zip, only the names above, no duplicates, declared sizes bounded),
parses JSON with `json` only, rebuilds objects through `deserialize_keras_object` (with `safe_mode`), and
reads and checks every value before the first assignment.
"""

import datetime
import io
import json
import os
import posixpath
import stat
import zipfile
import zlib

import h5py
import numpy as np

from mlfront.saving import atomic, safe_files, weights_h5, weights_layout
from mlfront.saving.keras3_config import to_keras3_form
from mlfront.saving.serialization import deserialize_keras_object, deserialize_tree, serialize_keras_object
from mlfront.training import training_state

CONFIG, METADATA, WEIGHTS, ASSETS = "config.json", "metadata.json", "model.weights.h5", "assets/"
TRAINING_STATE = "mlfront_training_state"  # in metadata.json; Keras ignores keys it does not know
_VOCABULARY = "vocabulary.txt"
_MEMBERS = (CONFIG, METADATA, WEIGHTS)
_REQUIRED = (CONFIG, METADATA, WEIGHTS)
_MAX_JSON_BYTES = 64 << 20
_MAX_MEMBER_BYTES = 16 << 30
_MAX_RATIO = 1100  # deflate cannot expand data by more than about 1032x
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# ---------------------------------------------------------------------- saving
def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True):
    """Write the whole model (architecture, compile config, weights, optimizer state) to `filepath`.

    Args:
        model: the model.
        filepath: a path ending in ".keras".
        overwrite: if False, an existing file is an error.
        zipped: must be None or True (the unzipped folder form is not supported).
        include_optimizer: also store the optimizer's state, so training resumes where it stopped.

    Raises:
        NotImplementedError: `zipped=False`.
        ValueError: a suffix other than ".keras" (`saving_api.save_model` sends ".h5" paths to `legacy_h5`).
        FileExistsError: `filepath` exists and `overwrite=False`.
        OSError: the file cannot be written; a previous file is left intact.
    """
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"save: `filepath` must end in '.keras' (the whole model); got {filepath!r}. For weights "
                         f"only, use save_weights with a path ending in '.weights.h5'.")
    if zipped is not None and not zipped:
        raise NotImplementedError(f"save: zipped=False (a '.keras' folder instead of a zip) is not supported; got "
                                  f"zipped={zipped!r} for {filepath!r}.")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save: {filepath} exists and overwrite=False.")
    atomic.atomic_write(filepath, archive_bytes(model, include_optimizer), caller="save")


def archive_bytes(model, include_optimizer=True):
    """The bytes of the `.keras` zip holding `model` (see the module docstring)."""
    import mlfront

    config = to_keras3_form(serialize_keras_object(model), model)
    if getattr(model, "compiled", False):
        config["compile_config"] = _compile_config(model)
    build_shape = getattr(model, "_build_input_shape", None)
    if build_shape is not None:
        config["build_config"] = {"input_shape": _shape_to_json(build_shape)}
    metadata = {"keras_version": f"mlfront-{mlfront.__version__}", "backend": mlfront.backend(),
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    if getattr(model, "compiled", False) and include_optimizer:
        metadata[TRAINING_STATE] = training_state.training_state(model)
    weights = weights_h5.collect_weights(model, include_optimizer=include_optimizer)
    members = [(CONFIG, _json_bytes(config, model)), (METADATA, _json_bytes(metadata, model)),
               (WEIGHTS, bytes(weights_h5.weights_image(weights)))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getbuffer()


def _compile_config(model):
    args = model._compile_args
    config = {"optimizer": serialize_keras_object(model.optimizer), "loss": _serialize_tree(args["loss"]),
              "metrics": _serialize_tree(args["metrics"]), "loss_weights": _serialize_tree(args["loss_weights"])}
    if args.get("weighted_metrics") is not None:
        config["weighted_metrics"] = _serialize_tree(args["weighted_metrics"])
    if model.steps_per_execution != 1:
        config["steps_per_execution"] = model.steps_per_execution
    return config


def _serialize_tree(value):
    """Strings and numbers as themselves, lists / dicts element-wise, objects and functions through the registry."""
    if isinstance(value, (list, tuple)):
        return [_serialize_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_tree(v) for k, v in value.items()}
    return serialize_keras_object(value)


def _json_bytes(data, model):
    try:
        return json.dumps(data, indent=1).encode("utf8")
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: the config of model '{model.name}' holds a value JSON cannot store ({error}); a "
                        f"function in a config must be mlfront's own or registered with "
                        f"mlfront.saving.register_keras_serializable.") from None


def _shape_to_json(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape_to_json(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


# ---------------------------------------------------------------------- loading
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.keras` file written by `model.save`.

    Args:
        filepath: the `.keras` file.
        custom_objects: `{name: class or function}` for the user objects the config names.
        compile: compile the model with the saved compile config and restore the optimizer's state.
        safe_mode: refuse Python code in the config (a `Lambda`'s bytecode).

    Returns:
        The model, with its weights (and, with `compile=True`, its optimizer state).

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: the file is truncated, corrupt, not a `.keras` archive, unsafe, or names objects that
            are neither mlfront's nor registered / in `custom_objects`.
    """
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"load_model: `filepath` must end in '.keras'; got {filepath!r}.")
    members = read_archive(filepath)
    config = _parse_json(members[CONFIG], filepath, CONFIG)
    metadata = _parse_json(members[METADATA], filepath, METADATA)
    compile_config = config.pop("compile_config", None)
    build_config = config.pop("build_config", None)

    from mlfront.models.model import Model
    from mlfront.saving.serialization import expect_instance
    model = expect_instance(deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode),
                            Model, "load_model")
    _build(model, build_config, filepath)
    compiled = compile and compile_config is not None
    if compiled:
        _compile(model, compile_config, custom_objects, safe_mode, filepath)
    vocabularies = _read_vocabularies(model, members, filepath)
    assignments = _read_values(members[WEIGHTS], f"{filepath}::{WEIGHTS}", model,
                               "load" if compiled else "skip")
    for layer, tokens in vocabularies:
        layer.set_vocabulary(tokens)
    state = metadata.get(TRAINING_STATE) if compiled else None
    if state is not None:
        try:
            training_state.check_training_state(state)
        except ValueError as error:
            raise ValueError(f"load_model: {filepath}::{METADATA}: {TRAINING_STATE} is invalid: {error}") from None
    for variable, array in assignments:
        variable.assign(array)
    if state is not None:
        training_state.restore_training_state(model, state)  # the step's random key: Dropout resumes exactly
    return model


def read_archive(filepath):
    """{member name: bytes} of the `.keras` zip `filepath`, after checking the archive (module docstring)."""
    try:
        info = os.stat(filepath)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_model: no such file: {filepath}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"load_model: {filepath} is not a regular file.")
    try:
        with zipfile.ZipFile(filepath) as archive:
            entries = archive.infolist()
            _check_entries(entries, info.st_size, filepath)
            return {entry.filename: _read_member(archive, entry, filepath) for entry in entries
                    if not entry.filename.endswith("/")}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise ValueError(f"load_model: {filepath} is not a valid .keras archive; it is truncated, corrupt or "
                         f"another kind of file ({error}).") from None


def _check_entries(entries, archive_size, filepath):
    names = [entry.filename for entry in entries]
    for entry in entries:
        name = entry.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise ValueError(f"load_model: {filepath} refused: member {name!r} has an absolute or '..' path.")
        if name.startswith(ASSETS) and not name.endswith("/") and posixpath.basename(name) != _VOCABULARY:
            raise ValueError(f"load_model: {filepath} refused: member {name!r} is an asset file mlfront does not "
                             f"read; the only assets it reads are lookup layers' '{_VOCABULARY}' files.")
        if name not in _MEMBERS and not name.startswith(ASSETS):
            raise ValueError(f"load_model: {filepath} refused: unexpected member {name!r}; a .keras file holds "
                             f"only {list(_MEMBERS)} and an {ASSETS!r} folder.")
        if names.count(name) > 1:
            raise ValueError(f"load_model: {filepath} refused: member {name!r} appears more than once.")
        if entry.flag_bits & 0x1:
            raise ValueError(f"load_model: {filepath} refused: member {name!r} is encrypted.")
        cap = _MAX_JSON_BYTES if name.endswith((".json", ".txt")) else _MAX_MEMBER_BYTES
        limit = min(cap, max(archive_size, 1) * _MAX_RATIO)
        if entry.file_size > limit:
            raise ValueError(f"load_model: {filepath} refused: member {name!r} declares {entry.file_size} bytes "
                             f"uncompressed, more than the {limit} bytes allowed for a {archive_size}-byte "
                             f"archive.")
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise ValueError(f"load_model: {filepath} is not a complete .keras file: it lacks {missing} (it holds "
                         f"{names}).")


def _read_member(archive, entry, filepath):
    with archive.open(entry) as member:
        data = member.read(entry.file_size + 1)  # never more than declared, whatever the stream says
    if len(data) != entry.file_size:
        raise ValueError(f"load_model: {filepath} is corrupt: member {entry.filename!r} holds {len(data)} bytes, "
                         f"not the {entry.file_size} it declares.")
    return data


def _parse_json(data, filepath, name):
    try:
        value = json.loads(data.decode("utf8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"load_model: {filepath}: {name} is not valid JSON ({error}).") from None
    if not isinstance(value, dict):
        raise ValueError(f"load_model: {filepath}: {name} should hold a JSON object, got {type(value).__name__}.")
    return value


def _build(model, build_config, filepath):
    """Create the weights of a model built by its first call (a subclassed one) by calling it on zeros."""
    if build_config is None or model.weights:
        return
    shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
    try:
        zeros = _zeros(shape)
    except (TypeError, ValueError):
        raise ValueError(f"load_model: {filepath}: config.json has an invalid build_config {build_config!r}; "
                         f"expected {{'input_shape': [dims]}}.") from None
    from mlfront.backend.context import call_context
    with call_context(False):
        model(zeros, training=False)


def _zeros(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_zeros(s) for s in shape]
    if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and 0 <= d < 1 << 16)
                                              for d in shape):
        raise ValueError(shape)
    return np.zeros([1 if d is None else d for d in shape], "float32")


# What a Keras 3 compile_config holds. How Keras ran (eagerly, XLA, loss scaling) is not restored: the
# model is compiled for this engine with mlfront's defaults, as after `compile(optimizer, loss, ...)`.
_COMPILE_KEYS = ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "steps_per_execution")
_EXECUTION_KEYS = ("run_eagerly", "jit_compile", "auto_scale_loss")


def _compile(model, compile_config, custom_objects, safe_mode, filepath):
    if not isinstance(compile_config, dict):
        raise ValueError(f"load_model: {filepath}: the compile_config in config.json should be a dict, got "
                         f"{compile_config!r}.")

    def rebuild(value):
        return deserialize_tree(value, lambda spec: deserialize_keras_object(spec, custom_objects=custom_objects,
                                                                             safe_mode=safe_mode))

    unknown = sorted(set(compile_config) - set(_COMPILE_KEYS) - set(_EXECUTION_KEYS))
    if unknown:
        raise NotImplementedError(f"load_model: {filepath}: the compile_config in config.json has argument(s) "
                                  f"{unknown} that mlfront's compile does not take.")
    model.compile(optimizer=rebuild(compile_config.get("optimizer", "rmsprop")),
                  loss=rebuild(compile_config.get("loss")), metrics=rebuild(compile_config.get("metrics")),
                  loss_weights=rebuild(compile_config.get("loss_weights")),
                  weighted_metrics=rebuild(compile_config.get("weighted_metrics")),
                  steps_per_execution=compile_config.get("steps_per_execution", 1))


def _read_vocabularies(model, members, filepath):
    """[(lookup layer, its vocabulary)] from the `assets/<object path>/vocabulary.txt` members Keras 3
    writes for adapted lookup layers (one term per line, special tokens first), each checked."""
    found, layers = [], None
    for name, data in members.items():
        if not name.startswith(ASSETS):
            continue
        layers = weights_layout.layer_paths(model) if layers is None else layers
        layer = layers.get(posixpath.dirname(name)[len(ASSETS):])
        if layer is None or not hasattr(layer, "set_vocabulary") or getattr(layer, "output_mode", None) == "tf_idf":
            raise ValueError(f"load_model: {filepath} refused: asset {name!r} does not belong to a lookup layer "
                             f"(StringLookup, IntegerLookup, TextVectorization; tf_idf mode excluded) of the "
                             f"model.")
        try:
            lines = data.decode("utf8").split("\n")
        except UnicodeDecodeError:
            raise ValueError(f"load_model: {filepath}: asset {name!r} is not UTF-8 text.") from None
        while lines and lines[-1] == "":
            lines.pop()
        lookup = getattr(layer, "_lookup_layer", layer)
        try:
            tokens = [lookup._parse_vocabulary_line(line) for line in lines]
        except ValueError as error:
            raise ValueError(f"load_model: {filepath}: asset {name!r} holds a line that is not a term of "
                             f"'{layer.name}' ({error}).") from None
        expected = getattr(lookup, "_saved_vocabulary_size", None)
        if expected is not None and len(tokens) != expected:
            raise ValueError(f"load_model: {filepath}: asset {name!r} holds {len(tokens)} terms, but the config of "
                             f"'{layer.name}' says vocabulary_size={expected}.")
        found.append((layer, tokens))
    return found


def _read_values(data, label, model, optimizer):
    """[(variable, checked array)] for `model` (and its optimizer: `weights_h5.read_values`'s `optimizer`)
    from the weights image `data`."""
    if not data.startswith(_HDF5_SIGNATURE):
        raise ValueError(f"load_model: {label} is not an HDF5 file.")
    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError, RuntimeError) as error:
        raise ValueError(f"load_model: {label} cannot be opened as HDF5; it is truncated or corrupt "
                         f"({error}).") from None
    with handle:
        try:
            safe_files.check_structure(handle, len(data), label, "load_model")
        except safe_files.UnsafeFileError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as error:
            raise ValueError(f"load_model: {label} is corrupt: its structure cannot be read ({error}).") from None
        return weights_h5.read_values(handle, label, model, "load_model", optimizer=optimizer)
