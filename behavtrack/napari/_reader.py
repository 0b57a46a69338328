"""napari reader: open a session folder, a pose file or a video as layers.

- a session folder (or a ``session.json`` in one), as written by ``simulate``, ``classify`` or
  ``batch``: its video, poses, arena and bouts;
- a pose file (any format :func:`behavtrack.io.pose.load_pose` reads: DeepLabCut, SLEAP,
  LightningPose, Anipose, NWB), with the video of the same recording when it lies beside it
  (same name, or the name the pose file begins with, as DeepLabCut names its outputs:
  ``rec1.mp4`` with ``rec1DLC_resnet50_...h5`` or ``rec1_dlc.csv``);
- a video, with the pose file of the same recording beside it when there is one;
- a video and a pose file given together.

The layers (video, poses as Points and Tracks, arena as Shapes) carry the session folder (and
the files opened) in their metadata; the review dock (Plugins > behavtrack > Review bouts)
picks it up and shows the bouts in its timeline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from behavtrack.io.session import POSE_NAMES

__all__ = ["napari_get_reader", "read_session", "read_files"]

LayerData = tuple[Any, dict[str, Any], str]


def _session_folder(path: str | os.PathLike) -> Path | None:
    p = Path(path)
    if p.is_file() and p.name == "session.json":
        p = p.parent
    if not p.is_dir():
        return None
    markers = ("session.json", "bouts.csv", *POSE_NAMES)
    return p if any((p / m).is_file() for m in markers) else None


def _is_video(path: Path) -> bool:
    from behavtrack.io.framerate import VIDEO_SUFFIXES

    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def _pose_and_video(paths: list[str]) -> tuple[Path | None, Path | None] | None:
    """Return the pose file and video to open for one or two paths, or None if not ours."""
    from behavtrack.io.framerate import poses_beside, video_beside
    from behavtrack.io.pose import is_pose_file

    files = [Path(p) for p in paths]
    if not files or len(files) > 2 or not all(f.is_file() for f in files):
        return None
    videos = [f for f in files if _is_video(f)]
    poses = [f for f in files if not _is_video(f) and is_pose_file(f)]
    if len(videos) + len(poses) != len(files) or len(videos) > 1 or len(poses) > 1:
        return None
    video = videos[0] if videos else None
    pose = poses[0] if poses else None
    if len(files) == 1:
        if pose is not None:
            video = video_beside(pose)
        else:
            found = poses_beside(video)
            pose = found[0] if found else None
    return pose, video


def napari_get_reader(path: str | list[str]) -> Callable[[str], list[LayerData]] | None:
    """Return a reader for a session folder, a pose file, a video, or a video and its pose."""
    paths = [str(p) for p in path] if isinstance(path, list) else [str(path)]
    if len(paths) == 1 and _session_folder(paths[0]) is not None:
        return read_session
    if _pose_and_video(paths) is not None:
        return read_files
    return None


def read_session(path: str | list[str]) -> list[LayerData]:
    """Read a session folder into napari layer-data tuples."""
    from behavtrack.napari._widget import session_layer_data
    from behavtrack.napari.session import load_review_session

    if isinstance(path, list):
        path = path[0]
    folder = _session_folder(path)
    return session_layer_data(load_review_session(folder))


def read_files(path: str | list[str]) -> list[LayerData]:
    """Read a pose file and/or a video (found beside each other) into layer-data tuples."""
    from behavtrack.errors import InputError
    from behavtrack.napari._widget import session_layer_data
    from behavtrack.napari.session import load_review_session

    paths = [str(p) for p in path] if isinstance(path, list) else [str(path)]
    found = _pose_and_video(paths)
    if found is None:
        raise InputError(paths[0], "is neither a pose file nor a video",
                         "open a session folder, a pose file or a video")
    pose, video = found
    session = load_review_session(pose=pose, video=video, find_video=False)
    return session_layer_data(session)
