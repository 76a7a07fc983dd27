"""Crash-safe file writes: temporary file in the same folder, fsync, rename over the target, fsync the folder.

A reader sees either the old file or the new one, never a mix, whatever happens to the writing process
(an exception, a full disk, SIGKILL, a power cut once the folder's fsync returned). Callers build the
whole content in memory first (an HDF5 image, a zip, JSON), so a library's failure path never touches
the disk.

The temporary file is named `.<name>.mlfront-tmp-<pid>-<random>`; one left behind by a killed save
(its process no longer alive) is removed by the next save of the same target.
"""

import contextlib
import errno
import os
import secrets
import shutil

_TAG = ".mlfront-tmp-"
_MAX_STEM = 150  # leaves room for the tag, pid and random part within a 255-byte file name


def atomic_write(path, data, caller="atomic_write"):
    """Replace the file `path` by `data` atomically.

    The new file gets the mode the umask gives (0644 under umask 022), as `open(path, "w")` would for a
    new file. On failure the previous file at `path` (if any) is left untouched and no temporary file
    remains.

    Args:
        path: the target file (str or path-like). Its folder must exist.
        data: the complete content, a bytes-like object (bytes, bytearray, memoryview).
        caller: the name used in error messages (e.g. "save_weights").

    Raises:
        OSError: the file could not be written (full disk, read-only or missing folder, ...). The error
            keeps the errno of the cause and names `path`.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    view = memoryview(data).cast("B")
    remove_stale_temporaries(path)
    temporary = os.path.join(folder, _temporary_prefix(name) + f"{os.getpid()}-{secrets.token_hex(4)}")
    try:
        # Mode 0o666 through os.open lets the umask decide, unlike mkstemp's fixed 0o600.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise _error(error, caller, path) from error
    try:
        try:
            _write_all(fd, view)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException as error:
        _remove_quietly(temporary)
        if isinstance(error, OSError):
            raise _error(error, caller, path) from error
        raise
    _fsync_folder(folder)


def remove_stale_temporaries(path):
    """Remove the temporary files that killed saves of `path` left behind (their process is gone).

    Returns:
        The list of removed file paths.
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    prefix = _temporary_prefix(name)
    return _remove_stale(folder, lambda entry: entry[len(prefix):] if entry.startswith(prefix) else None)


def remove_stale_temporaries_in(folder):
    """Remove every temporary file or directory in `folder` that a killed save left behind (whatever its
    target's name; its process is gone).

    Returns:
        The list of removed paths.
    """
    return _remove_stale(folder, lambda entry: entry.rsplit(_TAG, 1)[1]
                         if entry.startswith(".") and _TAG in entry else None)


def _remove_stale(folder, owner_part):
    """Remove the entries of `folder` for which `owner_part(entry)` gives "<pid>-..." of a dead process."""
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        rest = owner_part(entry)
        pid_text = rest.split("-", 1)[0] if rest is not None else ""
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        candidate = os.path.join(folder, entry)
        if os.path.isdir(candidate) and not os.path.islink(candidate):
            shutil.rmtree(candidate, ignore_errors=True)
            if not os.path.lexists(candidate):
                removed.append(candidate)
        elif _remove_quietly(candidate):
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_directory(path, caller="atomic_directory"):
    """Create the directory `path` whole: readers see it complete or not at all.

    Yields a fresh temporary directory beside `path` (named like a temporary file, see the module
    docstring) for the caller to fill. When the block ends without error, every file in it and the
    directory itself are fsynced, it is renamed to `path` and the parent folder is fsynced. On error the
    temporary directory is removed and `path` is not created.

    Args:
        path: the directory to create (str or path-like); it must not exist, its parent must.
        caller: the name used in error messages.

    Yields:
        The path of the temporary directory.

    Raises:
        FileExistsError: `path` exists already.
        OSError: the directory could not be written; the error names `path`.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    if os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, f"{caller}: {path} exists already; a directory is only created whole, "
                                            f"never written into", path)
    temporary = os.path.join(folder, _temporary_prefix(name) + f"{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.mkdir(temporary)
    except OSError as error:
        raise _error(error, caller, path) from error
    try:
        yield temporary
        fsync_tree(temporary)
        os.rename(temporary, path)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OSError) and not isinstance(error, FileExistsError):
            raise _error(error, caller, path) from error
        raise
    _fsync_folder(folder)


def fsync_tree(path):
    """Flush a file, or every file and folder of a directory tree, to disk (before it is renamed into place)."""
    if not os.path.isdir(path):
        _fsync_file(path)
        return
    for root, _, files in os.walk(path):
        for file_name in files:
            _fsync_file(os.path.join(root, file_name))
        _fsync_folder(root)


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary_prefix(name):
    return "." + name[:_MAX_STEM] + _TAG


def _write_all(fd, view):
    offset = 0
    while offset < len(view):
        written = os.write(fd, view[offset:])
        if written <= 0:
            raise OSError(errno.EIO, "the operating system accepted no bytes")
        offset += written


def _fsync_folder(folder):
    """Make the rename itself durable. Some systems cannot open or fsync a folder; the rename has
    happened anyway, so that is not an error."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def _process_alive(pid):
    if pid == os.getpid() or os.name == "nt":
        return True  # another thread's save; on Windows os.kill would terminate the process instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True  # cannot tell: keep the file
    return True


def _remove_quietly(path):
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def _error(error, caller, path):
    reason = error.strerror or str(error)
    return OSError(error.errno, f"{caller}: could not write {path}: {reason} (any previous file there is "
                                f"unchanged)", path)
