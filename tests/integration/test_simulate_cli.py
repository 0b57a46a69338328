"""``behavtrack simulate``: a cohort on disk, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena_path
from behavtrack.simulate import simulate_session


def _run(capsys, *argv):
    code = main(["-q", *argv])
    return code, capsys.readouterr().err.strip()


def test_writes_pair_day_folders(tmp_path, capsys):
    out = tmp_path / "cohort"
    code, err = _run(capsys, "simulate", "--pairs", "2", "--days", "2", "--duration", "8",
                     "--fps", "15", "--seed", "4", "--out", str(out))
    assert code == 0, err
    folders = sorted(p.relative_to(out).as_posix() for p in out.glob("pair*/day*"))
    assert folders == ["pair01/day01", "pair01/day02", "pair02/day01", "pair02/day02"]
    meta = json.loads((out / "pair02" / "day02" / "session.json").read_text())
    assert (meta["pair"], meta["day"], meta["fps"], meta["n_frames"], meta["seed"]) == (
        "pair02", 1, 15.0, 120, 4)
    assert (out / "pair01" / "day01" / "pose.h5").is_file()
    assert not list(out.rglob("video.mp4"))


def _arena_without(tmp_path, edit) -> str:
    data = yaml.safe_load(default_arena_path().read_text())
    edit(data)
    path = tmp_path / "arena.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--duration", "-5"], "--duration"),
        (["--pairs", "0"], "--pairs"),
        (["--days", "0"], "--days"),
        (["--fps", "0"], "--fps"),
        (["--seed", "-1"], "--seed"),
        (["--arena", "/no/such/arena.yaml"], "no such arena file"),
    ],
)
def test_bad_parameters_give_one_line_and_exit_2(tmp_path, capsys, args, needle):
    code, err = _run(capsys, "simulate", "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d.pop("partition"), "has no partition"),
        (lambda d: d["compartments"]["left"].pop("poke_port"), "has no poke_port"),
        (lambda d: d["compartments"]["right"].pop("water_port"), "has no water_port"),
        (lambda d: d["compartments"]["right"].pop("individual"), "two compartments"),
    ],
)
def test_arenas_that_cannot_host_the_task_are_refused(tmp_path, capsys, edit, needle):
    arena = _arena_without(tmp_path, edit)
    code, err = _run(capsys, "simulate", "--arena", arena, "--out", str(tmp_path / "o"))
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err and arena in err
    assert not (tmp_path / "o").exists()


def test_library_raises_input_error_for_bad_values():
    with pytest.raises(InputError, match="^day: "):
        simulate_session(day=10, n_days=10)
    with pytest.raises(InputError, match="^duration_s: "):
        simulate_session(duration_s=float("nan"))


def test_video_first_renders_only_the_first_session(tmp_path, capsys):
    out = tmp_path / "c"
    code, err = _run(capsys, "simulate", "--pairs", "1", "--days", "2", "--duration", "1",
                     "--video", "first", "--no-noise", "--out", str(out))
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("video.mp4")) == [
        "pair01/day01/video.mp4"]
    meta = json.loads((out / "pair01" / "day02" / "session.json").read_text())
    assert meta["noise"] is False and meta["files"]["video"] is None


def test_out_under_a_file_is_refused_before_the_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = _run(capsys, "simulate", "--out", str(blocker / "cohort"))
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{blocker / 'cohort'}: cannot be created" in err and "Traceback" not in err
