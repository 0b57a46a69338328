"""What the review plugin opens and saves: a session's files, found in a folder or given one by one.

:func:`load_review_session` gathers a session's video, pose, bouts, arena, events and metadata
from a session folder (written by ``behavtrack simulate``, ``classify`` or ``batch``) or from
files the user picks; :func:`save_reviewed_bouts` writes the corrected ``bouts.csv`` next to
them; :func:`add_to_labeled_examples` copies the session with its corrected bouts (and the
per-frame ``labels.csv`` derived from them) into a labeled-examples folder in the session-folder
layout that ``behavtrack train`` reads. Nothing here needs Qt or napari.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, staged_folder
from behavtrack.io.arena import Arena, load_arena, save_arena
from behavtrack.io.bouts import BOUT_COLUMNS, read_bouts_csv, write_bouts_csv
from behavtrack.io.classified import ClassifiedFolder, folder_video
from behavtrack.io.events import load_events
from behavtrack.io.framerate import VIDEO_SUFFIXES
from behavtrack.io.pose import load_pose
from behavtrack.io.session import (
    POSE_NAMES,
    Session,
    load_session,
    read_session_meta,
    write_session_meta,
)

__all__ = [
    "ReviewSession",
    "load_review_session",
    "save_reviewed_bouts",
    "add_to_labeled_examples",
    "POSE_NAMES",
    "VIDEO_SUFFIXES",
]


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
    given
        The files given one by one (``video``, ``pose``, ``bouts``, ``arena``: path strings;
        ``fps``), so that the session can be opened again the same way.

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
    given: dict[str, Any] = field(default_factory=dict)

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


def _source_session(folder: Path, meta: dict[str, Any]) -> Session | None:
    """Return the session behind ``folder``: itself if it holds a pose, else the one named.

    A classify output folder's ``provenance.json`` names its session folder; ``None`` when
    there is none.
    """
    if meta.get("pose") or any((folder / n).is_file() for n in POSE_NAMES):
        return load_session(folder)
    src = ClassifiedFolder(folder).source_session()
    if src is not None:
        try:
            return load_session(src)
        except InputError:
            return None
    return None


def load_review_session(
    folder: str | os.PathLike | None = None,
    *,
    video: str | os.PathLike | None = None,
    pose: str | os.PathLike | None = None,
    bouts: str | os.PathLike | None = None,
    arena: str | os.PathLike | None = None,
    fps: float | None = None,
    aliases: dict[str, str] | None = None,
    find_video: bool = True,
) -> ReviewSession:
    """Gather a session's files for review.

    Parameters
    ----------
    folder
        A session folder (read with :func:`behavtrack.io.session.load_session`) or a classify
        output folder (``bouts.csv``, ``session.json``; the pose, video, arena and events
        come from the session folder or pose file its ``provenance.json`` names; for a
        ``behavtrack batch`` output tracked from a video, the video its ``batch.json``
        names). Optional when files are given.
    video, pose, bouts, arena
        Files that override (or stand in for) the folder's.
    fps
        Frames per second, when neither ``session.json``, the pose nor the video says.
    aliases
        Extra body-part aliases of the pose file (name in the file -> canonical name).
    find_video
        Look for a video in the folder when none is given (False: a bare pose file opens
        without a video unless one is given).

    Returns
    -------
    ReviewSession
        The session; its ``folder`` is where corrected bouts are saved (the folder given,
        else the folder of the bouts, pose or video file).

    Raises
    ------
    InputError
        If the folder does not exist, or leads to neither a pose nor a video, or a file is bad.

    """
    given_files = {k: str(v) for k, v in (("video", video), ("pose", pose), ("bouts", bouts),
                                          ("arena", arena)) if v is not None}
    if fps is not None:
        given_files["fps"] = fps
    if not find_video:
        given_files["find_video"] = False
    given = [p for p in (bouts, pose, video) if p is not None]
    if folder is None:
        if not given:
            raise InputError(None, "nothing to open", "give a session folder or files")
        folder = Path(given[0]).parent
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() == ".nwb":
        return _review_nwb(folder, video=video, fps=fps)
    if not folder.is_dir():
        raise InputError(folder, "is not a folder", "give a session folder or a .nwb export")
    meta = read_session_meta(folder, missing_ok=True)
    base = _source_session(folder, meta) if pose is None or video is None else None

    classified = ClassifiedFolder(folder)
    pose_path = Path(pose) if pose is not None else (
        base.pose_path if base is not None else classified.recorded_input("pose"))
    video_path = Path(video) if video is not None else None if not find_video else (
        folder_video(folder) or (base.video_path if base is not None else None)
        or classified.batch_video())
    for p, what in ((pose_path, "pose file"), (video_path, "video")):
        if p is not None and not p.is_file():
            raise InputError(p, f"no such {what}", "check the path")
    if pose_path is None and video_path is None:
        raise InputError(folder, "holds neither a pose file nor a video",
                         f"expected one of {', '.join(POSE_NAMES)} or video.mp4")
    if base is not None:
        meta = {**base.meta, **meta}

    if arena is not None:
        arena_path: Path | None = Path(arena)
        arena_obj = load_arena(arena_path)
    elif (folder / "arena.yaml").is_file():
        arena_path, arena_obj = folder / "arena.yaml", load_arena(folder / "arena.yaml")
    elif base is not None and base.arena is not None:
        arena_path, arena_obj = base.path / "arena.yaml", base.arena
    else:
        arena_path, arena_obj = None, None

    fps = fps or meta.get("fps") or (arena_obj.fps if arena_obj is not None else None)
    ds = load_pose(pose_path, fps=fps, aliases=aliases) if pose_path is not None else None
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
        raise InputError(pose_path or folder, "the frame rate is unknown",
                         "add 'fps' to session.json (or a <pose stem>.pose.json sidecar with "
                         "{\"fps\": ...}), open the pose with its video of the same name, or "
                         "pass fps=")
    fps = float(fps)
    n_frames = ds.sizes["time"] if ds is not None else n_video
    if n_frames is None:
        n_frames = int(meta.get("n_frames", 0))

    bouts_path = Path(bouts) if bouts is not None else folder / "bouts.csv"
    if bouts is not None and not bouts_path.is_file():
        raise InputError(bouts_path, "no such bouts file", "check the path")
    table = read_bouts_csv(bouts_path) if bouts_path.is_file() else None
    if table is not None:  # unknown behaviours, overlaps: fail here, before any window opens
        from behavtrack.napari.editing import BoutEditor

        BoutEditor(table, fps, int(n_frames), source=bouts_path)

    if (folder / "events.csv").is_file():
        events_path: Path | None = folder / "events.csv"
        events = load_events(events_path, fps=fps)
    elif base is not None and base.events is not None:
        events_path, events = base.path / "events.csv", base.events
    else:
        events_path, events = None, None

    return ReviewSession(
        folder=folder,
        meta=meta,
        fps=fps,
        n_frames=int(n_frames),
        pose=ds,
        pose_path=pose_path,
        video_path=video_path,
        bouts_path=bouts_path if table is not None else None,
        arena_path=arena_path,
        events_path=events_path,
        bouts=table if table is not None else pd.DataFrame(columns=BOUT_COLUMNS),
        arena=arena_obj,
        events=events,
        given=given_files,
    )


def _review_nwb(path: Path, video: str | os.PathLike | None = None,
                fps: float | None = None) -> ReviewSession:
    """Open a behavtrack NWB export as a review session (pose, bouts, events, arena).

    Corrected bouts are saved in the folder ``<stem>_review`` beside the file (an NWB file is
    an archive: it is not rewritten).
    """
    from behavtrack.io.nwb import load_nwb_session

    s = load_nwb_session(path)
    named = s.meta.get("video") or (s.meta.get("files") or {}).get("video")
    video_path = Path(video) if video is not None else None
    if video_path is None and named and (path.parent / Path(str(named)).name).is_file():
        video_path = path.parent / Path(str(named)).name
    if video_path is not None and not video_path.is_file():
        raise InputError(video_path, "no such video", "check the path")
    rate = float(fps or s.pose.attrs.get("fps") or s.meta.get("fps"))
    return ReviewSession(
        folder=path.parent / f"{path.stem}_review", meta=dict(s.meta), fps=rate,
        n_frames=int(s.pose.sizes["time"]), pose=s.pose, pose_path=path, video_path=video_path,
        bouts=s.bouts if s.bouts is not None else pd.DataFrame(columns=BOUT_COLUMNS),
        arena=s.arena, events=s.events, given={"nwb": str(path)},
    )


def save_reviewed_bouts(
    session: ReviewSession, bouts: pd.DataFrame, path: str | os.PathLike | None = None,
    fill: str = "other",
) -> Path:
    """Write corrected ``bouts`` as ``bouts.csv`` (BORIS layout) in the session's folder.

    The write is atomic; ``session.bouts`` and ``session.bouts_path`` are updated. When
    saving to the session folder's own ``bouts.csv`` and the folder also holds a per-frame
    ``labels.csv`` (a labelled session: ``behavtrack train`` reads labels first), that file is
    rewritten from the corrected bouts too (frames in no bout get ``fill``), so the two agree.
    """
    from behavtrack.napari.editing import labels_from_bouts

    path = Path(path) if path is not None else session.folder / "bouts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)  # e.g. the review folder of an NWB file
    media = session.video_path.name if session.video_path is not None else ""
    write_bouts_csv(bouts, path, session.fps, observation_id=session.name, media_file=media)
    labels_path = session.folder / "labels.csv"
    if path == session.folder / "bouts.csv" and labels_path.is_file():
        labels = labels_from_bouts(bouts, session.n_frames, session.fps, session.individuals,
                                   fill=fill)
        with atomic_path(labels_path) as tmp:
            labels.to_csv(tmp, index=False)
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
    with staged_folder(final, replace=True) as tmp:
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
        meta.pop("pose", None)  # the source's file names do not hold in the copy
        meta["files"] = {"pose": f"pose{suffix}"}
        meta.update({
            "fps": session.fps,
            "n_frames": session.n_frames,
            "labels_source": "review",
            "reviewed_from": str(session.folder.resolve()),
        })
        meta.setdefault("source", "review")
        if session.arena is not None and session.arena.window_s is not None:
            meta.setdefault("window_s", session.arena.window_s)
        write_session_meta(tmp, meta)
    return final
