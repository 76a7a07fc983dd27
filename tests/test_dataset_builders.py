"""image_dataset_from_directory, text_dataset_from_directory, timeseries_dataset_from_array, smart_resize.

References: Keras 3 results on the same files (tests/fixtures/make_dataset_builder_fixtures.py rebuilds the
folders from fixed seeds; PNG and BMP are lossless) and NumPy formulas.
"""

import importlib.util
import json
import os

import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.utils import (image_dataset_from_directory, smart_resize, text_dataset_from_directory,
                           timeseries_dataset_from_array)
from mlfront.utils.image_resize import resize_images, resize_with_pad

pytest.importorskip("PIL")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
_spec = importlib.util.spec_from_file_location("make_dataset_builder_fixtures",
                                               os.path.join(FIXTURES, "make_dataset_builder_fixtures.py"))
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

with open(os.path.join(FIXTURES, "dataset_builder_fixtures.json"), encoding="utf-8") as _f:
    META = json.load(_f)
REF = dict(np.load(os.path.join(FIXTURES, "dataset_builder_fixtures.npz")))
TOL = 1e-4


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    return make.write_image_tree(str(tmp_path_factory.mktemp("images")))


@pytest.fixture(scope="module")
def text_root(tmp_path_factory):
    return make.write_text_tree(str(tmp_path_factory.mktemp("texts")))


def _collect(dataset):
    """All batches of one epoch concatenated per element position, and the batch sizes."""
    parts, sizes = None, []
    for batch in dataset:
        batch = batch if isinstance(batch, tuple) else (batch,)
        parts = [[] for _ in batch] if parts is None else parts
        for store, value in zip(parts, batch):
            store.append(value)
        sizes.append(len(batch[0]))
    return [np.concatenate(p) for p in parts], sizes


def _relative(paths, root):
    return [os.path.relpath(p, root) for p in paths]


# ---------------------------------------------------------------------------------------------- resizing
@pytest.mark.parametrize("case", sorted(make.RESIZE_CASES))
@pytest.mark.parametrize("method", make.RESIZE_METHODS)
def test_resize_matches_tf_image_resize(case, method):
    image = REF[f"resize/{case}/input"]
    out = resize_images(image, make.RESIZE_CASES[case][1], method)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, REF[f"resize/{case}/{method}"], atol=TOL, rtol=0)


@pytest.mark.parametrize("case", sorted(make.RESIZE_CASES))
def test_smart_resize_and_resize_with_pad_match_keras(case):
    image = REF[f"resize/{case}/input"]
    size = make.RESIZE_CASES[case][1]
    np.testing.assert_allclose(smart_resize(image, size), REF[f"resize/{case}/smart"], atol=TOL, rtol=0)
    np.testing.assert_allclose(resize_with_pad(image, *size), REF[f"resize/{case}/pad"], atol=TOL, rtol=0)


def test_resize_bilinear_numpy_formula():
    # 2x upsampling with half-pixel centres: output j samples input (j + 0.5) / 2 - 0.5, clamped at the edges
    x = np.array([0.0, 10.0, 30.0], np.float32).reshape(1, 3, 1)
    out = resize_images(x, (1, 6))[0, :, 0]
    np.testing.assert_allclose(out, [0, 2.5, 7.5, 15, 25, 30], atol=1e-6)


def test_smart_resize_batch_and_channels_first():
    rng = np.random.default_rng(3)
    batch = rng.random((2, 10, 6, 3)).astype("float32")
    out = smart_resize(batch, (4, 4))
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(out[1], smart_resize(batch[1], (4, 4)), atol=1e-6)
    first = smart_resize(batch.transpose(0, 3, 1, 2), (4, 4), data_format="channels_first")
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1), out, atol=1e-6)
    with pytest.raises(ValueError, match="interpolation"):
        smart_resize(batch, (4, 4), interpolation="hamming")
    with pytest.raises(ValueError, match="shape"):
        smart_resize(np.zeros((4, 4)), (2, 2))


# ---------------------------------------------------------------------------------------------- images
@pytest.mark.parametrize("name", sorted(make.IMAGE_CASES))
def test_image_dataset_matches_keras(image_root, name):
    ref = META["image"][name]
    ds = image_dataset_from_directory(image_root, shuffle=False, verbose=False, **make.IMAGE_CASES[name])
    values, sizes = _collect(ds)
    assert sizes == ref["sizes"] and len(ds) == len(sizes) == ds.cardinality()
    assert ds.class_names == ref["class_names"]
    assert _relative(ds.file_paths, image_root) == ref["file_paths"]
    assert len(values) == sum(k.startswith(f"image/{name}/") for k in REF)
    for i, value in enumerate(values):
        expected = REF[f"image/{name}/{i}"]
        assert value.dtype == expected.dtype and value.shape == expected.shape
        np.testing.assert_allclose(value, expected, atol=TOL, rtol=0)


def test_image_dataset_seeded_split_matches_keras(image_root):
    ref = META["image"]["seeded_split"]
    args = dict(make.SEEDED_SPLIT, verbose=False)
    train, val = image_dataset_from_directory(image_root, **args)
    assert _relative(train.file_paths, image_root) == ref["train"]
    assert _relative(val.file_paths, image_root) == ref["val"]
    (x, y), _ = _collect(val)
    np.testing.assert_allclose(x, REF["image/seeded_split/val/0"], atol=TOL, rtol=0)
    np.testing.assert_array_equal(y, REF["image/seeded_split/val/1"])
    # "training" and "validation" one at a time give the same files as "both"
    args.pop("subset")
    assert image_dataset_from_directory(image_root, subset="training", **args).file_paths == train.file_paths
    assert image_dataset_from_directory(image_root, subset="validation", **args).file_paths == val.file_paths


def test_image_dataset_shuffle_is_seeded_and_reshuffles_each_epoch(image_root):
    def epochs(seed):
        ds = image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=3, seed=seed, verbose=False)
        return ds, [_collect(ds)[0] for _ in range(3)]

    ds, first = epochs(5)
    _, again = epochs(5)
    for (x1, y1), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first[0][1], first[1][1]) or not np.array_equal(first[1][1], first[2][1])
    # every epoch holds the same samples: each image with its own label
    reference = image_dataset_from_directory(image_root, image_size=(4, 4), shuffle=False, verbose=False)
    (x_all, y_all), _ = _collect(reference)
    for x, y in first:
        order = [int(np.argmin(np.abs(x_all - image).sum(axis=(1, 2, 3)))) for image in x]
        assert sorted(order) == list(range(len(x_all)))
        np.testing.assert_array_equal(y_all[order], y)


def test_image_dataset_label_modes_and_class_names(image_root):
    ds = image_dataset_from_directory(image_root, image_size=(3, 3), shuffle=False, verbose=False,
                                      label_mode="categorical", class_names=["dogs", "cats"])
    (x, y), _ = _collect(ds)
    assert ds.class_names == ["dogs", "cats"] and x.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(y, np.eye(2, dtype="float32")[[0] * 4 + [1] * 4])
    no_labels = image_dataset_from_directory(image_root, image_size=(3, 3), shuffle=False, verbose=False,
                                             label_mode=None)
    batch = no_labels[0]  # as Keras: without labels the whole tree is read, hidden folders included
    assert isinstance(batch, np.ndarray) and batch.shape == (12, 3, 3, 3) and no_labels.class_names is None
    unbatched = image_dataset_from_directory(image_root, image_size=(3, 3), shuffle=False, verbose=False,
                                             batch_size=None)
    assert len(unbatched) == 11 and unbatched[0][0].shape == (3, 3, 3) and unbatched[0][1].shape == ()


def test_image_dataset_errors(image_root, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        image_dataset_from_directory(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="No images found|no images found"):
        image_dataset_from_directory(str(tmp_path), verbose=False)
    with pytest.raises(ValueError, match="subset"):
        image_dataset_from_directory(image_root, validation_split=0.2, subset="test", seed=1)
    with pytest.raises(ValueError, match="subset"):
        image_dataset_from_directory(image_root, validation_split=0.2)
    with pytest.raises(ValueError, match="seed"):
        image_dataset_from_directory(image_root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="validation_split"):
        image_dataset_from_directory(image_root, validation_split=1.5, subset="training", seed=1)
    with pytest.raises(ValueError, match="interpolation.*hamming"):
        image_dataset_from_directory(image_root, interpolation="hamming")
    with pytest.raises(ValueError, match="class_names"):
        image_dataset_from_directory(image_root, class_names=["cats", "horses"])
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(image_root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="label_mode"):
        image_dataset_from_directory(image_root, label_mode="sparse")
    with pytest.raises(ValueError, match="color_mode"):
        image_dataset_from_directory(image_root, color_mode="cmyk")
    with pytest.raises(ValueError, match="image_size"):
        image_dataset_from_directory(image_root, image_size=(1, 2, 3))
    with pytest.raises(ValueError, match="pad_to_aspect_ratio"):
        image_dataset_from_directory(image_root, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="len\\(labels\\) is 2"):
        image_dataset_from_directory(image_root, labels=[0, 1], verbose=False)
    with pytest.raises(ValueError, match="labels"):
        image_dataset_from_directory(image_root, labels="from_files")
    with pytest.raises(ValueError, match="categorical"):
        image_dataset_from_directory(image_root, labels=[0] * 11 + [5], label_mode="categorical", verbose=False)


def test_dataset_api(image_root):
    ds = image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=4, shuffle=False, verbose=False)
    (x_all, y_all), _ = _collect(ds)
    taken = ds.take(2)
    assert len(taken) == taken.cardinality() == 2 and len(ds) == 3
    (x, y), sizes = _collect(taken)
    assert sizes == [4, 4]
    np.testing.assert_array_equal(x, x_all[:8])
    mapped = ds.map(lambda images, labels: (images / 255.0, labels + 1))
    x, y = mapped[2]
    np.testing.assert_allclose(x, x_all[8:] / 255.0)
    np.testing.assert_array_equal(y, y_all[8:] + 1)
    singles = list(ds.unbatch())
    assert len(singles) == 11 and singles[5][0].shape == (4, 4, 3) and int(singles[5][1]) == y_all[5]
    rebatched = ds.unbatch().batch(5)
    assert [len(b[1]) for b in rebatched] == [5, 5, 1]
    with pytest.raises(ValueError, match="already batched"):
        ds.batch(2)
    assert ds.prefetch(3).max_queue_size == 3 and ds.prefetch(-1).max_queue_size == ds.max_queue_size
    for got, want in zip(ds.as_numpy_iterator(), ds):
        np.testing.assert_array_equal(got[0], want[0])
    with pytest.raises(NotImplementedError, match="filename"):
        ds.cache("cache.bin")


def test_cache_reads_each_file_once(image_root, monkeypatch):
    from mlfront.utils import image_dataset

    ds = image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=4, seed=1, verbose=False).cache()
    reads = []
    original = image_dataset._ImageReader.__call__
    monkeypatch.setattr(image_dataset._ImageReader, "__call__", lambda self, path: reads.append(path)
                        or original(self, path))
    first = _collect(ds)[0]
    second = _collect(ds)[0]
    assert sorted(reads) == sorted(ds.file_paths)  # 11 reads over two epochs
    assert sorted(first[1].tolist()) == sorted(second[1].tolist())


def _tiny_image_model(num_classes):
    model = mlfront.Sequential([layers.Input((4, 4, 3)), layers.Flatten(), layers.Dense(num_classes,
                                                                                        activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_evaluate_predict_on_image_folder(image_root):
    train, val = image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=4, seed=3,
                                              validation_split=0.25, subset="both", verbose=False)
    train = train.map(lambda x, y: (x / 255.0, y))
    val = val.map(lambda x, y: (x / 255.0, y))
    model = _tiny_image_model(3)
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    (x_val, y_val), _ = _collect(val)
    loss = model.evaluate(val, verbose=0)[0]
    probs = model.predict(x_val, verbose=0)
    expected = -np.mean(np.log(probs[np.arange(len(y_val)), y_val]))
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
    assert model.predict(val.map(lambda x, y: x), verbose=0).shape == (len(y_val), 3)


# ---------------------------------------------------------------------------------------------- text
@pytest.mark.parametrize("name", sorted(make.TEXT_CASES))
def test_text_dataset_matches_keras(text_root, name):
    ref = META["text"][name]
    ds = text_dataset_from_directory(text_root, shuffle=False, verbose=False, **make.TEXT_CASES[name])
    values, sizes = _collect(ds)
    assert sizes == ref["sizes"] and ds.class_names == ref["class_names"]
    assert values[0].tolist() == ref["texts"]
    if f"text/{name}/labels" in REF:
        np.testing.assert_array_equal(values[1], REF[f"text/{name}/labels"])
        assert values[1].dtype == REF[f"text/{name}/labels"].dtype
    else:
        assert len(values) == 1


def test_text_dataset_split_and_errors(text_root, tmp_path):
    train, val = text_dataset_from_directory(text_root, seed=2, validation_split=0.34, subset="both",
                                             verbose=False)
    assert len(train.file_paths) == 6 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    with pytest.raises(ValueError, match="no text files|No text files"):
        text_dataset_from_directory(str(tmp_path), verbose=False)
    with pytest.raises(ValueError, match="seed"):
        text_dataset_from_directory(text_root, validation_split=0.5, subset="validation")
    with pytest.raises(ValueError, match="class_names"):
        text_dataset_from_directory(text_root, labels=None, class_names=["neg"])


# ---------------------------------------------------------------------------------------------- timeseries
@pytest.mark.parametrize("name", sorted(make.TIMESERIES_CASES))
def test_timeseries_matches_keras(name):
    data, targets = make.timeseries_data()
    args = dict(make.TIMESERIES_CASES[name])
    case_targets = targets[:args.pop("targets_len")] if "targets_len" in args else args.pop("targets", targets)
    ds = timeseries_dataset_from_array(data, case_targets, **args)
    values, sizes = _collect(ds)
    assert sizes == META["timeseries"][name]["sizes"]
    assert len(values) == sum(k.startswith(f"timeseries/{name}/") for k in REF)
    for i, value in enumerate(values):
        np.testing.assert_array_equal(value, REF[f"timeseries/{name}/{i}"])


def test_timeseries_numpy_formula_and_shuffle():
    data = np.arange(50)
    ds = timeseries_dataset_from_array(data, data * 2, sequence_length=4, sequence_stride=3, sampling_rate=2,
                                       batch_size=5, shuffle=True, seed=9)
    (x1, y1), _ = _collect(ds)
    (x2, y2), _ = _collect(ds)
    starts = np.arange(0, 50 - 3 * 2, 3)
    assert sorted(x1[:, 0].tolist()) == starts.tolist() and not np.array_equal(x1, x2)
    np.testing.assert_array_equal(x1, x1[:, :1] + np.arange(4) * 2)
    np.testing.assert_array_equal(y1, x1[:, 0] * 2)
    again = timeseries_dataset_from_array(data, data * 2, sequence_length=4, sequence_stride=3, sampling_rate=2,
                                          batch_size=5, shuffle=True, seed=9)
    np.testing.assert_array_equal(_collect(again)[0][0], x1)
    with pytest.raises(ValueError, match="sampling_rate"):
        timeseries_dataset_from_array(data, None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="end_index"):
        timeseries_dataset_from_array(data, None, 3, start_index=10, end_index=5)


def test_fit_on_timeseries():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(120, 2)).astype("float32")
    targets = series[:, 0] * 0.5
    ds = timeseries_dataset_from_array(series, targets, sequence_length=6, batch_size=16, shuffle=True, seed=1)
    model = mlfront.Sequential([layers.Input((6, 2)), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(ds, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and np.isfinite(history.history["loss"]).all()
    x, y = ds[0]
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               np.mean((model.predict(x, verbose=0)[:, 0] - y) ** 2), rtol=1e-4)


# ---------------------------------------------------------------------------------------------- engine datasets
def test_as_tf_dataset(image_root):
    ds = image_dataset_from_directory(image_root, image_size=(4, 4), batch_size=4, shuffle=False, verbose=False)
    if mlfront.backend() != "tensorflow":
        with pytest.raises(NotImplementedError, match="no native dataset type"):
            ds.as_tf_dataset()
        return
    tf_ds = ds.as_tf_dataset()
    assert tf_ds.element_spec[0].shape.as_list() == [None, 4, 4, 3]
    for (x, y), (x_ref, y_ref) in zip(tf_ds.as_numpy_iterator(), ds):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
    model = _tiny_image_model(3)
    model.fit(tf_ds, epochs=1, verbose=0)


def test_index_directory_follow_links_and_verbose(tmp_path, capsys):
    from PIL import Image

    from mlfront.utils.dataset_utils import index_directory

    for folder in ("root/a", "root/b", "elsewhere"):
        (tmp_path / folder).mkdir(parents=True)
    for name in ("root/a/1.png", "root/b/2.jpg", "root/b/3.png", "elsewhere/4.png"):
        Image.new("RGB", (2, 2)).save(tmp_path / name, format="PNG")
    (tmp_path / "root/b/skip.txt").write_text("x")
    os.symlink(tmp_path / "elsewhere", tmp_path / "root/a/linked")
    paths, labels, names = index_directory(str(tmp_path / "root"), "inferred", (".png", ".jpg"), shuffle=False)
    assert capsys.readouterr().out.strip() == "Found 3 files belonging to 2 classes."
    assert _relative(paths, tmp_path / "root") == ["a/1.png", "b/2.jpg", "b/3.png"]
    assert labels.tolist() == [0, 1, 1] and labels.dtype == np.int32 and names == ["a", "b"]
    paths, labels, _ = index_directory(str(tmp_path / "root"), "inferred", (".png",), shuffle=False,
                                       follow_links=True, verbose=False)
    assert _relative(paths, tmp_path / "root") == ["a/1.png", "a/linked/4.png", "b/3.png"]
    # shuffling permutes paths and labels together, as numpy's RandomState(seed).shuffle does
    shuffled, shuffled_labels, _ = index_directory(str(tmp_path / "root"), "inferred", (".png",), seed=4,
                                                   follow_links=True, verbose=False)
    expected = list(paths)
    np.random.RandomState(4).shuffle(expected)
    assert shuffled == expected
    assert [labels[paths.index(p)] for p in shuffled] == shuffled_labels.tolist()
