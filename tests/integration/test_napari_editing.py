"""The Qt-free parts of the review plugin: bout editing, arena shapes, session load/save."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.files import sha256
from behavtrack.io.arena import default_arena, load_arena
from behavtrack.io.bouts import bouts_to_frames, frames_to_bouts, read_bouts_csv
from behavtrack.napari.arena_layer import arena_to_shapes, shapes_to_arena
from behavtrack.napari.editing import BoutEditor
from behavtrack.napari.session import (
    add_to_labeled_examples,
    load_review_session,
    save_reviewed_bouts,
)

FPS = 10.0


def _editor() -> BoutEditor:
    labels = np.array(["other"] * 5 + ["approach"] * 10 + ["waiting"] * 10 + ["interaction"] * 5)
    bouts = pd.concat([
        frames_to_bouts(labels, FPS, "mouse1", confidence=np.full(30, 0.9)),
        frames_to_bouts(labels[::-1], FPS, "mouse2"),
    ])
    return BoutEditor(bouts, FPS, 30)


def _spans(ed: BoutEditor, ind: str) -> list[tuple[str, int, int]]:
    b = ed.bouts_of(ind)
    return list(zip(b["behavior"], b["start_frame"], b["stop_frame"], strict=True))


def test_relabel_split_merge_delete_make_undo_redo():
    ed = _editor()
    calls = []
    ed.connect(lambda: calls.append(1))
    ed.relabel("mouse1", 7, "waiting")
    assert _spans(ed, "mouse1")[1] == ("waiting", 5, 15)
    assert np.isnan(ed.bout_at("mouse1", 7)["confidence"])
    assert ed.bout_at("mouse1", 0)["confidence"] == pytest.approx(0.9)
    ed.split("mouse1", 18)
    assert _spans(ed, "mouse1") == [("other", 0, 5), ("waiting", 5, 15), ("waiting", 15, 18),
                                    ("waiting", 18, 25), ("interaction", 25, 30)]
    ed.merge("mouse1", 16, "previous")
    assert _spans(ed, "mouse1")[1] == ("waiting", 5, 18)
    ed.delete("mouse1", 26)
    assert ed.bout_at("mouse1", 26) is None
    ed.make_bout("mouse1", 10, 20, "interaction")  # cuts through two bouts
    assert _spans(ed, "mouse1") == [("other", 0, 5), ("waiting", 5, 10), ("interaction", 10, 20),
                                    ("waiting", 20, 25)]
    ed.make_bout("mouse1", 2, 3, "approach")  # inside one bout: splits it
    assert _spans(ed, "mouse1")[:3] == [("other", 0, 2), ("approach", 2, 3), ("other", 3, 5)]
    assert len(calls) == 6
    # mouse2 untouched by all of it
    assert _spans(ed, "mouse2") == [("interaction", 0, 5), ("waiting", 5, 15),
                                    ("approach", 15, 25), ("other", 25, 30)]
    for _ in range(6):
        ed.undo()
    assert _spans(ed, "mouse1") == [("other", 0, 5), ("approach", 5, 15), ("waiting", 15, 25),
                                    ("interaction", 25, 30)]
    assert not ed.can_undo()
    ed.redo()
    assert _spans(ed, "mouse1")[1] == ("waiting", 5, 15)
    ed.make_bout("mouse2", 0, 1, "other")  # a new edit clears the redo stack
    assert not ed.can_redo()
    # seconds follow frames
    b = ed.bouts
    assert np.allclose(b["start_s"], b["start_frame"] / FPS)
    assert np.allclose(b["duration_s"], (b["stop_frame"] - b["start_frame"]) / FPS)


def test_neighbour_bouts():
    ed = _editor()
    ed.delete("mouse1", 16)  # mouse1: other 0-5, approach 5-15, (gap 15-25), interaction 25-30
    assert ed.neighbour_start("mouse1", 7, "next") == 25
    assert ed.neighbour_start("mouse1", 7, "previous") == 0
    assert ed.neighbour_start("mouse1", 20, "previous") == 5  # in the gap
    assert ed.neighbour_start("mouse1", 2, "previous") is None
    assert ed.neighbour_start("mouse1", 26, "next") is None


def test_bad_edits_are_input_errors_and_change_nothing():
    ed = _editor()
    before = ed.bouts
    with pytest.raises(InputError, match="no bout of 'mouse1' at frame 40"):
        ed.relabel("mouse1", 40, "waiting")
    with pytest.raises(InputError, match="unknown behaviour 'sleeping'"):
        ed.relabel("mouse1", 3, "sleeping")
    with pytest.raises(InputError, match="unknown individual"):
        ed.split("mouse9", 3)
    with pytest.raises(InputError, match="first frame"):
        ed.split("mouse1", 5)
    with pytest.raises(InputError, match="no next bout"):
        ed.merge("mouse1", 29, "next")
    pd.testing.assert_frame_equal(ed.bouts, before)
    assert not ed.can_undo()


def test_overlapping_bouts_are_refused():
    bouts = pd.DataFrame({"individual": ["m", "m"], "behavior": ["waiting", "other"],
                          "start_frame": [0, 5], "stop_frame": [10, 12]})
    with pytest.raises(InputError, match="overlap at frame 5"):
        BoutEditor(bouts, FPS, 20, source="x.csv")


def test_frame_labels_match_bouts_to_frames():
    ed = _editor()
    ed.delete("mouse1", 0)
    labels = ed.frame_labels()
    m1 = labels[labels["individual"] == "mouse1"]["behavior"].to_numpy()
    assert list(m1[:5]) == ["other"] * 5  # unlabelled frames are filled
    assert (m1 == bouts_to_frames(ed.bouts, 30, FPS, "mouse1")).all()
    assert np.allclose(labels["time_s"], labels["frame"] / FPS)


def test_arena_shapes_round_trip_and_drawn_arena():
    arena = default_arena()
    data, kwargs, kind = arena_to_shapes(arena)
    assert kind == "shapes" and len(data) == 1 + 2 * 3
    back = shapes_to_arena(data, kwargs["shape_type"], kwargs["features"], base=arena)
    assert back.to_dict() == arena.to_dict()
    # a user draws the two compartments and a partition from scratch, no base arena
    drawn = [np.array([[0, 0], [0, 100], [50, 100], [50, 0]]),  # (y, x): left half
             np.array([[0, 100], [0, 200], [50, 200], [50, 100]]),
             np.array([[0, 100], [50, 100]]),
             np.array([[10, 150], [10, 170], [30, 170], [30, 150]])]
    feats = pd.DataFrame({"role": ["compartment", "compartment", "partition", "poke_port"],
                          "compartment": ["", "", "", "right"]})
    a = shapes_to_arena(drawn, ["polygon", "polygon", "path", "ellipse"], feats,
                        frame_size=(200, 50))
    assert list(a.compartments) == ["left", "right"]
    assert a.compartment_of_individual("mouse1").name == "left"
    assert a.compartments["right"].poke_port.center == (160.0, 20.0)
    assert a.compartments["right"].poke_port.radius == 10.0
    assert a.distance_to_partition(np.array([[90.0, 25.0]])) == pytest.approx(10.0)
    with pytest.raises(InputError, match="compartment 'middle', which is not drawn"):
        shapes_to_arena(drawn, ["polygon", "polygon", "path", "ellipse"],
                        feats.assign(compartment=["", "", "", "middle"]))


#: Frames of the real openfield video's sample (tests/data/video/openfield).
N = 451


def _session_folder(tmp_path, sample_data):
    """A small session folder: the real openfield video and DLC pose, hand-made bouts."""
    src = sample_data / "video" / "openfield"
    folder = tmp_path / "openfield"
    folder.mkdir()
    shutil.copy(src / "m3v1mp4_dlc_predictions.csv", folder / "pose.csv")
    (folder / "session.json").write_text(json.dumps({"fps": 30.0, "pair": 0, "session": 0}))
    return folder, src / "m3v1mp4.mp4"


def test_session_save_and_labeled_example(tmp_path, sample_data):
    folder, video = _session_folder(tmp_path, sample_data)
    sess = load_review_session(folder, video=video)
    assert sess.n_frames == N and sess.fps == 30.0
    ind = sess.individuals[0]
    assert sess.bouts.empty and sess.video_path == video
    ed = BoutEditor(sess.bouts, sess.fps, sess.n_frames, sess.individuals)
    ed.make_bout(ind, 0, 300, "approach")
    ed.make_bout(ind, 300, N, "waiting")
    ed.split(ind, 400)
    ed.relabel(ind, 420, "interaction")
    path = save_reviewed_bouts(sess, ed.bouts)
    back = read_bouts_csv(path)
    assert back[["behavior", "start_frame", "stop_frame"]].values.tolist() == [
        ["approach", 0, 300], ["waiting", 300, 400], ["interaction", 400, N]]
    again = load_review_session(folder, video=video)
    assert again.bouts_path == path and len(again.bouts) == 3
    ex = add_to_labeled_examples(again, tmp_path / "examples")
    assert sorted(p.name for p in ex.iterdir()) == ["bouts.csv", "labels.csv", "pose.csv",
                                                    "session.json"]
    labels = pd.read_csv(ex / "labels.csv")
    assert len(labels) == N
    assert labels.loc[399, "behavior"] == "waiting"
    assert labels.loc[400, "behavior"] == "interaction"
    meta = json.loads((ex / "session.json").read_text())
    assert meta["labels_source"] == "review" and meta["n_frames"] == N and meta["pair"] == 0
    assert (video.parent / "m3v1mp4.mp4").is_file()  # inputs untouched
    assert not (sample_data / "video" / "openfield" / "bouts.csv").exists()


def test_session_errors(tmp_path):
    with pytest.raises(InputError, match="is not a folder"):
        load_review_session(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither a pose file nor a video"):
        load_review_session(tmp_path / "empty")


def test_arena_saved_from_session(tmp_path):
    arena = default_arena()
    data, kwargs, _ = arena_to_shapes(arena)
    data[0] = data[0] + np.array([0.0, 5.0])  # move the partition 5 px right
    moved = shapes_to_arena(data, kwargs["shape_type"], kwargs["features"], base=arena)
    from behavtrack.io.arena import save_arena

    save_arena(moved, tmp_path / "arena.yaml")
    loaded = load_arena(tmp_path / "arena.yaml")
    assert np.allclose(loaded.partition[:, 0], 325.0)
    assert loaded.window_s == arena.window_s and loaded.px_per_cm == arena.px_per_cm


def test_classify_output_folder_finds_its_session(tmp_path, sample_data):
    """A classify output folder has no pose: the one its provenance.json names is used."""
    from behavtrack.export.provenance import file_record, write_provenance
    from behavtrack.io.arena import save_arena

    session, video = _session_folder(tmp_path, sample_data)
    shutil.copy(video, session / "video.mp4")
    save_arena(default_arena(), session / "arena.yaml")
    out = tmp_path / "classified"
    out.mkdir()
    write_provenance(out / "provenance.json",
                     inputs={"pose": file_record(session / "pose.csv"), "session": str(session),
                             "arena": file_record(session / "arena.yaml"), "events": None},
                     model=None, parameters={}, notes=[])
    (out / "session.json").write_text(json.dumps({"fps": 30.0, "n_frames": N,
                                                  "poke_source": "pose"}))
    labels = np.array(["waiting"] * 200 + ["other"] * (N - 200))
    from behavtrack.io.bouts import write_bouts_csv

    write_bouts_csv(frames_to_bouts(labels, 30.0, "individual_0"), out / "bouts.csv", 30.0)
    sess = load_review_session(out)
    assert sess.folder == out and sess.pose_path == session / "pose.csv"
    assert sess.video_path == session / "video.mp4" and sess.arena is not None
    assert sess.meta["poke_source"] == "pose" and sess.meta["pair"] == 0
    assert len(sess.bouts) == 2 and sess.n_frames == N
    ed = BoutEditor(sess.bouts, sess.fps, sess.n_frames, sess.individuals)
    ed.relabel("individual_0", 10, "approach")
    save_reviewed_bouts(sess, ed.bouts)
    assert read_bouts_csv(out / "bouts.csv")["behavior"].tolist() == ["approach", "other"]
    assert not (session / "bouts.csv").exists()  # the source session is not touched


def test_module_entry_point_rejects_bad_input_without_a_window(tmp_path, capsys):
    from behavtrack.napari.__main__ import main

    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("missing: is not a folder (give a session folder or a .nwb export)")
    assert len(err.splitlines()) == 1


def test_review_a_real_classify_output_then_train_reads_the_correction(tmp_path):
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.strategies.pipeline import load_labeled_session
    from behavtrack.workflows.classify import classify_session

    sim = write_session(simulate_session(day=8, duration_s=20.0, seed=5), tmp_path / "sim",
                        video=True)
    before = {p.name: sha256(p) for p in sim.iterdir()}
    result = classify_session(sim, tmp_path / "out", png=False)
    sess = load_review_session(tmp_path / "out")
    assert sess.pose_path == sim / "pose.h5" and sess.video_path == sim / "video.mp4"
    assert sess.arena is not None and sess.individuals == ["mouse1", "mouse2"]
    pd.testing.assert_frame_equal(
        sess.bouts[["individual", "behavior", "start_frame", "stop_frame"]],
        result.bouts[["individual", "behavior", "start_frame", "stop_frame"]]
        .sort_values(["individual", "start_frame"]).reset_index(drop=True),
        check_dtype=False)
    ed = BoutEditor(sess.bouts, sess.fps, sess.n_frames, sess.individuals)
    ed.make_bout("mouse1", 100, 160, "interaction")
    save_reviewed_bouts(sess, ed.bouts)
    ex = add_to_labeled_examples(sess, tmp_path / "examples", ed.bouts)
    assert ex == tmp_path / "examples" / "out"
    learned = load_labeled_session(ex)
    assert (learned.labels["mouse1"][100:160] == "interaction").all()
    want = bouts_to_frames(ed.bouts, sess.n_frames, sess.fps, "mouse2")
    assert (learned.labels["mouse2"] == want).all()
    # the classified session folder itself is untouched: only the output folder got the edits
    assert {p.name: sha256(p) for p in sim.iterdir()} == before


def test_pose_layers_points_and_tracks():
    import xarray as xr

    from behavtrack.napari.pose_layers import MAX_TRACKED_POSITIONS, pose_layer_data

    def poses(n):
        rng = np.random.default_rng(0)
        pos = rng.uniform(0, 100, size=(n, 2, 5, 2))
        pos[3, :, 1, 0] = np.nan  # a missing left ear of mouse1 at frame 3
        return xr.Dataset(
            {"position": (("time", "space", "keypoint", "individual"), pos),
             "confidence": (("time", "keypoint", "individual"), np.ones((n, 5, 2)))},
            coords={"time": np.arange(n) / 30.0, "space": ["x", "y"],
                    "keypoint": ["nose", "left_ear", "right_ear", "centroid", "tail_base"],
                    "individual": ["mouse1", "mouse2"]})

    ds = poses(100)
    layers = pose_layer_data(ds)
    assert [(kw["name"], kind) for _, kw, kind in layers] == [
        ("mouse1 keypoints", "points"), ("mouse1 tracks", "tracks"),
        ("mouse2 keypoints", "points"), ("mouse2 tracks", "tracks")]
    points, kw, _ = layers[0]
    assert len(points) == 100 * 5 - 1  # the NaN position is left out
    at3 = points[points[:, 0] == 3]
    assert kw["features"]["keypoint"][points[:, 0] == 3].tolist() == [
        "nose", "right_ear", "centroid", "tail_base"]
    np.testing.assert_allclose(at3[:, 1:], ds["position"].isel(time=3, individual=0)
                               .sel(keypoint=["nose", "right_ear", "centroid", "tail_base"])
                               .sel(space=["y", "x"]).to_numpy().T)
    tracks = layers[1][0]
    assert len(np.unique(tracks[:, 0])) == 5
    order = np.lexsort((tracks[:, 1], tracks[:, 0]))
    assert (order == np.arange(len(tracks))).all()  # sorted by track, then frame
    # a long session tracks the centroid only
    n = MAX_TRACKED_POSITIONS // 5 + 1
    long_tracks = pose_layer_data(poses(n))[1][0]
    assert np.unique(long_tracks[:, 0]).tolist() == [3.0] and len(long_tracks) == n


def test_batch_output_tracked_from_a_video_finds_the_video(tmp_path):
    from behavtrack.batch import SessionJob, run_session
    from behavtrack.simulate import simulate_session, write_session

    sim = write_session(simulate_session(day=8, duration_s=10.0, seed=5), tmp_path / "sim",
                        video=True)
    shutil.copy(sim / "video.mp4", tmp_path / "rec.mp4")
    job = SessionJob(session_id="rec", kind="video", path=str(tmp_path / "rec.mp4"),
                     arena=str(sim / "arena.yaml"))
    assert run_session(job, tmp_path / "out")["status"] == "done"
    sess = load_review_session(tmp_path / "out" / "sessions" / "rec")
    assert sess.video_path == tmp_path / "rec.mp4"
    assert sess.pose_path.parent == tmp_path / "out" / "sessions" / "rec"
    assert sess.n_frames == 300 and len(sess.bouts) > 0


def test_labeled_example_of_a_session_reviewed_with_another_pose_file(tmp_path):
    """session.json of the example names the pose file it holds, not the source's."""
    from behavtrack.io.session import load_session
    from behavtrack.simulate import simulate_session, write_session

    sim = write_session(simulate_session(duration_s=5.0, seed=3), tmp_path / "sim")
    assert json.loads((sim / "session.json").read_text())["files"]["pose"] == "pose.h5"
    sess = load_review_session(sim, pose=sim / "pose.csv")
    ex = add_to_labeled_examples(sess, tmp_path / "examples")
    example = load_session(ex)
    assert example.pose_path == ex / "pose.csv" and not (ex / "pose.h5").exists()
    assert np.allclose(example.load_pose()["position"].values,
                       sess.pose["position"].values, equal_nan=True)


def test_review_command_bad_input_and_missing_napari(tmp_path, capsys, monkeypatch):
    """``behavtrack review``: one line under its own name, exit 2; no napari: how to get it."""
    import sys

    from behavtrack.cli import main
    from behavtrack.simulate import simulate_session, write_session

    assert main(["review", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"behavtrack review: error: {tmp_path / 'missing'}: is not a folder "
                   "(give a session folder or a .nwb export)")
    sim = write_session(simulate_session(duration_s=2.0, seed=1), tmp_path / "sim")
    monkeypatch.setitem(sys.modules, "napari", None)  # as if napari were not installed
    assert main(["review", str(sim)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("behavtrack review: error: behavtrack review: needs napari")
    assert "pip install 'behavtrack[napari]'" in err and len(err.splitlines()) == 1


def test_bouts_the_editor_cannot_take_fail_when_the_session_is_read(tmp_path):
    """An unknown behaviour is reported by load_review_session (before napari opens)."""
    from behavtrack.io.bouts import write_bouts_csv
    from behavtrack.simulate import simulate_session, write_session

    sim = write_session(simulate_session(duration_s=5.0, seed=3), tmp_path / "sim")
    bouts = read_bouts_csv(sim / "bouts.csv")
    bouts.loc[0, "behavior"] = "sniff"
    write_bouts_csv(bouts, tmp_path / "bad.csv", 30.0)
    with pytest.raises(InputError, match=r"bad.csv: unknown behaviour 'sniff'"):
        load_review_session(sim, bouts=tmp_path / "bad.csv")
