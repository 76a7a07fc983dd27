"""`Functional`: a model defined by a graph of layer calls, made by `Model(inputs, outputs)`.

Calling layers on `Input(...)` tensors records one `Node` per call (see `mlfront.layers.graph`). Building a
Functional walks those nodes once, from the outputs back to the inputs, and turns them into a *plan*: one step
per layer call, in an order where every step's inputs are ready. Each symbolic tensor gets a slot in a flat
list; a step fetches its arguments from the slots and stores its outputs in them. Calling the model fills the
input slots and runs the plan: a tight loop, since it runs inside every training step.

Host layers (NumPy layers such as `StringLookup`) are split off the plan into a host plan, which
`host_preprocess` runs on each raw batch; the model is then called on the values it hands over (the
*boundary*: the slots the engine steps and the outputs read that no engine step computes).
"""

import operator

from mlfront.layers.base import Layer
from mlfront.layers.core import InputLayer
from mlfront.layers.graph import SymbolicTensor, flatten, map_structure
from mlfront.models.model import Model, host_array, is_string_list
from mlfront.saving.serialization import (deserialize_keras_object, expect_instance, layer_objects,
                                          serialize_keras_object)
from mlfront.training.data import to_numpy_input

_TENSOR = "__tensor__"  # marks a tensor reference (layer name, node index, tensor index) in a config


class _Step:
    """One layer call of the plan, with its argument wiring worked out once."""

    __slots__ = ("layer", "node", "fetch", "extra", "out", "pass_training", "pass_mask", "masked", "makes_mask")

    def __init__(self, layer, node, fetch, extra, out, pass_training, pass_mask):
        self.layer = layer
        self.node = node
        self.fetch = fetch  # slots -> the layer's inputs (a value, or a list / tuple / dict of values)
        self.extra = extra  # None, or slots -> (args, kwargs) recorded with the call, tensors resolved
        self.out = out  # the slot of the output, or a list of slots for several outputs
        self.pass_training = pass_training
        self.pass_mask = pass_mask
        self.masked = False  # some input may carry a mask (when the model's inputs carry none)
        self.makes_mask = False  # the outputs may carry a mask


class Functional(Model):
    """A model whose forward pass is a graph of layer calls from `inputs` to `outputs`.

    Args:
        inputs: a tensor from `mlfront.Input`, or a list or dict of them.
        outputs: tensors computed from `inputs` by calling layers: one, a list or a dict.
        name: the model's name.

    Example:
        ```python
        x = mlfront.Input(shape=(4,), name="features")
        h = mlfront.layers.Dense(8, activation="relu")(x)
        model = mlfront.Model(x, mlfront.layers.Dense(1, name="score")(h))
        ```
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._input_structure = list(inputs) if isinstance(inputs, tuple) else inputs
        self._output_structure = list(outputs) if isinstance(outputs, tuple) else outputs
        self.inputs = _tensors(inputs, self.name, "inputs")
        self.outputs = _tensors(outputs, self.name, "outputs")
        if len({id(t) for t in self.inputs}) != len(self.inputs):
            raise ValueError(f"Model '{self.name}': the same tensor is given twice in `inputs`.")
        self._input_names = list(inputs) if isinstance(inputs, dict) else [t.node.layer.name for t in self.inputs]
        self._output_names = list(outputs) if isinstance(outputs, dict) else _unique(
            [t.node.layer.name for t in self.outputs])

        nodes, depth = _topological_nodes(self.inputs, self.outputs, self.name, self._input_names)
        self._nodes = nodes
        # per input, the layers that read it (found once: predict's checks and casts ask at every call)
        readers = {id(t): [] for t in self.inputs}
        for node in nodes:
            for t in node.input_tensors:
                if id(t) in readers:
                    readers[id(t)].append(node.layer)
        self._input_readers = [readers[id(t)] for t in self.inputs]
        layer_depth = {}
        for node in nodes:
            layer_depth[node.layer] = max(layer_depth.get(node.layer, 0), depth[id(node)])
        self._layers = [t.node.layer for t in self.inputs if isinstance(t.node.layer, InputLayer)]
        self._layers += sorted(layer_depth, key=lambda layer: -layer_depth[layer])
        names = [layer.name for layer in self._layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Model '{self.name}': layer names must be unique, but {duplicates} are used by "
                             f"several layers.")

        slot_of = {id(t): i for i, t in enumerate(self.inputs)}
        for node in nodes:
            for t in node.output_tensors:
                slot_of[id(t)] = len(slot_of)
        self._num_slots = len(slot_of)
        self._slot_of = slot_of
        self._extra_plan, self._extra_values = [], []  # symbolic add_loss / add_metric (Keras 2), see below
        self._plan = [_make_step(node, slot_of) for node in nodes]
        self._host_plan, self._plan, self._host_boundary = _split_host_steps(self._plan, self.outputs, slot_of,
                                                                             self.name)
        self._has_host_layers = bool(self._host_plan)
        self._host_fed = {id(t) for step in self._host_plan for t in _dependencies(step.node)}
        self._pack_outputs = _wiring(self._output_structure, slot_of)
        self._find_masks()
        # After each step, the slots it read last are emptied: a forward pass holds only the values still to be
        # read (as a hand-written forward does), not every layer's output until the end (eager torch's memory).
        self._releases = _last_reads(self._plan, self.outputs, slot_of)
        plain = not self._has_masks and all(step.extra is None for step in self._plan)
        self._plain_plan = [(step.layer, step.fetch, step.out, step.pass_training, release)
                            for step, release in zip(self._plan, self._releases)] if plain else None
        self.built = True

    # ------------------------------------------------------------------ structure
    @property
    def layers(self):
        """The layers in topological order, `InputLayer`s first (as in Keras)."""
        return list(self._layers)

    def _sublayers(self):
        extra = [step.layer for step in getattr(self, "_extra_plan", ()) if all(step.layer is not l
                                                                                for l in self._layers)]
        return list(self._layers) + list(dict.fromkeys(extra))

    # ------------------------------------------------------------------ symbolic losses and metrics (Keras 2)
    def add_loss(self, loss):
        """`add_loss` of a tensor computed in `call`, or, as in Keras 2's Functional API, of symbolic tensors
        computed from the model's inputs (`vae.add_loss(K.mean(kl))`): they are computed with the outputs at
        every call and join the training loss."""
        tensors = loss if isinstance(loss, (list, tuple)) else [loss]
        if not any(isinstance(t, SymbolicTensor) for t in tensors):
            return super().add_loss(loss)
        if not all(isinstance(t, SymbolicTensor) for t in tensors):
            raise ValueError(f"Model '{self.name}': add_loss got symbolic tensors mixed with other values "
                             f"{tensors!r}; add them separately.")
        for tensor in tensors:
            self._add_symbolic_value(tensor, ("loss", None))

    def add_metric(self, value, name=None, aggregation="mean"):
        """Keras 2's `add_metric`, also of a symbolic tensor computed from the model's inputs
        (`model.add_metric(K.mean(x), name="mean_x")`), computed with the outputs at every call."""
        if not isinstance(value, SymbolicTensor):
            return super().add_metric(value, name=name, aggregation=aggregation)
        if not isinstance(name, str) or not name:
            raise ValueError(f"Model '{self.name}': add_metric needs a metric name (`name='...'`), got {name!r}.")
        if aggregation not in ("mean", None):
            raise ValueError(f"Model '{self.name}': add_metric supports aggregation='mean', got "
                             f"aggregation={aggregation!r}.")
        self._add_symbolic_value(value, ("metric", name))

    def _add_symbolic_value(self, tensor, purpose):
        """Extend the plan with the nodes that compute `tensor` from the model's inputs (and outputs)."""
        if self._has_host_layers:
            raise NotImplementedError(f"Model '{self.name}': symbolic add_loss / add_metric on a model with host "
                                      f"layers; add the loss inside a layer's call() instead.")
        nodes, _ = _topological_nodes(self.inputs, [tensor], self.name, self._input_names)
        known = {id(step.node) for step in self._plan + self._extra_plan}
        for node in nodes:
            if id(node) not in known:
                for t in node.output_tensors:
                    self._slot_of[id(t)] = len(self._slot_of)
                self._extra_plan.append(_make_step(node, self._slot_of))
        self._num_slots = len(self._slot_of)
        self._extra_values.append((self._slot_of[id(tensor)], purpose))
        # the extra steps read the main plan's values after it has run: keep them all
        self._releases = [()] * len(self._plan)
        if self._plain_plan is not None:
            self._plain_plan = [entry[:4] + ((),) for entry in self._plain_plan]

    @property
    def input(self):
        """The model's input tensor(s), in the structure given to `Model(inputs, ...)`."""
        return self._input_structure

    @property
    def output(self):
        """The model's output tensor(s), in the structure given to `Model(..., outputs)`."""
        return self._output_structure

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self._input_structure)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self._output_structure)

    @property
    def input_names(self):
        """Names of the inputs: the `Input` layers' names (or the keys of a dict of inputs)."""
        return list(self._input_names)

    def expected_input_shapes(self):
        return [(readers[0].name if readers else name, None if id(t) in self._host_fed else t.shape)
                for t, name, readers in zip(self.inputs, self._input_names, self._input_readers)]

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if isinstance(self._output_structure, SymbolicTensor) else shapes

    # ------------------------------------------------------------------ running the graph
    def call(self, inputs, training=None, mask=None):
        if self._has_host_layers:
            if mask is not None:
                raise NotImplementedError(f"Model '{self.name}': `mask` cannot be passed to a model with host "
                                          f"layers.")
            slots, _ = self._run(inputs, training, None, into=self._host_boundary)
            return self._pack_outputs(slots)
        values = self._flatten_inputs(inputs, "inputs")
        masks = None if mask is None else self._flatten_inputs(mask, "mask")
        slots, _ = self._run(values, training, masks)
        if self._extra_values:
            self._run_extra(slots, training)
        return self._pack_outputs(slots)

    def _run_extra(self, slots, training):
        for step in self._extra_plan:
            args, kwargs = step.extra(slots) if step.extra is not None else ((), {})
            if step.pass_training:
                kwargs["training"] = training
            _store(slots, step.out, step.layer(step.fetch(slots), *args, **kwargs))
        for slot, (kind, name) in self._extra_values:
            if kind == "loss":
                super().add_loss(slots[slot])
            else:
                super().add_metric(slots[slot], name=name)

    def host_preprocess(self, x):
        """The host steps run on a raw NumPy batch `x`: the list of boundary values the model is called on."""
        values = self._flatten_inputs([x] if len(self.inputs) == 1 and is_string_list(x) else x, "inputs")
        slots = [None] * self._num_slots
        slots[:len(values)] = [host_array(v, t.shape) for v, t in zip(values, self.inputs)]
        for step in self._host_plan:
            args, kwargs = step.extra(slots) if step.extra is not None else ((), {})
            _store(slots, step.out, step.layer(step.fetch(slots), *args, **kwargs))
        return [to_numpy_input(slots[i]) for i in self._host_boundary]

    def compute_mask(self, inputs, mask=None):
        if mask is None and not self._outputs_masked:
            return None
        masks = None if mask is None else self._flatten_inputs(mask, "mask")
        _, mask_slots = self._run(self._flatten_inputs(inputs, "inputs"), None, masks)
        return self._pack_outputs(mask_slots)

    def _run(self, values, training, masks, into=None):
        """(value slots, mask slots or None) after running the plan on the input `values` (put in the slots
        `into`, by default the input slots)."""
        slots = [None] * self._num_slots
        if into is None:
            slots[:len(values)] = values
        else:
            for slot, value in zip(into, values):
                slots[slot] = value
        if self._plain_plan is not None and masks is None:
            # The common case, kept tight: no masks anywhere, each layer called on its inputs alone.
            for layer, fetch, out, pass_training, release in self._plain_plan:
                outputs = layer(fetch(slots), training=training) if pass_training else layer(fetch(slots))
                for slot in release:
                    slots[slot] = None
                if type(out) is int:
                    slots[out] = outputs
                else:
                    _store(slots, out, outputs)
            return slots, None
        every_step_masked = masks is not None
        mask_slots = None
        if every_step_masked or self._has_masks:
            mask_slots = [None] * self._num_slots
            if masks is not None:
                mask_slots[:len(values)] = masks
        for step, release in zip(self._plan, self._releases):
            inputs = step.fetch(slots)
            args, kwargs = step.extra(slots) if step.extra is not None else ((), {})
            if step.pass_training:
                kwargs["training"] = training
            mask = None
            if mask_slots is not None and (every_step_masked or step.masked):
                mask = _no_empty_mask(step.fetch(mask_slots))
                if mask is not None and step.pass_mask:
                    kwargs["mask"] = mask
            outputs = step.layer(inputs, *args, **kwargs)
            if type(step.out) is int:
                slots[step.out] = outputs
            else:
                _store(slots, step.out, outputs)
            if mask_slots is not None and (every_step_masked or step.makes_mask):
                _store(mask_slots, step.out, step.layer.compute_mask(inputs, mask), broadcast=True)
            for slot in release:
                slots[slot] = None
        return slots, mask_slots

    def _flatten_inputs(self, inputs, what):
        """The call's `inputs` (one value, a list or a dict keyed by input name) as a list in input order."""
        count = len(self.inputs)
        if isinstance(inputs, dict):
            missing = [name for name in self._input_names if name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': {what} {missing} missing from the dict passed (keys "
                                 f"{sorted(inputs)}); the model's inputs are {self._input_names}.")
            return [inputs[name] for name in self._input_names]
        if isinstance(inputs, (list, tuple)) and len(inputs) == count:
            return list(inputs)
        if count == 1 and not isinstance(inputs, (list, tuple)):
            return [inputs]
        given = f"a {type(inputs).__name__} of {len(inputs)}" if isinstance(inputs, (list, tuple)) else "1"
        raise ValueError(f"Model '{self.name}' expects {count} {what} {self._input_names}, but it was called "
                         f"on {given}.")

    def _find_masks(self):
        """Work out once which steps can see or make a mask when the model's inputs carry none."""
        masked = set()
        for step in self._plan:
            layer = step.layer
            step.masked = any(id(t) in masked for t in step.node.input_tensors)
            overrides = type(layer).compute_mask is not Layer.compute_mask
            step.makes_mask = overrides or (step.masked and layer.supports_masking)
            if step.makes_mask:
                masked.update(id(t) for t in step.node.output_tensors)
        self._has_masks = bool(masked)
        self._outputs_masked = any(id(t) in masked for t in self.outputs)

    # ------------------------------------------------------------------ summary
    def summary_rows(self):
        """(name (type), output shape, params, connected to) per layer, for `summary()`."""
        from mlfront.models.summary import _shape_text
        rows = []
        for layer in self._layers:
            nodes = [node for node in self._nodes if node.layer is layer] or layer._inbound_nodes[:1]
            connected = [f"{t.node.layer.name}[{t.node.layer._inbound_nodes.index(t.node)}][{t.index}]"
                         for node in nodes for t in node.input_tensors] or ["-"]
            shapes = [_shape_text([t.shape for t in node.output_tensors]) for node in nodes]
            rows.append((f"{layer.name} ({type(layer).__name__})", shapes[0], layer.count_params(), connected))
        return rows

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """Layers (class name + config) and the graph (per layer, the inputs of each call, by reference)."""
        references = {}  # id(tensor) -> [layer name, node index within this model, tensor index]
        nodes_of = {id(layer): [] for layer in self._layers}
        for node in self._nodes:
            nodes_of[id(node.layer)].append(node)
        for layer in self._layers:
            nodes_of[id(layer)].sort(key=layer._inbound_nodes.index)  # creation order: rebuilt in that order
            for k, node in enumerate(nodes_of[id(layer)] or layer._inbound_nodes[:1]):
                for t in node.output_tensors:
                    references[id(t)] = [layer.name, k, t.index]
        for t in self.inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model '{self.name}': get_config needs the model's inputs to be `Input` "
                                 f"tensors, but input '{t.name}' comes from layer '{t.node.layer.name}'.")

        def encode(structure):
            return map_structure(lambda v: {_TENSOR: references[id(v)]} if isinstance(v, SymbolicTensor) else v,
                                 structure)

        layers = [{**serialize_keras_object(layer), "name": layer.name,
                   "inbound_nodes": [{"inputs": encode(node.inputs), "args": encode(list(node.args)),
                                      "kwargs": encode(node.kwargs)} for node in nodes_of[id(layer)]]}
                  for layer in self._layers]
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": encode(self._input_structure), "output_layers": encode(self._output_structure)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the model from `get_config()`, or from a config in Keras 2's or Keras 3's form (read by
        `saving.keras2_config` / `saving.keras3_config`); custom layer classes are looked up in `custom_objects`."""
        from mlfront.saving.keras2_config import from_keras2_form
        from mlfront.saving.keras3_config import from_keras3_form
        config = from_keras3_form(from_keras2_form(config))
        tensors = {}  # (layer name, node index, tensor index) -> SymbolicTensor
        pending = {}  # layer name -> (layer, calls not yet made)
        for entry in config["layers"]:
            layer = _deserialize_layer(entry, custom_objects)
            if isinstance(layer, InputLayer):
                tensors[(entry["name"], 0, 0)] = layer.output
            pending[entry["name"]] = (layer, list(entry["inbound_nodes"]))

        def decode(structure):
            if isinstance(structure, dict) and _TENSOR in structure:
                return tensors[tuple(structure[_TENSOR])]
            if isinstance(structure, dict):
                return {k: decode(v) for k, v in structure.items()}
            if isinstance(structure, (list, tuple)):
                return type(structure)(decode(v) for v in structure)
            return structure

        made = {name: 0 for name in pending}
        # A layer's calls are replayed in their original order, each as soon as its inputs exist.
        while any(calls for _, calls in pending.values()):
            progress = False
            for name, (layer, calls) in pending.items():
                while calls:
                    try:
                        inputs, args, kwargs = (decode(calls[0][key]) for key in ("inputs", "args", "kwargs"))
                    except KeyError:
                        break
                    outputs = layer(inputs, *args, **kwargs)
                    for i, t in enumerate(flatten(outputs)):
                        tensors[(name, made[name], i)] = t
                    made[name] += 1
                    calls.pop(0)
                    progress = True
            if not progress:
                stuck = sorted(name for name, (_, calls) in pending.items() if calls)
                raise ValueError(f"Model config '{config.get('name')}': the inputs of layer(s) {stuck} refer to "
                                 f"layers that are missing from the config.")
        return cls(decode(config["input_layers"]), decode(config["output_layers"]), name=config.get("name"),
                   trainable=config.get("trainable", True))


# ---------------------------------------------------------------------- building the plan
def _split_host_steps(plan, outputs, slot_of, model_name):
    """(host steps, engine steps, boundary slots or None): host layers may only read the model inputs and
    other host layers' outputs."""
    host, engine, engine_made = [], [], set()
    for step in plan:
        layer = step.layer
        if getattr(layer, "_has_host_layers", False):
            raise ValueError(f"Model '{model_name}': the nested model '{layer.name}' has host (NumPy) layers; "
                             f"call its layers in this model directly instead.")
        if not getattr(layer, "runs_on_host", False):
            engine.append(step)
            engine_made.update(id(t) for t in step.node.output_tensors)
            continue
        for t in _dependencies(step.node):
            if id(t) in engine_made:
                raise ValueError(f"Model '{model_name}': layer '{layer.name}' computes on the host (NumPy) and must "
                                 f"come before engine layers; it takes the output of '{t.node.layer.name}'.")
        host.append(step)
    if not host:
        return [], plan, None
    needed = [t for step in engine for t in _dependencies(step.node)] + list(outputs)
    return host, engine, sorted({slot_of[id(t)] for t in needed if id(t) not in engine_made})


def _tensors(structure, model_name, what):
    found = flatten(structure)
    leaves = [structure] if not isinstance(structure, (list, tuple, dict)) else \
        list(structure.values()) if isinstance(structure, dict) else list(structure)
    bad = [v for v in leaves if not isinstance(v, (SymbolicTensor, list, tuple, dict))]
    if bad or not found:
        raise TypeError(f"Model '{model_name}': `{what}` must be symbolic tensors (from `mlfront.Input(...)` and "
                        f"layer calls on them), as one tensor, a list or a dict; got {structure!r}.")
    return found


def _unique(names):
    seen = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}_{seen[name] - 1}")
    return result


def _dependencies(node):
    return node.input_tensors + flatten(list(node.args)) + flatten(node.kwargs)


def _topological_nodes(inputs, outputs, model_name, input_names):
    """The nodes between `inputs` and `outputs`, each after the nodes it depends on (iterative DFS)."""
    input_ids = {id(t) for t in inputs}
    order, done = [], set()

    def check_connected(t, output):
        if not t.node.input_tensors and id(t) not in input_ids:
            raise ValueError(
                f"Model '{model_name}': output {output} is not connected to the model's inputs {input_names}: "
                f"it depends on input '{t.node.layer.name}' (shape {t.shape}), which is not among them. Pass "
                f"every Input the outputs need in `inputs`.")

    for output in outputs:
        check_connected(output, output)
        if id(output) in input_ids:
            continue
        stack = [(output.node, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for t in reversed(_dependencies(node)):
                if id(t) in input_ids or id(t.node) in done:
                    continue
                check_connected(t, output)
                stack.append((t.node, False))
    # Keras's order: by depth (the longest path to an output), deepest first, which keeps every node after
    # the nodes it depends on; ties keep the DFS order.
    depth = {id(node): 0 for node in order}
    for node in reversed(order):
        for t in _dependencies(node):
            if id(t.node) in depth:
                depth[id(t.node)] = max(depth[id(t.node)], depth[id(node)] + 1)
    return sorted(order, key=lambda node: -depth[id(node)]), depth


def _wiring(structure, slot_of):
    """A function slots -> `structure` with each symbolic tensor replaced by the value in its slot."""
    if isinstance(structure, SymbolicTensor):
        return operator.itemgetter(slot_of[id(structure)])
    if isinstance(structure, (list, tuple)) and flatten(structure):
        parts = [_wiring(item, slot_of) for item in structure]
        kind = type(structure)
        return lambda slots: kind([part(slots) for part in parts])
    if isinstance(structure, dict) and flatten(structure):
        parts = {key: _wiring(item, slot_of) for key, item in structure.items()}
        return lambda slots: {key: part(slots) for key, part in parts.items()}
    return lambda slots: structure


def _make_step(node, slot_of):
    layer = node.layer
    args, kwargs = tuple(node.args), dict(node.kwargs)
    if not args and not kwargs:
        extra = None
    elif flatten(list(args)) or flatten(kwargs):
        fetch_args, fetch_kwargs = _wiring(list(args), slot_of), _wiring(kwargs, slot_of)

        def extra(slots):
            return fetch_args(slots), dict(fetch_kwargs(slots))
    else:
        def extra(slots):
            return args, dict(kwargs)
    out = slot_of[id(node.outputs)] if isinstance(node.outputs, SymbolicTensor) else \
        [slot_of[id(t)] for t in node.output_tensors]
    return _Step(layer, node, _wiring(node.inputs, slot_of), extra, out,
                 pass_training=layer._call_takes_training and "training" not in kwargs,
                 pass_mask=layer._call_takes_mask and "mask" not in kwargs)


def _last_reads(plan, outputs, slot_of):
    """For each step of `plan`, the value slots that no later step reads and that are not model outputs."""
    kept = {slot_of[id(t)] for t in outputs}
    last = {}
    for index, step in enumerate(plan):
        node = step.node
        for t in flatten([node.inputs, list(node.args), dict(node.kwargs)]):
            if isinstance(t, SymbolicTensor):
                last[slot_of[id(t)]] = index
    releases = [[] for _ in plan]
    for slot, index in last.items():
        if slot not in kept:
            releases[index].append(slot)
    return [tuple(r) for r in releases]


def _store(slots, out, values, broadcast=False):
    if isinstance(out, int):
        slots[out] = values
        return
    if isinstance(values, dict):
        values = list(values.values())
    if broadcast and not isinstance(values, (list, tuple)):
        values = [values] * len(out)
    for slot, value in zip(out, values):
        slots[slot] = value


def _no_empty_mask(mask):
    """None when a structure of masks holds no mask at all."""
    if isinstance(mask, (list, tuple)):
        return None if all(m is None for m in mask) else mask
    if isinstance(mask, dict):
        return None if all(m is None for m in mask.values()) else mask
    return mask


def _deserialize_layer(entry, custom_objects):
    spec = {key: entry[key] for key in ("module", "class_name", "config", "registered_name") if key in entry}
    layer = deserialize_keras_object(spec, custom_objects, module_objects=layer_objects())
    return expect_instance(layer, Layer, f"Model.from_config (layer {entry.get('name')!r})")
