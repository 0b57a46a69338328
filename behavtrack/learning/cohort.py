"""All statistics of a cohort, in memory: from classify folders (or agent rollouts) to tables.

:func:`session_results` reads every session (classify folders, NWB exports, agent rollouts)
and computes trials, chance and strategy use per session; a session that cannot be read or
analysed becomes a failure row and the rest of the cohort is still computed.
:func:`cohort_stats` turns the assembled tables into learning curves (per session and on
binned progress), curve fits, sessions to criterion and trend tests, and
:func:`curve_figures` draws the learning curves. Nothing here writes a file: the ``stats``
workflow (:func:`behavtrack.workflows.stats.compute_stats`) writes them all to one folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import progress as progress_bar
from behavtrack.learning.curves import (
    DEFAULT_METRICS,
    bin_progress,
    fit_curves,
    learning_curves,
    sessions_to_criterion,
    trend_tests,
)
from behavtrack.learning.sessions import analyze_session, read_classified_session

__all__ = ["StatsResult", "require_counts", "session_results", "cohort_stats",
           "curve_figures"]


@dataclass
class StatsResult:
    """Everything the statistics of a cohort hold (the ``stats`` workflow writes each as CSV).

    Attributes
    ----------
    trials, sessions, curves, curves_progress, fits, criterion, trends, failures
        The tables (``trials.csv``, ``sessions.csv``, ...).
    out_dir
        The folder they were written to (``None`` while in memory only).
    figures
        The figure files written.
    metrics
        The metrics of the curves, fits and trends (those present in ``sessions``).

    """

    trials: pd.DataFrame
    sessions: pd.DataFrame
    curves: pd.DataFrame
    curves_progress: pd.DataFrame
    fits: pd.DataFrame
    criterion: pd.DataFrame
    trends: pd.DataFrame
    failures: pd.DataFrame
    out_dir: Path | None = None
    figures: list[Path] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)


def require_counts(**counts: int | None) -> None:
    """Raise :class:`InputError` naming the first count below 1 (as its parameter).

    Examples
    --------
    >>> require_counts(n_boot=2000, episode_steps=0)
    Traceback (most recent call last):
    ...
    behavtrack.errors.InputError: episode_steps: must be at least 1, got 0

    """
    for name, value in counts.items():
        if value is not None and value < 1:
            raise InputError(name, f"must be at least 1, got {value}")


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
    """Analyse every session of classify folders and/or agent rollouts.

    Parameters
    ----------
    paths
        Classify output folders (or parent folders, globs, list files, NWB exports) and/or
        agent rollout files or folders of them (see :func:`behavtrack.io.session.split_inputs`).
    n_shifts, seed, lookback_s
        See :func:`behavtrack.learning.sessions.analyze_session`.
    sync_limit, episode_steps
        For agent rollouts (see :func:`behavtrack.learning.agents.agent_session_results`).
    quiet
        No progress bars.

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
    from behavtrack.io.session import split_inputs

    require_counts(episode_steps=episode_steps)
    if sync_limit < 0:
        raise InputError("sync_limit", f"must be 0 or more, got {sync_limit}")
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
        from behavtrack.learning.agents import agent_session_results

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


def cohort_stats(
    trials: pd.DataFrame,
    sessions: pd.DataFrame,
    failures: Sequence[Mapping[str, str]] = (),
    *,
    n_boot: int = 2000,
    n_bins: int = 5,
    seed: int = 0,
    criterion: float = 0.75,
    consecutive: int = 1,
    metrics: Sequence[str] | None = None,
) -> StatsResult:
    """Curves, fits, criterion and trends of a cohort's assembled tables (nothing written).

    Parameters
    ----------
    trials, sessions
        The tables of :func:`behavtrack.learning.sessions.assemble_tables`.
    failures
        Inputs that could not be used (``{"path", "error"}``), kept in the result.
    n_boot
        Bootstrap resamples of pairs for the curves' CIs.
    n_bins
        Progress bins of ``curves_progress``.
    seed
        Seed of the bootstrap.
    criterion, consecutive
        Sessions to criterion: first run of ``consecutive`` sessions with success rate at or
        above ``criterion``.
    metrics
        Metrics for curves, fits and trends (default
        :data:`behavtrack.learning.curves.DEFAULT_METRICS`; those absent are left out).

    Returns
    -------
    StatsResult
        Per source (``mice``, ``agents``): curves over sessions (checkpoints), curves over
        progress bins, fits over progress, sessions to criterion and trend tests.

    """
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
        failures=pd.DataFrame(list(failures), columns=["path", "error"]), metrics=metrics,
    )
    return result


def curve_figures(result: StatsResult) -> list[tuple[str, Any]]:
    """Draw the learning curves of each source of a cohort (nothing written).

    Parameters
    ----------
    result
        The cohort's statistics (:func:`cohort_stats`).

    Returns
    -------
    list of (str, matplotlib.figure.Figure)
        Per source (``mice``, ``agents``) its figure: mean and 95% bootstrap CI per
        session (checkpoint), one panel per metric.

    """
    from behavtrack.learning.figures import plot_learning_curves

    out = []
    sessions, metrics = result.sessions, result.metrics
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
        out.append((str(src), fig))
    return out
