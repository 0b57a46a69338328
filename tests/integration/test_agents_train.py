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
        assert len(r.pose.time) == 500
        (res,) = replay_file(out / name)  # the evaluation obeys the rules exactly
        assert res.ok, res.mismatches.head().to_string()
    summary = json.loads((out / "training.json").read_text())
    assert summary["finished"] and [c["iteration"] for c in summary["curve"]] == [0, 1, 2]
    assert {"success_rate", "chance_rate", "p_value", "train"} <= set(summary["curve"][-1])
    best = summary["best"]
    assert best["iteration"] in (0, 1, 2) and (out / best["file"]).is_file()
    assert (out / best["policies"]).is_file()
    with np.load(out / "policies" / "checkpoint_2.npz", allow_pickle=False) as z:
        assert "agent1/policy/rnn.weight_hh_l0" in z.files
    models, cfg = load_policies(out / "policies" / "checkpoint_2.npz")
    assert cfg.hidden == 16 and set(models) == {"agent1", "agent2"}
    # the same seed, another --out name: the same rollouts and the same figures (the chance
    # shifts are seeded by --seed and the iteration, not by the folder)
    again = tmp_path / "elsewhere" / "another-name"
    assert main(["-q", "agents", "train", "--out", str(again), "--seed", "3", *TINY]) == 0
    a = load_rollouts(out / "checkpoint_2.mat")[0].pose
    b = load_rollouts(again / "checkpoint_2.mat")[0].pose
    np.testing.assert_array_equal(a["action"].values, b["action"].values)
    other = json.loads((again / "training.json").read_text())

    def figures(s):
        return [{k: v for k, v in c.items() if k != "elapsed_s"} for c in s["curve"]]

    assert figures(other) == figures(summary) and other["best"] == summary["best"]
    assert any(c["p_value"] is not None for c in summary["curve"])
    # a used --out is refused
    code, _, err = _run(["agents", "train", "--out", str(out), *TINY], capsys)
    assert code == 2 and len(err) == 1 and "earlier training run" in err[0]


def test_window_curriculum_schedule():
    from behavtrack.agents.config import TrainConfig

    cfg = TrainConfig(noncoop_iterations=10, window_start=5, window_every=3, sync_limit=2)
    assert [cfg.train_window(i) for i in range(1, 24)] == (
        [5] * 10 + [5, 5, 5, 4, 4, 4, 3, 3, 3] + [2] * 4)
    assert TrainConfig(window_start=2).train_window(1) == 2  # no curriculum
    assert TrainConfig(window_start=1).train_window(500) == 2  # never below sync_limit


def test_bad_window_is_refused(tmp_path, capsys):
    code, _, err = _run(["agents", "train", "--out", str(tmp_path / "o"), "--window-start", "6"],
                        capsys)
    assert code == 2 and err == ["behavtrack agents: error: --window-start: must be 1-5, got 6"]


def test_best_evaluation_prefers_significant_margin():
    from behavtrack.agents.train import best_evaluation

    def row(it, s, c, p):
        return {"iteration": it, "success_rate": s, "chance_rate": c, "p_value": p,
                "file": f"checkpoint_{it}.mat"}

    curve = [row(0, 0.1, 0.1, 0.5), row(10, 0.5, 0.2, 0.02), row(20, 0.4, 0.2, 0.001),
             row(30, 0.45, 0.2, 0.001)]
    assert best_evaluation(curve)["iteration"] == 30
    assert best_evaluation(curve[:2])["iteration"] == 10  # none significant: largest margin
    assert best_evaluation([]) is None


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
        train(tmp_path / "run", cfg, log=log)
    summary = json.loads((tmp_path / "run" / "training.json").read_text())
    assert not summary["finished"] and len(summary["curve"]) == 2
    assert (tmp_path / "run" / "checkpoint_1.mat").is_file()
    assert not list((tmp_path / "run").glob(".*"))  # no half-written files left


@pytest.mark.slow
@needs_extra
def test_ctrl_c_keeps_finished_checkpoints(tmp_path):
    """A real SIGINT to ``behavtrack agents train`` mid-run: the finished checkpoints stay."""
    import signal
    import subprocess
    import sys
    import time

    from behavtrack.agents.replay import replay_file
    from behavtrack.agents.train import load_policies

    out = tmp_path / "run"
    argv = [sys.executable, "-c", "import sys; from behavtrack.cli import main; "
            "sys.exit(main(sys.argv[1:]))", "-q", "agents", "train", "--out", str(out),
            "--iterations", "200", "--eval-every", "1", "--eval-episodes", "1", "--envs", "4",
            "--rollout-steps", "50", "--hidden", "16"]
    # a child of a shell's background job would inherit SIGINT ignored: restore the default
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint_2.mat").exists():  # two iterations done
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # as Ctrl-C does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "behavtrack: interrupted"
    summary = json.loads((out / "training.json").read_text())
    assert not summary["finished"] and summary["curve"]
    done = [c["iteration"] for c in summary["curve"]]
    assert done == list(range(len(done))) and len(done) >= 2
    for it in done:  # every checkpoint listed is complete and readable
        (res,) = replay_file(out / f"checkpoint_{it}.mat")
        assert res.ok
        load_policies(out / "policies" / f"checkpoint_{it}.npz")
    for path in out.glob("checkpoint_*.mat"):  # one not yet listed is complete too
        assert replay_file(path)[0].ok
    assert not [p.name for p in out.rglob("*") if p.name.startswith(".")
                and p.name != ".behavtrack.lock"]  # no half-written files left
    assert not (out / ".behavtrack.lock").exists()


def test_best_evaluation_needs_enough_pokes():
    from behavtrack.agents.train import best_evaluation

    curve = [{"iteration": 80, "success_rate": 0.26, "chance_rate": 0.17, "p_value": 0.001,
              "n_pokes": 887, "file": "checkpoint_80.mat"},
             {"iteration": 160, "success_rate": 0.43, "chance_rate": 0.006, "p_value": 0.001,
              "n_pokes": 7, "file": "checkpoint_160.mat"}]
    assert best_evaluation(curve)["iteration"] == 80

