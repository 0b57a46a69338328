"""BORIS readers: bouts checked against the START/STOP rows parsed independently."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from behavtrack.errors import InputError
from behavtrack.io.boris import BORIS_BOUT_COLUMNS, load_boris


def _start_stop_rows(path):
    """(subject, behavior, status, time) rows after the header, read with the csv module."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    h = next(i for i, r in enumerate(rows) if r[:1] == ["Time"])
    cols = rows[h]
    out = []
    for r in rows[h + 1:]:
        rec = dict(zip(cols, r, strict=False))
        out.append((rec["Subject"], rec["Behavior"], rec["Status"], float(rec["Time"]),
                    float(rec["FPS"])))
    return out


@pytest.mark.parametrize("name", ["boris_old_tabular_export_1.csv",
                                  "boris_old_tabular_export_2.csv"])
def test_old_tabular_export_against_rows(sample_data, name):
    path = sample_data / "labels" / name
    rows = _start_stop_rows(path)
    starts = [r for r in rows if r[2] == "START"]
    stops = [r for r in rows if r[2] == "STOP"]
    bouts = load_boris(path, behavior_map={"interact": "interaction"},
                       subject_map={"adult": "mouse1", "juvenile": "mouse2"})
    assert list(bouts.columns) == BORIS_BOUT_COLUMNS
    assert len(bouts) == len(starts) == len(stops)
    for sub in {r[0] for r in rows}:
        mine = bouts[bouts.individual == {"adult": "mouse1", "juvenile": "mouse2"}[sub]]
        s = sorted(r[3] for r in starts if r[0] == sub)
        e = sorted(r[3] for r in stops if r[0] == sub)
        np.testing.assert_allclose(mine.start_s, s)
        np.testing.assert_allclose(mine.stop_s, e)
        np.testing.assert_allclose(mine.duration_s, np.array(e) - np.array(s))
    fps = rows[0][4]
    np.testing.assert_array_equal(bouts.start_frame, np.rint(bouts.start_s * fps).astype(int))
    np.testing.assert_array_equal(bouts.stop_frame, np.rint(bouts.stop_s * fps).astype(int))
    assert set(bouts.behavior) == {"interaction"}
    # observation id comes from the metadata block
    with open(path) as f:
        first = next(csv.reader(f))
    assert set(bouts.observation) == {first[1]}


def test_boris_project_toggles(sample_data):
    path = sample_data / "labels/boris_project.boris"
    project = json.loads(path.read_text())
    (obs_id, obs), = project["observations"].items()
    events = obs["events"]
    bouts = load_boris(path, behavior_map={"mm": "investigate", "aa": "attack"})
    # every second occurrence of a code closes its bout
    for code, name in (("mm", "investigate"), ("aa", "attack")):
        times = [e[0] for e in events if e[2] == code]
        got = bouts[bouts.behavior == name]
        np.testing.assert_allclose(got.start_s, times[0::2])
        np.testing.assert_allclose(got.stop_s, times[1::2])
    assert set(bouts.observation) == {obs_id}
    assert set(bouts.individual) == {"mouse"}
    np.testing.assert_array_equal(bouts.start_frame, np.rint(bouts.start_s * 30).astype(int))


def test_new_tabular_export_with_point_events(tmp_path):
    p = tmp_path / "new.csv"
    p.write_text(
        "Observation id,Observation date,Media file name,FPS,Subject,Behavior,"
        "Behavioral category,Behavior type,Time,Image index,Comment\n"
        "obs1,2024-01-01,v.mp4,25,m1,Wait,,START,1.0,25,\n"
        "obs1,2024-01-01,v.mp4,25,m1,Poke,,POINT,1.5,37,\n"
        "obs1,2024-01-01,v.mp4,25,m2,Approach,,START,1.2,30,\n"
        "obs1,2024-01-01,v.mp4,25,m1,Wait,,STOP,2.0,50,\n"
        "obs1,2024-01-01,v.mp4,25,m2,Approach,,STOP,3.0,75,\n"
        "obs1,2024-01-01,v.mp4,25,m1,Wait,,START,4.0,100,\n"
        "obs1,2024-01-01,v.mp4,25,m1,Wait,,STOP,4.4,110,\n"
    )
    bouts = load_boris(p, behavior_map={"Wait": "waiting", "approach": "approach"})
    assert bouts[["individual", "behavior", "start_frame", "stop_frame"]].values.tolist() == [
        ["m1", "waiting", 25, 50], ["m1", "waiting", 100, 110], ["m2", "approach", 30, 75],
    ]
    np.testing.assert_allclose(bouts.duration_s, [1.0, 0.4, 1.8])
    dropped = load_boris(p, behavior_map={"Wait": None})
    assert set(dropped.behavior) == {"approach"}


def test_unpaired_start_names_the_line(sample_data, tmp_path):
    lines = (sample_data / "labels/boris_old_tabular_export_1.csv").read_text().splitlines()
    stop_line = next(i for i, line in enumerate(lines) if line.endswith(",STOP"))
    del lines[stop_line]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        load_boris(bad)
    msg = str(exc.value)
    # lines are 1-based: the START on line stop_line lost its STOP
    assert msg.startswith(str(bad)) and f"line {stop_line}:" in msg
    assert "START of 'interact'" in msg and "no STOP" in msg and "\n" not in msg
    # a START left open at the end of the file
    lines = (sample_data / "labels/boris_old_tabular_export_1.csv").read_text().splitlines()
    del lines[-1]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=f"line {len(lines)}: START .* no STOP after it"):
        load_boris(bad)


def test_stop_without_start(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Time,Media file path,Total length,FPS,Subject,Behavior,Behavioral category,"
                 "Comment,Status\n1.0,v,10,30,a,b,,,STOP\n")
    with pytest.raises(InputError, match=r"line 2: STOP of 'b'.*no START before it"):
        load_boris(p)


def test_not_a_boris_file(tmp_path):
    p = tmp_path / "y.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a BORIS tabular export"):
        load_boris(p)
    q = tmp_path / "z.boris"
    q.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_boris(q)


def test_malformed_project_event_is_named(tmp_path):
    p = tmp_path / "w.boris"
    p.write_text(json.dumps({"observations": {"obs1": {"events": [
        [1.0, "a", "b", "", ""], [2.0, "a"], 7]}}}))
    with pytest.raises(InputError) as exc:
        load_boris(p)
    msg = str(exc.value)
    assert "observation 'obs1' event 1: expected [time, subject, code, ...], got [2.0, 'a']" in msg
