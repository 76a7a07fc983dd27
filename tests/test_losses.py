"""Losses: every function and class against NumPy references, with sample weights and every reduction."""

import numpy as np
import pytest

import mlfront
from mlfront import backend as _backend
from mlfront import losses, ops
from references import losses as ref

RNG = np.random.default_rng(0)
REAL_TRUE = RNG.normal(size=(4, 3)).astype(np.float32)
REAL_PRED = RNG.normal(size=(4, 3)).astype(np.float32)
POSITIVE_TRUE = RNG.uniform(0.1, 2.0, size=(4, 3)).astype(np.float32)
POSITIVE_PRED = RNG.uniform(0.1, 2.0, size=(4, 3)).astype(np.float32)
PROB_TRUE = RNG.dirichlet(np.ones(3), size=4).astype(np.float32)
PROB_PRED = RNG.dirichlet(np.ones(3), size=4).astype(np.float32)
BINARY = RNG.integers(0, 2, size=(4, 3)).astype(np.float32)
SIGNED = 2 * BINARY - 1
ONE_HOT = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0], np.float32)

# (function name, Loss class, class kwargs, NumPy reference, y_true, y_pred)
CASES = [
    ("mean_squared_error", losses.MeanSquaredError, {}, ref.mean_squared_error, REAL_TRUE, REAL_PRED),
    ("mean_absolute_error", losses.MeanAbsoluteError, {}, ref.mean_absolute_error, REAL_TRUE, REAL_PRED),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError, {}, ref.mean_absolute_percentage_error,
     REAL_TRUE, REAL_PRED),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError, {}, ref.mean_squared_logarithmic_error,
     POSITIVE_TRUE, POSITIVE_PRED),
    ("huber", losses.Huber, {}, ref.huber, REAL_TRUE, REAL_PRED),
    ("log_cosh", losses.LogCosh, {}, ref.log_cosh, REAL_TRUE, REAL_PRED),
    ("cosine_similarity", losses.CosineSimilarity, {}, ref.cosine_similarity, REAL_TRUE, REAL_PRED),
    ("binary_crossentropy", losses.BinaryCrossentropy, {}, ref.binary_crossentropy, BINARY, PROB_PRED),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, {}, ref.categorical_crossentropy, ONE_HOT,
     PROB_PRED),
    ("kl_divergence", losses.KLDivergence, {}, ref.kl_divergence, PROB_TRUE, PROB_PRED),
    ("poisson", losses.Poisson, {}, ref.poisson, POSITIVE_TRUE, POSITIVE_PRED),
    ("hinge", losses.Hinge, {}, ref.hinge, BINARY, REAL_PRED),
    ("squared_hinge", losses.SquaredHinge, {}, ref.squared_hinge, BINARY, REAL_PRED),
    ("categorical_hinge", losses.CategoricalHinge, {}, ref.categorical_hinge, ONE_HOT, REAL_PRED),
]
IDS = [c[0] for c in CASES]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def _t(x):
    return ops.convert_to_tensor(x)


@pytest.mark.parametrize("name, cls, kwargs, reference, y_true, y_pred", CASES, ids=IDS)
def test_function_matches_numpy(name, cls, kwargs, reference, y_true, y_pred):
    fn = getattr(losses, name)
    np.testing.assert_allclose(_np(fn(_t(y_true), _t(y_pred))), reference(y_true.astype(np.float64), y_pred),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("name, cls, kwargs, reference, y_true, y_pred", CASES, ids=IDS)
def test_class_reductions_and_sample_weight(name, cls, kwargs, reference, y_true, y_pred, reduction):
    loss = cls(reduction=reduction, **kwargs)
    values = reference(y_true.astype(np.float64), y_pred)
    for weight in (None, WEIGHTS):
        got = loss(_t(y_true), _t(y_pred), sample_weight=None if weight is None else _t(weight))
        np.testing.assert_allclose(_np(got), ref.reduce(values, weight, reduction), rtol=1e-5, atol=1e-6)


def test_all_functions_trace_in_a_compiled_step():
    B = _backend.get()
    names = [c[0] for c in CASES]

    def every_loss(pairs):
        return [getattr(losses, n)(t, p) for n, (t, p) in zip(names, pairs)]
    got = B.compile(every_loss)([(_t(c[4]), _t(c[5])) for c in CASES])
    for (name, _, _, reference, y_true, y_pred), value in zip(CASES, got):
        np.testing.assert_allclose(_np(value), reference(y_true.astype(np.float64), y_pred), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_hinge_keeps_signed_labels_and_converts_binary_ones():
    signed = _np(losses.hinge(_t(SIGNED), _t(REAL_PRED)))
    np.testing.assert_allclose(signed, ref.hinge(SIGNED, REAL_PRED), rtol=1e-5)
    np.testing.assert_allclose(_np(losses.hinge(_t(BINARY), _t(REAL_PRED))), signed, rtol=1e-5)
    mixed = np.array([[0.5, -1.0, 1.0]], np.float32)  # not all 0/1: used as given
    np.testing.assert_allclose(_np(losses.squared_hinge(_t(mixed), _t(REAL_PRED[:1]))),
                               np.mean(np.maximum(1 - mixed * REAL_PRED[:1], 0) ** 2, axis=-1), rtol=1e-5)


def test_huber_delta_and_cosine_axis():
    np.testing.assert_allclose(_np(losses.Huber(0.3)(_t(REAL_TRUE), _t(REAL_PRED))),
                               ref.huber(REAL_TRUE, REAL_PRED, 0.3).mean(), rtol=1e-5)
    got = losses.CosineSimilarity(axis=0, reduction="none")(_t(REAL_TRUE), _t(REAL_PRED))
    np.testing.assert_allclose(_np(got), ref.cosine_similarity(REAL_TRUE, REAL_PRED, axis=0), rtol=1e-5)


def test_aliases_and_lookup():
    assert losses.kld is losses.KLD is losses.kl_divergence
    assert losses.mape is losses.MAPE is losses.mean_absolute_percentage_error
    assert losses.msle is losses.MSLE is losses.mean_squared_logarithmic_error
    for name in ("kld", "KLD", "mape", "msle", "huber", "log_cosh", "logcosh", "hinge", "poisson",
                 "cosine_similarity", "categorical_hinge", "squared_hinge"):
        loss = losses.get(name)
        assert isinstance(loss, losses.Loss)
        float(_np(loss(_t(POSITIVE_TRUE), _t(POSITIVE_PRED))))
    assert isinstance(losses.get("Huber"), losses.Huber) and isinstance(losses.get("KLDivergence"),
                                                                       losses.KLDivergence)


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown loss 'hingee'.*categorical_hinge.*hinge.*mse"):
        losses.get("hingee")


def test_invalid_reduction():
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        losses.MeanSquaredError(reduction="average")


def test_targets_of_rank_one_meet_predictions_of_shape_n_by_1():
    y_true, y_pred = REAL_TRUE[:, 0], REAL_PRED[:, :1]
    for name in ("mse", "mae", "huber", "log_cosh"):
        got = losses.get(name)(_t(y_true), _t(y_pred))
        want = getattr(ref, {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name, name))(
            y_true[:, None], y_pred).mean()
        np.testing.assert_allclose(_np(got), want, rtol=1e-5, err_msg=name)


def test_sample_weight_of_shape_n_by_1_and_per_timestep_losses():
    weight = WEIGHTS[:, None]
    got = losses.MeanSquaredError(reduction="none")(_t(REAL_TRUE), _t(REAL_PRED), _t(weight))
    np.testing.assert_allclose(_np(got), ref.mean_squared_error(REAL_TRUE, REAL_PRED) * WEIGHTS, rtol=1e-5)
    sequence_true, sequence_pred = REAL_TRUE.reshape(2, 2, 3), REAL_PRED.reshape(2, 2, 3)  # loss per (sample, step)
    got = losses.MeanAbsoluteError()(_t(sequence_true), _t(sequence_pred), _t(WEIGHTS[:2]))
    want = ref.reduce(ref.mean_absolute_error(sequence_true, sequence_pred), WEIGHTS[:2])
    np.testing.assert_allclose(_np(got), want, rtol=1e-5)


def test_sparse_categorical_crossentropy_ignore_class():
    labels = np.array([0, 2, -1, 1], np.int32)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    valid = labels != -1
    p = PROB_PRED / PROB_PRED.sum(-1, keepdims=True)
    per_sample = -np.log(np.clip(p[np.arange(4), np.where(valid, labels, 0)], 1e-7, 1 - 1e-7)) * valid
    np.testing.assert_allclose(_np(loss(_t(labels), _t(PROB_PRED))), per_sample.sum() / valid.sum(), rtol=1e-5)
    summed = losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="sum")
    np.testing.assert_allclose(_np(summed(_t(labels), _t(PROB_PRED), _t(WEIGHTS))), (per_sample * WEIGHTS).sum(),
                               rtol=1e-5)


def test_sparse_categorical_crossentropy_from_logits_value_and_gradient():
    """-log softmax(z)[label] and its gradient softmax(z) - one_hot(label), also with a -inf logit of another
    class (a masked class): finite, as a picked log-probability is."""
    logits = RNG.normal(size=(4, 3)).astype(np.float32)
    logits[1, 0] = -np.inf
    labels = np.array([0, 2, 1, 2], np.int32)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    value, (grad,) = mlfront.value_and_grad(lambda params: loss(_t(labels), params[0]))([_t(logits)])
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    probs = shifted / shifted.sum(-1, keepdims=True)
    np.testing.assert_allclose(_np(value), -np.log(probs[np.arange(4), labels]).sum(), rtol=1e-5)
    np.testing.assert_allclose(_np(grad), probs - np.eye(3, dtype=np.float32)[labels], rtol=1e-5, atol=1e-6)


def test_custom_loss_function_written_with_ops():
    def weighted_square(y_true, y_pred):
        return ops.mean(ops.square(y_pred - y_true) * 2.0 + ops.abs(y_true), axis=-1)

    values = np.mean((REAL_PRED - REAL_TRUE) ** 2 * 2 + np.abs(REAL_TRUE), axis=-1)
    loss = losses.get(weighted_square)
    assert loss.name == "weighted_square"
    np.testing.assert_allclose(_np(loss(_t(REAL_TRUE), _t(REAL_PRED), _t(WEIGHTS))), ref.reduce(values, WEIGHTS),
                               rtol=1e-5)
    summed = losses.LossFunctionWrapper(weighted_square, reduction="sum")
    np.testing.assert_allclose(_np(summed(_t(REAL_TRUE), _t(REAL_PRED))), values.sum(), rtol=1e-5)


def test_custom_loss_subclass_in_a_compiled_model():
    class ScaledMAE(losses.Loss):
        def __init__(self, scale=3.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ops.mean(ops.abs(y_pred - y_true), axis=-1)

    model = mlfront.Sequential([mlfront.Input((3,)), mlfront.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=ScaledMAE(reduction="sum"))
    predictions = model.predict(REAL_TRUE, verbose=0)
    got = model.evaluate(REAL_TRUE, REAL_PRED, batch_size=4, verbose=0)
    assert got == pytest.approx(3.0 * np.abs(predictions - REAL_PRED).mean(axis=-1).sum(), rel=1e-5)


@pytest.mark.parametrize("cls, kwargs", [(losses.Huber, {"delta": 0.5}), (losses.CosineSimilarity, {"axis": 0}),
                                         (losses.Hinge, {}), (losses.CategoricalCrossentropy, {"from_logits": True})])
def test_config_round_trip(cls, kwargs):
    loss = cls(reduction="sum", name="custom_name", **kwargs)
    clone = losses.deserialize(losses.serialize(loss))
    assert type(clone) is cls and clone.get_config() == loss.get_config()
    assert clone.reduction == "sum" and clone.name == "custom_name"
