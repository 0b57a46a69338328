"""Run-length rules applied to decoded behaviour codes: minimum bout duration, gap bridging.

A decoded sequence is an integer code per frame (an index into the classifier's behaviours);
its runs come from :func:`behavtrack.io.bouts.runs`, the package's one run-length encoding.

- :func:`enforce_min_bout`: runs shorter than a minimum merge into the neighbour the
  posteriors favour (the Gaussian HMM and the rule baseline);
- :func:`bridge_gaps`: short ``other`` runs between two runs of one behaviour become that
  behaviour (the Gaussian HMM).
"""

from __future__ import annotations

import numpy as np

from behavtrack.io.bouts import runs

__all__ = ["bridge_gaps", "enforce_min_bout"]


def enforce_min_bout(states: np.ndarray, proba: np.ndarray, min_frames: int) -> np.ndarray:
    """Merge runs shorter than ``min_frames`` into a neighbouring run.

    Each short run takes the label of the previous or next run, whichever state has the
    larger summed posterior over the short run. Repeats until no short run has a neighbour
    to merge with (a sequence shorter than ``min_frames`` stays as it is).

    Parameters
    ----------
    states
        ``(n_frames,)`` integer codes.
    proba
        ``(n_frames, n_codes)`` posteriors (NaN counts as 0).
    min_frames
        Shortest run kept; 1 or less keeps every run.

    Returns
    -------
    numpy.ndarray
        A new array of codes.

    Examples
    --------
    >>> p = np.tile([0.6, 0.4], (6, 1))
    >>> enforce_min_bout(np.array([0, 0, 0, 1, 0, 0]), p, 2).tolist()
    [0, 0, 0, 0, 0, 0]

    """
    s = np.asarray(states).copy()
    if min_frames <= 1 or len(s) == 0:
        return s
    csum = np.vstack([np.zeros((1, proba.shape[1])), np.cumsum(np.nan_to_num(proba), axis=0)])
    for _ in range(50):
        starts, lengths, _ = runs(s)
        stops = starts + lengths
        if len(starts) == 1:
            break
        short = np.flatnonzero((stops - starts) < min_frames)
        if len(short) == 0:
            break
        # handle the shortest runs first; skip runs adjacent to another chosen one this round
        short = short[np.argsort(stops[short] - starts[short], kind="stable")]
        chosen = np.zeros(len(starts), dtype=bool)
        blocked = np.zeros(len(starts), dtype=bool)
        for r in short:
            if blocked[r]:
                continue
            chosen[r] = True
            blocked[max(r - 1, 0):r + 2] = True
        idx = np.flatnonzero(chosen)
        prev_state = np.where(idx > 0, s[starts[np.maximum(idx - 1, 0)]], -1)
        next_state = np.where(idx < len(starts) - 1,
                              s[starts[np.minimum(idx + 1, len(starts) - 1)]], -1)
        mass = csum[stops[idx]] - csum[starts[idx]]
        rows = np.arange(len(idx))
        mp = np.where(prev_state >= 0, mass[rows, np.maximum(prev_state, 0)], -np.inf)
        mn = np.where(next_state >= 0, mass[rows, np.maximum(next_state, 0)], -np.inf)
        new = np.where(mp >= mn, prev_state, next_state)
        lengths = stops[idx] - starts[idx]
        s[np.repeat(starts[idx], lengths) + _ramp(lengths)] = np.repeat(new, lengths)
    return s


def bridge_gaps(states: np.ndarray, gap_state: int, max_frames: int) -> np.ndarray:
    """Give short ``gap_state`` runs between two runs of the same other state that state.

    A waiting mouse that shifts at its port for half a second is still waiting: runs of
    ``gap_state`` (``other``) of at most ``max_frames`` flanked by the same behaviour on both
    sides become that behaviour.

    Parameters
    ----------
    states
        ``(n_frames,)`` integer codes.
    gap_state
        The code of the runs that may be bridged.
    max_frames
        Longest run bridged; 0 or less bridges none.

    Returns
    -------
    numpy.ndarray
        A new array of codes.

    Examples
    --------
    >>> bridge_gaps(np.array([1, 1, 3, 3, 1, 3, 3, 3, 2]), 3, 2).tolist()
    [1, 1, 1, 1, 1, 3, 3, 3, 2]

    """
    s = np.asarray(states).copy()
    if max_frames <= 0 or len(s) < 3:
        return s
    starts, lengths, vals = runs(s)
    stops = starts + lengths
    inner = np.arange(1, len(starts) - 1)
    ok = ((vals[inner] == gap_state) & (vals[inner - 1] == vals[inner + 1])
          & ((stops[inner] - starts[inner]) <= max_frames))
    for r in inner[ok]:
        s[starts[r]:stops[r]] = vals[r - 1]
    return s


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """``[0..l0-1, 0..l1-1, ...]`` for run lengths."""
    if len(lengths) == 0:
        return np.zeros(0, dtype=int)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(lengths.sum()) - offsets
