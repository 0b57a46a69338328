"""Unit tests of ``behavtrack.tracking.segment``: foreground mask and animal blobs.

Synthetic 640 x 480 frames (dark ellipses on a uniform light floor, a known background)
check :class:`Segmenter`: the mask threshold and polarity, blobs' areas, centroids,
crops and order, small specks dropped, reflections (holes) filled, ``limit``, the arena's
compartments and partition cut, and the ghost count of :meth:`Segmenter.coarse`.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from behavtrack.io.arena import default_arena
from behavtrack.tracking.background import Background
from behavtrack.tracking.segment import Blob, Coarse, Segmenter

H, W = 480, 640


def _background(polarity=1, level=200):
    return Background(np.full((H, W), level, np.uint8), polarity, 30.0, 2.0, (0,))


def _frame(ellipses, level=200, grey=40):
    f = np.full((H, W), level, np.uint8)
    for (cx, cy), (a, b), angle in ellipses:
        cv2.ellipse(f, (cx, cy), (a, b), angle, 0, 360, grey, -1)
    return f


def _frame_pixels(blob: Blob, shape=(H, W)) -> np.ndarray:
    """The blob's mask pasted into a full frame."""
    out = np.zeros(shape, np.uint8)
    x0, y0 = blob.offset
    h, w = blob.mask.shape
    out[y0:y0 + h, x0:x0 + w] = blob.mask
    return out


def test_mask_thresholds_the_difference_by_polarity():
    seg = Segmenter(_background())
    frame = np.full((H, W), 200, np.uint8)
    frame[0, 0] = 169  # 31 darker: foreground
    frame[0, 1] = 170  # 30 darker: not above the threshold
    frame[0, 2] = 255  # lighter: not an animal with polarity +1
    m = seg.mask(frame)
    assert m.dtype == np.uint8
    assert (m[0, 0], m[0, 1], m[0, 2]) == (255, 0, 0)
    assert np.count_nonzero(m) == 1


def test_two_animals_give_two_blobs_largest_first_at_their_centres():
    frame = _frame([((150, 200), (30, 12), 0), ((450, 300), (20, 10), 30)])
    seg = Segmenter(_background())
    assert seg.scale == 2  # 640 px wide: searched at 320
    blobs = seg.blobs(frame)
    assert len(blobs) == 2
    big, small = blobs
    assert big.area > small.area
    assert big.area == pytest.approx(np.pi * 30 * 12, rel=0.05)
    assert small.area == pytest.approx(np.pi * 20 * 10, rel=0.05)
    np.testing.assert_allclose(big.centroid, [150, 200], atol=0.5)
    np.testing.assert_allclose(small.centroid, [450, 300], atol=0.5)
    for b in blobs:
        assert b.compartment == -1 and not b.merged
        assert b.mask.dtype == np.uint8 and set(np.unique(b.mask)) == {0, 255}
    # each crop, put back in the frame, is exactly that animal's foreground pixels
    fg = Segmenter(_background()).mask(frame)
    only_big = fg.copy()
    only_big[:, 300:] = 0
    np.testing.assert_array_equal(_frame_pixels(big), only_big)


def test_specks_below_min_area_are_dropped_and_holes_filled():
    frame = _frame([((150, 200), (30, 12), 0)])
    cv2.circle(frame, (150, 200), 4, 200, -1)  # a reflection on the back
    cv2.circle(frame, (600, 50), 2, 40, -1)  # a speck of ~13 px
    blobs = Segmenter(_background(), min_area=30).blobs(frame)
    assert len(blobs) == 1
    assert blobs[0].mask[200 - blobs[0].offset[1], 150 - blobs[0].offset[0]] == 255


def test_empty_frame_has_no_blobs():
    seg = Segmenter(_background())
    frame = np.full((H, W), 200, np.uint8)
    coarse = seg.coarse(frame)
    assert isinstance(coarse, Coarse)
    assert coarse.boxes == [] and coarse.ghost == 0
    assert seg.blobs(frame) == []


def test_limit_keeps_the_largest():
    frame = _frame([((150, 200), (30, 12), 0), ((450, 300), (20, 10), 0),
                    ((450, 100), (10, 6), 0)])
    seg = Segmenter(_background())
    assert len(seg.blobs(frame)) == 3
    limited = seg.blobs(frame, limit=1)
    assert len(limited) >= 1
    np.testing.assert_allclose(limited[0].centroid, [150, 200], atol=0.5)
    assert all(b.area < limited[0].area for b in limited[1:])


def test_light_animals_with_negative_polarity():
    frame = _frame([((300, 240), (25, 10), 0)], level=50, grey=230)
    blobs = Segmenter(_background(polarity=-1, level=50)).blobs(frame)
    assert len(blobs) == 1
    np.testing.assert_allclose(blobs[0].centroid, [300, 240], atol=0.5)


def test_arena_partition_separates_touching_animals_and_names_compartments():
    # partition at x = 320: the two ellipses overlap across it
    frame = _frame([((300, 200), (30, 12), 0), ((345, 200), (30, 12), 0)])
    seg = Segmenter(_background(), arena=default_arena())
    blobs = seg.blobs(frame)
    assert len(blobs) == 2
    by_comp = {b.compartment: b for b in blobs}
    assert set(by_comp) == {0, 1}  # left, right in file order
    assert by_comp[0].centroid[0] < 320 < by_comp[1].centroid[0]
    assert _frame_pixels(by_comp[0])[:, 319:].max() == 0
    # outside every compartment (the 20 px border) is never foreground
    frame[5, 5] = 0
    assert seg.mask(frame)[5, 5] == 0


def test_ghost_counts_pixels_of_opposite_polarity():
    frame = np.full((H, W), 200, np.uint8)
    frame[100:120, 100:140] = 255  # lighter than the floor by 55 > threshold
    seg = Segmenter(_background())
    coarse = seg.coarse(frame)
    # 10 x 20 px at half resolution, eroded by a 3 x 3 kernel: 8 x 18
    assert coarse.ghost == 8 * 18
    assert coarse.boxes == []  # a ghost is not an animal
    assert seg.coarse(frame, ghost=False).ghost == 0


def test_scale_one_gives_the_same_blob():
    frame = _frame([((150, 200), (30, 12), 0)])
    a = Segmenter(_background(), scale=1).blobs(frame)
    b = Segmenter(_background()).blobs(frame)
    assert len(a) == len(b) == 1
    assert a[0].area == b[0].area
    np.testing.assert_allclose(a[0].centroid, b[0].centroid)
