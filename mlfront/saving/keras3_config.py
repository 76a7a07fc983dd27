"""Keras 3's form of a Functional model's layer calls, read into mlfront's form.

Keras 3 records each call of a layer as `{"args": [...], "kwargs": {...}}`, a tensor being
`{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor], ...}}`; the first
argument is the layer's inputs. mlfront's form is `{"inputs": ..., "args": [...], "kwargs": {...}}` with
`{"__tensor__": [layer, node, tensor]}` references. A recorded `training` flag and a `mask=None` are
dropped: a Functional model passes its own training flag and masks to every call, in Keras as here.
`to_keras3_form` writes mlfront's form back in Keras 3's, for the `config.json` of a `.keras` file.
"""

_KERAS_TENSOR = "__keras_tensor__"
_SPREAD_INPUTS = ("MultiHeadAttention",)


def is_keras3_node(node):
    return isinstance(node, dict) and "args" in node and "inputs" not in node


def from_keras3_form(config):
    """`config` (a Functional model's config) with every Keras 3 call record in mlfront's form."""
    layers = config.get("layers")
    if not isinstance(layers, list) or not any(is_keras3_node(n) for entry in layers if isinstance(entry, dict)
                                               for n in entry.get("inbound_nodes", []) or []):
        return config
    name = config.get("name")
    ends = {key: _ends(config[key]) for key in ("input_layers", "output_layers") if key in config}
    converted = [{**entry, "inbound_nodes": [_node(n, name, entry.get("name")) for n in entry["inbound_nodes"]]}
                 if isinstance(entry, dict) and entry.get("inbound_nodes") else entry for entry in layers]
    return {**config, **ends, "layers": converted}


def _is_triple(value):
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and \
        all(type(i) is int for i in value[1:])


def _ends(structure):
    """A model's inputs / outputs: one `[layer, node, tensor]` triple, a list or a dict of them."""
    from mlfront.models.functional import _TENSOR

    if _is_triple(structure):
        return {_TENSOR: list(structure)}
    if isinstance(structure, list):
        return [_ends(v) for v in structure]
    if isinstance(structure, dict) and _TENSOR not in structure:
        return {key: _ends(v) for key, v in structure.items()}
    return structure


def _node(node, model_name, layer_name):
    if not is_keras3_node(node):
        return node
    args, kwargs = node["args"], node.get("kwargs", {})
    if not isinstance(args, list) or not args or not isinstance(kwargs, dict):
        raise ValueError(f"Model config '{model_name}': a call of layer '{layer_name}' should have a non-empty "
                         f"'args' list and a 'kwargs' dict, got {node!r}.")
    args = _tensors(args, model_name, layer_name)
    kwargs = {key: value for key, value in _tensors(kwargs, model_name, layer_name).items()
              if key != "training" and not (key == "mask" and value is None)}
    return {"inputs": args[0], "args": args[1:], "kwargs": kwargs}


def _tensors(value, model_name, layer_name):
    from mlfront.models.functional import _TENSOR

    if isinstance(value, dict) and value.get("class_name") == _KERAS_TENSOR:
        history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
        if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
                and all(type(i) is int for i in history[1:])):
            raise ValueError(f"Model config '{model_name}': a tensor in a call of layer '{layer_name}' should have "
                             f"a keras_history [layer name, node index, tensor index], got {value!r}.")
        return {_TENSOR: list(history)}
    if isinstance(value, dict):
        return {key: _tensors(v, model_name, layer_name) for key, v in value.items()}
    if isinstance(value, list):
        return [_tensors(v, model_name, layer_name) for v in value]
    return value


def to_keras3_form(serialized, model):
    """`serialized` (`serialize_keras_object(model)`) with every Functional model's calls, inputs and outputs
    in Keras 3's form (tensors with their shape and dtype, as Keras writes them), so Keras 3's
    `load_model` reads it."""
    from mlfront.models.functional import _TENSOR

    tensors = _tensor_specs(model)

    def tensor(value, specs):
        if isinstance(value, dict) and set(value) == {_TENSOR}:
            shape, dtype = specs[tuple(value[_TENSOR])]
            return {"class_name": _KERAS_TENSOR, "config": {"shape": list(shape), "dtype": dtype,
                                                            "keras_history": list(value[_TENSOR])}}
        if isinstance(value, dict):
            return {key: tensor(v, specs) for key, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [tensor(v, specs) for v in value]
        return value

    def ends(value):
        if isinstance(value, dict) and set(value) == {_TENSOR}:
            return list(value[_TENSOR])
        if isinstance(value, dict):
            return {key: ends(v) for key, v in value.items()}
        return [ends(v) for v in value] if isinstance(value, (list, tuple)) else value

    def node(n, specs, class_name):
        if not (isinstance(n, dict) and "inputs" in n):
            return n
        inputs = tensor(n["inputs"], specs)
        # mlfront records MultiHeadAttention(query, value, key) as one list; Keras 3 as separate arguments
        first = inputs if class_name in _SPREAD_INPUTS and isinstance(inputs, list) else [inputs]
        return {"args": first + tensor(list(n.get("args", [])), specs), "kwargs": tensor(n.get("kwargs", {}), specs)}

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        if not isinstance(value, dict):
            return value
        value = {key: convert(v) for key, v in value.items()}
        inner = value.get("config")
        if value.get("class_name") == "Functional" and isinstance(inner, dict) and inner.get("name") in tensors:
            specs = tensors[inner["name"]]
            layers = [{**entry, "inbound_nodes": [node(n, specs, entry.get("class_name"))
                                                  for n in entry.get("inbound_nodes", [])]}
                      for entry in inner["layers"]]
            value = {**value, "module": "keras.src.models.functional",
                     "config": {**inner, "layers": layers, "input_layers": ends(inner["input_layers"]),
                                "output_layers": ends(inner["output_layers"])}}
        if value.get("class_name") == "Sequential" and isinstance(inner, dict) and \
                inner.get("batch_input_shape") is not None and "build_input_shape" not in inner:
            value = {**value, "config": {**inner, "build_input_shape": inner["batch_input_shape"]}}  # Keras 3's key
        return value
    return convert(serialized)


def _tensor_specs(model):
    """{Functional model name: {(layer name, node index, tensor index): (shape, dtype)}}, node indices
    counted within each model as its `get_config` counts them."""
    from mlfront.models.functional import Functional

    found, pending = {}, [model]
    while pending:
        current = pending.pop()
        if isinstance(current, Functional) and current.name not in found:
            nodes_of = {id(layer): [] for layer in current._layers}
            for n in current._nodes:
                nodes_of[id(n.layer)].append(n)
            specs = {}
            for layer in current._layers:
                nodes = sorted(nodes_of[id(layer)], key=layer._inbound_nodes.index) or layer._inbound_nodes[:1]
                for k, n in enumerate(nodes):
                    for t in n.output_tensors:
                        specs[(layer.name, k, t.index)] = (t.shape, t.dtype)
            found[current.name] = specs
        pending.extend(getattr(current, "layers", []) if hasattr(current, "_layers") else [])
    return found
