"""Kinematic features of one animal: speed, heading, turning, body length (vectorized)."""

from __future__ import annotations

import numpy as np

__all__ = ["smooth", "derivative", "speed", "heading", "angle_between", "body_length",
           "planar_norm"]


def planar_norm(v: np.ndarray) -> np.ndarray:
    """Length of ``(..., 2)`` vectors: ``np.linalg.norm(v, axis=-1)``, bit for bit, faster.

    ``norm`` squares, sums the last axis with ``add.reduce`` and takes the root: for two
    components that sum is ``x * x + y * y``, written out here without the reduction's
    overhead (about 3x faster on long tracks).

    Examples
    --------
    >>> planar_norm(np.array([[3.0, 4.0], [np.nan, 0.0]])).tolist()
    [5.0, nan]

    """
    x, y = v[..., 0], v[..., 1]
    return np.sqrt(x * x + y * y)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along axis 0 that ignores NaN (NaN where the window is empty).

    Parameters
    ----------
    values
        Array of shape ``(time, ...)``.
    window
        Window length in frames (1 returns a copy).

    Examples
    --------
    >>> smooth(np.array([0.0, 3.0, np.nan, 3.0]), 3).tolist()
    [1.5, 1.5, 3.0, 3.0]

    """
    v = np.asarray(values, dtype=float)
    if window <= 1 or len(v) == 0:
        return v.copy()
    ok = np.isfinite(v)
    pad = [(1, 0)] + [(0, 0)] * (v.ndim - 1)
    cs = np.pad(np.cumsum(np.where(ok, v, 0.0), axis=0), pad)
    cn = np.pad(np.cumsum(ok, axis=0), pad)
    n = len(v)
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + window - half, 0, n)
    s = cs[hi] - cs[lo]
    c = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def derivative(values: np.ndarray, fps: float, window: int = 1) -> np.ndarray:
    """Time derivative (units per second) by central differences, then smoothed."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return np.full_like(v, np.nan)
    d = np.gradient(v, axis=0) * fps
    return smooth(d, window)


def speed(points: np.ndarray, fps: float, window: int = 1) -> np.ndarray:
    """Speed of ``(time, ..., 2)`` points in units per second, smoothed over ``window`` frames."""
    p = smooth(points, window)
    if len(p) < 2:
        return np.full(p.shape[:-1], np.nan)
    v = np.gradient(p, axis=0) * fps
    return planar_norm(v)


def heading(nose: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Heading angle (radians, image axes) of the tail-to-nose vector."""
    d = nose - tail
    return np.arctan2(d[..., 1], d[..., 0])


def angle_between(direction: np.ndarray, origin: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute angle (degrees, 0-180) between a heading and the line from ``origin`` to ``target``.

    Examples
    --------
    >>> float(angle_between(np.array(0.0), np.array([0.0, 0.0]), np.array([0.0, 1.0])))
    90.0

    """
    to = target - origin
    ang = np.arctan2(to[..., 1], to[..., 0]) - direction
    return np.degrees(np.abs(np.angle(np.exp(1j * ang))))


def body_length(nose: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Nose to tail-base distance."""
    return planar_norm(nose - tail)
