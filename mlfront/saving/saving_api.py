"""Where `model.save`, `load_model` and `load_weights` send a file: the `.keras` archive or Keras's legacy
HDF5 format (`.h5` / `.hdf5`), chosen by the suffix and, when reading, by the file's first bytes."""

import os

from mlfront.saving import keras_archive, legacy_h5, safe_files, weights_h5

_ZIP_SIGNATURE = b"PK\x03\x04"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HDF5_SUFFIXES = (".h5", ".hdf5")


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
    """Write the whole model (architecture, compile config, weights, optimizer state) to `filepath`.

    Args:
        model: the model.
        filepath: a path ending in ".keras" (Keras 3's zip) or ".h5" / ".hdf5" (Keras 2's legacy HDF5).
        overwrite: if False, an existing file is an error.
        zipped: for ".keras" only: None or True (the unzipped folder form is not supported).
        include_optimizer: also store the optimizer's state, so training resumes where it stopped.
        **kwargs: `save_format="h5"` (Keras 2's argument) writes the legacy HDF5 format whatever the
            suffix; `save_format="keras"` needs a ".keras" path.

    Raises:
        ValueError: an unknown suffix or `save_format`, or one that contradicts the suffix.
        TypeError: an unknown keyword argument.
        FileExistsError: `filepath` exists and `overwrite=False`.
        OSError: the file cannot be written; a previous file is left intact.
    """
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save: unexpected keyword argument(s) {sorted(kwargs)}.")
    filepath = os.fspath(filepath)
    if save_format not in (None, "h5", "keras"):
        raise ValueError(f"save: `save_format` must be 'h5' (the legacy HDF5 file) or 'keras', got "
                         f"{save_format!r}; mlfront does not write TensorFlow SavedModels with save (see "
                         f"model.export).")
    legacy = save_format == "h5" or (save_format is None and filepath.endswith(_HDF5_SUFFIXES))
    if legacy:
        if filepath.endswith(".keras"):
            raise ValueError(f"save: save_format='h5' contradicts the '.keras' suffix of {filepath!r}.")
        if zipped is not None:
            raise ValueError(f"save: `zipped` applies to '.keras' files only; got zipped={zipped!r} for the HDF5 "
                             f"file {filepath!r}.")
        legacy_h5.save_model(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
        return
    keras_archive.save_model(model, filepath, overwrite=overwrite, zipped=zipped,
                             include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a file written by `model.save` here or by Keras: a `.keras` archive, or a legacy
    `.h5` / `.hdf5` file (Keras 2 / tf.keras or mlfront).

    Args:
        filepath: the file.
        custom_objects: `{name: class or function}` for the user objects the config names.
        compile: compile the model with the saved compile config and restore the optimizer's state.
        safe_mode: refuse Python code in the config (a `Lambda`'s bytecode), in both formats.

    Returns:
        The model, with its weights (and, with `compile=True`, its optimizer state).

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: the file is truncated, corrupt, unsafe, of another kind than its suffix says, or names
            objects that are neither mlfront's nor registered / in `custom_objects`.
    """
    filepath = os.fspath(filepath)
    arguments = dict(custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    if filepath.endswith(".keras"):
        return keras_archive.load_model(filepath, **arguments)
    head = _first_bytes(filepath, "load_model") if os.path.isfile(filepath) else b""
    if filepath.endswith(_HDF5_SUFFIXES):
        if head.startswith(_ZIP_SIGNATURE):
            raise ValueError(f"load_model: {filepath} is a zip archive (a '.keras' file), not HDF5; give it the "
                             f"'.keras' suffix.")
        return legacy_h5.load_model(filepath, **arguments)
    if head.startswith(_HDF5_SIGNATURE):
        return legacy_h5.load_model(filepath, **arguments)
    return keras_archive.load_model(filepath, **arguments)  # refuses the suffix with its own message


def save_weights(model, filepath, overwrite=True):
    """Write the weights of `model`: Keras 3's layout for a ".weights.h5" path, Keras 2's legacy weights-only
    layout for any other ".h5" / ".hdf5" path (as Keras 2's `save_weights("w.h5")` wrote it).

    Raises:
        ValueError: another suffix (Keras 3 asks for ".weights.h5"; TensorFlow checkpoints are not written).
        FileExistsError: `filepath` exists and `overwrite=False`.
        OSError: the file cannot be written; a previous file is left intact.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        weights_h5.save_weights(model, filepath, overwrite=overwrite)
    elif filepath.endswith(_HDF5_SUFFIXES):
        legacy_h5.save_weights(model, filepath, overwrite=overwrite)
    else:
        raise ValueError(f"Model '{model.name}'.save_weights: the file name must end in '.weights.h5' (Keras 3's "
                         f"layout) or '.h5' (Keras 2's); got {filepath!r}.")


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Assign the weights stored in `filepath` to `model`: an mlfront / Keras 3 weights file, or a Keras 2
    `.h5` file (weights-only or whole model), told apart by their content.

    Raises:
        NotImplementedError: `by_name=True` for a file that is not a Keras 2 `.h5` file (Keras 3's weights
            files have no per-layer names to match).
        ValueError: the file is corrupt, unsafe or does not match `model`; the model is unchanged.
    """
    filepath = os.fspath(filepath)
    if is_keras2_weights(filepath):
        legacy_h5.load_weights(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name)
        return
    if by_name:
        raise NotImplementedError(f"Model '{model.name}'.load_weights: by_name=True matches the layers of a Keras 2 "
                                  f"'.h5' weights file by name, but {filepath} is not one; its weights are matched "
                                  f"in layer order.")
    weights_h5.load_weights(model, filepath, skip_mismatch=skip_mismatch)


def is_keras2_weights(filepath):
    """Whether `filepath` is a Keras 2 `.h5` file (weights-only or whole model), by its content."""
    if not os.path.isfile(filepath) or not _first_bytes(filepath, "load_weights").startswith(
            _HDF5_SIGNATURE):
        return False
    with safe_files.open_hdf5(filepath, "load_weights") as handle:
        return legacy_h5.is_legacy_weights_file(handle)


def _first_bytes(filepath, caller):
    try:
        with open(filepath, "rb") as f:
            return f.read(8)
    except FileNotFoundError:
        raise FileNotFoundError(f"{caller}: no such file: {filepath}") from None
    except IsADirectoryError:
        raise ValueError(f"{caller}: {filepath} is a folder, not a model file.") from None
    except OSError as error:
        raise OSError(error.errno, f"{caller}: cannot read {filepath}: {error.strerror}", filepath) from None
