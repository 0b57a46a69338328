"""Rendering: an overhead grayscale video of a simulated session, streamed to the encoder.

The chamber (floor with uneven lighting, walls, a perforated transparent partition, the
ports) is drawn once; each frame then gets the two mice drawn from their keypoints (an
elliptical body from tail base to neck, a head tapering to the nose, ears, a swaying tail),
a slight blur and light flicker, sensor noise, and is handed to OpenCV's MPEG-4 part 2
encoder (``mp4v``), so the video's animals lie exactly where ``truth_pose`` says. Frames are
never held in memory all at once.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, progress
from behavtrack.io.arena import Arena

__all__ = ["render_video", "draw_background", "draw_mice", "frame_size_of"]

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT
FLOOR, WALL, MOUSE, EAR, TAIL = 175.0, 70, 38, 85, 55


def _fx(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]) * _ONE)), int(round(float(p[1]) * _ONE))


def frame_size_of(arena: Arena) -> tuple[int, int]:
    """Return the arena's ``frame_size``, or the size that holds every vertex plus a margin."""
    if arena.frame_size is not None:
        return int(arena.frame_size[0]), int(arena.frame_size[1])
    pts = np.concatenate([c.polygon for c in arena.compartments.values()])
    return int(math.ceil(pts[:, 0].max() + 20)), int(math.ceil(pts[:, 1].max() + 20))


def draw_background(arena: Arena, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Draw the empty chamber as a uint8 image: lit floor, walls, partition and ports."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    cx, cy = 0.45 * w, 0.42 * h
    r2 = ((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2
    light = 1.0 - 0.9 * r2 + 0.12 * (xx / w - 0.5)  # vignette plus a side light
    img = np.full((h, w), WALL * 0.8) * light
    mask = np.zeros((h, w), np.uint8)
    for comp in arena.compartments.values():
        cv2.fillPoly(mask, [np.round(comp.polygon * _ONE).astype(np.int32)], 255, cv2.LINE_AA,
                     _SHIFT)
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, 6, (h, w)), (0, 0), 3)
    floor = FLOOR * light + texture
    a = mask / 255.0
    img = img * (1 - a) + floor * a
    for comp in arena.compartments.values():
        cv2.polylines(img, [np.round(comp.polygon * _ONE).astype(np.int32)], True, WALL, 3,
                      cv2.LINE_AA, _SHIFT)
        for zone, shade in ((comp.poke_port, 95.0), (comp.water_port, 120.0)):
            if zone is None:
                continue
            if zone.radius is not None:
                cv2.circle(img, _fx(np.asarray(zone.center)), int(zone.radius * _ONE), shade, -1,
                           cv2.LINE_AA, _SHIFT)
                cv2.circle(img, _fx(np.asarray(zone.center)), int(zone.radius * 0.45 * _ONE),
                           shade - 45, -1, cv2.LINE_AA, _SHIFT)
            else:
                cv2.fillPoly(img, [np.round(zone.polygon * _ONE).astype(np.int32)], shade,
                             cv2.LINE_AA, _SHIFT)
    if arena.partition is not None:
        part = np.asarray(arena.partition, dtype=float)
        cv2.polylines(img, [np.round(part * _ONE).astype(np.int32)], False, 215.0, 4,
                      cv2.LINE_AA, _SHIFT)
        for a0, a1 in zip(part[:-1], part[1:], strict=True):  # perforations
            n = max(int(np.linalg.norm(a1 - a0) / 12), 1)
            for t in np.linspace(0, 1, n + 1):
                cv2.circle(img, _fx(a0 + t * (a1 - a0)), int(1.2 * _ONE), 150.0, -1,
                           cv2.LINE_AA, _SHIFT)
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_mice(img: np.ndarray, kp: np.ndarray, px_per_cm: float, phase: np.ndarray,
              bounds: list[tuple[np.ndarray, ...]] | None = None) -> None:
    """Draw mice in place from keypoints ``(space, keypoint, individual)`` (canonical order).

    Each mouse: a tail from the tail base away from the body, a body ellipse from the tail
    base to the neck (the ears' midpoint), a head ellipse ending exactly at the nose, ears.
    Mice with a missing keypoint are not drawn. ``bounds`` gives per mouse
    ``(lo, hi, partition_point, normal)``: the tail is kept inside that box and on that side
    of the partition.
    """
    for i in range(kp.shape[-1]):
        nose, le, re, cen, tb = (kp[:, k, i] for k in range(5))
        if not np.isfinite(kp[:, :, i]).all():
            continue
        neck = (le + re) / 2
        ax = neck - tb
        length = float(np.linalg.norm(ax))
        if length < 1e-6:
            continue
        u = ax / length
        perp = np.array([-u[1], u[0]])
        # tail: 1.1 body lengths, swaying
        s = np.linspace(0.0, 1.0, 13)
        tail_len = 1.05 * float(np.linalg.norm(nose - tb))
        wig = 0.07 * tail_len * np.sin(2 * np.pi * (0.8 * s + phase[i])) * s
        pts = tb[None] - u[None] * (tail_len * s)[:, None] + perp[None] * wig[:, None]
        if bounds is not None:
            lo, hi, p0, normal = bounds[i]
            pts = np.clip(pts, lo + 2, hi - 2)
            behind = np.clip(2.0 - (pts - p0) @ normal, 0.0, None)
            pts = pts + behind[:, None] * normal
        pts_i = np.round(pts * _ONE).astype(np.int32)
        for j in range(len(pts) - 1):
            th = max(1, int(round((0.28 - 0.2 * s[j]) * px_per_cm)))
            cv2.line(img, tuple(pts_i[j]), tuple(pts_i[j + 1]), TAIL, th, cv2.LINE_AA, _SHIFT)
        # body: from tail base to the neck, through the centroid
        half_w = 1.25 * px_per_cm * (length / (0.72 * 7.0 * px_per_cm)) ** 0.5
        centre = (tb + neck) / 2 + 0.15 * (cen - (tb + neck) / 2)
        angle = math.degrees(math.atan2(u[1], u[0]))
        cv2.ellipse(img, _fx(centre), (int(length / 2 * 1.08 * _ONE), int(half_w * _ONE)),
                    angle, 0, 360, MOUSE, -1, cv2.LINE_AA, _SHIFT)
        # head: from behind the ears to the nose tip
        hv = nose - neck
        hl = float(np.linalg.norm(hv))
        if hl > 1e-6:
            back = neck - 0.25 * hv
            hc = (back + nose) / 2
            cv2.ellipse(img, _fx(hc), (int(np.linalg.norm(nose - back) / 2 * _ONE),
                                       int(0.75 * px_per_cm * _ONE)),
                        math.degrees(math.atan2(hv[1], hv[0])), 0, 360, MOUSE, -1,
                        cv2.LINE_AA, _SHIFT)
        er = int(0.42 * px_per_cm * _ONE)
        for e in (le, re):
            cv2.circle(img, _fx(e), er, EAR, -1, cv2.LINE_AA, _SHIFT)


def render_video(sess, path: str | os.PathLike, *,  # noqa: ANN001
                 noise_sd: float = 2.0, seed: int | None = None) -> Path:
    """Render ``sess`` (a :class:`~behavtrack.simulate.SimulatedSession`) as an mp4 video.

    Parameters
    ----------
    sess
        The session; its ``truth_pose`` places the animals, its ``arena`` the chamber.
    path
        Output ``.mp4`` (written atomically).
    noise_sd
        Standard deviation of the sensor noise (grey levels).
    seed
        Seed of the noise and floor texture (default: the session's seed).

    Returns
    -------
    pathlib.Path
        The video's path.

    """
    path = Path(path)
    arena = sess.arena
    w, h = frame_size_of(arena)
    fps = float(sess.meta["fps"])
    seed = int(sess.meta.get("seed", 0)) if seed is None else seed
    rng = np.random.default_rng([seed, 4242])
    bg = draw_background(arena, (w, h), seed)
    bank = np.clip(rng.normal(0.0, noise_sd, (8, h, w)), -127, 127).astype(np.int16)
    flicker = np.round(1.0 + 0.01 * np.sin(2 * np.pi * 0.37 * np.arange(len(
        sess.truth_pose.time)) / fps + rng.uniform(0, 6.3)), 3)
    kp_all = sess.truth_pose["position"].transpose("time", "space", "keypoint",
                                                    "individual").values
    n = kp_all.shape[0]
    phase0 = rng.uniform(0, 1, kp_all.shape[-1])
    from behavtrack.simulate.geometry import chamber_from_arena

    chamber = chamber_from_arena(arena)
    bounds = [(s.lo, s.hi, chamber.p0, s.normal) for s in chamber.sides]
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h),
                                 isColor=False)
        if not writer.isOpened():
            raise InputError(path, "cannot be opened for writing an mp4v video",
                             "check the folder is writable")
        try:
            for t in progress(range(n), total=n, desc="rendering", unit="frame"):
                frame = bg.copy()
                draw_mice(frame, kp_all[t], arena.px_per_cm, phase0 + t * 0.7 / fps, bounds)
                frame = cv2.GaussianBlur(frame, (3, 3), 0.7)  # optics: soft edges
                if flicker[t] != 1.0:  # mains-powered light: a slight flicker
                    frame = cv2.convertScaleAbs(frame, alpha=float(flicker[t]))
                noisy = frame.astype(np.int16) + bank[t % 8]
                writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
        finally:
            writer.release()
    return path
