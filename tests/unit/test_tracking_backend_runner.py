"""The standalone backend runner, with stand-ins for DeepLabCut and sleap-nn (no model run)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from behavtrack.tracking import _backend_runner as runner


def _fake_deeplabcut(monkeypatch, names: list[str]) -> list:
    calls = []

    def analyze_videos(model, videos, destfolder, save_as_csv, videotype):
        calls.append((model, videos, videotype))
        for name in names:
            (Path(destfolder) / name).write_text("")

    monkeypatch.setitem(sys.modules, "deeplabcut",
                        types.SimpleNamespace(analyze_videos=analyze_videos))
    return calls


def test_deeplabcut_prefers_the_tracked_output(monkeypatch, tmp_path):
    calls = _fake_deeplabcut(monkeypatch, ["rec1DLC_full.h5", "rec1DLC_el.h5", "rec1DLC.h5",
                                           "other.h5", "rec1DLC.csv"])
    out = runner.run("deeplabcut", "cfg.yaml", "/videos/rec1.avi", str(tmp_path / "dest"))
    assert out == tmp_path / "dest" / "rec1DLC_el.h5"
    assert calls == [("cfg.yaml", ["/videos/rec1.avi"], ".avi")]


def test_deeplabcut_plain_output_without_tracking_and_none_is_an_error(monkeypatch, tmp_path):
    _fake_deeplabcut(monkeypatch, ["rec1DLC_full.h5", "rec1DLC.h5"])
    assert runner.run("deeplabcut", "m", "rec1.mp4", str(tmp_path)).name == "rec1DLC.h5"
    _fake_deeplabcut(monkeypatch, [])
    with pytest.raises(RuntimeError, match="DeepLabCut wrote no .h5 file for rec2.mp4"):
        runner.run("deeplabcut", "m", "rec2.mp4", str(tmp_path / "empty"))


def test_sleap_predict_writes_the_predictions_file(monkeypatch, tmp_path):
    def predict(video, model_paths, output_path):
        Path(output_path).write_text("slp")

    monkeypatch.setitem(sys.modules, "sleap_nn", types.SimpleNamespace(predict=predict))
    out = runner.run("sleap", "model_dir", "/v/rec.mp4", str(tmp_path))
    assert out == tmp_path / "rec.predictions.slp" and out.read_text() == "slp"
    monkeypatch.setitem(sys.modules, "sleap_nn",
                        types.SimpleNamespace(predict=lambda *a, **k: None))
    with pytest.raises(RuntimeError, match="sleap-nn wrote no predictions for other.mp4"):
        runner.run("sleap", "model_dir", "other.mp4", str(tmp_path))


def test_unknown_backend(tmp_path):
    with pytest.raises(ValueError, match="unknown backend 'x'"):
        runner.run("x", "m", "v.mp4", str(tmp_path))


def test_main_usage_and_import_failure(monkeypatch, capsys):
    assert runner.main(["deeplabcut", "m"]) == 2
    assert capsys.readouterr().err.startswith(runner.ERROR_MARK + "usage:")
    monkeypatch.setitem(sys.modules, "deeplabcut", None)  # as if not installed
    assert runner.main(["deeplabcut", "m", "v.mp4", "d"]) == runner.EXIT_IMPORT
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(runner.ERROR_MARK + "ModuleNotFoundError")


def test_main_reports_the_backend_failure_on_one_line(monkeypatch, tmp_path, capsys):
    def analyze_videos(*args, **kwargs):
        raise OSError("GPU\n  out of memory")

    monkeypatch.setitem(sys.modules, "deeplabcut",
                        types.SimpleNamespace(analyze_videos=analyze_videos))
    assert runner.main(["deeplabcut", "m", "v.mp4", str(tmp_path)]) == runner.EXIT_FAILED
    err = capsys.readouterr().err
    assert "Traceback" in err  # for the log
    assert err.strip().splitlines()[-1] == runner.ERROR_MARK + "OSError: GPU out of memory"


def test_main_prints_the_output_mark(monkeypatch, tmp_path, capsys):
    _fake_deeplabcut(monkeypatch, ["vDLC.h5"])
    assert runner.main(["deeplabcut", "m", "v.mp4", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{runner.OUTPUT_MARK}{tmp_path / 'vDLC.h5'}\n"
