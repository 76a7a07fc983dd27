"""The checks every HDF5 reader of mlfront passes through, so a hostile or broken file is refused cleanly.

`open_hdf5` opens a file read-only and walks all of it before anything is read: HDF5 external storage,
virtual datasets, external links, user-defined links and soft links whose target is not an object of
the same file are refused (links are inspected, never followed), and every dataset's declared size is
compared with the file's size. `read_array` then checks one dataset's dtype and shape against the
variable it is meant for before a byte of it is read. Every problem is a `ValueError` naming the file
and what is wrong; h5py's own errors never escape.
"""

import contextlib
import math
import os
import posixpath
import stat

import h5py
import numpy as np

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# zlib, the strongest filter HDF5 ships, cannot expand data by more than about 1032x.
_MAX_COMPRESSION_RATIO = 1100
_MAX_ATTRIBUTE_BYTES = 1 << 20


class UnsafeFileError(ValueError):
    """A file is corrupt, truncated, not of the expected kind, or uses a feature mlfront refuses to follow."""


class ShapeMismatchError(ValueError):
    """A dataset's shape differs from the variable it is meant for."""


@contextlib.contextmanager
def open_hdf5(path, caller):
    """Open the HDF5 file `path` read-only, after checking all of it (see the module docstring).

    Args:
        path: the file.
        caller: the name used in error messages (e.g. "load_weights").

    Yields:
        The open `h5py.File`.

    Raises:
        FileNotFoundError: there is no file at `path`.
        UnsafeFileError: the file is not a regular HDF5 file, is truncated or corrupt, or uses a refused
            feature.
    """
    path = os.fspath(path)
    size = _regular_file_size(path, caller)
    _check_signature(path, size, caller)
    try:
        handle = h5py.File(path, "r")
    except (OSError, ValueError, RuntimeError) as error:
        raise UnsafeFileError(f"{caller}: {path} cannot be opened as HDF5; it is truncated or corrupt "
                              f"({error}).") from None
    with handle:
        try:
            check_structure(handle, size, path, caller)
        except UnsafeFileError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as error:
            raise UnsafeFileError(f"{caller}: {path} is corrupt: its structure cannot be read ({error}).") from None
        yield handle


def check_structure(handle, file_size, path, caller):
    """Walk every link of the open file `handle` without following soft or external ones; refuse the
    features listed in the module docstring. Raises `UnsafeFileError`."""
    objects = {}      # address-ish id of each hard-linked object -> its first path
    soft_links = []   # (path of the link, absolute target path)
    pending = [("/", handle)]
    while pending:
        group_path, group = pending.pop()
        for name in group:
            member_path = posixpath.join(group_path, name)
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise UnsafeFileError(f"{caller}: {path} refused: '{member_path}' is an external link to "
                                      f"'{link.filename}:{link.path}'; mlfront does not follow links out of a file.")
            if isinstance(link, h5py.SoftLink):
                soft_links.append((member_path, posixpath.normpath(posixpath.join(group_path, link.path))))
                continue
            if not isinstance(link, h5py.HardLink):
                raise UnsafeFileError(f"{caller}: {path} refused: '{member_path}' is a link of an unsupported kind "
                                      f"({type(link).__name__}).")
            member = group[name]
            key = member.id.__hash__()
            if key in objects:
                continue  # a second hard link to an object already checked (also breaks cycles)
            objects[key] = member_path
            if isinstance(member, h5py.Group):
                pending.append((member_path, member))
            elif isinstance(member, h5py.Dataset):
                _check_dataset(member, member_path, file_size, path, caller)
    hard_paths = set(objects.values()) | {"/"}
    for link_path, target in soft_links:
        if target not in hard_paths:
            raise UnsafeFileError(f"{caller}: {path} refused: '{link_path}' is a soft link to '{target}', which is "
                                  f"not an object stored in this file.")


def _check_dataset(dataset, dataset_path, file_size, path, caller):
    if dataset.external:
        files = sorted({entry[0] for entry in dataset.external})
        raise UnsafeFileError(f"{caller}: {path} refused: dataset '{dataset_path}' keeps its data in external "
                              f"file(s) {files}; mlfront reads data only from the file itself.")
    if dataset.is_virtual:
        raise UnsafeFileError(f"{caller}: {path} refused: dataset '{dataset_path}' is a virtual dataset (its data "
                              f"comes from other datasets or files).")
    declared = declared_bytes(dataset)
    compressed = dataset.id.get_create_plist().get_nfilters() > 0
    limit = file_size * _MAX_COMPRESSION_RATIO if compressed else file_size
    if declared > limit:
        raise UnsafeFileError(f"{caller}: {path} refused: dataset '{dataset_path}' declares shape {dataset.shape} "
                              f"of {dataset.dtype} ({declared} bytes), more than a {file_size}-byte file can "
                              f"hold{' even compressed' if compressed else ''}.")
    stored = dataset.id.get_storage_size()
    if stored > file_size:
        raise UnsafeFileError(f"{caller}: {path} is corrupt: dataset '{dataset_path}' claims {stored} bytes of "
                              f"storage in a {file_size}-byte file.")


def declared_bytes(dataset):
    """The size in bytes `dataset` would take in memory, from its shape and dtype alone."""
    if dataset.shape is None:  # HDF5's null dataspace: no elements
        return 0
    return math.prod(dataset.shape) * dataset.dtype.itemsize


def read_array(dataset, shape, dtype, path, caller, what):
    """Read `dataset` as a NumPy array of `dtype` after checking it can hold a variable of `shape`/`dtype`.

    Args:
        dataset: an `h5py.Dataset` of a file opened with `open_hdf5`.
        shape: the expected shape (tuple of ints).
        dtype: the target dtype name ("float32", "int64", "bool", ...).
        path: the file, for messages.
        caller: the name used in messages.
        what: what the dataset is for, for messages (e.g. "weight 'dense/kernel' of layer 'dense'").

    Returns:
        The values, converted to `dtype` when NumPy knows it (else as stored).

    Raises:
        UnsafeFileError: wrong dtype kind, or the data cannot be read (corrupt file).
        ShapeMismatchError: the shapes differ (nothing was read).
    """
    check_numeric(dataset, dtype, path, caller, what)
    if dataset.shape is None or tuple(dataset.shape) != tuple(shape):
        raise ShapeMismatchError(f"{caller}: {what} has shape {tuple(shape)}, but the file holds shape "
                                 f"{dataset.shape} ({path}, dataset '{dataset.name}').")
    try:
        array = np.empty(dataset.shape, dataset.dtype)
        if array.size:
            dataset.read_direct(array)
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        raise UnsafeFileError(f"{caller}: {path} is corrupt: dataset '{dataset.name}' for {what} cannot be read "
                              f"({error}).") from None
    return _convert(array, dtype, path, caller, what)


def check_numeric(dataset, dtype, path, caller, what):
    """Refuse a dataset whose dtype is not a plain number type of the same family (float / integer or
    bool) as the target `dtype` name: compound, object, variable-length, string and complex types."""
    stored = dataset.dtype
    plain = stored.fields is None and stored.subdtype is None and h5py.check_vlen_dtype(stored) is None \
        and stored.kind in "biuf"
    target_float = "float" in str(dtype)
    if not plain or (stored.kind == "f") != target_float:
        raise UnsafeFileError(f"{caller}: {path}: dataset '{dataset.name}' for {what} has dtype {stored}, but a "
                              f"{'floating-point' if target_float else 'integer'} array of {dtype} is expected.")


def _convert(array, dtype, path, caller, what):
    try:
        target = np.dtype(str(dtype))
    except TypeError:
        return array  # a dtype NumPy lacks (e.g. bfloat16): the backend converts on assignment
    converted = array.astype(target)
    if target.kind != "f" and not np.array_equal(converted, array):
        raise UnsafeFileError(f"{caller}: {path}: the values stored for {what} do not fit in {dtype}.")
    return converted


def read_text_attribute(obj, name, path, caller, default=None):
    """The string attribute `name` of the HDF5 object `obj` (bytes decoded as UTF-8), or `default` when
    absent. A non-string or oversized attribute is refused rather than read."""
    if name not in obj.attrs:
        return default
    try:
        attribute = obj.attrs.get_id(name)
        if attribute.get_storage_size() > _MAX_ATTRIBUTE_BYTES:
            raise UnsafeFileError(f"{caller}: {path}: attribute '{name}' of '{obj.name}' is too large "
                                  f"({attribute.get_storage_size()} bytes).")
        value = obj.attrs[name]
    except UnsafeFileError:
        raise
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        raise UnsafeFileError(f"{caller}: {path} is corrupt: attribute '{name}' of '{obj.name}' cannot be read "
                              f"({error}).") from None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        try:
            value = value.decode("utf8")
        except UnicodeDecodeError:
            raise UnsafeFileError(f"{caller}: {path}: attribute '{name}' of '{obj.name}' is not UTF-8 "
                                  f"text.") from None
    if not isinstance(value, str):
        raise UnsafeFileError(f"{caller}: {path}: attribute '{name}' of '{obj.name}' should be a string, got "
                              f"{type(value).__name__}.")
    return value


def _regular_file_size(path, caller):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{caller}: no such file: {path}") from None
    except OSError as error:
        raise OSError(error.errno, f"{caller}: cannot access {path}: {error.strerror}", path) from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{caller}: {path} is not a regular file.")
    return info.st_size


def _check_signature(path, size, caller):
    """HDF5's signature sits at offset 0, 512, 1024, 2048, ... (after an optional user block)."""
    offset = 0
    try:
        with open(path, "rb") as f:
            while offset + len(_SIGNATURE) <= size:
                f.seek(offset)
                if f.read(len(_SIGNATURE)) == _SIGNATURE:
                    return
                offset = 512 if offset == 0 else offset * 2
    except OSError as error:
        raise OSError(error.errno, f"{caller}: cannot read {path}: {error.strerror}", path) from None
    raise UnsafeFileError(f"{caller}: {path} is not an HDF5 file (no HDF5 signature; {size} bytes).")
