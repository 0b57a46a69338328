"""The user's path, hardened (issue 14): one regression test per defect a new user met.

Frame rates carried through and found beside the files; implausible input refused with one
line (exit 2); crash-safe output folders (stale staging folders of killed runs removed, a lock
on ``batch --out``); no empty progress bars. Everything runs on the real samples of
``tests/data`` and real processes (killed with SIGKILL where the issue's user killed one).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from behavtrack.cli import main
from behavtrack.io.pose import load_pose

ROOT = Path(__file__).resolve().parents[2]
DLC_NAME = "m3v1mp4DLC_resnet50_openfieldOct30shuffle1_6000.csv"


def _one_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def openfield(sample_data: Path, tmp_path: Path) -> Path:
    """The real openfield video and its DLC predictions, named as DeepLabCut names them."""
    folder = tmp_path / "openfield"
    folder.mkdir()
    src = sample_data / "video" / "openfield"
    shutil.copy(src / "m3v1mp4.mp4", folder / "m3v1mp4.mp4")
    shutil.copy(src / "m3v1mp4_dlc_predictions.csv", folder / DLC_NAME)
    return folder


def _dead_pid() -> int:
    """The id of a process that has run and is gone."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---- 1. frame rates --------------------------------------------------------------------------
def test_dlc_file_beside_its_video_takes_the_videos_frame_rate(openfield: Path):
    ds = load_pose(openfield / DLC_NAME)
    assert ds.attrs["fps"] == pytest.approx(30.0, abs=0.01)
    assert ds.attrs["fps_source"] == "video"
    assert ds.attrs["fps_from"] == str(openfield / "m3v1mp4.mp4")
    assert ds.attrs["time_unit"] == "seconds"
    # a video whose name only begins the pose's name without a separator is another one
    (openfield / DLC_NAME).rename(openfield / "m3v1mp4x_dlc.csv")
    assert load_pose(openfield / "m3v1mp4x_dlc.csv").attrs["fps_source"] == "unknown"


def test_classify_after_track_finds_the_frame_rate_of_tracking_json(openfield: Path,
                                                                    tmp_path: Path, capsys):
    """Regression: ``track VIDEO --out t && classify t/VIDEO.h5`` said "has no frame rate"."""
    video = openfield / "m3v1mp4.mp4"
    assert main(["-q", "track", str(video), "--out", str(tmp_path / "t")]) == 0
    report = json.loads((tmp_path / "t" / "m3v1mp4.tracking.json").read_text())
    ds = load_pose(tmp_path / "t" / "m3v1mp4.h5")
    assert ds.attrs["fps"] == pytest.approx(report["fps"])
    assert ds.attrs["fps_source"] in ("sidecar", "file")  # the tracker's .h5 may store it
    assert main(["-q", "classify", str(tmp_path / "t" / "m3v1mp4.h5"),
                 "--out", str(tmp_path / "c")]) == 0
    meta = json.loads((tmp_path / "c" / "session.json").read_text())
    assert meta["fps"] == pytest.approx(report["fps"])
    # names are consistent: tracking.json, the pose file (info), the classify output
    assert report["individuals"] == ["mouse1"]
    assert [str(i) for i in ds["individual"].values] == ["mouse1"]
    assert meta["individuals"] == ["mouse1"]
    capsys.readouterr()
    assert main(["info", str(tmp_path / "t" / "m3v1mp4.h5")]) == 0
    assert "individuals: 1 (mouse1)" in capsys.readouterr().out


def test_info_reports_the_frame_rate_with_its_source(openfield: Path, sample_data: Path,
                                                     tmp_path: Path, capsys):
    from behavtrack.io.arena import default_arena_path

    single = sample_data / "pose" / "mouse_single.csv"
    cases = [
        ([str(openfield / DLC_NAME)], "video", "from the video m3v1mp4.mp4"),
        (["--fps", "25", str(single)], "argument", "25 (from --fps)"),
        (["--arena", str(default_arena_path()), str(single)], "arena",
         "30 (from the arena YAML)"),
        ([str(single)], "unknown", "unknown (the file stores none"),
    ]
    for args, source, text in cases:
        assert main(["info", "--json", *args]) == 0
        assert json.loads(capsys.readouterr().out)["fps_source"] == source
        assert main(["info", *args]) == 0
        assert text in capsys.readouterr().out
    # a sidecar, and a file that stores its rate (written by behavtrack)
    shutil.copy(single, tmp_path / "rec.csv")
    (tmp_path / "rec.pose.json").write_text('{"fps": 40}')
    info = json.loads(_json_info(capsys, tmp_path / "rec.csv"))
    assert (info["fps"], info["fps_source"]) == (40.0, "sidecar")
    assert info["fps_from"] == str(tmp_path / "rec.pose.json")
    from behavtrack.io.pose import save_pose

    save_pose(load_pose(single, fps=50), tmp_path / "saved.h5")
    info = json.loads(_json_info(capsys, tmp_path / "saved.h5"))
    assert (info["fps"], info["fps_source"]) == (50.0, "file")


def _json_info(capsys, path: Path) -> str:
    assert main(["info", "--json", str(path)]) == 0
    return capsys.readouterr().out


# ---- 2. implausible input ----------------------------------------------------------------------
@pytest.mark.parametrize("fps", ["1e9", "0.5", "1001"])
def test_implausible_frame_rate_is_refused(sample_data: Path, tmp_path: Path, capsys, fps):
    pose = sample_data / "pose" / "mouse_multi.csv"
    for command in (["classify", str(pose), "--out", str(tmp_path / "c")],
                    ["info", str(pose)],
                    ["batch", str(pose), "--out", str(tmp_path / "b")]):
        _one_error(capsys, ["-q", *command, "--fps", fps], "--fps", "not plausible",
                   "1-1000 frames per second")
    assert not (tmp_path / "c").exists() and not (tmp_path / "b").exists()


def test_implausible_frame_rate_in_an_arena_or_sidecar(sample_data: Path, tmp_path: Path,
                                                       capsys):
    from behavtrack.io.arena import default_arena_path

    pose = tmp_path / "rec.csv"
    shutil.copy(sample_data / "pose" / "mouse_multi.csv", pose)
    arena = tmp_path / "arena.yaml"
    arena.write_text(default_arena_path().read_text().replace("fps: 30", "fps: 5000"))
    assert "fps: 5000" in arena.read_text()
    _one_error(capsys, ["info", "--arena", str(arena), str(pose)], "arena.yaml", "'fps'",
               "5000 is not a plausible frame rate")
    (tmp_path / "rec.pose.json").write_text('{"fps": 1e9}')
    _one_error(capsys, ["info", str(pose)], "rec.pose.json", "not plausible")


def _dlc_rows(src: Path, dst: Path, n: int, nan: bool = False) -> Path:
    """The header and the first ``n`` rows of a DLC CSV (coordinates blanked if ``nan``)."""
    lines = src.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("coords")) + 1
    body = lines[header:header + n]
    if nan:
        body = [line.split(",")[0] + "," * (line.count(",")) for line in body]
    dst.write_text("\n".join(lines[:header] + body) + "\n")
    return dst


def test_one_frame_and_untracked_poses_are_refused(sample_data: Path, tmp_path: Path, capsys):
    """Regression: one frame gave no warning; an all-NaN pose gave rc 0 and a note."""
    src = sample_data / "pose" / "mouse_multi.csv"
    one = _dlc_rows(src, tmp_path / "one.csv", 1)
    _one_error(capsys, ["-q", "classify", str(one), "--fps", "30", "--out",
                        str(tmp_path / "o1")], "one.csv", "has 1 frame", "at least 2")
    empty = _dlc_rows(src, tmp_path / "empty.csv", 20, nan=True)
    assert np.isnan(load_pose(empty).position.values).all()
    _one_error(capsys, ["-q", "classify", str(empty), "--fps", "30", "--out",
                        str(tmp_path / "o2")], "empty.csv", "no tracked frame at all")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
    # info still describes them, with the warning
    assert main(["info", str(empty), "--fps", "30"]) == 0
    assert "warning:     no tracked frame at all" in capsys.readouterr().out


def test_more_than_two_animals_need_individuals(sample_data: Path, tmp_path: Path, capsys):
    """Regression: a 3-animal file was classified with no word that a pair is assumed."""
    aeon = sample_data / "pose" / "SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"
    line = _one_error(capsys, ["-q", "classify", str(aeon), "--fps", "30", "--out",
                               str(tmp_path / "o")], "has 3 animals", "a pair",
                      "--individuals AEON3B_NTP,AEON3B_TP1")
    assert "AEON3B_TP2" in line and not (tmp_path / "o").exists()
    _one_error(capsys, ["-q", "classify", str(aeon), "--fps", "30", "--individuals",
                        "AEON3B_NTP,nobody", "--out", str(tmp_path / "o")],
               "has no individual 'nobody'")
    assert main(["-q", "classify", str(aeon), "--fps", "30", "--individuals",
                 "AEON3B_TP2,AEON3B_NTP", "--out", str(tmp_path / "o")]) == 0
    eth = pd.read_csv(tmp_path / "o" / "ethogram.csv")
    assert sorted(eth["individual"].unique()) == ["AEON3B_NTP", "AEON3B_TP2"]
    # batch takes the option (and so does train, below); the library takes individuals=
    res_code = main(["-q", "batch", str(aeon), "--fps", "30", "--no-stats", "--out",
                     str(tmp_path / "b")])
    failures = pd.read_csv(tmp_path / "b" / "failures.csv")  # the library's words
    assert res_code == 1 and "individuals=[" in failures["error"].iloc[0]
    assert "--individuals AEON3B_NTP,AEON3B_TP1" in capsys.readouterr().out  # the CLI's
    assert main(["-q", "batch", str(aeon), "--fps", "30", "--no-stats", "--individuals",
                 "AEON3B_NTP,AEON3B_TP1", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()


def test_train_takes_individuals(sample_data: Path, tmp_path: Path):
    from behavtrack.errors import InputError
    from behavtrack.strategies.pipeline import labeled_from_boris

    aeon = sample_data / "pose" / "SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"
    boris = tmp_path / "boris.csv"
    boris.write_text(
        "Observation id,x\n\nTime,Media file path,Total length,FPS,Subject,Behavior,"
        "Behavioral category,Comment,Status\n"
        "1.0,v.mp4,20,30,AEON3B_NTP,interact,,,START\n"
        "3.0,v.mp4,20,30,AEON3B_NTP,interact,,,STOP\n")
    with pytest.raises(InputError, match="has 3 animals"):
        labeled_from_boris(boris, aeon, fps=30, behavior_map={"interact": "interaction"})
    s = labeled_from_boris(boris, aeon, fps=30, behavior_map={"interact": "interaction"},
                           individuals=["AEON3B_NTP", "AEON3B_TP1"])
    assert sorted(s.labels) == ["AEON3B_NTP", "AEON3B_TP1"]
    assert (s.labels["AEON3B_TP1"][30:90] == "interaction").all()  # a behaviour of the pair


def test_info_says_no_confidence_scores(sample_data: Path, capsys):
    """Regression: a file without scores showed 'low confidence 99-100 %'."""
    path = sample_data / "pose" / "flies_two_old_layout.analysis.h5"
    with h5py.File(path, "r") as f:
        assert "point_scores" not in f  # the old layout has no scores
    assert main(["info", "--fps", "30", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no confidence scores" in out and "low confidence" not in out
    assert main(["info", "--json", "--fps", "30", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["confidence_scores"] is False
    assert all(q["low_confidence"] is None for q in info["per_keypoint"].values())
    # a file with scores still reports them
    assert main(["info", "--json", str(sample_data / "pose" / "mouse_single.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["confidence_scores"] is True


def test_arena_yaml_with_a_python_tag_says_tags_are_refused(sample_data: Path, tmp_path: Path,
                                                            capsys):
    evil = tmp_path / "evil.yaml"
    evil.write_text('fps: !!python/object/apply:os.system ["touch pwned"]\npx_per_cm: 10\n')
    _one_error(capsys, ["info", "--arena", str(evil), str(sample_data / "pose/mouse_multi.csv")],
               "evil.yaml", "!!python/object/apply:os.system", "tags are refused")
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def _unwritable_parent(tmp_path: Path) -> Path:
    """A folder this process cannot create anything in (sysfs as root, else a 0555 folder)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_unwritable_out_names_the_users_path(sample_data: Path, tmp_path: Path, capsys):
    """Regression: the error named an internal temp path (``.out.xxxx``)."""
    out = _unwritable_parent(tmp_path) / "behavtrack_out"
    pose = sample_data / "pose" / "mouse_multi.csv"
    line = _one_error(capsys, ["-q", "classify", str(pose), "--fps", "30", "--out", str(out)],
                      f"{out}: cannot be created")
    assert f".{out.name}." not in line  # no staging folder's name
    from behavtrack.files import atomic_write_text

    with pytest.raises(Exception, match="cannot be written") as exc:
        atomic_write_text(out.parent / "file.txt", "x")
    assert ".file.txt." not in str(exc.value)


# ---- 3. crash safety ------------------------------------------------------------------------
_HOLD_STAGE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from behavtrack.files import staged_folder
    with staged_folder(Path(sys.argv[1])) as stage:
        (stage / "ethogram.csv").write_bytes(b"x" * 1_000_000)
        (stage.parent / "ready").write_text(stage.name)
        time.sleep(600)
""")


def _wait_for(path: Path, timeout_s: float = 60.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert time.monotonic() - t0 < timeout_s, f"{path} never appeared"
        time.sleep(0.05)


def test_staging_folder_of_a_killed_run_is_removed_by_the_next(sample_data: Path,
                                                               tmp_path: Path, capsys):
    """Regression: after SIGKILL during classify a 12 MB ``.out.*`` folder stayed for good."""
    out = tmp_path / "k_cls"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_STAGE, str(out)], cwd=ROOT)
    try:
        _wait_for(tmp_path / "ready")
        stage = tmp_path / (tmp_path / "ready").read_text()
        assert stage.is_dir() and stage.name.startswith(f".k_cls.{proc.pid}-")
        # a live writer's staging folder is left alone by another run
        assert main(["-q", "classify", str(sample_data / "pose/mouse_multi.csv"), "--fps", "30",
                     "--out", str(tmp_path / "k_cls")]) == 0
        assert stage.is_dir()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert stage.is_dir()  # what the killed run left
    assert main(["-q", "classify", str(sample_data / "pose/mouse_multi.csv"), "--fps", "30",
                 "--out", str(out)]) == 0
    assert not stage.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k_cls", "ready"]
    assert (out / "ethogram.csv").stat().st_size > 0
    capsys.readouterr()


def test_stale_temporary_files_are_removed_and_others_kept(tmp_path: Path):
    from behavtrack.files import atomic_write_text

    dead = _dead_pid()
    stale = tmp_path / f".notes.txt.{dead}-abcd1234.txt"
    stale.write_text("half")
    live = tmp_path / f".notes.txt.{os.getppid()}-abcd1234.txt"  # a process that runs
    live.write_text("busy")
    other = tmp_path / ".notes.txt.mine"
    other.write_text("keep")
    atomic_write_text(tmp_path / "notes.txt", "done")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "notes.txt").read_text() == "done"


_HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from behavtrack.files import folder_lock
    with folder_lock(sys.argv[1], "behavtrack batch"):
        open(sys.argv[2], "w").close()
        time.sleep(600)
""")


def test_batch_refuses_a_second_run_on_the_same_out(sample_data: Path, tmp_path: Path, capsys):
    """Regression: two batch runs on one --out both ran and redid each other's sessions."""
    out = tmp_path / "out"
    pose = str(sample_data / "pose" / "mouse_multi.csv")
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(out), str(tmp_path / "held")],
                            cwd=ROOT)
    try:
        _wait_for(tmp_path / "held")
        _one_error(capsys, ["-q", "batch", pose, "--fps", "30", "--out", str(out)],
                   f"{out}: is in use by another behavtrack batch (process {proc.pid})")
        assert sorted(p.name for p in out.iterdir()) == [".behavtrack.lock"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the holder was killed: its lock is stale, and the next run takes it over
    assert json.loads((out / ".behavtrack.lock").read_text())["pid"] == proc.pid
    assert main(["-q", "batch", pose, "--fps", "30", "--no-stats", "--out", str(out)]) == 0
    assert not (out / ".behavtrack.lock").exists()  # released at the end
    assert (out / "sessions" / "mouse_multi" / "ethogram.csv").is_file()
    capsys.readouterr()


# ---- 7. noise ------------------------------------------------------------------------------
def test_no_empty_progress_bar(sample_data: Path, tmp_path: Path, capfd, monkeypatch):
    """Regression: ``sessions: 0session`` in the compare stage."""
    from behavtrack.compare.report import load_side
    from behavtrack.files import progress

    monkeypatch.delenv("BEHAVTRACK_QUIET", raising=False)
    assert progress([], desc="sessions") == []
    load_side(sample_data / "marl", "agents", n_shifts=20)  # no mouse session on this side
    err = capfd.readouterr().err
    assert "rollouts" in err  # bars are shown ...
    assert "0session" not in err and "sessions:" not in err  # ... but no empty one
