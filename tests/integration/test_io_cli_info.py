"""``behavtrack info`` on every real sample file, and its one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from behavtrack.cli import main
from behavtrack.io.info import describe_pose

ROOT = Path(__file__).resolve().parents[2]


def _sample_files(shared: Path) -> list[Path]:
    files = sorted((shared / "pose").iterdir())
    files.append(shared / "video/openfield/m3v1mp4_dlc_predictions.csv")
    files += sorted((shared / "marl").glob("*.mat")) + [shared / "marl/rollouts_seed0.csv"]
    return files


def test_info_reads_every_sample_file(sample_data, capsys):
    files = _sample_files(sample_data)
    assert main(["info", "--json", *map(str, files)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    infos = [json.loads(line) for line in out]
    assert [i["file"] for i in infos] == [str(f) for f in files]
    by_name = {Path(i["file"]).name: i for i in infos}
    epm = by_name["SLEAP_single-mouse_EPM.analysis.h5"]
    assert epm["n_frames"] == 300 and epm["individuals"] == ["id_0"]  # cut to 300 frames
    assert by_name["mouse_multi.csv"]["individuals"] == ["individual1", "individual2"]
    assert by_name["rollouts_seed0.csv"]["n_frames"] == 4500
    assert len(by_name["rollouts_seed0.csv"]["rollouts"]) == 3


def test_info_missing_fractions_against_h5py(sample_data):
    path = sample_data / "pose/SLEAP_single-mouse_EPM.analysis.h5"
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][()]  # (tracks, 2, nodes, frames)
        scores = f["point_scores"][()]  # (tracks, nodes, frames)
    info = describe_pose(path, threshold=0.5, fps=30)
    assert info["fps"] == 30 and info["duration_s"] == pytest.approx(tracks.shape[-1] / 30)
    assert info["fps_source"] == "argument" and info["confidence_scores"]
    missing = np.isnan(tracks).any(axis=1)  # tracks, nodes, frames
    low = ~missing & (scores < 0.5)
    for k, name in enumerate(info["keypoints"]):
        q = info["per_keypoint"][name]
        assert q["missing"] == pytest.approx(missing[:, k].mean())
        assert q["low_confidence"] == pytest.approx(low[:, k].mean())
        assert q["missing_or_low"] == pytest.approx((missing | low)[:, k].mean())


def test_info_text_output(sample_data, capsys):
    path = sample_data / "video/openfield/m3v1mp4_dlc_predictions.csv"
    assert main(["info", "--fps", "30", str(path)]) == 0
    out = capsys.readouterr().out
    assert "frames:      451" in out and "duration:    15.03 s" in out
    assert "nose" in out and "tail_base" in out and "fps:         30 (from --fps)" in out


def test_info_subprocess_and_bad_files(sample_data, tmp_path):
    notpose = tmp_path / "table.csv"
    notpose.write_text("a,b\n1,2\n")
    good = sample_data / "pose/mouse_single.csv"
    proc = subprocess.run(
        [sys.executable, "cli.py", "info", str(notpose), str(good), str(tmp_path / "gone.slp")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 2
    assert str(notpose) in errors[0] and "not a pose file" in errors[0]
    assert "gone.slp" in errors[1] and "no such" in errors[1]
    assert "mouse_single.csv" in proc.stdout  # the good file is still described


def _one_error(capsys, argv, *needles):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_bad_inputs_exit_2_one_line(sample_data, tmp_path, capsys):
    # missing file
    _one_error(capsys, ["info", str(tmp_path / "none.h5")], "none.h5", "no such")
    # unknown format
    odd = tmp_path / "pose.xyz"
    odd.write_text("1 2 3\n")
    _one_error(capsys, ["info", str(odd)], "pose.xyz", "unknown pose format")
    # truncated HDF5
    src = sample_data / "pose/SLEAP_single-mouse_EPM.analysis.h5"
    cut = tmp_path / "cut.analysis.h5"
    data = src.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    _one_error(capsys, ["info", str(cut)], "cut.analysis.h5", "truncated")
    # a CSV that is not a pose file
    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,2\n")
    _one_error(capsys, ["info", str(table)], "t.csv", "not a pose file")
    # a rollout file with a key missing
    import scipy.io

    data = {k: v for k, v in scipy.io.loadmat(sample_data / "marl/checkpoint_0.mat").items()
            if not k.startswith("__") and k != "correct"}
    mat = tmp_path / "checkpoint_3.mat"
    scipy.io.savemat(mat, data)
    _one_error(capsys, ["info", str(mat)], "checkpoint_3.mat", "'correct'")


def test_bad_arena_yaml_exit_2(sample_data, tmp_path, capsys):
    from behavtrack.io.arena import default_arena_path

    text = default_arena_path().read_text()
    missing = tmp_path / "missing.yaml"
    missing.write_text(text.replace("px_per_cm: 15.0\n", ""))
    pose = str(sample_data / "pose/mouse_single.csv")
    _one_error(capsys, ["info", "--arena", str(missing), pose], "missing.yaml", "'px_per_cm'",
               "is missing")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text.replace("radius: 24}", "radius: -3}", 1))
    _one_error(capsys, ["info", "--arena", str(wrong), pose], "wrong.yaml",
               "compartments.left.poke_port.radius")
    # a good arena gives its fps
    assert main(["info", "--json", "--arena", str(default_arena_path()), pose]) == 0
    assert json.loads(capsys.readouterr().out)["fps"] == 30.0


def test_pose_without_needed_part_via_cli_error(sample_data, capsys):
    """A pose without a needed body part: the one-line error that commands print."""
    from behavtrack.errors import InputError
    from behavtrack.io.pose import load_pose, require_keypoints

    ds = load_pose(sample_data / "pose/SLEAP_three-mice_Aeon_mixed-labels.analysis.h5")
    with pytest.raises(InputError) as exc:
        require_keypoints(ds, ["nose"])
    assert "\n" not in str(exc.value) and "has no body part 'nose'" in str(exc.value)


def test_require_parts_and_no_individuals_exit_2(sample_data, tmp_path, capsys):
    import shutil

    aeon = sample_data / "pose/SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"
    _one_error(capsys, ["info", "--require", "nose,centroid", str(aeon)],
               "Aeon", "has no body part 'nose'")
    openfield = sample_data / "video/openfield/m3v1mp4_dlc_predictions.csv"
    assert main(["info", "--require", "nose,tail_base", str(openfield)]) == 0
    capsys.readouterr()
    dst = tmp_path / "empty.analysis.h5"
    shutil.copy(aeon, dst)
    with h5py.File(dst, "r+") as f:
        n_frames, n_nodes = f["tracks"].shape[-1], f["tracks"].shape[2]
        for key in ("tracks", "track_names", "track_occupancy", "point_scores"):
            del f[key]
        f["tracks"] = np.zeros((0, 2, n_nodes, n_frames))
        f["track_names"] = np.array([], dtype="S1")
        f["track_occupancy"] = np.zeros((n_frames, 0), dtype=np.uint8)
        f["point_scores"] = np.zeros((0, n_nodes, n_frames))
    _one_error(capsys, ["info", str(dst)], "empty.analysis.h5", "holds no individuals")
