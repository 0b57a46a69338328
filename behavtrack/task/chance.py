"""Chance level of coordination by circular shifts of one animal's poke train.

The statistic is the *coordination rate*: the fraction of all pokes of the pair whose
partner's nearest poke lies within the coordination window (the success rule of
:mod:`behavtrack.task.trials`). Chance shifts the second subject's poke train circularly by
``n_shifts`` seeded uniform offsets over the session's duration (times wrap around its end),
recomputes the rate for every shift at once (distances taken on the circle: with a constant
window, one sweep over the intervals of shifts at which each poke is coordinated; with a
window that changes over time, :func:`numpy.searchsorted` of all shifted pokes against the
other train) and reports their
mean (the chance rate) and the permutation p-value ``(1 + #{chance >= real}) / (1 + n_shifts)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from behavtrack.task.trials import nearest_partner

__all__ = [
    "ChanceResult", "coordination_counts", "shifted_coordination_counts", "circular_shift_chance",
]


@dataclass(frozen=True)
class ChanceResult:
    """Result of a circular-shift test.

    Attributes
    ----------
    real_rate
        Coordination rate of the unshifted pokes (NaN without pokes).
    chance_rate
        Mean coordination rate over the shifts (NaN without pokes).
    p_value
        One-sided permutation p-value of ``real_rate`` against the shifts (NaN without pokes,
        or when one subject never poked: no shift can change anything).
    n_shifts
        Number of shifts drawn.
    shift_rates
        Coordination rate for each shift.

    """

    real_rate: float
    chance_rate: float
    p_value: float
    n_shifts: int
    shift_rates: np.ndarray


def _nearest_dist(query: np.ndarray, ref_sorted: np.ndarray) -> np.ndarray:
    """Distance from each query to the nearest element of a sorted 1-D array (inf if empty)."""
    if len(ref_sorted) == 0:
        return np.full(query.shape, np.inf)
    return np.abs(nearest_partner(query, ref_sorted) - query)


def coordination_counts(
    times_a: np.ndarray, times_b: np.ndarray, window_a: np.ndarray, window_b: np.ndarray,
) -> int:
    """Count the pokes (of both subjects) whose partner's nearest poke is within the window."""
    a, b = np.sort(np.asarray(times_a, float)), np.sort(np.asarray(times_b, float))
    wa = np.broadcast_to(np.asarray(window_a, float), np.shape(times_a))
    wb = np.broadcast_to(np.asarray(window_b, float), np.shape(times_b))
    wa = wa[np.argsort(np.asarray(times_a, float), kind="stable")]
    wb = wb[np.argsort(np.asarray(times_b, float), kind="stable")]
    ok_a = _nearest_dist(a, b) <= wa + 1e-9
    ok_b = _nearest_dist(b, a) <= wb + 1e-9
    return int(ok_a.sum() + ok_b.sum())


def _circular_nearest(query: np.ndarray, ref: np.ndarray, period: float) -> np.ndarray:
    """Distance on a circle of length ``period`` from each query to the sorted ``ref``."""
    ext = np.concatenate([[ref[-1] - period], ref, [ref[0] + period]])
    idx = np.searchsorted(ext, query)
    idx = np.clip(idx, 1, len(ext) - 1)
    return np.minimum(query - ext[idx - 1], ext[idx] - query)


def _merged_cover(ref: np.ndarray, w: float, period: float) -> np.ndarray | None:
    """Return the disjoint intervals ``(k, 2)`` covering ``ref +- w`` on the circle.

    Intervals are in unrolled coordinates; ``None`` when they cover the whole circle.
    """
    gaps = np.diff(np.r_[ref, ref[0] + period])  # gap after each element, cyclically
    if np.all(gaps <= 2 * w):
        return None
    j = (int(np.argmax(gaps > 2 * w)) + 1) % len(ref)  # start after a gap that breaks
    unrolled = np.r_[ref[j:], ref[:j] + period]
    breaks = np.flatnonzero(np.diff(unrolled) > 2 * w) + 1
    lo = unrolled[np.r_[0, breaks]] - w
    hi = unrolled[np.r_[breaks - 1, len(unrolled) - 1]] + w
    return np.column_stack([lo, hi])


def _sweep_counts(
    moving_from: np.ndarray, ref: np.ndarray, shifts: np.ndarray, period: float, w: float,
    sign: int,
) -> np.ndarray:
    """Per shift, how many of ``moving_from`` have a ``ref`` within ``w`` on the circle.

    ``sign = +1``: the points are ``(x - s) mod period`` (the other train was shifted by
    ``s``); ``sign = -1``: ``(x + s) mod period`` (these points were shifted). For a constant
    window the covered set of ``ref`` is a union of intervals, so the shifts at which a point
    is covered are intervals too: one sweep over their ends counts all shifts at once.
    """
    n_s = len(shifts)
    cover = _merged_cover(ref, w + 1e-9, period)
    if cover is None:
        return np.full(n_s, len(moving_from), dtype=int)
    lo, hi = cover[:, 0][None, :], cover[:, 1][None, :]
    x = moving_from[:, None]
    # shifts s with (x - s) in [lo, hi] (sign +1) or (x + s) in [lo, hi] (sign -1), mod period
    first = np.mod(x - hi, period) if sign > 0 else np.mod(lo - x, period)
    length = np.broadcast_to(hi - lo, first.shape)
    first = first.ravel()
    last = first + length.ravel()
    wrap = last >= period
    starts = np.sort(np.r_[first, np.zeros(np.count_nonzero(wrap))])
    ends = np.sort(np.r_[np.where(wrap, period, last), last[wrap] - period])
    return (np.searchsorted(starts, shifts, side="right")
            - np.searchsorted(ends, shifts, side="left")).astype(int)


def shifted_coordination_counts(
    times_a: np.ndarray,
    times_b: np.ndarray,
    shifts: np.ndarray,
    duration: float,
    window: Callable[[np.ndarray], np.ndarray] | float,
    start: float = 0.0,
) -> np.ndarray:
    """Coordinated-poke counts after shifting ``times_b`` circularly by each shift.

    Distances are taken on the circle (a poke near the session's end has a partner just
    after its start), so every shift treats all pokes alike.

    Parameters
    ----------
    times_a, times_b
        Poke times of the two subjects, within ``[start, start + duration)``.
    shifts
        Offsets (same units), one per shift.
    duration
        Length of the circle.
    window
        The window (a number) or a function giving the window at given times (any shape).
    start
        Start of the circle.

    Returns
    -------
    numpy.ndarray
        ``(len(shifts),)`` integer counts of coordinated pokes (both subjects).

    """
    a = np.sort(np.mod(np.asarray(times_a, dtype=float) - start, duration))
    b = np.sort(np.mod(np.asarray(times_b, dtype=float) - start, duration))
    shifts = np.mod(np.asarray(shifts, dtype=float), duration)
    n_s = len(shifts)
    if len(a) == 0 or len(b) == 0 or n_s == 0:
        return np.zeros(n_s, dtype=int)
    w_const = getattr(window, "constant", None) if callable(window) else float(window)
    if w_const is not None and np.isfinite(w_const):
        return (_sweep_counts(a, b, shifts, duration, w_const, +1)
                + _sweep_counts(b, a, shifts, duration, w_const, -1))
    win = window if callable(window) else (lambda t, w=float(window): np.full(np.shape(t), w))
    # A's pokes against shifted B: the same as A shifted back against B, all shifts at once
    qa = np.mod(a[None, :] - shifts[:, None], duration)  # (S, nA)
    ok_a = _circular_nearest(qa, b, duration) <= win(a + start)[None, :] + 1e-9
    bs = np.mod(b[None, :] + shifts[:, None], duration)  # (S, nB): shifted B
    ok_b = _circular_nearest(bs, a, duration) <= win(bs + start) + 1e-9
    return ok_a.sum(axis=1) + ok_b.sum(axis=1)


def circular_shift_chance(
    times_a: np.ndarray,
    times_b: np.ndarray,
    window: Callable[[np.ndarray], np.ndarray] | float,
    duration: float,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    start: float = 0.0,
    min_shift: float = 0.0,
) -> ChanceResult:
    """Chance coordination rate and p-value of one session by circular shifts.

    Parameters
    ----------
    times_a, times_b
        Poke times of the two subjects.
    window
        Coordination window (number) or a function of time giving it.
    duration
        Session length (the circle); pokes must lie in ``[start, start + duration)``.
    n_shifts
        Number of random shifts (>= 1,000 recommended).
    seed
        Seed of :func:`numpy.random.default_rng`.
    start
        Session start time.
    min_shift
        Shifts are drawn uniformly from ``[min_shift, duration - min_shift)`` so that no
        shift leaves the trains nearly aligned (e.g. a few windows).

    Returns
    -------
    ChanceResult

    Examples
    --------
    >>> a = np.sort(np.random.default_rng(0).uniform(0.0, 599.0, 30))
    >>> r = circular_shift_chance(a, a + 0.2, 0.75, 600.0, n_shifts=1000, seed=1)
    >>> r.real_rate, r.chance_rate < 0.2, r.p_value < 0.01
    (1.0, True, True)

    """
    a = np.asarray(times_a, dtype=float)
    b = np.asarray(times_b, dtype=float)
    n = len(a) + len(b)
    if n == 0:
        return ChanceResult(np.nan, np.nan, np.nan, n_shifts, np.empty(0))
    win = window if callable(window) else (lambda t, w=float(window): np.full(np.shape(t), w))
    real = coordination_counts(a, b, win(a), win(b)) / n
    if len(a) == 0 or len(b) == 0:
        return ChanceResult(real, 0.0, np.nan, n_shifts, np.zeros(n_shifts))
    rng = np.random.default_rng(seed)
    lo, hi = float(min_shift), float(duration) - float(min_shift)
    if hi <= lo:
        lo, hi = 0.0, float(duration)
    shifts = rng.uniform(lo, hi, size=n_shifts)
    rates = shifted_coordination_counts(a, b, shifts, duration, win, start=start) / n
    p = (1.0 + np.count_nonzero(rates >= real - 1e-12)) / (1.0 + n_shifts)
    return ChanceResult(float(real), float(rates.mean()), float(p), n_shifts, rates)
