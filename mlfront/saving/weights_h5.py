"""Weights files in HDF5 (h5py), in Keras 3's layout: `model.save_weights("m.weights.h5")` /
`model.load_weights(...)`, and the `model.weights.h5` member of a `.keras` zip.

Layout (as Keras 3 writes it, so each side reads the other's files): one group per saveable object, at
its object path (`weights_layout` says which): the model at the root, `layers/<snake class name>` for
each layer of a Functional or Sequential model (`layers/dense`, `layers/dense_1`, nested models as
`layers/sequential/layers/...`), sublayers under Keras's attribute names (`layers/lstm/cell`,
`layers/bidirectional/forward_layer/cell`, `layers/multi_head_attention/query_dense`), and, for a
compiled model whose optimizer is built, `optimizer`. Each group holds a `vars` group (attribute
`name`, the object's name) with datasets "0", "1", ...: the object's variables, trainable ones first.
There are no root attributes.

Saving builds the whole HDF5 image in memory and writes it with `atomic.atomic_write` (temporary file,
fsync, rename), so a crash or a full disk never leaves a half-written or lost file. Loading opens the
file through `safe_files` (links never followed, external or virtual data refused, sizes checked),
matches every dataset to a variable by its path (a dataset the model has no variable for is refused,
except a Keras-only SeedGenerator state and, for a model without optimizer, the optimizer's state),
reads and checks every value, and only then assigns, so a bad file changes nothing.
"""

import io
import os
import posixpath
import warnings

import h5py

from mlfront.saving import atomic, safe_files, weights_layout

# The root attribute of the layout mlfront wrote before it wrote Keras 3's (refused with a clear message).
FORMAT = "mlfront.weights"
_OPTIMIZER = "optimizer"


def _optimizer_of(model):
    """The model's optimizer when it is compiled and built (its state is then saved), else None."""
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
        return optimizer
    return None


def collect_weights(model, include_optimizer=True):
    """The model's weights as plain data, in Keras 3's layout: `[(group path, name, [(dataset path,
    array)])]`, the optimizer's state last when `include_optimizer` and the optimizer is built."""
    groups = [(path, name, [(dataset, _stored(v)) for dataset, v in entries])
              for path, name, entries in weights_layout.model_groups(model)]
    optimizer = _optimizer_of(model) if include_optimizer else None
    if optimizer is not None:
        variables = weights_layout.optimizer_variables(model, optimizer)
        groups.append((_OPTIMIZER, optimizer.name, [(weights_layout.dataset_path(_OPTIMIZER, i), _stored(v))
                                                    for i, v in enumerate(variables)]))
    return groups


def _stored(variable):
    array = variable.numpy()
    dtype = weights_layout.stored_dtype(variable)
    return array if dtype is None else array.astype(dtype)


def weights_image(collected):
    """The bytes of a weights file holding `collected` (as returned by `collect_weights`)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, name, datasets in collected:
            values = f.require_group(posixpath.join(path, "vars") if path else "vars")
            values.attrs["name"] = name
            for dataset_path, array in datasets:
                f.create_dataset(dataset_path, data=array)
    return buffer.getbuffer()


def save_weights(model, filepath, overwrite=True):
    """Write all weights of `model` (and the state of its built optimizer, as Keras 3 does) to the HDF5
    file `filepath`, replacing it atomically.

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
    """Assign the weights stored in `filepath` (written by `save_weights` or by Keras 3) to `model`,
    matched by object path. A compiled model also gets the optimizer state the file holds (Keras 3 skips it
    with a warning when the optimizers differ in size; so does this).

    Every value is read and checked (dtype, shape, size) before the first assignment, so on any error the
    model is unchanged.

    Args:
        model: the model.
        filepath: the weights file.
        skip_mismatch: leave out weights whose shape differs from the model's instead of raising.

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: the file is not a weights file, is corrupt, unsafe, or does not match `model`.
    """
    filepath = os.fspath(filepath)
    with safe_files.open_hdf5(filepath, "load_weights") as f:
        assignments = read_values(f, filepath, model, "load_weights", optimizer="if_matching",
                                  skip_mismatch=skip_mismatch)
    for variable, array in assignments:
        variable.assign(array)


def read_values(f, label, model, caller, optimizer="skip", skip_mismatch=False):
    """[(variable, checked array)] for `model` from the open, checked weights file `f` (nothing assigned).

    Args:
        f: the `h5py.File`, already checked by `safe_files.check_structure`.
        label: the file's name for messages.
        model: the model.
        caller: the name used in messages.
        optimizer: what to do with the file's optimizer state: "skip" (ignore it), "load" (the model's
            optimizer, built here if needed, must match it), "if_matching" (load it into a compiled model
            when the variable counts match, else warn and skip).
        skip_mismatch: leave out model weights whose shape differs instead of raising.
    """
    _check_layout(f, label, caller)
    stored = _datasets(f, label, caller)
    expected = {path: variable for _, _, entries in weights_layout.model_groups(model)
                for path, variable in entries}
    stored_optimizer = sorted((p for p in stored if p.startswith(_OPTIMIZER + "/")), key=_natural)
    optimizer_targets = _optimizer_targets(model, stored_optimizer, label, caller, optimizer)
    expected.update(optimizer_targets)
    skipped = set() if optimizer_targets else set(stored_optimizer)
    for path in stored:
        if path in expected or path in skipped:
            continue
        if any(part in weights_layout.TOLERATED_GROUPS for part in path.split("/")):
            continue
        hint = " (the model has no weights yet: build it, e.g. by calling it on data, first)" \
            if not model.weights else " (the file is of another model, or uses a layout mlfront does not know)"
        raise safe_files.UnsafeFileError(f"{caller}: {label} holds the dataset '{path}', but model "
                                         f"'{model.name}' has no variable at that path{hint}.")
    missing = [path for path in expected if path not in stored]
    if missing:
        raise ValueError(f"{caller}: {label} does not match model '{model.name}': it lacks {len(missing)} of the "
                         f"model's {len(expected)} variables, e.g. '{missing[0]}' (weight "
                         f"'{expected[missing[0]].path}'); the file holds {sorted(stored, key=_natural)[:8]}.")
    values = []
    for path, variable in expected.items():
        what = f"weight '{variable.path}' (dataset '{path}')"
        try:
            array = safe_files.read_array(stored[path], variable.shape, variable.dtype, label, caller, what)
        except safe_files.ShapeMismatchError:
            if skip_mismatch and path not in optimizer_targets:
                continue
            raise
        values.append((variable, array))
    return values


def _check_layout(f, label, caller):
    if "format" in f.attrs:
        found = safe_files.read_text_attribute(f, "format", label, caller)
        raise safe_files.UnsafeFileError(f"{caller}: {label} has a root attribute format={found!r}: it was "
                                         f"written in the layout of an older mlfront, which this version no "
                                         f"longer reads; expected Keras 3's weights layout.")
    if "layer_names" in f.attrs or "model_weights" in f:
        raise safe_files.UnsafeFileError(f"{caller}: {label} is a Keras 2 HDF5 weights file (a 'layer_names' "
                                         f"attribute), not a Keras 3 '.weights.h5' file.")
    if not isinstance(f.get("vars", getlink=True), h5py.HardLink):
        raise safe_files.UnsafeFileError(f"{caller}: {label} is not a Keras 3 weights file: it has no root "
                                         f"'vars' group.")


def _datasets(f, label, caller):
    """{path: dataset} of every dataset of the file, each under a '.../vars/<i>' path. A soft link (to an
    object of the same file: `check_structure` refused any other) stands for its target, which may then
    lie anywhere."""
    found, elsewhere, targets, pending = {}, [], set(), [("", f)]
    while pending:
        prefix, group = pending.pop()
        for key in group:
            path = f"{prefix}/{key}" if prefix else key
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.SoftLink):
                targets.add(posixpath.normpath(posixpath.join("/" + prefix, link.path)).lstrip("/"))
            member = group[key]
            if isinstance(member, h5py.Group):
                if not isinstance(link, h5py.SoftLink):
                    pending.append((path, member))
                continue
            parts = path.split("/")
            if len(parts) < 2 or parts[-2] != "vars" or not parts[-1].isdigit():
                elsewhere.append(path)
            else:
                found[path] = member
    for path in elsewhere:
        if path not in targets:
            raise safe_files.UnsafeFileError(f"{caller}: {label} refused: dataset '{path}' is not a variable of a "
                                             f"'vars' group (expected '<object path>/vars/<i>').")
    return found


def _natural(path):
    head, _, index = path.rpartition("/")
    return head, int(index) if index.isdigit() else -1


def _optimizer_targets(model, stored_paths, label, caller, mode):
    """{dataset path: variable} of the optimizer state to read ({} when it is skipped)."""
    optimizer = getattr(model, "optimizer", None)
    if mode == "skip" or not stored_paths or not getattr(model, "compiled", False) or optimizer is None:
        return {}
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    variables = weights_layout.optimizer_variables(model, optimizer)
    if len(variables) != len(stored_paths):
        message = (f"{caller}: {label} holds {len(stored_paths)} variables for the optimizer, but the model's "
                   f"optimizer '{optimizer.name}' has {len(variables)}")
        if mode == "load":
            raise ValueError(message + ".")
        warnings.warn(message + "; its state is not loaded.", stacklevel=4)
        return {}
    return {weights_layout.dataset_path(_OPTIMIZER, i): v for i, v in enumerate(variables)}
