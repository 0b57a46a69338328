"""Helpers for the simulator's tests: cached sessions and truth geometry."""

from __future__ import annotations

import functools

import numpy as np

from behavtrack.simulate import simulate_session


@functools.lru_cache(maxsize=8)
def session(day: int = 8, seed: int = 3, duration_s: float = 240.0, pair: int = 0,
            noise: bool = True):
    """A simulated session, cached across the tests of a run (do not modify it)."""
    return simulate_session(day=day, n_days=10, pair=pair, duration_s=duration_s, seed=seed,
                            noise=noise)


def truth_xy(sess, keypoint: str, individual: str) -> np.ndarray:
    """Exact ``(n_frames, 2)`` positions of one keypoint of one mouse."""
    pos = sess.truth_pose["position"].sel(keypoint=keypoint, individual=individual)
    return pos.transpose("time", "space").values


def label_matrix(sess) -> dict[str, np.ndarray]:
    """Per-frame truth label arrays by individual."""
    return {ind: g.sort_values("frame")["behavior"].to_numpy()
            for ind, g in sess.labels.groupby("individual")}


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True in a boolean array."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(int)))
    return list(zip(d[::2].tolist(), d[1::2].tolist(), strict=True))
