"""Keras 3's weights layout, both ways: files written by real Keras 3 load into mlfront and predict the same;
mlfront writes the same datasets Keras 3 reads (tests/fixtures/keras3, made by make_keras3_fixtures.py)."""

import importlib.util
import io
import json
import os
import re
import shutil
import zipfile

import h5py
import numpy as np
import pytest

import mlfront
from mlfront.saving import weights_h5

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "keras3")
_spec = importlib.util.spec_from_file_location("make_keras3_fixtures",
                                               os.path.join(HERE, "fixtures", "make_keras3_fixtures.py"))
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
EXPECTED = dict(np.load(os.path.join(FIXTURES, "expected.npz")))


def _inputs(kind):
    if kind == "nested":
        return [EXPECTED["x_nested_0"], EXPECTED["x_nested_1"]]
    return EXPECTED[f"x_{kind}_0"]


def _datasets(source):
    """{dataset path: array} and {vars group path: name attribute} of an HDF5 file (path or bytes)."""
    handle = h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    datasets, names = {}, {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            datasets[name] = obj[()]
        elif name.endswith("vars"):
            names[name] = obj.attrs["name"]
    with handle:
        handle.visititems(visit)
    return datasets, names


def _member(path, name="model.weights.h5"):
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _config_skeleton(path):
    """config.json with the automatic name counters dropped ("dense_7" -> "dense"): what Keras 3 read."""
    config = json.loads(_member(path, "config.json"))
    assert config["module"] in ("keras", "keras.src.models.functional")
    return re.sub(r'_\d+"', '"', json.dumps(config, sort_keys=True))


# --------------------------------------------------------------------------- Keras 3 -> mlfront
@pytest.mark.parametrize("kind", make.MODELS + make.KERAS_ONLY)
def test_keras3_archive_loads_and_predicts_as_keras(kind):
    model = mlfront.models.load_model(os.path.join(FIXTURES, f"keras_{kind}.keras"))
    np.testing.assert_allclose(model.predict(_inputs(kind), verbose=0), EXPECTED[f"keras_{kind}"], atol=1e-5)


def test_keras3_weights_file_loads_into_the_mlfront_model():
    model = make.build(mlfront, "nested")
    before = model.predict(_inputs("nested"), verbose=0)
    model.load_weights(os.path.join(FIXTURES, "keras_nested.weights.h5"))
    after = model.predict(_inputs("nested"), verbose=0)
    np.testing.assert_allclose(after, EXPECTED["keras_nested"], atol=1e-5)
    assert np.abs(before - after).max() > 1e-3


def test_training_resumes_from_a_keras3_archive_as_in_keras():
    model = mlfront.models.load_model(os.path.join(FIXTURES, "keras_dense.keras"))
    assert int(model.optimizer.iterations.numpy()) == 2
    x, y = make._train_batch()
    model.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    resumed = {path: array for _, _, entries in weights_h5.collect_weights(model) for path, array in entries}
    keras_resumed = {key.split(":", 1)[1]: value for key, value in EXPECTED.items() if key.startswith("resume:")}
    assert sorted(resumed) == sorted(keras_resumed)
    for path, value in keras_resumed.items():
        np.testing.assert_allclose(resumed[path], value, rtol=1e-5, atol=1e-6, err_msg=path)


# --------------------------------------------------------------------------- mlfront -> Keras 3
@pytest.mark.parametrize("kind", make.MODELS)
def test_mlfront_archive_holds_what_keras3_read(tmp_path, kind):
    """The committed mlfront file was read by Keras 3 (predictions in the fixtures); mlfront still writes the
    same datasets and groups, and reloaded predicts what Keras predicted from them."""
    model = make.mlfront_model(kind)
    path = str(tmp_path / f"{kind}.keras")
    model.save(path)
    written, written_names = _datasets(_member(path))
    committed, committed_names = _datasets(_member(os.path.join(FIXTURES, f"mlfront_{kind}.keras")))
    assert sorted(written) == sorted(committed)
    assert set(written_names) == set(committed_names)  # the name attributes follow automatic layer names
    for name, value in committed.items():
        assert written[name].dtype == value.dtype and written[name].shape == value.shape, name
        np.testing.assert_array_equal(written[name], value, err_msg=name)
    assert _config_skeleton(path) == _config_skeleton(os.path.join(FIXTURES, f"mlfront_{kind}.keras"))
    reloaded = mlfront.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(_inputs(kind), verbose=0), EXPECTED[f"from_mlfront_{kind}"],
                               atol=1e-5)


def test_mlfront_weights_file_holds_what_keras3_read(tmp_path):
    model = make.mlfront_model("nested")
    model.save_weights(tmp_path / "nested.weights.h5")
    written, names = _datasets(str(tmp_path / "nested.weights.h5"))
    committed, committed_names = _datasets(os.path.join(FIXTURES, "mlfront_nested.weights.h5"))
    assert sorted(written) == sorted(committed) and set(names) == set(committed_names)
    for name, value in committed.items():
        np.testing.assert_array_equal(written[name], value, err_msg=name)
    with h5py.File(tmp_path / "nested.weights.h5", "r") as f:
        assert dict(f.attrs) == {}


@pytest.mark.parametrize("kind", make.MODELS)
def test_a_keras3_archive_saved_again_by_mlfront_is_the_same_structure(tmp_path, kind):
    """Every group (empty ones too), dataset path, shape, dtype and value of Keras 3's model.weights.h5 (with
    the Adam state for "dense") is what mlfront writes for the model it loaded from that file."""
    source = os.path.join(FIXTURES, f"keras_{kind}.keras")
    theirs, their_groups = _datasets(_member(source))
    mlfront.models.load_model(source).save(tmp_path / "again.keras")
    ours, our_groups = _datasets(_member(str(tmp_path / "again.keras")))
    assert set(our_groups) == set(their_groups)
    assert {k: (v.shape, v.dtype) for k, v in ours.items()} == {k: (v.shape, v.dtype) for k, v in theirs.items()}
    for path, value in theirs.items():
        np.testing.assert_array_equal(ours[path], value, err_msg=path)


def test_keras3_object_paths_of_sublayers():
    ours, groups = _datasets(bytes(weights_h5.weights_image(weights_h5.collect_weights(make.build(mlfront, "rnn")))))
    assert "layers/lstm/cell/vars/2" in ours and "layers/bidirectional/backward_layer/cell/vars/0" in ours
    assert "layers/multi_head_attention/output_dense/vars/0" in ours and "layers/time_distributed/layer/vars/1" in ours
    assert ours["layers/gru/cell/vars/2"].shape == (2, 9) and ours["layers/gru_1/cell/vars/2"].shape == (6,)
    assert "layers/multi_head_attention/_softmax/vars" in groups and "layers/input_layer/vars" in groups


_SHAPES = [(3, 2), (2,), (2, 1)]


def _interleaved(*names):
    return [(name, shape) for shape in _SHAPES for name in names]


def _blocks(*names):
    return [(name, shape) for name in names for shape in _SHAPES]


@pytest.mark.parametrize("optimizer, slots", [
    ("sgd", []), (dict(class_name="SGD", config={"momentum": 0.9}), _blocks("momentum")),
    (dict(class_name="RMSprop", config={"momentum": 0.5, "centered": True}),
     _blocks("velocity", "momentum", "average_gradient")),
    (dict(class_name="Adam", config={"amsgrad": True}), _interleaved("momentum", "velocity") +
     _blocks("velocity_hat")),
    ("adamw", _interleaved("momentum", "velocity")), ("adagrad", _blocks("accumulator")),
    ("adadelta", _interleaved("accumulated_grad", "accumulated_delta_var")),
    ("adamax", _interleaved("momentum", "norm")),
    ("nadam", _interleaved("momentum", "velocity") + [("u_product", ())])])
def test_optimizer_slots_in_keras3_order(optimizer, slots):
    """Keras 3.15's order (its `optimizer.variables`): interleaved per variable or in blocks, per optimizer."""
    from mlfront.saving import weights_layout
    model = mlfront.Sequential([mlfront.layers.Input((3,)), mlfront.layers.Dense(2),
                                mlfront.layers.Dense(1, use_bias=False)])
    if isinstance(optimizer, dict):
        optimizer = mlfront.optimizers.deserialize(optimizer)
    model.compile(optimizer=optimizer, loss="mse")
    model.optimizer.build(model.trainable_variables)
    ordered = weights_layout.optimizer_variables(model, model.optimizer)
    assert [v.name for v in ordered[:2]] == ["iterations", "learning_rate"]
    assert [(v.name, tuple(v.shape)) for v in ordered[2:]] == slots


# --------------------------------------------------------------------------- what is tolerated, what refused
def _copy(tmp_path, name):
    target = tmp_path / name
    shutil.copyfile(os.path.join(FIXTURES, name), target)
    os.chmod(target, 0o644)
    return target


def test_seed_generator_state_is_skipped_and_unknown_datasets_refused(tmp_path):
    model = make.build(mlfront, "nested")
    path = _copy(tmp_path, "keras_nested.weights.h5")
    with h5py.File(path, "a") as f:
        f["layers/dense/seed_generator/vars/0"] = np.array([3, 0], "int64")
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(_inputs("nested"), verbose=0), EXPECTED["keras_nested"], atol=1e-5)
    with h5py.File(path, "a") as f:
        f["layers/dense/extra/vars/0"] = np.zeros(3, "float32")
    with pytest.raises(ValueError, match=r"holds the dataset 'layers/dense/extra/vars/0', but model"):
        model.load_weights(path)


def test_missing_or_misplaced_datasets_are_refused_and_nothing_changes(tmp_path):
    model = make.build(mlfront, "nested")
    before = [w.numpy() for w in model.weights]
    path = _copy(tmp_path, "keras_nested.weights.h5")
    with h5py.File(path, "a") as f:
        del f["layers/sequential/layers/dense_1/vars/1"]
    with pytest.raises(ValueError, match=r"lacks 1 of the model's 8 variables, e\.g\. "
                                         r"'layers/sequential/layers/dense_1/vars/1'"):
        model.load_weights(path)
    with h5py.File(path, "a") as f:
        f["layers/sequential/layers/dense_1/vars/1"] = np.zeros(4, "float32")
    with pytest.raises(ValueError, match=r"has shape \(3,\), but the file holds shape \(4,\)"):
        model.load_weights(path)
    with h5py.File(path, "a") as f:
        f["layers/sequential/layers/dense_1/note"] = np.zeros(1, "float32")
    with pytest.raises(ValueError, match=r"dataset 'layers/sequential/layers/dense_1/note' is not a variable"):
        model.load_weights(path)
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_old_mlfront_weights_files_are_refused_by_name(tmp_path):
    model = make.build(mlfront, "nested")
    path = str(tmp_path / "old.weights.h5")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "mlfront.weights"
        f["layers/0000_dense/vars/0"] = np.zeros((3, 4), "float32")
    with pytest.raises(ValueError, match=r"format='mlfront.weights': it was written in the layout of an older"):
        model.load_weights(path)


def test_uncompiled_model_skips_the_optimizer_state_of_a_weights_file(tmp_path):
    model = mlfront.models.load_model(os.path.join(FIXTURES, "keras_dense.keras"), compile=False)
    keras_file = str(tmp_path / "dense.weights.h5")
    with open(keras_file, "wb") as f:
        f.write(_member(os.path.join(FIXTURES, "keras_dense.keras")))
    model.load_weights(keras_file)
    np.testing.assert_allclose(model.predict(_inputs("dense"), verbose=0), EXPECTED["keras_dense"], atol=1e-5)
    other = make.build(mlfront, "dense")
    other.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"holds 18 variables for the optimizer, but the model's optimizer"):
        other.load_weights(keras_file)
    np.testing.assert_allclose(other.predict(_inputs("dense"), verbose=0), EXPECTED["keras_dense"], atol=1e-5)


def test_keras3_archive_members_assets_folder_and_asset_files(tmp_path):
    source = os.path.join(FIXTURES, "keras_conv1d.keras")
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert sorted(members) == ["config.json", "metadata.json", "model.weights.h5"]
    with_folder = tmp_path / "folder.keras"
    with zipfile.ZipFile(with_folder, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("assets/", b"")
    mlfront.models.load_model(with_folder)
    with_asset = tmp_path / "asset.keras"
    with zipfile.ZipFile(with_asset, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("assets/layers/string_lookup/vocabulary.txt", b"a\nb\n")
        archive.writestr("assets/layers/conv1d/kernel.npy", b"")
    with pytest.raises(ValueError, match=r"member 'assets/layers/conv1d/kernel.npy' is an asset file mlfront does "
                                         r"not read"):
        mlfront.models.load_model(with_asset)


def test_keras3_vocabulary_assets_are_read_for_their_lookup_layer_only(tmp_path):
    source = os.path.join(FIXTURES, "keras_lookup.keras")
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert "assets/layers/string_lookup/vocabulary.txt" in members  # Keras 3 keeps an adapted vocabulary there
    model = mlfront.models.load_model(source)
    assert model.layers[1].get_vocabulary() == members["assets/layers/string_lookup/vocabulary.txt"].decode().split()

    def rewritten(name, **changes):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for member, data in {**members, **changes}.items():
                archive.writestr(member, data)
        return path
    with pytest.raises(ValueError, match=r"holds 3 terms, but the config of 'string_lookup\w*' says vocabulary_size=5"):
        mlfront.models.load_model(rewritten("short.keras", **{"assets/layers/string_lookup/vocabulary.txt":
                                                              b"[UNK]\nb\na"}))
    with pytest.raises(ValueError, match=r"asset 'assets/layers/dense/vocabulary.txt' does not belong to a lookup"):
        mlfront.models.load_model(rewritten("misplaced.keras", **{"assets/layers/dense/vocabulary.txt": b"a"}))
    with pytest.raises(ValueError, match=r"is not UTF-8 text"):
        mlfront.models.load_model(rewritten("binary.keras", **{"assets/layers/string_lookup/vocabulary.txt":
                                                               b"\xff\xfe"}))


def test_keras3_reads_mlfront_files_where_keras_is_installed(tmp_path):
    """Runs only where Keras 3 is importable (not in the tox envs; the fixtures carry this check there)."""
    keras = pytest.importorskip("keras")
    model = make.mlfront_model("nested")
    model.save_weights(tmp_path / "nested.weights.h5")
    theirs = make.build(keras, "nested")
    theirs.load_weights(tmp_path / "nested.weights.h5")
    np.testing.assert_allclose(theirs.predict(_inputs("nested"), verbose=0),
                               model.predict(_inputs("nested"), verbose=0), atol=1e-5)
