"""An archived NWB export as a session: classify, stats and batch --nwb (real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from behavtrack.cli import main

pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A simulated session classified, then exported to NWB, and the folder it came from."""
    from behavtrack.export.nwb import export_nwb
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.workflows.classify import classify_session

    root = tmp_path_factory.mktemp("arch")
    sess = simulate_session(day=4, duration_s=60.0, fps=30.0, seed=11)
    folder = write_session(sess, root / "sim" / "pair02" / "day05", pose_formats=("pose.h5",))
    classify_session(folder, root / "cls", png=False)
    nwb = export_nwb([root / "cls"], root / "nwb")[0].path
    return {"session": folder, "classified": root / "cls", "nwb": nwb, "root": root}


def test_classify_takes_an_nwb_file_as_a_session(archived, tmp_path):
    out = tmp_path / "again"
    assert main(["-q", "classify", str(archived["nwb"]), "--out", str(out)]) == 0
    before = pd.read_csv(archived["classified"] / "bouts.csv")
    after = pd.read_csv(out / "bouts.csv")
    cols = ["Subject", "Behavior", "Image index start", "Image index stop"]
    pd.testing.assert_frame_equal(before[cols], after[cols])  # its arena, events and fps
    meta = json.loads((out / "session.json").read_text())
    orig = json.loads((archived["classified"] / "session.json").read_text())
    assert (meta["pair"], meta["session"]) == (orig["pair"], orig["session"])
    assert meta["poke_source"] == "log"


def test_stats_reads_an_nwb_file_like_its_classify_folder(archived, tmp_path):
    for name, src in (("folder", archived["classified"]), ("nwb", archived["nwb"])):
        assert main(["-q", "stats", str(src), "--out", str(tmp_path / name)]) == 0
    a = pd.read_csv(tmp_path / "folder" / "sessions.csv")
    b = pd.read_csv(tmp_path / "nwb" / "sessions.csv")
    for col in ("pair", "session", "n_pokes", "success_rate", "chance_rate"):
        assert a[col].tolist() == b[col].tolist(), col


def test_batch_writes_nwb_files_and_adds_them_without_reclassifying(archived, tmp_path):
    from behavtrack.io.nwb import is_behavtrack_nwb

    out = tmp_path / "batch"
    assert main(["-q", "batch", str(archived["root"] / "sim"), "--out", str(out),
                 "--no-stats"]) == 0
    assert not (out / "nwb").exists()
    record = (out / "sessions" / "pair02" / "day05" / "ethogram.csv").stat().st_mtime_ns
    assert main(["-q", "batch", str(archived["root"] / "sim"), "--out", str(out),
                 "--no-stats", "--nwb"]) == 0
    files = sorted((out / "nwb").glob("*.nwb"))
    assert [f.name for f in files] == ["pair02_day05.nwb"] and is_behavtrack_nwb(files[0])
    # up to date: the NWB file was added, the classification was not redone
    assert (out / "sessions" / "pair02" / "day05" / "ethogram.csv").stat().st_mtime_ns == record


def test_review_opens_an_nwb_file_and_saves_corrections_beside_it(archived):
    from behavtrack.napari.editing import BoutEditor
    from behavtrack.napari.session import load_review_session, save_reviewed_bouts

    sess = load_review_session(archived["nwb"])
    bouts = pd.read_csv(archived["classified"] / "bouts.csv")
    assert len(sess.bouts) == len(bouts) and sess.arena is not None and sess.pose is not None
    assert sess.individuals == ["mouse1", "mouse2"]
    ed = BoutEditor(sess.bouts, sess.fps, sess.n_frames, sess.individuals)
    ed.relabel("mouse1", 5, "approach")
    before = archived["nwb"].read_bytes()
    path = save_reviewed_bouts(sess, ed.bouts)
    assert path == archived["nwb"].parent / f"{archived['nwb'].stem}_review" / "bouts.csv"
    assert archived["nwb"].read_bytes() == before  # the archive is not rewritten
