"""The chamber as the simulator sees it: each mouse's spots, and arenas that cannot host it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena
from behavtrack.simulate.geometry import chamber_from_arena, unit

ARENA = default_arena()  # 640 x 480, partition x = 320, 15 px/cm, ports on the outer walls


def test_unit_normalises_the_last_axis_and_keeps_zero_vectors():
    out = unit(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])


def test_sides_of_the_default_arena():
    ch = chamber_from_arena(ARENA)
    left, right = ch.sides
    assert (left.individual, right.individual) == ("mouse1", "mouse2")
    assert ch.cm == 15.0
    np.testing.assert_allclose(left.poke, [42, 140])
    np.testing.assert_allclose(right.water, [598, 340])
    assert left.poke_r == 24.0 and right.water_r == 24.0
    # ports on the outer walls: inward normals point towards the partition
    np.testing.assert_allclose(left.poke_dir, [1, 0])
    np.testing.assert_allclose(right.poke_dir, [-1, 0])
    # the partition's normal points into each mouse's own compartment
    np.testing.assert_allclose(left.normal, [-1, 0], atol=1e-12)
    np.testing.assert_allclose(right.normal, [1, 0], atol=1e-12)
    np.testing.assert_allclose(left.lo, [20, 20])
    np.testing.assert_allclose(left.hi, [320, 460])


def test_inside_respects_the_margin():
    left = chamber_from_arena(ARENA).sides[0]
    pts = np.array([[170.0, 240.0], [25.0, 240.0], [400.0, 240.0]])
    assert left.inside(pts, 0.0).tolist() == [True, True, False]
    assert left.inside(pts, 10.0).tolist() == [True, False, False]  # 5 px from the wall


def test_partition_point_and_signed_distance():
    ch = chamber_from_arena(ARENA)
    left, right = ch.sides
    p = ch.partition_point(left, 0.5, 30.0)  # middle of the partition, 30 px into the left
    np.testing.assert_allclose(p, [290.0, 240.0])
    assert ch.signed_partition_distance(left, p) == pytest.approx(30.0)
    assert ch.signed_partition_distance(right, p) == pytest.approx(-30.0)


def _without(comp_name: str, **changes):
    comps = dict(ARENA.compartments)
    comps[comp_name] = dataclasses.replace(comps[comp_name], **changes)
    return dataclasses.replace(ARENA, compartments=comps)


@pytest.mark.parametrize(("arena", "says"), [
    (dataclasses.replace(ARENA, partition=None), "has no partition"),
    (_without("left", individual=None, individuals=()),
     "needs two compartments with an individual, found 1"),
    (_without("right", poke_port=None), "compartment 'right' has no poke_port"),
    (dataclasses.replace(ARENA, partition=np.array([[320.0, 20.0], [320.0, 20.0]])),
     "zero length"),
    (dataclasses.replace(ARENA, px_per_cm=30.0), "smaller than 12 cm"),
])
def test_arenas_that_cannot_host_the_task_are_named(arena, says):
    with pytest.raises(InputError, match=says):
        chamber_from_arena(arena)


def test_a_port_on_the_partners_side_is_refused():
    right = ARENA.compartments["right"]
    arena = _without("left", water_port=dataclasses.replace(right.water_port))
    with pytest.raises(InputError, match="water_port of compartment 'left' is on the partner"):
        chamber_from_arena(arena)
