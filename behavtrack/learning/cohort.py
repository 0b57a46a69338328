"""All statistics of a cohort, from classify output folders (or agent rollouts) to files.

:func:`compute_stats` reads every session, computes trials, chance and strategy use per
session, learning curves (per session and on binned progress), curve fits, sessions to
criterion and trend tests, draws the figures and writes them all to one folder. A session
that cannot be read or analysed is listed in ``failures.csv`` and the rest of the cohort is
still computed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack import __version__
from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text
from behavtrack.files import progress as progress_bar
from behavtrack.learning.curves import (
    DEFAULT_METRICS,
    bin_progress,
    fit_curves,
    learning_curves,
    sessions_to_criterion,
    trend_tests,
)
from behavtrack.learning.sessions import (
    analyze_session,
    assemble_tables,
    find_session_dirs,
    read_classified_session,
)

__all__ = ["StatsResult", "compute_stats", "write_csv", "split_inputs", "require_counts",
           "session_results", "OUTPUT_FILES"]

#: Files written by :func:`compute_stats` (figures: ``learning_curves_<source>.png``).
OUTPUT_FILES = (
    "trials.csv", "sessions.csv", "curves.csv", "curves_progress.csv", "fits.csv",
    "criterion.csv", "trends.csv", "failures.csv", "stats.json",
)


@dataclass
class StatsResult:
    """Everything :func:`compute_stats` computed (each table is also written as CSV)."""

    trials: pd.DataFrame
    sessions: pd.DataFrame
    curves: pd.DataFrame
    curves_progress: pd.DataFrame
    fits: pd.DataFrame
    criterion: pd.DataFrame
    trends: pd.DataFrame
    failures: pd.DataFrame
    out_dir: Path
    figures: list[Path] = field(default_factory=list)


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV atomically (floats with up to 6 significant digits kept exact)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def require_counts(**counts: int) -> None:
    """Raise :class:`InputError` naming the first count below 1 (as its CLI option).

    Examples
    --------
    >>> require_counts(boot=2000, episode_steps=0)
    Traceback (most recent call last):
    ...
    behavtrack.errors.InputError: --episode-steps: must be at least 1, got 0

    """
    for name, value in counts.items():
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')}", f"must be at least 1, got {value}")


def split_inputs(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """Split inputs into classify session folders (mice) and agent rollout paths.

    A rollout file (``.mat``, tidy CSV), or a folder holding rollout files but no
    ``session.json``, goes to the agents; everything else is searched for session folders.
    """
    from behavtrack.io.agents import is_rollout_file

    mice: list[str | os.PathLike] = []
    agents: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file() and is_rollout_file(p):
            agents.append(p)
        elif p.is_dir() and not any(p.rglob("session.json")) and any(
                is_rollout_file(q) for q in p.rglob("*") if q.is_file()):
            agents.append(p)
        else:
            mice.append(raw)
    return (find_session_dirs(mice) if mice else []), agents


def session_results(
    paths: Sequence[str | os.PathLike],
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    lookback_s: Mapping[str, float] | None = None,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    quiet: bool = False,
) -> tuple[list[tuple[pd.DataFrame, dict[str, Any]]], list[dict[str, str]]]:
    """Analyse every session of classify folders and/or agent rollouts (see :func:`split_inputs`).

    Returns
    -------
    results, failures
        Per usable session its ``(trials, row)`` (:func:`analyze_session`); per input that
        cannot be used ``{"path", "error"}``.

    Raises
    ------
    InputError
        If no session at all can be used (one line naming the first failure).

    """
    require_counts(episode_steps=episode_steps)
    if sync_limit < 0:
        raise InputError("--sync-limit", f"must be 0 or more, got {sync_limit}")
    mice_dirs, agent_paths = split_inputs(paths)
    results: list[tuple[pd.DataFrame, dict[str, Any]]] = []
    failures: list[dict[str, str]] = []
    for folder in progress_bar(mice_dirs, desc="sessions", quiet=quiet, unit="session"):
        try:
            inp = read_classified_session(folder)
            results.append(analyze_session(inp, n_shifts=n_shifts, seed=seed,
                                           lookback_s=lookback_s))
        except InputError as exc:
            failures.append({"path": str(folder), "error": str(exc)})
    if agent_paths:
        from behavtrack.compare.agents import agent_session_results

        try:
            res, fails = agent_session_results(agent_paths, n_shifts=n_shifts, seed=seed,
                                               sync_limit=sync_limit,
                                               episode_steps=episode_steps, quiet=quiet)
            results += res
            failures += fails
        except InputError as exc:
            failures.append({"path": ", ".join(map(str, agent_paths)), "error": str(exc)})
    if not results:
        first = failures[0] if failures else {"path": ", ".join(map(str, paths)),
                                              "error": "no session found"}
        raise InputError(first["path"], f"no usable session ({first['error']})")
    return results, failures


def compute_stats(
    session_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    n_boot: int = 2000,
    n_bins: int = 5,
    criterion: float = 0.75,
    consecutive: int = 1,
    metrics: Sequence[str] | None = None,
    lookback_s: Mapping[str, float] | None = None,
    svg: bool = False,
    figures: bool = True,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    quiet: bool = False,
) -> StatsResult:
    """Compute and write every statistic of a cohort.

    Parameters
    ----------
    session_dirs
        Classify output folders (or parent folders, globs, list files; see
        :func:`behavtrack.learning.sessions.find_session_dirs`) and/or agent rollout files
        or folders of them (see :func:`split_inputs`).
    out_dir
        Output folder (created): ``trials.csv``, ``sessions.csv`` (FORMATS.md columns first),
        ``curves.csv`` (pooled per session / checkpoint), ``curves_progress.csv`` (pooled per
        progress bin), ``fits.csv``, ``criterion.csv``, ``trends.csv``, ``failures.csv``,
        ``stats.json`` and ``learning_curves_<source>.png`` (+ ``.svg``).
    n_shifts
        Circular shifts per session for chance.
    seed
        Seed of the shifts and of the bootstrap.
    n_boot
        Bootstrap resamples of pairs for the curves' CIs.
    n_bins
        Progress bins of ``curves_progress.csv``.
    criterion, consecutive
        Sessions to criterion: first run of ``consecutive`` sessions with success rate at or
        above ``criterion``.
    metrics
        Metrics for curves, fits and trends (default
        :data:`behavtrack.learning.curves.DEFAULT_METRICS`).
    lookback_s
        Strategy lookbacks (see :func:`behavtrack.task.strategies_before`).
    svg
        Also write SVG figures.
    figures
        Draw figures at all.
    sync_limit, episode_steps
        For agent rollouts: the environment's ``sync_limit`` and the steps per episode of
        ``.mat`` files (see :func:`behavtrack.compare.agents.agent_session_results`).
    quiet
        No progress bars.

    Returns
    -------
    StatsResult

    Raises
    ------
    InputError
        If no session at all could be used (one line naming the first failure).

    """
    require_counts(shifts=n_shifts, boot=n_boot, bins=n_bins, consecutive=consecutive)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():  # checked before the work
        raise InputError(out_dir, "is a file, not an output folder", "give a folder with --out")
    results, failures = session_results(session_dirs, n_shifts=n_shifts, seed=seed,
                                        lookback_s=lookback_s, sync_limit=sync_limit,
                                        episode_steps=episode_steps, quiet=quiet)
    trials, sessions = assemble_tables(results)
    return _finish(trials, sessions, failures, out_dir, n_boot=n_boot, n_bins=n_bins,
                   seed=seed, criterion=criterion, consecutive=consecutive, metrics=metrics,
                   svg=svg, figures=figures,
                   params={"inputs": [str(p) for p in session_dirs], "n_shifts": n_shifts,
                           "lookback_s": dict(lookback_s or {})})


def _finish(
    trials: pd.DataFrame,
    sessions: pd.DataFrame,
    failures: list[dict[str, str]],
    out_dir: Path,
    *,
    n_boot: int,
    n_bins: int,
    seed: int,
    criterion: float,
    consecutive: int,
    metrics: Sequence[str] | None,
    svg: bool,
    figures: bool,
    params: dict[str, Any],
) -> StatsResult:
    """Curves, fits, criterion and trends of assembled tables; write everything."""
    metrics = [m for m in (metrics or DEFAULT_METRICS) if m in sessions]
    sessions = sessions.copy()
    curves, curves_p, fits, crit, trends = [], [], [], [], []
    binned = sessions.assign(progress_bin=bin_progress(sessions["progress"], n_bins))
    for src, sub in sessions.groupby("source", sort=False):
        x = "session"  # day index for mice, checkpoint for agents
        curves.append(learning_curves(sub, metrics, x=x, n_boot=n_boot, seed=seed))
        curves_p.append(learning_curves(binned[binned["source"] == src], metrics,
                                        x="progress_bin", n_boot=n_boot, seed=seed))
        fits.append(fit_curves(sub, metrics, x="progress"))
        crit.append(sessions_to_criterion(sub, "success_rate", criterion, consecutive, x=x))
        trends.append(trend_tests(sub, metrics, x=x))

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    result = StatsResult(
        trials=trials, sessions=sessions, curves=cat(curves), curves_progress=cat(curves_p),
        fits=cat(fits), criterion=cat(crit), trends=cat(trends),
        failures=pd.DataFrame(failures, columns=["path", "error"]), out_dir=out_dir,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("trials", "sessions", "curves", "curves_progress", "fits", "criterion",
                 "trends", "failures"):
        write_csv(getattr(result, name), out_dir / f"{name}.csv")
    if figures:
        from behavtrack.learning.figures import plot_learning_curves, save_figure

        for src, sub in sessions.groupby("source", sort=False):
            x = "session"
            c = result.curves[result.curves["source"] == src] if len(result.curves) else \
                result.curves
            who, xlabel = (("agents", "checkpoint (training iterations)") if src == "agents"
                           else ("mice", "session (day index)"))
            if src == "mice" and "data" in sub and (sub["data"] == "simulated").all():
                who = "SIMULATED mice"
            if "bouts_source" in sub and (sub["bouts_source"] == "truth").any():
                who += " (strategies: simulator's truth bouts)"
            groups = "runs" if src == "agents" else "pairs"
            fig = plot_learning_curves(sub, c, metrics, x=x, xlabel=xlabel,
                                       title=f"{who}: learning curves ({sub['pair'].nunique()} "
                                             f"{groups}, mean and 95% bootstrap CI)")
            result.figures.append(save_figure(fig, out_dir / f"learning_curves_{src}.png",
                                              svg=svg))
    summary = {
        "behavtrack_version": __version__,
        "n_sessions": int(len(sessions)),
        "n_pairs": int(sessions[["source", "pair"]].drop_duplicates().shape[0]),
        "n_trials": int(len(trials)),
        "n_failures": len(failures),
        "sources": sorted(map(str, sessions["source"].unique())),
        "seed": seed, "n_boot": n_boot, "n_bins": n_bins, "criterion": criterion,
        "consecutive": consecutive, "metrics": metrics, **params,
        "files": [*OUTPUT_FILES, *(p.name for p in result.figures)],
    }
    atomic_write_text(out_dir / "stats.json", json.dumps(summary, indent=2, default=_json))
    return result


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
