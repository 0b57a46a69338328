"""Mice vs agents on one axis of training progress: curves, trend agreement, HTML report.

:func:`compare` takes the mice's and the agents' sessions tables (from ``behavtrack stats``
output folders, or computed on the spot from classify folders / rollout files), pools each
side's metric per progress bin (mean with stratified-bootstrap CI), and per metric says
whether the two trends agree:

- ``trend_mice`` / ``trend_agents``: Spearman's rho of the metric against progress over all
  sessions of that side, and its p-value;
- ``sign_agree``: both rhos have the same sign;
- ``curve_r``: Pearson's r between the two pooled curves interpolated onto a common grid of
  progress points (inside the range both sides cover), ``n_grid`` of them.

It draws one panel per metric (mice and agents on twin axes when units differ) and writes a
self-contained ``report.html`` (figures embedded as base64 PNG, tables inline, no external
assets) that opens offline in a browser.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack import __version__
from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.learning.curves import bin_progress, learning_curves, spearman

__all__ = ["COMPARE_METRICS", "CompareResult", "load_side", "trend_agreement", "compare"]

#: Metrics compared by default (fractions share an axis; the others get twin axes).
COMPARE_METRICS: list[str] = [
    "success_rate", "chance_rate", "pokes_per_min", "waiting_frac_time",
    "interaction_frac_time", "approach_frac_time", "waited_frac", "interacted_frac",
    "approached_frac", "interaction_mean_bout_s",
]
_FRACTIONS = {"success_rate", "chance_rate", "waiting_frac_time", "interaction_frac_time",
              "approach_frac_time", "waited_frac", "interacted_frac", "approached_frac"}


@dataclass
class CompareResult:
    """Tables and files of a comparison."""

    mice: pd.DataFrame
    agents: pd.DataFrame
    curves: pd.DataFrame
    agreement: pd.DataFrame
    report: Path
    figure: Path


def load_side(
    path: str | os.PathLike,
    source: str,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    quiet: bool = False,
) -> pd.DataFrame:
    """Return one side's sessions table.

    Parameters
    ----------
    path
        A ``behavtrack stats`` output folder (its ``sessions.csv``), a ``sessions.csv`` file,
        or inputs of :func:`behavtrack.learning.cohort.compute_stats` (classify folders,
        rollout files or folders of them), which are analysed here (no files written).
    source
        ``mice`` or ``agents``: rows of that source are kept.
    n_shifts, seed, sync_limit, episode_steps, quiet
        For inputs analysed here (see :func:`behavtrack.learning.cohort.compute_stats`).

    """
    p = Path(path)
    table = p / "sessions.csv" if p.is_dir() else p
    if table.is_file() and table.suffix.lower() == ".csv" and table.name == "sessions.csv":
        try:
            sessions = pd.read_csv(table)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(table, f"is not a readable CSV ({type(exc).__name__})") from None
        for col in ("source", "pair", "session", "progress"):
            if col not in sessions:
                raise InputError(table, f"is not a sessions table: column {col!r} is missing",
                                 "give the output folder of behavtrack stats")
    else:
        from behavtrack.learning.cohort import session_results
        from behavtrack.learning.sessions import assemble_tables

        if not p.exists():
            raise InputError(p, "no such file or folder", "check the path")
        # sessions that cannot be used are left out (all unusable: a one-line error)
        results, _ = session_results([p], n_shifts=n_shifts, seed=seed, sync_limit=sync_limit,
                                     episode_steps=episode_steps, quiet=quiet)
        sessions = assemble_tables(results)[1]
    sessions = sessions[sessions["source"].astype(str) == source].copy()
    if sessions.empty:
        raise InputError(path, f"holds no {source} sessions",
                         f"give {source} sessions (a stats output or their inputs)")
    sessions["pair"] = sessions["pair"].astype(str)
    return sessions


def _interp_curve(curve: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    c = curve.dropna(subset=["mean"]).sort_values("x")
    if len(c) == 0:
        return np.full(grid.shape, np.nan)
    return np.interp(grid, c["x"].to_numpy(float), c["mean"].to_numpy(float))


def trend_agreement(
    mice: pd.DataFrame,
    agents: pd.DataFrame,
    curves: pd.DataFrame,
    metrics: Sequence[str],
    n_grid: int = 11,
) -> pd.DataFrame:
    """Per metric, whether the mice's and agents' trends over progress agree.

    Returns
    -------
    pandas.DataFrame
        ``metric, rho_mice, p_mice, rho_agents, p_agents, sign_agree, curve_r, n_grid,
        agree`` (``agree``: signs agree and ``curve_r`` > 0; NaN-safe: False when unknown).

    """
    rows = []
    for metric in metrics:
        row: dict[str, object] = {"metric": metric}
        for name, tab in (("mice", mice), ("agents", agents)):
            x = pd.to_numeric(tab["progress"], errors="coerce").to_numpy(float)
            y = pd.to_numeric(tab.get(metric), errors="coerce").to_numpy(float) \
                if metric in tab else np.full(len(tab), np.nan)
            ok = np.isfinite(x) & np.isfinite(y)
            row[f"rho_{name}"], row[f"p_{name}"] = spearman(x[ok], y[ok])
        rm, ra = row["rho_mice"], row["rho_agents"]
        row["sign_agree"] = bool(np.isfinite(rm) and np.isfinite(ra)
                                 and np.sign(rm) == np.sign(ra) and rm != 0)
        cm = curves[(curves["source"] == "mice") & (curves["metric"] == metric)]
        ca = curves[(curves["source"] == "agents") & (curves["metric"] == metric)]
        r = np.nan
        if len(cm.dropna(subset=["mean"])) >= 2 and len(ca.dropna(subset=["mean"])) >= 2:
            lo = max(cm["x"].min(), ca["x"].min())
            hi = min(cm["x"].max(), ca["x"].max())
            if hi > lo:
                grid = np.linspace(lo, hi, n_grid)
                a, b = _interp_curve(cm, grid), _interp_curve(ca, grid)
                if np.ptp(a) > 0 and np.ptp(b) > 0:
                    r = float(np.corrcoef(a, b)[0, 1])
        row["curve_r"] = r
        row["n_grid"] = n_grid if np.isfinite(r) else 0
        row["agree"] = bool(row["sign_agree"] and np.isfinite(r) and r > 0)
        rows.append(row)
    return pd.DataFrame(rows)


def _figure(mice: pd.DataFrame, agents: pd.DataFrame, curves: pd.DataFrame,
            metrics: Sequence[str]):
    """One panel per metric: each side's pooled mean and CI over progress."""
    from behavtrack.learning.figures import METRIC_LABELS, new_figure

    fig, axes = new_figure(len(metrics))
    colors = {"mice": "C0", "agents": "C1"}
    for ax, metric in zip(axes, metrics, strict=False):
        twin = metric not in _FRACTIONS
        axes_for = {"mice": ax, "agents": ax.twinx() if twin else ax}
        for src, tab in (("mice", mice), ("agents", agents)):
            a = axes_for[src]
            if metric in tab:
                a.scatter(tab["progress"], tab[metric], s=6, color=colors[src], alpha=0.25,
                          lw=0)
            c = curves[(curves["source"] == src) & (curves["metric"] == metric)].sort_values("x")
            if len(c):
                a.fill_between(c["x"], c["mean_lo"], c["mean_hi"], color=colors[src],
                               alpha=0.2, lw=0)
                a.plot(c["x"], c["mean"], color=colors[src], lw=2, marker="o", ms=3,
                       label=src)
            a.ticklabel_format(axis="y", useOffset=False)
            if twin:
                a.tick_params(axis="y", labelcolor=colors[src], labelsize=7)
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=9)
        ax.set_xlabel("training progress", fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.tick_params(labelsize=7)
    handles, labels = [], []
    for a in fig.axes:
        h, lab = a.get_legend_handles_labels()
        for hh, ll in zip(h, lab, strict=True):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="best")
    fig.suptitle("mice vs agents over training (pooled mean, 95% bootstrap CI)", fontsize=10)
    return fig


def _table_html(table: pd.DataFrame, max_rows: int = 200) -> str:
    shown = table.head(max_rows)
    text = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="",
                         border=0, classes="t", escape=True)
    if len(table) > max_rows:
        text += f"<p class='note'>first {max_rows} of {len(table)} rows</p>"
    return text


def _html(title: str, png: bytes, agreement: pd.DataFrame, mice: pd.DataFrame,
          agents: pd.DataFrame, curves: pd.DataFrame, notes: list[str]) -> str:
    img = base64.b64encode(png).decode("ascii")
    keep = ["pair", "session", "progress", "n_pokes", "success_rate", "chance_rate",
            "chance_p", "waiting_frac_time", "interaction_frac_time", "approach_frac_time",
            "notes"]

    def cols(t: pd.DataFrame) -> pd.DataFrame:
        return t[[c for c in keep if c in t]]

    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
    n_agree = int(agreement["agree"].sum()) if len(agreement) else 0
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }}
table.t {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
table.t th, table.t td {{ padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
table.t th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }} .note {{ color: #666; font-size: 12px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{mice['pair'].nunique()} mouse pairs ({len(mice)} sessions) and {agents['pair'].nunique()}
agent run(s) ({len(agents)} checkpoints) on one axis of training progress (mice: session
index over the pair's sessions unless given; agents: checkpoint over the largest checkpoint).
Trends agree on {n_agree} of {len(agreement)} metrics.</p>
<h2>Curves</h2>
<img alt="mice vs agents learning curves" src="data:image/png;base64,{img}">
<h2>Agreement of trends</h2>
<p class="note">rho: Spearman correlation of the metric with progress over all sessions of
each side; sign_agree: same sign; curve_r: Pearson r of the pooled curves interpolated onto
n_grid common progress points; agree: both.</p>
{_table_html(agreement)}
<h2>Pooled curves per progress bin</h2>
{_table_html(curves, max_rows=400)}
<h2>Mice sessions</h2>
{_table_html(cols(mice))}
<h2>Agent checkpoints</h2>
{_table_html(cols(agents))}
<h2>Notes</h2><ul>{note_html}</ul>
<p class="note">behavtrack {__version__}</p>
</body></html>
"""


def compare(
    mice_dir: str | os.PathLike,
    agents_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    metrics: Sequence[str] | None = None,
    n_bins: int = 5,
    n_boot: int = 2000,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    quiet: bool = False,
) -> CompareResult:
    """Compare mice and agents over training progress and write the report.

    Parameters
    ----------
    mice_dir
        ``behavtrack stats`` output of the mice (or classify folders).
    agents_dir
        ``behavtrack stats`` output of the agents, or rollout files / a folder of them.
    out_dir
        Output folder: ``compare_curves.csv``, ``agreement.csv``, ``compare.png``,
        ``report.html``.
    metrics
        Metrics to compare (default :data:`COMPARE_METRICS`, those present on both sides).
    n_bins
        Progress bins per side for the pooled curves.
    n_boot
        Bootstrap resamples of pairs (runs) for the CIs.
    n_shifts, seed, sync_limit, episode_steps, quiet
        For inputs analysed on the spot (see :func:`load_side`).

    Returns
    -------
    CompareResult

    """
    from behavtrack.learning.cohort import require_counts, write_csv
    from behavtrack.learning.figures import save_figure

    require_counts(bins=n_bins, boot=n_boot, shifts=n_shifts)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():  # checked before the work
        raise InputError(out_dir, "is a file, not an output folder", "give a folder with --out")
    opts = dict(n_shifts=n_shifts, seed=seed, sync_limit=sync_limit,
                episode_steps=episode_steps, quiet=quiet)
    mice = load_side(mice_dir, "mice", **opts)
    agents = load_side(agents_dir, "agents", **opts)
    metrics = [m for m in (metrics or COMPARE_METRICS)
               if m in mice and m in agents
               and (mice[m].notna().any() or agents[m].notna().any())]
    if not metrics:
        raise InputError(mice_dir, "no metric is present for both mice and agents",
                         "give sessions tables written by behavtrack stats")
    both = pd.concat([mice, agents], ignore_index=True)
    both["progress_bin"] = bin_progress(both["progress"], n_bins)
    curves = learning_curves(both, metrics, x="progress_bin", n_boot=n_boot, seed=seed)
    agreement = trend_agreement(mice, agents, curves, metrics)
    notes = []
    for name, tab in (("mice", mice), ("agents", agents)):
        if "notes" in tab:
            for pair, sess, note in tab[["pair", "session", "notes"]].itertuples(index=False):
                if isinstance(note, str) and note:
                    notes.append(f"{name} {pair} session {sess}: {note}")
    if agents["progress"].nunique() < 3:
        notes.append("agents have fewer than 3 checkpoints: their trends are not tested")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(curves, out_dir / "compare_curves.csv")
    write_csv(agreement, out_dir / "agreement.csv")
    fig = _figure(mice, agents, curves, metrics)
    figure = save_figure(fig, out_dir / "compare.png")
    # the report embeds the PNG just written (drawing the figure once)
    page = _html("behavtrack: mice vs agents", figure.read_bytes(), agreement, mice, agents,
                 curves, notes)
    report = atomic_write_text(out_dir / "report.html", page)
    return CompareResult(mice=mice, agents=agents, curves=curves, agreement=agreement,
                         report=report, figure=figure)
