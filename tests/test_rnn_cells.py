"""RNN(cell) with SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells and custom cells (the Keras guide's
MinimalRNNCell): equal to the fused layers with the same weights, NumPy step formulas, masks, go_backwards, states,
Keras 3 with the same weights where installed, config round trips and training."""


import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from layer_testing import check_config
from keras_reference import keras, needs_keras


RNG = np.random.default_rng(21)
X = RNG.normal(size=(3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 1, 0]], bool)


def _t(x):
    return ops.convert_to_tensor(x)


def _np(x):
    return ops.convert_to_numpy(x)


class MinimalRNNCell(layers.Layer):
    """The custom cell of Keras's RNN guide (`call(inputs, states)` without `training`)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


PAIRS = [(lambda: layers.SimpleRNNCell(6), lambda **k: layers.SimpleRNN(6, **k)),
         (lambda: layers.LSTMCell(6), lambda **k: layers.LSTM(6, **k)),
         (lambda: layers.GRUCell(6), lambda **k: layers.GRU(6, **k)),
         (lambda: layers.GRUCell(6, reset_after=False), lambda **k: layers.GRU(6, reset_after=False, **k))]


@pytest.mark.parametrize("make_cell, make_layer", PAIRS, ids=["simple", "lstm", "gru", "gru-reset-before"])
@pytest.mark.parametrize("options", [{}, {"return_sequences": True, "go_backwards": True}, {"return_state": True}])
def test_rnn_of_a_stock_cell_equals_the_layer(make_cell, make_layer, options):
    rnn, layer = layers.RNN(make_cell(), **options), make_layer(**options)
    rnn(_t(X))
    layer(_t(X))
    assert [w.shape for w in rnn.get_weights()] == [w.shape for w in layer.get_weights()]
    rnn.set_weights(layer.get_weights())
    for kwargs in ({}, {"mask": _t(MASK)}):
        for got, want in zip(_as_list(rnn(_t(X), **kwargs)), _as_list(layer(_t(X), **kwargs))):
            np.testing.assert_allclose(_np(got), _np(want), atol=1e-5)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def test_a_stock_cell_called_alone_is_one_step_of_its_layer():
    cell = layers.LSTMCell(3)
    h, c = np.zeros((3, 3), "float32"), np.zeros((3, 3), "float32")
    out, (h1, c1) = cell(_t(X[:, 0]), [_t(h), _t(c)])
    kernel, recurrent, bias = cell.get_weights()
    z = X[:, 0] @ kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))
    expected_c = sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(_np(c1), expected_c, atol=1e-6)
    np.testing.assert_allclose(_np(out), sigmoid(o) * np.tanh(expected_c), atol=1e-6)
    assert cell.state_size == [3, 3] and np.all(bias[3:6] == 1.0)  # unit_forget_bias
    gru_out, gru_state = layers.GRUCell(2)(_t(X[:, 0]), _t(np.zeros((3, 2), "float32")))
    assert _np(gru_state).shape == (3, 2)  # a single state in, a single state out


def test_custom_cell_matches_numpy_with_masks_and_backwards():
    cell = MinimalRNNCell(4)
    rnn = layers.RNN(cell, return_sequences=True)
    rnn(_t(X))
    kernel, recurrent = cell.get_weights()

    def reference(x, mask=None, backwards=False):
        h, outs = np.zeros((x.shape[0], 4)), []
        steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
        for t in steps:
            new = x[:, t] @ kernel + h @ recurrent
            if mask is not None:
                new = np.where(mask[:, t:t + 1], new, h)
            outs.append(new)
            h = new
        return np.stack(outs, 1)
    np.testing.assert_allclose(_np(rnn(_t(X))), reference(X), atol=1e-5)
    np.testing.assert_allclose(_np(rnn(_t(X), mask=_t(MASK))), reference(X, MASK), atol=1e-5)
    backwards = layers.RNN(cell, return_sequences=True, go_backwards=True)
    np.testing.assert_allclose(_np(backwards(_t(X))), reference(X, backwards=True), atol=1e-5)
    zeros = layers.RNN(cell, return_sequences=True, zero_output_for_mask=True)(_t(X), mask=_t(MASK))
    np.testing.assert_allclose(_np(zeros), np.where(MASK[..., None], reference(X, MASK), 0), atol=1e-5)


def test_stacked_cells_equal_stacked_layers():
    cells = [layers.LSTMCell(5), layers.GRUCell(3)]
    stacked = layers.RNN(cells, return_sequences=True, return_state=True)
    outputs = stacked(_t(X), mask=_t(MASK))
    assert isinstance(stacked.cell, layers.StackedRNNCells) and stacked.cell.state_size == [5, 5, 3]
    first, second = layers.LSTM(5, return_sequences=True), layers.GRU(3, return_sequences=True, return_state=True)
    first(_t(X))
    second(first(_t(X)))
    first.set_weights(cells[0].get_weights())
    second.set_weights(cells[1].get_weights())
    expected = second(first(_t(X), mask=_t(MASK)), mask=_t(MASK))
    np.testing.assert_allclose(_np(outputs[0]), _np(expected[0]), atol=1e-5)
    np.testing.assert_allclose(_np(outputs[3]), _np(expected[1]), atol=1e-5)  # the GRU's final state
    # states come flat (h, c of the LSTM, h of the GRU); they feed back flat or grouped per cell (Keras's form)
    for initial in (outputs[1:], [outputs[1:3], [outputs[3]]]):
        np.testing.assert_allclose(_np(stacked(_t(X), initial_state=initial)[0]),
                                   _np(stacked(_t(X), initial_state=outputs[1:])[0]), atol=1e-6)
    inputs = mlfront.Input(shape=(5, 4))
    symbolic = layers.RNN([layers.LSTMCell(5), layers.GRUCell(3)], return_state=True)(inputs)
    assert [tuple(t.shape) for t in symbolic[1:]] == [(None, 5), (None, 5), (None, 3)]


def test_rnn_models_train_save_and_reload(tmp_path):
    model = mlfront.Sequential([mlfront.Input(shape=(5, 4)),
                                layers.RNN([layers.LSTMCell(6, dropout=0.2, recurrent_dropout=0.1),
                                            MinimalRNNCell(3)], return_sequences=True),
                                layers.RNN(layers.GRUCell(4, dropout=0.1)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    y = RNG.normal(size=(3, 1)).astype("float32")
    history = model.fit(X, y, epochs=3, batch_size=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    path = tmp_path / "rnn.keras"
    model.save(path)
    loaded = mlfront.models.load_model(path, custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-5)
    for layer in (layers.RNN(layers.LSTMCell(2, recurrent_dropout=0.3, seed=1), return_state=True),
                  layers.RNN([layers.SimpleRNNCell(2), layers.GRUCell(3, reset_after=False)])):
        config = check_config(layer)
        assert layers.RNN.from_config(config).get_config() == layer.get_config()
    for cell in (layers.SimpleRNNCell(2, activation="relu"), layers.LSTMCell(2, unit_forget_bias=False),
                 layers.GRUCell(2, recurrent_activation="hard_sigmoid")):
        assert type(cell).from_config(check_config(cell)).get_config() == cell.get_config()


def test_rnn_errors_name_the_layer():
    with pytest.raises(ValueError, match="RNN 'r': a cell must be a Layer with a `call\\(inputs, states\\)` and a "
                                         "`state_size`"):
        layers.RNN(layers.Dense(3), name="r")
    with pytest.raises(ValueError, match="RNN 's': `initial_state` must hold 2 array"):
        layers.RNN(layers.LSTMCell(2), name="s")(_t(X), initial_state=[_t(np.zeros((3, 2), "float32"))])
    with pytest.raises(ValueError, match="LSTMCell 'c': `dropout` must be in \\[0, 1\\)"):
        layers.LSTMCell(2, dropout=1.0, name="c")
    with pytest.raises(ValueError, match="RNN 't': expected ndim=3"):
        layers.RNN(layers.GRUCell(2), name="t")(_t(X[:, 0]))


@needs_keras
@pytest.mark.parametrize("make", [lambda lib: lib.layers.RNN(lib.layers.LSTMCell(4), return_sequences=True),
                                  lambda lib: lib.layers.RNN(lib.layers.GRUCell(3), go_backwards=True),
                                  lambda lib: lib.layers.RNN([lib.layers.SimpleRNNCell(3), lib.layers.LSTMCell(2)],
                                                             return_state=True)],
                         ids=["lstm-cell", "gru-cell-backwards", "stacked"])
def test_matches_keras_with_the_same_weights(make):
    ours, theirs = make(mlfront), make(keras)
    ours(_t(X))
    theirs(X)
    weights = [RNG.normal(scale=0.5, size=np.shape(w)).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for got, want in zip(_flat(ours(_t(X), mask=_t(MASK))), _flat(theirs(X, mask=MASK))):
        np.testing.assert_allclose(_np(got), keras.ops.convert_to_numpy(want), atol=1e-5)


def _flat(x):
    return [leaf for item in _as_list(x) for leaf in (_flat(item) if isinstance(item, (list, tuple)) else [item])]
