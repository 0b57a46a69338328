"""Unit tests of ``behavtrack.features.kinematics``: one animal's speed, heading, angles.

Straight-line walks and hand-computed angles check :func:`smooth` (NaN-aware centred
mean, window edges), :func:`derivative`, :func:`speed`, :func:`heading`,
:func:`angle_between` (0, 90 and 180 degrees, wrap-around) and :func:`body_length`, with
the edge cases NaN, empty input and a single frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.features.kinematics import (
    angle_between,
    body_length,
    derivative,
    heading,
    smooth,
    speed,
)


def test_smooth_is_a_centred_mean_that_skips_nan():
    v = np.array([0.0, 3.0, 6.0, np.nan, 12.0])
    np.testing.assert_allclose(smooth(v, 3), [1.5, 3.0, 4.5, 9.0, 12.0])
    # an all-NaN window stays NaN
    w = np.array([1.0, np.nan, np.nan, np.nan, 5.0])
    out = smooth(w, 3)
    assert np.isnan(out[2])
    np.testing.assert_allclose(out[[0, 1, 3, 4]], [1.0, 1.0, 5.0, 5.0])


def test_smooth_window_one_and_empty_return_copies():
    v = np.array([1.0, np.nan, 3.0])
    out = smooth(v, 1)
    np.testing.assert_array_equal(out, v)
    assert out is not v
    assert smooth(np.empty(0), 5).shape == (0,)


def test_smooth_keeps_a_linear_ramp_inside_and_works_per_column():
    t = np.arange(10, dtype=float)
    pts = np.column_stack([t, 2 * t])
    out = smooth(pts, 5)
    assert out.shape == (10, 2)
    np.testing.assert_allclose(out[2:-2], pts[2:-2])
    # even window: the extra frame is on the left (window - half after the frame)
    np.testing.assert_allclose(smooth(t, 4)[2:-1], t[2:-1] - 0.5)


def test_derivative_of_a_line_is_its_slope_in_units_per_second():
    x = 3.0 * np.arange(8)  # 3 units per frame
    np.testing.assert_allclose(derivative(x, fps=10), 30.0)
    np.testing.assert_allclose(derivative(x, fps=10, window=3), 30.0)
    assert np.isnan(derivative(np.array([1.0]), fps=10)).all()
    assert derivative(np.empty(0), fps=10).shape == (0,)


def test_speed_of_a_straight_walk():
    t = np.arange(20, dtype=float)
    pts = np.column_stack([3 * t, 4 * t])  # 5 px per frame
    np.testing.assert_allclose(speed(pts, fps=30), 150.0)
    # smoothing the positions: exact inside; the truncated window at the ends slows them
    smoothed = speed(pts, fps=30, window=5)
    np.testing.assert_allclose(smoothed[3:-3], 150.0)
    assert (smoothed[[0, 1, 2, -3, -2, -1]] < 150.0).all()
    # extra axes (e.g. individuals) are kept: (time, 2 animals, 2)
    two = np.stack([pts, 2 * pts], axis=1)
    np.testing.assert_allclose(speed(two, fps=1), np.column_stack([np.full(20, 5.0),
                                                                    np.full(20, 10.0)]))


def test_speed_edge_cases():
    assert speed(np.array([[1.0, 2.0]]), fps=30).shape == (1,)
    assert np.isnan(speed(np.array([[1.0, 2.0]]), fps=30)).all()
    assert speed(np.empty((0, 2)), fps=30).shape == (0,)
    pts = np.array([[0.0, 0], [1, 0], [np.nan, np.nan], [3, 0], [4, 0]])
    s = speed(pts, fps=1)
    # a NaN frame spoils its neighbours' central differences; its own spans it
    np.testing.assert_allclose(s[[0, 2, 4]], 1.0)
    assert np.isnan(s[[1, 3]]).all()


@pytest.mark.parametrize(
    ("nose", "tail", "expected"),
    [((1, 0), (0, 0), 0.0), ((0, 1), (0, 0), np.pi / 2), ((-1, 0), (0, 0), np.pi),
     ((0, -1), (0, 0), -np.pi / 2), ((5, 5), (4, 4), np.pi / 4)],
)
def test_heading_points_from_tail_to_nose(nose, tail, expected):
    assert heading(np.array(nose, float), np.array(tail, float)) == pytest.approx(expected)


def test_heading_is_vectorised_and_nan_aware():
    nose = np.array([[1.0, 0], [np.nan, 0]])
    tail = np.zeros((2, 2))
    h = heading(nose, tail)
    assert h[0] == 0.0 and np.isnan(h[1])


@pytest.mark.parametrize(
    ("direction", "target", "expected"),
    [(0.0, (1, 0), 0.0), (0.0, (0, 1), 90.0), (0.0, (-1, 0), 180.0), (0.0, (0, -1), 90.0),
     (np.pi, (1, 0), 180.0), (np.pi / 2, (0, 5), 0.0),
     # wrap-around: 170 degrees and -170 degrees are 20 apart
     (np.radians(170), (np.cos(np.radians(-170)), np.sin(np.radians(-170))), 20.0)],
)
def test_angle_between_at_known_angles(direction, target, expected):
    got = angle_between(np.array(direction), np.array([0.0, 0.0]), np.array(target, float))
    assert float(got) == pytest.approx(expected, abs=1e-9)


def test_angle_between_vectorised_and_origin_relative():
    origin = np.array([[10.0, 10.0], [10.0, 10.0], [np.nan, 0.0]])
    target = np.array([[20.0, 10.0], [10.0, 0.0], [1.0, 0.0]])
    got = angle_between(np.zeros(3), origin, target)
    np.testing.assert_allclose(got[:2], [0.0, 90.0])
    assert np.isnan(got[2])


def test_body_length():
    nose = np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, 1.0]])
    tail = np.zeros((3, 2))
    got = body_length(nose, tail)
    np.testing.assert_allclose(got[:2], [5.0, 0.0])
    assert np.isnan(got[2])


@pytest.mark.parametrize("scale", [1e-300, 1e-5, 1.0, 1e3, 1e200])
def test_planar_norm_is_numpys_norm_bit_for_bit(scale):
    from behavtrack.features.kinematics import planar_norm

    rng = np.random.default_rng(0)
    v = rng.normal(size=(500, 9, 2, 2)) * scale
    v[rng.random(v.shape) < 0.05] = np.nan
    v[rng.random(v.shape) < 0.01] = np.inf
    v[rng.random(v.shape) < 0.01] = -0.0
    with np.errstate(over="ignore"):
        ours, numpys = planar_norm(v), np.linalg.norm(v, axis=-1)
        assert np.array_equal(ours, numpys, equal_nan=True)
        view = v[:, ::2]  # not contiguous
        assert np.array_equal(planar_norm(view), np.linalg.norm(view, axis=-1),
                              equal_nan=True)
