"""Keras 2's config forms, as tf.keras writes them in a legacy `.h5` file.

Writing: `model_config` turns a model's config into Keras 2's `{"class_name", "config"}` form (a
Functional's `inbound_nodes` as `[[[layer, node, tensor, kwargs], ...]]`, `input_layers` / `output_layers`
as `[layer, node, tensor]` triples, a Sequential's input as a leading `InputLayer` with
`batch_input_shape`); `object_spec` writes compile arguments (losses, metrics, optimizer) the same way.
Reading: `compile_arguments` turns a `training_config` back into `compile` arguments through the one
serialization registry; `from_keras2_form` turns a Functional's Keras 2 graph into mlfront's form for
`Functional.from_config` (a Sequential's Keras 2 config is read by `Sequential.from_config` itself).
"""

import inspect

from mlfront.saving.serialization import (deserialize_keras_object, deserialize_tree, get_registered_object,
                                          serialize_keras_object)

_MODELS = ("Sequential", "Functional", "Model")


# ---------------------------------------------------------------------- writing
def model_config(model):
    """`{"class_name", "config"}` of a Sequential or Functional `model`, in Keras 2's form.

    Raises:
        NotImplementedError: a subclassed model (its architecture is Python code), as in Keras 2.
    """
    from mlfront.models.functional import Functional
    from mlfront.models.sequential import Sequential

    if not isinstance(model, (Sequential, Functional)):
        raise NotImplementedError(f"save: model '{model.name}' ({type(model).__name__}) is a subclassed model; "
                                  f"the legacy '.h5' format holds only Sequential and Functional models. Save it "
                                  f"to a '.keras' file, or its weights with save_weights.")
    return layer_spec(serialize_keras_object(model))


def layer_spec(spec):
    """A layer's serialized dict (`serialize_keras_object`) in Keras 2's `{"class_name", "config"}` form;
    nested models are converted too."""
    class_name, config = spec["class_name"], dict(spec.get("config") or {})
    registered = spec.get("registered_name")
    if registered and not str(spec.get("module", "")).startswith("keras"):
        class_name = registered  # a user's class: Keras 2 names it by its registered "package>Name"
    if class_name == "Sequential":
        config = _sequential(config)
    elif class_name in _MODELS and "input_layers" in config:
        config = _functional(config)
    elif class_name == "InputLayer":
        config = _input_layer(config)
    return {"class_name": class_name, "config": config}


def _input_layer(config):
    config = dict(config)
    if "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    config.setdefault("ragged", False)
    return config


def _sequential(config):
    layers = [layer_spec(entry) for entry in config["layers"]]
    shape = config.get("batch_input_shape")
    if shape is not None and not (layers and layers[0]["class_name"] == "InputLayer"):
        first = layers[0]["config"].get("name", "sequential") if layers else config["name"]
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": list(shape), "dtype": config.get("input_dtype") or "float32", "sparse": False,
            "ragged": False, "name": f"{first}_input"}})
    return {"name": config["name"], "layers": layers}


def skips_first_node(entry):
    """Whether Keras 2 numbers the calls of the layer `entry` (a layer dict of a Functional config) from 1:
    a nested model made with its own inputs, whose node 0 is the one linking those to its outputs."""
    class_name, config = entry.get("class_name"), entry.get("config")
    if not isinstance(config, dict):
        return False
    if class_name in ("Functional", "Model"):
        return "input_layers" in config
    if class_name == "Sequential":
        layers = config.get("layers") or [{}]
        first = layers[0] if isinstance(layers[0], dict) else {}
        first_config = first.get("config") if isinstance(first.get("config"), dict) else {}
        return config.get("batch_input_shape") is not None or first.get("class_name") == "InputLayer" or \
            first_config.get("batch_input_shape") is not None
    return False


def _functional(config):
    offsets = {entry["name"]: int(skips_first_node(entry)) for entry in config["layers"]}
    layers = []
    for entry in config["layers"]:
        spec = layer_spec(entry)
        spec["name"] = entry["name"]
        spec["inbound_nodes"] = [_node(node, entry["name"], offsets) for node in entry["inbound_nodes"]]
        layers.append(spec)
    return {"name": config["name"], "trainable": config.get("trainable", True), "layers": layers,
            "input_layers": _triples(config["input_layers"], config["name"], offsets),
            "output_layers": _triples(config["output_layers"], config["name"], offsets)}


def _shifted(ref, offsets):
    name, node, tensor = ref
    return [name, node + offsets.get(name, 0), tensor]


def _node(node, layer_name, offsets):
    """mlfront's `{"inputs", "args", "kwargs"}` call record as Keras 2's list of `[layer, node, tensor,
    kwargs]`."""
    from mlfront.models.functional import _TENSOR

    if isinstance(node, list):
        return node  # already in Keras 2's form
    inputs = node["inputs"]
    if isinstance(inputs, dict) and _TENSOR in inputs:
        refs = [inputs]
    elif isinstance(inputs, list) and inputs and all(isinstance(v, dict) and _TENSOR in v for v in inputs):
        refs = inputs
    else:
        refs = None
    if refs is None or node.get("args") or _has_tensor(node.get("kwargs"), _TENSOR):
        raise ValueError(f"save: layer '{layer_name}' is called with positional arguments, tensors in keyword "
                         f"arguments or nested / dict inputs, which Keras 2's '.h5' config cannot describe; save "
                         f"the model to a '.keras' file instead.")
    kwargs = node.get("kwargs") or {}
    return [[*_shifted(ref[_TENSOR], offsets), kwargs] for ref in refs]


def _has_tensor(structure, marker):
    if isinstance(structure, dict):
        return marker in structure or any(_has_tensor(v, marker) for v in structure.values())
    if isinstance(structure, (list, tuple)):
        return any(_has_tensor(v, marker) for v in structure)
    return False


def _triples(structure, model_name, offsets):
    from mlfront.models.functional import _TENSOR

    if isinstance(structure, dict) and _TENSOR in structure:
        return [_shifted(structure[_TENSOR], offsets)]  # one tensor: Keras 2 writes a list of one triple
    if isinstance(structure, list) and all(isinstance(v, dict) and _TENSOR in v for v in structure):
        return [_shifted(v[_TENSOR], offsets) for v in structure]
    raise ValueError(f"save: model '{model_name}' has nested or dict inputs / outputs, which Keras 2's '.h5' "
                     f"config cannot describe; save it to a '.keras' file instead.")


def object_spec(value):
    """A compile argument (loss, metric, optimizer: names, objects, functions, lists, dicts) in Keras 2's
    form: names and numbers as themselves, functions by name, objects as `{"class_name", "config"}`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [object_spec(v) for v in value]
    if isinstance(value, dict):
        return {k: object_spec(v) for k, v in value.items()}
    spec = serialize_keras_object(value)
    if spec.get("class_name") == "function":
        name = spec.get("registered_name")
        return spec["config"] if name in (None, "function") or spec["module"].startswith("keras") else name
    registered = spec.get("registered_name")
    class_name = registered if registered and not spec["module"].startswith("keras") else spec["class_name"]
    return {"class_name": class_name, "config": spec["config"]}


def optimizer_spec(optimizer):
    """The optimizer as tf.keras 2.11+ writes it in a training config: "Custom>Adam", without Keras 3's
    `loss_scale_factor` when unset."""
    spec = object_spec(optimizer)
    config = {k: v for k, v in spec["config"].items() if not (k == "loss_scale_factor" and v is None)}
    builtin = serialize_keras_object(optimizer)["module"].startswith("keras")
    return {"class_name": f"Custom>{spec['class_name']}" if builtin else spec["class_name"], "config": config}


# ---------------------------------------------------------------------- reading
# Arguments tf.keras writes into layer configs with a value that means "nothing to do" (Keras 3 dropped them).
_NEUTRAL = {"activity_regularizer": None, "input_length": None, "time_major": False}


def without_neutral_arguments(spec):
    """`spec` (a model config) with the neutral tf.keras-only arguments `_NEUTRAL` left out of every layer
    config; any other value is kept, so a layer that cannot honour it still says so."""
    if isinstance(spec, list):
        return [without_neutral_arguments(v) for v in spec]
    if not isinstance(spec, dict):
        return spec
    if "class_name" in spec and isinstance(spec.get("config"), dict):
        inner = {k: without_neutral_arguments(v) for k, v in spec["config"].items()
                 if not (k in _NEUTRAL and v is _NEUTRAL[k])}
        return {**spec, "config": inner}
    return {k: without_neutral_arguments(v) for k, v in spec.items()}


def compile_arguments(training_config, num_outputs, custom_objects=None, safe_mode=True):
    """`{"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics"}` for `compile` from a `.h5`
    `training_config`."""
    def rebuild(value):
        return deserialize_tree(value, lambda spec: _object(spec, custom_objects, safe_mode))

    def per_model(metrics):
        if num_outputs == 1 and isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
            return metrics[0]  # tf.keras writes the metrics of a compiled-and-fitted model per output
        return metrics

    metrics = per_model(training_config.get("metrics"))
    optimizer = training_config.get("optimizer_config")
    return {"optimizer": _optimizer(optimizer, custom_objects, safe_mode) if optimizer is not None else "rmsprop",
            "loss": rebuild(training_config.get("loss")), "metrics": rebuild(metrics),
            "loss_weights": rebuild(training_config.get("loss_weights")),
            "weighted_metrics": rebuild(per_model(training_config.get("weighted_metrics")))}


def _object(spec, custom_objects, safe_mode):
    if spec["class_name"] == "MeanMetricWrapper":
        # tf.keras's wrapper of a metric given by name ("accuracy", "mae"): the name says it all
        config = spec.get("config") or {}
        name, fn = config.get("name"), config.get("fn")
        from mlfront import metrics
        try:
            metrics.get(name)
            return name
        except (ValueError, TypeError):
            return fn
    return deserialize_keras_object(spec, custom_objects=custom_objects, safe_mode=safe_mode)


def _optimizer(spec, custom_objects, safe_mode):
    """tf.keras 2.11+ names its built-in optimizers "Custom>Adam" in a training config."""
    if isinstance(spec, dict) and isinstance(spec.get("class_name"), str) and \
            spec["class_name"].startswith("Custom>") and get_registered_object(spec["class_name"],
                                                                                custom_objects) is None:
        spec = {**spec, "class_name": spec["class_name"][len("Custom>"):]}
    from mlfront import optimizers
    found = deserialize_keras_object(spec, custom_objects=custom_objects, safe_mode=safe_mode,
                                     module_objects=optimizers.ALL)
    if inspect.isclass(found):
        found = found()
    if not isinstance(found, optimizers.Optimizer):
        raise ValueError(f"the optimizer_config {spec!r} does not describe an optimizer.")
    return found


# ---------------------------------------------------------------------- reading Keras 2's Functional form
def from_keras2_form(config):
    """A config in Keras 2's form (each call as a list of `[layer, node, tensor, kwargs]`, the inputs and
    outputs as `[layer, node, tensor]` triples, a lone tensor as a list of one, a nested model's calls
    numbered from 1 when it has inputs of its own) in mlfront's form (`{"inputs", "args", "kwargs"}` calls,
    `{"__tensor__": [layer, node, tensor]}` references); any other config is returned as it is."""
    from mlfront.models.functional import _TENSOR

    names = {entry.get("name") for entry in config.get("layers", [])}
    offsets = {entry.get("name"): int(skips_first_node(entry)) for entry in config.get("layers", [])}

    def is_triple(v):
        return isinstance(v, list) and len(v) == 3 and v[0] in names and all(type(i) is int for i in v[1:])

    def ref(item):
        return {_TENSOR: [item[0], item[1] - offsets.get(item[0], 0), item[2]]}

    def kwargs_of(value):
        if is_triple(value):
            return ref(value)
        if isinstance(value, dict):
            return {k: kwargs_of(v) for k, v in value.items()}
        return value

    def node(n):
        if not isinstance(n, list):
            return n
        if not all(isinstance(item, list) and len(item) in (3, 4) for item in n):
            raise ValueError(f"Model config '{config.get('name')}': a Keras 2 inbound node should be a list of "
                             f"[layer, node_index, tensor_index, kwargs], got {n!r}.")
        refs = [ref(item) for item in n]
        kwargs = n[0][3] if n and len(n[0]) == 4 and isinstance(n[0][3], dict) else {}
        return {"inputs": refs[0] if len(refs) == 1 else refs, "args": [], "kwargs": kwargs_of(kwargs)}

    def ends(structure):
        if is_triple(structure):
            return ref(structure)
        if isinstance(structure, list) and structure and all(is_triple(v) for v in structure):
            return ref(structure[0]) if len(structure) == 1 else [ref(v) for v in structure]
        if isinstance(structure, dict) and structure and all(is_triple(v) for v in structure.values()):
            return {k: ref(v) for k, v in structure.items()}
        return structure

    if not any(isinstance(n, list) for entry in config.get("layers", []) for n in entry.get("inbound_nodes", [])):
        return config  # mlfront's or Keras 3's form (their calls are dicts)
    layers = [{**entry, "inbound_nodes": [node(n) for n in entry.get("inbound_nodes", [])]}
              for entry in config["layers"]]
    return {**config, "layers": layers, "input_layers": ends(config["input_layers"]),
            "output_layers": ends(config["output_layers"])}
