"""Keras 2's legacy HDF5 formats: `model.save("m.h5")`, `load_model("m.h5")`, `load_weights` of Keras 2 `.h5`.

The files under fixtures/keras2_h5/ were written by real tf.keras 2 (fixtures/make_keras2_h5_fixtures.py),
with what Keras predicted on fixed inputs.
"""

import json
import os
import pathlib
import shutil

import h5py
import numpy as np
import pytest

import mlfront
from mlfront import callbacks, layers

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "keras2_h5"


@pytest.fixture(scope="module")
def keras2():
    return dict(np.load(FIXTURES / "predictions.npz"))


def _copy(name, tmp_path):
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return str(target)


def _close(a, b, tolerance=1e-5):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) < tolerance


def _weights_equal(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------- files written by tf.keras 2
def test_keras2_sequential_model_predicts_and_trains_as_keras(keras2):
    """Conv2D, BatchNormalization, pooling, Dense; Adam's state restored: one more step matches Keras's."""
    model = mlfront.models.load_model(str(FIXTURES / "sequential.h5"))
    assert isinstance(model, mlfront.Sequential)
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "BatchNormalization", "MaxPooling2D",
                                                                 "Flatten", "Dense", "Dense"]
    _close(model.predict(keras2["sequential_x"], verbose=0), keras2["sequential_y"])
    assert type(model.optimizer).__name__ == "Adam" and int(model.optimizer.iterations.numpy()) == 2
    model.train_on_batch(keras2["sequential_train_x"], keras2["sequential_train_y"])
    _close(model.predict(keras2["sequential_x"], verbose=0), keras2["sequential_y_after_step"])


def test_keras2_functional_model_with_recurrent_wrapped_and_nested_layers(keras2):
    """Embedding, LSTM, Bidirectional(GRU), TimeDistributed, Conv1D, a nested Sequential with BatchNorm and a
    shared layer. Keras 2 stored the shared variables once, so its SGD state cannot be mapped: a warning."""
    with pytest.warns(UserWarning, match="freshly initialized optimizer"):
        model = mlfront.models.load_model(str(FIXTURES / "functional.h5"))
    assert model.input_names == ["tokens", "series"]
    _close(model.predict([keras2["functional_x0"], keras2["functional_x1"]], verbose=0), keras2["functional_y"])
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == pytest.approx(0.9)
    assert model.get_layer("inner").layers[1].name == "batch_normalization_1"
    fresh = mlfront.models.load_model(str(FIXTURES / "functional.h5"), compile=False)
    assert not getattr(fresh, "compiled", False)


@pytest.mark.parametrize("name", ["recurrent", "convolutional"])
def test_keras2_layer_weight_orders(name, keras2):
    """SimpleRNN, GRU(reset_after=False), a backwards LSTM, LayerNormalization, Conv2DTranspose, and nested
    models holding BatchNormalization before Dense: frozen (Keras 2 lists its weights layer by layer) and
    trainable (trainable weights first, then the moving statistics)."""
    model = mlfront.models.load_model(str(FIXTURES / f"{name}.h5"))
    assert not getattr(model, "compiled", False)  # saved with include_optimizer=False: no training config
    _close(model.predict(keras2[f"{name}_x"], verbose=0), keras2[f"{name}_y"])
    if name == "recurrent":
        assert model.get_layer("frozen").trainable_weights == []


@pytest.mark.parametrize("name", ["sequential", "functional"])
def test_keras2_weights_only_files_load_in_layer_order(name, keras2):
    model = mlfront.models.load_model(str(FIXTURES / f"{name}.h5"), compile=False)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(str(FIXTURES / f"{name}_weights.h5"))
    x = keras2["sequential_x"] if name == "sequential" else [keras2["functional_x0"], keras2["functional_x1"]]
    _close(model.predict(x, verbose=0), keras2[f"{name}_y"])


def test_keras2_weights_by_name_and_skip_mismatch(keras2):
    path = str(FIXTURES / "sequential_weights.h5")
    reference = mlfront.models.load_model(str(FIXTURES / "sequential.h5"), compile=False)
    names = [layer.name for layer in reference.layers]  # conv2d, batch_normalization, ..., dense, dense_1
    # another architecture sharing two layer names: only those are loaded, in any order
    model = mlfront.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(3, 3, padding="same", name=names[0]),
                                layers.Flatten(), layers.Dense(5, name="other"), layers.Dense(3, name=names[-1])])
    other_before = model.get_layer("other").get_weights()
    with pytest.raises(ValueError, match=r"dense_1.*shape"):
        model.load_weights(path, by_name=True)  # the file's dense_1 has a (4, 3) kernel, this one (5, 3)
    model.load_weights(path, by_name=True, skip_mismatch=True)
    for a, b in zip(model.get_layer(names[0]).get_weights(), reference.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_layer("other").get_weights(), other_before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="skip_mismatch=True needs by_name=True"):
        model.load_weights(path, skip_mismatch=True)
    with pytest.raises(ValueError, match=r"holds weights for 4 layers.*has 3 layers with weights"):
        model.load_weights(path)


# ---------------------------------------------------------------------- mlfront's own files
def _functional():
    tokens = mlfront.Input((5,), dtype="int32", name="tokens")
    series = mlfront.Input((5, 3), name="series")
    recurrent = layers.LSTM(4, return_sequences=True, name="lstm")(layers.Embedding(10, 3, name="embed")(tokens))
    recurrent = layers.Bidirectional(layers.GRU(2), name="bigru")(recurrent)
    steps = layers.TimeDistributed(layers.Dense(3), name="per_step")(series)
    pooled = layers.GlobalAveragePooling1D(name="pool")(layers.Conv1D(2, 3, name="conv")(steps))
    inner = mlfront.Sequential([layers.Input((6,)), layers.Dense(3, activation="relu"),
                                layers.BatchNormalization()], name="inner")
    hidden = inner(layers.Concatenate(name="join")([recurrent, pooled]))
    shared = layers.Dense(3, activation="tanh", name="shared")
    out = layers.Dense(2, name="out")(layers.Add(name="add")([shared(hidden), shared(shared(hidden))]))
    return mlfront.Model([tokens, series], out, name="func")


def _functional_data():
    rng = np.random.default_rng(1)
    return ([rng.integers(0, 10, (8, 5)).astype("int32"), rng.normal(size=(8, 5, 3)).astype("float32")],
            rng.normal(size=(8, 2)).astype("float32"))


def _functional_light():
    """A shared layer, a nested model, Embedding, TimeDistributed and Conv1D; cheap to compile."""
    tokens = mlfront.Input((5,), dtype="int32", name="tokens")
    series = mlfront.Input((5, 3), name="series")
    embedded = layers.GlobalAveragePooling1D(name="avg")(layers.Embedding(10, 3, name="embed")(tokens))
    steps = layers.TimeDistributed(layers.Dense(3), name="per_step")(series)
    pooled = layers.GlobalMaxPooling1D(name="pool")(layers.Conv1D(3, 3, name="conv")(steps))
    inner = mlfront.Sequential([layers.Input((6,)), layers.Dense(3, activation="relu"),
                                layers.BatchNormalization()], name="inner")
    hidden = inner(layers.Concatenate(name="join")([embedded, pooled]))
    shared = layers.Dense(3, activation="tanh", name="shared")
    out = layers.Dense(2, name="out")(layers.Add(name="add")([shared(hidden), shared(shared(hidden))]))
    return mlfront.Model([tokens, series], out, name="func")


def _sequential():
    return mlfront.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(3, 3, activation="relu"),
                               layers.BatchNormalization(), layers.Flatten(),
                               layers.Dense(2, activation="softmax")], name="seq")


def _sequential_data():
    rng = np.random.default_rng(2)
    return rng.normal(size=(8, 6, 6, 2)).astype("float32"), np.eye(2, dtype="float32")[rng.integers(0, 2, 8)]


@pytest.mark.parametrize("build, data, compile_args", [
    (_sequential, _sequential_data, dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])),
    (_functional_light, _functional_data, dict(optimizer=mlfront.optimizers.RMSprop(0.01, momentum=0.5), loss="mse",
                                         metrics=["mae"])),
])
def test_round_trip_resumes_training_bit_for_bit(build, data, compile_args, tmp_path):
    """Save after one epoch, load, train two more: the same weights as the model trained on (N + M)."""
    x, y = data()
    mlfront.utils.set_random_seed(3)
    model = build()
    model.compile(**compile_args)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "model.h5")
    model.save(path)
    resumed = mlfront.models.load_model(path)
    assert type(resumed) is type(model) and resumed.name == model.name
    assert [layer.name for layer in resumed.layers] == [layer.name for layer in model.layers]
    _weights_equal(model, resumed)
    assert int(resumed.optimizer.iterations.numpy()) == 2
    assert mlfront.saving.serialize_keras_object(resumed.optimizer) == \
        mlfront.saving.serialize_keras_object(model.optimizer)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    resumed.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    _weights_equal(model, resumed)
    for a, b in zip(model.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_round_trip_of_recurrent_and_wrapped_layers(tmp_path):
    """LSTM, Bidirectional(GRU), TimeDistributed, Embedding, a nested model with BatchNorm, a shared layer:
    the same weights, outputs and optimizer state after save / load."""
    x, _ = _functional_data()
    model = _functional()
    model.compile(optimizer="nadam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(5)
    for variable in model.weights + model.optimizer.variables[2:]:
        variable.assign(rng.normal(size=variable.shape).astype(variable.dtype))
    model.optimizer.iterations.assign(7)
    path = str(tmp_path / "recurrent.h5")
    model.save(path)
    loaded = mlfront.models.load_model(path)
    _weights_equal(model, loaded)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(mlfront.ops.convert_to_numpy(loaded(x, training=False)),
                                  mlfront.ops.convert_to_numpy(model(x, training=False)))


def test_written_file_has_tf_keras_layout(tmp_path):
    model = _functional()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.optimizer.build(model.trainable_variables)
    path = str(tmp_path / "m.hdf5")
    model.save(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["keras_version"].startswith("mlfront-") and f.attrs["backend"] == mlfront.backend()
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Functional"
        entries = {entry["name"]: entry for entry in config["config"]["layers"]}
        assert config["config"]["input_layers"] == [["tokens", 0, 0], ["series", 0, 0]]
        assert config["config"]["output_layers"] == [["out", 0, 0]]
        assert entries["embed"]["inbound_nodes"] == [[["tokens", 0, 0, {}]]]
        assert entries["add"]["inbound_nodes"] == [[["shared", 0, 0, {}], ["shared", 2, 0, {}]]]
        # the nested model's node 0 links its own input to its output, so its calls count from 1 (Keras 2)
        assert entries["shared"]["inbound_nodes"][0] == [["inner", 1, 0, {}]]
        assert entries["inner"]["config"]["layers"][0]["class_name"] == "InputLayer"
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "mse" and training["metrics"] == ["mae"]
        assert training["optimizer_config"]["class_name"] == "Custom>Adam"
        weights = f["model_weights"]
        assert [n.decode() for n in weights.attrs["layer_names"]] == [layer.name for layer in model.layers]
        assert [n.decode() for n in weights["lstm"].attrs["weight_names"]] == [
            "lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0", "lstm/lstm_cell/bias:0"]
        backward_kernel = weights["bigru"].attrs["weight_names"][3].decode()
        assert backward_kernel.startswith("bigru/backward_gru") and backward_kernel.endswith("/gru_cell/kernel:0")
        assert [n.decode() for n in weights["inner"].attrs["weight_names"]][-1].endswith("/moving_variance:0")
        np.testing.assert_array_equal(weights["out/out/kernel:0"][()], model.get_layer("out").get_weights()[0])
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert len(names) == len(model.optimizer.variables) and names[0].endswith("iterations:0")


def test_save_format_h5_and_dispatch(tmp_path):
    model = _sequential()
    path = str(tmp_path / "model.bin")
    model.save(path, save_format="h5")  # Keras 2's argument: HDF5 whatever the suffix
    _weights_equal(model, mlfront.models.load_model(path))  # recognised by its first bytes
    _weights_equal(model, mlfront.saving.load_model(path))
    with pytest.raises(ValueError, match="save_format='h5' contradicts"):
        model.save(str(tmp_path / "m.keras"), save_format="h5")
    with pytest.raises(ValueError, match="save_format.*'tf'"):
        model.save(str(tmp_path / "m.h5"), save_format="tf")
    with pytest.raises(TypeError, match="unexpected keyword.*signatures"):
        model.save(str(tmp_path / "m.h5"), signatures=None)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, save_format="h5", overwrite=False)
    model.save(str(tmp_path / "m.keras"))
    shutil.copy(tmp_path / "m.keras", tmp_path / "zip.h5")
    with pytest.raises(ValueError, match=r"zip.h5 is a zip archive"):
        mlfront.models.load_model(str(tmp_path / "zip.h5"))
    weights_only = _copy("sequential_weights.h5", tmp_path)
    with pytest.raises(ValueError, match="holds no model.*load_weights"):
        mlfront.models.load_model(weights_only)

    class Sub(mlfront.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)
    sub = Sub()
    sub(np.zeros((1, 3), "float32"))
    with pytest.raises(NotImplementedError, match="subclassed model.*'.keras'"):
        sub.save(str(tmp_path / "sub.h5"))


def test_model_checkpoint_writes_whole_h5_models(tmp_path):
    model = _sequential()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = _sequential_data()
    model.fit(x, y, batch_size=4, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.hdf5"))])
    assert sorted(os.listdir(tmp_path)) == ["m-1.hdf5", "m-2.hdf5"]
    loaded = mlfront.models.load_model(str(tmp_path / "m-2.hdf5"))
    _weights_equal(model, loaded)
    assert int(loaded.optimizer.iterations.numpy()) == 4


# ---------------------------------------------------------------------- hostile and broken files
def _saved(tmp_path, name="m.h5"):
    model = mlfront.Sequential([layers.Input((3,)), layers.Dense(2, name="dense")], name="victim")
    path = str(tmp_path / name)
    model.save(path)
    return model, path


def _set_config(path, edit):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config)


def test_lambda_is_refused_in_safe_mode(tmp_path):
    _, path = _saved(tmp_path)

    def add_lambda(config):  # what tf.keras writes for Lambda(lambda x: x * 2): the function's bytecode
        config["config"]["layers"].append({"class_name": "Lambda", "config": {
            "name": "lambda", "trainable": True, "dtype": "float32", "function": ["4wEAAAAAAAAA", None, None],
            "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
            "output_shape_module": None, "arguments": {}}})
    _set_config(path, add_lambda)
    with pytest.raises(ValueError, match="safe_mode"):
        mlfront.models.load_model(path)
    with pytest.raises(ValueError, match="does not load Python bytecode"):
        mlfront.models.load_model(path, safe_mode=False)


@pytest.mark.parametrize("spec, message", [
    ({"class_name": "system", "module": "os", "config": {"command": "echo pwned"}}, r"'system' from module 'os'"),
    ({"class_name": "Evil", "module": "evil.module", "config": {}}, r"'Evil' from module 'evil.module'"),
    ({"class_name": "os.system", "config": {}}, r"'os.system'"),
])
def test_config_naming_foreign_objects_is_refused(spec, message, tmp_path):
    _, path = _saved(tmp_path)
    _set_config(path, lambda config: config["config"]["layers"].append(spec))
    with pytest.raises(ValueError, match=message):
        mlfront.models.load_model(path)


def test_external_link_huge_dataset_and_truncation_are_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["kernel"] = np.full((3, 2), 7.0, "float32")
    model, path = _saved(tmp_path)
    before = model.get_weights()
    with h5py.File(path, "r+") as f:
        group = f["model_weights/dense"]
        del group["dense/kernel:0"]
        group["dense/kernel:0"] = h5py.ExternalLink(str(secret), "kernel")
    with pytest.raises(ValueError, match="external link"):
        mlfront.models.load_model(path)
    with pytest.raises(ValueError, match="external link"):
        model.load_weights(path)

    _, path = _saved(tmp_path, "huge.h5")
    with h5py.File(path, "r+") as f:
        group = f["model_weights/dense"]
        del group["dense/kernel:0"]
        group.create_dataset("dense/kernel:0", shape=(10 ** 6, 10 ** 6), dtype="float32", chunks=(8, 8))
    with pytest.raises(ValueError, match=r"huge.h5 refused.*declares shape \(1000000, 1000000\)"):
        model.load_weights(path)

    _, path = _saved(tmp_path, "cut.h5")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(ValueError, match=r"cut.h5.*(truncated|corrupt)"):
        mlfront.models.load_model(path)
    with pytest.raises(ValueError, match=r"cut.h5.*(truncated|corrupt)"):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_mismatched_weights_leave_the_model_unchanged(tmp_path):
    source = mlfront.Sequential([layers.Input((3,)), layers.Dense(4, name="a"), layers.Dense(2, name="b")])
    path = str(tmp_path / "w.h5")
    source.save(path)
    target = mlfront.Sequential([layers.Input((3,)), layers.Dense(4, name="a"), layers.Dense(3, name="b")])
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"weight 'b/kernel' of layer 'b'.*shape \(4, 3\).*\(4, 2\)"):
        target.load_weights(path)
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = "{not json"
    with pytest.raises(ValueError, match=r"w.h5: attribute 'model_config' is not valid JSON"):
        mlfront.models.load_model(path)


# ---------------------------------------------------------------------- Keras 2 weights-only files written here
def test_keras2_weights_file_writer_round_trip_with_model_variables(tmp_path):
    from mlfront.saving import legacy_h5

    class Scaled(mlfront.Model):
        def __init__(self):
            super().__init__(name="scaled")
            self.dense = layers.Dense(2, name="dense")
            self.scale = self.add_weight(name="scale", shape=(2,), initializer="ones")

        def call(self, x):
            return self.dense(x) * self.scale.value

    def built():
        model = Scaled()
        model(np.zeros((1, 3), "float32"))
        return model
    source, target = built(), built()
    rng = np.random.default_rng(6)
    for variable in source.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    path = str(tmp_path / "w.h5")
    legacy_h5.save_weights(source, path)
    with h5py.File(path, "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == ["dense"]
        assert [n.decode() for n in f["dense"].attrs["weight_names"]] == ["dense/kernel:0", "dense/bias:0"]
        assert len(f["top_level_model_weights"].attrs["weight_names"]) == 1
    target.load_weights(path)
    _weights_equal(source, target)


def test_long_name_lists_are_split_across_attributes(tmp_path):
    from mlfront.saving import legacy_h5

    names = [f"layer_with_a_long_name_{i:05d}" for i in range(4000)]  # ~120 KB: over HDF5's 64 KiB
    path = str(tmp_path / "names.h5")
    with h5py.File(path, "w") as f:
        legacy_h5._write_names(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names1" in f.attrs
        assert legacy_h5._read_names(f, "layer_names", path, "test") == names


def test_keras1_and_theano_files_are_refused(tmp_path):
    path = _copy("sequential_weights.h5", tmp_path)
    model = mlfront.models.load_model(str(FIXTURES / "sequential.h5"), compile=False)
    with h5py.File(path, "r+") as f:
        f.attrs["backend"] = "theano"
    with pytest.raises(ValueError, match="written by Keras .* on theano"):
        model.load_weights(path)


def test_keras2_dtype_policy_dicts_are_read(tmp_path):
    model, path = _saved(tmp_path)

    def to_policy(config):  # how tf.keras writes a layer's dtype under a mixed-precision policy
        dense = config["config"]["layers"][-1]["config"]
        dense["dtype"] = {"module": "keras.mixed_precision", "class_name": "Policy", "config": {"name": "float32"},
                          "registered_name": None}
    _set_config(path, to_policy)
    loaded = mlfront.models.load_model(path)
    assert loaded.layers[-1].dtype == "float32"
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
