"""Symbolic tensors and nodes: what calling a layer on `Input(...)` records for the Functional API."""

import itertools
import numbers

from mlfront.backend import context as _context
from mlfront.backend import keras2_functions as _keras2_functions

_tensor_ids = itertools.count()


class SymbolicTensor:
    """A placeholder for a value flowing through a functional model: a shape (batch first, may hold None)
    and the node that produces it."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name or f"tensor_{next(_tensor_ids)}"

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        layer = self.node.layer.name if self.node is not None else None
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} from={layer}>"

    # Python operators record `mlfront.ops` calls (an `OpLayer` node each), as Keras 3's KerasTensor does.
    # `==` / `!=` keep their identity meaning: tensors are compared and hashed as objects by the graph code.
    __array_ufunc__ = None  # `numpy_array + tensor` calls `tensor.__radd__` instead of looping in NumPy

    def __getitem__(self, key):
        _check_index(key)
        return _op("operator.getitem")(self, key)

    def __iter__(self):
        raise TypeError(f"A symbolic tensor {self.shape} cannot be iterated over; index it (`x[:, 0]`) or use "
                        f"`mlfront.ops.split`.")


_keras2_functions._symbolic_types = (SymbolicTensor,)  # what `symbolic_op` looks for in an op's arguments


def _op(name):
    """The public function `name` ("ops.add", "operator.getitem", ...) that records an op node."""
    from mlfront.layers import op_layer
    return op_layer.public_function(name)


def _operator(name, reflected=False):
    def method(self, other):
        return _op(name)(other, self) if reflected else _op(name)(self, other)
    return method


def _unary_operator(name):
    def method(self):
        return _op(name)(self)
    return method


for _dunder, _name in [("add", "ops.add"), ("sub", "ops.subtract"), ("mul", "ops.multiply"),
                       ("truediv", "ops.divide"), ("floordiv", "operator.floordiv"), ("mod", "operator.mod"),
                       ("pow", "ops.power"), ("matmul", "ops.matmul")]:
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_name))
    setattr(SymbolicTensor, f"__r{_dunder}__", _operator(_name, reflected=True))
for _dunder, _name in [("lt", "ops.less"), ("le", "ops.less_equal"), ("gt", "ops.greater"),
                       ("ge", "ops.greater_equal")]:
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_name))
for _dunder, _name in [("neg", "ops.negative"), ("abs", "ops.abs")]:
    setattr(SymbolicTensor, f"__{_dunder}__", _unary_operator(_name))
del _dunder, _name


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_index(key):
    """`key` of `tensor[key]`: ints, slices of ints, None, Ellipsis, or a tuple of them."""
    for item in key if isinstance(key, tuple) else (key,):
        ok = item is None or item is Ellipsis or _is_int(item) or (
            isinstance(item, slice) and all(v is None or _is_int(v) for v in (item.start, item.stop, item.step)))
        if not ok:
            raise TypeError(f"Indexing a symbolic tensor takes ints, slices of ints, None and Ellipsis (or a tuple "
                            f"of them), got {item!r}; use `mlfront.ops.take` for index arrays.")


class Node:
    """One call of `layer` on symbolic `inputs` (a tensor or a list/dict of them), with its other arguments."""

    def __init__(self, layer, inputs, args, kwargs, outputs):
        self.layer = layer
        self.inputs = inputs
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs

    @property
    def input_tensors(self):
        return flatten(self.inputs)

    @property
    def output_tensors(self):
        return flatten(self.outputs)


def flatten(structure):
    """The SymbolicTensors in a tensor, list, tuple or dict, in order."""
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in flatten(v)]
    return [structure] if isinstance(structure, SymbolicTensor) else []


def map_structure(fn, structure):
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def sources(outputs, stop=()):
    """(the source tensors `outputs` depend on, ids of the tensors of `stop` they depend on): the walk back
    from `outputs` ends at a tensor of `stop` or at a tensor no node computes from others (an `Input`)."""
    stop_ids = {id(t) for t in stop}
    found, reached, seen = [], set(), set()
    pending = list(reversed(outputs))
    while pending:
        t = pending.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in stop_ids:
            reached.add(id(t))
            continue
        node = t.node
        upstream = node.input_tensors + flatten(list(node.args)) + flatten(node.kwargs) if node is not None else []
        if not upstream:
            found.append(t)
        pending.extend(reversed(upstream))
    return found, reached


def is_symbolic(inputs):
    if isinstance(inputs, SymbolicTensor):
        return True
    if isinstance(inputs, (list, tuple)):
        return any(isinstance(x, SymbolicTensor) for x in inputs)
    if isinstance(inputs, dict):
        return any(isinstance(x, SymbolicTensor) for x in inputs.values())
    return False


def call_symbolic(layer, inputs, args, kwargs):
    """Record `layer(inputs, *args, **kwargs)` on symbolic inputs; build the layer and return symbolic outputs."""
    input_shape = map_structure(lambda t: t.shape, inputs)
    if isinstance(input_shape, tuple) and not isinstance(inputs, SymbolicTensor):
        input_shape = list(input_shape)
    with _context.call_context(False):
        layer._maybe_build(input_shape)
        if flatten(list(args)) or flatten(kwargs):  # other tensor arguments, e.g. `call(self, a, b)`
            output_shape = layer._symbolic_output_shape(inputs, args, kwargs)
        else:
            output_shape = layer.compute_output_shape(input_shape)
    node = Node(layer, inputs, args, kwargs, None)
    counter = itertools.count()

    def make(shape):
        return SymbolicTensor(shape, layer.dtype, node, next(counter))

    if isinstance(output_shape, list):
        outputs = [make(s) for s in output_shape]
    else:
        outputs = make(output_shape)
    node.outputs = outputs
    layer._inbound_nodes.append(node)
    return outputs
