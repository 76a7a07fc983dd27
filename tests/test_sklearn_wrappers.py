"""Keras 2's scikit-learn wrappers (KerasClassifier / KerasRegressor) inside scikit-learn's own tools, with every
prediction and score checked against the wrapped model's predict and NumPy."""

import importlib
import sys

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.wrappers.scikit_learn import KerasClassifier, KerasRegressor

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402


# Every fit, predict and evaluate runs in one batch (batch_size=N): one compiled step per model and data size,
# which is what a fresh model on each fit costs on a compiling engine.
N = 64


def classification_data(n_classes=3, n=N):
    x, y = make_classification(n_samples=n, n_features=6, n_informative=4, n_redundant=0, n_classes=n_classes,
                               random_state=0)
    return x.astype("float32"), y


def build_classifier(units=4, n_classes=3, loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    model = mlfront.Sequential([layers.Input((6,)), layers.Dense(units, activation="relu"),
                                layers.Dense(n_classes, activation="softmax")])
    model.compile(mlfront.optimizers.Adam(learning_rate=0.05), loss, metrics=list(metrics))
    return model


def build_binary(units=4):
    model = mlfront.Sequential([layers.Input((6,)), layers.Dense(units, activation="relu"),
                                layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["acc"])
    return model


def build_regressor(units=4):
    model = mlfront.Sequential([layers.Input((5,)), layers.Dense(units, activation="relu"), layers.Dense(1)])
    model.compile(mlfront.optimizers.Adam(learning_rate=0.05), "mse")
    return model


def numpy_accuracy(labels, probs, classes):
    return np.mean(classes[np.argmax(probs, axis=1)] == labels)


def test_grid_search_tunes_a_build_fn_argument_and_epochs():
    x, y = classification_data()
    grid = [{"units": [4], "epochs": [2]}, {"units": [8], "epochs": [1]}]  # both vary between the candidates
    search = GridSearchCV(KerasClassifier(build_classifier, epochs=3, batch_size=N, verbose=0), grid, cv=2,
                          error_score="raise")
    search.fit(x, y)
    assert len(search.cv_results_["params"]) == 2
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.get_params()["units"] == search.best_params_["units"]
    # the refit model was built with the chosen units and trained for the chosen epochs
    assert best.model.layers[0].units == search.best_params_["units"]
    assert len(best.model.history.history["loss"]) == search.best_params_["epochs"]
    assert search.score(x, y) == pytest.approx(numpy_accuracy(y, best.model.predict(x, verbose=0), best.classes_))


def test_cross_val_score_gives_one_accuracy_per_fold():
    x, y = classification_data()
    scores = cross_val_score(KerasClassifier(build_classifier, epochs=2, batch_size=N, verbose=0), x, y, cv=2,
                             error_score="raise")
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_string_labels_predict_and_score_agree_with_model_predict():
    x, y = classification_data()
    names = np.array(["cat", "dog", "eel"])
    # categorical crossentropy: the wrapper gives the model one-hot rows of the labels' indices
    clf = KerasClassifier(build_classifier, loss="categorical_crossentropy", epochs=3, batch_size=N, verbose=0)
    history = clf.fit(x, names[y])
    assert len(history.history["loss"]) == 3  # fit returns the History, as Keras 2
    assert clf.classes_.tolist() == ["cat", "dog", "eel"] and clf.n_classes_ == 3
    probs = clf.model.predict(x, verbose=0)
    np.testing.assert_allclose(clf.predict_proba(x), probs, rtol=1e-6, atol=1e-7)
    predicted = clf.predict(x)
    assert predicted.shape == (N,) and predicted.dtype == names.dtype
    np.testing.assert_array_equal(predicted, names[np.argmax(probs, axis=1)])
    assert clf.score(x, names[y]) == pytest.approx(numpy_accuracy(names[y], probs, clf.classes_), abs=1e-6)
    with pytest.raises(ValueError, match="'fox'"):
        clf.score(x[:2], np.array(["cat", "fox"]))


def test_single_sigmoid_output_gives_two_probability_columns():
    x, y = classification_data(n_classes=2)
    labels = np.where(y == 1, 7, -3)
    clf = KerasClassifier(build_binary, epochs=2, batch_size=N, verbose=0)
    clf.fit(x, labels)
    p = clf.model.predict(x, verbose=0)
    probs = clf.predict_proba(x)
    assert probs.shape == (N, 2)
    np.testing.assert_allclose(probs, np.hstack([1 - p, p]), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(clf.predict(x), np.where(p[:, 0] > 0.5, 7, -3))
    assert clf.score(x, labels) == pytest.approx(np.mean(np.where(p[:, 0] > 0.5, 7, -3) == labels), abs=1e-6)


def test_one_hot_y_gives_index_classes():
    x, y = classification_data()
    clf = KerasClassifier(build_classifier, loss="categorical_crossentropy", epochs=2, batch_size=N, verbose=0)
    one_hot = mlfront.utils.to_categorical(y, 3)
    clf.fit(x, one_hot)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    probs = clf.model.predict(x, verbose=0)
    np.testing.assert_array_equal(clf.predict(x), np.argmax(probs, axis=1))
    assert clf.score(x, one_hot) == pytest.approx(numpy_accuracy(y, probs, clf.classes_), abs=1e-6)


def test_score_needs_an_accuracy_metric():
    x, y = classification_data()
    clf = KerasClassifier(build_classifier, metrics=(), epochs=1, batch_size=N, verbose=0)
    clf.fit(x, y)
    with pytest.raises(ValueError, match='metrics=\\["accuracy"\\]'):
        clf.score(x, y)


def test_regressor_predict_is_squeezed_and_score_is_minus_the_loss():
    x, y = make_regression(n_samples=N, n_features=5, noise=0.1, random_state=0)
    x, y = x.astype("float32"), (y / np.std(y)).astype("float32")
    reg = KerasRegressor(build_regressor, epochs=3, batch_size=N, verbose=0)
    reg.fit(x, y)
    out = reg.model.predict(x, verbose=0)
    predicted = reg.predict(x)
    assert predicted.shape == (N,) and reg.predict(x[:1]).shape == (1,)
    np.testing.assert_allclose(predicted, out[:, 0], rtol=1e-6)
    assert reg.score(x, y) == pytest.approx(-np.mean((out[:, 0] - y) ** 2), rel=1e-4)
    scores = cross_val_score(KerasRegressor(build_regressor, epochs=2, batch_size=N, verbose=0), x, y, cv=2,
                             error_score="raise")
    assert scores.shape == (2,) and np.all(scores < 0)


def test_get_params_set_params_and_clone():
    clf = KerasClassifier(build_classifier, units=8, epochs=2, batch_size=16, verbose=0)
    params = clf.get_params(deep=True)
    assert params == {"build_fn": build_classifier, "units": 8, "epochs": 2, "batch_size": 16, "verbose": 0}
    assert clf.get_params(deep=False) == params
    assert clf.set_params(units=4, epochs=1) is clf
    assert clf.get_params()["units"] == 4 and clf.get_params()["epochs"] == 1
    copy = clone(clf)
    assert type(copy) is KerasClassifier and copy is not clf and copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model")
    # routing: each method gets only the sk_params it names
    assert clf.filter_sk_params(build_classifier) == {"units": 4}
    assert clf.filter_sk_params(mlfront.Model.fit) == {"epochs": 1, "batch_size": 16, "verbose": 0}
    assert clf.filter_sk_params(mlfront.Model.predict, {"verbose": 1}) == {"batch_size": 16, "verbose": 1}


def test_unknown_params_are_rejected_by_name():
    with pytest.raises(ValueError, match="colour, size are not legal parameters"):
        KerasClassifier(build_classifier, size=3, colour="red", epochs=1)
    reg = KerasRegressor(build_regressor)
    with pytest.raises(ValueError, match="unitz is not a legal parameter.*build_fn \\(units\\)"):
        reg.set_params(unitz=3)
    assert "unitz" not in reg.get_params()
    with pytest.raises(ValueError, match="units is not a legal parameter"):
        KerasRegressor(build_regressor, units=3).set_params(build_fn=lambda: build_regressor())
    with pytest.raises(TypeError, match="build_fn must be a function"):
        KerasRegressor(build_fn=3)
    with pytest.raises(AttributeError, match="not fitted yet"):
        reg.predict(np.zeros((2, 5), "float32"))


class Builder:
    """A class instance with `__call__` as build_fn."""

    def __call__(self, units=4):
        return build_classifier(units)


class OwnClassifier(KerasClassifier):
    """build_fn=None: the subclass's own __call__ builds the model."""

    def __call__(self, units=4, n_classes=3):
        return build_classifier(units, n_classes)


@pytest.mark.parametrize("make", [lambda **kw: KerasClassifier(Builder(), **kw), lambda **kw: OwnClassifier(**kw)],
                         ids=["callable_instance", "subclass_call"])
def test_build_fn_as_callable_instance_or_subclass_call(make):
    x, y = classification_data()
    with pytest.raises(ValueError, match="depth is not a legal parameter"):
        make(depth=2)
    clf = clone(make(units=3, epochs=1, batch_size=N, verbose=0)).set_params(units=5)
    clf.fit(x, y)
    assert clf.model.layers[0].units == 5
    np.testing.assert_array_equal(clf.predict(x), np.argmax(clf.model.predict(x, verbose=0), axis=1))


def test_the_wrappers_work_without_sklearn(monkeypatch):
    """scikit-learn is optional: with it unimportable, the module imports afresh and a classifier trains,
    predicts and scores."""
    monkeypatch.setattr(mlfront, "wrappers", mlfront.wrappers)  # the re-import rebinds it; restored afterwards
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now raises ImportError
    for name in ("mlfront.wrappers", "mlfront.wrappers.scikit_learn"):
        monkeypatch.delitem(sys.modules, name)
    fresh = importlib.import_module("mlfront.wrappers.scikit_learn")
    assert fresh.KerasClassifier is not KerasClassifier
    x, y = classification_data()
    clf = fresh.KerasClassifier(build_classifier, epochs=1, batch_size=N, verbose=0)
    clf.fit(x, y)
    probs = clf.model.predict(x, verbose=0)
    np.testing.assert_array_equal(clf.predict(x), np.argmax(probs, axis=1))
    assert clf.score(x, y) == pytest.approx(numpy_accuracy(y, probs, clf.classes_), abs=1e-6)
