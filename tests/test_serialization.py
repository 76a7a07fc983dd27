"""The serialization registry (`mlfront.saving`) and complete configs for every layer, optimizer, loss, metric,
schedule, initializer and regularizer: each `__init__` argument in `get_config()`, JSON-safe, and
`from_config` rebuilding an equal object."""

import inspect
import json
import pathlib

import numpy as np
import pytest
from layer_testing import check_config

import mlfront
from mlfront import activations, initializers, layers, losses, metrics, ops, optimizers, regularizers, schedules
from mlfront.saving import serialization
from mlfront.saving import (custom_object_scope, deserialize_keras_object, get_registered_name,
                            get_registered_object, register_keras_serializable, serialize_keras_object)


# ---------------------------------------------------------------------- user objects for the registry tests
@register_keras_serializable(package="test_ser")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_keras_serializable(package="test_ser", name="cube")
def cube(x):
    return x * x * x


class Unregistered(layers.Layer):
    def call(self, inputs):
        return inputs + 1.0


def test_register_names_objects_package_greater_than_name():
    assert get_registered_name(Scale) == "test_ser>Scale"
    assert get_registered_name(cube) == "test_ser>cube"
    assert get_registered_object("test_ser>Scale") is Scale
    assert get_registered_object("test_ser>nothing") is None
    assert get_registered_name(Unregistered) == "Unregistered"
    with pytest.raises(ValueError, match="package"):
        register_keras_serializable(package="a>b")
    with pytest.raises(ValueError, match="get_config"):
        register_keras_serializable()(type("NoConfig", (), {}))
    assert mlfront.utils.register_keras_serializable is register_keras_serializable
    assert mlfront.utils.custom_object_scope is custom_object_scope


def test_keras3_dict_form_round_trip_of_a_registered_layer():
    config = serialize_keras_object(Scale(3.0, name="s"))
    assert config["class_name"] == "Scale" and config["registered_name"] == "test_ser>Scale"
    layer = deserialize_keras_object(json.loads(json.dumps(config)))
    assert isinstance(layer, Scale) and layer.factor == 3.0 and layer.name == "s"


def test_builtin_objects_use_keras_module_names():
    dense = serialize_keras_object(layers.Dense(2, kernel_initializer="he_normal", kernel_regularizer="l2"))
    assert (dense["module"], dense["class_name"], dense["registered_name"]) == ("keras.layers", "Dense", None)
    kernel = dense["config"]["kernel_initializer"]
    assert (kernel["module"], kernel["class_name"], kernel["config"]) == (  # Keras 3.15's config
        "keras.initializers", "HeNormal", {"seed": None, "input_axes": None, "output_axes": None})
    regularizer = dense["config"]["kernel_regularizer"]
    assert (regularizer["module"], regularizer["class_name"]) == ("keras.regularizers", "L2")
    assert regularizer["config"]["l2"] == pytest.approx(0.01)
    assert serialize_keras_object(optimizers.Adam())["module"] == "keras.optimizers"
    assert serialize_keras_object(schedules.ExponentialDecay(0.1, 10, 0.5))["module"] == \
        "keras.optimizers.schedules"
    assert serialize_keras_object(mlfront.Sequential())["module"] == "keras"
    assert serialize_keras_object(activations.relu) == {"module": "keras.activations", "class_name": "function",
                                                       "config": "relu", "registered_name": "function"}


def test_keras2_dicts_and_plain_names():
    layer = deserialize_keras_object({"class_name": "Dense", "config": {"units": 3, "activation": "tanh"}})
    assert isinstance(layer, layers.Dense) and layer.units == 3 and layer.activation is activations.tanh
    assert deserialize_keras_object("GlorotUniform") is initializers.GlorotUniform
    init = initializers.get({"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": 3}})
    assert isinstance(init, initializers.RandomNormal) and (init.mean, init.stddev, init.seed) == (1.0, 0.5, 3)
    assert activations.get({"module": "keras.activations", "class_name": "function", "config": "sigmoid",
                            "registered_name": "function"}) is activations.sigmoid
    reg = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})
    assert (reg.l1, reg.l2) == pytest.approx((0.1, 0.2))
    # Keras 3 writes module paths under keras.src as well
    lstm = deserialize_keras_object({"module": "keras.src.layers.rnn.lstm", "class_name": "LSTM",
                                     "config": {"units": 2}, "registered_name": None})
    assert isinstance(lstm, layers.LSTM)


def test_custom_objects_and_scope():
    config = {"class_name": "Unregistered", "config": {"name": "u"}}
    with pytest.raises(ValueError, match="'Unregistered'"):
        deserialize_keras_object(config)
    assert isinstance(deserialize_keras_object(config, custom_objects={"Unregistered": Unregistered}), Unregistered)
    with custom_object_scope({"Unregistered": Unregistered}):
        assert isinstance(deserialize_keras_object(config), Unregistered)
        assert get_registered_object("Unregistered") is Unregistered
    assert get_registered_object("Unregistered") is None
    # custom objects reach nested configs: a Sequential holding the custom layer
    model = mlfront.Sequential([layers.Input((2,)), Unregistered()])
    rebuilt = mlfront.Sequential.from_config(json.loads(json.dumps(model.get_config())),
                                             custom_objects={"Unregistered": Unregistered})
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(rebuilt(x)), x + 1.0)


@pytest.mark.parametrize("config, named", [
    ({"module": "os", "class_name": "system", "config": {}, "registered_name": None}, "'system' from module 'os'"),
    ({"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"}, "'eval'"),
    ({"module": "keras.layers", "class_name": "NoSuchLayer", "config": {}}, "'NoSuchLayer'"),
    ({"class_name": "subprocess.Popen", "config": {}}, "'subprocess.Popen'"),
    ("__import__", "'__import__'"),
])
def test_unknown_module_class_or_function_is_refused(config, named):
    with pytest.raises(ValueError, match=named):
        deserialize_keras_object(config)


def test_model_configs_refuse_a_non_layer_class():
    config = {"name": "m", "layers": [{"class_name": "Adam", "config": {}}]}
    with pytest.raises(ValueError, match="refusing class 'Adam'"):
        mlfront.Sequential.from_config(config)
    keras3 = {"name": "m", "layers": [{"module": "keras.optimizers", "class_name": "Adam", "config": {}}]}
    with pytest.raises(ValueError, match="Sequential.from_config.*'Adam'.*expected a Layer"):
        mlfront.Sequential.from_config(keras3)
    with pytest.raises(ValueError, match="'MeanSquaredError'"):
        layers.TimeDistributed.from_config({"layer": {"class_name": "MeanSquaredError", "config": {}}})


def test_wrappers_use_the_registry_with_custom_objects():
    wrapped = layers.TimeDistributed(Unregistered())
    config = json.loads(json.dumps(wrapped.get_config()))
    with pytest.raises(ValueError, match="'Unregistered'"):
        layers.TimeDistributed.from_config(config)
    assert isinstance(layers.TimeDistributed.from_config(config, custom_objects={"Unregistered": Unregistered}).layer,
                      Unregistered)
    model = mlfront.Sequential([layers.Input((3, 2)), layers.TimeDistributed(Scale(4.0))])
    rebuilt = mlfront.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert rebuilt.layers[0].layer.factor == 4.0


def test_lambda_safe_mode():
    keras3 = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
              "config": {"name": "lam", "function": {"class_name": "__lambda__", "config": {"code": "AAAA"}}}}
    with pytest.raises(ValueError, match="safe_mode=True.*safe_mode=False"):
        deserialize_keras_object(keras3)
    with pytest.raises(ValueError, match="does not load Python bytecode"):
        deserialize_keras_object(keras3, safe_mode=False)
    keras2 = {"class_name": "Lambda", "config": {"name": "lam", "function": ["AAAA", None, None],
                                                 "function_type": "lambda", "output_shape": None}}
    with pytest.raises(ValueError, match="safe_mode=True"):
        deserialize_keras_object(keras2)
    # a registered function is saved by name and comes back
    layer = layers.Lambda(cube)
    rebuilt = deserialize_keras_object(json.loads(json.dumps(serialize_keras_object(layer))))
    assert rebuilt.function is cube
    named = {"class_name": "Lambda", "config": {"function": "twice", "function_type": "function"}}
    twice = lambda x: 2 * x  # noqa: E731
    assert deserialize_keras_object(named, custom_objects={"twice": twice}).function is twice
    with pytest.raises(ValueError, match="'twice'"):
        deserialize_keras_object(named)


def test_functional_model_round_trip_through_json():
    mlfront.utils.set_random_seed(0)
    inputs = layers.Input((4,))
    hidden = layers.Dense(3, activation="relu", kernel_initializer=initializers.HeUniform(seed=1),
                          kernel_regularizer=regularizers.L1L2(0.01, 0.02))(inputs)
    outputs = layers.Dense(1, activation=cube)(Scale(0.5)(hidden))
    model = mlfront.Model(inputs, outputs)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = mlfront.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(rebuilt(x)), ops.convert_to_numpy(model(x)), rtol=1e-6)
    dense = rebuilt.layers[1]
    assert isinstance(dense.kernel_initializer, initializers.HeUniform) and dense.kernel_initializer.seed == 1
    assert (dense.kernel_regularizer.l1, dense.kernel_regularizer.l2) == pytest.approx((0.01, 0.02))
    assert rebuilt.layers[-1].activation is cube


# ---------------------------------------------------------------------- every layer: complete, JSON-safe configs
def _layer_args():
    """Constructor arguments for every public layer class, with non-default objects where a layer takes them."""
    conv = {"filters": 2, "kernel_size": 2, "kernel_initializer": initializers.Orthogonal(gain=0.5, seed=1),
            "bias_regularizer": regularizers.L2(0.1)}
    rnn = {"units": 2, "kernel_initializer": initializers.RandomUniform(-0.1, 0.1, seed=2),
           "recurrent_regularizer": "l1", "dropout": 0.1}
    depthwise = {"kernel_size": 2, "depth_multiplier": 2, "depthwise_initializer": initializers.Orthogonal(seed=1),
                 "bias_regularizer": regularizers.L2(0.1)}
    separable = {"filters": 2, "kernel_size": 2, "pointwise_initializer": initializers.Orthogonal(seed=1),
                 "depthwise_regularizer": regularizers.L2(0.1)}
    return {
        "Activation": {"activation": "tanh"}, "Bidirectional": {"layer": layers.LSTM(**rnn), "merge_mode": "sum"},
        "CategoryEncoding": {"num_tokens": 4, "output_mode": "count"}, "CenterCrop": {"height": 2, "width": 3},
        "Conv1D": conv, "Conv2D": conv, "Conv3D": conv, "Conv1DTranspose": conv, "Conv2DTranspose": conv,
        "Conv3DTranspose": conv, "Dense": {"units": 2, "kernel_initializer": initializers.Constant(0.3),
                                           "bias_initializer": "ones", "kernel_regularizer": regularizers.L1(0.2)},
        "Discretization": {"bin_boundaries": [0.0, 1.0]}, "Dot": {"axes": 1, "normalize": True},
        "Dropout": {"rate": 0.5, "noise_shape": (None, 1), "seed": 3},
        "Embedding": {"input_dim": 3, "output_dim": 2, "embeddings_initializer": initializers.RandomNormal(seed=4)},
        "GRU": rnn, "LSTM": rnn, "SimpleRNN": rnn, "Hashing": {"num_bins": 3, "salt": 7},
        "InputLayer": {"shape": (3,), "dtype": "int32"}, "IntegerLookup": {"vocabulary": [3, 5]},
        "Lambda": {"function": cube, "output_shape": (2,)},
        "OpLayer": {"function": "backend.mean", "args": [{"__input__": 0}], "kwargs": {"axis": -1}},
        "MultiHeadAttention": {"num_heads": 2, "key_dim": 2, "bias_initializer": initializers.Ones()},
        "BatchNormalization": {"momentum": 0.9, "gamma_regularizer": regularizers.L2(0.3)},
        "LayerNormalization": {"beta_initializer": initializers.Constant(0.1)},
        "Normalization": {"mean": [1.0, 2.0], "variance": [1.0, 4.0]}, "Permute": {"dims": (2, 1)},
        "RandomBrightness": {"factor": 0.1}, "RandomContrast": {"factor": 0.1}, "RandomCrop": {"height": 2, "width": 2},
        "RandomRotation": {"factor": 0.1}, "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.2},
        "RandomZoom": {"height_factor": 0.1}, "RepeatVector": {"n": 2}, "Rescaling": {"scale": 0.5, "offset": 1.0},
        "Reshape": {"target_shape": (2, 3)}, "Resizing": {"height": 2, "width": 2},
        "StringLookup": {"vocabulary": ["a", "b"]}, "TextVectorization": {"max_tokens": 10, "vocabulary": ["x", "y"]},
        "TimeDistributed": {"layer": layers.Dense(2, kernel_initializer=initializers.Zeros())},
        "DepthwiseConv1D": depthwise, "DepthwiseConv2D": depthwise, "SeparableConv1D": separable,
        "SeparableConv2D": separable, "ConvLSTM1D": {**conv, "recurrent_dropout": 0.1, "return_state": True},
        "ConvLSTM2D": {**conv, "go_backwards": True}, "SimpleRNNCell": rnn, "LSTMCell": rnn, "GRUCell": rnn,
        "RNN": {"cell": layers.LSTMCell(**rnn), "return_sequences": True},
        "StackedRNNCells": {"cells": [layers.GRUCell(**rnn), layers.SimpleRNNCell(3)]},
        "GaussianNoise": {"stddev": 0.3, "seed": 2}, "GaussianDropout": {"rate": 0.2, "seed": 3},
        "AlphaDropout": {"rate": 0.1, "noise_shape": (None, 1)}, "SpatialDropout1D": {"rate": 0.3, "seed": 4},
        "SpatialDropout2D": {"rate": 0.3, "data_format": "channels_first"}, "SpatialDropout3D": {"rate": 0.3},
        "Attention": {"use_scale": True, "score_mode": "concat", "dropout": 0.1},
        "GroupNormalization": {"groups": 2, "gamma_regularizer": regularizers.L2(0.3)},
        "PReLU": {"alpha_initializer": initializers.Constant(0.25), "shared_axes": [1]},
        "ReLU": {"max_value": 6.0, "negative_slope": 0.1}, "Softmax": {"axis": [1, 2]},
        "ActivityRegularization": {"l1": 0.01, "l2": 0.02},
    }


def _public_layer_classes():
    return sorted((name, cls) for name, cls in serialization._builtin_tables()["layers"].items()
                  if cls.__name__ == name and name != "Layer")


def test_every_public_layer_class_is_covered():
    def required(cls):
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        return [p for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [name for name, cls in _public_layer_classes() if name not in _layer_args() and required(cls)]
    assert not missing, f"add constructor arguments for {missing} to _layer_args"


@pytest.mark.parametrize("name", [name for name, _ in _public_layer_classes()])
def test_layer_config_is_complete_and_round_trips(name):
    cls = serialization._builtin_tables()["layers"][name]
    layer = cls(**_layer_args().get(name, {}))
    config = check_config(layer)
    rebuilt = deserialize_keras_object(json.loads(json.dumps(serialize_keras_object(layer))))
    assert type(rebuilt) is cls
    assert json.loads(json.dumps(rebuilt.get_config())) == config


# ---------------------------------------------------------------------- optimizers, losses, metrics, schedules, ...
_OPTIMIZER_ARGS = {"learning_rate": 0.05, "weight_decay": 0.01, "clipnorm": 1.5, "name": "opt"}
_OPTIMIZER_EXEMPT = ("lr",)  # Keras 2's spelling of learning_rate, folded into it


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
                                  "Lion", "Adafactor"])
def test_optimizer_config_round_trip(name):
    cls = getattr(optimizers, name)
    optimizer = cls(**_OPTIMIZER_ARGS)
    config = check_config(optimizer, exempt=_OPTIMIZER_EXEMPT)
    rebuilt = optimizers.get(json.loads(json.dumps(serialize_keras_object(optimizer))))
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    assert rebuilt.learning_rate == pytest.approx(0.05)


def test_optimizer_with_schedule_round_trip():
    schedule = schedules.CosineDecay(0.1, 100, alpha=0.1)
    optimizer = optimizers.SGD(learning_rate=schedule, momentum=0.9, nesterov=True)
    rebuilt = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(optimizer))))
    assert isinstance(rebuilt.schedule, schedules.CosineDecay) and rebuilt.schedule.alpha == 0.1
    assert (rebuilt.momentum, rebuilt.nesterov) == (0.9, True)


_SCHEDULES = {
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": True},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    "PiecewiseConstantDecay": {"boundaries": [5, 10], "values": [0.3, 0.2, 0.1]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "power": 2.0, "cycle": True},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.2},
    "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.5},
}


@pytest.mark.parametrize("name", sorted(_SCHEDULES))
def test_schedule_config_round_trip(name):
    schedule = getattr(schedules, name)(**_SCHEDULES[name])
    config = check_config(schedule)
    rebuilt = schedules.get(json.loads(json.dumps(serialize_keras_object(schedule))))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == config
    for step in (0, 3, 12):
        assert float(ops.convert_to_numpy(rebuilt(step))) == pytest.approx(float(ops.convert_to_numpy(schedule(step))))


@pytest.mark.parametrize("name", sorted(n for n in losses.CLASSES))
def test_loss_config_round_trip(name):
    cls = losses.CLASSES[name]
    loss = cls(reduction="sum", name="my_loss")
    config = check_config(loss)
    rebuilt = losses.get(json.loads(json.dumps(serialize_keras_object(loss))))
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    y_true = np.array([[0.0, 1.0], [1.0, 0.0]], "float32") if "Sparse" not in name else np.array([1, 0], "int32")
    y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(np.array([[0.3, 0.7], [0.6, 0.4]], "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(rebuilt(y_true, y_pred)),
                               ops.convert_to_numpy(loss(y_true, y_pred)), rtol=1e-6)


def test_loss_and_metric_function_wrappers_keep_their_function():
    wrapped = losses.LossFunctionWrapper(losses.mean_absolute_error, name="w")
    rebuilt = losses.get(json.loads(json.dumps(serialize_keras_object(wrapped))))
    assert rebuilt.fn is losses.mean_absolute_error
    metric = metrics.MeanMetricWrapper(cube, name="cubed")
    rebuilt = metrics.get(json.loads(json.dumps(serialize_keras_object(metric))))
    assert rebuilt.fn is cube and rebuilt.name == "cubed"
    assert losses.get("test_ser>cube").fn is cube


_METRIC_ARGS = {"Precision": {"thresholds": [0.3, 0.6]}, "Recall": {"top_k": 1}, "AUC": {"num_thresholds": 50},
                "F1Score": {"average": "macro", "threshold": 0.4}, "FBetaScore": {"beta": 2.0},
                "BinaryAccuracy": {"threshold": 0.3}, "TopKCategoricalAccuracy": {"k": 2}}


@pytest.mark.parametrize("name", sorted(n for n in metrics.CLASSES))
def test_metric_config_round_trip(name):
    cls = metrics.CLASSES[name]
    metric = cls(name="my_metric", **_METRIC_ARGS.get(name, {}))
    config = check_config(metric)
    rebuilt = metrics.get(json.loads(json.dumps(serialize_keras_object(metric))))
    assert type(rebuilt) is cls and rebuilt.get_config() == config


_INITIALIZERS = {"Constant": {"value": 0.5}, "RandomUniform": {"minval": -1.0, "maxval": 2.0, "seed": 1},
                 "RandomNormal": {"mean": 1.0, "stddev": 2.0, "seed": 2}, "TruncatedNormal": {"stddev": 0.3, "seed": 3},
                 "VarianceScaling": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4},
                 "Orthogonal": {"gain": 0.5, "seed": 5}, "Identity": {"gain": 3.0}, "GlorotUniform": {"seed": 6}}


@pytest.mark.parametrize("name", ["Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal",
                                  "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
                                  "LecunUniform", "LecunNormal", "Orthogonal", "Identity"])
def test_initializer_config_round_trip(name):
    initializer = getattr(initializers, name)(**_INITIALIZERS.get(name, {}))
    config = check_config(initializer)
    rebuilt = initializers.get(json.loads(json.dumps(serialize_keras_object(initializer))))
    assert type(rebuilt) is type(initializer) and rebuilt.get_config() == config
    if config.get("seed") is not None or "seed" not in config:
        np.testing.assert_array_equal(rebuilt((4, 3)), initializer((4, 3)))


@pytest.mark.parametrize("regularizer", [regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.4)])
def test_regularizer_config_round_trip(regularizer):
    config = check_config(regularizer)
    rebuilt = regularizers.get(json.loads(json.dumps(serialize_keras_object(regularizer))))
    assert type(rebuilt) is type(regularizer) and rebuilt.get_config() == config
    w = ops.convert_to_tensor(np.array([[1.0, -2.0], [0.5, 3.0]], "float32"))
    assert float(ops.convert_to_numpy(rebuilt(w))) == pytest.approx(float(ops.convert_to_numpy(regularizer(w))))


def test_dropout_noise_shape_shares_the_mask_along_broadcast_axes():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 4))
    x = np.ones((3, 5, 4), "float32")
    out = ops.convert_to_numpy(layer(x, training=True))
    assert set(np.unique(out)) <= {0.0, 2.0}
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))


def test_unregistered_functions_stay_in_process_objects():
    # no Python code is written: an unregistered function stays the object itself (in-process from_config works)
    def init(shape, dtype="float32"):
        return np.full(shape, 0.25, dtype)
    layer = layers.Dense(2, kernel_initializer=init, activation=lambda t: t * 2.0)
    config = layer.get_config()
    assert config["kernel_initializer"] is init
    clone = layers.Dense.from_config(config)
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(clone(x)), np.full((1, 2), 1.5))
    with pytest.raises(TypeError):
        json.dumps(config)
    assert losses.serialize(losses.mean_squared_error) == "mean_squared_error"
    assert losses.serialize(cube)["registered_name"] == "test_ser>cube"


# ---------------------------------------------------------------------- configs written by real Keras 2 (tf_keras)
def _keras2():
    path = pathlib.Path(__file__).parent / "fixtures" / "keras2_configs.json"
    return json.loads(path.read_text())


def test_keras2_sequential_config_rebuilds_the_same_model():
    entry = _keras2()["sequential"]
    model = mlfront.Sequential.from_config(entry["config"])
    model.set_weights([np.array(w, "float32") for w in entry["weights"]])
    x = np.array(entry["x"], "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.array(entry["y"]), rtol=1e-5, atol=1e-5)
    conv = model.layers[0]
    assert isinstance(conv.kernel_initializer, initializers.HeNormal) and conv.kernel_initializer.seed == 1
    assert conv.kernel_regularizer.l2 == pytest.approx(0.01)
    assert isinstance(model.layers[2].layer.bias_initializer, initializers.Constant)


def test_keras2_object_configs():
    data = _keras2()
    adam = optimizers.get(data["optimizer"])
    assert isinstance(adam, optimizers.Adam) and (adam.beta_1, adam.clipnorm) == (0.8, 1.0)
    assert adam.learning_rate == pytest.approx(0.005)
    schedule = schedules.get(data["schedule"])
    assert isinstance(schedule, schedules.ExponentialDecay) and schedule.decay_rate == 0.9
    cce, huber = (losses.get(c) for c in data["losses"])
    assert isinstance(cce, losses.CategoricalCrossentropy) and cce.fn_kwargs["label_smoothing"] == 0.1
    assert isinstance(huber, losses.Huber) and huber.fn_kwargs["delta"] == 2.0
    precision, auc = (metrics.get(c) for c in data["metrics"])
    assert isinstance(precision, metrics.Precision) and isinstance(auc, metrics.AUC) and auc.num_thresholds == 50
    normal, scaling = (initializers.get(c) for c in data["initializers"])
    assert (normal.mean, normal.stddev, normal.seed) == (0.5, 0.1, 3)
    assert (scaling.scale, scaling.mode, scaling.distribution) == (2.0, "fan_out", "uniform")
    reg = regularizers.get(data["regularizers"][0])
    assert (reg.l1, reg.l2) == pytest.approx((0.1, 0.2))
    mismatched = dict(data["losses"][1], config={**data["losses"][1]["config"], "fn": "hinge"})
    with pytest.raises(ValueError, match="Huber.from_config.*`fn`"):
        losses.get(mismatched)


def test_dtype_policy_configs_name_the_layer_dtype():
    keras3 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}
    keras2 = {"class_name": "Policy", "config": {"name": "float64"}}
    assert layers.Dense(2, dtype=keras3).dtype == "float32"
    assert layers.Dense(2, dtype=keras2).dtype == "float64"
    mixed = layers.Dense(2, dtype={"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}})
    assert (mixed.dtype_policy.name, mixed.compute_dtype, mixed.dtype) == ("mixed_float16", "float16", "float32")
    with pytest.raises(ValueError, match="Dense: dtype"):
        layers.Dense(2, dtype={"class_name": "Something", "config": {}})
