"""Agent rollouts as sessions: the trials, chance and ``sessions.csv`` row of each checkpoint.

Each rollout (one checkpoint of one training run, :class:`behavtrack.io.agents.Rollout`) is
analysed like a mouse session: strategies from the grid behaviours
(:mod:`behavtrack.strategies.grid`), trials pairing each poke with the partner's nearest poke
*within the same episode* (:func:`behavtrack.task.trials_from_events`), ``success`` by the
environment's own rule replayed from the pokes (:func:`behavtrack.task.sync.replay_sync`; the
recorded ``correct`` and ``miss`` flags are reported too). One step is one time unit; "per
minute" means per 60 steps.

Chance is the rule replayed after circularly shifting agent2's poke train within each episode:
the chance rate is the mean fraction of pokes that end in a synchronized pair, the p-value
``(1 + #{chance >= real}) / (1 + n_shifts)``. Checkpoints map to progress = checkpoint / the
run's largest checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.learning.sessions import SessionInput, session_seed, summary_row
from behavtrack.strategies.grid import grid_bouts, grid_labels
from behavtrack.task.sync import SYNC_LIMIT, replay_sync, shifted_trains
from behavtrack.task.trials import TRIAL_COLUMNS, trials_from_events

__all__ = ["analyze_rollout", "agent_session_results"]


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
        shifted = shifted_trains(flags[1], episode, n_shifts, rng)
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
    from behavtrack.io.agents import find_rollout_files, load_rollouts

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
    for r in progress_bar(unique, desc="rollouts", unit="checkpoint"):
        top = max_cp[str(r.run)]
        prog = r.checkpoint / top if top > 0 else 0.0
        results.append(analyze_rollout(r, progress=prog, n_shifts=n_shifts, seed=seed,
                                       sync_limit=sync_limit))
    return results, failures
