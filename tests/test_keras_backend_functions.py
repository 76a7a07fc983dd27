"""`import mlfront.backend as K`: Keras 2's backend functions, checked against tf_keras 2.21 outputs (a committed
fixture written by tests/fixtures/make_keras2_backend_fixtures.py) and NumPy formulas, eagerly, inside a
compiled function, and inside compile/fit as custom losses, metrics, Lambda and custom layers."""

import os
import sys

import numpy as np
import pytest

import mlfront
import mlfront.backend as K
from mlfront import backend as K_from_import
from mlfront import layers, losses

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from keras2_backend_cases import CASES, resolve  # noqa: E402

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "keras2_backend.npz"))
INPUTS = {key.split("/", 1)[1]: FIXTURE[key] for key in FIXTURE.files if key.startswith("input/")}


def _array(value):
    return K.get().convert(value)


def _numpy(value):
    return K.get().to_numpy(value)


def _assert_matches(case, result):
    expected = FIXTURE[f"output/{case}"]
    result = np.asarray(result)
    assert result.shape == expected.shape, (case, result.shape, expected.shape)
    if expected.dtype == bool:
        assert result.dtype == bool, (case, result.dtype)
        np.testing.assert_array_equal(result, expected, err_msg=case)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=2e-6, err_msg=case)


@pytest.mark.parametrize("case,function,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_function_matches_tf_keras(case, function, args, kwargs):
    values = [resolve(a, INPUTS, _array) for a in args]
    _assert_matches(case, _numpy(getattr(K, function)(*values, **kwargs)))


def test_functions_inside_a_compiled_function():
    names = sorted(INPUTS)

    def every_case(*arrays):
        inputs = dict(zip(names, arrays))
        return [getattr(K, function)(*[resolve(a, inputs, lambda v: v) for a in args], **kwargs)
                for _, function, args, kwargs in CASES]

    outputs = K.get().compile(every_case)(*[_array(INPUTS[n]) for n in names])
    for (case, *_), output in zip(CASES, outputs):
        _assert_matches(case, _numpy(output))


def test_numpy_arrays_and_variables_are_accepted():
    b = INPUTS["b"]
    np.testing.assert_allclose(_numpy(K.mean(b, axis=-1)), b.mean(-1), rtol=1e-6)
    v = K.variable(b)
    np.testing.assert_allclose(_numpy(K.sum(K.square(v))), (b ** 2).sum(), rtol=1e-5)
    assert K.dtype(K.mean(b.astype(np.float64))) == "float32"  # NumPy float64 becomes floatx


def test_config_defaults_and_setters():
    assert K.epsilon() == pytest.approx(float(FIXTURE["meta/epsilon"])) == 1e-7
    assert K.floatx() == "float32" and K.image_data_format() == "channels_last"
    assert K.backend() == mlfront.backend() == os.environ.get("MLFRONT_BACKEND", "torch")
    try:
        K.set_epsilon(1e-4)
        assert K.epsilon() == 1e-4
        p = np.array([[0.0, 1.0]], np.float32)
        np.testing.assert_allclose(_numpy(K.binary_crossentropy(_array(np.ones((1, 2), np.float32)), p)),
                                   -np.log(np.clip(p, 1e-4, 1 - 1e-4) + 1e-4), rtol=1e-5)
        # the losses and metrics read it too, as Keras's do
        np.testing.assert_allclose(_numpy(losses.categorical_crossentropy(_array(np.array([[1.0, 0.0]], np.float32)),
                                                                          _array(p))), [-np.log(1e-4)], rtol=1e-5)
        K.set_floatx("float16")
        assert layers.Dense(2).dtype == "float16"
        assert K.dtype(K.zeros((2,))) == "float16" and K.dtype(K.random_uniform((2,), seed=1)) == "float16"
        K.set_image_data_format("channels_first")
        assert layers.Conv2D(2, 3).data_format == "channels_first"
        assert layers.MaxPooling2D().data_format == "channels_first"
    finally:
        K.set_epsilon(1e-7)
        K.set_floatx("float32")
        K.set_image_data_format("channels_last")
    assert layers.Dense(2).dtype == "float32" and layers.Conv2D(2, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="set_floatx"):
        K.set_floatx("int8")
    with pytest.raises(ValueError, match="data_format"):
        K.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="set_epsilon"):
        K.set_epsilon(-1.0)


def test_flatten_follows_image_data_format():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)  # channels_first images
    try:
        K.set_image_data_format("channels_first")
        out = _numpy(layers.Flatten()(x))
    finally:
        K.set_image_data_format("channels_last")
    np.testing.assert_array_equal(out, x.transpose(0, 2, 3, 1).reshape(2, -1))


def test_shapes_of_arrays_variables_and_symbolic_tensors():
    a = INPUTS["a"]
    assert K.int_shape(_array(a)) == (2, 3, 4) == K.shape(_array(a)) == K.int_shape(a)
    assert K.int_shape(K.variable(a)) == (2, 3, 4)
    symbolic = mlfront.Input((None, 3))
    assert K.int_shape(symbolic) == (None, None, 3) and K.ndim(symbolic) == 3
    assert K.ndim(_array(a)) == 3 and K.dtype(_array(a)) == "float32"
    assert K.is_keras_tensor(symbolic) and not K.is_keras_tensor(_array(a))
    assert not K.is_keras_tensor(K.variable(a))
    with pytest.raises(ValueError, match="is_keras_tensor"):
        K.is_keras_tensor("tensor")


def test_creation_values_and_casts():
    np.testing.assert_array_equal(_numpy(K.constant(2.0, shape=(2, 3))), np.full((2, 3), 2.0, np.float32))
    np.testing.assert_array_equal(_numpy(K.constant([1, 2, 3, 4], shape=(2, 2))), [[1, 2], [3, 4]])
    assert K.dtype(K.constant([1, 2])) == "float32" and K.dtype(K.constant([1, 2], dtype="int32")) == "int32"
    np.testing.assert_array_equal(_numpy(K.eye(3)), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(_numpy(K.eye((2, 3))), np.eye(2, 3, dtype=np.float32))
    assert _numpy(K.zeros((2, 3))).sum() == 0 and _numpy(K.ones((2, 3))).sum() == 6
    b = _array(INPUTS["b"])
    np.testing.assert_array_equal(_numpy(K.zeros_like(b)), np.zeros((3, 4)))
    np.testing.assert_array_equal(_numpy(K.ones_like(b, dtype="int32")), np.ones((3, 4), np.int32))
    np.testing.assert_array_equal(_numpy(K.cast(_array(INPUTS["half"]), "int32")),
                                  INPUTS["half"].astype(np.int32))
    v = K.variable(np.ones((2, 2)), name="w")
    assert v.name == "w" and K.dtype(v) == "float32"
    K.set_value(v, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(K.get_value(v), np.full((2, 2), 3.0))
    assert [x.shape for x in K.batch_get_value([v, b])] == [(2, 2), (3, 4)]
    with pytest.raises(ValueError, match="set_value"):
        K.set_value(v, np.zeros((3,)))
    with pytest.raises(TypeError, match="set_value"):
        K.set_value(b, np.zeros((3, 4)))
    with pytest.raises(NotImplementedError, match="constraint"):
        K.variable(1.0, constraint=lambda w: w)
    with pytest.raises(NotImplementedError, match="name"):
        K.zeros((2,), name="z")
    with pytest.raises(ValueError, match="shape"):
        K.constant([1, 2, 3], shape=(2, 2))


def test_prod_and_round_follow_numpy():
    x = np.array([[-2.0, 3.0, -0.5], [1.5, 0.0, -4.0], [-1.0, -1.0, -1.0]], np.float32)
    np.testing.assert_allclose(_numpy(K.prod(_array(x), axis=1)), x.prod(1), rtol=1e-6)
    np.testing.assert_allclose(_numpy(K.prod(_array(x), axis=0, keepdims=True)), x.prod(0, keepdims=True), rtol=1e-6)
    ints = np.array([[2, -3], [4, 5]], np.int32)
    np.testing.assert_array_equal(_numpy(K.prod(_array(ints), axis=-1)), [-6, 20])
    halves = np.arange(-4.5, 5.0, 0.5, dtype=np.float32)
    np.testing.assert_array_equal(_numpy(K.round(_array(halves))), np.round(halves))


def test_random_functions():
    normal = _numpy(K.random_normal((200, 100), mean=1.0, stddev=2.0, seed=3))
    assert normal.dtype == np.float32 and abs(normal.mean() - 1.0) < 0.1 and abs(normal.std() - 2.0) < 0.1
    np.testing.assert_array_equal(normal, _numpy(K.random_normal((200, 100), mean=1.0, stddev=2.0, seed=3)))
    uniform = _numpy(K.random_uniform((200, 100), minval=-1.0, maxval=3.0, seed=4))
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.05
    bernoulli = _numpy(K.random_bernoulli((200, 100), p=0.3, seed=5))
    assert set(np.unique(bernoulli)) <= {0.0, 1.0} and abs(bernoulli.mean() - 0.3) < 0.02
    dropped = _numpy(K.dropout(K.ones((200, 100)), 0.25, seed=6))
    assert np.isclose(dropped[dropped != 0], 1.0 / 0.75).all() and abs((dropped == 0).mean() - 0.25) < 0.02
    columns = _numpy(K.dropout(K.ones((50, 40)), 0.5, noise_shape=(1, 40), seed=7))
    assert (columns == columns[:1]).all()  # one mask, broadcast over the rows
    with pytest.raises(ValueError, match="level"):
        K.dropout(K.ones((2,)), 1.0)


def test_learning_phase_and_switches():
    x, alt = _array(np.ones(3, np.float32)), _array(np.zeros(3, np.float32))
    assert K.learning_phase() == 0
    np.testing.assert_array_equal(_numpy(K.in_train_phase(x, alt)), np.zeros(3))
    np.testing.assert_array_equal(_numpy(K.in_train_phase(lambda: x, lambda: alt, training=True)), np.ones(3))
    np.testing.assert_array_equal(_numpy(K.in_test_phase(x, alt)), np.ones(3))
    try:
        K.set_learning_phase(1)
        assert K.learning_phase() == 1
        np.testing.assert_array_equal(_numpy(K.in_train_phase(x, alt)), np.ones(3))
    finally:
        K.clear_session()
    assert K.learning_phase() == 0
    np.testing.assert_array_equal(_numpy(K.switch(True, x, alt)), np.ones(3))
    with pytest.raises(ValueError, match="set_learning_phase"):
        K.set_learning_phase(2)
    w = _array(np.array([1.0, -2.0], np.float32))
    assert len(K.stop_gradient([w, w])) == 2


def test_uids_and_clear_session_reset_names():
    K.reset_uids()
    assert [K.get_uid("conv"), K.get_uid("conv"), K.get_uid("dense")] == [1, 2, 1]
    layers.Dense(1), layers.Dense(1)
    K.clear_session()
    assert K.get_uid("conv") == 1
    assert layers.Dense(1).name == "dense"


def test_argument_errors_name_the_function_and_argument():
    x = _array(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="batch_dot.*axes"):
        K.batch_dot(x, x, axes=0)
    with pytest.raises(ValueError, match="batch_dot.*rank"):
        K.batch_dot(_array(np.ones(3, np.float32)), x)
    with pytest.raises(NotImplementedError, match="ignore_class"):
        K.sparse_categorical_crossentropy(_array(np.zeros(2, np.int32)), x, ignore_class=0)
    with pytest.raises(ValueError, match="pool_mode"):
        K.pool2d(_array(np.ones((1, 4, 4, 1), np.float32)), (2, 2), pool_mode="min")
    with pytest.raises(ValueError, match="padding"):
        K.conv2d(_array(np.ones((1, 4, 4, 1), np.float32)), _array(np.ones((2, 2, 1, 1), np.float32)),
                 padding="causal")
    with pytest.raises(ValueError, match="tile"):
        K.tile(x, (2,))
    with pytest.raises(ValueError, match="bias_add"):
        K.bias_add(x, _array(np.ones((1, 2, 3), np.float32)))


def test_backend_module_keeps_its_own_attributes():
    assert K is K_from_import
    assert K.get().name == mlfront.backend() and isinstance(K.get(), K.Backend)
    assert mlfront.backend.requested_backend_name() == K.get().name
    assert callable(K.load_backend) and issubclass(K.BackendError, ImportError)
    assert K.get().name in K.registered_backends() and K.home_dir()
    assert set(K.keras2_function_names) <= set(dir(K))


# ------------------------------------------------------------------------------ inside compile / fit
def _regression_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 2))).astype(np.float32)
    return x, y


def k_mse(y_true, y_pred):
    return K.mean(K.square(y_pred - y_true), axis=-1)


def k_rmse(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))


def k_max_abs(y_true, y_pred):
    return K.max(K.abs(y_pred - y_true), axis=-1)


def test_custom_loss_and_metrics_in_compile_fit():
    mlfront.utils.set_random_seed(0)
    x, y = _regression_data()
    model = mlfront.Sequential([layers.Dense(8, activation="tanh", input_shape=(4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss=k_mse, metrics=[k_rmse, k_max_abs])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and history.history["loss"][1] < history.history["loss"][0]
    loss, rmse, max_abs = model.evaluate(x, y, batch_size=64, verbose=0)
    error = model.predict(x, verbose=0) - y
    np.testing.assert_allclose(loss, (error ** 2).mean(), rtol=1e-4)
    np.testing.assert_allclose(rmse, np.sqrt((error ** 2).mean(-1)).mean(), rtol=1e-4)
    np.testing.assert_allclose(max_abs, np.abs(error).max(-1).mean(), rtol=1e-4)


class KDropoutDense(layers.Layer):
    """A custom layer in Keras 2 style: K.dot and K.bias_add, K.dropout in the training phase only."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs, training=None):
        outputs = K.bias_add(K.dot(inputs, self.kernel), self.bias)
        return K.in_train_phase(lambda: K.dropout(outputs, 0.5), outputs, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


def test_lambda_and_custom_layer_with_k_functions():
    mlfront.utils.set_random_seed(0)
    x, y = _regression_data()
    inputs = mlfront.Input((4,))
    hidden = KDropoutDense(6)(inputs)
    normalized = layers.Lambda(lambda t: K.l2_normalize(t, axis=-1))(hidden)
    doubled = layers.Lambda(lambda t: K.concatenate([t, K.relu(t) * 2.0], axis=-1))(normalized)
    outputs = layers.Dense(2)(doubled)
    model = mlfront.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    layer = model.layers[1]
    h = x @ layer.kernel.numpy() + layer.bias.numpy()  # predict is the test phase: no dropout
    h = h / np.sqrt(np.maximum((h ** 2).sum(-1, keepdims=True), 1e-12))
    h = np.concatenate([h, np.maximum(h, 0) * 2.0], axis=-1)
    dense = model.layers[-1]
    expected = h @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
