"""The classifier on real pose files recorded by others (cuts in tests/data)."""

import json

import pandas as pd

from behavtrack.cli import main


def test_real_single_mouse_without_arena_only_other(sample_data, tmp_path, capsys):
    pose = sample_data / "video" / "openfield" / "m3v1mp4_dlc_predictions.csv"
    assert main(["classify", str(pose), "--fps", "30", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "cannot be detected without an arena or a partner" in out
    eth = pd.read_csv(tmp_path / "o" / "ethogram.csv")
    assert len(eth) == 451 and set(eth["behavior"]) == {"other"}  # the sample's frames
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["parameters"]["scale_source"].startswith(
        "estimated from the body axis nose-tail_base (8 cm on a mouse), median of")
    # ~6-8 cm nose to tail base at this camera's ~14 px/cm
    assert 8 < prov["parameters"]["px_per_cm"] < 20


def test_real_two_mouse_dlc_file_without_arena(sample_data, tmp_path):
    pose = sample_data / "pose" / "mouse_multi.csv"
    assert main(["-q", "classify", str(pose), "--fps", "30", "--out", str(tmp_path / "o")]) == 0
    eth = pd.read_csv(tmp_path / "o" / "ethogram.csv")
    assert eth["individual"].nunique() == 2 and "waiting" not in set(eth["behavior"])
    meta = json.loads((tmp_path / "o" / "session.json").read_text())
    assert meta["poke_source"] == "pose" and meta["window_s"] is None


def test_real_file_without_frame_rate_is_exit_2(sample_data, tmp_path, capsys):
    pose = sample_data / "pose" / "mouse_multi.csv"
    assert main(["classify", str(pose), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "frame rate" in err and len(err.strip().splitlines()) == 1
