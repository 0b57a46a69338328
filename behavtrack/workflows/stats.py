"""The ``stats`` workflow: every statistic of a cohort, from classify folders or rollouts to files.

:func:`compute_stats` reads every session (:func:`behavtrack.learning.cohort.session_results`),
computes trials, chance and strategy use per session, learning curves (per session and on
binned progress), curve fits, sessions to criterion and trend tests
(:func:`behavtrack.learning.cohort.cohort_stats`), draws the figures and writes them all to
one folder. A session that cannot be read or analysed is listed in ``failures.csv`` and the
rest of the cohort is still computed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack import __version__
from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text
from behavtrack.learning.cohort import (
    SessionOutcome,
    StatsResult,
    cohort_curves,
    cohort_metrics,
    cohort_stats,
    curve_figure_specs,
    curve_figures,
    require_counts,
    session_results,
)
from behavtrack.learning.sessions import assemble_tables

__all__ = ["OUTPUT_FILES", "StatsResult", "compute_stats", "save_curve_figure", "write_csv",
           "write_stats"]

#: Files written by :func:`compute_stats` (figures: ``learning_curves_<source>.png``).
OUTPUT_FILES = (
    "trials.csv", "sessions.csv", "curves.csv", "curves_progress.csv", "fits.csv",
    "criterion.csv", "trends.csv", "failures.csv", "stats.json",
)


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV atomically.

    Parameters
    ----------
    table
        The table (its index is not written).
    path
        The CSV file.

    Returns
    -------
    pathlib.Path
        ``path``.

    """
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def save_curve_figure(spec: Mapping[str, Any], path: str | os.PathLike,
                      svg: bool = False) -> Path:
    """Draw one learning-curve figure and write it (PNG, and SVG if ``svg``), atomically.

    Parameters
    ----------
    spec
        The keyword arguments of :func:`behavtrack.learning.figures.plot_learning_curves`
        (one of :func:`behavtrack.learning.cohort.curve_figure_specs`).
    path
        The PNG file.
    svg
        Also write an SVG next to it.

    Returns
    -------
    pathlib.Path
        ``path``.

    """
    from behavtrack.learning.figures import plot_learning_curves, save_figure

    return save_figure(plot_learning_curves(**spec), path, svg=svg)


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
    precomputed: Mapping[str, SessionOutcome] | None = None,
    submit: Callable[..., Any] | None = None,
    jobs: int | None = 1,
) -> StatsResult:
    """Compute and write every statistic of a cohort.

    Parameters
    ----------
    session_dirs
        Classify output folders (or parent folders, globs, list files; see
        :func:`behavtrack.io.session.find_classified_sessions`) and/or agent rollout files
        or folders of them (see :func:`behavtrack.io.session.split_inputs`).
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
        ``.mat`` files (see :func:`behavtrack.learning.agents.agent_session_results`).
    precomputed
        Sessions already analysed with these ``n_shifts``, ``seed`` and ``lookback_s``
        (:func:`behavtrack.learning.cohort.session_result`, e.g. by batch workers), by
        folder; see :func:`behavtrack.learning.cohort.session_results`.
    submit
        Where to draw the figures: ``submit(fn, *args)`` runs ``fn(*args)`` elsewhere and
        returns a future (``concurrent.futures.Executor.submit``, a Dask client's
        ``submit``). Each figure is then drawn and written there while the rest of the
        statistics is computed here; ``None``: here, after them. Same files either way.
    jobs
        Processes that analyse the sessions (``None``: the usable cores; see
        :func:`behavtrack.learning.cohort.session_results`). Same files either way.

    Returns
    -------
    StatsResult
        The tables, ``out_dir`` and the figure files.

    Raises
    ------
    InputError
        If no session at all could be used (one line naming the first failure).

    """
    require_counts(n_shifts=n_shifts, n_boot=n_boot, n_bins=n_bins, consecutive=consecutive)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():  # checked before the work
        raise InputError(out_dir, "is a file, not an output folder", "give a folder as out_dir=")
    results, failures = session_results(session_dirs, n_shifts=n_shifts, seed=seed,
                                        lookback_s=lookback_s, sync_limit=sync_limit,
                                        episode_steps=episode_steps, precomputed=precomputed,
                                        jobs=jobs)
    trials, sessions = assemble_tables(results)
    curves, drawing = None, None
    if figures and submit is not None:
        # the figures need only the curves over sessions: drawn elsewhere from here on
        metrics = cohort_metrics(sessions, metrics)
        curves = cohort_curves(sessions, metrics, n_boot=n_boot, seed=seed)
        out_dir.mkdir(parents=True, exist_ok=True)
        drawing = [submit(save_curve_figure, spec, str(out_dir / f"learning_curves_{src}.png"),
                          svg) for src, spec in curve_figure_specs(sessions, curves, metrics)]
    result = cohort_stats(trials, sessions, failures, n_boot=n_boot, n_bins=n_bins, seed=seed,
                          criterion=criterion, consecutive=consecutive, metrics=metrics,
                          curves=curves)
    return write_stats(result, out_dir, svg=svg, figures=figures, drawing=drawing, params={
        "seed": seed, "n_boot": n_boot, "n_bins": n_bins, "criterion": criterion,
        "consecutive": consecutive, "metrics": result.metrics,
        "inputs": [str(p) for p in session_dirs], "n_shifts": n_shifts,
        "lookback_s": dict(lookback_s or {})})


def write_stats(
    result: StatsResult,
    out_dir: str | os.PathLike,
    *,
    svg: bool = False,
    figures: bool = True,
    params: Mapping[str, Any] | None = None,
    drawing: Sequence[Any] | None = None,
) -> StatsResult:
    """Write a cohort's statistics: the tables as CSV, the figures and ``stats.json``.

    Parameters
    ----------
    result
        The statistics (:func:`behavtrack.learning.cohort.cohort_stats`).
    out_dir
        The output folder (created).
    svg
        Also write SVG figures.
    figures
        Draw and write the figures at all.
    params
        The settings recorded in ``stats.json``.
    drawing
        Futures of the figures being drawn elsewhere (each returns its file's path; see
        :func:`compute_stats`), waited for here instead of drawing them.

    Returns
    -------
    StatsResult
        ``result``, with ``out_dir`` and ``figures`` set.

    """
    from behavtrack.learning.figures import save_figure

    out_dir = Path(out_dir)
    result.out_dir = out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("trials", "sessions", "curves", "curves_progress", "fits", "criterion",
                 "trends", "failures"):
        write_csv(getattr(result, name), out_dir / f"{name}.csv")
    if figures and drawing is not None:
        result.figures += [Path(f.result()) for f in drawing]
    elif figures:
        for src, fig in curve_figures(result):
            result.figures.append(save_figure(fig, out_dir / f"learning_curves_{src}.png",
                                              svg=svg))
    sessions = result.sessions
    summary = {
        "behavtrack_version": __version__,
        "n_sessions": int(len(sessions)),
        "n_pairs": int(sessions[["source", "pair"]].drop_duplicates().shape[0]),
        "n_trials": int(len(result.trials)),
        "n_failures": len(result.failures),
        "sources": sorted(map(str, sessions["source"].unique())),
        **(params or {}),
        "files": [*OUTPUT_FILES, *(p.name for p in result.figures)],
    }
    atomic_write_text(out_dir / "stats.json", json.dumps(summary, indent=2, default=_json))
    return result


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
