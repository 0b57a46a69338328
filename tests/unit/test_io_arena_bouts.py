"""The arena loader (errors name the field; geometry) and bouts round trips (io/bouts.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena, default_arena_path, load_arena, save_arena
from behavtrack.io.bouts import (
    BORIS_COLUMNS,
    BOUT_COLUMNS,
    bouts_to_frames,
    frames_to_bouts,
    read_bouts_csv,
    write_bouts_csv,
)


def _arena_dict():
    return yaml.safe_load(default_arena_path().read_text())


def _write(tmp_path, data, name="arena.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_default_arena_geometry():
    a = default_arena()
    assert a.px_per_cm == 15.0 and a.fps == 30.0 and a.window_s == 0.75
    assert a.individuals == ["mouse1", "mouse2"]
    pts = np.array([[100, 200], [500, 200], [700, 200], [np.nan, 1]])
    np.testing.assert_array_equal(a.compartment_index(pts), [0, 1, -1, -1])
    np.testing.assert_allclose(a.distance_to_partition(pts[:2]), [220, 180])
    left = a.compartment_of_individual("mouse1")
    assert left.poke_port.contains(np.array([[42, 140], [42 + 24, 140], [42 + 25, 140]])).tolist() \
        == [True, True, False]
    np.testing.assert_allclose(left.water_port.distance(np.array([[42, 300]])), [40])
    assert a.partner_of("mouse1") == "mouse2"
    assert a.scale(30.0) == 2.0 and a.fits_frame(640, 480) and not a.fits_frame(300, 300)
    with pytest.raises(InputError, match="no compartment is assigned to individual 'agent1'"):
        a.compartment_of_individual("agent1")


def test_arena_round_trip(tmp_path):
    a = default_arena()
    p = save_arena(a, tmp_path / "a.yaml")
    b = load_arena(p)
    assert b == a
    np.testing.assert_array_equal(b.partition, a.partition)
    assert b.compartments["right"].poke_port == a.compartments["right"].poke_port


@pytest.mark.parametrize("edit,field", [
    (lambda d: d.pop("px_per_cm"), "'px_per_cm' is missing"),
    (lambda d: d.update(px_per_cm="big"), "'px_per_cm' must be a number"),
    (lambda d: d.update(px_per_cm=-2), "'px_per_cm' must be a positive"),
    (lambda d: d.pop("compartments"), "'compartments' is missing"),
    (lambda d: d.update(units="mm"), "'units' must be 'px' or 'cells'"),
    (lambda d: d.update(colour="red"), "'colour' is not an arena field"),
    (lambda d: d.update(frame_size=[640]), "'frame_size' must be [width, height]"),
    (lambda d: d["compartments"]["left"].pop("polygon"), "'compartments.left.polygon' is missing"),
    (lambda d: d["compartments"]["right"]["poke_port"].pop("radius"),
     "'compartments.right.poke_port.radius' is missing"),
    (lambda d: d["compartments"]["right"].update(individual="mouse1"),
     "'compartments.right.individual' repeats 'mouse1'"),
    (lambda d: d["task"].update(window_s=0), "'task.window_s' must be a positive"),
    (lambda d: d.update(partition=[[1, 2]]), "'partition' must be a list of at least 2"),
])
def test_arena_errors_name_the_field(tmp_path, edit, field):
    data = _arena_dict()
    edit(data)
    p = _write(tmp_path, data)
    with pytest.raises(InputError) as exc:
        load_arena(p)
    msg = str(exc.value)
    assert msg.startswith(str(p)) and field in msg and "\n" not in msg


def test_arena_not_yaml_and_missing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="is not valid YAML"):
        load_arena(p)
    with pytest.raises(InputError, match="no such arena file"):
        load_arena(tmp_path / "none.yaml")
    with pytest.raises(InputError, match=r"is a folder, not a file \(arena file expected\)"):
        load_arena(tmp_path)
    q = _write(tmp_path, [1, 2], "list.yaml")
    with pytest.raises(InputError, match="expected a YAML mapping"):
        load_arena(q)


def test_frames_to_bouts_and_back():
    labels = np.array(["other", "waiting", "waiting", "", "approach", "approach", "approach"],
                      dtype=object)
    conf = np.array([0.5, 0.9, 0.7, np.nan, 1.0, 0.8, np.nan])
    b = frames_to_bouts(labels, fps=10.0, individual="mouse1", confidence=conf)
    assert list(b.columns) == BOUT_COLUMNS
    assert b[["behavior", "start_frame", "stop_frame"]].values.tolist() == [
        ["other", 0, 1], ["waiting", 1, 3], ["approach", 4, 7]]
    np.testing.assert_allclose(b.stop_s, [0.1, 0.3, 0.7])
    np.testing.assert_allclose(b.confidence, [0.5, 0.8, 0.9])
    back = bouts_to_frames(b, 7, 10.0, "mouse1", fill="")
    assert back.tolist() == labels.tolist()
    skipped = frames_to_bouts(labels, 10.0, "m", skip=("other",))
    assert "other" not in skipped.behavior.tolist()


def test_bouts_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.choice(["approach", "waiting", "interaction", "other"], size=200)
    b = pd.concat([frames_to_bouts(labels, 30.0, "mouse1", confidence=rng.random(200)),
                   frames_to_bouts(labels[::-1], 30.0, "mouse2")], ignore_index=True)
    p = write_bouts_csv(b, tmp_path / "bouts.csv", fps=30.0, observation_id="s1",
                        media_file="v.mp4")
    raw = pd.read_csv(p)
    assert list(raw.columns[: len(BORIS_COLUMNS)]) == BORIS_COLUMNS
    assert (raw["Image index stop"] == b["stop_frame"] - 1).all()  # inclusive on disk
    assert (raw["Behavior type"] == "STATE").all()
    back = read_bouts_csv(p)
    want = b.sort_values(["individual", "start_s"], kind="stable").reset_index(drop=True)
    np.testing.assert_array_equal(back.start_frame, want.start_frame)
    np.testing.assert_array_equal(back.stop_frame, want.stop_frame)
    np.testing.assert_allclose(back.start_s, want.start_s, atol=1e-4)
    np.testing.assert_allclose(back.confidence, want.confidence, atol=1e-4)
    for ind in ("mouse1", "mouse2"):
        src = labels if ind == "mouse1" else labels[::-1]
        assert bouts_to_frames(back, 200, 30.0, ind).tolist() == src.tolist()


def test_read_bouts_csv_errors(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("Subject,Behavior\nm,waiting\n")
    with pytest.raises(InputError, match="column 'Start \\(s\\)' is missing"):
        read_bouts_csv(p)
    with pytest.raises(InputError, match="no such bouts file"):
        read_bouts_csv(tmp_path / "none.csv")
