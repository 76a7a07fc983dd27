"""mlfront.datasets and mlfront.utils.get_file, on tiny files in the real formats (no network: urlopen only
serves file:// URLs here).

References: real Keras results on the same tiny files (`fixtures/datasets_keras2.json`, written by
`fixtures/make_datasets.py`) and NumPy formulas written here.
"""

import base64
import gzip
import io
import json
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

import mlfront
from mlfront.datasets import (_files, boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb,
                              mnist, reuters)
from mlfront.utils import archive_utils, get_file
from mlfront.utils.file_utils import DownloadError

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "datasets_keras2.json")


@pytest.fixture(scope="module")
def keras():
    with open(FIXTURE) as f:
        return json.load(f)


@pytest.fixture(autouse=True)
def homes(offline_home):
    """Every test here runs offline, in a fresh home (see conftest's `offline_home`)."""
    return offline_home


def datasets_dir(tmp_path, subdir=""):
    folder = tmp_path / "mlfront" / "datasets" / subdir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, x in enumerate(lists):
        out[i] = list(x)
    return out


def as_lists(x):
    assert isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1
    return [list(s) for s in x]


# --- the Keras 2 pickles: Python 2 strings (SHORT_BINSTRING), protocol 2, NumPy 1 module names ---------------

class _Py2Pickler(pickle._Pickler):
    """Writes bytes and (ASCII) strings as Python 2 `str` opcodes, as the original CIFAR pickles (cPickle,
    protocol 2) hold them: the dict keys, the array's raw data, the dtype's codes."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        obj = obj.encode("ascii") if isinstance(obj, str) else obj
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = _save_py2_str


def py2_pickle(obj):
    out = io.BytesIO()
    _Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def cifar_pixels(count, offset):
    """The same formula as fixtures/make_datasets.py."""
    return ((np.arange(count * 3072).reshape(count, 3072) * 7 + offset) % 251).astype(np.uint8)


def write_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def channels_last(data):
    """(n, 3072) CIFAR rows (1024 red, 1024 green, 1024 blue, each row-major 32x32) -> (n, 32, 32, 3)."""
    n = len(data)
    out = np.empty((n, 32, 32, 3), np.uint8)
    for ch in range(3):
        for r in range(32):
            out[:, r, :, ch] = data[:, ch * 1024 + r * 32: ch * 1024 + r * 32 + 32]
    return out


# --- imports --------------------------------------------------------------------------------------------------

def test_module_access():
    assert mlfront.datasets.mnist is mnist and "datasets" in mlfront.__all__
    from mlfront.utils import data_utils
    assert data_utils.get_file is mlfront.utils.get_file and data_utils.Sequence is mlfront.utils.Sequence


# --- mnist and the cache lookup ---------------------------------------------------------------------------------

def write_mnist(path, rng, n_train=5, n_test=3):
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    np.savez_compressed(path, **arrays)
    return arrays


def check_mnist(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for name, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        assert value.dtype == np.uint8 and value.shape == arrays[name].shape
        np.testing.assert_array_equal(value, arrays[name])


def test_mnist_from_mlfront_home(homes, rng):
    arrays = write_mnist(datasets_dir(homes) / "mnist.npz", rng)
    result = mnist.load_data()
    check_mnist(result, arrays)
    result[0][0][0, 0, 0] = 7  # writable, as np.load's arrays


def test_mnist_from_keras_cache_and_keras_home(homes, rng, monkeypatch):
    keras_dir = homes / "home" / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    arrays = write_mnist(keras_dir / "mnist.npz", rng)
    check_mnist(mnist.load_data(), arrays)
    other = homes / "kh" / "datasets"
    other.mkdir(parents=True)
    arrays = write_mnist(other / "mnist.npz", rng, 2, 2)
    monkeypatch.setenv("KERAS_HOME", str(homes / "kh"))
    check_mnist(mnist.load_data(), arrays)
    first = write_mnist(datasets_dir(homes) / "mnist.npz", rng, 4, 1)
    check_mnist(mnist.load_data(), first)


def test_mnist_path_and_cache_dir(homes, rng):
    arrays = write_mnist(homes / "elsewhere.npz", rng)
    check_mnist(mnist.load_data(path=str(homes / "elsewhere.npz")), arrays)  # Keras 2: an absolute path
    (homes / "cd" / "datasets").mkdir(parents=True)
    arrays = write_mnist(homes / "cd" / "datasets" / "mine.npz", rng)
    check_mnist(mnist.load_data(path="mine.npz", cache_dir=str(homes / "cd")), arrays)


def test_offline_error_names_file_url_and_folder(homes):
    with pytest.raises(DownloadError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "mnist.npz" in message and mnist.ORIGIN in message
    assert os.path.join(str(homes / "mlfront"), "datasets") in message
    assert not list((homes / "mlfront" / "datasets").iterdir())  # no partial file left


def test_offline_error_with_a_patched_urlopen(homes, monkeypatch):
    def fail(url, *args, **kwargs):
        raise urllib.error.HTTPError(url, 503, "Service Unavailable", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(DownloadError, match="train-labels-idx1-ubyte.gz.*fashion-mnist"):
        fashion_mnist.load_data()


def test_corrupt_npz_files(homes, rng):
    path = datasets_dir(homes) / "mnist.npz"
    write_mnist(path, rng)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ValueError, match="mnist.npz.*not a valid .npz"):
        mnist.load_data()
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="no array 'y_test'"):
        mnist.load_data()
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="y_train"):
        mnist.load_data()


def npy_bytes(header_shape, dtype, payload):
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": header_shape})
    return out.getvalue() + payload


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_npz_layout_and_crc_checked(homes):
    path = datasets_dir(homes) / "boston_housing.npz"
    good_y = npy_bytes((4,), "<f8", np.arange(4.0).tobytes())
    write_zip(path, {"x.npy": npy_bytes((4, 13), "<f8", np.zeros(40).tobytes()), "y.npy": good_y})
    with pytest.raises(ValueError, match=r"boston_housing.npz.*'x'.*shape \(4, 13\).*416 bytes.*320 bytes"):
        boston_housing.load_data()
    write_zip(path, {"x.npy": b"not an npy", "y.npy": good_y})
    with pytest.raises(ValueError, match="not a valid .npy"):
        boston_housing.load_data()
    x = npy_bytes((4, 13), "<f8", np.ones(52).tobytes())
    write_zip(path, {"x.npy": x, "y.npy": good_y}, zipfile.ZIP_DEFLATED)
    (x_train, _), _ = boston_housing.load_data(test_split=0.25)
    np.testing.assert_array_equal(x_train, np.ones((3, 13)))
    data = bytearray(path.read_bytes())
    start = data.index(b"x.npy") + len(b"x.npy") + 20  # inside x's compressed data
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="boston_housing.npz"):
        boston_housing.load_data()


# --- the restricted unpickler ---------------------------------------------------------------------------------

def evil_pickle(marker):
    return b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ValueError, match=r"os\.system"):
        _files.restricted_loads(evil_pickle(marker), "crafted")
    assert not marker.exists()
    for payload in (pickle.dumps(print), pickle.dumps(bytes(3), protocol=2), pickle.dumps(slice(1, 2))):
        with pytest.raises(ValueError, match="Refusing"):
            _files.restricted_loads(payload, "crafted")
    arr = object_array([[1, 2], [3]])
    for protocol in (3, 4, 5):  # Python 3's protocol 2 spells bytes with _codecs.encode, refused too
        back = _files.restricted_loads(pickle.dumps(arr, protocol=protocol), "array")
        assert as_lists(back) == [[1, 2], [3]]
    back = _files.restricted_loads(py2_pickle({b"data": np.arange(6, dtype=np.uint8)}), "py2", encoding="bytes")
    np.testing.assert_array_equal(back[b"data"], np.arange(6))


def test_malicious_imdb_npz_is_refused(homes):
    marker = homes / "pwned"
    path = datasets_dir(homes) / "imdb.npz"
    good = io.BytesIO()
    np.save(good, np.array([0, 1]))
    write_zip(path, {"x_train.npy": npy_bytes((1,), object, evil_pickle(marker)), "y_train.npy": good.getvalue(),
                     "x_test.npy": npy_bytes((1,), object, evil_pickle(marker)), "y_test.npy": good.getvalue()})
    with pytest.raises(ValueError, match=r"imdb.npz.*x_train.*os\.system"):
        imdb.load_data()
    assert not marker.exists()


def test_malicious_cifar_batch_is_refused(homes):
    marker = homes / "pwned"
    write_tar(datasets_dir(homes) / "cifar-100-python.tar.gz",
              {"cifar-100-python/train": evil_pickle(marker), "cifar-100-python/test": evil_pickle(marker)})
    with pytest.raises(ValueError, match=r"cifar-100-python.tar.gz.*train.*os\.system"):
        cifar100.load_data()
    assert not marker.exists()


# --- imdb / reuters -------------------------------------------------------------------------------------------

def write_imdb(folder, data):
    np.savez(folder / "imdb.npz", x_train=object_array(data["x_train"]), y_train=np.array(data["y_train"]),
             x_test=object_array(data["x_test"]), y_test=np.array(data["y_test"]))


def test_imdb_matches_keras(homes, keras):
    write_imdb(datasets_dir(homes), keras["imdb"]["input"])
    for case in keras["imdb"]["cases"]:
        (x_train, y_train), (x_test, y_test) = imdb.load_data(**case["kwargs"])
        expected = case["output"]
        assert as_lists(x_train) == expected["x_train"], case["kwargs"]
        assert as_lists(x_test) == expected["x_test"], case["kwargs"]
        assert y_train.tolist() == expected["y_train"] and y_test.tolist() == expected["y_test"]


def test_imdb_by_hand(homes):
    """A corpus small enough to follow: shuffles are RandomState(seed).permutation of each split in turn."""
    corpus = {"x_train": [[1, 2, 3], [4, 5], [6], [2, 2, 7, 1]], "y_train": [0, 1, 1, 0],
              "x_test": [[7, 7], [3, 1, 4, 1, 5]], "y_test": [1, 0]}
    write_imdb(datasets_dir(homes), corpus)
    rng = np.random.RandomState(113)
    p_train, p_test = rng.permutation(4), rng.permutation(2)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=8, skip_top=4, start_char=None,
                                                          index_from=0, oov_char=0)
    expected = [[w if 4 <= w < 8 else 0 for w in corpus["x_train"][i]] for i in p_train]
    assert as_lists(x_train) == expected
    np.testing.assert_array_equal(y_train, np.array(corpus["y_train"])[p_train])
    assert as_lists(x_test) == [[w if 4 <= w < 8 else 0 for w in corpus["x_test"][i]] for i in p_test]
    np.testing.assert_array_equal(y_test, np.array(corpus["y_test"])[p_test])
    # start_char 1, index_from 3, maxlen 4: sequences of 1 + len < 4 kept; without num_words the largest
    # index present (7 + 3) is itself out of range, as in Keras
    (x_train, y_train), (x_test, _) = imdb.load_data(maxlen=4)
    kept = [i for i in p_train if len(corpus["x_train"][i]) + 1 < 4]
    expected = [[1] + [w + 3 if w + 3 < 10 else 2 for w in corpus["x_train"][i]] for i in kept]
    assert as_lists(x_train) == expected and y_train.tolist() == [corpus["y_train"][i] for i in kept]
    assert x_train.shape == (len(kept),)  # 1-D even though all kept sequences have the same length
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(maxlen=2)


def test_imdb_arguments(homes, keras):
    write_imdb(datasets_dir(homes), keras["imdb"]["input"])
    with pytest.warns(UserWarning, match="nb_words"):
        (x_train, _), _ = imdb.load_data(nb_words=10)
    assert as_lists(x_train) == keras["imdb"]["cases"][1]["output"]["x_train"]
    with pytest.raises(TypeError, match="bogus"):
        imdb.load_data(bogus=1)


def test_reuters_matches_keras(homes, keras):
    data = keras["reuters"]["input"]
    np.savez(datasets_dir(homes) / "reuters.npz", x=object_array(data["x"]), y=np.array(data["y"]))
    for case in keras["reuters"]["cases"]:
        (x_train, y_train), (x_test, y_test) = reuters.load_data(**case["kwargs"])
        expected = case["output"]
        assert as_lists(x_train) == expected["x_train"] and as_lists(x_test) == expected["x_test"], case
        assert y_train.tolist() == expected["y_train"] and y_test.tolist() == expected["y_test"]
    assert list(reuters.get_label_names()) == keras["reuters"]["label_names"]
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)


def test_word_index(homes):
    folder = datasets_dir(homes)
    (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2}))
    assert imdb.get_word_index() == {"the": 1, "and": 2}
    (folder / "reuters_word_index.json").write_text('{"the": 1, "of"')
    with pytest.raises(ValueError, match="reuters_word_index.json.*JSON"):
        reuters.get_word_index()
    (folder / "reuters_word_index.json").write_text('["the"]')
    with pytest.raises(ValueError, match="mapping words to integers"):
        reuters.get_word_index()


# --- housing --------------------------------------------------------------------------------------------------

def housing_arrays(rows, features):
    return {"x": np.arange(rows * features, dtype="float64").reshape(rows, features) / 2,
            "y": np.arange(rows, dtype="float64") * 1.5}


@pytest.mark.parametrize("name, module", [("boston_housing", boston_housing),
                                          ("california_housing", california_housing)])
def test_housing_matches_keras(homes, keras, name, module):
    reference = keras[name]
    arrays = housing_arrays(reference["rows"], reference["features"])
    np.savez(datasets_dir(homes) / f"{name}.npz", **arrays)
    for case in reference["cases"]:
        (x_train, y_train), (x_test, y_test) = module.load_data(**case["kwargs"])
        rows_train, rows_test = case["output"]["train"], case["output"]["test"]
        np.testing.assert_array_equal(x_train, arrays["x"][rows_train])
        np.testing.assert_array_equal(y_train, arrays["y"][rows_train])
        np.testing.assert_array_equal(x_test, arrays["x"][rows_test])
        np.testing.assert_array_equal(y_test, arrays["y"][rows_test])
    with pytest.raises(ValueError, match="test_split"):
        module.load_data(test_split=1.0)


def test_housing_split_formula(homes):
    arrays = housing_arrays(10, 13)
    np.savez(datasets_dir(homes) / "boston_housing.npz", **arrays)
    perm = np.random.RandomState(4).permutation(10)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(test_split=0.35, seed=4)
    np.testing.assert_array_equal(x_train, arrays["x"][perm[:6]])
    np.testing.assert_array_equal(y_test, arrays["y"][perm[6:]])
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")


# --- fashion-mnist --------------------------------------------------------------------------------------------

def idx_bytes(array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fashion(folder, rng, n_train=4, n_test=2):
    arrays = {"train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
              "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)}
    for name, array in arrays.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(array)))
    return arrays


def test_fashion_mnist(homes, rng):
    folder = datasets_dir(homes, "fashion-mnist")
    arrays = write_fashion(folder, rng)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == np.uint8 and x_train.shape == (4, 28, 28) and y_test.shape == (2,)


def test_fashion_mnist_corrupt_files(homes, rng):
    folder = datasets_dir(homes, "fashion-mnist")
    write_fashion(folder, rng)
    images = folder / "train-images-idx3-ubyte.gz"
    good = images.read_bytes()
    images.write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))  # labels where images belong
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*magic number 00000801"):
        fashion_mnist.load_data()
    images.write_bytes(good[:-40])  # truncated
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        fashion_mnist.load_data()
    bad_crc = bytearray(good)
    bad_crc[-6] ^= 0xFF  # the CRC32 in the gzip trailer
    images.write_bytes(bytes(bad_crc))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*(CRC|crc)"):
        fashion_mnist.load_data()
    images.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8))))
    with pytest.raises(ValueError, match="3 images.*4 labels"):
        fashion_mnist.load_data()
    header_only = struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">3I", 4, 28, 28) + bytes(100)
    images.write_bytes(gzip.compress(header_only))
    with pytest.raises(ValueError, match="truncated"):
        fashion_mnist.load_data()


# --- cifar ----------------------------------------------------------------------------------------------------

def cifar10_batches(rng, sizes=(2, 1, 3, 2, 1), n_test=2):
    batches, offset = {}, 0
    for i, n in enumerate(list(sizes) + [n_test]):
        name = f"data_batch_{i + 1}" if i < len(sizes) else "test_batch"
        batches[name] = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n).tolist(),
                         b"data": cifar_pixels(n, offset), b"filenames": [b"img%d.png" % k for k in range(n)]}
        offset += 11
    return batches


def check_cifar10(result, batches):
    (x_train, y_train), (x_test, y_test) = result
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    np.testing.assert_array_equal(x_train, channels_last(np.concatenate([b[b"data"] for b in train])))
    np.testing.assert_array_equal(y_train, np.concatenate([b[b"labels"] for b in train]).reshape(-1, 1))
    np.testing.assert_array_equal(x_test, channels_last(batches["test_batch"][b"data"]))
    np.testing.assert_array_equal(y_test, np.reshape(batches["test_batch"][b"labels"], (-1, 1)))
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert x_train.shape == (9, 32, 32, 3) and y_train.shape == (9, 1) and x_test.flags.c_contiguous


def test_cifar10_from_the_archive(homes, rng):
    batches = cifar10_batches(rng)
    members = {f"cifar-10-batches-py/{name}": py2_pickle(batch) for name, batch in batches.items()}
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    write_tar(datasets_dir(homes) / "cifar-10-python.tar.gz", members)
    check_cifar10(cifar10.load_data(), batches)


def test_cifar10_from_keras_folders(homes, rng, monkeypatch):
    batches = cifar10_batches(rng)
    keras3 = homes / "home" / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    keras3.mkdir(parents=True)
    for name, batch in batches.items():
        (keras3 / name).write_bytes(py2_pickle(batch))
    check_cifar10(cifar10.load_data(), batches)
    monkeypatch.setenv("KERAS_HOME", str(homes / "kh"))
    keras2 = homes / "kh" / "datasets" / "cifar-10-batches-py"
    keras2.mkdir(parents=True)
    batches = cifar10_batches(rng)
    for name, batch in batches.items():
        (keras2 / name).write_bytes(py2_pickle(batch))
    check_cifar10(cifar10.load_data(), batches)
    (keras2 / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="data_batch_3"):
        cifar10.load_data()


def test_cifar100_matches_keras(homes, keras):
    reference = keras["cifar100"]
    members = {}
    for name, count, offset in (("train", 3, 0), ("test", 2, 100)):
        labels = reference["labels"][name]
        members[f"cifar-100-python/{name}"] = py2_pickle({b"data": cifar_pixels(count, offset),
                                                          b"fine_labels": labels["fine"],
                                                          b"coarse_labels": labels["coarse"]})
    write_tar(datasets_dir(homes) / "cifar-100-python.tar.gz", members)
    for case in reference["cases"]:
        (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode=case["label_mode"])
        assert str(x_train.dtype) == reference["x_dtype"] and list(x_train.shape) == reference["x_train_shape"]
        assert x_train.tobytes() == base64.b64decode(reference["x_train"])
        assert x_test.tobytes() == base64.b64decode(reference["x_test"])
        assert str(y_train.dtype) == case["y_dtype"] and y_train.tolist() == case["y_train"]
        assert y_test.tolist() == case["y_test"]
        np.testing.assert_array_equal(x_test, channels_last(cifar_pixels(2, 100)))
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_corrupt_archives(homes, rng):
    path = datasets_dir(homes) / "cifar-100-python.tar.gz"
    batch = {b"data": cifar_pixels(2, 0), b"fine_labels": [1, 2], b"coarse_labels": [0, 1]}
    write_tar(path, {"cifar-100-python/train": py2_pickle(batch), "cifar-100-python/test": py2_pickle(batch)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    with pytest.raises(ValueError, match="cifar-100-python.tar.gz"):
        cifar100.load_data()
    write_tar(path, {"cifar-100-python/train": py2_pickle(batch)})
    with pytest.raises(ValueError, match="lacks the members.*test"):
        cifar100.load_data()
    bad = {**batch, b"fine_labels": [1, 100]}
    write_tar(path, {"cifar-100-python/train": py2_pickle(bad), "cifar-100-python/test": py2_pickle(batch)})
    with pytest.raises(ValueError, match=r"fine_labels.*\[0, 100\)"):
        cifar100.load_data()
    bad = {**batch, b"data": np.zeros((2, 100), np.uint8)}
    write_tar(path, {"cifar-100-python/train": py2_pickle(bad), "cifar-100-python/test": py2_pickle(batch)})
    with pytest.raises(ValueError, match=r"\(n, 3072\)"):
        cifar100.load_data()
    with tarfile.open(path, "w:gz") as tar:
        link = tarfile.TarInfo("cifar-100-python/train")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ValueError, match="link"):
        cifar100.load_data()


# --- get_file -------------------------------------------------------------------------------------------------

def sha256(data):
    import hashlib
    return hashlib.sha256(data).hexdigest()


def test_get_file_download_cache_and_hash(homes):
    source = homes / "served.bin"
    source.write_bytes(b"payload" * 1000)
    origin = source.as_uri()
    path = get_file("got.bin", origin, file_hash=sha256(source.read_bytes()), cache_subdir="stuff")
    assert path == os.path.join(str(homes / "mlfront"), "stuff", "got.bin")
    assert open(path, "rb").read() == source.read_bytes()
    source.write_bytes(b"changed")
    assert open(get_file("got.bin", origin, cache_subdir="stuff"), "rb").read() == b"payload" * 1000  # cached: reused
    with pytest.raises(ValueError, match="hash"):  # hash mismatch: downloaded again, and refused
        get_file("got.bin", origin, file_hash=sha256(b"payload" * 1000 + b"x"), cache_subdir="stuff")
    assert not [p for p in os.listdir(homes / "mlfront" / "stuff") if p.endswith(".part")]
    import hashlib
    path = get_file("got.bin", origin, md5_hash=hashlib.md5(b"changed").hexdigest(), cache_subdir="stuff")  # stale cache replaced
    assert open(path, "rb").read() == b"changed"
    path = get_file(origin=origin, cache_dir=str(homes / "cd"))  # name from the URL
    assert path == os.path.join(str(homes / "cd"), "datasets", "served.bin")
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("x", origin, file_hash="00", hash_algorithm="sha1")
    with pytest.raises(ValueError, match="origin"):
        get_file("x")


def test_get_file_truncated_download(homes, monkeypatch):
    class Response(io.BytesIO):
        headers = {"Content-Length": "100"}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Response(b"x" * 60))
    with pytest.raises(DownloadError, match="60 of 100 bytes"):
        get_file("t.bin", "https://example.invalid/t.bin")
    assert os.listdir(homes / "mlfront" / "datasets") == []


def test_get_file_offline(homes):
    with pytest.raises(DownloadError) as info:
        get_file("f.zip", "https://example.invalid/f.zip")
    assert "f.zip" in str(info.value) and "https://example.invalid/f.zip" in str(info.value)
    assert os.path.join(str(homes / "mlfront"), "datasets", "f.zip") in str(info.value)


def test_get_file_untar_and_extract(homes):
    archive = homes / "photos.tar.gz"
    write_tar(archive, {"photos/a.txt": b"A", "photos/sub/b.txt": b"BB"})
    path = get_file("photos", archive.as_uri(), untar=True)
    assert path == os.path.join(str(homes / "mlfront"), "datasets", "photos")
    assert open(os.path.join(path, "sub", "b.txt"), "rb").read() == b"BB"
    zipped = homes / "z.zip"
    write_zip(zipped, {"z/one.txt": b"1"})
    path = get_file("z.zip", zipped.as_uri(), extract=True)
    assert path.endswith("z.zip")  # Keras 2: the archive's path; extracted beside it
    assert open(os.path.join(os.path.dirname(path), "z", "one.txt")).read() == "1"
    plain = homes / "plain.txt"
    plain.write_text("not an archive")
    with pytest.raises(ValueError, match="not an archive"):
        get_file("plain.txt", plain.as_uri(), extract=True)


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/abs_escape.txt", "ok/../../escape.txt"])
def test_extract_refuses_members_outside(homes, name):
    archive = homes / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for member, data in (("fine.txt", b"ok"), (name, b"evil")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ValueError, match="outside|absolute"):
        get_file("evil.tar", archive.as_uri(), extract=True, cache_subdir="x")
    assert os.listdir(homes / "mlfront" / "x") == ["evil.tar"]  # nothing extracted, not even fine.txt
    assert not (homes / "mlfront" / "escape.txt").exists() and not os.path.exists("/tmp/abs_escape.txt")


def test_extract_refuses_links_and_sizes(homes, monkeypatch):
    target = homes / "out"
    archive = homes / "links.tar"
    with tarfile.open(archive, "w") as tar:
        link = tarfile.TarInfo("inner")
        link.type, link.linkname = tarfile.SYMTYPE, "."
        tar.addfile(link)
    with pytest.raises(ValueError, match="link"):
        archive_utils.extract_archive(archive, target)
    zipped = homes / "link.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        info = zipfile.ZipInfo("ln")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="link"):
        archive_utils.extract_archive(zipped, target)
    write_zip(zipped, {"../up.txt": b"x"})
    with pytest.raises(ValueError, match="outside"):
        archive_utils.extract_archive(zipped, target)
    write_zip(zipped, {"big.bin": b"0" * 5000}, zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(archive_utils, "MAX_MEMBER_BYTES", 4096)
    with pytest.raises(ValueError, match="5000 bytes"):
        archive_utils.extract_archive(zipped, target)
    monkeypatch.setattr(archive_utils, "MAX_MEMBER_BYTES", 1 << 20)
    monkeypatch.setattr(archive_utils, "MAX_TOTAL_BYTES", 4096)
    with pytest.raises(ValueError, match="5000 bytes in all"):
        archive_utils.extract_archive(zipped, target)
    assert not target.exists() or os.listdir(target) == []
    assert archive_utils.extract_archive(zipped, target, "tar") is False
    with pytest.raises(ValueError, match="archive_format"):
        archive_utils.extract_archive(zipped, target, "rar")


def test_extract_failure_leaves_nothing(homes):
    archive = homes / "bad.zip"
    write_zip(archive, {"d/a.txt": b"a" * 3000, "d/b.txt": b"b" * 3000}, zipfile.ZIP_DEFLATED)
    data = bytearray(archive.read_bytes())
    second = data.index(b"d/b.txt") + len(b"d/b.txt")
    data[second + 5] ^= 0xFF  # corrupt the second member's data
    archive.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad.zip"):
        archive_utils.extract_archive(archive, homes / "out")
    assert not (homes / "out" / "d").exists()
