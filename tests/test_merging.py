"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) against NumPy."""

import numpy as np
import pytest
from layer_testing import run_layer_test
from references import layers as ref

import mlfront
from mlfront import layers, ops


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


ELEMENTWISE = {
    layers.Add: lambda xs: sum(xs),
    layers.Multiply: lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0),
    layers.Average: lambda xs: sum(xs) / len(xs),
    layers.Maximum: lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
    layers.Minimum: lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs)),
}


@pytest.mark.parametrize("layer_class", list(ELEMENTWISE), ids=lambda c: c.__name__)
def test_elementwise_merge_of_three_inputs(layer_class):
    xs = _data((2, 3, 4), (2, 3, 4), (2, 3, 4))
    run_layer_test(layer_class, {}, xs, expected_output=ELEMENTWISE[layer_class](xs), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0)


@pytest.mark.parametrize("layer_class", list(ELEMENTWISE), ids=lambda c: c.__name__)
def test_elementwise_merge_broadcasts_lower_rank_and_size_one(layer_class):
    """A (batch, 4) input is aligned as (batch, 1, 4); a size-1 axis broadcasts."""
    x, y, z = _data((2, 3, 4), (2, 4), (2, 3, 1))
    expected = ELEMENTWISE[layer_class]([x, y[:, None, :], z])
    run_layer_test(layer_class, {}, [x, y, z], expected_output=expected, expected_output_shape=(2, 3, 4))


def test_subtract_takes_exactly_two_inputs():
    x, y = _data((2, 3), (2, 3))
    run_layer_test(layers.Subtract, {}, [x, y], expected_output=x - y, expected_output_shape=(2, 3))
    with pytest.raises(ValueError, match="Subtract 'sub3'.*exactly 2 inputs, got 3"):
        layers.Subtract(name="sub3")([ops.convert_to_tensor(a) for a in _data((2, 3), (2, 3), (2, 3))])


def test_incompatible_shapes_error_names_layer_and_shapes():
    a, b = (ops.convert_to_tensor(v) for v in _data((2, 3), (2, 4)))
    with pytest.raises(ValueError, match=r"Add 'bad_add'.*incompatible shapes.*\(2, 3\).*\(2, 4\)"):
        layers.Add(name="bad_add")([a, b])
    with pytest.raises(ValueError, match="Add 'not_a_list'.*list"):
        layers.Add(name="not_a_list")(a)
    c = ops.convert_to_tensor(_data((3, 3))[0])
    with pytest.raises(ValueError, match=r"Concatenate 'bad_cat'.*\(2, 3\).*\(3, 3\)"):
        layers.Concatenate(name="bad_cat")([a, c])
    with pytest.raises(ValueError, match="Concatenate 'batch_cat'.*axis"):
        layers.Concatenate(axis=0, name="batch_cat")([a, b])
    with pytest.raises(ValueError, match=r"Concatenate 'cat'.*\(None, 2, 3\).*\(None, 4, 4\)"):
        layers.Concatenate(axis=1, name="cat")([layers.Input((2, 3)), layers.Input((4, 4))])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_numpy(axis):
    shapes = {-1: [(2, 3, 2), (2, 3, 4)], 1: [(2, 1, 4), (2, 3, 4)], 2: [(2, 3, 1), (2, 3, 2)]}[axis]
    xs = _data(*shapes)
    expected = np.concatenate(xs, axis=axis)
    run_layer_test(layers.Concatenate, {"axis": axis}, xs, expected_output=expected,
                   expected_output_shape=expected.shape)


def test_concatenate_symbolic_shape_with_unknown_sizes():
    a, b = layers.Input((None, 3)), layers.Input((None, 2))
    assert layers.Concatenate()([a, b]).shape == (None, None, 5)
    assert layers.Concatenate(axis=1)([a, layers.Input((4, 3))]).shape == (None, None, 3)


@pytest.mark.parametrize("shapes, axes", [
    ([(3, 4), (3, 4)], 1),
    ([(3, 4), (3, 4)], -1),
    ([(2, 3, 4), (2, 5, 4)], (2, 2)),
    ([(2, 3, 4), (2, 4, 5)], (2, 1)),
    ([(2, 3, 4), (2, 3)], (1, 1)),
])
def test_dot_matches_batch_dot(shapes, axes):
    x, y = _data(*shapes)
    expected = ref.batch_dot(x, y, axes)
    run_layer_test(layers.Dot, {"axes": axes}, [x, y], expected_output=expected, expected_output_shape=expected.shape)


def test_dot_normalize_gives_cosine_similarity():
    x, y = _data((3, 4), (3, 4))
    expected = ref.batch_dot(ref.l2_normalize(x, 1), ref.l2_normalize(y, 1), 1)
    _, out = run_layer_test(layers.Dot, {"axes": 1, "normalize": True}, [x, y], expected_output=expected)
    assert np.all(np.abs(out) <= 1 + 1e-6)


def test_dot_errors():
    x, y = (ops.convert_to_tensor(v) for v in _data((2, 3), (2, 4)))
    with pytest.raises(ValueError, match=r"Dot 'dot_sizes'.*3 != 4"):
        layers.Dot(axes=1, name="dot_sizes")([x, y])
    with pytest.raises(ValueError, match="Dot 'dot_batch'.*non-batch"):
        layers.Dot(axes=0, name="dot_batch")([x, x])


def test_functional_forms_match_layers():
    x, y = (ops.convert_to_tensor(v) for v in _data((2, 3), (2, 3)))
    xn, yn = ops.convert_to_numpy(x), ops.convert_to_numpy(y)
    cases = [(layers.add, xn + yn), (layers.subtract, xn - yn), (layers.multiply, xn * yn),
             (layers.average, (xn + yn) / 2), (layers.maximum, np.maximum(xn, yn)),
             (layers.minimum, np.minimum(xn, yn))]
    for fn, expected in cases:
        np.testing.assert_allclose(ops.convert_to_numpy(fn([x, y])), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(layers.concatenate([x, y], axis=1)), np.concatenate([xn, yn], 1))
    np.testing.assert_allclose(ops.convert_to_numpy(layers.dot([x, y], axes=1)), ref.batch_dot(xn, yn, 1),
                               rtol=1e-5, atol=1e-6)
    assert layers.add([x, y], name="named_add") is not None


def test_masks_combine():
    x, y = (ops.convert_to_tensor(v) for v in _data((2, 3, 4), (2, 3, 4)))
    m1 = np.array([[True, False, True], [True, True, False]])
    m2 = np.array([[True, True, False], [False, True, True]])
    t1, t2 = ops.convert_to_tensor(m1), ops.convert_to_tensor(m2)
    add = layers.Add()
    np.testing.assert_array_equal(ops.convert_to_numpy(add.compute_mask([x, y], [t1, t2])), m1 & m2)
    np.testing.assert_array_equal(ops.convert_to_numpy(add.compute_mask([x, y], [t1, None])), m1)
    assert add.compute_mask([x, y], [None, None]) is None
    features = layers.Concatenate()
    np.testing.assert_array_equal(ops.convert_to_numpy(features.compute_mask([x, y], [t1, t2])), m1 & m2)
    time = layers.Concatenate(axis=1)
    np.testing.assert_array_equal(ops.convert_to_numpy(time.compute_mask([x, y], [t1, None])),
                                  np.concatenate([m1, np.ones_like(m1)], axis=1))


def test_merge_in_a_functional_model_predicts_and_trains():
    a, b = layers.Input((3,)), layers.Input((3,))
    dense_a, dense_b, head = layers.Dense(4), layers.Dense(4), layers.Dense(1)
    ha, hb = dense_a(a), dense_b(b)
    merged = layers.concatenate([layers.add([ha, hb]), layers.multiply([ha, hb])])
    model = mlfront.Model([a, b], head(layers.Dot(axes=1)([merged, merged])))
    xa, xb, y = _data((4, 3), (4, 3), (4, 1))
    na, nb = xa @ dense_a.kernel.numpy() + dense_a.bias.numpy(), xb @ dense_b.kernel.numpy() + dense_b.bias.numpy()
    m = np.concatenate([na + nb, na * nb], axis=1)
    expected = (m * m).sum(1, keepdims=True) @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.compile(optimizer=mlfront.optimizers.SGD(0.01), loss="mse")
    before = model.get_weights()
    model.train_on_batch([xa, xb], y)
    assert all(not np.allclose(w0, w1) for w0, w1 in zip(before, model.get_weights()))
