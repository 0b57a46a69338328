"""Tracker faults: what a pose estimator makes of the exact keypoints.

:func:`apply_faults` turns exact keypoints into what DeepLabCut or SLEAP would give:
per-keypoint jitter with occasional outliers, high but imperfect likelihoods, dropouts
(runs of frames where a keypoint's likelihood collapses and its position is missing or
lands on the wrong spot), brief identity swaps (mostly while the mice are close, e.g. nose
to nose at the partition) and missing frames (no detection at all). Rates are per minute
and live in :class:`~behavtrack.simulate.config.SimulationConfig`.
"""

from __future__ import annotations

import numpy as np

from behavtrack.simulate.config import SimulationConfig

__all__ = ["apply_faults"]

# per keypoint (nose, left_ear, right_ear, centroid, tail_base)
_JITTER_SCALE = np.array([1.5, 1.3, 1.3, 1.0, 1.3])
_BASE_CONF = np.array([0.96, 0.93, 0.93, 0.985, 0.95])


def _runs(rng: np.random.Generator, n_frames: int, rate_per_min: float, fps: float,
          min_len: int, max_len: int, starts_from: np.ndarray | None = None) -> list[slice]:
    """Random runs of frames: a Poisson number of them, lengths uniform in [min_len, max_len]."""
    count = rng.poisson(rate_per_min * n_frames / fps / 60.0)
    if count == 0 or n_frames <= 0:
        return []
    if starts_from is not None and len(starts_from) > 0:
        pick = rng.random(count) < 0.8
        starts = np.where(pick, rng.choice(starts_from, count), rng.integers(0, n_frames, count))
    else:
        starts = rng.integers(0, n_frames, count)
    lens = rng.integers(min_len, max_len + 1, count)
    return [slice(int(s), int(min(s + n, n_frames))) for s, n in zip(starts, lens, strict=True)]


def apply_faults(
    truth: np.ndarray,
    fps: float,
    cfg: SimulationConfig,
    rng: np.random.Generator,
    close: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Return noisy positions, likelihoods and a count of the faults made.

    Parameters
    ----------
    truth
        Exact positions, shape ``(time, space, keypoint, individual)`` with 5 keypoints.
    fps
        Frame rate (fault durations are in frames derived from it).
    cfg
        Fault rates and jitter.
    rng
        Random generator.
    close
        Optional boolean mask of frames where the mice are close (swaps prefer them).

    Returns
    -------
    position : numpy.ndarray
        Same shape as ``truth``; NaN where the tracker found nothing.
    confidence : numpy.ndarray
        Shape ``(time, keypoint, individual)`` in ``[0, 1]``.
    counts : dict
        Number of ``dropouts``, ``swaps`` and ``missing`` runs, and ``swapped_frames``.

    """
    n, _, n_kp, n_ind = truth.shape
    scale = _JITTER_SCALE[:n_kp] if n_kp == 5 else np.ones(n_kp)
    base = _BASE_CONF[:n_kp] if n_kp == 5 else np.full(n_kp, 0.95)
    pos = truth + rng.standard_normal(truth.shape) * (cfg.jitter_px * scale)[None, None, :, None]
    conf = 1.0 - rng.gamma(1.0, 1.0, (n, n_kp, n_ind)) * (1.0 - base)[None, :, None]
    # rare outliers: a wrong detection a few pixels off, with a middling likelihood
    out = rng.random((n, n_kp, n_ind)) < 0.002
    if out.any():
        pos += (rng.standard_normal(truth.shape) * 8.0) * out[:, None, :, :]
        conf[out] = rng.uniform(0.3, 0.7, int(out.sum()))
    counts = {"dropouts": 0, "swaps": 0, "missing": 0, "swapped_frames": 0}
    max_drop = max(2, round(0.6 * fps))
    for ind in range(n_ind):
        for kp in range(n_kp):
            for sl in _runs(rng, n, cfg.dropout_rate_per_min, fps, 1, max_drop):
                counts["dropouts"] += 1
                conf[sl, kp, ind] = rng.uniform(0.0, 0.15, sl.stop - sl.start)
                if rng.random() < 0.5:
                    pos[sl, :, kp, ind] = np.nan
                else:
                    pos[sl, :, kp, ind] += rng.normal(0.0, 10.0, 2)
    if n_ind == 2:
        near = np.flatnonzero(close) if close is not None else None
        for sl in _runs(rng, n, cfg.swap_rate_per_min, fps, 2, max(3, round(0.5 * fps)), near):
            counts["swaps"] += 1
            counts["swapped_frames"] += sl.stop - sl.start
            pos[sl] = pos[sl][..., ::-1].copy()
            conf[sl] = conf[sl][..., ::-1].copy()
    for sl in _runs(rng, n, cfg.missing_rate_per_min, fps, 1, max(2, round(0.3 * fps))):
        counts["missing"] += 1
        pos[sl] = np.nan
        conf[sl] = 0.0
    # trackers report positions to a fraction of a pixel: quantize to 1/64 px (and likelihoods
    # to 1/1024), which also lets the pose files compress
    pos = np.round(pos * 64.0) / 64.0
    conf = np.round(np.clip(conf, 0.0, 1.0) * 1024.0) / 1024.0
    return pos, conf, counts
