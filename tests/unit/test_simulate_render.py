"""Rendering: frame size, the empty chamber, mice drawn from keypoints, a tiny video."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import cv2
import numpy as np
import xarray as xr

from behavtrack.io.arena import default_arena
from behavtrack.simulate.motion import KEYPOINTS
from behavtrack.simulate.render import (
    FLOOR,
    MOUSE,
    draw_background,
    draw_mice,
    frame_size_of,
    render_video,
)

ARENA = default_arena()  # 640 x 480; compartments x 20-320 and 320-620, y 20-460
SIZE = (640, 480)


def _mouse(cx: float, cy: float) -> np.ndarray:
    """Keypoints ``(space, keypoint)`` of a mouse pointing right (+x), nose at cx + 45."""
    pts = {"nose": (cx + 45, cy), "left_ear": (cx + 18, cy - 10), "right_ear": (cx + 18, cy + 10),
           "centroid": (cx, cy), "tail_base": (cx - 45, cy)}
    return np.array([pts[k] for k in KEYPOINTS], dtype=float).T


def test_frame_size_from_the_arena_or_its_vertices():
    assert frame_size_of(ARENA) == SIZE
    assert frame_size_of(dataclasses.replace(ARENA, frame_size=None)) == (640, 480)  # 620 + 20


def test_background_floor_is_lit_walls_are_dark():
    bg = draw_background(ARENA, SIZE, seed=0)
    assert bg.shape == (480, 640) and bg.dtype == np.uint8
    floor = float(np.median(bg[200:280, 100:200]))
    outside = float(np.median(bg[0:10, :]))  # above the compartments
    assert floor > 120 > outside
    assert abs(floor - FLOOR) < 40
    np.testing.assert_array_equal(bg, draw_background(ARENA, SIZE, seed=0))
    assert not np.array_equal(bg, draw_background(ARENA, SIZE, seed=1))  # floor texture


def test_draw_mice_paints_dark_bodies_and_skips_incomplete_mice():
    bg = draw_background(ARENA, SIZE, seed=0)
    img = bg.copy()
    kp = np.stack([_mouse(150, 240), _mouse(470, 240)], axis=-1)
    kp[:, 0, 1] = np.nan  # the second mouse lacks its nose: not drawn
    draw_mice(img, kp, ARENA.px_per_cm, np.zeros(2))
    assert abs(int(img[240, 150]) - MOUSE) < 10  # the body centre is mouse-dark
    assert img[240, 150] < bg[240, 150] - 60
    np.testing.assert_array_equal(img[200:280, 420:520], bg[200:280, 420:520])
    np.testing.assert_array_equal(img[400:, :], bg[400:, :])  # far from the mouse: untouched


def test_render_video_writes_one_frame_per_time(tmp_path):
    kp = np.stack([_mouse(150, 240), _mouse(470, 240)], axis=-1)  # (space, keypoint, ind)
    position = np.repeat(kp[None], 4, axis=0)  # (time, space, keypoint, individual)
    truth = xr.Dataset(
        {"position": (("time", "space", "keypoint", "individual"), position)},
        coords={"time": np.arange(4) / 10.0, "space": ["x", "y"], "keypoint": list(KEYPOINTS),
                "individual": ["mouse1", "mouse2"]})
    sess = SimpleNamespace(arena=ARENA, truth_pose=truth, meta={"fps": 10.0, "seed": 3})
    out = render_video(sess, tmp_path / "video.mp4")
    assert out == tmp_path / "video.mp4" and out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]  # no temporary left
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) \
            == SIZE
        ok, frame = cap.read()
    finally:
        cap.release()
    assert ok
    grey = frame[..., 0].astype(int)
    assert grey[240, 150] < 90 < grey[240, 230]  # the mouse is dark on the lit floor
