"""Arena geometry features: partition, own and partner ports, and poke timing from events."""

from __future__ import annotations

import numpy as np

from behavtrack.io.arena import Compartment

__all__ = ["port_distance", "in_port", "time_since"]


def port_distance(points: np.ndarray, compartment: Compartment, port: str) -> np.ndarray:
    """Distance from ``(time, 2)`` points to a compartment's ``poke_port`` or ``water_port``.

    NaN for every frame when the compartment has no such port.
    """
    zone = getattr(compartment, port)
    if zone is None:
        return np.full(points.shape[:-1], np.nan)
    return zone.distance(points)


def in_port(points: np.ndarray, compartment: Compartment, port: str) -> np.ndarray:
    """Boolean mask of points inside a compartment's port zone (False without the port)."""
    zone = getattr(compartment, port)
    if zone is None:
        return np.zeros(points.shape[:-1], dtype=bool)
    return zone.contains(points)


def time_since(event_frames: np.ndarray, n_frames: int, fps: float, cap_s: float) -> np.ndarray:
    """Seconds since the last event at or before each frame, capped at ``cap_s``.

    Frames before the first event get ``min(cap_s, time since the session start + cap_s)``,
    i.e. ``cap_s``: "no recent event".

    Examples
    --------
    >>> time_since(np.array([2]), 5, 1.0, 10.0).tolist()
    [10.0, 10.0, 0.0, 1.0, 2.0]

    """
    last = np.full(n_frames, -1, dtype=np.int64)
    ev = np.asarray(event_frames, dtype=np.int64)
    ev = ev[(ev >= 0) & (ev < n_frames)]
    last[ev] = ev
    last = np.maximum.accumulate(last) if n_frames else last
    out = (np.arange(n_frames) - last) / fps
    out[last < 0] = cap_s
    return np.minimum(out, cap_s)
