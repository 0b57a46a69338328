"""Features of a pair beyond the basic social ones: every keypoint to every partner keypoint.

SimBA and MARS describe a pair by the distances between all pairs of body parts across the two
animals, their relative heading and how fast they close in; behavtrack computes the same from
whatever body parts the pose has. Column names of the keypoint distances are
``dist__<own part>__<partner part>`` (cm), e.g. ``dist__nose__tail_base``: the animal's own
nose to its partner's tail base (the partner's row has the mirror image).
"""

from __future__ import annotations

import re

import numpy as np

from behavtrack.features.kinematics import planar_norm

__all__ = ["DIST_PREFIX", "keypoint_distance_name", "parse_keypoint_distance",
           "keypoint_distances"]

DIST_PREFIX = "dist__"
_DIST = re.compile(r"^dist__(?P<own>.+?)__(?P<partner>.+)$")


def keypoint_distance_name(own: str, partner: str) -> str:
    """Column name of the distance from the own ``own`` part to the partner's ``partner``.

    Examples
    --------
    >>> keypoint_distance_name("nose", "tail_base")
    'dist__nose__tail_base'

    """
    return f"{DIST_PREFIX}{own}__{partner}"


def parse_keypoint_distance(name: str) -> tuple[str, str] | None:
    """Return ``(own, partner)`` of a keypoint-distance column name, or ``None``.

    Examples
    --------
    >>> parse_keypoint_distance("dist__left_ear__tail_base")
    ('left_ear', 'tail_base')
    >>> parse_keypoint_distance("nose_nose") is None
    True

    """
    m = _DIST.match(name)
    return (m["own"], m["partner"]) if m else None


def keypoint_distances(pos: np.ndarray, keypoints: list[str], partner: np.ndarray,
                       scale: float, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Distances from each own keypoint to each partner keypoint, for every animal.

    Parameters
    ----------
    pos
        ``(time, keypoint, individual, 2)`` positions (pixels).
    keypoints
        Keypoint names.
    partner
        Index of each individual's partner (``[1, 0]`` for a pair).
    scale
        Centimetres per pixel.
    rows
        Return the keypoint distances at these frames only (``pair_min_dist`` stays at every
        frame); the values are those of the full computation.

    Returns
    -------
    dict
        ``dist__<own>__<partner>`` -> ``(time, individual)`` in cm (NaN where either part is
        unknown), plus ``pair_min_dist``: the smallest of them in each frame.

    """
    t, k, n_ind, _ = pos.shape
    other = pos[:, :, partner]  # (T, K, I, 2)
    out: dict[str, np.ndarray] = {}
    smallest = np.full((t, n_ind), np.inf)
    for i in range(k):
        d = planar_norm(pos[:, i, None] - other) * scale  # (T, K, I), >= 0 or NaN or inf
        # the smallest distance that is not NaN (fmin skips NaN): inf where there is none,
        # or where the only ones are infinite
        np.fmin(smallest, np.fmin.reduce(d, axis=1), out=smallest)
        kept = np.moveaxis(d if rows is None else d[rows], 1, 0)  # (K, T or rows, I)
        for j in range(k):
            out[keypoint_distance_name(keypoints[i], keypoints[j])] = kept[j]
    out["pair_min_dist"] = np.where(np.isfinite(smallest), smallest, np.nan)
    return out
