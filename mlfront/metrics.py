"""Metrics: stateful accumulators whose state lives in Variables, so the training core can carry the
state through its pure, compiled step and read results only when it reports them.

Every `update_state` is written with backend ops and `Variable.assign` only (no Python branching on array
values), so it runs inside the trainer's jax.jit / tf.function step; `result()` is computed from the state.
"""

import numpy as np

from mlfront import backend as _backend
from mlfront.backend.config import epsilon
from mlfront import losses as _losses
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup, snake_case
from mlfront.variables import Variable

NEG_INF = -1e10  # what top_k filtering gives the entries it drops (Keras's value)


class Metric:
    """Base class: `update_state(y_true, y_pred, sample_weight=None)`, `result()`, `reset_state()`.

    State is created with `add_variable` in `__init__` (or in `build`, for state whose shape depends on the
    data, e.g. one counter per class); updates `assign` new values to it. `_direction` ("up" or "down") tells
    callbacks in `mode="auto"` whether larger values are better.
    """

    _direction = "down"

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables = []
        self.built = False

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None, aggregation="sum"):
        """A state Variable (not trainable) of `shape`, starting at `initializer`."""
        from mlfront import initializers
        name = name or f"var_{len(self._variables)}"
        value = initializers.get(initializer)(tuple(shape), dtype=dtype or self.dtype)
        variable = Variable(value, trainable=False, name=name, dtype=dtype or self.dtype,
                            path=f"{self.name}/{name}", aggregation=aggregation)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    def build(self, y_true_shape, y_pred_shape):
        """Create data-dependent state; called once with the first batch's shapes (before any trace)."""
        self.built = True

    def _maybe_build(self, y_true_shape, y_pred_shape):
        if not self.built:
            self.build(tuple(y_true_shape or ()), tuple(y_pred_shape or ()))
            self.built = True

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
        y_true, y_pred = B.convert(_float_input(y_true)), B.convert(_float_input(y_pred))
        self._maybe_build(B.shape(y_true), B.shape(y_pred))
        self.update_state(y_true, y_pred, None if sample_weight is None else B.convert(_float_input(sample_weight)))
        return self.result()

    # ------------------------------------------------------------------ stateless API (custom training loops)
    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """The values of `self.variables` after `update_state(*args, **kwargs)` from `metric_variables`.

        The metric itself is not changed; usable inside `mlfront.jit`.
        """
        from mlfront.training import stateless
        return stateless.stateless_update_state(self, metric_variables, *args, **kwargs)

    def stateless_result(self, metric_variables):
        """`result()` computed from the values `metric_variables` (one per `self.variables`)."""
        from mlfront.training import stateless
        return stateless.stateless_result(self, metric_variables)

    def stateless_reset_state(self):
        """The values of `self.variables` after `reset_state()`, without changing the metric."""
        from mlfront.training import stateless
        return stateless.stateless_reset_state(self)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _float_input(x):
    """NumPy float64 / int64 inputs narrowed to mlfront's defaults (float32 / int32)."""
    if isinstance(x, (np.ndarray, list, tuple, float, int)):
        x = np.asarray(x)
        if x.dtype == np.float64:
            return x.astype(np.float32)
        if x.dtype == np.int64:
            return x.astype(np.int32)
    return x


# ---------------------------------------------------------------------- shared helpers (backend ops only)
def _same_rank(B, y_true, y_pred):
    """`y_true` made the rank of `y_pred` when they differ by a trailing axis of length 1 ((n,) vs (n, 1))."""
    true_rank, pred_rank = len(B.shape(y_true)), len(B.shape(y_pred))
    if true_rank == pred_rank - 1 and B.shape(y_pred)[-1] == 1:
        y_true = B.expand_dims(y_true, -1)
    elif true_rank == pred_rank + 1 and B.shape(y_true)[-1] == 1:
        y_true = B.squeeze(y_true, -1)
    return y_true, y_pred


def _weights_like(B, sample_weight, values):
    """`sample_weight` (None, per sample, or per entry) broadcast to the shape of `values`."""
    if sample_weight is None:
        return B.ones_like(values)
    weight = B.cast(sample_weight, B.dtype(values))
    while len(B.shape(weight)) > len(B.shape(values)) and B.shape(weight)[-1] == 1:
        weight = B.squeeze(weight, -1)
    while len(B.shape(weight)) < len(B.shape(values)):
        weight = B.expand_dims(weight, -1)
    return B.broadcast_to(weight, B.shape(values))


def _divide_no_nan(B, numerator, denominator):
    """numerator / denominator, and 0 where the denominator is 0."""
    zero = denominator == 0
    return B.where(zero, B.zeros_like(numerator), numerator / B.where(zero, B.ones_like(denominator), denominator))


def _is_positive(B, y_true):
    """1.0 where a label is non-zero (a positive), else 0.0."""
    y_true = B.cast(y_true, "float32")
    return B.cast(y_true != 0, "float32")


def _filter_top_k(B, y_pred, k):
    """`y_pred` with all but the `k` largest entries of its last axis set to NEG_INF."""
    kth_largest = B.top_k(y_pred, k)[0][..., k - 1:k]
    return B.where(y_pred >= kth_largest, y_pred, y_pred * 0.0 + NEG_INF)


def _confusion_counts(B, y_true, y_pred, thresholds, sample_weight, num_labels=1):
    """(tp, fp, tn, fn), each shaped (len(thresholds), num_labels): the weighted counts of predictions
    `y_pred > threshold` against positive (non-zero) labels, over all entries (labels kept apart)."""
    labels = _is_positive(B, y_true)
    weights = _weights_like(B, sample_weight, labels)
    labels = B.reshape(labels, (1, -1, num_labels))
    weights = B.reshape(weights, (1, -1, num_labels))
    scores = B.reshape(B.cast(y_pred, "float32"), (1, -1, num_labels))
    cut = B.reshape(B.convert(np.asarray(thresholds, "float32")), (-1, 1, 1))
    above = B.cast(scores > cut, "float32")
    below = 1.0 - above

    def count(pred, truth):
        return B.sum(pred * truth * weights, axis=1)
    return count(above, labels), count(above, 1.0 - labels), count(below, 1.0 - labels), count(below, labels)


# ---------------------------------------------------------------------- Mean and its wrappers
class Mean(Metric):
    """The (weighted) mean of the values it is given.

    Args:
        name: metric name.
        dtype: state dtype.
    """

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
        weight = _weights_like(B, sample_weight, values)
        self.total.assign(self.total.value + B.sum(values * weight))
        self.count.assign(self.count.value + B.sum(weight))

    def result(self):
        return self.total.value / _backend.get().maximum(self.count.value, 1e-12)

    def __call__(self, values, sample_weight=None):
        B = _backend.get()
        self.update_state(B.convert(_float_input(values)),
                          None if sample_weight is None else B.convert(_float_input(sample_weight)))
        return self.result()


def _size(B, values):
    size = 1
    for d in B.shape(values):
        size *= d
    return float(size)


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample function `fn(y_true, y_pred, **kwargs)`.

    Args:
        fn: the per-sample function.
        name: metric name (defaults to the function's name).
        dtype: state dtype.
        **kwargs: fixed keyword arguments of `fn` (e.g. `threshold`, `k`).
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or fn.__name__, dtype)
        self.fn = fn
        self.fn_kwargs = kwargs
        self._direction = "up" if "accuracy" in getattr(fn, "__name__", "") else "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return Metric.__call__(self, y_true, y_pred, sample_weight)

    def get_config(self):
        return {**super().get_config(), "fn": _serialization.function_config(self.fn), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = _serialization.function_from_config(config["fn"], module_objects=FUNCTIONS)
        return cls(**config)


# ---------------------------------------------------------------------- per-sample metric functions
def accuracy(y_true, y_pred):
    """1.0 where `y_pred` equals `y_true` exactly, else 0.0 (per entry)."""
    B = _backend.get()
    y_true, y_pred = _same_rank(B, y_true, y_pred)
    return B.cast(B.equal(B.cast(y_true, "float32"), B.cast(y_pred, "float32")), "float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per sample, the fraction of entries where `y_pred > threshold` matches the 0/1 label."""
    B = _backend.get()
    y_true, y_pred = _same_rank(B, y_true, y_pred)
    predicted = B.cast(y_pred > threshold, "float32")
    return B.mean(B.cast(B.equal(B.cast(y_true, "float32"), predicted), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of `y_pred` is the arg-max of the one-hot `y_true`."""
    B = _backend.get()
    return B.cast(B.equal(B.cast(B.argmax(y_true, axis=-1), "int32"), B.cast(B.argmax(y_pred, axis=-1), "int32")),
                  "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of `y_pred` is the integer label `y_true`."""
    B = _backend.get()
    labels = _losses._sparse_labels(B, y_true, y_pred)
    return B.cast(B.equal(B.cast(labels, "int32"), B.cast(B.argmax(y_pred, axis=-1), "int32")), "float32")


def _in_top_k(B, labels, y_pred, k):
    """1.0 where the label's score has fewer than `k` scores strictly above it (ties count as in)."""
    target = B.take_along_axis(y_pred, B.expand_dims(B.cast(labels, "int32"), -1), axis=-1)
    above = B.sum(B.cast(y_pred > target, "float32"), axis=-1)
    return B.cast(above < k, "float32")


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the `k` highest scores of `y_pred`."""
    B = _backend.get()
    return _in_top_k(B, B.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the `k` highest scores of `y_pred`."""
    B = _backend.get()
    return _in_top_k(B, _losses._sparse_labels(B, y_true, y_pred), y_pred, k)


def _metric_class(class_name, fn, default_name, direction="down", **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected keyword argument(s) {sorted(unknown)}; "
                            f"accepted: name, dtype{''.join(', ' + k for k in defaults)}.")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
        self._direction = direction

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self.fn_kwargs}
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "get_config": get_config,
                                                   "__doc__": f"Mean of `{fn.__name__}` over samples.",
                                                   "__module__": __name__})


Accuracy = _metric_class("Accuracy", accuracy, "accuracy", "up")
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", "up", threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy", "up")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                          "sparse_categorical_accuracy", "up")
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                        "top_k_categorical_accuracy", "up", k=5)
SparseTopKCategoricalAccuracy = _metric_class("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
                                              "sparse_top_k_categorical_accuracy", "up", k=5)
MeanSquaredError = _metric_class("MeanSquaredError", _losses.mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", _losses.mean_absolute_error, "mean_absolute_error")
BinaryCrossentropy = _metric_class("BinaryCrossentropy", _losses.binary_crossentropy, "binary_crossentropy",
                                   from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _metric_class("CategoricalCrossentropy", _losses.categorical_crossentropy,
                                        "categorical_crossentropy", from_logits=False, label_smoothing=0.0,
                                        axis=-1)
SparseCategoricalCrossentropy = _metric_class("SparseCategoricalCrossentropy",
                                              _losses.sparse_categorical_crossentropy,
                                              "sparse_categorical_crossentropy", from_logits=False, axis=-1)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of `(y_pred - y_true) ** 2` over all entries."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        y_true, y_pred = _same_rank(B, y_true, y_pred)
        super().update_state(B.square(B.cast(y_pred, self.dtype) - B.cast(y_true, self.dtype)), sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return Metric.__call__(self, y_true, y_pred, sample_weight)

    def result(self):
        return _backend.get().sqrt(super().result())


# ---------------------------------------------------------------------- confusion-matrix metrics
def _thresholds_argument(owner, thresholds, top_k):
    """(list of thresholds, whether the result is a vector) from Keras's `thresholds` argument."""
    if thresholds is None:
        return [0.5 if top_k is None else NEG_INF], False
    single = isinstance(thresholds, (int, float))
    values = [float(thresholds)] if single else [float(t) for t in thresholds]
    if any(not 0.0 <= t <= 1.0 for t in values):
        raise ValueError(f"{owner}: `thresholds` must be in [0, 1], got {thresholds!r}.")
    return values, not single


class _PrecisionRecall(Metric):
    """Shared state of Precision and Recall: weighted true/false positives and false negatives per threshold."""

    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds, self._vector = _thresholds_argument(type(self).__name__, thresholds, top_k)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, name="true_positives")
        self.false_positives = self.add_variable(size, name="false_positives")
        self.false_negatives = self.add_variable(size, name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        y_true, y_pred = _same_rank(B, y_true, B.cast(y_pred, "float32"))
        if self.top_k is not None:
            y_pred = _filter_top_k(B, y_pred, self.top_k)
        if self.class_id is not None:
            y_true = y_true[..., self.class_id:self.class_id + 1]
            y_pred = y_pred[..., self.class_id:self.class_id + 1]
            if sample_weight is not None and len(B.shape(sample_weight)) == len(B.shape(y_pred)) \
                    and B.shape(sample_weight)[-1] != 1:
                sample_weight = sample_weight[..., self.class_id:self.class_id + 1]
        tp, fp, _, fn = _confusion_counts(B, y_true, y_pred, self.thresholds, sample_weight)
        self.true_positives.assign(self.true_positives.value + B.reshape(tp, (-1,)))
        self.false_positives.assign(self.false_positives.value + B.reshape(fp, (-1,)))
        self.false_negatives.assign(self.false_negatives.value + B.reshape(fn, (-1,)))

    def _finish(self, value):
        return value if self._vector else _backend.get().reshape(value, ())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp): the fraction of predicted positives (`y_pred > threshold`) that are positive.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); with a list the result is a vector.
        top_k: only the `k` highest scores of each sample count as predicted positives.
        class_id: only this class (index on the last axis) is scored.
        name: metric name (default "precision").
        dtype: state dtype.
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        B = _backend.get()
        tp = self.true_positives.value
        return self._finish(_divide_no_nan(B, tp, tp + self.false_positives.value))


class Recall(_PrecisionRecall):
    """tp / (tp + fn): the fraction of positives predicted positive (`y_pred > threshold`).

    Args: as `Precision` (default name "recall").
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        B = _backend.get()
        tp = self.true_positives.value
        return self._finish(_divide_no_nan(B, tp, tp + self.false_negatives.value))


class FBetaScore(Metric):
    """The F-beta score, `(1 + beta^2) * precision * recall / (beta^2 * precision + recall)`, per class.

    `y_true` is one-hot (or multi-hot) of shape (batch, classes); a prediction is positive where
    `y_pred > threshold`, or, with `threshold=None`, where it is the sample's largest (non-zero) score.

    Args:
        average: None (one score per class), "micro" (counts pooled over classes), "macro" (mean of the
            class scores) or "weighted" (class scores weighted by each class's number of true labels).
        beta: weight of recall against precision.
        threshold: decision threshold, or None for the arg-max rule.
        name: metric name (default "fbeta_score").
        dtype: state dtype.
    """

    _direction = "up"
    AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name, dtype)
        if average not in self.AVERAGES:
            raise ValueError(f"{type(self).__name__}: `average` must be one of {self.AVERAGES}, got {average!r}.")
        if not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{type(self).__name__}: `beta` must be a positive number, got {beta!r}.")
        if threshold is not None and not 0.0 < float(threshold) <= 1.0:
            raise ValueError(f"{type(self).__name__}: `threshold` must be in (0, 1], got {threshold!r}.")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0

    def build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2:
            raise ValueError(f"{type(self).__name__}: expected y_pred of shape (batch, classes), got {y_pred_shape}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        self._maybe_build(B.shape(y_true), B.shape(y_pred))
        y_pred = B.cast(y_pred, "float32")
        y_true = B.cast(y_true, "float32")
        if self.threshold is None:
            top = B.max(y_pred, axis=-1, keepdims=True)
            predicted = B.cast(y_pred >= top, "float32") * B.cast(B.abs(y_pred) > 1e-9, "float32")
        else:
            predicted = B.cast(y_pred > self.threshold, "float32")
        weight = _weights_like(B, sample_weight, y_true)

        def total(values):
            return B.sum(values * weight, axis=self.axis)
        self.true_positives.assign(self.true_positives.value + total(predicted * y_true))
        self.false_positives.assign(self.false_positives.value + total(predicted * (1.0 - y_true)))
        self.false_negatives.assign(self.false_negatives.value + total((1.0 - predicted) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights.value + total(y_true))

    def result(self):
        B = _backend.get()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + epsilon())
        recall = tp / (tp + self.false_negatives.value + epsilon())
        beta2 = self.beta ** 2
        score = (1.0 + beta2) * precision * recall / (beta2 * precision + recall + epsilon())
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            return B.sum(score * weights / (B.sum(weights) + epsilon()))
        if self.average is not None:
            return B.mean(score)
        return score

    def reset_state(self):
        if self.built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score (F-beta with beta=1): the harmonic mean of precision and recall.

    Args: as `FBetaScore` without `beta` (default name "f1_score").
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at fixed thresholds.

    Counts true/false positives/negatives of `y_pred > t` at `num_thresholds` thresholds evenly spaced
    in [0, 1] (the end ones just outside it), then sums the curve by a Riemann sum.

    Args:
        num_thresholds: number of thresholds (default 200).
        curve: "ROC" or "PR".
        summation_method: "interpolation" (trapezoids for ROC; for PR the Davis & Goadrich interpolation
            of precision), "minoring" (lower bars) or "majoring" (upper bars).
        name: metric name (default "auc").
        dtype: state dtype.
        thresholds: explicit thresholds in [0, 1] (then `num_thresholds` is their count + 2).
        multi_label: one curve per label (last axis), averaged; else all entries are pooled.
        num_labels: number of labels with `multi_label` (taken from the data when None).
        label_weights: per-label weights of the multi-label average.
        from_logits: apply a sigmoid to `y_pred` first.
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name="auc", dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        super().__init__(name, dtype)
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: `curve` must be 'ROC' or 'PR', got {curve!r}.")
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: `summation_method` must be 'interpolation', 'minoring' or 'majoring', "
                             f"got {summation_method!r}.")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: `num_thresholds` must be > 1, got {num_thresholds!r}.")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.init_thresholds = thresholds
        self.thresholds = [0.0 - epsilon()] + inner + [1.0 + epsilon()]
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation_method
        self.multi_label, self.num_labels, self.from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else np.asarray(label_weights, "float32")
        if not multi_label or num_labels is not None:
            self.build(None, None)

    def build(self, y_true_shape, y_pred_shape):
        if self.multi_label and self.num_labels is None:
            self.num_labels = int(y_pred_shape[-1])
        shape = (self.num_thresholds, self.num_labels) if self.multi_label else (self.num_thresholds,)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        self._maybe_build(B.shape(y_true), B.shape(y_pred))
        y_true, y_pred = _same_rank(B, y_true, B.cast(y_pred, "float32"))
        if self.from_logits:
            y_pred = B.sigmoid(y_pred)
        labels = self.num_labels if self.multi_label else 1
        counts = _confusion_counts(B, y_true, y_pred, self.thresholds, sample_weight, labels)
        shape = B.shape(self.true_positives.value)
        for variable, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                    self.false_negatives), counts):
            variable.assign(variable.value + B.reshape(count, shape))

    def result(self):
        B = _backend.get()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            per_label = self._interpolated_pr_auc(B, tp, fp, fn)
        else:
            if self.curve == "ROC":
                x, y = _divide_no_nan(B, fp, fp + tn), _divide_no_nan(B, tp, tp + fn)
            else:
                x, y = _divide_no_nan(B, tp, tp + fn), _divide_no_nan(B, tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2.0
            elif self.summation_method == "minoring":
                heights = B.minimum(y[:-1], y[1:])
            else:
                heights = B.maximum(y[:-1], y[1:])
            per_label = B.sum((x[:-1] - x[1:]) * heights, axis=0)
        if not self.multi_label:
            return per_label
        if self.label_weights is None:
            return B.mean(per_label)
        weights = B.convert(self.label_weights)
        return B.sum(per_label * weights) / B.sum(weights)

    @staticmethod
    def _interpolated_pr_auc(B, tp, fp, fn):
        """PR-AUC with precision interpolated between thresholds (Davis & Goadrich, 2006)."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(B, dtp, B.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = B.cast(p[:-1] > 0, "float32") * B.cast(p[1:] > 0, "float32")
        ratio = B.where(both_positive > 0, _divide_no_nan(B, p[:-1], B.maximum(p[1:], 0.0)), B.ones_like(p[1:]))
        increments = _divide_no_nan(B, slope * (dtp + intercept * B.log(ratio)), B.maximum(tp[1:] + fn[1:], 0.0))
        return B.sum(increments, axis=0)

    def reset_state(self):
        if self.built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self.init_thresholds,
                "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits}


# ---------------------------------------------------------------------- lookup
FUNCTIONS = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_squared_error": _losses.mean_squared_error, "mse": _losses.mean_squared_error,
    "mean_absolute_error": _losses.mean_absolute_error, "mae": _losses.mean_absolute_error,
    "binary_crossentropy": _losses.binary_crossentropy,
    "categorical_crossentropy": _losses.categorical_crossentropy,
    "sparse_categorical_crossentropy": _losses.sparse_categorical_crossentropy,
}
CLASSES = {cls.__name__: cls for cls in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Precision, Recall, FBetaScore, F1Score, AUC)}
CLASSES["rmse"] = RootMeanSquaredError


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

    "accuracy"/"acc" is resolved against the loss and the data shapes, as Keras does. With the shapes
    given (as the training core does), metrics whose state depends on them are built right away.
    """
    metric = _get(identifier, loss, y_true_shape, y_pred_shape)
    if y_pred_shape is not None:
        metric._maybe_build(y_true_shape, y_pred_shape)
    return metric


def _get(identifier, loss, y_true_shape, y_pred_shape):
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            if y_pred_shape is None:
                return Accuracy(name=identifier)
            wrapper = MeanMetricWrapper(resolve_accuracy(loss, y_true_shape, y_pred_shape), name=identifier)
            wrapper._direction = "up"
            return wrapper
        found = _serialization.get_registered_object(identifier)
        if found is None:
            found = lookup({**FUNCTIONS, **CLASSES}, identifier, "metric")
        return found() if isinstance(found, type) else MeanMetricWrapper(found, name=identifier)
    if isinstance(identifier, dict):
        found = _serialization.deserialize_keras_object(identifier, module_objects={**FUNCTIONS, **CLASSES})
        if isinstance(found, Metric):
            return found
        return found() if isinstance(found, type) else MeanMetricWrapper(found)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric {identifier!r}: expected a name, a Metric or a function "
                     f"fn(y_true, y_pred).")


def serialize(metric):
    """Keras's dict form of a Metric (`{"module", "class_name", "config", "registered_name"}`)."""
    return _serialization.serialize_keras_object(metric)


def deserialize(config):
    """The Metric described by `serialize`'s output."""
    return _get(config, None, None, None)
