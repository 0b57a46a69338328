"""What the review plugin opens and saves: a session's files, found in a folder or given one by one.

:func:`load_review_session` gathers a session's video, pose, bouts, arena, events and metadata
from a session folder (written by ``behavtrack simulate``, ``classify`` or ``batch``) or from
files the user picks; :func:`save_reviewed_bouts` writes the corrected ``bouts.csv`` next to
them; :func:`add_to_labeled_examples` copies the session with its corrected bouts (and the
per-frame ``labels.csv`` derived from them) into a labeled-examples folder in the session-folder
layout that ``behavtrack train`` reads. Nothing here needs Qt or napari.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text
from behavtrack.io.arena import Arena, load_arena, save_arena
from behavtrack.io.bouts import BOUT_COLUMNS, read_bouts_csv, write_bouts_csv

__all__ = [
    "ReviewSession",
    "load_review_session",
    "save_reviewed_bouts",
    "add_to_labeled_examples",
    "POSE_NAMES",
    "VIDEO_SUFFIXES",
]

#: File names of the pose in a session folder, in the order they are looked for.
POSE_NAMES = ("pose.h5", "pose.analysis.h5", "pose.csv", "pose.slp", "pose.nwb")
#: Suffixes taken for a video file in a session folder.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


@dataclass
class ReviewSession:
    """One session as the review plugin sees it.

    Attributes
    ----------
    folder
        The session (or classify output) folder; where ``bouts.csv`` is saved.
    meta
        The contents of ``session.json`` (empty if there is none).
    fps
        Frames per second.
    n_frames
        Number of frames (of the pose, else of the video).
    pose
        movement poses Dataset, or ``None``.
    pose_path, video_path, bouts_path, arena_path, events_path
        The files used (``None`` where absent).
    bouts
        The bouts table (:data:`behavtrack.io.bouts.BOUT_COLUMNS`; empty when there are none).
    arena
        The arena, or ``None``.
    events
        The rig's log as read from ``events.csv``, or ``None``.

    """

    folder: Path
    meta: dict[str, Any]
    fps: float
    n_frames: int
    pose: xr.Dataset | None = None
    pose_path: Path | None = None
    video_path: Path | None = None
    bouts_path: Path | None = None
    arena_path: Path | None = None
    events_path: Path | None = None
    bouts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BOUT_COLUMNS))
    arena: Arena | None = None
    events: pd.DataFrame | None = None

    @property
    def individuals(self) -> list[str]:
        """Individuals of the pose, then any others named by the bouts."""
        names = [str(i) for i in self.pose["individual"].values] if self.pose is not None else []
        for ind in self.bouts["individual"].astype(str).unique():
            if ind not in names:
                names.append(ind)
        return names

    @property
    def name(self) -> str:
        """A name for the session: its folder's name."""
        return self.folder.name


def _load_pose(path: Path, fps: float | None) -> xr.Dataset:
    """Read a pose file with behavtrack's loader (canonical keypoint names)."""
    try:
        from behavtrack.io.pose import load_pose
    except ImportError:  # the IO module is not installed in this build
        from movement.io import load_dataset

        ds = load_dataset(path, fps=fps)
        ds.attrs.setdefault("source_file", str(path))
        return ds
    return load_pose(path, fps=fps)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not valid JSON ({exc.__class__.__name__})",
                         "fix or delete the file") from None
    if not isinstance(data, dict):
        raise InputError(path, "does not hold a JSON object", "expected {\"fps\": ..., ...}")
    return data


def _existing(path: Any, base: Path) -> Path | None:
    """``path`` (absolute or relative to ``base``) if it names an existing file."""
    if not isinstance(path, str) or not path:
        return None
    p = Path(path)
    p = p if p.is_absolute() else base / p
    return p if p.is_file() else None


def _find_in_provenance(folder: Path, suffixes: tuple[str, ...]) -> Path | None:
    """Return a file named by the classify folder's ``provenance.json`` with one of ``suffixes``."""
    prov = folder / "provenance.json"
    if not prov.is_file():
        return None
    try:
        data = json.loads(prov.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.lower().endswith(suffixes):
            found = _existing(item, folder)
            if found is not None:
                return found
    return None


def _find_pose(folder: Path, meta: dict[str, Any]) -> Path | None:
    for name in POSE_NAMES:
        if (folder / name).is_file():
            return folder / name
    for key in ("pose", "pose_path", "pose_file"):
        found = _existing(meta.get(key), folder)
        if found is not None:
            return found
    return _find_in_provenance(folder, (".h5", ".csv", ".slp", ".nwb"))


def _find_video(folder: Path, meta: dict[str, Any]) -> Path | None:
    if (folder / "video.mp4").is_file():
        return folder / "video.mp4"
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if videos:
        return videos[0]
    for key in ("video", "video_path", "video_file"):
        found = _existing(meta.get(key), folder)
        if found is not None:
            return found
    return _find_in_provenance(folder, VIDEO_SUFFIXES)


def load_review_session(
    folder: str | os.PathLike | None = None,
    *,
    video: str | os.PathLike | None = None,
    pose: str | os.PathLike | None = None,
    bouts: str | os.PathLike | None = None,
    arena: str | os.PathLike | None = None,
    fps: float | None = None,
) -> ReviewSession:
    """Gather a session's files for review.

    Parameters
    ----------
    folder
        A session folder (``session.json``, ``pose.h5``, ``video.mp4``, ``bouts.csv``,
        ``arena.yaml``, ``events.csv``) or a classify output folder (its ``provenance.json``
        or ``session.json`` is searched for the pose and video). Optional when files are given.
    video, pose, bouts, arena
        Files that override (or stand in for) the folder's.
    fps
        Frames per second, when neither ``session.json``, the pose nor the video says.

    Returns
    -------
    ReviewSession
        The session; its ``folder`` is where corrected bouts are saved (the folder given,
        else the folder of the bouts, pose or video file).

    Raises
    ------
    InputError
        If the folder does not exist, or holds neither a pose nor a video, or a file is bad.

    """
    given = [p for p in (bouts, pose, video) if p is not None]
    if folder is None:
        if not given:
            raise InputError(None, "nothing to open", "give a session folder or files")
        folder = Path(given[0]).parent
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "is not a folder", "give a session folder")
    meta = _read_json(folder / "session.json") if (folder / "session.json").is_file() else {}

    pose_path = Path(pose) if pose is not None else _find_pose(folder, meta)
    video_path = Path(video) if video is not None else _find_video(folder, meta)
    for p, what in ((pose_path, "pose file"), (video_path, "video")):
        if p is not None and not p.is_file():
            raise InputError(p, f"no such {what}", "check the path")
    if pose_path is None and video_path is None:
        raise InputError(folder, "holds neither a pose file nor a video",
                         f"expected one of {', '.join(POSE_NAMES)} or video.mp4")

    fps = fps or meta.get("fps")
    ds = _load_pose(pose_path, fps) if pose_path is not None else None
    n_video = None
    if video_path is not None:
        from behavtrack.io.video import VideoReader

        with VideoReader(video_path, cache_size=0) as reader:
            n_video, fps_video = reader.n_frames, reader.fps
        if fps_video == fps_video:  # not NaN
            fps = fps or fps_video
    if ds is not None:
        fps = fps or ds.attrs.get("fps")
    if not fps:
        raise InputError(folder, "the frame rate is unknown",
                         "add 'fps' to session.json or pass fps=")
    fps = float(fps)
    n_frames = ds.sizes["time"] if ds is not None else n_video
    if n_frames is None:
        n_frames = int(meta.get("n_frames", 0))

    bouts_path = Path(bouts) if bouts is not None else folder / "bouts.csv"
    table = read_bouts_csv(bouts_path) if bouts_path.is_file() else None
    if bouts is not None and table is None:
        raise InputError(bouts_path, "no such bouts file", "check the path")

    arena_path = Path(arena) if arena is not None else folder / "arena.yaml"
    arena_obj = load_arena(arena_path) if arena_path.is_file() else None
    if arena is not None and arena_obj is None:
        raise InputError(arena_path, "no such arena file", "check the path")

    events_path = folder / "events.csv"
    events = None
    if events_path.is_file():
        try:
            from behavtrack.io.events import load_events
        except ImportError:
            events = pd.read_csv(events_path)
        else:
            events = load_events(events_path, fps=fps)

    return ReviewSession(
        folder=folder,
        meta=meta,
        fps=fps,
        n_frames=int(n_frames),
        pose=ds,
        pose_path=pose_path,
        video_path=video_path,
        bouts_path=bouts_path if table is not None else None,
        arena_path=arena_path if arena_obj is not None else None,
        events_path=events_path if events is not None else None,
        bouts=table if table is not None else pd.DataFrame(columns=BOUT_COLUMNS),
        arena=arena_obj,
        events=events,
    )


def save_reviewed_bouts(
    session: ReviewSession, bouts: pd.DataFrame, path: str | os.PathLike | None = None
) -> Path:
    """Write corrected ``bouts`` as ``bouts.csv`` (BORIS layout) in the session's folder.

    The write is atomic; ``session.bouts`` and ``session.bouts_path`` are updated.
    """
    path = Path(path) if path is not None else session.folder / "bouts.csv"
    media = session.video_path.name if session.video_path is not None else ""
    write_bouts_csv(bouts, path, session.fps, observation_id=session.name, media_file=media)
    session.bouts = bouts.copy()
    session.bouts_path = path
    return path


def add_to_labeled_examples(
    session: ReviewSession,
    dest: str | os.PathLike,
    bouts: pd.DataFrame | None = None,
    name: str | None = None,
    fill: str = "other",
) -> Path:
    """Copy a reviewed session into a labeled-examples folder that ``behavtrack train`` reads.

    Writes ``dest/<name>/`` with the pose (``pose.h5``/``pose.csv``/... as the original's
    format), ``arena.yaml``, ``events.csv``, ``session.json`` (with
    ``labels_source: "review"``), the corrected ``bouts.csv`` and the per-frame ``labels.csv``
    derived from them (frames in no bout get ``fill``); the video is not copied (training
    reads poses).
    The folder is assembled next to its final place and renamed into it, so a failed copy
    leaves nothing half-written; an existing example of the same name is replaced.

    Parameters
    ----------
    session
        The session under review (it needs a pose).
    dest
        The labeled-examples folder (created if needed).
    bouts
        The corrected bouts (default: ``session.bouts``).
    name
        Name of the example's folder (default: the session's folder name).
    fill
        Behaviour of frames covered by no bout in ``labels.csv``.

    Returns
    -------
    pathlib.Path
        The example's folder.

    """
    from behavtrack.napari.editing import labels_from_bouts

    if session.pose_path is None or session.pose is None:
        raise InputError(session.folder, "has no pose file: a labeled example needs one",
                         "open the session with its pose")
    bouts = session.bouts if bouts is None else bouts
    if len(bouts) == 0:
        raise InputError(session.folder, "has no bouts to learn from",
                         "label some bouts first")
    dest = Path(dest)
    final = dest / (name or session.name)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{final.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        src = session.pose_path
        low = src.name.lower()
        suffix = ".analysis.h5" if low.endswith(".analysis.h5") else src.suffix.lower()
        shutil.copy2(src, tmp / f"pose{suffix}")
        if session.arena is not None:
            save_arena(session.arena, tmp / "arena.yaml")
        if session.events_path is not None:
            shutil.copy2(session.events_path, tmp / "events.csv")
        labels = labels_from_bouts(bouts, session.n_frames, session.fps, session.individuals,
                                   fill=fill)
        with atomic_path(tmp / "labels.csv") as p:
            labels.to_csv(p, index=False)
        media = session.video_path.name if session.video_path is not None else ""
        write_bouts_csv(bouts, tmp / "bouts.csv", session.fps, observation_id=final.name,
                        media_file=media)
        meta = dict(session.meta)
        meta.update({
            "fps": session.fps,
            "n_frames": session.n_frames,
            "labels_source": "review",
            "reviewed_from": str(session.folder.resolve()),
        })
        meta.setdefault("source", "review")
        if session.arena is not None and session.arena.window_s is not None:
            meta.setdefault("window_s", session.arena.window_s)
        atomic_write_text(tmp / "session.json", json.dumps(meta, indent=2, default=str) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final
