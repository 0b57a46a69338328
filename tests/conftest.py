"""Shared fixtures: where the real sample data live, and small helpers.

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
