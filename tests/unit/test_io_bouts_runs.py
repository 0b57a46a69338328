"""The one run-length encoding of the package, ``behavtrack.io.bouts.runs``, and its doctests."""

from __future__ import annotations

import doctest

import numpy as np

import behavtrack.io.bouts as bouts_module
from behavtrack.io.bouts import runs


def test_runs_of_a_1d_array():
    starts, lengths, values = runs(np.array([5, 5, 5, 2, 5, 5]))
    assert starts.tolist() == [0, 3, 4] and lengths.tolist() == [3, 1, 2]
    assert values.tolist() == [5, 2, 5] and values.dtype == np.array([5]).dtype


def test_runs_of_strings_objects_and_booleans():
    s, n, v = runs(np.array(["a", "", "", None, None], dtype=object))
    assert (s.tolist(), n.tolist(), v.tolist()) == ([0, 1, 3], [1, 2, 2], ["a", "", None])
    s, n, v = runs([True, True, False])  # any sequence
    assert (s.tolist(), n.tolist(), v.tolist()) == ([0, 2], [2, 1], [True, False])


def test_runs_of_rows_break_where_any_column_changes():
    labels = np.array(["w", "w", "w", "o"], dtype=object)
    episode = np.array([0, 0, 1, 1], dtype=object)
    s, n, v = runs(np.column_stack([labels, episode]))
    assert s.tolist() == [0, 2, 3] and n.tolist() == [2, 1, 1]
    assert v.tolist() == [["w", 0], ["w", 1], ["o", 1]]
    s, n, _ = runs(np.zeros((1, 2)))  # one row: one run
    assert (s.tolist(), n.tolist()) == ([0], [1])


def test_empty_and_single():
    s, n, v = runs(np.array([], dtype=float))
    assert len(s) == len(n) == len(v) == 0 and v.dtype == float and s.dtype == np.intp
    s, n, v = runs(np.array([7]))
    assert (s.tolist(), n.tolist(), v.tolist()) == ([0], [1], [7])


def test_lengths_add_up_and_decode_back():
    x = np.random.default_rng(0).integers(0, 3, 500)
    s, n, v = runs(x)
    assert n.sum() == len(x) and (n >= 1).all() and (v[1:] != v[:-1]).all()
    np.testing.assert_array_equal(np.repeat(v, n), x)
    np.testing.assert_array_equal(s, np.r_[0, np.cumsum(n)[:-1]])


def test_module_examples_run():
    result = doctest.testmod(bouts_module)
    assert result.attempted >= 4 and result.failed == 0
