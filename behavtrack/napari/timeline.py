"""The ethogram timeline: bouts per individual as coloured bars, a cursor, click to jump.

:class:`EthogramTimeline` is a Qt widget (a matplotlib canvas) that draws one row per
individual with a bar per bout, coloured by behaviour (hatched when the classifier's mean
posterior over the bout is below ``low_confidence``), and a vertical cursor at the current
frame. It knows nothing of napari: :class:`behavtrack.napari._widget.ReviewWidget` moves the
cursor when the viewer's frame slider moves and listens to ``frame_clicked`` to move the slider.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from behavtrack.io.bouts import BEHAVIORS

__all__ = ["EthogramTimeline", "BEHAVIOR_COLORS"]

#: Colour of each behaviour's bars.
BEHAVIOR_COLORS = {
    "approach": "#1f77b4",
    "waiting": "#ff7f0e",
    "interaction": "#2ca02c",
    "other": "#b0b0b0",
}


class EthogramTimeline(QWidget):
    """Bouts per individual over time, with a frame cursor.

    Parameters
    ----------
    fps
        Frames per second (the axis is in seconds; bouts and the cursor are given in frames).
    n_frames
        Number of frames of the session.
    individuals
        Rows, top to bottom.
    parent
        Parent widget.

    Attributes
    ----------
    frame_clicked : Signal(int, str, int)
        Emitted on a click: ``(frame to jump to, individual, clicked frame)``. A click on a bout
        jumps to the bout's first frame; elsewhere to the clicked frame.

    """

    frame_clicked = Signal(int, str, int)

    def __init__(self, fps: float, n_frames: int, individuals: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fps = float(fps)
        self.n_frames = int(n_frames)
        self.individuals = list(individuals)
        self.cursor = 0
        self.selected: str | None = self.individuals[0] if self.individuals else None
        self.mark: int | None = None
        self.span_s: float | None = None
        self.low_confidence = 0.6  # bouts with a lower mean posterior are hatched
        self._bouts = pd.DataFrame(columns=["individual", "behavior", "start_frame",
                                            "stop_frame"])
        self.figure = Figure(figsize=(8, 1.2 + 0.5 * len(self.individuals)), dpi=100)
        self.figure.set_facecolor("#262930")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.canvas.setMinimumHeight(110 + 25 * len(self.individuals))
        self.ax = self.figure.add_axes((0.1, 0.3, 0.88, 0.55))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.canvas.mpl_connect("button_press_event", self._on_click)
        self._cursor_line = None
        self._mark_line = None
        self.redraw()

    # ---- drawing -------------------------------------------------------------------------
    def set_bouts(self, bouts: pd.DataFrame) -> None:
        """Draw these bouts (a bouts table with frames)."""
        self._bouts = bouts
        self.redraw()

    def redraw(self) -> None:
        """Redraw bars, rows and cursor."""
        ax = self.ax
        ax.clear()
        for legend in list(self.figure.legends):
            legend.remove()
        ax.set_facecolor("#1e1e1e")
        n_rows = max(len(self.individuals), 1)
        for row, ind in enumerate(self.individuals):
            b = self._bouts[self._bouts["individual"] == ind]
            y = n_rows - 1 - row
            conf = pd.to_numeric(b["confidence"], errors="coerce") if "confidence" in b \
                else pd.Series(np.nan, index=b.index)
            doubtful = (conf < self.low_confidence).to_numpy()
            for beh in BEHAVIORS:
                for low in (False, True):
                    sel = b[(b["behavior"] == beh).to_numpy() & (doubtful == low)]
                    if not len(sel):
                        continue
                    start = sel["start_frame"].to_numpy(dtype=float) / self.fps
                    width = sel["stop_frame"].to_numpy(dtype=float) / self.fps - start
                    ax.broken_barh(list(zip(start, width, strict=True)), (y - 0.4, 0.8),
                                   facecolors=BEHAVIOR_COLORS[beh], edgecolor="#262930",
                                   linewidth=0.5, hatch="////" if low else None)
            if ind == self.selected:
                ax.axhspan(y - 0.48, y + 0.48, fill=False, edgecolor="white", linewidth=1.2)
        ax.set_yticks(range(n_rows))
        ax.set_yticklabels(list(reversed(self.individuals)) or [""], color="white")
        ax.set_ylim(-0.6, n_rows - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 5, 10]))
        self._set_xlim()
        ax.set_xlabel("time (s)", color="white", labelpad=1)
        ax.tick_params(colors="white")
        self.figure.legend(handles=[Patch(color=BEHAVIOR_COLORS[b], label=b) for b in BEHAVIORS],
                           loc="upper right", ncol=len(BEHAVIORS), frameon=False, fontsize=8,
                           labelcolor="white", borderaxespad=0.2)
        x = (self.cursor + 0.5) / self.fps
        self._cursor_line = ax.axvline(x, color="red", linewidth=1.5)
        self._mark_line = None
        if self.mark is not None:
            self._mark_line = ax.axvline(self.mark / self.fps, color="yellow", linestyle="--",
                                         linewidth=1)
        self.canvas.draw_idle()

    def _set_xlim(self) -> None:
        total = max(self.n_frames, 1) / self.fps
        if not self.span_s or self.span_s >= total:
            self.ax.set_xlim(0, total)
            return
        lo = min(max(self.cursor / self.fps - self.span_s / 2, 0.0), total - self.span_s)
        self.ax.set_xlim(lo, lo + self.span_s)

    def set_span(self, seconds: float | None) -> None:
        """Show ``seconds`` of the session around the cursor (``None`` or 0: all of it)."""
        self.span_s = float(seconds) if seconds else None
        self._set_xlim()
        self.canvas.draw_idle()

    def set_cursor(self, frame: int) -> None:
        """Move the cursor to ``frame`` (cheap: only the line and the window move)."""
        self.cursor = int(frame)
        if self._cursor_line is not None:
            x = (self.cursor + 0.5) / self.fps
            self._cursor_line.set_xdata([x, x])
            if self.span_s:
                self._set_xlim()
            self.canvas.draw_idle()

    def set_selected(self, individual: str) -> None:
        """Highlight the row of ``individual`` (the one edits apply to)."""
        self.selected = individual
        self.redraw()

    def set_mark(self, frame: int | None) -> None:
        """Show (or hide, with ``None``) the start mark of a range."""
        self.mark = frame
        self.redraw()

    # ---- clicks --------------------------------------------------------------------------
    def row_at(self, y: float) -> str | None:
        """Individual of the row at data height ``y``."""
        n_rows = len(self.individuals)
        row = n_rows - 1 - int(np.round(y))
        return self.individuals[row] if 0 <= row < n_rows else None

    def click(self, time_s: float, y: float) -> None:
        """Act as a click at ``(time_s, y)`` in data coordinates (what a mouse click does)."""
        ind = self.row_at(y)
        f = int(np.clip(np.floor(time_s * self.fps), 0, self.n_frames - 1))
        target = f
        if ind is not None:
            b = self._bouts
            hit = b[(b["individual"] == ind) & (b["start_frame"] <= f) & (b["stop_frame"] > f)]
            if len(hit):
                target = int(hit["start_frame"].iloc[0])
        self.frame_clicked.emit(target, ind or "", f)

    def _on_click(self, event) -> None:  # noqa: ANN001 (matplotlib MouseEvent)
        if event.inaxes is not self.ax or event.xdata is None:
            return
        self.click(event.xdata, event.ydata)
