"""`mlfront.utils.split_dataset` (Keras 3's sizes, order and errors; `BatchedDataset`s that `fit` reads) and
`pack_x_y_sample_weight` / `unpack_x_y_sample_weight` (Keras's forms)."""

import random

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.utils import BatchedDataset, PyDataset, pack_x_y_sample_weight, split_dataset, unpack_x_y_sample_weight


def samples(dataset):
    """Every sample of a split, unbatched, as a structure of arrays joined along the first axis."""
    batches = [dataset[i] for i in range(len(dataset))]
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate([b[k] for b in batches]) for k in range(len(batches[0])))
    return np.concatenate(batches)


def data(n=10):
    x = np.arange(n * 2, dtype="float32").reshape(n, 2)
    return x, np.arange(n, dtype="int32") * 10


# (left_size, right_size, expected (left, right)) on 10 samples, by Keras 3's rules (round(fraction * n))
SIZES = [(0.8, None, (8, 2)), (None, 0.3, (7, 3)), (3, None, (3, 7)), (None, 4, (6, 4)), (0.25, None, (2, 8)),
         (0.5, 0.2, (5, 2)), (2, 3, (2, 3)), (0.35, 4, (4, 4)), (0.85, None, (8, 2)), (np.int64(6), None, (6, 4))]


@pytest.mark.parametrize("left_size, right_size, expected", SIZES)
def test_sizes_and_order(left_size, right_size, expected):
    x, y = data()
    left, right = split_dataset((x, y), left_size=left_size, right_size=right_size)
    assert isinstance(left, BatchedDataset) and isinstance(right, BatchedDataset)
    (lx, ly), (rx, ry) = samples(left), samples(right)
    assert (len(lx), len(rx)) == expected
    np.testing.assert_array_equal(lx, x[:expected[0]])  # first samples left, last samples right
    np.testing.assert_array_equal(ly, y[:expected[0]])
    np.testing.assert_array_equal(rx, x[10 - expected[1]:])
    np.testing.assert_array_equal(ry, y[10 - expected[1]:])


@pytest.mark.parametrize("left_size, right_size, expected", SIZES[:8])
def test_sizes_match_keras3(left_size, right_size, expected):
    keras = pytest.importorskip("keras")
    if mlfront.backend() not in ("torch", "tensorflow"):  # Keras splits arrays with torch or tf.data only
        pytest.skip("Keras 3 splits arrays through torch or tf.data")
    if mlfront.backend() == "torch" and sum(expected) != 10:
        pytest.skip("Keras 3's torch split (random_split) cannot leave samples out")
    left, right = keras.utils.split_dataset(data(), left_size=left_size, right_size=right_size)
    size = (lambda d: int(d.cardinality())) if mlfront.backend() == "tensorflow" else len
    assert (size(left), size(right)) == expected


def test_shuffled_order_is_keras3s():
    x, y = data(50)
    left, right = split_dataset((x, y), left_size=0.6, shuffle=True, seed=7)
    order = list(range(50))
    random.Random(7).shuffle(order)  # what Keras's `random.seed(7); random.shuffle(samples)` draws
    (lx, ly), (rx, ry) = samples(left), samples(right)
    np.testing.assert_array_equal(ly, y[order[:30]])
    np.testing.assert_array_equal(rx, x[order[30:]])
    assert sorted(np.concatenate([ly, ry]).tolist()) == y.tolist()  # disjoint and complete
    again, _ = split_dataset((x, y), left_size=0.6, shuffle=True, seed=7)
    np.testing.assert_array_equal(samples(again)[1], ly)
    other, _ = split_dataset((x, y), left_size=0.6, shuffle=True, seed=8)
    assert not np.array_equal(samples(other)[1], ly)
    if mlfront.backend() == "tensorflow":  # the same samples as Keras 3's tf.data result
        keras = pytest.importorskip("keras")
        k_left, k_right = keras.utils.split_dataset((x, y), left_size=0.6, shuffle=True, seed=7)
        np.testing.assert_array_equal(np.stack([s[1] for s in k_left.as_numpy_iterator()]), ly)
        np.testing.assert_array_equal(np.stack([s[0] for s in k_right.as_numpy_iterator()]), rx)


def test_structures():
    x, y = data()
    left, right = split_dataset(x, right_size=3, batch_size=4)  # one array: batches are arrays
    assert [len(b) for b in left] == [4, 3] and isinstance(left[0], np.ndarray)
    np.testing.assert_array_equal(samples(right), x[7:])
    left, _ = split_dataset([x, y], left_size=2)  # a list, as Keras: samples are tuples
    assert isinstance(left[0], tuple) and len(left[0]) == 2
    left, _ = split_dataset((x,), left_size=2)  # a 1-tuple stays one: batches are `(x,)`
    (only,) = left[0]
    np.testing.assert_array_equal(only, x[:2])
    left, right = split_dataset({"a": x, "b": y}, left_size=0.5, batch_size=2)
    assert set(left[0]) == {"a", "b"}
    np.testing.assert_array_equal(right[2]["b"], y[9:])
    weights = np.linspace(0, 1, 10).astype("float32")
    left, right = split_dataset(({"a": x, "b": x + 1}, y, weights), left_size=6, batch_size=5)
    (features, labels, w) = right[0]
    np.testing.assert_array_equal(features["b"], x[6:] + 1)
    np.testing.assert_array_equal(labels, y[6:])
    np.testing.assert_array_equal(w, weights[6:])


def test_single_samples_as_keras():
    x, y = data()
    left, right = split_dataset((x, y), left_size=0.8, batch_size=None)
    assert left.cardinality() == 8 and right.cardinality() == 2  # Keras's doc example: samples, unbatched
    sample_x, sample_y = left[3]
    np.testing.assert_array_equal(sample_x, x[3])
    assert sample_y == y[3]
    batches = list(left.batch(3))  # what Keras code does before fit
    assert [len(b[0]) for b in batches] == [3, 3, 2]
    np.testing.assert_array_equal(batches[1][0], x[3:6])
    with pytest.raises(ValueError, match="batch_size=None"):
        split_dataset({"a": x}, left_size=2, batch_size=None)


def test_fit_reads_the_splits_as_the_arrays():
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    train, test = split_dataset((x, y), left_size=0.75, batch_size=10)

    def fresh():
        mlfront.utils.set_random_seed(3)
        model = mlfront.Sequential([mlfront.Input((3,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    history = fresh().fit(train, validation_data=test, epochs=2, shuffle=False, verbose=0).history
    reference = fresh().fit(x[:30], y[:30], batch_size=10, validation_data=(x[30:], y[30:]), epochs=2,
                            shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=1e-5)
    np.testing.assert_allclose(history["val_loss"], reference["val_loss"], rtol=1e-5)


class Batches(PyDataset):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        return self.x[i * self.size:(i + 1) * self.size], self.y[i * self.size:(i + 1) * self.size]


def test_pydataset_and_batched_dataset_split_by_samples():
    x, y = data(11)
    left, right = split_dataset(Batches(x, y, 3), left_size=5)
    assert [len(b[0]) for b in left] == [3, 2] and [len(b[0]) for b in right] == [3, 3]  # its batch size kept
    np.testing.assert_array_equal(samples(left)[0], x[:5])
    np.testing.assert_array_equal(samples(right)[1], y[5:])
    source = BatchedDataset(lambda i: (x[i], y[i]), 11, batch_size=4, class_names=["a", "b"])
    left, right = split_dataset(source, right_size=0.5, batch_size=2)
    assert left.class_names == ["a", "b"] and len(left) == 3 and len(right) == 3
    np.testing.assert_array_equal(samples(right)[0], x[5:])
    single = BatchedDataset(lambda i: x[i], 11, batch_size=None)
    left, right = split_dataset(single, left_size=3)
    assert left[0].shape == (2,) and len(left) == 3  # unbatched stays unbatched
    np.testing.assert_array_equal(right[0], x[3])


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, ValueError, "At least one of the `left_size` or `right_size` must be specified"),
    ({"left_size": 0}, ValueError, "left_size"),
    ({"left_size": 10}, ValueError, "smaller than 10"),
    ({"right_size": 1.0}, ValueError, "right_size"),
    ({"left_size": -0.5}, ValueError, "left_size"),
    ({"left_size": 0.7, "right_size": 0.5}, ValueError, "greater than 1"),
    ({"left_size": 6, "right_size": 5}, ValueError, "at most"),
    ({"left_size": 0.01}, ValueError, "left side dataset split would be empty"),
    ({"left_size": "half"}, TypeError, "left_size"),
    ({"right_size": True}, TypeError, "right_size"),
    ({"left_size": 2, "preferred_backend": "nosuch"}, ValueError, "preferred_backend"),
    ({"left_size": 2, "batch_size": "big"}, ValueError, "batch_size"),
    ({"left_size": 2, "batch_size": 0}, ValueError, "batch_size"),
])
def test_bad_sizes(kwargs, error, match):
    with pytest.raises(error, match=match):
        split_dataset(data(), **kwargs)


def test_bad_datasets():
    x, y = data()
    with pytest.raises(ValueError, match=r"same number of samples.*\[10, 9\]"):
        split_dataset((x, y[:9]), left_size=2)
    with pytest.raises(TypeError, match="NumPy array, a list/tuple/dict of arrays"):
        split_dataset("abc", left_size=2)
    with pytest.raises(TypeError, match="lists/tuples"):
        split_dataset(([x, x], y), left_size=2)
    with pytest.raises(ValueError, match="empty"):
        split_dataset((), left_size=2)


def test_pack_and_unpack_as_keras():
    x, y, w = np.ones((2, 3)), np.zeros((2,)), np.ones((2,))
    assert pack_x_y_sample_weight(x) is x
    packed = pack_x_y_sample_weight([x, x])
    assert isinstance(packed, tuple) and len(packed) == 1 and isinstance(packed[0], list)
    assert pack_x_y_sample_weight(x, y) == (x, y)
    assert pack_x_y_sample_weight(x, y, w) == (x, y, w)
    with pytest.raises(ValueError, match="sample_weight"):
        pack_x_y_sample_weight(x, sample_weight=w)
    assert unpack_x_y_sample_weight(x) == (x, None, None)
    assert unpack_x_y_sample_weight((x,)) == (x, None, None)
    assert unpack_x_y_sample_weight([x, y]) == (x, y, None)  # a list is read as a tuple, as in Keras
    assert unpack_x_y_sample_weight((x, y, w)) == (x, y, w)
    assert unpack_x_y_sample_weight({"a": x}) == ({"a": x}, None, None)
    with pytest.raises(ValueError, match="4 items"):
        unpack_x_y_sample_weight((x, y, w, w))


def test_pack_and_unpack_match_keras3():
    keras = pytest.importorskip("keras")
    x, y, w = np.ones((2, 3)), np.zeros((2,)), np.ones((2,))
    for args in [(x,), ([x, x],), ((x, x),), (x, y), (x, y, w), ({"a": x}, y)]:
        ours, theirs = pack_x_y_sample_weight(*args), keras.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs) and (ours is theirs or len(ours) == len(theirs))
    for batch in [x, (x,), [x, y], (x, y), (x, y, w), {"a": x}]:
        ours, theirs = unpack_x_y_sample_weight(batch), keras.utils.unpack_x_y_sample_weight(batch)
        assert all(a is b for a, b in zip(ours, theirs))
