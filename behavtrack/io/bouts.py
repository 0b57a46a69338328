"""Bouts: runs of one behaviour of one individual, and their BORIS-compatible CSV.

Internally a bouts table is a DataFrame with columns ``individual, behavior, start_frame,
stop_frame, start_s, stop_s, duration_s, confidence``; ``stop_frame`` is exclusive and
``stop_s = stop_frame / fps``. On disk (``bouts.csv``) the table carries the BORIS
aggregated-events columns verbatim (``Observation id, Subject, Behavior, Behavior type,
Start (s), Stop (s), Duration (s), Media file name, FPS, Image index start, Image index stop``)
and then ``confidence``; ``Image index stop`` is the bout's last frame (inclusive).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import atomic_path

__all__ = [
    "BEHAVIORS",
    "runs",
    "BOUT_COLUMNS",
    "BORIS_COLUMNS",
    "frames_to_bouts",
    "bouts_to_frames",
    "bouts_to_boris",
    "boris_to_bouts",
    "write_bouts_csv",
    "read_bouts_csv",
]

#: Behaviour names, lower case, in the order used for states and probability columns.
BEHAVIORS: tuple[str, ...] = ("approach", "waiting", "interaction", "other")

BOUT_COLUMNS = [
    "individual", "behavior", "start_frame", "stop_frame", "start_s", "stop_s", "duration_s",
    "confidence",
]

BORIS_COLUMNS = [
    "Observation id", "Subject", "Behavior", "Behavior type", "Start (s)", "Stop (s)",
    "Duration (s)", "Media file name", "FPS", "Image index start", "Image index stop",
]


def runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding: start, length and value of each run of equal values.

    The one run-length encoding of the package (bouts, HMM smoothing, metrics, gaps in
    tracking, grid bouts all go through it).

    Parameters
    ----------
    values
        A 1-D array (or sequence), or a 2-D array whose rows are compared whole (a run ends
        where any column changes, e.g. ``np.column_stack([labels, episode])``).

    Returns
    -------
    starts : numpy.ndarray
        Index of each run's first element (int, increasing, ``starts[0] == 0``).
    lengths : numpy.ndarray
        Number of elements of each run (int, >= 1, summing to ``len(values)``); a run stops
        (exclusive) at ``starts + lengths``.
    values : numpy.ndarray
        The value (row) of each run, ``values[starts]``, of the input's dtype.

    Examples
    --------
    >>> starts, lengths, vals = runs(np.array([3, 3, 1, 1, 1, 3]))
    >>> starts.tolist(), lengths.tolist(), vals.tolist()
    ([0, 2, 5], [2, 3, 1], [3, 1, 3])
    >>> [len(a) for a in runs(np.array([], dtype=int))]
    [0, 0, 0]

    """
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), values[:0]
    differ = values[1:] != values[:-1]
    if differ.ndim > 1:
        differ = differ.any(axis=tuple(range(1, differ.ndim)))
    starts = np.concatenate([[0], np.flatnonzero(differ) + 1])
    lengths = np.diff(np.concatenate([starts, [n]]))
    return starts, lengths, values[starts]


def frames_to_bouts(
    labels: np.ndarray,
    fps: float,
    individual: str,
    confidence: np.ndarray | None = None,
    skip: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Turn one individual's per-frame labels into a bouts table.

    Parameters
    ----------
    labels
        Behaviour name per frame (strings; empty string or ``None`` for unlabelled frames,
        which end a bout and start none).
    fps
        Frames per second.
    individual
        The individual's name.
    confidence
        Per-frame confidence (e.g. the posterior of the chosen state); each bout gets its mean.
        NaN if not given.
    skip
        Behaviours for which no bouts are emitted (e.g. ``("other",)``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOUT_COLUMNS`, one row per bout in time order.

    Examples
    --------
    >>> frames_to_bouts(np.array(["other", "waiting", "waiting"]), 10.0, "m1")[
    ...     ["behavior", "start_frame", "stop_frame"]].values.tolist()
    [['other', 0, 1], ['waiting', 1, 3]]

    """
    labels = np.asarray(labels, dtype=object)
    n = len(labels)
    if n == 0:
        return pd.DataFrame(columns=BOUT_COLUMNS)
    valid = np.array([isinstance(v, str) and v != "" for v in labels])
    codes = np.where(valid, labels, "")
    starts, lengths, _ = runs(codes)
    stops = starts + lengths
    keep = valid[starts]
    starts, stops = starts[keep], stops[keep]
    behaviors = codes[starts]
    if skip:
        keep = ~np.isin(behaviors, list(skip))
        starts, stops, behaviors = starts[keep], stops[keep], behaviors[keep]
    if confidence is not None:
        conf = np.asarray(confidence, dtype=float)
        csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(conf))])
        cnt = np.concatenate([[0], np.cumsum(np.isfinite(conf))])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_conf = (csum[stops] - csum[starts]) / (cnt[stops] - cnt[starts])
    else:
        mean_conf = np.full(len(starts), np.nan)
    return pd.DataFrame(
        {
            "individual": individual,
            "behavior": behaviors.astype(str),
            "start_frame": starts.astype(int),
            "stop_frame": stops.astype(int),
            "start_s": starts / fps,
            "stop_s": stops / fps,
            "duration_s": (stops - starts) / fps,
            "confidence": mean_conf,
        },
        columns=BOUT_COLUMNS,
    )


def bouts_to_frames(
    bouts: pd.DataFrame, n_frames: int, fps: float, individual: str, fill: str = "other"
) -> np.ndarray:
    """Per-frame labels of one individual from a bouts table (frames outside bouts get ``fill``).

    Bouts given only in seconds are placed with ``frame = round(t * fps)``.
    """
    out = np.full(n_frames, fill, dtype=object)
    rows = bouts[bouts["individual"] == individual]
    for row in rows.itertuples(index=False):
        start = getattr(row, "start_frame", np.nan)
        stop = getattr(row, "stop_frame", np.nan)
        if pd.isna(start) or pd.isna(stop):
            start, stop = round(row.start_s * fps), round(row.stop_s * fps)
        out[max(int(start), 0):min(int(stop), n_frames)] = row.behavior
    return out


def bouts_to_boris(
    bouts: pd.DataFrame, fps: float, observation_id: str = "", media_file: str = ""
) -> pd.DataFrame:
    """Return the on-disk (BORIS aggregated-events) layout of a bouts table."""
    out = pd.DataFrame(
        {
            "Observation id": observation_id,
            "Subject": bouts["individual"].astype(str).to_numpy(),
            "Behavior": bouts["behavior"].astype(str).to_numpy(),
            "Behavior type": "STATE",
            "Start (s)": np.round(bouts["start_s"].to_numpy(dtype=float), 4),
            "Stop (s)": np.round(bouts["stop_s"].to_numpy(dtype=float), 4),
            "Duration (s)": np.round(bouts["duration_s"].to_numpy(dtype=float), 4),
            "Media file name": media_file,
            "FPS": float(fps),
            "Image index start": bouts["start_frame"].to_numpy(dtype=int),
            "Image index stop": bouts["stop_frame"].to_numpy(dtype=int) - 1,
            "confidence": np.round(bouts["confidence"].to_numpy(dtype=float), 4),
        }
    )
    return out


def boris_to_bouts(table: pd.DataFrame, source: str | os.PathLike = "<bouts>") -> pd.DataFrame:
    """Parse the on-disk bouts layout back into the internal bouts table."""
    missing = [c for c in ("Subject", "Behavior", "Start (s)", "Stop (s)") if c not in table]
    if missing:
        raise InputError(
            source, f"is not a bouts table: column {missing[0]!r} is missing",
            "expected the BORIS aggregated-events columns (Subject, Behavior, Start (s), ...)",
        )
    fps = pd.to_numeric(table.get("FPS"), errors="coerce") if "FPS" in table else None
    start_s = pd.to_numeric(table["Start (s)"], errors="coerce").to_numpy(dtype=float)
    stop_s = pd.to_numeric(table["Stop (s)"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(start_s).any() or np.isnan(stop_s).any():
        raise InputError(source, "has a bout whose start or stop is not a number")
    if (stop_s < start_s).any():
        raise InputError(source, "has a bout that stops before it starts")
    if "Image index start" in table and "Image index stop" in table:
        start_f = pd.to_numeric(table["Image index start"], errors="coerce").to_numpy(dtype=float)
        stop_f = pd.to_numeric(table["Image index stop"], errors="coerce").to_numpy(dtype=float) + 1
    elif fps is not None:
        start_f = np.round(start_s * fps.to_numpy(dtype=float))
        stop_f = np.round(stop_s * fps.to_numpy(dtype=float))
    else:
        start_f = stop_f = np.full(len(table), np.nan)
    conf = (
        pd.to_numeric(table["confidence"], errors="coerce").to_numpy(dtype=float)
        if "confidence" in table else np.full(len(table), np.nan)
    )
    out = pd.DataFrame(
        {
            "individual": table["Subject"].astype(str).to_numpy(),
            "behavior": table["Behavior"].astype(str).str.lower().to_numpy(),
            "start_frame": pd.array(start_f, dtype="Int64") if np.isnan(start_f).any()
            else start_f.astype(int),
            "stop_frame": pd.array(stop_f, dtype="Int64") if np.isnan(stop_f).any()
            else stop_f.astype(int),
            "start_s": start_s,
            "stop_s": stop_s,
            "duration_s": stop_s - start_s,
            "confidence": conf,
        },
        columns=BOUT_COLUMNS,
    )
    return out.sort_values(["individual", "start_s"], kind="stable").reset_index(drop=True)


def write_bouts_csv(
    bouts: pd.DataFrame,
    path: str | os.PathLike,
    fps: float,
    observation_id: str = "",
    media_file: str = "",
) -> Path:
    """Write a bouts table as ``bouts.csv`` (BORIS layout), atomically."""
    table = bouts_to_boris(bouts, fps, observation_id=observation_id, media_file=media_file)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def read_bouts_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``bouts.csv`` written by behavtrack (or the napari plugin) into a bouts table."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such bouts file", "check the path")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a readable CSV ({type(exc).__name__})") from None
    return boris_to_bouts(table, source=path)
