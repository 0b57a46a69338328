"""Training: bad settings refused in one line; a few real iterations write readable rollouts."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the agents' environment needs pettingzoo")

from behavtrack.cli import main  # noqa: E402

HAVE_EXTRA = all(importlib.util.find_spec(m) is not None for m in ("skrl", "torch"))
needs_extra = pytest.mark.skipif(
    not HAVE_EXTRA, reason="skrl/torch not installed: pip install 'behavtrack[agents]'")

TINY = ["--iterations", "2", "--eval-every", "1", "--eval-episodes", "1", "--envs", "4",
        "--rollout-steps", "50", "--hidden", "16"]


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def test_iterations_0_is_refused(tmp_path, capsys):
    code, _, err = _run(["agents", "train", "--out", str(tmp_path / "o"), "--iterations", "0"],
                        capsys)
    assert code == 2 and err == ["behavtrack agents: error: --iterations: must be >= 1, got 0"]
    assert not (tmp_path / "o").exists()


def test_unwritable_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = _run(["agents", "train", "--out", str(blocker / "run"), *TINY], capsys)
    assert code == 2 and len(err) == 1 and "cannot be created" in err[0]
    code, _, err = _run(["agents", "train", "--out", str(blocker), *TINY], capsys)
    assert code == 2 and len(err) == 1 and "is a file" in err[0]


def test_missing_extra_is_one_line(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] in ("skrl", "torch"):
            raise ImportError(f"No module named '{name}'", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    code, _, err = _run(["agents", "train", "--out", str(tmp_path / "o"), *TINY], capsys)
    assert code == 2 and len(err) == 1 and "behavtrack[agents]" in err[0]


@pytest.mark.slow
@needs_extra
def test_tiny_training_run_writes_readable_rollouts(tmp_path, capsys):
    from behavtrack.agents.replay import replay_file
    from behavtrack.agents.train import load_policies
    from behavtrack.io.agents import load_rollouts

    out = tmp_path / "run"
    code, stdout, _ = _run(["-q", "agents", "train", "--out", str(out), "--seed", "3", *TINY],
                           capsys)
    assert code == 0, stdout
    mats = sorted(p.name for p in out.glob("checkpoint_*.mat"))
    assert mats == ["checkpoint_0.mat", "checkpoint_1.mat", "checkpoint_2.mat"]
    for name in mats:
        (r,) = load_rollouts(out / name)
        assert r.run == "run" and len(r.pose.time) == 500
        (res,) = replay_file(out / name)  # the evaluation obeys the rules exactly
        assert res.ok, res.mismatches.head().to_string()
    summary = json.loads((out / "training.json").read_text())
    assert summary["finished"] and [c["iteration"] for c in summary["curve"]] == [0, 1, 2]
    assert {"success_rate", "chance_rate", "p_value"} <= set(summary["curve"][-1])
    with np.load(out / "policies" / "checkpoint_2.npz", allow_pickle=False) as z:
        assert "agent1/policy/rnn.weight_hh_l0" in z.files
    models, cfg = load_policies(out / "policies" / "checkpoint_2.npz")
    assert cfg.hidden == 16 and set(models) == {"agent1", "agent2"}
    # the same seed gives the same rollouts
    again = tmp_path / "again" / "run"
    assert main(["-q", "agents", "train", "--out", str(again), "--seed", "3", *TINY]) == 0
    a = load_rollouts(out / "checkpoint_2.mat")[0].pose
    b = load_rollouts(again / "checkpoint_2.mat")[0].pose
    np.testing.assert_array_equal(a["action"].values, b["action"].values)
    # a used --out is refused
    code, _, err = _run(["agents", "train", "--out", str(out), *TINY], capsys)
    assert code == 2 and len(err) == 1 and "earlier training run" in err[0]


@pytest.mark.slow
@needs_extra
def test_interrupted_run_keeps_finished_checkpoints(tmp_path):
    from behavtrack.agents.train import TrainConfig, train

    calls = []

    def log(line):
        calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt

    cfg = TrainConfig(iterations=5, eval_every=1, eval_episodes=1, n_envs=4, rollout_steps=50,
                      hidden=16)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", cfg, quiet=True, log=log)
    summary = json.loads((tmp_path / "run" / "training.json").read_text())
    assert not summary["finished"] and len(summary["curve"]) == 2
    assert (tmp_path / "run" / "checkpoint_1.mat").is_file()
    assert not list((tmp_path / "run").glob(".*"))  # no half-written files left
