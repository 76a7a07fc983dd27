"""NumPy references (float64) for optimizer update rules and learning-rate schedules, from the Keras 3 formulas.

An update rule is `rule(w, g, t, state, lr, **hyper) -> new w` for one variable, where `t` counts steps from 1
and `state` is that variable's dict of slots. `run` adds what the base optimizer does around the rules:
gradient clipping, decoupled weight decay and a learning rate that may change every step.
"""

import math

import numpy as np


def sgd(w, g, t, state, lr, momentum=0.0, nesterov=False):
    if not momentum:
        return w - lr * g
    m = momentum * state.get("m", 0.0) - lr * g
    state["m"] = m
    return w + momentum * m - lr * g if nesterov else w + m


def rmsprop(w, g, t, state, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * g * g
    denominator = v
    if centered:
        a = state["a"] = rho * state.get("a", 0.0) + (1 - rho) * g
        denominator = v - a * a
    increment = lr * g / np.sqrt(denominator + epsilon)
    if momentum:
        increment = state["s"] = momentum * state.get("s", 0.0) + increment
    return w - increment


def adam(w, g, t, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g * g
    if amsgrad:
        v = state["v_hat"] = np.maximum(state.get("v_hat", 0.0), v)
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * m / (np.sqrt(v) + epsilon)


def adagrad(w, g, t, state, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    a = state["a"] = state.get("a", initial_accumulator_value) + g * g
    return w - lr * g / np.sqrt(a + epsilon)


def adadelta(w, g, t, state, lr, rho=0.95, epsilon=1e-7):
    a = state["a"] = rho * state.get("a", 0.0) + (1 - rho) * g * g
    delta = -np.sqrt(state.get("s", 0.0) + epsilon) / np.sqrt(a + epsilon) * g
    state["s"] = rho * state.get("s", 0.0) + (1 - rho) * delta * delta
    return w + lr * delta


def adamax(w, g, t, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    u = state["u"] = np.maximum(beta_2 * state.get("u", 0.0), np.abs(g))
    return w - lr / (1 - beta_1 ** t) * m / (u + epsilon)


def nadam(w, g, t, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    mu = lambda step: beta_1 * (1 - 0.5 * 0.96 ** step)  # noqa: E731
    product_t = math.prod(mu(i) for i in range(1, t + 1))
    product_next = product_t * mu(t + 1)
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g * g
    m_hat = mu(t + 1) * m / (1 - product_next) + (1 - mu(t)) * g / (1 - product_t)
    v_hat = v / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


RULES = {"sgd": sgd, "rmsprop": rmsprop, "adam": adam, "adamw": adam, "adagrad": adagrad, "adadelta": adadelta,
         "adamax": adamax, "nadam": nadam}


def clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm is not None:
        return [g * min(1.0, clipnorm / np.linalg.norm(g)) for g in grads]
    if global_clipnorm is not None:
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        return [g * min(1.0, global_clipnorm / norm) for g in grads]
    if clipvalue is not None:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def run(rule, weights, grad_steps, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
        global_clipnorm=None, **hyper):
    """Weights (list of arrays) after each step of `grad_steps` (a list of gradient lists).

    `learning_rate` is a float, or a function of the 0-based step (a schedule).
    """
    weights = [np.asarray(w, np.float64) for w in weights]
    states = [{} for _ in weights]
    history = []
    for step, grads in enumerate(grad_steps):
        lr = learning_rate(step) if callable(learning_rate) else learning_rate
        grads = clip([np.asarray(g, np.float64) for g in grads], clipnorm, clipvalue, global_clipnorm)
        if weight_decay:
            weights = [w - lr * weight_decay * w for w in weights]
        weights = [rule(w, g, step + 1, s, lr, **hyper) for w, g, s in zip(weights, grads, states)]
        history.append([w.copy() for w in weights])
    return history


# ---------------------------------------------------------------------- schedules (step is a number)
def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = step / decay_steps
    return initial_learning_rate * decay_rate ** (math.floor(p) if staircase else p)


def inverse_time_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = step / decay_steps
    return initial_learning_rate / (1 + decay_rate * (math.floor(p) if staircase else p))


def piecewise_constant_decay(step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if step <= boundary:
            return value
    return values[-1]


def polynomial_decay(step, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (initial_learning_rate - end_learning_rate) * (1 - step / decay_steps) ** power + end_learning_rate


def cosine_decay(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    def decayed(s, start):
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)
    if warmup_target is None:
        return decayed(min(step, decay_steps), initial_learning_rate)
    step = min(step, decay_steps + warmup_steps)
    if step < warmup_steps:
        return initial_learning_rate + (warmup_target - initial_learning_rate) * step / warmup_steps
    return decayed(step - warmup_steps, warmup_target)


def cosine_decay_restarts(step, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    # Walk the periods one by one (independent of the closed form the library uses).
    period, start, scale = float(first_decay_steps), 0.0, 1.0
    while step >= start + period:
        start, period, scale = start + period, period * t_mul, scale * m_mul
    fraction = (step - start) / period
    return initial_learning_rate * ((1 - alpha) * 0.5 * scale * (1 + math.cos(math.pi * fraction)) + alpha)
