"""``behavtrack demo`` end to end on a tiny cohort: the report, the batch outputs, the tracking.

One demo run (2 pairs x 2 days x 30 s, the first session as video only, agents from the
rollouts shipped in the package) is shared by the tests of this module. The report is checked
as a user would read it (self-contained, figures embedded, mice and agents tables with the
values of the simulated truth), the video session against the simulator's truth pose, and the
CLI's refusal of a folder it did not write. The headless-browser check runs only when
``chromium`` is on PATH.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from behavtrack.demo import DemoResult, run_demo, shipped_rollouts_dir
from behavtrack.files import progress_bars

ROOT = Path(__file__).resolve().parents[2]
PAIRS, DAYS, DURATION_S, FPS, SEED = 2, 2, 30.0, 30.0, 0
#: Median centroid error of the built-in tracker on the rendered session, in pixels (the
#: simulated mice are about 100 px from nose to tail base, so this is 5 % of a body length).
MAX_MEDIAN_CENTROID_ERROR_PX = 5.0
CLASSIFY_OUTPUTS = ("ethogram.csv", "bouts.csv", "binary.csv", "provenance.json",
                    "session.json", "events.csv", "batch.json")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The tiny demo, run once for the module (its stage lines kept in ``demo.printed``)."""
    import contextlib

    out = tmp_path_factory.mktemp("demo") / "demo"
    stdout, stderr = io.StringIO(), io.StringIO()
    # bars and stage lines on, as from a terminal (the suite turns them off)
    with progress_bars(True), contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        res = run_demo(out, pairs=PAIRS, days=DAYS, duration_s=DURATION_S, fps=FPS, seed=SEED,
                       jobs=1, agents=shipped_rollouts_dir())
    res.printed = (stdout.getvalue(), stderr.getvalue())
    return res


class _Page(HTMLParser):
    """Every tag's attributes, and the tables of the page under their preceding heading."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.styles: list[str] = []
        self._heading: str | None = None
        self._in_heading = False
        self._in_style = False
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag in ("h1", "h2", "h3"):
            self._in_heading, self._heading = True, ""
        elif tag == "style":
            self._in_style = True
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False
        elif tag == "style":
            self._in_style = False
        elif tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._heading or ""] = self._rows
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self._heading = (self._heading or "") + data
        if self._in_style:
            self.styles.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _page(report: Path) -> _Page:
    page = _Page()
    page.feed(report.read_text(encoding="utf-8"))
    return page


def _table(page: _Page, heading: str) -> pd.DataFrame:
    rows = page.tables[heading]
    return pd.DataFrame(rows[1:], columns=rows[0])


def _decode_png(src: str):
    from PIL import Image

    assert src.startswith("data:image/png;base64,"), src[:40]
    raw = base64.b64decode(src.split(",", 1)[1], validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(raw)).convert("RGB")


def test_report_is_self_contained_with_figures_embedded(demo: DemoResult):
    assert demo.report == demo.out_dir / "report" / "report.html"
    assert demo.report.is_file()
    page = _page(demo.report)
    links = [(tag, k, v) for tag, k, v in page.attrs if k in ("src", "href", "srcset", "data")]
    external = [v for _, _, v in links if not v.startswith(("data:", "#"))]
    assert not external, f"report points outside itself: {external}"
    assert not re.search(r"url\(\s*['\"]?(?!data:)", "".join(page.styles))
    assert not re.search(r"https?://", demo.report.read_text(encoding="utf-8"))
    images = [v for tag, k, v in page.attrs if tag == "img" and k == "src"]
    assert images, "the report has no figure"
    for src in images:
        img = _decode_png(src)
        assert img.width >= 400 and img.height >= 300
        pixels = np.asarray(img, dtype=float)
        assert pixels.std() > 10, "embedded figure is blank"
        colour = pixels.max(axis=-1) - pixels.min(axis=-1)
        assert (colour > 60).mean() > 1e-3, "embedded figure has no coloured curves"


def test_report_shows_mice_against_simulated_truth_and_the_shipped_agents(demo: DemoResult):
    page = _page(demo.report)
    mice = _table(page, "Mice sessions")
    assert sorted(zip(mice["pair"], mice["session"].astype(int), strict=True)) == [
        (f"pair{p + 1:02d}", d) for p in range(PAIRS) for d in range(DAYS)]
    for rec in mice.to_dict("records"):
        folder = demo.out_dir / "sessions" / rec["pair"] / f"day{int(rec['session']) + 1:02d}"
        truth = json.loads((folder / "session.json").read_text(encoding="utf-8"))
        assert float(rec["success_rate"]) == pytest.approx(truth["success_rate"], abs=1e-3)
        assert int(rec["n_pokes"]) == truth["n_pokes"]
    agents = _table(page, "Agent checkpoints")
    checkpoints = sorted(int(p.stem.split("_")[-1])
                         for p in shipped_rollouts_dir().glob("checkpoint_*.mat"))
    assert len(agents) == len(checkpoints) == 3
    assert (agents["n_pokes"].astype(int) > 0).all()
    rates = agents["success_rate"].astype(float)
    assert ((rates >= 0) & (rates <= 1)).all()
    agreement = _table(page, "Agreement of trends")
    assert "success_rate" in set(agreement["metric"])
    text = demo.report.read_text(encoding="utf-8")
    assert f"{PAIRS} mouse pairs ({PAIRS * DAYS} sessions)" in " ".join(text.split())
    assert f"({len(checkpoints)} checkpoints)" in text


def test_batch_outputs_exist_for_every_session(demo: DemoResult):
    sessions = sorted(p.parent.relative_to(demo.out_dir / "sessions").as_posix()
                      for p in (demo.out_dir / "sessions").rglob("session.json"))
    assert len(sessions) == PAIRS * DAYS
    assert demo.failed == []
    assert pd.read_csv(demo.out_dir / "batch" / "failures.csv").empty
    n_frames = int(DURATION_S * FPS)
    for sid in sessions:
        out = demo.out_dir / "batch" / "sessions" / sid
        missing = [n for n in CLASSIFY_OUTPUTS if not (out / n).is_file()]
        assert not missing, f"{sid}: {missing} missing"
        eth = pd.read_csv(out / "ethogram.csv")
        assert len(eth) == 2 * n_frames
        assert set(eth["individual"]) == {"mouse1", "mouse2"}
    table = pd.read_csv(demo.out_dir / "batch" / "stats" / "sessions.csv")
    assert len(table) == PAIRS * DAYS
    summary = json.loads((demo.out_dir / "demo.json").read_text(encoding="utf-8"))
    assert summary["failed"] == [] and Path(summary["report"]) == demo.report
    assert summary["timings_s"] == demo.timings and demo.timings
    assert all(v >= 0 for v in demo.timings.values())


def test_video_session_is_tracked_close_to_the_truth(demo: DemoResult):
    from behavtrack.io.pose import load_pose
    from behavtrack.simulate import simulate_cohort

    source = demo.out_dir / "sessions" / "pair01" / "day01"
    assert (source / "video.mp4").is_file() and not (source / "pose.h5").exists()
    out = demo.out_dir / "batch" / "sessions" / "pair01" / "day01"
    assert (out / "pose.h5").is_file()
    meta = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert meta["pose_source"] == "tracked" and meta["pair"] == "pair01"

    summary = json.loads((demo.out_dir / "demo.json").read_text(encoding="utf-8"))
    err = summary["tracking"]["median_centroid_error_px"]
    assert math.isfinite(err) and 0 <= err < MAX_MEDIAN_CENTROID_ERROR_PX

    # the same figure from the simulator's truth, recomputed here from the tracked file
    first = next(iter(simulate_cohort(PAIRS, DAYS, duration_s=DURATION_S, fps=FPS, seed=SEED)))
    truth = first.truth_pose
    tracked = load_pose(out / "pose.h5", fps=FPS)
    n = min(truth.sizes["time"], tracked.sizes["time"])
    assert n == int(DURATION_S * FPS)
    dist = np.concatenate([np.linalg.norm(
        truth.position.sel(keypoint="centroid", individual=ind).values[:n]
        - tracked.position.sel(keypoint="centroid", individual=ind).values[:n], axis=-1)
        for ind in ("mouse1", "mouse2")])
    assert np.nanmedian(dist) == pytest.approx(err, abs=1e-6)
    assert np.isfinite(dist).mean() > 0.95, "tracker lost the mice in many frames"


def test_cli_refuses_a_folder_it_did_not_write(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]):
    from behavtrack.cli import main

    folder = tmp_path / "my-data"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    assert main(["demo", "--out", str(folder)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("behavtrack demo: error: ")
    assert str(folder) in lines[0] and "--out" in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me\n"
    # a file given as --out is refused the same way, and left as it was
    assert main(["demo", "--out", str(folder / "notes.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a file" in err and len(err.splitlines()) == 1
    assert (folder / "notes.txt").read_text() == "keep me\n"


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0"], "--jobs: must be at least 1"),
    (["--agents", "no-such-rollouts"], "no-such-rollouts: no such file or folder"),
])
def test_bad_options_are_refused_before_any_work(tmp_path: Path, args: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]):
    from behavtrack.cli import main

    assert main(["-q", "demo", "--out", str(tmp_path / "d"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d").exists()  # nothing simulated


def test_a_demo_stopped_half_way_is_replaced_by_the_next_run(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    import behavtrack.batch
    from behavtrack.demo import run_demo

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(behavtrack.batch, "run_batch", interrupted)
    out = tmp_path / "demo"
    for _ in range(2):  # the second run replaces the first's leftovers instead of refusing
        with pytest.raises(KeyboardInterrupt):
            run_demo(out, pairs=1, days=2, duration_s=10.0)
        assert (out / "sessions").is_dir()


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium is not on PATH (apt-get install -y chromium to run the "
                           "headless-browser check of the report)")
def test_report_renders_with_its_figure_in_headless_chromium(demo: DemoResult, tmp_path: Path):
    from PIL import Image

    png = tmp_path / "report.png"
    proc = subprocess.run(
        ["bash", str(ROOT / "docs" / "screenshot_report.sh"), str(demo.report), str(png)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    img = Image.open(png).convert("RGB")
    assert img.size == (1280, 2400)
    pixels = np.asarray(img, dtype=float)
    dark = (pixels.mean(axis=-1) < 128).mean()
    assert dark > 0.005, "screenshot is blank: no text or figure drawn"
    colour = pixels.max(axis=-1) - pixels.min(axis=-1)
    assert (colour > 60).mean() > 1e-3, "screenshot shows no coloured figure"


def test_report_is_honest_about_simulated_mice_and_too_few_points(demo: DemoResult):
    """Regression (issue 14): "Trends agree on 7 of 10 metrics" from 3 agent checkpoints,
    nothing saying the mice are simulated, no ethogram or video frame to look at."""
    text = " ".join(demo.report.read_text(encoding="utf-8").split())
    assert "are SIMULATED (behavtrack simulate)" in text
    assert "Trends are not compared" in text and "no power" in text
    assert "Trends agree on" not in text
    page = _page(demo.report)
    alts = [v for tag, k, v in page.attrs if tag == "img" and k == "alt"]
    assert alts == ["mice vs agents learning curves", "Ethograms of a few sessions",
                    "Tracked pose on a video frame"]
    assert "pose pose.h5 on the SIMULATED (rendered) video video.mp4" not in text  # in the PNG
    assert "The video was rendered by the simulator." in text
    agreement = _table(page, "Agreement of trends")
    assert set(agreement["testable"]) == {"False"} and set(agreement["agree"]) == {"False"}
    mice = _table(page, "Mice sessions")
    assert set(mice["data"]) == {"simulated"} and set(mice["bouts_source"]) == {"classified"}
    for name in ("ethograms.png", "pose_on_video.png"):
        assert (demo.out_dir / "report" / name).is_file()


def test_stage_lines_and_summary_on_one_stream(demo: DemoResult):
    """Regression (issue 14): stage lines went to stderr, the summary to stdout."""
    out, err = demo.printed
    stages = [line for line in out.splitlines() if line.startswith("[")]
    assert len(stages) == 6 and all(" ... " not in s for s in stages)
    assert stages[-1].startswith("[compare mice with agents") and "done in" in stages[-1]
    assert "tracker vs truth" in out
    assert not [line for line in err.splitlines() if line.startswith("[")]
    assert "%|" in err  # bars on stderr
    # none empty ("sessions: 0session"); a rate such as "1.00session/s" is not one
    assert not re.search(r"(?<![\d.])0session", err)
