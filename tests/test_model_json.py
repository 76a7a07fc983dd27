"""`to_json` / `model_from_json`: the architecture round trip through the one serialization registry."""

import json

import numpy as np
import pytest

import mlfront
from mlfront import layers


def _sequential():
    return mlfront.Sequential([layers.Input(shape=(6,)), layers.Dense(5, activation="relu",
                                                                      kernel_regularizer="l2"),
                               layers.Dropout(0.1), layers.Dense(3, activation="softmax")])


def _functional():
    a, b = layers.Input(shape=(4,), name="a"), layers.Input(shape=(2,), name="b")
    merged = layers.concatenate([layers.Dense(3, name="da")(a), b])
    return mlfront.Model([a, b], layers.Dense(2, name="out")(merged))


@pytest.mark.parametrize("build", [_sequential, _functional])
def test_to_json_then_model_from_json_predicts_the_same_with_the_same_weights(build, rng):
    model = build()
    text = model.to_json(indent=2)
    config = json.loads(text)
    assert config["class_name"] in ("Sequential", "Functional") and config["backend"] == mlfront.backend()
    rebuilt = mlfront.models.model_from_json(text)
    assert type(rebuilt) is type(model) and [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = [rng.normal(size=(3, s.shape[-1])).astype("float32") for s in model.inputs]
    x = x[0] if len(x) == 1 else x
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_model_from_json_refuses_foreign_classes_and_bad_json():
    config = json.loads(_sequential().to_json())
    config["config"]["layers"][0] = {"module": "os", "class_name": "system", "config": {}}
    with pytest.raises(ValueError, match="system"):
        mlfront.models.model_from_json(json.dumps(config))
    with pytest.raises(ValueError, match="model_from_config: expected a Model"):
        mlfront.models.model_from_json(json.dumps({"class_name": "Dense", "config": {"units": 2}}))
    with pytest.raises(ValueError, match="not valid JSON"):
        mlfront.models.model_from_json("{not json")


def test_to_yaml_is_refused_as_in_keras_and_load_weights_by_name_is_not_silently_ignored(tmp_path):
    model = _sequential()
    with pytest.raises(RuntimeError, match=r"to_yaml\(\)` has been removed"):
        model.to_yaml()
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with pytest.raises(NotImplementedError, match="by_name=True"):
        model.load_weights(path, by_name=True)
