"""The napari review plugin: watch a session's video, poses and bouts; correct bouts; draw arenas.

Open a session with :func:`open_session` (or drop a session folder on napari, or run
``python -m behavtrack.napari SESSION``). The Qt-free parts (:mod:`~behavtrack.napari.editing`,
:mod:`~behavtrack.napari.session`, :mod:`~behavtrack.napari.arena_layer`) import without
napari; :func:`open_session` and :class:`ReviewWidget` need the ``behavtrack[napari]`` extra.
See ``docs/napari.md``.
"""

from typing import Any

from behavtrack.napari.editing import BoutEditor, labels_from_bouts
from behavtrack.napari.session import (
    ReviewSession,
    add_to_labeled_examples,
    load_review_session,
    save_reviewed_bouts,
)

__all__ = [
    "BoutEditor",
    "labels_from_bouts",
    "ReviewSession",
    "load_review_session",
    "save_reviewed_bouts",
    "add_to_labeled_examples",
    "open_session",
    "ReviewWidget",
]


def __getattr__(name: str) -> Any:  # Qt is imported only when the viewer parts are used
    if name in ("open_session", "ReviewWidget"):
        from behavtrack.napari import _widget

        return getattr(_widget, name)
    raise AttributeError(f"module 'behavtrack.napari' has no attribute {name!r}")
