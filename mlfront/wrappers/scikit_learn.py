"""Keras 2's scikit-learn wrappers: a function that builds a compiled model, used as a scikit-learn estimator.

`KerasClassifier(build_fn, **sk_params)` and `KerasRegressor(build_fn, **sk_params)` build a fresh model on
every `fit`, so `sklearn.base.clone`, `GridSearchCV` and `cross_val_score` can tune `build_fn`'s arguments
together with `fit`'s (`epochs`, `batch_size`, ...). Each sk_param goes to every one of `build_fn`,
`Model.fit`, `Model.predict` and `Model.evaluate` that names it, as in Keras 2.

scikit-learn is an optional dependency: this module never imports it, except inside `__sklearn_tags__`, which
only scikit-learn itself calls.

Example:

    def build(units=8):
        model = mlfront.Sequential([Input((20,)), Dense(units, activation="relu"), Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    search = GridSearchCV(KerasClassifier(build, epochs=5, verbose=0), {"units": [4, 8]}, cv=2).fit(x, y)
"""

import copy
import inspect

import numpy as np

from mlfront import losses
from mlfront.models import Model
from mlfront.utils import to_categorical

_MODEL_METHODS = (Model.fit, Model.predict, Model.evaluate)  # the methods sk_params may reach (Keras 2's list)


def _named_args(fn):
    """The names `fn` takes as keyword arguments, *args and **kwargs left out (Keras 2's `has_arg`)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return set()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _is_categorical_crossentropy(loss):
    """Whether `loss` (a name, function or Loss) is categorical crossentropy, which needs one-hot targets."""
    if isinstance(loss, str):
        return loss == "categorical_crossentropy"
    return (isinstance(loss, losses.CategoricalCrossentropy) or getattr(loss, "fn", None) is
            losses.categorical_crossentropy or getattr(loss, "__name__", None) == "categorical_crossentropy")


class BaseWrapper:
    """What `KerasClassifier` and `KerasRegressor` share; use those.

    Args:
        build_fn: returns a compiled model. A function, an instance of a class with `__call__`, or None for a
            subclass whose own `__call__` builds the model. Its keyword arguments are hyperparameters.
        **sk_params: hyperparameters of `build_fn` and arguments of `Model.fit` / `predict` / `evaluate`
            (`epochs`, `batch_size`, `verbose`, ...); each goes to every one of them that names it. Arguments
            given to the wrapper's `fit` / `predict` / `score` themselves take precedence.

    Raises:
        ValueError: a name in `sk_params` that none of them accepts.
    """

    _estimator_type = None  # "classifier" / "regressor": how scikit-learn < 1.6 tells them apart

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _builder(self):
        """The callable that builds the model: `build_fn`, or this object's own `__call__` when that is None."""
        name = type(self).__name__
        if self.build_fn is None:
            if not callable(self):
                raise ValueError(f"{name}: build_fn is None, so the class must define __call__ returning a compiled "
                                 f"model; {name} does not.")
            return self.__call__
        if not callable(self.build_fn):
            raise TypeError(f"{name}: build_fn must be a function or callable object returning a compiled model, "
                            f"got {type(self.build_fn).__name__}.")
        return self.build_fn

    def check_params(self, params):
        """Raise a ValueError naming every key of `params` that neither `build_fn` nor `Model.fit` /
        `predict` / `evaluate` accepts."""
        build_args = _named_args(self._builder())
        model_args = set().union(*map(_named_args, _MODEL_METHODS)) - {"self", "x", "y"}  # x, y: the data
        unknown = sorted(set(params) - build_args - model_args)
        if unknown:
            raise ValueError(f"{type(self).__name__}: {', '.join(unknown)} "
                             f"{'is not a legal parameter' if len(unknown) == 1 else 'are not legal parameters'}: "
                             f"each must be an argument of build_fn ({', '.join(sorted(build_args)) or 'none'}) "
                             f"or of Model.fit / predict / evaluate.")

    def get_params(self, deep=True):
        """`build_fn` and the sk_params, for scikit-learn (`clone`, grid searches). The wrapper holds no nested
        estimators, so `deep` changes nothing."""
        return {"build_fn": self.build_fn, **self.sk_params}

    def set_params(self, **params):
        """Set `build_fn` and/or sk_params (checked as in `__init__`); returns self."""
        params = dict(params)
        old_build_fn, self.build_fn = self.build_fn, params.pop("build_fn", self.build_fn)
        try:
            self.check_params({**self.sk_params, **params})  # a new build_fn must accept the kept params too
        except (TypeError, ValueError):
            self.build_fn = old_build_fn
            raise
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """The sk_params that `fn` names as arguments, updated with `override` (a dict)."""
        names = _named_args(fn)
        return {**{key: value for key, value in self.sk_params.items() if key in names}, **(override or {})}

    def fit(self, x, y, **kwargs):
        """Build a new model with `build_fn` and train it on `(x, y)`.

        Args:
            x: the inputs, as `Model.fit` takes them.
            y: the targets.
            **kwargs: `Model.fit` arguments; they override the sk_params.

        Returns:
            The `History` of `Model.fit`, as Keras 2 (scikit-learn's meta-estimators do not use it). The model
            is `self.model`.
        """
        builder = self._builder()
        model = builder(**self.filter_sk_params(builder))
        if not all(callable(getattr(model, method, None)) for method in ("fit", "predict", "evaluate")):
            raise TypeError(f"{type(self).__name__}: build_fn must return a compiled model, got "
                            f"{type(model).__name__}.")
        self.model = model
        y = self._encode_targets(y)
        # Copied, as Keras 2 does, so that callbacks in sk_params start fresh in each fit of a search.
        fit_args = copy.deepcopy(self.filter_sk_params(model.fit))
        fit_args.update(kwargs)
        return model.fit(x, y, **fit_args)

    def _encode_targets(self, y):
        return y

    def _fitted_model(self, what):
        if not hasattr(self, "model"):
            raise AttributeError(f"{type(self).__name__} is not fitted yet: call fit(x, y) before {what}().")
        return self.model

    def _predict_array(self, x, kwargs, what):
        model = self._fitted_model(what)
        out = model.predict(x, **self.filter_sk_params(model.predict, kwargs))
        if not isinstance(out, np.ndarray):
            raise ValueError(f"{type(self).__name__}.{what}: the model has several outputs; the scikit-learn "
                             f"wrappers need a single-output model.")
        return out

    def _evaluate_logs(self, x, y, kwargs):
        model = self._fitted_model("score")
        return model.evaluate(x, y, **self.filter_sk_params(model.evaluate, {**kwargs, "return_dict": True}))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model")

    def __sklearn_tags__(self):
        """Estimator tags for scikit-learn >= 1.6 (which calls this; imported only then)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        kind = self._estimator_type
        return Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    regressor_tags=RegressorTags() if kind == "regressor" else None, non_deterministic=True)

    def __repr__(self):
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"


class KerasClassifier(BaseWrapper):
    """scikit-learn classifier over a model built by `build_fn` (see `BaseWrapper` for the arguments).

    `fit` takes class labels of any type (shape `(n_samples,)` or `(n_samples, 1)`; they become indices into
    `classes_`) or one-hot targets `(n_samples, n_classes)` (then `classes_` is `0..n_classes-1`). With the loss
    "categorical_crossentropy" the model gets one-hot targets. The model gives one probability per class (or one
    sigmoid unit for two classes).

    Attributes (after `fit`):
        classes_: the class labels, sorted. n_classes_: their number. model: the trained model.
    """

    _estimator_type = "classifier"

    def fit(self, x, y, sample_weight=None, **kwargs):
        """Learn `classes_` from `y`, then build and train a new model (see `BaseWrapper.fit`).

        Raises:
            ValueError: `y` of another shape.
        """
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError(f"KerasClassifier.fit: y must be labels of shape (n_samples,) or (n_samples, 1), or "
                             f"one-hot targets of shape (n_samples, n_classes); got shape {y.shape}.")
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def _encode_targets(self, y):
        """Label indices as one-hot rows when the loss is categorical crossentropy."""
        one_hot = y.ndim == 2 and y.shape[1] > 1
        if not one_hot and _is_categorical_crossentropy(self.model.loss):
            return to_categorical(y, self.n_classes_)
        return y

    def _label_indices(self, y):
        """`y` (labels among `classes_`, or one-hot rows) as `fit` gave it to the model."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            if y.shape[1] != self.n_classes_:
                raise ValueError(f"KerasClassifier.score: one-hot y has {y.shape[1]} columns; fit saw "
                                 f"{self.n_classes_} classes.")
            return y
        index = np.minimum(np.searchsorted(self.classes_, y), self.n_classes_ - 1)
        unknown = np.unique(y[self.classes_[index] != y])
        if unknown.size:
            raise ValueError(f"KerasClassifier.score: y holds labels fit did not see: {unknown.tolist()} (the classes "
                             f"are {self.classes_.tolist()}).")
        return index

    def predict_proba(self, x, **kwargs):
        """Class probabilities, shape `(n_samples, n_classes)`, columns in the order of `classes_`; a single
        sigmoid output `p` gives the columns `1 - p`, `p`. `kwargs` are `Model.predict` arguments."""
        probs = self._predict_array(x, kwargs, "predict_proba")
        probs = probs.reshape(-1, 1) if probs.ndim == 1 else probs
        if probs.ndim != 2:
            raise ValueError(f"KerasClassifier.predict_proba: the model's output must have shape (n_samples, "
                             f"n_classes), got {probs.shape}.")
        if probs.shape[1] == 1:
            probs = np.hstack([1 - probs, probs])
        if probs.shape[1] != self.n_classes_:
            raise ValueError(f"KerasClassifier.predict_proba: the model gives {probs.shape[1]} class probabilities "
                             f"per sample but fit saw {self.n_classes_} classes; the output layer needs one unit "
                             f"per class (or one sigmoid unit for two).")
        return probs

    def predict(self, x, **kwargs):
        """The most probable class label of each sample (from `classes_`)."""
        return self.classes_[np.argmax(self.predict_proba(x, **kwargs), axis=1)]

    def score(self, x, y, **kwargs):
        """The accuracy on `(x, y)`, computed by `Model.evaluate` (`kwargs` are its arguments).

        Raises:
            ValueError: the model was compiled without an "accuracy" (or "acc") metric.
        """
        logs = self._evaluate_logs(x, self._encode_targets(self._label_indices(y)), kwargs)
        for name in ("accuracy", "acc"):
            if name in logs:
                return float(logs[name])
        raise ValueError('KerasClassifier.score: the model is not configured to compute accuracy. You should pass '
                         '`metrics=["accuracy"]` to the `model.compile()` method.')


class KerasRegressor(BaseWrapper):
    """scikit-learn regressor over a model built by `build_fn` (see `BaseWrapper` for the arguments)."""

    _estimator_type = "regressor"

    def predict(self, x, **kwargs):
        """The model's predictions; a trailing axis of size 1 is dropped (shape `(n_samples,)`)."""
        out = self._predict_array(x, kwargs, "predict")
        return out[..., 0] if out.ndim > 1 and out.shape[-1] == 1 else out

    def score(self, x, y, **kwargs):
        """Minus the model's loss on `(x, y)` (`kwargs` are `Model.evaluate` arguments): higher is better, as
        scikit-learn expects."""
        return -float(self._evaluate_logs(x, y, kwargs)["loss"])
