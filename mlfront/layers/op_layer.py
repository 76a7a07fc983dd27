"""`OpLayer`: one call of a `mlfront.ops` or Keras 2 backend (`K`) function on symbolic tensors, recorded as a
node of a Functional graph (Keras 3 records `keras.ops` on KerasTensors the same way); and `GradientLayer`,
the node `K.gradients` records.

An op is named by its public name: "ops.<name>" (a name of `mlfront.ops.__all__`, or "ops.image.<name>"),
"backend.<name>" (a name of `mlfront.backend.keras2_function_names`), "losses.<name>" (a loss function of
`mlfront.losses.FUNCTIONS`) or "operator.<name>" (the Python operators that have no `ops` function: getitem,
floordiv, mod). A config names the op the same way, and
`from_config` finds it only in those curated lists; nothing else is ever imported.

The op's arguments are kept as written, with each symbolic tensor replaced by an `_Slot` (its position among
the node's inputs). In a config they are JSON: numbers, strings, None and lists as they are, and
`{"__tuple__": [...]}`, `{"__dict__": {...}}`, `{"__slice__": [start, stop, step]}`, `{"__ellipsis__": true}`,
`{"__array__": [...], "dtype": name}` and `{"__input__": i}` for the rest.
"""

import numpy as np

from mlfront import backend as _backend
from mlfront.backend import context as _context
from mlfront.layers import graph as _graph
from mlfront.layers.base import Layer, unique_name

_RANDOM = {"backend.dropout", "backend.random_normal", "backend.random_uniform", "backend.random_bernoulli"}


class _Slot:
    """Where the op's `index`-th input tensor goes among its arguments."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<input {self.index}>"


# ---------------------------------------------------------------------- the curated functions
def _operator_functions():
    from mlfront import ops

    def getitem(x, key):
        """`x[key]` (ints, slices, None, Ellipsis); a negative slice step works on every engine."""
        x = ops._tensor(x)
        items = list(key) if isinstance(key, tuple) else [key]
        if not any(isinstance(item, slice) and item.step is not None and item.step < 0 for item in items):
            return x[key]
        # Engines without negative steps (torch): slice with step 1 first, then gather the reversed indices.
        B = _backend.get()
        consumed = len([item for item in items if item is not None and item is not Ellipsis])
        plain, reversed_axes, axis = [], [], 0
        for item in items:
            if item is Ellipsis:
                axis += len(B.shape(x)) - consumed
            elif isinstance(item, slice) and item.step is not None and item.step < 0:
                reversed_axes.append((axis, item))
                item = slice(None)
            if item is None or isinstance(item, slice):
                axis += 1
            plain.append(item)
        y = x[tuple(plain)]
        for axis, item in reversed_axes:
            indices = np.arange(*item.indices(B.shape(y)[axis]), dtype="int32")
            y = B.take(y, B.convert(indices), axis=axis)
        return y

    def floordiv(x1, x2):
        """`x1 // x2`, elementwise with broadcasting."""
        a, b = ops._operands(x1, x2)
        return a // b

    def mod(x1, x2):
        """`x1 % x2`, elementwise with broadcasting."""
        a, b = ops._operands(x1, x2)
        return a % b

    from mlfront.backend.keras2_functions import symbolic_op
    return {f"operator.{fn.__name__}": symbolic_op(f"operator.{fn.__name__}", fn) for fn in (getitem, floordiv, mod)}


_operators = None


def public_function(function):
    """The public function an op name stands for ("ops.mean", "backend.concatenate", "operator.getitem").

    Raises:
        ValueError: `function` is not the name of a recorded op of the curated lists.
    """
    global _operators
    from mlfront import backend, ops
    fn = None
    if isinstance(function, str):
        namespace, _, name = function.partition(".")
        if namespace == "ops" and name.startswith("image."):
            fn = getattr(type(ops.image), name[len("image."):], None)
        elif namespace == "ops" and name in ops.__all__:
            fn = getattr(ops, name)
        elif namespace == "backend" and name in backend.keras2_function_names:
            fn = getattr(backend, name)
        elif namespace == "losses":
            from mlfront import losses
            fn = losses.FUNCTIONS.get(name)
        elif namespace == "operator":
            _operators = _operators or _operator_functions()
            fn = _operators.get(function)
    if getattr(fn, "_op_name", None) != function:
        raise ValueError(f"OpLayer: unknown op {function!r}; expected 'ops.<name>' with a name of "
                         f"mlfront.ops.__all__, 'backend.<name>' with a name of "
                         f"mlfront.backend.keras2_function_names, 'losses.<name>' with a loss function's "
                         f"name, or one of 'operator.getitem', "
                         f"'operator.floordiv', 'operator.mod'.")
    return fn


def record_op(function, args, kwargs):
    """The symbolic output(s) of `function(*args, **kwargs)` (symbolic tensors among the arguments), made by
    the node of a new `OpLayer`."""
    if function in _RANDOM:
        raise NotImplementedError(f"mlfront.{function} on a symbolic tensor: random functions are not recorded "
                                  f"in a Functional graph; use a layer (e.g. Dropout) or a Lambda layer.")
    tensors, slot_of = [], {}

    def template(value):
        if isinstance(value, _graph.SymbolicTensor):
            if id(value) not in slot_of:
                slot_of[id(value)] = len(tensors)
                tensors.append(value)
            return _Slot(slot_of[id(value)])
        if isinstance(value, (list, tuple)):
            return type(value)(template(v) for v in value)
        if isinstance(value, dict):
            return {k: template(v) for k, v in value.items()}
        return value

    layer = OpLayer(function)
    layer._op_args, layer._op_kwargs = template(list(args)), template(dict(kwargs))
    return layer(tensors)


# ---------------------------------------------------------------------- the layers
class OpLayer(Layer):
    """One call of an op (`mlfront.ops`, Keras 2's `K`, a Python operator) in a Functional graph.

    Made by calling the op on symbolic tensors, e.g. `K.concatenate([a, b])`, `a * 2.0` or `x[:, 0]` while a
    model is built; not usually constructed by hand.

    Args:
        function: the op's public name, e.g. "ops.mean", "backend.concatenate", "operator.getitem".
        args: the op's positional arguments in their JSON form (see the module docstring), `{"__input__": i}`
            standing for the i-th tensor of the list the layer is called on.
        kwargs: the op's keyword arguments, the same way.
        name, trainable, dtype: as for every layer (the name defaults to the op's name: "mean", "mean_1", ...).

    Example:
        ```python
        layer = OpLayer("backend.mean", args=[{"__input__": 0}], kwargs={"axis": -1})
        y = layer([x])  # K.mean(x, axis=-1)
        ```
    """

    def __init__(self, function, args=(), kwargs=None, **layer_kwargs):
        self._fn = public_function(function).__wrapped__
        if layer_kwargs.get("name") is None:
            layer_kwargs["name"] = unique_name(function.rsplit(".", 1)[-1])
        super().__init__(**layer_kwargs)
        self.function = function
        self._op_args = [_decode(v) for v in args]
        self._op_kwargs = {key: _decode(v) for key, v in (kwargs or {}).items()}
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if _graph.is_symbolic(inputs):
            if args or kwargs:
                raise TypeError(f"OpLayer '{self.name}': called on symbolic inputs with extra arguments "
                                f"{list(args)} {sorted(kwargs)}; its op arguments are fixed when it is made.")
            return self._record(list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self._fn(*_fill(self._op_args, inputs), **_fill(self._op_kwargs, inputs))

    def _record(self, tensors):
        """The symbolic outputs of a call on `tensors`: shapes and dtypes from running the op on zeros (ones
        when zeros fail, e.g. an integer division), unknown dimensions probed with two sizes."""
        B = _backend.get()
        probes = []
        for size in (2, 3):
            for attempt, fill in enumerate((B.zeros, B.ones)):
                values = [fill(tuple(size if d is None else d for d in t.shape), t.dtype) for t in tensors]
                try:
                    with _context.call_context(False):
                        probes.append(self.call(values))
                    break
                except Exception:
                    if attempt == 1:
                        raise
        node = _graph.Node(self, tensors, (), {}, None)
        return _add_outputs(self, node, [_spec(self, B, a, b) for a, b in zip(*map(_flat_outputs, probes))],
                            probes[0])

    def get_config(self):
        config = super().get_config()
        config["function"] = self.function
        config["args"] = [_encode(v, self) for v in self._op_args]
        config["kwargs"] = {key: _encode(v, self) for key, v in self._op_kwargs.items()}
        return config


class GradientLayer(Layer):
    """The gradients of `sum(loss)` with respect to symbolic tensors and Variables, as a graph node (what
    `K.gradients` records). Its inputs are the tensors differentiated, then the sources `loss` also needs;
    it reruns the graph from them to `loss` under `value_and_grad`.

    Args:
        loss: a symbolic tensor.
        tensors: the symbolic tensors to differentiate with respect to (each upstream of `loss`).
        variables: the Variables to differentiate with respect to.
    """

    def __init__(self, loss, tensors, variables, name=None):
        from mlfront.models.functional import Functional
        super().__init__(name=name or unique_name("gradients"))
        sources, _ = _graph.sources([loss], stop=tensors)
        self._inputs = list(tensors) + sources
        self._num_tensors = len(tensors)
        self._variables = list(variables)
        self._loss_graph = Functional(self._inputs, [loss], name=f"{self.name}_loss")
        self.built = True

    def _sublayers(self):
        return []  # the layers of the loss graph belong to the model; this node owns no weights

    def record(self):
        """The symbolic gradients: the outputs of this layer's node, one per tensor, then one per Variable."""
        node = _graph.Node(self, self._inputs, (), {}, None)
        specs = [(t.shape, t.dtype) for t in self._inputs[:self._num_tensors]]
        specs += [(tuple(v.shape), str(v.dtype)) for v in self._variables]
        return _add_outputs(self, node, specs, [None] * len(specs))

    def call(self, inputs):
        from mlfront.training.stateless import run_with_values
        B = _backend.get()
        n = self._num_tensors
        tensors, others = list(inputs[:n]), list(inputs[n:])

        def total(params):
            def loss():
                return self._loss_graph(list(params[:n]) + others)[0]
            value, _ = run_with_values(self._variables, params[n:], loss, f"K.gradients ('{self.name}')",
                                       "values")
            return B.sum(value)

        _, grads = B.value_and_grad(total)(tensors + [v.value for v in self._variables])
        return list(grads)

    def get_config(self):
        raise NotImplementedError(f"Layer '{self.name}' holds a K.gradients computation, which cannot be saved in "
                                  f"a config; save the model without it and call K.gradients again after loading.")


# ---------------------------------------------------------------------- helpers
def _flat_outputs(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _spec(layer, B, a, b):
    """(shape, dtype) of an output from its two probes: dimensions that differ are unknown (None)."""
    if not (B.is_array(a) and B.is_array(b)):
        raise TypeError(f"OpLayer '{layer.name}': {layer.function} returned {type(a).__name__}, not an array, so "
                        f"it cannot be an op of a Functional graph.")
    shape_a, shape_b = B.shape(a), B.shape(b)
    if len(shape_a) != len(shape_b):
        raise ValueError(f"OpLayer '{layer.name}': the rank of {layer.function}'s output depends on the batch "
                         f"size ({shape_a} vs {shape_b}), so it cannot be an op of a Functional graph.")
    return tuple(x if x == y else None for x, y in zip(shape_a, shape_b)), B.dtype(a)


def _add_outputs(layer, node, specs, structure):
    """`node`'s symbolic outputs, one per (shape, dtype) spec, in the structure of `structure` (one value, a list
    or a tuple); the node is recorded on `layer`."""
    tensors = [_graph.SymbolicTensor(shape, dtype, node, i) for i, (shape, dtype) in enumerate(specs)]
    if isinstance(structure, (list, tuple)):
        node.outputs = type(structure)(tensors)
    else:
        node.outputs = tensors[0]
    layer._inbound_nodes.append(node)
    return node.outputs


def _fill(template, inputs):
    if isinstance(template, _Slot):
        return inputs[template.index]
    if isinstance(template, (list, tuple)):
        return type(template)(_fill(v, inputs) for v in template)
    if isinstance(template, dict):
        return {k: _fill(v, inputs) for k, v in template.items()}
    return template


def _encode(value, layer):
    """An op argument as JSON data (see the module docstring)."""
    B = _backend.get()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, _Slot):
        return {"__input__": value.index}
    if isinstance(value, list):
        return [_encode(v, layer) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, layer) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, layer) for k, v in value.items()}}
    if isinstance(value, slice):
        return {"__slice__": [_encode(v, layer) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) or B.is_array(value):
        array = np.asarray(B.to_numpy(value) if B.is_array(value) else value)
        return {"__array__": array.tolist(), "dtype": array.dtype.name}
    raise ValueError(f"OpLayer '{layer.name}': an argument of {layer.function} ({type(value).__name__} {value!r}) "
                     f"cannot be saved in a config; only numbers, strings, None, lists, tuples, dicts, slices, "
                     f"Ellipsis and arrays can.")


_MARKERS = {"__input__", "__tuple__", "__dict__", "__slice__", "__ellipsis__", "__array__"}


def _decode(value):
    """An op argument from its JSON form (see `_encode`)."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    marker = _MARKERS.intersection(value)
    if len(marker) != 1:
        raise ValueError(f"OpLayer config: an argument should be a JSON value or a dict with one of "
                         f"{sorted(_MARKERS)}, got {value!r}.")
    marker = marker.pop()
    content = value[marker]
    if marker == "__input__" and type(content) is int:
        return _Slot(content)
    if marker == "__tuple__" and isinstance(content, list):
        return tuple(_decode(v) for v in content)
    if marker == "__dict__" and isinstance(content, dict):
        return {k: _decode(v) for k, v in content.items()}
    if marker == "__slice__" and isinstance(content, list) and len(content) == 3:
        return slice(*content)
    if marker == "__ellipsis__" and content is True:
        return Ellipsis
    if marker == "__array__" and isinstance(value.get("dtype"), str):
        return np.asarray(content, dtype=np.dtype(value["dtype"]))
    raise ValueError(f"OpLayer config: malformed {marker} argument {value!r}.")

