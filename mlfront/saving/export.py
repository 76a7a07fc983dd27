"""`Model.export`: an inference artifact for another runtime (TensorFlow SavedModel, ONNX).

The core prepares what every engine needs and the active backend writes the artifact in its own format:

- the input specs, one `(name, shape, dtype)` per model input, batch dimension None (dynamic);
- a pure forward function `forward(values, inputs) -> {output name: output}`: the model in inference mode
  (Dropout inactive, BatchNormalization on its moving statistics) computed with the given variable values;
- the variable values themselves.

A backend lists the formats it writes in `Backend.export_formats` and writes them in `Backend.export_model`.
The artifact is written in a staging folder beside the target and then moved over it by a rename, so an
interrupted export never leaves a half-written file or SavedModel in its place.
"""

import ctypes
import ctypes.util
import os
import secrets
import shutil

import numpy as np

from mlfront import backend as _backend
from mlfront.backend.context import call_context
from mlfront.layers import graph as _graph
from mlfront.saving import atomic
from mlfront.variables import bind, values_of

#: Every format Keras 3's `Model.export` knows; which ones work depends on the backend.
KNOWN_FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")
#: Formats whose artifact is a directory rather than one file.
DIRECTORY_FORMATS = ("tf_saved_model",)


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
    """Write `model` as an inference artifact; see `Model.export`."""
    owner = f"Model '{model.name}'.export"
    B = _backend.get()
    if format not in KNOWN_FORMATS:
        raise ValueError(f"{owner}: unknown format={format!r}; the formats are {', '.join(KNOWN_FORMATS)} "
                         f"(this backend, {B.name!r}, writes {_formats_text(B)}).")
    if format not in B.export_formats:
        raise ValueError(f"{owner}: format={format!r} is not supported on the {B.name!r} backend, which "
                         f"writes {_formats_text(B)}. Export from a backend that writes {format!r} (load the "
                         f"model saved with model.save there).")
    options = dict(kwargs)
    unknown = sorted(set(options) - set(B.export_options.get(format, ())))
    if unknown:
        raise ValueError(f"{owner}: unsupported keyword argument(s) {unknown} for format={format!r} on the "
                         f"{B.name!r} backend; accepted: {sorted(B.export_options.get(format, ())) or 'none'}.")
    if getattr(model, "_has_host_layers", False):
        raise ValueError(f"{owner}: the model starts with host layers (string preprocessing run in NumPy, "
                         f"e.g. StringLookup or TextVectorization), which an exported graph cannot hold; export "
                         f"the model that follows them instead.")
    specs = input_specs(model, input_signature)
    single = len(specs) == 1 and not _built_on_list(model)
    if not model.built:
        _build_on(model, specs, single)
    forward = _forward_function(model, single)
    values = [v.value for v in model.trainable_variables + model.non_trainable_variables]
    filepath = os.fspath(filepath)

    def write(path):
        try:
            B.export_model(forward, values, specs, path, format, **options)
        except Exception as error:  # the engine's own error, with what was being exported added
            if hasattr(error, "add_note") and not isinstance(error, OSError):
                error.add_note(f"{owner}: raised while the {B.name!r} backend traced the model for "
                               f"format={format!r} with inputs {specs} (None: a dynamic dimension).")
            raise

    _write_beside(filepath, format in DIRECTORY_FORMATS, owner, write)
    if verbose or verbose is None:
        print(f"Saved artifact at '{filepath}' (format {format!r}).")


def _formats_text(B):
    return ", ".join(repr(f) for f in B.export_formats) or "no export format"


# ---------------------------------------------------------------------- input specs
def input_specs(model, input_signature=None):
    """[(name, shape, dtype)] per model input, from `input_signature` or from the model's own inputs.

    `input_signature` is one spec or a list/tuple of them; a spec is a shape (a tuple of ints and None,
    batch first), or anything with `.shape` and `.dtype`: `mlfront.Input(...)`, a NumPy or engine array,
    `tf.TensorSpec`. The batch dimension is made dynamic (None) whatever is given.
    """
    owner = f"Model '{model.name}'.export"
    if input_signature is not None:
        given = [input_signature] if _is_one_spec(input_signature) else list(input_signature)
        if not given:
            raise ValueError(f"{owner}: input_signature is empty; give one spec per model input.")
        specs = [_spec(s, index, owner) for index, s in enumerate(given)]
    else:
        specs = _model_specs(model, owner)
    names = list(getattr(model, "input_names", None) or [])
    if len(names) != len(specs):
        names = ["inputs"] if len(specs) == 1 else [f"inputs_{i}" for i in range(len(specs))]
    return [(name, (None,) + tuple(shape[1:]), dtype) for name, (shape, dtype) in zip(names, specs)]


def _is_one_spec(value):
    if hasattr(value, "shape"):
        return True
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _spec(value, index, owner):
    B = _backend.get()
    if B.is_array(value):
        shape, dtype = B.shape(value), B.dtype(value)
    elif hasattr(value, "shape"):
        shape, dtype = value.shape, getattr(value, "dtype", "float32")
    elif _is_one_spec(value):
        shape, dtype = value, "float32"
    else:
        raise ValueError(f"{owner}: input_signature[{index}] must be a shape (tuple of ints and None) or have "
                         f".shape and .dtype (Input, array, tf.TensorSpec); got {value!r}.")
    shape = tuple(None if d is None else int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape))
    if not shape:
        raise ValueError(f"{owner}: input_signature[{index}] has no batch dimension (shape ()); the first "
                         f"dimension is the batch.")
    if any(d is not None and d < 1 for d in shape[1:]):
        raise ValueError(f"{owner}: input_signature[{index}] has shape {shape}; every dimension after the "
                         f"batch must be None or a positive int.")
    return shape, np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, np.dtype) else dtype).name


def _model_specs(model, owner):
    inputs = list(getattr(model, "inputs", None) or [])
    if inputs and all(isinstance(t, _graph.SymbolicTensor) for t in inputs):
        return [(t.shape, t.dtype) for t in inputs]
    shape = getattr(model, "_build_input_shape", None)
    if not model.built or shape is None:
        raise ValueError(f"{owner}: the model's input shapes are unknown (it has not been built or called); "
                         f"pass input_signature=[(None, ...)] or call the model on a batch first.")
    shapes = [shape] if _is_one_spec(shape) else list(shape)
    if not all(_is_one_spec(s) for s in shapes):
        raise ValueError(f"{owner}: the model was built on nested inputs ({shape!r}); pass input_signature "
                         f"with one shape per input.")
    return [(tuple(s), "float32") for s in shapes]


def _build_on(model, specs, single):
    """Create the weights of an unbuilt model by calling it once on zeros of the signature's shapes."""
    B = _backend.get()
    zeros = [B.convert(np.zeros([1 if d is None else d for d in shape], dtype)) for _, shape, dtype in specs]
    with call_context(False):
        model(zeros[0] if single else zeros, training=False)


def _built_on_list(model):
    """True when a one-input model was built on a list of one input (so it is called with a list)."""
    shape = getattr(model, "_build_input_shape", None)
    return isinstance(shape, list) and len(shape) == 1 and _is_one_spec(shape[0])


# ---------------------------------------------------------------------- the forward pass
def _forward_function(model, single):
    """forward(values, inputs) -> {output name: output}: the model in inference mode on the given values."""
    variables = model.trainable_variables + model.non_trainable_variables
    declared = list(model.output_names)

    def forward(values, inputs):
        saved = values_of(variables)
        bind(variables, list(values))
        try:
            with call_context(False):
                outputs = model(inputs[0] if single else list(inputs), training=False)
        finally:
            bind(variables, saved)
        if isinstance(outputs, dict):
            return dict(outputs)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        names = declared if len(declared) == len(outputs) else [f"output_{i}" for i in range(len(outputs))]
        return dict(zip(names, outputs))

    return forward


# ---------------------------------------------------------------------- writing beside the target
def _write_beside(filepath, is_directory, owner, write):
    """`write(staging_path)`, then the result moved over `filepath` (a file or a directory) by a rename."""
    folder, name = os.path.split(os.path.abspath(filepath))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{owner}: the folder of {filepath!r} does not exist.")
    if os.path.lexists(filepath):
        if is_directory and not (os.path.isdir(filepath) and not os.path.islink(filepath)
                                 and os.path.exists(os.path.join(filepath, "saved_model.pb"))):
            raise FileExistsError(f"{owner}: {filepath!r} exists and is not a SavedModel directory; refusing "
                                  f"to replace it.")
        if not is_directory and not os.path.isfile(filepath):
            raise FileExistsError(f"{owner}: {filepath!r} exists and is not a file; refusing to replace it.")
    atomic.remove_stale_temporaries_in(folder)  # staging folders of killed exports
    staging = os.path.join(folder, atomic._temporary_prefix(name) + f"{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.mkdir(staging, 0o777)  # the umask decides the mode, as for a plain mkdir
    except OSError as error:
        raise atomic._error(error, owner, filepath) from error
    try:
        target = os.path.join(staging, name)
        write(target)
        if not os.path.exists(target):
            raise RuntimeError(f"{owner}: the backend wrote nothing at {target!r}.")
        atomic.fsync_tree(target)
        if is_directory and os.path.isdir(filepath):
            _swap_directories(target, filepath)  # the old SavedModel ends up in staging, removed below
        else:
            os.replace(target, filepath)
        atomic._fsync_folder(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_RENAME_EXCHANGE = 2


def _swap_directories(new, old):
    """Exchange two directories in one step (Linux renameat2); elsewhere two renames, old one first."""
    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None
    if renameat2 is not None:
        at_cwd = -100
        if renameat2(at_cwd, os.fsencode(new), at_cwd, os.fsencode(old), _RENAME_EXCHANGE) == 0:
            return
    aside = new + ".old"
    os.rename(old, aside)
    os.rename(new, old)
    os.rename(aside, new)
