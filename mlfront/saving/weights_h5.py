"""Weights files in HDF5 (h5py): `model.save_weights("m.weights.h5")` / `model.load_weights(...)`.

Layout: root attributes `format="mlfront.weights"`, `version=1`, `backend`; a group `layers` holding one
group per layer that owns variables, in model order (`class_name` attribute), each with a group `vars`
holding datasets "0", "1", ... (the layer's variables in creation order, `path` attribute). Loading
matches layers by order, checks every shape first, and only then assigns, so a bad file changes nothing.
Saving writes a temporary file beside the target and renames it over, so a failure never leaves a
half-written file.
"""

import os
import tempfile

import h5py
import numpy as np

from mlfront import backend as _backend

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


def save_weights(model, filepath, overwrite=True):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp_path = tempfile.mkstemp(suffix=".h5.tmp", dir=directory)
    os.close(fd)
    try:
        with h5py.File(tmp_path, "w", track_order=True) as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = 1
            f.attrs["backend"] = _backend.get().name
            layers = f.create_group("layers", track_order=True)
            for index, (layer, variables) in enumerate(_layers_with_variables(model)):
                group = layers.create_group(f"{index:04d}_{layer.name}", track_order=True)
                group.attrs["class_name"] = type(layer).__name__
                group.attrs["name"] = layer.name
                values = group.create_group("vars", track_order=True)
                for i, variable in enumerate(variables):
                    dataset = values.create_dataset(str(i), data=variable.numpy())
                    dataset.attrs["path"] = variable.path
        os.replace(tmp_path, filepath)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def load_weights(model, filepath, skip_mismatch=False):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_weights: no such file: {filepath}")
    targets = _layers_with_variables(model)
    with h5py.File(filepath, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"load_weights: {filepath} is not an mlfront weights file "
                             f"(format attribute {f.attrs.get('format')!r}).")
        stored = [f["layers"][key] for key in f["layers"]]
        if len(stored) != len(targets):
            raise ValueError(f"load_weights: {filepath} holds weights for {len(stored)} layers, but model "
                             f"'{model.name}' has {len(targets)} layers with weights "
                             f"({[layer.name for layer, _ in targets]}).")
        assignments = []
        for (layer, variables), group in zip(targets, stored):
            arrays = [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]
            if len(arrays) != len(variables):
                raise ValueError(f"load_weights: layer '{layer.name}' has {len(variables)} weights, but the file's "
                                 f"layer '{group.attrs['name']}' has {len(arrays)}.")
            for i, (variable, array) in enumerate(zip(variables, arrays)):
                if tuple(array.shape) != variable.shape:
                    if skip_mismatch:
                        continue
                    raise ValueError(f"load_weights: weight '{variable.path}' of layer '{layer.name}' has shape "
                                     f"{variable.shape}, but the file holds shape {tuple(array.shape)} "
                                     f"(saved as '{group['vars'][str(i)].attrs['path']}').")
                assignments.append((variable, array))
    for variable, array in assignments:
        variable.assign(array.astype(variable.dtype))
