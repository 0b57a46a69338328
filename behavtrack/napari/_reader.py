"""napari reader: open a session folder (or a ``session.json`` in one) as layers.

The layers (video, poses as Points and Tracks, arena as Shapes) carry the session folder in
their metadata; the review dock (Plugins > behavtrack > Review bouts) picks it up and shows
the bouts in its timeline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from behavtrack.napari.session import POSE_NAMES

__all__ = ["napari_get_reader", "read_session"]

LayerData = tuple[Any, dict[str, Any], str]


def _session_folder(path: str | os.PathLike) -> Path | None:
    p = Path(path)
    if p.is_file() and p.name == "session.json":
        p = p.parent
    if not p.is_dir():
        return None
    markers = ("session.json", "bouts.csv", *POSE_NAMES)
    return p if any((p / m).is_file() for m in markers) else None


def napari_get_reader(path: str | list[str]) -> Callable[[str], list[LayerData]] | None:
    """Return :func:`read_session` if ``path`` is a session folder, else None."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    return read_session if _session_folder(path) is not None else None


def read_session(path: str | list[str]) -> list[LayerData]:
    """Read a session folder into napari layer-data tuples."""
    from behavtrack.napari._widget import session_layer_data
    from behavtrack.napari.session import load_review_session

    if isinstance(path, list):
        path = path[0]
    folder = _session_folder(path)
    return session_layer_data(load_review_session(folder))
