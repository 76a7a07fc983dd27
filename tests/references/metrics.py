"""NumPy references for the metrics: the threshold (confusion-matrix) method behind Precision, Recall and AUC,
and the top-k rule of the top-k accuracies. Everything in float64, written from the formulas."""

import numpy as np

EPS = 1e-7


def auc_thresholds(num_thresholds=200):
    """Evenly spaced thresholds in [0, 1]; the end ones just outside it, so every score falls between two."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return np.array([-EPS] + inner + [1.0 + EPS])


def confusion_at_thresholds(y_true, y_pred, thresholds, sample_weight=None):
    """(tp, fp, tn, fn) per threshold for predictions `y_pred > t`, pooled over all entries."""
    labels = (np.asarray(y_true, np.float64) != 0).ravel()
    scores = np.asarray(y_pred, np.float64).ravel()
    weights = np.ones_like(scores) if sample_weight is None else np.broadcast_to(
        np.asarray(sample_weight, np.float64).reshape(np.shape(y_pred)[0], *[1] * (np.ndim(y_pred) - 1)),
        np.shape(y_pred)).ravel()
    out = []
    for t in thresholds:
        above = scores > t
        out.append([weights[above & labels].sum(), weights[above & ~labels].sum(),
                    weights[~above & ~labels].sum(), weights[~above & labels].sum()])
    return tuple(np.array(out).T)


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)


def auc_from_counts(tp, fp, tn, fn, curve="ROC", summation_method="interpolation"):
    """Riemann sum of the ROC or PR curve through the threshold points (thresholds ascending)."""
    if curve == "PR" and summation_method == "interpolation":
        # Davis & Goadrich: between two thresholds, precision follows tp / (tp + fp) with tp linear in tp + fp.
        total = 0.0
        for i in range(len(tp) - 1):
            dtp, p0, p1 = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            dp = p0 - p1
            if dp <= 0 or tp[i + 1] + fn[i + 1] <= 0:
                continue
            slope = dtp / dp
            intercept = tp[i + 1] - slope * p1
            log_ratio = np.log(p0 / p1) if p0 > 0 and p1 > 0 else 0.0
            total += slope * (dtp + intercept * log_ratio) / (tp[i + 1] + fn[i + 1])
        return total
    if curve == "ROC":
        x, y = _ratio(fp, fp + tn), _ratio(tp, tp + fn)
    else:
        x, y = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
               "majoring": np.maximum(y[:-1], y[1:])}[summation_method]
    return float(np.sum((x[:-1] - x[1:]) * heights))


def auc(y_true, y_pred, num_thresholds=200, curve="ROC", summation_method="interpolation", sample_weight=None):
    counts = confusion_at_thresholds(y_true, y_pred, auc_thresholds(num_thresholds), sample_weight)
    return auc_from_counts(*counts, curve=curve, summation_method=summation_method)


def top_k_mask(y_pred, k):
    """True for the `k` largest scores of each row (no ties in the data the tests use)."""
    order = np.argsort(-np.asarray(y_pred), axis=-1)[..., :k]
    mask = np.zeros(np.shape(y_pred), bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def in_top_k(labels, y_pred, k):
    """1.0 where fewer than `k` scores are strictly larger than the label's score."""
    target = np.take_along_axis(y_pred, np.asarray(labels)[:, None], axis=-1)
    return ((y_pred > target).sum(-1) < k).astype(np.float64)


def weighted_mean(values, sample_weight=None):
    values = np.asarray(values, np.float64)
    if sample_weight is None:
        return values.mean()
    w = np.broadcast_to(np.asarray(sample_weight, np.float64).reshape(len(values), *[1] * (values.ndim - 1)),
                        values.shape)
    return (values * w).sum() / w.sum()
