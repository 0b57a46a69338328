"""The review dock: the ethogram timeline, bout-editing controls and key bindings, arena tools.

:class:`ReviewWidget` is the plugin's dock widget. It shows a session opened with
:func:`open_session` (or dropped on napari: the reader tags the layers with the session
folder and the widget picks it up), keeps the timeline cursor and the viewer's frame slider in
step, edits the bouts through :class:`behavtrack.napari.editing.BoutEditor`, saves
``bouts.csv``, adds the session to a labeled-examples folder, and draws and saves the arena.

Keys (viewer-wide, and on the session's video and pose layers):

====================  ===========================================================
``Shift-A/W/I/O``     relabel the bout under the cursor approach / waiting /
                      interaction / other; with a range mark set, make a bout of
                      that behaviour from the mark to the cursor instead
``Shift-R``           set (or clear) the range mark at the cursor
``Shift-X``           split the bout under the cursor at the cursor
``Shift-M``/``-P``    merge the bout under the cursor with the next / previous one
``Shift-D``           delete the bout under the cursor
``Shift-Z``/``-Y``    undo / redo
``Shift-N``           edit the next individual
``Shift-Right/Left``  jump to the next / previous bout of that individual
====================  ===========================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena, load_arena
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.napari.arena_layer import ROLES, arena_to_shapes, save_arena_from_shapes
from behavtrack.napari.editing import BoutEditor
from behavtrack.napari.session import (
    ReviewSession,
    add_to_labeled_examples,
    load_review_session,
    save_reviewed_bouts,
)
from behavtrack.napari.timeline import BEHAVIOR_COLORS, EthogramTimeline

if TYPE_CHECKING:
    import napari

__all__ = ["ReviewWidget", "open_session", "KEYS", "session_layer_data"]

#: Key of each action (napari key-binding syntax).
KEYS: dict[str, str] = {
    "approach": "Shift-A",
    "waiting": "Shift-W",
    "interaction": "Shift-I",
    "other": "Shift-O",
    "mark": "Shift-R",
    "split": "Shift-X",
    "merge_next": "Shift-M",
    "merge_previous": "Shift-P",
    "delete": "Shift-D",
    "undo": "Shift-Z",
    "redo": "Shift-Y",
    "next_individual": "Shift-N",
    "next_bout": "Shift-Right",
    "previous_bout": "Shift-Left",
}

SESSION_KEY = "behavtrack_session"
#: Layer metadata key of the files a session was opened from one by one (bare pose / video).
FILES_KEY = "behavtrack_files"


def session_layer_data(session: ReviewSession) -> list[tuple[Any, dict[str, Any], str]]:
    """Layer-data tuples of a session: video, poses (Points + Tracks), arena (Shapes).

    Every layer's metadata holds the session folder under ``"behavtrack_session"``.
    """
    from behavtrack.napari.pose_layers import pose_layer_data
    from behavtrack.napari.video_layer import video_layer_data

    layers: list[tuple[Any, dict[str, Any], str]] = []
    if session.video_path is not None:
        layers.append(video_layer_data(session.video_path))
    if session.pose is not None:
        layers.extend(pose_layer_data(session.pose))
    if session.arena is not None:
        layers.append(arena_to_shapes(session.arena))
    for _, kwargs, _ in layers:
        kwargs.setdefault("metadata", {})[SESSION_KEY] = str(session.folder)
        if session.given:  # opened from files: the dock opens them again the same way
            kwargs["metadata"][FILES_KEY] = dict(session.given)
    return layers


class ReviewWidget(QWidget):
    """Dock widget to review and correct a session's bouts and draw its arena.

    Parameters
    ----------
    napari_viewer
        The viewer.
    session
        A session to show right away (its layers are added); else the widget waits for
        layers tagged with a session (opened by the reader) or for "Open session…".

    """

    def __init__(self, napari_viewer: napari.viewer.Viewer,
                 session: ReviewSession | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session: ReviewSession | None = None
        self.editor: BoutEditor | None = None
        self.timeline: EthogramTimeline | None = None
        self.individual: str | None = None
        self.mark: int | None = None
        self.status = ""
        self._build()
        self._bind_keys()
        self.viewer.dims.events.current_step.connect(self._on_step)
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.destroyed.connect(self._make_disconnect())
        if session is not None:
            self.load(session, add_layers=True)
        else:
            for layer in self.viewer.layers:
                if self._adopt(layer):
                    break

    # ---- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.open_button = QPushButton("Open session…")
        self.open_button.clicked.connect(self._open_dialog)
        self.files_button = QPushButton("Open files…")
        self.files_button.setToolTip("pick a pose file, then (optionally) its video and bouts")
        self.files_button.clicked.connect(self._open_files_dialog)
        self.session_label = QLabel("no session")
        top.addWidget(self.open_button)
        top.addWidget(self.files_button)
        top.addWidget(self.session_label, 1)
        top.addWidget(QLabel("window (s):"))
        self.span_box = QDoubleSpinBox()
        self.span_box.setRange(0.0, 1e6)
        self.span_box.setDecimals(0)
        self.span_box.setSpecialValueText("all")
        self.span_box.setToolTip("seconds of the timeline shown around the cursor (all: 0)")
        self.span_box.valueChanged.connect(self._on_span)
        top.addWidget(self.span_box)
        top.addWidget(QLabel("edit:"))
        self.individual_combo = QComboBox()
        self.individual_combo.currentTextChanged.connect(self._on_individual_changed)
        top.addWidget(self.individual_combo)
        layout.addLayout(top)

        self.timeline_box = QVBoxLayout()
        layout.addLayout(self.timeline_box)

        grid = QGridLayout()
        for col, beh in enumerate(BEHAVIORS):
            b = QPushButton(f"{beh} ({KEYS[beh].replace('Shift-', '⇧')})")
            b.setStyleSheet(f"background-color: {BEHAVIOR_COLORS[beh]}; color: black;")
            b.clicked.connect(lambda _=False, beh=beh: self.label(beh))
            grid.addWidget(b, 0, col)
        layout.addLayout(grid)
        actions: list[tuple[str, Callable[[], Any]]] = [
            ("previous_bout", lambda: self.jump("previous")),
            ("next_bout", lambda: self.jump("next")), ("mark", self.toggle_mark),
            ("split", self.split), ("merge_previous", lambda: self.merge("previous")),
            ("merge_next", lambda: self.merge("next")), ("delete", self.delete),
            ("undo", self.undo), ("redo", self.redo),
        ]
        grid = QGridLayout()
        for k, (name, fn) in enumerate(actions):
            b = QPushButton(f"{name.replace('_', ' ')} ({KEYS[name].replace('Shift-', '⇧')})")
            b.clicked.connect(lambda _=False, fn=fn: fn())
            grid.addWidget(b, k // 3, k % 3)
        layout.addLayout(grid)

        save_row = QHBoxLayout()
        self.save_button = QPushButton("Save bouts.csv")
        self.save_button.clicked.connect(lambda: self.save())
        self.examples_button = QPushButton("Add to labeled examples…")
        self.examples_button.clicked.connect(self._examples_dialog)
        save_row.addWidget(self.save_button)
        save_row.addWidget(self.examples_button)
        layout.addLayout(save_row)

        arena_box = QGroupBox("Arena")
        ag = QGridLayout(arena_box)
        self.role_combo = QComboBox()
        self.role_combo.addItems(list(ROLES))
        self.compartment_combo = QComboBox()
        self.compartment_combo.setEditable(True)
        self.compartment_combo.addItems(["left", "right"])
        draw = QPushButton("Draw")
        draw.clicked.connect(lambda: self.draw_arena_shape())
        assign = QPushButton("Set role of selected")
        assign.clicked.connect(lambda: self.assign_role())
        new = QPushButton("Start from default")
        new.clicked.connect(lambda: self.show_arena(default_arena()))
        load = QPushButton("Load arena…")
        load.clicked.connect(self._load_arena_dialog)
        save = QPushButton("Save arena…")
        save.clicked.connect(self._save_arena_dialog)
        ag.addWidget(QLabel("role"), 0, 0)
        ag.addWidget(self.role_combo, 0, 1)
        ag.addWidget(QLabel("compartment"), 0, 2)
        ag.addWidget(self.compartment_combo, 0, 3)
        ag.addWidget(draw, 1, 0)
        ag.addWidget(assign, 1, 1)
        ag.addWidget(new, 1, 2)
        ag.addWidget(load, 2, 0)
        ag.addWidget(save, 2, 1)
        layout.addWidget(arena_box)

        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

    def _make_disconnect(self) -> Callable[..., None]:
        """Return a callback that unhooks this widget from the viewer once Qt deletes it."""
        dims_events, layer_events = self.viewer.dims.events, self.viewer.layers.events
        on_step, on_inserted = self._on_step, self._on_layer_inserted

        def disconnect(*_: Any) -> None:
            dims_events.current_step.disconnect(on_step)
            layer_events.inserted.disconnect(on_inserted)

        return disconnect

    # ---- session -------------------------------------------------------------------------
    def load(self, session: ReviewSession, add_layers: bool = True) -> None:
        """Show ``session``: its layers (if ``add_layers``), its bouts in the timeline."""
        self.session = session
        if add_layers:
            for data, kwargs, kind in session_layer_data(session):
                getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        self._bind_layer_keys()
        self.editor = BoutEditor(session.bouts, session.fps, session.n_frames,
                                 session.individuals, source=session.bouts_path or "<bouts>")
        self.editor.connect(self._on_bouts_changed)
        if self.timeline is not None:
            self.timeline.setParent(None)
        self.timeline = EthogramTimeline(session.fps, session.n_frames, self.editor.individuals)
        self.timeline.frame_clicked.connect(self._on_timeline_click)
        self.timeline_box.addWidget(self.timeline)
        self.individual_combo.blockSignals(True)
        self.individual_combo.clear()
        self.individual_combo.addItems(self.editor.individuals)
        self.individual_combo.blockSignals(False)
        self.individual = self.editor.individuals[0] if self.editor.individuals else None
        self.timeline.set_selected(self.individual)
        self.timeline.set_bouts(self.editor.bouts)
        self.timeline.set_cursor(self.frame)
        self.timeline.set_span(self.span_box.value())
        self._update_label()
        self.viewer.title = f"behavtrack review: {session.name}"
        if session.arena is not None:
            self.compartment_combo.clear()
            self.compartment_combo.addItems(list(session.arena.compartments))

    def close_session(self) -> None:
        """Remove the current session's layers and forget its (unsaved) edits."""
        if self.session is not None:
            folder = str(self.session.folder)
            for layer in [lyr for lyr in self.viewer.layers
                          if lyr.metadata.get(SESSION_KEY) == folder]:
                self.viewer.layers.remove(layer)
        self.session = None
        self.editor = None

    def _adopt(self, layer: Any) -> bool:
        folder = layer.metadata.get(SESSION_KEY) if hasattr(layer, "metadata") else None
        if folder is None or self.session is not None:
            return False
        files = layer.metadata.get(FILES_KEY) or {}
        try:
            self.load(load_review_session(folder, **files), add_layers=False)
        except InputError as exc:
            self._say(str(exc))
            return False
        return True

    def _on_layer_inserted(self, event: Any) -> None:
        self._adopt(event.value)
        if self.session is not None:
            self._bind_layer_keys()

    # ---- frame cursor --------------------------------------------------------------------
    @property
    def frame(self) -> int:
        """The viewer's current frame (the first axis of the slider)."""
        return int(self.viewer.dims.current_step[0]) if self.viewer.dims.ndim > 2 else 0

    def set_frame(self, frame: int) -> None:
        """Move the viewer's frame slider (the timeline follows)."""
        self.viewer.dims.set_current_step(0, int(frame))

    def _on_step(self, event: Any = None) -> None:
        if self.timeline is not None:
            self.timeline.set_cursor(self.frame)

    def _on_span(self, value: float) -> None:
        if self.timeline is not None:
            self.timeline.set_span(value)

    def _on_timeline_click(self, target: int, individual: str, clicked: int) -> None:
        if individual:
            self.select_individual(individual)
        self.set_frame(target)

    def select_individual(self, individual: str) -> None:
        """Make ``individual`` the one edits apply to."""
        if self.editor is None or individual not in self.editor.individuals:
            return
        self.individual_combo.setCurrentText(individual)  # -> _on_individual_changed

    def _on_individual_changed(self, text: str) -> None:
        if text:
            self.individual = text
            if self.timeline is not None:
                self.timeline.set_selected(text)

    def next_individual(self) -> None:
        """Edit the next individual (cycling)."""
        if self.editor and self.editor.individuals:
            names = self.editor.individuals
            i = names.index(self.individual) if self.individual in names else -1
            self.select_individual(names[(i + 1) % len(names)])

    def jump(self, direction: str = "next") -> bool:
        """Move the cursor to the start of the next (or previous) bout of the edited individual."""
        if self.editor is None or self.individual is None:
            return False
        frame = self.editor.neighbour_start(self.individual, self.frame, direction)
        if frame is None:
            self._say(f"no {direction} bout of {self.individual}")
            return False
        self.set_frame(frame)
        return True

    # ---- edits ---------------------------------------------------------------------------
    def _edit(self, fn: Callable[[], Any]) -> bool:
        if self.editor is None or self.individual is None:
            self._say("open a session first")
            return False
        try:
            fn()
        except InputError as exc:
            self._say(str(exc))
            return False
        return True

    def label(self, behavior: str) -> bool:
        """Relabel the bout under the cursor; with a mark set, make a bout mark..cursor."""
        if self.mark is not None:
            start, stop = sorted((self.mark, self.frame))
            ok = self.make_bout(start, stop + 1, behavior)
            if ok:
                self.toggle_mark()
            return ok
        return self._edit(lambda: self.editor.relabel(self.individual, self.frame, behavior))

    def make_bout(self, start: int, stop: int, behavior: str) -> bool:
        """Make a bout of ``behavior`` over frames ``[start, stop)`` for the edited individual."""
        return self._edit(lambda: self.editor.make_bout(self.individual, start, stop, behavior))

    def toggle_mark(self) -> None:
        """Set the range mark at the cursor, or clear it."""
        self.mark = None if self.mark is not None else self.frame
        if self.timeline is not None:
            self.timeline.set_mark(self.mark)
        self._say("" if self.mark is None else f"range from frame {self.mark}: move to its end "
                                                "and press a behaviour key")

    def split(self) -> bool:
        """Split the bout under the cursor at the cursor."""
        return self._edit(lambda: self.editor.split(self.individual, self.frame))

    def merge(self, direction: str = "next") -> bool:
        """Merge the bout under the cursor with its next (or previous) bout."""
        return self._edit(lambda: self.editor.merge(self.individual, self.frame, direction))

    def delete(self) -> bool:
        """Delete the bout under the cursor."""
        return self._edit(lambda: self.editor.delete(self.individual, self.frame))

    def undo(self) -> None:
        """Undo the last edit."""
        if self.editor is not None:
            self.editor.undo()

    def redo(self) -> None:
        """Redo the last undone edit."""
        if self.editor is not None:
            self.editor.redo()

    def _on_bouts_changed(self) -> None:
        if self.timeline is not None and self.editor is not None:
            self.timeline.set_bouts(self.editor.bouts)
        self._update_label()
        self._say("")

    def _update_label(self) -> None:
        if self.session is None or self.editor is None:
            return
        edited = " (unsaved edits)" if self.editor.dirty else ""
        self.session_label.setText(
            f"{self.session.name}: {self.session.n_frames} frames, {self.session.fps:g} fps, "
            f"{len(self.editor.bouts)} bouts{edited}")

    # ---- saving --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike | None = None) -> Path | None:
        """Write the corrected bouts as ``bouts.csv`` in the session folder (or ``path``)."""
        if self.session is None or self.editor is None:
            self._say("open a session first")
            return None
        try:
            out = save_reviewed_bouts(self.session, self.editor.bouts, path)
        except (InputError, OSError) as exc:  # e.g. a read-only folder: say so, keep the edits
            self._say(f"not saved: {exc}")
            return None
        self.editor.dirty = False
        self._update_label()
        self._say(f"saved {out}")
        return out

    def add_to_labeled_examples(self, dest: str | os.PathLike) -> Path | None:
        """Save, then copy the session with its corrected bouts into ``dest`` for training."""
        if self.save() is None:
            return None
        try:
            out = add_to_labeled_examples(self.session, dest, self.editor.bouts)
        except (InputError, OSError) as exc:
            self._say(str(exc))
            return None
        self._say(f"added to labeled examples: {out}")
        return out

    # ---- arena ---------------------------------------------------------------------------
    @property
    def arena_layer(self) -> Any:
        """The arena Shapes layer, or None."""
        for layer in self.viewer.layers:
            if layer.metadata.get("behavtrack_role") == "arena":
                return layer
        return None

    def show_arena(self, arena: Any) -> Any:
        """Replace the arena Shapes layer by one drawing ``arena``; return the layer."""
        old = self.arena_layer
        if old is not None:
            self.viewer.layers.remove(old)
        data, kwargs, _ = arena_to_shapes(arena)
        if self.session is not None:
            kwargs["metadata"][SESSION_KEY] = str(self.session.folder)
        layer = self.viewer.add_shapes(data, **kwargs)
        self.compartment_combo.clear()
        self.compartment_combo.addItems(list(arena.compartments))
        return layer

    def draw_arena_shape(self, role: str | None = None, compartment: str | None = None) -> Any:
        """Put the arena layer in the drawing mode for a shape of ``role`` in ``compartment``."""
        role = role or self.role_combo.currentText()
        compartment = compartment if compartment is not None else (
            "" if role == "partition" else self.compartment_combo.currentText())
        layer = self.arena_layer
        if layer is None:
            metadata: dict[str, Any] = {"behavtrack_role": "arena", "behavtrack_arena": None}
            if self.session is not None:
                metadata[SESSION_KEY] = str(self.session.folder)
            features = pd.DataFrame({"role": pd.Categorical([], categories=ROLES),
                                     "compartment": pd.Series([], dtype=object)})
            layer = self.viewer.add_shapes(None, name="arena", ndim=2, edge_width=3,
                                           face_color="transparent", features=features,
                                           metadata=metadata)
        layer.feature_defaults = {"role": role, "compartment": compartment}
        layer.mode = {"partition": "add_path", "compartment": "add_polygon"}.get(
            role, "add_ellipse")
        self.viewer.layers.selection.active = layer
        return layer

    def assign_role(self, role: str | None = None, compartment: str | None = None) -> None:
        """Give the selected shapes of the arena layer a role and compartment."""
        layer = self.arena_layer
        if layer is None or not layer.selected_data:
            self._say("select shapes of the arena layer first")
            return
        role = role or self.role_combo.currentText()
        compartment = compartment if compartment is not None else (
            "" if role == "partition" else self.compartment_combo.currentText())
        features = layer.features.copy()
        features["role"] = features["role"].astype(object)
        for i in layer.selected_data:
            features.loc[i, "role"] = role
            features.loc[i, "compartment"] = compartment
        layer.features = features

    def save_arena(self, path: str | os.PathLike | None = None) -> Path | None:
        """Save the arena drawn in the arena layer as YAML (default: the session's arena.yaml)."""
        layer = self.arena_layer
        if layer is None:
            self._say("there is no arena layer: load one or start from the default")
            return None
        if path is None:
            if self.session is None:
                self._say("give a path to save the arena to")
                return None
            path = self.session.folder / "arena.yaml"
        size = None
        for lyr in self.viewer.layers:
            if lyr.metadata.get("behavtrack_role") == "video":
                size = (int(lyr.data.shape[2]), int(lyr.data.shape[1]))
        try:
            out = save_arena_from_shapes(layer, path, frame_size=size)
        except InputError as exc:
            self._say(str(exc))
            return None
        if self.session is not None:
            self.session.arena = layer.metadata["behavtrack_arena"]
        self._say(f"saved {out}")
        return out

    # ---- dialogs -------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a session folder")
        if folder:
            try:
                session = load_review_session(folder)
            except InputError as exc:
                self._say(str(exc))
                return
            self.close_session()
            self.load(session, add_layers=True)

    def _open_files_dialog(self) -> None:
        pose, _ = QFileDialog.getOpenFileName(
            self, "Pose file (cancel: none)", "", "Pose (*.h5 *.csv *.slp *.nwb);;All (*)")
        video, _ = QFileDialog.getOpenFileName(
            self, "Video (cancel: none)", str(Path(pose).parent) if pose else "",
            "Video (*.mp4 *.avi *.mov *.mkv);;All (*)")
        if not pose and not video:
            return
        start = str(Path(pose or video).parent)
        bouts, _ = QFileDialog.getOpenFileName(self, "bouts.csv (cancel: none)", start,
                                               "Bouts (*.csv)")
        try:
            session = load_review_session(video=video or None, pose=pose or None,
                                          bouts=bouts or None)
        except InputError as exc:
            self._say(str(exc))
            return
        self.close_session()
        self.load(session, add_layers=True)

    def _examples_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Labeled-examples folder")
        if folder:
            self.add_to_labeled_examples(folder)

    def _load_arena_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load arena", "", "Arena (*.yaml *.yml)")
        if path:
            try:
                self.show_arena(load_arena(path))
            except InputError as exc:
                self._say(str(exc))

    def _save_arena_dialog(self) -> None:
        start = str(self.session.folder / "arena.yaml") if self.session else "arena.yaml"
        path, _ = QFileDialog.getSaveFileName(self, "Save arena", start, "Arena (*.yaml)")
        if path:
            self.save_arena(path)

    # ---- keys ----------------------------------------------------------------------------
    def _actions(self) -> dict[str, Callable[[], Any]]:
        acts: dict[str, Callable[[], Any]] = {b: (lambda b=b: self.label(b)) for b in BEHAVIORS}
        acts.update({
            "mark": self.toggle_mark, "split": self.split, "merge_next": lambda: self.merge("next"),
            "merge_previous": lambda: self.merge("previous"), "delete": self.delete,
            "undo": self.undo, "redo": self.redo, "next_individual": self.next_individual,
            "next_bout": lambda: self.jump("next"), "previous_bout": lambda: self.jump("previous"),
        })
        return acts

    def _bind_keys(self) -> None:
        for name, fn in self._actions().items():
            self.viewer.bind_key(KEYS[name], lambda _viewer, fn=fn: fn(), overwrite=True)

    def _bind_layer_keys(self) -> None:
        """Bind the keys on the session's video and pose layers too (they win over the viewer's)."""
        for layer in self.viewer.layers:
            if layer.metadata.get("behavtrack_role") in ("video", "pose", "tracks"):
                for name, fn in self._actions().items():
                    layer.bind_key(KEYS[name], lambda _layer, fn=fn: fn(), overwrite=True)

    def _say(self, text: str) -> None:
        self.status = text
        self.status_label.setText(text)


def open_session(
    viewer: napari.viewer.Viewer,
    folder: str | os.PathLike | ReviewSession | None = None,
    **files: Any,
) -> ReviewWidget:
    """Open a session in ``viewer``: its layers and the review dock; return the dock's widget.

    Parameters
    ----------
    viewer
        A napari viewer.
    folder
        A session (or classify output) folder, or a session already loaded with
        :func:`behavtrack.napari.session.load_review_session`.
    **files
        ``video=``, ``pose=``, ``bouts=``, ``arena=``, ``fps=`` as for
        :func:`behavtrack.napari.session.load_review_session`.

    """
    session = (folder if isinstance(folder, ReviewSession)
               else load_review_session(folder, **files))
    widget = ReviewWidget(viewer)
    widget.load(session, add_layers=True)
    viewer.window.add_dock_widget(widget, name="behavtrack review", area="bottom")
    viewer.reset_view()
    return widget
