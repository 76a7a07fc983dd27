"""Shared pytest setup: every test runs on the backend named by MLFRONT_BACKEND (tox sets it per env)."""

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


def pytest_report_header(config):
    return f"mlfront backend: {mlfront.backend()}"
