"""One simulated session: determinism, truth consistent with geometry, events, faults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _simulate_helpers import label_matrix, runs, session, truth_xy

from behavtrack.io.arena import default_arena
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.simulate import simulate_cohort, simulate_session

ARENA = default_arena()
CM = ARENA.px_per_cm
NAMES = ("mouse1", "mouse2")


def _same_ds(a, b) -> bool:
    return bool(np.array_equal(a["position"].values, b["position"].values, equal_nan=True)
                and np.array_equal(a["confidence"].values, b["confidence"].values,
                                   equal_nan=True))


def test_same_seed_same_session_other_seed_differs():
    a = simulate_session(day=5, duration_s=60, seed=11)
    b = simulate_session(day=5, duration_s=60, seed=11)
    c = simulate_session(day=5, duration_s=60, seed=12)
    assert _same_ds(a.pose, b.pose) and _same_ds(a.truth_pose, b.truth_pose)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.meta == b.meta
    assert not np.allclose(a.truth_pose["position"].values, c.truth_pose["position"].values)


def test_standalone_session_equals_the_cohort_one():
    cohort = list(simulate_cohort(2, 3, duration_s=60, seed=5, noise=False))
    alone = simulate_session(day=2, n_days=3, pair=1, duration_s=60, seed=5, noise=False)
    in_cohort = cohort[5]
    assert (in_cohort.meta["pair"], in_cohort.meta["day"]) == ("pair02", 2)
    assert in_cohort.meta["window_s"] == alone.meta["window_s"]
    assert _same_ds(in_cohort.truth_pose, alone.truth_pose)
    pd.testing.assert_frame_equal(in_cohort.events, alone.events)


def test_shapes_names_and_contracts():
    s = session()
    n = s.n_frames
    assert n == 240 * 30
    for ds in (s.pose, s.truth_pose):
        assert ds["position"].dims == ("time", "space", "keypoint", "individual")
        assert list(ds.individual.values) == list(NAMES)
        assert list(ds.keypoint.values) == ["nose", "left_ear", "right_ear", "centroid",
                                            "tail_base"]
        assert ds.attrs["fps"] == 30.0 and ds.sizes["time"] == n
        np.testing.assert_allclose(ds.time.values[:3], [0, 1 / 30, 2 / 30])
    assert np.isfinite(s.truth_pose["position"].values).all()
    assert list(s.labels.columns) == ["frame", "time_s", "individual", "behavior"]
    assert len(s.labels) == 2 * n and set(s.labels["behavior"]) <= set(BEHAVIORS)
    assert list(s.events.columns) == ["time_s", "frame", "subject", "event", "value"]
    first = s.events.iloc[0]
    assert first["event"] == "window" and first["value"] == s.meta["window_s"]
    assert s.arena.window_s == s.meta["window_s"]
    m = s.meta
    assert m["source"] == "simulated" and m["pair"] == "pair01" and m["session"] == 8
    assert m["progress"] == pytest.approx(8 / 9) and m["n_frames"] == n


def test_every_behaviour_occurs_in_a_trained_session():
    lab = session().labels["behavior"].value_counts()
    assert all(lab.get(b, 0) > 30 for b in BEHAVIORS), lab


def test_mice_stay_in_their_compartments():
    s = session()
    for i, name in enumerate(NAMES):
        comp = ARENA.compartment_of_individual(name)
        for kp in ("nose", "centroid", "tail_base", "left_ear", "right_ear"):
            xy = truth_xy(s, kp, name)
            assert comp.contains(xy).mean() > 0.999, (name, kp)
        # the partition is never crossed (partition x = 320)
        x = s.truth_pose["position"].sel(individual=name, space="x").values
        assert (x < 320).all() if i == 0 else (x > 320).all()


def test_interaction_only_with_both_mice_at_the_partition_facing_it():
    s = session()
    lab = label_matrix(s)
    inter = lab["mouse1"] == "interaction"
    assert inter.sum() > 0
    assert np.array_equal(inter, lab["mouse2"] == "interaction")  # never one mouse alone
    for name in NAMES:
        nose = truth_xy(s, "nose", name)[inter]
        cen = truth_xy(s, "centroid", name)[inter]
        d_nose = ARENA.distance_to_partition(nose)
        assert d_nose.max() < 2.5 * CM  # nose within a few cm of the partition
        assert np.median(d_nose) < 1.0 * CM
        assert (d_nose < ARENA.distance_to_partition(cen)).mean() > 0.95  # facing it
    n1, n2 = truth_xy(s, "nose", "mouse1")[inter], truth_xy(s, "nose", "mouse2")[inter]
    assert np.median(np.linalg.norm(n1 - n2, axis=1)) < 3.0 * CM  # nose to nose


def test_waiting_only_at_the_own_port_still_and_before_the_partner_pokes():
    s = session()
    lab = label_matrix(s)
    ev = s.events
    for name, partner in (NAMES, NAMES[::-1]):
        comp = ARENA.compartment_of_individual(name)
        port = comp.poke_port
        wait = lab[name] == "waiting"
        assert wait.sum() > 0
        nose = truth_xy(s, "nose", name)[wait]
        assert (port.distance(nose) < port.radius + 2.0 * CM).all()
        cen = truth_xy(s, "centroid", name)[wait]
        assert (port.distance(cen) < port.radius + 6.0 * CM).all()
        assert not port.contains(nose).any()  # not yet poking
        own = ev[(ev.subject == name) & (ev.event == "poke")]["frame"].to_numpy()
        other = ev[(ev.subject == partner) & (ev.event == "poke")]["frame"].to_numpy()
        cen = truth_xy(s, "centroid", name)
        for a, b in runs(wait):
            assert not ((other >= a) & (other < b)).any()  # partner not poking meanwhile
            # the wait ends with the own poke or the partner's poke
            assert ((own >= b) & (own <= b + 6)).any() or (other == b).any()
            speed = np.linalg.norm(np.diff(cen[a:b], axis=0), axis=1) * 30
            assert np.median(speed) < 1.5 * CM  # staying still (< 1.5 cm/s)


def test_approach_travels_to_the_partition():
    s = session()
    lab = label_matrix(s)
    for name in NAMES:
        bouts = runs(lab[name] == "approach")
        assert len(bouts) > 3
        cen = truth_xy(s, "centroid", name)
        d = ARENA.distance_to_partition(cen)
        for a, b in bouts:
            if b == s.n_frames:
                continue  # cut short by the end of the session
            assert d[b - 1] < d[a]  # closer at the end
            assert d[b - 1] < 6 * CM  # ends at the partition


def test_pokes_are_the_nose_entering_the_poke_zone_and_rewards_follow_the_rig_rule():
    s = session()
    ev = s.events
    fps = s.fps
    for name in NAMES:
        port = ARENA.compartment_of_individual(name).poke_port
        inside = port.contains(truth_xy(s, "nose", name))
        entries = np.flatnonzero(inside[1:] & ~inside[:-1]) + 1
        logged = ev[(ev.subject == name) & (ev.event == "poke")]["frame"].to_numpy()
        np.testing.assert_array_equal(entries, logged)
        np.testing.assert_allclose(ev.loc[ev.subject == name, "time_s"],
                                   ev.loc[ev.subject == name, "frame"] / fps)
    # replay the rig: a poke opens the window; the partner's poke within it rewards both
    pokes = ev[ev.event == "poke"].sort_values("frame", kind="stable")
    window = s.meta["window_s"]
    pending, rewarded = None, []
    for f, subj in zip(pokes.frame, pokes.subject, strict=True):
        if pending is not None and pending[1] != subj and (f - pending[0]) / fps <= window:
            rewarded.append(f)
            pending = None
        else:
            pending = (f, subj)
    rewards = ev[ev.event == "reward"]
    for name in NAMES:
        np.testing.assert_array_equal(rewards[rewards.subject == name].frame, rewarded)
    assert s.meta["n_rewards"] == len(rewarded)
    assert s.meta["success_rate"] == pytest.approx(2 * len(rewarded) / len(pokes), abs=1e-4)


def test_nose_leads_the_body():
    s = session()
    for name in NAMES:
        nose, cen, tail = (truth_xy(s, k, name) for k in ("nose", "centroid", "tail_base"))
        v = np.gradient(cen, axis=0) * s.fps
        moving = np.linalg.norm(v, axis=1) > 5 * CM
        heading = nose[moving] - tail[moving]
        cos = (heading * v[moving]).sum(1) / (np.linalg.norm(heading, axis=1)
                                              * np.linalg.norm(v[moving], axis=1))
        assert np.median(cos) > 0.9  # the body points where the mouse goes
        body = np.linalg.norm(nose - tail, axis=1) / CM
        assert 5.0 < np.median(body) < 9.0  # a mouse is ~7 cm nose to tail base


def test_noisy_pose_has_realistic_faults_and_stays_near_the_truth():
    s = session()
    noisy = s.pose["position"].values
    truth = s.truth_pose["position"].values
    conf = s.pose["confidence"].values
    err = np.linalg.norm(noisy - truth, axis=1)
    ok = conf > 0.5
    assert 0.5 < np.nanmedian(err[ok]) < 3.0  # jitter of a pixel or two
    assert 0 < np.isnan(noisy).mean() < 0.05  # some dropouts, not many
    assert (conf < 0.2).mean() > 0.001 and np.median(conf) > 0.9
    f = s.meta["faults"]
    assert f["dropouts"] > 0 and f["swaps"] > 0
    # swapped frames: mouse1's noisy centroid sits on mouse2's true one
    c_noisy = noisy[:, :, 3, 0]
    swapped = (np.linalg.norm(c_noisy - truth[:, :, 3, 1], axis=1)
               < np.linalg.norm(c_noisy - truth[:, :, 3, 0], axis=1))
    assert 0 < swapped.sum() <= f["swapped_frames"]


def test_no_noise_gives_the_truth():
    s = simulate_session(day=3, duration_s=30, seed=2, noise=False)
    assert _same_ds(s.pose, s.truth_pose)


def test_any_arena_geometry_is_honoured():
    """A tall chamber split horizontally, at 12 px/cm: the truth follows its geometry."""
    from behavtrack.io.arena import arena_from_dict

    arena = arena_from_dict({
        "px_per_cm": 12.0, "frame_size": [480, 640], "partition": [[20, 320], [460, 320]],
        "compartments": {
            "top": {"individual": "mouse1", "polygon": [[20, 20], [460, 20], [460, 320], [20, 320]],
                    "poke_port": {"center": [140, 40], "radius": 20},
                    "water_port": {"center": [340, 40], "radius": 20}},
            "bottom": {"individual": "mouse2",
                       "polygon": [[20, 320], [460, 320], [460, 620], [20, 620]],
                       "poke_port": {"center": [140, 600], "radius": 20},
                       "water_port": {"center": [340, 600], "radius": 20}},
        },
    })
    s = simulate_session(arena, day=8, duration_s=180, seed=2, noise=False)
    lab = label_matrix(s)
    assert s.arena.window_s == s.meta["window_s"] and s.arena.px_per_cm == 12.0
    for name in NAMES:
        comp = arena.compartment_of_individual(name)
        nose = truth_xy(s, "nose", name)
        for kp in ("nose", "centroid", "tail_base"):
            assert comp.contains(truth_xy(s, kp, name)).all()
        inter = lab[name] == "interaction"
        assert inter.sum() > 0 and arena.distance_to_partition(nose[inter]).max() < 2.5 * 12
        wait = lab[name] == "waiting"
        assert wait.sum() > 0 and comp.poke_port.distance(nose[wait]).max() < 20 + 2.0 * 12
        inside = comp.poke_port.contains(nose)
        entries = np.flatnonzero(inside[1:] & ~inside[:-1]) + 1
        ev = s.events
        np.testing.assert_array_equal(
            entries, ev[(ev.subject == name) & (ev.event == "poke")]["frame"].to_numpy())
