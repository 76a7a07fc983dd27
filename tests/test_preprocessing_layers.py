"""Numeric and image preprocessing layers against NumPy references and Keras 3 fixtures.

The fixtures (`fixtures/preprocessing_layers.npz`) are Keras 3 outputs on the TensorFlow backend, written by
`fixtures/make_preprocessing_layer_fixtures.py`. Random layers are checked with factors whose range is one
value, which makes their draw (and output) determined. The sampling they share (`ops.resize`,
`ops.affine_transform`) is tested in `test_image_sampling.py`.
"""

import os

import numpy as np
import pytest
from layer_testing import run_layer_test
from references import preprocessing as ref

import mlfront
from mlfront import layers, ops

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "preprocessing_layers.npz"))


def fixture(name):
    return FIXTURES[name]


def numpy(x):
    return ops.convert_to_numpy(x)


# ---------------------------------------------------------------------- Resizing, CenterCrop, RandomCrop
RESIZE_CASES = [(3, 4, "bilinear", False, False, 0.0), (8, 10, "bilinear", False, False, 0.0),
                (3, 4, "nearest", False, False, 0.0), (8, 10, "nearest", False, False, 0.0),
                (4, 4, "bilinear", True, False, 0.0), (6, 3, "nearest", True, False, 0.0),
                (4, 4, "bilinear", False, True, 0.25), (2, 6, "bilinear", False, True, 0.25)]


@pytest.mark.parametrize("case", range(len(RESIZE_CASES)))
def test_resizing_matches_keras(case):
    h, w, interpolation, crop, pad, fill = RESIZE_CASES[case]
    kwargs = dict(height=h, width=w, interpolation=interpolation, crop_to_aspect_ratio=crop,
                  pad_to_aspect_ratio=pad, fill_value=fill)
    run_layer_test(layers.Resizing, kwargs, fixture("image"), expected_output=fixture(f"resize_{case}"),
                   expected_output_shape=(2, h, w, 3), expected_num_trainable_weights=0)


def test_resizing_single_image_and_channels_first(rng):
    images = rng.uniform(size=(2, 5, 7, 3)).astype("float32")
    expected = ref.resize(images, 3, 4)
    single = numpy(layers.Resizing(3, 4)(images[0]))
    np.testing.assert_allclose(single, expected[0], rtol=1e-5, atol=1e-6)
    first = layers.Resizing(3, 4, data_format="channels_first")
    out = numpy(first(np.transpose(images, (0, 3, 1, 2))))
    np.testing.assert_allclose(out, np.transpose(expected, (0, 3, 1, 2)), rtol=1e-5, atol=1e-6)
    assert first.compute_output_shape((None, 3, 5, 7)) == (None, 3, 3, 4)


def test_center_crop_matches_keras():
    run_layer_test(layers.CenterCrop, dict(height=3, width=4), fixture("image"),
                   expected_output=fixture("center_crop_small"), expected_output_shape=(2, 3, 4, 3))
    # larger than the input: crop to the aspect ratio, then resize
    run_layer_test(layers.CenterCrop, dict(height=6, width=9), fixture("image"),
                   expected_output=fixture("center_crop_large"), expected_output_shape=(2, 6, 9, 3))


@pytest.mark.parametrize("size, name, training", [((4, 4), "random_crop_inference", False),
                                                   ((3, 6), "random_crop_inference_b", False),
                                                   ((6, 6), "random_crop_larger", True)])
def test_random_crop_centre_crop_and_resize_matches_keras2(size, name, training):
    # inference, or a target larger than the input: the centred aspect-ratio box, resized (Keras 2's numbers)
    run_layer_test(layers.RandomCrop, dict(height=size[0], width=size[1]), fixture("image"),
                   expected_output=fixture(name), expected_output_shape=(2,) + size + (3,),
                   call_kwargs={"training": training})


def test_random_crop_training_takes_a_window_of_the_input():
    images = fixture("image_b")
    layer = layers.RandomCrop(3, 4, seed=3)
    corners = set()
    for _ in range(8):
        out = numpy(layer(images, training=True))
        assert out.shape == (2, 3, 4, 2)
        matches = [(i, j) for i in range(3) for j in range(3) if np.array_equal(out, images[:, i:i + 3, j:j + 4])]
        assert len(matches) == 1
        corners.add(matches[0])
    assert len(corners) > 1


# ---------------------------------------------------------------------- random affine layers
ROTATION, ZOOM, SHIFT = dict(factor=(0.25, 0.25)), dict(height_factor=(0.3, 0.3), width_factor=(-0.25, -0.25)), \
    dict(height_factor=(0.2, 0.2), width_factor=(-0.3, -0.3))
AFFINE_LAYER_CASES = [  # (layer, kwargs, input fixture, output fixture prefix, fill_mode, interpolation)
    (layers.RandomRotation, ROTATION, "square", "rotation90_square", "constant", "nearest"),
    (layers.RandomRotation, ROTATION, "image_b", "rotation90", "constant", "bilinear"),
    (layers.RandomZoom, ZOOM, "image_b", "zoom", "reflect", "bilinear"),
    (layers.RandomZoom, ZOOM, "image_b", "zoom", "wrap", "nearest"),
    (layers.RandomTranslation, SHIFT, "image_b", "translation", "constant", "bilinear"),
    (layers.RandomTranslation, SHIFT, "image_b", "translation", "wrap", "nearest"),
]


@pytest.mark.parametrize("case", range(len(AFFINE_LAYER_CASES)))
def test_random_affine_layers_with_a_determined_draw_match_keras(case):
    layer_class, kwargs, source, name, fill_mode, interpolation = AFFINE_LAYER_CASES[case]
    layer = layer_class(**kwargs, fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5)
    out = numpy(layer(fixture(source), training=True))
    np.testing.assert_allclose(out, fixture(f"{name}_{fill_mode}_{interpolation}"), rtol=1e-5, atol=1e-5)


def test_rotation_by_a_quarter_turn_is_rot90(rng):
    images = rng.uniform(size=(2, 5, 5, 2)).astype("float32")
    layer = layers.RandomRotation((0.25, 0.25), interpolation="nearest", fill_mode="constant")
    np.testing.assert_array_equal(numpy(layer(images, training=True)), np.rot90(images, k=1, axes=(1, 2)))


def test_other_determined_affine_draws_match_keras():
    image = fixture("image_b")
    out = numpy(layers.RandomRotation((0.125, 0.125))(image, training=True))
    np.testing.assert_allclose(out, fixture("rotation45_reflect_bilinear"), rtol=1e-5, atol=1e-5)
    transform = ref.rotation_transform(45.0, 5, 6)
    np.testing.assert_allclose(out, ref.affine_transform(image, transform, "bilinear", "reflect"), atol=1e-5)
    out = numpy(layers.RandomZoom((-0.4, -0.4), fill_mode="constant")(image, training=True))
    np.testing.assert_allclose(out, fixture("zoom_height_only"), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- RandomFlip
@pytest.mark.parametrize("mode, axes", [("horizontal", (2,)), ("vertical", (1,)),
                                        ("horizontal_and_vertical", (1, 2))])
def test_random_flip_flips_whole_images_with_probability_half(rng, mode, axes):
    images = rng.uniform(size=(40, 3, 4, 2)).astype("float32")
    out = numpy(layers.RandomFlip(mode, seed=11)(images, training=True))
    flipped = np.flip(images, axis=axes)
    is_flipped = [np.array_equal(o, f) for o, f in zip(out, flipped)]
    is_same = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(a or b for a, b in zip(is_flipped, is_same))
    assert 5 <= sum(is_flipped) <= 35


def test_random_flip_channels_first_single_image(rng):
    image = rng.uniform(size=(2, 3, 4)).astype("float32")  # channels, height, width
    layer = layers.RandomFlip("horizontal", data_format="channels_first", seed=0)
    outs = [numpy(layer(image, training=True)) for _ in range(10)]
    assert all(np.array_equal(o, image) or np.array_equal(o, image[:, :, ::-1]) for o in outs)
    assert any(np.array_equal(o, image[:, :, ::-1]) for o in outs)


# ---------------------------------------------------------------------- RandomContrast, RandomBrightness
def test_random_contrast_and_brightness_match_keras_and_formula():
    x255, x1 = fixture("image_255"), fixture("image_b")
    out = numpy(layers.RandomContrast((-0.5, 0.5))(x255, training=True))  # Keras draws exactly 1.5 here
    np.testing.assert_allclose(out, fixture("contrast_1_5"), rtol=1e-5, atol=1e-3)
    mean = x255.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, np.clip((x255 - mean) * 1.5 + mean, 0, 255), rtol=1e-5, atol=1e-3)
    out = numpy(layers.RandomContrast((-0.5, 0.5), value_range=(0, 1))(x1, training=True))
    np.testing.assert_allclose(out, fixture("contrast_unit_range"), rtol=1e-5, atol=1e-6)
    out = numpy(layers.RandomBrightness((0.2, 0.2))(x255, training=True))
    np.testing.assert_allclose(out, fixture("brightness_plus"), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(out, np.clip(x255 + 51.0, 0, 255), rtol=1e-5, atol=1e-3)
    out = numpy(layers.RandomBrightness((-0.3, -0.3), value_range=(0, 1))(x1, training=True))
    np.testing.assert_allclose(out, fixture("brightness_minus_unit"), rtol=1e-5, atol=1e-6)


def test_random_contrast_draws_one_factor_per_image(rng):
    images = rng.uniform(100, 150, size=(6, 4, 4, 1)).astype("float32")  # never clipped to [0, 255]
    out = numpy(layers.RandomContrast(0.5, seed=2)(images, training=True))
    deviation = images - images.mean(axis=(1, 2), keepdims=True)
    factors = []
    for o, i, d in zip(out, images, deviation):
        far = np.abs(d) > 1.0  # pixels far enough from the mean to read the factor accurately
        ratios = (o - (i - d))[far] / d[far]
        np.testing.assert_allclose(ratios, ratios[0], rtol=1e-3)
        factors.append(ratios[0])
    assert all(1.0 - 1e-3 <= f <= 1.5 + 1e-3 for f in factors)  # Keras 3: a number f means [1, 1 + f]
    assert len(np.unique(np.round(factors, 3))) > 1


# ---------------------------------------------------------------------- random layers: inference, seeds, fit
RANDOM_LAYERS = [(layers.RandomFlip, {}), (layers.RandomRotation, {"factor": 0.3}),
                 (layers.RandomZoom, {"height_factor": 0.3}),
                 (layers.RandomTranslation, {"height_factor": 0.3, "width_factor": 0.2}),
                 (layers.RandomContrast, {"factor": 0.5}), (layers.RandomBrightness, {"factor": 0.4})]


@pytest.mark.parametrize("layer_class, kwargs", RANDOM_LAYERS)
def test_random_layers_are_identity_in_inference_and_random_in_training(layer_class, kwargs):
    images = fixture("image_255")
    run_layer_test(layer_class, kwargs, images, expected_output=images, expected_output_shape=images.shape,
                   expected_num_trainable_weights=0)
    layer = layer_class(**kwargs, seed=5)
    np.testing.assert_array_equal(numpy(layer(images, training=False)), images)
    trained = [numpy(layer(images, training=True)) for _ in range(6)]
    assert any(not np.allclose(t, images) for t in trained)
    # the same seed gives the same draws in a fresh layer
    again = layer_class(**kwargs, seed=5)
    np.testing.assert_array_equal(numpy(again(images, training=True)), trained[0])


def test_random_layers_pass_images_through_predict():
    images = fixture("image_255")
    model = mlfront.Sequential([layers.Input(shape=images.shape[1:])] + [c(**k) for c, k in RANDOM_LAYERS])
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)


def test_model_with_rescaling_flip_and_conv_trains_and_is_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(64, 1)).astype("float32")
    x = (rng.uniform(0, 120, size=(64, 8, 8, 1)) + 120 * y[:, :, None, None]).astype("float32")  # dark or bright
    runs = []
    for _ in range(2):
        mlfront.utils.set_random_seed(42)
        model = mlfront.Sequential([layers.Input(shape=(8, 8, 1)), layers.Rescaling(1 / 255.0),
                                    layers.RandomFlip("horizontal"), layers.Conv2D(4, 3, activation="relu"),
                                    layers.Flatten(), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=mlfront.optimizers.Adam(0.01), loss="binary_crossentropy")
        history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
        runs.append((history.history["loss"], model.get_weights()))
    losses, weights = runs[0]
    assert losses[-1] < losses[0] * 0.8
    np.testing.assert_array_equal(runs[1][0], losses)
    for a, b in zip(runs[1][1], weights):
        np.testing.assert_array_equal(a, b)


def test_random_layers_draw_from_the_key_of_a_compiled_step(rng):
    images = rng.uniform(size=(16, 4, 4, 1)).astype("float32")
    model = mlfront.Sequential([layers.Input(shape=(4, 4, 1)), layers.RandomFlip("vertical"),
                                layers.RandomRotation(0.2, fill_mode="constant"),
                                layers.RandomBrightness(0.5, value_range=(0, 1))])

    @mlfront.jit
    def augment(x, key):
        out, _ = model.stateless_call([], [], x, training=True, seed=key)
        return out

    first, again = numpy(augment(images, mlfront.random.key(1))), numpy(augment(images, mlfront.random.key(1)))
    other = numpy(augment(images, mlfront.random.key(2)))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other) and not np.allclose(first, images)
    np.testing.assert_array_equal(numpy(model(images)), images)


def test_seeded_layer_traced_without_a_step_key_stays_usable():
    images = fixture("image_b")
    layer = layers.RandomFlip(seed=3)
    flip = mlfront.jit(lambda x: layer(x, training=True))
    for out in (flip(images), flip(images), layer(images, training=True)):
        out = numpy(out)
        assert all(np.array_equal(o, i) or np.array_equal(o, i[::-1, ::-1]) for o, i in zip(out, images))


# ---------------------------------------------------------------------- Rescaling
def test_rescaling(rng):
    x = rng.uniform(0, 255, size=(3, 4, 2)).astype("float32")
    run_layer_test(layers.Rescaling, dict(scale=1 / 127.5, offset=-1.0), x, expected_output=x / 127.5 - 1.0,
                   rtol=1e-6)
    run_layer_test(layers.Rescaling, dict(scale=[0.5, 2.0], offset=[1.0, 0.0]), x,
                   expected_output=x * [0.5, 2.0] + [1.0, 0.0])
    out = numpy(layers.Rescaling(0.5)(x.astype("uint8")))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x.astype("uint8") * 0.5)


# ---------------------------------------------------------------------- Normalization
@pytest.mark.parametrize("tag, axis, data", [("last", -1, "norm_data"), ("none", None, "norm_data"),
                                             ("axes12", (1, 2), "norm_data3"), ("axis1", 1, "norm_data3")])
def test_normalization_adapt_matches_keras(tag, axis, data):
    data = fixture(data)
    layer = layers.Normalization(axis=axis)
    layer.adapt(data)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), fixture(f"norm_{tag}_mean"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), fixture(f"norm_{tag}_variance"), rtol=1e-5)
    np.testing.assert_allclose(numpy(layer(data[:5])), fixture(f"norm_{tag}_output"), rtol=1e-5, atol=1e-5)
    keep = () if axis is None else tuple(a % data.ndim for a in np.atleast_1d(axis))
    reduce = tuple(a for a in range(data.ndim) if a not in keep)
    mean, var = data.mean(axis=reduce, keepdims=True), data.var(axis=reduce, keepdims=True)
    np.testing.assert_allclose(numpy(layer(data[:5])), ref.normalize(data[:5], mean, var), rtol=1e-4, atol=1e-5)


def test_normalization_adapt_from_batches_generators_and_datasets():
    data = fixture("norm_data")
    expected_mean, expected_var = fixture("norm_batches_mean"), fixture("norm_batches_variance")

    class Batches(mlfront.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return data[16 * i:16 * (i + 1)], np.zeros(len(data[16 * i:16 * (i + 1)]))

    sources = [[data[:16], data[16:32], data[32:]], (b for b in (data[:10], data[10:])), Batches()]
    for source in sources:
        layer = layers.Normalization()
        layer.adapt(source)
        np.testing.assert_allclose(layer.adapt_mean.numpy(), expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.adapt_variance.numpy(), expected_var, rtol=1e-5)
    layer = layers.Normalization()
    layer.adapt(data, batch_size=7)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), expected_var, rtol=1e-5)
    layer.adapt(Batches(), steps=1)  # only the first batch
    np.testing.assert_allclose(layer.adapt_mean.numpy(), data[:16].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_normalization_invert_given_statistics_and_config():
    data = fixture("norm_data")
    layer = layers.Normalization(invert=True)
    layer.adapt(data)
    np.testing.assert_allclose(numpy(layer(data[:5])), fixture("norm_invert_output"), rtol=1e-5, atol=1e-4)
    given = dict(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.25, 9.0])
    _, out = run_layer_test(layers.Normalization, given, data[:5], expected_output=fixture("norm_given_output"),
                            expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)
    np.testing.assert_allclose(out, ref.normalize(data[:5], np.array(given["mean"]), np.array(given["variance"])),
                               rtol=1e-5)
    scalar = layers.Normalization(mean=2.0, variance=4.0)
    np.testing.assert_allclose(numpy(scalar(data[:2])), (data[:2] - 2.0) / 2.0, rtol=1e-6)


def test_normalization_statistics_are_saved_with_the_model(tmp_path):
    data = fixture("norm_data")
    norm = layers.Normalization()
    norm.adapt(data)
    assert [v.name for v in norm.non_trainable_weights] == ["mean", "variance", "count"]
    assert norm.trainable_weights == []
    model = mlfront.Sequential([layers.Input(shape=(3,)), norm, layers.Dense(2)])
    path = str(tmp_path / "norm.weights.h5")
    model.save_weights(path)
    restored = mlfront.Sequential([layers.Input(shape=(3,)), layers.Normalization(), layers.Dense(2)])
    restored.load_weights(path)
    np.testing.assert_allclose(restored.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(restored.layers[0].adapt_mean.numpy(), fixture("norm_last_mean"), rtol=1e-5,
                               atol=1e-5)


# ---------------------------------------------------------------------- Discretization
@pytest.mark.parametrize("tag, kwargs, data", [("normal4", dict(num_bins=4), "disc_data"),
                                               ("exp5", dict(num_bins=5, epsilon=0.05), "disc_data2"),
                                               ("small6", dict(num_bins=6), "disc_small"),
                                               ("small6_eps", dict(num_bins=6, epsilon=0.1), "disc_small")])
def test_discretization_adapt_matches_keras(tag, kwargs, data):
    data = fixture(data)
    layer = layers.Discretization(**kwargs)
    layer.adapt(data)
    expected = fixture(f"disc_{tag}_boundaries")
    np.testing.assert_allclose(layer.bin_boundaries, expected, rtol=1e-6, atol=1e-6)
    if tag == "small6":  # fewer values than 1 / epsilon: interpolated quantiles of the data itself
        n, values = data.size, np.sort(data.reshape(-1))
        exact = np.interp(np.arange(1, 6) / 6, np.arange(1, n + 1) / n, values)
        np.testing.assert_allclose(layer.bin_boundaries, exact, rtol=1e-5)
    # close to the exact quantiles in any case
    quantiles = np.quantile(data, np.arange(1, kwargs["num_bins"]) / kwargs["num_bins"])
    np.testing.assert_allclose(layer.bin_boundaries, quantiles, atol=0.25 * data.std())
    sample = data.reshape(-1)[:8]
    np.testing.assert_array_equal(numpy(layer(sample)), np.digitize(sample, layer.bin_boundaries))


def test_discretization_adapt_over_batches_matches_keras():
    layer = layers.Discretization(num_bins=3)
    layer.adapt([fixture("disc_data")[:400], fixture("disc_data")[400:650], fixture("disc_data2").reshape(-1)])
    np.testing.assert_allclose(layer.bin_boundaries, fixture("disc_batches_boundaries"), rtol=1e-6, atol=1e-6)
    config = layer.get_config()
    clone = layers.Discretization.from_config(config)
    assert clone.bin_boundaries == layer.bin_boundaries and clone.num_bins == 3


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_output_modes_match_keras(mode):
    x = fixture("disc_input")
    layer, out = run_layer_test(layers.Discretization, dict(bin_boundaries=[-1.0, 0.0, 1.5], output_mode=mode), x,
                                expected_output=fixture(f"disc_out_{mode}"))
    indices = np.digitize(x, [-1.0, 0.0, 1.5])
    if mode == "int":
        np.testing.assert_array_equal(out, indices)
        assert out.dtype == np.int32
    else:
        np.testing.assert_allclose(out, ref.category_encode(indices, 4, mode))


# ---------------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("name, inputs, mode", [("ce_one_hot_vector", [0, 3, 2, 1], "one_hot"),
                                                ("ce_one_hot_column", [[0], [3], [4]], "one_hot"),
                                                ("ce_one_hot_pairs", "ce_pairs", "one_hot"),
                                                ("ce_multi_hot", "ce_pairs", "multi_hot"),
                                                ("ce_multi_hot_vector", [1, 1, 3], "multi_hot"),
                                                ("ce_count", "ce_pairs", "count")])
def test_category_encoding_matches_keras(name, inputs, mode):
    inputs = fixture(inputs) if isinstance(inputs, str) else np.array(inputs, "int32")
    expected = fixture(name)
    if inputs.ndim < 3 and not (mode == "one_hot" and inputs.ndim == 2 and inputs.shape[-1] > 1):
        np.testing.assert_allclose(expected, ref.category_encode(inputs, 5, mode))
    if inputs.ndim >= 2:
        run_layer_test(layers.CategoryEncoding, dict(num_tokens=5, output_mode=mode), inputs,
                       expected_output=expected, expected_output_shape=expected.shape)
    else:
        np.testing.assert_allclose(numpy(layers.CategoryEncoding(5, output_mode=mode)(inputs)), expected)
        assert layers.CategoryEncoding(5, output_mode=mode).compute_output_shape(inputs.shape) == expected.shape


def test_category_encoding_count_weights():
    pairs, weights = fixture("ce_pairs"), fixture("ce_weights")
    out = numpy(layers.CategoryEncoding(5, output_mode="count")(pairs, count_weights=weights))
    np.testing.assert_allclose(out, fixture("ce_count_weighted"))
    np.testing.assert_allclose(out, ref.category_encode(pairs, 5, "count", weights))
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(5, output_mode="multi_hot")(pairs, count_weights=weights)


def test_category_encoding_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match=r"CategoryEncoding 'category_encoding.*num_tokens=4.*to 4"):
        layers.CategoryEncoding(4)(np.array([[0, 4]], "int32"))
    with pytest.raises(ValueError, match="CategoryEncoding"):
        layers.CategoryEncoding(4, output_mode="one_hot")(np.array([-1, 2], "int32"))


# ---------------------------------------------------------------------- argument errors and namespaces
@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.RandomContrast(-0.1), ValueError, r"RandomContrast '.*`factor`.*\[0, 1\]"),
    (lambda: layers.RandomContrast((1.5, 2.0)), ValueError, "RandomContrast"),
    (lambda: layers.RandomRotation(1.5), ValueError, r"RandomRotation '.*`factor`"),
    (lambda: layers.RandomBrightness((0.1, 0.2, 0.3)), ValueError, "RandomBrightness"),
    (lambda: layers.RandomBrightness(0.2, value_range=5), ValueError, "value_range"),
    (lambda: layers.RandomZoom(-1.0), ValueError, r"RandomZoom '.*height_factor"),
    (lambda: layers.RandomZoom(0.2, width_factor=(0.1, 1.2)), ValueError, "width_factor"),
    (lambda: layers.RandomTranslation(0.1, 1.5), ValueError, r"RandomTranslation '.*width_factor"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), NotImplementedError, r"RandomRotation '.*fill_mode"),
    (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), NotImplementedError, "interpolation"),
    (lambda: layers.RandomFlip("diagonal"), ValueError, r"RandomFlip '.*mode"),
    (lambda: layers.Resizing(4, 4, interpolation="cubic"), ValueError, r"Resizing '.*interpolation"),
    (lambda: layers.Resizing(4, 4, interpolation="bicubic"), NotImplementedError, "bicubic"),
    (lambda: layers.Resizing(4, 4, fill_mode="reflect"), ValueError, "fill_mode"),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), ValueError, "aspect"),
    (lambda: layers.Resizing(0, 4), ValueError, "height"),
    (lambda: layers.CenterCrop(3, 2.5), ValueError, r"CenterCrop '.*width"),
    (lambda: layers.CategoryEncoding(), ValueError, "num_tokens"),
    (lambda: layers.CategoryEncoding(3, output_mode="tf_idf"), ValueError, "output_mode"),
    (lambda: layers.CategoryEncoding(3, sparse=True), NotImplementedError, "sparse"),
    (lambda: layers.Normalization(mean=1.0), ValueError, r"Normalization '.*variance"),
    (lambda: layers.Discretization(), ValueError, "num_bins"),
    (lambda: layers.Discretization(bin_boundaries=[0.0], num_bins=2), ValueError, "not both"),
    (lambda: layers.Discretization(bin_boundaries=[0.0], output_mode="tf_idf"), ValueError, "output_mode"),
])
def test_bad_arguments_raise_errors_naming_the_layer(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_factor_ranges_follow_keras3():
    assert layers.RandomContrast(0.5).factor == (0.0, 0.5)  # a number cannot lower the contrast in Keras 3
    assert layers.RandomContrast((-0.5, 0.5)).factor == (-0.5, 0.5)
    assert layers.RandomBrightness(0.5).factor == (-0.5, 0.5)
    assert layers.RandomRotation((0.3, -0.2)).factor == (-0.2, 0.3)
    assert layers.RandomRotation(-0.4).factor == (-0.4, 0.4)
    zoom = layers.RandomZoom(0.2, width_factor=(-0.3, 0.1))
    assert zoom._height_range == (-0.2, 0.2) and zoom._width_range == (-0.3, 0.1)


def test_errors_at_call_and_adapt_time():
    with pytest.raises(ValueError, match=r"RandomFlip '.*rank 3"):
        layers.RandomFlip()(np.zeros((2, 3), "float32"), training=True)
    with pytest.raises(ValueError, match="adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.zeros(4, "float32"))
    norm = layers.Normalization()
    norm.adapt(np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match=r"Normalization '.*shape"):
        norm.adapt(np.zeros((4, 2), "float32"))


def test_keras2_experimental_spelling():
    from mlfront.layers.experimental import preprocessing
    assert preprocessing.Normalization is layers.Normalization
    assert layers.experimental.preprocessing.RandomFlip is layers.RandomFlip
    for name in preprocessing.__all__:
        assert getattr(preprocessing, name) is getattr(layers, name)
