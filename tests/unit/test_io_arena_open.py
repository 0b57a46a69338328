"""Open arenas (open fields): schema, queries, round trips, errors, and pose cleaning."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from _classify_helpers import make_pose, still_pair

from behavtrack.errors import InputError
from behavtrack.features.clean import assign_compartments, clean_pose
from behavtrack.io.agents import grid_arena
from behavtrack.io.arena import (
    Compartment,
    arena_from_dict,
    default_arena,
    default_arena_path,
    load_arena,
    open_field_arena,
    open_field_arena_path,
    save_arena,
)

FLOOR = [[120, 40], [520, 40], [520, 440], [120, 440]]


def _open_dict() -> dict:
    return yaml.safe_load(open_field_arena_path().read_text())


def _chamber_dict() -> dict:
    return yaml.safe_load(default_arena_path().read_text())


def _write(tmp_path, data, name="arena.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


# ---- the shipped open field ---------------------------------------------------------------
def test_shipped_open_field_loads():
    a = open_field_arena()
    assert a == load_arena(open_field_arena_path())
    assert a.name == "open-field" and a.px_per_cm == 8.0 and a.fps == 30.0
    assert a.frame_size == (640, 480) and a.window_s is None
    assert a.partition is None and a.is_open
    assert a.individuals == ["mouse1", "mouse2"]
    floor = a.compartments["floor"]
    assert floor.is_shared and floor.individual is None
    assert floor.individuals == ("mouse1", "mouse2")
    assert a.compartment_of_individual("mouse1") is floor
    assert a.compartment_of_individual("mouse2") is floor
    assert a.partner_of("mouse1") == "mouse2" and a.partner_of("mouse2") == "mouse1"
    np.testing.assert_array_equal(a.shared_area, FLOOR)
    pts = np.array([[200, 100], [500, 400], [600, 200], [np.nan, 1]])
    np.testing.assert_array_equal(a.compartment_index(pts), [0, 0, -1, -1])
    assert np.isnan(a.distance_to_partition(pts)).all()
    assert a.fits_frame(640, 480) and not a.fits_frame(400, 400)
    with pytest.raises(InputError, match="no compartment is assigned to individual 'mouse3'"):
        a.compartment_of_individual("mouse3")


@pytest.mark.parametrize("arena,is_open", [
    (open_field_arena(), True),
    (default_arena(), False),
    (grid_arena(), False),
])
def test_is_open_of_the_shipped_arenas(arena, is_open):
    assert arena.is_open is is_open
    assert (arena.shared_area is not None) is is_open


def test_default_arena_is_still_the_chamber():
    a = default_arena()
    assert a.name == "cooperation-chamber" and not a.is_open and a.shared_area is None
    assert all(not c.is_shared for c in a.compartments.values())
    assert a.compartments["left"].individuals == ("mouse1",)


# ---- other open layouts ------------------------------------------------------------------
def test_outline_only_open_field():
    a = arena_from_dict({"px_per_cm": 8.0, "area": FLOOR}, "of.yaml")
    assert a.is_open and a.compartments == {} and a.individuals == []
    np.testing.assert_array_equal(a.shared_area, FLOOR)
    np.testing.assert_array_equal(a.compartment_index(np.array([[200.0, 100.0]])), [-1])
    assert a.partner_of("mouse1") is None
    assert a.fits_frame(640, 480) and not a.fits_frame(500, 480)
    with pytest.raises(InputError, match=r"^of\.yaml: no compartment is assigned .*none"):
        a.compartment_of_individual("mouse1")


def test_scale_only_arena_is_open():
    a = arena_from_dict({"px_per_cm": 10}, "s.yaml")
    assert a.is_open and a.shared_area is None and a.individuals == []
    assert a.fits_frame(1, 1)
    assert a.to_dict() == {"schema_version": 1, "name": "s", "units": "px", "px_per_cm": 10.0}


def test_open_and_closed_layouts():
    one_room = {"px_per_cm": 1, "compartments": {"box": {"polygon": FLOOR}}}
    assert arena_from_dict(one_room).is_open  # an old-style file: one unnamed compartment
    d = _chamber_dict()
    d.pop("partition")  # own compartments without a partition: still not open
    assert not arena_from_dict(d).is_open
    d = _chamber_dict()
    d["area"] = [[10, 10], [630, 10], [630, 470], [10, 470]]  # outline of a closed chamber
    a = arena_from_dict(d)
    assert not a.is_open and a.shared_area is None and a.area.shape == (4, 2)


def test_shared_compartment_with_two_individuals():
    d = _chamber_dict()
    d["compartments"]["left"].pop("individual")
    d["compartments"]["left"]["individuals"] = ["adult", "juvenile"]
    d["compartments"]["right"].pop("individual")
    d["compartments"]["right"]["individuals"] = ["mouse3"]  # one name = individual: mouse3
    a = arena_from_dict(d)
    assert a.individuals == ["adult", "juvenile", "mouse3"]
    assert a.compartment_of_individual("juvenile").name == "left"
    assert a.partner_of("juvenile") == "adult"
    assert a.compartments["right"].individual == "mouse3"
    assert not a.compartments["right"].is_shared
    assert not a.is_open  # partitioned, and mouse3 lives alone
    assert a.to_dict()["compartments"]["right"]["individual"] == "mouse3"
    assert a.to_dict()["compartments"]["left"]["individuals"] == ["adult", "juvenile"]


def test_compartment_in_code():
    poly = np.array(FLOOR, dtype=float)
    c = Compartment("floor", poly, None, None, None, individuals=("a", "b"))
    assert c.is_shared and c.individual is None
    assert Compartment("x", poly, "a", None, None).individuals == ("a",)
    assert Compartment("x", poly, None, None, None, individuals=("a",)).individual == "a"
    with pytest.raises(ValueError, match="not both"):
        Compartment("x", poly, "a", None, None, individuals=("a", "b"))


# ---- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    None,  # the shipped file
    {"px_per_cm": 8.0, "area": FLOOR, "fps": 25.0},
    {"px_per_cm": 8.0, "area": FLOOR,
     "compartments": {"floor": {"polygon": FLOOR, "individuals": ["a", "b"],
                                "poke_port": {"center": [140, 240], "radius": 20},
                                "water_port": {"polygon": [[500, 200], [520, 200],
                                                           [520, 280]]}}}},
])
def test_open_arena_round_trip(tmp_path, data):
    a = open_field_arena() if data is None else arena_from_dict(data, "in.yaml")
    b = load_arena(save_arena(a, tmp_path / "out.yaml"))
    assert b == a and b.is_open and b.to_dict() == a.to_dict()
    assert b.individuals == a.individuals
    for name, comp in a.compartments.items():
        assert b.compartments[name] == comp
        np.testing.assert_array_equal(b.compartments[name].polygon, comp.polygon)
    if a.area is not None:
        np.testing.assert_array_equal(b.area, a.area)
    np.testing.assert_array_equal(b.shared_area, a.shared_area)


def test_ports_in_a_shared_compartment():
    d = _open_dict()
    d["compartments"]["floor"]["poke_port"] = {"center": [140, 240], "radius": 20}
    a = arena_from_dict(d)
    for ind in ("mouse1", "mouse2"):
        assert a.compartment_of_individual(ind).poke_port.center == (140.0, 240.0)
    assert a.compartment_of_individual("mouse1").water_port is None


# ---- validation -----------------------------------------------------------------------------
def _floor(d: dict) -> dict:
    return d["compartments"]["floor"]


@pytest.mark.parametrize("edit,message", [
    (lambda d: _floor(d).update(individual="mouse1"),
     r"field 'compartments\.floor\.individuals' cannot be given together with 'individual'"),
    (lambda d: _floor(d).update(individuals="mouse1, mouse2"),
     r"field 'compartments\.floor\.individuals' must be a non-empty list of names"),
    (lambda d: _floor(d).update(individuals=[1, 2]),
     r"field 'compartments\.floor\.individuals' must be a non-empty list of names.*quote"),
    (lambda d: _floor(d).update(individuals=[]),
     r"field 'compartments\.floor\.individuals' must be a non-empty list of names"),
    (lambda d: _floor(d).update(individuals=["mouse1", {"name": "mouse2"}]),
     r"field 'compartments\.floor\.individuals' must be a non-empty list of names"),
    (lambda d: _floor(d).update(individuals=["mouse1", "mouse1"]),
     r"field 'compartments\.floor\.individuals' repeats 'mouse1' \(list each"),
    (lambda d: d["compartments"].update(
        nest={"polygon": FLOOR, "individuals": ["mouse3", "mouse2"]}),
     r"field 'compartments\.nest\.individuals' repeats 'mouse2' \(each individual lives"),
    (lambda d: d["compartments"].update(nest={"polygon": FLOOR, "individual": "mouse1"}),
     r"field 'compartments\.nest\.individual' repeats 'mouse1'"),
    (lambda d: (_floor(d).pop("individuals"), _floor(d).update(individual=["a", "b"])),
     r"field 'compartments\.floor\.individual' must be one name.*individuals: \[A, B\]"),
    (lambda d: _floor(d).update(residents=["a"]),
     r"field 'compartments\.floor\.residents' is not a compartment field.*individuals"),
    (lambda d: d.update(area=[[0, 0], [1, 1]]),
     r"field 'area' must be a list of at least 3 \[x, y\] points"),
    (lambda d: d.update(area=[[0, 0], [1, 1], [1, float("nan")]]),
     r"field 'area' has a point that is not a finite number"),
    (lambda d: d.update(compartments=["floor"]),
     r"field 'compartments' must be a mapping of name -> compartment"),
    (lambda d: d.update(partition=[[320, 40], [320, 440]], compartments=None),
     r"field 'compartments' is missing \(a partition separates compartments"),
    (lambda d: d.update(partition=[[320, 40], [320, 440]], compartments={}),
     r"field 'compartments' is empty \(a partition separates compartments"),
])
def test_open_arena_errors_are_one_line_naming_the_field(tmp_path, edit, message):
    data = _open_dict()
    edit(data)
    p = _write(tmp_path, data)
    with pytest.raises(InputError, match=message) as exc:
        load_arena(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: field '") and "\n" not in msg


def test_no_compartments_without_partition_is_valid(tmp_path):
    data = _chamber_dict()
    data.pop("partition")
    data.pop("compartments")
    a = load_arena(_write(tmp_path, data))
    assert a.is_open and a.compartments == {} and a.px_per_cm == 15.0


# ---- cleaning and compartments of a pose in an open arena ---------------------------------
def _crossing_pair(n: int = 60):
    """mouse1 walks left to right across the floor, mouse2 right to left: they cross."""
    x = np.linspace(160, 480, n)
    centers = np.zeros((n, 2, 2))
    centers[:, 0] = np.stack([x, np.full(n, 200.0)], -1)
    centers[:, 1] = np.stack([x[::-1], np.full(n, 280.0)], -1)
    headings = np.zeros((n, 2))
    headings[:, 1] = np.pi
    return make_pose(centers, headings, body_px=60.0)


def test_clean_pose_in_an_open_arena_keeps_identities():
    pose = _crossing_pair()
    _, chamber = clean_pose(pose, default_arena())
    assert chamber.n_swapped_frames > 0  # the chamber would "repair" the crossing
    for arena in (open_field_arena(), arena_from_dict({"px_per_cm": 8.0, "area": FLOOR})):
        cleaned, report = clean_pose(pose, arena)
        assert report.n_swapped_frames == 0
        np.testing.assert_allclose(cleaned["position"].values, pose["position"].values)


def test_clean_pose_open_arena_does_not_undo_a_tracker_swap():
    pose = still_pair(30)
    pos = pose["position"].values.copy()
    pos[10:20] = pos[10:20][..., ::-1]  # in an open field nothing tells this is a swap
    pose["position"] = (pose["position"].dims, pos)
    cleaned, report = clean_pose(pose, open_field_arena())
    assert report.n_swapped_frames == 0
    np.testing.assert_allclose(cleaned["position"].values, pos)


def test_assign_compartments_in_an_open_arena():
    pose = still_pair(10)
    assert assign_compartments(pose, open_field_arena()) == {"mouse1": "floor",
                                                              "mouse2": "floor"}
    renamed = pose.assign_coords(individual=["individual0", "individual1"])
    assert assign_compartments(renamed, open_field_arena()) == {"individual0": "floor",
                                                                 "individual1": "floor"}
    outline = arena_from_dict({"px_per_cm": 8.0, "area": FLOOR})
    assert assign_compartments(pose, outline) == {}
    assert assign_compartments(pose, default_arena()) == {"mouse1": "left", "mouse2": "right"}
