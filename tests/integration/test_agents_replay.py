"""Replaying recorded rollouts in behavtrack's environment: the shipped ones match exactly."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest
import scipy.io

pytest.importorskip("pettingzoo", reason="the agents' environment needs pettingzoo")

from behavtrack.agents.replay import infer_freeze, replay_file  # noqa: E402
from behavtrack.cli import main  # noqa: E402
from behavtrack.errors import InputError  # noqa: E402

SHIPPED = {0: (3, 48), 2000: (53, 21), 4000: (73, 7)}  # checkpoint -> correct, miss


def shipped(checkpoint: int):
    return files("behavtrack.data") / "agents" / f"checkpoint_{checkpoint}.mat"


@pytest.mark.parametrize("checkpoint", sorted(SHIPPED))
def test_shipped_rollouts_replay_without_mismatch(checkpoint):
    (res,) = replay_file(shipped(checkpoint))
    assert res.ok, res.mismatches.head(10).to_string()
    assert (res.counts["correct"], res.counts["miss"]) == SHIPPED[checkpoint]
    assert res.n_steps == 1500 and res.n_episodes == 3


def test_tidy_csv_replays_without_mismatch(sample_data):
    results = replay_file(sample_data / "marl" / "rollouts_seed0.csv")
    assert [r.checkpoint for r in results] == [0, 2000, 4000]
    assert all(r.ok for r in results)


def test_cli_exit_0_and_summary(capsys):
    assert main(["agents", "replay", str(shipped(2000))]) == 0
    out = capsys.readouterr().out
    assert "0 mismatches" in out and "correct 53, miss 21" in out


def _tampered(tmp_path, edit, name="checkpoint_2000.mat"):
    mat = scipy.io.loadmat(str(shipped(2000)))
    data = {k: v for k, v in mat.items() if not k.startswith("__")}
    edit(data)
    path = tmp_path / name
    scipy.io.savemat(path, data)
    return path


def test_tampered_reward_and_action_give_mismatches(tmp_path, capsys):
    def edit(d):
        d["rew1"][0, 10] = 1.0  # a reward the rules never give there
        stays = np.flatnonzero(d["act2"][0, :400] == 4)
        d["act2"][0, stays[5]] = 0 if d["agent2_loc"][stays[5], 1] > 0 else 2  # move, not stay

    path = _tampered(tmp_path, edit)
    (res,) = replay_file(path)
    kinds = set(res.mismatches["what"])
    assert "reward" in kinds and "position" in kinds
    row = res.mismatches[res.mismatches["what"] == "reward"].iloc[0]
    assert (row.episode, row.step, row.agent, row.recorded) == (0, 10, "agent1", "1")
    assert main(["agents", "replay", str(path), "--csv", str(tmp_path / "m.csv")]) == 1
    out = capsys.readouterr().out
    assert "episode 0 step 10 agent1: reward recorded 1, replayed -0.1" in out
    assert (tmp_path / "m.csv").read_text().startswith("run,checkpoint,episode,step,agent")


def test_tampered_flags_give_mismatches(tmp_path):
    def edit(d):
        i = int(np.flatnonzero(d["correct"][0])[0])
        d["correct"][0, i] = 0
        d["miss"][0, 3] = 1 - d["miss"][0, 3]

    (res,) = replay_file(_tampered(tmp_path, edit))
    assert {"correct", "miss"} <= set(res.mismatches["what"])


def _exit_and_line(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_jump_of_two_cells_is_refused(tmp_path, capsys):
    def edit(d):
        x, y = d["agent1_loc"][20]
        d["agent1_loc"][20] = [x, (y + 2) % 8 if y + 2 < 8 else y - 2]

    path = _tampered(tmp_path, edit)
    with pytest.raises(InputError, match="jumps 2 cells"):
        replay_file(path)
    code, err = _exit_and_line(["agents", "replay", str(path)], capsys)
    assert code == 2 and len(err) == 1 and "jumps 2 cells" in err[0]


def test_cells_moving_without_a_drink_are_refused(tmp_path, capsys):
    def edit(d):
        d["agent2_water"][30:, 1] = np.where(d["agent2_water"][30:, 1] == 7, 4, 7)

    code, err = _exit_and_line(["agents", "replay", str(_tampered(tmp_path, edit))], capsys)
    assert code == 2 and len(err) == 1 and "did not end that step on its water cell" in err[0]


def test_rollout_of_another_layout_is_refused(tmp_path, capsys):
    other = tmp_path / "checkpoint_5.mat"
    scipy.io.savemat(other, {"activations1": np.zeros((10, 4)), "rew1": np.zeros((1, 10))})
    code, err = _exit_and_line(["agents", "replay", str(other)], capsys)
    assert code == 2 and len(err) == 1 and "has no key 'agent1_loc'" in err[0]
    table = tmp_path / "rollouts.csv"
    table.write_text("run,checkpoint,episode,step,agent,x\n0,0,0,0,agent1,1\n")
    code, err = _exit_and_line(["agents", "replay", str(table)], capsys)
    assert code == 2 and len(err) == 1 and "has no column 'row'" in err[0]
    code, err = _exit_and_line(["agents", "replay", str(tmp_path / "missing.mat")], capsys)
    assert code == 2 and len(err) == 1


def test_infer_freeze_reads_the_recording():
    # agent 0 drinks at step 0 on cell (1, 5), then stays with reward 0 for 2 steps, then moves
    loc = np.zeros((6, 2, 2), dtype=int)
    loc[:, :, 0] = [[1, 4], [1, 5], [1, 5], [1, 5], [1, 6], [1, 7]]
    loc[:, :, 1] = [[5, 0]] * 6
    action = np.full((6, 2), 2)
    reward = np.full((6, 2), -0.1)
    reward[0, 0] = 2.0
    reward[1:3, 0] = 0.0
    assert infer_freeze(loc, action, reward, 0, 0) == 2
    reward[1:3, 0] = -0.1
    loc[:, :, 0] = [[1, 4], [1, 5], [1, 6], [1, 7], [1, 7], [1, 7]]
    assert infer_freeze(loc, action, reward, 0, 0) == 0
