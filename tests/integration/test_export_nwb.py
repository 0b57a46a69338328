"""NWB export: real files written through pynwb and movement, read back, checked by nwbinspector.

A simulated session is written as a session folder, classified with the shipped model and run
through a real batch; each is exported and compared with the CSVs it came from (pose to float
precision, bouts, events, trials), then checked by the field's own checker.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.export.nwb import (
    collect_session,
    export_nwb,
    find_export_sessions,
    skeleton_edges,
    write_session_nwb,
)
from behavtrack.io.nwb import is_behavtrack_nwb, load_nwb_pose, load_nwb_session

pynwb = pytest.importorskip("pynwb")


# ---- fixtures: one simulated session, its classify output, a batch output -----------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from behavtrack.batch import run_batch
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.workflows.classify import classify_session

    root = tmp_path_factory.mktemp("nwb")
    sess = simulate_session(day=6, duration_s=90.0, fps=30.0, seed=4)
    session = write_session(sess, root / "sim" / "pair01" / "day07", pose_formats=("pose.h5",))
    classify_session(session, root / "classified", png=False)
    run_batch([root / "sim"], root / "batch", stats=False)
    return {"session": session, "classified": root / "classified", "batch": root / "batch",
            "root": root}


@pytest.fixture(scope="module")
def exported(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("nwb_out")
    done = export_nwb([folders["session"], folders["classified"]], out)
    batch = export_nwb([folders["batch"]], out / "batch")
    files = {r.folder.name: r.path for r in done}
    return {"session": files["day07"], "classified": files["classified"],
            "batch": batch[0].path}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- what the files hold -------------------------------------------------------------------
def test_files_are_named_by_session_and_found_in_batch_outputs(folders, exported):
    assert exported["session"].name == "day07.nwb"
    assert exported["classified"].name == "classified.nwb"
    assert exported["batch"].name == "pair01_day07.nwb"
    assert [n for _, n in find_export_sessions([folders["root"] / "sim"])] == ["pair01_day07"]
    assert all(is_behavtrack_nwb(p) for p in exported.values())


@pytest.mark.parametrize("which", ["session", "classified", "batch"])
def test_pynwb_reads_back_the_csvs(folders, exported, which):
    """Plain pynwb (no behavtrack reader) gives the pose, bouts, events and trials of the CSVs."""
    from movement.io import load_poses

    from behavtrack.io.bouts import read_bouts_csv
    from behavtrack.io.events import load_events
    from behavtrack.io.pose import load_pose

    src = {"session": folders["session"], "classified": folders["classified"],
           "batch": folders["batch"] / "sessions" / "pair01" / "day07"}[which]
    session = folders["session"]
    meta = json.loads((src / "session.json").read_text())
    fps = float(meta["fps"])
    pose = load_pose(session / "pose.h5", fps=fps)
    events = load_events(src / "events.csv", fps=fps)
    bouts = read_bouts_csv(src / "bouts.csv")
    path = exported[which]
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        # pose: one ndx-pose PoseEstimation per animal, with skeleton and confidences
        module = nwb.processing["behavior"]
        assert set(module["Skeletons"].skeletons) == {"skeleton_mouse1", "skeleton_mouse2"}
        for ind in ("mouse1", "mouse2"):
            pe = module[f"PoseEstimation_{ind}"]
            assert list(pe.skeleton.nodes[:]) == [str(k) for k in pose.keypoint.values]
            assert len(pe.skeleton.edges[:]) > 0
            for kp in pose.keypoint.values:
                s = pe.pose_estimation_series[str(kp)]
                assert s.rate == fps and s.starting_time == 0.0 and s.timestamps is None
                np.testing.assert_array_equal(
                    s.data[:], pose.position.sel(individual=ind, keypoint=kp).values)
                np.testing.assert_array_equal(
                    s.confidence[:], pose.confidence.sel(individual=ind, keypoint=kp).values)
            # movement's own reader takes it too (one animal at a time)
            ds = load_poses.from_nwb_file(nwb, pose_estimation_key=f"PoseEstimation_{ind}")
            assert ds.attrs["fps"] == fps
        # events: one EventsTable per kind, times in seconds
        for kind, rows in events.groupby("event"):
            table = nwb.events[kind].to_dataframe()
            np.testing.assert_allclose(table["timestamp"], rows["time_s"], rtol=0, atol=1e-12)
            assert table["subject"].tolist() == rows["subject"].tolist()
            assert table["frame"].tolist() == rows["frame"].astype(int).tolist()
        # bouts: one TimeIntervals per animal
        for ind, rows in bouts.groupby("individual"):
            table = nwb.intervals[f"bouts_{ind}"].to_dataframe()
            rows = rows.sort_values("start_frame")
            assert table["behavior"].tolist() == rows["behavior"].tolist()
            assert table["start_frame"].tolist() == rows["start_frame"].tolist()
            assert table["stop_frame"].tolist() == rows["stop_frame"].tolist()
            np.testing.assert_allclose(table["start_time"], rows["start_frame"] / fps, atol=1e-12)
            np.testing.assert_allclose(table["start_time"], rows["start_s"], atol=1e-4)  # CSV
            if rows["confidence"].notna().any():  # all-NaN columns are left out
                np.testing.assert_allclose(table["confidence"], rows["confidence"], atol=1e-12)
            else:
                assert "confidence" not in table
        # trials: the NWB trials table with success, delta and window
        trials = nwb.trials.to_dataframe()
        assert {"success", "delta_s", "window_s", "subject", "partner_time_s"} <= set(trials)
        n_pokes = int((events["event"] == "poke").sum())
        assert len(trials) == n_pokes > 0
        np.testing.assert_allclose(trials["start_time"],
                                   np.sort(events.loc[events.event == "poke", "time_s"]))
        # metadata: subject = the pair; session id; behavtrack's record
        assert nwb.subject.subject_id == "pair01"
        assert nwb.subject.species == "Mus musculus"
        record = json.loads(nwb.scratch["behavtrack"].data)
        assert record["session"]["pair"] == "pair01" and record["session"]["session"] == 6
        assert record["session"]["fps"] == fps
        assert record["arena"]["compartments"]
        if which != "session":
            prov = json.loads((src / "provenance.json").read_text())
            assert record["model"]["sha256"] == prov["model"]["sha256"]
            assert record["model"]["training_checksum"] == prov["model"]["training_checksum"]
        else:
            assert record["model"] is None and record["bouts"]["source"] == "truth"


@pytest.mark.parametrize("which", ["session", "classified"])
def test_load_nwb_session_equals_the_csvs_and_the_stats(folders, exported, which):
    from behavtrack.io.bouts import read_bouts_csv
    from behavtrack.io.events import load_events
    from behavtrack.io.pose import load_pose
    from behavtrack.learning.sessions import analyze_session, read_classified_session

    src = folders[which]
    back = load_nwb_session(exported[which])
    fps = back.fps
    assert fps == 30.0 and back.individuals == ["mouse1", "mouse2"]
    pose = load_pose(folders["session"] / "pose.h5", fps=fps)
    np.testing.assert_array_equal(back.pose.position.values, pose.position.values)
    np.testing.assert_array_equal(back.pose.confidence.values, pose.confidence.values)
    np.testing.assert_allclose(back.pose.time.values, pose.time.values, rtol=0, atol=1e-12)
    assert back.pose.position.dims == pose.position.dims
    pd.testing.assert_frame_equal(back.events, load_events(src / "events.csv", fps=fps))
    csv = read_bouts_csv(src / "bouts.csv").sort_values(["individual", "start_frame"])
    csv = csv.reset_index(drop=True)
    same = ["individual", "behavior", "start_frame", "stop_frame"]
    pd.testing.assert_frame_equal(back.bouts[same], csv[same])
    for col in ("start_s", "stop_s", "duration_s"):
        np.testing.assert_allclose(back.bouts[col], csv[col], atol=1e-4)  # CSV: 4 decimals
    np.testing.assert_allclose(back.bouts["confidence"], csv["confidence"], equal_nan=True)
    assert back.arena is not None and back.meta["window_s"] == back.arena.window_s
    if which == "classified":
        # the trials equal those behavtrack stats computes from the classify output
        inp = read_classified_session(src)
        trials, row = analyze_session(inp, n_shifts=50)
        pd.testing.assert_frame_equal(back.trials, trials, check_dtype=False)
        # ... and so does the stats row of a SessionInput made from the NWB file (the stats hook)
        from behavtrack.learning.sessions import SessionInput

        nwb_inp = SessionInput(
            source="mice", pair=str(back.meta["pair"]), session=back.meta["session"],
            events=back.events, bouts=back.bouts, window_s=back.meta["window_s"],
            duration_s=back.meta["duration_s"], progress=back.meta.get("progress"),
            subjects=back.meta["individuals"], name=str(back.path),
            poke_source=back.meta["poke_source"], notes=[],
            extra={"data": "simulated", "bouts_source": back.meta["bouts_source"]})
        _, nwb_row = analyze_session(nwb_inp, n_shifts=50)
        for key in ("success_rate", "chance_rate", "chance_p", "n_pokes", "window_s",
                    "interaction_bouts_per_min", "waited_frac"):
            assert nwb_row[key] == pytest.approx(row[key], abs=1e-12), key
        # bout times in the file are frame / fps, in bouts.csv rounded to 0.1 ms
        assert nwb_row["waiting_frac_time"] == pytest.approx(row["waiting_frac_time"], abs=1e-5)
        assert back.model["sha256"]
    else:
        assert back.model is None and back.meta["bouts_source"] == "truth"


def test_classify_from_the_nwb_file_gives_the_same_bouts(folders, exported, tmp_path):
    """What the file holds is all classify needs: pose with fps, arena, events."""
    from behavtrack.io.bouts import read_bouts_csv
    from behavtrack.workflows.classify import classify_session

    back = load_nwb_session(exported["classified"])
    res = classify_session(back.pose, tmp_path / "again", arena=back.arena, events=back.events,
                           png=False)
    first = read_bouts_csv(folders["classified"] / "bouts.csv")
    cols = ["individual", "behavior", "start_frame", "stop_frame"]
    pd.testing.assert_frame_equal(
        res.bouts[cols].sort_values(cols[:1] + cols[2:3]).reset_index(drop=True),
        first[cols].sort_values(cols[:1] + cols[2:3]).reset_index(drop=True))


@pytest.mark.slow
def test_every_file_passes_nwbinspector(exported):
    pytest.importorskip("nwbinspector", reason="nwbinspector is not installed (extra "
                        "behavtrack[dev] or behavtrack[nwb])")
    from behavtrack.export.nwb import inspect_nwb

    for path in exported.values():
        assert inspect_nwb(path) == [], path  # no CRITICAL or BEST_PRACTICE_VIOLATION message
    suggestions = inspect_nwb(exported["classified"], "BEST_PRACTICE_SUGGESTION")
    assert all(m["importance"] == "BEST_PRACTICE_SUGGESTION" for m in suggestions)


def test_export_is_deterministic_and_leaves_inputs_untouched(folders, tmp_path):
    before = {k: _digest(folders[k]) for k in ("session", "classified")}
    a = export_nwb([folders["classified"]], tmp_path / "a")[0].path
    b = export_nwb([folders["classified"]], tmp_path / "b")[0].path
    assert {k: _digest(folders[k]) for k in ("session", "classified")} == before
    with pynwb.NWBHDF5IO(str(a), "r") as ia, pynwb.NWBHDF5IO(str(b), "r") as ib:
        na, nb = ia.read(), ib.read()
        assert na.identifier == nb.identifier
        assert na.session_start_time == nb.session_start_time
        assert na.scratch["behavtrack"].data == nb.scratch["behavtrack"].data
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["classified.nwb"]


def test_lab_metadata_goes_into_the_file(folders, tmp_path):
    meta = tmp_path / "lab.yaml"
    meta.write_text("experimenter: ['Doe, Jane']\ninstitution: Somewhere University\n"
                    "session_start_time: '2024-03-01T10:30:00+01:00'\n"
                    "subject: {age: P90D, sex: F, strain: C57BL/6J}\n")
    code = main(["-q", "export-nwb", str(folders["classified"]), "--out", str(tmp_path / "o"),
                 "--metadata", str(meta)])
    assert code == 0
    with pynwb.NWBHDF5IO(str(tmp_path / "o" / "classified.nwb"), "r") as io:
        nwb = io.read()
        assert list(nwb.experimenter) == ["Doe, Jane"]
        assert nwb.institution == "Somewhere University"
        assert nwb.session_start_time.isoformat() == "2024-03-01T10:30:00+01:00"
        assert (nwb.subject.age, nwb.subject.sex, nwb.subject.strain) == ("P90D", "F",
                                                                          "C57BL/6J")


def test_cli_writes_and_checks(folders, tmp_path, capsys):
    pytest.importorskip("nwbinspector", reason="nwbinspector is not installed")
    code = main(["export-nwb", str(folders["session"]), "--out", str(tmp_path / "o"),
                 "--check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "wrote" in out and "no critical or violation-level message" in out
    assert (tmp_path / "o" / "day07.nwb").is_file()


def test_irregular_frames_keep_shared_timestamps(folders, tmp_path):
    data = collect_session(folders["session"])
    keep = np.ones(data.pose.sizes["time"], bool)
    keep[100:130] = False  # 1 s of frames lost
    data.pose = data.pose.isel(time=keep)
    path = write_session_nwb(data, tmp_path / "gap.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        pe = io.read().processing["behavior"]["PoseEstimation_mouse1"]
        series = list(pe.pose_estimation_series.values())
        assert series[0].rate is None
        np.testing.assert_allclose(series[0].timestamps[:], data.pose.time.values)
        assert all(s.timestamp_link is not None or s is series[0] for s in series)
    back = load_nwb_pose(path)
    np.testing.assert_allclose(back.time.values, data.pose.time.values)
    np.testing.assert_array_equal(back.position.values, data.pose.position.values)


def test_pokes_detected_in_the_pose_say_so(folders, tmp_path):
    from behavtrack.workflows.classify import classify_session

    session = folders["session"]
    classify_session(session / "pose.h5", tmp_path / "c", arena=session / "arena.yaml",
                     fps=30.0, png=False)  # no rig log: pokes from the pose
    path = export_nwb([tmp_path / "c"], tmp_path / "o")[0].path
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        pokes = io.read().events["poke"]
        assert "detected from the pose" in pokes.source_description
        assert pokes["timestamp"].resolution == pytest.approx(1 / 30)
    back = load_nwb_session(path)
    assert back.meta["poke_source"] == "pose" and len(back.events) > 0
    if importlib.util.find_spec("nwbinspector"):
        from behavtrack.export.nwb import inspect_nwb

        assert inspect_nwb(path) == []


def test_skeleton_edges_follow_the_body_axis():
    assert skeleton_edges(["nose", "left_ear", "right_ear", "centroid", "tail_base"]).tolist() \
        == [[0, 3], [3, 4], [1, 0], [2, 0]]
    assert skeleton_edges(["snout", "tailtip"]).shape == (0, 2)


# ---- bad input: one line, exit 2, no partial file ------------------------------------------
def _no_files(folder: Path) -> bool:
    return not folder.exists() or not any(folder.rglob("*"))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_folder_without_pose_is_refused(folders, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("session.json", "events.csv", "arena.yaml"):
        shutil.copy(folders["session"] / name, bare / name)
    out = tmp_path / "o"
    assert main(["export-nwb", str(bare), "--out", str(out)]) == 2  # session.json names it
    assert "names pose file 'pose.h5', which does not exist" in _one_line_error(capsys)
    meta = json.loads((bare / "session.json").read_text())
    del meta["files"]
    (bare / "session.json").write_text(json.dumps(meta))
    assert main(["export-nwb", str(bare), "--out", str(out)]) == 2
    assert "has no pose file" in _one_line_error(capsys)
    assert _no_files(out)
    # a classify output whose pose file is gone
    cls = tmp_path / "cls"
    shutil.copytree(folders["classified"], cls)
    prov = json.loads((cls / "provenance.json").read_text())
    prov["inputs"]["pose"]["path"] = str(tmp_path / "gone" / "pose.h5")
    (cls / "provenance.json").write_text(json.dumps(prov))
    meta = json.loads((cls / "session.json").read_text())
    meta.pop("source_session", None)
    meta["pose_file"] = str(tmp_path / "gone" / "pose.h5")
    (cls / "session.json").write_text(json.dumps(meta))
    assert main(["export-nwb", str(cls), "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "has no pose" in err and "gone" in err
    assert _no_files(out)


def test_changed_pose_is_refused(folders, tmp_path):
    sim = tmp_path / "sim"
    shutil.copytree(folders["session"], sim)
    cls = tmp_path / "cls"
    shutil.copytree(folders["classified"], cls)
    prov = json.loads((cls / "provenance.json").read_text())
    prov["inputs"]["pose"]["path"] = str(sim / "pose.h5")
    (cls / "provenance.json").write_text(json.dumps(prov))
    with open(sim / "pose.h5", "ab") as f:
        f.write(b"\0")
    with pytest.raises(InputError, match="changed since it was classified"):
        collect_session(cls)


def test_unwritable_out_is_refused(folders, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["export-nwb", str(folders["session"]), "--out", str(afile)]) == 2
    assert "is a file, not an output folder" in _one_line_error(capsys)
    assert main(["export-nwb", str(folders["session"]), "--out", str(afile / "sub")]) == 2
    assert "cannot be created" in _one_line_error(capsys)
    assert afile.read_text() == "x"


def test_two_sessions_with_one_name_are_refused_before_writing(folders, tmp_path):
    other = tmp_path / "x" / "classified"
    shutil.copytree(folders["classified"], other)
    with pytest.raises(InputError, match="would be exported as classified.nwb"):
        export_nwb([folders["classified"], other], tmp_path / "o")
    assert _no_files(tmp_path / "o")


def test_a_failed_write_leaves_no_partial_file(folders, tmp_path, monkeypatch):
    target = tmp_path / "o" / "classified.nwb"
    target.parent.mkdir()
    target.write_bytes(b"earlier")

    def boom(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", boom)
    with pytest.raises(OSError):
        export_nwb([folders["classified"]], tmp_path / "o")
    assert target.read_bytes() == b"earlier"  # the earlier file is kept, nothing half-written
    assert sorted(p.name for p in target.parent.iterdir()) == ["classified.nwb"]


def test_nwb_that_is_not_a_behavtrack_export_is_refused(folders, exported, tmp_path):
    from movement.io import save_poses

    from behavtrack.io.pose import load_pose

    # an ndx-pose file written by movement alone: a pose, but no behavtrack record
    pose = load_pose(folders["session"] / "pose.h5", fps=30.0).sel(individual=["mouse1"])
    plain = tmp_path / "plain.nwb"
    with pynwb.NWBHDF5IO(str(plain), "w") as io:
        io.write(save_poses.to_nwb_file(pose))
    with pytest.raises(InputError, match=r"not a behavtrack NWB export: it has no "
                       r"scratch/behavtrack metadata \(it has processing/behavior\)"):
        load_nwb_session(plain)
    assert not is_behavtrack_nwb(plain)
    assert load_nwb_pose(plain).sizes["individual"] == 1  # still readable as a pose file
    text = tmp_path / "text.nwb"
    text.write_text("not hdf5")
    with pytest.raises(InputError, match="is not an NWB file"):
        load_nwb_session(text)
    # an export that lost a part its record names
    import h5py

    broken = tmp_path / "broken.nwb"
    shutil.copy(exported["classified"], broken)
    with h5py.File(broken, "a") as f:
        del f["processing/behavior/PoseEstimation_mouse2"]
    with pytest.raises(InputError, match="lacks processing/behavior/PoseEstimation_mouse2"):
        load_nwb_session(broken)
    try:
        load_nwb_session(broken)
    except InputError as exc:
        assert "\n" not in str(exc)


def test_export_nwb_given_a_file_says_it_takes_folders(exported, tmp_path, capsys):
    assert main(["export-nwb", str(exported["session"]), "--out", str(tmp_path / "o")]) == 2
    assert "is an NWB file already, not a folder" in _one_line_error(capsys)
