"""Session folders: one recording's pose, arena, event log, labels and video, found by name.

A session folder (``docs/architecture.md``) holds ``session.json`` (pair, session index, fps,
n_frames, window_s, ...), ``arena.yaml``, a pose file (``pose.h5``, ``pose.csv``,
``pose.analysis.h5``, ``pose.slp`` or ``pose.nwb``; or the file named by ``"pose"`` or
``"files": {"pose": ...}`` in ``session.json``), ``events.csv``, ``labels.csv`` (frame
labels), ``bouts.csv`` and ``video.mp4``. :func:`load_session` reads the small files and
locates the large ones (the pose is loaded on demand with :meth:`Session.load_pose`); optional
files that are absent are ``None``. :func:`find_sessions` expands folders, globs and manifest
files into session folders.

This module owns ``session.json`` (:func:`read_session_meta`, :func:`write_session_meta`),
the file names of a session folder (:data:`POSE_NAMES`, :data:`VIDEO_NAMES`,
:func:`session_files`) and the finding of session folders: input sessions
(:func:`find_sessions`), classify outputs and NWB exports (:func:`find_classified_sessions`),
and the inputs of ``behavtrack stats`` split into those and agent rollouts
(:func:`split_inputs`).
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.io.arena import Arena, load_arena
from behavtrack.io.framerate import VIDEO_SUFFIXES
from behavtrack.io.inputs import (
    META_NAME,
    find_inputs,
    glob_matches,
    read_manifest,
    search_folder,
)

if TYPE_CHECKING:  # pandas and xarray are imported where tables and poses are read: finding
    # sessions and their files (batch's parent) needs neither
    import pandas as pd
    import xarray as xr

__all__ = [
    "LABEL_COLUMNS",
    "META_NAME",
    "POSE_NAMES",
    "VIDEO_NAMES",
    "Session",
    "find_classified_sessions",
    "find_sessions",
    "load_labels",
    "load_session",
    "read_session_meta",
    "session_files",
    "split_inputs",
    "write_session_meta",
]

#: Pose file names looked for in a session folder, in order of preference.
POSE_NAMES = ("pose.h5", "pose.csv", "pose.analysis.h5", "pose.slp", "pose.nwb")
#: Video file names looked for in a session folder (``video`` + a video ending), in order.
VIDEO_NAMES = tuple(f"video{suffix}" for suffix in VIDEO_SUFFIXES)
LABEL_COLUMNS = ["frame", "time_s", "individual", "behavior"]


@dataclass
class Session:
    """One recording session, as found in its folder.

    Attributes
    ----------
    path
        The folder.
    meta
        Contents of ``session.json`` (empty if there is none).
    pose_path
        The pose file.
    arena
        The arena, or ``None`` without ``arena.yaml``.
    events
        The rig's log (:func:`behavtrack.io.events.load_events`), or ``None``.
    labels
        Frame labels ``frame, time_s, individual, behavior`` (+ ``p_*``), or ``None``.
    video_path
        The video, or ``None``.
    bouts_path
        ``bouts.csv`` if present, else ``None``.

    """

    path: Path
    meta: dict[str, Any]
    pose_path: Path
    arena: Arena | None = None
    events: pd.DataFrame | None = None
    labels: pd.DataFrame | None = None
    video_path: Path | None = None
    bouts_path: Path | None = field(default=None)

    @property
    def fps(self) -> float | None:
        """Frame rate from ``session.json``, else the arena's, else ``None``."""
        fps = self.meta.get("fps")
        if fps:
            return float(fps)
        return self.arena.fps if self.arena is not None and self.arena.fps else None

    def load_pose(self, **kwargs: Any) -> xr.Dataset:
        """Load the pose with this session's fps and arena (see :func:`load_pose`)."""
        from behavtrack.io.pose import load_pose

        kwargs.setdefault("fps", self.fps)
        kwargs.setdefault("arena", self.arena)
        return load_pose(self.pose_path, **kwargs)


def read_session_meta(
    path: str | os.PathLike, *, missing_ok: bool = False
) -> dict[str, Any]:
    """Read ``session.json``: of a folder, or the file itself.

    Parameters
    ----------
    path
        A folder holding ``session.json``, or the JSON file.
    missing_ok
        Return ``{}`` when there is no such file (else it is an error).

    Returns
    -------
    dict
        The metadata (pair, session, fps, n_frames, window_s, ...).

    Raises
    ------
    InputError
        If the file is missing (unless ``missing_ok``), is not valid JSON, or does not hold
        a JSON object.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_session_meta(folder, {"pair": "p1", "session": 3, "fps": 30.0})
    >>> read_session_meta(folder)["session"]
    3

    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() != ".json":
        path = path / META_NAME
    if not path.is_file():
        if missing_ok:
            return {}
        raise InputError(path.parent, f"has no {META_NAME}",
                         "give a session folder (or a classify output folder)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"is not valid JSON (line {exc.lineno})", "fix the syntax") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not a text file") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise InputError(path, "must hold a JSON object ({...})")
    return meta


def session_files(
    folder: str | os.PathLike, meta: dict[str, Any] | None = None
) -> tuple[Path | None, Path | None]:
    """Return the pose file and the video of a session folder (``None`` where absent).

    The pose is the file named by ``"pose"`` (or ``"files": {"pose": ...}``) in
    ``session.json``, else the first of :data:`POSE_NAMES` present; the video likewise with
    ``"video"`` and :data:`VIDEO_NAMES`. A named file that does not exist is passed over.

    Parameters
    ----------
    folder
        The session folder.
    meta
        Its ``session.json`` (read when not given; ``{}`` without one).

    Returns
    -------
    pose, video : pathlib.Path or None

    """
    folder = Path(folder)
    meta = read_session_meta(folder, missing_ok=True) if meta is None else meta
    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}

    def first(names: Iterable[Any]) -> Path | None:
        return next((folder / str(n) for n in names if n and (folder / str(n)).is_file()), None)

    pose = first((meta.get("pose"), files.get("pose"), *POSE_NAMES))
    video = first((meta.get("video"), files.get("video"), *VIDEO_NAMES))
    return pose, video


def load_labels(path: str | os.PathLike, fps: float | None = None) -> pd.DataFrame:
    """Read frame labels (``frame, time_s, individual, behavior`` + optional ``p_*``).

    ``time_s`` is derived from ``frame`` with ``fps`` when the file lacks it; behaviour names
    are lower-cased.
    """
    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"individual": str, "behavior": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a readable CSV ({type(exc).__name__})") from None
    if "time_s" not in df and "frame" in df and fps:
        df["time_s"] = df["frame"] / fps
    missing = [c for c in LABEL_COLUMNS if c not in df]
    if missing:
        raise InputError(path, f"has no column '{missing[0]}'",
                         "frame labels have columns frame, time_s, individual, behavior")
    frame = pd.to_numeric(df["frame"], errors="coerce")
    if frame.isna().any():
        raise InputError(path, "column 'frame' has a value that is not a number")
    df["frame"] = frame.astype(int)
    df["behavior"] = df["behavior"].fillna("").astype(str).str.strip().str.lower()
    df["individual"] = df["individual"].astype(str)
    return df


def load_session(folder: str | os.PathLike, *, labels: bool = True,
                 events: bool = True) -> Session:
    """Read a session folder.

    Parameters
    ----------
    folder
        The session folder (layout in ``docs/architecture.md``).
    labels
        Also read ``labels.csv`` (frame labels: large for a long recording); ``False``
        leaves :attr:`Session.labels` ``None``.
    events
        Also read ``events.csv`` (the rig's log); ``False`` leaves :attr:`Session.events`
        ``None`` (for a caller given its events otherwise).

    Returns
    -------
    Session

    Raises
    ------
    InputError
        If the folder does not exist, has no pose file, or a file in it is invalid.

    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(folder, "no such session folder", "check the path")
    if not folder.is_dir():
        raise InputError(folder, "is not a session folder but a file")
    meta_path = folder / META_NAME
    meta = read_session_meta(folder, missing_ok=True)

    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    named_pose = meta.get("pose") or files.get("pose")
    if named_pose and not (folder / str(named_pose)).is_file():
        raise InputError(meta_path, f"names pose file {named_pose!r}, which does not exist",
                         "fix 'pose' in session.json or restore the file")
    pose_path, video = session_files(folder, meta)
    if pose_path is None:
        raise InputError(folder, "has no pose file",
                         f"add one of {', '.join(POSE_NAMES)} (or run behavtrack track)")

    from behavtrack.io.events import load_events

    arena = load_arena(folder / "arena.yaml") if (folder / "arena.yaml").is_file() else None
    fps = meta.get("fps") or (arena.fps if arena is not None else None)
    log = (load_events(folder / "events.csv", fps=fps)
           if events and (folder / "events.csv").is_file() else None)
    frame_labels = (load_labels(folder / "labels.csv", fps=fps)
                    if labels and (folder / "labels.csv").is_file() else None)
    bouts = folder / "bouts.csv" if (folder / "bouts.csv").is_file() else None
    return Session(path=folder, meta=meta, pose_path=pose_path, arena=arena, events=log,
                   labels=frame_labels, video_path=video, bouts_path=bouts)


def write_session_meta(
    folder: str | os.PathLike, meta: dict[str, Any], *, indent: int = 2
) -> Path:
    """Write ``session.json`` into ``folder`` (atomically) and return its path.

    Parameters
    ----------
    folder
        The folder (it must exist).
    meta
        The metadata: JSON types, numpy scalars and arrays, paths; anything else is written
        as its ``str``.
    indent
        Indentation of the JSON text.

    Returns
    -------
    pathlib.Path
        The file written.

    """
    text = json.dumps(meta, indent=indent, sort_keys=False, default=_json_default) + "\n"
    return atomic_write_text(Path(folder) / META_NAME, text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)  # paths, and anything else a caller put in


def _expand(entry: str, base: Path | None, source: str) -> list[Path]:
    """Session folders named by one entry: a folder, a glob, or a manifest file.

    The rules of ``behavtrack train``'s inputs: a glob keeps the session folders (and
    ``session.json`` files) it matches, and does not search the other folders it matches;
    any other file given is a manifest, and a manifest lists only folders and globs.
    """
    p = Path(entry).expanduser()
    if base is not None and not p.is_absolute():
        p = base / p
    if glob.has_magic(str(p)):
        out = []
        for h in glob_matches(p):
            if h.is_dir() and (h / META_NAME).is_file():
                out.append(h)
            elif h.name == META_NAME:
                out.append(h.parent)
        if not out:
            raise InputError(source, f"pattern {entry!r} matches no session folder",
                             "session folders hold a session.json")
        return out
    if p.is_dir():
        if (p / META_NAME).is_file():
            return [p]
        found = search_folder(p, "session")
        if not found:
            raise InputError(p, "holds no session folder (no session.json in it or below)")
        return found
    if p.is_file():
        if p.name == META_NAME:
            return [p.parent]
        if base is not None:
            raise InputError(source, f"lists {entry!r}, a file, not a session folder")
        return _read_manifest(p)
    raise InputError(p if base is None else source,
                     "no such session folder" if base is None else f"lists {entry!r}, "
                     "which does not exist", "check the path")


def _read_manifest(path: Path) -> list[Path]:
    rows = read_manifest(path, not_text=("is not a text manifest (one session folder per line)",
                                         None))
    out: list[Path] = []
    for row in rows:
        out.extend(_expand(row.text, path.parent, str(path)))
    if not out:
        raise InputError(path, "lists no session folder", "write one folder per line")
    return out


def find_sessions(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders, globs and manifests into session folders.

    Parameters
    ----------
    paths
        Each entry is a session folder (holding ``session.json``), a folder searched
        recursively for session folders, a glob pattern (``"mice/pair*/day*"``), or a
        manifest: a text file with one such entry per line (relative to the manifest;
        blank lines and ``#`` comments ignored).

    Returns
    -------
    list of pathlib.Path
        Session folders in the order given (each once).

    Raises
    ------
    InputError
        An entry that does not exist or names no session folder.

    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: set[Path] = set()
    out: list[Path] = []
    for entry in paths:
        for p in _expand(str(entry), None, str(entry)):
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def find_classified_sessions(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Classify output folders (and behavtrack NWB exports) named by ``paths``.

    Parameters
    ----------
    paths
        Each path is a folder holding ``session.json``, a parent folder searched
        recursively (for session folders, else NWB exports), a glob pattern, a behavtrack
        ``.nwb`` export, or a text file (``.txt``, ``.lst`` or no ending) listing one such
        path per line (relative to the file's folder; blank lines and ``#`` comments
        ignored): :func:`behavtrack.io.inputs.find_inputs` with kinds ``session`` and ``nwb``.

    Returns
    -------
    list of pathlib.Path
        The folders and NWB files, each once, in the order given (as
        :class:`~behavtrack.io.classified.ClassifiedFolder`:
        :func:`behavtrack.io.classified.find_classified_folders`).

    Raises
    ------
    InputError
        If a path matches nothing.

    """
    return [f.path for f in find_inputs(paths, kinds=("session", "nwb"))]


def split_inputs(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """Split the inputs of ``behavtrack stats`` into classify outputs (mice) and agent rollouts.

    A rollout file (``.mat``, tidy CSV), or a folder holding rollout files but no
    ``session.json``, goes to the agents; everything else is searched for session folders
    (:func:`find_classified_sessions`).

    Parameters
    ----------
    paths
        Classify folders, parent folders, globs, list files, NWB exports, rollout files and
        folders of them.

    Returns
    -------
    sessions : list of pathlib.Path
        Classify output folders and NWB exports.
    rollouts : list of pathlib.Path
        Rollout files and folders of them (expand with
        :func:`behavtrack.io.agents.find_rollout_files`).

    """
    from behavtrack.io.agents import is_rollout_file

    mice: list[str | os.PathLike] = []
    agents: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file() and is_rollout_file(p):
            agents.append(p)
        elif p.is_dir() and not any(p.rglob(META_NAME)) and any(
                is_rollout_file(q) for q in p.rglob("*") if q.is_file()):
            agents.append(p)
        else:
            mice.append(raw)
    return (find_classified_sessions(mice) if mice else []), agents
