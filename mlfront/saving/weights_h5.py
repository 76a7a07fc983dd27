"""Weights files in HDF5 (h5py): `model.save_weights("m.weights.h5")` / `model.load_weights(...)`.

Layout: root attributes `format="mlfront.weights"`, `version=1`, `backend`; a group `layers` holding one
group per layer that owns variables, in model order (`class_name` and `name` attributes), each with a
group `vars` holding datasets "0", "1", ... (the layer's variables in creation order, `path` attribute).

Saving builds the whole HDF5 image in memory and writes it with `atomic.atomic_write` (temporary file,
fsync, rename), so a crash or a full disk never leaves a half-written or lost file. Loading opens the
file through `safe_files` (links never followed, external or virtual data refused, sizes checked), reads
and checks every value, and only then assigns, so a bad file changes nothing.
"""

import io
import os

import h5py

from mlfront import backend as _backend
from mlfront.saving import atomic, safe_files

FORMAT = "mlfront.weights"


def _layers_with_variables(model):
    """(layer, its own variables) in model order, descending into nested layers and models."""
    found, seen = [], set()

    def visit(layer):
        own = [v for v in layer._variables if id(v) not in seen]
        seen.update(id(v) for v in own)
        if own:
            found.append((layer, own))
        for sub in layer._sublayers():
            visit(sub)
    visit(model)
    return found


def collect_weights(model):
    """The model's weights as plain data: a list of `(class_name, layer_name, [(variable_path, array)])`."""
    return [(type(layer).__name__, layer.name, [(v.path, v.numpy()) for v in variables])
            for layer, variables in _layers_with_variables(model)]


def weights_image(collected):
    """The bytes of a weights file holding `collected` (as returned by `collect_weights`)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = 1
        f.attrs["backend"] = _backend.get().name
        layers = f.create_group("layers", track_order=True)
        for index, (class_name, layer_name, variables) in enumerate(collected):
            group = layers.create_group(f"{index:04d}_{layer_name}", track_order=True)
            group.attrs["class_name"] = class_name
            group.attrs["name"] = layer_name
            values = group.create_group("vars", track_order=True)
            for i, (path, array) in enumerate(variables):
                dataset = values.create_dataset(str(i), data=array)
                dataset.attrs["path"] = path
    return buffer.getbuffer()


def save_weights(model, filepath, overwrite=True):
    """Write all weights of `model` to the HDF5 file `filepath`, replacing it atomically.

    Args:
        model: the model.
        filepath: the target file (conventionally ending in ".weights.h5").
        overwrite: if False, an existing file is an error.

    Raises:
        FileExistsError: `filepath` exists and `overwrite=False`.
        OSError: the file cannot be written (full disk, read-only folder); the old file is kept.
    """
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False.")
    write_weights(filepath, collect_weights(model))


def write_weights(filepath, collected, caller="save_weights"):
    """Write `collected` (as returned by `collect_weights`) to the weights file `filepath`, atomically."""
    atomic.atomic_write(filepath, weights_image(collected), caller=caller)


def load_weights(model, filepath, skip_mismatch=False):
    """Assign the weights stored in `filepath` (written by `save_weights`) to `model`, matched by layer order.

    Every value is read and checked (dtype, shape, size) before the first assignment, so on any error the
    model is unchanged.

    Args:
        model: the model.
        filepath: the weights file.
        skip_mismatch: leave out weights whose shape differs from the model's instead of raising.

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: the file is not an mlfront weights file, is corrupt, unsafe, or does not match `model`.
    """
    filepath = os.fspath(filepath)
    targets = _layers_with_variables(model)
    assignments = []
    with safe_files.open_hdf5(filepath, "load_weights") as f:
        stored = _stored_layers(f, filepath)
        if len(stored) != len(targets):
            raise ValueError(f"load_weights: {filepath} holds weights for {len(stored)} layers, but model "
                             f"'{model.name}' has {len(targets)} layers with weights "
                             f"({[layer.name for layer, _ in targets]}).")
        for (layer, variables), (stored_name, datasets) in zip(targets, stored):
            if len(datasets) != len(variables):
                raise ValueError(f"load_weights: layer '{layer.name}' has {len(variables)} weights, but the file's "
                                 f"layer '{stored_name}' has {len(datasets)}.")
            for variable, dataset in zip(variables, datasets):
                saved_as = safe_files.read_text_attribute(dataset, "path", filepath, "load_weights", default="?")
                what = f"weight '{variable.path}' of layer '{layer.name}' (saved as '{saved_as}')"
                try:
                    array = safe_files.read_array(dataset, variable.shape, variable.dtype, filepath,
                                                  "load_weights", what)
                except safe_files.ShapeMismatchError:
                    if skip_mismatch:
                        continue
                    raise
                assignments.append((variable, array))
    for variable, array in assignments:
        variable.assign(array)


def _stored_layers(f, filepath):
    """[(layer name, [dataset "0", "1", ...])] of an open weights file, after checking its layout."""
    file_format = safe_files.read_text_attribute(f, "format", filepath, "load_weights")
    if file_format != FORMAT:
        raise safe_files.UnsafeFileError(f"load_weights: {filepath} is not an mlfront weights file (format "
                                         f"attribute {file_format!r}, expected {FORMAT!r}).")
    layers = f.get("layers")
    if not isinstance(layers, h5py.Group):
        raise safe_files.UnsafeFileError(f"load_weights: {filepath} has no 'layers' group; it is not a complete "
                                         f"mlfront weights file.")
    stored = []
    for key in layers:
        group, values = layers[key], None
        if isinstance(group, h5py.Group):
            values = group.get("vars")
        if not isinstance(values, h5py.Group):
            raise safe_files.UnsafeFileError(f"load_weights: {filepath}: 'layers/{key}' should be a group holding a "
                                             f"'vars' group.")
        names = sorted(values, key=lambda n: (len(n), n))
        if names != [str(i) for i in range(len(names))] or \
                not all(isinstance(values[n], h5py.Dataset) for n in names):
            raise safe_files.UnsafeFileError(f"load_weights: {filepath}: 'layers/{key}/vars' should hold datasets "
                                             f"'0', '1', ..., found {names[:10]}.")
        name = safe_files.read_text_attribute(group, "name", filepath, "load_weights", default=key)
        stored.append((name, [values[n] for n in names]))
    return stored
