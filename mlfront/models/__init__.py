"""Models: `Sequential`, `Model` (functional or subclassed), and rebuilding them from configs."""

import json

from mlfront.models.model import Model
from mlfront.models.sequential import Sequential


def model_from_config(config, custom_objects=None):
    """A model (not yet trained: fresh weights) from a config dict in Keras's form (`{"class_name",
    "config", ...}`), through the one serialization registry: only mlfront's models and layers or the
    user's registered / `custom_objects` classes are instantiated."""
    from mlfront.saving import deserialize_keras_object
    from mlfront.saving.serialization import expect_instance

    return expect_instance(deserialize_keras_object(config, custom_objects=custom_objects), Model,
                           "model_from_config")


def model_from_json(json_string, custom_objects=None):
    """A model from the JSON that `model.to_json()` (here or in Keras) wrote; the weights are fresh."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_from_json: the string is not valid JSON ({err}).") from None
    return model_from_config(config, custom_objects=custom_objects)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.keras` or legacy `.h5` file written by `model.save` (here or in Keras); see
    `mlfront.saving.load_model`."""
    from mlfront.saving.saving_api import load_model as _load_model

    return _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "load_model", "model_from_config", "model_from_json"]
