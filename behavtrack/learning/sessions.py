"""The per-session statistics: one session's trials and its row of ``sessions.csv``.

A :class:`SessionInput` holds what one session (a mouse session or an agent checkpoint)
contributes: its pokes (events), strategy bouts, coordination window and duration.
:func:`analyze_session` turns it into trials (:func:`behavtrack.task.trials_from_events`)
and one summary row (success rate, circular-shift chance, strategy use);
:func:`session_table` does so for a cohort, maps sessions to training progress (0..1) and
records what was odd about each session in a ``notes`` column. :func:`read_classified_session`
reads a classify output folder (``session.json``, ``events.csv``, ``bouts.csv``).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import progress as progress_bar
from behavtrack.io.classified import ClassifiedFolder
from behavtrack.io.events import EVENT_COLUMNS
from behavtrack.io.session import read_session_meta
from behavtrack.task.chance import circular_shift_chance
from behavtrack.task.trials import (
    STRATEGIES,
    TRIAL_COLUMNS,
    poke_times,
    trials_from_events,
    window_function,
)

__all__ = [
    "SESSION_COLUMNS",
    "SessionInput",
    "analyze_session",
    "assemble_tables",
    "session_duration",
    "session_seed",
    "session_table",
    "summary_row",
    "strategy_use",
    "read_classified_session",
    "bouts_origin",
]

#: Chance shifts are at least this many windows away from 0 (and from a full turn), so
#: that no shift re-creates the real alignment.
MIN_SHIFT_WINDOWS = 10.0

#: ``sessions.csv`` columns of FORMATS.md, verbatim and in order (extras follow them).
SESSION_COLUMNS: list[str] = [
    "source", "pair", "session", "progress", "n_pokes", "success_rate", "chance_rate",
    "chance_p", "median_abs_delta_s",
    *(f"{b}_{m}" for b in STRATEGIES for m in ("bouts_per_min", "frac_time", "mean_bout_s")),
]


@dataclass
class SessionInput:
    """What one session contributes to the statistics.

    Attributes
    ----------
    source
        ``"mice"`` or ``"agents"``.
    pair
        Pair (or agent run) identifier.
    session
        Session (day) index, or the agents' checkpoint.
    events
        Events table (pokes, optional ``window`` rows).
    bouts
        Bouts table, or ``None`` when there are none (strategy columns NaN).
    window_s
        The session's coordination window (seconds; steps for agents).
    duration_s
        Session length (seconds; steps for agents).
    progress
        Fraction of training (0..1) if known; otherwise derived by :func:`session_table`.
    subjects
        The two individuals (default: those that poke).
    name
        Where it came from (for notes and errors).
    poke_source
        ``log`` (the rig's log), ``pose`` (detected from pose) or ``env`` (agents).
    time_unit
        ``s`` or ``steps``: the unit of times, windows and "per minute" (60 units).
    extra
        Extra columns for the session's row (e.g. the agents' recorded counts).
    notes
        Remarks collected while reading it.

    """

    source: str
    pair: str
    session: float | int | str
    events: pd.DataFrame
    bouts: pd.DataFrame | None
    window_s: float | None
    duration_s: float | None
    progress: float | None = None
    subjects: Sequence[str] | None = None
    name: str = ""
    poke_source: str = "log"
    time_unit: str = "s"
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def session_seed(seed: int, *keys: Any) -> int:
    """Return a stable per-session seed from the global seed and the session's identity."""
    return int(np.random.SeedSequence(
        [int(seed), zlib.crc32("|".join(map(str, keys)).encode())]).generate_state(1)[0])


def strategy_use(
    bouts: pd.DataFrame | None, duration_s: float, individuals: Sequence[str]
) -> dict[str, float]:
    """Per strategy: bouts per minute, fraction of time and mean bout duration.

    Averaged over the pair's individuals (bouts per minute per animal, fraction of each
    animal's time), so mice and agents with two individuals compare directly.

    Parameters
    ----------
    bouts
        Bouts table (``individual, behavior, duration_s``) or ``None`` (all NaN).
    duration_s
        Session length.
    individuals
        The pair's individuals (bouts of others are ignored).

    Returns
    -------
    dict
        ``{"approach_bouts_per_min": ..., "approach_frac_time": ..., ...}``.

    """
    out: dict[str, float] = {}
    n_ind = max(len(individuals), 1)
    for b in STRATEGIES:
        if bouts is None or not duration_s or not np.isfinite(duration_s):
            vals = (np.nan, np.nan, np.nan)
        else:
            sel = bouts[(bouts["behavior"].astype(str) == b)
                        & bouts["individual"].astype(str).isin(list(individuals))]
            d = sel["duration_s"].to_numpy(dtype=float)
            vals = (len(d) / n_ind / (duration_s / 60.0), d.sum() / (n_ind * duration_s),
                    float(d.mean()) if len(d) else np.nan)
        for m, v in zip(("bouts_per_min", "frac_time", "mean_bout_s"), vals, strict=True):
            out[f"{b}_{m}"] = float(v)
    return out


def analyze_session(
    inp: SessionInput,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    lookback_s: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Trials and the ``sessions.csv`` row of one session.

    Parameters
    ----------
    inp
        The session.
    n_shifts
        Circular shifts for chance.
    seed
        Global seed; each session's shifts are seeded from it and the session's identity.
    lookback_s
        Strategy lookbacks (see :func:`behavtrack.task.strategies_before`).

    Returns
    -------
    trials : pandas.DataFrame
        The session's trials.
    row : dict
        Its row of ``sessions.csv`` (``progress`` as given, possibly ``None``).

    """
    notes = list(inp.notes)
    pokes = poke_times(inp.events, inp.name)
    subjects = list(inp.subjects) if inp.subjects else sorted(pokes)
    strangers = sorted(set(pokes) - set(subjects))
    if strangers:
        raise InputError(inp.name, f"pokes by {strangers} who are not the session's "
                         f"individuals {subjects}",
                         "make the events' subjects match session.json's individuals")
    trials = trials_from_events(
        inp.events, inp.window_s, bouts=inp.bouts, subjects=subjects or None,
        lookback_s=lookback_s, source=inp.source, pair=inp.pair, session=inp.session,
        name=inp.name,
    )
    a = pokes.get(subjects[0], np.empty(0)) if subjects else np.empty(0)
    b = pokes.get(subjects[1], np.empty(0)) if len(subjects) > 1 else np.empty(0)
    duration = session_duration(inp)
    chance_rate = chance_p = np.nan
    if len(trials):
        if len(a) == 0 or len(b) == 0:
            notes.append("only one individual poked: chance p-value undefined")
        t0 = float(min(0.0, np.min(trials["time_s"])))
        span = max(float(duration), float(np.max(trials["time_s"])) - t0 + 1e-6)
        res = circular_shift_chance(
            a, b, window_function(inp.events, inp.window_s), span, n_shifts=n_shifts,
            seed=session_seed(seed, inp.source, inp.pair, inp.session), start=t0,
            min_shift=min(MIN_SHIFT_WINDOWS * float(np.nanmax(trials["window_s"])), span / 4),
        )
        chance_rate, chance_p = res.chance_rate, res.p_value
    return trials, summary_row(inp, trials, chance_rate, chance_p, duration, notes)


def session_duration(inp: SessionInput) -> float:
    """Return the session's length: as given, else the last event or bout (noted in ``inp``)."""
    duration = inp.duration_s
    if duration is not None and np.isfinite(duration) and duration > 0:
        return float(duration)
    ends = [float(inp.events["time_s"].max()) if len(inp.events) else np.nan]
    if inp.bouts is not None and len(inp.bouts):
        ends.append(float(inp.bouts["stop_s"].max()))
    inp.notes.append("duration unknown: taken from the last event or bout")
    return float(np.nanmax(ends)) if np.isfinite(ends).any() else np.nan


def summary_row(
    inp: SessionInput,
    trials: pd.DataFrame,
    chance_rate: float,
    chance_p: float,
    duration: float,
    notes: Sequence[str],
) -> dict[str, Any]:
    """Return the ``sessions.csv`` row of a session from its trials and chance.

    Parameters
    ----------
    inp
        The session.
    trials
        Its trials (``success`` per poke).
    chance_rate, chance_p
        Its chance rate and p-value.
    duration
        Its length (seconds; steps for agents).
    notes
        Remarks to record (joined with ``; ``; ``inp.notes`` are added).

    Returns
    -------
    dict
        The row: :data:`SESSION_COLUMNS`, then ``window_s, duration_s, pokes_per_min,
        n_success, waited_frac, interacted_frac, approached_frac, poke_source, time_unit``,
        ``inp.extra``, ``path`` and ``notes``.

    """
    notes = list(dict.fromkeys([*inp.notes, *notes]))
    n = len(trials)
    row: dict[str, Any] = {
        "source": inp.source, "pair": inp.pair, "session": inp.session, "progress": inp.progress,
        "n_pokes": n,
    }
    if n == 0:
        notes.append("no pokes: rates are NaN")
        row.update(success_rate=np.nan, chance_rate=np.nan, chance_p=np.nan,
                   median_abs_delta_s=np.nan)
    else:
        delta = trials["delta_s"].to_numpy(dtype=float)
        row.update(success_rate=float(trials["success"].mean()), chance_rate=chance_rate,
                   chance_p=chance_p,
                   median_abs_delta_s=float(np.nanmedian(np.abs(delta)))
                   if np.isfinite(delta).any() else np.nan)
    subjects = sorted(set(trials["subject"].astype(str))) if n else []
    if inp.subjects:
        subjects = list(inp.subjects)
    if len(subjects) < 2 and inp.bouts is not None and len(inp.bouts):
        subjects = sorted(set(subjects) | set(inp.bouts["individual"].astype(str)))
    row.update(strategy_use(inp.bouts, duration, subjects))
    windows = pd.unique(trials["window_s"]) if n else np.array(
        [] if inp.window_s is None else [inp.window_s])
    if len(windows) > 1:
        notes.append("window changed within the session: "
                     + ", ".join(f"{w:g}" for w in sorted(windows)))
    row["window_s"] = float(windows[-1]) if len(windows) else np.nan
    row["duration_s"] = duration
    row["pokes_per_min"] = n / (duration / 60.0) if duration and np.isfinite(duration) else np.nan
    row["n_success"] = int(trials["success"].sum()) if n else 0
    for col in STRATEGIES.values():
        row[f"{col}_frac"] = float(trials[col].mean()) if n else np.nan
    ev_names = inp.events["event"].astype(str).str.lower() if len(inp.events) else pd.Series([])
    n_reward = int((ev_names == "reward").sum())
    if n_reward:  # the rig logged its rewards (one row per rewarded mouse): its own rate
        row["rewarded_rate"] = n_reward / n if n else np.nan
    row["poke_source"] = inp.poke_source
    row["time_unit"] = inp.time_unit
    row.update(inp.extra)
    row["path"] = inp.name
    row["notes"] = "; ".join(notes)
    return row


def _session_key(value: Any) -> float:
    """Numeric order of a session label (NaN if it is not a number)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _assign_progress(sessions: pd.DataFrame) -> pd.DataFrame:
    """Fill missing progress per pair: (session - first) / (last - first) of that pair."""
    sessions = sessions.copy()
    key = sessions["session"].map(_session_key)
    given = pd.to_numeric(sessions["progress"], errors="coerce")
    derived = pd.Series(np.nan, index=sessions.index)
    for (source, _), idx in sessions.groupby(["source", "pair"], sort=False).groups.items():
        k = key.loc[idx]
        if k.isna().any():  # non-numeric labels: use their rank in file order
            k = pd.Series(np.arange(len(idx), dtype=float), index=idx)
        lo, hi = k.min(), k.max()
        derived.loc[idx] = (k - lo) / (hi - lo) if hi > lo else 0.0
        days = np.sort(k.to_numpy())
        # daily sessions should be consecutive; agents' checkpoints are sparse by design
        gaps = np.setdiff1d(np.arange(days[0], days[-1] + 1), days) if (
            source != "agents" and np.all(days == np.round(days)) and len(days) > 1
        ) else np.empty(0)
        if len(gaps):
            miss = ", ".join(f"{g:g}" for g in gaps)
            sessions.loc[idx, "notes"] = sessions.loc[idx, "notes"].map(
                lambda s, m=miss: "; ".join(x for x in (s, f"pair misses session(s) {m}") if x))
    sessions["progress"] = given.where(given.notna(), derived).astype(float)
    return sessions


def session_table(
    inputs: Iterable[SessionInput],
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    lookback_s: Mapping[str, float] | None = None,
    total: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trials and sessions tables of a cohort.

    Parameters
    ----------
    inputs
        Sessions (any order).
    n_shifts, seed, lookback_s
        See :func:`analyze_session`.
    total
        Number of inputs, for the progress bar.

    Returns
    -------
    trials : pandas.DataFrame
        ``trials.csv``: :data:`behavtrack.task.TRIAL_COLUMNS` (+ ``progress``).
    sessions : pandas.DataFrame
        ``sessions.csv``: :data:`SESSION_COLUMNS` then extras, sorted by source, pair and
        session; ``progress`` filled per pair when not given.

    """
    results = [
        analyze_session(inp, n_shifts=n_shifts, seed=seed, lookback_s=lookback_s)
        for inp in progress_bar(inputs, total=total, desc="sessions", unit="session")
    ]
    return assemble_tables(results)


def assemble_tables(
    results: Sequence[tuple[pd.DataFrame, dict[str, Any]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join per-session ``(trials, row)`` results into the trials and sessions tables.

    Fills missing progress per pair (``(session - first) / (last - first)``, noting
    missing days), sorts by source, pair and session, and puts :data:`SESSION_COLUMNS`
    first.
    """
    trials_list = [t for t, _ in results]
    rows = [r for _, r in results]
    if not rows:
        return pd.DataFrame(columns=[*TRIAL_COLUMNS, "progress"]), pd.DataFrame(
            columns=SESSION_COLUMNS)
    sessions = pd.DataFrame(rows)
    sessions["pair"] = sessions["pair"].astype(str)
    sessions = _assign_progress(sessions)
    sessions["_k"] = sessions["session"].map(_session_key)
    sessions = sessions.sort_values(["source", "pair", "_k"], kind="stable").drop(columns="_k")
    extras = [c for c in sessions.columns if c not in SESSION_COLUMNS]
    sessions = sessions[SESSION_COLUMNS + extras].reset_index(drop=True)
    nonempty = [t for t in trials_list if len(t)]
    trials = (pd.concat(nonempty, ignore_index=True) if nonempty
              else pd.DataFrame(columns=TRIAL_COLUMNS))
    trials["pair"] = trials["pair"].astype(str)
    prog = sessions.set_index(["source", "pair", sessions["session"].astype(str)])["progress"]
    keys = pd.MultiIndex.from_arrays(
        [trials["source"], trials["pair"], trials["session"].astype(str)])
    trials["progress"] = prog.reindex(keys).to_numpy() if len(trials) else []
    return trials, sessions


# --------------------------------------------------------------------------------------
# classify output folders


def read_classified_session(folder: str | os.PathLike) -> SessionInput:
    """Read one classify output folder into a :class:`SessionInput`.

    Parameters
    ----------
    folder
        A folder holding ``session.json`` and ``events.csv`` (``bouts.csv`` optional:
        without it the strategy columns are NaN and a note says so).

    Returns
    -------
    SessionInput

    """
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() == ".nwb":
        return read_nwb_session(folder)
    classified = ClassifiedFolder(folder)
    meta_path = classified.meta_path
    if not meta_path.is_file():
        raise InputError(folder, "has no session.json", "give classify output folders")
    meta = classified.meta
    notes: list[str] = []
    if not classified.events_path.is_file():
        raise InputError(folder, "has no events.csv", "classify the session with its event log")
    events = classified.events()  # at session.json's fps
    fps = meta.get("fps")
    fps = float(fps) if isinstance(fps, int | float) and fps > 0 else None
    simulated = str(meta.get("source", "")) == "simulated"
    bouts = classified.bouts(missing_ok=True)
    if bouts is not None:
        bouts_source = bouts_origin(folder, meta)
        if bouts_source == "truth":
            notes.append("not classified: strategy columns use the simulator's truth bouts "
                         "(bouts.csv of the simulated session)")
    else:
        bouts, bouts_source = None, "none"
        notes.append("no bouts.csv: strategy columns are NaN")
    duration = meta.get("duration_s")
    if duration is None and meta.get("n_frames") and fps:
        duration = float(meta["n_frames"]) / fps
    window = meta.get("window_s")
    if window is not None:
        try:
            window = float(window)
        except (TypeError, ValueError):
            raise InputError(meta_path, f"window_s {window!r} is not a number") from None
    subjects = meta.get("individuals") or meta.get("subjects")
    if "pair" not in meta or "session" not in meta:
        raise InputError(meta_path, "has no 'pair' or 'session'",
                         "add the pair name and the session (day) index")
    prog = meta.get("progress")
    return SessionInput(
        source="mice", pair=str(meta["pair"]), session=meta["session"], events=events,
        bouts=bouts, window_s=window, duration_s=None if duration is None else float(duration),
        progress=None if prog is None else float(prog),
        subjects=list(subjects) if isinstance(subjects, list) and len(subjects) == 2 else None,
        name=str(folder), poke_source=str(meta.get("poke_source", "log")), notes=notes,
        extra={"data": "simulated" if simulated else "recorded", "bouts_source": bouts_source},
    )


def read_nwb_session(path: str | os.PathLike) -> SessionInput:
    """Read one session of a behavtrack NWB export (``behavtrack export-nwb``).

    The same :class:`SessionInput` as :func:`read_classified_session` gives for the folder it
    was exported from.
    """
    from behavtrack.io.nwb import load_nwb_session

    s = load_nwb_session(path)
    m = s.meta
    if "pair" not in m or "session" not in m:
        raise InputError(path, "has no 'pair' or 'session' in its behavtrack metadata",
                         "export it from a session folder whose session.json names them")
    inds = m.get("individuals") or []
    notes = [] if s.bouts is not None else ["no bouts in the NWB file: strategy columns are NaN"]
    return SessionInput(
        source="mice", pair=str(m["pair"]), session=m["session"],
        events=s.events if s.events is not None else pd.DataFrame(columns=EVENT_COLUMNS),
        bouts=s.bouts, window_s=m.get("window_s"),
        duration_s=None if m.get("duration_s") is None else float(m["duration_s"]),
        progress=None if m.get("progress") is None else float(m["progress"]),
        subjects=list(inds) if len(inds) == 2 else None, name=str(path),
        poke_source=str(m.get("poke_source", "log")), notes=notes,
        extra={"data": "simulated" if str(m.get("source", "")) == "simulated" else "recorded",
               "bouts_source": str(m.get("bouts_source", "given"))})


def bouts_origin(folder: str | os.PathLike, meta: Mapping[str, Any] | None = None) -> str:
    """Say where a session folder's ``bouts.csv`` comes from.

    Returns
    -------
    str
        ``"classified"`` (a classify output: it has ``provenance.json``), ``"truth"`` (a
        simulated session folder, never classified: the simulator's true bouts),
        ``"review"`` (corrected in the napari review) or ``"given"`` (any other).

    """
    folder = Path(folder)
    if meta is None:
        meta = read_session_meta(folder, missing_ok=True)
    if ClassifiedFolder(folder).is_classified:
        return "classified"
    if meta.get("labels_source") == "review":
        return "review"
    if str(meta.get("source", "")) == "simulated":
        return "truth"
    return "given"
