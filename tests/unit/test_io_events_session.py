"""The rig's event log and session folders (load_session, find_sessions, write_session_meta)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena, save_arena
from behavtrack.io.events import load_events, write_events
from behavtrack.io.session import find_sessions, load_session, write_session_meta


def test_events_from_times_derive_frames(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("time_s,subject,event,value\n2.0,mouse2,Poke,\n0.5,,window,0.75\n"
                 "1.01,mouse1,poke,\n")
    ev = load_events(p, fps=30)
    assert list(ev.columns) == ["time_s", "frame", "subject", "event", "value"]
    assert ev.time_s.tolist() == [0.5, 1.01, 2.0]
    assert ev.frame.tolist() == [15, 30, 60]
    assert ev.subject.tolist() == ["", "mouse1", "mouse2"]
    assert ev.event.tolist() == ["window", "poke", "poke"]
    assert ev.value.iloc[0] == 0.75 and np.isnan(ev.value.iloc[1])


def test_events_from_frames_need_fps(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("frame,subject,event\n90,mouse1,poke\n45,mouse2,reward\n")
    ev = load_events(p, fps=30)
    assert ev.time_s.tolist() == [1.5, 3.0] and ev.frame.tolist() == [45, 90]
    with pytest.raises(InputError, match="frame rate is unknown"):
        load_events(p)


def test_events_round_trip(tmp_path):
    ev = pd.DataFrame({"time_s": [0.1, 0.2], "subject": ["a", ""], "event": ["poke", "trial_start"],
                       "extra": [1, 2]})
    p = write_events(ev, tmp_path / "out.csv")
    back = load_events(p, fps=10)
    assert back.frame.tolist() == [1, 2] and back.extra.tolist() == [1, 2]
    assert back.subject.tolist() == ["a", ""]


@pytest.mark.parametrize("text,match", [
    ("time_s,event\n1,poke\n", "no 'subject' column"),
    ("subject,event\na,poke\n", "neither a 'time_s' nor a 'frame'"),
    ("time_s,subject,event\nabc,a,poke\n", "row 2: time_s 'abc' is not a number"),
    ("", "is empty"),
])
def test_events_bad_input(tmp_path, text, match):
    p = tmp_path / "ev.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        load_events(p, fps=30)


def _make_session(root, sample_data, name="s1", meta=None):
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(sample_data / "pose/mouse_multi.csv", folder / "pose.csv")
    save_arena(default_arena(), folder / "arena.yaml")
    (folder / "events.csv").write_text("frame,subject,event\n3,mouse1,poke\n")
    (folder / "labels.csv").write_text("frame,time_s,individual,behavior\n0,0.0,mouse1,Waiting\n")
    write_session_meta(folder, meta or {"pair": 1, "session": 2, "fps": np.float64(25.0)})
    return folder


def test_load_session(sample_data, tmp_path):
    folder = _make_session(tmp_path, sample_data)
    s = load_session(folder)
    assert s.meta == {"pair": 1, "session": 2, "fps": 25.0}
    assert s.pose_path == folder / "pose.csv" and s.video_path is None and s.bouts_path is None
    assert s.arena.individuals == ["mouse1", "mouse2"]
    assert s.events.time_s.tolist() == [3 / 25] and s.events.frame.tolist() == [3]
    assert s.labels.behavior.tolist() == ["waiting"]
    ds = s.load_pose()
    assert ds.attrs["fps"] == 25.0 and ds.sizes["individual"] == 2


def test_load_session_optional_files_and_missing_pose(sample_data, tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    shutil.copy(sample_data / "pose/mouse_single.csv", folder / "pose.csv")
    s = load_session(folder)
    assert s.meta == {} and s.arena is None and s.events is None and s.labels is None
    (folder / "pose.csv").unlink()
    with pytest.raises(InputError, match="has no pose file"):
        load_session(folder)
    with pytest.raises(InputError, match="no such session folder"):
        load_session(tmp_path / "nothing")


def test_find_sessions_folders_globs_manifest(sample_data, tmp_path):
    a = _make_session(tmp_path / "mice", sample_data, "pair0_day0")
    b = _make_session(tmp_path / "mice", sample_data, "pair0_day1")
    c = _make_session(tmp_path / "other", sample_data, "x")
    assert find_sessions(tmp_path / "mice") == [a, b]
    assert find_sessions([str(tmp_path / "mice" / "*day1"), a]) == [b, a]
    manifest = tmp_path / "list.txt"
    manifest.write_text("# sessions\nmice/pair0_day1\n\nother/x\nmice/pair0_day1\n")
    assert find_sessions(manifest) == [b, c]
    bad = tmp_path / "bad.txt"
    bad.write_text("mice/none\n")
    with pytest.raises(InputError, match=r"bad.txt: lists 'mice/none', which does not exist"):
        find_sessions(bad)
    with pytest.raises(InputError, match="matches no session folder"):
        find_sessions(str(tmp_path / "zzz*"))


def test_session_meta_bad_json(sample_data, tmp_path):
    folder = _make_session(tmp_path, sample_data)
    (folder / "session.json").write_text("{oops")
    with pytest.raises(InputError, match="session.json: is not valid JSON"):
        load_session(folder)


def test_session_json_names_the_pose(sample_data, tmp_path):
    folder = _make_session(tmp_path, sample_data, meta={"files": {"pose": "other.csv"}})
    shutil.move(folder / "pose.csv", folder / "other.csv")
    assert load_session(folder).pose_path == folder / "other.csv"
    write_session_meta(folder, {"pose": "gone.h5"})
    with pytest.raises(InputError, match="names pose file 'gone.h5'"):
        load_session(folder)
