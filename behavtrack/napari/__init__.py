"""The napari review plugin: watch a session's video, poses and bouts; correct bouts; draw arenas.

Open a session with :func:`behavtrack.napari.session.open_session_in_viewer` (or drop a
session folder on napari, or run ``python -m behavtrack.napari SESSION``). The Qt-free parts
(:mod:`behavtrack.napari.editing`, :mod:`behavtrack.napari.session`) import without napari;
the rest needs the ``behavtrack[napari]`` extra.
"""

from behavtrack.napari.editing import BoutEditor, labels_from_bouts

__all__ = ["BoutEditor", "labels_from_bouts"]
