"""Figures of the learning statistics: a grid of learning curves, PNG (and SVG on request).

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot state, no
display needed) and written atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from behavtrack.files import atomic_path

__all__ = ["METRIC_LABELS", "new_figure", "save_figure", "figure_png_bytes",
           "plot_learning_curves"]

#: Axis labels of the metrics of ``sessions.csv``.
METRIC_LABELS: dict[str, str] = {
    "success_rate": "success rate",
    "chance_rate": "chance rate (shifts)",
    "pokes_per_min": "pokes per min",
    "median_abs_delta_s": "median |delta| to partner",
    "waiting_frac_time": "waiting: fraction of time",
    "interaction_frac_time": "interaction: fraction of time",
    "approach_frac_time": "approach: fraction of time",
    "interaction_mean_bout_s": "interaction: mean bout",
    "waited_frac": "pokes after waiting",
    "interacted_frac": "pokes after interaction",
    "approached_frac": "pokes after approach",
}


def new_figure(n_panels: int, ncols: int = 3, size: float = 3.2) -> tuple[Figure, np.ndarray]:
    """Return a figure with a grid of ``n_panels`` axes (unused cells hidden)."""
    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    fig = Figure(figsize=(size * ncols + 0.5, size * 0.85 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def save_figure(fig: Figure, path: str | os.PathLike, svg: bool = False, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG at ``path`` (and an SVG next to it if ``svg``), atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    if svg:
        with atomic_path(path.with_suffix(".svg"), suffix=".svg") as tmp:
            fig.savefig(tmp, format="svg")
    return path


def figure_png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """Return the PNG bytes of ``fig`` (for embedding in HTML)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def plot_learning_curves(
    sessions: pd.DataFrame,
    curves: pd.DataFrame,
    metrics: Sequence[str],
    *,
    x: str = "session",
    title: str | None = None,
) -> Figure:
    """Grid of learning curves: each pair as a thin line, the pooled mean with its CI band.

    Parameters
    ----------
    sessions
        ``sessions.csv`` table (per-pair lines).
    curves
        Pooled curves of :func:`behavtrack.learning.curves.learning_curves` on the same
        ``x`` (mean, its CI and the IQM are drawn).
    metrics
        Metrics to draw, one panel each (those absent or all NaN are skipped).
    x
        Column of the horizontal axis.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    """
    metrics = [m for m in metrics if m in sessions and sessions[m].notna().any()]
    fig, axes = new_figure(max(len(metrics), 1))
    if not metrics:
        axes[0].text(0.5, 0.5, "no metric to draw", ha="center", va="center")
        return fig
    for ax, metric in zip(axes, metrics, strict=False):
        for _, sub in sessions.groupby("pair", sort=False):
            sub = sub.assign(_x=pd.to_numeric(sub[x], errors="coerce")).sort_values("_x")
            ax.plot(sub["_x"], sub[metric], color="0.6", lw=0.7, alpha=0.6)
        if len(curves):
            c = curves[curves["metric"] == metric].sort_values("x")
            if len(c):
                ax.fill_between(c["x"], c["mean_lo"], c["mean_hi"], color="C0", alpha=0.25,
                                lw=0, label="95% CI (pairs)")
                ax.plot(c["x"], c["mean"], color="C0", lw=2, label="mean")
                ax.plot(c["x"], c["iqm"], color="C1", lw=1.2, ls="--", label="IQM")
        if metric in ("success_rate",) and "chance_rate" in sessions:
            ch = sessions.assign(_x=pd.to_numeric(sessions[x], errors="coerce")).groupby(
                "_x")["chance_rate"].mean()
            ax.plot(ch.index, ch.to_numpy(), color="C3", lw=1, ls=":", label="chance")
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=9)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlabel(x, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
