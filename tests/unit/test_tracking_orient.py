"""Unit tests of ``behavtrack.tracking.orient``: which end is the head, over time.

Per-frame records (the layout of :mod:`behavtrack.tracking.pose_from_blob`) are made by
hand here, with the body axis's sign picked at random per frame, as a blob gives it. Checks
:func:`orient_records`: forward motion names the head, shape evidence summed over a still
segment names it, a sharp turn of the axis starts a new segment, missing frames stay NaN
with zero confidence, the keypoint order of :data:`KEYPOINTS`, the confidences' relations,
and that the input is not modified.
"""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.tracking.orient import KEYPOINTS, orient_records
from behavtrack.tracking.pose_from_blob import N_FIELDS, F

NOSE, LEFT, RIGHT, CENTROID, TAIL = range(5)


def record(centre, heading, flipped, shape=0.0, elong=2.5, area=500.0, half=20.0):
    """One animal's record; ``flipped`` puts end A at the tail; ``shape`` favours the head."""
    c = np.asarray(centre, float)
    h = np.array([np.cos(heading), np.sin(heading)])
    u = -h if flipped else h
    perp = np.array([-u[1], u[0]])
    r = np.full(N_FIELDS, np.nan)

    def put(name_x, name_y, p):
        r[F[name_x]], r[F[name_y]] = p

    put("cx", "cy", c)
    put("ux", "uy", u)
    put("ax", "ay", c + half * u)
    put("bx", "by", c - half * u)
    put("a_lx", "a_ly", c + 14 * u - 5 * perp)
    put("a_rx", "a_ry", c + 14 * u + 5 * perp)
    put("b_lx", "b_ly", c - 14 * u + 5 * perp)
    put("b_rx", "b_ry", c - 14 * u - 5 * perp)
    put("ta_x", "ta_y", c + half * u)
    put("tb_x", "tb_y", c - half * u)
    put("na_x", "na_y", c + (half + 3) * u)
    put("nb_x", "nb_y", c - (half + 3) * u)
    r[F["shape"]] = -shape if flipped else shape
    r[F["elong"]] = elong
    r[F["area"]] = area
    return r


def random_flips(n, seed=0):
    return np.random.default_rng(seed).random(n) < 0.5


def test_keypoint_names():
    assert KEYPOINTS == ("nose", "left_ear", "right_ear", "centroid", "tail_base")


def test_walking_forwards_puts_the_nose_ahead():
    n = 30
    flips = random_flips(n)
    recs = np.stack([record((50 + 2 * t, 100), 0.0, flips[t]) for t in range(n)])
    before = recs.copy()
    pos, conf = orient_records(recs)
    assert pos.shape == (n, 2, 5) and conf.shape == (n, 5)
    np.testing.assert_array_equal(recs, before)  # input untouched
    cx = 50 + 2 * np.arange(n)
    np.testing.assert_allclose(pos[:, 0, CENTROID], cx)
    np.testing.assert_allclose(pos[:, 0, NOSE], cx + 23)
    np.testing.assert_allclose(pos[:, 0, TAIL], cx - 20)
    np.testing.assert_allclose(pos[:, 1, NOSE], 100)
    # heading +x, y down: the left ear is above the axis
    assert (pos[:, 1, LEFT] < 100).all() and (pos[:, 1, RIGHT] > 100).all()


def test_walking_left_puts_the_nose_on_the_left():
    n = 20
    flips = random_flips(n, seed=3)
    recs = np.stack([record((200 - 2 * t, 100), np.pi, flips[t]) for t in range(n)])
    pos, _ = orient_records(recs)
    assert (pos[:, 0, NOSE] < pos[:, 0, CENTROID]).all()
    assert (pos[:, 0, TAIL] > pos[:, 0, CENTROID]).all()


def test_shape_evidence_is_summed_over_a_still_segment():
    # a still animal facing -y; most frames say nothing, three weakly name the true head
    n = 15
    flips = random_flips(n, seed=1)
    shape = np.zeros(n)
    shape[[2, 7, 11]] = 0.4
    recs = np.stack([record((100, 100), -np.pi / 2, flips[t], shape=shape[t])
                     for t in range(n)])
    pos, conf = orient_records(recs)
    np.testing.assert_allclose(pos[:, 1, NOSE], 100 - 23, atol=1e-9)
    np.testing.assert_allclose(pos[:, 1, TAIL], 100 + 20, atol=1e-9)
    # certainty tanh(1.2 / 3) of the summed evidence: nose confidence below 1
    expected = 1.0 * 1.0 * (0.5 + 0.5 * np.tanh(1.2 / 3))
    np.testing.assert_allclose(conf[:, NOSE], expected)


def test_more_evidence_gives_more_confidence_and_confidences_relate():
    n = 10
    weak = np.stack([record((100, 100), 0.0, False, shape=0.1) for _ in range(n)])
    strong = np.stack([record((100, 100), 0.0, False, shape=0.9) for _ in range(n)])
    _, cw = orient_records(weak)
    _, cs = orient_records(strong)
    assert (cs[:, NOSE] > cw[:, NOSE]).all()
    for c in (cw, cs):
        np.testing.assert_allclose(c[:, LEFT], 0.6 * c[:, NOSE])
        np.testing.assert_allclose(c[:, RIGHT], 0.6 * c[:, NOSE])
        np.testing.assert_allclose(c[:, TAIL], c[:, NOSE])
        np.testing.assert_allclose(c[:, CENTROID], 1.0)  # constant area
        assert ((c >= 0) & (c <= 1)).all()


def test_a_sharp_turn_starts_a_segment_with_its_own_head():
    # frames 0-9: axis along x, head at +x; frames 10-19: axis along y, head at -y
    # (no motion; shape evidence only, constant within each segment)
    first = [record((100, 100), 0.0, t % 2 == 0, shape=0.5) for t in range(10)]
    second = [record((100, 100), -np.pi / 2, t % 2 == 1, shape=0.5) for t in range(10)]
    pos, _ = orient_records(np.stack(first + second))
    np.testing.assert_allclose(pos[:10, 0, NOSE], 123)
    np.testing.assert_allclose(pos[10:, 1, NOSE], 77)


def test_missing_frames_stay_missing():
    n = 12
    recs = np.stack([record((50 + 2 * t, 60), 0.0, t % 3 == 0) for t in range(n)])
    recs[[4, 5]] = np.nan
    pos, conf = orient_records(recs)
    assert np.isnan(pos[[4, 5]]).all()
    np.testing.assert_array_equal(conf[[4, 5]], 0.0)
    assert np.isfinite(pos[[0, 3, 6, 11]]).all()
    assert (conf[[0, 3, 6, 11], CENTROID] > 0).all()


def test_all_missing_and_empty():
    pos, conf = orient_records(np.full((4, N_FIELDS), np.nan))
    assert np.isnan(pos).all() and pos.shape == (4, 2, 5)
    np.testing.assert_array_equal(conf, np.zeros((4, 5)))
    pos, conf = orient_records(np.empty((0, N_FIELDS)))
    assert pos.shape == (0, 2, 5) and conf.shape == (0, 5)


def test_single_frame_uses_its_shape_evidence():
    pos, conf = orient_records(record((10, 10), 0.0, True, shape=0.8)[None])
    assert pos[0, 0, NOSE] == pytest.approx(33)
    assert pos[0, 0, TAIL] == pytest.approx(-10)
    assert conf[0, CENTROID] == pytest.approx(1.0)


def test_round_body_has_low_end_confidence():
    n = 10
    elong = np.full(n, 2.5)
    elong[5] = 1.1  # curled up
    recs = np.stack([record((50 + 2 * t, 60), 0.0, False, elong=elong[t]) for t in range(n)])
    _, conf = orient_records(recs)
    assert conf[5, NOSE] < 0.2 * conf[0, NOSE]
    assert conf[5, CENTROID] == pytest.approx(1.0)
