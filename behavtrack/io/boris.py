"""BORIS annotations (tabular-event exports and ``.boris`` projects) read into one bouts table.

Three layouts are read:

- the **old tabular export**: a block of metadata lines (``Observation id,<id>``, media,
  date, ...), then the header ``Time, Media file path, Total length, FPS, Subject, Behavior,
  Behavioral category, Comment, Status`` and one row per START/STOP (or POINT) event;
- the **new tabular export**: one header ``Observation id, ..., Subject, Behavior, ...,
  Behavior type, Time, Image index, ...`` with START/STOP/POINT in ``Behavior type``;
- the **``.boris`` project** (JSON): per observation, events ``[time, subject, code, modifier,
  comment, ...]`` where each occurrence of a state event toggles it on or off.

START/STOP events are paired per (observation, subject, behaviour) in time order into bouts;
POINT events have no duration and are skipped. An unpaired START or STOP raises a one-line
:class:`~behavtrack.errors.InputError` naming the line (or event). Behaviour and subject names
go through the user's maps (``behavior_map={"interact": "interaction"}``; a value of ``None``
drops that behaviour); unmapped behaviour names are kept, lower-cased.

The result has the columns of :data:`behavtrack.io.bouts.BOUT_COLUMNS` plus ``observation``;
``stop_frame`` is exclusive and frames are ``round(time * fps)`` (or the export's image index).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import require_file
from behavtrack.io.bouts import BOUT_COLUMNS

__all__ = ["BORIS_BOUT_COLUMNS", "load_boris", "pair_events"]

BORIS_BOUT_COLUMNS = [*BOUT_COLUMNS, "observation"]
_NO_SUBJECT = {"", "no focal subject", "nan", "none"}


# ---- shared: pairing START/STOP into bouts ---------------------------------------------------
def pair_events(events: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """Pair START/STOP events into bouts.

    Parameters
    ----------
    events
        Columns ``observation, subject, behavior, status`` (START/STOP/POINT), ``time_s``,
        ``fps`` (float or NaN), ``image_index`` (float or NaN) and ``where`` (how to name the
        row in errors, e.g. ``"line 17"``).
    source
        The file, named in errors.

    Returns
    -------
    pandas.DataFrame
        :data:`BORIS_BOUT_COLUMNS`, sorted by observation, individual and start.

    """
    ev = events[events["status"] != "POINT"].copy()
    bad = ~ev["status"].isin(["START", "STOP"])
    if bad.any():
        row = ev[bad].iloc[0]
        raise InputError(source, f"{row['where']}: status {row['status']!r} is not START, "
                         "STOP or POINT")
    ev["_order"] = np.arange(len(ev))
    ev = ev.sort_values(["observation", "subject", "behavior", "time_s", "_order"],
                        kind="stable")
    rows = []
    for (obs, subj, beh), grp in ev.groupby(["observation", "subject", "behavior"], sort=False):
        status = grp["status"].to_numpy()
        expected = np.where(np.arange(len(grp)) % 2 == 0, "START", "STOP")
        wrong = np.flatnonzero(status != expected)
        if len(wrong) or len(grp) % 2:
            i = int(wrong[0]) if len(wrong) else len(grp) - 1
            row = grp.iloc[i]
            who = f" of {subj!r}" if subj else ""
            if row["status"] == "START" and len(wrong):  # a START where a STOP was due
                prev = grp.iloc[i - 1]
                problem = (f"{prev['where']}: START of {beh!r}{who} at {prev['time_s']:g} s "
                           f"has no STOP before the next START ({row['where']})")
            elif row["status"] == "START":
                problem = (f"{row['where']}: START of {beh!r}{who} at {row['time_s']:g} s has "
                           "no STOP after it")
            else:
                problem = (f"{row['where']}: STOP of {beh!r}{who} at {row['time_s']:g} s has "
                           "no START before it")
            raise InputError(source, problem, "every state event needs a START and a STOP")
        starts, stops = grp.iloc[0::2], grp.iloc[1::2]
        start_s = starts["time_s"].to_numpy(dtype=float)
        stop_s = stops["time_s"].to_numpy(dtype=float)
        fps = starts["fps"].to_numpy(dtype=float)

        def frames(part: pd.DataFrame, t: np.ndarray, fps: np.ndarray = fps) -> np.ndarray:
            idx = part["image_index"].to_numpy(dtype=float)
            return np.where(np.isfinite(idx), idx, np.rint(t * fps))

        rows.append(pd.DataFrame({
            "individual": subj,
            "behavior": beh,
            "start_frame": frames(starts, start_s),
            "stop_frame": frames(stops, stop_s),
            "start_s": start_s,
            "stop_s": stop_s,
            "duration_s": stop_s - start_s,
            "confidence": np.nan,
            "observation": obs,
        }))
    if not rows:
        out = pd.DataFrame(columns=BORIS_BOUT_COLUMNS)
    else:
        out = pd.concat(rows, ignore_index=True)[BORIS_BOUT_COLUMNS]
    for col in ("start_frame", "stop_frame"):
        vals = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        out[col] = (vals.astype(int) if len(vals) and np.isfinite(vals).all()
                    else pd.array([pd.NA if not np.isfinite(v) else int(v) for v in vals],
                                  dtype="Int64"))
    for col in ("start_s", "stop_s", "duration_s", "confidence"):
        out[col] = out[col].astype(float)
    out = out.sort_values(["observation", "individual", "start_s"], kind="stable")
    return out.reset_index(drop=True)


def _apply_maps(
    ev: pd.DataFrame,
    behavior_map: Mapping[str, str | None] | None,
    subject_map: Mapping[str, str] | None,
) -> pd.DataFrame:
    subj = ev["subject"].fillna("").astype(str).str.strip()
    subj = subj.where(~subj.str.lower().isin(_NO_SUBJECT), "")
    if subject_map:
        subj = subj.map(lambda s: str(subject_map.get(s, s)))
    ev["subject"] = subj
    beh = ev["behavior"].fillna("").astype(str).str.strip()
    if behavior_map:
        lower = {str(k).lower(): v for k, v in behavior_map.items()}

        def mapped(name: str) -> str | None:
            if name in behavior_map:
                return behavior_map[name]
            return lower.get(name.lower(), name)

        beh = beh.map(mapped)
    ev["behavior"] = beh
    ev = ev[ev["behavior"].notna()].copy()
    ev["behavior"] = ev["behavior"].astype(str).str.lower()
    return ev


# ---- tabular exports ---------------------------------------------------------------------
def _num(value: Any) -> float:
    try:
        return float(str(value).split(";")[0])
    except (TypeError, ValueError):
        return np.nan


def _read_tabular(path: Path, fps: float | None) -> pd.DataFrame:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "is not a text file", "export the observations as CSV") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" or (
        "\t" in text.splitlines()[0] if text else False) else ","
    lines = list(csv.reader(text.splitlines(), delimiter=delimiter))
    header_at = None
    for i, row in enumerate(lines):
        cells = [c.strip() for c in row]
        if "Behavior" in cells and "Time" in cells and (
                "Status" in cells or "Behavior type" in cells):
            header_at = i
            break
    if header_at is None:
        raise InputError(path, "is not a BORIS tabular export (no header row with Time, "
                         "Behavior and Status or Behavior type)",
                         "export events as 'Tabular events' from BORIS")
    meta_obs = next((r[1].strip() for r in lines[:header_at]
                     if len(r) > 1 and r[0].strip() == "Observation id"), None)
    header = [c.strip() for c in lines[header_at]]
    body = [r + [""] * (len(header) - len(r)) for r in lines[header_at + 1:]
            if any(c.strip() for c in r)]
    line_no = [i + 1 for i, r in enumerate(lines) if i > header_at and any(c.strip() for c in r)]
    df = pd.DataFrame([r[: len(header)] for r in body], columns=header)
    status_col = "Behavior type" if "Behavior type" in header else "Status"
    time = pd.to_numeric(df["Time"], errors="coerce")
    if time.isna().any():
        i = int(np.flatnonzero(time.isna().to_numpy())[0])
        raise InputError(path, f"line {line_no[i]}: Time {df['Time'].iloc[i]!r} is not a number")
    if "FPS" in df:
        file_fps = df["FPS"].map(_num).to_numpy(dtype=float).copy()
    else:
        file_fps = np.full(len(df), np.nan)
    if fps is not None:
        file_fps = np.full(len(df), float(fps))
    file_fps[~(file_fps > 0)] = np.nan
    image = (pd.to_numeric(df["Image index"], errors="coerce").to_numpy(dtype=float)
             if "Image index" in df else np.full(len(df), np.nan))
    if "Observation id" in df:
        obs = df["Observation id"].astype(str).str.strip()
    else:
        obs = pd.Series(meta_obs or path.stem, index=df.index)
    return pd.DataFrame({
        "observation": obs.to_numpy(),
        "subject": df["Subject"].to_numpy() if "Subject" in df else "",
        "behavior": df["Behavior"].to_numpy(),
        "status": df[status_col].astype(str).str.strip().str.upper().to_numpy(),
        "time_s": time.to_numpy(dtype=float),
        "fps": file_fps,
        "image_index": image,
        "where": [f"line {n}" for n in line_no],
    })


# ---- .boris projects ------------------------------------------------------------------------
def _read_project(path: Path, fps: float | None) -> pd.DataFrame:
    try:
        project = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(path, "is not a BORIS project (not valid JSON)",
                         "give a .boris file saved by BORIS") from None
    if not isinstance(project, dict) or "observations" not in project:
        raise InputError(path, "is not a BORIS project (no 'observations')")
    types = {}
    for conf in (project.get("behaviors_conf") or {}).values():
        types[str(conf.get("code"))] = str(conf.get("type", "State event"))
    rows = []
    for obs_id, obs in project["observations"].items():
        media_fps = list(((obs.get("media_info") or {}).get("fps") or {}).values())
        obs_fps = float(fps) if fps is not None else (float(media_fps[0]) if media_fps
                                                      else np.nan)
        state: dict[tuple[str, str], bool] = {}
        events = list(enumerate(obs.get("events", [])))
        for i, event in events:
            if not isinstance(event, list) or len(event) < 3:
                raise InputError(path, f"observation {obs_id!r} event {i}: expected "
                                 f"[time, subject, code, ...], got {event!r}")
        for i, event in sorted(events, key=lambda e: (_num(e[1][0]), e[0])):
            t, subject, code = _num(event[0]), str(event[1]), str(event[2])
            if not np.isfinite(t):
                raise InputError(path, f"observation {obs_id!r} event {i}: time {event[0]!r} "
                                 "is not a number")
            if "point" in types.get(code, "State event").lower():
                status = "POINT"
            else:
                key = (subject, code)
                status = "STOP" if state.get(key) else "START"
                state[key] = not state.get(key, False)
            frame = _num(event[5]) if len(event) > 5 else np.nan
            rows.append((str(obs_id), subject, code, status, t, obs_fps, frame,
                         f"observation {obs_id!r} event {i}"))
    return pd.DataFrame(rows, columns=["observation", "subject", "behavior", "status",
                                       "time_s", "fps", "image_index", "where"])


def load_boris(
    path: str | os.PathLike,
    behavior_map: Mapping[str, str | None] | None = None,
    subject_map: Mapping[str, str] | None = None,
    fps: float | None = None,
) -> pd.DataFrame:
    """Read BORIS annotations into a bouts table.

    Parameters
    ----------
    path
        A tabular-events export (``.csv``/``.tsv``, old or new header) or a ``.boris``
        project.
    behavior_map
        BORIS behaviour name (or code) -> behavtrack name, e.g.
        ``{"interact": "interaction", "wait": "waiting"}``; matched exactly, then ignoring
        case; ``None`` as a value drops the behaviour. Unmapped names are kept, lower-cased.
    subject_map
        BORIS subject -> individual, e.g. ``{"adult": "mouse1", "juvenile": "mouse2"}``.
    fps
        Frame rate, overriding the file's (used for frame numbers).

    Returns
    -------
    pandas.DataFrame
        :data:`BORIS_BOUT_COLUMNS` (``individual, behavior, start_frame, stop_frame, start_s,
        stop_s, duration_s, confidence, observation``), one row per START/STOP pair.

    Raises
    ------
    InputError
        A file that is not a BORIS export, a time that is not a number, or an unpaired
        START/STOP (naming its line).

    Examples
    --------
    >>> bouts = load_boris("export.csv", behavior_map={"interact": "interaction"},
    ...                    subject_map={"adult": "mouse1"})  # doctest: +SKIP

    """
    path = require_file(path, "BORIS file")
    if path.suffix.lower() == ".boris":
        events = _read_project(path, fps)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        events = _read_tabular(path, fps)
    else:
        raise InputError(path, f"is not a BORIS file BORIS readers know ({path.suffix})",
                         "give a tabular-events export (.csv/.tsv) or a .boris project")
    events = _apply_maps(events, behavior_map, subject_map)
    return pair_events(events, path)
