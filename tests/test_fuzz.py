"""Fuzzing the boundary (issue 10, item 7): random shapes, dtypes and argument values fed to fit / predict and to
layer constructors give a result or mlfront's own ValueError / TypeError - never an engine exception, a crash or a
hang. A small example budget keeps it in CI's time."""

import os
import traceback

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import mlfront  # noqa: E402
from mlfront import layers  # noqa: E402

MLFRONT_DIR = os.path.dirname(os.path.abspath(mlfront.__file__))
BUDGET = settings(max_examples=25, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _raised_by_mlfront(error):
    """True when the innermost frame that raised `error` is mlfront's own code (not the engine's)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(MLFRONT_DIR)


def _expect_result_or_mlfront_error(fn):
    try:
        return fn()
    except (ValueError, TypeError) as error:
        assert _raised_by_mlfront(error), f"an engine error reached the user: {error!r}\n" + "".join(
            traceback.format_tb(error.__traceback__)[-3:])
        return None


def _array(draw, shape, kind):
    size = int(np.prod(shape)) if shape else 1
    if kind == "str":
        return np.array([f"s{i}" for i in range(size)], dtype=object).reshape(shape)
    if kind == "bool":
        return (np.arange(size) % 2 == 0).reshape(shape)
    values = np.linspace(-2, 2, size).reshape(shape)
    if kind == "nan":
        values.flat[:1] = np.nan
        kind = "float32"
    return values.astype(kind)


_model_cache = {}


def _model():
    if "model" not in _model_cache:
        mlfront.utils.set_random_seed(0)
        model = mlfront.Sequential([mlfront.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        _model_cache["model"] = model
    return _model_cache["model"]


shapes = st.lists(st.integers(0, 5), min_size=1, max_size=3).map(tuple)
kinds = st.sampled_from(["float32", "float64", "int32", "bool", "str", "nan"])


@BUDGET
@given(x_shape=shapes, x_kind=kinds, y_shape=shapes, y_kind=kinds,
       batch_size=st.sampled_from([None, -1, 0, 1, 3, 2.5]), epochs=st.sampled_from([-1, 0, 1, 2]))
def test_fit_on_random_data_gives_a_result_or_a_clear_error(x_shape, x_kind, y_shape, y_kind, batch_size, epochs):
    x, y = _array(None, x_shape, x_kind), _array(None, y_shape, y_kind)
    model = _model()
    history = _expect_result_or_mlfront_error(
        lambda: model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0))
    if history is not None:
        assert all(len(values) == epochs for values in history.history.values())


@BUDGET
@given(x_shape=shapes, x_kind=kinds, batch_size=st.sampled_from([None, 0, 1, 2]))
def test_predict_on_random_data_gives_a_result_or_a_clear_error(x_shape, x_kind, batch_size):
    x = _array(None, x_shape, x_kind)
    out = _expect_result_or_mlfront_error(lambda: _model().predict(x, batch_size=batch_size, verbose=0))
    if out is not None:
        assert out.shape == (x.shape[0], 3)


@BUDGET
@given(filters=st.integers(-1, 3), kernel=st.integers(-1, 6), strides=st.integers(0, 3),
       padding=st.sampled_from(["valid", "same", "causal", "full"]), size=st.integers(1, 6),
       rank=st.sampled_from([1, 2]))
def test_conv_layers_on_random_arguments_give_a_result_or_a_clear_error(filters, kernel, strides, padding, size, rank):
    def build_and_run():
        conv = (layers.Conv1D if rank == 1 else layers.Conv2D)(filters, kernel, strides=strides, padding=padding)
        inputs = mlfront.Input((size,) * rank + (2,))
        model = mlfront.Model(inputs, conv(inputs))
        return model.predict(np.ones((2,) + (size,) * rank + (2,), "float32"), verbose=0)

    out = _expect_result_or_mlfront_error(build_and_run)
    if out is not None:
        assert out.size > 0 and np.all(np.isfinite(out))


@BUDGET
@given(units=st.sampled_from([-2, 0, 1, 3, 2.5, "4", None]), rate=st.sampled_from([-0.5, 0.0, 0.5, 1.0, 2.0]),
       pool=st.integers(-1, 5), size=st.integers(1, 4))
def test_dense_dropout_pooling_arguments_give_a_result_or_a_clear_error(units, rate, pool, size):
    def build_and_run():
        inputs = mlfront.Input((size, size, 2))
        x = layers.MaxPooling2D(pool)(inputs)
        x = layers.Dropout(rate)(layers.Flatten()(x))
        model = mlfront.Model(inputs, layers.Dense(units)(x))
        return model.predict(np.ones((2, size, size, 2), "float32"), verbose=0)

    out = _expect_result_or_mlfront_error(build_and_run)
    if out is not None:
        assert out.shape == (2, units) and np.all(np.isfinite(out))
