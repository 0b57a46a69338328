"""The behavioural state process: body sizes, a mouse's segments, a planned session, the truth."""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.io.arena import default_arena
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.simulate.behaviour import (
    DWELL,
    POKE,
    TAG_APPROACH,
    TAG_OTHER,
    TAG_PARTITION,
    TAG_PORTWAIT,
    TRAVEL,
    MouseTrack,
    Plan,
    Segment,
    body_lengths,
    frame_labels,
    plan_session,
)
from behavtrack.simulate.config import SimulationConfig
from behavtrack.simulate.geometry import chamber_from_arena

CFG = SimulationConfig()
CHAMBER = chamber_from_arena(default_arena())  # 15 px per cm
FPS = 30.0
A, W, INTER, OTH = (BEHAVIORS.index(b) for b in ("approach", "waiting", "interaction", "other"))


def _track(i: int = 0, seed: int = 0) -> MouseTrack:
    side = CHAMBER.sides[i]
    return MouseTrack(side, CHAMBER, CFG, 1.0, 1.0, FPS, np.random.default_rng(seed),
                      start=np.array([150.0, 240.0]) if i == 0 else np.array([470.0, 240.0]))


def test_body_lengths_scale_with_size_and_the_arena():
    b = body_lengths(CFG, 1.0, 10.0)  # 7 cm mouse at 10 units per cm: 70 units long
    assert b["neck"] == pytest.approx(15.4) and b["head"] == pytest.approx(19.6)
    assert b["nose"] == pytest.approx(35.0) and b["tail"] == pytest.approx(35.0)
    assert b["ear_back"] == pytest.approx(4.2) and b["ear_side"] == pytest.approx(7.7)
    assert body_lengths(CFG, 2.0, 10.0)["nose"] == pytest.approx(70.0)


def test_dwell_and_dwell_until_advance_the_cursor_in_place():
    tr = _track()
    seg = tr.dwell(0.5, tag=TAG_PARTITION, face=1.0)
    assert (seg.start, seg.stop, seg.kind, seg.tag) == (0, 15, DWELL, TAG_PARTITION)
    np.testing.assert_array_equal(seg.p0, seg.p1)
    assert tr.t == 15 and tr.heading == 1.0
    tr.dwell(0.001)  # at least one frame
    assert tr.t == 16
    tr.dwell_until(10)  # already past: nothing
    assert tr.t == 16 and len(tr.segments) == 2
    tr.dwell_until(40)
    assert tr.t == 40 and tr.segments[-1].start == 16


def test_travel_moves_the_centroid_and_skips_tiny_moves():
    tr = _track()
    tr.travel(tr.pos + 1.0)  # under 0.3 cm: no segment
    assert tr.segments == [] and tr.t == 0
    to = np.array([150.0, 390.0])  # 10 cm straight down
    tr.travel(to, tag=TAG_APPROACH)
    seg = tr.segments[-1]
    assert seg.kind == TRAVEL and seg.tag == TAG_APPROACH and seg.start == 0
    np.testing.assert_allclose(seg.p0, [150.0, 240.0])
    np.testing.assert_allclose(tr.pos, to)
    assert tr.heading == pytest.approx(np.pi / 2)  # y grows downwards: heading +90 degrees
    # 10 cm at about 12 cm/s (lognormal spread 0.25): well between 0.3 s and 3 s
    assert 9 <= seg.stop - seg.start <= 90


def test_poke_waits_then_pokes_so_the_nose_enters_on_time():
    tr = _track()
    tr.go_wait()
    arrive = tr.t
    enter = tr.poke(arrive + 20)
    assert enter == arrive + 20
    wait, poke = tr.segments[-2], tr.segments[-1]
    assert wait.tag == TAG_PORTWAIT and (wait.start, wait.stop) == (arrive, arrive + 20
                                                                       - tr.poke_in_frames)
    assert poke.kind == POKE and poke.start == wait.stop
    np.testing.assert_allclose(poke.port, CHAMBER.sides[0].poke)
    # the waiting spot sits in front of the poke port, facing it
    np.testing.assert_allclose(tr.wait_spot()[1], CHAMBER.sides[0].poke[1])
    assert tr.wait_spot()[0] > CHAMBER.sides[0].poke[0]


def test_success_rate_counts_rewards_per_poke_pair():
    plan = Plan(tracks=(_track(0), _track(1)), n_frames=10, window_frames=15.0)
    assert plan.success_rate == 0.0
    plan.pokes += [(3, 0), (5, 1), (50, 0), (90, 1)]
    plan.rewards.append(5)
    assert plan.success_rate == 0.5


def _seg(start, stop, tag, wait_until=-1):
    p = np.zeros(2)
    return Segment(start, stop, DWELL, tag, p, p, wait_until=wait_until)


def test_frame_labels_by_hand():
    a, b = _track(0), _track(1)
    # waiting needs a port wait of at least 0.5 s * 30 fps = 15 frames, up to its end.
    # mouse 1: approach 0-3, partition 3-6, other 6-8, a port wait 8-30 that the partner's
    # poke ends at 26 (18 frames: waiting 8-26, other after)
    a.segments = [_seg(0, 3, TAG_APPROACH), _seg(3, 6, TAG_PARTITION), _seg(6, 8, TAG_OTHER),
                  _seg(8, 30, TAG_PORTWAIT, wait_until=26)]
    # mouse 2: partition 0-5 (interaction only while both are there: 3-5), a short wait
    b.segments = [_seg(0, 5, TAG_PARTITION), _seg(5, 15, TAG_PORTWAIT, wait_until=15),
                  _seg(15, 30, TAG_OTHER)]
    lab = frame_labels(Plan(tracks=(a, b), n_frames=30, window_frames=15.0))
    assert lab.shape == (30, 2) and lab.dtype == np.int8
    assert lab[:, 0].tolist() == [A] * 3 + [INTER] * 2 + [OTH] * 3 + [W] * 18 + [OTH] * 4
    assert lab[:, 1].tolist() == [OTH] * 3 + [INTER] * 2 + [OTH] * 25  # 10-frame wait < 0.5 s


def test_a_planned_session_covers_every_frame_and_rewards_pokes_in_the_window():
    n = int(120 * FPS)
    plan = plan_session(CHAMBER, np.array([0.8, 0.8]), (1.0, 1.0), (1.0, 1.0), (0.5, 0.5),
                        2.0, n, FPS, CFG, np.random.default_rng(3))
    for tr in plan.tracks:
        starts = np.array([s.start for s in tr.segments])
        stops = np.array([s.stop for s in tr.segments])
        assert starts[0] == 0 and (starts[1:] == stops[:-1]).all() and stops[-1] >= n
        assert ((stops - starts) >= 1).all()
    assert plan.pokes and plan.cycles
    by_cycle = [c for c in plan.cycles if c["success"]]
    assert len(by_cycle) == len(plan.rewards)
    for c, reward in zip(by_cycle, plan.rewards, strict=True):
        p0, p1 = c["pokes"]
        assert abs(p0 - p1) <= 2.0 * FPS and reward == max(p0, p1)
    assert {c["type"] for c in plan.cycles} <= {"solo", "wait", "interact"}
    lab = frame_labels(plan)
    assert lab.shape == (n, 2) and set(np.unique(lab)) <= {A, W, INTER, OTH}
    # interaction is a property of the pair: both mice carry it on the same frames
    assert ((lab[:, 0] == INTER) == (lab[:, 1] == INTER)).all()
