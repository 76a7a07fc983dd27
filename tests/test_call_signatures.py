"""`training` and `mask` reach `call` only when its signature takes them, as in Keras (the Keras guide's patterns)."""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops


class Plain(layers.Layer):
    """`call(self, inputs)`: no `training`, no `mask`."""

    def call(self, inputs):
        return inputs * 2.0


class Boost(layers.Layer):
    """`call(self, inputs, training=False)`: triples its inputs in training; records each flag it is given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=False):
        self.seen.append(training)
        return inputs * 3.0 if training else inputs


class MaskedMean(layers.Layer):
    """`call(self, x, mask=None)`: the mean over time of the unmasked steps."""

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.sum(x * weights, axis=1) / ops.sum(weights, axis=1)


class TakesKwargs(layers.Layer):
    """`call(self, inputs, **kwargs)`: records the keyword arguments it receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.keys = []

    def call(self, inputs, **kwargs):
        self.keys.append(tuple(sorted(kwargs)))
        return inputs


class Blend(layers.Layer):
    """`call(self, a, b)`: two positional tensor inputs."""

    def call(self, a, b):
        return a * b + a


class NoTrainingModel(mlfront.Model):
    """A subclassed model whose `call` has no `training` argument."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")

    def call(self, inputs):
        return self.dense(inputs)


class BoostedModel(mlfront.Model):
    """Calls a `training`-aware layer without passing `training`: the call context gives it the flag."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.boost = Boost()
        self.dense = layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")

    def call(self, inputs):
        return self.dense(self.boost(inputs))


def _data(rng, n=8, features=3):
    return rng.normal(size=(n, features)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_subclassed_model_without_training_argument_fits_evaluates_predicts(rng):
    x, y = _data(rng)
    model = NoTrainingModel()
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, np.concatenate([y, y], 1), epochs=1, batch_size=4, verbose=0)
    expected = x.sum(1, keepdims=True) * np.ones((1, 2))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    loss = np.mean((expected - np.concatenate([y, y], 1)) ** 2)
    np.testing.assert_allclose(model.evaluate(x, np.concatenate([y, y], 1), verbose=0), loss, rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(mlfront.ops.convert_to_numpy(model(x, training=True)), expected, rtol=1e-5,
                               atol=1e-5)


def _boost_models():
    sequential = mlfront.Sequential([mlfront.Input(shape=(3,)), Boost(),
                                     layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")])
    inputs = mlfront.Input(shape=(3,))
    boost = Boost()
    functional = mlfront.Model(inputs, layers.Dense(1, kernel_initializer="ones",
                                                    bias_initializer="zeros")(boost(inputs)))
    subclassed = BoostedModel()
    return [(sequential, sequential.layers[0]), (functional, boost), (subclassed, subclassed.boost)]


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["sequential", "functional", "subclassed"])
def test_training_flag_is_true_in_fit_and_false_in_evaluate_and_predict(rng, kind):
    x, y = _data(rng)
    model, boost = _boost_models()[kind]
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.0), loss="mse")
    np.testing.assert_allclose(model.predict(x, verbose=0), x.sum(1, keepdims=True), rtol=1e-5, atol=1e-5)
    del boost.seen[:]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert boost.seen[-1] is True  # (fit's first batch may also build the metrics, in inference mode)
    # the train step ran the layer in training mode: outputs tripled
    np.testing.assert_allclose(history.history["loss"][0], np.mean((3 * x.sum(1, keepdims=True) - y) ** 2),
                               rtol=1e-5)
    del boost.seen[:]
    loss = model.evaluate(x, y, verbose=0)
    assert boost.seen and all(flag is False for flag in boost.seen)
    np.testing.assert_allclose(loss, np.mean((x.sum(1, keepdims=True) - y) ** 2), rtol=1e-5)


def test_direct_calls_follow_the_signature(rng):
    x = rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(Plain()(x, training=True, mask=None)), 2 * x, rtol=1e-6)
    boost = Boost()
    np.testing.assert_allclose(ops.convert_to_numpy(boost(x)), x, rtol=1e-6)  # the signature's default
    np.testing.assert_allclose(ops.convert_to_numpy(boost(x, training=True)), 3 * x, rtol=1e-6)
    assert boost.seen == [False, True]

    class Positional(layers.Layer):
        def call(self, inputs, training):
            return inputs + (1.0 if training else 0.0)

    np.testing.assert_allclose(ops.convert_to_numpy(Positional()(x, True)), x + 1, rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(Positional()(x, False)), x, rtol=1e-6)


def test_nested_layers_see_an_explicit_training_flag(rng):
    x = rng.normal(size=(2, 3)).astype("float32")
    model = BoostedModel()
    out = ops.convert_to_numpy(model(x, training=True))
    np.testing.assert_allclose(out, 3 * x.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model(x)), x.sum(1, keepdims=True), rtol=1e-5)


def _masked_data(rng):
    tokens = rng.integers(1, 10, size=(6, 5)).astype("int32")
    tokens[:, 3:] = 0
    tokens[0, 1:] = 0
    return tokens


def test_mask_reaches_a_call_that_names_it(rng):
    tokens = _masked_data(rng)
    model = mlfront.Sequential([layers.Embedding(10, 4, mask_zero=True, input_shape=(5,)), MaskedMean()])
    table = model.layers[0].get_weights()[0]
    vectors = table[tokens]
    keep = (tokens != 0)[..., None].astype("float32")
    expected = (vectors * keep).sum(1) / keep.sum(1)
    np.testing.assert_allclose(model.predict(tokens, verbose=0), expected, rtol=1e-5, atol=1e-6)

    inputs = mlfront.Input(shape=(5,), dtype="int32")
    functional = mlfront.Model(inputs, MaskedMean()(model.layers[0](inputs)))
    np.testing.assert_allclose(functional.predict(tokens, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # a layer without `mask` in its signature after a masking layer is called without it
    plain = mlfront.Sequential([model.layers[0], Plain(), layers.GlobalAveragePooling1D()])
    assert plain.predict(tokens, verbose=0).shape == (6, 4)


def test_kwargs_call_receives_training_and_mask(rng):
    tokens = _masked_data(rng)
    recorder = TakesKwargs()
    model = mlfront.Sequential([layers.Embedding(10, 4, mask_zero=True, input_shape=(5,)), recorder,
                                layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    del recorder.keys[:]
    model.fit(tokens, np.ones((6, 1), "float32"), epochs=1, verbose=0)
    assert recorder.keys and all(keys == ("mask", "training") for keys in recorder.keys)
    x = rng.normal(size=(2, 3)).astype("float32")
    del recorder.keys[:]
    recorder(x)
    assert recorder.keys == [()]


def test_multiple_positional_inputs(rng):
    a = rng.normal(size=(4, 3)).astype("float32")
    b = rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(Blend()(a, b)), a * b + a, rtol=1e-6)
    in_a, in_b = mlfront.Input(shape=(3,)), mlfront.Input(shape=(3,))
    blended = Blend()(in_a, in_b)
    assert blended.shape == (None, 3)
    model = mlfront.Model([in_a, in_b], layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(blended))
    expected = (a * b + a).sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.compile(optimizer=mlfront.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit([a, b], np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(expected ** 2), rtol=1e-5)


def test_stateless_call_and_summary_without_training_argument(rng):
    x, _ = _data(rng)
    model = NoTrainingModel()
    model(x)
    trainable = [v.numpy() for v in model.trainable_variables]
    outputs, _ = model.stateless_call(trainable, [], x, training=True)
    np.testing.assert_allclose(ops.convert_to_numpy(outputs), x.sum(1, keepdims=True) * np.ones((1, 2)),
                               rtol=1e-5, atol=1e-5)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 8" in lines[0]


def test_signature_is_read_once_per_call_function():
    from mlfront.layers.call_signature import call_signature
    first, second = Plain(), Plain()
    assert first._call_signature is second._call_signature
    assert not first._call_takes_training and not first._call_takes_mask
    assert TakesKwargs()._call_takes_training and TakesKwargs()._call_takes_mask
    assert call_signature(MaskedMean()).takes_mask and not call_signature(MaskedMean()).takes_training
