"""`Model.export`: SavedModel (tensorflow backend) and ONNX (torch backend) artifacts, reloaded by the engine's
own loader (`tf.saved_model.load`, `onnxruntime.InferenceSession`) and compared with `model.predict`; every
format a backend does not write raises a clear error."""

import os

import numpy as np
import pytest

import mlfront
from mlfront import layers

#: What each backend writes (independent of the adapters' own lists).
WRITES = {"torch": "onnx", "tensorflow": "tf_saved_model"}
FORMAT = WRITES.get(mlfront.backend())
needs_export = pytest.mark.skipif(FORMAT is None, reason=f"the {mlfront.backend()} backend exports no format")


# ---------------------------------------------------------------------- loading an artifact back
def reload(path):
    """A function (list of NumPy inputs) -> list of NumPy outputs, run by the artifact's own runtime."""
    if FORMAT == "onnx":
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return lambda inputs: session.run(None, dict(zip(names, inputs))), names
    tf = pytest.importorskip("tensorflow")
    loaded = tf.saved_model.load(str(path))  # kept alive by `run`: its functions read the loaded variables
    signature = loaded.signatures["serving_default"]
    names = sorted(signature.structured_input_signature[1])

    def run(inputs):
        outputs = signature(**{name: tf.constant(x) for name, x in zip(names, inputs)})
        served = loaded.serve(*inputs)  # Keras's endpoint: one output as a tensor, several as a dict
        served = served if isinstance(served, dict) else {key: served for key in outputs}
        for key in outputs:
            np.testing.assert_array_equal(served[key].numpy(), outputs[key].numpy())
        return [outputs[key].numpy() for key in sorted(outputs)]
    return run, names


def artifact_path(tmp_path, stem="model"):
    return tmp_path / (stem + ".onnx" if FORMAT == "onnx" else stem)


def check_round_trip(model, path, inputs_by_batch, **export_kwargs):
    model.export(path, format=FORMAT, verbose=False, **export_kwargs)
    assert sorted(os.listdir(path.parent)) == [path.name]  # no staging folder or temporary file left
    run, names = reload(path)
    for inputs in inputs_by_batch:
        expected = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        expected = expected if isinstance(expected, list) else [expected]
        got = run(inputs)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-5)
    return names


# ---------------------------------------------------------------------- models
def conv_model():
    model = mlfront.Sequential([layers.Input(shape=(6, 6, 3)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                                layers.BatchNormalization(), layers.Flatten(), layers.Dropout(0.5),
                                layers.Dense(5, activation="softmax")])
    bn = model.layers[1]
    r = np.random.default_rng(1)  # moving statistics far from (0, 1), so inference mode shows
    bn.set_weights([r.uniform(0.5, 2, 4), r.normal(size=4), r.normal(size=4), r.uniform(0.5, 2, 4)])
    return model


def two_input_model():
    a, b = layers.Input(shape=(4,), name="a"), layers.Input(shape=(3,), name="b")
    hidden = layers.Dense(6, activation="tanh")(layers.Concatenate()([a, b]))
    return mlfront.Model([a, b], [layers.Dense(2, name="p")(hidden),
                                  layers.Dense(1, activation="sigmoid", name="q")(hidden)])


class Residual(mlfront.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(5, activation="relu")
        self.out = layers.Dense(3)

    def call(self, x, training=None):
        return self.out(self.inner(x) + x)


def batches(rng, *feature_shapes, sizes=(7, 1)):
    """One input list per batch size; none of the sizes is the one the exporter traces with."""
    return [[rng.normal(size=(n,) + s).astype("float32") for s in feature_shapes] for n in sizes]


# ---------------------------------------------------------------------- round trips
@needs_export
def test_sequential_conv_batchnorm_dropout(tmp_path, rng):
    check_round_trip(conv_model(), artifact_path(tmp_path), batches(rng, (6, 6, 3)))


@needs_export
def test_functional_two_inputs_two_outputs(tmp_path, rng):
    names = check_round_trip(two_input_model(), artifact_path(tmp_path), batches(rng, (4,), (3,)))
    assert names == ["a", "b"]  # the inputs keep their Input names


@needs_export
def test_subclassed_model_built_from_input_signature(tmp_path, rng):
    model = Residual()  # never called: export builds it on the signature
    check_round_trip(model, artifact_path(tmp_path), batches(rng, (5,)), input_signature=[(None, 5)])
    assert model.built


@needs_export
@pytest.mark.parametrize("rnn", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_recurrent_layers(tmp_path, rng, rnn):
    model = mlfront.Sequential([layers.Input(shape=(5, 3)), rnn(4, return_sequences=True), layers.Dense(2)])
    check_round_trip(model, artifact_path(tmp_path), batches(rng, (5, 3)))


@needs_export
def test_export_replaces_previous_artifact(tmp_path, rng, capsys):
    x = rng.normal(size=(3, 4)).astype("float32")
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    path = artifact_path(tmp_path)
    if FORMAT == "onnx":  # an earlier artifact in place (its content does not matter here)
        path.write_bytes(b"old")
    else:
        path.mkdir()
        (path / "saved_model.pb").write_bytes(b"old")
        (path / "old_only.txt").write_text("old")
    stale = tmp_path / f".{path.name}.mlfront-tmp-999999999-dead"  # left by a killed export (no such process)
    stale.mkdir()
    model.export(path, format=FORMAT)
    assert f"Saved artifact at '{path}'" in capsys.readouterr().out  # verbose=None prints, as in Keras
    assert sorted(os.listdir(tmp_path)) == [path.name]
    assert FORMAT == "onnx" or not (path / "old_only.txt").exists()
    run, _ = reload(path)
    np.testing.assert_allclose(run([x])[0], model.predict(x, verbose=0), rtol=0, atol=1e-5)


@needs_export
def test_refuses_to_replace_a_foreign_path(tmp_path):
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    path = artifact_path(tmp_path)
    if FORMAT == "onnx":
        path.mkdir()
    else:
        path.mkdir()
        (path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        model.export(path, format=FORMAT, verbose=False)
    assert path.is_dir()


@pytest.mark.parametrize("exchange", [True, False])
def test_directory_swap(tmp_path, monkeypatch, exchange):
    from mlfront.saving import export
    if not exchange:  # the two-rename fallback of systems without renameat2
        monkeypatch.setattr(export.ctypes.util, "find_library", lambda name: None)
    new, old = tmp_path / "new", tmp_path / "old"
    new.mkdir()
    old.mkdir()
    (new / "f").write_text("new")
    (old / "f").write_text("old")
    export._swap_directories(str(new), str(old))
    assert (old / "f").read_text() == "new" and (new / "f").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["new", "old"]


# ---------------------------------------------------------------------- errors on every backend
@pytest.mark.parametrize("fmt", ["tf_saved_model", "onnx", "openvino", "litert", "torch"])
def test_unsupported_format_for_backend_names_format_and_backend(tmp_path, fmt):
    if WRITES.get(mlfront.backend()) == fmt:
        pytest.skip(f"{fmt} is written by this backend")
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=rf"format='{fmt}' is not supported on the '{mlfront.backend()}' backend"):
        model.export(tmp_path / "out", format=fmt)
    assert os.listdir(tmp_path) == []


def test_unknown_format_lists_the_formats(tmp_path):
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    with pytest.raises(ValueError, match="unknown format='pb'.*tf_saved_model, onnx, openvino"):
        model.export(tmp_path / "out", format="pb")


def test_backend_lists_what_it_writes():
    B = mlfront.backend.get()
    expected = WRITES.get(mlfront.backend())
    assert tuple(B.export_formats) == ((expected,) if expected else ())


@needs_export
def test_unknown_option_is_named(tmp_path):
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    with pytest.raises(ValueError, match="'dynamic_batch'"):
        model.export(tmp_path / "out", format=FORMAT, dynamic_batch=True)


@needs_export
def test_unbuilt_model_without_signature_is_refused(tmp_path):
    with pytest.raises(ValueError, match="input_signature"):
        Residual().export(tmp_path / "out", format=FORMAT)


@needs_export
@pytest.mark.parametrize("signature", [[], [("a", 3)], [(None, 0)], [()]])
def test_bad_input_signature_is_refused(tmp_path, signature):
    with pytest.raises(ValueError, match="input_signature"):
        Residual().export(tmp_path / "out", format=FORMAT, input_signature=signature)
