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

__all__ = ["WINDOW_STATS", "DEFAULT_WINDOWS_S", "window_name", "parse_window_name",
           "window_statistics", "window_table"]

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


def _window_sums(cs: np.ndarray, w: int) -> np.ndarray:
    """Centred sums over ``w`` (odd) frames from a cumulative sum with a leading zero row.

    The window is cut at the ends of the recording. Interior frames are one slice
    difference; only the ``w // 2`` frames at each end need index arithmetic.
    """
    n = len(cs) - 1
    half = w // 2
    out = np.empty((n,) + cs.shape[1:])
    if n > 2 * half:
        out[half:n - half] = cs[2 * half + 1:] - cs[:n - 2 * half]
    edge = np.concatenate([np.arange(min(half, n)), np.arange(max(n - half, min(half, n)), n)])
    out[edge] = cs[np.minimum(edge + half + 1, n)] - cs[np.maximum(edge - half, 0)]
    return out


def _window_sums_at(cs: np.ndarray, w: int, rows: np.ndarray) -> np.ndarray:
    """:func:`_window_sums` at the frames ``rows`` only (the same arithmetic, so equal)."""
    n = len(cs) - 1
    half = w // 2
    return cs[np.minimum(rows + half + 1, n)] - cs[np.maximum(rows - half, 0)]


def _window_extreme(v: np.ndarray, w: int, rows: np.ndarray | None, stat: str) -> np.ndarray:
    """Centred minimum or maximum over ``w`` (odd) frames, the ends repeating the edge values.

    Every frame: SciPy's running filter (``mode="nearest"``). At ``rows`` only: extremes of
    doubling spans, two of which cover each row's window (no SciPy import; the same values,
    as a minimum is exact).
    """
    if rows is None:
        from scipy.ndimage import maximum_filter1d, minimum_filter1d

        run = minimum_filter1d if stat == "min" else maximum_filter1d
        return run(v, w, axis=0, mode="nearest")
    half = w // 2
    padded = np.concatenate([np.repeat(v[:1], half, axis=0), v,
                             np.repeat(v[-1:], half, axis=0)]) if half else v
    op = np.minimum if stat == "min" else np.maximum
    table, span = padded, 1  # table[i]: the extreme of padded[i:i + span]
    while 2 * span <= w:
        table = op(table[:-span], table[span:])
        span *= 2
    # the window of a row is padded[row:row + w]: two overlapping spans cover it
    return op(table[rows], table[rows + w - span])


def window_table(values: np.ndarray, fps: float, spec: dict[str, Sequence[float]],
                 rows: np.ndarray | None = None) -> dict[tuple[str, float], np.ndarray]:
    """Several window statistics of one feature at once (cumulative sums shared).

    Parameters
    ----------
    values
        Array of shape ``(time, ...)``.
    fps
        Frames per second.
    spec
        stat -> window lengths in seconds, e.g. ``{"mean": [0.333, 1.0], "max": [1.0]}``.
    rows
        Frames (sorted indices into ``time``) at which to return the statistics; ``None``:
        every frame. The values at a frame are those of the full computation, bit for bit.

    Returns
    -------
    dict
        ``(stat, window_s)`` -> array of the shape of ``values`` (first axis ``len(rows)``
        with ``rows``).

    """
    v = np.asarray(values, dtype=float)
    unknown = set(spec) - set(WINDOW_STATS)
    if unknown:
        raise ValueError(f"unknown window statistic(s) {sorted(unknown)}; use {WINDOW_STATS}")
    out: dict[tuple[str, float], np.ndarray] = {}
    if len(v) == 0:
        return {(st, w): v.copy() for st, ws in spec.items() for w in ws}
    if rows is None:
        sums = _window_sums

        def at(a: np.ndarray) -> np.ndarray:
            return a
    else:
        rows = np.asarray(rows, dtype=np.intp)

        def sums(cs: np.ndarray, w: int) -> np.ndarray:
            return _window_sums_at(cs, w, rows)

        def at(a: np.ndarray) -> np.ndarray:
            return a[rows]
    ok = np.isfinite(v)
    zero = np.zeros((1,) + v.shape[1:])
    x = np.where(ok, v, 0.0)
    cs_n = np.concatenate([zero, np.cumsum(ok, axis=0, dtype=float)])
    cs_x = (np.concatenate([zero, np.cumsum(x, axis=0)])
            if "mean" in spec or "std" in spec else None)
    cs_x2 = np.concatenate([zero, np.cumsum(x * x, axis=0)]) if "std" in spec else None
    lo = hi = None
    windows = sorted({float(w) for ws in spec.values() for w in ws})
    with np.errstate(invalid="ignore", divide="ignore"):
        for w_s in windows:
            w = _window_frames(w_s, fps)
            cnt = sums(cs_n, w)
            some = cnt > 0
            denom = np.maximum(cnt, 1)
            mean = None
            if w_s in spec.get("mean", ()) or w_s in spec.get("std", ()):
                mean = sums(cs_x, w) / denom
            if w_s in spec.get("mean", ()):
                out[("mean", w_s)] = np.where(some, mean, np.nan)
            if w_s in spec.get("std", ()):
                var = np.maximum(sums(cs_x2, w) / denom - mean ** 2, 0.0)
                out[("std", w_s)] = np.where(some, np.sqrt(var), np.nan)
            if w_s in spec.get("min", ()):
                if lo is None:
                    lo = np.where(ok, v, np.inf)
                m = _window_extreme(lo, w, rows, "min")
                out[("min", w_s)] = np.where(some, m, np.nan)
            if w_s in spec.get("max", ()):
                if hi is None:
                    hi = np.where(ok, v, -np.inf)
                m = _window_extreme(hi, w, rows, "max")
                out[("max", w_s)] = np.where(some, m, np.nan)
    return out


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
    unknown = set(stats) - set(WINDOW_STATS)
    if unknown:
        raise ValueError(f"unknown window statistic(s) {sorted(unknown)}; use {WINDOW_STATS}")
    table = window_table(values, fps, {st: [float(window_s)] for st in stats})
    return {st: table[(st, float(window_s))] for st in stats}
