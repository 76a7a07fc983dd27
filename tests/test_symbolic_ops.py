"""`mlfront.ops`, Keras 2's `K` functions and Python operators on symbolic tensors: each call records an
`OpLayer` node, so a Functional model built with them predicts, trains, summarises, and saves by op name."""

import json
import os
import re
import sys

import numpy as np
import pytest

import mlfront
import mlfront.backend as K
from mlfront import layers, ops
from mlfront.layers.graph import SymbolicTensor
from mlfront.layers.op_layer import OpLayer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from keras2_backend_cases import CASES, resolve  # noqa: E402
from layer_testing import run_layer_test  # noqa: E402

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "keras2_backend.npz"))
INPUTS = {key.split("/", 1)[1]: FIXTURE[key] for key in FIXTURE.files if key.startswith("input/")}


def _numpy(value):
    return np.asarray(K.get().to_numpy(value))


@pytest.mark.parametrize("case,function,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_k_functions_on_symbolic_tensors_match_tf_keras(case, function, args, kwargs):
    names = sorted({n for a in args for n in ([a] if isinstance(a, str) else a if isinstance(a, list) else [])})
    tensors = {n: mlfront.Input(batch_shape=INPUTS[n].shape, dtype=INPUTS[n].dtype.name) for n in names}
    out = getattr(K, function)(*[resolve(a, tensors, lambda t: t) for a in args], **kwargs)
    assert isinstance(out, SymbolicTensor) and isinstance(out.node.layer, OpLayer)
    assert out.node.layer.function == f"backend.{function}"
    result = K.function([tensors[n] for n in names], [out])([INPUTS[n] for n in names])[0]
    expected = FIXTURE[f"output/{case}"]
    assert result.shape == expected.shape == out.shape, (result.shape, expected.shape, out.shape)
    assert out.dtype == K.dtype(K.get().convert(result))
    if expected.dtype == bool:
        np.testing.assert_array_equal(result, expected)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=2e-6)


def test_op_layer_made_from_its_config(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    y = rng.normal(size=(2, 3, 1)).astype("float32")
    run_layer_test(OpLayer, {"function": "backend.mean", "args": [{"__input__": 0}], "kwargs": {"axis": -1}}, [x],
                   expected_output=x.mean(-1), expected_num_trainable_weights=0)
    key = {"__tuple__": [{"__ellipsis__": True}, {"__slice__": [None, 1, None]}, None]}
    run_layer_test(OpLayer, {"function": "operator.getitem", "args": [{"__input__": 0}, key]}, [x],
                   expected_output=x[..., :1, None])
    run_layer_test(OpLayer, {"function": "ops.concatenate", "args": [[{"__input__": 1}, {"__input__": 0}]],
                             "kwargs": {"axis": 2}}, [x, y], expected_output=np.concatenate([y, x], axis=2))


def _two_inputs():
    return mlfront.Input((3,), name="a"), mlfront.Input((5,), name="b")


def test_operators_and_ops_with_unknown_batch(rng):
    a, b = _two_inputs()
    x = K.concatenate([a, b])
    outputs = {
        "concat": x, "arith": (a + b[:, :3]) * 2.0 - a / 4.0, "reflected": 1.0 - 2.0 * a + 3.0 / (a + 2.0),
        "floordiv_mod": (a * 10.0) // 3.0 + (a * 10.0) % 3.0, "pow": a ** 2 + 2.0 ** a, "neg_abs": -a + abs(a),
        "matmul": a @ np.ones((3, 2), np.float32),
        "compare": ops.cast(a < 0.5, "float32") + ops.cast(a >= 0.2, "float32"),
        "getitem": x[:, None, 2:7:2], "ellipsis": x[..., -1], "mean": ops.mean(x, axis=1),
        "reshape": ops.reshape(x, (-1, 4)), "k_sum": K.sum(K.square(x), axis=-1, keepdims=True),
        "numpy_left": np.full((3,), 2.0, np.float32) * a,
    }
    assert outputs["reshape"].shape == (None, 4) and outputs["getitem"].shape == (None, 1, 3)
    assert outputs["mean"].shape == (None,) and outputs["k_sum"].shape == (None, 1)
    assert K.int_shape(x) == ops.shape(x) == (None, 8) and K.ndim(x) == x.ndim == 2
    assert ops.dtype(x) == K.dtype(x) == "float32"
    model = mlfront.Model([a, b], outputs)
    va, vb = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    got = model.predict([va, vb], verbose=0)
    vx = np.concatenate([va, vb], axis=1)
    expected = {
        "concat": vx, "arith": (va + vb[:, :3]) * 2 - va / 4, "reflected": 1 - 2 * va + 3 / (va + 2),
        "floordiv_mod": (va * 10) // 3 + (va * 10) % 3, "pow": va ** 2 + 2 ** va, "neg_abs": -va + np.abs(va),
        "matmul": va @ np.ones((3, 2)), "compare": (va < 0.5) + (va >= 0.2).astype("float32"),
        "getitem": vx[:, None, 2:7:2], "ellipsis": vx[..., -1], "mean": vx.mean(1),
        "reshape": vx.reshape(-1, 4), "k_sum": (vx ** 2).sum(-1, keepdims=True), "numpy_left": 2 * va,
    }
    got = dict(zip(model.output_names, got)) if isinstance(got, list) else got
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5, err_msg=key)


def test_multiple_outputs_and_int_ops():
    x = mlfront.Input((6,))
    first, second = ops.split(x, 2, axis=1)
    top_values, top_indices = ops.top_k(x, 2)
    labels = mlfront.Input((), dtype="int32")
    onehot = K.one_hot(labels, 4)
    assert first.shape == second.shape == (None, 3) and top_indices.dtype == "int32"
    assert onehot.shape == (None, 4) and onehot.dtype == "float32"
    f = K.function([x, labels], [first, second, top_values, top_indices, ops.argmax(x, axis=-1), onehot])
    vx = np.arange(12, dtype="float32").reshape(2, 6)[:, ::-1].copy()
    r = f([vx, np.array([1, 3], np.int32)])
    np.testing.assert_allclose(r[0], vx[:, :3])
    np.testing.assert_allclose(r[1], vx[:, 3:])
    np.testing.assert_allclose(r[2], vx[:, :2])
    np.testing.assert_array_equal(r[3], [[0, 1], [0, 1]])
    np.testing.assert_array_equal(r[4], [0, 0])
    np.testing.assert_allclose(r[5], np.eye(4)[[1, 3]])


def _op_model():
    inputs = mlfront.Input((4,), name="x")
    h = layers.Dense(6, name="hidden")(inputs)
    h = K.relu(h) + K.sigmoid(h)[:, ::-1] * 0.5
    h = K.concatenate([h, ops.mean(inputs, axis=-1, keepdims=True)], axis=-1)
    out = layers.Dense(2, name="out")(h)
    return mlfront.Model(inputs, out - K.max(out, axis=-1, keepdims=True))


def test_model_with_ops_trains_and_summarises(rng, capsys):
    model = _op_model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))  # gradients reach both Dense
    model.summary()
    text = capsys.readouterr().out
    assert re.search(r"concatenate(_\d+)? \(OpLayer\)", text) and re.search(r"getitem(_\d+)? \(OpLayer\)", text)
    assert "Total params: 46" in text


def test_config_and_keras_file_round_trip(rng, tmp_path):
    model = _op_model()
    x = rng.normal(size=(5, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    config = json.loads(json.dumps(model.get_config()))
    entries = {entry["name"]: entry for entry in config["layers"]}
    getitem = next(e for name, e in entries.items() if name.startswith("getitem"))
    assert getitem["class_name"] == "OpLayer" and getitem["config"]["function"] == "operator.getitem"
    assert getitem["config"]["args"][1] == {"__tuple__": [{"__slice__": [None, None, None]},
                                                        {"__slice__": [None, None, -1]}]}
    rebuilt = mlfront.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "ops.keras")
    model.save(path)
    loaded = mlfront.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]


def test_array_constants_and_ellipsis_survive_the_config():
    inputs = mlfront.Input((2, 3))
    out = K.dot(inputs[..., None, :], np.arange(6, dtype="float32").reshape(3, 2)) + np.float32(1.0)
    model = mlfront.Model(inputs, out)
    rebuilt = mlfront.Model.from_config(json.loads(json.dumps(model.get_config())))
    x = np.ones((1, 2, 3), "float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), x[..., None, :] @ np.arange(6).reshape(3, 2) + 1)


def test_unknown_op_names_in_a_config_are_refused():
    model = _op_model()
    config = json.loads(json.dumps(model.get_config()))
    for bad in ("os.system", "ops.convert_to_numpy", "backend.get", "ops._tensor", "backend.function", "getitem",
                "operator.call"):
        broken = json.loads(json.dumps(config))
        entry = next(e for e in broken["layers"] if e["class_name"] == "OpLayer")
        entry["config"]["function"] = bad
        with pytest.raises(ValueError, match="unknown op"):
            mlfront.Model.from_config(broken)
    broken = json.loads(json.dumps(config))
    entry = next(e for e in broken["layers"] if e["name"].startswith("getitem"))
    entry["config"]["args"][1] = {"__slice__": [0, 1, 1], "__tuple__": []}
    with pytest.raises(ValueError, match="OpLayer config"):
        mlfront.Model.from_config(broken)


def test_unsupported_uses_give_clear_errors():
    x = mlfront.Input((3,))
    with pytest.raises(NotImplementedError, match="random"):
        K.dropout(x, 0.5)
    with pytest.raises(TypeError, match="Indexing a symbolic tensor"):
        x[[0, 1]]
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(x)
    with pytest.raises(TypeError, match="K.function"):
        K.get_value(x)
    with pytest.raises(TypeError, match="no value"):
        ops.convert_to_numpy(x)
    model = mlfront.Model(x, x * K.variable(np.ones(3)))
    with pytest.raises(ValueError, match="cannot be saved in a config"):
        model.get_config()


def test_ops_on_arrays_are_unchanged():
    a = K.get().convert(np.array([[1.0, 2.0]], np.float32))
    assert not isinstance(ops.add(a, 1.0), SymbolicTensor)
    np.testing.assert_allclose(_numpy(K.concatenate([a, a])), [[1, 2, 1, 2]])
    assert ops.mean.__name__ == "mean" and "axis" in ops.mean.__doc__


def _expressions(Input, kops):
    a, b = Input((3,)), Input((5,))
    x = kops.concatenate([a, b], axis=-1)
    return [a, b], [x[:, 1:6:2], kops.mean(x, axis=1, keepdims=True) * 2.0 - a, abs(-a) ** 2 / (b[:, :3] + 3.0),
                    kops.reshape(x, (-1, 4)), kops.sum(kops.square(x), axis=-1), x[:, None, 0] >= 0.1]


def test_same_shapes_and_values_as_keras3(rng):
    keras = pytest.importorskip("keras")
    ours_in, ours = _expressions(mlfront.Input, ops)
    theirs_in, theirs = _expressions(keras.Input, keras.ops)
    assert [t.shape for t in ours] == [tuple(t.shape) for t in theirs]
    values = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")]
    got = K.function(ours_in, ours)(values)
    expected = keras.Model(theirs_in, theirs).predict(values, verbose=0)
    for mine, reference in zip(got, expected):
        np.testing.assert_allclose(mine, np.asarray(reference), rtol=1e-5, atol=1e-6)
