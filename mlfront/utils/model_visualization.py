"""`plot_model` / `model_to_dot`: a drawing of a model's layer graph, through pydot and Graphviz's `dot`.

Each layer is a node (its name and class, optionally its shapes, dtype, activation and whether it trains);
edges follow the symbolic graph the layer calls recorded (`layer._inbound_nodes`, see `mlfront.layers.graph`).
Nested models are one node, or with `expand_nested=True` a dashed cluster holding their own layers.
"""

import html
import os
import sys

from mlfront.layers.graph import flatten, map_structure

_PYDOT_MISSING = "You must install pydot (`pip install pydot`) for `{}` to work."
_GRAPHVIZ_MISSING = ("You must install Graphviz, whose `dot` program draws the plot, for `plot_model` to work: "
                     "`apt-get install graphviz` on Debian/Ubuntu, or see https://graphviz.org/download/ "
                     "(searched for `dot` on PATH: {}).")
_RANKDIRS = ("TB", "LR", "BT", "RL")
_SOURCE_FORMATS = ("dot", "gv")  # written as Graphviz source, without running `dot`


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """The layer graph of `model` as a `pydot.Dot`, as Keras's `keras.utils.model_to_dot`.

    Args:
        model: a built model (Sequential, Functional or subclassed; a subclassed model is a single node).
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: show each layer's name beside its class.
        rankdir: the direction of the graph: "TB" (top to bottom), "LR" (left to right), "BT" or "RL".
        expand_nested: draw nested Sequential / Functional models as clusters of their layers.
        dpi: the resolution of a rendered image, in dots per inch.
        subgraph: return a `pydot.Cluster` (what `expand_nested` puts in the outer graph) instead of a `Dot`.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: show whether each layer with weights is trainable.
        splines: how edges are drawn: "ortho" (right angles, Keras's default), "curved", "polyline",
            "spline" or "line".

    Returns:
        A `pydot.Dot` (a `pydot.Cluster` with `subgraph=True`); node names are `str(id(layer))`, labels are
        Graphviz HTML-like tables.

    Raises:
        ImportError: pydot is not installed.
        ValueError: the model is not built, or a bad argument (also Keras 2's `layer_range`, not supported).
    """
    _check_kwargs(kwargs, "model_to_dot")
    _check_built(model)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"model_to_dot: `rankdir` must be one of {list(_RANKDIRS)}, got {rankdir!r}.")
    pydot = _import_pydot("model_to_dot")
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype, "show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations, "show_trainable": show_trainable}
    if subgraph:
        dot = pydot.Cluster(graph_name=str(id(model)), label=model.name, style="dashed", labeljust="l")
    else:
        dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, concentrate=True, dpi=dpi, splines=splines)
        dot.set_node_defaults(shape="plaintext", fontname="Helvetica")

    models = _model_classes()
    if not isinstance(model, models):  # a subclassed model: its graph is not known, so one box
        dot.add_node(_make_node(pydot, model, None, options))
        return dot
    nodes = _nodes_in(model)
    for layer in model.layers:
        if expand_nested and isinstance(layer, models):
            dot.add_subgraph(model_to_dot(layer, expand_nested=True, dpi=dpi, subgraph=True, **options))
        else:
            dot.add_node(_make_node(pydot, layer, nodes.get(id(layer)), options))
    drawn = set()
    for source, output_index, destination, input_index in _connections(model):
        if expand_nested:
            source, destination = _inner_source(source, output_index, models), _inner_destination(
                destination, input_index, models)
        key = (id(source), id(destination))
        if key not in drawn:
            drawn.add(key)
            dot.add_edge(pydot.Edge(str(id(source)), str(id(destination)), penwidth="2"))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               splines="ortho", **kwargs):
    """Draw the layer graph of `model` into the image file `to_file`, as Keras's `keras.utils.plot_model`.

    The format comes from the extension of `to_file` (".png" when there is none): any format of Graphviz's
    `dot` (png, svg, pdf, jpg, ...), or ".dot" / ".gv" for the Graphviz source itself (which needs no Graphviz).
    The arguments are those of `model_to_dot`; as in Keras 3, `show_layer_names` defaults to False here.

    Example:
        ```python
        model = mlfront.Sequential([mlfront.Input((4,)), mlfront.layers.Dense(8), mlfront.layers.Dense(1)])
        mlfront.utils.plot_model(model, to_file="model.png", show_shapes=True)
        ```

    Returns:
        In a Jupyter notebook, an `IPython.display.Image` (`SVG` for ".svg") of the file, shown in-line;
        else None.

    Raises:
        ImportError: pydot is not installed (`pip install pydot`), or Graphviz's `dot` program is missing
            (`apt-get install graphviz`, https://graphviz.org/download/).
        ValueError: the model is not built, a bad argument, or a format `dot` does not know.
    """
    _check_kwargs(kwargs, "plot_model")
    _check_built(model)
    _import_pydot("plot_model")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable,
                       splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension in _SOURCE_FORMATS:
        data = dot.to_string().encode("utf-8")
    else:
        data = _render(dot, extension, to_file)
    with open(to_file, "wb") as f:
        f.write(data)
    return _notebook_image(to_file, extension)


def _render(dot, extension, to_file):
    try:
        return dot.create(prog="dot", format=extension)
    except FileNotFoundError:
        raise ImportError(_GRAPHVIZ_MISSING.format(os.environ.get("PATH", ""))) from None
    except AssertionError as err:  # pydot's report of a failed `dot` run, with its stderr
        raise ValueError(f"plot_model: Graphviz's `dot` could not write format {extension!r} (from to_file="
                         f"{to_file!r}): {err}") from None


def _notebook_image(path, extension):
    """An IPython display object of the file when running in a Jupyter kernel, else None."""
    ipython = sys.modules.get("IPython")  # a notebook has imported it already
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or getattr(shell, "kernel", None) is None or extension == "pdf":
        return None
    from IPython import display
    return display.SVG(filename=path) if extension == "svg" else display.Image(filename=path)


# ---------------------------------------------------------------------- the graph
def _model_classes():
    from mlfront.models.functional import Functional
    from mlfront.models.sequential import Sequential
    return Functional, Sequential


def _connections(model):
    """(source layer, its output index, destination layer, its input index) per edge between `model`'s layers."""
    from mlfront.models.sequential import Sequential
    layers = model.layers
    if isinstance(model, Sequential):
        return [(a, 0, b, 0) for a, b in zip(layers, layers[1:])]
    drawn = {id(layer) for layer in layers}
    edges = []
    for node in model._nodes:
        inputs = node.input_tensors + flatten(list(node.args)) + flatten(node.kwargs)
        edges += [(t.node.layer, t.index, node.layer, k) for k, t in enumerate(inputs) if id(t.node.layer) in drawn]
    return edges


def _inner_source(layer, output_index, models):
    """The layer inside nested models that makes their output `output_index`."""
    while isinstance(layer, models):
        outputs = flatten(layer.outputs)
        tensor = outputs[min(output_index, len(outputs) - 1)]
        layer, output_index = tensor.node.layer, tensor.index
    return layer


def _inner_destination(layer, input_index, models):
    """The first layer inside nested models that reads their input `input_index` (a Functional's InputLayer)."""
    from mlfront.models.sequential import Sequential
    while isinstance(layer, models):
        if isinstance(layer, Sequential):
            layer, input_index = layer.layers[0], 0
        else:
            inputs = layer.inputs
            layer = inputs[min(input_index, len(inputs) - 1)].node.layer
    return layer


def _nodes_in(model):
    """{id(layer): the Node of its call inside `model`}, for the shapes shown."""
    from mlfront.models.sequential import Sequential
    if isinstance(model, Sequential):
        return {id(layer): flatten(t)[0].node for layer, t in zip(model.layers, model._graph_tensors[1:])}
    nodes = {}
    for node in model._nodes:
        nodes.setdefault(id(node.layer), node)
    for t in model.inputs:
        nodes.setdefault(id(t.node.layer), t.node)
    return nodes


# ---------------------------------------------------------------------- labels
def _make_node(pydot, layer, node, options):
    return pydot.Node(str(id(layer)), label=_label(layer, node, **options))


def _label(layer, node, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    """A Graphviz HTML-like table: a title row (name and class), an activation row, then one row of cells."""
    from mlfront.layers.core import InputLayer
    node = node if node is not None else (layer._inbound_nodes[0] if layer._inbound_nodes else None)
    title = f"<b>{_escape(layer.name)}</b> ({_escape(type(layer).__name__)})" if show_layer_names else \
        f"<b>{_escape(type(layer).__name__)}</b>"
    rows = []
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        activation = layer.activation
        name = getattr(activation, "__name__", None) or getattr(activation, "name", None) or str(activation)
        rows.append(f"Activation: <b>{_escape(name)}</b>")
    cells = []
    if show_shapes:
        if not isinstance(layer, InputLayer):
            cells.append(("white", f"Input shape: <b>{_shapes(node, 'inputs')}</b>"))
        cells.append(("white", f"Output shape: <b>{_shapes(node, 'outputs')}</b>"))
    if show_dtype:
        dtype = "?" if node is None else _text(map_structure(lambda t: t.dtype, node.outputs))
        cells.append(("white", f"Output dtype: <b>{_escape(dtype)}</b>"))
    if show_trainable and layer.weights:
        cells.append(("palegreen", "<b>Trainable</b>") if layer.trainable else ("lightpink", "<b>Non-trainable</b>"))
    span = max(1, len(cells))
    table = [f'<tr><td colspan="{span}" bgcolor="lightsteelblue">{title}</td></tr>']
    table += [f'<tr><td colspan="{span}">{row}</td></tr>' for row in rows]
    if cells:
        table.append("<tr>" + "".join(f'<td bgcolor="{color}">{cell}</td>' for color, cell in cells) + "</tr>")
    return '<<table border="0" cellborder="1" cellspacing="0" cellpadding="6">' + "".join(table) + "</table>>"


def _shapes(node, attribute):
    if node is None:
        return "?"
    structure = node.outputs if attribute == "outputs" or not node.input_tensors else node.inputs
    return _escape(_text(map_structure(lambda t: t.shape, structure)))


def _text(structure):
    """Shapes or dtypes as text: `(None, 4)`, `[(None, 4), (None, 2)]`, `a: (None, 4), b: (None, 2)`."""
    if isinstance(structure, dict):
        return ", ".join(f"{key}: {_text(value)}" for key, value in structure.items())
    if isinstance(structure, list):
        return "[" + ", ".join(_text(value) for value in structure) + "]"
    return str(structure)


def _escape(text):
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------------- checks
def _import_pydot(where):
    try:
        import pydot
    except ImportError:
        raise ImportError(_PYDOT_MISSING.format(where)) from None
    return pydot


def _check_built(model):
    if not getattr(model, "built", False):
        raise ValueError(f"This model has not yet been built. Build the model first by calling `build()` or by "
                         f"calling the model on a batch of data. (model '{model.name}', "
                         f"{type(model).__name__})")


def _check_kwargs(kwargs, where):
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError(f"{where}: argument `layer_range` is no longer supported (as in Keras 3).")
    if kwargs:
        raise ValueError(f"{where}: unrecognized keyword arguments: {sorted(kwargs)}.")
