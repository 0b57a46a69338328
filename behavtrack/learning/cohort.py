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
from behavtrack.learning.sessions import analyze_session, read_classified_session
from behavtrack.parallel import fork_map, worker_count

__all__ = ["SESSIONS_PER_PROCESS", "StatsResult", "SessionOutcome", "require_counts",
           "session_result", "session_results", "cohort_metrics", "cohort_curves", "cohort_stats",
           "curve_figure_specs", "curve_figures"]

#: Sessions each process of :func:`session_results` analyses at least (fewer: fewer
#: processes; one session takes some 30 ms, a process some 20 ms to start).
SESSIONS_PER_PROCESS = 8

#: What one classify folder gives the statistics (:func:`session_result`): its
#: ``(trials, row)`` and ``None``, or ``None`` and its failure ``{"path", "error"}``.
SessionOutcome = tuple[tuple[pd.DataFrame, dict[str, Any]] | None, dict[str, str] | None]


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


def session_result(
    folder: str | os.PathLike,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    lookback_s: Mapping[str, float] | None = None,
) -> SessionOutcome:
    """Analyse one classify output folder (or NWB export): the per-session part of the stats.

    :func:`session_results` calls it for every folder; a batch worker calls it right after
    classifying a session, and the statistics then take its outcome as it is
    (``precomputed``), so that it is the same whichever process computed it.

    Parameters
    ----------
    folder
        The folder, named as :func:`session_results` names it (its path is in notes and
        errors).
    n_shifts, seed, lookback_s
        See :func:`behavtrack.learning.sessions.analyze_session`.

    Returns
    -------
    SessionOutcome
        ``((trials, row), None)``, or ``(None, {"path", "error"})`` if the folder cannot be
        used.

    """
    try:
        inp = read_classified_session(folder)
        return analyze_session(inp, n_shifts=n_shifts, seed=seed, lookback_s=lookback_s), None
    except InputError as exc:
        return None, {"path": str(folder), "error": str(exc)}


def session_results(
    paths: Sequence[str | os.PathLike],
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    lookback_s: Mapping[str, float] | None = None,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    precomputed: Mapping[str, SessionOutcome] | None = None,
    jobs: int | None = 1,
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
    precomputed
        Outcomes of :func:`session_result` already computed with the same ``n_shifts``,
        ``seed`` and ``lookback_s``, by folder (``str`` of the path as found here); the
        folders not in it are analysed here.
    jobs
        Processes that analyse the folders (``None``: the usable cores; see
        :func:`behavtrack.parallel.worker_count`), each given at least
        :data:`SESSIONS_PER_PROCESS` of them; the same results, in the same order, as in one.

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
    known = dict(precomputed or {})
    todo = [f for f in mice_dirs if str(f) not in known]
    workers = worker_count(jobs, len(todo) // SESSIONS_PER_PROCESS)

    def analyse(folder: Path) -> SessionOutcome:
        return session_result(folder, n_shifts=n_shifts, seed=seed, lookback_s=lookback_s)

    if todo:  # no bar when nothing is left to do
        outcomes = fork_map(analyse, todo, workers) if workers > 1 else map(analyse, todo)
        bar = progress_bar(outcomes, total=len(todo), desc="sessions", unit="session")
        known.update(zip(map(str, todo), bar, strict=True))
    for folder in mice_dirs:
        res, fail = known[str(folder)]
        if res is not None:
            results.append(res)
        else:
            failures.append(fail)
    if agent_paths:
        from behavtrack.learning.agents import agent_session_results

        try:
            res, fails = agent_session_results(agent_paths, n_shifts=n_shifts, seed=seed,
                                               sync_limit=sync_limit,
                                               episode_steps=episode_steps)
            results += res
            failures += fails
        except InputError as exc:
            failures.append({"path": ", ".join(map(str, agent_paths)), "error": str(exc)})
    if not results:
        first = failures[0] if failures else {"path": ", ".join(map(str, paths)),
                                              "error": "no session found"}
        raise InputError(first["path"], f"no usable session ({first['error']})")
    return results, failures


def cohort_metrics(sessions: pd.DataFrame, metrics: Sequence[str] | None = None) -> list[str]:
    """Return the metrics of the curves, fits and trends: those of ``metrics`` in ``sessions``.

    None (or none given): :data:`behavtrack.learning.curves.DEFAULT_METRICS`.
    """
    if not metrics:
        from behavtrack.learning.curves import DEFAULT_METRICS

        metrics = DEFAULT_METRICS
    return [m for m in metrics if m in sessions]


def _cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def cohort_curves(
    sessions: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Compute the pooled learning curves over sessions (checkpoints) of each source.

    The ``curves`` of :func:`cohort_stats` (and what :func:`curve_figures` draws), on their
    own: the figures can be drawn from them while the rest of the statistics is computed.

    Parameters
    ----------
    sessions
        The sessions table (:func:`behavtrack.learning.sessions.assemble_tables`).
    metrics
        As in :func:`cohort_stats`.
    n_boot, seed
        Bootstrap resamples of pairs and their seed.

    Returns
    -------
    pandas.DataFrame
        ``curves.csv``.

    """
    from behavtrack.learning.curves import learning_curves

    metrics = cohort_metrics(sessions, metrics)
    return _cat([learning_curves(sub, metrics, x="session", n_boot=n_boot, seed=seed)
                 for _, sub in sessions.groupby("source", sort=False)])


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
    curves: pd.DataFrame | None = None,
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
    curves
        The curves over sessions if already computed: :func:`cohort_curves` of the same
        ``sessions``, ``metrics``, ``n_boot`` and ``seed``.

    Returns
    -------
    StatsResult
        Per source (``mice``, ``agents``): curves over sessions (checkpoints), curves over
        progress bins, fits over progress, sessions to criterion and trend tests.

    """
    from behavtrack.learning.curves import (
        bin_progress,
        fit_curves,
        learning_curves,
        sessions_to_criterion,
        trend_tests,
    )

    metrics = cohort_metrics(sessions, metrics)
    sessions = sessions.copy()
    if curves is None:
        curves = cohort_curves(sessions, metrics, n_boot=n_boot, seed=seed)
    curves_p, fits, crit, trends = [], [], [], []
    binned = sessions.assign(progress_bin=bin_progress(sessions["progress"], n_bins))
    for src, sub in sessions.groupby("source", sort=False):
        x = "session"  # day index for mice, checkpoint for agents
        curves_p.append(learning_curves(binned[binned["source"] == src], metrics,
                                        x="progress_bin", n_boot=n_boot, seed=seed))
        fits.append(fit_curves(sub, metrics, x="progress"))
        crit.append(sessions_to_criterion(sub, "success_rate", criterion, consecutive, x=x))
        trends.append(trend_tests(sub, metrics, x=x))

    result = StatsResult(
        trials=trials, sessions=sessions, curves=curves, curves_progress=_cat(curves_p),
        fits=_cat(fits), criterion=_cat(crit), trends=_cat(trends),
        failures=pd.DataFrame(list(failures), columns=["path", "error"]), metrics=metrics,
    )
    return result


def curve_figure_specs(
    sessions: pd.DataFrame, curves: pd.DataFrame, metrics: Sequence[str],
) -> list[tuple[str, dict[str, Any]]]:
    """Return what each source's learning-curve figure shows (nothing drawn).

    Parameters
    ----------
    sessions, curves, metrics
        The ``sessions``, ``curves`` (:func:`cohort_curves`) and ``metrics`` of a cohort.

    Returns
    -------
    list of (str, dict)
        Per source (``mice``, ``agents``) the keyword arguments of
        :func:`behavtrack.learning.figures.plot_learning_curves` that draw its figure; each
        figure is independent of the others (and can be drawn in another process).

    """
    out = []
    for src, sub in sessions.groupby("source", sort=False):
        c = curves[curves["source"] == src] if len(curves) else curves
        who, xlabel = (("agents", "checkpoint (training iterations)") if src == "agents"
                       else ("mice", "session (day index)"))
        if src == "mice" and "data" in sub and (sub["data"] == "simulated").all():
            who = "SIMULATED mice"
        if "bouts_source" in sub and (sub["bouts_source"] == "truth").any():
            who += " (strategies: simulator's truth bouts)"
        groups = "runs" if src == "agents" else "pairs"
        out.append((str(src), {
            "sessions": sub, "curves": c, "metrics": list(metrics), "x": "session",
            "xlabel": xlabel,
            "title": f"{who}: learning curves ({sub['pair'].nunique()} {groups}, mean and "
                     f"95% bootstrap CI)"}))
    return out


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
        session (checkpoint), one panel per metric (:func:`curve_figure_specs`).

    """
    from behavtrack.learning.figures import plot_learning_curves

    return [(src, plot_learning_curves(**spec)) for src, spec in
            curve_figure_specs(result.sessions, result.curves, result.metrics)]
