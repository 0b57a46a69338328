"""The agents' side: trials, strategies and chance of grid-world rollouts, like the mice's.

The mice's definitions translated to the 8 x 8 grid of MARL_Environment_Poke (one step is
one time unit; "per minute" means per 60 steps):

- **interaction**: both agents in their column next to the midline (columns 3 and 4)
  within one row of each other;
- **waiting**: an agent stays (same cell as on the step before) on a cell next to its own
  poke cell (4-neighbourhood), i.e. it holds position before stepping in;
- **approach**: an agent is in its own column next to the midline (and neither of the above).

Priority when several hold: interaction, waiting, approach, other. Bouts never cross
episodes. Trials pair each poke with the partner's nearest poke *within the same episode*;
``success`` is the environment's own rule, replayed exactly from the pokes
(:func:`replay_sync`): both agents poked within ``sync_limit`` + 1 steps (the step itself
and the 2 before it), each poke counting for one synchronized pair, and an unmatched poke
leaving the window resets both agents' histories (a miss). The replay reproduces the
rollouts' recorded ``correct`` and ``miss`` flags; both are reported.

Chance is the same rule replayed after circularly shifting agent2's poke train within each
episode (``n_shifts`` seeded integer shifts per episode, all shifts at once as a
``(n_shifts, steps)`` array): the chance rate is the mean fraction of pokes that end in a
synchronized pair, the p-value ``(1 + #{chance >= real}) / (1 + n_shifts)``.
Checkpoints map to progress = checkpoint / the run's largest checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.io.bouts import BOUT_COLUMNS
from behavtrack.learning.sessions import SessionInput, session_seed, summary_row
from behavtrack.task.trials import TRIAL_COLUMNS, trials_from_events

__all__ = [
    "SYNC_LIMIT",
    "grid_labels",
    "grid_bouts",
    "replay_sync",
    "analyze_rollout",
    "agent_session_results",
    "find_rollout_files",
]

#: The environment's ``sync_limit``: pokes at most this many steps apart are synchronized.
SYNC_LIMIT = 2


def _xy(rollout: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agent cells ``(T, 2 agents)`` x and y, and the poke cells ``(T, 2 [x, y], 2 agents)``."""
    pos = rollout.pose["position"].sel(keypoint="centroid")
    x = pos.sel(space="x").transpose("time", "individual").to_numpy()
    y = pos.sel(space="y").transpose("time", "individual").to_numpy()
    poke = rollout.pose["poke_cell"].transpose("time", "space", "individual").to_numpy()
    return x, y, poke


def grid_labels(rollout: Any) -> np.ndarray:
    """Per-step behaviour of each agent on the grid (see the module's definitions).

    Parameters
    ----------
    rollout
        A :class:`behavtrack.io.agents.Rollout`.

    Returns
    -------
    numpy.ndarray
        ``(T, 2)`` array of behaviour names (``agent1``, ``agent2`` columns).

    """
    x, y, poke = _xy(rollout)
    arena = rollout.arena
    mid = float(np.mean(arena.partition[:, 0])) if arena.partition is not None else 3.5
    own_mid = np.array([np.floor(mid), np.ceil(mid)])  # columns next to the midline
    episode = rollout.pose["episode"].to_numpy()
    first = np.r_[True, episode[1:] != episode[:-1]]
    at_mid = x == own_mid[None, :]
    interaction = at_mid[:, 0] & at_mid[:, 1] & (np.abs(y[:, 0] - y[:, 1]) <= 1)
    stayed = np.zeros_like(at_mid)
    stayed[1:] = (x[1:] == x[:-1]) & (y[1:] == y[:-1])
    stayed[first] = False
    adjacent = (np.abs(x - poke[:, 0, :]) + np.abs(y - poke[:, 1, :])) == 1
    waiting = adjacent & stayed
    labels = np.full(x.shape, "other", dtype=object)
    labels[at_mid] = "approach"
    labels[waiting] = "waiting"
    labels[interaction, :] = "interaction"
    return labels


def grid_bouts(rollout: Any, labels: np.ndarray | None = None) -> pd.DataFrame:
    """Bouts table (times in steps) of the grid behaviours; bouts end at episode ends."""
    labels = grid_labels(rollout) if labels is None else labels
    episode = rollout.pose["episode"].to_numpy()
    n = len(episode)
    frames = []
    for j, agent in enumerate(rollout.pose["individual"].to_numpy()):
        lab = labels[:, j].astype(str)
        change = np.flatnonzero((lab[1:] != lab[:-1]) | (episode[1:] != episode[:-1])) + 1
        starts = np.r_[0, change]
        stops = np.r_[change, n]
        frames.append(pd.DataFrame({
            "individual": str(agent), "behavior": lab[starts], "start_frame": starts,
            "stop_frame": stops, "start_s": starts.astype(float), "stop_s": stops.astype(float),
            "duration_s": (stops - starts).astype(float), "confidence": np.nan,
        }, columns=BOUT_COLUMNS))
    bouts = pd.concat(frames, ignore_index=True)
    return bouts[bouts["behavior"] != "other"].reset_index(drop=True)


def replay_sync(
    pokes1: np.ndarray,
    pokes2: np.ndarray,
    episode_start: np.ndarray,
    sync_limit: int = SYNC_LIMIT,
    return_flags: bool = False,
) -> dict[str, np.ndarray]:
    """Replay the environment's synchronized-poke rule on poke trains, for many trains at once.

    Mirrors ``MultiAgentSync_fullobs.step``: with each agent's pokes of the last
    ``sync_limit`` steps and the current step, both agents having poked makes a synchronized
    poke (histories reset); otherwise a poke ``sync_limit`` steps old makes a miss (histories
    reset); otherwise the current pokes enter the histories. Histories reset at each episode
    start. The loop runs over the steps of an episode; every operation is vectorized over the
    trains and the episodes (episodes of unequal length are padded, padding never counts).

    Parameters
    ----------
    pokes1, pokes2
        ``(T,)`` or ``(S, T)`` boolean poke flags per step of each agent (broadcast).
    episode_start
        ``(T,)`` True on each episode's first step.
    sync_limit
        The environment's ``sync_limit``.
    return_flags
        Also return, per train, the steps of synchronized pokes and misses and which pokes
        took part in a synchronized pair.

    Returns
    -------
    dict
        ``n_sync``, ``n_miss``, ``n_success_pokes`` (``(S,)``); with ``return_flags``:
        ``sync``, ``miss`` (``(S, T)``), ``success1``, ``success2`` (``(S, T)``: the poke of
        that step took part in a synchronized pair).

    """
    p1 = np.atleast_2d(np.asarray(pokes1, dtype=bool))
    p2 = np.atleast_2d(np.asarray(pokes2, dtype=bool))
    p1, p2 = np.broadcast_arrays(p1, p2)
    n_s, n_t = p1.shape
    lim = int(sync_limit)
    # lay the steps out as (episode, step in episode): the loop runs over steps within an
    # episode, with every operation vectorized over the trains and the episodes
    start = np.asarray(episode_start, dtype=bool).copy()
    start[0] = True
    ep = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    pos = np.arange(n_t) - first[ep]
    n_e, n_l = len(first), int(pos.max()) + 1
    valid = np.zeros((n_e, n_l), dtype=bool)
    valid[ep, pos] = True
    q1 = np.zeros((n_s, n_e, n_l), dtype=bool)
    q2 = np.zeros((n_s, n_e, n_l), dtype=bool)
    q1[:, ep, pos] = p1
    q2[:, ep, pos] = p2
    # histories: one (trains, episodes) array per lag, oldest first
    h1 = [np.zeros((n_s, n_e), dtype=bool) for _ in range(lim)]
    h2 = [np.zeros((n_s, n_e), dtype=bool) for _ in range(lim)]
    n_sync = np.zeros((n_s, n_e), dtype=int)
    n_miss = np.zeros((n_s, n_e), dtype=int)
    n_ok = np.zeros((n_s, n_e), dtype=int)
    if return_flags:
        sync_f = np.zeros((n_s, n_e, n_l), dtype=bool)
        miss_f = np.zeros((n_s, n_e, n_l), dtype=bool)
        ok1 = np.zeros((n_s, n_e, n_l), dtype=bool)
        ok2 = np.zeros((n_s, n_e, n_l), dtype=bool)
    none = np.zeros((n_s, n_e), dtype=bool)
    for t in range(n_l):
        a1, a2, v = q1[:, :, t], q2[:, :, t], valid[None, :, t]
        any1, any2, count = a1.copy(), a2.copy(), a1.astype(int) + a2
        for k in range(lim):
            any1 |= h1[k]
            any2 |= h2[k]
            count += h1[k]
            count += h2[k]
        sync = any1 & any2 & v
        miss = (~sync & (h1[0] | h2[0]) & v) if lim > 0 else none
        n_sync += sync
        n_miss += miss
        n_ok += sync * count
        if return_flags:
            sync_f[:, :, t], miss_f[:, :, t] = sync, miss
            ok1[:, :, t], ok2[:, :, t] = sync & a1, sync & a2
            for k in range(lim):
                past = t - lim + k
                if past >= 0:
                    ok1[:, :, past] |= sync & h1[k]
                    ok2[:, :, past] |= sync & h2[k]
        if lim > 0:
            keep = ~(sync | miss)
            h1 = [*h1[1:], a1 & keep]
            h2 = [*h2[1:], a2 & keep]
            if lim > 1:
                h1[:-1] = [h & keep for h in h1[:-1]]
                h2[:-1] = [h & keep for h in h2[:-1]]
    n_sync, n_miss, n_ok = n_sync.sum(axis=1), n_miss.sum(axis=1), n_ok.sum(axis=1)
    out = {"n_sync": n_sync, "n_miss": n_miss, "n_success_pokes": n_ok}
    if return_flags:
        out.update(sync=sync_f[:, ep, pos], miss=miss_f[:, ep, pos],
                   success1=ok1[:, ep, pos], success2=ok2[:, ep, pos])
    return out


def _shifted_trains(
    pokes: np.ndarray, episode: np.ndarray, n_shifts: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_shifts, T)`` poke flags circularly shifted within each episode by random steps."""
    n_t = len(pokes)
    out = np.zeros((n_shifts, n_t), dtype=bool)
    rows = np.arange(n_shifts)[:, None]
    for ep in np.unique(episode):
        idx = np.flatnonzero(episode == ep)
        lo, length = idx[0], len(idx)
        hits = np.flatnonzero(pokes[idx])
        if length < 2 or len(hits) == 0:
            continue
        shift = rng.integers(1, length, size=n_shifts)
        out[rows, lo + (hits[None, :] + shift[:, None]) % length] = True
    return out


def analyze_rollout(
    rollout: Any,
    *,
    progress: float | None = None,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = SYNC_LIMIT,
    lookback_s: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Trials and the ``sessions.csv`` row of one rollout (one checkpoint of one run).

    Parameters
    ----------
    rollout
        A :class:`behavtrack.io.agents.Rollout`.
    progress
        Its training progress (0..1), e.g. checkpoint / largest checkpoint.
    n_shifts
        Circular shifts for chance.
    seed
        Global seed (each rollout's shifts are seeded from it, the run and the checkpoint).
    sync_limit
        The environment's ``sync_limit`` (steps).
    lookback_s
        Strategy lookbacks in steps (see :func:`behavtrack.task.strategies_before`).

    Returns
    -------
    trials : pandas.DataFrame
        ``trials.csv`` rows (``time_s`` = global step index; ``success`` by the environment's
        rule; extra ``episode``, ``success_nearest``: partner's nearest poke within
        ``sync_limit`` steps).
    row : dict
        Its ``sessions.csv`` row; extras ``checkpoint, n_correct, n_miss`` (recorded flags),
        ``n_correct_replayed, n_miss_replayed``, ``n_pokes_agent1/2``, ``n_drinks_agent1/2``.

    """
    ev = rollout.events
    episode = rollout.pose["episode"].to_numpy()
    n_t = len(episode)
    agents = [str(a) for a in rollout.pose["individual"].to_numpy()]
    start = np.r_[True, episode[1:] != episode[:-1]]
    labels = grid_labels(rollout)
    bouts = grid_bouts(rollout, labels)
    inp = SessionInput(
        source="agents", pair=str(rollout.run), session=int(rollout.checkpoint), events=ev,
        bouts=bouts, window_s=float(sync_limit), duration_s=float(n_t), progress=progress,
        subjects=agents, name=str(rollout.source), poke_source="env", time_unit="steps",
    )
    pokes = ev[ev["event"] == "poke"]
    flags = np.zeros((2, n_t), dtype=bool)
    for j, agent in enumerate(agents):
        flags[j, pokes.loc[pokes["subject"] == agent, "frame"].to_numpy(dtype=int)] = True
    real = replay_sync(flags[0], flags[1], start, sync_limit, return_flags=True)
    # trials within each episode (no pairing across an episode boundary)
    parts = []
    ev_ep = ev["episode"].to_numpy() if "episode" in ev else episode[ev["frame"].to_numpy(int)]
    for e in np.unique(episode):
        t = trials_from_events(ev[ev_ep == e], float(sync_limit), bouts=bouts, subjects=agents,
                               lookback_s=lookback_s, source="agents", pair=inp.pair,
                               session=inp.session, name=inp.name)
        t["episode"] = int(e)
        parts.append(t)
    trials = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=[*TRIAL_COLUMNS, "episode"])
    if len(trials):
        step = trials["time_s"].to_numpy(dtype=int)
        ok = np.where(trials["subject"].to_numpy() == agents[0], real["success1"][0, step],
                      real["success2"][0, step])
        trials["success_nearest"] = trials["success"].astype(int)
        trials["success"] = ok.astype(int)
        trials = trials.sort_values(["time_s", "subject"], kind="stable").reset_index(drop=True)
    chance_rate = chance_p = np.nan
    n_pokes = int(flags.sum())
    if n_pokes:
        rng = np.random.default_rng(session_seed(seed, "agents", inp.pair, inp.session))
        shifted = _shifted_trains(flags[1], episode, n_shifts, rng)
        sim = replay_sync(flags[0][None, :], shifted, start, sync_limit)
        rates = sim["n_success_pokes"] / n_pokes
        real_rate = real["n_success_pokes"][0] / n_pokes
        chance_rate = float(rates.mean())
        if flags[0].any() and flags[1].any():
            chance_p = float((1 + np.count_nonzero(rates >= real_rate - 1e-12))
                             / (1 + n_shifts))
    recorded = {name: int((ev["event"] == name).sum()) for name in ("correct", "miss")}
    inp.extra = {
        "checkpoint": int(rollout.checkpoint),
        "n_correct": recorded["correct"], "n_miss": recorded["miss"],
        "n_correct_replayed": int(real["n_sync"][0]), "n_miss_replayed": int(real["n_miss"][0]),
        **{f"n_pokes_{a}": int(flags[j].sum()) for j, a in enumerate(agents)},
        **{f"n_drinks_{a}": int(((ev["event"] == "drink") & (ev["subject"] == a)).sum())
           for a in agents},
    }
    notes = []
    if inp.extra["n_correct_replayed"] != recorded["correct"]:
        notes.append(f"replayed synchronized pokes ({inp.extra['n_correct_replayed']}) differ "
                     f"from the recorded correct flags ({recorded['correct']})")
    row = summary_row(inp, trials, chance_rate, chance_p, float(n_t), notes)
    return trials, row


def find_rollout_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Rollout files named by ``paths``: ``.mat``/tidy-CSV files, or folders holding them."""
    from behavtrack.io.agents import is_rollout_file

    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*") if q.is_file() and is_rollout_file(q))
        elif p.is_file():
            if not is_rollout_file(p):
                raise InputError(p, "is not an agent rollout file",
                                 "give .mat files or the tidy rollouts CSV")
            found.append(p)
        else:
            raise InputError(p, "no such file or folder", "check the path")
    return found


def _signature(rollout: Any) -> tuple[Any, ...]:
    """Identity of a rollout's content: checkpoint, length and its events."""
    ev = rollout.events
    body = pd.util.hash_pandas_object(ev[["frame", "subject", "event"]], index=False).sum()
    return int(rollout.checkpoint), len(rollout.pose["time"]), int(body)


def agent_session_results(
    paths: Sequence[str | os.PathLike],
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = SYNC_LIMIT,
    episode_steps: int | None = None,
    quiet: bool = False,
) -> tuple[list[tuple[pd.DataFrame, dict[str, Any]]], list[dict[str, str]]]:
    """Analyze every rollout in ``paths``; a file that cannot be read becomes a failure row.

    ``sync_limit`` is the environment's (2 by default, as in its configuration);
    ``episode_steps`` the steps per episode of ``.mat`` files (default: the loader's, 500 as
    in the repository's evaluation script; the tidy CSV carries its episodes).

    Returns
    -------
    results : list
        ``(trials, row)`` per rollout (progress = checkpoint / the run's largest checkpoint),
        for :func:`behavtrack.learning.sessions.assemble_tables`.
    failures : list of dict
        ``{"path": ..., "error": ...}`` for files that could not be used.

    """
    from behavtrack.files import progress as progress_bar
    from behavtrack.io.agents import load_rollouts

    files = find_rollout_files(paths)
    rollouts, failures = [], []
    for f in files:
        try:
            rollouts += (load_rollouts(f) if episode_steps is None
                         else load_rollouts(f, episode_steps=int(episode_steps)))
        except InputError as exc:
            failures.append({"path": str(f), "error": str(exc)})
    if not rollouts and failures:
        raise InputError(failures[0]["path"], "no usable rollout: " + failures[0]["error"])
    if not rollouts:
        raise InputError(", ".join(map(str, paths)), "holds no agent rollout file",
                         "give .mat files or the tidy rollouts CSV")
    # the same steps may come twice (a run's .mat files and its tidy CSV): keep the first
    seen: dict[tuple[Any, ...], str] = {}
    unique = []
    for r in rollouts:
        key = _signature(r)
        if key in seen:
            failures.append({"path": str(r.source),
                             "error": f"checkpoint {r.checkpoint} holds the same steps as "
                                      f"{seen[key]}; skipped"})
            continue
        seen[key] = str(r.source)
        unique.append(r)
    max_cp: dict[str, int] = {}
    for r in unique:
        max_cp[str(r.run)] = max(max_cp.get(str(r.run), 0), int(r.checkpoint))
    results = []
    for r in progress_bar(unique, desc="rollouts", quiet=quiet, unit="checkpoint"):
        top = max_cp[str(r.run)]
        prog = r.checkpoint / top if top > 0 else 0.0
        results.append(analyze_rollout(r, progress=prog, n_shifts=n_shifts, seed=seed,
                                       sync_limit=sync_limit))
    return results, failures
