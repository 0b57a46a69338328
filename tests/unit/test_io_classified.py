"""Classify output folders (ClassifiedFolder) and finding inputs (find_inputs and its users)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from behavtrack.errors import InputError
from behavtrack.io.bouts import BOUT_COLUMNS
from behavtrack.io.classified import (
    CLASSIFIED_FILES,
    ClassifiedFolder,
    find_classified_folders,
    folder_video,
    read_json_object,
)
from behavtrack.io.inputs import find_inputs, glob_root, read_manifest
from behavtrack.io.session import find_classified_sessions, find_sessions

N_FRAMES_20S = 600  # 20 s at the simulator's 30 fps


@pytest.fixture(scope="module")
def classified(tmp_path_factory) -> tuple[Path, Path]:
    """A simulated session folder and its classify output (made once for the module)."""
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.workflows.classify import classify_session

    root = tmp_path_factory.mktemp("classified")
    session = write_session(simulate_session(duration_s=20, seed=2), root / "sessions" / "s1",
                            pose_formats=("pose.h5",))
    out = root / "out" / "pair00" / "day01"
    classify_session(session, out, png=False)
    return session, out


@pytest.fixture
def copy(classified, tmp_path) -> Path:
    """A copy of the classify output that a test may break (it still names the session)."""
    return Path(shutil.copytree(classified[1], tmp_path / "copy"))


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# ---- reading a classify output ------------------------------------------------------------
def test_each_reader_gives_what_classify_wrote(classified):
    from behavtrack.workflows.classify import OUTPUT_FILES

    session, out = classified
    folder = ClassifiedFolder(out)
    assert OUTPUT_FILES == CLASSIFIED_FILES
    assert folder.is_classified and folder.path == out
    assert all((out / n).is_file() for n in CLASSIFIED_FILES if n != "ethogram.png")
    assert folder.meta["fps"] == 30.0 and folder.meta["n_frames"] == N_FRAMES_20S
    assert folder.meta["poke_source"] == "log"
    assert folder.meta["source_session"] == str(session)
    assert folder.provenance["tool"] == "behavtrack classify"
    assert folder.recorded_input("session") == session
    assert folder.source_session() == session
    eth = folder.ethogram()
    assert list(eth.columns[:4]) == ["frame", "time_s", "individual", "behavior"]
    assert {c for c in eth.columns if c.startswith("p_")} >= {"p_approach", "p_other"}
    assert len(eth) == N_FRAMES_20S * 2 and set(eth["individual"]) == {"mouse1", "mouse2"}
    bouts = folder.bouts()
    assert list(bouts.columns) == BOUT_COLUMNS
    assert set(bouts["individual"]) == {"mouse1", "mouse2"}
    # the bouts tile each animal's frames
    assert int(bouts.groupby("individual")["stop_frame"].max().min()) == N_FRAMES_20S
    events = folder.events()
    assert (events["event"] == "poke").any() and events["frame"].notna().all()
    assert folder.pose_file().resolve() == (session / "pose.h5").resolve()
    assert folder.arena_file() == session / "arena.yaml"
    assert folder.video() is None and folder.batch_video() is None and folder.batch_job() == {}


def test_the_video_comes_from_the_folder_the_session_or_batch_json(classified, copy, tmp_path):
    session, _ = classified
    folder = ClassifiedFolder(copy)
    video = tmp_path / "rec.mp4"
    video.write_bytes(b"")
    (copy / "batch.json").write_text(json.dumps({"job": {"kind": "video", "path": str(video)}}))
    assert folder.batch_video() == video and folder.video() == video
    (copy / "clip.avi").write_bytes(b"")
    (copy / "video.mp4").write_bytes(b"")
    assert folder_video(copy) == copy / "video.mp4" and folder.video() == copy / "video.mp4"
    # without batch.json or a video inside: the session folder's video
    (copy / "batch.json").unlink()
    (copy / "clip.avi").unlink()
    (copy / "video.mp4").unlink()
    inside = session / "video.mp4"
    inside.write_bytes(b"")
    try:
        assert ClassifiedFolder(copy).video() == inside
    finally:
        inside.unlink()


def test_missing_files_give_one_line_errors_naming_them(copy):
    folder = ClassifiedFolder(copy)
    for name in ("ethogram.csv", "bouts.csv", "events.csv"):
        (copy / name).unlink()
    with pytest.raises(InputError) as exc:
        folder.ethogram()
    assert "ethogram.csv: no such ethogram" in _one_line(exc)
    with pytest.raises(InputError) as exc:
        folder.bouts()
    assert "bouts.csv: no such bouts file" in _one_line(exc)
    with pytest.raises(InputError) as exc:
        folder.events()
    assert "events.csv: no such event log" in _one_line(exc)
    assert folder.bouts(missing_ok=True) is None and folder.events(missing_ok=True) is None
    (copy / "session.json").unlink()
    (copy / "provenance.json").unlink()
    fresh = ClassifiedFolder(copy)  # meta and provenance are read once per object
    assert fresh.meta == {} and fresh.provenance == {} and not fresh.is_classified


def test_broken_files_give_one_line_errors_naming_them(copy):
    (copy / "provenance.json").write_text("{not json")
    (copy / "session.json").write_text("[1, 2]")
    (copy / "ethogram.csv").write_text("frame,who\n1,x\n")
    folder = ClassifiedFolder(copy)
    with pytest.raises(InputError) as exc:
        _ = folder.provenance
    assert "provenance.json: is not readable JSON (JSONDecodeError)" in _one_line(exc)
    with pytest.raises(InputError) as exc:
        _ = folder.meta
    assert "session.json: must hold a JSON object" in _one_line(exc)
    with pytest.raises(InputError) as exc:
        ClassifiedFolder(copy).ethogram()  # a fresh folder: meta is read again
    assert "must hold a JSON object" in _one_line(exc)
    (copy / "session.json").write_text("{}")
    with pytest.raises(InputError) as exc:
        ClassifiedFolder(copy).ethogram()
    assert "ethogram.csv: has no column" in _one_line(exc)
    # the lenient readers pass a broken record over
    assert folder.recorded_inputs() == {} and folder.recorded_input("pose") is None
    (copy / "batch.json").write_text("\x00\xff")
    assert folder.batch_job() == {} and folder.batch_video() is None
    assert read_json_object(copy / "absent.json", missing_ok=True) == {}
    with pytest.raises(InputError) as exc:
        read_json_object(copy / "absent.json")
    assert "absent.json: is not readable JSON (FileNotFoundError)" in _one_line(exc)


def test_the_pose_file_gone_or_changed_is_a_one_line_error(copy, tmp_path):
    prov = json.loads((copy / "provenance.json").read_text())
    pose = tmp_path / "moved.h5"
    shutil.copy(prov["inputs"]["pose"]["path"], pose)
    prov["inputs"]["pose"]["path"] = str(pose)
    (copy / "provenance.json").write_text(json.dumps(prov))
    meta = json.loads((copy / "session.json").read_text())
    meta["pose_file"] = str(pose)
    meta["source_session"] = None
    (copy / "session.json").write_text(json.dumps(meta))
    assert ClassifiedFolder(copy).pose_file() == pose
    pose.write_bytes(pose.read_bytes() + b"\0")
    with pytest.raises(InputError) as exc:
        ClassifiedFolder(copy).pose_file()
    assert "changed since it was classified" in _one_line(exc)
    pose.unlink()
    with pytest.raises(InputError) as exc:
        ClassifiedFolder(copy).pose_file()
    assert f"has no pose: the pose file it was classified from ({pose})" in _one_line(exc)


# ---- finding them ---------------------------------------------------------------------------
def _cohort(classified, tmp_path) -> Path:
    """Three copies of the classify output under ``cohort/pairN/dayM``."""
    root = tmp_path / "cohort"
    for rel in ("pair1/day1", "pair1/day2", "pair2/day1"):
        shutil.copytree(classified[1], root / rel)
    return root


def test_find_over_folders_globs_and_manifests(classified, tmp_path):
    root = _cohort(classified, tmp_path)
    days = [root / "pair1/day1", root / "pair1/day2", root / "pair2/day1"]
    found = find_classified_folders([root])
    assert [f.path for f in found] == days and all(isinstance(f, ClassifiedFolder) for f in found)
    assert [f.path for f in find_classified_folders(str(root / "pair1" / "day*"))] == days[:2]
    assert [f.path for f in find_classified_folders([str(root / "**" / "day1")])] == [
        days[0], days[2]]
    listing = tmp_path / "mice.txt"
    listing.write_text("# the cohort\ncohort/pair2/day1\n\ncohort/pair1\ncohort/pair2/day1\n")
    assert [f.path for f in find_classified_folders([listing])] == [days[2], days[0], days[1]]
    table = tmp_path / "mice.lst"
    table.write_text("path,note\ncohort/pair1/day2,x\n")
    assert [f.path for f in find_classified_folders([table])] == [days[1]]
    # the same rules as before for the stats inputs, NWB exports included
    nwb = tmp_path / "archived.nwb"
    nwb.write_bytes(b"")
    assert find_classified_sessions([root / "pair2", nwb]) == [days[2], nwb]
    with pytest.raises(InputError) as exc:
        find_classified_folders([nwb])
    assert "is an NWB export, not a classify output folder" in _one_line(exc)


def test_find_errors_are_one_line_and_name_the_entry(classified, tmp_path):
    root = _cohort(classified, tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.csv").write_text("a,b\n")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    cases = [
        ([str(root / "pair9*")], "pair9*: matches no file or folder"),
        ([tmp_path / "nowhere"], "nowhere: no such file or folder"),
        ([tmp_path / "empty"], "empty: holds no session folder"),
        ([tmp_path / "notes.csv"], "notes.csv: is not a session folder, a parent folder"),
        ([tmp_path / "bad.txt"], "bad.txt: is not a text list"),
    ]
    for paths, says in cases:
        with pytest.raises(InputError) as exc:
            find_classified_folders(paths)
        assert says in _one_line(exc)


def test_find_inputs_by_kind_and_the_shared_parts(classified, tmp_path):
    from behavtrack.io.agents import find_rollout_files

    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    for name in ("a/ck1.mat", "ck2.mat"):
        (runs / name).write_bytes(b"")
    (runs / "readme.txt").write_text("not a rollout\n")
    assert find_rollout_files([runs]) == [runs / "a/ck1.mat", runs / "ck2.mat"]
    assert find_rollout_files([runs / "ck2.mat", runs]) == [runs / "ck2.mat", runs / "a/ck1.mat"]
    assert find_rollout_files([tmp_path]) == [runs / "a/ck1.mat", runs / "ck2.mat"]
    with pytest.raises(InputError, match="readme.txt: is not an agent rollout file"):
        find_rollout_files([runs / "readme.txt"])
    found = find_inputs([runs], kinds=("session", "rollout"))
    assert [(f.kind, f.root) for f in found] == [("rollout", runs)] * 2
    with pytest.raises(ValueError, match="kinds"):
        find_inputs([runs], kinds=("movie",))
    # the manifest reader behind every finder: plain lists and CSVs with a path column
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,arena,events\ns1,a.yaml,\ns2,,e.csv\n")
    rows = read_manifest(manifest)
    assert [(r.text, dict(r.columns)) for r in rows] == [
        ("s1", {"arena": "a.yaml"}), ("s2", {"events": "e.csv"})]
    assert glob_root("mice/pair*/day*") == Path("mice") and glob_root("*.mat") == Path(".")
    # find_sessions keeps its own rules: a glob does not search the folders it matches
    session, _ = classified
    assert find_sessions([session.parent]) == [session]
    with pytest.raises(InputError, match="matches no session folder"):
        find_sessions([str(session.parent.parent / "sess*")])


def _export_tree(tmp_path: Path) -> Path:
    """Marker files only: a session folder, a classify output, a batch output with staging."""
    root = tmp_path / "exp"
    for rel, name in [("sim/pair1/day1", "session.json"), ("cls", "provenance.json"),
                      ("batch/sessions/pair1/day1", "session.json"),
                      ("batch/sessions/pair1/day2", "provenance.json"),
                      ("batch/sessions/pair2/day1", "session.json"),
                      ("batch/.sessions.123-abcd/pair9/day9", "session.json"),  # staging
                      ("batch/sessions/pair2/.day2.77-x", "provenance.json")]:  # staging
        (root / rel).mkdir(parents=True)
        (root / rel / name).write_text("{}")
    return root


def test_export_kind_finds_session_and_classify_folders_with_ids(tmp_path):
    from behavtrack.io.inputs import input_id, named_inputs, search_folder

    root = _export_tree(tmp_path)
    batch = root / "batch" / "sessions"
    # a session folder and a classify output (provenance.json alone) are each one input
    found = find_inputs([root / "sim" / "pair1" / "day1", root / "cls"], kinds=("export",))
    assert [(f.kind, input_id(f)) for f in found] == [("export", "day1"), ("export", "cls")]
    with pytest.raises(InputError, match="holds no session folder"):  # not of kind session
        find_inputs([root / "cls"], kinds=("session",))
    # a batch output: searched, hidden staging folders skipped, ids without ``sessions/``
    found = find_inputs([root / "batch"], kinds=("export",))
    assert [f.path for f in found] == [batch / "pair1/day1", batch / "pair1/day2",
                                       batch / "pair2/day1"]
    assert [input_id(f) for f in found] == ["pair1/day1", "pair1/day2", "pair2/day1"]
    assert search_folder(root / "batch", "export") == [f.path for f in found]
    # a glob: named below its fixed part; a list file: below its folder
    found = find_inputs([str(batch / "pair*" / "day1")], kinds=("export",))
    assert [input_id(f) for f in found] == ["pair1/day1", "pair2/day1"]
    listing = root / "export.txt"
    listing.write_text("# to archive\nbatch/sessions/pair1/day2\ncls\n")
    assert [input_id(f) for f in find_inputs([listing], kinds=("export",))] == [
        "batch/sessions/pair1/day2", "cls"]
    # ids mapped (e.g. to file names) and refused when two inputs share one
    named = named_inputs(find_inputs([root / "batch"], kinds=("export",)),
                         id_of=lambda s: s.replace("/", "_"))
    assert [n for _, n in named] == ["pair1_day1", "pair1_day2", "pair2_day1"]
    with pytest.raises(InputError) as exc:
        named_inputs(find_inputs([root / "sim" / "pair1" / "day1", batch / "pair1" / "day1"],
                                 kinds=("export",)))
    assert "pair1/day1: has the id day1 of" in _one_line(exc)
    with pytest.raises(InputError, match="would be saved as day1, like"):
        named_inputs(find_inputs([root / "sim/pair1/day1", batch / "pair2/day1"],
                                 kinds=("export",)), clash=("would be saved as {id}, like {other}",
                                                            None))


def test_export_kind_errors_are_one_line_and_name_the_entry(tmp_path):
    root = _export_tree(tmp_path)
    (root / "empty" / ".staging").mkdir(parents=True)
    (root / "empty" / ".staging" / "session.json").write_text("{}")
    (root / "old.nwb").write_bytes(b"")
    (root / "notes.csv").write_text("a,b\n")
    cases = [
        ([root / "nowhere"], "nowhere: no such file or folder"),
        ([root / "empty"], "empty: holds no session (no session.json or provenance.json"),
        ([root / "old.nwb"], "old.nwb: is an NWB file already, not a folder"),
        ([root / "notes.csv"], "notes.csv: is a file, not a folder"),
        ([str(root / "batch" / "pair*")], "pair*: matches no file or folder"),
    ]
    for paths, says in cases:
        with pytest.raises(InputError) as exc:
            find_inputs(paths, kinds=("export",))
        assert says in _one_line(exc)


def test_the_examples_run_as_doctests():
    import doctest

    import behavtrack.io.classified as classified_module
    import behavtrack.io.inputs as inputs_module

    for module in (classified_module, inputs_module):
        result = doctest.testmod(module)
        assert result.attempted >= 1 and result.failed == 0, module.__name__
