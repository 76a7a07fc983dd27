"""Whole models in `.keras` zips: `model.save` / `load_model` round trips, exact resume, hostile archives."""

import contextlib
import io
import json
import os
import zipfile

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.saving import register_keras_serializable

_PACKAGE = "test_keras_archive"


def _sequential(optimizer="adam"):
    model = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(6, activation="relu"),
                                layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy", "mae"])
    return model


def _data(rng, n=32):
    x = rng.normal(size=(n, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def _weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        np.testing.assert_array_equal(u, v)


@register_keras_serializable(package=_PACKAGE)
class TwoDense(mlfront.Model):
    """A subclassed model whose layers are made in __init__ and whose weights exist after the first call."""

    def __init__(self, units=5, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Scale(layers.Layer):
    """A custom layer known only through `custom_objects`."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def my_loss(y_true, y_pred):
    return mlfront.ops.mean(mlfront.ops.square(y_true - y_pred), axis=-1)


# ---------------------------------------------------------------------- round trips
def test_sequential_round_trip_restores_weights_compile_config_and_members(rng, tmp_path):
    model = _sequential()
    x, y = _data(rng)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
    assert config["class_name"] == "Sequential"
    assert config["compile_config"]["loss"] == "categorical_crossentropy"
    assert config["compile_config"]["metrics"] == ["accuracy", "mae"]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert metadata["keras_version"] == f"mlfront-{mlfront.__version__}"
    assert metadata["backend"] == mlfront.backend() and "date_saved" in metadata

    loaded = mlfront.models.load_model(path)
    assert type(loaded) is mlfront.Sequential and loaded.compiled
    _weights_equal(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) == 4
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    evaluated = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(evaluated) == {"loss", "accuracy", "mae"}
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    for name in expected:
        np.testing.assert_allclose(evaluated[name], expected[name], rtol=1e-6)

    # compile=False: architecture and weights only; saving.load_model / save_model are the same functions
    mlfront.saving.save_model(model, str(tmp_path / "again.keras"))
    plain = mlfront.saving.load_model(str(tmp_path / "again.keras"), compile=False)
    assert not plain.compiled
    _weights_equal(model, plain)


def test_functional_two_inputs_with_custom_objects(rng, tmp_path):
    a, b = layers.Input(shape=(4,), name="a"), layers.Input(shape=(2,), name="b")
    merged = layers.concatenate([Scale(3.0, name="scale")(layers.Dense(3, name="da")(a)), b])
    model = mlfront.Model([a, b], layers.Dense(2, name="out")(merged))
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss=my_loss,
                  loss_weights=0.5)
    x = [rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")]
    y = rng.normal(size=(8, 2)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "two.keras")
    model.save(path)
    with pytest.raises(ValueError, match="Scale"):
        mlfront.models.load_model(path)
    with pytest.raises(ValueError, match="my_loss"):
        mlfront.models.load_model(path, custom_objects={"Scale": Scale})
    loaded = mlfront.models.load_model(path, custom_objects={"Scale": Scale, "my_loss": my_loss})
    assert loaded.get_layer("scale").factor == 3.0
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6)


def test_subclassed_registered_model_is_rebuilt_from_its_build_shape(rng, tmp_path):
    model = TwoDense(units=4, name="two_dense")
    model.compile(optimizer="rmsprop", loss="mse")
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "sub.keras")
    model.save(path)
    loaded = mlfront.models.load_model(path)
    assert type(loaded) is TwoDense and loaded.units == 4
    _weights_equal(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_fit_resumes_exactly_after_save_and_load(rng, tmp_path):
    x, y = _data(rng)
    mlfront.utils.set_random_seed(3)
    uninterrupted = _sequential()
    mlfront.utils.set_random_seed(3)
    interrupted = _sequential()
    _weights_equal(uninterrupted, interrupted)
    uninterrupted.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    interrupted.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "resume.keras")
    interrupted.save(path)
    resumed = mlfront.models.load_model(path)
    resumed.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    _weights_equal(uninterrupted, resumed)
    assert int(resumed.optimizer.iterations.numpy()) == 12


def test_fit_with_dropout_resumes_exactly_after_save_and_load(rng, tmp_path):
    """The random key of the next train step travels in metadata.json, so Dropout draws the same masks."""
    x, y = _data(rng)

    def model():
        mlfront.utils.set_random_seed(5)
        m = mlfront.Sequential([layers.Input(shape=(4,)), layers.Dense(16, activation="relu"), layers.Dropout(0.5),
                                layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        return m
    uninterrupted, interrupted = model(), model()
    mlfront.utils.set_random_seed(7)  # the first fit draws the step's starting key
    uninterrupted.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    mlfront.utils.set_random_seed(7)
    interrupted.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "dropout.keras")
    interrupted.save(path)
    with zipfile.ZipFile(path) as archive:
        state = json.loads(archive.read("metadata.json"))["mlfront_training_state"]
    assert state["rng_key"] is not None
    resumed = mlfront.models.load_model(path)
    resumed.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    _weights_equal(uninterrupted, resumed)


def test_a_corrupt_training_state_is_a_clear_error(tmp_path):
    model = _sequential()
    model.fit(np.zeros((4, 4), "float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]], verbose=0)
    path = str(tmp_path / "state.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(members["metadata.json"])
    metadata["mlfront_training_state"]["rng_key"]["values"] = ["x"]
    members["metadata.json"] = json.dumps(metadata).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"state\.keras::metadata\.json: mlfront_training_state is invalid.*rng_key"):
        mlfront.models.load_model(path)


# ---------------------------------------------------------------------- refusals when saving
def test_save_refuses_other_formats_and_existing_files_without_overwrite(tmp_path):
    model = _sequential()
    with pytest.raises(ValueError, match=r"save_format.*'tf'"):
        model.save(str(tmp_path / "m.h5"), save_format="tf")
    with pytest.raises(ValueError, match=r"must end in '\.keras'.*m\.bin"):
        model.save(str(tmp_path / "m.bin"))
    with pytest.raises(NotImplementedError, match="zipped=False"):
        model.save(str(tmp_path / "m.keras"), zipped=False)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    with pytest.raises(FileNotFoundError, match=r"no such file.*m\.h5"):
        mlfront.models.load_model(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"must end in '\.keras'"):
        mlfront.models.load_model(str(tmp_path / "m.bin"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        mlfront.models.load_model(str(tmp_path / "missing.keras"))
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary file left


# ---------------------------------------------------------------------- hostile and broken archives
def _members(tmp_path):
    path = str(tmp_path / "good.keras")
    _sequential().save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path, members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path


@pytest.mark.parametrize("extra, message", [
    ("../evil", r"'\.\./evil' has an absolute or '\.\.' path"),
    ("/etc/evil", r"'/etc/evil' has an absolute or '\.\.' path"),
    ("assets/run.py", r"member 'assets/run\.py' is an asset file"),
    ("optimizer.weights.h5", r"unexpected member 'optimizer\.weights\.h5'"),
    ("config.json", r"'config\.json' appears more than once"),
])
def test_crafted_member_names_are_refused(tmp_path, extra, message):
    members = _members(tmp_path)
    path = str(tmp_path / "bad.keras")
    with pytest.warns(UserWarning) if extra == "config.json" else contextlib.nullcontext():
        _write_zip(path, list(members.items()) + [(extra, b"{}")])
    with pytest.raises(ValueError, match=r"bad\.keras refused: .*" + message):
        mlfront.models.load_model(path)


def test_declared_size_far_beyond_the_archive_is_refused(tmp_path):
    path = _write_zip(str(tmp_path / "bomb.keras"), list(_members(tmp_path).items()))
    data = bytearray(open(path, "rb").read())
    central = data.index(b"PK\x01\x02")  # the first central-directory entry: config.json
    assert data[central + 46:central + 46 + 11] == b"config.json"
    data[central + 24:central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # its uncompressed size
    with open(path, "wb") as f:
        f.write(bytes(data))
    with pytest.raises(ValueError, match=r"bomb\.keras refused: member 'config\.json' declares 4294967280 bytes"):
        mlfront.models.load_model(path)


def test_missing_config_truncated_and_foreign_files_are_clear_errors(tmp_path):
    members = _members(tmp_path)
    path = _write_zip(str(tmp_path / "noconfig.keras"), [(k, v) for k, v in members.items() if k != "config.json"])
    with pytest.raises(ValueError, match=r"noconfig\.keras is not a complete \.keras file: it lacks "
                                         r"\['config\.json'\]"):
        mlfront.models.load_model(path)
    whole = open(str(tmp_path / "good.keras"), "rb").read()
    truncated = str(tmp_path / "cut.keras")
    with open(truncated, "wb") as f:
        f.write(whole[:len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.keras is not a valid \.keras archive"):
        mlfront.models.load_model(truncated)
    foreign = str(tmp_path / "text.keras")
    with open(foreign, "w") as f:
        f.write("hello")
    with pytest.raises(ValueError, match=r"text\.keras is not a valid \.keras archive"):
        mlfront.models.load_model(foreign)
    corrupt = bytearray(whole)
    start = whole.index(b"config.json") + len("config.json")  # inside the first member's compressed data
    corrupt[start + 10:start + 40] = bytes(30)
    with open(str(tmp_path / "crc.keras"), "wb") as f:
        f.write(bytes(corrupt))
    with pytest.raises(ValueError, match=r"crc\.keras"):
        mlfront.models.load_model(str(tmp_path / "crc.keras"))
    bad_json = _write_zip(str(tmp_path / "json.keras"), [(k, b"{oops" if k == "config.json" else v)
                                                         for k, v in members.items()])
    with pytest.raises(ValueError, match=r"json\.keras: config\.json is not valid JSON"):
        mlfront.models.load_model(bad_json)
    bad_weights = _write_zip(str(tmp_path / "w.keras"), [(k, v[:200] if k == "model.weights.h5" else v)
                                                         for k, v in members.items()])
    with pytest.raises(ValueError, match=r"w\.keras::model\.weights\.h5"):
        mlfront.models.load_model(bad_weights)
    os.mkdir(str(tmp_path / "dir.keras"))
    with pytest.raises(ValueError, match="not a regular file"):
        mlfront.models.load_model(str(tmp_path / "dir.keras"))


def _with_config(tmp_path, name, edit):
    members = _members(tmp_path)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _write_zip(str(tmp_path / name), list(members.items()))


def test_configs_naming_foreign_code_are_refused(tmp_path):
    def system(config):
        config["config"]["layers"][1] = {"module": "os", "class_name": "system", "config": {}}
    with pytest.raises(ValueError, match="refusing class 'system'"):
        mlfront.models.load_model(_with_config(tmp_path, "os.keras", system))

    def lambda_layer(config):
        config["config"]["layers"].insert(2, {"module": "keras.layers", "class_name": "Lambda", "config": {
            "name": "lam", "function": {"class_name": "__lambda__", "config": {"code": "YWJj", "defaults": None,
                                                                                 "closure": None}}}})
    path = _with_config(tmp_path, "lambda.keras", lambda_layer)
    with pytest.raises(ValueError, match="safe_mode=True refuses. If you trust the file, pass safe_mode=False"):
        mlfront.models.load_model(path)
    with pytest.raises(ValueError, match="does not load Python bytecode even with safe_mode=False"):
        mlfront.models.load_model(path, safe_mode=False)

    def foreign_loss(config):
        config["compile_config"]["loss"] = {"module": "builtins", "class_name": "function", "config": "eval",
                                            "registered_name": "eval"}
    path = _with_config(tmp_path, "loss.keras", foreign_loss)
    with pytest.raises(ValueError, match="refusing function 'eval'"):
        mlfront.models.load_model(path)
    assert mlfront.models.load_model(path, compile=False).weights  # the compile config is not read then
