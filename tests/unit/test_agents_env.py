"""The grid world as a PettingZoo ParallelEnv: PettingZoo's API test and the original's rules."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the agents' environment needs pettingzoo")

from pettingzoo.test import parallel_api_test  # noqa: E402

from behavtrack.agents.env import (  # noqa: E402
    OBS_KEYS,
    PokeSyncEnv,
    flatten_observation,
    observation_size,
)


def test_parallel_api_test_passes():
    parallel_api_test(PokeSyncEnv(), num_cycles=1200)


def test_parallel_api_test_non_cooperative_and_short_episodes():
    parallel_api_test(PokeSyncEnv(max_steps=50, cooperative=False), num_cycles=200)


def test_observation_is_the_originals():
    env = PokeSyncEnv()
    obs, _ = env.reset(seed=3)
    assert set(obs["agent1"]) == set(OBS_KEYS)
    (r1, c1), (r2, c2) = env.pos
    assert (obs["agent1"]["self0"], obs["agent1"]["self1"]) == (r1, c1)
    assert (obs["agent2"]["self0"], obs["agent2"]["self1"]) == (r2, c2 - 4)
    assert (obs["agent1"]["otheragent0"], obs["agent1"]["otheragent1"]) == (r2, c2 - 4)
    assert (obs["agent2"]["otheragent0"], obs["agent2"]["otheragent1"]) == (r1, c1)
    v = flatten_observation(obs["agent1"])
    assert v.shape == (observation_size(),) == (56,)
    assert v.sum() == len(OBS_KEYS)


def _place(env, pos, poke, water):
    env.reset(seed=0)
    env.pos = [list(p) for p in pos]
    env.poke = [list(p) for p in poke]
    env.water = [list(p) for p in water]


def test_sync_poke_then_drink_and_freeze():
    env = PokeSyncEnv()
    # agent1 one below its poke cell, agent2 two below its poke cell
    _place(env, pos=[[2, 1], [2, 5]], poke=[[1, 1], [0, 5]], water=[[5, 1], [5, 5]])
    _, r, _, _, info = env.step({"agent1": 0, "agent2": 0})
    assert info["agent1"]["poke"] and not info["agent2"]["poke"]
    assert r == {"agent1": -0.1, "agent2": -0.1}
    _, r, _, _, info = env.step({"agent1": 4, "agent2": 0})  # agent1 stays: no second poke
    assert not info["agent1"]["poke"] and info["agent2"]["poke"]
    assert info["agent1"]["correct"] == 1 and r == {"agent1": 2.0, "agent2": 2.0}
    assert env.water_available == [1, 1]
    env.pos[0] = [4, 1]
    _, r, _, _, info = env.step({"agent1": 2, "agent2": 4})
    assert info["agent1"]["drink"] and r["agent1"] == 2.0 and env.water_available[0] == 0
    assert 4 <= env.water[0][0] <= 7 and 0 <= env.poke[0][0] <= 2


def test_unmatched_poke_is_a_miss_two_steps_later():
    env = PokeSyncEnv()
    _place(env, pos=[[1, 0], [7, 7]], poke=[[0, 0], [0, 4]], water=[[5, 3], [5, 4]])
    _, _, _, _, info = env.step({"agent1": 0, "agent2": 4})
    assert info["agent1"]["poke"] and not info["agent1"]["miss"]
    _, r, _, _, info = env.step({"agent1": 4, "agent2": 4})
    assert not info["agent1"]["miss"] and r["agent1"] == -0.1
    _, r, _, _, info = env.step({"agent1": 4, "agent2": 4})
    assert info["agent1"]["miss"] == 1 and r == {"agent1": -0.5, "agent2": -0.5}


def test_walls_and_midline():
    env = PokeSyncEnv()
    _place(env, pos=[[0, 3], [7, 4]], poke=[[2, 0], [2, 7]], water=[[7, 0], [7, 7]])
    env.step({"agent1": 1, "agent2": 3})  # into the midline
    assert env.pos == [[0, 3], [7, 4]]
    env.step({"agent1": 0, "agent2": 2})  # off the grid
    assert env.pos == [[0, 3], [7, 4]]


def test_non_cooperative_task_pays_own_poke():
    env = PokeSyncEnv(cooperative=False)
    _place(env, pos=[[1, 0], [7, 7]], poke=[[0, 0], [0, 4]], water=[[5, 3], [5, 4]])
    _, r, _, _, _ = env.step({"agent1": 0, "agent2": 4})
    assert r["agent1"] == 2.0 and env.water_available == [1, 0]
    env.step({"agent1": 4, "agent2": 4})
    _, r, _, _, info = env.step({"agent1": 4, "agent2": 4})
    assert info["agent1"]["miss"] == 1 and r["agent1"] == -0.1  # flagged, not punished


def test_seeded_episodes_repeat():
    def play(seed):
        env = PokeSyncEnv(max_steps=200)
        env.reset(seed=seed)
        rng = np.random.default_rng(1)
        out = []
        while env.agents:
            _, r, _, _, _ = env.step({a: int(rng.integers(5)) for a in env.agents})
            out.append((tuple(map(tuple, env.pos)), r["agent1"], r["agent2"]))
        return out

    assert play(7) == play(7)
    assert play(7) != play(8)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="sync_limit"):
        PokeSyncEnv(sync_limit=0)
    env = PokeSyncEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not 0-4"):
        env.step({"agent1": 7, "agent2": 0})
