"""Features between the two animals: distances, approach velocity and facing (vectorized)."""

from __future__ import annotations

import numpy as np

from behavtrack.features.kinematics import angle_between, planar_norm

__all__ = ["pair_distance", "approach_velocity", "facing_angle"]


def pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between two ``(time, 2)`` point tracks (NaN where either is unknown)."""
    return planar_norm(a - b)


def approach_velocity(own: np.ndarray, target: np.ndarray, fps: float) -> np.ndarray:
    """Own velocity projected on the direction to ``target`` (units/s; positive = closing in).

    Only the animal's own movement counts: a partner walking towards a still animal does not
    make the still animal approach.

    Parameters
    ----------
    own
        ``(time, 2)`` own position (already smoothed).
    target
        ``(time, 2)`` target position (e.g. the partner's body centre).
    fps
        Frames per second.

    """
    if len(own) < 2:
        return np.full(len(own), np.nan)
    vel = np.gradient(own, axis=0) * fps
    to = target - own
    norm = planar_norm(to)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ij,ij->i", vel, to) / np.where(norm > 0, norm, np.nan)


def facing_angle(heading: np.ndarray, own: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Degrees (0-180) between the heading and the direction from ``own`` to ``target``."""
    return angle_between(heading, own, target)
