"""Transfer learning: freezing layers and nested models with `trainable = False`, as in Keras.

A frozen layer's weights stay bit-identical through `fit`, a frozen BatchNormalization normalizes with its moving
statistics (and leaves them alone) even in training, and unfreezing + recompiling trains everything again.
"""

import numpy as np
import pytest

import mlfront
from mlfront import layers
from references.layers import batch_norm_infer


def _base():
    """A tiny convolutional feature extractor: conv -> batch norm -> relu -> global average pooling."""
    images = layers.Input(shape=(6, 6, 1), name="images")
    x = layers.Conv2D(4, 3, name="conv")(images)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    features = layers.GlobalAveragePooling2D(name="gap")(x)
    return mlfront.Model(images, features, name="base")


def _classifier(base):
    inputs = layers.Input(shape=(6, 6, 1), name="inputs")
    outputs = layers.Dense(3, activation="softmax", name="head")(base(inputs))
    return mlfront.Model(inputs, outputs, name="classifier")


def _data(rng, n=8):
    x = rng.normal(0, 1, (n, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return x, y


def _size(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def _summary_counts(model):
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    counts = {}
    for key in ("Total", "Trainable", "Non-trainable"):
        line = next(l for l in text.splitlines() if l.startswith(f"{key} params:"))
        counts[key] = int(line.split(":")[1].split()[0].replace(",", ""))
    return counts


def test_freezing_moves_weights_to_non_trainable():
    base = _base()
    model = _classifier(base)
    conv, bn, head = base.get_layer("conv"), base.get_layer("bn"), model.get_layer("head")
    # conv kernel 3*3*1*4 + bias 4 = 40; bn gamma/beta 8 (+ moving stats 8, never trainable); head 4*3 + 3 = 15
    assert _size(model.trainable_weights) == 40 + 8 + 15
    assert _size(model.non_trainable_weights) == 8
    assert _summary_counts(model) == {"Total": 71, "Trainable": 63, "Non-trainable": 8}

    base.trainable = False
    assert not conv.trainable and not bn.trainable  # freezing a model freezes every layer in it
    assert [v.path for v in model.trainable_weights] == [v.path for v in head.trainable_weights]
    assert _size(model.non_trainable_weights) == 40 + 16
    assert _summary_counts(model) == {"Total": 71, "Trainable": 15, "Non-trainable": 56}
    assert len(model.weights) == len(model.trainable_weights) + len(model.non_trainable_weights) == 8

    base.trainable = True
    bn.trainable = False  # one layer alone
    assert _size(model.trainable_weights) == 40 + 15
    assert _summary_counts(model)["Non-trainable"] == 16


def test_frozen_batch_norm_runs_in_inference_mode(rng):
    base = _base()
    bn = base.get_layer("bn")
    x, _ = _data(rng)
    base(x)  # build
    bn.set_weights([rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.5, 4), rng.uniform(0.5, 2, 4)])
    conv_out = mlfront.ops.convert_to_numpy(base.get_layer("conv")(x))
    bn.trainable = False
    frozen = mlfront.ops.convert_to_numpy(bn(conv_out, training=True))
    np.testing.assert_allclose(frozen, batch_norm_infer(conv_out, *bn.get_weights()), rtol=1e-5, atol=1e-5)
    bn.trainable = True
    trained = mlfront.ops.convert_to_numpy(bn(conv_out, training=True))
    assert not np.allclose(trained, frozen, atol=1e-3)  # a trainable one uses the batch statistics


def test_fit_leaves_frozen_base_bit_identical_then_unfreezing_trains_it(rng):
    base = _base()
    model = _classifier(base)
    x, y = _data(rng)
    base.trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    frozen_before = base.get_weights()  # conv kernel/bias, bn gamma/beta/moving_mean/moving_variance
    head_before = model.get_layer("head").get_weights()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for before, after in zip(frozen_before, base.get_weights()):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(head_before, model.get_layer("head").get_weights()):
        assert not np.array_equal(before, after)

    base.trainable = True
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # recompile to take effect
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    bn = base.get_layer("bn")
    kernel, bias = base.get_layer("conv").get_weights()
    assert not np.array_equal(kernel, frozen_before[0])
    moving_mean, moving_variance = bn.get_weights()[2:]
    assert not np.array_equal(moving_mean, frozen_before[4])
    assert not np.array_equal(moving_variance, frozen_before[5])


def test_frozen_layer_in_sequential_keeps_its_weights(rng):
    model = mlfront.Sequential([layers.Input(shape=(5,)), layers.Dense(4, name="frozen"),
                                layers.BatchNormalization(name="bn"), layers.Dense(2, name="trained")])
    model.get_layer("frozen").trainable = False
    model.get_layer("bn").trainable = False
    assert [v.path for v in model.trainable_weights] == ["trained/kernel", "trained/bias"]
    model.compile(optimizer="adam", loss="mse")
    frozen = model.get_layer("frozen").get_weights() + model.get_layer("bn").get_weights()
    x = rng.normal(0, 1, (6, 5)).astype(np.float32)
    model.fit(x, rng.normal(0, 1, (6, 2)).astype(np.float32), batch_size=3, epochs=1, verbose=0)
    after = model.get_layer("frozen").get_weights() + model.get_layer("bn").get_weights()
    for a, b in zip(frozen, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("freeze", [True, False])
def test_trainable_flag_in_config(freeze):
    layer = layers.Dense(2, trainable=not freeze)
    assert layer.get_config()["trainable"] is (not freeze)
    assert layers.Dense.from_config(layer.get_config()).trainable is (not freeze)
