"""Identity: which blob is which animal, frame after frame.

* With a partition, identity is the compartment: the largest blob in an individual's
  compartment is that individual (:func:`by_compartment`).
* Where animals share space, :class:`MotionAssigner` predicts every animal's position
  with a constant-velocity model and matches blobs to animals by the Hungarian algorithm
  on the predicted distances. When animals touch, their blobs merge: a blob much larger
  than one animal, in a frame with fewer blobs than animals, is split among the animals
  predicted nearest to it by k-means on its pixels, started at their predicted positions.
"""

from __future__ import annotations

import numpy as np

from behavtrack.tracking.segment import Blob

__all__ = ["by_compartment", "MotionAssigner", "split_blob"]


def by_compartment(blobs: list[Blob], compartments: list[int]) -> list[Blob | None]:
    """Return, for each compartment index in ``compartments``, its largest blob (or None).

    ``blobs`` come largest first (as :meth:`Segmenter.blobs` gives them).
    """
    out: list[Blob | None] = []
    for comp in compartments:
        out.append(next((b for b in blobs if b.compartment == comp), None))
    return out


def split_blob(blob: Blob, seeds: np.ndarray, iterations: int = 8) -> list[Blob]:
    """Split ``blob`` into ``len(seeds)`` blobs by k-means on its pixels.

    Parameters
    ----------
    blob
        A blob holding several touching animals.
    seeds
        ``(k, 2)`` starting centres in frame coordinates (the animals' predicted positions).
    iterations
        Lloyd iterations.

    Returns
    -------
    list of Blob
        One blob per seed, in the seeds' order (a part may be empty: area 0).

    """
    ys, xs = np.nonzero(blob.mask)
    x0, y0 = blob.offset
    pts = np.column_stack([xs + x0, ys + y0]).astype(float)
    centres = np.asarray(seeds, dtype=float).copy()
    label = np.zeros(len(pts), dtype=int)
    for _ in range(iterations):
        d = ((pts[:, None, :] - centres[None]) ** 2).sum(-1)
        label = d.argmin(axis=1)
        for j in range(len(centres)):
            sel = label == j
            if sel.any():
                centres[j] = pts[sel].mean(axis=0)
    parts = []
    for j in range(len(centres)):
        sel = label == j
        mask = np.zeros_like(blob.mask)
        mask[ys[sel], xs[sel]] = 255
        parts.append(Blob(mask, blob.offset, int(sel.sum()), centres[j].copy(),
                          blob.compartment, merged=True))
    return parts


class MotionAssigner:
    """Keep the identities of ``n`` animals sharing one space.

    Parameters
    ----------
    n
        Number of animals.
    typical_area
        Area (px) of one animal's blob (to recognise merged blobs).
    max_jump
        Largest distance (px) between predicted and detected positions for a match.

    """

    def __init__(self, n: int, typical_area: float, max_jump: float) -> None:
        self.n = int(n)
        self.typical_area = float(typical_area)
        self.max_jump = float(max_jump)
        self.position = np.full((self.n, 2), np.nan)
        self.velocity = np.zeros((self.n, 2))

    def predicted(self) -> np.ndarray:
        """Predicted positions for the next frame (NaN for animals never seen)."""
        return self.position + self.velocity

    def assign(self, blobs: list[Blob]) -> list[Blob | None]:
        """Match this frame's blobs to the animals and update the motion model."""
        from scipy.optimize import linear_sum_assignment

        blobs = list(blobs)
        pred = self.predicted()
        known = np.isfinite(pred[:, 0])
        # touching animals: split merged blobs while there are fewer blobs than animals
        while 0 < len(blobs) < self.n and known.sum() >= 2:
            big = max(blobs, key=lambda b: b.area)
            k = min(self.n - len(blobs) + 1, int(round(big.area / self.typical_area)))
            if k < 2:
                break
            order = np.argsort(np.hypot(*(pred[known] - big.centroid).T))[:k]
            seeds = pred[known][order]
            blobs.remove(big)
            blobs.extend(p for p in split_blob(big, seeds) if p.area > 0)
        blobs = blobs[: self.n] if len(blobs) > self.n and not known.any() else blobs
        result: list[Blob | None] = [None] * self.n
        if not blobs:
            self.velocity *= 0.5
            return result
        cents = np.array([b.centroid for b in blobs])
        if not known.any():
            # first sighting: left to right, then top to bottom
            order = np.lexsort((cents[:, 1], cents[:, 0]))[: self.n]
            for i, j in enumerate(order):
                result[i] = blobs[j]
        else:
            ref = np.where(known[:, None], pred, np.nan)
            cost = np.hypot(*(ref[:, None, :] - cents[None]).transpose(2, 0, 1))
            unseen = ~known
            cost[unseen] = self.max_jump * 0.99  # unseen animals take any leftover blob
            cost = np.where(np.isfinite(cost), cost, 1e9)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols, strict=True):
                if cost[i, j] < self.max_jump:
                    result[i] = blobs[j]
        for i, b in enumerate(result):
            if b is None:
                self.velocity[i] *= 0.5
                continue
            if b.merged and np.isfinite(pred[i, 0]):
                # a part of a merged blob is a poor measurement: trust the motion model
                self.position[i] = 0.7 * pred[i] + 0.3 * b.centroid
                continue
            if np.isfinite(self.position[i, 0]):
                self.velocity[i] = 0.5 * self.velocity[i] + 0.5 * (b.centroid - self.position[i])
            self.position[i] = b.centroid
        return result
