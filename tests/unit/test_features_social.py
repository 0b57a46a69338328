"""Unit tests of ``behavtrack.features.social``: features between the two animals.

Hand-computed geometry checks :func:`pair_distance`, :func:`approach_velocity` (own motion
only, sign, units per second, coincident animals, a single frame) and
:func:`facing_angle` at 0, 90 and 180 degrees, with NaN positions.
"""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.features.social import approach_velocity, facing_angle, pair_distance


def test_pair_distance_per_frame_and_nan():
    a = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 0.0]])
    b = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    d = pair_distance(a, b)
    np.testing.assert_allclose(d[:2], [5.0, 0.0])
    assert np.isnan(d[2])


def test_approach_velocity_walking_straight_at_a_still_partner():
    t = np.arange(10, dtype=float)
    own = np.column_stack([2.0 * t, np.zeros(10)])  # 2 px per frame towards +x
    target = np.tile([100.0, 0.0], (10, 1))
    np.testing.assert_allclose(approach_velocity(own, target, fps=30), 60.0)
    # walking away is negative
    np.testing.assert_allclose(approach_velocity(own, -target, fps=30), -60.0)


def test_approach_velocity_counts_only_own_motion():
    t = np.arange(10, dtype=float)
    own = np.zeros((10, 2))  # still
    partner = np.column_stack([100.0 - 5 * t, np.zeros(10)])  # the partner comes closer
    np.testing.assert_allclose(approach_velocity(own, partner, fps=30), 0.0)


def test_approach_velocity_projects_on_the_direction_to_the_target():
    t = np.arange(6, dtype=float)
    own = np.column_stack([3.0 * t, 4.0 * t])  # 5 px/frame at 53 degrees
    target = own + np.array([10.0, 0.0])  # always straight to the right
    np.testing.assert_allclose(approach_velocity(own, target, fps=1), 3.0)
    perpendicular = own + np.array([-4.0, 3.0])
    np.testing.assert_allclose(approach_velocity(own, perpendicular, fps=1), 0.0, atol=1e-12)


def test_approach_velocity_edge_cases():
    one = approach_velocity(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), fps=30)
    assert one.shape == (1,) and np.isnan(one).all()
    assert approach_velocity(np.empty((0, 2)), np.empty((0, 2)), fps=30).shape == (0,)
    # on top of each other: no direction, NaN (not inf)
    own = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    out = approach_velocity(own, own.copy(), fps=30)
    assert np.isnan(out).all()


@pytest.mark.parametrize(
    ("heading", "target", "expected"),
    [(0.0, (10, 0), 0.0), (0.0, (0, 10), 90.0), (0.0, (-10, 0), 180.0),
     (np.pi / 2, (0, 10), 0.0), (np.pi / 2, (10, 0), 90.0), (-np.pi / 2, (0, 10), 180.0)],
)
def test_facing_angle_at_known_angles(heading, target, expected):
    got = facing_angle(np.array([heading]), np.array([[0.0, 0.0]]), np.array([target], float))
    np.testing.assert_allclose(got, [expected], atol=1e-9)


def test_facing_angle_is_nan_without_a_position():
    got = facing_angle(np.array([0.0, np.nan]), np.array([[0.0, 0.0], [0.0, 0.0]]),
                       np.array([[np.nan, 0.0], [1.0, 0.0]]))
    assert np.isnan(got).all()
