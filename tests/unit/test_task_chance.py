"""Circular-shift chance: vectorized counts equal a per-shift loop; p-values behave."""

from __future__ import annotations

import numpy as np

from behavtrack.task.chance import (
    circular_shift_chance,
    coordination_counts,
    shifted_coordination_counts,
)


def _circular_count(a, b, wa, wb, period):
    """Coordinated pokes with distances on the circle, by an all-pairs matrix."""
    d = np.abs(a[:, None] - b[None, :])
    d = np.minimum(d, period - d)
    wa = np.broadcast_to(wa, a.shape)
    wb = np.broadcast_to(wb, b.shape)
    return int((d.min(axis=1) <= wa).sum() + (d.min(axis=0) <= wb).sum())


def test_vectorized_shifts_equal_a_loop_over_shifts():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(5, 295, 60))
    b = np.sort(rng.uniform(5, 295, 45))
    shifts = rng.uniform(0, 300, 300)
    got = shifted_coordination_counts(a, b, shifts, 300.0, 0.75, start=0.0)
    ref = np.array([_circular_count(a, np.mod(b + s, 300.0), 0.75, 0.75, 300.0)
                    for s in shifts])
    np.testing.assert_array_equal(got, ref)
    # no shift: the circle only differs from the line at the ends (none near them here)
    assert shifted_coordination_counts(a, b, [0.0], 300.0, 0.75)[0] == coordination_counts(
        a, b, 0.75, 0.75)
    # with a window that changes over time (function of time), and a nonzero start
    win = lambda t: np.where(np.asarray(t) < 150.0, 2.0, 0.5)  # noqa: E731
    got = shifted_coordination_counts(a + 100, b + 100, shifts, 300.0,
                                      lambda t: win(np.asarray(t) - 100), start=100.0)
    ref = np.array([_circular_count(a, np.mod(b + s, 300.0), win(a),
                                    win(np.mod(b + s, 300.0)), 300.0) for s in shifts])
    np.testing.assert_array_equal(got, ref)


def test_constant_window_sweep_equals_the_general_path():
    rng = np.random.default_rng(9)
    for _ in range(100):
        period = rng.uniform(50, 400)
        a = rng.uniform(0, period, rng.integers(1, 40))
        b = rng.uniform(0, period, rng.integers(1, 40))
        w = rng.uniform(0.1, 30)  # up to windows that cover the whole circle
        shifts = rng.uniform(0, period, 200)
        fast = shifted_coordination_counts(a, b, shifts, period, w)
        general = shifted_coordination_counts(a, b, shifts, period,
                                               lambda t, w=w: np.full(np.shape(t), w))
        np.testing.assert_array_equal(fast, general)


def test_coordinated_pair_beats_chance_and_independent_does_not():
    rng = np.random.default_rng(1)
    a = np.sort(rng.uniform(0, 1800, 150))
    b = np.sort(a + rng.uniform(-0.3, 0.3, 150))
    r = circular_shift_chance(a, b, 0.75, 1800.0, n_shifts=2000, seed=5)
    assert r.real_rate == 1.0
    # analytic chance: P(a Poisson partner train of rate 150/1800 has a poke within +-0.75)
    expected = 1 - np.exp(-150 / 1800 * 1.5)
    assert abs(r.chance_rate - expected) < 0.03
    assert r.p_value <= 5 / 2001  # a few shifts land near 0 (or the full turn): aligned again
    far = circular_shift_chance(a, b, 0.75, 1800.0, n_shifts=2000, seed=5, min_shift=5.0)
    assert far.p_value == 1 / 2001
    indep = circular_shift_chance(a, np.sort(rng.uniform(0, 1800, 150)), 0.75, 1800.0,
                                  n_shifts=2000, seed=5)
    assert indep.p_value > 0.01
    assert abs(indep.real_rate - indep.chance_rate) < 0.06


def test_deterministic_given_seed_and_degenerate_cases():
    a, b = np.array([1.0, 50.0, 90.0]), np.array([1.2, 70.0])
    r1 = circular_shift_chance(a, b, 1.0, 100.0, n_shifts=1000, seed=7)
    r2 = circular_shift_chance(a, b, 1.0, 100.0, n_shifts=1000, seed=7)
    np.testing.assert_array_equal(r1.shift_rates, r2.shift_rates)
    assert r1.n_shifts == 1000 and len(r1.shift_rates) == 1000
    none = circular_shift_chance(np.empty(0), np.empty(0), 1.0, 100.0)
    assert np.isnan(none.real_rate) and np.isnan(none.p_value)
    one = circular_shift_chance(a, np.empty(0), 1.0, 100.0)
    assert one.real_rate == 0.0 and np.isnan(one.p_value)
