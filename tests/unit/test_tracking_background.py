"""Unit tests of ``behavtrack.tracking.background``: the built-in tracker's background model.

Covers :func:`background_from_samples` (background image, polarity, threshold, noise, resting
animals not burnt in), :meth:`Background.difference`, the per-pixel sorting network that
gives the percentiles, Otsu's threshold, and :func:`sample_frames` /
:func:`estimate_background` on a tiny synthetic video written here (with the refusal of a
video too short to sample).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from behavtrack.errors import InputError
from behavtrack.io.video import VideoReader
from behavtrack.tracking.background import (
    Background,
    _otsu,
    _sorted_per_pixel,
    background_from_samples,
    estimate_background,
    sample_frames,
)

H, W = 60, 80
FLOOR, ANIMAL = 200, 40


def _stack(centres, floor=FLOOR, animal=ANIMAL, noise=2.0, seed=0):
    """Frames of a uniform floor with one ellipse (15 x 8 px half-axes) at each centre."""
    rng = np.random.default_rng(seed)
    frames = []
    for cx, cy in centres:
        img = np.full((H, W), float(floor))
        img += rng.normal(0.0, noise, img.shape)
        f = np.clip(img, 0, 255).astype(np.uint8)
        cv2.ellipse(f, (int(cx), int(cy)), (15, 8), 0, 0, 360, animal, -1)
        frames.append(f)
    return np.stack(frames)


def _moving_centres(k):
    """An animal walking left to right along y = 30: each pixel covered in a few samples."""
    return [(10 + 60 * i / (k - 1), 30) for i in range(k)]


def test_dark_animal_on_light_floor_gives_empty_floor_and_positive_polarity():
    samples = _stack(_moving_centres(20))
    bg = background_from_samples(samples)
    assert isinstance(bg, Background)
    assert bg.polarity == 1
    assert bg.image.dtype == np.uint8 and bg.image.shape == (H, W)
    # no trace of the animal: the whole image is the floor, within the sensor noise
    assert np.abs(bg.image.astype(int) - FLOOR).max() <= 8
    # the threshold sits above the noise and below the animal's contrast (160)
    assert 6 * bg.noise + 8 <= bg.threshold < FLOOR - ANIMAL
    assert 1.0 <= bg.noise <= 4.0  # robust sd of N(0, 2) noise
    assert bg.samples == tuple(range(20))


def test_light_animal_on_dark_floor_has_negative_polarity():
    samples = _stack(_moving_centres(15), floor=50, animal=220)
    bg = background_from_samples(samples, indices=list(range(0, 150, 10)))
    assert bg.polarity == -1
    assert np.abs(bg.image.astype(int) - 50).max() <= 8
    assert bg.samples == tuple(range(0, 150, 10))
    # difference is positive where the frame is lighter than the floor
    frame = samples[0]
    diff = bg.difference(frame)
    assert diff[30, 10] > 150 and diff[5, 70] < bg.threshold


def test_animal_resting_most_of_the_time_does_not_burn_in():
    # 20 samples, the animal rests at (60, 30) in 15 of them (75 %) and walks elsewhere
    # in the others (on the left half), so the right-hand resting place is free in 5
    centres = [(60, 30)] * 15 + [(15, 15 + 8 * i) for i in range(5)]
    bg = background_from_samples(_stack(centres))
    assert bg.polarity == 1
    assert abs(int(bg.image[30, 60]) - FLOOR) <= 8
    assert np.abs(bg.image.astype(int) - FLOOR).max() <= 8


def test_uniform_samples_fall_back_to_the_noise_threshold():
    samples = np.full((5, H, W), 120, np.uint8)
    bg = background_from_samples(samples)
    np.testing.assert_array_equal(bg.image, samples[0])
    assert bg.noise == 1.0  # zero spread: the floor of 1 grey level
    assert bg.threshold == pytest.approx(6 * 1.0 + 8)


def test_difference_saturates_at_zero_on_the_other_side():
    image = np.full((2, 3), 100, np.uint8)
    bg = Background(image=image, polarity=1, threshold=20.0, noise=1.0, samples=(0,))
    frame = np.array([[40, 100, 250], [0, 99, 101]], np.uint8)
    np.testing.assert_array_equal(bg.difference(frame), [[60, 0, 0], [100, 1, 0]])
    light = Background(image=image, polarity=-1, threshold=20.0, noise=1.0, samples=(0,))
    np.testing.assert_array_equal(light.difference(frame), [[0, 0, 150], [0, 0, 1]])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 20, 40, 41])
def test_sorting_network_sorts_every_pixel(n):
    rng = np.random.default_rng(n)
    frames = rng.integers(0, 256, size=(n, 7, 9), dtype=np.uint8)
    ranks = _sorted_per_pixel(frames)
    np.testing.assert_array_equal(np.stack(ranks), np.sort(frames, axis=0))


def test_otsu_splits_two_modes_and_defaults_without_values():
    values = np.concatenate([np.full(100, 30), np.full(100, 180)]).astype(np.uint8)
    t = _otsu(values)
    assert 30 <= t < 180
    assert _otsu(np.array([], dtype=np.uint8)) == 128.0


def _write_video(path, n_frames, size=(64, 48)):
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for i in range(n_frames):
        f = np.full((h, w), FLOOR, np.uint8)
        cv2.circle(f, (8 + 4 * i, 24), 6, ANIMAL, -1)
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()
    assert path.stat().st_size > 0


def test_sample_frames_spreads_indices_evenly(tmp_path):
    path = tmp_path / "clip.avi"
    _write_video(path, 12)
    with VideoReader(path) as reader:
        frames, indices = sample_frames(reader, 4)
        assert indices == [0, 4, 7, 11]
        assert frames.shape == (4, 48, 64) and frames.dtype == np.uint8
        # more samples than frames: every frame once
        frames, indices = sample_frames(reader, 40)
        assert indices == list(range(12))


def test_estimate_background_of_a_video(tmp_path):
    path = tmp_path / "clip.avi"
    _write_video(path, 12)
    with VideoReader(path) as reader:
        bg = estimate_background(reader, 12)
    assert bg.polarity == 1
    assert bg.samples == tuple(range(12))
    assert np.abs(bg.image.astype(int) - FLOOR).max() <= 10  # MJPEG artefacts only


def test_sample_frames_refuses_a_video_with_fewer_than_three_frames(tmp_path):
    path = tmp_path / "short.avi"
    _write_video(path, 2)
    with VideoReader(path) as reader, pytest.raises(InputError, match="sampled frames"):
        sample_frames(reader, 40)
