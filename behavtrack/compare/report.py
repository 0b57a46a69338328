"""Mice vs agents on one axis of training progress: curves, trend agreement, HTML report.

:func:`compare` takes the mice's and the agents' sessions tables (from ``behavtrack stats``
output folders, or computed on the spot from classify folders / rollout files), pools each
side's metric per progress bin (mean with stratified-bootstrap CI), and per metric says
whether the two trends agree:

- ``trend_mice`` / ``trend_agents``: Spearman's rho of the metric against progress over all
  sessions of that side, and its p-value;
- ``sign_agree``: both rhos have the same sign;
- ``curve_r``: Pearson's r between the two pooled curves interpolated onto a common grid of
  progress points (inside the range both sides cover), ``n_grid`` of them;
- ``testable``: both sides have at least :data:`MIN_TREND_POINTS` distinct progress points.
  With fewer, a rank correlation has no power (with 3 points every p-value is 0.33 or 1), so
  the trends are not compared: ``agree`` is False and ``verdict`` says why.

It draws one panel per metric, titled with the metric's column name, each axis with its unit
(mice and agents on two labelled y axes when their units differ: seconds against agent steps),
and builds a self-contained ``report.html`` page (figures embedded as base64 PNG, tables
inline, no external assets) that opens offline in a browser. The report says when the mice
are simulated and when their strategies are the simulator's truth bouts rather than classified
ones, and shows the ethogram rasters of a few sessions and one video frame with the tracked
pose drawn on it (when a session has a video).

Nothing here writes a file: :func:`compare_sides` compares in memory, :func:`compare_figure`
and :func:`report_html` draw and lay out; the ``compare`` workflow
(:func:`behavtrack.workflows.compare.compare`) writes the folder.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack import __version__
from behavtrack.errors import InputError
from behavtrack.learning.curves import bin_progress, learning_curves, spearman

__all__ = ["COMPARE_METRICS", "MIN_TREND_POINTS", "Comparison", "load_side", "compare_sides",
           "trend_agreement", "headline", "compare_figure", "ethogram_png", "report_html"]

#: Metrics compared by default (fractions share an axis; the others get twin axes).
COMPARE_METRICS: list[str] = [
    "success_rate", "chance_rate", "pokes_per_min", "waiting_frac_time",
    "interaction_frac_time", "approach_frac_time", "waited_frac", "interacted_frac",
    "approached_frac", "interaction_mean_bout_s",
]
_FRACTIONS = {"success_rate", "chance_rate", "waiting_frac_time", "interaction_frac_time",
              "approach_frac_time", "waited_frac", "interacted_frac", "approached_frac"}
#: A side with fewer distinct progress points than this has no power for a trend test.
MIN_TREND_POINTS = 5


@dataclass
class Comparison:
    """The tables of a comparison of mice and agents (in memory).

    Attributes
    ----------
    mice, agents
        Each side's sessions table.
    metrics
        The metrics compared.
    curves
        Pooled curves per progress bin (``source, metric, x, mean, mean_lo, mean_hi, ...``).
    agreement
        Per metric, whether the trends agree (:func:`trend_agreement`).
    headline
        The one-sentence verdict (:func:`headline`).
    notes
        What the reader must know about the data, then each session's notes.

    """

    mice: pd.DataFrame
    agents: pd.DataFrame
    metrics: list[str]
    curves: pd.DataFrame
    agreement: pd.DataFrame
    headline: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def testable(self) -> bool:
        """Whether every metric's trends could be tested (both sides with enough points)."""
        return bool(self.agreement["testable"].all()) if len(self.agreement) else False


def load_side(
    path: str | os.PathLike,
    source: str,
    *,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    jobs: int | None = 1,
) -> pd.DataFrame:
    """Return one side's sessions table.

    Parameters
    ----------
    path
        A ``behavtrack stats`` output folder (its ``sessions.csv``), a ``sessions.csv`` file,
        or inputs of :func:`behavtrack.learning.cohort.session_results` (classify folders,
        rollout files or folders of them), which are analysed here (no files written).
    source
        ``mice`` or ``agents``: rows of that source are kept.
    n_shifts, seed, sync_limit, episode_steps
        For inputs analysed here (see :func:`behavtrack.learning.cohort.session_results`).
    jobs
        Processes that analyse those inputs (``None``: the usable cores; see
        :func:`behavtrack.learning.cohort.session_results`). The same table either way.

    Returns
    -------
    pandas.DataFrame
        The sessions of that source (``pair`` as text).

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
                                     episode_steps=episode_steps, jobs=jobs)
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
        ``metric, rho_mice, p_mice, points_mice, rho_agents, p_agents, points_agents,
        sign_agree, curve_r, n_grid, testable, agree, verdict``: ``points_*`` are the
        distinct progress points of a side with a value; ``testable``: both sides have at
        least :data:`MIN_TREND_POINTS`; ``agree``: testable, signs agree and ``curve_r`` > 0
        (NaN-safe: False when unknown); ``verdict``: ``agree``, ``disagree`` or why the
        trends are not compared.

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
            row[f"points_{name}"] = int(len(np.unique(x[ok])))
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
        few = [f"{name}: {row[f'points_{name}']}" for name in ("mice", "agents")
               if int(row[f"points_{name}"]) < MIN_TREND_POINTS]
        row["testable"] = not few
        row["agree"] = bool(not few and row["sign_agree"] and np.isfinite(r) and r > 0)
        row["verdict"] = (f"no power: too few progress points ({', '.join(few)}; "
                          f"{MIN_TREND_POINTS} needed)" if few
                          else "agree" if row["agree"] else "disagree")
        rows.append(row)
    cols = ["metric", "rho_mice", "p_mice", "points_mice", "rho_agents", "p_agents",
            "points_agents", "sign_agree", "curve_r", "n_grid", "testable", "agree", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def headline(agreement: pd.DataFrame, mice: pd.DataFrame, agents: pd.DataFrame) -> str:
    """Return the one-sentence verdict of a comparison (what the CLI prints, the report leads with).

    When a side has fewer than :data:`MIN_TREND_POINTS` progress points, it says that the
    trend test has no power instead of counting agreements.
    """
    few = []
    for name, tab, unit in (("mice", mice, "sessions"), ("agents", agents, "checkpoints")):
        n = int(pd.to_numeric(tab["progress"], errors="coerce").dropna().nunique())
        if n < MIN_TREND_POINTS:
            few.append(f"the {name} have {n} progress point{'s' if n != 1 else ''} ({unit})")
    if few:
        return (f"Trends are not compared: {' and '.join(few)}, fewer than "
                f"{MIN_TREND_POINTS}, so a trend test has no power; the curves are "
                "descriptive only.")
    n_agree = int(agreement["agree"].sum()) if len(agreement) else 0
    return f"Trends agree on {n_agree} of {len(agreement)} metrics."


def compare_figure(mice: pd.DataFrame, agents: pd.DataFrame, curves: pd.DataFrame,
                   metrics: Sequence[str]) -> Any:
    """One panel per metric: each side's pooled mean and CI over progress.

    Panels are titled with the metric's column name. Fractions share one y axis; other
    metrics (seconds for mice, steps for agents) get two y axes, each labelled with its side
    and unit in that side's colour.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not saved).

    """
    from behavtrack.learning.figures import METRIC_LABELS, metric_axis_label, new_figure

    fig, axes = new_figure(len(metrics))
    colors = {"mice": "C0", "agents": "C1"}
    units = {"mice": "s", "agents": "steps"}
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
                a.set_ylabel(f"{src}: {metric_axis_label(metric, units[src])}", fontsize=7,
                             color=colors[src])
        if not twin:
            ax.set_ylabel(metric_axis_label(metric), fontsize=7)
        ax.set_title(f"{metric}\n({METRIC_LABELS.get(metric, metric)})", fontsize=8)
        ax.set_xlabel("training progress (0 = first, 1 = last session / checkpoint)",
                      fontsize=7)
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


def _data_banner(mice: pd.DataFrame) -> list[str]:
    """Return what the reader must know about the mice before reading further."""
    out = []
    if "data" in mice and (mice["data"] == "simulated").any():
        n = int((mice["data"] == "simulated").sum())
        everything = n == len(mice)
        out.append(f"{'All' if everything else n} of the {len(mice)} mouse sessions are "
                   "SIMULATED (behavtrack simulate): the mice are a model of the task, not "
                   "recorded animals.")
    if "bouts_source" in mice and (mice["bouts_source"] == "truth").any():
        n = int((mice["bouts_source"] == "truth").sum())
        out.append(f"{n} mouse session(s) were not classified: their strategy metrics use the "
                   "simulator's TRUTH bouts, not what behavtrack's classifier finds.")
    return out


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def report_html(title: str, png: bytes, agreement: pd.DataFrame, mice: pd.DataFrame,
                agents: pd.DataFrame, curves: pd.DataFrame, notes: list[str], verdict: str,
                extra_figures: Sequence[tuple[str, str, bytes]] = ()) -> str:
    """Return the self-contained HTML page of a comparison.

    Parameters
    ----------
    title
        The page's title.
    png
        The curves figure (PNG bytes, embedded).
    agreement, mice, agents, curves
        The tables of the comparison (:class:`Comparison`).
    notes
        Notes listed at the end.
    verdict
        The headline sentence.
    extra_figures
        ``(heading, caption, PNG bytes)`` of further sections.

    Returns
    -------
    str
        The HTML text.

    """
    keep = ["pair", "session", "progress", "data", "bouts_source", "n_pokes", "success_rate",
            "chance_rate", "chance_p", "waiting_frac_time", "interaction_frac_time",
            "approach_frac_time", "notes"]

    def cols(t: pd.DataFrame) -> pd.DataFrame:
        return t[[c for c in keep if c in t]]

    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
    banner = "".join(f'<p class="warn">{html.escape(b)}</p>' for b in _data_banner(mice))
    sections = "".join(f"<h2>{html.escape(head)}</h2>\n<p class='note'>{html.escape(cap)}</p>\n"
                       f"{_img(data, head)}\n" for head, cap, data in extra_figures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }}
table.t {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
table.t th, table.t td {{ padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
table.t th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }} .note {{ color: #666; font-size: 12px; }}
.warn {{ background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{banner}
<p>{mice['pair'].nunique()} mouse pairs ({len(mice)} sessions) and {agents['pair'].nunique()}
agent run(s) ({len(agents)} checkpoints) on one axis of training progress (mice: session
index over the pair's sessions unless given; agents: checkpoint over the largest checkpoint).
<b>{html.escape(verdict)}</b></p>
<h2>Curves</h2>
<p class="note">Each panel is titled with the metric's column name in the tables below; y axes
give the unit (mice in seconds, agents in environment steps: where they differ, each side has
its own labelled axis).</p>
{_img(png, "mice vs agents learning curves")}
<h2>Agreement of trends</h2>
<p class="note">rho: Spearman correlation of the metric with progress over all sessions of
each side; points: distinct progress points with a value; sign_agree: same sign; curve_r:
Pearson r of the pooled curves interpolated onto n_grid common progress points; testable: both
sides have at least {MIN_TREND_POINTS} progress points (with fewer, the test has no power);
agree: testable, same sign and curve_r &gt; 0.</p>
{_table_html(agreement)}
{sections}<h2>Pooled curves per progress bin</h2>
{_table_html(curves, max_rows=400)}
<h2>Mice sessions</h2>
{_table_html(cols(mice))}
<h2>Agent checkpoints</h2>
{_table_html(cols(agents))}
<h2>Notes</h2><ul>{note_html}</ul>
<p class="note">behavtrack {__version__}</p>
</body></html>
"""


def _shown_sessions(mice: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Up to ``k`` mouse sessions with bouts to show: early, middle and late in training."""
    if "path" not in mice:
        return mice.iloc[:0]
    ok = mice[[bool(p) and (Path(str(p)) / "bouts.csv").is_file()
               for p in mice["path"].fillna("").astype(str)]]
    ok = ok.assign(_p=pd.to_numeric(ok["progress"], errors="coerce")).sort_values(
        ["_p", "pair", "session"], kind="stable")
    if len(ok) <= k:
        return ok
    picks = sorted({round(i * (len(ok) - 1) / (k - 1)) for i in range(k)})
    return ok.iloc[picks]


def _origin(row: pd.Series) -> str:
    how = {"classified": "bouts classified by behavtrack",
           "truth": "the simulator's TRUTH bouts (not classified)",
           "review": "bouts corrected in the napari review"}.get(
        str(row.get("bouts_source", "")), "bouts as given")
    data = " - SIMULATED session" if row.get("data") == "simulated" else ""
    return how + data


def ethogram_png(mice: pd.DataFrame) -> bytes | None:
    """Ethogram rasters of a few mouse sessions (from their bouts.csv), or ``None``.

    Parameters
    ----------
    mice
        The mice's sessions table (its ``path`` column names classify output folders).

    Returns
    -------
    bytes or None
        The PNG, or ``None`` when no session with bouts is found.

    """
    from behavtrack.io.bouts import bouts_to_frames, read_bouts_csv
    from behavtrack.io.session import read_session_meta
    from behavtrack.learning.figures import figure_png_bytes, plot_ethograms

    rasters = []
    for _, row in _shown_sessions(mice).iterrows():
        folder = Path(str(row["path"]))
        try:
            meta = read_session_meta(folder)
            bouts = read_bouts_csv(folder / "bouts.csv")
            fps = float(meta["fps"])
            n = int(meta.get("n_frames") or round(float(meta["duration_s"]) * fps))
        except (InputError, OSError, ValueError, KeyError, TypeError):
            continue
        inds = [str(i) for i in (meta.get("individuals") or
                                 sorted(bouts["individual"].astype(str).unique()))]
        labels = {i: bouts_to_frames(bouts, n, fps, i) for i in inds}
        title = (f"{row['pair']} session {row['session']} (progress {float(row['progress']):.2f})"
                 f": {_origin(row)}")
        rasters.append((title, labels, fps))
    if not rasters:
        return None
    return figure_png_bytes(plot_ethograms(rasters))


def compare_sides(
    mice: pd.DataFrame,
    agents: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    n_bins: int = 5,
    n_boot: int = 2000,
    seed: int = 0,
    source: str | os.PathLike = "mice",
) -> Comparison:
    """Compare the mice's and the agents' sessions tables over training progress.

    Parameters
    ----------
    mice, agents
        Each side's sessions table (:func:`load_side`).
    metrics
        Metrics to compare (default :data:`COMPARE_METRICS`, those present on both sides).
    n_bins
        Progress bins per side for the pooled curves.
    n_boot
        Bootstrap resamples of pairs (runs) for the CIs.
    seed
        Seed of the bootstrap.
    source
        Named in the error when no metric is present on both sides.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        If no metric is present for both mice and agents.

    """
    metrics = [m for m in (metrics or COMPARE_METRICS)
               if m in mice and m in agents
               and (mice[m].notna().any() or agents[m].notna().any())]
    if not metrics:
        raise InputError(source, "no metric is present for both mice and agents",
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
    return Comparison(mice=mice, agents=agents, metrics=metrics, curves=curves,
                      agreement=agreement, headline=headline(agreement, mice, agents),
                      notes=_data_banner(mice) + notes)
