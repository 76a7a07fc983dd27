"""The data given to fit / evaluate / predict is checked against the model before the engine sees it: each
bad input gives mlfront's own error naming the input / output, what was expected and what was given, on every
engine; NaN in the data gives a NaN loss (and TerminateOnNaN stops) on every engine."""

import math
import re

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.training import data_checks
from mlfront.training.data import PyDataset


def classifier(loss="categorical_crossentropy", classes=3, functional=False):
    if functional:
        inputs = layers.Input((4,), name="features")
        hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
        model = mlfront.Model(inputs, layers.Dense(classes, activation="softmax", name="probs")(hidden))
    else:
        model = mlfront.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                                    layers.Dense(classes, activation="softmax", name="probs")])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss=loss)
    return model


@pytest.fixture
def x(rng):
    return rng.normal(size=(40, 4)).astype("float32")


@pytest.fixture
def labels(rng):
    return rng.integers(0, 3, size=40)


# ---------------------------------------------------------------------- class counts and label ranges
@pytest.mark.parametrize("functional", [False, True])
def test_one_hot_labels_with_more_classes_than_the_output(x, rng, functional):
    y = np.eye(5, dtype="float32")[rng.integers(0, 5, size=40)]
    model = classifier(functional=functional)
    expected = "categorical_crossentropy: y_true has 5 classes, the model's output 'probs' has 3"
    with pytest.raises(ValueError, match=re.escape("fit: " + expected)):
        model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=re.escape("evaluate: " + expected)):
        model.evaluate(x, y, verbose=0)


def test_integer_labels_given_to_categorical_crossentropy(x, labels):
    with pytest.raises(ValueError, match=r"categorical_crossentropy: y_true has shape \(40,\), but the model's "
                                         r"output 'probs' has shape \(None, 3\).*sparse_categorical_crossentropy"):
        classifier().fit(x, labels, verbose=0)


@pytest.mark.parametrize("bad", [7, 3, -1])
def test_sparse_label_outside_the_classes(x, labels, bad):
    labels = labels.copy()
    labels[11] = bad
    model = classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=re.escape(
            f"fit: sparse_categorical_crossentropy: y_true holds the class label {bad}, but the labels must be "
            f"in [0, 3): the model's output 'probs' has 3 classes.")):
        model.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match=re.escape(f"holds the class label {bad}")):
        model.fit(x, labels.reshape(-1, 1).astype("float32"), verbose=0)  # (n, 1) float labels too


def test_sparse_labels_of_the_wrong_shape(x, rng):
    with pytest.raises(ValueError, match=re.escape("y_true has shape (40, 2), but the model's output 'probs' "
                                                   "(shape (None, 3)) needs integer class labels of shape (None,)")):
        classifier("sparse_categorical_crossentropy").fit(x, rng.integers(0, 3, (40, 2)), verbose=0)


def test_ignore_class_labels_are_allowed(x, labels):
    labels = labels.copy()
    labels[:5] = -1
    model = classifier(mlfront.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    history = model.fit(x, labels, epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])
    labels[7] = 3
    with pytest.raises(ValueError, match=re.escape("holds the class label 3, but the labels must be in [0, 3)")):
        model.fit(x, labels, verbose=0)


def test_targets_of_a_mismatched_elementwise_loss(x, rng):
    model = classifier("mse")
    with pytest.raises(ValueError, match=re.escape("fit: mean_squared_error: y_true has shape (40, 5), which does "
                                                   "not match the model's output 'probs' of shape (None, 3)")):
        model.fit(x, rng.normal(size=(40, 5)), verbose=0)


def test_targets_of_a_multi_output_model(x, labels):
    inputs = layers.Input((4,))
    hidden = layers.Dense(6, activation="relu")(inputs)
    model = mlfront.Model(inputs, [layers.Dense(3, activation="softmax", name="kind")(hidden),
                                   layers.Dense(1, name="size")(hidden)])
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"])
    size = labels[:, None].astype("float32")
    with pytest.raises(ValueError, match=re.escape("y is a list of 1 target array(s), but the model has 2 "
                                                   "output(s) ['kind', 'size']")):
        model.fit(x, [labels], verbose=0)
    with pytest.raises(ValueError, match=re.escape("y has key(s) ['colour'] that are not outputs of the model")):
        model.fit(x, {"kind": labels, "colour": size}, verbose=0)
    with pytest.raises(ValueError, match=re.escape("y_true holds the class label 4, but the labels must be in "
                                                   "[0, 3): the model's output 'kind' has 3 classes")):
        model.fit(x, {"kind": labels + 2 * (labels == 2), "size": size}, verbose=0)
    assert math.isfinite(model.fit(x, {"kind": labels, "size": size}, verbose=0).history["loss"][0])


# ---------------------------------------------------------------------- dtypes and emptiness
@pytest.mark.parametrize("dtype", ["U", "O"])
def test_string_or_object_inputs(x, labels, dtype):
    bad = x.astype(str).astype(object) if dtype == "O" else x.astype(str)
    model = classifier("sparse_categorical_crossentropy")
    for call in (lambda: model.fit(bad, labels, verbose=0), lambda: model.evaluate(bad, labels, verbose=0),
                 lambda: model.predict(bad, verbose=0)):
        with pytest.raises(TypeError, match=r"input 0 of layer 'hidden' has dtype (<U|object).*shape \(40, 4\).*"
                                            r"expected a numeric array \(shape=\(None, 4\)\)"):
            call()


def test_string_targets(x):
    y = np.array(["cat", "dog", "eel", "fox"] * 10)
    with pytest.raises(TypeError, match=r"fit: y for output 'probs' has dtype <U3 \(shape \(40,\)\); expected a "
                                        r"numeric array"):
        classifier("sparse_categorical_crossentropy").fit(x, y, verbose=0)
    with pytest.raises(TypeError, match=r"y for output 'probs' has dtype object"):
        classifier("sparse_categorical_crossentropy").fit(x, y.astype(object), verbose=0)


def test_empty_arrays():
    model = classifier("sparse_categorical_crossentropy")
    x, y = np.zeros((0, 4), "float32"), np.zeros((0,), "int32")
    message = re.escape("The data is empty: expected at least one sample, got arrays of shapes {'x': [(0, 4)]")
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match=re.escape("The data is empty")):
        model.predict(x, verbose=0)


def test_input_shape_and_count(x, labels):
    model = classifier("sparse_categorical_crossentropy", functional=True)
    with pytest.raises(ValueError, match=re.escape("fit: input 0 of layer 'hidden' is incompatible with the layer: "
                                                   "expected shape=(None, 4), found shape=(40, 5)")):
        model.fit(np.zeros((40, 5), "float32"), labels, verbose=0)
    with pytest.raises(ValueError, match=re.escape("predict: model '" + model.name + "' expects 1 input(s), but "
                                                   "it received 2 input array(s)")):
        model.predict([x, x], verbose=0)


# ---------------------------------------------------------------------- streamed batches
def batches(x, y, size=4, bad_step=None, bad=None):
    for step, start in enumerate(range(0, len(x), size)):
        xb, yb = x[start:start + size], y[start:start + size]
        yield (bad(xb, yb) if step == bad_step else (xb, yb))


def wider(xb, yb):
    return np.concatenate([xb, xb[:, :1]], axis=1), yb


class Batches(PyDataset):
    def __init__(self, x, y, bad_step=None, bad=None):
        super().__init__()
        self.items = list(batches(x, y, 4, bad_step, bad))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def test_generator_batch_of_the_wrong_shape(x, labels):
    model = classifier("sparse_categorical_crossentropy")
    weights = model.get_weights()
    with pytest.raises(ValueError, match=re.escape("fit: step 7 of 'generator': input 0 of layer 'hidden' is "
                                                   "incompatible with the layer: expected shape=(None, 4), found "
                                                   "shape=(4, 5)")):
        model.fit(batches(x, labels, bad_step=7, bad=wider), steps_per_epoch=10, verbose=0)
    assert not all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # steps 0-6 trained
    with pytest.raises(ValueError, match=re.escape("predict: step 3 of 'generator': input 0 of layer 'hidden'")):
        model.predict(batches(x, labels, bad_step=3, bad=wider), steps=10, verbose=0)


def test_pydataset_batch_of_the_wrong_shape(x, labels):
    model = classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=re.escape("evaluate: step 7 of 'Batches': input 0 of layer 'hidden' is "
                                                   "incompatible")):
        model.evaluate(Batches(x, labels, bad_step=7, bad=wider), verbose=0)
    with pytest.raises(ValueError, match=re.escape("fit: step 7 of 'Batches'")):
        model.fit(Batches(x, labels, bad_step=7, bad=wider), shuffle=False, verbose=0)


def test_streamed_batches_of_another_structure_or_size(x, labels):
    model = classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=re.escape("step 2 of 'generator': the batch has the structure (x, y, "
                                                   "sample_weight) = ['*', None, None], but the first batch had "
                                                   "['*', '*', None]")):
        model.fit(batches(x, labels, bad_step=2, bad=lambda xb, yb: (xb,)), steps_per_epoch=10, verbose=0)
    with pytest.raises(ValueError, match=re.escape("step 4 of 'generator': the arrays of a batch must have the same, "
                                                   "non-zero number of samples (first dimension); got shapes "
                                                   "[(4, 4), (3,)]")):
        model.fit(batches(x, labels, bad_step=4, bad=lambda xb, yb: (xb, yb[:3])), steps_per_epoch=10, verbose=0)


def test_streamed_labels(x, rng, labels):
    model = classifier()
    one_hot = np.eye(5, dtype="float32")[rng.integers(0, 5, 40)]
    with pytest.raises(ValueError, match=re.escape("fit: step 0 of 'Batches': categorical_crossentropy: y_true has "
                                                   "5 classes, the model's output 'probs' has 3")):
        model.fit(Batches(x, one_hot), verbose=0)
    sparse = classifier("sparse_categorical_crossentropy")
    high = labels.copy()
    high[2] = 9
    with pytest.raises(ValueError, match=re.escape("step 0 of 'generator': sparse_categorical_crossentropy: y_true "
                                                   "holds the class label 9")):
        sparse.fit(batches(x, high), steps_per_epoch=10, verbose=0)


def test_tf_data_and_dataloader_batches_are_checked(x, labels):
    model = classifier("sparse_categorical_crossentropy")
    sources = []
    try:
        import tensorflow as tf
        sources.append(lambda xs, ys: tf.data.Dataset.from_tensor_slices((xs, ys)).batch(8))
    except ImportError:
        pass
    try:
        import torch
        sources.append(lambda xs, ys: torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(xs), torch.from_numpy(ys)), batch_size=8))
    except ImportError:
        pass
    if not sources:
        pytest.skip("neither tensorflow nor torch is installed")
    for source in sources:
        bad = labels.copy()
        bad[1] = 3
        with pytest.raises(ValueError, match=r"fit: step 0 of '\w+': sparse_categorical_crossentropy: y_true holds "
                                             r"the class label 3"):
            model.fit(source(x, bad), verbose=0)
        with pytest.raises(ValueError, match=r"evaluate: step 0 of '\w+': input 0 of layer 'hidden' is incompatible "
                                             r"with the layer: expected shape=\(None, 4\), found shape=\(8, 3\)"):
            model.evaluate(source(x[:, :3].copy(), labels), verbose=0)


def test_image_data_generator_batches_are_checked(rng):
    from mlfront.preprocessing.image import ImageDataGenerator
    model = mlfront.Sequential([layers.Input((6, 6, 1)), layers.Flatten(), layers.Dense(2, activation="softmax",
                                                                                         name="probs")])
    model.compile("sgd", "categorical_crossentropy")
    images = rng.random((12, 6, 6, 3)).astype("float32")
    with pytest.raises(ValueError, match=re.escape("expected shape=(None, 6, 6, 1), found shape=(4, 6, 6, 3)")):
        model.fit(ImageDataGenerator().flow(images, np.eye(2)[rng.integers(0, 2, 12)], batch_size=4), verbose=0)
    with pytest.raises(ValueError, match=re.escape("categorical_crossentropy: y_true has 3 classes, the model's "
                                                   "output 'probs' has 2")):
        model.fit(ImageDataGenerator().flow(images[..., :1], np.eye(3)[rng.integers(0, 3, 12)], batch_size=4),
                  verbose=0)


# ---------------------------------------------------------------------- valid data still trains
def test_one_hot_boolean_labels_train_as_float_labels(x, labels):
    mlfront.utils.set_random_seed(3)
    as_bool = classifier()
    mlfront.utils.set_random_seed(3)
    as_float = classifier()
    as_float.set_weights(as_bool.get_weights())
    one_hot = np.eye(3, dtype=bool)[labels]
    a = as_bool.fit(x, one_hot, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    b = as_float.fit(x, one_hot.astype("float32"), epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("dtype,shape", [("int64", (40,)), ("int32", (40, 1)), ("uint8", (40,))])
def test_integer_sparse_labels_train_as_one_hot(x, labels, dtype, shape):
    sparse = classifier("sparse_categorical_crossentropy")
    dense = classifier()
    dense.set_weights(sparse.get_weights())
    a = sparse.fit(x, labels.astype(dtype).reshape(shape), epochs=2, batch_size=8, shuffle=False, verbose=0)
    b = dense.fit(x, np.eye(3, dtype="float32")[labels], epochs=2, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-4)
    for wa, wb in zip(sparse.get_weights(), dense.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)


def test_generator_with_a_short_last_batch_and_class_weight(x, labels):
    # 40 samples in batches of 6: the last batch has 4
    from_generator = classifier("sparse_categorical_crossentropy")
    from_arrays = classifier("sparse_categorical_crossentropy")
    from_arrays.set_weights(from_generator.get_weights())
    weights = {0: 1.0, 1: 2.0, 2: 0.5}
    a = from_generator.fit(batches(x, labels, size=6), steps_per_epoch=7, class_weight=weights, verbose=0)
    b = from_arrays.fit(x, labels, batch_size=6, shuffle=False, class_weight=weights, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)
    for wa, wb in zip(from_generator.get_weights(), from_arrays.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_the_checks_can_be_switched_off(x, labels):
    bad = labels.copy()
    bad[0] = 7
    previous = data_checks.set_enabled(False)
    try:
        assert previous is True
        try:  # the engine's own behaviour (an engine error, or a NaN loss on jax), not mlfront's check
            classifier("sparse_categorical_crossentropy").fit(x, bad, verbose=0)
        except Exception as err:  # noqa: BLE001 - any engine error
            assert "y_true holds" not in str(err)
    finally:
        data_checks.set_enabled(previous)


# ---------------------------------------------------------------------- NaN and inf in the data
class CountBatches(mlfront.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy", "mse"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_in_the_data_gives_a_nan_loss(x, labels, loss, bad):
    x = x.copy()
    x[3, 1] = bad  # in the first batch; the hidden ReLU layer must not swallow it (a fused kernel on tensorflow)
    y = labels if loss.startswith("sparse") else np.eye(3, dtype="float32")[labels]
    model = classifier(loss)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(math.isnan(v) for v in history.history["loss"])
    assert math.isnan(model.evaluate(x, y, verbose=0))
    assert np.isnan(model.predict(x[:8], verbose=0)[3]).all()

    counter = CountBatches()
    history = classifier(loss).fit(x, y, epochs=3, batch_size=8, verbose=0,
                                   callbacks=[mlfront.callbacks.TerminateOnNaN(), counter])
    assert counter.batches == 1 and len(history.history["loss"]) == 1


def test_relu_keeps_nan_and_its_gradient():
    B = mlfront.backend.get()
    values = np.array([[-1.0, 0.0, 2.0, np.nan], [-1.0, 0.0, 2.0, 3.0]], "float32")
    layer = layers.Dense(4, activation="relu", kernel_initializer="identity", bias_initializer="zeros")
    model = mlfront.Sequential([layers.Input((4,)), layer])  # a compiled MatMul + BiasAdd + ReLU
    np.testing.assert_array_equal(model.predict(values, verbose=0), [[np.nan] * 4, [0.0, 0.0, 2.0, 3.0]])
    values = values[:1]
    np.testing.assert_array_equal(B.to_numpy(mlfront.activations.relu(B.convert(values))), [[0, 0, 2, np.nan]])

    def total(params):
        return B.sum(mlfront.activations.relu(params[0]) * B.convert(np.array([[1.0, 2.0, 3.0]], "float32")))
    _, (grad,) = mlfront.value_and_grad(total)([B.convert(np.array([[-1.0, 0.0, 2.0]], "float32"))])
    np.testing.assert_array_equal(B.to_numpy(grad), [[0.0, 0.0, 3.0]])  # ReLU's gradient is 0 at 0, as in Keras


@pytest.mark.parametrize("layers_config, match", [
    ([{"class_name": "Adam", "config": {}}], r"layer 0, 'Adam'\): cannot build"),
    ([{"class_name": "NotAThing", "config": {}}], r"layer 0, 'NotAThing'\): cannot build"),
    (["Dense"], "layer 0 must be a dict"), (None, "a list of 'layers'"),
])
def test_sequential_from_config_with_what_is_not_a_layer(layers_config, match):
    with pytest.raises(ValueError, match=match):
        mlfront.Sequential.from_config({"name": "s", "layers": layers_config})


def test_errors_name_the_method_that_got_the_data():
    mlfront.utils.set_random_seed(0)
    model = mlfront.Sequential([mlfront.Input((4,)), mlfront.layers.Dense(3, activation="softmax", name="probs")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, good, bad = np.ones((6, 4), "float32"), np.eye(3)[[0, 1, 2, 0, 1, 2]], np.eye(5)[[0, 1, 2, 3, 4, 0]]
    with pytest.raises(ValueError, match="^train_on_batch: categorical_crossentropy: y_true has 5 classes"):
        model.train_on_batch(x, bad)
    with pytest.raises(ValueError, match="^test_on_batch: categorical_crossentropy"):
        model.test_on_batch(x, bad)
    with pytest.raises(ValueError, match=r"^fit \(validation_data\): categorical_crossentropy"):
        model.fit(x, good, validation_data=(x, bad), verbose=0)


# ---------------------------------------------------------------------- missing targets, output too small, indices
def test_data_without_targets_for_a_compiled_loss(x, labels):
    model = classifier("sparse_categorical_crossentropy")
    message = "the model was compiled with the loss sparse_categorical_crossentropy, but the data has no targets"
    with pytest.raises(ValueError, match=re.escape(f"fit: {message}")):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match=re.escape(f"evaluate: {message}")):
        model.evaluate(x, verbose=0)

    def only_x():
        while True:
            yield x[:8]
    with pytest.raises(ValueError, match=re.escape(f"fit: step 0 of 'generator': {message}")):
        model.fit(only_x(), steps_per_epoch=2, verbose=0)
    assert model.predict(only_x(), steps=2, verbose=0).shape == (16, 3)  # predict needs no targets


def test_targets_wider_than_a_one_unit_output(x, rng):
    model = classifier("binary_crossentropy", classes=1)
    with pytest.raises(ValueError, match=re.escape("fit: binary_crossentropy: y_true has shape (40, 3), which does "
                                                   "not match the model's output 'probs' of shape (None, 1)")):
        model.fit(x, rng.integers(0, 2, size=(40, 3)).astype("float32"), verbose=0)
    wide = classifier("binary_crossentropy", classes=3)  # a target of width 1 still broadcasts, as in Keras
    wide.fit(x, rng.integers(0, 2, size=(40, 1)).astype("float32"), verbose=0)


@pytest.mark.parametrize("bad", [9, -1])
def test_embedding_indices_outside_input_dim(bad):
    inputs = layers.Input((3,), dtype="int32")
    model = mlfront.Model(inputs, layers.Dense(1)(layers.Flatten()(layers.Embedding(5, 2, name="words")(inputs))))
    model.compile("sgd", "mse")
    indices = np.array([[1, 2, 3], [0, 4, bad]])
    message = (f"input 0 holds the index {bad}, but Embedding 'words' has input_dim=5: its indices must be in "
               f"[0, 5)")
    with pytest.raises(ValueError, match=re.escape(f"predict: {message}")):
        model.predict(indices, verbose=0)
    with pytest.raises(ValueError, match=re.escape(f"fit: {message}")):
        model.fit(indices, np.zeros((2, 1)), verbose=0)

    def stream():
        yield indices, np.zeros((2, 1))
    with pytest.raises(ValueError, match=re.escape(f"fit: step 0 of 'generator': {message}")):
        model.fit(stream(), steps_per_epoch=1, verbose=0)
    assert model.predict(indices[:1], verbose=0).shape == (1, 1)
