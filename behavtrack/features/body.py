"""The body of each animal from whatever body parts a pose has: axis, centre and scale.

Labs track different body parts. The body axis runs from the most anterior part present to
the most posterior one (:data:`behavtrack.io.aliases.ANTERIOR`, ``POSTERIOR``): the nose and
the tail base when they exist, else the head, the midpoint of the ears or the neck in front,
and the midpoint of the hips, the body centre or the neck behind. Per frame, a part that is
missing falls back to the next one of its list, so one lost nose does not lose the heading.

Without an arena the scale (pixels per centimetre) is estimated from the animals' size: the
median length of the body axis over frames where both of its ends are confidently tracked,
divided by the length that axis has on a mouse (:data:`AXIS_POSITION_CM`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from behavtrack.features.kinematics import planar_norm
from behavtrack.io.aliases import ANTERIOR, POSTERIOR

__all__ = ["AXIS_PARTS", "AXIS_POSITION_CM", "ASSUMED_BODY_LENGTH_CM", "BodyAxis", "body_axis",
           "estimate_scale"]

#: Nose-to-tail-base length of an adult mouse, used to estimate the scale without an arena.
ASSUMED_BODY_LENGTH_CM = 8.0
#: Where each axis landmark sits along a mouse's body, in cm behind the nose (nose to tail
#: base = :data:`ASSUMED_BODY_LENGTH_CM`); an axis from ``a`` to ``b`` is assumed to be
#: ``AXIS_POSITION_CM[b] - AXIS_POSITION_CM[a]`` long.
AXIS_POSITION_CM: dict[str, float] = {
    "nose": 0.0, "head": 1.0, "ears": 1.5, "neck": 2.0, "centroid": 4.0, "hips": 6.0,
    "tail_base": ASSUMED_BODY_LENGTH_CM,
}
#: Landmarks made of a pair of parts (their midpoint).
AXIS_PARTS: dict[str, tuple[str, str]] = {"ears": ("left_ear", "right_ear"),
                                        "hips": ("left_hip", "right_hip")}


@dataclass
class BodyAxis:
    """The front and back ends of each animal's body axis.

    Attributes
    ----------
    front, back
        ``(time, individual, 2)`` positions, NaN where no candidate part is known.
    front_name, back_name
        The landmark used for each end when the file has it (the first candidate present in
        the file), or ``None`` when the file has none.
    length_cm
        The assumed length of that axis on a mouse (``None`` without an axis).

    """

    front: np.ndarray
    back: np.ndarray
    front_name: str | None
    back_name: str | None
    length_cm: float | None

    @property
    def complete(self) -> bool:
        """Whether the axis is the full nose-to-tail-base one."""
        return self.front_name == "nose" and self.back_name == "tail_base"


def _landmark(pos: np.ndarray, keypoints: list[str], name: str) -> np.ndarray | None:
    """``(time, individual, 2)`` of a landmark (pairs by their midpoint), or None."""
    if name in AXIS_PARTS:
        a, b = AXIS_PARTS[name]
        have = [pos[:, keypoints.index(k)] for k in (a, b) if k in keypoints]
        if not have:
            return None
        if len(have) == 1:
            return have[0]
        with np.errstate(invalid="ignore"):
            mid = (have[0] + have[1]) / 2
        return np.where(np.isnan(mid), np.where(np.isnan(have[0]), have[1], have[0]), mid)
    if name in keypoints:
        return pos[:, keypoints.index(name)]
    return None


def _chain(pos: np.ndarray, keypoints: list[str], names: tuple[str, ...],
           exclude: str | None = None) -> tuple[np.ndarray, str | None]:
    """Return the first present landmark of ``names``, its gaps filled from the next ones."""
    out: np.ndarray | None = None
    first: str | None = None
    for name in names:
        if name == exclude:
            continue
        p = _landmark(pos, keypoints, name)
        if p is None:
            continue
        if out is None:
            out, first = p.copy(), name
        else:
            out = np.where(np.isnan(out), p, out)
    if out is None:
        return np.full(pos.shape[:1] + pos.shape[2:], np.nan), None
    return out, first


def body_axis(pos: np.ndarray, keypoints: list[str]) -> BodyAxis:
    """Front and back ends of the body axis from the parts the pose has.

    Parameters
    ----------
    pos
        ``(time, keypoint, individual, 2)`` positions.
    keypoints
        Keypoint names (canonical, after :func:`behavtrack.io.pose.load_pose`).

    Returns
    -------
    BodyAxis
        Without two distinct landmarks (e.g. centroid only) both ends are NaN and the names
        ``None`` (no heading can be computed).

    Examples
    --------
    >>> pos = np.array([[[[10.0, 0.0]], [[0.0, 0.0]], [[2.0, 0.0]]]])  # 1 frame, 3 parts
    >>> ax = body_axis(pos, ["neck", "lefthip_unknown", "tail_base"])
    >>> ax.front_name, ax.back_name, ax.length_cm
    ('neck', 'tail_base', 6.0)

    """
    front, front_name = _chain(pos, keypoints, ANTERIOR)
    back, back_name = _chain(pos, keypoints, POSTERIOR, exclude=front_name)
    if front_name is None or back_name is None or (
            AXIS_POSITION_CM[back_name] <= AXIS_POSITION_CM[front_name]):
        nan = np.full(pos.shape[:1] + pos.shape[2:], np.nan)
        return BodyAxis(nan, nan.copy(), None, None, None)
    length = AXIS_POSITION_CM[back_name] - AXIS_POSITION_CM[front_name]
    return BodyAxis(front, back, front_name, back_name, length)


def estimate_scale(axis: BodyAxis, confident: np.ndarray | None = None,
                   min_frames: int = 10) -> tuple[float | None, str]:
    """Pixels per centimetre from the animals' body-axis length.

    The median over confidently tracked frames of every animal's axis length, divided by the
    axis length of a mouse. A median is robust to the frames where an animal is curled up or
    a part is misplaced.

    Parameters
    ----------
    axis
        From :func:`body_axis`.
    confident
        ``(time, individual)`` mask of frames whose axis ends are both confidently tracked
        (default: both ends known).
    min_frames
        Fewest usable frames for an estimate.

    Returns
    -------
    px_per_cm, source
        ``(None, reason)`` when it cannot be estimated; else the scale and a description of
        how it was found, e.g. ``"body axis nose-tail_base, median of 18,000 frames"``.

    """
    if axis.length_cm is None:
        return None, "no body axis (the pose lacks two distinct parts along the body)"
    length = planar_norm(axis.front - axis.back)
    ok = np.isfinite(length) & (length > 0)
    if confident is not None:
        ok &= confident
    if ok.sum() < min_frames:
        return None, f"fewer than {min_frames} confidently tracked frames"
    med = float(np.median(length[ok]))
    return med / axis.length_cm, (f"body axis {axis.front_name}-{axis.back_name} "
                                  f"({axis.length_cm:g} cm on a mouse), median of "
                                  f"{int(ok.sum()):,} confident frames")
