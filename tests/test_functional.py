"""The Functional API: `Model(inputs, outputs)` graphs checked against NumPy compositions of their layers."""

import gc
import json
import weakref

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from references import core as ref
from references import functional as fref


class Sum(layers.Layer):
    """Adds a list of tensors (a test merge layer written with `mlfront.ops`)."""

    def call(self, inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


class MaskNonzero(layers.Layer):
    """Passes its input through and masks the time steps that are all zeros (like Masking(0.0))."""

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return ops.max(ops.abs(inputs), axis=-1) > 0


class MaskedMean(layers.Layer):
    """The mean over time of the steps its mask keeps (all steps without a mask)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.sum(inputs * weights, axis=1) / ops.sum(weights, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


def forward(model, x):
    """The model's output on NumPy `x` (array, list or dict), called eagerly, as NumPy."""
    out = model(ops.convert_to_tensor(x) if isinstance(x, np.ndarray) else
                {k: ops.convert_to_tensor(v) for k, v in x.items()} if isinstance(x, dict) else
                [ops.convert_to_tensor(v) for v in x])
    return [ops.convert_to_numpy(o) for o in out] if isinstance(out, list) else ops.convert_to_numpy(out)


def two_input_two_output_model():
    a = mlfront.Input(shape=(4,), name="a")
    b = mlfront.Input(shape=(3,), name="b")
    ha = layers.Dense(5, activation="relu", name="branch_a")(a)
    hb = layers.Dense(5, activation="tanh", name="branch_b")(b)
    merged = Sum(name="sum")([ha, hb])
    out_a = layers.Dense(2, name="out_a")(merged)
    out_b = layers.Dense(1, name="out_b")(hb)
    return mlfront.Model([a, b], [out_a, out_b], name="two_by_two")


def two_input_two_output_reference(model, xa, xb):
    ha = fref.dense_layer(model.get_layer("branch_a"), xa, "relu")
    hb = fref.dense_layer(model.get_layer("branch_b"), xb, "tanh")
    return fref.dense_layer(model.get_layer("out_a"), ha + hb), fref.dense_layer(model.get_layer("out_b"), hb)


@pytest.fixture
def data(rng):
    xa = rng.normal(size=(6, 4)).astype("float32")
    xb = rng.normal(size=(6, 3)).astype("float32")
    ya = rng.normal(size=(6, 2)).astype("float32")
    yb = rng.normal(size=(6, 1)).astype("float32")
    return xa, xb, ya, yb


# ---------------------------------------------------------------------- forward pass against NumPy
def test_two_branch_model_matches_numpy_composition(data):
    xa, xb, _, _ = data
    model = two_input_two_output_model()
    pred_a, pred_b = model.predict([xa, xb], verbose=0)
    want_a, want_b = two_input_two_output_reference(model, xa, xb)
    np.testing.assert_allclose(pred_a, want_a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pred_b, want_b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(forward(model, [xa, xb])[0], want_a, rtol=1e-5, atol=1e-5)


def test_structure_names_and_layer_order():
    model = two_input_two_output_model()
    assert [layer.name for layer in model.layers] == ["a", "b", "branch_a", "branch_b", "sum", "out_a", "out_b"]
    assert isinstance(model.layers[0], layers.InputLayer)
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["out_a", "out_b"]
    assert [t.shape for t in model.inputs] == [(None, 4), (None, 3)]
    assert [t.shape for t in model.outputs] == [(None, 2), (None, 1)]
    assert model.get_layer("sum").name == "sum"
    assert model.get_layer(index=2).name == "branch_a"
    assert len(model.trainable_weights) == 8
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")


def test_dict_inputs_and_outputs(data):
    xa, xb, _, _ = data
    a = mlfront.Input(shape=(4,), name="a")
    b = mlfront.Input(shape=(3,), name="b")
    first, second = layers.Dense(2, name="first"), layers.Dense(3, name="second")
    model = mlfront.Model({"a": a, "b": b}, {"left": first(a), "right": second(b)})
    assert model.output_names == ["left", "right"]
    out = model.predict({"b": xb, "a": xa}, verbose=0)
    np.testing.assert_allclose(out["left"], fref.dense_layer(first, xa), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["right"], fref.dense_layer(second, xb), rtol=1e-5, atol=1e-5)


def test_named_dict_inputs_to_a_list_input_model(data):
    xa, xb, _, _ = data
    model = two_input_two_output_model()
    by_name = model.predict({"b": xb, "a": xa}, verbose=0)
    by_order = forward(model, [xa, xb])
    # predict's compiled forward (XLA on tensorflow) against the eager one: float32 rounding apart
    np.testing.assert_allclose(by_name[0], by_order[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\['b'\] missing"):
        model.predict({"a": xa}, verbose=0)


def test_shared_layer_uses_one_set_of_weights(rng):
    x1 = rng.normal(size=(5, 3)).astype("float32")
    x2 = rng.normal(size=(5, 3)).astype("float32")
    i1, i2 = mlfront.Input(shape=(3,)), mlfront.Input(shape=(3,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    model = mlfront.Model([i1, i2], [shared(i1), shared(i2)])
    assert len(model.weights) == 2
    assert model.layers.count(shared) == 1
    model.compile(mlfront.optimizers.SGD(0.1), "mse")
    model.fit([x1, x2], [np.zeros((5, 4)), np.ones((5, 4))], epochs=2, verbose=0)
    out1, out2 = forward(model, [x1, x2])
    np.testing.assert_allclose(out1, fref.dense_layer(shared, x1, "tanh"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out2, fref.dense_layer(shared, x2, "tanh"), rtol=1e-5, atol=1e-5)
    assert model.get_config()["layers"][-1]["inbound_nodes"].__len__() == 2


def test_nested_model_is_a_layer_with_its_weights(rng):
    x = rng.normal(size=(4, 3)).astype("float32")
    inner_in = mlfront.Input(shape=(3,))
    inner = mlfront.Model(inner_in, layers.Dense(2, name="inner_out")(layers.Dense(5, activation="relu",
                                                                                  name="inner_hidden")(inner_in)))
    outer_in = mlfront.Input(shape=(3,))
    head = layers.Dense(1, name="head")
    outer = mlfront.Model(outer_in, head(inner(outer_in)))
    assert outer.layers[1] is inner and len(outer.trainable_weights) == 6

    def reference():
        hidden = fref.dense_layer(inner.get_layer("inner_hidden"), x, "relu")
        return fref.dense_layer(head, fref.dense_layer(inner.get_layer("inner_out"), hidden))

    np.testing.assert_allclose(forward(outer, x), reference(), rtol=1e-5, atol=1e-5)
    before = inner.get_weights()
    outer.compile(mlfront.optimizers.SGD(0.1), "mse")
    outer.fit(x, np.ones((4, 1)), epochs=1, verbose=0)
    assert any(not np.allclose(b, a) for b, a in zip(before, inner.get_weights())), "inner weights not trained"
    np.testing.assert_allclose(forward(outer, x), reference(), rtol=1e-5, atol=1e-5)


def test_model_called_twice_shares_its_weights(rng):
    x1 = rng.normal(size=(3, 2)).astype("float32")
    x2 = rng.normal(size=(3, 2)).astype("float32")
    i = mlfront.Input(shape=(2,))
    tower = mlfront.Model(i, layers.Dense(3, name="tower_dense")(i), name="tower")
    a, b = mlfront.Input(shape=(2,)), mlfront.Input(shape=(2,))
    siamese = mlfront.Model([a, b], Sum()([tower(a), tower(b)]))
    assert len(siamese.weights) == 2
    dense = tower.get_layer("tower_dense")
    want = fref.dense_layer(dense, x1) + fref.dense_layer(dense, x2)
    np.testing.assert_allclose(forward(siamese, [x1, x2]), want, rtol=1e-5, atol=1e-5)


def test_feature_extractor_from_a_trained_model(rng):
    x = rng.normal(size=(8, 4)).astype("float32")
    inputs = mlfront.Input(shape=(4,))
    first = layers.Dense(6, activation="relu", name="first")
    hidden = layers.Dense(3, activation="tanh", name="hidden")
    model = mlfront.Model(inputs, layers.Dense(1)(hidden(first(inputs))))
    model.compile(mlfront.optimizers.SGD(0.1), "mse")
    model.fit(x, np.ones((8, 1)), epochs=1, verbose=0)
    extractor = mlfront.Model(model.input, model.get_layer("hidden").output)
    want = fref.dense_layer(hidden, fref.dense_layer(first, x, "relu"), "tanh")
    np.testing.assert_allclose(forward(extractor, x), want, rtol=1e-5, atol=1e-5)
    assert [layer.name for layer in extractor.layers][1:] == ["first", "hidden"]
    assert hidden.input_shape == (None, 6) and hidden.output_shape == (None, 3)
    assert hidden.input is first.output


def test_layer_graph_attributes_errors():
    never_called = layers.Dense(2, name="never_called")
    with pytest.raises(AttributeError, match="'never_called' has never been called"):
        never_called.output
    shared = layers.Dense(2, name="shared_twice")
    shared(mlfront.Input(shape=(3,)))
    shared(mlfront.Input(shape=(5, 3)))
    with pytest.raises(AttributeError, match="'shared_twice' was called 2 times .* input_shape is ambiguous"):
        shared.input_shape
    assert shared.output.shape == (None, 2)  # the first call's, as in Keras


class Gate(layers.Layer):
    """`inputs * sigmoid(gate) * scale`: a layer whose call takes a second tensor as a keyword argument."""

    def call(self, inputs, gate=None, scale=1.0):
        return inputs * ops.sigmoid(gate) * scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def test_tensors_and_constants_passed_as_call_arguments(rng):
    x = rng.normal(size=(3, 2)).astype("float32")
    g = rng.normal(size=(3, 2)).astype("float32")
    xi, gi = mlfront.Input(shape=(2,), name="x"), mlfront.Input(shape=(2,), name="g")
    model = mlfront.Model([xi, gi], Gate(name="gate")(xi, gate=layers.Dense(2, name="g_dense")(gi), scale=3.0))
    want = x * ref.sigmoid(fref.dense_layer(model.get_layer("g_dense"), g)) * 3.0
    np.testing.assert_allclose(forward(model, [x, g]), want, rtol=1e-5, atol=1e-5)
    clone = mlfront.Model.from_config(json.loads(json.dumps(model.get_config())), custom_objects={"Gate": Gate})
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(forward(clone, [x, g]), want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- training flag and masks
def test_training_flag_reaches_dropout(rng):
    x = rng.normal(size=(16, 8)).astype("float32")
    inputs = mlfront.Input(shape=(8,))
    dense = layers.Dense(8, name="dense")
    model = mlfront.Model(inputs, layers.Dropout(0.5)(dense(inputs)))
    np.testing.assert_allclose(forward(model, x), fref.dense_layer(dense, x), rtol=1e-5, atol=1e-5)
    trained = ops.convert_to_numpy(model(ops.convert_to_tensor(x), training=True))
    assert np.mean(trained == 0) > 0.2


def test_mask_propagates_along_the_graph(rng):
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0
    x[1, 1:] = 0
    inputs = mlfront.Input(shape=(5, 2))
    dense = layers.Dense(4, name="dense")
    model = mlfront.Model(inputs, MaskedMean()(dense(MaskNonzero()(inputs))))
    want = fref.masked_mean(fref.dense_layer(dense, x), fref.nonzero_steps(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    unmasked = mlfront.Model(inputs, MaskedMean()(dense(inputs)))
    assert not np.allclose(forward(unmasked, x), want, atol=1e-3)


def test_mask_reaches_layers_inside_a_nested_model(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    x[1, 2:] = 0
    inner_in = mlfront.Input(shape=(4, 3))
    dense = layers.Dense(2, name="dense")
    inner = mlfront.Model(inner_in, MaskedMean()(dense(inner_in)))
    outer_in = mlfront.Input(shape=(4, 3))
    outer = mlfront.Model(outer_in, inner(MaskNonzero()(outer_in)))
    want = fref.masked_mean(fref.dense_layer(dense, x), fref.nonzero_steps(x))
    np.testing.assert_allclose(forward(outer, x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not all(hasattr(layers, n) for n in ("Embedding", "LSTM")), reason="Embedding/LSTM missing")
def test_embedding_mask_reaches_lstm():
    tokens = mlfront.Input(shape=(None,), dtype="int32")
    model = mlfront.Model(tokens, layers.LSTM(3)(layers.Embedding(10, 4, mask_zero=True)(tokens)))
    padded = np.array([[4, 2, 7, 0, 0], [1, 5, 0, 0, 0]], dtype="int32")
    for row, length in zip(padded, (3, 2)):
        np.testing.assert_allclose(model.predict(row[None], verbose=0), model.predict(row[None, :length], verbose=0),
                                   rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- fit / evaluate with several outputs
def test_per_output_losses_and_loss_weights(data):
    xa, xb, ya, yb = data
    model = two_input_two_output_model()
    model.compile(optimizer="sgd", loss={"out_a": "mse", "out_b": "mae"}, loss_weights={"out_a": 0.3, "out_b": 2.0},
                  metrics={"out_b": ["mae"]})
    logs = model.evaluate({"a": xa, "b": xb}, {"out_a": ya, "out_b": yb}, batch_size=6, verbose=0, return_dict=True)
    pred_a, pred_b = two_input_two_output_reference(model, xa, xb)
    loss_a, loss_b = ref.mse(ya, pred_a).mean(), ref.mae(yb, pred_b).mean()
    np.testing.assert_allclose(logs["loss"], 0.3 * loss_a + 2.0 * loss_b, rtol=1e-5)
    np.testing.assert_allclose(logs["out_a_loss"], loss_a, rtol=1e-5)
    np.testing.assert_allclose(logs["out_b_loss"], loss_b, rtol=1e-5)
    np.testing.assert_allclose(logs["out_b_mae"], loss_b, rtol=1e-5)

    history = model.fit([xa, xb], [ya, yb], epochs=3, batch_size=6, verbose=0)
    assert {"loss", "out_a_loss", "out_b_loss", "out_b_mae"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]
    pred_a, pred_b = forward(model, [xa, xb])
    np.testing.assert_allclose(model.evaluate([xa, xb], [ya, yb], verbose=0)[0],
                               0.3 * ref.mse(ya, pred_a).mean() + 2.0 * ref.mae(yb, pred_b).mean(), rtol=1e-5)


def test_list_losses_are_matched_by_output_order(data):
    xa, xb, ya, yb = data
    model = two_input_two_output_model()
    model.compile(optimizer="sgd", loss=["mae", "mse"], loss_weights=[1.0, 0.5])
    loss = model.evaluate([xa, xb], [ya, yb], verbose=0)[0]
    pred_a, pred_b = two_input_two_output_reference(model, xa, xb)
    np.testing.assert_allclose(loss, ref.mae(ya, pred_a).mean() + 0.5 * ref.mse(yb, pred_b).mean(), rtol=1e-5)


# ---------------------------------------------------------------------- summary and config
def test_summary_has_connected_to_column_and_param_counts():
    model = two_input_two_output_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith(" ") and "(" in line}
    assert rows["branch_a"].split()[4] == str(4 * 5 + 5) and "a[0][0]" in rows["branch_a"]
    assert rows["sum"].split()[4] == "0" and "branch_a[0][0]" in rows["sum"]
    assert "branch_b[0][0]" in text.split("sum (Sum)")[1].splitlines()[1]  # second input on the next line
    assert rows["out_b"].split()[4] == str(5 * 1 + 1)
    total = (4 * 5 + 5) + (3 * 5 + 5) + (5 * 2 + 2) + (5 * 1 + 1)
    assert f"Total params: {total:,}" in text


def test_get_config_from_config_round_trip(data):
    xa, xb, _, _ = data
    model = two_input_two_output_model()
    config = json.loads(json.dumps(model.get_config()))
    with pytest.raises(ValueError, match="custom_objects"):
        mlfront.Model.from_config(config)
    clone = mlfront.Model.from_config(config, custom_objects={"Sum": Sum})
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.output_names == model.output_names and clone.name == model.name
    clone.set_weights(model.get_weights())
    for got, want in zip(forward(clone, [xa, xb]), forward(model, [xa, xb])):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_config_round_trip_with_shared_and_nested_models(rng, tmp_path):
    x1 = rng.normal(size=(3, 2)).astype("float32")
    x2 = rng.normal(size=(3, 2)).astype("float32")
    i = mlfront.Input(shape=(2,))
    tower = mlfront.Model(i, layers.Dense(3, activation="relu")(i), name="tower")
    a, b = mlfront.Input(shape=(2,)), mlfront.Input(shape=(2,))
    shared = layers.Dense(2, name="shared")
    model = mlfront.Model([a, b], [shared(tower(a)), Sum()([shared(tower(b)), shared(tower(a))])])
    clone = mlfront.Model.from_config(json.loads(json.dumps(model.get_config())), custom_objects={"Sum": Sum})
    model.save_weights(tmp_path / "model.weights.h5")
    clone.load_weights(tmp_path / "model.weights.h5")
    assert len(clone.weights) == 4
    for got, want in zip(forward(clone, [x1, x2]), forward(model, [x1, x2])):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------- errors
def test_output_not_connected_to_inputs_is_a_clear_error():
    a, b = mlfront.Input(shape=(2,), name="in_a"), mlfront.Input(shape=(2,), name="in_b")
    out = Sum()([layers.Dense(2)(a), layers.Dense(2)(b)])
    with pytest.raises(ValueError, match="not connected to the model's inputs.*'in_b'"):
        mlfront.Model(a, out)
    with pytest.raises(TypeError, match="`outputs` must be symbolic tensors"):
        mlfront.Model(a, np.zeros((1, 2)))


def test_wrong_input_count_and_shape_are_clear_errors(data):
    xa, xb, ya, yb = data
    model = two_input_two_output_model()
    with pytest.raises(ValueError, match=r"expects 2 inputs \['a', 'b'\], but it was called on a list of 3"):
        model([ops.convert_to_tensor(xa)] * 3)
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict(xa, verbose=0)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="layer 'branch_b'.*expected shape=\\(None, 3\\), found shape=\\(6, 4\\)"):
        model.fit([xa, xa], [ya, yb], verbose=0)


def test_duplicate_layer_names_are_rejected():
    inputs = mlfront.Input(shape=(2,))
    with pytest.raises(ValueError, match="names must be unique.*'twin'"):
        mlfront.Model(inputs, layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(inputs)))


class _Probe(layers.Layer):
    """Identity that keeps a weak reference to its output and, when it has `watched` probes, records at its call
    whether each one's output has been freed."""

    def __init__(self, watched=(), **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.watched, self.ref, self.freed = watched, None, None

    def call(self, inputs):
        if self.watched:
            gc.collect()
            self.freed = [probe.ref() is None for probe in self.watched]
        outputs = inputs * 1.0
        self.ref = weakref.ref(outputs)
        return outputs


@pytest.mark.parametrize("masked", [False, True])
def test_values_no_later_layer_reads_are_freed_during_the_pass(rng, masked):
    """An intermediate value is dropped once its last reader has run (an eager forward holds only live values),
    while a value that a later layer still reads is kept; with a mask the graph takes its general path."""
    x = mlfront.Input((3,))
    first, second = _Probe(name="first"), _Probe(name="second")
    h = first(layers.Masking()(x) if masked else x)
    h2 = second(layers.Dense(3)(h))
    third = _Probe(watched=(first, second), name="third")
    h3 = third(layers.Dense(3)(h2))
    model = mlfront.Model(x, layers.Add()([h2, h3]))
    data = rng.normal(size=(2, 3)).astype("float32")
    model(ops.convert_to_tensor(data))
    assert third.freed == [True, False], "first's output must be freed (no later reader), second's kept (Add reads it)"
