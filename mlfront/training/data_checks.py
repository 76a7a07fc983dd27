"""Checks of the data given to fit / evaluate / predict against the model, before any engine sees it.

Arrays are checked once, up front: their shapes against the model's inputs, the targets' shapes and class
counts against the outputs and their losses, the range of sparse class labels, dtype kinds. Streamed batches
(generators, PyDataset, tf.data, DataLoader) have their structure and shapes checked on every batch and their
label range on the first. Only NumPy metadata is read, plus `np.min` / `np.max` of class labels once per
array (or first batch), so the cost is a small fraction of a training step (see
`benchmarks/validation_overhead.py`). Every error names the model input / output or the argument, what was
expected and what was given.

The checks can be switched off with the environment variable `MLFRONT_DATA_CHECKS=0` or `set_enabled(False)`
(used by the benchmark that measures them).
"""

import os

import numpy as np

from mlfront.training.data import flatten

_enabled = os.environ.get("MLFRONT_DATA_CHECKS", "1") != "0"

# loss functions whose targets are one-hot (or soft) labels over the output's last axis
_CATEGORICAL = {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"}
# loss functions whose targets are integer class indices in [0, classes)
_SPARSE = {"sparse_categorical_crossentropy"}
# dtype kinds no engine can compute with: objects, strings, bytes, raw records
_NOT_NUMERIC = "OUSV"


def set_enabled(enabled):
    """Switch the checks on or off (for measuring their cost); returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


def _structure(value):
    """The nesting of a batch (dict keys, list lengths), with every array as '*': compared between batches."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_structure(v) for v in value]
    return None if value is None else "*"


def _loss_name(loss):
    """The name of the function a compiled Loss applies ('categorical_crossentropy'), or its own name."""
    fn = getattr(loss, "fn", None)
    fn = getattr(fn, "__wrapped__", fn)
    return getattr(fn, "__name__", None) or getattr(loss, "name", "loss")


def _shape_matches(expected, actual):
    """True when `actual` fits the batch shape `expected` (batch dimension and None entries free)."""
    return len(actual) == len(expected) and all(e is None or e == a for e, a in zip(expected[1:], actual[1:]))


class ModelData:
    """What the data must look like for `model`: its inputs, and its outputs with their losses."""

    def __init__(self, model):
        self.model = model
        self.inputs = model.expected_input_shapes()  # [(consuming layer, batch shape or None)] or None
        self.input_names = list(getattr(model, "input_names", None) or []) if self.inputs is not None else []
        self._outputs = False  # found on first use: predict never needs them
        # per input, the Embedding that reads it as indices, or None: its index range is checked
        self.index_layers = [_embedding(model, name) for name, _ in self.inputs or []]

    @property
    def outputs(self):
        """[(output name, shown name, batch shape or None, Loss or None)], or None without a compiled loss."""
        if self._outputs is False:
            self._outputs = self._find_outputs(self.model)
        return self._outputs

    @staticmethod
    def _find_outputs(model):
        compiled = getattr(model, "compiled_loss", None)
        if compiled is None:
            return None
        try:
            tensors = list(getattr(model, "outputs", None) or [])
        except (ValueError, AttributeError):  # a model whose graph is not known yet
            tensors = []
        names = list(compiled.output_names)
        if len(tensors) != len(names):
            tensors = [None] * len(names)
        layers = getattr(model, "layers", None) or []
        result = []
        for name, tensor, loss in zip(names, tensors, compiled.losses):
            shape = tuple(tensor.shape) if tensor is not None and hasattr(tensor, "shape") else None
            shown = name
            if len(names) == 1 and name == "output_0" and layers:  # a Sequential: name its last layer
                shown = layers[-1].name
            result.append((name, shown, shape, loss))
        return result

    # ------------------------------------------------------------------ x
    def check_inputs(self, x, where, ranges=True):
        """The arrays of `x` against the model's inputs: their number, dtype kind and shapes, and (with
        `ranges`) the indices fed to an Embedding against its `input_dim`."""
        if x is None or not isinstance(x, (list, tuple, dict)) and not hasattr(x, "shape"):
            return  # a generator or dataset: its batches are checked as they are drawn
        if self.inputs is None:
            arrays = [a for a in flatten(x) if isinstance(a, np.ndarray)]
            if not self.model._has_host_layers:
                for array in arrays:
                    _check_numeric(array, f"{where}: x", "the model's input")
            return
        given = x if isinstance(x, (list, tuple)) else list(x.values()) if isinstance(x, dict) else [x]
        if isinstance(x, dict) and self.input_names:
            missing = [name for name in self.input_names if name not in x]
            if missing and len(x) == len(self.input_names) and len(self.input_names) > 1:
                raise ValueError(f"{where}: x is a dict with keys {sorted(x)}, but the model's inputs are "
                                 f"{self.input_names} (missing {missing}).")
            given = [x.get(name) for name in self.input_names]
        if len(given) != len(self.inputs):
            raise ValueError(f"{where}: model '{self.model.name}' expects {len(self.inputs)} input(s), but it "
                             f"received {len(given)} input array(s).")
        for index, (array, (layer_name, shape), embedding) in enumerate(zip(given, self.inputs,
                                                                             self.index_layers)):
            if array is None or shape is None or not hasattr(array, "shape"):
                continue  # an input of host layers (strings allowed), or a shape not known
            if isinstance(array, np.ndarray):
                _check_numeric(array, f"{where}: input {index} of layer '{layer_name}'", f"shape={shape}")
            actual = tuple(array.shape)
            if not _shape_matches(shape, actual):
                raise ValueError(f"{where}: input {index} of layer '{layer_name}' is incompatible with the "
                                 f"layer: expected shape={shape}, found shape={actual}.")
            if ranges and embedding is not None and isinstance(array, np.ndarray) and array.size:
                _check_index_range(array, index, embedding, where)

    # ------------------------------------------------------------------ y
    def check_targets(self, y, where, labels=True):
        """The targets `y` against the outputs and their losses: their number, dtype kind, shapes and class
        counts, and (with `labels`) the range of sparse class labels."""
        if self.outputs is None:
            return
        if y is None:
            if not where.startswith("predict"):
                losses = sorted({_loss_name(loss) for _, _, _, loss in self.outputs if loss is not None})
                raise ValueError(f"{where}: the model was compiled with the loss {', '.join(losses)}, but the "
                                 f"data has no targets: pass `y` (or batches of (x, y)), or compile without a "
                                 f"loss when the model adds its own with add_loss.")
            return
        names = [name for name, _, _, _ in self.outputs]
        if isinstance(y, dict):
            unknown = sorted(set(y) - set(names))
            if unknown:
                raise ValueError(f"{where}: y has key(s) {unknown} that are not outputs of the model; its "
                                 f"outputs are {names}.")
            targets = [y.get(name) for name in names]
        elif isinstance(y, (list, tuple)):
            if len(y) != len(names):
                raise ValueError(f"{where}: y is a list of {len(y)} target array(s), but the model has "
                                 f"{len(names)} output(s) {names}.")
            targets = list(y)
        else:
            targets = [y] + [None] * (len(names) - 1)
            if len(names) > 1:
                raise ValueError(f"{where}: y is a single array, but the model has {len(names)} outputs "
                                 f"{names}; pass a list or a dict of targets.")
        for target, (_, shown, shape, loss) in zip(targets, self.outputs):
            if target is None or not isinstance(target, np.ndarray):
                continue
            _check_numeric(target, f"{where}: y for output '{shown}'", "numbers")
            if loss is not None and shape is not None:
                _check_target(target, shown, shape, loss, where, labels)


def _check_numeric(array, what, expected):
    if array.dtype.kind in _NOT_NUMERIC:
        raise TypeError(f"{what} has dtype {array.dtype} (shape {array.shape}); expected a numeric array "
                        f"({expected}). Convert strings or objects to numbers first (e.g. with "
                        f"StringLookup / a label encoding).")


def _check_target(target, output, shape, loss, where, labels):
    """One output's targets against its batch `shape` and its `loss`."""
    name = _loss_name(loss)
    classes = shape[-1] if shape else None
    actual = target.shape
    if name in _CATEGORICAL:
        if target.ndim != len(shape):
            raise ValueError(f"{where}: {name}: y_true has shape {actual}, but the model's output '{output}' "
                             f"has shape {shape}: {name} needs one-hot labels of that shape (use "
                             f"sparse_categorical_crossentropy for integer class labels).")
        if classes is not None and actual[-1] != classes:
            raise ValueError(f"{where}: {name}: y_true has {actual[-1]} classes, the model's output "
                             f"'{output}' has {classes}.")
        return
    if name in _SPARSE:
        label_shape = shape[:-1]
        if target.ndim == len(shape) and actual[-1] == 1:
            actual = actual[:-1]
        if not _shape_matches(label_shape, actual):
            raise ValueError(f"{where}: {name}: y_true has shape {target.shape}, but the model's output "
                             f"'{output}' (shape {shape}) needs integer class labels of shape {label_shape} "
                             f"(or {label_shape + (1,)}).")
        if labels and target.size:
            _check_label_range(target, output, classes, loss, name, where)
        return
    # other losses compare y_true and y_pred elementwise: same rank, each dimension equal or the target's
    # broadcast from 1 (a prediction broadcast to more target values means the output is too small)
    if target.ndim == len(shape) and not all(e is None or a == e or a == 1
                                             for e, a in zip(shape[1:], actual[1:])):
        raise ValueError(f"{where}: {name}: y_true has shape {actual}, which does not match the model's "
                         f"output '{output}' of shape {shape}.")


def _embedding(model, layer_name):
    """The Embedding layer `layer_name` of `model` (the first consumer of an input), or None."""
    from mlfront.layers.embedding import Embedding
    layer = next((l for l in getattr(model, "layers", None) or [] if l.name == layer_name), None)
    return layer if isinstance(layer, Embedding) else None


def _check_index_range(array, index, embedding, where):
    low, high = array.min(), array.max()
    if low < 0 or high >= embedding.input_dim:
        bad = low if low < 0 else high
        raise ValueError(f"{where}: input {index} holds the index {bad:g}, but Embedding '{embedding.name}' "
                         f"has input_dim={embedding.input_dim}: its indices must be in [0, "
                         f"{embedding.input_dim}).")


def _check_label_range(target, output, classes, loss, name, where):
    ignore = getattr(loss, "fn_kwargs", {}).get("ignore_class")
    values = target if ignore is None else target[target != ignore]
    if not values.size:
        return
    low, high = values.min(), values.max()
    if low < 0 or (classes is not None and high >= classes):
        bad = low if low < 0 else high
        expected = f"[0, {classes})" if classes is not None else "non-negative"
        raise ValueError(f"{where}: {name}: y_true holds the class label {bad:g}, but the labels must be in "
                         f"{expected}: the model's output '{output}' has {classes} classes.")


def check_inputs(model, x, where="fit"):
    """Raise a clear error when the arrays `x` do not fit `model`'s inputs (number, dtype kind, shapes)."""
    if _enabled:
        ModelData(model).check_inputs(x, where)


def check_adapter(model, adapter, where):
    """Check the data of a `DataAdapter` made for `model` by fit / evaluate / predict: arrays now (their
    targets; `Model._check_inputs` has checked x), streamed batches as they are drawn."""
    from mlfront.training import data as _data
    if not _enabled:
        return
    spec = ModelData(model)
    if isinstance(adapter, _data.ArrayDataAdapter):
        spec.check_targets(adapter.data[1], where)
    elif isinstance(adapter, _data._BatchSource):
        source = getattr(adapter, "dataset", None) or getattr(adapter, "iterator", None)
        adapter.check_batch = BatchCheck(spec, adapter, f"{where}: step {{step}} of {type(source).__name__!r}")


class BatchCheck:
    """Checks each batch a streamed source yields (NumPy, before conversion): the structure against the
    first batch, the sizes, the shapes against the model; the label range on the first batch only."""

    def __init__(self, spec, adapter, where):
        self.spec, self.adapter, self.where = spec, adapter, where
        self.first = None  # the structure of the first batch
        self.epoch, self.step = None, 0

    def __call__(self, x, y, sample_weight, may_be_empty=False):
        """`may_be_empty`: the batch is this process's share of a global batch, which may hold no rows."""
        if self.epoch != self.adapter.epoch:
            self.epoch, self.step = self.adapter.epoch, 0
        where = self.where.format(step=self.step)
        self.step += 1
        structure = [_structure(x), _structure(y), _structure(sample_weight)]
        first = self.first is None
        if first:
            self.first = structure
        elif structure != self.first:
            raise ValueError(f"{where}: the batch has the structure (x, y, sample_weight) = {structure}, but "
                             f"the first batch had {self.first}.")
        sizes = {len(a) for a in flatten((x, y, sample_weight)) if getattr(a, "ndim", 0)}
        if may_be_empty and sizes == {0}:
            return  # (the other processes check their rows)
        if len(sizes) > 1 or 0 in sizes:
            shapes = [tuple(a.shape) for a in flatten((x, y, sample_weight)) if hasattr(a, "shape")]
            raise ValueError(f"{where}: the arrays of a batch must have the same, non-zero number of samples "
                             f"(first dimension); got shapes {shapes}.")
        self.spec.check_inputs(x, where, ranges=first)
        self.spec.check_targets(y, where, labels=first)
