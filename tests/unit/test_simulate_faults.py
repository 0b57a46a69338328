"""Unit tests of ``behavtrack.simulate.faults``: what a pose estimator makes of true keypoints.

Checks :func:`apply_faults` with fault rates switched off (only jitter, quantised to 1/64
px, high likelihoods, no counts), with only missing frames (whole frames NaN with zero
likelihood), with only identity swaps of two mice (positions and likelihoods exchanged,
counted in frames), with dropouts (low likelihoods), the shapes for one or two animals,
and that a seed reproduces the result.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from behavtrack.simulate.config import SimulationConfig
from behavtrack.simulate.faults import apply_faults

FPS = 30.0
OFF = replace(SimulationConfig(), jitter_px=0.0, dropout_rate_per_min=0.0,
              swap_rate_per_min=0.0, missing_rate_per_min=0.0)


def truth(n=600, n_ind=2):
    """Two still mice, 100 px apart, keypoints spread along x; (time, space, kp, ind)."""
    t = np.zeros((n, 2, 5, n_ind))
    for i in range(n_ind):
        t[:, 0, :, i] = 100.0 + 100 * i + np.arange(5) * 3.0
        t[:, 1, :, i] = 50.0
    return t


def test_without_faults_and_jitter_positions_are_exact():
    # (outliers, 0.2 % of keypoints, still happen, with likelihoods 0.3-0.7: look above)
    tr = truth()
    pos, conf, counts = apply_faults(tr, FPS, OFF, np.random.default_rng(0))
    assert pos.shape == tr.shape and conf.shape == (600, 5, 2)
    assert counts == {"dropouts": 0, "swaps": 0, "missing": 0, "swapped_frames": 0}
    good = conf > 0.7
    assert good.mean() > 0.95
    np.testing.assert_array_equal(np.moveaxis(pos, 1, -1)[good], np.moveaxis(tr, 1, -1)[good])
    assert ((conf >= 0) & (conf <= 1)).all()
    np.testing.assert_array_equal(np.round(conf * 1024) / 1024, conf)


def test_jitter_is_quantised_and_about_the_configured_size():
    cfg = replace(OFF, jitter_px=2.0)
    tr = truth(2000)
    pos, _, _ = apply_faults(tr, FPS, cfg, np.random.default_rng(1))
    np.testing.assert_array_equal(np.round(pos * 64) / 64, pos)
    err = pos[:, :, 3, :] - tr[:, :, 3, :]  # the centroid: jitter scale 1
    assert 1.8 < np.median(np.abs(err)) / 0.6745 < 2.2


def test_missing_frames_are_nan_with_zero_likelihood():
    cfg = replace(OFF, missing_rate_per_min=30.0)
    pos, conf, counts = apply_faults(truth(1800), FPS, cfg, np.random.default_rng(2))
    assert counts["missing"] > 0
    gone = np.isnan(pos).all(axis=(1, 2, 3))
    assert gone.any()
    np.testing.assert_array_equal(conf[gone], 0.0)
    # a missing frame is missing for every keypoint and animal at once
    assert not (np.isnan(pos).any(axis=(1, 2, 3)) & ~gone).any()


def test_swaps_exchange_the_two_animals():
    cfg = replace(OFF, swap_rate_per_min=20.0)
    tr = truth(1800)
    pos, conf, counts = apply_faults(tr, FPS, cfg, np.random.default_rng(3))
    assert counts["swaps"] > 0
    # mouse 0 sits at x 100-112, mouse 1 at x 200-212 (centroids 109, 209):
    # a swapped frame has them reversed
    swapped = pos[:, 0, 3, 0] > 150
    assert 0 < swapped.sum() <= counts["swapped_frames"]
    sure = swapped & (conf[:, 3, 1] > 0.7)  # not an outlier
    np.testing.assert_array_equal(pos[sure, 0, 3, 1], 109.0)  # mouse 0's centroid x


def test_swaps_need_two_animals():
    cfg = replace(OFF, swap_rate_per_min=60.0)
    pos, conf, counts = apply_faults(truth(1800, n_ind=1), FPS, cfg, np.random.default_rng(4))
    assert pos.shape == (1800, 2, 5, 1) and conf.shape == (1800, 5, 1)
    assert counts["swaps"] == 0 and counts["swapped_frames"] == 0


def test_dropouts_have_low_likelihood():
    cfg = replace(OFF, dropout_rate_per_min=10.0)
    pos, conf, counts = apply_faults(truth(1800), FPS, cfg, np.random.default_rng(5))
    assert counts["dropouts"] > 0
    low = conf <= 0.15
    assert low.any()
    # positions removed by a dropout are always low-likelihood ones
    nan_kp = np.isnan(pos).any(axis=1)
    assert nan_kp.any() and low[nan_kp].all()


def test_same_seed_same_result():
    cfg = SimulationConfig()
    a = apply_faults(truth(900), FPS, cfg, np.random.default_rng(7))
    b = apply_faults(truth(900), FPS, cfg, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
