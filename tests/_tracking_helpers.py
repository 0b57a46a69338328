"""Helpers of the tracking tests: short synthetic videos with known animal positions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def draw_clip(
    path: Path,
    centres: np.ndarray,
    headings: np.ndarray,
    size: tuple[int, int] = (320, 240),
    fps: float = 25.0,
    seed: int = 0,
) -> None:
    """Write an MJPG .avi of dark mice (body, tapering head, tail) on a light floor.

    Parameters
    ----------
    path
        Output ``.avi``.
    centres
        ``(n_frames, n_animals, 2)`` body centres (px).
    headings
        ``(n_frames, n_animals)`` heading angles (radians).
    """
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    floor = (200 - 25 * ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (w * w / 4)).astype(np.float32)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for t in range(len(centres)):
        img = floor.copy()
        for (cx, cy), a in zip(centres[t], headings[t], strict=True):
            u = np.array([np.cos(a), np.sin(a)])
            body_c = np.array([cx, cy])
            # tail: from the rear, 30 px, 3 px wide
            rear = body_c - 16 * u
            tail_end = rear - 30 * u + 6 * np.array([-u[1], u[0]])
            cv2.line(img, tuple(np.round(rear).astype(int)), tuple(np.round(tail_end).astype(int)),
                     70, 3, cv2.LINE_AA)
            cv2.ellipse(img, tuple(np.round(body_c).astype(int)), (17, 9), np.degrees(a), 0, 360,
                        40, -1, cv2.LINE_AA)
            head_c = body_c + 17 * u
            cv2.ellipse(img, tuple(np.round(head_c).astype(int)), (9, 5), np.degrees(a), 0, 360,
                        40, -1, cv2.LINE_AA)
        noisy = img + rng.normal(0, 2.0, img.shape)
        frame = np.clip(noisy, 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()


def nose_of(centres: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """Nose tips of :func:`draw_clip`'s mice: the head ellipse's front end."""
    u = np.stack([np.cos(headings), np.sin(headings)], axis=-1)
    return centres + 26 * u


def walk(n_frames: int, starts: np.ndarray, velocities: np.ndarray,
         size: tuple[int, int] = (320, 240), margin: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """Straight walks that bounce off the frame's margins; heading follows the velocity."""
    w, h = size
    pos = np.empty((n_frames, len(starts), 2))
    head = np.empty((n_frames, len(starts)))
    p = np.array(starts, dtype=float)
    v = np.array(velocities, dtype=float)
    lo = np.array([margin, margin])
    hi = np.array([w - margin, h - margin])
    for t in range(n_frames):
        p = p + v
        out = (p < lo) | (p > hi)
        v[out] *= -1
        p = np.clip(p, lo, hi)
        pos[t] = p
        head[t] = np.arctan2(v[:, 1], v[:, 0])
    return pos, head
