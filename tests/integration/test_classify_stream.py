"""``classify_session`` reads a pose file chunk by chunk: every output as from the whole file.

The chunked path keeps memory flat in the recording's length; a user relies on its folder
being the one the whole-recording path writes, byte for byte, and on the fallback to the
whole recording where chunks cannot work (no event log: pokes are detected from the pose).
"""

import numpy as np
import pandas as pd
import pytest

from behavtrack.simulate import simulate_session, write_session
from behavtrack.strategies import stream
from behavtrack.workflows.classify import classify_session

FILES = ("ethogram.csv", "bouts.csv", "binary.csv", "events.csv", "session.json")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "session"
    write_session(simulate_session(duration_s=150, seed=8), out, pose_formats=("pose.h5",))
    return out


def test_chunked_folder_equals_the_whole_files(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_S", 40.0)  # four chunks
    calls = []
    real = stream.classify_chunks

    def spy(*args, **kwargs):
        calls.append(kwargs.get("chunk_s"))
        return real(*args, **kwargs)

    monkeypatch.setattr("behavtrack.workflows.classify.classify_chunks", spy)
    chunked = classify_session(folder, tmp_path / "chunked", png=False)
    whole = classify_session(folder, tmp_path / "whole", png=False, stream=False)
    assert calls == [40.0]  # only the first went through chunks
    for name in FILES:
        assert (tmp_path / "chunked" / name).read_bytes() == \
            (tmp_path / "whole" / name).read_bytes(), name
    prov = [pd.read_json(tmp_path / d / "provenance.json", typ="series")
            for d in ("chunked", "whole")]
    assert prov[0]["parameters"] == prov[1]["parameters"]
    assert chunked.notes == whole.notes
    table = pd.read_csv(tmp_path / "chunked" / "ethogram.csv")
    pd.testing.assert_frame_equal(chunked.labels.reset_index(drop=True), table,
                                  check_dtype=False)
    assert len(table) == 2 * 150 * 30
    # on forked workers (chunks, each animal's decoding, binary.csv and the figure beside
    # the rest): the same folder
    classify_session(folder, tmp_path / "forked", jobs=3)
    for name in FILES:
        assert (tmp_path / "forked" / name).read_bytes() == \
            (tmp_path / "chunked" / name).read_bytes(), name
    assert (tmp_path / "forked" / "ethogram.png").read_bytes()[:4] == b"\x89PNG"
    classify_session(folder, tmp_path / "here", jobs=1)  # the figure drawn in this process
    assert (tmp_path / "here" / "ethogram.png").read_bytes() == \
        (tmp_path / "forked" / "ethogram.png").read_bytes()


def test_without_an_event_log_the_whole_recording_is_read(folder, tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    for f in folder.iterdir():
        if f.name != "events.csv":
            (tmp_path / "in" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr("behavtrack.workflows.classify.classify_chunks",
                        lambda *a, **k: pytest.fail("chunked without events"))
    res = classify_session(tmp_path / "in", tmp_path / "out", png=False)
    assert any("detected from the pose" in note for note in res.notes)
    assert np.isin(res.labels["behavior"].unique(),
                   ["approach", "waiting", "interaction", "other"]).all()


def test_no_figure_no_spare_process(folder, tmp_path, monkeypatch):
    import behavtrack.workflows.classify as workflow

    asked = []
    real = workflow.spare_process

    def spy(warm=None, enabled=True):
        asked.append(enabled)
        return real(warm, enabled)

    monkeypatch.setattr(workflow, "spare_process", spy)
    classify_session(folder, tmp_path / "a", png=False, jobs=2)
    classify_session(folder, tmp_path / "b", png=True, jobs=2)
    assert asked == [False, True]  # a process is forked for the figure only
    assert not (tmp_path / "a" / "ethogram.png").exists()
    assert (tmp_path / "b" / "ethogram.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_jobs(folder, tmp_path, capsys):
    from behavtrack.cli import main

    code = main(["-q", "classify", str(folder), "--out", str(tmp_path / "o"), "--jobs", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().endswith("--jobs: must be at least 1, got 0")
    assert not (tmp_path / "o").exists()
    assert main(["-q", "classify", str(folder), "--out", str(tmp_path / "o"), "--jobs", "2",
                 "--no-png"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(
        f for f in (*FILES, "provenance.json"))
