"""Motion: from a mouse's segments to its exact keypoints, frame by frame, with numpy.

Travel follows a minimum-jerk speed profile along a gently curved path; dwells carry a slow
Ornstein-Uhlenbeck drift and head sway; grooming pulls the head in and rocks it; pokes and
drinks put the nose exactly on its target. The head points where the mouse is going and the
body and tail follow it with lags (low-pass filtered heading), so the nose leads turns.
Keypoints: ``nose, left_ear, right_ear, centroid, tail_base`` (the order of
:data:`KEYPOINTS`). Constraints applied last: outside pokes the nose stays out of the poke
port's zone, no body part leaves the compartment's bounding box or crosses the partition.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from behavtrack.simulate.behaviour import (
    DRINK,
    DWELL,
    GROOM,
    POKE,
    TAG_PARTITION,
    TAG_PORTWAIT,
    TRAVEL,
    MouseTrack,
)

__all__ = ["KEYPOINTS", "track_keypoints", "poke_frames_mask"]

#: Keypoint names, in the order of the arrays the simulator returns.
KEYPOINTS: tuple[str, ...] = ("nose", "left_ear", "right_ear", "centroid", "tail_base")


def _ou(n: int, tau_frames: float, rng: np.random.Generator, dims: int = 1) -> np.ndarray:
    """Unit-variance Ornstein-Uhlenbeck noise of ``n`` frames (AR(1), vectorized)."""
    a = math.exp(-1.0 / max(tau_frames, 1e-6))
    e = rng.standard_normal((n, dims)) * math.sqrt(1 - a * a)
    out = lfilter([1.0], [1.0, -a], e, axis=0)
    return out[:, 0] if dims == 1 else out


def _lowpass(x: np.ndarray, tau_frames: float) -> np.ndarray:
    """First-order low-pass of ``x`` (starting at ``x[0]``)."""
    a = math.exp(-1.0 / max(tau_frames, 1e-6))
    y, _ = lfilter([1 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def poke_frames_mask(track: MouseTrack, n_frames: int) -> np.ndarray:
    """Boolean mask of the frames a mouse spends in poke segments."""
    mask = np.zeros(n_frames, dtype=bool)
    for s in track.segments:
        if s.kind == POKE and s.start < n_frames:
            mask[s.start:min(s.stop, n_frames)] = True
    return mask


def track_keypoints(track: MouseTrack, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Exact keypoints of one mouse, shape ``(n_frames, 2, 5)`` (time, space, keypoint).

    Parameters
    ----------
    track
        The mouse's planned segments (covering at least ``n_frames`` frames).
    n_frames
        Number of frames to produce.
    rng
        Random generator for path curvature, drift and sway.

    """
    segs = track.segments
    fps, cm, body = track.fps, track.cm, track.body
    starts = np.array([s.start for s in segs])
    lens = np.array([s.stop - s.start for s in segs])
    kinds = np.array([s.kind for s in segs])
    tags = np.array([s.tag for s in segs])
    p0 = np.array([s.p0 for s in segs])
    p1 = np.array([s.p1 for s in segs])
    face = np.array([s.face for s in segs])
    total = int(lens.sum())
    seg_of = np.repeat(np.arange(len(segs)), lens)
    k = np.arange(total) - starts[seg_of]
    n_of = lens[seg_of]
    kind = kinds[seg_of]

    # centroid and head direction
    d = p1 - p0
    dist = np.linalg.norm(d, axis=1)
    amp = np.clip(rng.normal(0.0, 0.12, len(segs)), -0.25, 0.25) * dist
    perp = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(dist, 1e-9)[:, None]
    tau = (k + 1) / n_of
    s = tau**3 * (10 - 15 * tau + 6 * tau**2)
    lateral = amp[seg_of] * np.sin(np.pi * s)
    centroid = p0[seg_of] + d[seg_of] * s[:, None] + perp[seg_of] * lateral[:, None]
    # travel direction: derivative of the path with respect to s
    dirv = d[seg_of] + perp[seg_of] * (amp[seg_of] * np.pi * np.cos(np.pi * s))[:, None]
    # curved travels (quadratic Bezier through a control point)
    curved = np.array([sg.ctrl is not None for sg in segs])
    if curved.any():
        ctrl = np.array([sg.ctrl if sg.ctrl is not None else sg.p0 for sg in segs])
        fr = curved[seg_of]
        sc, c0, c1, cc = s[fr][:, None], p0[seg_of][fr], p1[seg_of][fr], ctrl[seg_of][fr]
        centroid[fr] = (1 - sc) ** 2 * c0 + 2 * (1 - sc) * sc * cc + sc**2 * c1
        dirv[fr] = (1 - sc) * (cc - c0) + sc * (c1 - cc)
    travel_angle = np.arctan2(dirv[:, 1], dirv[:, 0])
    still = kind != TRAVEL
    drift = _ou(total, 1.5 * fps, rng, dims=2) * (0.12 * cm)
    a_s = math.exp(-1.0 / (0.3 * fps))  # smooth it: a still body does not vibrate
    drift = lfilter([1 - a_s], [1.0, -a_s], drift, axis=0)
    centroid[still] = p0[seg_of][still] + drift[still] * np.where(
        kind[still] == POKE, 0.0, 1.0)[:, None]
    sway = _ou(total, 0.4 * fps, rng)
    focused = np.isin(tags[seg_of], (TAG_PORTWAIT, TAG_PARTITION))  # eyes on port / partner
    sway_amp = np.select([kind == GROOM, focused, kind == DWELL, kind == TRAVEL],
                         [0.6, 0.12, 0.25, 0.08], 0.03)
    head = np.where(still, face[seg_of], travel_angle) + sway * sway_amp
    # grooming: head pulled towards the body and rocking
    ext = np.ones(total)
    g = kind == GROOM
    ext[g] = 0.55 + 0.2 * np.sin(2 * np.pi * 2.5 * np.arange(total)[g] / fps)

    head = _lowpass(np.unwrap(head), 0.05 * fps)
    body_a = _lowpass(head, 0.12 * fps)
    tail_a = _lowpass(head, 0.28 * fps)
    # a neck bends so far: the head stays within 45 degrees of the body, the tail of it 60
    head = body_a + np.clip(head - body_a, -0.8, 0.8)
    tail_a = body_a + np.clip(tail_a - body_a, -1.05, 1.05)
    uh = np.stack([np.cos(head), np.sin(head)], axis=1)
    ub = np.stack([np.cos(body_a), np.sin(body_a)], axis=1)
    ut = np.stack([np.cos(tail_a), np.sin(tail_a)], axis=1)

    # pokes and drinks: the nose is placed exactly, the body hangs behind it
    nose = centroid + body["neck"] * ub + body["head"] * ext[:, None] * uh
    for seg in segs:
        if seg.kind not in (POKE, DRINK) or seg.start >= n_frames:
            continue
        sl = slice(seg.start, seg.stop)
        kk = np.arange(seg.stop - seg.start)
        r = seg.port_r
        if seg.kind == POKE:
            n_in = track.poke_in_frames
            n_out = max(2, round(0.15 * fps))
            hold = len(kk) - n_in - n_out
            out = r + 0.8 * cm
            depth = r - 0.5 * cm
            dd = np.concatenate([
                out - (out - r) * (kk[:n_in] / n_in),
                np.full(hold, depth),
                depth + (out - depth) * (np.arange(1, n_out + 1) / n_out),
            ])
        else:
            dd = max(r - 0.6 * cm, 0.0) + 0.15 * cm * np.sin(2 * np.pi * 7.0 * kk / fps)
        target = seg.port + seg.port_dir * dd[:, None]
        nose[sl] = target
        centroid[sl] = target - body["head"] * uh[sl] - body["neck"] * ub[sl]

    neck = centroid + body["neck"] * ub
    left = np.stack([uh[:, 1], -uh[:, 0]], axis=1)  # image y points down
    ear_base = neck - body["ear_back"] * uh
    kp = np.empty((total, 2, 5))
    kp[:, :, 0] = nose
    kp[:, :, 1] = ear_base + body["ear_side"] * left
    kp[:, :, 2] = ear_base - body["ear_side"] * left
    kp[:, :, 3] = centroid
    kp[:, :, 4] = centroid - body["tail"] * ut
    kp = kp[:n_frames]

    # constraints: no stray pokes, nothing through the partition
    side, ch = track.side, track.chamber
    poking = poke_frames_mask(track, n_frames)
    v = kp[:, :, 0] - side.poke
    dn = np.linalg.norm(v, axis=1)
    bad = (~poking) & (dn < side.poke_r + 0.05 * cm)
    if bad.any():
        push = (side.poke_r + 0.15 * cm - dn[bad])[:, None] * (
            v[bad] / np.maximum(dn[bad], 1e-9)[:, None])
        kp[bad] += push[:, :, None]
    # walls (the compartment's bounding box): shift the whole body back inside
    margin = 0.2 * cm
    low = np.clip(side.lo + margin - np.nanmin(kp, axis=2), 0.0, None)
    high = np.clip(np.nanmax(kp, axis=2) - (side.hi - margin), 0.0, None)
    kp += (low - high)[:, :, None]
    sd = ch.signed_partition_distance(side, np.moveaxis(kp, 1, 2)).min(axis=1)
    deficit = np.clip(0.3 * cm - sd, 0.0, None)
    kp += (deficit[:, None] * side.normal)[:, :, None]
    return kp
