"""Embedding and Masking, and their masks driving recurrent layers inside a Sequential model."""

import numpy as np
import pytest
from layer_testing import run_layer_test
from references import recurrent as ref

import mlfront
from mlfront import layers, ops

INDICES = np.array([[3, 1, 0, 7, 0], [0, 2, 9, 9, 4]])


def test_embedding_lookup():
    layer, _ = run_layer_test(layers.Embedding, {"input_dim": 10, "output_dim": 4}, INDICES,
                              reference=lambda layer, x: ref.embedding(x, layer.get_weights()[0]),
                              expected_output_shape=(2, 5, 4), expected_num_trainable_weights=1,
                              expected_num_non_trainable_weights=0)
    table = layer.get_weights()[0]
    assert table.shape == (10, 4)
    assert np.all(np.abs(table) <= 0.05) and np.std(table) > 0.01  # "uniform": U(-0.05, 0.05)


def test_embedding_mask_weights_and_keras2_arguments():
    table = np.arange(24, dtype="float32").reshape(6, 4)
    layer = layers.Embedding(6, 4, mask_zero=True, weights=[table], input_length=5)
    x = ops.convert_to_tensor(INDICES % 6)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x)), table[INDICES % 6])
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.compute_mask(x)), INDICES % 6 != 0)
    assert layers.Embedding(6, 4).compute_mask(x) is None
    model = mlfront.Sequential([layers.Embedding(6, 4, input_length=5)])
    assert model.compute_output_shape((None, 5)) == (None, 5, 4)
    assert model.layers[0]._declared_input_shape == (None, 5)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(6, 0)


@pytest.mark.parametrize("recurrent", ["lstm", "gru"])
def test_embedding_mask_drives_recurrent_layer_in_sequential(recurrent):
    layer_class, reference = {"lstm": (layers.LSTM, ref.lstm), "gru": (layers.GRU, ref.gru)}[recurrent]
    model = mlfront.Sequential([layers.Input((5,), dtype="int32"), layers.Embedding(10, 3, mask_zero=True),
                                layer_class(4, return_sequences=True)])
    got = ops.convert_to_numpy(model(ops.convert_to_tensor(INDICES)))
    table, *weights = model.get_weights()
    embedded = ref.embedding(INDICES, table)
    masked, _ = reference(embedded, *weights, mask=INDICES != 0)
    unmasked, _ = reference(embedded, *weights)
    np.testing.assert_allclose(got, masked, rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, unmasked, atol=1e-4)


def test_masking_layer():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    x[0, 2] = 0.5
    x[1, [0, 4]] = 0.5
    x[1, 1, 0] = 0.5  # one feature equal to the mask value does not mask the step
    run_layer_test(layers.Masking, {"mask_value": 0.5}, x, reference=lambda layer, x: ref.masking(x, 0.5)[0],
                   expected_output_shape=(2, 5, 3))
    mask = ops.convert_to_numpy(layers.Masking(0.5).compute_mask(ops.convert_to_tensor(x)))
    np.testing.assert_array_equal(mask, ref.masking(x, 0.5)[1])
    assert mask.sum() == 7

    model = mlfront.Sequential([layers.Input((5, 3)), layers.Masking(0.5), layers.SimpleRNN(4)])
    got = ops.convert_to_numpy(model(ops.convert_to_tensor(x)))
    masked_x, keep = ref.masking(x, 0.5)
    expected, _ = ref.simple_rnn(masked_x, *model.get_weights(), mask=keep)
    np.testing.assert_allclose(got, expected[:, -1], rtol=1e-5, atol=1e-5)


def test_embedding_lstm_model_trains():
    model = mlfront.Sequential([layers.Input((5,), dtype="int32"), layers.Embedding(10, 3, mask_zero=True),
                                layers.Bidirectional(layers.LSTM(4)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    target = np.array([[1.0], [-1.0]], "float32")
    first = model.evaluate(INDICES, target, verbose=0)
    model.fit(INDICES, target, epochs=5, verbose=0)
    assert model.evaluate(INDICES, target, verbose=0) < first


def test_sequential_stack_predicts_and_round_trips_config():
    model = mlfront.Sequential([layers.Embedding(10, 3, mask_zero=True, input_length=5),
                                layers.Bidirectional(layers.GRU(4, return_sequences=True)),
                                layers.TimeDistributed(layers.Dense(2)), layers.LSTM(3)])
    predicted = model.predict(INDICES, verbose=0)
    assert predicted.shape == (2, 3)
    clone = mlfront.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(INDICES, verbose=0), predicted, rtol=1e-6, atol=1e-6)
    paths = [v.path for v in clone.weights]
    assert [p.split("/")[0][:8] for p in paths[1:7]] == ["forward_"] * 3 + ["backward"] * 3
    assert [p.split("/")[1] for p in paths[1:7]] == ["kernel", "recurrent_kernel", "bias"] * 2
