"""Classify a long recording chunk by chunk, so that memory stays flat in its length.

:func:`classify_chunks` reads the pose a time chunk at a time (a few minutes, with margins on
both sides long enough for every feature's reach), cleans it, computes the features at the
frames the trees evaluate and keeps only the trees' posteriors there: a few numbers per
frame. The temporal model then decodes the whole recording from those
(:meth:`~behavtrack.strategies.hybrid_model.HybridDecoding.decode_chunked`, itself chunked),
so no stage ever holds a full-length feature table, pose or HMM lattice.

What the whole-recording path (:func:`behavtrack.features.compute_features`, then
:func:`behavtrack.strategies.pipeline.classify_features`) computes from running sums over the
whole recording (smoothing, window statistics) is here summed from the start of each chunk's
margin: the same numbers up to floating-point rounding (about 1e-12 relative), so the labels
and the rounded posteriors agree except, very rarely, where a tree's threshold falls within
that rounding (``benchmarks/bench_classify_process.py`` compares the outputs byte for byte).
The Viterbi path is decoded in overlapping windows whose paths must agree around every splice
(else wider windows, and at last the exact chunked recursion):
:func:`behavtrack.strategies.hmm_decode.viterbi_path_chunked`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.io.arena import Arena
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.parallel import fork_map, in_worker, worker_count

__all__ = ["CHUNK_S", "MAX_AUTO_JOBS", "ChunkedResult", "chunk_jobs", "classify_chunks",
           "margin_s", "streamable"]

#: Length of a chunk's core (s): about the memory of classifying a recording of this length.
CHUNK_S = 600.0

#: Most chunk processes ``jobs=None`` starts (each holds about one chunk's working memory).
MAX_AUTO_JOBS = 4


@dataclass
class ChunkedResult:
    """What :func:`classify_chunks` gives: as :func:`classify_features` plus the table's attrs."""

    labels: dict[str, np.ndarray]
    proba: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    #: what :func:`compute_features` would have put in the whole table's ``attrs``
    #: (``fps``, ``n_frames``, ``px_per_cm``, ``scale_source``, ``skipped``, ``clean``, ...)
    attrs: dict[str, Any] = field(default_factory=dict)


def margin_s(model: Any, fps: float) -> float:
    """Seconds of pose read on each side of a chunk: the longest reach of any feature.

    Time since / until an event reaches :data:`~behavtrack.features.table.POKE_CAP_S`; window
    statistics half their longest window; smoothing, derivatives and gap filling a fraction
    of a second. Two seconds and three frames are added for the edges of the differences.
    """
    from behavtrack.features.table import POKE_CAP_S, SMOOTH_S
    from behavtrack.features.windows import parse_window_name

    longest = max((w[2] for w in map(parse_window_name, model.feature_names_) if w),
                  default=0.0)
    return POKE_CAP_S + longest + 2 * SMOOTH_S + 0.5 + 2.0 + 3.0 / fps


def streamable(model: Any, arena: Arena | None) -> str | None:
    """Why a recording cannot be classified in chunks with ``model`` (``None``: it can).

    Chunks need a model that evaluates chosen frames and decodes in chunks (the hybrid), and
    a known scale (an arena's ``px_per_cm``): a scale estimated from the pose would differ
    from chunk to chunk.
    """
    if not (hasattr(model, "emission_rows") and hasattr(model, "decode_chunked")):
        return f"a {type(model).__name__} decodes whole recordings only"
    if arena is None:
        return "no arena: the scale is estimated from the whole pose"
    return None


def _chunk_events(pokes: dict[str, np.ndarray], start: int, stop: int, fps: float
                  ) -> pd.DataFrame:
    """Return the pokes of frames ``start``..``stop - 1``, renumbered from ``start``."""
    parts = []
    for subject, frames in pokes.items():
        f = frames[(frames >= start) & (frames < stop)] - start
        parts.append(pd.DataFrame({"time_s": f / fps, "subject": subject, "event": "poke",
                                   "value": np.nan, "frame": f}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["time_s", "subject", "event", "value", "frame"])


def classify_chunks(
    read: Callable[[int, int], xr.Dataset],
    n_frames: int,
    model: Any,
    arena: Arena,
    events: pd.DataFrame | None = None,
    *,
    chunk_s: float = CHUNK_S,
    jobs: int | None = 1,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> ChunkedResult:
    """Classify a recording read chunk by chunk; the result of the whole-table path.

    Parameters
    ----------
    read
        ``read(start, stop)`` returns the pose of frames ``start``..``stop - 1`` (a movement
        Dataset with ``attrs["fps"]``, individuals named as the arena's), e.g.
        ``lambda a, b: load_pose(path, frames=(a, b))``.
    n_frames
        Frames of the recording.
    model
        A fitted hybrid model (:func:`streamable`).
    arena
        The arena (its ``px_per_cm`` scales every chunk).
    events
        The rig's log, checked (:func:`~behavtrack.strategies.pipeline.check_events`), or
        ``None``.
    chunk_s
        Length of a chunk's core in seconds (memory grows with it, not with the recording).
    jobs
        Processes that read and score chunks at the same time (:func:`chunk_jobs`; ``None``:
        one per usable core, at most :data:`MAX_AUTO_JOBS` and at most one per chunk). The
        workers are forked from this process (they inherit ``read`` and the model); where
        processes cannot be forked, or with ``1``, chunks are done here one after another.
        The result is the same.
    progress
        Wraps the iterable of chunk results as they arrive (e.g. a progress bar).

    Returns
    -------
    ChunkedResult
        Labels and posteriors per individual (as
        :func:`~behavtrack.strategies.pipeline.classify_features`), notes, and the attrs the
        whole feature table would carry.

    """
    from behavtrack.features.clean import clean_pose, merge_reports
    from behavtrack.features.table import (
        check_event_subjects,
        compute_features,
        feature_request,
        poke_frames,
    )
    from behavtrack.io.pose import check_analysable
    from behavtrack.strategies.hybrid_model import _FLOOR
    from behavtrack.strategies.pipeline import decoding_model

    why = streamable(model, arena)
    if why:
        raise InputError("model", f"cannot classify in chunks: {why}")
    n = int(n_frames)
    if chunk_s <= 0:
        raise InputError("chunk_s", f"must be positive, got {chunk_s}")
    first = read(0, min(n, 2))
    fps = float(first.attrs["fps"])
    inds = [str(i) for i in np.atleast_1d(first["individual"].values)]
    step = max(1, int(round(chunk_s * fps)))
    pad = int(math.ceil(margin_s(model, fps) * fps))
    rows = model.emission_rows(n, fps)
    every_frame = len(rows) == n
    request = feature_request(model.feature_names_)
    pokes = None
    late_note = None
    if events is not None:
        check_event_subjects(events, inds)
        pokes = {i: poke_frames(events, i, fps) for i in inds}
        late = sum(int((p >= n).sum()) for p in pokes.values())
        if late:
            late_note = (f"{late} poke(s) in the events fall after the pose's last frame and "
                         "are ignored")
    state: dict[str, Any] = {"attrs": {}, "model": None, "notes": []}

    def one_chunk(a: int) -> tuple[Any, np.ndarray, list[np.ndarray], bool, dict | None]:
        """Clean, features and tree scores of the chunk starting at frame ``a``.

        Also whether any position of the frames read is finite, and the feature table's
        attrs for the first chunk (the whole table's). The decoding model is chosen from
        the first chunk a process does: every chunk has the same columns.
        """
        b = min(n, a + step)
        lo, hi = max(0, a - pad), min(n, b + pad)
        pose = read(lo, hi)
        seen = bool(np.isfinite(pose["position"].values).any())
        cleaned, report = clean_pose(pose, arena, report_frames=slice(a - lo, b - lo))
        del pose
        core = rows[(rows >= a) & (rows < b)]
        ev = _chunk_events(pokes, lo, hi, fps) if pokes is not None else None
        feats = compute_features(cleaned, arena, ev, clean=False, rows=core - lo, **request)
        del cleaned
        tracked = np.asarray(feats.attrs["tracked_frames"])[a - lo:b - lo]
        attrs = None
        if a == 0 or not state["attrs"]:  # the whole table's attrs, or this process's first
            attrs = {k: v for k, v in feats.attrs.items() if k != "tracked_frames"}
            attrs["columns"] = list(feats.columns)
        if not state["attrs"]:  # this process's first chunk decides its decoding model
            _decide(state, attrs)
            if in_worker() and state["model"] is not None:
                # one thread, and no call into an OpenMP runtime this fork copied (a
                # parent that ran scikit-learn leaves one that would hang here)
                state["model"].emission_.n_threads = 1
        m = state["model"]
        scores = []
        if m is not None:
            where = feats.index.get_level_values("individual")
            for ind in inds:
                p = m.emission_.predict_proba(m._matrix(feats[where == ind]))
                scores.append(p if every_frame else np.log(np.clip(p, _FLOOR, 1.0)))
        del feats
        _trim_heap()
        return report, tracked, scores, seen, attrs if a == 0 else None

    def _decide(st: dict[str, Any], attrs: dict[str, Any]) -> None:
        st["model"], st["notes"] = decoding_model(model, attrs["columns"],
                                                  attrs.get("skipped", {}))
        st["attrs"] = attrs

    starts = range(0, n, step)
    workers = chunk_jobs(jobs, len(starts))
    results = (fork_map(one_chunk, starts, workers) if workers > 1
               else map(one_chunk, starts))
    done = list(progress(results) if progress is not None else results)
    if not any(d[3] for d in done):
        check_analysable(first)  # raises: no tracked frame in the whole recording
    if not state["attrs"]:  # the chunks were done by workers
        _decide(state, done[0][4])  # the first chunk's columns, as the whole table's
    attrs, m, decode_notes = state["attrs"], state["model"], state["notes"]
    reports = [d[0] for d in done]
    tracked = [d[1] for d in done]
    scores = [[d[2][j] for d in done] if m is not None else [] for j in range(len(inds))]
    del done
    clean = merge_reports(reports, inds, fps)
    notes = list(clean.notes) + list(attrs.get("notes", []))
    if late_note:
        notes.append(late_note)
    attrs.update(fps=fps, n_frames=n, individuals=inds, clean=clean.to_dict(),
                 notes=list(notes))
    notes += decode_notes
    lost = ~np.concatenate(tracked) if tracked else np.zeros((0, len(inds)), dtype=bool)
    labels, proba = {}, {}
    if m is None:  # nothing but "other" can be told apart
        for ind in inds:
            p = np.zeros((n, len(BEHAVIORS)))
            p[:, BEHAVIORS.index("other")] = 1.0
            labels[ind], proba[ind] = np.full(n, "other", dtype=object), p
    else:
        per_frame = [np.concatenate(s) if s else np.zeros((0, len(m.behaviors_)))
                     for s in scores]
        del scores
        in_order = list(m.behaviors_) == list(BEHAVIORS)

        both = chunk_jobs(jobs, len(inds))
        # posteriors and codes are written in place, in memory the workers share with this
        # process when there are workers (nothing large is sent back)
        post_all = _shared_zeros((len(inds), n, len(BEHAVIORS)), np.float64, both > 1)
        codes_all = _shared_zeros((len(inds), n), np.int16, both > 1)

        def decode(j: int) -> None:
            """Decode animal ``j`` into ``codes_all[j]`` and ``post_all[j]`` (BEHAVIORS order)."""
            out = post_all[j]
            # the decoder reads each frame 3 to 4 times: its posteriors are computed once
            frame_proba = np.empty((n, len(m.behaviors_)))
            proba_of = _proba_of(m, per_frame, rows, every_frame, j)
            for a in range(0, n, step):
                frame_proba[a:a + step] = proba_of(a, min(n, a + step))
            codes, post = m.decode_chunked(lambda a, b: frame_proba[a:b], n, fps, chunk=step,
                                           out=out if in_order else None)
            del frame_proba
            if not in_order:
                for k, beh in enumerate(m.behaviors_):
                    out[:, BEHAVIORS.index(beh)] = post[:, k]
            codes_all[j] = codes

        # the animals are decoded apart (pooling reads both of their tree scores)
        for _ in (fork_map(decode, range(len(inds)), both) if both > 1
                  else map(decode, range(len(inds)))):
            pass
        for j, ind in enumerate(inds):
            labels[ind] = np.asarray(m.behaviors_, dtype=object)[codes_all[j]]
            proba[ind] = post_all[j]
        del codes_all
    for j, ind in enumerate(inds):
        if lost[:, j].any():
            labels[ind][lost[:, j]] = "other"  # a new array: codes indexed the names
            proba[ind][lost[:, j]] = np.nan
    return ChunkedResult(labels, proba, notes, attrs)


def _shared_zeros(shape: tuple[int, ...], dtype: Any, shared: bool) -> np.ndarray:
    """Zeros; with ``shared``, in anonymous shared memory that forked workers write into."""
    if not shared:
        return np.zeros(shape, dtype=dtype)
    import mmap

    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(size, 1)), dtype=dtype,
                         count=int(np.prod(shape))).reshape(shape)


def chunk_jobs(jobs: int | None, n_chunks: int) -> int:
    """Return the number of processes for ``n_chunks`` chunks.

    ``jobs``, or with ``None`` the usable cores up to :data:`MAX_AUTO_JOBS`; never more than
    one per chunk, and 1 where processes cannot be forked or inside a forked worker (see
    :func:`behavtrack.parallel.worker_count`).
    """
    return worker_count(jobs, n_chunks, MAX_AUTO_JOBS)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim``, or ``None`` with another C library."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _trim_heap() -> None:
    """Give the chunk's freed memory back to the system (glibc's ``malloc_trim``).

    A chunk frees about a hundred MB in blocks of many sizes; glibc keeps freed heap memory
    for reuse, and its holes grow with the number of chunks, so the process's resident size
    would creep up with the recording's length though its live memory does not. Elsewhere
    (another C library) this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _proba_of(m: Any, per_frame: list[np.ndarray], rows: np.ndarray, every_frame: bool,
              j: int) -> Callable[[int, int], np.ndarray]:
    """``(start, stop) ->`` animal ``j``'s frame posteriors, as ``frame_proba`` then pooling.

    Every step works frame by frame (interpolation between the trees' frames, normalising,
    pooling the mutual behaviours of a pair), so a range gives the rows of the whole.
    """

    def one(i: int, start: int, stop: int) -> np.ndarray:
        if every_frame:
            return per_frame[i][start:stop]
        logp = per_frame[i]
        frames = np.arange(start, stop)
        full = np.column_stack([np.interp(frames, rows, logp[:, k])
                                for k in range(logp.shape[1])])
        p = np.exp(full - full.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def proba_of(start: int, stop: int) -> np.ndarray:
        if len(per_frame) != 2:
            return one(j, start, stop)
        return m._pool_groups([one(0, start, stop), one(1, start, stop)], [0, 0])[j]

    return proba_of
