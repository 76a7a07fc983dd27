"""SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed against the step-by-step NumPy references."""

import numpy as np
import pytest
from layer_testing import run_layer_test
from references import recurrent as ref

import mlfront
from mlfront import layers, ops

BATCH, STEPS, FEATURES, UNITS = 2, 5, 3, 4
MASK = np.array([[True, True, False, True, True], [False, True, True, True, False]])

CELLS = {
    "simple_rnn": (layers.SimpleRNN, ref.simple_rnn, {}),
    "lstm": (layers.LSTM, ref.lstm, {}),
    "gru": (layers.GRU, ref.gru, {}),
    "gru_reset_before": (layers.GRU, ref.gru, {"reset_after": False}),
}


def _inputs(seed=0, shape=(BATCH, STEPS, FEATURES)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _reference(layer, x, mask=None, initial_state=None, zero_output_for_mask=False, weights=None):
    """(outputs, states) of the NumPy reference for `layer` with its current weights (or `weights`)."""
    _, fn, _ = CELLS[_cell_name(layer)]
    options = {"reset_after": layer.reset_after} if isinstance(layer, layers.GRU) else {}
    for arg in ("activation", "recurrent_activation"):
        if hasattr(layer, arg) and not (isinstance(layer, layers.SimpleRNN) and arg == "recurrent_activation"):
            options[arg] = getattr(layer, arg).__name__
    weights = layer.get_weights() if weights is None else weights
    return fn(x, *weights, initial_state=initial_state, mask=mask, go_backwards=layer.go_backwards,
              zero_output_for_mask=zero_output_for_mask, **options)


def _cell_name(layer):
    if isinstance(layer, layers.GRU):
        return "gru" if layer.reset_after else "gru_reset_before"
    return {layers.SimpleRNN: "simple_rnn", layers.LSTM: "lstm"}[type(layer)]


def _expected(layer, x, mask=None):
    outputs, states = _reference(layer, x, mask)
    output = outputs if layer.return_sequences else outputs[:, -1]
    return [output] + states if layer.return_state else output


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_layer_matches_reference(name, return_sequences):
    layer_class, _, kwargs = CELLS[name]
    kwargs = {**kwargs, "bias_initializer": "random_normal", "return_sequences": return_sequences}
    shape = (BATCH, STEPS, UNITS) if return_sequences else (BATCH, UNITS)
    layer, _ = run_layer_test(layer_class, {"units": UNITS, **kwargs}, _inputs(),
                              reference=lambda layer, x: _expected(layer, x), expected_output_shape=shape,
                              expected_num_trainable_weights=3, expected_num_non_trainable_weights=0,
                              train=return_sequences and name in ("lstm", "gru"))  # jit training: 2 cells


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_mask_go_backwards_and_states(name, go_backwards):
    layer_class, _, kwargs = CELLS[name]
    layer = layer_class(UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards,
                        bias_initializer="random_normal", **kwargs)
    x = _inputs(1)
    for mask in (None, MASK):
        got = layer(ops.convert_to_tensor(x), mask=None if mask is None else ops.convert_to_tensor(mask))
        expected = _expected(layer, x, mask)
        assert len(got) == len(expected) == 1 + len(layer._state_names)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-5, atol=1e-5)
    # the mask really changes the result, and a masked step repeats the previous output
    unmasked = ops.convert_to_numpy(layer(ops.convert_to_tensor(x))[0])
    masked = ops.convert_to_numpy(got[0])
    assert not np.allclose(unmasked, masked)
    order = np.arange(STEPS)[::-1] if go_backwards else np.arange(STEPS)
    step = int(np.nonzero(~MASK[0][order])[0][0])  # the first masked step, in processing order
    np.testing.assert_allclose(masked[0, step], masked[0, step - 1])


def test_initial_state_and_custom_activations():
    x = _inputs(2)
    h0, c0 = _inputs(3, (BATCH, UNITS)), _inputs(4, (BATCH, UNITS))
    layer = layers.LSTM(UNITS, activation="relu", recurrent_activation="hard_sigmoid", return_state=True,
                        return_sequences=True)
    got = layer(ops.convert_to_tensor(x), initial_state=[ops.convert_to_tensor(h0), ops.convert_to_tensor(c0)],
                mask=ops.convert_to_tensor(MASK))
    outputs, states = ref.lstm(x, *layer.get_weights(), initial_state=[h0, c0], mask=MASK,
                               activation="relu", recurrent_activation="hard_sigmoid")
    for g, e in zip(got, [outputs] + states):
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-5, atol=1e-5)

    gru = layers.GRU(UNITS, return_sequences=True)
    got = gru(ops.convert_to_tensor(x), initial_state=ops.convert_to_tensor(h0))
    np.testing.assert_allclose(ops.convert_to_numpy(got), ref.gru(x, *gru.get_weights(), initial_state=[h0])[0],
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="initial_state"):
        layer(ops.convert_to_tensor(x), initial_state=[ops.convert_to_tensor(h0)])


@pytest.mark.parametrize("name", sorted(CELLS))
def test_without_bias_and_keras2_list_inputs(name):
    layer_class, fn, kwargs = CELLS[name]
    layer = layer_class(UNITS, use_bias=False, return_sequences=True, **kwargs)
    x = _inputs(12)
    got = ops.convert_to_numpy(layer(ops.convert_to_tensor(x)))
    assert len(layer.weights) == 2
    np.testing.assert_allclose(got, fn(x, *layer.get_weights(), **kwargs)[0], rtol=1e-5, atol=1e-5)
    states = [_inputs(13 + i, (BATCH, UNITS)) for i in range(len(layer._state_names))]
    fresh = layer_class(UNITS, return_sequences=True, **kwargs)  # Keras 2: [sequences, *initial_states]
    got = fresh([ops.convert_to_tensor(a) for a in [x] + states])
    np.testing.assert_allclose(ops.convert_to_numpy(got), fn(x, *fresh.get_weights(), initial_state=states,
                                                             **kwargs)[0], rtol=1e-5, atol=1e-5)


def _numeric_gradients(fn, arrays, eps=1e-6):
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            saved = a[i]
            a[i] = saved + eps
            up = fn()
            a[i] = saved - eps
            down = fn()
            a[i] = saved
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("name,masked", [(name, True) for name in sorted(CELLS)] + [("lstm", False), ("gru", False)])
def test_gradients_match_reference(name, masked):
    """Masked (composite path) for every cell; unmasked for the cells torch runs as a fused kernel."""
    layer_class, _, kwargs = CELLS[name]
    layer = layer_class(UNITS, return_sequences=True, return_state=True, go_backwards=masked,
                        bias_initializer="random_normal", **kwargs)
    x = _inputs(5)
    mask = MASK if masked else None
    x_tensor, mask_tensor = ops.convert_to_tensor(x), None if mask is None else ops.convert_to_tensor(mask)
    layer(x_tensor)
    rng = np.random.default_rng(6)
    probes = [rng.normal(size=(BATCH, STEPS, UNITS))] + [rng.normal(size=(BATCH, UNITS))
                                                         for _ in layer._state_names]

    def loss(params):
        saved = [v.value for v in layer.weights]
        for v, p in zip(layer.weights, params):
            v.assign(p)
        out = layer(x_tensor, mask=mask_tensor)
        for v, s in zip(layer.weights, saved):
            v.assign(s)
        return sum(ops.sum(o * ops.convert_to_tensor(p.astype("float32"))) for o, p in zip(out, probes))

    weights = layer.get_weights()
    _, grads = mlfront.value_and_grad(loss)([ops.convert_to_tensor(w) for w in weights])
    weights64 = [w.astype(np.float64) for w in weights]

    def reference_loss():
        outputs, states = _reference(layer, x.astype(np.float64), mask, weights=weights64)
        return sum(np.sum(o * p) for o, p in zip([outputs] + states, probes))
    expected = _numeric_gradients(reference_loss, weights64)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-4, atol=1e-5)


def test_weight_layout_is_keras():
    x = ops.convert_to_tensor(_inputs())
    lstm = layers.LSTM(UNITS)
    lstm(x)
    assert [w.shape for w in lstm.get_weights()] == [(FEATURES, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)]
    assert [v.name for v in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)])
    recurrent = lstm.get_weights()[1]  # orthogonal: (units, 4 units) has orthonormal rows
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(UNITS), atol=1e-5)
    gru, gru_before = layers.GRU(UNITS), layers.GRU(UNITS, reset_after=False, use_bias=False)
    gru(x), gru_before(x)
    assert [w.shape for w in gru.get_weights()] == [(FEATURES, 3 * UNITS), (UNITS, 3 * UNITS), (2, 3 * UNITS)]
    assert [w.shape for w in gru_before.get_weights()] == [(FEATURES, 3 * UNITS), (UNITS, 3 * UNITS)]


def test_stateful_is_refused():
    with pytest.raises(ValueError, match="stateful"):
        layers.LSTM(UNITS, stateful=True)


def test_dropout_only_in_training_and_trains():
    x = _inputs(7)
    layer = layers.LSTM(UNITS, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    tensor = ops.convert_to_tensor(x)
    inference = ops.convert_to_numpy(layer(tensor))
    np.testing.assert_allclose(inference, _expected(layer, x), rtol=1e-5, atol=1e-5)
    assert not np.allclose(ops.convert_to_numpy(layer(tensor, training=True)), inference)

    model = mlfront.Sequential([layers.Input((STEPS, FEATURES)),
                                layers.GRU(UNITS, dropout=0.3, recurrent_dropout=0.3), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    history = model.fit(x, np.ones((BATCH, 1), "float32"), epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(before[0], model.get_weights()[0])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(merge_mode):
    x = _inputs(8)
    layer = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True), merge_mode=merge_mode)
    got = layer(ops.convert_to_tensor(x), mask=ops.convert_to_tensor(MASK))
    weights = layer.get_weights()
    forward, _ = ref.lstm(x, *weights[:3], mask=MASK, zero_output_for_mask=True)
    backward, _ = ref.lstm(x, *weights[3:], mask=MASK, go_backwards=True, zero_output_for_mask=True)
    backward = backward[:, ::-1]
    if merge_mode is None:
        for g, e in zip(got, (forward, backward)):
            np.testing.assert_allclose(ops.convert_to_numpy(g), e, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(ops.convert_to_numpy(got), ref.merge(forward, backward, merge_mode),
                                   rtol=1e-5, atol=1e-5)


def test_bidirectional_layer_test_and_states():
    width = 2 * UNITS
    run_layer_test(layers.Bidirectional, {"layer": layers.GRU(UNITS)}, _inputs(9),
                   expected_output_shape=(BATCH, width), expected_num_trainable_weights=6,
                   reference=lambda layer, x: np.concatenate(
                       [ref.gru(x, *layer.get_weights()[:3])[0][:, -1],
                        ref.gru(x, *layer.get_weights()[3:], go_backwards=True)[0][:, -1]], axis=-1))
    layer = layers.Bidirectional(layers.LSTM(UNITS, return_state=True), merge_mode="sum")
    out = layer(ops.convert_to_tensor(_inputs(10)))
    assert [tuple(ops.shape(o)) for o in out] == [(BATCH, UNITS)] * 5
    assert layer.compute_output_shape((None, STEPS, FEATURES)) == [(None, UNITS)] * 5
    assert [v.path.split("/")[0] for v in layer.weights][::3] == ["forward_" + layer.forward_layer.name[8:],
                                                                  "backward_" + layer.forward_layer.name[8:]]
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(UNITS), merge_mode="max")


def test_time_distributed_dense_equals_dense_per_step():
    x = _inputs(11, (BATCH, STEPS, FEATURES))

    def reference(layer, x):
        kernel, bias = layer.get_weights()
        return np.stack([x[:, t] @ kernel + bias for t in range(STEPS)], axis=1)
    run_layer_test(layers.TimeDistributed, {"layer": layers.Dense(UNITS)}, x, reference=reference,
                   expected_output_shape=(BATCH, STEPS, UNITS), expected_num_trainable_weights=2)
