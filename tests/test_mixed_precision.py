"""Mixed precision: dtype policies, layers computing in float16 / bfloat16 with float32 variables, losses in
float32, dynamic loss scaling, and agreement with Keras 3 under the same policy."""

import os

import numpy as np
import pytest

import mlfront
from mlfront import layers, mixed_precision, optimizers

MIXED = ["mixed_bfloat16", "mixed_float16"]
B = mlfront.backend.get()


@pytest.fixture(autouse=True)
def _float32_policy():
    """The policy is global: every test starts and ends with the default float32 one (Keras's too)."""
    mixed_precision.set_global_policy(None)
    yield
    mixed_precision.set_global_policy(None)
    keras = _keras_if_loaded()
    if keras is not None:
        keras.mixed_precision.set_global_policy("float32")


def _keras_if_loaded():
    import sys
    return sys.modules.get("keras")


def _dtype(x):
    return B.dtype(x)


def _np(x):
    return np.asarray(B.to_numpy(B.cast(x, "float32")))


# ---------------------------------------------------------------------- policies
@pytest.mark.parametrize("name, compute, variable", [
    ("mixed_float16", "float16", "float32"), ("mixed_bfloat16", "bfloat16", "float32"),
    ("float32", "float32", "float32"), ("float16", "float16", "float16"), ("bfloat16", "bfloat16", "bfloat16")])
def test_policy_attributes(name, compute, variable):
    policy = mixed_precision.DTypePolicy(name)
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == (name, compute, variable)
    assert mixed_precision.DTypePolicy.from_config(policy.get_config()) == policy
    mixed_precision.set_global_policy(name)
    assert mixed_precision.global_policy() == policy
    dense = layers.Dense(2)
    assert (dense.dtype, dense.compute_dtype, dense.variable_dtype) == (variable, compute, variable)
    assert dense.dtype_policy == policy


def test_policy_defaults_aliases_and_errors():
    assert mixed_precision.global_policy().name == "float32"
    assert mixed_precision.Policy is mixed_precision.DTypePolicy
    assert mixed_precision.LossScaleOptimizer is optimizers.LossScaleOptimizer
    mixed_precision.experimental.set_policy("mixed_float16")
    assert mixed_precision.global_policy().name == "mixed_float16"
    assert layers.Dense(2, dtype="float32").compute_dtype == "float32"  # an explicit dtype wins
    assert layers.Dense(2, dtype=mixed_precision.Policy("mixed_bfloat16")).compute_dtype == "bfloat16"
    keras2 = {"class_name": "Policy", "config": {"name": "mixed_bfloat16"}}
    assert layers.Dense(2, dtype=keras2).dtype_policy.name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="mixed_float32"):
        mixed_precision.DTypePolicy("mixed_float32")
    with pytest.raises(ValueError, match="set_global_policy.*int32"):
        mixed_precision.set_global_policy("int32")
    with pytest.raises(ValueError, match="Dense: dtype"):
        layers.Dense(2, dtype=3)


# ---------------------------------------------------------------------- layers
def _layer_cases(rng):
    return {
        "dense": (lambda: layers.Dense(4, activation="relu"), [rng.normal(size=(3, 5))]),
        "conv2d": (lambda: layers.Conv2D(3, 3, padding="same"), [rng.normal(size=(2, 6, 6, 2))]),
        "lstm": (lambda: layers.LSTM(4, return_sequences=True), [rng.normal(size=(2, 5, 3))]),
        "batchnorm": (lambda: layers.BatchNormalization(), [rng.normal(2.0, 3.0, size=(8, 4))]),
        "layernorm": (lambda: layers.LayerNormalization(), [rng.normal(1.0, 2.0, size=(3, 6))]),
        "mha": (lambda: layers.MultiHeadAttention(num_heads=2, key_dim=3),
                [rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 3, 5))]),
    }


@pytest.mark.parametrize("policy", MIXED)
@pytest.mark.parametrize("case, training", [("dense", False), ("conv2d", False), ("lstm", False), ("batchnorm", False),
                                            ("batchnorm", True), ("layernorm", False), ("mha", False)])
def test_layer_outputs_in_compute_dtype_with_float32_variables(policy, case, training, rng):
    make, inputs = _layer_cases(rng)[case]
    inputs = [B.convert(x.astype("float32")) for x in inputs]
    reference = make()  # float32: the same layer computed in full precision
    reference(*inputs)
    mixed_precision.set_global_policy(policy)
    layer = make()
    layer(*inputs)
    layer.set_weights(reference.get_weights())
    before = [v.numpy() for v in layer.weights]
    expected = reference(*inputs, training=training)
    outputs = layer(*inputs, training=training)
    compute = mixed_precision.DTypePolicy(policy).compute_dtype
    assert _dtype(outputs) == compute and layer.compute_dtype == compute and layer.dtype == "float32"
    assert {v.dtype for v in layer.weights} == {"float32"}
    tolerance = 0.06 if compute == "bfloat16" else 0.01
    np.testing.assert_allclose(_np(outputs), _np(expected), atol=tolerance * max(1.0, np.abs(_np(expected)).max()))
    if case == "batchnorm" and training:  # the statistics moved as in float32 (from inputs rounded to 16 bits)
        np.testing.assert_allclose(layer.moving_mean.numpy(), reference.moving_mean.numpy(), rtol=1e-2, atol=1e-4)
        assert not np.allclose(layer.moving_mean.numpy(), before[2])
    else:  # the float32 values survive the call's casts exactly
        for value, variable in zip(before, layer.weights):
            np.testing.assert_array_equal(variable.numpy(), value)


def test_float32_layer_and_integer_inputs_under_a_mixed_policy(rng):
    mixed_precision.set_global_policy("mixed_bfloat16")
    embedding = layers.Embedding(10, 4)
    indices = B.convert(np.array([[1, 2], [3, 9]], dtype="int32"))
    vectors = embedding(indices)
    assert _dtype(vectors) == "bfloat16" and embedding.embeddings.dtype == "float32"
    np.testing.assert_allclose(_np(vectors), embedding.embeddings.numpy()[[[1, 2], [3, 9]]], rtol=1e-2)
    softmax = layers.Activation("softmax", dtype="float32")
    probabilities = softmax(vectors)
    assert _dtype(probabilities) == "float32" and softmax.compute_dtype == "float32"
    expected = np.exp(_np(vectors)) / np.exp(_np(vectors)).sum(-1, keepdims=True)
    np.testing.assert_allclose(_np(probabilities), expected, rtol=1e-5)
    model = mlfront.Sequential([layers.Input((5,)), layers.Dense(3), layers.Activation("softmax", dtype="float32")])
    out = model(B.convert(rng.normal(size=(2, 5)).astype("float32")))
    assert _dtype(out) == "float32"
    assert _dtype(model.layers[0](B.convert(np.ones((1, 5), "float32")))) == "bfloat16"


# ---------------------------------------------------------------------- training
def _classification(rng, n=192):
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :3].sum(-1) > 0).astype("int32") + (x[:, 3] > 1).astype("int32")
    return x, y


def _train(policy, x, y, loss_scale=False):
    mixed_precision.set_global_policy(policy)
    mlfront.utils.set_random_seed(7)
    model = mlfront.Sequential([layers.Input((8,)), layers.Dense(32, activation="relu"), layers.Dense(3),
                                layers.Activation("softmax", dtype="float32")])
    optimizer = optimizers.Adam(0.01)
    model.compile(optimizers.LossScaleOptimizer(optimizer) if loss_scale else optimizer,
                  "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=32, epochs=4, verbose=0, shuffle=False)
    assert {v.dtype for v in model.weights} == {"float32"}
    return model, history.history["loss"]


@pytest.mark.parametrize("policy", MIXED)
def test_mixed_training_reaches_the_float32_loss(policy, rng):
    x, y = _classification(rng)
    _, reference = _train("float32", x, y)
    model, losses = _train(policy, x, y, loss_scale=policy == "mixed_float16")
    assert losses[-1] < 0.7 * losses[0]  # it learns
    assert abs(losses[-1] - reference[-1]) < 0.05 + 0.15 * reference[-1]
    if policy == "mixed_float16":
        assert model.optimizer.iterations.numpy() > 0  # not every step was skipped
        assert np.isfinite(model.optimizer.dynamic_scale.numpy())


# ---------------------------------------------------------------------- loss scaling
def _variables():
    return [mlfront.Variable(np.array([1.0, -2.0], "float32")), mlfront.Variable(np.array([[0.5]], "float32"))]


def test_loss_scale_unscales_grows_and_skips():
    variables = _variables()
    reference = _variables()
    sgd = optimizers.SGD(0.1)
    lso = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    grads = [np.array([0.5, 1.0], "float32"), np.array([[2.0]], "float32")]
    assert float(B.to_numpy(lso.scale_loss(B.convert(np.float32(3.0))))) == 24.0
    lso.apply([B.convert(g * 8.0) for g in grads], variables)  # the gradients of a loss scaled by 8
    sgd.apply([B.convert(g) for g in grads], reference)
    for v, r in zip(variables, reference):
        np.testing.assert_allclose(v.numpy(), r.numpy(), rtol=1e-6)
    assert (float(lso.dynamic_scale.numpy()), int(lso.step_counter.numpy())) == (8.0, 1)
    lso.apply([B.convert(g * 8.0) for g in grads], variables)  # the second finite step: the scale doubles
    assert (float(lso.dynamic_scale.numpy()), int(lso.step_counter.numpy())) == (16.0, 0)
    assert int(lso.iterations.numpy()) == 2
    before = [v.numpy() for v in variables]
    lso.apply([B.convert(np.array([np.inf, 1.0], "float32")), B.convert(np.array([[np.nan]], "float32"))],
              variables)
    for v, b in zip(variables, before):
        np.testing.assert_array_equal(v.numpy(), b)  # skipped
    assert (float(lso.dynamic_scale.numpy()), int(lso.step_counter.numpy())) == (8.0, 0)
    assert int(lso.iterations.numpy()) == 2


def test_loss_scale_skips_a_non_finite_step_inside_fit(rng):
    mixed_precision.set_global_policy("mixed_float16")
    model = mlfront.Sequential([layers.Input((4,)), layers.Dense(3), layers.Activation("softmax", dtype="float32")])
    model.compile(optimizers.LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=1024.0,
                                                dynamic_growth_steps=3), "sparse_categorical_crossentropy")
    x, y = rng.normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    weights = model.get_weights()
    slots = [v.numpy() for v in model.optimizer.inner_optimizer.variables]
    bad = x.copy()
    bad[0, 0] = np.inf
    model.fit(bad, y, batch_size=8, epochs=1, verbose=0)
    for w, v in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(w, v)
    for s, v in zip(slots, model.optimizer.inner_optimizer.variables):
        np.testing.assert_array_equal(s, v.numpy())
    assert float(model.optimizer.dynamic_scale.numpy()) == 512.0 and int(model.optimizer.iterations.numpy()) == 1
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)  # three finite steps: doubled again, counter reset
    assert float(model.optimizer.dynamic_scale.numpy()) == 1024.0
    assert int(model.optimizer.step_counter.numpy()) == 0 and int(model.optimizer.iterations.numpy()) == 4
    assert not np.allclose(weights[0], model.get_weights()[0])


def test_compile_wraps_the_optimizer_under_mixed_float16():
    mixed_precision.set_global_policy("mixed_float16")
    model = mlfront.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    assert isinstance(model.optimizer, optimizers.LossScaleOptimizer)


def test_loss_scale_optimizer_config_round_trip():
    lso = optimizers.LossScaleOptimizer(optimizers.Adam(0.003), initial_scale=64.0, dynamic_growth_steps=10)
    again = optimizers.deserialize(optimizers.serialize(lso))
    assert isinstance(again, optimizers.LossScaleOptimizer) and isinstance(again.inner_optimizer, optimizers.Adam)
    assert (again.initial_scale, again.dynamic_growth_steps) == (64.0, 10)
    assert again.learning_rate == pytest.approx(0.003)
    with pytest.raises(ValueError, match="LossScaleOptimizer: `inner_optimizer`"):
        optimizers.LossScaleOptimizer(lso)
    keras3 = {"module": "keras.optimizers", "class_name": "LossScaleOptimizer", "registered_name": None, "config": {
        "name": "loss_scale_optimizer", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "loss_scale_factor": None, "gradient_accumulation_steps": None,
        "inner_optimizer": {"module": "keras.optimizers", "class_name": "SGD", "registered_name": None,
                            "config": {"name": "SGD", "learning_rate": 0.05}},
        "initial_scale": 128.0, "dynamic_growth_steps": 5}}
    from_keras = optimizers.deserialize(keras3)
    assert from_keras.initial_scale == 128.0 and from_keras.learning_rate == pytest.approx(0.05)
    with pytest.raises(NotImplementedError, match="LossScaleOptimizer: `dynamic=False`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic_growth_steps=0)


# ---------------------------------------------------------------------- saving, Keras 3
def _mixed_model():
    return mlfront.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(4, 3, activation="relu"),
                               layers.BatchNormalization(), layers.Flatten(), layers.Dense(8, activation="tanh"),
                               layers.LayerNormalization(), layers.Dense(3),
                               layers.Activation("softmax", dtype="float32")])


@pytest.mark.parametrize("policy", ["mixed_float16"])
def test_save_and_load_a_mixed_model(policy, tmp_path, rng):
    mixed_precision.set_global_policy(policy)
    model = _mixed_model()
    model.compile(optimizers.LossScaleOptimizer(optimizers.Adam()), "sparse_categorical_crossentropy")
    x = rng.normal(size=(4, 6, 6, 2)).astype("float32")
    model.fit(x, np.arange(4) % 3, verbose=0)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    mixed_precision.set_global_policy(None)  # the file, not the global policy, gives the layers' policies
    loaded = mlfront.models.load_model(path)
    assert [layer.dtype_policy.name for layer in loaded.layers] == [policy] * 6 + ["float32"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert isinstance(loaded.optimizer, optimizers.LossScaleOptimizer)
    assert float(loaded.optimizer.dynamic_scale.numpy()) == float(model.optimizer.dynamic_scale.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 1


@pytest.mark.parametrize("policy", MIXED)
def test_predictions_match_keras3_under_the_same_policy(policy, rng):
    os.environ.setdefault("KERAS_BACKEND", mlfront.backend())
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != mlfront.backend():
        pytest.skip(f"keras runs on {keras.backend.backend()}, not {mlfront.backend()}")
    x = rng.normal(size=(4, 6, 6, 2)).astype("float32")
    mixed_precision.set_global_policy(policy)
    model = _mixed_model()
    model(x)
    keras.mixed_precision.set_global_policy(policy)
    k = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.BatchNormalization(), keras.layers.Flatten(),
                          keras.layers.Dense(8, activation="tanh"), keras.layers.LayerNormalization(),
                          keras.layers.Dense(3), keras.layers.Activation("softmax", dtype="float32")])
    for index, (ours, theirs) in enumerate(zip(model.layers, k.layers)):
        weights = [w + rng.normal(scale=0.1, size=w.shape).astype("float32") for w in ours.get_weights()]
        if index == 1:
            weights[3] = np.abs(weights[3]) + 0.5  # a positive moving variance
        ours.set_weights(weights)
        theirs.set_weights(weights)
    assert [str(w.dtype) for w in k.weights] == [v.dtype for v in model.weights]
    ours, theirs = model.predict(x, verbose=0), keras.ops.convert_to_numpy(k(x))
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=0.03 if policy == "mixed_bfloat16" else 0.005)
    hidden = mlfront.Model(model.inputs, model.layers[4].output)(x)
    assert _dtype(hidden) == mixed_precision.DTypePolicy(policy).compute_dtype
