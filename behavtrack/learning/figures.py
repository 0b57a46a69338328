"""Figures of the learning statistics: learning curves, ethogram rasters, a pose on its video frame.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot state, no
display needed) and written atomically. Panels are titled with the metric's column name in
``sessions.csv`` and their axes carry units (:func:`metric_axis_label`). matplotlib is
imported by the functions that draw: importing this module (to write figures drawn elsewhere,
e.g. by batch workers) does not load it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from behavtrack.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["METRIC_LABELS", "METRIC_UNITS", "metric_axis_label", "new_figure", "save_figure",
           "figure_png_bytes", "plot_learning_curves", "plot_ethograms", "plot_pose_on_frame"]

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
for _b in ("approach", "waiting", "interaction"):
    METRIC_LABELS.setdefault(f"{_b}_frac_time", f"{_b}: fraction of time")
    METRIC_LABELS.setdefault(f"{_b}_mean_bout_s", f"{_b}: mean bout")
    METRIC_LABELS.setdefault(f"{_b}_bouts_per_min", f"{_b}: bouts per min")

#: Units of the metrics: (unit when times are seconds, unit when they are agent steps).
METRIC_UNITS: dict[str, tuple[str, str]] = {
    "success_rate": ("fraction of pokes, 0-1", "fraction of pokes, 0-1"),
    "chance_rate": ("fraction of pokes, 0-1", "fraction of pokes, 0-1"),
    "chance_p": ("p-value", "p-value"),
    "pokes_per_min": ("pokes / min", "pokes / 60 steps"),
    "median_abs_delta_s": ("s", "steps"),
    "waited_frac": ("fraction of pokes, 0-1", "fraction of pokes, 0-1"),
    "interacted_frac": ("fraction of pokes, 0-1", "fraction of pokes, 0-1"),
    "approached_frac": ("fraction of pokes, 0-1", "fraction of pokes, 0-1"),
    "n_pokes": ("pokes", "pokes"),
}
for _b in ("approach", "waiting", "interaction"):
    METRIC_UNITS[f"{_b}_frac_time"] = ("fraction of time, 0-1", "fraction of time, 0-1")
    METRIC_UNITS[f"{_b}_mean_bout_s"] = ("s", "steps")
    METRIC_UNITS[f"{_b}_bouts_per_min"] = ("bouts / min", "bouts / 60 steps")


def metric_axis_label(metric: str, time_unit: str = "s") -> str:
    """Return the axis label of a metric with its unit, e.g. ``"pokes per min (pokes / min)"``.

    Parameters
    ----------
    metric
        A column of ``sessions.csv``.
    time_unit
        ``"s"`` (mice) or ``"steps"`` (agents): the unit of times and rates.

    """
    label = METRIC_LABELS.get(metric, metric)
    units = METRIC_UNITS.get(metric)
    if units is None:
        return label
    return f"{label} ({units[1] if time_unit == 'steps' else units[0]})"


def _time_unit(table: pd.DataFrame) -> str:
    if "time_unit" in table and len(table) and (table["time_unit"].astype(str) == "steps").all():
        return "steps"
    return "s"


def new_figure(n_panels: int, ncols: int = 3, size: float = 3.2, sharex: bool = False
               ) -> tuple[Figure, np.ndarray]:
    """Return a figure with a grid of ``n_panels`` axes (unused cells hidden).

    With ``sharex``, the panels share their horizontal axis, whose tick labels are drawn
    only under the lowest panel of each column.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    fig = Figure(figsize=(size * ncols + 0.5, size * 0.85 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharex=sharex).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    if sharex:  # a panel above a hidden cell is the lowest of its column
        for i, ax in enumerate(axes[:n_panels]):
            if _lowest_in_column(i, n_panels, ncols):
                ax.xaxis.set_tick_params(which="both", labelbottom=True)
    return fig, axes[:n_panels]


def _lowest_in_column(index: int, n_panels: int, ncols: int = 3) -> bool:
    """Whether panel ``index`` of :func:`new_figure`'s grid has no panel below it."""
    return index + max(1, min(ncols, n_panels)) >= n_panels


def _save_png(fig: Figure, target: Any, dpi: int) -> None:
    """``fig.savefig(target, format="png", dpi=dpi)``, the same bytes, faster.

    The figure is set to that dpi while it is saved, and back after: matplotlib then lays
    out (constrained layout) and draws at the one resolution, its text measurements shared
    between the two (about 12 % less time for a learning-curve grid). The layout is
    computed here, and the figure saved without its layout engine: ``savefig`` would
    compute it in a whole draw of the figure with nothing rendered, before the draw it
    renders (one draw instead of two; about 20 % less time for a learning-curve grid).
    """
    before, engine = fig.dpi, fig.get_layout_engine()
    fig.set_dpi(dpi)
    try:
        if engine is not None and fig.axes:  # as Figure.draw does
            from matplotlib import rc_context

            with contextlib.suppress(ValueError):  # (ignored there too)
                engine.execute(fig)
            # no engine at all (not the one these rcParams would give a figure without one)
            with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
                fig.set_layout_engine(None)
        fig.savefig(target, format="png", dpi=dpi)
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
        fig.set_dpi(before)


def save_figure(fig: Figure, path: str | os.PathLike, svg: bool = False, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG at ``path`` (and an SVG next to it if ``svg``), atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        _save_png(fig, tmp, dpi)
    if svg:
        with atomic_path(path.with_suffix(".svg"), suffix=".svg") as tmp:
            fig.savefig(tmp, format="svg")
    return path


def figure_png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """Return the PNG bytes of ``fig`` (for embedding in HTML)."""
    buf = io.BytesIO()
    _save_png(fig, buf, dpi)
    return buf.getvalue()


def plot_learning_curves(
    sessions: pd.DataFrame,
    curves: pd.DataFrame,
    metrics: Sequence[str],
    *,
    x: str = "session",
    title: str | None = None,
    xlabel: str | None = None,
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
    xlabel
        Label of the horizontal axis (default: the column's name).

    Returns
    -------
    matplotlib.figure.Figure

    """
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in metrics if m in sessions and sessions[m].notna().any()]
    fig, axes = new_figure(max(len(metrics), 1), sharex=True)
    if not metrics:
        axes[0].text(0.5, 0.5, "no metric to draw", ha="center", va="center")
        return fig
    xs = pd.to_numeric(sessions[x], errors="coerce").to_numpy(dtype=float)
    xs = xs[np.isfinite(xs)]
    if len(xs) and np.array_equal(xs, np.round(xs)):  # session indices: whole ticks
        axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))  # shared by every panel
    pairs = [sub.assign(_x=pd.to_numeric(sub[x], errors="coerce")).sort_values("_x")
             for _, sub in sessions.groupby("pair", sort=False)]
    for i, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        for sub in pairs:
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
        ax.set_title(metric, fontsize=9)  # the column's name in sessions.csv
        ax.set_ylabel(metric_axis_label(metric, _time_unit(sessions)), fontsize=7)
        ax.ticklabel_format(axis="y", useOffset=False)
        if _lowest_in_column(i, len(metrics)):
            ax.set_xlabel(xlabel or x, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_ethograms(
    rasters: Sequence[tuple[str, dict[str, np.ndarray], float]],
    max_columns: int = 2000,
) -> Figure:
    """Ethogram rasters of a few sessions, one panel each, on a common colour key.

    Parameters
    ----------
    rasters
        Per session ``(title, labels, fps)``: ``labels`` maps each individual to its
        behaviour per frame.
    max_columns
        Frames are subsampled to at most this many columns per panel.

    Returns
    -------
    matplotlib.figure.Figure

    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from behavtrack.export.raster import BEHAVIOR_COLORS
    from behavtrack.io.bouts import BEHAVIORS

    n_rows = sum(max(len(lab), 1) for _, lab, _ in rasters)
    fig = Figure(figsize=(10, 0.9 + 0.55 * n_rows + 0.55 * len(rasters)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(rasters), 1), 1, squeeze=False).ravel()
    code = {b: i for i, b in enumerate(BEHAVIORS)}
    cmap = ListedColormap([BEHAVIOR_COLORS[b] for b in BEHAVIORS])
    for ax, (title, labels, fps) in zip(axes, rasters, strict=False):
        inds = list(labels)
        n = max((len(v) for v in labels.values()), default=0)
        step = max(1, int(np.ceil(n / max_columns))) if n else 1
        grid = np.full((max(len(inds), 1), max((n + step - 1) // step, 1)), code["other"])
        for r, ind in enumerate(inds):
            lab = np.asarray(labels[ind], dtype=object)[::step]
            grid[r, :len(lab)] = [code.get(v, code["other"]) for v in lab]
        minutes = n / fps >= 120
        extent_x = n / fps / 60 if minutes else n / fps
        ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5,
                  vmax=len(BEHAVIORS) - 0.5,
                  extent=(0, max(extent_x, 1e-9), len(inds) - 0.5, -0.5))
        ax.set_yticks(range(len(inds)), inds, fontsize=7)
        ax.set_ylabel("animal", fontsize=7)
        ax.set_xlabel("time in the session (min)" if minutes else "time in the session (s)",
                      fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_title(title, fontsize=8, loc="left")
    fig.legend(handles=[Patch(color=BEHAVIOR_COLORS[b], label=b) for b in BEHAVIORS],
               loc="outside lower center", ncol=len(BEHAVIORS), fontsize=8, frameon=False)
    return fig


def plot_pose_on_frame(
    frame: np.ndarray,
    points: dict[str, dict[str, tuple[float, float]]],
    title: str = "",
) -> Figure:
    """One video frame with the tracked body parts of each animal drawn on it.

    Parameters
    ----------
    frame
        The frame, grey ``(height, width)`` or colour ``(height, width, 3)``.
    points
        individual -> body part -> ``(x, y)`` in pixels (NaN parts are skipped). Parts are
        joined nose - head - neck - centroid - tail_base where present.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = frame.shape[:2]
    fig = Figure(figsize=(7, 7 * h / max(w, 1) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(frame, cmap="gray" if frame.ndim == 2 else None, vmin=0, vmax=255,
              extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    chain = ("nose", "head", "neck", "centroid", "tail_base")
    for k, (ind, parts) in enumerate(points.items()):
        color = f"C{k % 10}"
        ok = {p: xy for p, xy in parts.items() if np.all(np.isfinite(xy))}
        line = [ok[p] for p in chain if p in ok]
        if len(line) >= 2:
            ax.plot(*np.array(line).T, color=color, lw=1.5, alpha=0.9)
        if ok:
            xy = np.array(list(ok.values()))
            ax.scatter(xy[:, 0], xy[:, 1], s=18, color=color, edgecolor="white", lw=0.6,
                       label=f"{ind} ({len(ok)} body parts)", zorder=3)
            if "nose" in ok:
                ax.annotate("nose", ok["nose"], xytext=(4, -4), textcoords="offset points",
                            color="white", fontsize=7)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xlabel("x (px)", fontsize=8)
    ax.set_ylabel("y (px)", fontsize=8)
    ax.tick_params(labelsize=7)
    if points:
        ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=9)
    return fig
