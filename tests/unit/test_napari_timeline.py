"""The ethogram timeline widget on its own (Qt and a display, no napari viewer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("qtpy", reason="Qt bindings are not installed (extra behavtrack[napari])")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")

from behavtrack.napari.timeline import BEHAVIOR_COLORS, EthogramTimeline  # noqa: E402

pytestmark = pytest.mark.napari

FPS = 10.0
BOUTS = pd.DataFrame({
    "individual": ["mouse1", "mouse1", "mouse2"],
    "behavior": ["approach", "waiting", "interaction"],
    "start_frame": [0, 20, 50], "stop_frame": [10, 40, 70],
    "confidence": [0.9, 0.3, np.nan],
})


@pytest.fixture
def timeline(qtbot):
    w = EthogramTimeline(FPS, 100, ["mouse1", "mouse2"])
    qtbot.addWidget(w)
    w.set_bouts(BOUTS)
    return w


def _bars(ax):
    """(face colour hex, hatched, (x, width) spans) of each drawn bar group."""
    from matplotlib.colors import to_hex

    out = []
    for coll in ax.collections:  # one per broken_barh call
        spans = [(round(p.vertices[:, 0].min(), 6),
                  round(p.vertices[:, 0].max() - p.vertices[:, 0].min(), 6))
                 for p in coll.get_paths()]
        out.append((to_hex(coll.get_facecolor()[0]), coll.get_hatch() is not None, spans))
    return sorted(out)


def test_bars_per_bout_in_seconds_hatched_when_doubtful(timeline):
    bars = _bars(timeline.ax)
    assert bars == sorted([
        (BEHAVIOR_COLORS["approach"], False, [(0.0, 1.0)]),
        (BEHAVIOR_COLORS["waiting"], True, [(2.0, 2.0)]),  # confidence 0.3 < 0.6
        (BEHAVIOR_COLORS["interaction"], False, [(5.0, 2.0)]),  # unknown: not hatched
    ])
    assert [t.get_text() for t in timeline.ax.get_yticklabels()] == ["mouse2", "mouse1"]
    assert timeline.ax.get_xlim() == (0.0, 10.0)


def test_cursor_span_and_mark(timeline):
    timeline.set_cursor(45)
    assert timeline._cursor_line.get_xdata()[0] == pytest.approx(4.55)  # centre of frame 45
    timeline.set_span(4.0)
    assert timeline.ax.get_xlim() == pytest.approx((2.5, 6.5))
    timeline.set_cursor(99)  # the window stops at the end
    assert timeline.ax.get_xlim() == pytest.approx((6.0, 10.0))
    timeline.set_span(None)
    assert timeline.ax.get_xlim() == pytest.approx((0.0, 10.0))
    timeline.set_mark(30)
    assert timeline._mark_line.get_xdata()[0] == pytest.approx(3.0)
    timeline.set_mark(None)
    assert timeline._mark_line is None


def test_rows_and_clicks_jump_to_bout_starts(timeline):
    assert timeline.row_at(1.0) == "mouse1" and timeline.row_at(0.2) == "mouse2"
    assert timeline.row_at(2.0) is None
    got = []
    timeline.frame_clicked.connect(lambda *args: got.append(args))
    timeline.click(2.55, 1.0)  # inside mouse1's waiting bout 20-40
    timeline.click(4.5, 1.0)  # between bouts: the clicked frame
    timeline.click(5.0, 3.0)  # no row
    timeline.click(-1.0, 0.0)  # before the start: frame 0
    assert got == [(20, "mouse1", 25), (45, "mouse1", 45), (50, "", 50), (0, "mouse2", 0)]


def test_selected_row_is_outlined(timeline):
    assert timeline.selected == "mouse1"
    timeline.set_selected("mouse2")
    assert timeline.selected == "mouse2"
    outlined = [p for p in timeline.ax.patches if not p.get_fill()]
    assert len(outlined) == 1
    ys = outlined[0].get_path().transformed(outlined[0].get_patch_transform()).vertices[:, 1]
    assert ys.min() == pytest.approx(-0.48) and ys.max() == pytest.approx(0.48)  # bottom row
