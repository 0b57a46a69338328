"""Library errors name Python parameters; the CLI names its options for the same mistake.

A notebook user calling ``run_batch(jobs=0)`` reads ``jobs: ...``; ``behavtrack batch --jobs 0``
prints ``--jobs: ...`` and exits with 2. The translation is :func:`behavtrack.cli.cli_message`,
applied in one place (:func:`behavtrack.cli.main`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from behavtrack.agents.replay import replay_file
from behavtrack.batch import run_batch
from behavtrack.cli import cli_message, cli_text, main, option_names
from behavtrack.errors import InputError
from behavtrack.simulate import simulate_session
from behavtrack.workflows.classify import classify_session
from behavtrack.workflows.stats import compute_stats

DATA = Path(__file__).resolve().parents[1] / "data"
POSE_NO_FPS = DATA / "social" / "120637-121213" / "pose_dlc.csv"  # stores no frame rate
ROLLOUT = DATA / "marl" / "rollouts_seed0.csv"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["-q", *argv])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return code, err


def test_batch_jobs(tmp_path, capsys):
    with pytest.raises(InputError) as info:
        run_batch([str(tmp_path)], tmp_path / "o", jobs=0)
    assert str(info.value) == "jobs: must be at least 1, got 0"
    code, err = _cli(capsys, "batch", str(tmp_path), "--out", str(tmp_path / "o"), "--jobs", "0")
    assert code == 2 and err == "behavtrack batch: error: --jobs: must be at least 1, got 0"


def test_simulate_window_and_duration(tmp_path, capsys):
    with pytest.raises(InputError) as info:
        simulate_session(window_s=-1.0)
    assert str(info.value) == "window_s: invalid value -1.0 (give seconds > 0)"
    with pytest.raises(InputError, match=r"^duration_s: invalid value 0"):
        simulate_session(duration_s=0)
    code, err = _cli(capsys, "simulate", "--duration", "0", "--out", str(tmp_path / "o"))
    assert code == 2 and err.startswith("behavtrack simulate: error: --duration: invalid value 0")
    # a command with a --window option would name it for window_s (the explicit table)
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float)
    assert cli_message(info.value, option_names(parser)).startswith("--window: invalid value")


def test_fps_missing(tmp_path, capsys):
    with pytest.raises(InputError) as info:
        classify_session(POSE_NO_FPS, tmp_path / "o")
    assert "has no frame rate" in str(info.value)
    assert "pass fps= (the frame rate)" in str(info.value) and "--fps" not in str(info.value)
    code, err = _cli(capsys, "classify", str(POSE_NO_FPS), "--out", str(tmp_path / "o"))
    assert code == 2 and "has no frame rate" in err
    assert "pass --fps (the frame rate)" in err and "fps=" not in err
    assert err.startswith(f"behavtrack classify: error: {POSE_NO_FPS}: ")  # the path as it was
    with pytest.raises(InputError, match=r"^fps: frame rate must be a positive number"):
        run_batch([str(tmp_path)], tmp_path / "b", fps=-1.0)
    code, err = _cli(capsys, "batch", str(tmp_path), "--out", str(tmp_path / "b"), "--fps", "-1")
    assert code == 2 and "error: --fps: frame rate must be a positive number" in err


def test_agents_sync_limit(tmp_path, capsys):
    with pytest.raises(InputError) as info:
        replay_file(ROLLOUT, sync_limit=9)
    assert str(info.value) == "sync_limit: must be 1-5, got 9"
    code, err = _cli(capsys, "agents", "replay", str(ROLLOUT), "--sync-limit", "9")
    assert code == 2 and err == "behavtrack agents: error: --sync-limit: must be 1-5, got 9"
    with pytest.raises(InputError, match=r"^sync_limit: must be 0 or more, got -1$"):
        compute_stats([str(ROLLOUT)], tmp_path / "s", sync_limit=-1)
    with pytest.raises(InputError, match=r"^n_boot: must be at least 1, got 0$"):
        compute_stats([str(ROLLOUT)], tmp_path / "s", n_boot=0)
    code, err = _cli(capsys, "stats", str(ROLLOUT), "--out", str(tmp_path / "s"), "--boot", "0")
    assert code == 2 and err.endswith("--boot: must be at least 1, got 0")


def test_agents_train_settings_name_their_field(tmp_path, capsys):
    from behavtrack.agents.config import TrainConfig

    with pytest.raises(InputError, match=r"^n_envs: 3 environments do not split"):
        TrainConfig(n_envs=3).check()
    code, err = _cli(capsys, "agents", "train", "--out", str(tmp_path / "o"), "--envs", "3")
    assert code == 2 and "error: --envs: 3 environments do not split" in err


def test_a_path_that_looks_like_a_parameter_is_left_as_it_is(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("out").write_text("a file, not a folder")
    with pytest.raises(InputError) as info:
        run_batch([str(tmp_path)], "out")
    assert str(info.value) == "out: is a file, not an output folder (give a folder as out_dir=)"
    code, err = _cli(capsys, "batch", str(tmp_path), "--out", "out")
    assert code == 2
    assert err == "behavtrack batch: error: out: is a file, not an output folder (give a folder " \
        "as --out)"


def test_python_values_in_hints_become_option_values():
    flags = {"individuals": "--individuals", "subject_map": "--subject-map", "fps": "--fps",
             "backend": "--backend"}
    exc = InputError("a.h5", "has 3 animals (a, b, c)", "choose the pair with "
                     "individuals=['a', 'b']")
    assert cli_message(exc, flags) == ("a.h5: has 3 animals (a, b, c) (choose the pair with "
                                       "--individuals a,b)")
    exc = InputError("b.csv", "subject x matches no individual",
                     "map them with subject_map={'x': 'a'}")
    assert cli_message(exc, flags).endswith("(map them with --subject-map x=a)")
    exc = InputError("model", "is required with backend='sleap'", "e.g. fps=30, not fps=")
    assert cli_message(exc, flags) == "model: is required with --backend sleap (e.g. --fps 30, " \
        "not --fps)"
    # names the command does not have, and OLD=NEW text, are left alone
    exc = InputError("--alias", "'x' is not OLD=NEW", "e.g. --alias snout_tip=nose")
    assert cli_message(exc, flags) == str(exc)


def test_messages_kept_as_text_name_options_as_errors_do(tmp_path):
    # a batch prints the statistics' error and each failure after the run, from their text
    args = argparse.Namespace(cli_options={"jobs": "--jobs", "fps": "--fps"},
                              out=str(tmp_path / "jobs"), inputs=["fps"])
    stats_error = str(InputError("jobs", "a worker process ended abruptly",
                                 "use fewer processes, e.g. jobs=1"))
    assert cli_text(stats_error, args) == ("--jobs: a worker process ended abruptly (use fewer "
                                           "processes, e.g. --jobs 1)")
    # a subject that is a value the user gave (a folder called fps), or an exception's name,
    # is left as it is
    assert cli_text("fps: has no session (pass fps=30)", args) == \
        "fps: has no session (pass --fps 30)"
    failure = "InputError: a.h5: has no frame rate (pass fps=30)"
    assert cli_text(failure, args) == "InputError: a.h5: has no frame rate (pass --fps 30)"
