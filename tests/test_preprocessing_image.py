"""`mlfront.preprocessing.image`: ImageDataGenerator and its iterators against Keras 2 (tf_keras) results
recorded by tests/fixtures/make_image_fixtures.py, plus training from the iterators on the active backend."""

import importlib.util
import io
import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("PIL")
pytest.importorskip("scipy")

import mlfront  # noqa: E402
from mlfront import layers  # noqa: E402
from mlfront.preprocessing import image  # noqa: E402
from mlfront.training import data as data_module  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
_spec = importlib.util.spec_from_file_location("make_image_fixtures", os.path.join(FIXTURES,
                                                                                   "make_image_fixtures.py"))
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
EXPECTED = np.load(os.path.join(FIXTURES, "image_keras2.npz"))
with open(os.path.join(FIXTURES, "image_keras2.json")) as _f:
    META = json.load(_f)
ATOL = 1e-4


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0, atol=ATOL)


def generator(config, **overrides):
    kwargs = dict(config)
    kwargs.update(overrides)
    if "brightness_range" in kwargs:
        kwargs["brightness_range"] = tuple(kwargs["brightness_range"])
    return image.ImageDataGenerator(**kwargs)


def batch_in(config):
    x = EXPECTED["x"].astype("float32")
    return np.transpose(x, (0, 3, 1, 2)) if config.get("data_format") == "channels_first" else x


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make.write_image_folder(str(tmp_path_factory.mktemp("images") / "images"))


# ---------------------------------------------------------------------------------------------- Keras 2 numbers
@pytest.mark.parametrize("name", sorted(make.CONFIGS))
def test_random_transform_standardize_and_parameters_match_keras2(name):
    config = make.CONFIGS[name]
    gen = generator(config)
    x = batch_in(config)
    close(np.stack([gen.random_transform(x[i].copy(), seed=10 + i) for i in range(len(x))]),
          EXPECTED[f"{name}/random_transform"])
    close(np.stack([gen.standardize(x[i].copy()) for i in range(len(x))]), EXPECTED[f"{name}/standardize"])
    params = gen.get_random_transform(x[0].shape, seed=77)
    expected = META[f"{name}/params"]
    assert set(params) == set(expected)
    for key, value in expected.items():
        assert (params[key] is None) == (value is None), key
        if value is not None:
            assert float(params[key]) == pytest.approx(value, abs=1e-9), key


@pytest.mark.parametrize("name", make.FLOW_CONFIGS)
def test_flow_batches_match_keras2_by_index_and_by_next(name):
    config = make.CONFIGS[name]
    gen = generator(config)
    x, y = batch_in(config), EXPECTED["y"]
    it = gen.flow(x, y, batch_size=3, seed=42)
    assert len(it) == 2 and it.n == 4 and it.batch_size == 3
    for i in range(len(it)):
        bx, by = it[i]
        close(bx, EXPECTED[f"{name}/getitem{i}_x"])
        np.testing.assert_array_equal(by, EXPECTED[f"{name}/getitem{i}_y"])
    it = gen.flow(x, y, batch_size=3, seed=42)
    for i in range(3):  # the third batch starts the second epoch: a new order and new draws
        bx, by = next(it)
        close(bx, EXPECTED[f"{name}/next{i}_x"])
        np.testing.assert_array_equal(by, EXPECTED[f"{name}/next{i}_y"])
    close(gen.flow(x, batch_size=3, shuffle=False, seed=9)[0], EXPECTED[f"{name}/noshuffle0_x"])


def test_featurewise_statistics_and_zca_match_keras2():
    x = EXPECTED["x"]
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x)
    close(gen.mean, EXPECTED["featurewise/mean"])
    close(gen.std, EXPECTED["featurewise/std"])
    batch = x.astype("float32")
    close(np.stack([gen.standardize(batch[i].copy()) for i in range(4)]), EXPECTED["featurewise/standardize"])
    close(gen.standardize(batch.copy()), EXPECTED["featurewise/standardize"])  # a whole batch at once
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, rotation_range=30,
                                   rescale=0.5)
    gen.fit(x, augment=True, rounds=2, seed=3)
    close(gen.mean, EXPECTED["featurewise_aug/mean"])
    close(gen.std, EXPECTED["featurewise_aug/std"])
    with pytest.warns(UserWarning, match="featurewise_center"):
        gen = image.ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-3)
    gen.fit(EXPECTED["zca/x"])
    close(gen.mean, EXPECTED["zca/mean"])
    np.testing.assert_allclose(gen.zca_whitening_matrix, EXPECTED["zca/matrix"], rtol=1e-3, atol=1e-3)
    close(gen.standardize(EXPECTED["zca/x"][:5].copy()), EXPECTED["zca/standardize"])


def test_featurewise_statistics_are_the_numpy_formulas(rng):
    x = rng.uniform(0, 255, size=(6, 5, 4, 3)).astype("float32")
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                                   data_format="channels_last")
    gen.fit(x)
    np.testing.assert_allclose(gen.mean.ravel(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), x.std(axis=(0, 1, 2)), rtol=1e-4)
    out = gen.standardize(x.copy())
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)


@pytest.mark.parametrize("case", make.FOLDER_DIRECTORY_ARGS, ids=lambda c: c["name"])
def test_flow_from_directory_matches_keras2(folder, case, capsys):
    expected = META[f"dir/{case['name']}"]
    flow = dict(case["flow"])
    it = generator(case["generator"]).flow_from_directory(folder, **flow)
    assert f"Found {expected['samples']} images belonging to {len(expected['class_indices'])} classes." \
        in capsys.readouterr().out
    assert it.filenames == expected["filenames"]
    assert it.classes.tolist() == expected["classes"]
    assert it.class_indices == expected["class_indices"]
    assert it.samples == it.n == expected["samples"] and len(it) == expected["len"]
    assert it.filepaths == [os.path.join(folder, f) for f in it.filenames]
    batch = it[0]
    bx, by = batch if isinstance(batch, tuple) else (batch, None)
    close(bx, EXPECTED[f"dir/{case['name']}/x"])
    if by is not None:
        close(by, EXPECTED[f"dir/{case['name']}/y"])


def test_flow_from_dataframe_matches_keras2(folder):
    pd = pytest.importorskip("pandas")
    files = META["df"]["files"]
    frame = pd.DataFrame({"filename": files, "class": [f.split(os.sep)[0] for f in files],
                          "w": np.arange(len(files), dtype="float64") / 4})
    gen = image.ImageDataGenerator(rotation_range=10, validation_split=0.25)
    with pytest.warns(UserWarning, match="3 invalid image filename"):
        it = gen.flow_from_dataframe(frame, directory=folder, weight_col="w", target_size=(6, 5), batch_size=4,
                                     seed=8, subset="training")
    assert it.filenames == META["df"]["filenames"]
    assert list(it.classes) == META["df"]["classes"]
    assert it.class_indices == META["df"]["class_indices"]
    assert it.samples == META["df"]["samples"]
    bx, by, bw = it[0]
    close(bx, EXPECTED["df/x"])
    close(by, EXPECTED["df/y"])
    close(bw, EXPECTED["df/w"])


# ---------------------------------------------------------------------------------------------- behaviour
def test_flow_from_directory_class_modes_and_subsets(folder):
    gen = image.ImageDataGenerator(validation_split=0.5)
    kwargs = dict(target_size=(4, 4), batch_size=64, shuffle=False)
    x, y = gen.flow_from_directory(folder, class_mode="categorical", **kwargs)[0]
    assert x.shape == (12, 4, 4, 3) and x.dtype == np.float32 and y.shape == (12, 3)
    labels = y.argmax(1)
    np.testing.assert_array_equal(np.sort(labels), labels)  # classes in order: birds, cats, dogs
    sparse_x, sparse_y = gen.flow_from_directory(folder, class_mode="sparse", **kwargs)[0]
    np.testing.assert_array_equal(sparse_y, labels)
    np.testing.assert_array_equal(sparse_x, x)
    inputs, targets = gen.flow_from_directory(folder, class_mode="input", **kwargs)[0]
    np.testing.assert_array_equal(inputs, targets)
    only_x = gen.flow_from_directory(folder, class_mode=None, **kwargs)[0]
    np.testing.assert_array_equal(only_x, x)
    _, binary = gen.flow_from_directory(folder, classes=["cats", "dogs"], class_mode="binary", **kwargs)[0]
    np.testing.assert_array_equal(binary, [0] * 4 + [1] * 3)
    train = gen.flow_from_directory(folder, subset="training", **kwargs)
    val = gen.flow_from_directory(folder, subset="validation", **kwargs)
    assert train.samples + val.samples == 12
    assert not set(train.filenames) & set(val.filenames)
    # per class, validation holds the first half of the sorted files
    assert val.filenames == ["birds/img_0.png", "birds/img_1.png", "cats/img_0.png", "cats/img_1.png",
                             "dogs/img_0.png"]
    assert all(not f.endswith(".txt") for f in train.filenames)
    rgba = gen.flow_from_directory(folder, color_mode="rgba", class_mode=None, **kwargs)[0]
    assert rgba.shape == (12, 4, 4, 4)
    np.testing.assert_array_equal(rgba[..., 3], 255)


def test_flow_from_directory_follows_links_only_when_asked(folder, tmp_path):
    root = tmp_path / "linked"
    (root / "a").mkdir(parents=True)
    os.symlink(os.path.join(folder, "cats"), root / "a" / "more")
    assert image.ImageDataGenerator().flow_from_directory(str(root), target_size=(4, 4)).samples == 0
    assert image.ImageDataGenerator().flow_from_directory(str(root), target_size=(4, 4),
                                                          follow_links=True).samples == 4


def test_flow_subsets_extra_inputs_and_sample_weights():
    x = np.arange(10 * 4 * 4 * 1, dtype="float32").reshape(10, 4, 4, 1)
    y = np.array([0, 1] * 5)
    weights = np.linspace(0.1, 1.0, 10)
    misc = np.arange(10) * 10
    gen = image.ImageDataGenerator(validation_split=0.3)
    val = gen.flow((x, misc), y, sample_weight=weights, batch_size=10, shuffle=False, subset="validation")
    (bx, bmisc), by, bw = val[0]
    np.testing.assert_array_equal(bx, x[:3])
    np.testing.assert_array_equal(bmisc, misc[:3])
    np.testing.assert_array_equal(by, y[:3])
    np.testing.assert_array_equal(bw, weights[:3])
    train = gen.flow(x, y, batch_size=4, shuffle=True, seed=1, subset="training")
    assert train.n == 7 and len(train) == 2
    seen = np.concatenate([train[i][1] for i in range(len(train))])
    assert sorted(seen.tolist()) == sorted(y[3:].tolist())
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.array([0] * 3 + [1] * 7), subset="validation")
    gen.flow(x, np.array([0] * 3 + [1] * 7), subset="validation", ignore_class_split=True)


def test_save_to_dir_writes_the_augmented_images(tmp_path):
    x = np.random.RandomState(0).randint(0, 256, size=(5, 8, 6, 3)).astype("float32")
    it = image.ImageDataGenerator(horizontal_flip=True).flow(x, batch_size=5, shuffle=False, seed=3,
                                                             save_to_dir=str(tmp_path), save_prefix="aug",
                                                             save_format="png")
    batch = it[0]
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 5 and all(n.startswith("aug_") and n.endswith(".png") for n in names)
    for name in names:
        index = int(name.split("_")[1])
        saved = image.img_to_array(image.load_img(os.path.join(tmp_path, name)))
        expected = batch[index] - batch[index].min()
        expected = expected / expected.max() * 255
        np.testing.assert_allclose(saved, np.floor(expected), atol=1)


def test_preprocessing_function_runs_per_image_after_augmentation_before_rescale():
    x = np.random.RandomState(1).uniform(0, 255, size=(4, 6, 5, 3)).astype("float32")
    shapes = []

    def invert(img):
        shapes.append(img.shape)
        return 255.0 - img

    gen = image.ImageDataGenerator(preprocessing_function=invert, rescale=0.5, horizontal_flip=True)
    it = gen.flow(x, batch_size=4, shuffle=False, seed=2)
    out = it[0]
    assert shapes == [(6, 5, 3)] * 4
    plain = image.ImageDataGenerator(horizontal_flip=True).flow(x, batch_size=4, shuffle=False, seed=2)[0]
    np.testing.assert_allclose(out, (255.0 - plain) * 0.5, atol=1e-4)
    np.testing.assert_array_equal(x, np.random.RandomState(1).uniform(0, 255, size=(4, 6, 5, 3)).astype("float32"))


def test_affine_transform_against_a_numpy_reference():
    # a 90 degree rotation about the centre of a square image is a pure index permutation
    x = np.arange(5 * 5 * 2, dtype="float32").reshape(5, 5, 2)
    out = image.apply_affine_transform(x, theta=90, row_axis=0, col_axis=1, channel_axis=2, order=1)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(0, 1)), atol=1e-4)
    # an integer shift moves the pixels (tx along the columns, ty along the rows, as in Keras 2), the border
    # repeats with fill_mode="nearest"
    shifted = image.apply_affine_transform(x, tx=1, row_axis=0, col_axis=1, channel_axis=2)
    np.testing.assert_allclose(shifted[:, :-1], x[:, 1:], atol=1e-5)
    np.testing.assert_allclose(shifted[:, -1], x[:, -1], atol=1e-5)
    filled = image.apply_affine_transform(x, ty=-2, row_axis=0, col_axis=1, channel_axis=2, fill_mode="constant",
                                          cval=-1.0)
    np.testing.assert_allclose(filled[2:], x[:-2], atol=1e-5)
    np.testing.assert_array_equal(filled[:2], -1.0)
    zoomed = image.apply_affine_transform(x, zy=2.0, row_axis=0, col_axis=1, channel_axis=2, order=0)
    np.testing.assert_array_equal(zoomed[2], x[2])  # the centre row stays; rows move away from it
    np.testing.assert_array_equal(zoomed[1], x[0])
    # channels first: the same as channels last, transposed
    first = image.apply_affine_transform(np.moveaxis(x, 2, 0), theta=33, zx=0.8, shear=12)
    last = image.apply_affine_transform(x, theta=33, zx=0.8, shear=12, row_axis=0, col_axis=1, channel_axis=2)
    np.testing.assert_allclose(np.moveaxis(first, 0, 2), last, atol=1e-5)


def test_keras2_random_functions_draw_from_numpy_global_state():
    x = np.random.RandomState(3).uniform(0, 255, size=(3, 7, 6)).astype("float32")  # channels first
    np.random.seed(11)
    rotated = image.random_rotation(x, 40)
    np.random.seed(11)
    theta = np.random.uniform(-40, 40)
    np.testing.assert_allclose(rotated, image.apply_affine_transform(x, theta=theta), atol=1e-6)
    np.random.seed(4)
    shifted = image.random_shift(x, 0.2, 0.1)
    np.random.seed(4)
    tx, ty = np.random.uniform(-0.1, 0.1) * 7, np.random.uniform(-0.2, 0.2) * 6
    np.testing.assert_allclose(shifted, image.apply_affine_transform(x, tx=tx, ty=ty), atol=1e-6)
    np.random.seed(5)
    zoomed = image.random_zoom(x, (0.9, 1.3))
    np.random.seed(5)
    zx, zy = np.random.uniform(0.9, 1.3, 2)
    np.testing.assert_allclose(zoomed, image.apply_affine_transform(x, zx=zx, zy=zy), atol=1e-6)
    np.random.seed(6)
    sheared = image.random_shear(x, 20)
    np.random.seed(6)
    np.testing.assert_allclose(sheared, image.apply_affine_transform(x, shear=np.random.uniform(-20, 20)),
                               atol=1e-6)
    np.random.seed(7)
    moved = image.random_channel_shift(x, 30.0)
    np.random.seed(7)
    np.testing.assert_allclose(moved, np.clip(x + np.random.uniform(-30, 30), x.min(), x.max()), atol=1e-4)
    last = np.moveaxis(x, 0, 2)
    np.random.seed(8)
    bright = image.random_brightness(last, (0.5, 0.5))
    np.testing.assert_allclose(bright, np.floor(np.floor((last - last.min()) / (last.max() - last.min()) * 255)
                                                * 0.5 + 0.5), atol=1)


def test_same_seed_same_data_in_any_read_order_and_with_worker_threads():
    x = np.random.RandomState(2).uniform(0, 255, size=(20, 6, 5, 3)).astype("float32")
    y = np.arange(20)
    gen = image.ImageDataGenerator(rotation_range=30, horizontal_flip=True, zoom_range=0.2)

    def epoch(it):
        return [it[i] for i in range(len(it))]

    reference = gen.flow(x, y, batch_size=6, seed=5)
    first = epoch(reference)
    reference.on_epoch_end()
    second = epoch(reference)
    first_labels = np.concatenate([b[1] for b in first])
    backwards = gen.flow(x, y, batch_size=6, seed=5)
    for i in reversed(range(len(backwards))):
        np.testing.assert_array_equal(backwards[i][0], first[i][0])
    threaded = gen.flow(x, y, batch_size=6, seed=5)
    threaded.workers = 3
    adapter = data_module.adapt(threaded, shuffle=True)
    for expected in (first, second):
        got = list(adapter.raw_batches())
        adapter.on_epoch_end()
        assert len(got) == len(expected)
        for (gx, gy), (ex, ey) in zip(got, expected):
            np.testing.assert_array_equal(gx, ex)
            np.testing.assert_array_equal(gy, ey)
    second_labels = np.concatenate([b[1] for b in second])
    assert sorted(second_labels.tolist()) == list(range(20))
    assert not np.array_equal(second_labels, first_labels)  # each epoch has its own order


def test_unseeded_iterators_follow_mlfronts_seed():
    x = np.random.RandomState(2).uniform(0, 255, size=(8, 6, 5, 3)).astype("float32")
    gen = image.ImageDataGenerator(rotation_range=30)
    mlfront.utils.set_random_seed(3)
    a = gen.flow(x, batch_size=8)[0]
    mlfront.utils.set_random_seed(3)
    b = gen.flow(x, batch_size=8)[0]
    np.testing.assert_array_equal(a, b)


def tiny_model(shape, classes=3, seed=7):
    mlfront.utils.set_random_seed(seed)
    model = mlfront.Sequential([layers.Flatten(input_shape=shape), layers.Dense(classes, activation="softmax")])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_evaluate_predict_from_a_numpy_iterator_equal_the_arrays_it_yields():
    x = np.random.RandomState(4).randint(0, 256, size=(10, 6, 5, 3)).astype("uint8")
    y = mlfront.utils.to_categorical(np.arange(10) % 3, 3)
    gen = image.ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True, rotation_range=10)
    twin = gen.flow(x, y, batch_size=4, seed=1)
    epochs = []
    for _ in range(2):
        epochs.append([twin[i] for i in range(len(twin))])
        twin.on_epoch_end()
    expected = tiny_model((6, 5, 3))
    for batches in epochs:  # the iterator's own order, unchanged by fit(shuffle=True)
        expected.fit(np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]),
                     batch_size=4, shuffle=False, epochs=1, verbose=0)
    model = tiny_model((6, 5, 3))
    history = model.fit(gen.flow(x, y, batch_size=4, seed=1), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    for got, want in zip(model.get_weights(), expected.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    plain = image.ImageDataGenerator(rescale=1 / 255.0)
    loss, acc = model.evaluate(plain.flow(x, y, batch_size=4, shuffle=False), verbose=0)
    ref_loss, ref_acc = model.evaluate(x.astype("float32") / 255, y, batch_size=4, verbose=0)
    assert loss == pytest.approx(ref_loss, rel=1e-5) and acc == pytest.approx(ref_acc)
    predicted = model.predict(plain.flow(x, batch_size=4, shuffle=False), verbose=0)
    np.testing.assert_allclose(predicted, model.predict(x.astype("float32") / 255, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_fit_from_directory_with_steps_per_epoch_and_validation(folder):
    gen = image.ImageDataGenerator(rescale=1 / 255.0, validation_split=0.5, zoom_range=0.1)
    train = gen.flow_from_directory(folder, target_size=(6, 5), batch_size=3, seed=2, subset="training")
    val = gen.flow_from_directory(folder, target_size=(6, 5), batch_size=3, shuffle=False, subset="validation")
    model = tiny_model((6, 5, 3))
    history = model.fit(train, steps_per_epoch=2, epochs=3, validation_data=val, verbose=0)
    assert len(history.history["val_loss"]) == 3 and np.isfinite(history.history["loss"]).all()
    assert train.total_batches_seen == 6
    with pytest.warns(DeprecationWarning):
        model.fit_generator(train, steps_per_epoch=1, epochs=1, verbose=0)
    assert model.predict(val, verbose=0).shape == (val.samples, 3)


def test_sparse_labels_from_directory_train_with_sparse_crossentropy(folder):
    it = image.ImageDataGenerator(rescale=1 / 255.0).flow_from_directory(folder, target_size=(4, 4),
                                                                         class_mode="sparse", batch_size=4, seed=0)
    mlfront.utils.set_random_seed(0)
    model = mlfront.Sequential([layers.Flatten(input_shape=(4, 4, 3)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert np.isfinite(model.fit(it, epochs=1, verbose=0).history["loss"][0])


def test_keras2_style_iterator_subclasses_draw_from_the_reseeded_global_generator():
    class Noise(image.Iterator):
        def __init__(self):
            super().__init__(6, 3, shuffle=False, seed=21)

        def _get_batches_of_transformed_samples(self, index_array):
            return np.random.uniform(size=len(index_array)), index_array

    it = Noise()
    np.testing.assert_array_equal(it[1][0], np.random.RandomState(22).uniform(size=3))
    assert it[0][1].tolist() == [0, 1, 2]


def test_next_cycles_through_epochs_and_reset_starts_over():
    x = np.arange(5 * 2 * 2 * 1, dtype="float32").reshape(5, 2, 2, 1)
    it = image.ImageDataGenerator().flow(x, np.arange(5), batch_size=2, shuffle=False)
    labels = [next(it)[1].tolist() for _ in range(4)]
    assert labels == [[0, 1], [2, 3], [4], [0, 1]]
    it.reset()
    assert it.next()[1].tolist() == [0, 1]
    assert iter(it) is it
    with pytest.raises(ValueError, match="asked for batch 3"):
        it[3]


# ---------------------------------------------------------------------------------------------- files
def test_load_save_roundtrip_and_conversions(tmp_path):
    x = np.random.RandomState(0).randint(0, 256, size=(7, 5, 3)).astype("float32")
    path = tmp_path / "a.png"
    image.save_img(path, x, scale=False)
    assert sorted(os.listdir(tmp_path)) == ["a.png"]  # written through a temp file, nothing left behind
    np.testing.assert_array_equal(image.img_to_array(image.load_img(path)), x)
    np.testing.assert_array_equal(image.img_to_array(image.load_img(str(path)), data_format="channels_first"),
                                  x.transpose(2, 0, 1))
    gray = image.img_to_array(image.load_img(path, color_mode="grayscale"))
    assert gray.shape == (7, 5, 1)
    with pytest.warns(UserWarning, match="grayscale"):
        assert image.load_img(path, grayscale=True).mode == "L"
    resized = image.load_img(path, target_size=(3, 4), interpolation="bilinear")
    assert resized.size == (4, 3)
    cropped = image.img_to_array(image.load_img(path, target_size=(5, 5), keep_aspect_ratio=True))
    np.testing.assert_array_equal(cropped, x[1:6])  # the centred 5 x 5 crop, no resampling needed
    buffer = io.BytesIO()
    image.save_img(buffer, x, file_format="png", scale=False)
    buffer.seek(0)
    np.testing.assert_array_equal(image.img_to_array(image.load_img(buffer)), x)
    scaled = image.img_to_array(image.array_to_img(x * 0.01 - 3))  # scale=True spans 0..255
    assert scaled.min() == 0 and scaled.max() == 255
    assert image.array_to_img(np.zeros((2, 2, 1)) + 300, scale=False).mode == "I"
    assert mlfront.utils.load_img is image.load_img and mlfront.utils.save_img is image.save_img


def test_file_errors_name_the_file_and_the_argument(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="notes.png is not a readable image"):
        image.load_img(bad)
    with pytest.raises(ValueError, match="color_mode"):
        image.load_img(bad, color_mode="cmyk")
    good = tmp_path / "g.png"
    image.save_img(good, np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="interpolation"):
        image.load_img(good, target_size=(2, 2), interpolation="sinc")
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        image.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="file_format"):
        image.save_img(tmp_path / "noext", np.zeros((2, 2, 3)))
    with pytest.raises(TypeError, match="path"):
        image.load_img(12)


def test_decompression_bomb_protection_stays_on(tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / "big.png"
    image.save_img(path, np.zeros((40, 40, 3)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValueError, match="too large"):
        image.load_img(path)


# ---------------------------------------------------------------------------------------------- argument errors
@pytest.mark.parametrize("kwargs, match", [
    (dict(fill_mode="bogus"), "fill_mode"),
    (dict(zoom_range=[0.5, 1.0, 1.5]), "zoom_range"),
    (dict(zoom_range="big"), "zoom_range"),
    (dict(brightness_range=0.5), "brightness_range"),
    (dict(width_shift_range="x"), "width_shift_range"),
    (dict(height_shift_range=[[1, 2]]), "height_shift_range"),
    (dict(data_format="channels_middle"), "data_format"),
    (dict(validation_split=1.5), "validation_split"),
    (dict(interpolation_order=7), "interpolation_order"),
    (dict(rotation_range="45"), "rotation_range"),
    (dict(rescale="1/255"), "rescale"),
    (dict(preprocessing_function=3), "preprocessing_function"),
])
def test_bad_generator_arguments_raise_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        image.ImageDataGenerator(**kwargs)


def test_bad_flow_arguments_raise_naming_them(folder):
    gen = image.ImageDataGenerator(validation_split=0.2)
    with pytest.raises(ValueError, match="rank 4"):
        gen.flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="same length"):
        gen.flow(np.zeros((3, 4, 4, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="subset"):
        gen.flow(np.zeros((3, 4, 4, 3)), subset="test")
    with pytest.raises(ValueError, match="batch_size"):
        gen.flow(np.zeros((3, 4, 4, 3)), batch_size=0)
    with pytest.raises(ValueError, match="rank 4"):
        gen.fit(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(folder, class_mode="onehot")
    with pytest.raises(ValueError, match="color_mode"):
        gen.flow_from_directory(folder, color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation"):
        gen.flow_from_directory(folder, interpolation="sinc")
    with pytest.raises(ValueError, match="does not exist"):
        gen.flow_from_directory(os.path.join(folder, "missing"))
    with pytest.raises(ValueError, match="`classes`.*zebras"):
        gen.flow_from_directory(folder, classes=["cats", "zebras"])
    with pytest.raises(ValueError, match="unknown transformation parameter"):
        gen.apply_transform(np.zeros((4, 4, 3)), {"angle": 3})
    with pytest.raises(ValueError, match="channel_axis"):
        image.apply_affine_transform(np.zeros((4, 4, 3)), theta=3, row_axis=0, col_axis=2, channel_axis=1)
    with pytest.raises(ValueError, match="fill_mode"):
        image.apply_affine_transform(np.zeros((3, 4, 4)), theta=3, fill_mode="smear")


def test_bad_dataframe_arguments_raise_naming_them(folder):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"filename": ["cats/img_0.png", "dogs/img_0.png"], "class": ["cats", "dogs"],
                          "w": ["a", "b"], "n": [1, 2]})
    gen = image.ImageDataGenerator()
    with pytest.raises(ValueError, match="column"):
        gen.flow_from_dataframe(frame, folder, y_col="label")
    with pytest.raises(TypeError, match="weight_col"):
        gen.flow_from_dataframe(frame, folder, weight_col="w")
    with pytest.raises(TypeError, match="`y_col` must be a list"):
        gen.flow_from_dataframe(frame, folder, class_mode="multi_output")
    with pytest.raises(TypeError, match="unexpected keyword"):
        gen.flow_from_dataframe(frame, folder, shuffle_files=True)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        gen.flow_from_dataframe({"filename": []}, folder)
    it = gen.flow_from_dataframe(frame, folder, y_col=["n"], class_mode="multi_output", target_size=(3, 3),
                                 shuffle=False)
    bx, (targets,) = it[0]
    np.testing.assert_array_equal(targets, [1, 2])
    raw = gen.flow_from_dataframe(frame, folder, y_col="n", class_mode="raw", target_size=(3, 3), shuffle=False)
    np.testing.assert_array_equal(raw[0][1], [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        multi = gen.flow_from_dataframe(pd.DataFrame({"filename": ["cats/img_0.png"], "class": [["cats", "dogs"]]}),
                                        folder, target_size=(3, 3))
    np.testing.assert_array_equal(multi[0][1], [[1, 1]])
