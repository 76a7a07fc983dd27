"""`mlfront.utils.get_file` beyond tests/test_datasets.py: the Keras 2 path, the cache used offline, hash checks,
`force_download`, `~` in `cache_dir`, tar.gz extraction, and the offline / HTTP error messages (no network)."""

import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request

import pytest

import mlfront
from mlfront.utils.file_utils import DownloadError, get_file, validate_file



@pytest.fixture(autouse=True)
def home(offline_home):
    """Every test here runs offline, in a fresh home (see conftest's `offline_home`)."""
    return offline_home


def test_keras2_path():
    from mlfront.utils import data_utils
    assert data_utils.get_file is get_file is mlfront.utils.get_file
    assert data_utils.validate_file is validate_file


def test_cached_file_is_used_offline_when_its_hash_matches(home):
    folder = home / "mlfront" / "datasets"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"by hand")  # put there by hand, as the offline message says
    sha = hashlib.sha256(b"by hand").hexdigest()
    md5 = hashlib.md5(b"by hand").hexdigest()
    url = "https://example.invalid/weights.bin"
    assert get_file("weights.bin", url, file_hash=sha) == str(folder / "weights.bin")
    assert get_file("weights.bin", url, file_hash=md5, hash_algorithm="md5") == str(folder / "weights.bin")
    assert validate_file(str(folder / "weights.bin"), sha) and not validate_file(str(folder / "weights.bin"), md5[::-1])
    with pytest.raises(DownloadError, match="example.invalid/weights.bin"):  # stale: a new download is needed
        get_file("weights.bin", url, file_hash=hashlib.sha256(b"other").hexdigest())
    assert (folder / "weights.bin").read_bytes() == b"by hand"  # the failed download left the file alone


def test_offline_error_names_the_url_and_the_folder(home):
    url = "https://example.invalid/data/set.npz"
    with pytest.raises(DownloadError) as info:
        get_file("set.npz", url, cache_subdir="mine")
    message = str(info.value)
    folder = str(home / "mlfront" / "mine")
    assert url in message and f"folder {folder}" in message and os.path.join(folder, "set.npz") in message
    assert isinstance(info.value, OSError) and "network disabled" in info.value.reason
    assert os.listdir(folder) == []  # no partial file


def test_http_error_names_the_url(home, monkeypatch):
    def not_found(url, timeout=None):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, io.BytesIO())

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(DownloadError, match=r"https://example.invalid/gone.txt.*Not Found"):
        get_file("gone.txt", "https://example.invalid/gone.txt")


def test_force_download_and_cache_dir_with_tilde(home):
    source = home / "served.txt"
    source.write_bytes(b"one")
    path = get_file("s.txt", source.as_uri(), cache_dir="~/cache", cache_subdir="sub")
    assert path == os.path.join(str(home / "home"), "cache", "sub", "s.txt")
    source.write_bytes(b"two")
    assert open(get_file("s.txt", source.as_uri(), cache_dir="~/cache", cache_subdir="sub"), "rb").read() == b"one"
    path = get_file("s.txt", source.as_uri(), cache_dir="~/cache", cache_subdir="sub", force_download=True)
    assert open(path, "rb").read() == b"two"


def test_tar_gz_extraction(home):
    archive = home / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (("bundle/a.txt", b"A"), ("bundle/deep/b.txt", b"B")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = get_file("bundle.tar.gz", archive.as_uri(), extract=True, archive_format="tar")
    folder = os.path.dirname(path)
    assert open(os.path.join(folder, "bundle", "deep", "b.txt"), "rb").read() == b"B"
    with pytest.raises(ValueError, match="not an archive of format 'zip'"):
        get_file("bundle.tar.gz", archive.as_uri(), extract=True, archive_format="zip")
