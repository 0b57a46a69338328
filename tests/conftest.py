"""Shared fixtures: where the real sample data live, and small helpers.

The suite has two parts: ``tests/unit/`` mirrors the package (``test_<stage>_<module>.py``:
one module's functions on small inputs, seconds in all) and ``tests/integration/`` runs the
CLI, whole workflows, real processes and the napari viewer end to end (marked
``integration``: ``pytest -m "not integration"`` runs the unit tests alone).

``sample_data`` is ``tests/data``: small cuts of real files (``tests/data/README.md``), part of
the repository, so that a fresh clone runs every test. ``shared_data`` is the full files in
``../shared/data`` (or ``$BEHAVTRACK_SHARED_DATA``), for the few tests that need them whole;
those skip, saying so, where that folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BEHAVTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLE_DATA = ROOT / "tests" / "data"

os.environ.setdefault("BEHAVTRACK_QUIET", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only folder of real files recorded by others (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (set BEHAVTRACK_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """Small cuts of real files recorded by others, shipped in ``tests/data`` (read-only)."""
    assert SAMPLE_DATA.is_dir(), f"{SAMPLE_DATA} is missing: it is part of the repository"
    return SAMPLE_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under ``tests/integration/`` as ``integration``."""
    integration = ROOT / "tests" / "integration"
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(integration):
            item.add_marker(pytest.mark.integration)
