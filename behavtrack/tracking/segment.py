"""Foreground segmentation: which pixels of a frame are animals, and the animals' blobs.

A frame's difference from the background (:class:`~behavtrack.tracking.background.Background`)
is thresholded into a foreground mask. With an arena, pixels outside its compartments are
ignored and the partition is drawn into the mask as a gap, so two animals on either side of
a transparent partition never merge into one blob. Connected components of the mask are the
candidate animals (:class:`Blob`), each with a crop of the mask for
:func:`behavtrack.tracking.pose_from_blob.pose_from_mask`.

Segmentation runs in two steps, so that a decoding thread can do the first while the
tracker works on the previous frame: :meth:`Segmenter.coarse` finds candidate blobs on the
frame reduced to ~320 px wide (and measures any *ghost*: pixels that differ from the
background by the threshold, with the opposite polarity, where a resting animal burnt into
the background has since left); :meth:`Segmenter.refine` cuts each candidate from the
full-resolution foreground, only in a region around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from behavtrack.tracking.background import Background

if TYPE_CHECKING:
    from behavtrack.io.arena import Arena

__all__ = ["Blob", "Coarse", "Segmenter"]


@dataclass
class Blob:
    """One connected foreground component.

    Attributes
    ----------
    mask
        ``uint8`` crop (0/255) of this component only: its bounding box with a margin.
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
    outline
        The mask's outer contour in crop coordinates (``cv2.findContours`` layout), when
        known (it is what the mask was drawn from).

    """

    mask: np.ndarray
    offset: tuple[int, int]
    area: int
    centroid: np.ndarray
    compartment: int = -1
    merged: bool = False
    outline: np.ndarray | None = None


class Coarse(NamedTuple):
    """Candidate blobs of one frame, found at reduced resolution.

    Attributes
    ----------
    boxes
        ``(x, y, width, height, centre_x, centre_y)`` of each candidate, in full-resolution
        pixels.
    ghost
        Reduced-resolution pixels (after an erosion that drops thin edges) differing from
        the background by more than the threshold with the animals' opposite polarity.

    """

    boxes: list[tuple[int, int, int, int, float, float]]
    ghost: int


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
        Margin (px) around each candidate where its full-resolution outline is searched
        (tails reach beyond the reduced frame's blob).
    scale
        Blobs are searched on frames reduced by this factor (default: to ~320 px wide).
    margin
        Empty margin (px) kept around a blob's outline in its mask crop (at least the
        radius of the morphology run on it, so that the crop's edges never matter).

    """

    def __init__(
        self,
        background: Background,
        arena: Arena | None = None,
        min_area: float = 30.0,
        pad: int = 4,
        scale: int | None = None,
        margin: int = 2,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.background = background
        self.min_area = float(min_area)
        self.pad = int(pad)
        self.margin = int(margin)
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
        self._edge_kernel = np.ones((3, 3), np.uint8)
        # A pixel differs from the background by more than the threshold, darker (lighter):
        # the saturating ``threshold(subtract(bg, frame))`` is ``compare(frame, bg - thr)``
        # ``<`` (``compare(frame, bg + thr)`` ``>``), the level saturating at 0 (255) just as
        # the difference does: one pass over the pixels instead of two, the same mask.
        thr = self._thr
        self._darker = (cv2.subtract(background.image, thr), cv2.subtract(self._bg_small, thr))
        self._lighter = (cv2.add(background.image, thr), cv2.add(self._bg_small, thr))
        # (level images, comparison) of the animals' polarity and of the opposite (ghosts)
        dark, light = (self._darker, cv2.CMP_LT), (self._lighter, cv2.CMP_GT)
        self._animal, self._ghost = (dark, light) if background.polarity > 0 else (light, dark)

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """Return the full-resolution ``uint8`` (0/255) foreground mask of ``frame``."""
        cv2 = self._cv2
        (level, _), op = self._animal
        fg = cv2.compare(frame, level, op)
        if self.allowed is not None:
            fg = cv2.bitwise_and(fg, self.allowed)
        return fg

    def coarse(self, frame: np.ndarray, ghost: bool = True) -> Coarse:
        """Find the candidate blobs of ``frame`` at reduced resolution (and any ghost).

        Candidates smaller than :attr:`min_area` (at that resolution) are left out; with
        ``ghost=False`` the ghost is not measured (``Coarse.ghost`` is 0).
        """
        cv2 = self._cv2
        s = self.scale
        if s == 1:
            small, at, allowed = frame, 0, self.allowed
        else:
            small = cv2.resize(frame, self._small_size, interpolation=cv2.INTER_AREA)
            at, allowed = 1, self._allowed_small
        levels, op = self._animal
        fg = cv2.compare(small, levels[at], op)
        if allowed is not None:
            fg = cv2.bitwise_and(fg, allowed)
        n_ghost = 0
        if ghost:
            levels, op = self._ghost
            rev = cv2.compare(small, levels[at], op)
            if allowed is not None:
                rev = cv2.bitwise_and(rev, allowed)
            # (no such pixel at all, the usual case: nothing to erode)
            if cv2.countNonZero(rev):
                n_ghost = cv2.countNonZero(cv2.erode(rev, self._edge_kernel))
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = []
        small_min = self.min_area / (s * s)
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            if bw * bh < small_min or cv2.contourArea(c) + 0.5 * len(c) < small_min:
                continue
            mc = cv2.moments(c)
            if mc["m00"] > 0:
                cx, cy = (mc["m10"] / mc["m00"] + 0.5) * s, (mc["m01"] / mc["m00"] + 0.5) * s
            else:
                cx, cy = (x + bw / 2) * s, (y + bh / 2) * s
            boxes.append((x * s, y * s, bw * s, bh * s, cx, cy))
        return Coarse(boxes, int(n_ghost))

    def refine(self, frame: np.ndarray, coarse: Coarse, limit: int | None = None) -> list[Blob]:
        """Cut the candidates of :meth:`coarse` from the full-resolution foreground.

        Each candidate's outline is searched in its box widened by :attr:`pad`; holes
        inside an animal's outline (reflections) are filled. Returns the blobs at least
        :attr:`min_area` large, largest first.

        Parameters
        ----------
        frame
            The frame ``coarse`` was found on.
        coarse
            Its candidates.
        limit
            If given, only the ``limit`` largest blobs are wanted: a candidate whose reduced
            area cannot reach half of the ``limit``-th largest blob cut so far is skipped.

        """
        cv2 = self._cv2
        s = self.scale
        h, w = frame.shape
        (level, _), op = self._animal
        boxes = coarse.boxes
        if limit is not None and len(boxes) > limit:
            boxes = sorted(boxes, key=lambda b: -b[2] * b[3])
        out: list[Blob] = []
        margin = self.margin
        for x, y, bw, bh, cx, cy in boxes:
            if limit is not None and len(out) >= limit:
                kth = sorted(b.area for b in out)[-limit]
                if (bw + s) * (bh + s) < 0.5 * kth:
                    continue
            x0, y0 = max(0, x - self.pad), max(0, y - self.pad)
            x1, y1 = min(w, x + bw + s + self.pad), min(h, y + bh + s + self.pad)
            fg = cv2.compare(frame[y0:y1, x0:x1], level[y0:y1, x0:x1], op)
            if self.allowed is not None:
                fg = cv2.bitwise_and(fg, self.allowed[y0:y1, x0:x1])
            parts, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            if not parts:
                continue
            if len(parts) == 1:
                part = parts[0]
            else:
                # the outline holding this coarse blob's centre (or nearest to it), and large
                local = (float(cx - x0), float(cy - y0))
                score = [cv2.pointPolygonTest(p, local, True) + 0.05 * len(p) for p in parts]
                part = parts[max(range(len(parts)), key=score.__getitem__)]
            m = cv2.moments(part)  # of the outline polygon (fast)
            area = m["m00"]
            if area < self.min_area:
                continue
            # the mask crop: the outline's box and a margin, its origin on the even pixels
            # of the search region (the same half-resolution grid whatever the margin)
            px, py, pw, ph = cv2.boundingRect(part)
            ch, cw = fg.shape
            tx0, ty0 = max(0, px - margin), max(0, py - margin)
            tx0 -= tx0 % 2
            ty0 -= ty0 % 2
            tx1, ty1 = min(cw, px + pw + margin), min(ch, py + ph + margin)
            if (tx1 - tx0) % 2 and tx1 < cw:
                tx1 += 1
            if (ty1 - ty0) % 2 and ty1 < ch:
                ty1 += 1
            crop = np.zeros((ty1 - ty0, tx1 - tx0), np.uint8)
            outline = part - np.array([tx0, ty0], dtype=part.dtype)
            cv2.drawContours(crop, [outline], -1, 255, thickness=-1)
            ox, oy = x0 + tx0, y0 + ty0
            centroid = np.array([m["m10"] / area + x0, m["m01"] / area + y0])
            comp = -1
            if self.compartment_map is not None:
                ix = min(max(int(round(centroid[0])), 0), w - 1)
                iy = min(max(int(round(centroid[1])), 0), h - 1)
                comp = int(self.compartment_map[iy, ix])
            out.append(Blob(crop, (int(ox), int(oy)), int(area), centroid, comp,
                            outline=outline))
        out.sort(key=lambda b: -b.area)
        return out

    def blobs(self, frame: np.ndarray, limit: int | None = None) -> list[Blob]:
        """Return the blobs of ``frame`` at least ``min_area`` large, largest first.

        Blobs are found on a frame reduced by :attr:`scale` (fast), then cut out of the
        full-resolution foreground (:meth:`coarse`, then :meth:`refine`). Outlines are found
        with :func:`cv2.findContours` (much faster than labelling components); holes inside
        an animal's outline (reflections) are filled.
        """
        return self.refine(frame, self.coarse(frame), limit)
