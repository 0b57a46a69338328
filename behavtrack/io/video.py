"""Video reading: :class:`VideoReader`, grayscale frames with random access and streaming.

Frames are decoded with OpenCV and returned as grayscale ``uint8`` arrays of shape
``(height, width)``. Random access (``reader[i]``) seeks only when the wanted frame is not
the next one; a small LRU cache keeps recently read frames. :meth:`VideoReader.iter_frames`
streams frames in order, grabbing (not decoding) frames it skips. Frames that fail to decode
are recorded in :attr:`VideoReader.bad_frames` and skipped, never retried forever.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from types import TracebackType

import numpy as np

from behavtrack.errors import InputError
from behavtrack.files import require_file

__all__ = ["VideoReader"]

# After this many consecutive failed reads, the rest of the stream is taken as lost
# (truncated file): no endless retries on a broken container.
_MAX_CONSECUTIVE_FAILURES = 25


class VideoReader:
    """Read a video's frames as grayscale ``uint8`` arrays.

    Parameters
    ----------
    path
        Path to a video file OpenCV can decode (mp4, avi, mov, ...).
    cache_size
        How many decoded frames the LRU cache keeps for random access.

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

    def __init__(self, path: str | os.PathLike, cache_size: int = 16) -> None:
        import cv2

        self._cv2 = cv2
        self.path = require_file(path, "video file")
        # FFmpeg's own log lines ("moov atom not found", "error while decoding MB ...")
        # would come on top of behavtrack's one-line errors and bad-frame counts; set
        # OPENCV_FFMPEG_LOGLEVEL in the environment to see them.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        self._cap = cv2.VideoCapture(str(self.path))
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
        declared = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, frame = self._cap.read()
        if not ok or frame is None or self.width <= 0 or self.height <= 0:
            self.close()
            raise InputError(
                self.path, "no frame could be decoded (not a video, or corrupt)",
                "re-export or re-encode the video (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)",
            )
        self._next = 1
        self._remember(0, self._gray(frame))
        if declared <= 0:
            declared = self._count_by_grabbing()
        self.n_frames = int(declared)

    # ---- helpers -----------------------------------------------------------------------
    def _gray(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 3:
            if frame.shape[2] == 1:
                return np.ascontiguousarray(frame[:, :, 0])
            return self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return frame

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
        self, start: int = 0, stop: int | None = None, step: int = 1
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Stream ``(index, frame)`` pairs in order, without holding more than one frame.

        Skipped frames (``step > 1``) are grabbed, not decoded. Frames that fail to decode
        are added to :attr:`bad_frames` and skipped; after many consecutive failures (a
        truncated file) iteration stops, with the missing frames recorded as bad.

        Parameters
        ----------
        start, stop, step
            As for :func:`range` over frame indices; ``stop=None`` means the end.

        """
        if step < 1:
            raise ValueError("step must be >= 1")
        stop = self.n_frames if stop is None else min(int(stop), self.n_frames)
        start = max(0, int(start))
        if start >= stop:
            return
        if start != self._next:
            self._seek(start)
        failures = 0
        index = start
        while index < stop:
            ok, frame = self._cap.read()
            if ok and frame is not None:
                failures = 0
                self._next = index + 1
                yield index, self._gray(frame)
            else:
                self._record_bad(index)
                failures += 1
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    for lost in range(index + 1, stop, step):
                        self._record_bad(lost)
                    self._next = -1
                    return
                # Skip the broken frame: seek past it so the decoder does not stall.
                self._seek(index + 1)
            nxt = index + step
            # grab (no decode) through the frames the step skips
            while self._next < nxt and self._next >= 0 and nxt < stop:
                if not self._cap.grab():
                    self._record_bad(self._next)
                    self._seek(self._next + 1)
                    failures += 1
                    if failures >= _MAX_CONSECUTIVE_FAILURES:
                        return
                    continue
                self._next += 1
            index = nxt
            if self._next != index and index < stop:
                self._seek(index)

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

