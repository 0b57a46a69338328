"""Video reading: :class:`VideoReader`, grayscale frames with random access and streaming.

Frames are decoded with OpenCV and returned as grayscale ``uint8`` arrays of shape
``(height, width)``. Where the codec stores a luma plane (the YUV formats of H.264, MPEG-4,
MJPEG and most others), frames are decoded straight to grey: the decoder's luma plane is taken
as it is, with no colour conversion (OpenCV's ``CAP_PROP_CONVERT_RGB`` off), and mapped to the
grey levels OpenCV's BGR-to-grey conversion would give (full range; checked on the first
frame, see :attr:`VideoReader.decode`); otherwise frames are decoded to colour and converted.
Random access (``reader[i]``) seeks only when the wanted frame is not the next one; a small
LRU cache keeps recently read frames. :meth:`VideoReader.iter_frames` streams frames in
order, grabbing (not decoding) frames it skips. Frames that fail to decode are recorded in
:attr:`VideoReader.bad_frames` and skipped, never retried forever.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Container, Iterator
from types import TracebackType
from typing import Any

import numpy as np

from behavtrack.errors import InputError
from behavtrack.files import require_file

__all__ = ["VideoReader"]

# After this many consecutive failed reads, the rest of the stream is taken as lost
# (truncated file): no endless retries on a broken container.
_MAX_CONSECUTIVE_FAILURES = 25

# Luma to grey: full-range luma is grey as it is; limited-range ("TV") luma spans 16..235.
_LUMA_RANGES = (("full-range luma", 1.0, 0.0), ("limited-range luma", 255 / 219, -16 * 255 / 219))


def _quiet_opencv() -> None:
    """Silence OpenCV's own warnings (e.g. one per frame for a luma plane of yuv444p).

    Set ``OPENCV_LOG_LEVEL`` in the environment to keep them.
    """
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover - builds without the logging module
        pass


class VideoReader:
    """Read a video's frames as grayscale ``uint8`` arrays.

    Parameters
    ----------
    path
        Path to a video file OpenCV can decode (mp4, avi, mov, ...).
    cache_size
        How many decoded frames the LRU cache keeps for random access.
    luma
        Return the decoder's luma plane as it is, without mapping it to BGR-to-grey levels
        (when the luma plane is used at all, see :attr:`decode`): a little faster, and
        what the tracker uses. Most video stores limited-range luma (16-235), so such
        frames have less contrast than BGR-to-grey ones.
    threads
        Decoding threads of FFmpeg (``None``: its default, several frames in parallel, as
        many threads as cores). 1 costs the least CPU time in all; the default decodes
        faster when cores are free and, on a busy machine, keeps the share of CPU time a plain
        decoding process gets (the tracker uses it).

    Attributes
    ----------
    path : pathlib.Path
        The video file.
    n_frames : int
        Number of frames the container declares (verified against the stream's end when
        the container's count is missing or unreliable).
    fps : float
        Frames per second declared by the container (``nan`` if it declares none).
    width, height : int
        Frame size in pixels.
    bad_frames : list of int
        Indices of frames that failed to decode (filled as frames are read).
    decode : str
        How frames become grey: ``"full-range luma"`` or ``"limited-range luma"`` (the
        decoder's luma plane, no colour conversion), or ``"BGR to grey"`` (decoded to colour,
        then converted; for codecs without a luma plane, or when the first frame cannot tell
        the luma's range); with ``luma=True`` the luma plane is returned unmapped.

    Raises
    ------
    InputError
        If the file is missing, is not a video, or has no decodable first frame.

    Examples
    --------
    >>> with VideoReader("video.mp4") as reader:  # doctest: +SKIP
    ...     first = reader[0]
    ...     for index, frame in reader.iter_frames(step=10):
    ...         pass

    """

    def __init__(
        self,
        path: str | os.PathLike,
        cache_size: int = 16,
        *,
        luma: bool = False,
        threads: int | None = None,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.path = require_file(path, "video file")
        # FFmpeg's own log lines ("moov atom not found", "error while decoding MB ...")
        # would come on top of behavtrack's one-line errors and bad-frame counts; set
        # OPENCV_FFMPEG_LOGLEVEL in the environment to see them.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        _quiet_opencv()
        self._threads = None if threads is None else max(1, int(threads))
        self._cap = self._open_capture()
        if not self._cap.isOpened():
            raise InputError(
                self.path, "cannot be opened as a video",
                "check that it is a complete video file (mp4, avi, mov) OpenCV can decode",
            )
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.fps = fps if fps > 0 and np.isfinite(fps) else float("nan")
        self.bad_frames: list[int] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = max(0, int(cache_size))
        self._next = 0  # index of the frame the capture will decode next
        self._luma: tuple[float, float] | None = None
        self._raw_luma = bool(luma)
        self._first: np.ndarray | None = None
        self.decode = "BGR to grey"
        declared = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        first = self._open_first()
        if first is None or self.width <= 0 or self.height <= 0:
            self.close()
            raise InputError(
                self.path, "no frame could be decoded (not a video, or corrupt)",
                "re-export or re-encode the video (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)",
            )
        self._next = 1
        self._first = first  # frame 0, so that streaming from the start needs no seek
        self._remember(0, first)
        if declared <= 0:
            declared = self._count_by_grabbing()
        self.n_frames = int(declared)

    # ---- helpers -----------------------------------------------------------------------
    def _open_capture(self) -> Any:
        """Open a new ``cv2.VideoCapture`` of the file."""
        cv2 = self._cv2
        if self._threads is not None:
            return cv2.VideoCapture(str(self.path), cv2.CAP_ANY,
                                    [cv2.CAP_PROP_N_THREADS, self._threads])
        return cv2.VideoCapture(str(self.path))

    def _open_first(self) -> np.ndarray | None:
        """Decode frame 0 and decide how frames become grey; return frame 0 in grey.

        The capture first decodes without colour conversion (``CAP_PROP_CONVERT_RGB``
        off). Its luma plane is used when exactly one of the two luma ranges, with at most a
        constant offset of 2 grey levels, reproduces OpenCV's BGR-to-grey conversion of
        frame 0 decoded by a second capture (mean difference <= 0.5, at most 0.1 % of the
        pixels off by more than 2). Otherwise (no luma plane, or a frame with so little
        contrast that both ranges fit) the capture is reopened to decode to colour.
        """
        cv2 = self._cv2
        self._cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)
        ok, raw = self._cap.read()
        if ok and raw is not None and raw.dtype == np.uint8 and raw.ndim == 2:
            check = self._open_capture()  # on the same decoding threads: one, for the tracker
            try:
                ok_ref, bgr = check.read()
            finally:
                check.release()
            if ok_ref and bgr is not None:
                fit = self._luma_fit(raw, self._bgr_to_gray(bgr))
                if fit is not None:
                    self.decode, alpha, beta = fit
                    self._luma = (1.0, 0.0) if self._raw_luma else (alpha, beta)
                    if self._raw_luma:
                        self.decode += " (unmapped)"
                    return self._gray(raw)
        self._cap.release()  # decode to colour from the start instead
        self._cap = self._open_capture()
        ok, bgr = self._cap.read() if self._cap.isOpened() else (False, None)
        return self._bgr_to_gray(bgr) if ok and bgr is not None else None

    def _luma_fit(
        self, raw: np.ndarray, reference: np.ndarray
    ) -> tuple[str, float, float] | None:
        """Return the one luma range (name, scale, offset) mapping ``raw`` onto ``reference``."""
        if raw.shape != reference.shape:
            return None
        fits = []
        for name, alpha, beta in _LUMA_RANGES:
            mapped = raw if alpha == 1.0 else self._cv2.addWeighted(raw, alpha, raw, 0.0, beta)
            diff = reference.astype(np.int16) - mapped
            shift = int(np.median(diff))
            if abs(shift) > 2:
                continue
            err = np.abs(diff - shift)
            if err.mean() <= 0.5 and np.count_nonzero(err > 2) <= 1e-3 * err.size:
                fits.append((name, alpha, beta + shift))
        return fits[0] if len(fits) == 1 else None

    def _bgr_to_gray(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 3:
            if frame.shape[2] == 1:
                return np.ascontiguousarray(frame[:, :, 0])
            return self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return frame

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        if self._luma is None:
            return self._bgr_to_gray(frame)
        alpha, beta = self._luma
        if alpha == 1.0 and beta == 0.0:
            return frame
        # saturating, rounded; exact for the limited range (checked against a lookup table)
        return self._cv2.addWeighted(frame, alpha, frame, 0.0, beta)

    def _remember(self, index: int, frame: np.ndarray) -> None:
        if self._cache_size == 0:
            return
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _count_by_grabbing(self) -> int:
        """Count frames by grabbing to the end (for containers that declare no count)."""
        n = self._next
        while self._cap.grab():
            n += 1
        self._seek(0)
        return n

    def _seek(self, index: int) -> None:
        self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def _check_index(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.n_frames
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} out of range 0..{self.n_frames - 1}")
        return index

    def _record_bad(self, index: int) -> None:
        if index not in self.bad_frames:
            self.bad_frames.append(index)

    # ---- public API --------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, index: int) -> np.ndarray:
        """Return frame ``index`` as grayscale ``uint8`` ``(height, width)``.

        Raises
        ------
        IndexError
            If ``index`` is out of range.
        InputError
            If that frame cannot be decoded (it is also added to :attr:`bad_frames`).

        """
        index = self._check_index(index)
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        if index == 0 and self._first is not None:
            self._remember(0, self._first)
            return self._first
        if index != self._next:
            # Short forward gaps are cheaper to grab through than to seek.
            if 0 < index - self._next <= 8:
                while self._next < index and self._cap.grab():
                    self._next += 1
            if index != self._next:
                self._seek(index)
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._record_bad(index)
            if index + 1 < self.n_frames:
                self._seek(index + 1)
            raise InputError(
                self.path, f"frame {index} cannot be decoded (truncated or corrupt video)",
                "re-encode the video or skip that frame",
            )
        self._next = index + 1
        gray = self._gray(frame)
        self._remember(index, gray)
        return gray

    def iter_frames(
        self,
        start: int = 0,
        stop: int | None = None,
        step: int = 1,
        *,
        select: Container[int] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Stream ``(index, frame)`` pairs in order, without holding more than one frame.

        The capture only moves forward (one seek at most, to ``start``); frames that are
        not yielded are grabbed, not decoded to an image. Frames that fail to decode are
        added to :attr:`bad_frames` and skipped; after many consecutive failures (a
        truncated file) iteration stops, with the missing frames recorded as bad.

        Parameters
        ----------
        start, stop, step
            As for :func:`range` over frame indices; ``stop=None`` means the end.
        select
            If given, only the frames of ``range(start, stop, step)`` that are in it are
            yielded (e.g. a set of sample indices); the others are grabbed.

        """
        if step < 1:
            raise ValueError("step must be >= 1")
        stop = self.n_frames if stop is None else min(int(stop), self.n_frames)
        start = max(0, int(start))
        if start >= stop:
            return
        index = start
        if start == 0 and self._next == 1 and self._first is not None:
            # frame 0 was decoded on opening: no need to seek back to it
            if select is None or 0 in select:
                yield 0, self._first.copy()
            index = step
        elif start != self._next:
            self._seek(start)
        failures = 0
        cap = self._cap
        while index < stop:
            # grab (no decode to an image) through the frames the step skips
            while 0 <= self._next < index:
                if cap.grab():
                    self._next += 1
                    continue
                self._record_bad(self._next)
                failures += 1
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    for lost in range(index, stop, step):
                        self._record_bad(lost)
                    self._next = -1
                    return
                self._seek(self._next + 1)
            if self._next != index:
                self._seek(index)
            wanted = select is None or index in select
            if wanted:
                ok, frame = cap.read()
                ok = ok and frame is not None
            else:
                ok, frame = cap.grab(), None
            if ok:
                failures = 0
                self._next = index + 1
                if wanted:
                    yield index, self._gray(frame)
            else:
                self._record_bad(index)
                failures += 1
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    for lost in range(index + step, stop, step):
                        self._record_bad(lost)
                    self._next = -1
                    return
                # Skip the broken frame: seek past it so the decoder does not stall.
                self._seek(index + 1)
            index += step

    @property
    def position(self) -> int:
        """Index of the frame the decoder gives next (-1 when unknown, after a failure)."""
        return self._next

    @property
    def frames_read(self) -> int:
        """Frames declared minus frames recorded as bad so far."""
        return self.n_frames - len(self.bad_frames)

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()
            self._cap = None  # type: ignore[assignment]
        if hasattr(self, "_cache"):
            self._cache.clear()
        self._first = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"VideoReader({str(self.path)!r}, n_frames={self.n_frames}, fps={self.fps:g}, "
            f"size={self.width}x{self.height})"
        )
