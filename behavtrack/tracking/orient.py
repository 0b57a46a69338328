"""Head-tail disambiguation over time, and the keypoints and confidences that follow.

A blob's body axis has no sign of its own: per frame, either end may be the head. The axis
is first made consistent from frame to frame (its sign flipped wherever it turned by more
than 90 degrees between frames, a cumulative product). The video is then cut into
*segments* where that axis is trustworthy: cuts fall where the axis jumps, where the body
is round (curled up, rearing) and where the animal is missing. Within a segment the head
is at the same end throughout, so the evidence of all its frames is summed, vectorised:

* shape (per frame, :func:`behavtrack.tracking.pose_from_blob.pose_from_mask`): the tail
  attaches at the rear, the snout tapers;
* motion: mice walk forwards, so the centroid's velocity points to the head.

The summed evidence also gives the confidence of the nose and tail base.
"""

from __future__ import annotations

import numpy as np

from behavtrack.tracking.pose_from_blob import F

__all__ = ["KEYPOINTS", "orient_records"]

#: Keypoints the built-in tracker writes, in this order (behavtrack's canonical names).
KEYPOINTS = ("nose", "left_ear", "right_ear", "centroid", "tail_base")

_SWAP = [("ax", "bx"), ("ay", "by"), ("a_lx", "b_lx"), ("a_ly", "b_ly"), ("a_rx", "b_rx"),
         ("a_ry", "b_ry"), ("ta_x", "tb_x"), ("ta_y", "tb_y"),
         ("na_x", "nb_x"), ("na_y", "nb_y")]


def _swap(rec: np.ndarray, flip: np.ndarray) -> None:
    """Swap the A and B ends of the records where ``flip`` (in place)."""
    for a, b in _SWAP:
        ia, ib = F[a], F[b]
        tmp = rec[flip, ia].copy()
        rec[flip, ia] = rec[flip, ib]
        rec[flip, ib] = tmp
    rec[flip, F["ux"]] *= -1
    rec[flip, F["uy"]] *= -1
    rec[flip, F["shape"]] *= -1


def orient_records(
    records: np.ndarray,
    *,
    min_elongation: float = 1.25,
    max_turn_deg: float = 50.0,
    motion_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the head end of every frame of one animal and return keypoints and confidences.

    Parameters
    ----------
    records
        ``(n_frames, N_FIELDS)`` per-frame records of one animal (rows of NaN where it
        was not found).
    min_elongation
        Bodies rounder than this (major/minor axis) start a new segment.
    max_turn_deg
        An axis turning by more than this between consecutive frames starts a new segment.
    motion_weight
        Weight of the motion evidence relative to the shape evidence.

    Returns
    -------
    position : numpy.ndarray
        ``(n_frames, 2, 5)`` x, y of :data:`KEYPOINTS` (NaN where missing).
    confidence : numpy.ndarray
        ``(n_frames, 5)`` in 0..1 (0 where missing).

    """
    rec = np.array(records, dtype=float, copy=True)
    n = len(rec)
    present = np.isfinite(rec[:, F["cx"]])
    position = np.full((n, 2, len(KEYPOINTS)), np.nan)
    confidence = np.zeros((n, len(KEYPOINTS)))
    if not present.any():
        return position, confidence

    # 1. a consistent axis sign over the frames where the animal is present
    idx = np.flatnonzero(present)
    u = rec[idx][:, [F["ux"], F["uy"]]]
    dots = np.einsum("ij,ij->i", u[1:], u[:-1])
    step_flip = np.concatenate([[1.0], np.where(dots < 0, -1.0, 1.0)])
    sign = np.cumprod(step_flip)
    flip = np.zeros(n, dtype=bool)
    flip[idx] = sign < 0
    _swap(rec, flip)

    # 2. segments of a trustworthy axis
    cos_max = np.cos(np.deg2rad(max_turn_deg))
    gap = np.diff(idx) > 1
    cut = np.concatenate([[True], (np.abs(dots) < cos_max) | gap])
    round_ = rec[idx, F["elong"]] < min_elongation
    cut |= round_ | np.concatenate([[False], round_[:-1]])
    seg = np.cumsum(cut) - 1  # segment id of each present frame

    # 3. evidence that end A is the head: shape + forward motion
    c = rec[idx][:, [F["cx"], F["cy"]]]
    if len(idx) > 2:
        vel = np.gradient(c, idx.astype(float), axis=0)
    else:
        vel = np.zeros_like(c)
    u = rec[idx][:, [F["ux"], F["uy"]]]
    length = np.hypot(rec[idx, F["ax"]] - rec[idx, F["bx"]], rec[idx, F["ay"]] - rec[idx, F["by"]])
    scale = 0.03 * np.nanmedian(length) + 1e-6  # a walking pace, px per frame
    forward = np.einsum("ij,ij->i", vel, u)
    motion = np.clip(forward / scale, -1.0, 1.0) * (np.hypot(*vel.T) > 0.5 * scale)
    evidence = rec[idx, F["shape"]] + motion_weight * motion
    evidence[round_] = 0.0
    totals = np.bincount(seg, weights=evidence)
    head_at_a = totals[seg] >= 0
    _swap(rec, np.isin(np.arange(n), idx[~head_at_a]))
    certainty = np.tanh(np.abs(totals[seg]) / 3.0)

    # 4. keypoints and confidences
    r = rec[idx]
    pos = np.stack([
        r[:, [F["na_x"], F["na_y"]]],
        r[:, [F["a_lx"], F["a_ly"]]],
        r[:, [F["a_rx"], F["a_ry"]]],
        r[:, [F["cx"], F["cy"]]],
        r[:, [F["tb_x"], F["tb_y"]]],
    ], axis=-1)  # (k, 2, 5)
    position[idx] = pos
    area = r[:, F["area"]]
    typical = np.median(area)
    size_ok = np.clip(np.minimum(area / typical, typical / area), 0.0, 1.0)
    elong_ok = np.clip((r[:, F["elong"]] - 1.0) / 0.8, 0.0, 1.0)
    ends = size_ok * elong_ok * (0.5 + 0.5 * certainty)
    conf = np.column_stack([ends, 0.6 * ends, 0.6 * ends, size_ok, ends])
    confidence[idx] = np.clip(conf, 0.0, 1.0)
    return position, confidence
