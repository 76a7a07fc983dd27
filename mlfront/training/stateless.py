"""The stateless API: pure functions of explicit state values, for custom training loops on any engine.

Every Variable of a layer, optimizer or metric holds one backend array. A stateless call binds the given
values to those Variables, runs the ordinary (stateful-looking) code, reads the values the Variables hold at
the end and puts the old values back, so the objects themselves are never changed. The results are plain
lists of arrays: a loop that carries them through a step can be compiled with `mlfront.jit`.

Example (one training step, the same code on every engine):

    @mlfront.jit
    def train_step(state, x, y):
        trainable, non_trainable, optimizer_values, metric_values = state

        def compute_loss(trainable):
            y_pred, non_trainable_out = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss_fn(y, y_pred), (y_pred, non_trainable_out)

        (loss, (y_pred, non_trainable)), grads = mlfront.value_and_grad(compute_loss, has_aux=True)(trainable)
        trainable, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, trainable)
        metric_values = metric.stateless_update_state(metric_values, y, y_pred)
        return loss, (trainable, non_trainable, optimizer_values, metric_values)
"""

import numpy as np

from mlfront import backend as _backend
from mlfront.backend.context import call_context, current
from mlfront.random import KeyStream
from mlfront.variables import Variable, bind, values_of


def _as_arrays(values):
    """Backend arrays: Variables give the array they hold (no copy, so tracing sees it), NumPy is converted."""
    B = _backend.get()
    values = [v.value if isinstance(v, Variable) else v for v in values]
    return [v if B.is_array(v) else B.convert(np.asarray(v)) for v in values]


def run_with_values(variables, values, fn, owner, what):
    """`fn()` run while `variables` hold `values`; returns (fn's result, the variables' values after it).

    The variables hold their previous values again afterwards, also when `fn` raises.
    """
    values = list(values)
    if len(values) != len(variables):
        raise ValueError(f"{owner}: expected {len(variables)} {what} (one per variable: "
                         f"{[v.path for v in variables]}), got {len(values)}.")
    saved = values_of(variables)
    bind(variables, _as_arrays(values))
    try:
        result = fn()
        return result, values_of(variables)
    finally:
        bind(variables, saved)


# ---------------------------------------------------------------------- layers and models
def stateless_call(layer, trainable_values, non_trainable_values, *args, seed=None, **kwargs):
    """`layer(*args, **kwargs)` computed with the given weight values; see `Layer.stateless_call`."""
    if not layer.built:
        raise ValueError(f"Layer '{layer.name}': stateless_call needs a built layer (its variables must exist); "
                         f"call the layer once on an example input, or build() it, first.")
    trainable, non_trainable = layer.trainable_variables, layer.non_trainable_variables
    owner = f"Layer '{layer.name}'.stateless_call"
    trainable_values, non_trainable_values = list(trainable_values), list(non_trainable_values)
    if len(trainable_values) != len(trainable):
        raise ValueError(f"{owner}: expected {len(trainable)} trainable values, got {len(trainable_values)}.")
    if len(non_trainable_values) != len(non_trainable):
        raise ValueError(f"{owner}: expected {len(non_trainable)} non-trainable values, got "
                         f"{len(non_trainable_values)}.")
    stream = None
    if seed is not None:
        B = _backend.get()
        stream = KeyStream(B.rng_key(seed) if isinstance(seed, (int, np.integer)) else seed)

    def call():
        if stream is None:
            return layer(*args, **kwargs)
        with call_context(current()[0], stream):
            return layer(*args, **kwargs)

    outputs, values = run_with_values(trainable + non_trainable, trainable_values + non_trainable_values, call,
                                      owner, "values")
    return outputs, values[len(trainable):]


# ---------------------------------------------------------------------- optimizers
def stateless_apply(optimizer, optimizer_values, grads, trainable_values):
    """One optimizer step on explicit values; see `Optimizer.stateless_apply`."""
    name = type(optimizer).__name__
    if not optimizer.built:
        raise ValueError(f"{name}: stateless_apply needs a built optimizer; call "
                         f"optimizer.build(model.trainable_variables) first.")
    state, trainable = optimizer.variables, optimizer._built_variables
    trainable_values = list(trainable_values)
    if len(trainable_values) != len(trainable):
        raise ValueError(f"{name}.stateless_apply: expected {len(trainable)} trainable values (the optimizer was "
                         f"built for {len(trainable)} variables), got {len(trainable_values)}.")
    optimizer_values = list(optimizer_values)
    if len(optimizer_values) != len(state):
        raise ValueError(f"{name}.stateless_apply: expected {len(state)} optimizer values (one per "
                         f"optimizer.variables), got {len(optimizer_values)}.")
    _, values = run_with_values(trainable + state, trainable_values + optimizer_values,
                                lambda: optimizer.apply(list(grads)), f"{name}.stateless_apply", "values")
    return values[:len(trainable)], values[len(trainable):]


# ---------------------------------------------------------------------- metrics
def stateless_update_state(metric, metric_values, *args, **kwargs):
    """The metric's variable values after `update_state(*args, **kwargs)`; see `Metric.stateless_update_state`."""
    B = _backend.get()
    args = [a if a is None or B.is_array(a) else B.convert(np.asarray(a, dtype="float32")) for a in args]
    kwargs = {k: v if v is None or B.is_array(v) else B.convert(np.asarray(v, dtype="float32"))
              for k, v in kwargs.items()}
    if not metric.built and len(args) >= 2:
        metric._maybe_build(B.shape(args[0]), B.shape(args[1]))
    _, values = run_with_values(metric.variables, metric_values, lambda: metric.update_state(*args, **kwargs),
                                f"Metric '{metric.name}'.stateless_update_state", "metric values")
    return values


def stateless_result(metric, metric_values):
    """The metric's result computed from `metric_values`; see `Metric.stateless_result`."""
    result, _ = run_with_values(metric.variables, metric_values, metric.result,
                                f"Metric '{metric.name}'.stateless_result", "metric values")
    return result


def stateless_reset_state(metric):
    """The metric's variable values after `reset_state()`, without changing the metric."""
    _, values = run_with_values(metric.variables, values_of(metric.variables), metric.reset_state,
                                f"Metric '{metric.name}'.stateless_reset_state", "metric values")
    return values


# ---------------------------------------------------------------------- compilation
def jit(fn):
    """`fn` compiled by the active backend: jax.jit, tf.function, or eager PyTorch.

    `fn` must be pure: it reads only its arguments (nested lists/tuples/dicts of arrays) and returns its
    results; state goes in and out as values (see the stateless methods). NumPy arrays among the arguments
    are handed to the engine first. Each new argument shape may trigger a new trace.

    Example:
        step = mlfront.jit(train_step)
        loss, state = step(state, x_batch, y_batch)
    """
    B = _backend.get()
    compiled = B.compile(fn, jit="auto")

    def prepare(value):
        if isinstance(value, np.ndarray):
            return B.prepare_batch(value)
        if isinstance(value, dict):
            return {k: prepare(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(prepare(v) for v in value)
        return value

    def call(*args):
        return compiled(*prepare(args))

    call.__wrapped__ = fn
    call.__doc__ = fn.__doc__
    call.__name__ = getattr(fn, "__name__", "jit_function")
    return call
