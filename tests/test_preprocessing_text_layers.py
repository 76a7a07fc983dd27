"""Hashing, StringLookup, IntegerLookup and TextVectorization: Keras 3's numbers, and host layers in models.

The references are real Keras 3 results, committed in fixtures/lookup_fixtures.json (written by
fixtures/make_lookup_fixtures.py).
"""

import json
import os

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.layers.preprocessing import _hash_functions

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "lookup_fixtures.json"), encoding="utf-8") as _f:
    FIXTURES = json.load(_f)
CASES = {case["name"]: case for case in FIXTURES["cases"]}


def _build(case):
    layer = getattr(layers, case["layer"])(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(np.array(case["adapt"]))
    return layer


def _assert_matches(output, expected):
    output = np.asarray(output)
    if output.dtype.kind in "UO":
        assert output.tolist() == expected
    else:
        assert output.shape == np.asarray(expected).shape
        np.testing.assert_allclose(output, np.asarray(expected, dtype=np.float64), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------- Keras's numbers
@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_keras(name):
    case = CASES[name]
    layer = _build(case)
    _assert_matches(layer(np.array(case["inputs"])), case["output"])
    if "vocabulary" in case:
        assert layer.get_vocabulary() == case["vocabulary"]
        assert layer.vocabulary_size() == len(case["vocabulary"])


def test_hash_functions_match_tensorflow():
    hashes = FIXTURES["hashes"]
    data = np.empty(len(hashes["strings_hex"]), dtype=object)
    data[:] = [bytes.fromhex(s) for s in hashes["strings_hex"]]
    for buckets, expected in hashes["fast"].items():
        np.testing.assert_array_equal(_hash_functions.hash_buckets(data, int(buckets)), expected)
    for spec, expected in hashes["strong"].items():
        buckets, k0, k1 = (int(v) for v in spec.split(":"))
        np.testing.assert_array_equal(_hash_functions.hash_buckets(data, buckets, (k0, k1)), expected)


def test_layers_take_lists_and_engine_arrays():
    lookup = layers.StringLookup(vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(lookup(["a", "z", "c"]), [1, 0, 3])
    np.testing.assert_array_equal(lookup([b"b", b"q"]), [2, 0])  # bytes, as tf.data yields them
    ids = layers.IntegerLookup(vocabulary=[10, 20])
    np.testing.assert_array_equal(ids(mlfront.ops.convert_to_tensor(np.array([20, 10, 3], "int32"))), [2, 1, 0])
    vectorizer = layers.TextVectorization(vocabulary=["x", "y"])
    np.testing.assert_array_equal(vectorizer(["x y z", "y"]), [[2, 3, 1], [3, 0, 0]])


def test_tf_idf_adapt_weights_formula():
    layer = layers.TextVectorization(output_mode="tf_idf")
    docs = ["a a b", "b c", "c c c d"]
    layer.adapt(docs)
    vocab = layer.get_vocabulary()
    counts = {t: sum(t in d.split() for d in docs) for t in vocab[1:]}
    idf = {t: np.log(1 + len(docs) / (1 + n)) for t, n in counts.items()}
    oov = np.mean([idf[t] for t in vocab[1:]])
    out = layer(["c c zz a"])
    expected = np.zeros((1, len(vocab)))
    expected[0, 0] = oov
    expected[0, vocab.index("c")] = 2 * idf["c"]
    expected[0, vocab.index("a")] = idf["a"]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_callable_standardize_and_split():
    def standardize(texts):
        return np.char.replace(np.char.lower(texts), "-", " ")

    def split(texts):
        return [t.split("|") for t in texts]

    layer = layers.TextVectorization(standardize=standardize, split=split, output_mode="count")
    layer.adapt(["A|B-c|a", "b|b"])
    # counts: b 3, a 2, "b c" 1 ... the "-" became a space inside a token
    assert layer.get_vocabulary() == ["[UNK]", "b", "a", "b c"]
    np.testing.assert_array_equal(layer(["a|Q|b|b"]), [[1, 2, 1, 0]])


def test_adapt_batches_from_a_generator_and_batch_size():
    corpus = CASES["tv_int"]["adapt"]
    whole = layers.TextVectorization()
    whole.adapt(corpus)
    chunked = layers.TextVectorization()
    chunked.adapt(np.array(corpus), batch_size=2)
    streamed = layers.TextVectorization()
    streamed.adapt((np.array(corpus[i:i + 2]) for i in range(0, len(corpus), 2)))
    limited = layers.TextVectorization()
    limited.adapt((np.array([c]) for c in corpus), steps=1)
    assert chunked.get_vocabulary() == whole.get_vocabulary() == streamed.get_vocabulary()
    assert limited.get_vocabulary() == ["", "[UNK]", "the", "sat", "on", "mat", "cat"]


def test_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("alpha\nbeta\r\ngamma\n\n", encoding="utf-8")
    layer = layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "alpha", "beta", "gamma"]
    ids = tmp_path / "ids.txt"
    ids.write_text("7\n3\n", encoding="utf-8")
    lookup = layers.IntegerLookup()
    lookup.set_vocabulary(str(ids))
    np.testing.assert_array_equal(lookup([3, 7, 8]), [2, 1, 0])
    with pytest.raises(ValueError, match="does not exist"):
        layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))


# ---------------------------------------------------------------------- configuration
@pytest.mark.parametrize("name", ["hash_str_salt_pair", "sl_adapt_tf_idf", "sl_mask_two_oov", "sl_invert_mask",
                                  "il_farmhash_salt", "il_adapt_mask_max", "tv_tf_idf_pad", "tv_ngrams_tuple",
                                  "tv_no_split_one_hot", "tv_count_ngrams"])
def test_config_round_trip(name):
    case = CASES[name]
    layer = _build(case)
    config = json.loads(json.dumps(layer.get_config()))  # plain data
    config.pop("name")
    clone = type(layer).from_config(config)
    _assert_matches(clone(np.array(case["inputs"])), case["output"])
    if hasattr(layer, "get_vocabulary"):
        assert clone.get_vocabulary() == layer.get_vocabulary()


def test_from_config_refuses_a_vocabulary_path(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    for cls in (layers.StringLookup, layers.IntegerLookup, layers.TextVectorization):
        config = cls().get_config()
        config["vocabulary"] = str(path)
        with pytest.raises(ValueError, match="vocabulary"):
            cls.from_config(config)
    config = layers.TextVectorization().get_config()
    config["standardize"] = "os.system"
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization.from_config(config)


# ---------------------------------------------------------------------- errors
def test_errors_name_the_argument():
    with pytest.raises(NotImplementedError, match="sparse"):
        layers.StringLookup(output_mode="multi_hot", sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        layers.Hashing(4, output_mode="count", sparse=True)
    with pytest.raises(NotImplementedError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="output_mode"):
        layers.StringLookup(output_mode="bag_of_words")
    with pytest.raises(ValueError, match="output_mode"):
        layers.Hashing(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="max_tokens"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="max_tokens"):
        layers.TextVectorization(max_tokens=3, vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(ValueError, match="repeats"):
        layers.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="expects strings"):
        layers.StringLookup(vocabulary=["a"])(np.array([1, 2]))
    with pytest.raises(ValueError, match="num_bins"):
        layers.Hashing(0)
    with pytest.raises(ValueError, match="split"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ValueError, match="cannot adapt"):
        layers.StringLookup(vocabulary=["a"]).adapt(["a", "b"])


# ---------------------------------------------------------------------- host layers in models
TEXTS = np.array(["good great fine", "bad awful poor", "great good", "poor bad", "fine good great",
                  "awful bad"] * 4)
LABELS = np.array([1, 0, 1, 0, 1, 0] * 4, dtype="float32")


@pytest.fixture(scope="module")
def text_model():
    """A trained Sequential text classifier, shared by the tests below (one batch shape, 6, throughout, so
    each kind of step compiles once)."""
    mlfront.utils.set_random_seed(7)
    vectorizer = layers.TextVectorization(max_tokens=12, output_sequence_length=4)
    vectorizer.adapt(TEXTS)
    model = mlfront.Sequential([layers.Input(shape=(1,), dtype="string"), vectorizer, layers.Embedding(12, 8),
                                layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=mlfront.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(TEXTS, LABELS, epochs=15, batch_size=6, verbose=0)
    return model, vectorizer, history


def test_sequential_text_model_trains_evaluates_predicts(text_model):
    model, vectorizer, history = text_model
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.5
    loss, accuracy = model.evaluate(TEXTS, LABELS, batch_size=6, verbose=0)
    assert accuracy == 1.0
    predictions = model.predict(TEXTS, batch_size=6, verbose=0)
    assert predictions.shape == (len(TEXTS), 1)
    np.testing.assert_allclose(model.predict(TEXTS[:6], verbose=0), predictions[:6], rtol=1e-5, atol=1e-6)
    # the engine part alone, fed the vectorized batch, gives the same numbers
    engine = mlfront.Sequential([layers.Input(shape=(4,), dtype="int32")] + model.layers[1:])
    np.testing.assert_allclose(engine.predict(vectorizer(TEXTS).astype("int32"), batch_size=6, verbose=0),
                               predictions, rtol=1e-5, atol=1e-6)
    # direct calls on raw strings (array, list, (N, 1) column) and the single-batch methods
    np.testing.assert_allclose(mlfront.ops.convert_to_numpy(model(TEXTS[:2])), predictions[:2], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(mlfront.ops.convert_to_numpy(model(list(TEXTS[:2]))), predictions[:2], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(TEXTS[:6, None]), predictions[:6], rtol=1e-5, atol=1e-6)
    assert model.test_on_batch(TEXTS[:6], LABELS[:6]) is not None
    lines = []
    model.summary(print_fn=lines.append)
    assert "TextVectorization" in lines[0] and "(None, 4)" in lines[0]


def test_sequential_config_round_trip_keeps_the_vocabulary(text_model):
    model = text_model[0]
    clone = mlfront.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(TEXTS[:6], verbose=0), model.predict(TEXTS[:6], verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_text_model_trains_from_a_generator_and_on_batches(text_model):
    model = text_model[0]

    def batches():
        while True:
            for i in range(0, len(TEXTS), 6):
                yield TEXTS[i:i + 6], LABELS[i:i + 6]
    history = model.fit(batches(), steps_per_epoch=4, epochs=2, validation_data=(TEXTS, LABELS),
                        validation_batch_size=6, verbose=0)
    assert history.history["val_accuracy"][-1] == 1.0
    logs = model.train_on_batch(TEXTS[:6], LABELS[:6], return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_functional_model_with_string_lookup_input():
    words = layers.Input(shape=(1,), dtype="string", name="word")
    amount = layers.Input(shape=(2,), name="amount")
    index = layers.StringLookup(vocabulary=["cat", "dog", "bird"], name="lookup")(words)
    hashed = layers.Hashing(5, output_mode="one_hot", name="hash")(words)
    features = layers.Concatenate()([layers.Flatten()(layers.Embedding(4, 3)(index)), hashed, amount])
    model = mlfront.Model({"word": words, "amount": amount}, layers.Dense(1)(features))
    model.compile(optimizer=mlfront.optimizers.SGD(0.05), loss="mse")
    x = {"word": np.array(["cat", "dog", "fish", "bird"] * 3), "amount": np.ones((12, 2), "float32")}
    y = np.arange(12, dtype="float32")[:, None] / 12
    history = model.fit(x, y, epochs=5, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(mlfront.ops.convert_to_numpy(model(x)), predictions, rtol=1e-5, atol=1e-6)
    # the config carries the vocabulary; the rebuilt model gives the same predictions with the same weights
    clone = mlfront.Model.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, batch_size=4, verbose=0), predictions, rtol=1e-5, atol=1e-6)


def test_host_layer_after_an_engine_layer_is_an_error():
    lookup = layers.IntegerLookup(vocabulary=[1, 2], name="late_lookup")
    with pytest.raises(ValueError, match="late_lookup.*computes on the host"):
        mlfront.Sequential([layers.Input(shape=(3,)), layers.Dense(2), lookup])
    inputs = layers.Input(shape=(3,))
    hidden = layers.Dense(2, name="dense_first")(inputs)
    late = layers.Hashing(4, name="late_hash")(hidden)
    with pytest.raises(ValueError, match="late_hash.*computes on the host.*dense_first"):
        mlfront.Model(inputs, late)
