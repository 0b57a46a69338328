"""Tests of ``behavtrack track`` (exit codes, one-line errors) and the model backends' checks.

The backends themselves need DeepLabCut or sleap-nn (with PyTorch); the test that runs them
for real is opt-in: ``BEHAVTRACK_TEST_BACKENDS=1`` with ``BEHAVTRACK_DLC_CONFIG`` (a trained
DeepLabCut project's config.yaml) and/or ``BEHAVTRACK_SLEAP_MODEL`` (a trained SLEAP model
folder), with the python of their environments in ``BEHAVTRACK_DLC_PYTHON`` /
``BEHAVTRACK_SLEAP_PYTHON`` (or one ``BEHAVTRACK_BACKEND_PYTHON``); see docs/tracking.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from _tracking_helpers import draw_clip, walk

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.tracking import track
from behavtrack.tracking.backends import backend_available, run_backend


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    centres, headings = walk(40, [[80, 120]], [[2.0, 0.5]])
    video = tmp_path / "clip.avi"
    draw_clip(video, centres, headings)
    return video


def _one_line_error(capsys: pytest.CaptureFixture, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("behavtrack track: error:")
    for needle in needles:
        assert needle in err
    assert "Traceback" not in err
    return err


def test_cli_tracks_and_writes_outputs(clip: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["track", str(clip), "--out", str(out)]) == 0
    assert "40/40 frames read" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "clip.csv", "clip.h5", "clip.tracking.json"]


def test_cli_missing_file_exit_2_but_other_videos_done(clip: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["-q", "track", str(tmp_path / "nope.mp4"), str(clip), "--out", str(out)]) == 2
    _one_line_error(capsys, "nope.mp4", "no such video file")
    assert (out / "clip.h5").is_file()


def test_cli_corrupt_video(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00 ftypisom" + bytes(range(256)) * 40)
    assert main(["track", str(bad), "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "bad.mp4", "cannot be opened as a video")
    assert not (tmp_path / "out" / "bad.h5").exists()


def test_cli_no_animal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    centres, headings = walk(30, [[80, 120]], [[0.0, 0.0]])
    video = tmp_path / "empty.avi"
    draw_clip(video, centres[:, :0], headings[:, :0])
    assert main(["track", str(video), "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "empty.avi", "no animal found")


def test_cli_arena_not_fitting(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from behavtrack.io.arena import default_arena, save_arena

    arena = tmp_path / "arena.yaml"
    save_arena(default_arena(), arena)
    assert main(["track", str(clip), "--arena", str(arena), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "arena.yaml", "does not fit the 320x240 frames")


def test_cli_out_is_a_file(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "taken"
    out.write_text("x")
    assert main(["track", str(clip), "--out", str(out)]) == 2
    _one_line_error(capsys, "taken", "is a file, not an output folder")
    assert out.read_text() == "x"


def _trained_model_layout(folder: Path, backend: str) -> Path:
    """Files where a trained model keeps them (for checks that run before it is loaded)."""
    if backend == "deeplabcut":
        snapshots = folder / "dlc-models-pytorch/iteration-0/testJan1-trainset90shuffle1/train"
        snapshots.mkdir(parents=True)
        (snapshots / "snapshot-002.pt").write_bytes(b"")
        config = folder / "config.yaml"
        config.write_text("Task: test\nbodyparts:\n- snout\n- tailbase\n")
        return config
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training_config.yaml").write_text("model_config: {}\n")
    (folder / "best.ckpt").write_bytes(b"")
    return folder


def _fake_backend(folder: Path, body: str) -> Path:
    """A ``sleap_nn`` package whose ``predict`` runs ``body`` (to exercise failure paths)."""
    package = folder / "sleap_nn"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def predict(video, **kwargs):\n    {body}\n")
    return folder


@pytest.mark.parametrize("backend", ["deeplabcut", "sleap"])
def test_backend_not_installed_names_the_package(clip: Path, tmp_path: Path, backend: str,
                                                 capsys: pytest.CaptureFixture) -> None:
    if backend_available(backend):
        pytest.skip(f"{backend} is installed here")
    model = _trained_model_layout(tmp_path / "model", backend)
    code = main(["track", str(clip), "--backend", backend, "--model", str(model),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    package = "deeplabcut" if backend == "deeplabcut" else "sleap_nn"
    _one_line_error(capsys, package, "--python")


def test_backend_checks_model_and_python(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="^model: is required with backend='deeplabcut'"):
        track(clip, backend="deeplabcut", out=tmp_path)
    with pytest.raises(InputError, match="no such DeepLabCut config file"):
        run_backend(clip, "deeplabcut", tmp_path / "config.yaml", tmp_path)
    with pytest.raises(InputError, match="not a folder holding a trained SLEAP model"):
        run_backend(clip, "sleap", tmp_path / "nope", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no training_config.yaml"):
        run_backend(clip, "sleap", tmp_path / "empty", tmp_path)
    model = _trained_model_layout(tmp_path / "model", "sleap")
    with pytest.raises(InputError, match="no such Python executable"):
        run_backend(clip, "sleap", model, tmp_path, python=tmp_path / "py")
    # a real python without the package: the runner's import failure names what is missing
    with pytest.raises(InputError, match=r"cannot import sleap_nn \(ModuleNotFoundError"):
        run_backend(clip, "sleap", model, tmp_path / "o", python=sys.executable)
    with pytest.raises(InputError, match="model: is only used with a model backend"):
        track(clip, model=model)
    assert not list((tmp_path / "o").iterdir())  # nothing half-written, no temp folder left


def test_backend_out_file_must_match_the_format(clip: Path, tmp_path: Path) -> None:
    model = _trained_model_layout(tmp_path / "model", "sleap")
    with pytest.raises(InputError, match=r"names a .h5 file but sleap writes .slp"):
        run_backend(clip, "sleap", model, tmp_path / "poses.h5", python=sys.executable)
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(InputError, match="is a file, not an output folder"):
        run_backend(clip, "sleap", model, taken, python=sys.executable)
    assert taken.read_text() == "x"


def test_deeplabcut_config_checks(clip: Path, tmp_path: Path) -> None:
    config = _trained_model_layout(tmp_path / "project", "deeplabcut")
    text = config.read_text()
    config.write_text("Task: test\nbodyparts:\n")
    with pytest.raises(InputError, match="lists no bodyparts"):
        run_backend(clip, "deeplabcut", config, tmp_path / "o", python=sys.executable)
    config.write_text("Task: [unclosed\n")
    with pytest.raises(InputError, match="is not readable YAML"):
        run_backend(clip, "deeplabcut", config, tmp_path / "o", python=sys.executable)
    config.write_text(text)
    for snapshot in (tmp_path / "project").rglob("snapshot-*"):
        snapshot.unlink()
    with pytest.raises(InputError, match="no trained network"):
        run_backend(clip, "deeplabcut", config, tmp_path / "o", python=sys.executable)
    assert config.read_text() == text  # the input is never modified


def test_backend_failure_is_one_line_with_a_log(clip: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    """The backend raising in its environment: one line, its full output kept in a log."""
    model = _trained_model_layout(tmp_path / "model", "sleap")
    body = "print('loading model'); raise RuntimeError('checkpoint does not match\\nthe config')"
    monkeypatch.setenv("PYTHONPATH", str(_fake_backend(tmp_path / "env", body)))
    out = tmp_path / "out"
    code = main(["track", str(clip), "--backend", "sleap", "--model", str(model),
                 "--python", sys.executable, "--out", str(out)])
    assert code == 2
    err = _one_line_error(capsys, "sleap failed on clip.avi",
                          "RuntimeError: checkpoint does not match the config",
                          "full output in")
    log = out / "clip.sleap.log"
    assert str(log) in err
    text = log.read_text()
    assert "loading model" in text and "Traceback" in text
    assert sorted(p.name for p in out.iterdir()) == ["clip.sleap.log"]  # no pose, no temp


def test_backend_timeout_stops_it(clip: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    model = _trained_model_layout(tmp_path / "model", "sleap")
    monkeypatch.setenv("PYTHONPATH", str(_fake_backend(tmp_path / "env",
                                                       "import time; time.sleep(60)")))
    with pytest.raises(InputError, match="did not finish on clip.avi within 3 s"):
        run_backend(clip, "sleap", model, tmp_path / "out", python=sys.executable, timeout=3)
    assert not list((tmp_path / "out").iterdir())


def _model_bodyparts(backend: str, model: Path) -> list[str]:
    """Body parts the trained model was given: the project's, or the skeleton's nodes."""
    import yaml

    if backend == "deeplabcut":
        cfg = yaml.safe_load(model.read_text())
        return list(cfg.get("bodyparts") or cfg["multianimalbodyparts"])
    cfg = yaml.safe_load((model / "training_config.yaml").read_text())
    return [node["name"] for node in cfg["data_config"]["skeletons"][0]["nodes"]]


@pytest.mark.backends
@pytest.mark.skipif(os.environ.get("BEHAVTRACK_TEST_BACKENDS") != "1",
                    reason="opt-in: set BEHAVTRACK_TEST_BACKENDS=1 (needs DeepLabCut/sleap-nn)")
@pytest.mark.parametrize("backend,env,python_env", [
    ("deeplabcut", "BEHAVTRACK_DLC_CONFIG", "BEHAVTRACK_DLC_PYTHON"),
    ("sleap", "BEHAVTRACK_SLEAP_MODEL", "BEHAVTRACK_SLEAP_PYTHON"),
])
def test_backend_runs_a_trained_model(backend: str, env: str, python_env: str,
                                      sample_data: Path, tmp_path: Path) -> None:
    """A trained model (e.g. a tiny one trained offline on a few openfield frames) tracks.

    Commands that make the environments and the tiny models: docs/tracking.md, "Model
    backends". The python of the backend's environment comes from ``python_env`` or
    ``BEHAVTRACK_BACKEND_PYTHON`` (unset: in-process).
    """
    model = os.environ.get(env)
    if not model:
        pytest.skip(f"set {env} to a trained {backend} model")
    import cv2

    from behavtrack.io.aliases import canonical_names
    from behavtrack.io.pose import load_pose

    src = sample_data / "video/openfield/m3v1mp4.mp4"
    clip = tmp_path / "clip.mp4"
    cap = cv2.VideoCapture(str(src))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(60):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    python = os.environ.get(python_env) or os.environ.get("BEHAVTRACK_BACKEND_PYTHON")
    out = tmp_path / "out"
    ds = track(clip, backend=backend, model=model, out=out, python=python)
    assert ds.attrs["frames_read"] == ds.attrs["frames_expected"] == 60
    assert ds.attrs["fps"] == pytest.approx(30.0, rel=1e-3)  # taken from the video
    expected = canonical_names(_model_bodyparts(backend, Path(model)))
    assert list(ds.keypoint.values) == expected  # e.g. snout renamed nose by the alias table
    assert np.isfinite(ds.position.sel(keypoint="nose")).any()
    # what is on disk is what was returned, and nothing else is left behind
    target = Path(ds.attrs["output_file"])
    assert target.parent == out and target.stem == "clip"
    again = load_pose(target)
    np.testing.assert_allclose(again.position.values, ds.position.values)
    names = sorted(p.name for p in out.iterdir())
    assert names == (["clip.csv", "clip.h5", "clip.tracking.json"] if backend == "deeplabcut"
                     else ["clip.slp", "clip.tracking.json"])
