"""Shared pytest setup: every test runs on the backend named by MLFRONT_BACKEND (tox sets it per env)."""

import urllib.error
import urllib.request

import numpy as np
import pytest

import mlfront


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same seed, so failures reproduce."""
    mlfront.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    """A fresh MLFRONT_HOME and HOME (so ~/.keras is empty), no KERAS_HOME, and no network: only file:// URLs
    open, as on a machine without internet."""
    monkeypatch.setenv("MLFRONT_HOME", str(tmp_path / "mlfront"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    real_urlopen = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        if not str(url).startswith("file://"):
            raise urllib.error.URLError("network disabled in tests")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    return tmp_path


def pytest_report_header(config):
    return f"mlfront backend: {mlfront.backend()}"
