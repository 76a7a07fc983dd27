"""The engines' fast LSTM / GRU paths (default activations, no mask, no recurrent dropout) against the generic
composites and the NumPy references: outputs, final states and gradients with respect to every input.

Passing the default activations explicitly makes an engine take the generic composite (`Backend.lstm` /
`Backend.gru` written on `Backend.rnn`), so the two paths are compared on the same engine and weights.
"""

import numpy as np
import pytest
from references import recurrent as ref

import mlfront
from mlfront import backend as _backend
from mlfront import layers

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5


def _arrays(cell, use_bias, seed=0):
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 3
    arrays = {"inputs": rng.normal(size=(BATCH, STEPS, FEATURES)),
              "h0": rng.normal(size=(BATCH, UNITS)) * 0.5,
              "kernel": rng.normal(size=(FEATURES, gates * UNITS)) * 0.5,
              "recurrent_kernel": rng.normal(size=(UNITS, gates * UNITS)) * 0.5}
    if cell == "lstm":
        arrays["c0"] = rng.normal(size=(BATCH, UNITS)) * 0.5
    if use_bias:
        arrays["bias"] = rng.normal(size=(gates * UNITS,) if cell == "lstm" else (2, gates * UNITS)) * 0.5
    # weights of the scalar loss, so that every output step and every final state gets a gradient
    weights = {"outputs": rng.normal(size=(BATCH, STEPS, UNITS)), "h": rng.normal(size=(BATCH, UNITS)),
               "c": rng.normal(size=(BATCH, UNITS))}
    return {k: v.astype("float32") for k, v in arrays.items()}, {k: v.astype("float32") for k, v in weights.items()}


def _run(B, cell, names, values, go_backwards, generic):
    args = dict(zip(names, values))
    options = {"go_backwards": go_backwards}
    if generic:  # explicit default activations: not fusable, so the generic composite runs
        options.update(activation=B.tanh, recurrent_activation=B.sigmoid)
    if cell == "lstm":
        return B.lstm(args["inputs"], [args["h0"], args["c0"]], args["kernel"], args["recurrent_kernel"],
                      args.get("bias"), **options)
    return B.gru(args["inputs"], [args["h0"]], args["kernel"], args["recurrent_kernel"], args.get("bias"),
                 reset_after=True, **options)


def _loss_and_grads(cell, arrays, weights, go_backwards, generic, compiled):
    B = _backend.get()
    names = sorted(arrays)
    loss_weights = {k: B.convert(v) for k, v in weights.items()}

    def loss(values):
        outputs, states = _run(B, cell, names, values, go_backwards, generic)
        total = B.sum(outputs * loss_weights["outputs"]) + B.sum(states[0] * loss_weights["h"])
        if cell == "lstm":
            total = total + B.sum(states[1] * loss_weights["c"])
        return total

    fn = B.value_and_grad(loss)
    if compiled:
        fn = B.compile(fn)
    value, grads = fn([B.convert(arrays[n]) for n in names])
    return float(B.to_numpy(value)), {n: B.to_numpy(g) for n, g in zip(names, grads)}


def _numpy_loss(cell, arrays, weights, go_backwards):
    fn = ref.lstm if cell == "lstm" else ref.gru
    initial = [arrays["h0"], arrays["c0"]] if cell == "lstm" else [arrays["h0"]]
    outputs, states = fn(arrays["inputs"], arrays["kernel"], arrays["recurrent_kernel"], arrays.get("bias"),
                         initial_state=initial, go_backwards=go_backwards)
    total = np.sum(outputs * weights["outputs"]) + np.sum(states[0] * weights["h"])
    if cell == "lstm":
        total += np.sum(states[1] * weights["c"])
    return total


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("go_backwards, use_bias", [(False, True), (True, True), (False, False)])
def test_fast_path_matches_generic_composite_and_numpy(cell, go_backwards, use_bias):
    arrays, weights = _arrays(cell, use_bias)
    fast_value, fast = _loss_and_grads(cell, arrays, weights, go_backwards, generic=False, compiled=True)
    generic_value, generic = _loss_and_grads(cell, arrays, weights, go_backwards, generic=True, compiled=False)
    expected = _numpy_loss(cell, {k: v.astype("float64") for k, v in arrays.items()}, weights, go_backwards)
    np.testing.assert_allclose(fast_value, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(generic_value, expected, rtol=1e-5, atol=1e-4)
    assert sorted(fast) == sorted(arrays)
    for name in arrays:
        np.testing.assert_allclose(fast[name], generic[name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fast_path_gradients_match_numpy_finite_differences(cell):
    arrays, weights = _arrays(cell, use_bias=True, seed=1)
    _, grads = _loss_and_grads(cell, arrays, weights, go_backwards=False, generic=False, compiled=False)
    arrays64 = {k: v.astype("float64") for k, v in arrays.items()}
    eps = 1e-5
    rng = np.random.default_rng(2)
    for name, value in arrays64.items():
        for index in [tuple(rng.integers(0, n) for n in value.shape) for _ in range(3)]:
            plus, minus = dict(arrays64), dict(arrays64)
            plus[name], minus[name] = value.copy(), value.copy()
            plus[name][index] += eps
            minus[name][index] -= eps
            numeric = (_numpy_loss(cell, plus, weights, False) - _numpy_loss(cell, minus, weights, False)) / (2 * eps)
            np.testing.assert_allclose(grads[name][index], numeric, rtol=1e-3, atol=1e-4, err_msg=f"{name}{index}")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layer_training_step_fast_path_equals_generic_path(cell):
    """One `train_on_batch` with the default activations (fast path) and with them spelled as callables
    (generic path) from the same weights gives the same loss and the same updated weights."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 7, 3)).astype("float32")
    y = rng.normal(size=(4, 1)).astype("float32")
    recurrent = layers.LSTM if cell == "lstm" else layers.GRU
    results = []
    for activation in ("tanh", lambda v: mlfront.activations.tanh(v)):
        model = mlfront.Sequential([layers.Input((7, 3)), recurrent(5, activation=activation, seed=0,
                                                                   return_sequences=True),
                                    recurrent(3, go_backwards=True, seed=0), layers.Dense(1)])
        if results:
            model.set_weights(results[0][1])
        start = model.get_weights()
        model.compile(optimizer="sgd", loss="mse")
        loss = model.train_on_batch(x, y)
        results.append((loss, start, model.get_weights()))
    (loss_fast, _, after_fast), (loss_generic, _, after_generic) = results
    np.testing.assert_allclose(loss_fast, loss_generic, rtol=1e-5)
    for a, b in zip(after_fast, after_generic):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
