"""Foreground segmentation: which pixels of a frame are animals, and the animals' blobs.

A frame's difference from the background (:class:`~behavtrack.tracking.background.Background`)
is thresholded into a foreground mask. With an arena, pixels outside its compartments are
ignored and the partition is drawn into the mask as a gap, so two animals on either side of
a transparent partition never merge into one blob. Connected components of the mask are the
candidate animals (:class:`Blob`), each with a crop of the mask for
:func:`behavtrack.tracking.pose_from_blob.pose_from_mask`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from behavtrack.io.arena import Arena
from behavtrack.tracking.background import Background

__all__ = ["Blob", "Segmenter"]


@dataclass
class Blob:
    """One connected foreground component.

    Attributes
    ----------
    mask
        ``uint8`` crop (0/255) of this component only.
    offset
        ``(x0, y0)`` of the crop in the frame.
    area
        Pixel count.
    centroid
        ``(x, y)`` in the frame.
    compartment
        Index of the arena compartment holding the centroid (-1 without an arena).
    merged
        Whether this blob is a part of several touching animals' blob, split apart.

    """

    mask: np.ndarray
    offset: tuple[int, int]
    area: int
    centroid: np.ndarray
    compartment: int = -1
    merged: bool = False


class Segmenter:
    """Turn frames into animal blobs.

    Parameters
    ----------
    background
        The learned background.
    arena
        Optional arena: restricts the search to its compartments and cuts along its
        partition.
    min_area
        Smallest blob (px) taken for an animal.
    pad
        Margin (px) around each blob's crop (tails reach beyond the body).
    scale
        Blobs are searched on frames reduced by this factor (default: to ~320 px wide).

    """

    def __init__(
        self,
        background: Background,
        arena: Arena | None = None,
        min_area: float = 30.0,
        pad: int = 4,
        scale: int | None = None,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.background = background
        self.min_area = float(min_area)
        self.pad = int(pad)
        h, w = background.image.shape
        self.allowed: np.ndarray | None = None
        self.compartment_map: np.ndarray | None = None
        if arena is not None and arena.units == "px":
            comp = np.zeros((h, w), np.uint8)
            for i, c in enumerate(arena.compartments.values()):
                cv2.fillPoly(comp, [np.round(c.polygon).astype(np.int32)], i + 1)
            allowed = np.where(comp > 0, 255, 0).astype(np.uint8)
            if arena.partition is not None:
                cv2.polylines(
                    allowed, [np.round(arena.partition).astype(np.int32)], False, 0, thickness=3
                )
            self.allowed = allowed
            self.compartment_map = comp.astype(np.int16) - 1
        self._thr = int(np.clip(round(background.threshold), 1, 254))
        self.scale = max(1, int(scale)) if scale is not None else max(1, w // 320)
        sw, sh = w // self.scale, h // self.scale
        self._small_size = (sw, sh)
        self._bg_small = cv2.resize(background.image, (sw, sh), interpolation=cv2.INTER_AREA)
        self._allowed_small = (
            None if self.allowed is None
            else cv2.resize(self.allowed, (sw, sh), interpolation=cv2.INTER_NEAREST)
        )
        if self._allowed_small is not None and arena is not None and arena.partition is not None:
            line = np.round(arena.partition / self.scale).astype(np.int32)
            cv2.polylines(self._allowed_small, [line], False, 0, thickness=2)

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """Return the full-resolution ``uint8`` (0/255) foreground mask of ``frame``."""
        cv2 = self._cv2
        diff = self.background.difference(frame)
        _, fg = cv2.threshold(diff, self._thr, 255, cv2.THRESH_BINARY)
        if self.allowed is not None:
            fg = cv2.bitwise_and(fg, self.allowed)
        return fg

    def _coarse_mask(self, frame: np.ndarray) -> np.ndarray:
        cv2 = self._cv2
        s = self.scale
        if s == 1:
            return self.mask(frame)
        small = cv2.resize(frame, self._small_size, interpolation=cv2.INTER_AREA)
        if self.background.polarity > 0:
            diff = cv2.subtract(self._bg_small, small)
        else:
            diff = cv2.subtract(small, self._bg_small)
        _, fg = cv2.threshold(diff, self._thr, 255, cv2.THRESH_BINARY)
        if self._allowed_small is not None:
            fg = cv2.bitwise_and(fg, self._allowed_small)
        return fg

    def blobs(self, frame: np.ndarray) -> list[Blob]:
        """Return the blobs of ``frame`` at least ``min_area`` large, largest first.

        Blobs are found on a frame reduced by :attr:`scale` (fast), then cut out of the
        full-resolution foreground with a margin of :attr:`pad` pixels. Outlines are found
        with :func:`cv2.findContours` (much faster than labelling components); holes inside
        an animal's outline (reflections) are filled.
        """
        cv2 = self._cv2
        s = self.scale
        coarse = self._coarse_mask(frame)
        contours, _ = cv2.findContours(coarse, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return []
        h, w = frame.shape
        bg = self.background
        out = []
        small_min = self.min_area / (s * s)
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            if bw * bh < small_min or cv2.contourArea(c) + 0.5 * len(c) < small_min:
                continue
            mc = cv2.moments(c)
            if mc["m00"] > 0:
                centre = ((mc["m10"] / mc["m00"] + 0.5) * s, (mc["m01"] / mc["m00"] + 0.5) * s)
            else:
                centre = ((x + bw / 2) * s, (y + bh / 2) * s)
            x, y, bw, bh = x * s, y * s, bw * s, bh * s
            x0, y0 = max(0, x - self.pad), max(0, y - self.pad)
            x1, y1 = min(w, x + bw + s + self.pad), min(h, y + bh + s + self.pad)
            fcrop = frame[y0:y1, x0:x1]
            bcrop = bg.image[y0:y1, x0:x1]
            diff = cv2.subtract(bcrop, fcrop) if bg.polarity > 0 else cv2.subtract(fcrop, bcrop)
            _, fg = cv2.threshold(diff, self._thr, 255, cv2.THRESH_BINARY)
            if self.allowed is not None:
                fg = cv2.bitwise_and(fg, self.allowed[y0:y1, x0:x1])
            parts, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            if not parts:
                continue
            local = (float(centre[0] - x0), float(centre[1] - y0))
            if len(parts) == 1:
                part = parts[0]
            else:
                # the outline holding this coarse blob's centre (or nearest to it), and large
                score = [cv2.pointPolygonTest(p, local, True) + 0.05 * len(p) for p in parts]
                part = parts[int(np.argmax(score))]
            crop = np.zeros_like(fg)
            cv2.drawContours(crop, [part], -1, 255, thickness=-1)
            m = cv2.moments(part)  # of the outline polygon (fast)
            area = m["m00"]
            if area < self.min_area:
                continue
            centroid = np.array([m["m10"] / area + x0, m["m01"] / area + y0])
            comp = -1
            if self.compartment_map is not None:
                cx = int(np.clip(round(centroid[0]), 0, w - 1))
                cy = int(np.clip(round(centroid[1]), 0, h - 1))
                comp = int(self.compartment_map[cy, cx])
            out.append(Blob(crop, (int(x0), int(y0)), int(area), centroid, comp))
        out.sort(key=lambda b: -b.area)
        return out
