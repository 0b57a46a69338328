"""Unit tests of ``behavtrack.strategies.smoothing``: the run-length rules after decoding.

:func:`enforce_min_bout` leaves no run shorter than the minimum, merges a short run into the
neighbour with the larger posterior mass over it, and keeps a sequence shorter than the
minimum; :func:`bridge_gaps` joins two bouts of one behaviour split by a short ``other`` run
and nothing else. The module's examples run as doctests.
"""

from __future__ import annotations

import doctest

import numpy as np

from behavtrack.strategies import smoothing
from behavtrack.strategies.smoothing import bridge_gaps, enforce_min_bout


def _lengths(s: np.ndarray) -> np.ndarray:
    change = np.flatnonzero(np.diff(s)) + 1
    return np.diff(np.concatenate([[0], change, [len(s)]]))


def test_min_bout_removes_short_runs():
    rng = np.random.default_rng(1)
    states = rng.integers(0, 4, 500)
    proba = rng.dirichlet(np.ones(4), 500)
    out = enforce_min_bout(states, proba, 5)
    assert _lengths(out).min() >= 5


def test_a_short_run_joins_the_neighbour_its_posteriors_favour():
    s = np.array([0] * 5 + [1] * 2 + [2] * 5)
    proba = np.full((12, 3), 0.1)
    proba[5:7, 2] = 0.8  # over the short run, the next run's behaviour is more likely
    assert enforce_min_bout(s, proba, 3).tolist() == [0] * 5 + [2] * 7
    proba[5:7, 0] = 0.9
    assert enforce_min_bout(s, proba, 3).tolist() == [0] * 7 + [2] * 5


def test_min_bout_keeps_what_it_cannot_merge_and_copies():
    s = np.array([2, 2, 1])
    p = np.ones((3, 3)) / 3
    assert enforce_min_bout(s, p, 1).tolist() == [2, 2, 1]  # 1 frame: every run kept
    assert enforce_min_bout(np.array([3, 3]), p[:2], 5).tolist() == [3, 3]  # one run
    assert enforce_min_bout(np.zeros(0, dtype=int), np.zeros((0, 3)), 5).tolist() == []
    out = enforce_min_bout(s, p, 2)
    assert out.tolist() == [2, 2, 2] and s.tolist() == [2, 2, 1]  # the input is not written


def test_bridge_gaps_joins_bouts_split_by_a_short_other_run():
    s = np.array([1] * 10 + [3] * 5 + [1] * 10 + [3] * 20 + [1] * 5 + [3] * 3 + [2] * 4)
    out = bridge_gaps(s, 3, 5)
    assert out[:25].tolist() == [1] * 25  # 5-frame gap bridged
    assert (out[25:45] == 3).all()  # 20-frame gap kept
    assert (out[50:53] == 3).all()  # between different behaviours: kept


def test_bridge_gaps_bridges_only_the_gap_state_and_not_at_the_ends():
    s = np.array([1, 1, 2, 1, 1])
    assert bridge_gaps(s, 3, 5).tolist() == [1, 1, 2, 1, 1]  # 2 is not the gap state
    assert bridge_gaps(np.array([3, 1, 1, 3]), 3, 5).tolist() == [3, 1, 1, 3]
    assert bridge_gaps(np.array([1, 3, 1]), 3, 0).tolist() == [1, 3, 1]  # 0: none bridged


def test_module_examples_run():
    result = doctest.testmod(smoothing)
    assert result.attempted >= 2 and result.failed == 0
