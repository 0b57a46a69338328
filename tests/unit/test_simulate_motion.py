"""Motion: from a mouse's segments to keypoints, frame by frame."""

from __future__ import annotations

import numpy as np

from behavtrack.io.arena import default_arena
from behavtrack.simulate.behaviour import TAG_APPROACH, MouseTrack
from behavtrack.simulate.config import SimulationConfig
from behavtrack.simulate.geometry import chamber_from_arena
from behavtrack.simulate.motion import KEYPOINTS, poke_frames_mask, track_keypoints

CFG = SimulationConfig()
CHAMBER = chamber_from_arena(default_arena())  # left compartment x 20-320, y 20-460
FPS = 30.0
NOSE, CENTROID, TAIL = (KEYPOINTS.index(k) for k in ("nose", "centroid", "tail_base"))


def _track(seed: int = 0) -> MouseTrack:
    return MouseTrack(CHAMBER.sides[0], CHAMBER, CFG, 1.0, 1.0, FPS,
                      np.random.default_rng(seed), start=np.array([150.0, 240.0]))


def _walk_then_poke() -> MouseTrack:
    tr = _track()
    tr.dwell(1.0)
    tr.travel(np.array([150.0, 380.0]), tag=TAG_APPROACH)
    tr.go_wait()
    tr.poke(tr.t + 10)
    tr.dwell(1.0)
    return tr


def test_keypoint_names():
    assert KEYPOINTS == ("nose", "left_ear", "right_ear", "centroid", "tail_base")


def test_poke_frames_mask_marks_poke_segments_only():
    tr = _walk_then_poke()
    n = tr.t
    mask = poke_frames_mask(tr, n)
    poke = tr.segments[-2]
    assert mask.dtype == bool and mask.shape == (n,)
    assert mask[poke.start:poke.stop].all() and mask.sum() == poke.stop - poke.start
    assert poke_frames_mask(tr, poke.start + 3).sum() == 3  # cut at n_frames


def test_keypoints_follow_the_plan_and_stay_in_the_compartment():
    tr = _walk_then_poke()
    n = tr.t
    kp = track_keypoints(tr, n, np.random.default_rng(1))
    assert kp.shape == (n, 2, 5) and np.isfinite(kp).all()
    side = CHAMBER.sides[0]
    assert (kp[:, 0, :] >= side.lo[0]).all() and (kp[:, 0, :] <= side.hi[0]).all()
    assert (kp[:, 1, :] >= side.lo[1]).all() and (kp[:, 1, :] <= side.hi[1]).all()
    # resting first: the centroid barely drifts from the start (under 1 cm)
    assert np.linalg.norm(kp[:30, :, CENTROID] - [150.0, 240.0], axis=1).max() < 15.0
    # the travel ends at its target (within the path's sway)
    travel = tr.segments[1]
    assert np.linalg.norm(kp[travel.stop - 1, :, CENTROID] - travel.p1) < 3.0
    # while the nose is in, it is inside the poke port's zone; elsewhere out of it
    poke = tr.segments[-2]
    d = np.linalg.norm(kp[:, :, NOSE] - side.poke, axis=1)
    hold = slice(poke.start + tr.poke_in_frames, poke.stop - max(2, round(0.15 * FPS)))
    assert (d[hold] < side.poke_r).all()
    assert (d[~poke_frames_mask(tr, n)] > side.poke_r).all()
    # the body is about a mouse long: nose to tail base 7 cm * 15 px (bent: at least 60 %)
    span = np.linalg.norm(kp[:, :, NOSE] - kp[:, :, TAIL], axis=1)
    assert (span < 7 * 15 * 1.01).all() and (span > 0.6 * 7 * 15).all()


def test_same_generator_same_keypoints_and_a_shorter_cut_is_a_prefix():
    tr = _walk_then_poke()
    a = track_keypoints(tr, tr.t, np.random.default_rng(5))
    b = track_keypoints(tr, tr.t, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert track_keypoints(tr, 40, np.random.default_rng(5)).shape == (40, 2, 5)
