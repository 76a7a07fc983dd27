"""Subclassed models (`class M(mlfront.Model)`) and custom layers (`class L(mlfront.layers.Layer)`)."""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import run_layer_test
from references import functional as fref


class Linear(layers.Layer):
    """`inputs @ w + b`, written with `mlfront.ops` as a user would."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros", trainable=True)
        self.calls = self.add_weight(name="calls", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs, training=None):
        if training:
            self.calls.assign(self.calls.value + 1.0)
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Tower(mlfront.Model):
    """Layers held directly, in a list and in a dict; the forward pass in `call`."""

    def __init__(self, hidden=5, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu", name="hidden")
        self.blocks = [layers.Dense(4, activation="tanh", name="block_0"), Linear(3, name="block_1")]
        self.heads = {"score": layers.Dense(1, name="score")}
        self.dropout = layers.Dropout(0.5)

    def call(self, inputs, training=None):
        x = self.dropout(self.hidden(inputs), training=training)
        for block in self.blocks:
            x = block(x)
        return self.heads["score"](x)


def tower_reference(model, x):
    h = fref.dense_layer(model.hidden, x, "relu")
    h = fref.dense_layer(model.blocks[0], h, "tanh")
    h = h @ model.blocks[1].w.numpy() + model.blocks[1].b.numpy()
    return fref.dense_layer(model.heads["score"], h)


@pytest.fixture
def regression(rng):
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32") + 0.3).astype("float32")
    return x, y


def test_custom_layer_with_layer_test_helper(rng):
    x = rng.normal(size=(4, 3)).astype("float32")
    run_layer_test(Linear, {"units": 2}, x, expected_output_shape=(4, 2), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=1,
                   reference=lambda layer, x: x @ layer.w.numpy() + layer.b.numpy())


def test_custom_layer_trains_to_a_linear_target(regression):
    x, y = regression
    inputs = mlfront.Input(shape=(3,))
    layer = Linear(1)
    model = mlfront.Model(inputs, layer(inputs))
    model.compile(mlfront.optimizers.SGD(0.1), "mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    np.testing.assert_allclose(layer.w.numpy(), [[1.0], [-2.0], [0.5]], atol=0.1)
    assert float(layer.calls.numpy()) == 30.0  # the non-trainable state update, one per training step
    assert [v.path for v in model.non_trainable_weights] == [f"{layer.name}/calls"]


def test_subclassed_model_tracks_layers_and_matches_numpy(regression):
    x, _ = regression
    model = Tower()
    out = model(ops.convert_to_tensor(x))
    assert model.built
    assert [layer.name for layer in model.layers] == ["hidden", "block_0", "block_1", "score",
                                                      model.dropout.name]
    assert len(model.trainable_weights) == 8 and len(model.non_trainable_weights) == 1
    np.testing.assert_allclose(ops.convert_to_numpy(out), tower_reference(model, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), tower_reference(model, x), rtol=1e-5, atol=1e-5)
    assert model.get_layer("block_1") is model.blocks[1]


def test_subclassed_model_fit_evaluate_predict(regression):
    x, y = regression
    model = Tower()
    model.compile(mlfront.optimizers.Adam(0.02), "mse", metrics=["mae"])
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, mae = model.evaluate(x, y, batch_size=16, verbose=0)
    pred = tower_reference(model, x)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-4)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - y)), rtol=1e-4)
    np.testing.assert_allclose(model.predict(x, verbose=0), pred, rtol=1e-5, atol=1e-5)


def test_subclassed_model_save_and_load_weights(regression, tmp_path):
    x, _ = regression
    model = Tower()
    model(ops.convert_to_tensor(x[:1]))
    path = tmp_path / "tower.weights.h5"
    model.save_weights(path)
    restored = Tower()
    restored(ops.convert_to_tensor(x[:1]))
    restored.load_weights(path)
    for got, want in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(ops.convert_to_numpy(restored(ops.convert_to_tensor(x))),
                               ops.convert_to_numpy(model(ops.convert_to_tensor(x))), rtol=1e-6)


def test_subclassed_model_summary_counts_params(regression):
    x, _ = regression
    model = Tower(name="tower")
    model(ops.convert_to_tensor(x[:2]))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "tower"' in text
    assert "hidden (Dense)" in text and "block_1 (Linear)" in text
    total = (3 * 5 + 5) + (5 * 4 + 4) + (4 * 3 + 3) + (3 * 1 + 1)
    assert f"Trainable params: {total:,}" in text and "Non-trainable params: 1" in text


def test_subclassed_model_as_a_layer_of_a_functional_model(regression):
    x, _ = regression
    inputs = mlfront.Input(shape=(3,))
    tower = Tower()
    model = mlfront.Model(inputs, tower(inputs))
    assert model.layers[1] is tower and len(model.trainable_weights) == 8
    np.testing.assert_allclose(model.predict(x, verbose=0), tower_reference(tower, x), rtol=1e-5, atol=1e-5)


def test_subclassed_model_rejects_positional_arguments_to_model_init():
    class Bad(mlfront.Model):
        def __init__(self):
            super().__init__(3)

    with pytest.raises(TypeError, match="positional arguments"):
        Bad()
