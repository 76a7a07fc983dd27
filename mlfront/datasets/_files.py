"""Finding a dataset file, and reading it without trusting it.

A file is looked up in `$MLFRONT_HOME/datasets`, then in Keras's cache (`$KERAS_HOME/datasets`, default
`~/.keras/datasets`), and used as it is when found; otherwise it is downloaded into `$MLFRONT_HOME/datasets`
through `mlfront.utils.get_file`, which checks its hash. The readers check every size and layout before
reading: a corrupt or truncated file raises a ValueError naming it, never returns a partly read array. The
only pickles read (the object arrays of `imdb.npz` / `reuters.npz`, the CIFAR batches) go through
`RestrictedUnpickler`, which rebuilds NumPy arrays and nothing else.
"""

import gzip
import io
import json
import os
import pickle
import zipfile
import zlib

import numpy as np

from mlfront.backend import home_dir
from mlfront.utils.archive_utils import check_member
from mlfront.utils.file_utils import DownloadError, get_file

MAX_READ_BYTES = 2 << 30  # one file or member read into memory; the largest Keras dataset member is ~160 MB
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def keras_home():
    """Keras's folder: `$KERAS_HOME`, else `~/.keras` (as Keras itself reads it)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _cache_roots(cache_dir):
    if cache_dir:
        return [os.path.expanduser(os.fspath(cache_dir))]
    return [home_dir(), keras_home()]


def search_dirs(subdir="", cache_dir=None):
    """The folders a dataset file is looked for in, in order; the first is where a download goes (with
    `cache_dir`, Keras 2's argument, only `cache_dir/datasets`)."""
    return [os.path.join(root, "datasets", subdir) if subdir else os.path.join(root, "datasets")
            for root in _cache_roots(cache_dir)]


def find_or_download(fname, origin, file_hash=None, subdir="", cache_dir=None, alternatives=()):
    """The path of `fname` (or of one of `alternatives`, other names Keras caches it under) in the search
    folders, else of `fname` downloaded from `origin` into the first of them.

    Raises:
        DownloadError: not found locally and not downloadable; the message names the file, the URL and the
            folder to put it in.
    """
    folders = search_dirs(subdir, cache_dir)
    for folder in folders:
        for name in (fname, *alternatives):
            candidate = os.path.join(folder, os.fspath(name))
            if os.path.exists(candidate):
                return candidate
    try:
        return get_file(fname, origin=origin, file_hash=file_hash, cache_subdir=os.path.join("datasets", subdir),
                        cache_dir=_cache_roots(cache_dir)[0])
    except DownloadError as err:
        raise DownloadError(f"Dataset file {os.path.basename(os.fspath(fname))} was not found in "
                            f"{' or '.join(folders)} and could not be downloaded from {origin} ({err.reason}). "
                            f"Without network access, download {origin} on another machine and put it in "
                            f"{folders[0]}.", err.reason) from None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays (of numbers, or of Python lists/ints/bytes) and refuses every other global.

    Exactly the globals NumPy pickles an array with are resolved (`_reconstruct` under its NumPy 1 and 2
    module names, `numpy.ndarray`, `numpy.dtype`), to the objects of the NumPy in use; any other global, e.g.
    `os.system`, raises `pickle.UnpicklingError` before anything is called.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],
        ("numpy._core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to unpickle the global {module}.{name}: dataset files may only hold NumPy arrays, "
                f"lists, numbers and strings. The file is corrupt or malicious.") from None


def restricted_loads(data, where, encoding="latin1"):
    """Unpickle `data` (bytes-like) with `RestrictedUnpickler`; errors name `where`."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
    except pickle.UnpicklingError as err:
        raise ValueError(f"{where}: {err}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise ValueError(f"{where} is not a valid pickle of NumPy data ({type(err).__name__}: {err}).") from None


def read_exact(stream, size, where):
    """Exactly `size` bytes of `stream` into a writable buffer, then check the stream ends there (which makes
    gzip and zip verify their CRC). Memory grows with the data actually read, not with the declared size."""
    if size > MAX_READ_BYTES:
        raise ValueError(f"{where} declares {size} bytes, over the {MAX_READ_BYTES}-byte limit; refused.")
    buffer = bytearray()
    try:
        while len(buffer) < size:
            chunk = stream.read(min(size - len(buffer), 1 << 24))
            if not chunk:
                raise ValueError(f"{where} is truncated: {len(buffer)} of {size} bytes.")
            buffer += chunk
        if stream.read(1):
            raise ValueError(f"{where} holds more data than its declared {size} bytes.")
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise ValueError(f"{where} is corrupt or truncated ({type(err).__name__}: {err}).") from None
    return buffer


def read_file(path):
    """The bytes of the regular file `path` (size checked)."""
    if not os.path.isfile(path):
        raise ValueError(f"Dataset file {path} is missing or is not a regular file.")
    with open(path, "rb") as f:
        return read_exact(f, os.fstat(f.fileno()).st_size, path)


def read_json(path):
    """A JSON file, as Python objects."""
    try:
        return json.loads(read_file(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a valid JSON file ({err}).") from None


def parse_npy(data, where):
    """The array held by the `.npy` bytes `data`, its layout checked before reading; object arrays are
    unpickled with `RestrictedUnpickler`."""
    header = io.BytesIO(bytes(data[:1 << 16]))
    try:
        version = np.lib.format.read_magic(header)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran_order, dtype = read_header(header)
    except (ValueError, EOFError, SyntaxError) as err:
        raise ValueError(f"{where} is not a valid .npy array ({err}).") from None
    offset = header.tell()
    if dtype.hasobject:
        if dtype != np.dtype(object):
            raise ValueError(f"{where}: structured arrays holding objects ({dtype}) are not read.")
        array = restricted_loads(memoryview(data)[offset:], where)
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise ValueError(f"{where}: the pickled array does not match its header's shape {shape}.")
        return array
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError(f"{where}: the header declares shape {shape} of {dtype} ({count * dtype.itemsize} "
                         f"bytes), but {len(data) - offset} bytes follow.")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape[::-1]).transpose() if fortran_order else array.reshape(shape)


def read_npz(path, names):
    """The arrays `names` (a list) of the `.npz` file `path`, as a dict."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a valid .npz (zip) file ({err}); it may be truncated: delete it so it "
                         f"can be fetched again.") from None
    arrays = {}
    with archive:
        for name in names:
            try:
                info = archive.getinfo(name + ".npy")
            except KeyError:
                found = sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
                raise ValueError(f"{path} has no array {name!r}; it holds {found}.") from None
            where = f"{path} (array {name!r})"
            try:
                with archive.open(info) as member:
                    data = read_exact(member, info.file_size, where)
            except (NotImplementedError, RuntimeError) as err:
                raise ValueError(f"{where} cannot be read ({err}).") from None
            arrays[name] = parse_npy(data, where)
    return arrays


def read_idx(path, ndim):
    """The uint8 array of a gzipped IDX file (the MNIST format), magic number and dimensions checked first."""
    try:
        with gzip.open(path, "rb") as f:
            magic = read_exact_prefix(f, 4, path)
            if magic[:3] != b"\x00\x00\x08" or magic[3] != ndim:
                raise ValueError(f"{path} is not an IDX file of {ndim}-D unsigned bytes (magic number "
                                 f"{bytes(magic).hex()}, expected 000008{ndim:02x}).")
            shape = tuple(int(d) for d in np.frombuffer(read_exact_prefix(f, 4 * ndim, path), ">u4"))
            count = int(np.prod(shape, dtype=np.int64))
            return np.frombuffer(read_exact(f, count, path), np.uint8).reshape(shape)
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} is not a valid gzip file ({type(err).__name__}: {err}).") from None


def read_exact_prefix(stream, size, where):
    """The next `size` bytes of `stream` (a header), or a ValueError if it ends first."""
    data = stream.read(size)
    if len(data) != size:
        raise ValueError(f"{where} is truncated: its header needs {size} bytes, {len(data)} found.")
    return data


def read_tar_members(path, names):
    """The bytes of the regular-file members `names` of the (gzipped) tar `path`, as a dict; the whole
    archive is read through, so its gzip CRC is checked."""
    import tarfile
    wanted, found = set(names), {}
    try:
        with open(path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw) if raw.read(2) == b"\x1f\x8b" else raw
            raw.seek(0)
            with stream, tarfile.open(fileobj=stream, mode="r|") as archive:
                for info in archive:
                    name = info.name[2:] if info.name.startswith("./") else info.name
                    if name not in wanted:
                        continue
                    kind = "link" if info.issym() or info.islnk() else "file" if info.isfile() else "other"
                    check_member(path, info.name, kind, info.size)
                    found[name] = read_exact(archive.extractfile(info), info.size, f"{path} (member {name!r})")
                while stream.read(1 << 20):  # on to the end, so gzip checks its CRC and length trailer
                    pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path} is not a valid tar archive, or is truncated ({type(err).__name__}: "
                         f"{err}).") from None
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"{path} lacks the members {missing}.")
    return found


def read_members(location, folder, names):
    """The files `names` of a dataset held either as the folder `location` or as the tar archive `location`
    (there inside `folder`), as a dict keyed by name."""
    if os.path.isdir(location):
        return {name: read_file(os.path.join(location, name)) for name in names}
    members = read_tar_members(location, [f"{folder}/{name}" for name in names])
    return {name: members[f"{folder}/{name}"] for name in names}
