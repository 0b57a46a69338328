"""Unit tests of ``behavtrack.tracking.pose_from_blob``: one animal's record from its mask.

Hand-drawn masks (a plain ellipse; a mouse of body, tapering head and a tail) check
:func:`pose_from_mask`: the record layout (:data:`FIELDS`), centroid, axis, ends,
elongation and area of an ellipse, the shape evidence naming the head end (tail at the
rear) in either direction, the tail-base and ear estimates, the offset into frame
coordinates, the half-resolution opening (``coarse_kernel``), and ``None`` for an empty
mask or one with nothing wider than the opening.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from behavtrack.tracking.pose_from_blob import FIELDS, N_FIELDS, F, pose_from_mask

KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
XY_FIELDS = [f for f in FIELDS if f.endswith(("x", "y")) and f not in ("ux", "uy")]


def ellipse_mask(w=80, h=40, centre=(40, 20), axes=(20, 8), angle=0.0):
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, centre, axes, angle, 0, 360, 255, -1)
    return m


def mouse_mask(heading=0.0, scale=1, size=(130, 60), centre=(62, 30)):
    """Body (17 x 9), head (9 x 5) ahead of it, a 30 px tail behind, all times ``scale``."""
    w, h = size[0] * scale, size[1] * scale
    m = np.zeros((h, w), np.uint8)
    u = np.array([np.cos(heading), np.sin(heading)])
    c = np.array(centre, float) * scale
    rear = c - 16 * scale * u
    tail_end = rear - 30 * scale * u
    cv2.line(m, tuple(np.round(rear).astype(int)), tuple(np.round(tail_end).astype(int)),
             255, 3 * scale)
    deg = np.degrees(heading)
    cv2.ellipse(m, tuple(np.round(c).astype(int)), (17 * scale, 9 * scale), deg, 0, 360, 255, -1)
    head = c + 17 * scale * u
    cv2.ellipse(m, tuple(np.round(head).astype(int)), (9 * scale, 5 * scale), deg, 0, 360,
                255, -1)
    return m


def rec(r):
    return {name: float(v) for name, v in zip(FIELDS, r, strict=True)}


def test_record_layout():
    assert N_FIELDS == len(FIELDS) == 27
    assert [F[n] for n in FIELDS] == list(range(N_FIELDS))
    r = pose_from_mask(ellipse_mask(), (0, 0), KERNEL)
    assert r.shape == (N_FIELDS,) and r.dtype == np.float64


def test_ellipse_centroid_axis_ends_area_and_elongation():
    r = rec(pose_from_mask(ellipse_mask(), (0, 0), KERNEL))
    assert (r["cx"], r["cy"]) == pytest.approx((40.0, 20.0), abs=0.05)
    assert abs(r["ux"]) == pytest.approx(1.0) and r["uy"] == pytest.approx(0.0, abs=1e-6)
    # the ends lie on the major axis, ~20 px either side of the centre
    ends = sorted([r["ax"], r["bx"]])
    assert ends == pytest.approx([20.0, 60.0], abs=1.0)
    assert r["ay"] == pytest.approx(20.0) and r["by"] == pytest.approx(20.0)
    assert r["area"] == pytest.approx(np.pi * 20 * 8, rel=0.02)
    assert r["elong"] == pytest.approx(20 / 8, rel=0.05)
    # a symmetric body gives no evidence either way
    assert r["shape"] == pytest.approx(0.0, abs=1e-9)


def test_vertical_ellipse_has_a_vertical_axis():
    m = ellipse_mask(w=40, h=80, centre=(20, 40), axes=(20, 8), angle=90)
    r = rec(pose_from_mask(m, (0, 0), KERNEL))
    assert abs(r["uy"]) == pytest.approx(1.0, abs=1e-6)
    assert sorted([r["ay"], r["by"]]) == pytest.approx([20.0, 60.0], abs=1.0)


def test_offset_moves_every_point_and_nothing_else():
    m = mouse_mask()
    r0 = pose_from_mask(m, (0, 0), KERNEL)
    r1 = pose_from_mask(m, (100, 50), KERNEL)
    shift = np.zeros(N_FIELDS)
    for name in XY_FIELDS + ["cx", "cy"]:
        shift[F[name]] = 100 if name.endswith("x") else 50
    np.testing.assert_allclose(r1, r0 + shift)


@pytest.mark.parametrize("heading", [0.0, np.pi])
def test_tail_marks_the_rear_and_shape_names_the_head_end(heading):
    r = rec(pose_from_mask(mouse_mask(heading), (0, 0), KERNEL))
    assert abs(r["shape"]) > 0.5
    head = "a" if r["shape"] > 0 else "b"
    tail = "b" if head == "a" else "a"
    forward = np.cos(heading)  # +1 facing right, -1 facing left
    # the head end lies ahead of the centroid, the tail base behind it
    assert (r[f"{head}x"] - r["cx"]) * forward > 15
    assert (r[f"t{tail}_x"] - r["cx"]) * forward < -12
    assert (r[f"n{head}_x"] - r["cx"]) * forward > 15
    # the tail is removed by the opening: the body is ~ the two ellipses, not the tail
    assert r["area"] == pytest.approx(np.pi * (17 * 9 + 9 * 5), rel=0.15)


def test_ears_flank_the_axis_behind_the_head():
    r = rec(pose_from_mask(mouse_mask(0.0), (0, 0), KERNEL))
    assert r["shape"] > 0  # head at A, the right-hand end
    # facing +x with y down, the left ear is above the axis (smaller y), the right below
    assert r["a_ly"] < r["cy"] < r["a_ry"]
    # both between the centroid and the head end
    for x in (r["a_lx"], r["a_rx"]):
        assert r["cx"] < x < r["ax"]


def test_half_resolution_opening_agrees_with_the_full_one():
    big = mouse_mask(0.0, scale=2)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    coarse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    full = rec(pose_from_mask(big, (0, 0), kernel))
    half = rec(pose_from_mask(big, (0, 0), kernel, coarse))
    assert half["shape"] > 0.5 and full["shape"] > 0.5
    assert (half["cx"], half["cy"]) == pytest.approx((full["cx"], full["cy"]), abs=1.5)
    assert half["area"] == pytest.approx(full["area"], rel=0.03)
    assert (half["na_x"], half["na_y"]) == pytest.approx((full["na_x"], full["na_y"]), abs=2)


def test_given_outline_is_used_like_the_one_found():
    m = mouse_mask()
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    np.testing.assert_allclose(pose_from_mask(m, (0, 0), KERNEL, outline=contours[0]),
                               pose_from_mask(m, (0, 0), KERNEL))


def test_no_body_gives_none():
    assert pose_from_mask(np.zeros((20, 20), np.uint8), (0, 0), KERNEL) is None
    thin = np.zeros((20, 40), np.uint8)
    thin[9:11, 2:38] = 255  # a 2 px line: all tail, no body
    assert pose_from_mask(thin, (0, 0), KERNEL) is None


def test_frame_size_keeps_an_animal_cut_by_the_frame_edge():
    # an ellipse cut by the crop's left side, which is the frame's left edge
    m = np.zeros((40, 40), np.uint8)
    cv2.ellipse(m, (4, 20), (20, 8), 0, 0, 360, 255, -1)
    at_edge = rec(pose_from_mask(m, (0, 0), KERNEL, frame_size=(640, 480)))
    inside = rec(pose_from_mask(m, (100, 0), KERNEL, frame_size=(640, 480)))
    # at the frame's edge nothing is eaten from the cut side: the body keeps its pixels
    assert at_edge["area"] > inside["area"]
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    assert at_edge["area"] == pytest.approx(cv2.contourArea(contours[0]), rel=0.05)


@pytest.mark.parametrize("shape", [(33, 47), (34, 48), (1, 5)])
def test_enlarged_window_is_that_window_of_the_whole_enlarged_image(shape):
    """``_enlarged_window`` gives the pixels of ``_up2``'s whole enlargement in the window,
    odd last rows and columns repeated, also for a part of a larger image
    (``_dilated_window``'s case); the whole-crop dilation of the thin-part search relies on
    it."""
    from behavtrack.tracking.pose_from_blob import _dilated_window, _enlarged_window, _up2

    rng = np.random.default_rng(sum(shape))
    img = (rng.random(shape) > 0.6).astype(np.uint8) * 255
    h, w = 2 * shape[0] + 1, 2 * shape[1] + 1  # an odd full size: the last row/column repeat
    whole = _up2(img, w, h)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    grown = _up2(cv2.dilate(img, kernel), w, h)
    for _ in range(50):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1))
        assert np.array_equal(_enlarged_window(img, 2, x0, y0, x1, y1), whole[y0:y1, x0:x1])
        assert np.array_equal(_dilated_window(img, kernel, 2, x0, y0, x1, y1),
                              grown[y0:y1, x0:x1])
        # a part of the image, at its origin in the whole
        ox, oy = min(x0 // 2, shape[1] - 1), min(y0 // 2, shape[0] - 1)
        part = img[oy:, ox:]
        assert np.array_equal(
            _enlarged_window(part, 2, x0, y0, x1, y1, (ox, oy), (shape[1], shape[0])),
            whole[y0:y1, x0:x1])
    assert np.array_equal(_enlarged_window(img, 1, 1, 0, 3, 1), img[0:1, 1:3])


@pytest.mark.parametrize("width", [3, 45, 63, 64, 65, 130])
def test_widened_erosion_and_dilation_are_opencvs(width):
    """``_erode`` and ``_dilate`` work on the image widened to whole vector blocks (faster):
    the same pixels as OpenCV's erosion and dilation of the image itself, for every border
    rule (background beyond the crop's sides, foreground beyond the frame's edges, OpenCV's
    default without a frame size)."""
    from behavtrack.tracking.pose_from_blob import _dilate, _erode

    rng = np.random.default_rng(width)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))
    r = 6
    for h in (1, 17, 40):
        img = (rng.random((h, width)) > 0.3).astype(np.uint8) * 255
        assert np.array_equal(_dilate(img, kernel), cv2.dilate(img, kernel))
        assert np.array_equal(_erode(img, kernel, (5, 5), (width, h), None),
                              cv2.erode(img, kernel))
        # the crop at each of the frame's corners, and inside it
        for x0, y0 in [(0, 0), (640 - width, 480 - h), (0, 480 - h), (100, 100)]:
            top, bottom = r * (y0 <= 0), r * (y0 + h >= 480)
            left, right = r * (x0 <= 0), r * (x0 + width >= 640)
            padded = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                        value=255)
            expected = cv2.erode(padded, kernel, borderType=cv2.BORDER_CONSTANT,
                                 borderValue=0)[top:top + h, left:left + width]
            assert np.array_equal(_erode(img, kernel, (x0, y0), (width, h), (640, 480)),
                                  expected)


@pytest.mark.parametrize("shape", [(1, 1), (33, 47), (34, 48)])
def test_up2_is_a_nearest_neighbour_enlargement(shape):
    """``_up2`` (numpy, not ``cv2.resize``) repeats each pixel in a 2 x 2 block, and an odd
    last row or column, for any grey level."""
    from behavtrack.tracking.pose_from_blob import _up2

    wider = np.random.default_rng(sum(shape)).integers(0, 256, (shape[0], shape[1] + 3),
                                                        dtype=np.uint8)
    img = wider[:, :shape[1]]  # a view, as ``_dilate`` gives
    up = cv2.resize(np.ascontiguousarray(img), (2 * shape[1], 2 * shape[0]),
                    interpolation=cv2.INTER_NEAREST)
    for dh, dw in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        expected = cv2.copyMakeBorder(up, 0, dh, 0, dw, cv2.BORDER_REPLICATE)
        got = _up2(img, 2 * shape[1] + dw, 2 * shape[0] + dh)
        assert got.dtype == np.uint8 and np.array_equal(got, expected)
