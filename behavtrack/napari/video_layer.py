"""The video as a lazy napari Image layer: frames are decoded only when napari shows them.

:class:`VideoArray` is a read-only array-like of shape ``(n_frames, height, width)`` over a
:class:`behavtrack.io.video.VideoReader`; indexing it decodes only the frames asked for (the
reader seeks and keeps a small cache), so a long video is never loaded whole.
:func:`video_layer_data` returns the napari layer-data tuple for it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from behavtrack.io.video import VideoReader

__all__ = ["VideoArray", "video_layer_data"]


class VideoArray:
    """A ``(n_frames, height, width)`` uint8 array-like that decodes frames on demand.

    Parameters
    ----------
    source
        A video path, or an open :class:`~behavtrack.io.video.VideoReader`.
    cache_size
        Frames the reader keeps decoded (when ``source`` is a path).

    Examples
    --------
    >>> frames = VideoArray("video.mp4")  # doctest: +SKIP
    >>> frames.shape, frames[10].shape  # doctest: +SKIP
    ((2330, 480, 640), (480, 640))

    """

    def __init__(self, source: str | os.PathLike | VideoReader, cache_size: int = 32) -> None:
        self.reader = (source if isinstance(source, VideoReader)
                       else VideoReader(source, cache_size=cache_size))
        self.shape: tuple[int, int, int] = (
            int(self.reader.n_frames), int(self.reader.height), int(self.reader.width)
        )
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3
        self.frames_decoded = 0  # frames handed out by __getitem__ (a measure of laziness)

    @property
    def size(self) -> int:
        """Number of elements (as numpy's)."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def _frame(self, i: int) -> np.ndarray:
        self.frames_decoded += 1
        return self.reader[int(i)]

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:at] + fill + key[at + 1:]
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)):
            index = int(first)
            if index < 0:
                index += self.shape[0]
            if not 0 <= index < self.shape[0]:
                raise IndexError(f"frame {first} is out of range 0..{self.shape[0] - 1}")
            frame = self._frame(index)
            return frame[rest] if rest else frame
        indices = np.arange(self.shape[0])[first]
        frames = np.empty((len(indices), *self.shape[1:]), dtype=self.dtype)
        for j, i in enumerate(indices):  # only the frames asked for
            frames[j] = self._frame(int(i))
        return frames[(slice(None), *rest)] if rest else frames

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # numpy asked for everything: decode it all (napari never does this for video)
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def close(self) -> None:
        """Release the video file."""
        self.reader.close()

    def __repr__(self) -> str:
        return f"VideoArray({self.reader.path!s}, shape={self.shape})"


def video_layer_data(
    path: str | os.PathLike, name: str = "video"
) -> tuple[VideoArray, dict[str, Any], str]:
    """Return napari layer data ``(VideoArray, kwargs, "image")`` for a video file."""
    frames = VideoArray(path)
    kwargs = {
        "name": name,
        "contrast_limits": (0, 255),
        "colormap": "gray",
        "metadata": {"behavtrack_role": "video", "path": str(path)},
    }
    return frames, kwargs, "image"
