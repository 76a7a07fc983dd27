"""`mlfront.preprocessing.sequence` against Keras 2's results (fixtures written by
`tests/fixtures/make_text_fixtures.py` with tf_keras)."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.preprocessing import sequence

EXPECTED = json.loads((Path(__file__).parent / "fixtures" / "sequence_fixtures.json").read_text(encoding="utf-8"))
PAD_INPUTS = EXPECTED["pad_inputs"]
TIMESERIES_DATA = np.arange(60, dtype="float64").reshape(30, 2)  # as in the fixture generator
TIMESERIES_TARGETS = np.arange(100, 130)


@pytest.mark.parametrize("case", EXPECTED["pad"], ids=lambda c: f"{c['input']}-{json.dumps(c['kwargs'])}")
def test_pad_sequences_matches_keras2(case):
    got = sequence.pad_sequences(PAD_INPUTS[case["input"]], **case["kwargs"])
    assert str(got.dtype) == case["dtype"]
    assert got.tolist() == case["result"]


def test_pad_sequences_dtypes_and_inputs():
    strings = PAD_INPUTS["strings"]
    as_objects = sequence.pad_sequences(strings, dtype=object, value="<pad>")
    assert as_objects.dtype == object
    np.testing.assert_array_equal(sequence.pad_sequences(strings, dtype="object", value="<pad>"), as_objects)
    # an unsized str dtype fits the longest string (Keras 2 would cut every string to one character)
    as_str = sequence.pad_sequences(strings, dtype=str, value="<pad>")
    assert as_str.dtype == np.dtype("<U5")
    np.testing.assert_array_equal(as_str, as_objects.astype(str))
    arrays = [np.array([1, 2, 3]), np.array([4])]
    np.testing.assert_array_equal(sequence.pad_sequences(arrays, padding="post"), [[1, 2, 3], [4, 0, 0]])
    np.testing.assert_array_equal(sequence.pad_sequences(np.array([[1, 2], [3, 4]]), maxlen=1), [[2], [4]])
    assert sequence.pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert sequence.pad_sequences([]).shape == (0, 0)
    nan_padded = sequence.pad_sequences([[1.5], []], maxlen=2, dtype="float32", value=np.nan)
    np.testing.assert_array_equal(nan_padded, np.array([[np.nan, 1.5], [np.nan, np.nan]], "float32"))


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match='padding type "middle" not understood'):
        sequence.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='truncating type "both" not understood'):
        sequence.pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="list of iterables.*position 1"):
        sequence.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="must be a list of sequences"):
        sequence.pad_sequences(5)
    with pytest.raises(ValueError, match="not compatible with `value`"):
        sequence.pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match=r"shape of sample \(3,\) of sequence at position 1 .* expected shape "
                                         r"\(2,\)"):
        sequence.pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ValueError, match="position 0 cannot become an array"):
        sequence.pad_sequences([[[1, 2], [3]]])
    with pytest.raises(ValueError, match="maxlen"):
        sequence.pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="padding `value`"):
        sequence.pad_sequences([[1]], value=None)


@pytest.mark.parametrize("case", EXPECTED["timeseries"], ids=lambda c: json.dumps(c["kwargs"]))
def test_timeseries_generator_matches_keras2(case):
    generator = sequence.TimeseriesGenerator(TIMESERIES_DATA, TIMESERIES_TARGETS, **case["kwargs"])
    assert isinstance(generator, mlfront.utils.PyDataset)
    assert len(generator) == case["len"]
    for index, (x, y) in enumerate(case["batches"]):
        got_x, got_y = generator[index]
        np.testing.assert_array_equal(got_x, np.array(x))
        np.testing.assert_array_equal(got_y, np.array(y))
    assert [batch[1].tolist() for batch in generator] == [y for _, y in case["batches"]]  # iteration stops
    assert json.loads(generator.to_json()) == json.loads(case["to_json"])
    np.testing.assert_array_equal(generator[-1][1], np.array(case["batches"][-1][1]))
    with pytest.raises(IndexError, match="out of range"):
        generator[len(generator)]


def test_timeseries_generator_shuffle_draws_like_keras2():
    record = EXPECTED["timeseries_shuffled"]
    np.random.seed(record["numpy_seed"])
    generator = sequence.TimeseriesGenerator(TIMESERIES_DATA, TIMESERIES_TARGETS, **record["kwargs"])
    for index, (x, y) in enumerate(record["batches"]):
        got_x, got_y = generator[index]
        np.testing.assert_array_equal(got_x, np.array(x))
        np.testing.assert_array_equal(got_y, np.array(y))


def test_timeseries_generator_on_lists_and_docstring_example():
    data = [[i] for i in range(50)]
    generator = sequence.TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    assert len(generator) == 20
    x, y = generator[0]
    np.testing.assert_array_equal(x[:, :, 0], [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]])
    np.testing.assert_array_equal(y, [[10], [11]])
    assert json.loads(generator.get_config()["data"]) == data


def test_timeseries_generator_errors():
    data = np.zeros((10, 2))
    with pytest.raises(ValueError, match="same length. Data length is 10 while target length is 9"):
        sequence.TimeseriesGenerator(data, np.zeros(9), length=3)
    with pytest.raises(ValueError, match="start_index\\+length=12 > end_index=9"):
        sequence.TimeseriesGenerator(data, data, length=10, start_index=2)
    for name in ("length", "sampling_rate", "stride", "batch_size"):
        with pytest.raises(ValueError, match=name):
            sequence.TimeseriesGenerator(data, data, **{"length": 2, name: 0})
    with pytest.raises(ValueError, match="end_index"):
        sequence.TimeseriesGenerator(data, data, length=2, end_index=10)
    with pytest.raises(TypeError, match="`data` must be indexable"):
        sequence.TimeseriesGenerator(5, data, length=2)
    with pytest.raises(TypeError, match="not JSON serializable"):
        sequence.TimeseriesGenerator([object()] * 4, [0] * 4, length=1).get_config()


def test_timeseries_generator_trains_through_fit():
    t = np.linspace(0, 6 * np.pi, 80)
    series = np.stack([np.sin(t), np.cos(t)], axis=-1).astype("float32")
    generator = sequence.TimeseriesGenerator(series, series[:, :1], length=6, stride=2, batch_size=8)
    model = mlfront.Sequential([layers.Input((6, 2)), layers.LSTM(4), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(generator, verbose=0)
    history = model.fit(generator, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))
    assert model.evaluate(generator, verbose=0) < before
    assert model.predict(generator, verbose=0).shape == (sum(len(generator[i][1]) for i in range(len(generator))),
                                                        1)


@pytest.mark.parametrize("case", EXPECTED["skipgrams"], ids=lambda c: json.dumps(c["kwargs"]))
def test_skipgrams_match_keras2(case):
    kwargs = dict(case["kwargs"])
    if kwargs.get("sampling_table"):
        kwargs["sampling_table"] = np.array(EXPECTED["skipgram_table"])
    random.seed(case["python_seed"])
    couples, labels = sequence.skipgrams(EXPECTED["skipgram_sequence"], 10, **kwargs)
    assert couples == case["couples"]
    assert labels == case["labels"]


def test_skipgrams_pairs_and_errors():
    couples, labels = sequence.skipgrams([1, 2, 0, 3], 4, window_size=1, negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [2, 1]] and labels == [1, 1]  # 0 is not a word, and cuts the window
    couples, labels = sequence.skipgrams(np.array([1, 2, 3]), 4, negative_samples=1, seed=np.int64(3),
                                         categorical=True)
    assert len(couples) == 12 and sorted(map(tuple, labels)) == [(0, 1)] * 6 + [(1, 0)] * 6
    assert all(1 <= c <= 3 for pair in couples for c in pair)
    assert sequence.skipgrams([], 5) == ([], [])
    with pytest.raises(ValueError, match="vocabulary_size"):
        sequence.skipgrams([1, 2], 1)
    with pytest.raises(ValueError, match="negative_samples"):
        sequence.skipgrams([1, 2], 5, negative_samples=-1)
    with pytest.raises(ValueError, match="sampling_table"):
        sequence.skipgrams([1, 7], 8, sampling_table=np.ones(5))
    with pytest.raises(TypeError, match="sequence"):
        sequence.skipgrams("1 2 3", 5)


@pytest.mark.parametrize("case", EXPECTED["sampling_tables"], ids=lambda c: f"{c['size']}-{c['sampling_factor']}")
def test_make_sampling_table_matches_keras2(case):
    got = sequence.make_sampling_table(case["size"], case["sampling_factor"])
    np.testing.assert_allclose(got, case["table"], rtol=1e-12)
    # word2vec's keep probability, min(1, sqrt(sampling_factor / frequency)), for the Zipf frequency of each rank
    rank = np.maximum(np.arange(case["size"]), 1).astype("float64")
    frequency = 1 / (rank * (np.log(rank) + 0.577) + 0.5 - 1 / (12 * rank))
    np.testing.assert_allclose(got, np.minimum(1.0, np.sqrt(case["sampling_factor"] / frequency)), rtol=1e-12)
    with pytest.raises(ValueError, match="sampling_factor"):
        sequence.make_sampling_table(5, 0)
