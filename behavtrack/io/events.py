"""The rig's event log: a CSV of pokes, rewards, trial starts, ... read into the events table.

The log has one row per event with ``time_s`` (seconds) or ``frame`` (video frame) or both,
``subject`` (an individual's name; empty for rig-wide events), ``event`` (``poke``, ``reward``,
``trial_start``, ``window``, ...) and optionally ``value`` (a number the event carries, e.g. the
coordination window of a ``window`` row). :func:`load_events` returns the events DataFrame of
``docs/architecture.md``: ``time_s, frame, subject, event, value`` (+ any extra columns), sorted
by time; ``frame`` and ``time_s`` are derived from each other through ``fps``.
:func:`write_events` writes one atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, require_file

__all__ = ["EVENT_COLUMNS", "load_events", "write_events", "normalize_events"]

EVENT_COLUMNS = ["time_s", "frame", "subject", "event", "value"]


def normalize_events(
    df: pd.DataFrame, fps: float | None = None, source: str | os.PathLike = "<events>"
) -> pd.DataFrame:
    """Validate an events table and return it in the standard layout.

    Parameters
    ----------
    df
        A table with ``time_s`` and/or ``frame``, ``subject``, ``event`` and optionally
        ``value``. Column names are matched case-insensitively.
    fps
        Frame rate, to derive ``frame`` from ``time_s`` or ``time_s`` from ``frame``.
    source
        Named in errors.

    Returns
    -------
    pandas.DataFrame
        ``time_s`` (float), ``frame`` (nullable Int64), ``subject`` (str, ``""`` for
        rig-wide events), ``event`` (str, lower case), ``value`` (float, NaN if none), then
        the other columns, sorted by time (stable).

    Raises
    ------
    InputError
        A missing column, a time or frame that is not a number, or a log given in frames
        only without ``fps``.

    """
    df = df.rename(columns={c: str(c).strip().lower() for c in df.columns})
    hint = "the log needs columns time_s (or frame), subject, event and optionally value"
    if "time_s" not in df and "frame" not in df:
        raise InputError(source, "has neither a 'time_s' nor a 'frame' column", hint)
    for col in ("subject", "event"):
        if col not in df:
            raise InputError(source, f"has no '{col}' column", hint)
    out = df.copy()
    if "time_s" in out:
        t = pd.to_numeric(out["time_s"], errors="coerce")
        if t.isna().any():  # text, or an empty cell
            row = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise InputError(source, f"row {row + 2}: time_s {out['time_s'].iloc[row]!r} is "
                             "not a number", "every event needs a time")
        out["time_s"] = t.astype(float)
    if "frame" in out:
        f = pd.to_numeric(out["frame"], errors="coerce")
        if "time_s" not in out and f.isna().any():
            row = int(np.flatnonzero(f.isna().to_numpy())[0])
            raise InputError(source, f"row {row + 2}: frame {out['frame'].iloc[row]!r} is not "
                             "a number")
        if (f.dropna() % 1 != 0).any() or (f.dropna() < 0).any():
            raise InputError(source, "column 'frame' must hold whole, non-negative numbers")
        out["frame"] = f.astype("Int64")
    if "time_s" not in out:
        if not fps:
            raise InputError(source, "gives frames but no times, and the frame rate is unknown",
                             "pass fps= (e.g. fps=30) or add a time_s column")
        out["time_s"] = out["frame"].astype(float) / fps
    if "frame" not in out or out["frame"].isna().any():
        derived = (
            pd.array(np.rint(out["time_s"].to_numpy() * fps).astype(int), dtype="Int64")
            if fps else pd.array([pd.NA] * len(out), dtype="Int64")
        )
        if "frame" in out:
            out["frame"] = out["frame"].fillna(pd.Series(derived, index=out.index))
        else:
            out["frame"] = derived
    out["subject"] = out["subject"].fillna("").astype(str).str.strip()
    out["event"] = out["event"].fillna("").astype(str).str.strip().str.lower()
    if (out["event"] == "").any():
        row = int(np.flatnonzero((out["event"] == "").to_numpy())[0])
        raise InputError(source, f"row {row + 2}: the event name is empty")
    if "value" in out:
        v = pd.to_numeric(out["value"], errors="coerce")
        if (v.isna() & out["value"].notna() & (out["value"].astype(str).str.strip() != "")).any():
            raise InputError(source, "column 'value' has an entry that is not a number")
        out["value"] = v.astype(float)
    else:
        out["value"] = np.nan
    rest = [c for c in out.columns if c not in EVENT_COLUMNS]
    out = out[EVENT_COLUMNS + rest]
    return out.sort_values("time_s", kind="stable").reset_index(drop=True)


def load_events(path: str | os.PathLike, fps: float | None = None) -> pd.DataFrame:
    """Read the rig's event log (CSV) into the events table.

    Parameters
    ----------
    path
        The CSV (``time_s`` or ``frame``, ``subject``, ``event``, optional ``value``).
    fps
        Frame rate of the session's video; needed when the log gives only frames.

    Returns
    -------
    pandas.DataFrame
        See :func:`normalize_events`.

    Examples
    --------
    >>> ev = load_events("events.csv", fps=30)  # doctest: +SKIP
    >>> ev[ev.event == "poke"].groupby("subject").size()  # doctest: +SKIP

    """
    path = require_file(path, "event log")
    try:
        df = pd.read_csv(path, dtype={"subject": str, "event": str}, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise InputError(path, "is empty", "the log needs a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a readable CSV ({type(exc).__name__})") from None
    return normalize_events(df, fps=fps, source=path)


def write_events(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an events table as CSV (atomically) and return the path."""
    table = df.copy()
    for col in EVENT_COLUMNS:
        if col not in table:
            table[col] = np.nan if col in ("value", "time_s", "frame") else ""
    rest = [c for c in table.columns if c not in EVENT_COLUMNS]
    with atomic_path(path) as tmp:
        table[EVENT_COLUMNS + rest].to_csv(tmp, index=False)
    return Path(path)
