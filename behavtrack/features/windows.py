"""Short-window statistics of features: mean, spread, minimum and maximum around each frame.

A frame alone says little about a behaviour that unfolds over a second; SimBA and MARS add
rolling statistics of their features over a few window lengths. Column names are
``<feature>__<stat><milliseconds>ms``, e.g. ``nose_nose__min1000ms``: the smallest nose-nose
distance in the 1-second window centred on the frame. Windows are centred (the recording is
known as a whole) and ignore missing values; a window with no known value is NaN.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

__all__ = ["WINDOW_STATS", "DEFAULT_WINDOWS_S", "window_name", "parse_window_name",
           "window_statistics"]

WINDOW_STATS: tuple[str, ...] = ("mean", "std", "min", "max")
#: Window lengths (seconds) used by default: a third of a second, one second, three seconds.
DEFAULT_WINDOWS_S: tuple[float, ...] = (0.333, 1.0, 3.0)
_NAME = re.compile(r"^(?P<base>.+)__(?P<stat>mean|std|min|max)(?P<ms>\d+)ms$")


def window_name(base: str, stat: str, window_s: float) -> str:
    """Column name of a window statistic.

    Examples
    --------
    >>> window_name("nose_nose", "min", 1.0)
    'nose_nose__min1000ms'

    """
    return f"{base}__{stat}{int(round(window_s * 1000))}ms"


def parse_window_name(name: str) -> tuple[str, str, float] | None:
    """Return ``(base, stat, window_s)`` of a window-statistic column name, or ``None``.

    Examples
    --------
    >>> parse_window_name("dist__nose__nose__std333ms")
    ('dist__nose__nose', 'std', 0.333)

    """
    m = _NAME.match(name)
    return (m["base"], m["stat"], int(m["ms"]) / 1000) if m else None


def _window_frames(window_s: float, fps: float) -> int:
    """Odd window length in frames (at least 1)."""
    w = max(1, int(round(window_s * fps)))
    return w if w % 2 else w + 1


def _moving_sum(v: np.ndarray, w: int) -> np.ndarray:
    """Centred moving sum along axis 0 (``w`` odd), the window cut at the ends."""
    n = len(v)
    cs = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
    half = w // 2
    idx = np.arange(n)
    return cs[np.minimum(idx + half + 1, n)] - cs[np.maximum(idx - half, 0)]


def window_statistics(values: np.ndarray, fps: float, stats: Sequence[str],
                      window_s: float) -> dict[str, np.ndarray]:
    """Centred window statistics of ``(time, ...)`` values, NaN-aware.

    Parameters
    ----------
    values
        Array of shape ``(time, ...)``, e.g. ``(time, individual)``.
    fps
        Frames per second.
    stats
        Any of :data:`WINDOW_STATS`.
    window_s
        Window length in seconds (rounded to an odd number of frames).

    Returns
    -------
    dict
        stat -> array of the shape of ``values``.

    Examples
    --------
    >>> v = np.array([1.0, np.nan, 3.0, 5.0])
    >>> {k: x.tolist() for k, x in window_statistics(v, 1.0, ["mean", "max"], 3).items()}
    {'mean': [1.0, 2.0, 4.0, 4.0], 'max': [1.0, 3.0, 5.0, 5.0]}

    """
    v = np.asarray(values, dtype=float)
    w = _window_frames(window_s, fps)
    ok = np.isfinite(v)
    out: dict[str, np.ndarray] = {}
    if len(v) == 0:
        return {s: v.copy() for s in stats}
    cnt = _moving_sum(ok.astype(float), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        if "mean" in stats or "std" in stats:
            x = np.where(ok, v, 0.0)
            s1 = _moving_sum(x, w)
            mean = np.where(cnt > 0, s1 / np.maximum(cnt, 1), np.nan)
            if "mean" in stats:
                out["mean"] = mean
            if "std" in stats:
                s2 = _moving_sum(x * x, w)
                var = np.maximum(s2 / np.maximum(cnt, 1) - mean ** 2, 0.0)
                out["std"] = np.where(cnt > 0, np.sqrt(var), np.nan)
        if "min" in stats:
            m = minimum_filter1d(np.where(ok, v, np.inf), w, axis=0, mode="nearest")
            out["min"] = np.where(cnt > 0, m, np.nan)
        if "max" in stats:
            m = maximum_filter1d(np.where(ok, v, -np.inf), w, axis=0, mode="nearest")
            out["max"] = np.where(cnt > 0, m, np.nan)
    unknown = set(stats) - set(WINDOW_STATS)
    if unknown:
        raise ValueError(f"unknown window statistic(s) {sorted(unknown)}; use {WINDOW_STATS}")
    return {s: out[s] for s in stats}
