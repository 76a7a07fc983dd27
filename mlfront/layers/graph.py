"""Symbolic tensors and nodes: what calling a layer on `Input(...)` records for the Functional API."""

import itertools

from mlfront.backend import context as _context

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
