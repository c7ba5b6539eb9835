"""Shared fixtures.

``data_dir``: the directory named by ``LAVA_PLASTIC_DATA``. Outside CI a test that needs it is
skipped when it is not set; in CI (``CI=true``) a missing data directory fails the test.

``lava_clean``: every test that runs a Lava graph uses it; after the test it asserts that the
runtime left no child processes and no new shared-memory segments behind.
"""
import multiprocessing
import os
from pathlib import Path

import pytest

from lava_plastic.datasets import DATA_ENV_VAR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get(DATA_ENV_VAR)
    if not value:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must set {DATA_ENV_VAR} to the shared data directory")
        pytest.skip(f"{DATA_ENV_VAR} is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"{DATA_ENV_VAR}={value} is not a directory")
    return path


def _shm_entries() -> set:
    shm = Path("/dev/shm")
    return set(os.listdir(shm)) if shm.is_dir() else set()


@pytest.fixture
def lava_clean():
    before = _shm_entries()
    yield
    leftover = multiprocessing.active_children()
    assert leftover == [], f"Lava left processes running: {leftover}"
    new_segments = _shm_entries() - before
    assert not new_segments, f"Lava left shared-memory segments: {sorted(new_segments)[:5]}"


def pytest_collection_modifyitems(config, items):
    """Without Lava installed, tests marked ``lava`` are skipped (the core runs without it);
    in CI, where the set-up installs Lava, a missing Lava fails them instead, except in the
    core-only run (``LAVA_PLASTIC_CORE_ONLY=1``, see ``run-tests``)."""
    try:
        import lava.magma  # noqa: F401
    except ImportError as missing:
        if (os.environ.get("CI", "").lower() == "true"
                and os.environ.get("LAVA_PLASTIC_CORE_ONLY") != "1"):
            raise RuntimeError(f"CI expects Lava to be installed: {missing}") from missing
        skip = pytest.mark.skip(reason=f"Lava is not installed ({missing})")
        for item in items:
            if "lava" in item.keywords:
                item.add_marker(skip)
