"""Hand-made poses for the classifier's tests (two mice in the default chamber)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from movement.io import load_poses

KEYPOINTS = ["nose", "left_ear", "right_ear", "centroid", "tail_base"]


def make_pose(centers: np.ndarray, headings: np.ndarray, fps: float = 30.0,
              names: tuple[str, ...] = ("mouse1", "mouse2"), body_px: float = 120.0,
              confidence: np.ndarray | None = None) -> xr.Dataset:
    """A pose whose body centres and headings are given.

    ``centers`` is ``(time, individual, 2)``; ``headings`` ``(time, individual)`` radians.
    The nose sits ``body_px / 2`` ahead of the centre, the tail base as far behind.
    """
    t, n_ind, _ = centers.shape
    d = np.stack([np.cos(headings), np.sin(headings)], -1) * body_px / 2
    side = np.stack([-np.sin(headings), np.cos(headings)], -1) * body_px / 6
    nose = centers + d
    kp = np.stack([nose, nose - d / 3 + side, nose - d / 3 - side, centers, centers - d], 1)
    # (time, keypoint, individual, 2) -> (time, space, keypoint, individual)
    pos = np.moveaxis(kp, -1, 1)
    conf = np.ones((t, len(KEYPOINTS), n_ind)) if confidence is None else confidence
    return load_poses.from_numpy(pos, conf, individual_names=list(names),
                                 keypoint_names=KEYPOINTS, fps=fps)


def still_pair(n: int = 60, fps: float = 30.0) -> xr.Dataset:
    """mouse1 at (240, 240) facing right, mouse2 at (400, 240) facing left, not moving."""
    centers = np.zeros((n, 2, 2))
    centers[:, 0] = [240, 240]
    centers[:, 1] = [400, 240]
    headings = np.zeros((n, 2))
    headings[:, 1] = np.pi
    return make_pose(centers, headings, fps)
