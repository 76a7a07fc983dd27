"""Custom training: overriding `train_step` / `test_step`, and a loop written once on the stateless API."""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops


# ---------------------------------------------------------------------- helpers
class CountingDense(layers.Layer):
    """`x @ w + b` that counts its training calls in a non-trainable weight (state a stateless call returns)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="random_normal")
        self.calls = self.add_weight(name="calls", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs, training=None):
        if training:
            self.calls.assign(self.calls.value + 1.0)
        return ops.matmul(inputs, self.w) + self.b


def small_model():
    model = mlfront.Sequential([CountingDense(4, input_shape=(3,)), layers.Activation("tanh"), layers.Dense(2)])
    model.build((None, 3))
    return model


def data(rng, n=12):
    x = rng.normal(size=(n, 3)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    return x, y


def make_train_step(model, optimizer, loss_fn, metric):
    """The custom training step, written once for every engine (as in examples/custom_loop.py)."""

    def train_step(state, x, y):
        trainable, non_trainable, optimizer_values, metric_values = state

        def compute_loss(trainable):
            y_pred, new_non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss_fn(y, y_pred), (y_pred, new_non_trainable)

        (loss, (y_pred, non_trainable)), grads = mlfront.value_and_grad(compute_loss, has_aux=True)(trainable)
        trainable, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, trainable)
        metric_values = metric.stateless_update_state(metric_values, y, y_pred)
        return loss, (trainable, non_trainable, optimizer_values, metric_values)

    return train_step


def initial_state(model, optimizer, metric):
    optimizer.build(model.trainable_variables)
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables], [v.value for v in metric.variables])


def numpy_of(values):
    B = mlfront.backend.get()
    return [B.to_numpy(v) for v in values]


# ---------------------------------------------------------------------- the stateless loop
@pytest.mark.parametrize("compiled", [True, False], ids=["jit", "eager"])
def test_stateless_loop_matches_fit(rng, compiled):
    x, y = data(rng)
    reference = small_model()
    model = small_model()
    model.set_weights(reference.get_weights())
    reference.compile(optimizer=mlfront.optimizers.Adam(0.05), loss="mse")
    reference.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 3 steps

    optimizer = mlfront.optimizers.Adam(0.05)
    metric = mlfront.metrics.MeanSquaredError()
    step = make_train_step(model, optimizer, mlfront.losses.MeanSquaredError(), metric)
    step = mlfront.jit(step) if compiled else step
    state = initial_state(model, optimizer, metric)
    losses = []
    for i in range(3):
        loss, state = step(state, x[4 * i:4 * i + 4], y[4 * i:4 * i + 4])
        losses.append(float(mlfront.backend.get().to_numpy(loss)))
    trainable, non_trainable, optimizer_values, metric_values = (numpy_of(part) for part in state)

    for got, want in zip(trainable + non_trainable, reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(non_trainable[0], 3.0)  # the counter ran once per step
    np.testing.assert_array_equal(optimizer_values[0], 3)  # iterations
    # The metric's running value is the mean of the per-step losses (equal batches, same function).
    result = mlfront.backend.get().to_numpy(metric.stateless_result(state[3]))
    np.testing.assert_allclose(result, np.mean(losses), rtol=1e-5)


def test_stateless_calls_do_not_change_the_objects(rng):
    x, y = data(rng, n=4)
    model = small_model()
    optimizer = mlfront.optimizers.SGD(0.1, momentum=0.9)
    metric = mlfront.metrics.MeanAbsoluteError()
    step = mlfront.jit(make_train_step(model, optimizer, mlfront.losses.MeanSquaredError(), metric))
    state = initial_state(model, optimizer, metric)
    before = [v.numpy() for v in model.variables + optimizer.variables + metric.variables]
    for _ in range(2):
        _, state = step(state, x, y)
    after = [v.numpy() for v in model.variables + optimizer.variables + metric.variables]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(numpy_of(state[0])[0], before[0])  # the returned values did move
    # Each stateless method on its own leaves the Variables as they were, too.
    B = mlfront.backend.get()
    y_pred, _ = model.stateless_call([v.value * 0.0 for v in model.trainable_variables], state[1], x, training=True)
    np.testing.assert_array_equal(B.to_numpy(y_pred), np.zeros((4, 2)))
    optimizer.stateless_apply(state[2], [v.value for v in model.trainable_variables], state[0])
    metric.stateless_update_state(state[3], y, y + 1.0)
    metric.stateless_reset_state()
    metric.stateless_result(state[3])
    for a, b in zip(before, [v.numpy() for v in model.variables + optimizer.variables + metric.variables]):
        np.testing.assert_array_equal(a, b)


def test_stateless_call_forward_matches_numpy(rng):
    x, _ = data(rng, n=5)
    model = small_model()
    values = [rng.normal(size=v.shape).astype("float32") for v in model.trainable_variables]
    y_pred, (calls,) = model.stateless_call(values, [np.float32(2.0)], x, training=True)
    w, b, kernel, bias = values
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(y_pred), np.tanh(x @ w + b) @ kernel + bias,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mlfront.backend.get().to_numpy(calls), 3.0)
    # Variables are accepted as values too (their current arrays), as `model(x)` would use them.
    y_vars, _ = model.stateless_call(model.trainable_variables, model.non_trainable_variables, x)
    # predict runs the compiled graph, stateless_call runs eagerly: float32 kernels may differ in the last bits
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(y_vars), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_stateless_errors_name_the_object_and_counts():
    model = small_model()
    with pytest.raises(ValueError, match=r"expected 4 trainable values, got 1"):
        model.stateless_call([0.0], [0.0], np.zeros((1, 3), "float32"))
    optimizer = mlfront.optimizers.SGD()
    with pytest.raises(ValueError, match=r"SGD: stateless_apply needs a built optimizer"):
        optimizer.stateless_apply([], [], [])
    metric = mlfront.metrics.Mean()
    with pytest.raises(ValueError, match=r"Metric 'mean'.stateless_result: expected 2 metric values"):
        metric.stateless_result([1.0])


def test_stateless_dropout_uses_the_given_seed():
    model = mlfront.Sequential([layers.Dropout(0.5, input_shape=(64,))])
    model.build((None, 64))
    x = np.ones((2, 64), "float32")
    B = mlfront.backend.get()

    @mlfront.jit
    def forward(x, key):
        return model.stateless_call([], [], x, training=True, seed=key)[0]

    a = B.to_numpy(forward(x, mlfront.random.key(1)))
    b = B.to_numpy(forward(x, mlfront.random.key(1)))
    c = B.to_numpy(forward(x, mlfront.random.key(2)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {0.0, 2.0}


def test_jit_traces_once_on_tracing_engines(rng):
    traces = []

    def double(values, x):
        traces.append(1)
        return [v * 2.0 for v in values], ops.sum(x)

    fn = mlfront.jit(double)
    x = rng.normal(size=(3, 2)).astype("float32")
    for _ in range(3):
        out, total = fn([mlfront.ops.convert_to_tensor(x)], x)
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(out[0]), 2 * x)
    np.testing.assert_allclose(mlfront.backend.get().to_numpy(total), x.sum(), rtol=1e-6)
    assert len(traces) == (1 if mlfront.backend.get().traces else 3)


# ---------------------------------------------------------------------- overriding train_step / test_step
class LinearRegression(mlfront.Model):
    """A linear model with its own train/test steps: plain squared error, SGD, and a MAE metric."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1, kernel_initializer="zeros")
        self.mae = mlfront.metrics.MeanAbsoluteError(name="mae")
        self.loss_tracker = mlfront.metrics.Mean(name="loss")

    def call(self, x, training=None):
        return self.dense(x)

    def train_step(self, data):
        x, y, _ = data
        trainable = self.trainable_variables
        non_trainable = [v.value for v in self.non_trainable_variables]

        def compute_loss(values):
            y_pred, _ = self.stateless_call(values, non_trainable, x, training=True)
            return ops.mean(ops.square(y_pred - y)), y_pred

        (loss, y_pred), grads = mlfront.value_and_grad(compute_loss, has_aux=True)([v.value for v in trainable])
        self.optimizer.apply(grads, trainable)
        self.loss_tracker.update_state(loss)
        self.mae.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y, _ = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(ops.mean(ops.square(y_pred - y)) * 10.0)  # visibly not compute_loss
        self.mae.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class ListedMetrics(LinearRegression):
    """The same model, listing its metrics in a `metrics` property (the other Keras spelling)."""

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae]


@pytest.mark.parametrize("model_class", [LinearRegression, ListedMetrics])
def test_train_step_override_matches_numpy_sgd(rng, model_class):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")
    model = model_class()
    model.compile(optimizer=mlfront.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    w, b = np.zeros((3, 1), "float32"), np.zeros(1, "float32")
    losses, maes = [], []
    for _ in range(2):
        epoch_losses, epoch_maes = [], []
        for i in (0, 4):
            xb, yb = x[i:i + 4], y[i:i + 4]
            error = xb @ w + b - yb
            epoch_losses.append(np.mean(error ** 2))
            epoch_maes.append(np.mean(np.abs(error)))
            w, b = w - 0.1 * 2 * xb.T @ error / error.size, b - 0.1 * 2 * error.sum(0) / error.size
        losses.append(np.mean(epoch_losses))
        maes.append(np.mean(epoch_maes))
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], maes, rtol=1e-5)
    np.testing.assert_array_equal(model.optimizer.iterations.numpy(), 4)

    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    error = x @ w + b - y
    np.testing.assert_allclose(logs["loss"], 10 * np.mean(error ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(error)), rtol=1e-5)


def test_custom_loop_example_learns_the_digits(capsys):
    pytest.importorskip("sklearn")
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "custom_loop.py"
    spec = importlib.util.spec_from_file_location("custom_loop_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    accuracy = example.main(epochs=3)
    printed = capsys.readouterr().out
    assert printed.count("test accuracy ") == 4 and "epoch  3" in printed
    assert accuracy > 0.85
