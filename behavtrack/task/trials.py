"""Trials of the cooperation task: each poke paired with the partner's nearest poke.

A *trial* is one poke of one individual. Its partner's nearest poke (before or after it)
gives ``delta_s = partner_time_s - time_s``; the poke is a success when ``|delta_s|`` is
within the coordination window in force at the poke's time (the session's ``window_s``,
replaced from their time on by ``window`` rows of the event log). The trial also records the
subject's inter-poke interval and which strategies came before the poke (from a bouts table):
``waited`` / ``interacted`` / ``approached`` as 0/1 and their latencies (seconds from the end
of the strategy's latest bout to the poke; 0 when the bout is still going on at the poke).

Everything is vectorized over pokes with :func:`numpy.searchsorted`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.io.bouts import runs

__all__ = [
    "STRATEGIES",
    "STRATEGY_COLUMNS",
    "DEFAULT_LOOKBACK_S",
    "TRIAL_COLUMNS",
    "poke_times",
    "window_at",
    "window_function",
    "nearest_partner",
    "strategies_before",
    "trials_from_events",
]

#: Strategy behaviours and the trial column naming each one (``waited`` for ``waiting``, ...).
STRATEGIES: dict[str, str] = {
    "waiting": "waited", "interaction": "interacted", "approach": "approached",
}

#: The strategy columns of ``trials.csv``: flags, then latencies.
STRATEGY_COLUMNS: list[str] = [
    *STRATEGIES.values(), *(f"{c}_latency_s" for c in STRATEGIES.values()),
]

#: How long before a poke a strategy bout may have ended and still count as "before it"
#: (seconds; steps for agents). Waiting must lead into the poke; interaction and approach
#: count within a few seconds.
DEFAULT_LOOKBACK_S: dict[str, float] = {"waiting": 1.0, "interaction": 5.0, "approach": 5.0}

#: Columns of ``trials.csv`` (FORMATS.md verbatim first, then extras).
TRIAL_COLUMNS: list[str] = [
    "source", "pair", "session", "subject", "time_s", "partner_time_s", "delta_s", "window_s",
    "success", *STRATEGY_COLUMNS, "inter_poke_interval_s", "partner",
]


def poke_times(events: pd.DataFrame, source: str = "<events>") -> dict[str, np.ndarray]:
    """Return each subject's sorted poke times from an events table.

    Parameters
    ----------
    events
        Events table (``time_s, subject, event, ...``).
    source
        Name of the file for error messages.

    Returns
    -------
    dict
        ``subject -> sorted float array`` of the times of its ``poke`` rows.

    """
    for col in ("time_s", "subject", "event"):
        if col not in events:
            raise InputError(source, f"events have no {col!r} column",
                             "expected columns time_s, subject, event")
    pokes = events[events["event"].astype(str).str.lower() == "poke"]
    times = pd.to_numeric(pokes["time_s"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(times).any():
        raise InputError(source, "a poke has no valid time_s", "fill time_s for every poke row")
    subj = pokes["subject"].astype(str).to_numpy()
    return {s: np.sort(times[subj == s]) for s in pd.unique(subj) if s not in ("", "nan")}


def window_function(
    events: pd.DataFrame | None, default: float | None
) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function giving the coordination window in force at any times.

    ``window`` rows of the event log (``value`` = window in seconds) replace ``default``
    from their own time on; before any of them (or without them) the window is
    ``default`` (NaN when ``None``). The rows are read once, so the function is cheap to
    call many times (e.g. for every circular shift).
    """
    base = np.nan if default is None else float(default)
    t = v = np.empty(0)
    if events is not None and len(events) and "event" in events and "value" in events:
        rows = events[events["event"].astype(str).str.lower() == "window"]
        t = pd.to_numeric(rows["time_s"], errors="coerce").to_numpy(dtype=float)
        v = pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(t) & np.isfinite(v)
        order = np.argsort(t[ok], kind="stable")
        t, v = t[ok][order], v[ok][order]
    if len(t) == 0 or (np.all(v == v[0]) and (default is None or v[0] == base)):
        # one window all session long (a single setting logged at the start, or none)
        const = base if len(t) == 0 else float(v[0])

        def fixed(times: np.ndarray) -> np.ndarray:
            return np.full(np.shape(times), const)

        fixed.constant = const  # lets the chance code take its fast path
        return fixed
    values = np.r_[base, v]

    def at(times: np.ndarray) -> np.ndarray:
        return values[np.searchsorted(t, np.asarray(times, dtype=float), side="right")]

    return at


def window_at(
    times: np.ndarray,
    events: pd.DataFrame | None,
    default: float | None,
) -> np.ndarray:
    """Return the coordination window in force at each time (see :func:`window_function`).

    Parameters
    ----------
    times
        Times (any shape).
    events
        Events table, or ``None``.
    default
        The session's window before any ``window`` row (``None``: unknown, NaN).

    Returns
    -------
    numpy.ndarray
        Windows, same shape as ``times``.

    """
    return window_function(events, default)(times)


def nearest_partner(times: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """Return, for each time, the nearest of the sorted ``partner`` times (NaN if none).

    Ties between an earlier and a later partner poke go to the earlier one.
    """
    times = np.asarray(times, dtype=float)
    partner = np.asarray(partner, dtype=float)
    if len(partner) == 0:
        return np.full(times.shape, np.nan)
    idx = np.searchsorted(partner, times)
    left = partner[np.clip(idx - 1, 0, len(partner) - 1)]
    right = partner[np.clip(idx, 0, len(partner) - 1)]
    return np.where(np.abs(times - left) <= np.abs(right - times), left, right)


def strategies_before(
    times: np.ndarray,
    bouts: pd.DataFrame | None,
    subject: str,
    lookback_s: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Which strategies one subject used before each of its pokes, and their latencies.

    A strategy counts for a poke when a bout of it started at or before the poke and ended
    no more than ``lookback_s[strategy]`` before it. Its latency is the time from that
    bout's end to the poke (0 while the bout is still going on at the poke).

    Parameters
    ----------
    times
        The subject's poke times.
    bouts
        Bouts table (``individual, behavior, start_s, stop_s``), or ``None`` (all NaN).
    subject
        The subject's name (``individual`` in the bouts).
    lookback_s
        Per strategy, the longest gap between bout end and poke; defaults to
        :data:`DEFAULT_LOOKBACK_S`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STRATEGY_COLUMNS`, one row per poke. Flags are NaN (not 0) when
        there is no bouts table at all.

    """
    return _strategies_from_index(times, _bout_index(bouts), subject, lookback_s)


def _bout_index(bouts: pd.DataFrame | None) -> dict[tuple[str, str], tuple[np.ndarray, ...]] | None:
    """Each (individual, behaviour)'s bout starts (sorted) and running-maximum stops."""
    if bouts is None:
        return None
    ind = bouts["individual"].astype(str).to_numpy()
    beh = bouts["behavior"].astype(str).to_numpy()
    start = bouts["start_s"].to_numpy(dtype=float)
    stop = bouts["stop_s"].to_numpy(dtype=float)
    order = np.lexsort((start, beh, ind))
    ind, beh, start, stop = ind[order], beh[order], start[order], stop[order]
    index = {}
    if len(ind) == 0:
        return index
    starts, lengths, _ = runs(np.column_stack([ind.astype(object), beh.astype(object)]))
    for lo, hi in zip(starts, starts + lengths, strict=True):
        # bouts of one behaviour of one individual do not overlap: the latest start has the
        # latest stop, but keep a running maximum in case a table breaks that rule
        index[(ind[lo], beh[lo])] = (start[lo:hi], np.maximum.accumulate(stop[lo:hi]))
    return index


def _strategies_from_index(
    times: np.ndarray,
    index: dict[tuple[str, str], tuple[np.ndarray, ...]] | None,
    subject: str,
    lookback_s: Mapping[str, float] | None,
) -> pd.DataFrame:
    look = {**DEFAULT_LOOKBACK_S, **(lookback_s or {})}
    times = np.asarray(times, dtype=float)
    out: dict[str, np.ndarray] = {}
    empty = (np.empty(0), np.empty(0))
    for behavior, col in STRATEGIES.items():
        if index is None:
            out[col] = np.full(len(times), np.nan)
            out[f"{col}_latency_s"] = np.full(len(times), np.nan)
            continue
        starts, stops = index.get((subject, behavior), empty)
        idx = np.searchsorted(starts, times, side="right") - 1
        has = idx >= 0
        last_stop = np.where(has, stops[np.clip(idx, 0, None)] if len(stops) else np.nan, np.nan)
        latency = np.maximum(times - last_stop, 0.0)
        flag = has & (latency <= look[behavior])
        out[col] = flag.astype(float)
        out[f"{col}_latency_s"] = np.where(flag, latency, np.nan)
    return pd.DataFrame(out, columns=STRATEGY_COLUMNS)


def trials_from_events(
    events: pd.DataFrame,
    window_s: float | None,
    *,
    bouts: pd.DataFrame | None = None,
    subjects: Sequence[str] | None = None,
    lookback_s: Mapping[str, float] | None = None,
    source: str = "mice",
    pair: str | int = "",
    session: str | int | float = "",
    name: str = "<events>",
) -> pd.DataFrame:
    """Build the trials table of one session: one row per poke.

    Parameters
    ----------
    events
        The session's events (``time_s, subject, event``, optional ``value`` for ``window``
        rows).
    window_s
        The session's coordination window (seconds), replaced from their time on by
        ``window`` rows of the log. ``None`` is allowed only if the log starts with one.
    bouts
        The session's bouts (internal table of :mod:`behavtrack.io.bouts`), for the strategy
        columns; ``None`` leaves them NaN.
    subjects
        The two individuals (default: the subjects that poke, sorted; a session where only
        one animal poked needs them given to name the partner).
    lookback_s
        See :func:`strategies_before`.
    source, pair, session
        Identification columns copied into every row.
    name
        File name for error messages.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRIAL_COLUMNS`, sorted by time. ``success`` is 0/1 (0 when the partner
        never poked); ``partner_time_s``/``delta_s`` are NaN then.

    Examples
    --------
    >>> ev = pd.DataFrame({"time_s": [1.0, 1.5, 9.0], "subject": ["m1", "m2", "m1"],
    ...                    "event": "poke"})
    >>> trials_from_events(ev, 0.75)["success"].tolist()
    [1, 1, 0]

    """
    pokes = poke_times(events, name)
    if subjects is None:
        subjects = sorted(pokes)
    subjects = [str(s) for s in subjects]
    if len(subjects) > 2:
        raise InputError(name, f"pokes by {len(subjects)} subjects {subjects}, expected a pair",
                         "give the two subjects of the pair")
    if len(subjects) == 1:
        subjects = [subjects[0], ""]
    frames = []
    window = window_function(events, window_s)
    index = _bout_index(bouts)
    for k, subj in enumerate(subjects):
        if subj == "":
            continue
        partner = subjects[1 - k] if len(subjects) == 2 else ""
        t = pokes.get(subj, np.empty(0))
        if len(t) == 0:
            continue
        p = nearest_partner(t, pokes.get(partner, np.empty(0)))
        win = window(t)
        if np.isnan(win).any():
            raise InputError(name, "the coordination window is unknown for some pokes",
                             "give window_s in session.json or a 'window' event before them")
        delta = p - t
        success = (np.abs(delta) <= win + 1e-9).astype(int)  # NaN delta compares False
        ipi = np.diff(t, prepend=np.nan)
        strat = _strategies_from_index(t, index, subj, lookback_s)
        frame = pd.DataFrame({
            "source": source, "pair": pair, "session": session, "subject": subj,
            "time_s": t, "partner_time_s": p, "delta_s": delta, "window_s": win,
            "success": success,
        })
        frame = pd.concat([frame, strat], axis=1)
        frame["inter_poke_interval_s"] = ipi
        frame["partner"] = partner
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=TRIAL_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["time_s", "subject"], kind="stable").reset_index(drop=True)[
        TRIAL_COLUMNS]
