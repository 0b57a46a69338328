"""Unit tests of ``behavtrack.features.geometry``: ports and poke timing.

A hand-made compartment (circle poke port at (40, 100), radius 20, polygon water port, and
one without ports) checks :func:`port_distance` and :func:`in_port` (NaN / False without
the port, NaN points), and :func:`time_since` against hand-counted frames: before the
first event, several and unsorted events, events outside the session, the cap, empty input.
"""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.features.geometry import in_port, port_distance, time_since
from behavtrack.io.arena import Compartment, Zone

SQUARE = np.array([[0.0, 0.0], [300.0, 0.0], [300.0, 400.0], [0.0, 400.0]])
WATER = np.array([[20.0, 300.0], [60.0, 300.0], [60.0, 340.0], [20.0, 340.0]])


@pytest.fixture
def compartment():
    return Compartment(
        name="left", polygon=SQUARE, individual="mouse1",
        poke_port=Zone(center=(40.0, 100.0), radius=20.0),
        water_port=Zone(center=(40.0, 320.0), polygon=WATER),
    )


@pytest.fixture
def bare():
    return Compartment(name="right", polygon=SQUARE + [300, 0], individual="mouse2",
                       poke_port=None, water_port=None)


POINTS = np.array([[40.0, 100.0], [43.0, 104.0], [40.0, 125.0], [np.nan, np.nan],
                   [40.0, 320.0], [100.0, 320.0]])


def test_port_distance_is_to_the_port_centre(compartment):
    d = port_distance(POINTS, compartment, "poke_port")
    np.testing.assert_allclose(d[[0, 1, 2]], [0.0, 5.0, 25.0])
    assert np.isnan(d[3])
    w = port_distance(POINTS, compartment, "water_port")
    np.testing.assert_allclose(w[[4, 5]], [0.0, 60.0])


def test_in_port_circle_and_polygon(compartment):
    poke = in_port(POINTS, compartment, "poke_port")
    assert poke.dtype == bool
    np.testing.assert_array_equal(poke, [True, True, False, False, False, False])
    water = in_port(POINTS, compartment, "water_port")
    np.testing.assert_array_equal(water, [False, False, False, False, True, False])


def test_missing_port_gives_nan_distance_and_never_inside(bare):
    d = port_distance(POINTS, bare, "poke_port")
    assert d.shape == (len(POINTS),) and np.isnan(d).all()
    inside = in_port(POINTS, bare, "water_port")
    assert inside.shape == (len(POINTS),) and not inside.any()


def test_port_queries_keep_extra_axes(compartment):
    pts = np.tile(POINTS[:3], (2, 1, 1))  # (2, 3, 2): e.g. (individuals, time, xy)
    assert port_distance(pts, compartment, "poke_port").shape == (2, 3)
    assert in_port(pts, compartment, "poke_port").shape == (2, 3)


def test_time_since_counts_seconds_since_the_last_event():
    # events at frames 2 and 5, 2 frames per second, cap 10 s
    out = time_since(np.array([5, 2]), 8, fps=2.0, cap_s=10.0)
    np.testing.assert_allclose(out, [10.0, 10.0, 0.0, 0.5, 1.0, 0.0, 0.5, 1.0])


def test_time_since_caps_and_ignores_events_outside_the_session():
    out = time_since(np.array([-3, 0, 99]), 6, fps=1.0, cap_s=3.0)
    np.testing.assert_allclose(out, [0.0, 1.0, 2.0, 3.0, 3.0, 3.0])


def test_time_since_without_events_is_the_cap_everywhere():
    np.testing.assert_allclose(time_since(np.array([], dtype=int), 4, 30.0, 5.0), 5.0)
    assert time_since(np.array([1]), 0, 30.0, 5.0).shape == (0,)


def test_time_since_with_a_single_frame():
    np.testing.assert_allclose(time_since(np.array([0]), 1, 30.0, 5.0), [0.0])
    np.testing.assert_allclose(time_since(np.array([1]), 1, 30.0, 5.0), [5.0])
