"""Features from any body-part set: aliases, body axis, scale, pair distances, window stats."""

import numpy as np
import pandas as pd
import pytest
from _classify_helpers import make_pose, still_pair
from movement.io import load_poses

from behavtrack.cli import main
from behavtrack.features import compute_features
from behavtrack.features.body import body_axis, estimate_scale
from behavtrack.features.table import feature_request, is_feature_name
from behavtrack.features.windows import window_statistics
from behavtrack.io.aliases import canonical_names
from behavtrack.io.arena import default_arena
from behavtrack.io.pose import load_pose, save_pose


def _pose(keypoints, positions, fps=30.0, conf=None):
    """positions: (time, keypoint, individual, 2)."""
    pos = np.moveaxis(np.asarray(positions, dtype=float), -1, 1)
    t, _, k, n = pos.shape
    conf = np.ones((t, k, n)) if conf is None else conf
    return load_poses.from_numpy(pos, conf, individual_names=[f"m{i}" for i in range(n)],
                                 keypoint_names=list(keypoints), fps=fps)


def test_alias_table_reads_tail_neck_hips_and_prefers_the_closer_alias():
    assert canonical_names(["nose", "leftear", "rightear", "neck", "lefthip", "righthip",
                            "tail"]) == ["nose", "left_ear", "right_ear", "neck", "left_hip",
                                         "right_hip", "tail_base"]
    # a file with both: "tailbase" is the tail base, "tail" keeps its name
    assert canonical_names(["tail", "tailbase"]) == ["tail", "tail_base"]
    assert canonical_names(["Snout", "Head_Center", "Spine"]) == ["nose", "head", "centroid"]
    # the user's alias wins over the table
    assert canonical_names(["tail", "tail_end"], {"tail_end": "tail_base"}) == ["tail",
                                                                                 "tail_base"]


def test_body_axis_falls_back_to_the_most_anterior_and_posterior_parts():
    # ears at x=100 (y 90/110), neck x=90, hips at x=40 (y 90/110): no nose, no tail base
    frame = [[[100, 90]], [[100, 110]], [[90, 100]], [[40, 90]], [[40, 110]]]
    pos = np.array([frame] * 3, dtype=float)
    ax = body_axis(pos, ["left_ear", "right_ear", "neck", "left_hip", "right_hip"])
    assert (ax.front_name, ax.back_name, ax.length_cm) == ("ears", "hips", 4.5)
    np.testing.assert_allclose(ax.front[0, 0], [100, 100])
    np.testing.assert_allclose(ax.back[0, 0], [40, 100])
    # a lost front part falls back to the next one, frame by frame
    pos[1, 0:2] = np.nan
    ax = body_axis(pos, ["left_ear", "right_ear", "neck", "left_hip", "right_hip"])
    np.testing.assert_allclose(ax.front[1, 0], [90, 100])
    # a centroid alone gives no axis
    ax = body_axis(pos[:, 2:3], ["centroid"])
    assert ax.front_name is None and np.isnan(ax.front).all()


def test_features_without_nose_or_tail_base_say_what_is_approximated():
    n = 40
    frame = [[[100, 90]], [[100, 110]], [[90, 100]], [[40, 90]], [[40, 110]]]
    pos = np.array([frame] * n, dtype=float)
    pose = _pose(["left_ear", "right_ear", "neck", "left_hip", "right_hip"], pos)
    df = compute_features(pose)
    notes = " ".join(df.attrs["notes"])
    assert "no nose: nose features use the ears" in notes
    assert "no tail base: the body axis ends at the hips" in notes
    # heading from hips to ears is known: body length = 60 px over 4.5 cm on a mouse
    assert df.attrs["px_per_cm"] == pytest.approx(60 / 4.5)
    assert df["body_length"].iloc[5] == pytest.approx(4.5)
    assert df.attrs["body_axis"] == ["ears", "hips"]


def test_unknown_body_part_names_keep_the_work_going_with_one_note():
    pos = np.random.default_rng(0).normal(200, 5, (30, 3, 2, 2))
    pose = _pose(["p1", "p2", "p3"], pos)
    df = compute_features(pose)
    note = [n for n in df.attrs["notes"] if "none of the body parts" in n]
    assert len(note) == 1 and "--alias" in note[0] and "heading" in note[0]
    assert df["turn_rate"].isna().all() and df["speed"].notna().any()
    assert "nose_nose" in df.columns  # from the body centres


def test_scale_is_estimated_from_confident_frames_and_recorded():
    centers = np.zeros((200, 2, 2))
    centers[:, 0] = [200, 200]
    centers[:, 1] = [500, 300]
    conf = np.ones((200, 5, 2))
    conf[:50] = 0.6  # unconfident frames (ignored by the estimate) ...
    pose = make_pose(centers, np.zeros((200, 2)), body_px=160.0, confidence=conf)
    pos = pose["position"].values.copy()
    pos[:50, :, 4, :] += 80.0  # ... where the tail base is misplaced
    pose["position"].values[:] = pos
    df = compute_features(pose, min_confidence=0.5)
    assert df.attrs["px_per_cm"] == pytest.approx(160 / 8.0)
    assert df.attrs["scale_source"].startswith("estimated from the body axis nose-tail_base")
    assert "300 confident frames" in df.attrs["scale_source"]
    ax = body_axis(np.full((5, 2, 1, 2), np.nan), ["nose", "tail_base"])
    assert estimate_scale(ax)[0] is None


def test_pair_keypoint_distances_and_pair_features_by_hand():
    df = compute_features(still_pair(), default_arena(), pair_keypoints=True)
    m1 = df.xs("mouse1", level="individual").iloc[30]
    m2 = df.xs("mouse2", level="individual").iloc[30]
    # mouse1 nose at 300, tail base at 180; mouse2 nose at 340, tail base at 460 (15 px/cm)
    assert m1["dist__nose__nose"] == pytest.approx(40 / 15)
    assert m1["dist__nose__tail_base"] == pytest.approx(160 / 15)
    assert m2["dist__nose__tail_base"] == pytest.approx(160 / 15)
    assert m1["dist__tail_base__nose"] == pytest.approx(160 / 15)
    assert m1["pair_min_dist"] == pytest.approx(40 / 15)
    assert m1["centroid_dist"] == pytest.approx(160 / 15)
    assert m1["relative_heading"] == pytest.approx(180)
    assert m1["partner_facing"] == pytest.approx(0, abs=1e-6)
    assert m1["closing_speed"] == pytest.approx(0)
    assert sum(c.startswith("dist__") for c in df.columns) == 25
    assert "dist__nose__nose" not in compute_features(still_pair()).columns


def test_window_statistics_match_pandas_rolling_with_missing_values():
    rng = np.random.default_rng(3)
    v = rng.normal(size=200)
    v[rng.random(200) < 0.2] = np.nan
    got = window_statistics(v, 30.0, ["mean", "std", "min", "max"], 0.3)  # 9 frames
    roll = pd.Series(v).rolling(9, center=True, min_periods=1)
    np.testing.assert_allclose(got["mean"], roll.mean(), rtol=1e-9)
    np.testing.assert_allclose(got["std"], roll.std(ddof=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["min"], roll.min())
    np.testing.assert_allclose(got["max"], roll.max())


def test_window_features_are_named_parsed_and_computed_on_request():
    df = compute_features(still_pair(), windows=["nose_nose", "speed"], window_s=(1.0,),
                          window_stats=("mean", "max"))
    assert "nose_nose__mean1000ms" in df.columns and "speed__max1000ms" in df.columns
    assert is_feature_name("nose_nose__mean1000ms") and is_feature_name("dist__neck__nose")
    assert not is_feature_name("foo__mean1000ms")
    req = feature_request(["speed", "dist__nose__neck__min333ms", "speed__max1000ms"])
    assert req == {"pair_keypoints": True,
                   "windows": {"dist__nose__neck": {"min": [0.333]}, "speed": {"max": [1.0]}}}
    again = compute_features(still_pair(), **feature_request(list(df.columns)))
    pd.testing.assert_frame_equal(again[df.columns], df)


def test_alias_option_renames_body_parts_on_every_pose_command(tmp_path, capsys):
    pose = still_pair()
    pose = pose.assign_coords(keypoint=["snout_tip", "ear_l", "ear_r", "middle", "tail_end"])
    path = tmp_path / "odd.csv"
    save_pose(pose, path)
    assert main(["info", str(path), "--fps", "30", "--json"]) == 0
    assert "snout_tip" in capsys.readouterr().out
    assert main(["info", str(path), "--fps", "30", "--json", "--alias", "snout_tip=nose",
                 "--alias", "tail_end=tail_base"]) == 0
    out = capsys.readouterr().out
    assert '"nose"' in out and '"tail_base"' in out
    ds = load_pose(path, fps=30, aliases={"snout_tip": "nose", "tail_end": "tail_base"})
    assert "nose" in ds["keypoint"].values
    assert main(["-q", "classify", str(path), "--fps", "30", "--alias", "snout_tip=nose",
                 "--alias", "tail_end=tail_base", "--out", str(tmp_path / "o")]) == 0
    assert main(["info", str(path), "--alias", "snout_tip"]) == 2
    err = capsys.readouterr().err
    assert "--alias: 'snout_tip' is not OLD=NEW" in err and len(err.strip().splitlines()) == 1
    assert main(["classify", str(path), "--fps", "30", "--alias", "snout_tip=snoot",
                 "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "'snoot' is not a canonical body part" in err
    assert not (tmp_path / "o2").exists()
