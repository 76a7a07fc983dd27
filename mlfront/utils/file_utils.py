"""`get_file`: a file from a URL, cached on disk, checked against its hash, optionally extracted."""

import hashlib
import os
import sys
import tempfile

from mlfront.backend import home_dir
from mlfront.utils.archive_utils import extract_archive

DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 20


class DownloadError(OSError):
    """A file could not be fetched from its origin (offline, unreachable, HTTP error, truncated transfer).

    `reason` is the short cause (e.g. "URLError: [Errno -2] Name or service not known")."""

    def __init__(self, message, reason=None):
        super().__init__(message)
        self.reason = reason or message


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """Download a file from `origin` unless it is already in the cache, and return its path.

    The file goes to `cache_dir/cache_subdir/fname`. A cached file is reused when no `file_hash` is given or
    when it matches; otherwise it is downloaded again. A download is written to a temporary file, checked
    (length, hash) and only then renamed into place, so an interrupted download never leaves a partial file.
    Archives are extracted as Keras 2 did, into `cache_dir/cache_subdir`, with every member checked (see
    `mlfront.utils.archive_utils.extract_archive`).

    Args:
        fname: the file name in the cache (a path here is joined to the cache folder); default: the last part
            of `origin`'s path.
        origin: the URL to download from.
        untar: deprecated Keras spelling: the archive is `fname + ".tar.gz"`, extracted unless the folder
            `fname` already exists, and the path of that folder is returned.
        md5_hash: deprecated Keras spelling of `file_hash` with `hash_algorithm="md5"`.
        file_hash: the expected sha256 or md5 hex digest of the file.
        cache_subdir: the subfolder of `cache_dir` the file goes to.
        hash_algorithm: `"auto"` (sha256 for a 64-digit hash, else md5), `"sha256"` or `"md5"`.
        extract: extract the file (an archive) into the cache folder after fetching it.
        archive_format: `"auto"`, `"tar"`, `"zip"`, a list of those or None (for `extract`).
        cache_dir: the cache root; default `$MLFRONT_HOME` (`~/.mlfront`).
        force_download: download even when the file is already cached.

    Returns:
        The path of the file (with `untar`, of the extracted folder).

    Raises:
        DownloadError: the file is not cached and could not be downloaded; the message names the URL and
            the path to put the file at by hand.
        ValueError: bad arguments, a downloaded file whose hash does not match, or an unsafe archive.
    """
    if not origin:
        raise ValueError("get_file: `origin` (the URL of the file to download) is required.")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if file_hash is not None:
        _hasher(hash_algorithm, file_hash)  # an unknown algorithm fails before any download
    datadir = os.path.join(os.path.expanduser(os.fspath(cache_dir)) if cache_dir else home_dir(), cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    fname = os.fspath(fname) if fname else _name_from_url(origin)
    if untar:
        if fname.endswith(".tar.gz"):
            fname = fname[:-len(".tar.gz")]
        untar_path = os.path.join(datadir, fname)
        fpath = untar_path + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(fpath)
    if not download and file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        print(f"A local file was found at {fpath}, but its {_hasher(hash_algorithm, file_hash).name} hash does "
              f"not match {file_hash}, so it is downloaded again.")
        download = True
    if download:
        _download(origin, fpath, file_hash, hash_algorithm)

    if untar:
        if not os.path.exists(untar_path) and not extract_archive(fpath, datadir, "tar"):
            raise ValueError(f"get_file: {fpath} (from {origin}) is not a tar archive, so `untar=True` cannot "
                             f"extract it.")
        return untar_path
    if extract and not extract_archive(fpath, datadir, archive_format):
        raise ValueError(f"get_file: {fpath} (from {origin}) is not an archive of format {archive_format!r}, so "
                         f"`extract=True` cannot extract it.")
    return fpath


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether the file `fpath` has the hex digest `file_hash` (`algorithm`: "auto", "sha256" or "md5")."""
    return _hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash).lower()


def _hasher(algorithm, file_hash):
    if algorithm == "sha256" or (algorithm == "auto" and len(str(file_hash)) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}.")


def _hash_file(fpath, hasher, chunk_size=65535):
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _name_from_url(origin):
    from urllib.parse import urlsplit
    name = os.path.basename(urlsplit(origin).path)
    if not name:
        raise ValueError(f"get_file: cannot take a file name from the origin {origin!r}; pass `fname`.")
    return name


def _download(origin, fpath, file_hash, hash_algorithm):
    """Fetch `origin` into `fpath` through a temporary file, checking its length and hash first."""
    import http.client
    import urllib.error
    import urllib.request

    from mlfront.callbacks.progbar import Progbar

    folder, name = os.path.dirname(os.path.abspath(fpath)), os.path.basename(fpath)
    os.makedirs(folder, exist_ok=True)  # `fname` may name a subfolder
    hasher = _hasher(hash_algorithm, file_hash) if file_hash is not None else None
    print(f"Downloading data from {origin}")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response:
                    length = response.headers.get("Content-Length")
                    expected = int(length) if length and length.isdigit() else None
                    progress = Progbar(expected, unit="B", stream=sys.stdout)
                    received = 0
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        received += len(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        progress.update(received)
                    progress.update(received, finalize=True)
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
                reason = f"{type(err).__name__}: {getattr(err, 'reason', None) or err}"
                raise DownloadError(f"Could not download {name} from {origin} ({reason}). If this machine is "
                                    f"offline, fetch that URL elsewhere and put the file at {fpath} (folder "
                                    f"{folder}).", reason) from None
            if expected is not None and received != expected:
                raise DownloadError(f"The download of {name} from {origin} stopped after {received} of {expected} "
                                    f"bytes; nothing was saved. Try again, or put the file at {fpath} by hand.",
                                    f"truncated after {received} of {expected} bytes")
            out.flush()
            os.fsync(out.fileno())
        if hasher is not None and hasher.hexdigest() != str(file_hash).lower():
            raise ValueError(f"Incomplete or corrupted download of {name} from {origin}: its {hasher.name} hash is "
                             f"{hasher.hexdigest()}, expected {file_hash}. The file was not saved.")
        os.replace(tmp, fpath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
