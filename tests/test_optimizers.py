"""Optimizers and learning-rate schedules: update rules against NumPy formulas and against each engine's own
optimizers (torch.optim, optax, keras.optimizers) where the math is the same."""

import numpy as np
import pytest

import mlfront
from mlfront import backend as _backend
from mlfront import ops, optimizers
from mlfront.optimizers import schedules
from references import optim as ref

STEPS = 4


def _problem(seed=0, steps=STEPS):
    """Two small variables and `steps` gradient lists drawn at random (float32)."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in weights] for _ in range(steps)]
    return weights, grads


def _trajectory(optimizer, weights, grad_steps):
    """The weights after each step when `optimizer` is applied to mlfront Variables."""
    variables = [mlfront.Variable(w) for w in weights]
    history = []
    for grads in grad_steps:
        optimizer.apply([ops.convert_to_tensor(g) for g in grads], variables)
        history.append([v.numpy() for v in variables])
    return history


def _assert_same(actual, expected, rtol=1e-5, atol=1e-6):
    for step, (got_step, want_step) in enumerate(zip(actual, expected)):
        for got, want in zip(got_step, want_step):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"after step {step + 1}")


# (name, mlfront class, kwargs, NumPy rule, learning rate)
CASES = [
    ("sgd", optimizers.SGD, {}, ref.sgd, 0.01),
    ("sgd_momentum", optimizers.SGD, {"momentum": 0.9}, ref.sgd, 0.1),
    ("sgd_nesterov", optimizers.SGD, {"momentum": 0.8, "nesterov": True}, ref.sgd, 0.1),
    ("rmsprop", optimizers.RMSprop, {}, ref.rmsprop, 0.01),
    ("rmsprop_centered_momentum", optimizers.RMSprop, {"rho": 0.8, "momentum": 0.5, "centered": True},
     ref.rmsprop, 0.01),
    ("adam", optimizers.Adam, {}, ref.adam, 0.01),
    # epsilon large enough to tell Keras's placement (outside the root of the uncorrected v) from torch's
    ("adam_large_epsilon", optimizers.Adam, {"epsilon": 0.5, "beta_1": 0.0, "beta_2": 0.9}, ref.adam, 0.01),
    ("adam_amsgrad", optimizers.Adam, {"amsgrad": True, "beta_1": 0.8, "beta_2": 0.9}, ref.adam, 0.01),
    ("adamw", optimizers.AdamW, {"weight_decay": 0.1}, ref.adam, 0.01),
    ("adagrad", optimizers.Adagrad, {}, ref.adagrad, 0.1),
    ("adadelta", optimizers.Adadelta, {"rho": 0.9}, ref.adadelta, 1.0),
    ("adamax", optimizers.Adamax, {}, ref.adamax, 0.01),
    ("nadam", optimizers.Nadam, {}, ref.nadam, 0.01),
]


def _hyper(kwargs):
    return {k: v for k, v in kwargs.items() if k != "weight_decay"}


@pytest.mark.parametrize("name, cls, kwargs, rule, lr", CASES, ids=[c[0] for c in CASES])
def test_update_rule_matches_numpy(name, cls, kwargs, rule, lr):
    weights, grads = _problem()
    actual = _trajectory(cls(learning_rate=lr, **kwargs), weights, grads)
    expected = ref.run(rule, weights, grads, lr, weight_decay=kwargs.get("weight_decay"), **_hyper(kwargs))
    _assert_same(actual, expected)


@pytest.mark.skipif(_backend.get().name != "torch", reason="torch's fused Adam kernel")
def test_torch_adam_runs_the_fused_kernel_on_copies(monkeypatch):
    import torch
    calls = []
    fused = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda *args, **kwargs: calls.append(1) or fused(*args, **kwargs))
    weights, grads = _problem()
    variables = [mlfront.Variable(w) for w in weights]
    tensors_before = [v.value for v in variables]  # e.g. what a callback took as the best weights
    optimizer = optimizers.Adam(0.01, epsilon=0.5)
    history = []
    for step in grads:
        optimizer.apply([ops.convert_to_tensor(g) for g in step], variables)
        history.append([v.numpy() for v in variables])
    assert len(calls) == len(grads)
    for tensor, w in zip(tensors_before, weights):
        np.testing.assert_array_equal(tensor.numpy(), w)  # updated on copies, never in place
    _assert_same(history, ref.run(ref.adam, weights, grads, 0.01, epsilon=0.5))


def test_keras_3_defaults():
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    for cls in (optimizers.RMSprop, optimizers.Adam, optimizers.AdamW, optimizers.Adagrad, optimizers.Adadelta,
                optimizers.Adamax, optimizers.Nadam):
        assert cls().learning_rate == pytest.approx(0.001), cls.__name__
    assert optimizers.Adam().epsilon == 1e-7 and optimizers.RMSprop().rho == 0.9
    assert optimizers.AdamW().weight_decay == 0.004 and optimizers.Adadelta().rho == 0.95
    assert optimizers.Adagrad().initial_accumulator_value == 0.1


# ---------------------------------------------------------------------- against the engines' own optimizers
def _torch_cases():
    torch = pytest.importorskip("torch")
    o = torch.optim
    # Epsilon conventions differ (torch adds it outside the bias-corrected root), so compare with epsilon 0
    # where both then compute the same thing; Adadelta puts it in the same place in both.
    return {
        "sgd_momentum": (optimizers.SGD(0.1, momentum=0.9), lambda p: o.SGD(p, lr=0.1, momentum=0.9)),
        "sgd_nesterov": (optimizers.SGD(0.1, momentum=0.8, nesterov=True),
                         lambda p: o.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
        "rmsprop": (optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True, epsilon=0.0),
                    lambda p: o.RMSprop(p, lr=0.01, alpha=0.8, momentum=0.5, centered=True, eps=0.0)),
        "adam": (optimizers.Adam(0.01, beta_1=0.8, epsilon=0.0), lambda p: o.Adam(p, lr=0.01, betas=(0.8, 0.999),
                                                                                 eps=0.0)),
        "adam_amsgrad": (optimizers.Adam(0.01, amsgrad=True, epsilon=0.0),
                         lambda p: o.Adam(p, lr=0.01, amsgrad=True, eps=0.0)),
        "adamw": (optimizers.AdamW(0.01, weight_decay=0.1, epsilon=0.0),
                  lambda p: o.AdamW(p, lr=0.01, weight_decay=0.1, eps=0.0)),
        "adagrad": (optimizers.Adagrad(0.1, epsilon=0.0),
                    lambda p: o.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0)),
        "adadelta": (optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
                     lambda p: o.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6)),
        "adamax": (optimizers.Adamax(0.01, epsilon=0.0), lambda p: o.Adamax(p, lr=0.01, eps=0.0)),
        # torch's NAdam schedule is beta_1 (1 - 0.5 * 0.96 ** (t * momentum_decay)); Keras 3 uses t itself.
        "nadam": (optimizers.Nadam(0.01, epsilon=0.0),
                  lambda p: o.NAdam(p, lr=0.01, eps=0.0, momentum_decay=1.0)),
    }


def _torch_trajectory(make, weights, grad_steps):
    import torch
    params = [torch.nn.Parameter(torch.tensor(w)) for w in weights]
    optimizer = make(params)
    history = []
    for grads in grad_steps:
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def _optax_cases():
    optax = pytest.importorskip("optax")
    # optax puts Adam's epsilon outside the bias-corrected root (compare with 0) and Adamax's inside the max.
    return {
        "sgd_nesterov": (optimizers.SGD(0.1, momentum=0.8, nesterov=True),
                         optax.sgd(0.1, momentum=0.8, nesterov=True)),
        "rmsprop": (optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
                    optax.rmsprop(0.01, decay=0.8, eps=1e-7, centered=True, momentum=0.5)),
        "adam": (optimizers.Adam(0.01, epsilon=0.0), optax.adam(0.01, eps=0.0)),
        "adamw": (optimizers.AdamW(0.01, weight_decay=0.1, epsilon=0.0),
                  optax.adamw(0.01, eps=0.0, weight_decay=0.1)),
        "adagrad": (optimizers.Adagrad(0.1), optax.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-7)),
        "adadelta": (optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6), optax.adadelta(1.0, rho=0.9, eps=1e-6)),
        "adamax": (optimizers.Adamax(0.01, epsilon=0.0), optax.adamax(0.01, eps=0.0)),
    }


def _optax_trajectory(transform, weights, grad_steps):
    import jax.numpy as jnp
    import optax
    params = [jnp.asarray(w) for w in weights]
    state = transform.init(params)
    history = []
    for grads in grad_steps:
        updates, state = transform.update([jnp.asarray(g) for g in grads], state, params)
        params = optax.apply_updates(params, updates)
        history.append([np.asarray(p) for p in params])
    return history


def _keras_cases():
    keras = pytest.importorskip("keras")
    o = keras.optimizers
    return {  # same formulas, epsilon placement included: compare with Keras defaults
        "sgd_nesterov": (optimizers.SGD(0.1, momentum=0.8, nesterov=True), o.SGD(0.1, momentum=0.8, nesterov=True)),
        "rmsprop": (optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                    o.RMSprop(0.01, momentum=0.5, centered=True)),
        "adam_amsgrad": (optimizers.Adam(0.01, amsgrad=True), o.Adam(0.01, amsgrad=True)),
        "adamw": (optimizers.AdamW(0.01, weight_decay=0.1), o.AdamW(0.01, weight_decay=0.1)),
        "adagrad": (optimizers.Adagrad(0.1), o.Adagrad(0.1)),
        "adadelta": (optimizers.Adadelta(1.0), o.Adadelta(1.0)),
        "adamax": (optimizers.Adamax(0.01), o.Adamax(0.01)),
        "nadam": (optimizers.Nadam(0.01), o.Nadam(0.01)),
        "global_clipnorm": (optimizers.Adam(0.01, global_clipnorm=0.5), o.Adam(0.01, global_clipnorm=0.5)),
    }


def _keras_trajectory(optimizer, weights, grad_steps):
    import keras
    variables = [keras.Variable(w) for w in weights]
    history = []
    for grads in grad_steps:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        history.append([np.array(v.numpy()) for v in variables])
    return history


ENGINE_NAMES = ["sgd_momentum", "sgd_nesterov", "rmsprop", "adam", "adam_amsgrad", "adamw", "adagrad", "adadelta",
                "adamax", "nadam", "global_clipnorm"]


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_matches_engine_optimizer(name):
    engine = mlfront.backend()
    cases, run_engine = {"torch": (_torch_cases, _torch_trajectory), "jax": (_optax_cases, _optax_trajectory),
                         "tensorflow": (_keras_cases, _keras_trajectory)}[engine]
    cases = cases()
    if name not in cases:
        pytest.skip(f"{engine}'s optimizers have no {name} with the same math")
    ours, theirs = cases[name]
    weights, grads = _problem(seed=1)
    _assert_same(_trajectory(ours, weights, grads), run_engine(theirs, weights, grads), rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------------- clipping and weight decay
@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"clipvalue": 0.3}, {"global_clipnorm": 0.7}])
def test_gradient_clipping(clip):
    weights, grads = _problem(seed=2)
    actual = _trajectory(optimizers.SGD(0.1, momentum=0.5, **clip), weights, grads)
    expected = ref.run(ref.sgd, weights, grads, 0.1, momentum=0.5, **clip)
    _assert_same(actual, expected)
    unclipped = ref.run(ref.sgd, weights, grads, 0.1, momentum=0.5)
    assert not np.allclose(actual[-1][0], unclipped[-1][0])  # the clip did bite


def test_only_one_clip_argument():
    with pytest.raises(ValueError, match="only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_weight_decay_is_decoupled_and_excludable():
    weights, grads = _problem(seed=3)
    optimizer = optimizers.SGD(0.1, weight_decay=0.2)
    variables = [mlfront.Variable(w) for w in weights]
    optimizer.exclude_from_weight_decay(var_list=[variables[1]])
    for step in grads:
        optimizer.apply([ops.convert_to_tensor(g) for g in step], variables)
    decayed = ref.run(ref.sgd, weights[:1], [s[:1] for s in grads], 0.1, weight_decay=0.2)[-1][0]
    plain = ref.run(ref.sgd, weights[1:], [s[1:] for s in grads], 0.1)[-1][0]
    np.testing.assert_allclose(variables[0].numpy(), decayed, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variables[1].numpy(), plain, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- learning rate and iterations
def test_learning_rate_change_between_steps():
    weights, grads = _problem(seed=4, steps=5)
    optimizer = optimizers.Adam(0.01)
    variables = [mlfront.Variable(w) for w in weights]
    for step, step_grads in enumerate(grads):
        if step == 2:
            optimizer.learning_rate = 0.05
        optimizer.apply([ops.convert_to_tensor(g) for g in step_grads], variables)
    expected = ref.run(ref.adam, weights, grads, lambda step: 0.01 if step < 2 else 0.05)[-1]
    for variable, want in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-5, atol=1e-6)
    assert optimizer.learning_rate == pytest.approx(0.05)
    assert int(optimizer.iterations.numpy()) == 5


def test_learning_rate_change_reaches_the_compiled_train_step():
    model = mlfront.Sequential([mlfront.Input((3,)), mlfront.layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    model.train_on_batch(x, y)
    frozen = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    for before, after in zip(frozen, model.get_weights()):
        np.testing.assert_array_equal(before, after)  # learning rate 0: nothing moves
    step_fn = model._train_fn
    model.optimizer.learning_rate = 0.1
    model.train_on_batch(x, y)
    assert model._train_fn is step_fn  # no recompilation
    assert any(not np.allclose(b, a) for b, a in zip(frozen, model.get_weights()))
    assert int(model.optimizer.iterations.numpy()) == 3


def test_learning_rate_value_api():
    optimizer = optimizers.SGD(lr=0.1)  # Keras 2 spelling
    assert optimizer.learning_rate == pytest.approx(0.1) and optimizer.lr == pytest.approx(0.1)
    assert optimizer.learning_rate.numpy() == pytest.approx(0.1)
    optimizer.learning_rate.assign(0.2)  # Keras 3 spelling of setting it
    assert float(optimizer.learning_rate) == pytest.approx(0.2)
    optimizer.lr = 0.3
    assert optimizer.get_config()["learning_rate"] == pytest.approx(0.3)


def test_keras_2_time_decay():
    weights, grads = _problem(seed=5)
    actual = _trajectory(optimizers.SGD(0.1, decay=0.5), weights, grads)
    _assert_same(actual, ref.run(ref.sgd, weights, grads, lambda step: 0.1 / (1 + 0.5 * step)))


def test_schedule_drives_the_optimizer():
    weights, grads = _problem(seed=6)
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    actual = _trajectory(optimizers.SGD(schedule, momentum=0.9), weights, grads)
    expected = ref.run(ref.sgd, weights, grads, lambda step: ref.exponential_decay(step, 0.1, 2, 0.5), momentum=0.9)
    _assert_same(actual, expected)


def test_schedule_learning_rate_is_not_settable():
    optimizer = optimizers.Adam(schedules.InverseTimeDecay(0.1, 10, 1.0))
    with pytest.raises(TypeError, match="schedule"):
        optimizer.learning_rate = 0.01


def test_none_gradients_are_skipped():
    weights, grads = _problem(seed=7, steps=1)
    variables = [mlfront.Variable(w) for w in weights]
    optimizers.SGD(0.1).apply([ops.convert_to_tensor(grads[0][0]), None], variables)
    np.testing.assert_allclose(variables[0].numpy(), weights[0] - 0.1 * grads[0][0], rtol=1e-6)
    np.testing.assert_array_equal(variables[1].numpy(), weights[1])


def test_unknown_variable_is_an_error():
    optimizer = optimizers.Adam()
    optimizer.apply([ops.convert_to_tensor(np.ones(2, np.float32))], [mlfront.Variable(np.zeros(2, np.float32))])
    with pytest.raises(ValueError, match="not one of the 1 variables"):
        optimizer.apply([ops.convert_to_tensor(np.ones(2, np.float32))], [mlfront.Variable(np.zeros(2, np.float32))])


def test_custom_keras_style_optimizer():
    class SignSGD(optimizers.Optimizer):
        def build(self, variables):
            super().build(variables)

        def update_step(self, gradient, variable, learning_rate):
            variable.assign(variable.value - learning_rate * ops.sign(gradient))

    weights, grads = _problem(seed=8, steps=2)
    actual = _trajectory(SignSGD(learning_rate=0.1), weights, grads)
    expected = ref.run(lambda w, g, t, s, lr: w - lr * np.sign(g), weights, grads, 0.1)
    _assert_same(actual, expected)


# ---------------------------------------------------------------------- lookup and config
def test_get_by_name_and_unknown_name():
    for name, cls in [("adam", optimizers.Adam), ("SGD", optimizers.SGD), ("adamw", optimizers.AdamW),
                      ("Nadam", optimizers.Nadam), ("adadelta", optimizers.Adadelta)]:
        assert type(optimizers.get(name)) is cls
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'.*adagrad.*adam.*sgd"):
        optimizers.get("adamm")


@pytest.mark.parametrize("name, cls, kwargs, rule, lr", CASES[:8:2], ids=[c[0] for c in CASES[:8:2]])
def test_config_round_trip(name, cls, kwargs, rule, lr):
    optimizer = cls(learning_rate=lr, clipnorm=1.0, **kwargs)
    clone = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(clone) is cls and clone.get_config() == optimizer.get_config()


def test_config_round_trip_with_schedule():
    optimizer = optimizers.SGD(schedules.CosineDecay(0.1, 100, alpha=0.1), momentum=0.9)
    clone = optimizers.SGD.from_config(optimizer.get_config())
    assert isinstance(clone.schedule, schedules.CosineDecay) and clone.schedule.get_config()["alpha"] == 0.1


def test_state_lives_in_variables():
    optimizer = optimizers.Adam(amsgrad=True)
    optimizer.build([mlfront.Variable(np.zeros((2, 3), np.float32), name="kernel")])
    names = [v.name for v in optimizer.variables]
    assert names == ["iterations", "learning_rate", "momentum", "velocity", "velocity_hat"]
    assert all(isinstance(v, mlfront.Variable) and not v.trainable for v in optimizer.variables)


# ---------------------------------------------------------------------- schedules
SCHEDULES = [
    (schedules.ExponentialDecay(0.1, 4, 0.5), lambda s: ref.exponential_decay(s, 0.1, 4, 0.5)),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True),
     lambda s: ref.exponential_decay(s, 0.1, 4, 0.5, staircase=True)),
    (schedules.InverseTimeDecay(0.2, 5, 0.5), lambda s: ref.inverse_time_decay(s, 0.2, 5, 0.5)),
    (schedules.InverseTimeDecay(0.2, 5, 0.5, staircase=True),
     lambda s: ref.inverse_time_decay(s, 0.2, 5, 0.5, staircase=True)),
    (schedules.PiecewiseConstantDecay([3, 8], [1.0, 0.5, 0.1]),
     lambda s: ref.piecewise_constant_decay(s, [3, 8], [1.0, 0.5, 0.1])),
    (schedules.PolynomialDecay(0.1, 10, 0.01, power=2.0), lambda s: ref.polynomial_decay(s, 0.1, 10, 0.01, 2.0)),
    (schedules.PolynomialDecay(0.1, 4, 0.01, cycle=True), lambda s: ref.polynomial_decay(s, 0.1, 4, 0.01, cycle=True)),
    (schedules.CosineDecay(0.1, 10, alpha=0.2), lambda s: ref.cosine_decay(s, 0.1, 10, alpha=0.2)),
    (schedules.CosineDecay(0.0, 10, warmup_target=0.5, warmup_steps=4),
     lambda s: ref.cosine_decay(s, 0.0, 10, warmup_target=0.5, warmup_steps=4)),
    (schedules.CosineDecayRestarts(0.1, 3, t_mul=2.0, m_mul=0.5, alpha=0.1),
     lambda s: ref.cosine_decay_restarts(s, 0.1, 3, 2.0, 0.5, 0.1)),
    (schedules.CosineDecayRestarts(0.1, 4, t_mul=1.0), lambda s: ref.cosine_decay_restarts(s, 0.1, 4, 1.0)),
]
STEPS_CHECKED = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 13, 20]


@pytest.mark.parametrize("schedule, reference", SCHEDULES, ids=[f"{type(s).__name__}{i}" for i, (s, _) in
                                                                 enumerate(SCHEDULES)])
def test_schedule_matches_numpy_eager_and_compiled(schedule, reference):
    B = _backend.get()
    compiled = B.compile(lambda step: schedule(step))  # traced by jax.jit / tf.function: no Python branching
    for step in STEPS_CHECKED:
        want = reference(step)
        assert float(ops.convert_to_numpy(schedule(step))) == pytest.approx(want, rel=1e-5, abs=1e-7), step
        got = compiled(ops.convert_to_tensor(np.float32(step)))
        assert float(ops.convert_to_numpy(got)) == pytest.approx(want, rel=1e-5, abs=1e-7), step


@pytest.mark.parametrize("schedule", [s for s, _ in SCHEDULES[::2]], ids=lambda s: type(s).__name__)
def test_schedule_config_round_trip(schedule):
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    assert float(ops.convert_to_numpy(clone(6))) == pytest.approx(float(ops.convert_to_numpy(schedule(6))))


def test_schedule_module_paths():
    import mlfront.optimizers.schedules as by_path
    assert by_path is mlfront.schedules and optimizers.schedules.CosineDecay is schedules.CosineDecay
