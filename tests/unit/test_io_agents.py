"""Agent rollouts: counts equal the sample README's table; .mat and CSV agree row for row."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import scipy.io

from behavtrack.errors import InputError
from behavtrack.io.agents import grid_arena, is_rollout_file, load_rollouts

# From tests/data/marl/README.md (a copy of ../shared/data/marl/README.md): checkpoint ->
# correct, miss, pokes a1/a2, drinks a1/a2.
README_COUNTS = {
    0: (3, 48, 22, 37, 2, 2),
    2000: (53, 21, 67, 73, 53, 53),
    4000: (73, 7, 74, 81, 73, 73),
}


def _counts(events):
    def n(event, subject=""):
        return int(((events.event == event) & (events.subject == subject)).sum())

    return (n("correct"), n("miss"), n("poke", "agent1"), n("poke", "agent2"),
            n("drink", "agent1"), n("drink", "agent2"))


@pytest.fixture(scope="module")
def csv_rollouts(sample_data):
    return {r.checkpoint: r for r in load_rollouts(sample_data / "marl/rollouts_seed0.csv")}


def test_csv_counts_equal_readme(csv_rollouts):
    assert sorted(csv_rollouts) == [0, 2000, 4000]
    for ckpt, want in README_COUNTS.items():
        r = csv_rollouts[ckpt]
        assert r.run == "0"
        assert _counts(r.events) == want, ckpt


def test_csv_positions_against_csv_module(sample_data, csv_rollouts):
    with open(sample_data / "marl/rollouts_seed0.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    r = csv_rollouts[2000]
    rows = [row for row in rows if row["checkpoint"] == "2000"]
    for j, agent in enumerate(("agent1", "agent2")):
        mine = [row for row in rows if row["agent"] == agent]
        col = np.array([int(row["col"]) for row in mine])
        rr = np.array([int(row["row"]) for row in mine])
        np.testing.assert_array_equal(r.pose.position.values[:, 0, 0, j], col)
        np.testing.assert_array_equal(r.pose.position.values[:, 1, 0, j], rr)
        pc = np.array([int(row["poke_col"]) for row in mine])
        np.testing.assert_array_equal(r.pose.poke_cell.values[:, 0, j], pc)
        poked = np.flatnonzero([row["poked"] == "1" for row in mine])
        ev = r.events[(r.events.event == "poke") & (r.events.subject == agent)]
        np.testing.assert_array_equal(ev.frame.to_numpy(), poked)
        np.testing.assert_array_equal(ev.time_s.to_numpy(), poked.astype(float))
    # agent2 lives in the right half, agent1 in the left one
    x = r.pose.position.values[:, 0, 0, :]
    assert x[:, 0].max() <= 3 and x[:, 1].min() >= 4


def test_mat_matches_csv_row_for_row_and_readme(sample_data, csv_rollouts):
    for ckpt, want in README_COUNTS.items():
        path = sample_data / f"marl/checkpoint_{ckpt}.mat"
        (m,) = load_rollouts(path)
        c = csv_rollouts[ckpt]
        assert m.checkpoint == ckpt
        for var in ("position", "poke_cell", "water_cell", "action", "reward"):
            np.testing.assert_array_equal(m.pose[var].values, c.pose[var].values, err_msg=var)
        np.testing.assert_array_equal(m.pose.episode.values, c.pose.episode.values)
        np.testing.assert_array_equal(m.pose.step.values, c.pose.step.values)
        # Pokes and drinks are recovered from positions. Exact on every step but an episode's
        # last (step 499), whose outcome is not recorded; this sample has no event there, so
        # the recovered counts must equal the README's exactly, and every event match.
        last = c.events[c.events.step == 499]
        assert last[last.event.isin(["poke", "drink"])].empty
        assert _counts(m.events) == want
        key = ["frame", "subject", "event"]
        assert m.events[key].values.tolist() == c.events[key].values.tolist()


def test_mat_columns_are_relative_to_half(sample_data):
    path = sample_data / "marl/checkpoint_0.mat"
    raw = scipy.io.loadmat(path)
    (r,) = load_rollouts(path)
    np.testing.assert_array_equal(r.pose.position.values[:, 0, 0, 1], raw["agent2_loc"][:, 0] + 4)
    np.testing.assert_array_equal(r.pose.position.values[:, 1, 0, 1], raw["agent2_loc"][:, 1])
    np.testing.assert_array_equal(r.pose.position.values[:, 0, 0, 0], raw["agent1_loc"][:, 0])
    np.testing.assert_array_equal(r.pose.water_cell.values[:, 0, 1], raw["agent2_water"][:, 0] + 4)


def test_grid_arena_geometry():
    a = grid_arena()
    assert a.units == "cells" and a.individuals == ["agent1", "agent2"]
    cells = np.array([[c, 3] for c in range(8)], dtype=float)
    np.testing.assert_array_equal(a.compartment_index(cells), [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(a.distance_to_partition(cells), np.abs(np.arange(8) - 3.5))
    assert a.partner_of("agent1") == "agent2"
    assert a.window_s == 2.0 and a.fps == 1.0


def test_is_rollout_file(sample_data):
    assert is_rollout_file(sample_data / "marl/rollouts_seed0.csv")
    assert is_rollout_file(sample_data / "marl/checkpoint_0.mat")
    assert not is_rollout_file(sample_data / "pose/mouse_multi.csv")


def test_mat_with_a_key_missing(sample_data, tmp_path):
    data = {k: v for k, v in scipy.io.loadmat(sample_data / "marl/checkpoint_0.mat").items()
            if not k.startswith("__") and k != "agent2_nosepoke"}
    bad = tmp_path / "checkpoint_7.mat"
    scipy.io.savemat(bad, data)
    with pytest.raises(InputError) as exc:
        load_rollouts(bad)
    assert str(exc.value).startswith(str(bad)) and "'agent2_nosepoke'" in str(exc.value)


def test_csv_with_a_column_missing(sample_data, tmp_path):
    lines = (sample_data / "marl/rollouts_seed0.csv").read_text().splitlines()[:21]
    header = lines[0].split(",")
    drop = header.index("poke_col")
    bad = tmp_path / "rollouts.csv"
    bad.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop)
                             for line in lines) + "\n")
    with pytest.raises(InputError, match="has no column 'poke_col'"):
        load_rollouts(bad)


def test_mat_not_whole_episodes(sample_data, tmp_path):
    data = {k: v for k, v in scipy.io.loadmat(sample_data / "marl/checkpoint_0.mat").items()
            if not k.startswith("__")}
    p = tmp_path / "checkpoint_1.mat"
    scipy.io.savemat(p, data)
    with pytest.raises(InputError, match="whole number of 400-step"):
        load_rollouts(p, episode_steps=400)
    (r,) = load_rollouts(p, episode_steps=300, run="x")
    assert r.run == "x" and r.pose.episode.values.max() == 4


@pytest.mark.parametrize("frac", [0.0, 0.01, 0.5])
def test_truncated_mat(sample_data, tmp_path, frac):
    data = (sample_data / "marl/checkpoint_2000.mat").read_bytes()
    p = tmp_path / "checkpoint_2000.mat"
    p.write_bytes(data[: int(len(data) * frac)])
    with pytest.raises(InputError, match="not a readable MATLAB file"):
        load_rollouts(p)


def test_csv_cells_off_the_grid(sample_data, tmp_path):
    """As for the .mat files, a CSV cell outside the 8 x 8 grid is refused, naming the column."""
    df = pd.read_csv(sample_data / "marl/rollouts_seed0.csv").head(40)
    df.loc[df.index[3], "water_col"] = 8
    bad = tmp_path / "rollouts.csv"
    df.to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"column water_row/water_col has cells outside the "
                                         r"8 x 8 grid"):
        load_rollouts(bad)


def test_a_rollout_file_carrying_its_run_label_gives_the_same_chance_in_any_folder(
        tmp_path, sample_data):
    """``behavtrack agents train`` stores ``run=seed<S>``: chance and p ignore the folder."""
    import scipy.io

    from behavtrack.io.agents import load_rollouts
    from behavtrack.learning.agents import analyze_rollout

    src = sample_data / "marl" / "checkpoint_0.mat"
    mat = {k: v for k, v in scipy.io.loadmat(src).items() if not k.startswith("__")}
    rows = []
    for folder in ("a", "b_other_name"):
        (tmp_path / folder).mkdir()
        scipy.io.savemat(tmp_path / folder / src.name, {**mat, "run": np.array("seed7")})
        (rollout,) = load_rollouts(tmp_path / folder / src.name)
        assert rollout.run == "seed7"
        row = analyze_rollout(rollout, n_shifts=200, seed=0)[1]
        rows.append({k: v for k, v in row.items() if k != "path"})
    assert rows[0] == rows[1] and rows[0]["chance_p"] is not None
    (tmp_path / "c").mkdir()
    scipy.io.savemat(tmp_path / "c" / src.name, mat)  # no label: the folder's name, as before
    assert load_rollouts(tmp_path / "c" / src.name)[0].run == "c"

