"""The built-in tracker: :func:`track_video`, from a video file to a movement poses Dataset.

The video is read once, forwards, in a decoding thread (OpenCV releases the GIL while it
decodes) that feeds a bounded queue while the previous frame is processed:

1. **Warm-up.** The first frames (10 s of video, at most 96 MiB of frames) are decoded and
   held. The background model (:mod:`~behavtrack.tracking.background`) and a calibration
   (an animal's size and body width) are learned from 40 of them, evenly spaced. A video no
   longer than the warm-up is learned from 40 frames spread over all of it.
2. **Tracking pass.** Every frame, the held ones first, is segmented
   (:mod:`~behavtrack.tracking.segment`; the reduced-resolution step runs in the decoding
   thread whenever the tracker is the slower of the two), identities are kept
   (:mod:`~behavtrack.tracking.identity`) and each animal's body is measured
   (:mod:`~behavtrack.tracking.pose_from_blob`). Only a few floats per frame are kept.
3. **Check.** An animal that rested through the warm-up is part of its background; when it
   moves off, the floor it uncovers differs from the background with the animals' opposite
   polarity (a *ghost*). A ghost that lasts 0.5 s, or a warm-up with no animal in it, means
   the warm-up's model cannot be trusted: the tracker then reads on (forwards, grabbing
   frames, decoding only the samples) to learn the model from 40 frames sampled over the
   whole video, and tracks the video again from its start with it. This second pass is the
   only case in which frames are decoded twice.
4. The head end is chosen over time (:mod:`~behavtrack.tracking.orient`), and the result is
   written as DeepLabCut .h5 and .csv (:mod:`~behavtrack.tracking._dlc_files`) and a
   ``.tracking.json`` report of frames read against expected.

Memory does not grow with the video's length: the held warm-up frames, the 40 samples, the
decoding queue and the per-frame records (a few floats per frame).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from behavtrack.errors import InputError
from behavtrack.io.video import VideoReader
from behavtrack.tracking.background import Background, background_from_samples
from behavtrack.tracking.identity import MotionAssigner, by_compartment
from behavtrack.tracking.orient import KEYPOINTS, orient_records
from behavtrack.tracking.pose_from_blob import N_FIELDS, pose_from_mask
from behavtrack.tracking.segment import Coarse, Segmenter

if TYPE_CHECKING:
    import xarray as xr

    from behavtrack.io.arena import Arena

__all__ = ["track", "track_video", "run_builtin", "TrackResult", "output_paths",
           "save_tracks", "Calibration", "calibrate"]

SCORER = "behavtrack-builtin"

#: Warm-up: how much video (seconds) and memory (bytes) the held first frames may take.
WARMUP_SECONDS = 10.0
WARMUP_BYTES = 96 * 2**20
#: Decoded frames the decoding thread may queue ahead (frames, bytes): it keeps decoding
#: while the warm-up's model is learned (about 0.1 s: 128 frames of 640 x 480 cover it).
QUEUE_FRAMES = 128
QUEUE_BYTES = 40 * 2**20
#: Decoded frames are handed to the tracking thread this many at a time (fewer wake-ups).
_BATCH = 8
#: A ghost lasting this long (seconds) makes the tracker learn from the whole video.
GHOST_SECONDS = 0.5
#: The ghost is measured on every GHOST_STEP-th frame.
GHOST_STEP = 3


class Calibration:
    """What the tracker learns from the sampled frames before the tracking pass.

    Attributes
    ----------
    typical_area : float
        Median area (px) of one animal's blob, tail included.
    half_width : float
        Half the body width (px): the largest distance from the outline inside a blob.
    kernel : numpy.ndarray
        The opening's structuring element that removes tails.
    coarse_kernel : numpy.ndarray or None
        The same at half resolution, used when the kernel is wide (faster).
    min_area : float
        Smallest blob taken for an animal.

    """

    def __init__(self, typical_area: float, half_width: float) -> None:
        import cv2

        self.typical_area = float(typical_area)
        self.half_width = float(half_width)
        r = max(1, int(round(0.45 * half_width)))
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        # wide openings run at half resolution (see pose_from_mask)
        rc = max(1, int(round(r / 2)))
        self.coarse_kernel = (
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rc + 1, 2 * rc + 1))
            if r >= 5 else None
        )
        self.min_area = 0.2 * self.typical_area


def calibrate(
    frames: np.ndarray, segmenter: Segmenter, n_animals: int, source: str | os.PathLike
) -> Calibration:
    """Measure one animal's size and body width on the background's sample frames.

    Raises
    ------
    InputError
        If no animal is visible in most sampled frames (a video with no animal in it).

    """
    import cv2

    areas: list[float] = []
    widths: list[float] = []
    seen = 0
    for frame in frames:
        blobs = segmenter.blobs(frame)[:n_animals]
        if blobs:
            seen += 1
        for b in blobs:
            areas.append(b.area)
            dist = cv2.distanceTransform(b.mask, cv2.DIST_L2, 3)
            widths.append(float(dist.max()))
    if seen < max(2, 0.25 * len(frames)):
        raise InputError(
            source,
            f"no animal found: only {seen} of {len(frames)} sampled frames show a blob "
            f"of at least {segmenter.min_area:.0f} px differing from the background",
            "check that this video shows the animals (and that the arena matches it)",
        )
    return Calibration(float(np.median(areas)), float(np.median(widths)))


# ---- decoding in a thread -------------------------------------------------------------------
_DONE = object()


@contextmanager
def _opencv_threads(n: int) -> Iterator[None]:
    """Run OpenCV's own parallel loops on ``n`` threads inside the block (process-wide).

    The tracker's operations are small (crops, a 320 px frame): OpenCV's thread pool only
    adds overhead to them, and its workers take CPU time from the decoding thread.
    """
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


class _Prefetch:
    """Decode frames in a thread into a queue; optionally segment them there too.

    Iterating yields ``(index, frame, coarse)``; ``coarse`` is ``prepare(index, frame)`` when
    the decoding thread had time for it (the consumer is the slower side: it takes longer per
    frame than decoding does, and frames wait in the queue), else ``None`` (the consumer runs
    it). A backlog alone (the warm-up's frames) does not make the thread segment: where
    decoding is the slower side, that would only delay it.

    At most ``size + held`` decoded frames are out at a time: the consumer gives each one back
    with :meth:`release` once it is done with it. A consumer that holds the first ``held``
    frames (the warm-up) thus leaves the thread ``size`` frames to decode ahead meanwhile, and
    every held frame it has tracked lets the thread decode one more: decoding never waits for
    the held frames to be tracked, and no more frames are in memory than ``size + held``.
    """

    def __init__(self, frames: Iterator[tuple[int, np.ndarray]], size: int = 16,
                 held: int = 0) -> None:
        self.prepare: Callable[[int, np.ndarray], Coarse] | None = None
        self._frames = frames
        self._size = size
        self._slots = threading.Semaphore(size + held)
        self._q: queue.Queue = queue.Queue()  # lists of frames, bounded by the slots
        self._pending: deque[tuple[int, np.ndarray, Coarse | None]] = deque()
        self._stop = threading.Event()
        # seconds per frame (running means) of the consumer's work and of decoding
        self._consumer_s = 0.0
        self._decode_s = 0.0
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name="behavtrack-decode")
        self._thread.start()

    def release(self, seconds: float = 0.0) -> None:
        """Give back a frame's slot: the consumer is done with one frame, after ``seconds``."""
        self._consumer_s += 0.05 * (seconds - self._consumer_s)
        self._slots.release()

    def _slot(self, batch: list) -> bool:
        """Wait for a free slot, sending ``batch`` first if it must wait; ``False`` if stopped."""
        if self._slots.acquire(blocking=False):
            return True
        self._send(batch)  # the consumer may be waiting for these frames
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.05):
                return True
        return False

    def _send(self, batch: list) -> None:
        if batch:
            self._q.put(batch[:])
            batch.clear()

    def _work(self) -> None:
        # frames go to the queue a few at a time: one wake-up of the consumer per batch
        q, half = self._q, self._size // 2
        frames = iter(self._frames)
        batch: list[tuple[int, np.ndarray, Coarse | None]] = []
        try:
            while self._slot(batch):  # a slot first: the frame is decoded by next()
                t0 = time.perf_counter()
                item = next(frames, None)
                if item is None:
                    break
                self._decode_s += 0.05 * (time.perf_counter() - t0 - self._decode_s)
                index, frame = item
                prepare = self.prepare
                coarse = (prepare(index, frame) if prepare is not None
                          and q.qsize() * _BATCH >= half and self._consumer_s > self._decode_s
                          else None)
                batch.append((index, frame, coarse))
                if len(batch) >= _BATCH:
                    self._send(batch)
        except BaseException as exc:  # forwarded to the consumer
            self._send(batch)
            q.put(exc)
        finally:
            self._send(batch)
            q.put(_DONE)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, Coarse | None]]:
        pending = self._pending  # the rest of the batch being consumed
        while True:
            while pending:
                yield pending.popleft()
            item = self._q.get()
            if item is _DONE:
                self._q.put(_DONE)  # iterating again ends at once
                return
            if isinstance(item, BaseException):
                raise item
            pending.extend(item)

    def stop(self) -> list[tuple[int, np.ndarray, Coarse | None]]:
        """Stop the thread; return the frames it decoded that were not consumed."""
        self._stop.set()
        left = list(self._pending)
        self._pending.clear()
        while self._thread.is_alive() or not self._q.empty():
            try:
                item = self._q.get(timeout=0.02)
            except queue.Empty:
                continue
            if isinstance(item, list):
                left.extend(item)
        return left


# ---- one tracking pass ------------------------------------------------------------------------
@dataclass
class _Model:
    """Background, segmentation and calibration: everything a tracking pass needs."""

    background: Background
    segmenter: Segmenter
    calib: Calibration
    learned_from: str


@dataclass
class _Pass:
    """Per-frame tracking with one model; records a few floats per frame and animal."""

    model: _Model
    n_frames: int
    n_animals: int
    compartments: list[int] | None
    ghost_frames: int = 0  # 0: no ghost check; else every GHOST_STEP-th frame is checked
    records: np.ndarray = field(init=False)
    read: int = 0
    ghost_at: int | None = None

    def __post_init__(self) -> None:
        calib = self.model.calib
        self.records = np.full((self.n_frames, self.n_animals, N_FIELDS), np.nan)
        self._assigner = None
        if self.compartments is None and self.n_animals > 1:
            self._assigner = MotionAssigner(
                self.n_animals, calib.typical_area, max_jump=6 * np.sqrt(calib.typical_area)
            )
        # one animal: only the largest blob matters
        self._limit = 1 if self.compartments is None and self.n_animals == 1 else None
        h, w = self.model.background.image.shape
        self._frame_size = (w, h)
        s = self.model.segmenter.scale
        self._ghost_min = max(4, int(0.1 * calib.min_area / (s * s)))
        self._ghost_checks = -(-self.ghost_frames // GHOST_STEP)  # checks in a row
        self._ghost_run = 0

    def coarse(self, index: int, frame: np.ndarray) -> Coarse:
        """Segment the frame at reduced resolution (measuring a ghost every few frames)."""
        check = self.ghost_frames > 0 and index % GHOST_STEP == 0
        return self.model.segmenter.coarse(frame, ghost=check)

    def process(self, index: int, frame: np.ndarray, coarse: Coarse | None) -> bool:
        """Track one frame; return ``False`` (frame not used) once a ghost has lasted."""
        seg = self.model.segmenter
        if coarse is None:
            coarse = self.coarse(index, frame)
        if self.ghost_frames and index % GHOST_STEP == 0:
            if coarse.ghost >= self._ghost_min:
                self._ghost_run += 1
                if self._ghost_run >= self._ghost_checks:
                    self.ghost_at = index
                    return False
            else:
                self._ghost_run = 0
        self.read += 1
        blobs = seg.refine(frame, coarse, self._limit)
        if self.compartments is not None:
            chosen = by_compartment(blobs, self.compartments)
        elif self._assigner is not None:
            chosen = self._assigner.assign(blobs)
        else:
            chosen = blobs[:1]
        calib = self.model.calib
        for k, blob in enumerate(chosen):
            if blob is None:
                continue
            rec = pose_from_mask(blob.mask, blob.offset, calib.kernel, calib.coarse_kernel,
                                 outline=blob.outline, frame_size=self._frame_size)
            if rec is not None and index < self.n_frames:
                self.records[index, k] = rec
        return True


# ---- outputs ----------------------------------------------------------------------------------
@dataclass
class TrackResult:
    """The built-in tracker's poses as arrays, with its report.

    Attributes
    ----------
    position
        ``(time, 2, keypoint, individual)`` x, y (NaN where an animal was not found).
    confidence
        ``(time, keypoint, individual)`` in 0..1.
    individuals, keypoints
        Names along those axes.
    fps
        Frame rate.
    attrs
        What :func:`track_video` puts in the Dataset's ``attrs``.
    report
        The ``.tracking.json`` report.

    """

    position: np.ndarray
    confidence: np.ndarray
    individuals: list[str]
    keypoints: list[str]
    fps: float
    attrs: dict[str, Any]
    report: dict[str, Any]

    def to_dataset(self) -> xr.Dataset:
        """Return the poses as a movement poses Dataset (imports movement)."""
        from movement.io import load_poses

        ds = load_poses.from_numpy(
            position_array=self.position, confidence_array=self.confidence,
            individual_names=list(self.individuals), keypoint_names=list(self.keypoints),
            fps=float(self.fps), source_software=SCORER,
        )
        ds.attrs.update(self.attrs)
        return ds


def output_paths(video: str | os.PathLike, out: str | os.PathLike) -> dict[str, Path]:
    """Where :func:`track_video` writes for ``video`` given ``out``.

    ``out`` ending in ``.h5`` names the pose file itself; otherwise it is a folder and the
    files are named after the video: ``<stem>.h5``, ``<stem>.csv``, ``<stem>.tracking.json``.
    """
    out = Path(out)
    if out.suffix == ".h5":
        h5 = out
    else:
        if out.exists() and not out.is_dir():
            raise InputError(out, "is a file, not an output folder",
                             "give a folder (or a path ending in .h5)")
        h5 = out / f"{Path(video).stem}.h5"
    blocker = next((p for p in (h5.parent, *h5.parent.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():  # found now, not after the tracking
        raise InputError(out, f"cannot be created: {blocker} is a file",
                         "give another output folder")
    return {
        "h5": h5,
        "csv": h5.with_suffix(".csv"),
        "report": h5.with_suffix(".tracking.json"),
    }


def _import_writers() -> None:
    """Import what :func:`_write_tracks` needs (PyTables: about 50 ms).

    The tracker calls it while the decoding thread fills the warm-up, when the tracking
    thread would only wait, rather than after the last frame.
    """
    import tables  # noqa: F401

    import behavtrack.tracking._dlc_files  # noqa: F401


def _write_tracks(
    position: np.ndarray,
    confidence: np.ndarray,
    individuals: list[str],
    keypoints: list[str],
    h5: str | os.PathLike,
    csv: str | os.PathLike | None,
) -> None:
    from behavtrack.files import atomic_path
    from behavtrack.tracking._dlc_files import dlc_values, write_dlc_csv, write_dlc_h5

    values = dlc_values(position, confidence)
    inds = list(individuals)  # always the multi-animal layout: the names survive a reread
    with atomic_path(h5) as tmp:
        write_dlc_h5(tmp, values, SCORER, keypoints, inds)
    if csv is not None:
        with atomic_path(csv) as tmp:
            write_dlc_csv(tmp, values, SCORER, keypoints, inds)


def save_tracks(ds: xr.Dataset, h5: str | os.PathLike, csv: str | os.PathLike | None) -> None:
    """Write a poses Dataset as DeepLabCut .h5 (and .csv), each atomically.

    The multi-animal layout (with the ``individuals`` header row) is written even for one
    animal, so that its name (``mouse1``) is what ``info``, ``classify`` and napari read back,
    as ``tracking.json`` says; DeepLabCut writes it so (the layout pandas gives movement's
    ``to_dlc_style_df``; scorer ``behavtrack-builtin``).
    """
    pos = ds.position.transpose("time", "space", "keypoint", "individual").values
    conf = ds.confidence.transpose("time", "keypoint", "individual").values
    _write_tracks(pos, conf, [str(i) for i in ds.individual.values],
                  [str(k) for k in ds.keypoint.values], h5, csv)


# ---- the tracker ------------------------------------------------------------------------------
def _individuals(arena: Arena | None, n_animals: int | None) -> tuple[list[str], list[int] | None]:
    """Names of the animals and, with a partition, the compartment index of each."""
    if arena is not None and arena.units == "px":
        comps = list(arena.compartments.values())
        named = [(c.individual, i) for i, c in enumerate(comps) if c.individual is not None]
        if arena.partition is not None and named:
            return [n for n, _ in named], [i for _, i in named]
        if named and n_animals is None:
            return [n for n, _ in named], None
    n = 1 if n_animals is None else int(n_animals)
    if n < 1:
        raise InputError("n_animals", f"must be at least 1, not {n}")
    return [f"mouse{i + 1}" for i in range(n)], None


def _require_fit(arena: Arena | None, reader: VideoReader) -> None:
    """Raise :class:`InputError` if a pixel arena does not fit the video's frames."""
    if arena is not None and arena.units == "px" and not arena.fits_frame(
        reader.width, reader.height
    ):
        raise InputError(
            arena.source or "arena",
            f"does not fit the {reader.width}x{reader.height} frames of {reader.path.name}",
            "give the arena of this setup (pixel coordinates of this video)",
        )


def _spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (at least 3, at most ``n``)."""
    k = int(max(3, min(k, n)))
    return [int(i) for i in np.unique(np.linspace(0, n - 1, k).round().astype(int))]


def _learn(
    frames: list[np.ndarray],
    indices: list[int],
    wanted: int,
    reader: VideoReader,
    arena: Arena | None,
    n_animals: int,
    learned_from: str,
) -> _Model:
    """Background, segmenter and calibration from sample frames (see the module's notes)."""
    if len(frames) < 3:
        raise InputError(
            reader.path, f"only {len(frames)} of {wanted} sampled frames could be decoded",
            "re-encode the video",
        )
    samples = np.stack(frames)
    background = background_from_samples(samples, indices)
    segmenter = Segmenter(
        background, arena, min_area=max(15.0, 2e-4 * reader.width * reader.height)
    )
    calib = calibrate(samples, segmenter, n_animals, reader.path)
    segmenter.min_area = calib.min_area
    segmenter.pad = int(np.ceil(1.5 * calib.half_width)) + 2
    return _Model(background, segmenter, calib, learned_from)


def _queue_length(reader: VideoReader) -> int:
    """How many decoded frames the decoding thread may queue ahead."""
    return int(max(8, min(QUEUE_FRAMES, QUEUE_BYTES // max(1, reader.width * reader.height))))


def _held_length(reader: VideoReader, fps: float) -> int:
    """How many first frames the warm-up holds."""
    by_time = int(round(WARMUP_SECONDS * fps))
    by_memory = WARMUP_BYTES // max(1, reader.width * reader.height)
    return int(max(16, min(by_time, by_memory)))


def _track_frames(
    tracking: _Pass, frames: Iterable[tuple[int, np.ndarray, Coarse | None]],
    samples: dict[int, np.ndarray], wanted: set[int], desc: str, total: int,
    release: Callable[[float], None] | None = None,
) -> None:
    """Run ``tracking`` over ``frames``, keeping the frames in ``wanted`` in ``samples``.

    ``release`` is called after each frame is tracked, with the seconds it took
    (:meth:`_Prefetch.release`).
    """
    from behavtrack.files import progress

    clock = time.perf_counter
    for index, frame, coarse in progress(frames, total=total, desc=desc, unit="frame"):
        if index in wanted:
            samples[index] = frame
        t0 = clock()
        if not tracking.process(index, frame, coarse):
            break
        if release is not None:
            release(clock() - t0)


def _read_samples(
    reader: VideoReader, start: int, wanted: set[int]
) -> Iterable[tuple[int, np.ndarray]]:
    """Decode the frames in ``wanted`` from ``start`` on, grabbing the others (no seek)."""
    from behavtrack.files import progress

    if not wanted:
        return ()
    frames = reader.iter_frames(start=start, stop=max(wanted) + 1, select=wanted)
    return progress(frames, total=len(wanted), desc="background (whole video)", unit="frame")


def run_builtin(
    video: str | os.PathLike,
    arena: Arena | None = None,
    n_animals: int | None = None,
    out: str | os.PathLike | None = None,
    *,
    n_background: int = 40,
) -> TrackResult:
    """Track a video with the built-in tracker; return arrays (no xarray, no movement).

    Parameters and errors as for :func:`track_video`, which wraps this function; the
    command line uses it directly (it starts faster: pandas, xarray and movement are not
    imported).
    """
    names, compartments = _individuals(arena, n_animals)
    paths = output_paths(video, out) if out is not None else None  # checked before the work
    # grey straight from the decoder, on one FFmpeg thread (its default, several threads,
    # cost more CPU in all and measured slower at load 1-2: 0.40 vs 0.49 of decode speed),
    # decoding while the frames before are tracked; OpenCV's pool on one thread: it would
    # only compete with it
    with _opencv_threads(1), VideoReader(video, luma=True, threads=1) as reader:
        _require_fit(arena, reader)
        fps = reader.fps
        if not np.isfinite(fps):
            fps = arena.fps if arena is not None and arena.fps else 30.0
        n = reader.n_frames
        desc = f"tracking {reader.path.name}"
        t_start = time.perf_counter()
        wanted_list = _spread(n, n_background)
        wanted = set(wanted_list)
        samples: dict[int, np.ndarray] = {}
        hold = _held_length(reader, fps)
        passes = 1
        stream = _Prefetch(reader.iter_frames(), _queue_length(reader), held=hold)
        try:
            if paths is not None:  # while the first frames are decoded, not after the pass
                _import_writers()
            # 1. warm-up: hold the first frames
            held: deque[tuple[int, np.ndarray, Coarse | None]] = deque()
            whole = True
            for item in stream:
                held.append(item)
                if item[0] in wanted:
                    samples[item[0]] = item[1]
                if item[0] + 1 >= hold and item[0] + 1 < n:
                    whole = False
                    break
            model: _Model | None
            if whole:  # the video is no longer than the warm-up: samples span all of it
                used = [i for i in wanted_list if i in samples]
                model = _learn([samples[i] for i in used], used, len(wanted_list), reader,
                               arena, len(names), "whole video")
            else:
                pos = _spread(len(held), n_background)
                try:
                    model = _learn([held[p][1] for p in pos], [held[p][0] for p in pos],
                                   len(pos), reader, arena, len(names),
                                   f"first {len(held)} frames")
                except InputError:
                    model = None  # no animal in the warm-up: learn from the whole video
            t_learned = time.perf_counter()
            # 2. the tracking pass, the held frames first
            tracking = None
            if model is not None:
                tracking = _Pass(model, n, len(names), compartments,
                                 ghost_frames=0 if whole else max(5, round(GHOST_SECONDS * fps)))
                stream.prepare = tracking.coarse

                def frames() -> Iterator[tuple[int, np.ndarray, Coarse | None]]:
                    while held:
                        yield held.popleft()
                    yield from stream

                _track_frames(tracking, frames(), samples, wanted, desc, n, stream.release)
            # 3. a ghost, or no animal in the warm-up: learn from the whole video, track again
            if tracking is None or tracking.ghost_at is not None:
                passes = 2
                last = tracking.ghost_at if tracking is not None else held[-1][0]
                held.clear()
                for index, frame, _ in stream.stop():
                    if index in wanted:
                        samples[index] = frame
                rest = {i for i in wanted if i not in samples and i > last}
                start = reader.position if reader.position >= 0 else last + 1
                for index, frame in _read_samples(reader, start, rest):
                    samples[index] = frame
                used = [i for i in wanted_list if i in samples]
                model = _learn([samples[i] for i in used], used, len(wanted_list), reader,
                               arena, len(names), "whole video")
                samples.clear()
                t_learned = time.perf_counter()
                tracking = _Pass(model, n, len(names), compartments)
                stream = _Prefetch(reader.iter_frames(), _queue_length(reader))
                stream.prepare = tracking.coarse
                _track_frames(tracking, stream, samples, set(), desc + " (again)", n,
                              stream.release)
        finally:
            stream.stop()  # stop the decoding thread before the reader is released
        t_end = time.perf_counter()
        bad = sorted(reader.bad_frames)
        source = str(reader.path)
        decode = reader.decode
    assert model is not None and tracking is not None
    position = np.full((n, 2, len(KEYPOINTS), len(names)), np.nan)
    confidence = np.zeros((n, len(KEYPOINTS), len(names)))
    for k in range(len(names)):
        position[..., k], confidence[..., k] = orient_records(tracking.records[:, k])
    found = np.isfinite(position[:, 0, KEYPOINTS.index("centroid"), :])
    background = model.background
    report = {
        "video": source,
        "tracker": SCORER,
        "frames_expected": int(n),
        "frames_read": int(tracking.read),
        "bad_frames": [int(b) for b in bad],
        "fps": float(fps),
        "individuals": names,
        "frames_with_animal": {nm: int(found[:, k].sum()) for k, nm in enumerate(names)},
        "background": {
            "polarity": "dark animals" if background.polarity > 0 else "light animals",
            "threshold": background.threshold,
            "samples": len(background.samples),
            "learned_from": model.learned_from,
        },
        "passes": passes,
        "decode": decode,
        "timing_s": {
            "background": round(t_learned - t_start, 3),
            "stream": round(t_end - t_learned, 3),
        },
        "typical_area_px": model.calib.typical_area,
        "body_half_width_px": model.calib.half_width,
    }
    attrs = dict(
        fps=float(fps), source_file=source, frames_expected=int(n),
        frames_read=int(tracking.read), bad_frames=len(bad), tracker=SCORER,
        background_s=t_learned - t_start, stream_s=t_end - t_learned, passes=passes,
    )
    if paths is not None:
        from behavtrack.files import atomic_write_text

        _write_tracks(position, confidence, names, list(KEYPOINTS), paths["h5"], paths["csv"])
        atomic_write_text(paths["report"], json.dumps(report, indent=2) + "\n")
        attrs["output_file"] = str(paths["h5"])
    return TrackResult(position, confidence, names, list(KEYPOINTS), float(fps), attrs, report)


def track_video(
    video: str | os.PathLike,
    arena: Arena | None = None,
    n_animals: int | None = None,
    out: str | os.PathLike | None = None,
    *,
    n_background: int = 40,
) -> xr.Dataset:
    """Track the animals of an overhead video with the built-in OpenCV tracker.

    Parameters
    ----------
    video
        The video file.
    arena
        The setup's arena (pixel units). With a partition, each compartment's individual
        is tracked in its compartment; without one, ``n_animals`` share the space.
    n_animals
        Number of animals when the arena does not say (default 1).
    out
        Folder (or ``.h5`` path) to write DeepLabCut ``.h5`` and ``.csv`` and the
        ``.tracking.json`` report to; nothing is written when ``None``.
    n_background
        Frames sampled for the background model.

    Returns
    -------
    xarray.Dataset
        movement poses Dataset: keypoints ``nose, left_ear, right_ear, centroid,
        tail_base``, confidence per keypoint, ``attrs`` with ``fps``, ``source_file``,
        ``frames_expected``, ``frames_read`` and ``bad_frames`` (count).

    Raises
    ------
    InputError
        Missing or undecodable video, an arena that does not fit the frame, or a video in
        which no animal can be found.

    """
    return run_builtin(video, arena=arena, n_animals=n_animals, out=out,
                       n_background=n_background).to_dataset()


def track(
    video: str | os.PathLike,
    *,
    backend: str = "builtin",
    model: str | os.PathLike | None = None,
    python: str | os.PathLike | None = None,
    arena: Arena | None = None,
    n_animals: int | None = None,
    out: str | os.PathLike | None = None,
) -> xr.Dataset:
    """Turn a video into poses with the built-in tracker or a lab's trained model.

    Parameters
    ----------
    video
        The video file.
    backend
        ``"builtin"`` (:func:`track_video`), ``"deeplabcut"`` or ``"sleap"``
        (:func:`behavtrack.tracking.backends.run_backend`).
    model
        The trained model of a ``deeplabcut`` / ``sleap`` backend.
    python
        Python executable of the backend's own environment (subprocess); ``None`` runs
        it in this process.
    arena, n_animals
        As for :func:`track_video` (the built-in tracker only; the arena is checked
        against the frame size for every backend).
    out
        Output folder (required for the model backends).

    Returns
    -------
    xarray.Dataset
        movement poses Dataset, with ``attrs["frames_expected"]`` and
        ``attrs["frames_read"]``.

    """
    if backend == "builtin":
        check_builtin_options(model, python)
        return track_video(video, arena=arena, n_animals=n_animals, out=out)
    from behavtrack.files import atomic_write_text
    from behavtrack.tracking.backends import run_backend

    if out is None:
        raise InputError("out", f"is required with backend={backend!r}",
                         "give a folder for the backend's pose file")
    with VideoReader(video) as reader:
        _require_fit(arena, reader)
        expected = reader.n_frames
    ds = run_backend(video, backend, model, out, python=python)
    read = int(ds.sizes["time"])
    ds.attrs.update(frames_expected=int(expected), frames_read=read, bad_frames=0)
    report = {"video": str(video), "tracker": backend, "model": str(model),
              "frames_expected": int(expected), "frames_read": read,
              "output_file": ds.attrs["output_file"]}
    atomic_write_text(Path(ds.attrs["output_file"]).with_suffix(".tracking.json"),
                      json.dumps(report, indent=2) + "\n")
    return ds


def check_builtin_options(
    model: str | os.PathLike | None, python: str | os.PathLike | None
) -> None:
    """Raise :class:`InputError` if a model backend's options are given to the built-in one."""
    if model is not None or python is not None:
        raise InputError("model", "is only used with a model backend (backend='deeplabcut' or "
                         "backend='sleap')", "drop model= and python=, or choose a model backend")
