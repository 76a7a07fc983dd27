"""Metrics: values after several `update_state` batches against scikit-learn and the NumPy references in
tests/references/metrics.py, and the metrics reported by `fit` against a recomputation over the epoch."""

import numpy as np
import pytest
from sklearn import metrics as skm

import mlfront
from mlfront import layers, metrics
from references import metrics as ref

RTOL = 1e-5


def _run(metric, y_true, y_pred, sample_weight=None, splits=3):
    """The metric's result after feeding the data in `splits` batches (through `__call__`)."""
    parts = np.array_split(np.arange(len(y_true)), splits)
    for idx in parts:
        metric(y_true[idx], y_pred[idx], None if sample_weight is None else sample_weight[idx])
    return _np(metric.result())


def _np(x):
    from mlfront import backend as _backend
    return np.asarray(_backend.get().to_numpy(x))


@pytest.fixture
def binary_data(rng):
    y_true = rng.integers(0, 2, (24, 1)).astype("float32")
    y_pred = rng.random((24, 1)).astype("float32")
    weights = rng.random(24).astype("float32") + 0.1
    return y_true, y_pred, weights


@pytest.fixture
def class_data(rng):
    labels = rng.integers(0, 4, 24)
    y_true = np.eye(4, dtype="float32")[labels]
    logits = rng.normal(size=(24, 4)).astype("float32")
    y_pred = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    weights = rng.random(24).astype("float32") + 0.1
    return labels.astype("int32"), y_true, y_pred.astype("float32"), weights


# ---------------------------------------------------------------------- accuracy family and regression metrics
def test_accuracy_family_matches_numpy(class_data, binary_data):
    labels, y_true, y_pred, w = class_data
    predicted = y_pred.argmax(-1)
    np.testing.assert_allclose(_run(metrics.CategoricalAccuracy(), y_true, y_pred, w),
                               ref.weighted_mean(predicted == labels, w), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.SparseCategoricalAccuracy(), labels, y_pred),
                               np.mean(predicted == labels), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.SparseCategoricalAccuracy(), labels[:, None], y_pred, w),
                               ref.weighted_mean(predicted == labels, w), rtol=RTOL)
    for k in (1, 2, 3):
        expected = ref.in_top_k(labels, y_pred, k)
        np.testing.assert_allclose(_run(metrics.TopKCategoricalAccuracy(k=k), y_true, y_pred, w),
                                   ref.weighted_mean(expected, w), rtol=RTOL)
        np.testing.assert_allclose(_run(metrics.SparseTopKCategoricalAccuracy(k=k), labels, y_pred),
                                   expected.mean(), rtol=RTOL)
    bt, bp, bw = binary_data
    for threshold in (0.5, 0.3):
        np.testing.assert_allclose(_run(metrics.BinaryAccuracy(threshold=threshold), bt, bp, bw),
                                   ref.weighted_mean((bp > threshold) == bt, bw), rtol=RTOL)
    # (n,) labels against (n, 1) scores are matched, not broadcast to (n, n)
    np.testing.assert_allclose(_run(metrics.BinaryAccuracy(), bt[:, 0], bp), np.mean((bp > 0.5) == bt), rtol=RTOL)
    rounded = np.round(bp * 2) / 2
    exact = np.round(rounded)
    np.testing.assert_allclose(_run(metrics.Accuracy(), exact, rounded), np.mean(exact == rounded), rtol=RTOL)


def test_keras_names_resolve():
    assert metrics.get("top_k_categorical_accuracy").name == "top_k_categorical_accuracy"
    assert metrics.get("sparse_top_k_categorical_accuracy").fn_kwargs == {}
    assert isinstance(metrics.get("auc"), metrics.AUC)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert isinstance(metrics.get("precision"), metrics.Precision)
    assert isinstance(metrics.get("Recall"), metrics.Recall)
    assert isinstance(metrics.get("f1_score"), metrics.F1Score)
    assert isinstance(metrics.get("rmse"), metrics.RootMeanSquaredError)
    assert metrics.get("mae").name == "mae"
    assert metrics.TopKCategoricalAccuracy().fn_kwargs == {"k": 5}
    restored = metrics.deserialize(metrics.serialize(metrics.AUC(num_thresholds=50, curve="PR")))
    assert (restored.num_thresholds, restored.curve) == (50, "PR")
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.get("no_such_metric")
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="samples")


def test_regression_metrics_match_numpy(rng):
    y_true = rng.normal(size=(12, 3)).astype("float32")
    y_pred = rng.normal(size=(12, 3)).astype("float32")
    w = rng.random(12).astype("float32")
    err = y_pred.astype(np.float64) - y_true
    np.testing.assert_allclose(_run(metrics.MeanAbsoluteError(), y_true, y_pred, w),
                               ref.weighted_mean(np.abs(err).mean(-1), w), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.MeanSquaredError(), y_true, y_pred, w),
                               ref.weighted_mean((err ** 2).mean(-1), w), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.RootMeanSquaredError(), y_true, y_pred, w),
                               np.sqrt(ref.weighted_mean(err ** 2, w)), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.RootMeanSquaredError(), y_true, y_pred),
                               np.sqrt(np.mean(err ** 2)), rtol=RTOL)


def test_custom_metric_function_and_reset(rng):
    def max_abs_error(y_true, y_pred):
        return mlfront.ops.max(mlfront.ops.abs(y_pred - y_true), axis=-1)

    y_true = rng.normal(size=(9, 2)).astype("float32")
    y_pred = rng.normal(size=(9, 2)).astype("float32")
    metric = metrics.get(max_abs_error)
    assert metric.name == "max_abs_error"
    np.testing.assert_allclose(_run(metric, y_true, y_pred), np.abs(y_pred - y_true).max(-1).mean(), rtol=RTOL)
    metric.reset_state()
    np.testing.assert_allclose(_run(metric, y_true[:3], y_pred[:3], splits=1),
                               np.abs(y_pred[:3] - y_true[:3]).max(-1).mean(), rtol=RTOL)


# ---------------------------------------------------------------------- precision, recall, F-scores
def test_precision_recall_match_sklearn(binary_data):
    y_true, y_pred, w = binary_data
    t, p = y_true.ravel(), y_pred.ravel()
    for threshold in (None, 0.3, 0.7):
        cut = 0.5 if threshold is None else threshold
        np.testing.assert_allclose(_run(metrics.Precision(thresholds=threshold), y_true, y_pred, w),
                                   skm.precision_score(t, p > cut, sample_weight=w), rtol=RTOL)
        np.testing.assert_allclose(_run(metrics.Recall(thresholds=threshold), y_true, y_pred, w),
                                   skm.recall_score(t, p > cut, sample_weight=w), rtol=RTOL)
    # several thresholds give one value per threshold
    cuts = [0.2, 0.5, 0.8]
    np.testing.assert_allclose(_run(metrics.Precision(thresholds=cuts), y_true, y_pred),
                               [skm.precision_score(t, p > c) for c in cuts], rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.Recall(thresholds=cuts), y_true, y_pred),
                               [skm.recall_score(t, p > c) for c in cuts], rtol=RTOL)


def test_precision_recall_class_id_and_top_k(class_data):
    labels, y_true, y_pred, w = class_data
    for class_id in (0, 2):
        np.testing.assert_allclose(_run(metrics.Precision(class_id=class_id), y_true, y_pred, w),
                                   skm.precision_score(y_true[:, class_id], y_pred[:, class_id] > 0.5,
                                                       sample_weight=w, zero_division=0), rtol=RTOL)
        np.testing.assert_allclose(_run(metrics.Recall(class_id=class_id, thresholds=0.2), y_true, y_pred),
                                   skm.recall_score(y_true[:, class_id], y_pred[:, class_id] > 0.2), rtol=RTOL)
    for k in (1, 2):
        chosen = ref.top_k_mask(y_pred, k)
        np.testing.assert_allclose(_run(metrics.Precision(top_k=k), y_true, y_pred),
                                   (chosen & (y_true == 1)).sum() / chosen.sum(), rtol=RTOL)
        np.testing.assert_allclose(_run(metrics.Recall(top_k=k), y_true, y_pred),
                                   (chosen & (y_true == 1)).sum() / y_true.sum(), rtol=RTOL)
        # top_k with class_id: the class counts as predicted only where it is among the k best
        np.testing.assert_allclose(_run(metrics.Recall(top_k=k, class_id=1), y_true, y_pred),
                                   skm.recall_score(y_true[:, 1], chosen[:, 1]), rtol=RTOL)


def test_precision_without_positives_is_zero():
    metric = metrics.Precision()
    np.testing.assert_array_equal(_np(metric(np.ones((4, 1), "float32"), np.zeros((4, 1), "float32"))), 0.0)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_matches_sklearn(class_data, average):
    _, y_true, y_pred, w = class_data
    argmax_pred = (y_pred == y_pred.max(-1, keepdims=True)).astype(int)
    np.testing.assert_allclose(_run(metrics.F1Score(average=average), y_true, y_pred, w),
                               skm.f1_score(y_true, argmax_pred, average=average, sample_weight=w,
                                            zero_division=0), rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(_run(metrics.F1Score(average=average, threshold=0.3), y_true, y_pred),
                               skm.f1_score(y_true, y_pred > 0.3, average=average, zero_division=0),
                               rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(_run(metrics.FBetaScore(average=average, beta=2.0, threshold=0.25), y_true, y_pred),
                               skm.fbeta_score(y_true, y_pred > 0.25, beta=2.0, average=average, zero_division=0),
                               rtol=RTOL, atol=1e-6)


# ---------------------------------------------------------------------- AUC
def test_auc_roc_equals_sklearn_when_scores_fall_in_separate_buckets(rng):
    # One score per gap between thresholds: the threshold curve then passes through every ROC point.
    n = 42
    buckets = rng.permutation(199)[:n]
    y_pred = ((buckets + 0.5) / 199).astype("float32")[:, None]
    y_true = rng.integers(0, 2, (n, 1)).astype("float32")
    w = rng.random(n).astype("float32") + 0.1
    np.testing.assert_allclose(_run(metrics.AUC(), y_true, y_pred), skm.roc_auc_score(y_true, y_pred), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.AUC(), y_true, y_pred, w),
                               skm.roc_auc_score(y_true, y_pred, sample_weight=w), rtol=RTOL)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation_method", ["interpolation", "minoring", "majoring"])
def test_auc_matches_threshold_reference(binary_data, curve, summation_method):
    y_true, y_pred, w = binary_data
    for num_thresholds in (200, 7):
        metric = metrics.AUC(num_thresholds=num_thresholds, curve=curve, summation_method=summation_method)
        np.testing.assert_allclose(_run(metric, y_true, y_pred, w),
                                   ref.auc(y_true, y_pred, num_thresholds, curve, summation_method, w),
                                   rtol=RTOL, atol=1e-6)


def test_auc_close_to_sklearn_with_200_thresholds(rng):
    # Ties inside one of 199 buckets are rare on 60 scores, so the threshold method lands near the exact area.
    y_true = rng.integers(0, 2, (60, 1)).astype("float32")
    y_pred = np.clip(y_true * 0.3 + rng.random((60, 1)) * 0.7, 0, 1).astype("float32")
    np.testing.assert_allclose(_run(metrics.AUC(), y_true, y_pred), skm.roc_auc_score(y_true, y_pred), atol=5e-3)
    np.testing.assert_allclose(_run(metrics.AUC(curve="PR"), y_true, y_pred),
                               skm.average_precision_score(y_true, y_pred), atol=3e-2)


def test_auc_multi_label_from_logits_and_explicit_thresholds(rng):
    y_true = rng.integers(0, 2, (18, 3)).astype("float32")
    logits = rng.normal(size=(18, 3)).astype("float32")
    probs = 1 / (1 + np.exp(-logits.astype(np.float64)))
    per_label = [ref.auc(y_true[:, j], probs[:, j]) for j in range(3)]
    np.testing.assert_allclose(_run(metrics.AUC(multi_label=True, from_logits=True), y_true, logits),
                               np.mean(per_label), rtol=RTOL)
    weights = [0.5, 0.2, 0.3]
    np.testing.assert_allclose(_run(metrics.AUC(multi_label=True, label_weights=weights), y_true, probs),
                               np.dot(per_label, weights), rtol=RTOL)
    np.testing.assert_allclose(_run(metrics.AUC(), y_true, probs), ref.auc(y_true, probs), rtol=RTOL)
    inner = [0.25, 0.5, 0.75]
    counts = ref.confusion_at_thresholds(y_true, probs, [-ref.EPS] + inner + [1 + ref.EPS])
    np.testing.assert_allclose(_run(metrics.AUC(thresholds=inner), y_true, probs), ref.auc_from_counts(*counts),
                               rtol=RTOL)


# ---------------------------------------------------------------------- inside the compiled step
def _binary_model():
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=mlfront.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=["accuracy", metrics.Precision(), metrics.Recall(), metrics.AUC(), "mae",
                           metrics.F1Score(average="macro", threshold=0.5)])
    return model


def test_fit_reports_metrics_recomputed_over_each_epoch(rng):
    x = rng.normal(size=(20, 3)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.normal(size=(20, 1)) > 0).astype("float32")
    x_val = rng.normal(size=(10, 3)).astype("float32")
    y_val = (x_val[:, :1] > 0).astype("float32")
    model = _binary_model()
    batch_weights, epoch_weights = [], []
    record = mlfront.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: batch_weights.append(model.get_weights()),
        on_epoch_end=lambda epoch, logs: epoch_weights.append(model.get_weights()))
    history = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0, validation_data=(x_val, y_val),
                        callbacks=[record])
    names = ["loss", "accuracy", "precision", "recall", "auc", "mae", "f1_score"]
    assert set(history.history) == set(names) | {"val_" + n for n in names}

    def predict(weights, inputs):
        kernel, bias = weights
        return 1 / (1 + np.exp(-(inputs.astype(np.float64) @ kernel + bias)))

    def expected(y_true, y_pred):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        hard = y_pred > 0.5
        return {"loss": np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))),
                "accuracy": np.mean(hard == y_true), "precision": skm.precision_score(y_true, hard, zero_division=0),
                "recall": skm.recall_score(y_true, hard), "auc": ref.auc(y_true, y_pred),
                "mae": np.mean(np.abs(y_pred - y_true)),
                "f1_score": skm.f1_score(y_true, hard, average="macro", labels=[1], zero_division=0)}

    starts = list(range(0, 20, 5))
    for epoch in range(2):
        # training metrics: each batch scored with the weights it was trained from
        y_pred = np.concatenate([predict(batch_weights[epoch * len(starts) + i], x[s:s + 5])
                                 for i, s in enumerate(starts)])
        for name, value in expected(y, y_pred).items():
            np.testing.assert_allclose(history.history[name][epoch], value, rtol=1e-4, atol=1e-6, err_msg=name)
        for name, value in expected(y_val, predict(epoch_weights[epoch], x_val)).items():
            np.testing.assert_allclose(history.history["val_" + name][epoch], value, rtol=1e-4, atol=1e-6,
                                       err_msg="val_" + name)
    # evaluate accumulates the same state over its batches
    logs = model.evaluate(x_val, y_val, batch_size=5, verbose=0, return_dict=True)
    for name, value in expected(y_val, predict(model.get_weights(), x_val)).items():
        np.testing.assert_allclose(logs[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_vector_metric_in_fit_logs(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[metrics.F1Score()])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    hard = (probs == probs.max(-1, keepdims=True)).astype(int)
    np.testing.assert_allclose(logs["f1_score"], skm.f1_score(y, hard, average=None, zero_division=0), atol=1e-6)
