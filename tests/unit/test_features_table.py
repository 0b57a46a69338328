import numpy as np
import pandas as pd
import pytest
from _classify_helpers import make_pose, still_pair

from behavtrack.errors import InputError
from behavtrack.features import FEATURE_NAMES, FEATURES, clean_pose, compute_features
from behavtrack.features.clean import interpolate_gaps
from behavtrack.features.geometry import time_since
from behavtrack.io.arena import default_arena


def test_interpolate_gaps_fills_only_short_inner_gaps():
    v = np.array([np.nan, 1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0, np.nan])
    out, n = interpolate_gaps(v, 2)
    np.testing.assert_allclose(out, [np.nan, 1, 2, 3, np.nan, np.nan, np.nan, 7, np.nan])
    assert n == 1
    out, n = interpolate_gaps(v, 3)
    np.testing.assert_allclose(out[4:7], [4, 5, 6])
    assert n == 4


def test_feature_table_documents_every_feature():
    assert len(set(FEATURE_NAMES)) == len(FEATURES)
    assert all(f.unit and f.meaning for f in FEATURES)


def test_geometry_and_social_features_match_hand_computation():
    arena = default_arena()  # partition x = 320, 15 px/cm, poke ports at (42,140)/(598,140)
    df = compute_features(still_pair(), arena)
    m1 = df.xs("mouse1", level="individual").iloc[30]
    m2 = df.xs("mouse2", level="individual").iloc[30]
    # noses at 240+60 = 300 and 400-60 = 340
    assert m1["dist_partition"] == pytest.approx(20 / 15)
    assert m2["dist_partition"] == pytest.approx(20 / 15)
    assert m1["nose_nose"] == pytest.approx(40 / 15)
    assert m1["nose_partner_body"] == pytest.approx(100 / 15)
    assert m1["body_length"] == pytest.approx(120 / 15)
    assert m1["facing_partner"] == pytest.approx(0, abs=1e-6)
    assert m1["dist_poke"] == pytest.approx(np.hypot(300 - 42, 240 - 140) / 15)
    assert m2["dist_water"] == pytest.approx(np.hypot(598 - 340, 340 - 240) / 15)
    assert m1["speed"] == pytest.approx(0)
    assert m1["partner_at_port"] == 0
    assert list(df.columns) == [f for f in FEATURE_NAMES if f in df.columns]
    assert "since_poke" not in df.columns and df.attrs["skipped"]["events"] == "no events"


def test_speed_and_approach_of_a_moving_animal():
    n, fps = 90, 30.0
    centers = np.zeros((n, 2, 2))
    centers[:, 0, 0] = 60 + 1.5 * np.arange(n)  # 1.5 px/frame = 45 px/s = 3 cm/s towards x
    centers[:, 0, 1] = 240
    centers[:, 1] = [500, 240]
    pose = make_pose(centers, np.zeros((n, 2)), fps)
    df = compute_features(pose, default_arena()).xs("mouse1", level="individual")
    mid = df.iloc[20:70]
    np.testing.assert_allclose(mid["speed"], 3.0, rtol=1e-6)
    np.testing.assert_allclose(mid["partition_approach"], 3.0, rtol=1e-6)
    np.testing.assert_allclose(mid["partner_approach"], 3.0, rtol=1e-6)
    other = compute_features(pose, default_arena()).xs("mouse2", level="individual")
    np.testing.assert_allclose(other.iloc[20:70]["partner_speed"], 3.0, rtol=1e-6)
    np.testing.assert_allclose(other.iloc[20:70]["partner_approach"], 0.0, atol=1e-9)


def test_turn_rate_of_an_animal_turning_in_place():
    n, fps = 90, 30.0
    centers = np.zeros((n, 2, 2))
    centers[:, 0] = [240, 240]
    centers[:, 1] = [400, 240]
    headings = np.zeros((n, 2))
    headings[:, 0] = np.radians(90.0) * np.arange(n) / fps  # 90 deg/s, through +-180 deg
    headings[:, 1] = np.pi
    df = compute_features(make_pose(centers, headings, fps), default_arena())
    np.testing.assert_allclose(df.xs("mouse1", level="individual")["turn_rate"].iloc[10:80],
                               90.0, rtol=1e-6)
    np.testing.assert_allclose(df.xs("mouse2", level="individual")["turn_rate"], 0.0,
                               atol=1e-9)


def test_events_give_time_since_pokes():
    events = pd.DataFrame({"time_s": [0.5, 1.0], "subject": ["mouse1", "mouse2"],
                           "event": ["poke", "poke"], "frame": [15, 30]})
    df = compute_features(still_pair(60), default_arena(), events)
    m1 = df.xs("mouse1", level="individual")
    assert m1["since_poke"].iloc[14] == 30.0  # before any poke: capped
    assert m1["since_poke"].iloc[45] == pytest.approx(1.0)
    assert m1["since_partner_poke"].iloc[45] == pytest.approx(0.5)
    np.testing.assert_allclose(time_since(np.array([1, 3]), 5, 2.0, 9.0), [9, 0, 0.5, 0, 0.5])


def test_events_with_unknown_subjects_is_one_line_error():
    events = pd.DataFrame({"time_s": [0.5], "subject": ["rat7"], "event": ["poke"]})
    with pytest.raises(InputError, match="no event subject matches"):
        compute_features(still_pair(), default_arena(), events)


def test_low_confidence_and_identity_swaps_are_repaired():
    pose = still_pair(40)
    conf = pose["confidence"].values.copy()
    conf[5, :, 0] = 0.1  # mouse1 unsure at frame 5: dropped then interpolated
    pose["confidence"] = (pose["confidence"].dims, conf)
    pos = pose["position"].values.copy()
    pos[10:20] = pos[10:20][..., ::-1]  # tracker swapped identities for 10 frames
    pose["position"] = (pose["position"].dims, pos)
    cleaned, report = clean_pose(pose, default_arena())
    assert report.n_swapped_frames == 10
    assert report.n_low_confidence == 5
    np.testing.assert_allclose(cleaned["position"].values, still_pair(40)["position"].values)


def test_swap_repair_when_one_animal_is_missing():
    pose = still_pair(20)
    pos = pose["position"].values.copy()
    pos[5:8, :, :, 0] = pos[5:8, :, :, 1]  # mouse1's track shows mouse2 ...
    pos[5:8, :, :, 1] = np.nan  # ... and mouse2 is lost
    pose["position"] = (pose["position"].dims, pos)
    cleaned, report = clean_pose(pose, default_arena(), max_gap_s=0.2)
    assert report.n_swapped_frames == 3
    np.testing.assert_allclose(cleaned["position"].values[:, :, :, 1],
                               still_pair(20)["position"].values[:, :, :, 1])


def test_single_animal_and_no_arena_skip_groups_with_notes():
    pose = still_pair(30).isel(individual=[0])
    df = compute_features(pose)
    assert "nose_nose" not in df.columns and "dist_partition" not in df.columns
    assert set(df.attrs["skipped"]) == {"social", "geometry", "events"}
    assert any("interaction" in n for n in df.attrs["notes"])
    # without an arena the scale comes from the body length (120 px = 8 cm assumed)
    assert df.attrs["px_per_cm"] == pytest.approx(15.0)
    assert df["body_length"].iloc[0] == pytest.approx(8.0)


def test_long_missing_stretch_stays_missing_and_is_noted():
    fps = 10.0
    pose = still_pair(1000, fps)
    pos = pose["position"].values.copy()
    pos[100:900, :, :, 1] = np.nan  # mouse2 lost for 80 s
    pose["position"] = (pose["position"].dims, pos)
    df = compute_features(pose, default_arena())
    m2 = df.xs("mouse2", level="individual")
    assert (m2["tracked"].iloc[100:900] == 0).all() and m2["tracked"].iloc[50] == 1
    assert m2["speed"].iloc[200:800].isna().all()
    assert any(n.startswith("mouse2 is not tracked for 80 s (80% of the session, longest "
                            "stretch 80 s)") for n in df.attrs["notes"])


def test_no_frame_rate_is_an_error():
    pose = still_pair(10)
    pose.attrs["fps"] = None
    with pytest.raises(InputError, match="frame rate"):
        compute_features(pose)
