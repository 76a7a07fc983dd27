"""Saving: the serialization registry (configs to objects and back), whole models (`.keras`, legacy `.h5`)
and weight files."""

from mlfront.saving.serialization import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                                          get_registered_name, get_registered_object, register_keras_serializable,
                                          serialize_keras_object)
from mlfront.saving.saving_api import load_model, save_model

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_registered_name",
           "get_registered_object", "load_model", "register_keras_serializable", "save_model",
           "serialize_keras_object"]
