"""Agents: synchronized pokes, misses and pokes per agent equal what the rollouts record."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from behavtrack.learning.agents import analyze_rollout
from behavtrack.strategies.grid import grid_labels
from behavtrack.task.sync import replay_sync
from behavtrack.workflows.stats import compute_stats

# tests/data/marl/README.md (a copy of ../shared/data/marl/README.md), "Counts in this sample"
EXPECTED = {0: dict(correct=3, miss=48, p1=22, p2=37, d1=2, d2=2),
            2000: dict(correct=53, miss=21, p1=67, p2=73, d1=53, d2=53),
            4000: dict(correct=73, miss=7, p1=74, p2=81, d1=73, d2=73)}


@pytest.fixture(scope="module")
def rollouts(sample_data):
    from behavtrack.io.agents import load_rollouts

    return {cp: load_rollouts(sample_data / "marl" / f"checkpoint_{cp}.mat")[0]
            for cp in EXPECTED}


def test_counts_equal_the_recorded_flags(rollouts):
    for cp, r in rollouts.items():
        trials, row = analyze_rollout(r, progress=cp / 4000, n_shifts=500)
        e = EXPECTED[cp]
        assert row["n_correct"] == row["n_correct_replayed"] == e["correct"]
        assert row["n_miss"] == row["n_miss_replayed"] == e["miss"]
        assert (row["n_pokes_agent1"], row["n_pokes_agent2"]) == (e["p1"], e["p2"])
        assert (row["n_drinks_agent1"], row["n_drinks_agent2"]) == (e["d1"], e["d2"])
        assert row["n_pokes"] == len(trials) == e["p1"] + e["p2"]
        # every synchronized poke involves at least one poke of each agent
        assert trials["success"].sum() >= 2 * e["correct"]
        assert row["progress"] == cp / 4000 and row["time_unit"] == "steps"
        assert row["window_s"] == 2.0 and row["notes"] == ""


def test_replay_gives_the_flag_steps(rollouts):
    for r in rollouts.values():
        ev = r.events
        n = r.pose.sizes["time"]
        episode = r.pose["episode"].to_numpy()
        flags = np.zeros((2, n), bool)
        for j, a in enumerate(("agent1", "agent2")):
            flags[j, ev.loc[(ev["event"] == "poke") & (ev["subject"] == a), "frame"]] = True
        out = replay_sync(flags[0], flags[1], np.r_[True, episode[1:] != episode[:-1]],
                          return_flags=True)
        np.testing.assert_array_equal(np.flatnonzero(out["sync"][0]),
                                      ev.loc[ev["event"] == "correct", "frame"].to_numpy())
        np.testing.assert_array_equal(np.flatnonzero(out["miss"][0]),
                                      ev.loc[ev["event"] == "miss", "frame"].to_numpy())


def _env_reference(p1, p2, starts, lim=2):
    """The environment's rule step by step, as in MultiAgentSync_fullobs.step (one train)."""
    h1, h2 = [False] * 5, [False] * 5
    sync_steps, miss_steps = [], []
    for t in range(len(p1)):
        if starts[t]:
            h1, h2 = [False] * 5, [False] * 5
        m1, m2 = h1[-lim:] + [bool(p1[t])], h2[-lim:] + [bool(p2[t])]
        if any(m1) and any(m2):
            sync_steps.append(t)
            h1, h2 = [False] * 5, [False] * 5
        elif m1[0] or m2[0]:
            miss_steps.append(t)
            h1, h2 = [False] * 5, [False] * 5
        else:
            h1, h2 = h1[1:] + [bool(p1[t])], h2[1:] + [bool(p2[t])]
    return sync_steps, miss_steps


def test_replay_equals_the_environment_rule_on_random_trains():
    rng = np.random.default_rng(0)
    lengths = [37, 50, 12, 50]  # unequal episodes
    starts = np.zeros(sum(lengths), bool)
    starts[np.cumsum([0] + lengths[:-1])] = True
    p1 = rng.random((20, len(starts))) < 0.15
    p2 = rng.random((20, len(starts))) < 0.1
    out = replay_sync(p1, p2, starts, return_flags=True)
    for k in range(20):
        sync_steps, miss_steps = _env_reference(p1[k], p2[k], starts)
        assert np.flatnonzero(out["sync"][k]).tolist() == sync_steps
        assert np.flatnonzero(out["miss"][k]).tolist() == miss_steps
        assert out["n_sync"][k] == len(sync_steps) and out["n_miss"][k] == len(miss_steps)
        # success flags mark only pokes, and every synchronized step has one of each agent
        assert not (out["success1"][k] & ~p1[k]).any()
        assert out["n_success_pokes"][k] == out["success1"][k].sum() + out["success2"][k].sum()


def test_success_beats_chance_when_skilled(rollouts):
    rows = {cp: analyze_rollout(r, n_shifts=1000)[1] for cp, r in rollouts.items()}
    assert rows[0]["chance_p"] > 0.05  # skill 0.05: no better than shifted trains
    for cp in (2000, 4000):
        assert rows[cp]["chance_p"] < 0.01 and rows[cp]["success_rate"] > 3 * rows[cp][
            "chance_rate"]
    again = analyze_rollout(rollouts[2000], n_shifts=1000)[1]
    assert again["chance_rate"] == rows[2000]["chance_rate"]  # seeded


def test_grid_strategies_match_an_independent_count(sample_data, rollouts):
    tidy = pd.read_csv(sample_data / "marl" / "rollouts_seed0.csv")
    for cp, r in rollouts.items():
        d = tidy[tidy["checkpoint"] == cp]
        a1 = d[d["agent"] == "agent1"].reset_index(drop=True)
        a2 = d[d["agent"] == "agent2"].reset_index(drop=True)
        inter = (a1["col"] == 3) & (a2["col"] == 4) & ((a1["row"] - a2["row"]).abs() <= 1)
        labels = grid_labels(r)
        assert (labels[:, 0] == "interaction").sum() == inter.sum()
        for j, a in enumerate((a1, a2)):
            same = (a["row"] == a["row"].shift()) & (a["col"] == a["col"].shift()) & (
                a["episode"] == a["episode"].shift())
            adj = ((a["row"] - a["poke_row"]).abs() + (a["col"] - a["poke_col"]).abs()) == 1
            wait = same & adj & ~inter
            mid = a["col"] == (3 if j == 0 else 4)
            assert (labels[:, j] == "waiting").sum() == wait.sum()
            assert (labels[:, j] == "approach").sum() == (mid & ~wait & ~inter).sum()
    # approach bouts grow with skill only beyond the random walk's share of the midline
    # column; interaction (both at the midline, within a row) grows clearly
    frac = {cp: (grid_labels(r) == "interaction").mean() for cp, r in rollouts.items()}
    assert frac[0] < frac[2000] < frac[4000]


def test_mat_and_tidy_csv_give_the_same_sessions(sample_data, tmp_path):
    a = compute_stats([sample_data / "marl" / f"checkpoint_{cp}.mat" for cp in EXPECTED],
                      tmp_path / "a", n_shifts=200, n_boot=100, figures=False)
    b = compute_stats([sample_data / "marl" / "rollouts_seed0.csv"], tmp_path / "b",
                      n_shifts=200, n_boot=100, figures=False)
    cols = ["session", "progress", "n_pokes", "success_rate", "n_correct", "n_miss",
            "waiting_frac_time", "interaction_frac_time", "approach_frac_time"]
    pd.testing.assert_frame_equal(a.sessions[cols], b.sessions[cols])
    assert a.sessions["progress"].tolist() == [0.0, 0.5, 1.0]


def test_agent_file_with_a_key_missing_is_reported_and_rest_computed(sample_data, tmp_path):
    from scipy.io import loadmat, savemat

    src = sample_data / "marl"
    folder = tmp_path / "agents"
    folder.mkdir()
    for cp in (0, 4000):
        shutil.copy(src / f"checkpoint_{cp}.mat", folder)
    data = {k: v for k, v in loadmat(src / "checkpoint_2000.mat").items()
            if not k.startswith("__") and k != "miss"}
    savemat(folder / "checkpoint_2000.mat", data)
    res = compute_stats([folder], tmp_path / "out", n_shifts=200, n_boot=100, figures=False)
    assert res.sessions["session"].tolist() == [0, 4000]
    assert len(res.failures) == 1
    err = res.failures["error"].item()
    assert "miss" in err and "checkpoint_2000.mat" in res.failures["path"].item()
    assert res.sessions["n_correct"].tolist() == [3, 73]
