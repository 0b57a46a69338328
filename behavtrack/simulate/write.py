"""Writing a simulated session folder (the layout of ``docs/architecture.md``).

``session.json``, ``arena.yaml``, ``pose.h5`` + ``pose.csv`` (DeepLabCut multi-animal) and
``pose.analysis.h5`` (SLEAP analysis) through :func:`behavtrack.io.pose.save_pose`,
``events.csv``, ``labels.csv``, ``bouts.csv`` (BORIS layout) and, when asked, ``video.mp4``.
Every file is written atomically; the pose files can be chosen with ``pose_formats``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import atomic_path
from behavtrack.io.arena import save_arena
from behavtrack.io.bouts import write_bouts_csv
from behavtrack.io.events import EVENT_COLUMNS, write_events
from behavtrack.io.pose import save_pose
from behavtrack.io.session import write_session_meta
from behavtrack.simulate.session import SimulatedSession

__all__ = ["write_session", "write_cohort", "write_events_csv", "POSE_FORMATS"]

#: Pose files a session folder can hold, by name.
POSE_FORMATS: tuple[str, ...] = ("pose.h5", "pose.csv", "pose.analysis.h5")


def write_events_csv(events: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an event log (``time_s, frame, subject, event, value``) as CSV, atomically.

    Times are rounded to the microsecond (so the file does not carry float noise).
    """
    table = events[list(EVENT_COLUMNS)].copy()
    table["time_s"] = np.round(table["time_s"].to_numpy(dtype=float), 6)
    return write_events(table, path)


def _make_folder(folder: Path, param: str) -> None:
    """Create ``folder`` (and its parents), or raise the one-line error saying why not."""
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "exists and is not a folder", f"choose another folder as {param}=")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(folder, f"cannot be created ({exc.strerror or exc})",
                         f"choose another folder as {param}=") from None


def write_session(
    sess: SimulatedSession,
    folder: str | os.PathLike,
    video: bool = False,
    *,
    pose_formats: Iterable[str] = POSE_FORMATS,
) -> Path:
    """Write ``sess`` as a session folder and return its path.

    Parameters
    ----------
    sess
        A simulated session.
    folder
        The session folder (created if needed; files in it are replaced).
    video
        Also render ``video.mp4`` (see :func:`behavtrack.simulate.render.render_video`).
    pose_formats
        Which pose files to write (names from :data:`POSE_FORMATS`).

    Returns
    -------
    pathlib.Path
        The folder.

    """
    folder = Path(folder)
    formats = list(pose_formats)
    unknown = [f for f in formats if f not in POSE_FORMATS]
    if unknown:
        raise InputError("pose_formats", f"unknown pose file {unknown[0]!r}",
                         f"choose from {', '.join(POSE_FORMATS)}")
    _make_folder(folder, "folder")
    fps = sess.fps
    meta = dict(sess.meta)
    meta["files"] = {"pose": formats[0] if formats else None, "pose_files": formats,
                     "arena": "arena.yaml", "events": "events.csv", "labels": "labels.csv",
                     "bouts": "bouts.csv", "video": "video.mp4" if video else None}
    save_arena(sess.arena, folder / "arena.yaml")
    for name in formats:  # session.json records the frame rate: no pose.pose.json sidecar
        save_pose(sess.pose, folder / name, sidecar=False)
    write_events_csv(sess.events, folder / "events.csv")
    labels = sess.labels.copy()
    labels["time_s"] = np.round(labels["time_s"].to_numpy(dtype=float), 6)
    with atomic_path(folder / "labels.csv") as tmp:
        labels.to_csv(tmp, index=False)
    obs = f"{meta['pair']}_day{int(meta['day']) + 1:02d}"
    write_bouts_csv(sess.bouts(), folder / "bouts.csv", fps, observation_id=obs,
                    media_file="video.mp4" if video else "")
    if video:
        from behavtrack.simulate.render import render_video

        render_video(sess, folder / "video.mp4")
    write_session_meta(folder, meta)
    return folder


def write_cohort(
    out: str | os.PathLike,
    n_pairs: int,
    n_days: int,
    duration_s: float = 300.0,
    fps: float = 30.0,
    seed: int = 0,
    *,
    video: str = "none",
    arena=None,  # noqa: ANN001
    noise: bool = True,
    pose_formats: Iterable[str] = POSE_FORMATS,
) -> list[Path]:
    """Simulate a cohort and write it as ``out/pairNN/dayNN/`` session folders.

    Parameters
    ----------
    out
        The cohort folder (created if needed).
    n_pairs, n_days, duration_s, fps, seed, noise, arena
        As for :func:`behavtrack.simulate.simulate_cohort`.
    video
        ``"none"``, ``"first"`` (the cohort's first session only) or ``"all"``.
    pose_formats
        Which pose files each folder gets (see :data:`POSE_FORMATS`).

    Returns
    -------
    list of pathlib.Path
        The session folders, in order.

    """
    from behavtrack.files import progress
    from behavtrack.simulate.session import simulate_cohort

    if video not in ("none", "first", "all"):
        raise InputError("video", f"invalid value {video!r}", "choose none, first or all")
    out = Path(out)
    sessions = simulate_cohort(n_pairs, n_days, duration_s, fps, seed, noise=noise, arena=arena)
    _make_folder(out, "out")  # after the checks, before the work: fails now under a file, say
    folders = []
    for k, sess in enumerate(progress(sessions, total=n_pairs * n_days, desc="simulating",
                                      unit="session")):
        folder = out / sess.meta["pair"] / f"day{int(sess.meta['day']) + 1:02d}"
        render = video == "all" or (video == "first" and k == 0)
        folders.append(write_session(sess, folder, video=render, pose_formats=pose_formats))
    return folders
