"""Losses by Keras name: functions `fn(y_true, y_pred) -> per-sample loss` and `Loss` classes that reduce them.

Functions average (or sum) over the last axis and return one value per sample. `Loss` objects add sample
weights and a reduction: "sum_over_batch_size" (the default; also "mean"), "sum", "mean_with_sample_weight"
or "none". Probability-based crossentropies clip predictions to [epsilon, 1 - epsilon] as Keras does; with
`from_logits=True` they use the backend's fused, numerically stable kernels.

A custom loss is any function `fn(y_true, y_pred)` written with `mlfront.ops`, or a `Loss` subclass that
implements `call(y_true, y_pred)`.
"""

import math

from mlfront import backend as _backend
from mlfront.backend.config import epsilon
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup, snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "mean_with_sample_weight", "none")


# ---------------------------------------------------------------------- input handling
def _as_arrays(B, y_true, y_pred):
    """Backend arrays, `y_true` cast to the dtype of `y_pred`."""
    y_pred = y_pred if B.is_array(y_pred) else B.convert(y_pred, "float32")
    y_true = y_true if B.is_array(y_true) else B.convert(y_true)
    dtype = B.dtype(y_pred)
    return (y_true if B.dtype(y_true) == dtype else B.cast(y_true, dtype)), y_pred


def _same_rank(B, x1, x2):
    """Where ranks differ by one and the longer has a trailing axis of 1: expand a rank-1 partner, or squeeze
    that axis (Keras's rule, so targets of shape (n,) meet predictions of shape (n, 1) without broadcasting)."""
    rank1, rank2 = len(B.shape(x1)), len(B.shape(x2))
    if rank1 == rank2 + 1 and B.shape(x1)[-1] == 1:
        return (x1, B.expand_dims(x2, -1)) if rank2 == 1 else (B.squeeze(x1, -1), x2)
    if rank2 == rank1 + 1 and B.shape(x2)[-1] == 1:
        return (B.expand_dims(x1, -1), x2) if rank1 == 1 else (x1, B.squeeze(x2, -1))
    return x1, x2


def _prepared(y_true, y_pred):
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    return (B,) + _same_rank(B, y_true, y_pred)


# ---------------------------------------------------------------------- regression
def mean_squared_error(y_true, y_pred):
    """`mean((y_pred - y_true)²)` over the last axis."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    return B.mean(B.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """`mean(|y_pred - y_true|)` over the last axis."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    return B.mean(B.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))` over the last axis."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    return 100.0 * B.mean(B.abs((y_true - y_pred) / B.maximum(B.abs(y_true), epsilon())), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """`mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))²)` over the last axis."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    return B.mean(B.square(B.log1p(B.maximum(y_pred, epsilon())) - B.log1p(B.maximum(y_true, epsilon()))), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for errors up to `delta`, linear beyond: `0.5 e²` or `delta * |e| - 0.5 delta²`; mean over the
    last axis."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    error = B.abs(y_pred - y_true)
    return B.mean(B.where(error <= delta, 0.5 * B.square(error), delta * error - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """`mean(log(cosh(y_pred - y_true)))` over the last axis, computed as `x + softplus(-2x) - log 2`."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    x = y_pred - y_true
    return B.mean(x + B.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine similarity along `axis` (so -1 means the vectors point the same way)."""
    B, y_true, y_pred = _prepared(y_true, y_pred)
    return -B.sum(_l2_normalize(B, y_true, axis) * _l2_normalize(B, y_pred, axis), axis=axis)


def _l2_normalize(B, x, axis):
    return x / B.maximum(B.sqrt(B.sum(B.square(x), axis=axis, keepdims=True)), epsilon())


# ---------------------------------------------------------------------- probabilistic
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy of independent binary labels, averaged over `axis` (the last one by default)."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return B.mean(B.binary_crossentropy_from_logits(y_true, y_pred), axis=axis)
    p = B.clip(y_pred, epsilon(), 1.0 - epsilon())
    return -B.mean(y_true * B.log(p) + (1.0 - y_true) * B.log(1.0 - p), axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy of one-hot (or soft) labels over `axis`."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / B.shape(y_true)[axis]
    if from_logits:
        return -B.sum(y_true * B.log_softmax(y_pred, axis=axis), axis=axis)
    p = y_pred / B.sum(y_pred, axis=axis, keepdims=True)
    return -B.sum(y_true * B.log(B.clip(p, epsilon(), 1.0 - epsilon())), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Crossentropy of integer class labels; entries labelled `ignore_class` count as 0."""
    B = _backend.get()
    labels = _sparse_labels(B, y_true, y_pred)
    if ignore_class is not None:
        ignored = B.equal(labels, ignore_class)
        labels = B.where(ignored, B.zeros_like(labels), labels)
    if from_logits:
        loss = B.sparse_categorical_crossentropy_from_logits(labels, y_pred)
    else:
        p = B.clip(y_pred / B.sum(y_pred, axis=axis, keepdims=True), epsilon(), 1.0 - epsilon())
        loss = -B.squeeze(B.take_along_axis(B.log(p), B.expand_dims(labels, -1), axis=-1), -1)
    return loss if ignore_class is None else B.where(ignored, B.zeros_like(loss), loss)


def _sparse_labels(B, y_true, y_pred):
    """Integer class indices shaped like `y_pred` without its class axis ((n, 1) labels are squeezed)."""
    y_true = y_true if B.is_array(y_true) else B.convert(y_true)
    if len(B.shape(y_true)) == len(B.shape(y_pred)):
        y_true = B.squeeze(y_true, -1)
    return y_true if B.dtype(y_true).startswith("int") else B.cast(y_true, "int32")


def kl_divergence(y_true, y_pred):
    """`sum(y_true * log(y_true / y_pred))` over the last axis, both clipped to [epsilon, 1]."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    y_true, y_pred = B.clip(y_true, epsilon(), 1.0), B.clip(y_pred, epsilon(), 1.0)
    return B.sum(y_true * B.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """`mean(y_pred - y_true * log(y_pred + epsilon))` over the last axis."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    return B.mean(y_pred - y_true * B.log(y_pred + epsilon()), axis=-1)


# ---------------------------------------------------------------------- hinge (maximum margin)
def _hinge_labels(B, y_true):
    """0/1 labels become -1/1 (when every entry is 0 or 1); -1/1 labels pass unchanged."""
    is_binary = B.cast(B.equal(y_true, 0.0), B.dtype(y_true)) + B.cast(B.equal(y_true, 1.0), B.dtype(y_true))
    return B.where(B.min(is_binary) > 0.5, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """`mean(max(1 - y_true * y_pred, 0))` over the last axis; labels are -1/1 (0/1 are converted)."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    return B.mean(B.relu(1.0 - _hinge_labels(B, y_true) * y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """`mean(max(1 - y_true * y_pred, 0)²)` over the last axis; labels are -1/1 (0/1 are converted)."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    return B.mean(B.square(B.relu(1.0 - _hinge_labels(B, y_true) * y_pred)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)` with `pos = sum(y_true * y_pred)`, `neg = max((1 - y_true) * y_pred)`."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    positive = B.sum(y_true * y_pred, axis=-1)
    negative = B.max((1.0 - y_true) * y_pred, axis=-1)
    return B.relu(negative - positive + 1.0)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by `(1 - p_t) ** gamma` (Lin et al., focal loss), `p_t` the probability given
    to the true label, so that well-classified entries count less; with `apply_class_balancing`, positives
    are also weighted by `alpha` and negatives by `1 - alpha`. Averaged over `axis`."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = B.clip(B.sigmoid(y_pred) if from_logits else y_pred, epsilon(), 1.0 - epsilon())
    bce = -(y_true * B.log(p) + (1.0 - y_true) * B.log(1.0 - p))
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    focal = B.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return B.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """Categorical crossentropy with each class's term scaled by `alpha * (1 - p) ** gamma` (focal loss for
    several classes), summed over `axis`."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / B.shape(y_true)[-1]
    if from_logits:
        y_pred = B.softmax(y_pred, axis=axis)
    p = B.clip(y_pred / B.sum(y_pred, axis=axis, keepdims=True), epsilon(), 1.0 - epsilon())
    return B.sum(alpha * B.power(1.0 - p, gamma) * -(y_true * B.log(p)), axis=axis)


def dice(y_true, y_pred, axis=None):
    """1 - the Dice coefficient `2 |y_true . y_pred| / (|y_true| + |y_pred|)`, over `axis` (None: everything)."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    intersection = B.sum(y_true * y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (B.sum(y_true, axis=axis) + B.sum(y_pred, axis=axis) + epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - the Tversky index `TP / (TP + alpha * FP + beta * FN)` over `axis` (None: everything), with Keras's
    terms: `FP = sum(y_true * (1 - y_pred))`, `FN = sum((1 - y_true) * y_pred)`; alpha = beta = 0.5 is Dice."""
    B = _backend.get()
    y_true, y_pred = _as_arrays(B, y_true, y_pred)
    intersection = B.sum(y_true * y_pred, axis=axis)
    false_positive = B.sum((1.0 - y_pred) * y_true, axis=axis)
    false_negative = B.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - intersection / (intersection + alpha * false_positive + beta * false_negative + epsilon())


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": mean_squared_logarithmic_error,
    "huber": huber, "huber_loss": huber, "log_cosh": log_cosh, "logcosh": log_cosh,
    "cosine_similarity": cosine_similarity,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "poisson": poisson,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy, "dice": dice, "tversky": tversky,
}



def _record_symbolic_calls():
    """The loss functions record graph ops on symbolic tensors, as the `ops` do (Keras 2 scripts write
    `vae.add_loss(K.mean(mse(inputs, outputs)))` while building a Functional model)."""
    from mlfront.backend.keras2_functions import symbolic_op
    wrapped = {}
    for fn in FUNCTIONS.values():
        if id(fn) not in wrapped:
            wrapped[id(fn)] = symbolic_op(f"losses.{fn.__name__}", fn)
    for table in (FUNCTIONS, globals()):
        for name, value in list(table.items()):
            if callable(value) and id(value) in wrapped:
                table[name] = wrapped[id(value)]


_record_symbolic_calls()


# ---------------------------------------------------------------------- Loss objects
class Loss:
    """A loss with a reduction: `loss(y_true, y_pred, sample_weight=None)` returns a scalar, or per-sample
    values with `reduction="none"`.

    Subclasses implement `call(y_true, y_pred)` returning per-sample losses.

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (mean over all loss entries, weighted ones included; "mean" and
            "auto" are the same), "sum", "mean_with_sample_weight" (weighted sum / sum of weights) or "none".
        dtype: the dtype the targets and predictions are cast to before the loss is computed, as in Keras
            (e.g. "float16"); None (the default) computes in the predictions' own dtype.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction in ("auto", "mean", None):
            reduction = "sum_over_batch_size" if reduction is not None else "none"
        if reduction not in REDUCTIONS:
            raise ValueError(f"Loss {name or type(self).__name__}: `reduction` must be one of {REDUCTIONS}, "
                             f"got {reduction!r}.")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = _loss_dtype(dtype, self.name)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def __call__(self, y_true, y_pred, sample_weight=None):
        B = _backend.get()
        if self.dtype is not None:
            y_true, y_pred = (B.cast(v if B.is_array(v) else B.convert(v), self.dtype) for v in (y_true, y_pred))
        values = self.call(y_true, y_pred)
        if not B.is_array(values):
            values = B.convert(values, "float32")
        if sample_weight is not None:
            weight = B.cast(sample_weight if B.is_array(sample_weight) else B.convert(sample_weight),
                            B.dtype(values))
            weight = _weight_like(B, weight, values)
            values = values * weight
        if self.reduction == "none" or not B.shape(values):
            return values
        total = B.sum(values)
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            return total / B.sum(weight)
        return total / _count(B, values)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _loss_dtype(dtype, name):
    """A loss's `dtype` argument as a dtype name (or None): a name, or a Keras 3 `DTypePolicy` config."""
    if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy" and isinstance(dtype.get("config"), dict):
        dtype = dtype["config"].get("name")
    if dtype is not None and not isinstance(dtype, str):
        dtype = getattr(dtype, "name", dtype)
    if dtype is not None and not isinstance(dtype, str):
        raise ValueError(f"Loss {name}: `dtype` must be None or a dtype name such as 'float32', got {dtype!r}.")
    return dtype


def _weight_like(B, weight, values):
    """Sample weights brought to the rank of the loss values ((n, 1) squeezed, (n,) expanded for (n, t))."""
    rank, values_rank = len(B.shape(weight)), len(B.shape(values))
    if rank == values_rank + 1 and B.shape(weight)[-1] == 1:
        return B.squeeze(weight, -1)
    while rank < values_rank:
        weight, rank = B.expand_dims(weight, -1), rank + 1
    return weight


def _count(B, values):
    """The number of entries of `values` (a Python float when the shape is known)."""
    shape = B.shape(values)
    if None in shape:
        return B.cast(B.sum(B.ones_like(values)), B.dtype(values))
    return float(max(1, math.prod(shape)))


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample function `fn(y_true, y_pred, **fn_kwargs)` (e.g. a custom loss written
    with `mlfront.ops`); targets and predictions are first brought to the same rank as in Keras."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **fn_kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        B = _backend.get()
        if B.is_array(y_true) and B.is_array(y_pred):
            y_true, y_pred = _same_rank(B, y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": _serialization.function_config(self.fn), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" not in config:
            return cls(**config)
        fn = _serialization.function_from_config(config.pop("fn"), module_objects=FUNCTIONS)
        if cls is LossFunctionWrapper:
            return cls(fn, **config)
        loss = cls(**config)  # a loss class with its own function: Keras 2 names it in `fn` too
        if loss.fn is not fn:
            raise ValueError(f"{cls.__name__}.from_config: the config's `fn` ({fn!r}) is not this loss's "
                             f"function ({loss.fn.__name__}).")
        return loss


def _loss_class(class_name, fn, default_name, order=None, **defaults):
    """A Keras-style Loss class around `fn`: `Class(*defaults, reduction=..., name=..., dtype=None)`, or its
    arguments in Keras's `order` where that differs."""
    order = order or list(defaults) + ["reduction", "name", "dtype"]

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{class_name}: takes at most {len(order)} positional arguments ({', '.join(order)}), "
                            f"got {len(args)}.")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{class_name}: got multiple values for argument {key!r}.")
            kwargs[key] = value
        unknown = set(kwargs) - set(order)
        if unknown:
            raise TypeError(f"{class_name}: unexpected keyword argument(s) {sorted(unknown)}; "
                            f"accepted: {', '.join(order)}.")
        reduction = kwargs.pop("reduction", "sum_over_batch_size")
        name = kwargs.pop("name", default_name)
        dtype = kwargs.pop("dtype", None)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **{**defaults, **kwargs})

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype, **self.fn_kwargs}
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "get_config": get_config,
                                                     "__doc__": f"Loss class of `{fn.__name__}`: "
                                                                f"{(fn.__doc__ or '').strip()}",
                                                     "__module__": __name__})


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error")
Huber = _loss_class("Huber", huber, "huber_loss", delta=1.0)
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                 from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      "categorical_crossentropy", from_logits=False, label_smoothing=0.0, axis=-1)
_SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                             "sparse_categorical_crossentropy", from_logits=False,
                                             ignore_class=None)


class SparseCategoricalCrossentropy(_SparseCategoricalCrossentropy):
    """Loss class of `sparse_categorical_crossentropy`. Entries labelled `ignore_class` are left out: with
    "sum_over_batch_size" the loss is the mean over the other entries.

    Args:
        from_logits: whether `y_pred` holds logits instead of probabilities.
        ignore_class: a label to leave out (e.g. a padding class), or None.
        reduction, name, dtype: as in `Loss`.
    """

    def __call__(self, y_true, y_pred, sample_weight=None):
        ignore_class = self.fn_kwargs["ignore_class"]
        if ignore_class is None:
            return super().__call__(y_true, y_pred, sample_weight)
        B = _backend.get()
        valid = 1.0 - B.cast(B.equal(_sparse_labels(B, y_true, y_pred), ignore_class), B.dtype(y_pred))
        if self.reduction == "sum_over_batch_size":  # mean over the valid entries
            valid = valid * (_count(B, valid) / (B.sum(valid) + epsilon()))
        if sample_weight is not None:
            weight = sample_weight if B.is_array(sample_weight) else B.convert(sample_weight)
            valid = valid * _weight_like(B, B.cast(weight, B.dtype(valid)), valid)
        return super().__call__(y_true, y_pred, valid)
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _loss_class("Poisson", poisson, "poisson")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
BinaryFocalCrossentropy = _loss_class("BinaryFocalCrossentropy", binary_focal_crossentropy,
                                      "binary_focal_crossentropy", apply_class_balancing=False, alpha=0.25,
                                      gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _loss_class("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                           "categorical_focal_crossentropy", alpha=0.25, gamma=2.0,
                                           from_logits=False, label_smoothing=0.0, axis=-1)
Dice = _loss_class("Dice", dice, "dice", order=["reduction", "name", "axis", "dtype"], axis=None)
Tversky = _loss_class("Tversky", tversky, "tversky", order=["alpha", "beta", "reduction", "name", "axis", "dtype"],
                      alpha=0.5, beta=0.5, axis=None)

CLASSES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh,
    CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge, BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice,
    Tversky)}


def serialize(loss):
    """Keras's dict form of a Loss; a built-in loss function's name; another function as
    `function_config` keeps it (a registered one as its Keras dict)."""
    if isinstance(loss, Loss):
        return _serialization.serialize_keras_object(loss)
    if FUNCTIONS.get(getattr(loss, "__name__", None)) is loss:
        return loss.__name__
    return _serialization.function_config(loss)


def deserialize(config, custom_objects=None):
    """A Loss instance, or a loss function, from `serialize`'s output or a Keras 2 / 3 config (custom classes or
    functions by name in `custom_objects`)."""
    if isinstance(config, str):
        found = _serialization.get_registered_object(config, custom_objects)
        return found if found is not None else lookup({**FUNCTIONS, **CLASSES}, config, "loss")
    return _serialization.deserialize_keras_object(config, custom_objects, module_objects={**FUNCTIONS, **CLASSES})


def get(identifier):
    """A `Loss` from a name ("mse", "categorical_crossentropy", "CategoricalCrossentropy"), a Loss, a
    serialized dict, or a function `fn(y_true, y_pred)` returning per-sample (or scalar) losses."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, (str, dict)):
        found = deserialize(identifier)
        if isinstance(found, Loss):
            return found
        name = identifier if isinstance(identifier, str) else getattr(found, "__name__", "loss")
        return found() if isinstance(found, type) else LossFunctionWrapper(found, name=name)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", "loss"))
    raise ValueError(f"Could not interpret loss {identifier!r}: expected a name, a Loss or a function "
                     f"fn(y_true, y_pred).")
