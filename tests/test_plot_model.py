"""`mlfront.utils.plot_model` / `model_to_dot`: real drawings through pydot and Graphviz's `dot`, and the graph's
nodes and edges checked against the models (and against Keras 3's `model_to_dot` for the same architectures)."""

import sys
import types

import pytest

import mlfront
from mlfront import layers
from mlfront.utils import model_to_dot, plot_model

PNG = b"\x89PNG\r\n\x1a\n"


def sequential():
    return mlfront.Sequential([mlfront.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                               layers.Dense(1, name="score")], name="seq")


def two_inputs():
    a, b = mlfront.Input((4,), name="a"), mlfront.Input((3,), name="b")
    merged = layers.Concatenate(name="cat")([layers.Dense(5, name="da")(a), b])
    return mlfront.Model([a, b], layers.Dense(1, name="out")(merged), name="two")


def nested():
    inner_in = mlfront.Input((4,), name="inner_in")
    inner = mlfront.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    stack = mlfront.Sequential([layers.Dense(3, name="s1"), layers.Dense(2, name="s2")], name="stack")
    x = mlfront.Input((4,), name="x")
    out = layers.Add(name="add")([inner(x), stack(x)])
    return mlfront.Model(x, layers.Dense(1, name="head")(out), name="outer")


def layer_names(model):
    """{node name in the dot graph: layer name} for every layer of `model` and of its nested models."""
    names = {}
    for layer in model.layers:
        names[str(id(layer))] = layer.name
        if hasattr(layer, "layers"):
            names.update(layer_names(layer))
    return names


def named_edges(dot, names):
    edges = list(dot.get_edges())
    for graph in dot.get_subgraphs():
        edges += graph.get_edges()
    return {(names[e.get_source()], names[e.get_destination()]) for e in edges}


def test_sequential_png(tmp_path):
    model = sequential()
    path = tmp_path / "seq.png"
    assert plot_model(model, to_file=str(path), show_shapes=True) is None  # not in a notebook
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000
    dot = model_to_dot(model)
    assert named_edges(dot, layer_names(model)) == {("hidden", "score")}
    labels = {node.get_name(): node.get_label() for node in dot.get_nodes() if node.get_name() != "node"}
    assert set(labels) == {str(id(layer)) for layer in model.layers}
    assert "<b>hidden</b> (Dense)" in labels[str(id(model.layers[0]))]


def test_functional_with_two_inputs(tmp_path):
    model = two_inputs()
    path = tmp_path / "two.png"
    plot_model(model, to_file=path, show_shapes=True, show_layer_names=True)
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000
    dot = model_to_dot(model, show_shapes=True, show_dtype=True)
    assert named_edges(dot, layer_names(model)) == {("a", "da"), ("da", "cat"), ("b", "cat"), ("cat", "out")}
    label = dot.get_node(str(id(model.get_layer("cat"))))[0].get_label()
    assert "<b>cat</b> (Concatenate)" in label
    assert "Input shape: <b>[(None, 5), (None, 3)]</b>" in label and "Output shape: <b>(None, 8)</b>" in label
    assert "Output dtype: <b>float32</b>" in label
    input_label = dot.get_node(str(id(model.get_layer("a"))))[0].get_label()
    assert "Input shape" not in input_label and "Output shape: <b>(None, 4)</b>" in input_label


def test_nested_models_collapsed_and_expanded(tmp_path):
    model = nested()
    names = layer_names(model)
    collapsed = model_to_dot(model)
    assert named_edges(collapsed, names) == {("x", "inner"), ("x", "stack"), ("inner", "add"), ("stack", "add"),
                                             ("add", "head")}
    assert not collapsed.get_subgraphs()
    expanded = model_to_dot(model, expand_nested=True)
    clusters = {graph.get_name(): graph for graph in expanded.get_subgraphs()}
    assert set(clusters) == {f"cluster_{id(model.get_layer('inner'))}", f"cluster_{id(model.get_layer('stack'))}"}
    inner_nodes = {names[n.get_name()] for n in clusters[f"cluster_{id(model.get_layer('inner'))}"].get_nodes()}
    assert inner_nodes == {"inner_in", "inner_dense"}
    assert named_edges(expanded, names) == {("x", "inner_in"), ("inner_in", "inner_dense"), ("x", "s1"),
                                            ("s1", "s2"), ("inner_dense", "add"), ("s2", "add"), ("add", "head")}
    path = tmp_path / "nested.png"
    plot_model(model, to_file=str(path), expand_nested=True, show_shapes=True, dpi=72)
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000


def keras_edges(dot, model):
    names = {}

    def collect(m):
        for layer in m.layers + [t._keras_history.operation for t in getattr(m, "inputs", None) or []]:
            names[str(id(layer))] = layer.name
            if hasattr(layer, "layers"):
                collect(layer)
    collect(model)
    return named_edges(dot, names)


def test_edges_match_keras3():
    keras = pytest.importorskip("keras")
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    merged = keras.layers.Concatenate(name="cat")([keras.layers.Dense(5, name="da")(a), b])
    two = keras.Model([a, b], keras.layers.Dense(1, name="out")(merged))
    ours = two_inputs()
    assert keras_edges(keras.utils.model_to_dot(two), two) == named_edges(model_to_dot(ours), layer_names(ours))

    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, keras.layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    x = keras.Input((4,), name="x")
    outer = keras.Model(x, keras.layers.Dense(1, name="head")(inner(x)))
    ours_in = mlfront.Input((4,), name="inner_in")
    ours_inner = mlfront.Model(ours_in, layers.Dense(2, name="inner_dense")(ours_in), name="inner")
    ours_x = mlfront.Input((4,), name="x")
    ours = mlfront.Model(ours_x, layers.Dense(1, name="head")(ours_inner(ours_x)))
    for expand in (False, True):
        assert keras_edges(keras.utils.model_to_dot(outer, expand_nested=expand), outer) == \
            named_edges(model_to_dot(ours, expand_nested=expand), layer_names(ours))


def test_label_options():
    model = sequential()
    model.layers[1].trainable = False
    dot = model_to_dot(model, show_layer_names=False, show_layer_activations=True, show_trainable=True)
    hidden = dot.get_node(str(id(model.layers[0])))[0].get_label()
    score = dot.get_node(str(id(model.layers[1])))[0].get_label()
    assert "<b>Dense</b>" in hidden and "hidden" not in hidden
    assert "Activation: <b>relu</b>" in hidden and "Activation: <b>linear</b>" in score
    assert "<b>Trainable</b>" in hidden and "<b>Non-trainable</b>" in score
    assert "Input shape" not in hidden and "Output dtype" not in hidden
    graph = model_to_dot(model, rankdir="LR", dpi=96)
    assert graph.get("rankdir") == "LR" and str(graph.get("dpi")) == "96"


def test_formats_from_the_extension(tmp_path):
    model = sequential()
    plot_model(model, to_file=str(tmp_path / "m.svg"))
    assert b"<svg" in (tmp_path / "m.svg").read_bytes()
    plot_model(model, to_file=str(tmp_path / "m.pdf"))
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    plot_model(model, to_file=str(tmp_path / "m.dot"))
    source = (tmp_path / "m.dot").read_text()
    assert source.startswith("digraph") and f"{id(model.layers[0])} -> {id(model.layers[1])}" in source
    plot_model(model, to_file=str(tmp_path / "noext"))
    assert (tmp_path / "noext").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="could not write format 'nosuchformat'"):
        plot_model(model, to_file=str(tmp_path / "m.nosuchformat"))


def test_subclassed_models():
    class Net(mlfront.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    net = Net()
    with pytest.raises(ValueError, match="has not yet been built"):
        model_to_dot(net)
    with pytest.raises(ValueError, match="has not yet been built"):
        plot_model(mlfront.Sequential([layers.Dense(2)]))
    net.build((None, 3))
    dot = model_to_dot(net)
    assert [n.get_name() for n in dot.get_nodes() if n.get_name() != "node"] == [str(id(net))]
    assert "<b>net</b> (Net)" in dot.get_nodes()[-1].get_label()


def test_missing_pydot(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", None)  # `import pydot` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install pydot"):
        plot_model(sequential(), to_file=str(tmp_path / "m.png"))
    with pytest.raises(ImportError, match=r"pip install pydot"):
        model_to_dot(sequential())


def test_missing_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program
    with pytest.raises(ImportError, match=r"apt-get install graphviz.*graphviz\.org"):
        plot_model(sequential(), to_file=str(tmp_path / "m.png"))
    plot_model(sequential(), to_file=str(tmp_path / "m.dot"))  # the source needs no Graphviz
    assert (tmp_path / "m.dot").read_text().startswith("digraph")


def test_bad_arguments():
    model = sequential()
    with pytest.raises(ValueError, match="layer_range"):
        plot_model(model, layer_range=["hidden", "score"])
    with pytest.raises(ValueError, match="unrecognized keyword arguments: \\['colour'\\]"):
        model_to_dot(model, colour="red")
    with pytest.raises(ValueError, match="rankdir"):
        model_to_dot(model, rankdir="sideways")


def test_in_a_notebook_returns_an_image(monkeypatch, tmp_path):
    shown = []
    display = types.SimpleNamespace(Image=lambda filename: shown.append(("image", filename)) or "image",
                                    SVG=lambda filename: shown.append(("svg", filename)) or "svg")
    shell = types.SimpleNamespace(kernel=object())
    fake = types.ModuleType("IPython")
    fake.get_ipython, fake.display = (lambda: shell), display
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert plot_model(sequential(), to_file=str(tmp_path / "m.png")) == "image"
    assert plot_model(sequential(), to_file=str(tmp_path / "m.svg")) == "svg"
    assert shown == [("image", str(tmp_path / "m.png")), ("svg", str(tmp_path / "m.svg"))]
    shell.kernel = None  # a terminal IPython, not a notebook
    assert plot_model(sequential(), to_file=str(tmp_path / "m.png")) is None


def test_keras2_path():
    from mlfront.utils import vis_utils
    assert vis_utils.plot_model is plot_model and vis_utils.model_to_dot is model_to_dot
    assert mlfront.utils.model_visualization.plot_model is plot_model
