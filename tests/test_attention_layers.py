"""Attention (dot and concat scores) and AdditiveAttention: NumPy formulas with masks and causality, Keras 3 with
the same weights where it is installed, config round trips, masks through the Functional API, and training."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import check_config
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(5)
Q = RNG.normal(size=(2, 3, 4)).astype("float32")
V = RNG.normal(size=(2, 5, 4)).astype("float32")
K = RNG.normal(size=(2, 5, 4)).astype("float32")
Q_MASK = np.array([[True, True, False], [True, True, True]])
V_MASK = np.array([[True, True, True, False, False], [True, False, True, True, True]])


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference(scores, value, value_mask=None, query_mask=None, causal=False):
    keep = np.ones(scores.shape, bool)
    if value_mask is not None:
        keep &= value_mask[:, None, :]
    if causal:
        keep &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = softmax(np.where(keep, scores, scores - 1e9))
    out = weights @ value
    return (out * query_mask[..., None] if query_mask is not None else out), weights


def _t(x):
    return ops.convert_to_tensor(x)


def _np(x):
    return ops.convert_to_numpy(x)


def test_dot_attention_matches_numpy_with_masks_and_causality():
    layer = layers.Attention()
    out, weights = layer([_t(Q), _t(V), _t(K)], mask=[_t(Q_MASK), _t(V_MASK)], return_attention_scores=True)
    expected, expected_weights = reference(Q @ K.transpose(0, 2, 1), V, V_MASK, Q_MASK)
    np.testing.assert_allclose(_np(out), expected, atol=1e-5)
    np.testing.assert_allclose(_np(weights), expected_weights, atol=1e-6)
    self_attention = layers.Attention()([_t(V), _t(V)], use_causal_mask=True)
    np.testing.assert_allclose(_np(self_attention), reference(V @ V.transpose(0, 2, 1), V, causal=True)[0], atol=1e-5)


def test_scaled_and_concat_scores_match_numpy():
    layer = layers.Attention(use_scale=True, score_mode="concat")
    layer([_t(Q), _t(V)])
    assert [w.name for w in layer.trainable_weights] == ["scale", "concat_score_weight"]
    layer.set_weights([np.float32(0.5), np.float32(2.0)])
    scores = 2.0 * np.tanh(0.5 * (Q[:, :, None, :] + V[:, None, :, :])).sum(-1)
    np.testing.assert_allclose(_np(layer([_t(Q), _t(V)])), reference(scores, V)[0], atol=1e-5)


def test_additive_attention_matches_numpy():
    layer = layers.AdditiveAttention()
    layer([_t(Q), _t(V), _t(K)])
    scale = RNG.normal(size=(4,)).astype("float32")
    layer.set_weights([scale])
    scores = (scale * np.tanh(Q[:, :, None, :] + K[:, None, :, :])).sum(-1)
    out = layer([_t(Q), _t(V), _t(K)], mask=[None, _t(V_MASK)])
    np.testing.assert_allclose(_np(out), reference(scores, V, V_MASK)[0], atol=1e-5)
    assert "score_mode" not in layers.AdditiveAttention().get_config()


def test_attention_in_a_functional_model_takes_embedding_masks_and_trains():
    tokens_q, tokens_v = mlfront.Input(shape=(3,), dtype="int32"), mlfront.Input(shape=(5,), dtype="int32")
    embed = layers.Embedding(10, 4, mask_zero=True)
    attended = layers.Attention(use_scale=True, dropout=0.1)([embed(tokens_q), embed(tokens_v)])
    model = mlfront.Model([tokens_q, tokens_v], layers.Dense(1)(layers.GlobalAveragePooling1D()(attended)))
    xq, xv = RNG.integers(0, 10, (16, 3)), RNG.integers(1, 10, (16, 5))
    xv[:, 3:] = 0
    model.compile(optimizer="adam", loss="mse")
    model.fit([xq, xv], RNG.normal(size=(16, 1)), epochs=2, batch_size=8, verbose=0)
    # the trained layer equals the formula, with the query and value masks mask_zero gives
    (attention,) = [layer for layer in model.layers if isinstance(layer, layers.Attention)]
    q, v = embed.get_weights()[0][xq], embed.get_weights()[0][xv]
    expected, _ = reference((q @ v.transpose(0, 2, 1)) * attention.scale.numpy(), v, xv != 0, xq != 0)
    np.testing.assert_allclose(_np(attention([_t(q), _t(v)], mask=[_t(xq != 0), _t(xv != 0)])), expected,
                               atol=1e-5)
    for config_layer in (layers.Attention(use_scale=True, dropout=0.2, seed=3), layers.AdditiveAttention()):
        assert type(config_layer).from_config(check_config(config_layer)).get_config() == config_layer.get_config()


def test_attention_errors_name_the_layer():
    with pytest.raises(ValueError, match="Attention 'a': `score_mode` must be 'dot' or 'concat', got 'sum'"):
        layers.Attention(score_mode="sum", name="a")
    with pytest.raises(ValueError, match="Attention 'b': expects a list \\[query, value\\]"):
        layers.Attention(name="b")(_t(Q))
    with pytest.raises(ValueError, match="Attention 'c': the query's last axis \\(4\\) must equal the key's \\(3\\)"):
        layers.Attention(name="c")([_t(Q), _t(V[..., :3])])
    with pytest.raises(ValueError, match="AdditiveAttention 'd': `dropout` must be in \\[0, 1\\)"):
        layers.AdditiveAttention(dropout=1.0, name="d")


@needs_keras
@pytest.mark.parametrize("make", [lambda lib: lib.layers.Attention(), lambda lib: lib.layers.Attention(use_scale=True),
                                  lambda lib: lib.layers.Attention(use_scale=True, score_mode="concat"),
                                  lambda lib: lib.layers.AdditiveAttention(),
                                  lambda lib: lib.layers.AdditiveAttention(use_scale=False)])
def test_attention_matches_keras_with_the_same_weights(make):
    ours, theirs = make(mlfront), make(keras)
    ours([_t(Q), _t(V), _t(K)])
    theirs([Q, V, K])
    weights = [RNG.uniform(0.5, 1.5, np.shape(w)).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for kwargs in ({}, {"use_causal_mask": True}):
        got = ours([_t(Q), _t(V), _t(K)], mask=[_t(Q_MASK), _t(V_MASK)], **kwargs)
        want = theirs([Q, V, K], mask=[Q_MASK, V_MASK], **kwargs)
        np.testing.assert_allclose(_np(got), keras.ops.convert_to_numpy(want), atol=1e-5)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
