"""Losses by Keras name: functions `fn(y_true, y_pred) -> per-sample loss` and `Loss` classes that reduce them.

Probability-based crossentropies clip predictions to [epsilon, 1 - epsilon] as Keras does; with
`from_logits=True` they use the backend's fused, numerically stable kernels.
"""

from mlfront import backend as _backend
from mlfront.utils.naming import lookup, snake_case

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def mean_squared_error(y_true, y_pred):
    B = _backend.get()
    return B.mean(B.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    B = _backend.get()
    return B.mean(B.abs(y_pred - y_true), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    B = _backend.get()
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return B.mean(B.binary_crossentropy_from_logits(y_true, y_pred), axis=-1)
    p = B.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -B.mean(y_true * B.log(p) + (1.0 - y_true) * B.log(1.0 - p), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    B = _backend.get()
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / B.shape(y_true)[axis]
    if from_logits:
        return -B.sum(y_true * B.log_softmax(y_pred, axis=axis), axis=axis)
    p = y_pred / B.sum(y_pred, axis=axis, keepdims=True)
    return -B.sum(y_true * B.log(B.clip(p, EPSILON, 1.0 - EPSILON)), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    B = _backend.get()
    labels = _sparse_labels(B, y_true, y_pred)
    if from_logits:
        return B.sparse_categorical_crossentropy_from_logits(labels, y_pred)
    p = B.clip(y_pred / B.sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    return -B.squeeze(B.take_along_axis(B.log(p), B.expand_dims(labels, -1), axis=-1), -1)


def _sparse_labels(B, y_true, y_pred):
    """Integer class indices shaped like `y_pred` without its class axis ((n, 1) labels are squeezed)."""
    if len(B.shape(y_true)) == len(B.shape(y_pred)):
        y_true = B.squeeze(y_true, -1)
    return y_true if B.dtype(y_true).startswith("int") else B.cast(y_true, "int32")


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


class Loss:
    """A loss with a reduction: `loss(y_true, y_pred, sample_weight=None)` returns a scalar
    ("sum_over_batch_size", "sum") or per-sample values ("none").

    Subclasses implement `call(y_true, y_pred)` returning per-sample losses.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction in ("auto", "mean", None):
            reduction = "sum_over_batch_size"
        if reduction not in REDUCTIONS:
            raise ValueError(f"Loss {name or type(self).__name__}: `reduction` must be one of {REDUCTIONS}, "
                             f"got {reduction!r}.")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            values = values * _match_rank(B, sample_weight, values)
        if self.reduction == "none":
            return values
        total = B.sum(values)
        return total if self.reduction == "sum" else total / _count(B, values)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _match_rank(B, weight, values):
    weight = B.cast(weight, B.dtype(values))
    while len(B.shape(weight)) > len(B.shape(values)):
        weight = B.squeeze(weight, -1)
    return weight


def _count(B, values):
    return B.cast(B.sum(B.ones_like(values)), B.dtype(values)) if B.shape(values) and None in B.shape(values) \
        else float(max(1, _prod(B.shape(values))))


def _prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample function, with fixed keyword arguments (e.g. `from_logits`)."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **fn_kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def _loss_class(class_name, fn, default_name, **defaults):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected keyword argument(s) {sorted(unknown)}.")
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, **{**defaults, **kwargs})

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.fn_kwargs}
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "get_config": get_config,
                                                     "__doc__": f"Loss class of `{fn.__name__}`."})


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                 from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      "categorical_crossentropy", from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                            "sparse_categorical_crossentropy", from_logits=False)

CLASSES = {
    "MeanSquaredError": MeanSquaredError, "MeanAbsoluteError": MeanAbsoluteError,
    "BinaryCrossentropy": BinaryCrossentropy, "CategoricalCrossentropy": CategoricalCrossentropy,
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A `Loss` from a name ("mse", "categorical_crossentropy", "CategoricalCrossentropy"), a Loss, or a
    function `fn(y_true, y_pred)` returning per-sample (or scalar) losses."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        table = {**FUNCTIONS, **CLASSES}
        found = lookup(table, identifier, "loss")
        return found() if isinstance(found, type) else LossFunctionWrapper(found, name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", "loss"))
    raise ValueError(f"Could not interpret loss {identifier!r}: expected a name, a Loss or a function "
                     f"fn(y_true, y_pred).")
