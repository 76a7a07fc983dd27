"""Keras 2's `K.function` and `K.gradients` over a model's graph: feature extraction, saliency maps and the
feature-visualization loop, checked against NumPy formulas and finite differences."""

import numpy as np
import pytest

import mlfront
import mlfront.backend as K
from mlfront import layers


def _mlp(rng):
    return mlfront.Sequential([mlfront.Input((4,)), layers.Dense(5, activation="tanh"), layers.Dense(3)])


def _dense_numpy(model, x):
    (w1, b1, w2, b2) = model.get_weights()
    hidden = np.tanh(x @ w1 + b1)
    return hidden, hidden @ w2 + b2


def test_function_returns_layer_outputs_as_keras2_does(rng):
    model = _mlp(rng)
    x = rng.normal(size=(6, 4)).astype("float32")
    hidden, out = _dense_numpy(model, x)
    f = K.function([model.input], [model.layers[0].output])
    result = f([x])
    assert isinstance(result, list) and len(result) == 1 and isinstance(result[0], np.ndarray)
    np.testing.assert_allclose(result[0], hidden, rtol=1e-5, atol=1e-6)
    both = K.function([model.input], [model.layers[0].output, model.output])([x])
    np.testing.assert_allclose(both[1], out, rtol=1e-5, atol=1e-5)
    single = K.function(model.input, model.output)(x)  # a single tensor output gives a single array
    assert isinstance(single, np.ndarray)
    np.testing.assert_allclose(single, out, rtol=1e-5, atol=1e-5)
    ops_out = K.function([model.input], [K.sum(K.square(model.output), axis=-1)])([x])[0]
    np.testing.assert_allclose(ops_out, (out ** 2).sum(-1), rtol=1e-5, atol=1e-5)


def test_function_on_a_functional_model_with_two_inputs(rng):
    a, b = mlfront.Input((3,)), mlfront.Input((3,))
    total = layers.Add()([a, b])
    model = mlfront.Model([a, b], layers.Dense(2)(total))
    va, vb = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    f = K.function(model.inputs, [model.layers[2].output, model.output * 2.0])
    summed, doubled = f([va, vb])
    np.testing.assert_allclose(summed, va + vb, rtol=1e-6)
    np.testing.assert_allclose(doubled, 2 * model.predict([va, vb], verbose=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expected 2 input values"):
        f([va])


def test_learning_phase_as_an_extra_input(rng):
    inputs = mlfront.Input((50,))
    out = layers.Dropout(0.5)(inputs)
    f = K.function([inputs, K.learning_phase()], [out])
    x = np.ones((4, 50), "float32")
    np.testing.assert_array_equal(f([x, 0])[0], x)
    trained = f([x, 1])[0]
    assert set(np.unique(trained)) <= {0.0, 2.0} and 0 < (trained == 0).sum() < trained.size
    np.testing.assert_array_equal(K.function([inputs], [out])([x])[0], x)  # learning phase 0 by default


def test_function_argument_errors(rng):
    model = _mlp(rng)
    with pytest.raises(NotImplementedError, match="updates"):
        K.function([model.input], [model.output], updates=[(model.weights[0], model.weights[0])])
    with pytest.raises(NotImplementedError, match="session"):
        K.function([model.input], [model.output], session=None)
    with pytest.raises(TypeError, match="inputs"):
        K.function([model.input, "x"], [model.output])
    other = mlfront.Input((4,))
    with pytest.raises(ValueError, match="not connected"):
        K.function([other], [model.output])


def test_saliency_gradient_of_a_class_score(rng):
    model = _mlp(rng)
    x = rng.normal(size=(3, 4)).astype("float32")
    grads = K.gradients(model.output[:, 1], model.input)[0]
    assert grads.shape == (None, 4)
    saliency = K.function([model.input], [grads])([x])[0]
    (w1, b1, w2, _) = model.get_weights()
    hidden = np.tanh(x @ w1 + b1)
    analytic = ((1 - hidden ** 2) * w2[:, 1]) @ w1.T  # d out[:, 1] / d x, per sample
    np.testing.assert_allclose(saliency, analytic, rtol=1e-4, atol=1e-5)


def test_gradients_of_a_conv_model_against_finite_differences(rng):
    inputs = mlfront.Input((6, 6, 2))
    conv = layers.Conv2D(3, 3, activation="tanh", name="conv")(inputs)
    model = mlfront.Model(inputs, layers.Dense(2)(layers.Flatten()(conv)))
    x = rng.normal(size=(1, 6, 6, 2)).astype("float32")
    loss = K.mean(model.layers[1].output[:, :, :, 1])
    grads = K.gradients(loss, model.input)[0]
    grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    iterate = K.function([model.input], [loss, grads])
    loss_value, grads_value = iterate([x])
    assert loss_value.shape == () and grads_value.shape == x.shape

    def numpy_loss(values):
        return float(iterate([values.astype("float32")])[0])

    raw_grads = K.function([model.input], [K.gradients(loss, model.input)[0]])([x])[0]
    np.testing.assert_allclose(grads_value, raw_grads / (np.sqrt(np.mean(raw_grads ** 2)) + 1e-5), rtol=1e-5)
    eps = 1e-2
    for index in [(0, 0, 0, 0), (0, 2, 3, 1), (0, 5, 5, 0), (0, 1, 4, 1), (0, 3, 0, 0)]:
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += eps
        down[index] -= eps
        difference = (numpy_loss(up) - numpy_loss(down)) / (2 * eps)
        np.testing.assert_allclose(raw_grads[index], difference, rtol=2e-2, atol=1e-4, err_msg=str(index))
    # gradient ascent on the input raises the loss, as in the classic filter-visualization loop
    image = x.copy()
    for _ in range(5):
        value, step = iterate([image])
        image = image + 0.1 * step
    assert iterate([image])[0] > loss_value


def test_gradients_with_respect_to_weights_and_intermediate_tensors(rng):
    inputs = mlfront.Input((4,))
    dense = layers.Dense(3)
    hidden = dense(inputs)
    loss = K.sum(K.square(hidden))
    grad_kernel, grad_bias = K.gradients(loss, dense.trainable_weights)
    (grad_hidden,) = K.gradients(loss, [hidden])
    assert grad_kernel.shape == (4, 3) and grad_bias.shape == (3,)
    x = rng.normal(size=(5, 4)).astype("float32")
    gk, gb, gh = K.function([inputs], [grad_kernel, grad_bias, grad_hidden])([x])
    kernel, bias = dense.get_weights()
    h = x @ kernel + bias
    np.testing.assert_allclose(gh, 2 * h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gk, x.T @ (2 * h), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, (2 * h).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dense.get_weights()[0], kernel)  # the weights are left as they were
    unrelated = mlfront.Input((2,))
    assert K.gradients(loss, [unrelated, inputs])[0] is None


def test_gradients_refuse_arrays_and_models_holding_them_refuse_saving(rng):
    x = K.get().convert(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="value_and_grad"):
        K.gradients(K.sum(x), x)
    inputs = mlfront.Input((3,))
    dense = layers.Dense(1)
    out = dense(inputs)
    with pytest.raises(TypeError, match="variables"):
        K.gradients(out, [x])
    grads = K.gradients(K.sum(out), inputs)[0]
    model = mlfront.Model(inputs, grads)
    np.testing.assert_allclose(model.predict(np.ones((2, 3), "float32"), verbose=0),
                               np.tile(dense.get_weights()[0][:, 0], (2, 1)), rtol=1e-5)
    with pytest.raises(NotImplementedError, match="K.gradients"):
        model.get_config()
