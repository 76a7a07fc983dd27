"""`Model`: a Layer that trains (compile / fit / evaluate / predict), summarises and saves its weights.

`Model(inputs, outputs)` builds a functional model; subclass `Model` and write `call` for anything else.
"""

import json

import numpy as np

from mlfront.layers import graph as _graph
from mlfront.layers.base import Layer
from mlfront.training import data as _data
from mlfront.training.trainer import Trainer, host_inputs_are_ready, host_inputs_ready


class Model(Trainer, Layer):
    """A trainable stack or graph of layers.

    `Model(inputs, outputs, name=None)` builds a Functional model; `class M(Model)` with layers made in
    `__init__` and the forward pass in `call(inputs, training=None)` builds a subclassed one.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            from mlfront.models.functional import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args:
            raise TypeError(f"{type(self).__name__}: unexpected positional arguments {args!r}; a subclassed "
                            f"model passes only keyword arguments (name=..., trainable=...) to Model.__init__.")
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        if _holds_numpy(inputs) and not self._has_host_layers:
            # `model(x)` on NumPy data casts boolean / integer arrays as fit and predict do (float where the
            # model reads floats), so the engine never sees a boolean matmul.
            from mlfront.training import input_dtypes
            inputs = input_dtypes.cast_structure(inputs, input_dtypes.input_spec(self))
        if self._has_host_layers and not host_inputs_are_ready() and not _graph.is_symbolic(inputs):
            # Called on raw data: the host layers first (NumPy), then the rest as in the compiled steps.
            inputs = self.host_preprocess(inputs)
            with host_inputs_ready():
                return Layer.__call__(self, inputs, *args, **kwargs)
        return Layer.__call__(self, inputs, *args, **kwargs)

    # ------------------------------------------------------------------ host layers (NumPy, before the step)
    def host_preprocess(self, x):
        """The inputs of the engine part of the model, computed in NumPy by its host layers from the raw
        inputs `x` (one batch). Models with host layers (`StringLookup`, `TextVectorization`, ...) implement it;
        fit / evaluate / predict apply it to every batch before converting it to engine arrays."""
        raise NotImplementedError(f"Model '{self.name}' ({type(self).__name__}) has no host layers to apply.")

    # ------------------------------------------------------------------ structure
    @property
    def output_names(self):
        """Names of the outputs, which key per-output losses, metrics and logs."""
        return getattr(self, "_output_names", None) or ["output_0"]

    def get_layer(self, name=None, index=None):
        """A layer of this model by `name` or by `index`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Model '{self.name}': layer index {index} is out of range; the model has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}' has no layer named {name!r}. Its layers are: "
                         f"{[l.name for l in self.layers]}.")

    def expected_input_shapes(self):
        """[(consuming layer name, batch shape or None: not checked)] per input when the model's inputs are
        known, else None."""
        return None

    def _check_inputs(self, x, data=None, where="fit"):
        """Clear errors, naming the model input / output, for data that does not fit the model: the arrays
        `x` (number, dtype kind, shapes), or with `data` (the DataAdapter made for `where`: "fit", "evaluate",
        "predict") the targets of arrays and every streamed batch (see `mlfront.training.data_checks`)."""
        from mlfront.training import data_checks
        if data is None:
            data_checks.check_inputs(self, x, where)
        else:
            data_checks.check_adapter(self, data, where)

    # ------------------------------------------------------------------ summary and weights
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print the layers, their output shapes and parameter counts, in Keras's table layout (`line_length`
        wide, columns ending at `positions`: fractions of the width or characters, as in Keras)."""
        from mlfront.models.summary import format_summary
        (print_fn or print)(format_summary(self, line_length, positions))

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_input_shape = input_shape  # saved as the build_config of a `.keras` file
            self._building_on_call = True
            try:
                Layer._maybe_build(self, input_shape)
            finally:
                self._building_on_call = False

    def build(self, input_shape=None):
        """Create the weights of a subclassed model for inputs of `input_shape` (batch dimension first, None
        allowed; a list of shapes for several inputs) by running `call` once on zeros, as Keras does, so that
        `summary()`, `count_params()` and `load_weights` work before the first batch. A model whose class
        defines its own `build` is built by that method."""
        if self.built or input_shape is None or getattr(self, "_building_on_call", False) \
                or type(self).build is not Model.build:
            self.built = True
            return
        from mlfront import backend as _backend
        from mlfront.backend.context import call_context
        B = _backend.get()

        def zeros(shape):
            if not isinstance(shape, (tuple, list)) or not all(d is None or isinstance(d, int) for d in shape):
                raise ValueError(f"Model '{self.name}'.build: expected a shape tuple (batch first, e.g. "
                                 f"(None, 8)) or a list of them, got {input_shape!r}.")
            return B.zeros(tuple(1 if d is None else d for d in shape), self.dtype)

        several = isinstance(input_shape, list) and all(isinstance(s, (tuple, list)) for s in input_shape)
        example = [zeros(s) for s in input_shape] if several else zeros(input_shape)
        with call_context(False):
            self(example)
        self._build_input_shape = input_shape

    def save(self, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
        """Write the whole model (architecture, compile config, weights, optimizer state) to a `.keras`
        file, or to a legacy `.h5` / `.hdf5` file (also with Keras 2's `save_format="h5"`), replaced
        atomically; reload it with `mlfront.models.load_model`. See `mlfront.saving.save_model`."""
        from mlfront.saving import saving_api
        saving_api.save_model(self, filepath, overwrite=overwrite, zipped=zipped,
                              include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Write all weights to an HDF5 file, replaced atomically: Keras 3's layout for a ".weights.h5" path,
        Keras 2's for another ".h5" path. See `mlfront.saving.saving_api.save_weights`."""
        from mlfront.saving import saving_api
        saving_api.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        """Read weights written by `save_weights` here or by Keras (also Keras 2 `.h5` files, matched in
        layer order or, with `by_name=True`, by layer name), after checking every shape (nothing changes
        on error). See `mlfront.saving.saving_api.load_weights`."""
        from mlfront.saving import saving_api
        saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs):
        """The model's architecture (not its weights) as a JSON string in Keras's form; rebuild it with
        `mlfront.models.model_from_json`. `kwargs` are passed to `json.dumps`."""
        import mlfront
        from mlfront.saving import serialize_keras_object

        config = serialize_keras_object(self)
        config.update(keras_version=f"mlfront-{mlfront.__version__}", backend=mlfront.backend())
        try:
            return json.dumps(config, **kwargs)
        except TypeError as err:
            raise TypeError(f"Model '{self.name}'.to_json: the config holds a value JSON cannot store ({err}); "
                            f"a function in a config must be mlfront's own or registered with "
                            f"mlfront.saving.register_keras_serializable.") from None

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Write the model as an inference artifact for another runtime, as Keras 3's `Model.export`.

        Each backend writes its own formats (`mlfront.backend.get().export_formats`): a TensorFlow
        SavedModel on the tensorflow backend (reload with `tf.saved_model.load(path).serve(x)` or its
        "serving_default" signature), an ONNX file on the torch backend (run with
        `onnxruntime.InferenceSession(path)`). The batch dimension stays dynamic. The artifact replaces
        `filepath` by a rename once it is complete.

        Args:
            filepath: the file (ONNX) or directory (SavedModel) to write.
            format: "tf_saved_model" (default, as in Keras), "onnx"; Keras's "openvino", "litert" and
                "torch" are not written by any mlfront backend and raise.
            verbose: print a line once the artifact is saved (None: print, as Keras does).
            input_signature: one input spec or a list of them, replacing the model's own input shapes: a
                shape tuple (`(None, 8)`), `mlfront.Input(...)`, an array or a `tf.TensorSpec`.
            **kwargs: format options; `opset_version` for "onnx".

        Raises:
            ValueError: an unknown format, a format the active backend does not write, an unknown option,
                or input shapes that cannot be known.
        """
        from mlfront.saving import export as _export
        _export.export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature,
                             **kwargs)

    def to_yaml(self, **kwargs):
        """Removed, as in Keras: loading YAML could run arbitrary code. Use `to_json`."""
        raise RuntimeError("Method `model.to_yaml()` has been removed due to security risk of arbitrary code "
                           "execution. Please use `model.to_json()` instead.")

    def get_weights(self):
        return [np.array(v.numpy()) for v in self.weights]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from `get_config()`: `Model.from_config` rebuilds a functional model's graph."""
        if cls is Model and "input_layers" in config:
            from mlfront.models.functional import Functional
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)


def _holds_numpy(inputs):
    if isinstance(inputs, np.ndarray):
        return True
    values = inputs.values() if isinstance(inputs, dict) else inputs if isinstance(inputs, (list, tuple)) else ()
    return any(isinstance(v, np.ndarray) for v in values)


def host_array(value, batch_shape):
    """A raw model input as a NumPy array for the host layers; a missing last axis of size 1 is added, as
    Keras does for inputs one rank short (`Input(shape=(1,), dtype="string")` fed a 1D array of strings)."""
    array = _data.as_numpy(value)
    if batch_shape is not None and array.ndim == len(batch_shape) - 1 and batch_shape[-1] == 1:
        array = array[..., None]
    return array


def is_string_list(value):
    """True for a list / tuple of Python strings (one batch of text, not several inputs)."""
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, (str, bytes)) for v in value)
