"""`mlfront.utils.set_random_seed` makes runs bit-identical: weight init, dropout masks and shuffling."""

import numpy as np
import pytest

import mlfront
from mlfront import layers


def make_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5)).astype("float32")
    y = rng.normal(size=(24, 1)).astype("float32")
    return x, y


def build(dropout=0.5):
    model = mlfront.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)), layers.Dropout(dropout),
                                layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def fit(seed, weights=None, dropout=0.5, shuffle=True, validation_split=0.25):
    """A full fit after seeding; `weights` fixes the starting point so only the fit's own randomness differs.

    Batches of 6 split 18 training and 6 validation samples evenly: one compiled step each (fast on jax).
    """
    x, y = make_data()
    mlfront.utils.set_random_seed(seed)
    model = build(dropout)
    if weights is not None:
        model.set_weights(weights)
    history = model.fit(x, y, batch_size=6, epochs=2, shuffle=shuffle, validation_split=validation_split,
                        verbose=0)
    return model.get_weights(), history.history


def assert_identical(run_a, run_b):
    weights_a, history_a = run_a
    weights_b, history_b = run_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)
    assert history_a.keys() == history_b.keys()
    for key in history_a:
        np.testing.assert_array_equal(history_a[key], history_b[key])


def differs(run_a, run_b):
    return any(not np.array_equal(a, b) for a, b in zip(run_a[0], run_b[0]))


def test_same_seed_gives_identical_fits_and_another_seed_different_ones():
    first = fit(7)
    assert set(first[1]) == {"loss", "mae", "val_loss", "val_mae"}
    assert_identical(first, fit(7))
    assert differs(first, fit(8))


def test_same_seed_gives_identical_initial_weights():
    def weights(seed):
        mlfront.utils.set_random_seed(seed)
        model = build()
        model.build((None, 5))
        return model.get_weights()

    for a, b in zip(weights(3), weights(3)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights(3)[0], weights(4)[0])


@pytest.mark.parametrize("dropout, shuffle", [(0.5, False), (0.0, True)], ids=["dropout", "shuffle"])
def test_the_seed_drives_dropout_and_shuffling(dropout, shuffle):
    """From fixed starting weights, the seed alone decides the dropout masks / the batch order."""
    mlfront.utils.set_random_seed(0)
    start = build(dropout)
    start.build((None, 5))
    weights = start.get_weights()
    same = fit(11, weights, dropout, shuffle, validation_split=0.0)
    assert_identical(same, fit(11, weights, dropout, shuffle, validation_split=0.0))
    assert differs(same, fit(12, weights, dropout, shuffle, validation_split=0.0))


def test_without_dropout_or_shuffling_the_seed_does_not_matter():
    """The control for the test above: with neither source of randomness, fits from fixed weights agree."""
    mlfront.utils.set_random_seed(0)
    start = build(0.0)
    start.build((None, 5))
    weights = start.get_weights()
    assert_identical(fit(11, weights, 0.0, False, 0.0), fit(12, weights, 0.0, False, 0.0))
