"""Shared fixtures: where the real sample data live, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BEHAVTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("BEHAVTRACK_QUIET", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only folder of real files recorded by others (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (set BEHAVTRACK_SHARED_DATA)")
    return SHARED_DATA
