"""Session folders: one recording's pose, arena, event log, labels and video, found by name.

A session folder (``docs/architecture.md``) holds ``session.json`` (pair, session index, fps,
n_frames, window_s, ...), ``arena.yaml``, a pose file (``pose.h5``, ``pose.csv``,
``pose.analysis.h5``, ``pose.slp`` or ``pose.nwb``; or the file named by ``"pose"`` or
``"files": {"pose": ...}`` in ``session.json``), ``events.csv``, ``labels.csv`` (frame
labels), ``bouts.csv`` and ``video.mp4``. :func:`load_session` reads the small files and
locates the large ones (the pose is loaded on demand with :meth:`Session.load_pose`); optional
files that are absent are ``None``. :func:`find_sessions` expands folders, globs and manifest
files into session folders.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.io.arena import Arena, load_arena
from behavtrack.io.events import load_events

__all__ = [
    "LABEL_COLUMNS",
    "POSE_NAMES",
    "VIDEO_NAMES",
    "Session",
    "find_sessions",
    "load_labels",
    "load_session",
    "write_session_meta",
]

#: Pose file names looked for in a session folder, in order of preference.
POSE_NAMES = ("pose.h5", "pose.csv", "pose.analysis.h5", "pose.slp", "pose.nwb")
VIDEO_NAMES = ("video.mp4", "video.avi", "video.mov", "video.mkv")
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


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"is not valid JSON (line {exc.lineno})", "fix the syntax") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not a text file") from None
    if not isinstance(meta, dict):
        raise InputError(path, "must hold a JSON object ({...})")
    return meta


def load_labels(path: str | os.PathLike, fps: float | None = None) -> pd.DataFrame:
    """Read frame labels (``frame, time_s, individual, behavior`` + optional ``p_*``).

    ``time_s`` is derived from ``frame`` with ``fps`` when the file lacks it; behaviour names
    are lower-cased.
    """
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


def load_session(folder: str | os.PathLike) -> Session:
    """Read a session folder.

    Parameters
    ----------
    folder
        The session folder (layout in ``docs/architecture.md``).

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
    meta_path = folder / "session.json"
    meta = _read_meta(meta_path) if meta_path.is_file() else {}

    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    named_pose = meta.get("pose") or files.get("pose")
    pose_path = None
    if named_pose:
        pose_path = folder / str(named_pose)
        if not pose_path.is_file():
            raise InputError(meta_path, f"names pose file {named_pose!r}, which does not exist",
                             "fix 'pose' in session.json or restore the file")
    else:
        pose_path = next((folder / n for n in POSE_NAMES if (folder / n).is_file()), None)
    if pose_path is None:
        raise InputError(folder, "has no pose file",
                         f"add one of {', '.join(POSE_NAMES)} (or run behavtrack track)")

    arena = load_arena(folder / "arena.yaml") if (folder / "arena.yaml").is_file() else None
    fps = meta.get("fps") or (arena.fps if arena is not None else None)
    events = (load_events(folder / "events.csv", fps=fps)
              if (folder / "events.csv").is_file() else None)
    labels = (load_labels(folder / "labels.csv", fps=fps)
              if (folder / "labels.csv").is_file() else None)
    names = ((str(files["video"]),) if files.get("video") else ()) + VIDEO_NAMES
    video = next((folder / n for n in names if (folder / n).is_file()), None)
    bouts = folder / "bouts.csv" if (folder / "bouts.csv").is_file() else None
    return Session(path=folder, meta=meta, pose_path=pose_path, arena=arena, events=events,
                   labels=labels, video_path=video, bouts_path=bouts)


def write_session_meta(folder: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write ``session.json`` into ``folder`` (atomically) and return its path."""
    text = json.dumps(meta, indent=2, sort_keys=False, default=_json_default) + "\n"
    return atomic_write_text(Path(folder) / "session.json", text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to session.json")


def _expand(entry: str, base: Path | None, source: str) -> list[Path]:
    """Session folders named by one entry: a folder, a glob, or a manifest file."""
    p = Path(entry).expanduser()
    if base is not None and not p.is_absolute():
        p = base / p
    if glob.has_magic(str(p)):
        hits = sorted(Path(h) for h in glob.glob(str(p), recursive=True))
        out = []
        for h in hits:
            if h.is_dir() and (h / "session.json").is_file():
                out.append(h)
            elif h.name == "session.json":
                out.append(h.parent)
        if not out:
            raise InputError(source, f"pattern {entry!r} matches no session folder",
                             "session folders hold a session.json")
        return out
    if p.is_dir():
        if (p / "session.json").is_file():
            return [p]
        found = sorted(s.parent for s in p.rglob("session.json"))
        if not found:
            raise InputError(p, "holds no session folder (no session.json in it or below)")
        return found
    if p.is_file():
        if p.name == "session.json":
            return [p.parent]
        if base is not None:
            raise InputError(source, f"lists {entry!r}, a file, not a session folder")
        return _read_manifest(p)
    raise InputError(p if base is None else source,
                     "no such session folder" if base is None else f"lists {entry!r}, "
                     "which does not exist", "check the path")


def _read_manifest(path: Path) -> list[Path]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "is not a text manifest (one session folder per line)") from None
    out: list[Path] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.extend(_expand(line, path.parent, str(path)))
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
