"""The background model of the built-in tracker: a per-pixel image of the empty arena.

The model is learned from a stack of frames sampled evenly over a stretch of video (so an
animal that rests for a while covers any pixel in only some of the samples): the tracker
takes them from its first seconds while it streams the video, or from the whole video (see
:mod:`behavtrack.tracking.tracker`); :func:`sample_frames` picks them by random access. A
first per-pixel median gives a rough background and tells whether the animals are darker or
lighter than the floor (the *polarity*: the pixels differing from the median that stand out
most from the floor's grey level). The background is then a per-pixel percentile on the
floor's side of the median (the 95th for dark animals on a light floor): a pixel is
background as long as the animal leaves it in at least one sample in twenty, so an animal
resting in one place for up to ~90 % of the sampled stretch (waiting at the partition,
sleeping) does not burn into the model. Last, each pixel's median over the samples where no
animal covers it removes what is left of animals that sat in the same place in a few
samples. The foreground threshold is chosen from the samples themselves (Otsu's method on
the pixels that differ from the background by more than the sensor noise). Per-pixel order
statistics come from a sorting network of whole-image minima and maxima (fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from behavtrack.errors import InputError
from behavtrack.files import progress
from behavtrack.io.video import VideoReader

__all__ = ["Background", "background_from_samples", "estimate_background", "sample_frames"]


@dataclass(frozen=True)
class Background:
    """A background image and how to tell animals from it.

    Attributes
    ----------
    image
        ``uint8`` ``(height, width)`` image of the empty arena.
    polarity
        ``+1`` when animals are darker than the floor, ``-1`` when lighter.
    threshold
        Grey-level difference above which a pixel is foreground.
    noise
        Robust standard deviation of the background's grey levels over the samples.
    samples
        Indices of the frames the model was learned from.

    """

    image: np.ndarray
    polarity: int
    threshold: float
    noise: float
    samples: tuple[int, ...]

    def difference(self, frame: np.ndarray) -> np.ndarray:
        """Return how much darker (or lighter, by polarity) ``frame`` is than the background."""
        import cv2

        if self.polarity > 0:
            return cv2.subtract(self.image, frame)
        return cv2.subtract(frame, self.image)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of ``uint8`` ``values`` (a 1-D array)."""
    hist = np.bincount(values.astype(np.int64), minlength=256).astype(float)
    total = hist.sum()
    if total == 0:
        return 128.0
    levels = np.arange(256, dtype=float)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 - m0 * total) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1
    return float(np.argmax(between))


def sample_frames(reader: VideoReader, n_samples: int = 40) -> tuple[np.ndarray, list[int]]:
    """Decode ``n_samples`` frames spread evenly over the video.

    Returns
    -------
    frames : numpy.ndarray
        ``(k, height, width)`` ``uint8`` stack (undecodable frames are left out).
    indices : list of int
        Their frame indices.

    Raises
    ------
    InputError
        If fewer than 3 of them can be decoded.

    """
    import threading

    n = reader.n_frames
    n_samples = int(max(3, min(n_samples, n)))
    wanted = [int(i) for i in np.unique(np.linspace(0, n - 1, n_samples).round().astype(int))]
    # Seeking dominates this stage: a second reader seeks through the second half of the
    # video in a thread meanwhile (OpenCV releases the GIL while it decodes).
    half = len(wanted) // 2 if len(wanted) >= 8 else len(wanted)
    got: dict[int, np.ndarray] = {}

    def read(r: VideoReader, indices: list[int], bar: bool) -> None:
        for index in progress(indices, desc="background", unit="frame") if bar else indices:
            try:
                got[index] = r[index]
            except InputError:  # undecodable frame: recorded by the reader, skipped here
                continue

    worker = None
    if half < len(wanted):
        second = VideoReader(reader.path, cache_size=0)
        worker = threading.Thread(target=read, args=(second, wanted[half:], False))
        worker.start()
    try:
        read(reader, wanted[:half], True)
    finally:
        if worker is not None:
            worker.join()
            second.close()
    used = [i for i in wanted if i in got]
    stack = [got[i] for i in used]
    if len(stack) < 3:
        raise InputError(
            reader.path, f"only {len(stack)} of {len(wanted)} sampled frames could be decoded",
            "re-encode the video",
        )
    return np.stack(stack), used


@lru_cache(maxsize=16)
def _sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs ``(i, j)``, ``i < j``, of Batcher's odd-even merge sort of n items."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


def _sorted_per_pixel(frames: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    """Sort a stack of ``uint8`` images per pixel: item ``r`` is the r-th smallest value.

    A sorting network of whole-image ``min``/``max`` (about 300 of each for 40 frames) is
    several times faster than sorting along the stack's first axis.
    """
    import cv2

    ranks = list(frames)
    for i, j in _sorting_network(len(ranks)):
        a, b = ranks[i], ranks[j]
        ranks[i] = cv2.min(a, b)
        ranks[j] = cv2.max(a, b)
    return ranks


def _rank_index(n: int, q: float) -> int:
    """Index of ``numpy.percentile(..., q, method="nearest")`` among ``n`` sorted values."""
    return int(np.percentile(np.arange(n), q, method="nearest"))


def _median_of_unoccupied(
    samples: np.ndarray, first: np.ndarray, polarity: int, big: float
) -> np.ndarray:
    """Per-pixel median of the samples in which no animal covers that pixel.

    ``first`` is a first background; a sample covers a pixel where it differs from it (by
    polarity) by more than ``big``, dilated by a few pixels. Pixels covered in almost every
    sample keep ``first``. This removes what a percentile alone leaves behind: an animal
    that sat in the same place in several samples (slow motion in a short video).
    """
    import cv2

    kernel = np.ones((5, 5), np.uint8)
    marked = []
    n_free = np.zeros(first.shape, np.int16)
    for frame in samples:
        diff = cv2.subtract(first, frame) if polarity > 0 else cv2.subtract(frame, first)
        # diff > big (cv2.threshold compares 8-bit values with the floor of the threshold)
        _, covered = cv2.threshold(diff, big, 255, cv2.THRESH_BINARY)
        covered = cv2.dilate(covered, kernel)
        n_free += covered == 0
        # covered samples become 255: they sort after every free value of the pixel
        marked.append(cv2.max(frame, covered))
    ranks = _sorted_per_pixel(marked)
    idx = (np.maximum(n_free, 1) - 1) // 2
    median = np.take_along_axis(np.stack(ranks), idx[None].astype(np.intp), axis=0)[0]
    return np.where(n_free >= 3, median, first).astype(np.uint8)


def background_from_samples(samples: np.ndarray, indices: list[int] | None = None) -> Background:
    """Learn the background from a ``(k, height, width)`` ``uint8`` stack of frames.

    See the module's description for the method.
    """
    samples = np.ascontiguousarray(samples, dtype=np.uint8)
    k = len(samples)
    ranks = _sorted_per_pixel(samples)
    # noise and polarity need only every other pixel
    sub = samples[:, ::2, ::2]
    if k % 2:
        median = ranks[k // 2][::2, ::2].astype(np.float64)
    else:  # as numpy.median: the mean of the two middle values
        median = (ranks[k // 2 - 1][::2, ::2].astype(np.float64) + ranks[k // 2][::2, ::2]) / 2
    sdev = sub.astype(np.int16) - median.astype(np.int16)[None]
    noise = float(1.4826 * np.median(np.abs(sdev[:, ::2, ::2]))) or 1.0
    big = 6.0 * noise + 8.0
    # Polarity: pixels that differ from the median are the animals where they pass, and
    # the floor where a resting animal left (a "ghost", of opposite sign). The animals are
    # the ones whose grey level stands out from the floor's: compare the two contrasts.
    floor = float(np.median(median))
    dark_vals = sub[sdev < -big]
    light_vals = sub[sdev > big]
    dark_contrast = floor - float(np.median(dark_vals)) if dark_vals.size else -np.inf
    light_contrast = float(np.median(light_vals)) - floor if light_vals.size else -np.inf
    polarity = 1 if dark_contrast >= light_contrast else -1
    q = 95 if polarity > 0 else 5
    first = ranks[_rank_index(k, q)]  # numpy.percentile(samples, q, method="nearest")
    image = _median_of_unoccupied(samples, first, polarity, big)
    diff = image.astype(np.int16)[None, ::2, ::2] - sub.astype(np.int16)
    diff *= polarity
    strong = diff[diff > big]
    if strong.size:
        threshold = max(big, 0.6 * _otsu(np.clip(strong, 0, 255)))
    else:
        threshold = big
    return Background(
        image=image, polarity=polarity, threshold=float(threshold), noise=noise,
        samples=tuple(indices if indices is not None else range(len(samples))),
    )


def estimate_background(reader: VideoReader, n_samples: int = 40) -> Background:
    """Learn the background of a video from frames sampled evenly over its whole length.

    Parameters
    ----------
    reader
        The open video.
    n_samples
        How many frames to sample (fewer if the video is shorter).

    Returns
    -------
    Background
        The background image, the animals' polarity and the foreground threshold.

    """
    frames, indices = sample_frames(reader, n_samples)
    return background_from_samples(frames, indices)
