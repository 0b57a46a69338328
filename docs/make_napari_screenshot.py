"""Make docs/napari.png: the review viewer on a simulated session, with the timeline.

Run from the project root under a display (Xvfb works)::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
        .venv/bin/python docs/make_napari_screenshot.py [OUT.png]

It simulates a 90 s session of a pair on day 8 (``behavtrack.simulate``, rendered video),
classifies it with the shipped model (``behavtrack classify``), opens the classify output with
the review dock (bouts below 0.6 mean posterior are hatched), puts the cursor in a waiting bout
and saves a screenshot of the whole window.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path, duration_s: float = 90.0, seed: int = 3) -> Path:
    """Simulate and classify a session, open it for review, write the screenshot to ``out``."""
    import napari
    from matplotlib.image import imsave

    from behavtrack.napari._widget import open_session
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.workflows.classify import classify_session

    with tempfile.TemporaryDirectory() as tmp:
        sess = simulate_session(day=8, duration_s=duration_s, seed=seed)
        folder = write_session(sess, Path(tmp) / "pair00_day08", video=True)
        classified = classify_session(folder, Path(tmp) / "pair00_day08_classified",
                                      png=False).out_dir
        viewer = napari.Viewer(show=True)
        viewer.window._qt_window.resize(1500, 1000)
        widget = open_session(viewer, classified)
        b = widget.editor.bouts
        waiting = b[b["behavior"] == "waiting"]
        if len(waiting):
            row = waiting.iloc[0]
            widget.select_individual(row["individual"])
            widget.set_frame(int(row["start_frame"] + row["stop_frame"]) // 2)
        viewer.layers.selection.active = viewer.layers["video"]
        napari.qt.get_qapp().processEvents()  # let the dock take its room, then fit the frame
        viewer.reset_view()
        napari.qt.get_qapp().processEvents()
        shot = viewer.screenshot(canvas_only=False, flash=False)
        imsave(out, shot)
        viewer.close()
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "napari.png"
    print(main(target))
