"""save_weights / load_weights in HDF5."""

import h5py
import numpy as np
import pytest

import mlfront
from mlfront import layers


def make_model(hidden=8):
    return mlfront.Sequential([layers.Dense(hidden, activation="relu", input_shape=(4,)), layers.Dense(2)])


def test_round_trip_restores_predictions_exactly(tmp_path, rng):
    x = rng.normal(size=(5, 4)).astype("float32")
    model = make_model()
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    restored = make_model()
    assert not np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    restored.load_weights(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_layout_is_plain_hdf5(tmp_path):
    model = make_model()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:  # Keras 3's layout (tests/test_keras3_interop.py checks it against Keras)
        assert dict(f.attrs) == {}
        assert sorted(f["layers"]) == ["dense", "dense_1"]
        assert f["vars"].attrs["name"] == model.name and f["layers/dense/vars"].attrs["name"] == model.layers[0].name
        kernel = f["layers/dense/vars/0"]
        np.testing.assert_array_equal(kernel[()], model.layers[0].kernel.numpy())
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()], model.layers[1].bias.numpy())


def test_shape_mismatch_names_the_weight_and_changes_nothing(tmp_path):
    path = tmp_path / "m.weights.h5"
    make_model(hidden=8).save_weights(path)
    other = make_model(hidden=6)
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"kernel.*shape \(4, 6\).*file holds shape \(4, 8\)"):
        other.load_weights(path)
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_failed_save_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    model = make_model()
    model.save_weights(path)
    original = path.read_bytes()

    def broken_numpy(self):
        raise RuntimeError("disk full")
    monkeypatch.setattr(mlfront.Variable, "numpy", broken_numpy)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]


def test_overwrite_false_and_missing_file(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = make_model()
    model.save_weights(path)
    with pytest.raises(FileExistsError):
        model.save_weights(path, overwrite=False)
    with pytest.raises(FileNotFoundError, match="no such file"):
        model.load_weights(tmp_path / "missing.weights.h5")


def test_set_weights_checks_shapes():
    model = make_model()
    with pytest.raises(ValueError, match=r"expected a list of 4 arrays"):
        model.set_weights([np.zeros((4, 8))])
    with pytest.raises(ValueError, match=r"has shape \(4, 8\), got an array of shape \(3, 8\)"):
        model.set_weights([np.zeros((3, 8)), np.zeros(8), np.zeros((8, 2)), np.zeros(2)])
