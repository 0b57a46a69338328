"""Unit tests of ``behavtrack.tracking.identity``: which blob is which animal.

Covers :func:`by_compartment` (largest blob per compartment), :func:`split_blob` (k-means
split of touching animals, in the seeds' order) and :class:`MotionAssigner` (first
sighting left to right, matching by predicted position whatever the blobs' order, the
constant-velocity prediction, the ``max_jump`` gate, frames without blobs, and splitting a
merged blob when two known animals touch), with hand-made square blobs.
"""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.tracking.identity import MotionAssigner, by_compartment, split_blob
from behavtrack.tracking.segment import Blob


def square(cx, cy, half=3, compartment=-1):
    """A filled (2*half+1)^2 square blob centred on integer (cx, cy), 1 px margin."""
    size = 2 * half + 3
    mask = np.zeros((size, size), np.uint8)
    mask[1:-1, 1:-1] = 255
    offset = (cx - half - 1, cy - half - 1)
    n = (2 * half + 1) ** 2
    return Blob(mask, offset, n, np.array([cx, cy], float), compartment)


def test_by_compartment_takes_the_first_largest_blob_of_each():
    a = square(10, 10, 5, compartment=1)
    b = square(50, 10, 4, compartment=0)
    c = square(12, 30, 2, compartment=1)
    out = by_compartment([a, b, c], [0, 1, 2])
    assert out[0] is b and out[1] is a and out[2] is None
    assert by_compartment([], [0, 1]) == [None, None]


def test_split_blob_cuts_two_squares_apart_in_the_seeds_order():
    mask = np.zeros((12, 30), np.uint8)
    mask[2:9, 2:9] = 255  # 7 x 7 at x 2..8 (centre x 5)
    mask[2:9, 20:27] = 255  # 7 x 7 at x 20..26 (centre x 23)
    blob = Blob(mask, (100, 50), 98, np.array([114.0, 55.0]), compartment=0)
    right, left = split_blob(blob, np.array([[125.0, 55.0], [103.0, 55.0]]))
    assert left.area == right.area == 49
    np.testing.assert_allclose(left.centroid, [105, 55])
    np.testing.assert_allclose(right.centroid, [123, 55])
    assert left.merged and right.merged
    assert left.compartment == right.compartment == 0
    assert left.offset == right.offset == (100, 50)
    np.testing.assert_array_equal(left.mask[:, :15], mask[:, :15])
    assert left.mask[:, 15:].max() == 0
    assert np.count_nonzero(left.mask & right.mask) == 0
    # the input blob is left as it was
    assert blob.area == 98 and not blob.merged


def test_split_blob_with_a_seed_far_from_every_pixel_gives_an_empty_part():
    blob = square(20, 20, 3)
    near, far = split_blob(blob, np.array([[20.0, 20.0], [500.0, 500.0]]))
    assert near.area == 49 and far.area == 0
    assert np.count_nonzero(far.mask) == 0


def test_first_sighting_orders_animals_left_to_right():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    assert np.isnan(ma.predicted()).all()
    right, left = square(80, 10), square(20, 40)
    out = ma.assign([right, left])
    assert out[0] is left and out[1] is right
    np.testing.assert_allclose(ma.position, [[20, 40], [80, 10]])


def test_first_sighting_with_too_many_blobs_keeps_the_largest():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    big, mid, tiny = square(90, 10, 5), square(50, 10, 4), square(10, 10, 1)
    out = ma.assign([big, mid, tiny])
    assert out == [mid, big]


def test_identities_follow_positions_not_list_order_and_velocity_predicts():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    ma.assign([square(20, 20), square(80, 20)])
    # both move 4 px to the right; the blobs come in the other order
    b1, b0 = square(84, 20), square(24, 20)
    out = ma.assign([b1, b0])
    assert out[0] is b0 and out[1] is b1
    # velocity = 0.5 * 0 + 0.5 * 4 px
    np.testing.assert_allclose(ma.velocity, [[2, 0], [2, 0]])
    np.testing.assert_allclose(ma.predicted(), [[26, 20], [86, 20]])


def test_blob_beyond_max_jump_is_not_matched():
    ma = MotionAssigner(1, typical_area=49, max_jump=10)
    ma.assign([square(20, 20)])
    out = ma.assign([square(60, 20)])
    assert out == [None]
    np.testing.assert_allclose(ma.position, [[20, 20]])  # not moved to the far blob


def test_frame_without_blobs_halves_the_velocity():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    ma.assign([square(20, 20), square(80, 20)])
    ma.assign([square(24, 20), square(84, 20)])
    assert ma.assign([]) == [None, None]
    np.testing.assert_allclose(ma.velocity, [[1, 0], [1, 0]])
    np.testing.assert_allclose(ma.position, [[24, 20], [84, 20]])


def test_unseen_animal_takes_a_leftover_blob():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    first = square(20, 20)
    assert ma.assign([first]) == [first, None]
    a, b = square(21, 20), square(200, 100)
    out = ma.assign([b, a])
    assert out[0] is a and out[1] is b


def test_merged_blob_of_two_known_animals_is_split_between_them():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    ma.assign([square(10, 10), square(30, 10)])
    # touching now: one blob of two 7 x 7 squares side by side (x 7..13 and 27..33)
    mask = np.zeros((9, 29), np.uint8)
    mask[1:8, 1:8] = 255
    mask[1:8, 21:28] = 255
    merged = Blob(mask, (6, 6), 98, np.array([20.0, 10.0]))
    out = ma.assign([merged])
    assert all(b is not None and b.merged for b in out)
    assert out[0].area == out[1].area == 49
    np.testing.assert_allclose(out[0].centroid, [10, 10])
    np.testing.assert_allclose(out[1].centroid, [30, 10])
    # a part of a merged blob moves the animal only 30 % towards it (here: not at all)
    np.testing.assert_allclose(ma.position, [[10, 10], [30, 10]])


def test_one_animal_sized_blob_is_not_split():
    ma = MotionAssigner(2, typical_area=49, max_jump=20)
    ma.assign([square(10, 10), square(30, 10)])
    lone = square(11, 10)
    out = ma.assign([lone])
    assert out == [lone, None]
    assert not lone.merged


@pytest.mark.parametrize("n", [1, 3])
def test_position_and_velocity_have_one_row_per_animal(n):
    ma = MotionAssigner(n, typical_area=10, max_jump=5)
    assert ma.position.shape == ma.velocity.shape == (n, 2)
