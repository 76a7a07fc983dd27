"""Weight constraints: the formulas (NumPy and Keras 3), get / serialize, and layers applying them after fit."""

import json

import numpy as np
import pytest

import mlfront
from mlfront import constraints, layers, ops

EPS = 1e-7  # Keras's backend.epsilon()


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=tuple(np.atleast_1d(axis)), keepdims=True))


def _max_norm(w, max_value, axis):
    norms = _norms(w, axis)
    return w * np.clip(norms, 0, max_value) / (EPS + norms)


def _min_max_norm(w, min_value, max_value, rate, axis):
    norms = _norms(w, axis)
    desired = rate * np.clip(norms, min_value, max_value) + (1 - rate) * norms
    return w * desired / (EPS + norms)


CASES = [
    (constraints.MaxNorm, {"max_value": 1.5, "axis": 0}, lambda w: _max_norm(w, 1.5, 0)),
    (constraints.MaxNorm, {"max_value": 2.0, "axis": [0, 1]}, lambda w: _max_norm(w, 2.0, (0, 1))),
    (constraints.MinMaxNorm, {"min_value": 1.0, "max_value": 2.5, "rate": 0.7, "axis": 1},
     lambda w: _min_max_norm(w, 1.0, 2.5, 0.7, 1)),
    (constraints.MinMaxNorm, {}, lambda w: _min_max_norm(w, 0.0, 1.0, 1.0, 0)),
    (constraints.NonNeg, {}, lambda w: np.maximum(w, 0)),
    (constraints.UnitNorm, {"axis": 0}, lambda w: w / (EPS + _norms(w, 0))),
    (constraints.UnitNorm, {"axis": [0, 1]}, lambda w: w / (EPS + _norms(w, (0, 1)))),
]


@pytest.mark.parametrize("cls, kwargs, reference", CASES)
def test_constraint_matches_numpy_formula(cls, kwargs, reference, rng):
    w = (rng.normal(size=(3, 4, 5)) * 2).astype("float32")
    out = ops.convert_to_numpy(cls(**kwargs)(ops.convert_to_tensor(w)))
    np.testing.assert_allclose(out, reference(w), rtol=1e-5, atol=1e-6)
    assert cls(**kwargs).get_config() == {**cls().get_config(), **kwargs}


@pytest.mark.parametrize("cls, kwargs, reference", CASES)
def test_constraint_matches_keras(cls, kwargs, reference, rng):
    keras = pytest.importorskip("keras")
    w = (rng.normal(size=(3, 4, 5)) * 2).astype("float32")
    expected = keras.ops.convert_to_numpy(getattr(keras.constraints, cls.__name__)(**kwargs)(w))
    np.testing.assert_allclose(ops.convert_to_numpy(cls(**kwargs)(w)), expected, rtol=1e-5, atol=1e-6)


def test_base_constraint_is_identity_and_aliases_are_keras_names():
    w = np.arange(6, dtype="float32").reshape(2, 3)
    assert constraints.Constraint()(w) is w
    assert constraints.max_norm is constraints.MaxNorm and constraints.non_neg is constraints.NonNeg
    assert constraints.min_max_norm is constraints.MinMaxNorm and constraints.unit_norm is constraints.UnitNorm
    assert mlfront.constraints is constraints


def test_get_accepts_names_configs_classes_and_callables():
    assert constraints.get(None) is None
    for name, cls in (("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm),
                      ("non_neg", constraints.NonNeg), ("UnitNorm", constraints.UnitNorm),
                      ("min_max_norm", constraints.MinMaxNorm)):
        assert type(constraints.get(name)) is cls
    keras3 = {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 3.0, "axis": 1},
              "registered_name": None}
    keras2 = {"class_name": "MinMaxNorm", "config": {"min_value": 0.5, "max_value": 2.0, "rate": 1.0, "axis": 0}}
    found = constraints.get(keras3)
    assert type(found) is constraints.MaxNorm and found.get_config() == {"max_value": 3.0, "axis": 1}
    assert constraints.get(keras2).get_config() == keras2["config"]
    assert type(constraints.get(constraints.NonNeg)) is constraints.NonNeg
    instance = constraints.UnitNorm(axis=1)
    assert constraints.get(instance) is instance

    def clip(w):
        return ops.clip(w, -1.0, 1.0)
    assert constraints.get(clip) is clip


@pytest.mark.parametrize("bad", ["not_a_constraint", 3, {"class_name": "NoSuchNorm", "config": {}},
                                 {"module": "os", "class_name": "system", "config": {}}])
def test_get_rejects_bad_identifiers_naming_them(bad):
    with pytest.raises(ValueError, match=str(bad if not isinstance(bad, dict) else bad["class_name"])):
        constraints.get(bad)


def test_serialize_deserialize_round_trip():
    original = constraints.MinMaxNorm(min_value=0.2, max_value=1.5, rate=0.5, axis=[0, 1])
    config = constraints.serialize(original)
    assert config["class_name"] == "MinMaxNorm" and config["config"] == original.get_config()
    restored = constraints.deserialize(json.loads(json.dumps(config)))
    assert type(restored) is constraints.MinMaxNorm and restored.get_config() == original.get_config()
    assert type(constraints.deserialize("non_neg")) is constraints.NonNeg


def test_deserialize_reads_keras_serialized_constraints():
    keras = pytest.importorskip("keras")
    config = keras.constraints.serialize(keras.constraints.MaxNorm(max_value=1.25, axis=[0, 1]))
    restored = constraints.deserialize(json.loads(json.dumps(config)))
    assert type(restored) is constraints.MaxNorm
    assert restored.get_config() == {"max_value": 1.25, "axis": [0, 1]}


def test_dense_kernel_max_norm_holds_after_fit(rng):
    x = rng.normal(size=(64, 6)).astype("float32") * 3
    y = (x @ rng.normal(size=(6, 3)) * 5).astype("float32")
    model = mlfront.Sequential([layers.Input((6,)),
                                layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.0),
                                             bias_constraint="non_neg")])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    kernel, bias = model.layers[0].get_weights()
    assert np.all(np.sqrt(np.sum(kernel ** 2, axis=0)) <= 1.0 + 1e-5)
    assert np.all(bias >= 0)
    # the unconstrained layer would grow past norm 1 on this data
    free = mlfront.Sequential([layers.Input((6,)), layers.Dense(3)])
    free.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    free.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.max(np.sqrt(np.sum(free.layers[0].get_weights()[0] ** 2, axis=0))) > 1.0


def test_embedding_non_neg_holds_after_fit(rng):
    x = rng.integers(0, 10, size=(32, 4))
    y = -np.ones((32, 4, 3), "float32")  # pulls every used embedding entry negative
    model = mlfront.Sequential([layers.Input((4,), dtype="int32"),
                                layers.Embedding(10, 3, embeddings_constraint=constraints.NonNeg())])
    model.compile(optimizer=mlfront.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    table = model.layers[0].get_weights()[0]
    assert np.all(table >= 0)
    assert np.sum(table[np.unique(x)] == 0) > 0  # the constraint actually clipped entries


def test_layers_attach_each_constraint_to_its_weight():
    max_norm, non_neg, unit = constraints.MaxNorm(2.0), constraints.NonNeg(), constraints.UnitNorm()

    def built(layer, *shapes):
        layer.build(*shapes)
        return {v.name: getattr(v, "constraint", None) for v in layer.weights}

    dense = built(layers.Dense(2, kernel_constraint=max_norm, bias_constraint=non_neg), (None, 3))
    assert dense["kernel"] is max_norm and dense["bias"] is non_neg
    for cls in (layers.Conv1D, layers.Conv1DTranspose):
        conv = built(cls(2, 3, kernel_constraint=max_norm, bias_constraint=non_neg), (None, 8, 3))
        assert conv["kernel"] is max_norm and conv["bias"] is non_neg
    conv2d = built(layers.Conv2D(2, 3, kernel_constraint="unit_norm"), (None, 8, 8, 3))
    assert type(conv2d["kernel"]) is constraints.UnitNorm and conv2d["bias"] is None
    for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU):
        rnn = built(cls(2, kernel_constraint=max_norm, recurrent_constraint=unit, bias_constraint=non_neg),
                    (None, 5, 3))
        assert (rnn["kernel"], rnn["recurrent_kernel"], rnn["bias"]) == (max_norm, unit, non_neg)
    for cls in (layers.BatchNormalization, layers.LayerNormalization):
        norm = built(cls(beta_constraint=non_neg, gamma_constraint=max_norm), (None, 4))
        assert norm["beta"] is non_neg and norm["gamma"] is max_norm
    attention = built(layers.MultiHeadAttention(2, 3, kernel_constraint=max_norm, bias_constraint=non_neg),
                      (None, 5, 4), (None, 5, 4))
    assert {name: c for name, c in attention.items()} == {
        f"{part}/{kind}": max_norm if kind == "kernel" else non_neg
        for part in ("query", "key", "value", "attention_output") for kind in ("kernel", "bias")}
    assert built(layers.Embedding(5, 2, embeddings_constraint=non_neg), (None, 3))["embeddings"] is non_neg


def test_layer_config_with_constraints_round_trips_through_json():
    layer = layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.5, axis=0), bias_constraint="non_neg")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["kernel_constraint"]["class_name"] == "MaxNorm"
    assert config["kernel_constraint"]["config"] == {"max_value": 1.5, "axis": 0}
    restored = layers.Dense.from_config(config)
    assert type(restored.kernel_constraint) is constraints.MaxNorm
    assert restored.kernel_constraint.get_config() == {"max_value": 1.5, "axis": 0}
    assert type(restored.bias_constraint) is constraints.NonNeg
    model = mlfront.Sequential([layers.Input((5, 4)), layers.LSTM(2, recurrent_constraint=constraints.UnitNorm(1))])
    rebuilt = mlfront.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert rebuilt.layers[0].recurrent_constraint.get_config() == {"axis": 1}
