import numpy as np
import pandas as pd

from behavtrack.cli import main
from behavtrack.io.bouts import bouts_to_frames, frames_to_bouts
from behavtrack.strategies import load_model
from behavtrack.strategies.pipeline import labeled_from_boris


def _boris_export(sess, path, rename):
    """Write the simulator's truth as a BORIS "new" tabular export (START/STOP rows)."""
    fps = sess.meta["fps"]
    rows = []
    for ind in ("mouse1", "mouse2"):
        lab = sess.labels[sess.labels["individual"] == ind].sort_values("frame")
        bouts = frames_to_bouts(lab["behavior"].to_numpy(object), fps, ind, skip=("other",))
        for b in bouts.itertuples():
            for kind, frame in (("START", b.start_frame), ("STOP", b.stop_frame)):
                rows.append({"Observation id": "obs1", "Subject": rename[ind],
                             "Behavior": "Interact" if b.behavior == "interaction"
                             else b.behavior, "Behavior type": kind,
                             "Time": round(frame / fps, 4), "Image index": frame, "FPS": fps})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_boris_export_with_pose_trains_and_labels_frames(tmp_path):
    from behavtrack.simulate import simulate_session, write_session

    sess = simulate_session(day=6, pair=31, duration_s=60, seed=77)
    folder = write_session(sess, tmp_path / "s", pose_formats=("pose.h5",))
    rename = {"mouse1": "left mouse", "mouse2": "right mouse"}
    _boris_export(sess, tmp_path / "boris.csv", rename)
    ls = labeled_from_boris(tmp_path / "boris.csv", folder / "pose.h5",
                            arena=folder / "arena.yaml", events=folder / "events.csv",
                            behavior_map={"interact": "interaction"},
                            subject_map={"left mouse": "mouse1", "right mouse": "mouse2"})
    for ind in ("mouse1", "mouse2"):
        truth = sess.labels[sess.labels["individual"] == ind].sort_values("frame")
        assert (ls.labels[ind] == truth["behavior"].to_numpy(object)).all()
    assert "since_poke" in ls.features.columns
    code = main(["-q", "train", "--boris", str(tmp_path / "boris.csv"), "--pose",
                 str(folder / "pose.h5"), "--arena", str(folder / "arena.yaml"),
                 "--events", str(folder / "events.csv"),
                 "--behavior-map", "interact=interaction", "--subject-map",
                 "left mouse=mouse1", "--subject-map", "right mouse=mouse2",
                 "--out", str(tmp_path / "m.json")])
    assert code == 0
    model = load_model(tmp_path / "m.json")
    assert model.state_counts_.sum() == 2 * sess.meta["n_frames"]
    # without the subject map the BORIS subjects match no individual: one-line error
    assert main(["-q", "train", "--boris", str(tmp_path / "boris.csv"), "--pose",
                 str(folder / "pose.h5"), "--arena", str(folder / "arena.yaml"),
                 "--out", str(tmp_path / "m2.json")]) == 2
    assert main(["-q", "train", "--boris", str(tmp_path / "boris.csv"),
                 "--out", str(tmp_path / "m3.json")]) == 2
    # frames outside the BORIS bouts are "other"
    b = pd.DataFrame({"individual": ["x"], "behavior": ["approach"], "start_frame": [2],
                      "stop_frame": [4], "start_s": [0.2], "stop_s": [0.4]})
    assert bouts_to_frames(b, 6, 10.0, "x").tolist() == ["other", "other", "approach",
                                                         "approach", "other", "other"]
    assert np.isfinite(model.frame_proba(ls.features.xs("mouse1", level="individual"))).all()
