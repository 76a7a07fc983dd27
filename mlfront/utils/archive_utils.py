"""Extracting tar and zip archives without trusting them.

Every member is checked before anything is written: a member whose path leaves the target folder (absolute,
`..`, or through a link already on disk), a link, a device or fifo, an encrypted zip member, or sizes beyond
`MAX_MEMBER_BYTES` / `MAX_TOTAL_BYTES` / the free disk space make the whole archive refused. Each file is
written to a temporary name beside its target and renamed, and a failure removes what this call wrote.
"""

import os
import shutil
import stat
import tempfile

MAX_MEMBER_BYTES = 16 << 30  # one member over 16 GiB is not a dataset file but a decompression bomb
MAX_TOTAL_BYTES = 64 << 30


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (plain, gz, bz2, xz) or zip archive into `path`, refusing unsafe members.

    Args:
        file_path: the archive.
        path: the folder to extract into (created if needed).
        archive_format: `"auto"` (tar, then zip), `"tar"`, `"zip"`, a list of those, or None (do nothing).

    Returns:
        True if the file was an archive of one of the formats and was extracted, False if it was none of them.

    Raises:
        ValueError: the archive holds an unsafe member, or is corrupt; nothing of it is left in `path`.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(f"extract_archive: archive_format must be 'auto', 'tar', 'zip', a list of those or "
                             f"None, got {archive_format!r}.")
    file_path, path = os.fspath(file_path), os.fspath(path)
    for fmt in formats:
        if fmt == "tar":
            import tarfile
            if tarfile.is_tarfile(file_path):
                with tarfile.open(file_path) as archive:
                    _extract_members(file_path, path, _tar_entries(archive, file_path))
                return True
        else:
            import zipfile
            if zipfile.is_zipfile(file_path):
                with zipfile.ZipFile(file_path) as archive:
                    _extract_members(file_path, path, _zip_entries(archive, file_path))
                return True
    return False


def check_member(archive_path, name, kind, size):
    """Refuse a member that is not a plain file or folder, or whose declared size is absurd.

    `kind` is "file", "dir", "link" or "other"."""
    if kind == "link":
        raise ValueError(f"Archive {archive_path}: member {name!r} is a link; links are refused.")
    if kind not in ("file", "dir"):
        raise ValueError(f"Archive {archive_path}: member {name!r} is not a regular file or folder "
                         f"(device, fifo, ...); refused.")
    if size > MAX_MEMBER_BYTES:
        raise ValueError(f"Archive {archive_path}: member {name!r} declares {size} bytes, over the "
                         f"{MAX_MEMBER_BYTES}-byte limit per member; refused.")


def _tar_entries(archive, archive_path):
    import tarfile
    try:
        members = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(f"Archive {archive_path} is corrupt or truncated ({err}).") from None
    entries = []
    for info in members:
        kind = "link" if info.issym() or info.islnk() else "file" if info.isfile() else \
            "dir" if info.isdir() else "other"
        entries.append((info.name, kind, info.size, lambda info=info: archive.extractfile(info)))
    return entries


def _zip_entries(archive, archive_path):
    entries = []
    for info in archive.infolist():
        if info.flag_bits & 0x1:
            raise ValueError(f"Archive {archive_path}: member {info.filename!r} is encrypted; refused.")
        mode = info.external_attr >> 16
        kind = "link" if stat.S_ISLNK(mode) else "dir" if info.is_dir() else \
            "file" if not stat.S_IFMT(mode) or stat.S_ISREG(mode) else "other"  # no type bits: a plain file
        entries.append((info.filename, kind, info.file_size, lambda info=info: archive.open(info)))
    return entries


def _target(base, name, archive_path):
    """The real path `name` extracts to, refused unless it is inside `base` (itself a real path)."""
    if not name or os.path.isabs(name) or os.path.splitdrive(name)[0]:
        raise ValueError(f"Archive {archive_path}: member {name!r} has an absolute or empty path; refused.")
    target = os.path.realpath(os.path.join(base, name))
    if os.path.commonpath([base, target]) != base:
        raise ValueError(f"Archive {archive_path}: member {name!r} would be written outside {base}; refused.")
    return target


def _extract_members(archive_path, path, entries):
    os.makedirs(path, exist_ok=True)
    base = os.path.realpath(path)
    planned, total = [], 0
    for name, kind, size, open_member in entries:
        check_member(archive_path, name, kind, size)
        planned.append((_target(base, name, archive_path), kind, open_member))
        total += size if kind == "file" else 0
    free = shutil.disk_usage(base).free
    if total > MAX_TOTAL_BYTES or total > free:
        raise ValueError(f"Archive {archive_path} declares {total} bytes in all, over the limit of "
                         f"{min(MAX_TOTAL_BYTES, free)} bytes (the free disk space or {MAX_TOTAL_BYTES}); refused.")
    written, made_dirs = [], []
    try:
        for target, kind, open_member in planned:
            folder = target if kind == "dir" else os.path.dirname(target)
            made_dirs.extend(_makedirs(folder))
            if kind == "file":
                _write_member(target, open_member)
                written.append(target)
    except BaseException as err:
        for target in written:
            if os.path.isfile(target):
                os.remove(target)
        for folder in reversed(made_dirs):
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, Exception) and not isinstance(err, ValueError):
            raise ValueError(f"Archive {archive_path} could not be extracted ({type(err).__name__}: {err}); "
                             f"nothing of it was kept.") from err
        raise


def _makedirs(folder):
    """Create `folder` and its missing parents; return the ones created, outermost first."""
    missing = []
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for created in reversed(missing):
        os.mkdir(created)
    return list(reversed(missing))


def _write_member(target, open_member):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix="." + os.path.basename(target) + ".")
    try:
        with os.fdopen(fd, "wb") as out, open_member() as member:
            shutil.copyfileobj(member, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
