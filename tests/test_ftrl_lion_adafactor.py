"""Ftrl, Lion and Adafactor: step by step against NumPy implementations of the published rules (Keras's form) and
against Keras 3's optimizers on the same engine where it is installed, plus configs, argument errors and fit."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, ops, optimizers
from keras_reference import keras, needs_keras


STEPS = 6


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32"),
               rng.normal(size=(2, 3, 2)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in weights] for _ in range(STEPS)]
    return weights, grads


def _trajectory(optimizer, weights, grad_steps):
    variables = [mlfront.Variable(w) for w in weights]
    history = []
    for grads in grad_steps:
        optimizer.apply([ops.convert_to_tensor(g) for g in grads], variables)
        history.append([v.numpy() for v in variables])
    return history


def np_ftrl(weights, grad_steps, lr, power=-0.5, initial=0.1, l1=0.0, l2=0.0, shrinkage=0.0, beta=0.0):
    w = [x.astype("float64") for x in weights]
    n = [np.full_like(x, initial) for x in w]
    z = [np.zeros_like(x) for x in w]
    history = []
    for grads in grad_steps:
        for i, g in enumerate(grads):
            g_shrunk = g + 2 * shrinkage * w[i]
            new_n = n[i] + g ** 2
            z[i] += g_shrunk - (new_n ** -power - n[i] ** -power) / lr * w[i]
            w[i] = (np.clip(z[i], -l1, l1) - z[i]) / (new_n ** -power / lr + 2 * (l2 + beta / (2 * lr)))
            n[i] = new_n
        history.append([x.copy() for x in w])
    return history


def np_lion(weights, grad_steps, lr, beta_1=0.9, beta_2=0.99):
    w = [x.astype("float64") for x in weights]
    m = [np.zeros_like(x) for x in w]
    history = []
    for grads in grad_steps:
        for i, g in enumerate(grads):
            w[i] -= lr * np.sign(beta_1 * m[i] + (1 - beta_1) * g)
            m[i] = beta_2 * m[i] + (1 - beta_2) * g
        history.append([x.copy() for x in w])
    return history


def np_adafactor(weights, grad_steps, lr, decay_power=-0.8, eps1=1e-30, eps2=1e-3, clip=1.0, relative=True):
    w = [x.astype("float64") for x in weights]
    r = [np.zeros(x.shape[:-1]) if x.ndim >= 2 else 0.0 for x in w]
    c = [np.zeros(x.shape[:-2] + x.shape[-1:]) if x.ndim >= 2 else 0.0 for x in w]
    v = [np.zeros_like(x) for x in w]
    history = []

    def rms(x):
        return np.sqrt(np.mean(x ** 2))
    for t, grads in enumerate(grad_steps, start=1):
        rate = min(lr, 1 / np.sqrt(t)) if relative else lr
        rho = min(rate, 1 / np.sqrt(t))
        b2 = 1 - t ** decay_power
        for i, g in enumerate(grads):
            alpha = max(eps2, rms(w[i])) * rho
            squared = g.astype("float64") ** 2 + eps1
            if w[i].ndim >= 2:
                r[i] = b2 * r[i] + (1 - b2) * squared.mean(-1)
                c[i] = b2 * c[i] + (1 - b2) * squared.mean(-2)
                v[i] = (r[i] / r[i].mean(-1, keepdims=True))[..., None] * c[i][..., None, :]
            else:
                v[i] = b2 * v[i] + (1 - b2) * squared
            u = g / np.sqrt(v[i])
            w[i] = w[i] - alpha * u / max(1.0, rms(u) / clip)
        history.append([x.copy() for x in w])
    return history


CASES = {
    "ftrl": (lambda lib: lib.optimizers.Ftrl(0.1), lambda w, g: np_ftrl(w, g, 0.1)),
    "ftrl_regularized": (lambda lib: lib.optimizers.Ftrl(0.2, learning_rate_power=-0.7, l1_regularization_strength=0.05,
                                                         l2_regularization_strength=0.1,
                                                         l2_shrinkage_regularization_strength=0.02, beta=0.3),
                         lambda w, g: np_ftrl(w, g, 0.2, -0.7, 0.1, 0.05, 0.1, 0.02, 0.3)),
    "lion": (lambda lib: lib.optimizers.Lion(0.01), lambda w, g: np_lion(w, g, 0.01)),
    "lion_betas": (lambda lib: lib.optimizers.Lion(0.02, beta_1=0.5, beta_2=0.9),
                   lambda w, g: np_lion(w, g, 0.02, 0.5, 0.9)),
    "adafactor": (lambda lib: lib.optimizers.Adafactor(0.5), lambda w, g: np_adafactor(w, g, 0.5)),
    "adafactor_absolute": (lambda lib: lib.optimizers.Adafactor(0.01, relative_step=False, clip_threshold=0.5),
                           lambda w, g: np_adafactor(w, g, 0.01, clip=0.5, relative=False)),
}


def _assert_same(actual, expected, rtol=1e-5, atol=1e-6):
    for step, (got_step, want_step) in enumerate(zip(actual, expected)):
        for got, want in zip(got_step, want_step):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"after step {step + 1}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_rule(name):
    make, rule = CASES[name]
    weights, grads = _problem(seed=4)
    _assert_same(_trajectory(make(mlfront), weights, grads), rule(weights, grads))


@needs_keras
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras_step_by_step(name):
    make, _ = CASES[name]
    weights, grads = _problem(seed=5)
    variables = [keras.Variable(w) for w in weights]
    theirs, optimizer = [], make(keras)
    for step in grads:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in step], variables)
        theirs.append([np.array(keras.ops.convert_to_numpy(v.value)) for v in variables])
    _assert_same(_trajectory(make(mlfront), weights, grads), theirs, rtol=2e-5, atol=2e-6)
    ours_config, theirs_config = make(mlfront).get_config(), make(keras).get_config()
    for key in ours_config.keys() & theirs_config.keys() - {"name", "learning_rate"}:
        assert ours_config[key] == pytest.approx(theirs_config[key]), key


@pytest.mark.parametrize("name", ["ftrl", "lion", "adafactor"])
def test_fit_by_name_and_config_round_trip(name):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")
    model = mlfront.Sequential([mlfront.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=name, loss="mse")
    losses = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    optimizer = model.optimizer
    clone = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(clone) is type(optimizer) and clone.get_config() == optimizer.get_config()


def test_argument_errors_name_the_optimizer():
    with pytest.raises(ValueError, match="Ftrl: `learning_rate_power` must be <= 0, got 0.5"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="Ftrl: `l1_regularization_strength` must be >= 0"):
        optimizers.Ftrl(l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="Lion: `beta_1` must be in \\(0, 1\\]"):
        optimizers.Lion(beta_1=0.0)
