"""Frame rates: the plausible range, and where a pose file's rate is found when it stores none.

Most pose files (DeepLabCut's CSV and HDF5, SLEAP's) do not store their video's frame rate.
:func:`fps_beside` finds it next to the file, in this order:

1. a sidecar of the pose file: ``<stem>.pose.json`` (written by
   :func:`behavtrack.io.pose.save_pose` for CSV files), ``<stem>.tracking.json`` (written by
   ``behavtrack track``; its ``fps``, else the frame rate of the ``video`` it names), or
   ``session.json`` of the folder (session, classify and batch folders), each with ``fps``;
2. the video of the same recording in the same folder: the video whose name (without its
   extension) is the pose file's, or begins it as DeepLabCut names its outputs
   (``<video stem>DLC_<scorer>.h5``; also ``<video stem>_<anything>.csv``). Its container's
   frame rate is read by OpenCV without decoding a frame.

:func:`video_beside` and :func:`poses_beside` pair a pose file and its video by that rule.
:func:`check_fps` refuses a rate outside 1-1000 frames per second.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from behavtrack.errors import InputError

__all__ = [
    "FPS_MIN",
    "FPS_MAX",
    "FPS_SOURCES",
    "VIDEO_SUFFIXES",
    "POSE_SUFFIXES",
    "FoundFps",
    "check_fps",
    "fps_beside",
    "video_fps",
    "video_beside",
    "poses_beside",
    "pose_stem",
]

#: The plausible range of frame rates, frames per second (agent rollouts use 1 step per s).
FPS_MIN, FPS_MAX = 1.0, 1000.0
#: Where a frame rate can come from, as ``behavtrack info`` reports it.
FPS_SOURCES = ("argument", "file", "sidecar", "video", "arena", "unknown")
#: Video file endings: looked for next to a pose file, in session folders
#: (:data:`behavtrack.io.session.VIDEO_NAMES`), and taken as videos by ``behavtrack batch``
#: and the review plugin. The one table of video endings.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg")
#: File endings :func:`behavtrack.io.pose.load_pose` knows, with the format they usually hold
#: (here, with the video endings, so that finding inputs imports no pose reader).
POSE_SUFFIXES: dict[str, str] = {
    ".analysis.h5": "SLEAP analysis HDF5",
    ".slp": "SLEAP labels/predictions",
    ".h5": "DeepLabCut HDF5 (or SLEAP analysis HDF5)",
    ".hdf5": "DeepLabCut HDF5",
    ".csv": "DeepLabCut / LightningPose / Anipose CSV",
    ".nwb": "NWB (ndx-pose)",
}
#: Pose file endings, longest first (``.analysis.h5`` before ``.h5``).
_POSE_ENDINGS = tuple(sorted(POSE_SUFFIXES, key=len, reverse=True))
# what may follow a video's stem in the name of its pose file
_JOINERS = ("_", "-", ".", " ")


@dataclass(frozen=True)
class FoundFps:
    """A frame rate and where it was found.

    Attributes
    ----------
    fps
        Frames per second, or ``None``.
    source
        One of :data:`FPS_SOURCES`.
    where
        The file it was read from (sidecar or video), else ``None``.

    """

    fps: float | None
    source: str
    where: Path | None = None

    def describe(self) -> str:
        """Say where the rate came from, e.g. ``"video m3v1mp4.mp4"``."""
        if self.where is not None:
            return f"{self.source} {self.where.name}"
        return self.source


def check_fps(fps: Any, source: str | os.PathLike = "fps") -> float | None:
    """Return ``fps`` as a float, or raise the one-line error if it is not a plausible rate.

    ``None`` passes through. A rate must be a finite number from :data:`FPS_MIN` to
    :data:`FPS_MAX` frames per second.

    Examples
    --------
    >>> check_fps(30)
    30.0
    >>> check_fps(1e9, "fps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    behavtrack.errors.InputError: fps: frame rate 1e+09 is not plausible (outside 1-1000 ...

    """
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise InputError(source, f"frame rate must be a number, got {fps!r}")
    if not np.isfinite(fps) or fps <= 0:
        raise InputError(source, f"frame rate must be a positive number, got {fps!r}")
    if not FPS_MIN <= float(fps) <= FPS_MAX:
        raise InputError(source, f"frame rate {float(fps):g} is not plausible (outside "
                         f"{FPS_MIN:g}-{FPS_MAX:g} frames per second)",
                         "give the video's frame rate, e.g. fps=30")
    return float(fps)


def pose_stem(path: str | os.PathLike) -> str:
    """Return a pose file's name without its ending (``x.analysis.h5`` -> ``x``)."""
    name = Path(path).name
    low = name.lower()
    for ending in _POSE_ENDINGS:
        if low.endswith(ending):
            return name[: -len(ending)]
    return Path(name).stem


def _belongs(pose: str, video: str) -> bool:
    """Whether a pose file named ``pose`` (stem) was made from a video named ``video`` (stem)."""
    if pose == video:
        return True
    if not video or not pose.startswith(video):
        return False
    rest = pose[len(video):]
    return rest.startswith(_JOINERS) or rest.startswith("DLC")


def video_fps(path: str | os.PathLike) -> float | None:
    """Return the frame rate a video's container declares, or ``None``.

    Read by OpenCV from the container's header, without decoding a frame.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return fps if np.isfinite(fps) and fps > 0 else None


def video_beside(pose: str | os.PathLike) -> Path | None:
    """Return the video a pose file was made from, found in the pose file's folder, or ``None``.

    The video's name without its extension must be the pose file's, or begin it followed
    by ``DLC``, ``_``, ``-``, ``.`` or a space (``rec1DLC_resnet50_...h5`` and
    ``rec1_dlc_predictions.csv`` belong to ``rec1.mp4``, not ``rec10DLC_...`` to ``rec1.mp4``).
    The longest such name wins.
    """
    pose = Path(pose)
    stem = pose_stem(pose)
    try:
        entries = sorted(pose.parent.iterdir())
    except OSError:
        return None
    videos = [p for p in entries if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
              and _belongs(stem, p.stem)]
    if not videos:
        return None
    return max(videos, key=lambda p: len(p.stem))  # max keeps the first of equals


def poses_beside(video: str | os.PathLike) -> list[Path]:
    """Return the pose files made from a video, found in its folder (see :func:`video_beside`).

    Sorted with the closest name first (the pose file named exactly as the video, then by
    name).
    """
    video = Path(video)
    try:
        entries = sorted(video.parent.iterdir())
    except OSError:
        return []
    found = []
    for p in entries:
        low = p.name.lower()
        if not p.is_file() or not low.endswith(_POSE_ENDINGS):
            continue
        if _belongs(pose_stem(p), video.stem) and video_beside(p) == video:
            found.append(p)
    return sorted(found, key=lambda p: (pose_stem(p) != video.stem, p.name))


def _sidecar_fps(path: Path) -> tuple[float | None, Path | None]:
    """Return the ``fps`` of a JSON sidecar (or of the video it names), checked, and its file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    if data.get("fps") is not None:
        return check_fps(data["fps"], f"{path}: fps"), path
    video = data.get("video")
    if isinstance(video, str) and video:
        v = Path(video)
        v = v if v.is_absolute() else path.parent / v
        if v.is_file():
            fps = video_fps(v)
            if fps is not None and FPS_MIN <= fps <= FPS_MAX:
                return fps, v
    return None, None


def fps_beside(pose: str | os.PathLike) -> FoundFps:
    """Find the frame rate of a pose file that stores none, next to it (see the module).

    Parameters
    ----------
    pose
        The pose file.

    Returns
    -------
    FoundFps
        ``source`` is ``"sidecar"`` or ``"video"``, or ``"unknown"`` (``fps`` ``None``) when
        nothing next to the file says. A video declaring an implausible rate is not used.

    Raises
    ------
    InputError
        If a sidecar gives an implausible rate (naming the sidecar).

    """
    pose = Path(pose)
    stem = pose_stem(pose)
    for name in (f"{stem}.pose.json", f"{stem}.tracking.json", "session.json"):
        sidecar = pose.parent / name
        if sidecar.is_file():
            fps, where = _sidecar_fps(sidecar)
            if fps is not None and where is not None:
                source = "sidecar" if where == sidecar else "video"
                return FoundFps(fps, source, where)
    video = video_beside(pose)
    if video is not None:
        fps = video_fps(video)
        if fps is not None and FPS_MIN <= fps <= FPS_MAX:
            return FoundFps(fps, "video", video)
    return FoundFps(None, "unknown")
