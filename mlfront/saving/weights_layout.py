"""Where each variable of a model lives in a Keras 3 weights file (`.weights.h5`, and `model.weights.h5` in a
`.keras` zip): the one place that maps mlfront's objects onto Keras 3's layout.

Keras 3 stores every saveable object (layer, model, optimizer) as a group named by its object path, with
its own variables in a `vars` subgroup as datasets "0", "1", ... (trainable ones first) and a `name`
attribute. The root group is the model. The children of an object:
    - a Functional or Sequential model: its layers in the list `layers`, each named by its snake-cased
      class name, made unique within the list ("dense", "dense_1", ...); a Sequential's InputLayer is not
      among them, a Functional's are;
    - a compiled model: its optimizer as `optimizer` (iteration, learning rate unless it is a schedule,
      then the slots in Keras's order);
    - SimpleRNN / LSTM / GRU: the cell as `cell` (kernel, recurrent_kernel, bias), the layer's own group
      empty;
    - MultiHeadAttention: `query_dense`, `key_dense`, `value_dense`, `output_dense` (kernel, bias each),
      and the empty `_softmax` and `_dropout_layer`;
    - any other layer: its attributes holding layers, by attribute name (`forward_layer` and
      `backward_layer` of Bidirectional, `layer` of TimeDistributed), a list or dict of layers named as a
      model's `layers`.
An object reached twice (a shared layer) is stored once, at its first path. Integer variables are stored
as int64, as Keras's are (the iteration count, Normalization's count).
"""

import posixpath

import numpy as np

# Keras 3's order of an optimizer's slots: names in a tuple are interleaved per variable, a single name is
# one block over all variables (or one variable of its own, as Nadam's u_product).
_SLOT_ORDER = {
    "SGD": ("momentum",),
    "RMSprop": ("velocity", "momentum", "average_gradient"),
    "Adam": (("momentum", "velocity"), "velocity_hat"),
    "Adagrad": ("accumulator",),
    "Adadelta": (("accumulated_grad", "accumulated_delta_var"),),
    "Adamax": (("momentum", "norm"),),
    "Nadam": (("momentum", "velocity"), "u_product"),
}

# Groups Keras 3 may hold that have no mlfront counterpart and are skipped on reading: the state of a
# random layer's SeedGenerator (written by some Keras versions).
TOLERATED_GROUPS = ("seed_generator",)


class Node:
    """One saveable object: its `name` attribute, its own variables (Keras's order) and its children."""

    def __init__(self, name, variables=(), children=(), owner=None):
        self.name = name
        self.variables = list(variables)
        self.children = list(children)  # [(relative path, Node)], in Keras's tracking order
        self.owner = owner              # the mlfront layer (None for a Keras-only object such as a cell)
        self.key = None if owner is None else id(owner)  # so a shared layer is stored once


def _snake(name):
    from mlfront.utils.naming import snake_case
    return snake_case(name)


def _class_name(layer):
    """The Keras class name of a layer (a Functional model's class is "Functional" in Keras too)."""
    return type(layer).__name__


def layer_node(layer):
    """The `Node` tree of an mlfront layer or model, following Keras 3's object paths."""
    from mlfront.layers.attention import MultiHeadAttention
    from mlfront.layers.recurrent import _Recurrent
    from mlfront.models.functional import Functional
    from mlfront.models.sequential import Sequential

    if isinstance(layer, (Functional, Sequential)):
        children = _container("layers", layer.layers)
    elif isinstance(layer, _Recurrent):
        cell = [getattr(layer, name, None) for name in ("kernel", "recurrent_kernel", "bias")]
        children = [("cell", Node(f"{_snake(_class_name(layer))}_cell", [v for v in cell if v is not None]))]
    elif isinstance(layer, MultiHeadAttention):
        children = _attention_children(layer)
    else:  # children in attribute assignment order: Keras's tracking order, which orders its variables
        children = []
        for attribute, value in layer.__dict__.items():
            if _is_layer(value) and value is not layer:
                children.append((attribute, layer_node(value)))
            elif isinstance(value, (list, tuple, dict)):
                items = list(value.values()) if isinstance(value, dict) else list(value)
                if items and all(_is_layer(item) for item in items):
                    children.extend(_container(attribute, items))
    # its own variables, less those a Keras sublayer (an RNN's cell, MHA's projections) holds instead
    placed = {id(v) for _, child in children if child.key is None for v in child.variables}
    own = sorted((v for v in layer._variables if id(v) not in placed), key=lambda v: not v.trainable)
    return Node(layer.name, own, children, owner=layer)


def _is_layer(value):
    from mlfront.layers.base import Layer
    return isinstance(value, Layer)


def _container(prefix, layers):
    """[(path, Node)] of a list of layers: "<prefix>/<snake class name>", uniquified within the list."""
    used, children = {}, []
    for layer in layers:
        name = _snake(_class_name(layer))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        children.append((f"{prefix}/{name}", layer_node(layer)))
    return children


def _attention_children(layer):
    def dense(name, kernel, bias):
        return Node(name, [v for v in (kernel, bias) if v is not None])
    if not layer.built:
        return []
    return [("query_dense", dense("query", layer.query_kernel, layer.query_bias)),
            ("key_dense", dense("key", layer.key_kernel, layer.key_bias)),
            ("value_dense", dense("value", layer.value_kernel, layer.value_bias)),
            ("output_dense", dense("attention_output", layer.output_kernel, layer.output_bias)),
            ("_softmax", Node("softmax")), ("_dropout_layer", Node("dropout"))]


def walk(root):
    """[(group path of the object, Node)] in preorder, each mlfront object once (a shared layer at its first
    path). The root's path is ""."""
    found, seen = [], set()

    def visit(path, node):
        if node.key is not None:
            if node.key in seen:
                return
            seen.add(node.key)
        found.append((path, node))
        for relative, child in node.children:
            visit(posixpath.join(path, relative) if path else relative, child)
    visit("", root)
    return found


def layer_paths(model):
    """{object path: layer} of the model's layers (the model itself at ""), as `walk` reaches them."""
    return {path: node.owner for path, node in walk(layer_node(model)) if node.owner is not None}


def dataset_path(group_path, index):
    """The dataset of variable `index` of the object at `group_path`: "<path>/vars/<index>"."""
    return f"{group_path}/vars/{index}" if group_path else f"vars/{index}"


def stored_dtype(variable):
    """The dtype a variable has on disk: Keras's int64 for every integer variable, else its own."""
    dtype = np.dtype(str(variable.dtype)) if str(variable.dtype) != "bfloat16" else None
    if dtype is not None and dtype.kind in "iu":
        return np.dtype("int64")
    return dtype


def model_groups(model):
    """[(group path, name, [(dataset path, variable)])] of a model's layers, in Keras 3's layout."""
    groups = []
    for path, node in walk(layer_node(model)):
        groups.append((path, node.name, [(dataset_path(path, i), v) for i, v in enumerate(node.variables)]))
    return groups


def optimizer_variables(model, optimizer):
    """The optimizer's variables in Keras 3's order: iteration, learning rate (a plain number only), then
    the slots, ordered as Keras orders the model's trainable variables (the ones the optimizer was built
    for), which is the preorder of `walk`.

    Raises:
        ValueError: the optimizer's slots do not line up with the model's trainable variables.
    """
    trainable = list(getattr(optimizer, "_built_variables", None) or model.trainable_variables)  # slot order
    wanted = {id(v) for v in trainable}
    keras_order = [v for _, node in walk(layer_node(model)) for v in node.variables if id(v) in wanted]
    if len(keras_order) != len(trainable):
        raise ValueError(f"save: the optimizer of model '{model.name}' holds slots for {len(trainable)} "
                         f"variables, but only {len(keras_order)} of them are variables of the model's layers.")
    position = {id(v): i for i, v in enumerate(trainable)}
    permutation = [position[id(v)] for v in keras_order]
    head = [optimizer.iterations] + ([] if optimizer.schedule else [optimizer._learning_rate])
    blocks = _slot_blocks(optimizer._slots, trainable)
    return head + _keras_slot_order(type(optimizer), blocks, permutation)


def _slot_blocks(slots, trainable):
    """[(name, [slots], per_variable)] from an optimizer's slot list: runs of one name, one per trainable
    variable with its shape, are per-variable blocks; anything else stays a variable of its own."""
    blocks, i, n = [], 0, len(trainable)
    while i < len(slots):
        run = slots[i:i + n]
        if n and len(run) == n and all(s.name == slots[i].name and tuple(s.shape) == tuple(v.shape)
                                       for s, v in zip(run, trainable)):
            blocks.append((slots[i].name, run, True))
            i += n
        else:
            blocks.append((slots[i].name, [slots[i]], False))
            i += 1
    return blocks


def _keras_slot_order(optimizer_class, blocks, permutation):
    order = next((_SLOT_ORDER[c.__name__] for c in optimizer_class.__mro__ if c.__name__ in _SLOT_ORDER), None)
    if order is None:  # an optimizer Keras does not know: its own slot order
        order = tuple(dict.fromkeys(name for name, _, _ in blocks))
    by_name = {}
    for name, slots, per_variable in blocks:
        by_name.setdefault(name, []).append((slots, per_variable))
    result, used = [], set()
    for unit in order:
        names = unit if isinstance(unit, tuple) else (unit,)
        present = [name for name in names if name in by_name]
        used.update(present)
        per_variable = [slots for name in present for slots, flag in by_name[name] if flag]
        singles = [s for name in present for slots, flag in by_name[name] if not flag for s in slots]
        for index in permutation if per_variable else ():
            result.extend(block[index] for block in per_variable)
        result.extend(singles)
    leftover = [name for name, _, _ in blocks if name not in used]
    if leftover:
        raise ValueError(f"save: optimizer {optimizer_class.__name__} has slots {sorted(set(leftover))} that "
                         f"Keras 3's {optimizer_class.__name__} does not have.")
    return result
