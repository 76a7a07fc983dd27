"""Metrics: stateful accumulators whose state lives in Variables, so the training core can carry the
state through its pure, compiled step and read results only when it reports them."""

from mlfront import backend as _backend
from mlfront import losses as _losses
from mlfront.utils.naming import lookup, snake_case
from mlfront.variables import Variable


class Metric:
    """Base class: `update_state(y_true, y_pred, sample_weight=None)`, `result()`, `reset_state()`.

    State is created with `add_variable` in `__init__`; updates `assign` new values to it.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None):
        from mlfront import initializers
        value = initializers.get(initializer)(tuple(shape), dtype=dtype or self.dtype)
        variable = Variable(value, trainable=False, name=name or f"var_{len(self._variables)}",
                            dtype=dtype or self.dtype, path=f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        B = _backend.get()
        for v in self._variables:
            v.assign(B.zeros_like(v.value))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch and return the running result (eager use outside `fit`)."""
        B = _backend.get()
        self.update_state(B.convert(y_true), B.convert(y_pred),
                          None if sample_weight is None else B.convert(sample_weight))
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values it is given."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        B = _backend.get()
        values = B.cast(values, self.dtype)
        if isinstance(sample_weight, (int, float)):  # one weight for every value (e.g. a batch size)
            self.total.assign(self.total.value + B.sum(values) * sample_weight)
            self.count.assign(self.count.value + sample_weight * _size(B, values))
            return
        if sample_weight is None:
            self.total.assign(self.total.value + B.sum(values))
            self.count.assign(self.count.value + B.sum(B.ones_like(values)))
            return
        weight = B.broadcast_to(_losses._match_rank(B, sample_weight, values), B.shape(values)) \
            if len(B.shape(values)) else B.cast(sample_weight, self.dtype)
        self.total.assign(self.total.value + B.sum(values * weight))
        self.count.assign(self.count.value + B.sum(weight))

    def result(self):
        return self.total.value / _backend.get().maximum(self.count.value, 1e-12)


def _size(B, values):
    size = 1
    for d in B.shape(values):
        size *= d
    return float(size)


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample function `fn(y_true, y_pred)`."""

    def __init__(self, fn, name=None, dtype=None, **fn_kwargs):
        super().__init__(name or fn.__name__, dtype)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


# ---------------------------------------------------------------------- per-sample metric functions
def binary_accuracy(y_true, y_pred, threshold=0.5):
    B = _backend.get()
    predicted = B.cast(y_pred > threshold, "float32")
    return B.mean(B.cast(B.equal(B.cast(y_true, "float32"), predicted), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    B = _backend.get()
    return B.cast(B.equal(B.argmax(y_true, axis=-1), B.argmax(y_pred, axis=-1)), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    B = _backend.get()
    labels = _losses._sparse_labels(B, y_true, y_pred)
    return B.cast(B.equal(B.cast(labels, "int32"), B.cast(B.argmax(y_pred, axis=-1), "int32")), "float32")


def _metric_class(class_name, fn, default_name, **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self.fn_kwargs}
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "get_config": get_config,
                                                   "__doc__": f"Mean of `{fn.__name__}` over samples."})


BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                          "sparse_categorical_accuracy")
MeanSquaredError = _metric_class("MeanSquaredError", _losses.mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", _losses.mean_absolute_error, "mean_absolute_error")

FUNCTIONS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mean_squared_error": _losses.mean_squared_error, "mse": _losses.mean_squared_error,
    "mean_absolute_error": _losses.mean_absolute_error, "mae": _losses.mean_absolute_error,
}
CLASSES = {
    "BinaryAccuracy": BinaryAccuracy, "CategoricalAccuracy": CategoricalAccuracy,
    "SparseCategoricalAccuracy": SparseCategoricalAccuracy, "MeanSquaredError": MeanSquaredError,
    "MeanAbsoluteError": MeanAbsoluteError, "Mean": Mean,
}


def resolve_accuracy(loss, y_true_shape, y_pred_shape):
    """The accuracy variant Keras picks for "accuracy": from the loss, else from the shapes."""
    loss_name = getattr(loss, "name", "")
    if loss_name in ("binary_crossentropy",):
        return binary_accuracy
    if loss_name in ("categorical_crossentropy",):
        return categorical_accuracy
    if loss_name in ("sparse_categorical_crossentropy",):
        return sparse_categorical_accuracy
    if y_pred_shape[-1] == 1:
        return binary_accuracy
    if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier, loss=None, y_true_shape=None, y_pred_shape=None):
    """A `Metric` from a name, a Metric, a class or a function `fn(y_true, y_pred)`.

    "accuracy"/"acc" is resolved against the loss and the data shapes, as Keras does.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return MeanMetricWrapper(resolve_accuracy(loss, y_true_shape, y_pred_shape), name=identifier)
        found = lookup({**FUNCTIONS, **CLASSES}, identifier, "metric")
        return found() if isinstance(found, type) else MeanMetricWrapper(found, name=identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric {identifier!r}: expected a name, a Metric or a function "
                     f"fn(y_true, y_pred).")
