"""The built-in tracker: :func:`track_video`, from a video file to a movement poses Dataset.

Stages, in order: a background model learned from frames sampled over the whole video
(:mod:`~behavtrack.tracking.background`); a calibration on those frames (an animal's size
and body width); then one streaming pass over the video (frames decoded in a background
thread while the previous one is processed, so memory stays flat) that segments each frame
(:mod:`~behavtrack.tracking.segment`), keeps identities (:mod:`~behavtrack.tracking.identity`)
and measures each animal's body (:mod:`~behavtrack.tracking.pose_from_blob`); finally the
head end is chosen over time (:mod:`~behavtrack.tracking.orient`). The result is written as
DeepLabCut .h5 and .csv and a ``.tracking.json`` report of frames read against expected.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text, progress
from behavtrack.io.arena import Arena
from behavtrack.io.video import VideoReader
from behavtrack.tracking.background import background_from_samples, sample_frames
from behavtrack.tracking.identity import MotionAssigner, by_compartment
from behavtrack.tracking.orient import KEYPOINTS, orient_records
from behavtrack.tracking.pose_from_blob import N_FIELDS, pose_from_mask
from behavtrack.tracking.segment import Segmenter

__all__ = ["track", "track_video", "output_paths", "save_tracks", "Calibration", "calibrate"]

SCORER = "behavtrack-builtin"


class Calibration:
    """What the tracker learns from the sampled frames before the streaming pass.

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


def _prefetch(frames: Iterator[tuple[int, np.ndarray]], size: int = 8) -> Iterator:
    """Decode frames in a thread (OpenCV releases the GIL) with a bounded queue."""
    q: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in frames:
                if stop.is_set():
                    break
                q.put(item)
        except BaseException as exc:  # forwarded to the consumer
            q.put(exc)
        finally:
            q.put(done)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


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


def save_tracks(ds: xr.Dataset, h5: str | os.PathLike, csv: str | os.PathLike | None) -> None:
    """Write a poses Dataset as DeepLabCut .h5 (and .csv), each atomically.

    One individual is written in the single-animal layout, several in the multi-animal
    layout (with the ``individuals`` header row), both as DeepLabCut writes them.
    """
    from movement.io import save_poses

    frames = save_poses.to_dlc_style_df(ds, split_individuals=ds.sizes["individual"] == 1)
    df = next(iter(frames.values())) if isinstance(frames, dict) else frames
    df.columns = df.columns.set_levels([SCORER], level="scorer")
    with atomic_path(h5) as tmp:
        df.to_hdf(tmp, key="df_with_missing", mode="w")
    if csv is not None:
        with atomic_path(csv) as tmp:
            df.to_csv(tmp, sep=",")


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


def track_video(
    video: str | os.PathLike,
    arena: Arena | None = None,
    n_animals: int | None = None,
    out: str | os.PathLike | None = None,
    quiet: bool = False,
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
    quiet
        No progress bars.
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
    from movement.io import load_poses

    names, compartments = _individuals(arena, n_animals)
    paths = output_paths(video, out) if out is not None else None  # checked before the work
    with VideoReader(video) as reader:
        _require_fit(arena, reader)
        t_start = time.perf_counter()
        samples, indices = sample_frames(reader, n_background, quiet=quiet)
        background = background_from_samples(samples, indices)
        segmenter = Segmenter(
            background, arena, min_area=max(15.0, 2e-4 * reader.width * reader.height)
        )
        calib = calibrate(samples, segmenter, len(names), reader.path)
        del samples
        segmenter.min_area = calib.min_area
        segmenter.pad = int(np.ceil(1.5 * calib.half_width)) + 2
        assigner = None
        if compartments is None and len(names) > 1:
            assigner = MotionAssigner(
                len(names), calib.typical_area, max_jump=6 * np.sqrt(calib.typical_area)
            )
        n = reader.n_frames
        records = np.full((n, len(names), N_FIELDS), np.nan, dtype=np.float64)
        read = 0
        t_stream = time.perf_counter()
        frames = _prefetch(reader.iter_frames())
        try:
            for index, frame in progress(frames, total=n, desc=f"tracking {reader.path.name}",
                                         quiet=quiet, unit="frame"):
                read += 1
                blobs = segmenter.blobs(frame)
                if compartments is not None:
                    chosen = by_compartment(blobs, compartments)
                elif assigner is not None:
                    chosen = assigner.assign(blobs)
                else:
                    chosen = blobs[:1]
                for k, blob in enumerate(chosen):
                    if blob is None:
                        continue
                    rec = pose_from_mask(blob.mask, blob.offset, calib.kernel,
                                         calib.coarse_kernel)
                    if rec is not None:
                        records[index, k] = rec
        finally:
            frames.close()  # stop the decoding thread before the reader is released
        t_end = time.perf_counter()
        bad = sorted(reader.bad_frames)
        fps = reader.fps
        if not np.isfinite(fps):
            fps = arena.fps if arena is not None and arena.fps else 30.0
        source = str(reader.path)
    position = np.full((n, 2, len(KEYPOINTS), len(names)), np.nan)
    confidence = np.zeros((n, len(KEYPOINTS), len(names)))
    for k in range(len(names)):
        position[..., k], confidence[..., k] = orient_records(records[:, k])
    ds = load_poses.from_numpy(
        position_array=position, confidence_array=confidence, individual_names=names,
        keypoint_names=list(KEYPOINTS), fps=float(fps), source_software=SCORER,
    )
    found = np.isfinite(position[:, 0, KEYPOINTS.index("centroid"), :])
    report = {
        "video": source,
        "tracker": SCORER,
        "frames_expected": int(n),
        "frames_read": int(read),
        "bad_frames": [int(b) for b in bad],
        "fps": float(fps),
        "individuals": names,
        "frames_with_animal": {nm: int(found[:, k].sum()) for k, nm in enumerate(names)},
        "background": {
            "polarity": "dark animals" if background.polarity > 0 else "light animals",
            "threshold": background.threshold,
            "samples": len(background.samples),
        },
        "timing_s": {
            "background": round(t_stream - t_start, 3),
            "stream": round(t_end - t_stream, 3),
        },
        "typical_area_px": calib.typical_area,
        "body_half_width_px": calib.half_width,
    }
    ds.attrs.update(
        fps=float(fps), source_file=source, frames_expected=int(n), frames_read=int(read),
        bad_frames=len(bad), tracker=SCORER, background_s=t_stream - t_start,
        stream_s=t_end - t_stream,
    )
    if paths is not None:
        save_tracks(ds, paths["h5"], paths["csv"])
        atomic_write_text(paths["report"], json.dumps(report, indent=2) + "\n")
        ds.attrs["output_file"] = str(paths["h5"])
    return ds


def track(
    video: str | os.PathLike,
    *,
    backend: str = "builtin",
    model: str | os.PathLike | None = None,
    python: str | os.PathLike | None = None,
    arena: Arena | None = None,
    n_animals: int | None = None,
    out: str | os.PathLike | None = None,
    quiet: bool = False,
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
    arena, n_animals, quiet
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
        if model is not None or python is not None:
            raise InputError("--model", "is only used with --backend deeplabcut or sleap",
                             "drop --model/--python, or choose a model backend")
        return track_video(video, arena=arena, n_animals=n_animals, out=out, quiet=quiet)
    from behavtrack.tracking.backends import run_backend

    if out is None:
        raise InputError("--out", f"is required with --backend {backend}",
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
