"""The ethogram raster PNG: one row per individual, one colour per behaviour, time on x."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from behavtrack.files import atomic_path
from behavtrack.io.bouts import BEHAVIORS

__all__ = ["BEHAVIOR_COLORS", "plot_ethogram", "prepare_plotting"]

#: Colour of each behaviour in rasters (colour-blind friendly).
BEHAVIOR_COLORS = {"approach": "#E69F00", "waiting": "#56B4E9", "interaction": "#CC79A7",
                   "other": "#EEEEEE"}


def prepare_plotting() -> None:
    """Do ahead what a process's first :func:`plot_ethogram` spends before drawing.

    Imports matplotlib's figure and Agg canvas and lays out a text (which loads the font):
    about 0.4 s, e.g. in a process that waits for the labels meanwhile.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap  # noqa: F401 - imported for plot_ethogram
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch  # noqa: F401 - imported for plot_ethogram

    fig = Figure(figsize=(1, 1), dpi=10)
    fig.text(0.5, 0.5, "0 s", fontsize=9)
    FigureCanvasAgg(fig).draw()


def plot_ethogram(labels: dict[str, np.ndarray], fps: float, path: str | os.PathLike,
                  title: str = "", max_columns: int = 4000) -> Path:
    """Draw and save the raster (matplotlib, Agg).

    Parameters
    ----------
    labels
        individual -> behaviour name per frame.
    fps
        Frames per second (x axis in minutes or seconds).
    path
        PNG to write (atomically).
    title
        Figure title.
    max_columns
        Frames are subsampled to at most this many columns (the figure is ~10 inches wide).

    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    inds = list(labels)
    n = max((len(v) for v in labels.values()), default=0)
    step = max(1, int(np.ceil(n / max_columns))) if n else 1
    code = {b: i for i, b in enumerate(BEHAVIORS)}
    grid = np.full((max(len(inds), 1), max((n + step - 1) // step, 1)), code["other"])
    for r, ind in enumerate(inds):
        lab = np.asarray(labels[ind], dtype=object)[::step]
        grid[r, :len(lab)] = [code.get(v, code["other"]) for v in lab]
    minutes = n / fps >= 120
    extent_x = (n / fps / 60) if minutes else n / fps
    height = 1.4 + 0.6 * len(inds)
    fig = Figure(figsize=(10, height), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    cmap = ListedColormap([BEHAVIOR_COLORS[b] for b in BEHAVIORS])
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5,
              vmax=len(BEHAVIORS) - 0.5, extent=(0, max(extent_x, 1e-9), len(inds) - 0.5, -0.5))
    ax.set_yticks(range(len(inds)), inds)
    ax.set_xlabel("time (min)" if minutes else "time (s)")
    if title:
        ax.set_title(title, fontsize=9)
    fig.legend(handles=[Patch(color=BEHAVIOR_COLORS[b], label=b) for b in BEHAVIORS],
               loc="lower center", ncol=len(BEHAVIORS), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.3 / height, 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
