"""Session folders: written files load through behavtrack's readers and match the truth."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from _simulate_helpers import session, truth_xy

from behavtrack.io.arena import load_arena
from behavtrack.io.bouts import bouts_to_frames, read_bouts_csv
from behavtrack.io.events import load_events
from behavtrack.io.pose import load_pose
from behavtrack.io.session import load_session
from behavtrack.simulate import render_video, simulate_session, write_session


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    sess = session(day=7, seed=5, duration_s=60.0)
    folder = write_session(sess, tmp_path_factory.mktemp("sim") / "pair01" / "day08")
    return sess, folder


def test_folder_holds_the_session_files(written):
    _, folder = written
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["arena.yaml", "bouts.csv", "events.csv", "labels.csv", "pose.analysis.h5",
                     "pose.csv", "pose.h5", "session.json"]  # no temporary files left


@pytest.mark.parametrize("name", ["pose.h5", "pose.csv", "pose.analysis.h5"])
def test_pose_files_load_with_behavtrack_and_match(written, name):
    sess, folder = written
    ds = load_pose(folder / name, fps=30.0)
    assert list(ds.individual.values) == ["mouse1", "mouse2"]
    assert list(ds.keypoint.values) == ["nose", "left_ear", "right_ear", "centroid", "tail_base"]
    assert ds.sizes["time"] == sess.n_frames
    a = ds["position"].transpose("time", "space", "keypoint", "individual").values
    b = sess.pose["position"].values
    assert np.array_equal(np.isnan(a), np.isnan(b))
    tol = 1e-3 if name == "pose.analysis.h5" else 1e-6  # SLEAP stores float32
    np.testing.assert_allclose(a, b, atol=tol, equal_nan=True)
    c = ds["confidence"].transpose("time", "keypoint", "individual").values
    np.testing.assert_allclose(c, sess.pose["confidence"].values, atol=1e-3)
    # the noisy pose is the truth plus tracker faults: most points are within 5 px
    err = np.linalg.norm(a - sess.truth_pose["position"].values, axis=1)
    assert np.nanmean(err < 5) > 0.9


def test_labels_bouts_events_arena_and_session_json_round_trip(written):
    sess, folder = written
    labels = pd.read_csv(folder / "labels.csv")
    assert list(labels.columns) == ["frame", "time_s", "individual", "behavior"]
    assert (labels["behavior"].to_numpy() == sess.labels["behavior"].to_numpy()).all()
    np.testing.assert_allclose(labels["time_s"], labels["frame"] / 30.0, atol=1e-6)
    bouts = read_bouts_csv(folder / "bouts.csv")
    for ind, g in sess.labels.groupby("individual"):
        frames = bouts_to_frames(bouts, sess.n_frames, 30.0, ind, fill="")
        assert (frames == g.sort_values("frame")["behavior"].to_numpy()).all()
    events = load_events(folder / "events.csv", fps=30.0)
    pokes = events[events["event"] == "poke"]
    ref = sess.events[sess.events["event"] == "poke"]
    np.testing.assert_array_equal(pokes["frame"].to_numpy(), ref["frame"].to_numpy())
    assert list(pokes["subject"]) == list(ref["subject"])
    arena = load_arena(folder / "arena.yaml")
    assert arena.window_s == sess.meta["window_s"] and arena.individuals == ["mouse1", "mouse2"]
    meta = json.loads((folder / "session.json").read_text())
    for key in ("source", "pair", "session", "day", "n_days", "progress", "fps", "n_frames",
                "window_s", "seed"):
        assert meta[key] == sess.meta[key]
    loaded = load_session(folder)
    assert loaded.pose_path.name == "pose.h5" and loaded.arena.window_s == meta["window_s"]
    assert loaded.labels is not None and len(loaded.labels) == 2 * sess.n_frames


def test_rendered_video_decodes_with_the_animals_where_the_truth_says(tmp_path):
    sess = simulate_session(day=8, duration_s=4.0, seed=9)
    path = render_video(sess, tmp_path / "video.mp4")
    cap = cv2.VideoCapture(str(path))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == sess.n_frames
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (640, 480)
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    finally:
        cap.release()
    assert len(frames) == sess.n_frames
    floor = []
    for t in range(0, sess.n_frames, 10):
        img = frames[t].astype(float)
        for ind in ("mouse1", "mouse2"):
            for kp in ("centroid", "tail_base"):
                x, y = np.round(truth_xy(sess, kp, ind)[t]).astype(int)
                patch = img[y - 1:y + 2, x - 1:x + 2]
                assert patch.mean() < 80, (t, ind, kp)  # a dark mouse on a light floor
            # half way between neck and nose lies the head
            nose = truth_xy(sess, "nose", ind)[t]
            ears = (truth_xy(sess, "left_ear", ind)[t] + truth_xy(sess, "right_ear", ind)[t]) / 2
            hx, hy = np.round((nose + ears) / 2).astype(int)
            assert img[hy, hx] < 90
        floor.append(img[60, 200])  # an empty spot of the floor
    assert np.median(floor) > 120


def test_write_session_with_video(tmp_path):
    sess = simulate_session(day=2, duration_s=1.0, seed=1)
    folder = write_session(sess, tmp_path / "s", video=True, pose_formats=("pose.h5",))
    assert (folder / "video.mp4").stat().st_size > 1000
    assert json.loads((folder / "session.json").read_text())["files"]["video"] == "video.mp4"
    assert not (folder / "pose.csv").exists()
