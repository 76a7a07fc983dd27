"""MultiHeadAttention against a head-by-head NumPy reference (outputs, scores, masks, gradients)."""

import numpy as np
import pytest
from keras_reference import keras
from layer_testing import run_layer_test
from references import layers as ref
from references.core import softmax

import mlfront
from mlfront import layers, ops

RANDOM_BIAS = {"bias_initializer": "random_normal"}


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def _run(layer, *arrays, **kwargs):
    out = layer(*[ops.convert_to_tensor(a) for a in arrays], **kwargs)
    return [ops.convert_to_numpy(o) for o in out] if isinstance(out, tuple) else ops.convert_to_numpy(out)


def test_self_attention_matches_reference():
    q, v = _data((2, 3, 4), (2, 5, 4))

    def reference(layer, inputs):
        return ref.multi_head_attention(inputs[0], inputs[1], inputs[1], layer.get_weights(), 2)[0]

    layer, _ = run_layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3, **RANDOM_BIAS}, [q, v],
                              reference=reference, expected_output_shape=(2, 3, 4), expected_num_trainable_weights=8,
                              expected_num_non_trainable_weights=0)
    assert [w.shape for w in layer.weights] == [(4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (2, 3, 4),
                                               (4,)]
    assert [w.path for w in layer.weights][::2] == [f"{layer.name}/{n}/kernel" for n in
                                                    ("query", "key", "value", "attention_output")]


def test_separate_key_value_dim_and_output_shape():
    q, v, k = _data((2, 3, 4), (2, 5, 6), (2, 5, 3))
    config = {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": 5, **RANDOM_BIAS}

    def reference(layer, inputs):
        return ref.multi_head_attention(*inputs, layer.get_weights(), 3)[0]

    layer, _ = run_layer_test(layers.MultiHeadAttention, config, [q, v, k], reference=reference,
                              expected_output_shape=(2, 3, 5))
    assert [w.shape for w in layer.weights][::2] == [(4, 3, 2), (3, 3, 2), (6, 3, 4), (3, 4, 5)]


def test_no_bias():
    q, v = _data((2, 3, 4), (2, 3, 4))
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, use_bias=False)
    out = _run(layer, q, v)
    assert len(layer.weights) == 4
    expected = ref.multi_head_attention(q, v, v, layer.get_weights(), 2, use_bias=False)[0]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_attention_mask_and_scores():
    q, v = _data((2, 3, 4), (2, 5, 4))
    mask = np.random.default_rng(1).uniform(size=(2, 3, 5)) > 0.4
    mask[:, :, 0] = True  # every query attends to something
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, **RANDOM_BIAS)
    out, scores = _run(layer, q, v, attention_mask=ops.convert_to_tensor(mask), return_attention_scores=True)
    expected_out, expected_scores = ref.multi_head_attention(q, v, v, layer.get_weights(), 2, attention_mask=mask)
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    assert np.all(scores[np.broadcast_to(~mask[:, None], scores.shape)] == 0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)


def test_masked_attention_with_and_without_scores_agree_also_on_fully_masked_rows():
    """Without `return_attention_scores` a masked layer takes the engine's attention (Backend
    dot_product_attention); it gives the weights path's numbers, also for a query that may attend to no key: its
    weights are uniform, as Keras's -1e9 fill makes them."""
    q, v = _data((2, 4, 6), (2, 5, 6))
    mask = np.random.default_rng(2).uniform(size=(2, 4, 5)) > 0.5
    mask[:, :, 1] = True
    mask[0, 2] = False  # query 2 of sample 0 may attend to nothing
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, **RANDOM_BIAS)
    fused = _run(layer, q, v, attention_mask=ops.convert_to_tensor(mask))
    with_scores, scores = _run(layer, q, v, attention_mask=ops.convert_to_tensor(mask), return_attention_scores=True)
    expected = ref.multi_head_attention(q, v, v, layer.get_weights(), 2, attention_mask=mask)[0]
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused, with_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores[0, :, 2], np.full((2, 5), 0.2), rtol=1e-6)
    # a mask that already has the heads axis, (batch, 1, T, S), is taken as it is on both paths
    with_heads_axis = ops.convert_to_tensor(mask[:, None])
    np.testing.assert_allclose(_run(layer, q, v, attention_mask=with_heads_axis), expected, rtol=1e-5, atol=1e-5)


def test_causal_mask():
    (x,) = _data((2, 4, 4))
    layer = layers.MultiHeadAttention(num_heads=1, key_dim=2)
    out, scores = _run(layer, x, x, use_causal_mask=True, return_attention_scores=True)
    causal = np.tril(np.ones((4, 4), bool))
    expected_out, expected_scores = ref.multi_head_attention(x, x, x, layer.get_weights(), 1,
                                                             attention_mask=causal[None])
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention_axes", [None, (1, 2), (2,)])
def test_attention_axes_on_rank_4_inputs(attention_axes):
    q, v = _data((2, 2, 3, 4), (2, 2, 3, 4))
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=attention_axes, **RANDOM_BIAS)
    out, scores = _run(layer, q, v, return_attention_scores=True)
    weights = layer.get_weights()
    if attention_axes == (2,):  # attention along axis 2 only: axis 1 acts as part of the batch
        flat, flat_scores = ref.multi_head_attention(q.reshape(4, 3, 4), v.reshape(4, 3, 4), v.reshape(4, 3, 4),
                                                     weights, 2)
        expected_out = flat.reshape(2, 2, 3, 4)
        expected_scores = flat_scores.reshape(2, 2, 2, 3, 3)  # (batch, axis 1, heads, T, S)
    else:  # attention over both position axes jointly
        flat, flat_scores = ref.multi_head_attention(q.reshape(2, 6, 4), v.reshape(2, 6, 4), v.reshape(2, 6, 4),
                                                     weights, 2)
        expected_out = flat.reshape(2, 2, 3, 4)
        expected_scores = flat_scores.reshape(2, 2, 2, 3, 2, 3)  # (batch, heads, T1, T2, S1, S2)
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    symbolic = layers.MultiHeadAttention.from_config(layer.get_config())(
        layers.Input((2, 3, 4)), layers.Input((2, 3, 4)), return_attention_scores=True)
    assert [s.shape[1:] for s in symbolic] == [expected_out.shape[1:], expected_scores.shape[1:]]


def test_gradients_match_finite_differences():
    q, v = _data((2, 3, 4), (2, 2, 4))
    mask = np.array([[[True, False], [True, True], [False, True]]] * 2)
    cotangent = _data((2, 3, 4), seed=3)[0]
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, **RANDOM_BIAS)
    layer(ops.convert_to_tensor(q), ops.convert_to_tensor(v))
    _assert_gradients_match(layer, q, v, cotangent, {"attention_mask": ops.convert_to_tensor(mask)}, mask)


def test_dropout_on_attention_weights_only_in_training():
    q, v = _data((2, 3, 4), (2, 3, 4))
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, dropout=0.5)
    inference = _run(layer, q, v)
    np.testing.assert_allclose(inference, ref.multi_head_attention(q, v, v, layer.get_weights(), 2)[0],
                               rtol=1e-5, atol=1e-5)
    assert not np.allclose(_run(layer, q, v, training=True), inference)


def test_functional_self_attention_block_predicts_and_trains():
    """x + MHA(x, x, mask) -> LayerNormalization, with the mask a model input (a tensor in the call's kwargs)."""
    x, mask = layers.Input((3, 4)), layers.Input((3, 3), dtype="bool")
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    out = layers.LayerNormalization()(layers.Add()([x, attention(x, x, attention_mask=mask)]))
    model = mlfront.Model([x, mask], out)
    data, target = _data((2, 3, 4), (2, 3, 4))
    m = np.ones((2, 3, 3), bool)
    m[0, :, 2] = False
    attended = ref.multi_head_attention(data, data, data, attention.get_weights(), 2, attention_mask=m)[0]
    expected = ref.layer_norm(data + attended, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(model.predict([data, m], verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    before = attention.get_weights()
    model.train_on_batch([data, m], target)
    changed = [not np.allclose(b, a) for b, a in zip(before, attention.get_weights())]
    assert sum(changed) >= 6  # every kernel and the biases that reach the output (the key bias cancels out)


def test_fused_path_causal_and_gradients_match_reference():
    """Without scores, mask or dropout the layer runs the engine's fused attention: the same outputs and gradients."""
    q, v = _data((2, 4, 4), (2, 4, 4))
    cotangent = _data((2, 4, 4), seed=3)[0]
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, **RANDOM_BIAS)
    causal = np.tril(np.ones((4, 4), bool))[None]
    for kwargs, mask in (({}, None), ({"use_causal_mask": True}, causal)):
        out = _run(layer, q, v, **kwargs)
        expected = ref.multi_head_attention(q, v, v, layer.get_weights(), 2, attention_mask=mask)[0]
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    _assert_gradients_match(layer, q, v, cotangent, {"use_causal_mask": True}, causal)


def _assert_gradients_match(layer, q, v, cotangent, call_kwargs, mask):
    """The gradients of sum(layer(q, v, **call_kwargs) * cotangent) for q, v and every weight, against central
    differences of the NumPy reference with the boolean `mask`."""
    variables = layer.trainable_weights

    def loss(params):
        saved = [w.value for w in variables]
        for w, p in zip(variables, params[2:]):
            w.assign(p)
        try:
            out = layer(params[0], params[1], **call_kwargs)
        finally:
            for w, s in zip(variables, saved):
                w.assign(s)
        return ops.sum(out * ops.convert_to_tensor(cotangent))

    params = [ops.convert_to_tensor(q), ops.convert_to_tensor(v)] + [w.value for w in variables]
    _, grads = mlfront.backend.get().compile(mlfront.value_and_grad(loss))(params)

    def reference_loss(q, v, *weights):
        return (ref.multi_head_attention(q, v, v, list(weights), 2, attention_mask=mask)[0] * cotangent).sum()

    expected = ref.finite_difference_grads(reference_loss, [q, v] + layer.get_weights())
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=2e-3, atol=2e-3)


def _attention_reference(q, k, v, bias=None, mask=None, scale=None, is_causal=False):
    """NumPy `softmax(q . k * scale + bias) . v` on (batch, positions, heads, depth) arrays."""
    scores = np.einsum("btnh,bsnh->bnts", q, k) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if bias is not None:
        scores = scores + bias
    keep = np.ones(scores.shape, bool)
    if mask is not None:
        keep &= np.broadcast_to(mask, scores.shape)
    if is_causal:
        keep &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = softmax(np.where(keep, scores, -1e9), axis=-1)
    return np.einsum("bnts,bsnh->btnh", weights, v)


@pytest.mark.parametrize("case", ["plain", "scale", "causal", "mask", "bias"])
def test_ops_dot_product_attention_matches_numpy(case):
    q, k, v = _data((2, 3, 2, 4), (2, 5, 2, 4), (2, 5, 2, 6))  # 3 query positions, 5 key positions
    mask = np.random.default_rng(1).uniform(size=(2, 1, 3, 5)) > 0.4
    mask[..., 0] = True
    kwargs = {"plain": {}, "scale": {"scale": 0.3}, "causal": {"is_causal": True}, "mask": {"mask": mask},
              "bias": {"bias": _data((1, 2, 3, 5), seed=4)[0]}}[case]
    out = ops.convert_to_numpy(ops.dot_product_attention(q, k, v, **kwargs))
    np.testing.assert_allclose(out, _attention_reference(q, k, v, **kwargs), rtol=1e-5, atol=1e-5)
    if keras is not None:  # Keras 3.15's jax path needs the value's depth to be the query's
        v = v[..., :4]
        theirs = keras.ops.convert_to_numpy(keras.ops.dot_product_attention(q, k, v, **kwargs))
        ours = ops.convert_to_numpy(ops.dot_product_attention(q, k, v, **kwargs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_ops_dot_product_attention_gradients_match_finite_differences():
    q, k, v = _data((2, 4, 2, 3), (2, 4, 2, 3), (2, 4, 2, 3))
    grads = mlfront.value_and_grad(lambda a: ops.sum(ops.sin(ops.dot_product_attention(
        a[0], a[1], a[2], is_causal=True))))([ops.convert_to_tensor(a) for a in (q, k, v)])[1]
    expected = ref.finite_difference_grads(
        lambda q, k, v: np.sin(_attention_reference(q, k, v, is_causal=True)).sum(), [q, k, v])
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=2e-3, atol=2e-3)


def test_ops_dot_product_attention_errors():
    q = np.zeros((2, 3, 2, 4), "float32")
    with pytest.raises(ValueError, match="dot_product_attention.*`key`.*positions, heads, depth"):
        ops.dot_product_attention(q, q[0], q)
    with pytest.raises(ValueError, match="dot_product_attention.*agree"):
        ops.dot_product_attention(q, np.zeros((2, 3, 1, 4), "float32"), q)
    with pytest.raises(NotImplementedError, match="flash_attention=True"):
        ops.dot_product_attention(q, q, q, flash_attention=True)
    with pytest.raises(NotImplementedError, match="attn_logits_soft_cap=30"):
        ops.dot_product_attention(q, q, q, attn_logits_soft_cap=30.0)


def test_errors_name_the_layer():
    (q,) = _data((2, 3, 4))
    with pytest.raises(ValueError, match="MultiHeadAttention 'mha_novalue'.*value"):
        layers.MultiHeadAttention(2, 2, name="mha_novalue")(ops.convert_to_tensor(q))
    with pytest.raises(ValueError, match="MultiHeadAttention 'mha_heads'.*num_heads"):
        layers.MultiHeadAttention(0, 2, name="mha_heads")
    with pytest.raises(ValueError, match="MultiHeadAttention 'mha_axes'.*attention_axes"):
        layers.MultiHeadAttention(2, 2, attention_axes=(2,), name="mha_axes")(ops.convert_to_tensor(q),
                                                                               ops.convert_to_tensor(q))
    (image,) = _data((2, 3, 3, 4))
    with pytest.raises(ValueError, match="MultiHeadAttention 'mha_causal'.*use_causal_mask.*single attention axis"):
        layers.MultiHeadAttention(2, 2, attention_axes=(1, 2), name="mha_causal")(
            ops.convert_to_tensor(image), ops.convert_to_tensor(image), use_causal_mask=True)
