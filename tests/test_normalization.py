"""BatchNormalization and LayerNormalization against NumPy references (outputs, gradients, moving statistics)."""

import numpy as np
import pytest
from layer_testing import run_layer_test
from references import layers as ref

import mlfront
from mlfront import initializers, layers, ops


# non-trivial weights, so the references check every term
RANDOM_LN = {"gamma_initializer": initializers.RandomUniform(0.5, 1.5),
             "beta_initializer": initializers.RandomNormal(0.0, 1.0)}
RANDOM_BN = {**RANDOM_LN, "moving_mean_initializer": initializers.RandomNormal(0.0, 1.0),
             "moving_variance_initializer": initializers.RandomUniform(0.5, 1.5)}


def _data(shape, seed=0, scale=2.0, shift=0.5):
    return (np.random.default_rng(seed).normal(size=shape) * scale + shift).astype("float32")


def _randomize(layer, seed=1):
    """Non-trivial weights (gamma, beta, moving statistics) so the reference checks every term."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in v.name or "gamma" in v.name
                       else rng.normal(size=w.shape).astype("float32")
                       for v, w in zip(layer.weights, layer.get_weights())])


def _grads(layer, x, cotangent, **call_kwargs):
    """Gradients of sum(layer(x) * cotangent) with respect to x and the layer's trainable weights, computed in a
    compiled function as in training (every variable is restored afterwards, so no traced value leaks)."""
    trainable, every = layer.trainable_weights, layer.weights

    def loss(params):
        saved = [v.value for v in every]
        for v, p in zip(trainable, params[1:]):
            v.assign(p)
        try:
            out = layer(params[0], **call_kwargs)
        finally:
            for v, value in zip(every, saved):
                v.assign(value)
        return ops.sum(out * ops.convert_to_tensor(cotangent))

    params = [ops.convert_to_tensor(x)] + [v.value for v in trainable]
    _, grads = mlfront.backend.get().compile(mlfront.value_and_grad(loss))(params)
    return [ops.convert_to_numpy(g) for g in grads]


# ---------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((3, 2, 4), -1), ((2, 3, 2, 2), 1)])
def test_batch_norm_inference_matches_reference(shape, axis):
    x = _data(shape)

    def reference(layer, x):
        gamma, beta, mean, var = layer.get_weights()
        return ref.batch_norm_infer(x, gamma, beta, mean, var, axis)

    run_layer_test(layers.BatchNormalization, {"axis": axis, **RANDOM_BN}, x, reference=reference,
                   expected_output_shape=shape,
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, axis", [((5, 3), -1), ((2, 3, 2, 2), 1), ((2, 4, 3, 5), -1), ((3, 4, 2), 1)])
def test_batch_norm_training_uses_batch_statistics_and_updates_moving(shape, axis):
    x = _data(shape)
    layer = layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-2)
    layer.build(x.shape)
    _randomize(layer)
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=True))
    expected, mean, var = ref.batch_norm_train(x, gamma, beta, axis, epsilon=1e-2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), ref.moving_update(moving_mean, mean, 0.9), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), ref.moving_update(moving_var, var, 0.9), rtol=1e-5,
                               atol=1e-6)


def test_batch_norm_training_without_center_and_scale():
    x = _data((6, 2, 3))
    layer = layers.BatchNormalization(center=False, scale=False, epsilon=1e-2)
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=True))
    expected, _, _ = ref.batch_norm_train(x, np.ones(3, "float32"), np.zeros(3, "float32"), -1, epsilon=1e-2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_frozen_layer_runs_in_inference_mode():
    x = _data((4, 3))
    layer = layers.BatchNormalization()
    layer.build(x.shape)
    _randomize(layer)
    layer.trainable = False
    before = layer.get_weights()
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=True))
    np.testing.assert_allclose(out, ref.batch_norm_infer(x, *before), rtol=1e-5, atol=1e-5)
    for b, a in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_norm_weights_order_and_names():
    layer = layers.BatchNormalization(name="bn")
    layer.build((None, 3))
    assert [v.name for v in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.name for v in layer.trainable_weights] == ["gamma", "beta"]
    no_affine = layers.BatchNormalization(center=False, scale=False)
    no_affine.build((None, 3))
    assert [v.name for v in no_affine.weights] == ["moving_mean", "moving_variance"]


def test_batch_norm_gradients_match_finite_differences():
    x = _data((4, 3), scale=1.0)
    cotangent = _data((4, 3), seed=5, shift=0.0)
    layer = layers.BatchNormalization(epsilon=0.1)
    layer.build(x.shape)
    _randomize(layer)
    gamma, beta = layer.get_weights()[:2]
    got = _grads(layer, x, cotangent, training=True)

    def loss(x, gamma, beta):
        return (ref.batch_norm_train(x, gamma, beta, epsilon=0.1)[0] * cotangent).sum()

    for g, e in zip(got, ref.finite_difference_grads(loss, [x, gamma, beta])):
        np.testing.assert_allclose(g, e, rtol=2e-3, atol=2e-3)


def test_batch_norm_one_train_on_batch_updates_moving_statistics():
    """The moving statistics flow through the trainer's pure step: Dense -> BN, one SGD step."""
    x, y = _data((6, 3)), _data((6, 2), seed=2)
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(2), layers.BatchNormalization(momentum=0.8)])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    kernel, bias, gamma, beta, moving_mean, moving_var = model.get_weights()
    hidden = x @ kernel + bias  # the batch statistics are taken before the weights are updated
    model.train_on_batch(x, y)
    bn = model.layers[-1]
    np.testing.assert_allclose(bn.moving_mean.numpy(), ref.moving_update(moving_mean, hidden.mean(0), 0.8),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), ref.moving_update(moving_var, hidden.var(0), 0.8),
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(bn.gamma.numpy(), gamma)


def test_batch_norm_fit_changes_moving_statistics_and_predict_uses_them():
    x, y = _data((8, 3)), _data((8, 3), seed=3)
    model = mlfront.Sequential([layers.Input((3,)), layers.BatchNormalization()])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    gamma, beta, mean, var = model.get_weights()
    assert not np.allclose(mean, 0.0) and not np.allclose(var, 1.0)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref.batch_norm_infer(x, gamma, beta, mean, var),
                               rtol=1e-5, atol=1e-5)


def test_batch_norm_frozen_in_model_keeps_moving_statistics():
    x, y = _data((4, 3)), _data((4, 3), seed=3)
    bn = layers.BatchNormalization()
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(3), bn])
    bn.trainable = False
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    before = bn.get_weights()
    model.train_on_batch(x, y)
    for b, a in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_mask_leaves_masked_steps_out_of_the_statistics():
    x = _data((2, 4, 3))
    mask = np.array([[True, True, False, True], [False, True, True, True]])
    layer = layers.BatchNormalization(momentum=0.0)
    out = ops.convert_to_numpy(layer(ops.convert_to_tensor(x), training=True, mask=ops.convert_to_tensor(mask)))
    kept = x[mask]
    np.testing.assert_allclose(layer.moving_mean.numpy(), kept.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), kept.var(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[mask], (kept - kept.mean(0)) / np.sqrt(kept.var(0) + 1e-3), rtol=1e-5,
                               atol=1e-5)


def test_batch_norm_errors_name_the_layer():
    with pytest.raises(ValueError, match="bn_bad.*axis"):
        layers.BatchNormalization(axis=3, name="bn_bad")(ops.convert_to_tensor(_data((2, 3))))
    with pytest.raises(ValueError, match="known size"):
        layers.BatchNormalization(name="bn_unknown").build((None, None))


# ---------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("shape, axis", [((4, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), [1, 2]), ((2, 3, 4), 1)])
def test_layer_norm_matches_reference(shape, axis):
    x = _data(shape)

    def reference(layer, x):
        gamma, beta = layer.get_weights()
        return ref.layer_norm(x, gamma, beta, axis if isinstance(axis, list) else (axis,))

    run_layer_test(layers.LayerNormalization, {"axis": axis, **RANDOM_LN}, x, reference=reference,
                   expected_output_shape=shape,
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=0)


def test_layer_norm_without_center_and_scale():
    x = _data((3, 4))
    _, out = run_layer_test(layers.LayerNormalization, {"center": False, "scale": False, "epsilon": 1e-5}, x,
                            expected_num_trainable_weights=0)
    np.testing.assert_allclose(out, ref.layer_norm(x, np.ones(4), np.zeros(4), epsilon=1e-5), rtol=1e-5, atol=1e-5)


def test_layer_norm_gradients_match_finite_differences():
    x = _data((2, 3, 4), scale=1.0)
    cotangent = _data((2, 3, 4), seed=5, shift=0.0)
    layer = layers.LayerNormalization(axis=[1, 2], epsilon=0.1)
    layer.build(x.shape)
    _randomize(layer)
    gamma, beta = layer.get_weights()
    got = _grads(layer, x, cotangent)

    def loss(x, gamma, beta):
        return (ref.layer_norm(x, gamma, beta, (1, 2), epsilon=0.1) * cotangent).sum()

    for g, e in zip(got, ref.finite_difference_grads(loss, [x, gamma, beta])):
        np.testing.assert_allclose(g, e, rtol=2e-3, atol=2e-3)
