"""The cooperative nose-poke grid world as a PettingZoo ``ParallelEnv``.

A re-implementation of ``MultiAgentSync_fullobs`` of the public repository
hongw-lab/MARL_Environment_Poke (``MultiAgentSync_fullobs_samefield_randnose_xycoords.py``),
with its configuration of ``current_config_xy.py`` (``height=8, width=8, sync_limit=2,
randomize=True, randomize_miss=False``) and the 500-step episodes of its evaluation script.
``reset()`` and ``step()`` follow the original line by line:

- an 8 x 8 grid, rows 0 (top) to 7, absolute columns 0-7; ``agent1`` lives in columns 0-3,
  ``agent2`` in 4-7 (a wall at the midline); internal cells are ``[row, column]``;
- each agent has a poke cell (rows 0-2 of its half) and a water cell (rows 4-7). At reset the
  agents, then agent1's water and poke cells, then agent2's, are drawn uniformly in the
  agent's half (agents anywhere in it); after an agent drinks, its water and then its poke
  cell are drawn again (after its freeze length);
- actions ``0`` up, ``1`` right, ``2`` down, ``3`` left, ``4`` stay; a move off the grid or
  across the midline leaves the agent where it was;
- a *poke* is ending a step on one's poke cell when the previous (unfrozen) step did not end
  there (an agent that starts on its poke cell pokes on its first step if it stays);
- a *drink* is ending a step on one's water cell while water is available there: +2, then the
  agent is frozen for ``randint(0, 4)`` steps (actions ignored, reward 0);
- both agents having poked within the last ``sync_limit`` steps and this one is a
  *synchronised poke* (``correct``): histories reset, water becomes available on both sides,
  and each agent gets +2 on that step unless one side still had undrunk water;
- otherwise a poke ``sync_limit`` steps old is a *miss*: histories reset and both agents get
  -0.5 on that step (overriding any other reward);
- every other step costs ``movement_reward`` (-0.1); frozen steps give 0.

Observations are the original's: per agent a ``Dict`` of ``Discrete`` values, ``*0`` = row and
``*1`` = column within the agent's own half (the other agent's columns are shifted by 4 for
agent1 and unshifted for agent2, exactly as in ``_get_obs``): ``self``, ``nosepoke``,
``water``, ``otheragent``, ``otherpoke``. :func:`flatten_observation` gives the one-hot vector
RLlib's preprocessor fed the original's networks (56 values, keys in sorted order).

Random draws go through a :class:`Draws` object: :class:`RandomDraws` (the default, seeded by
``reset(seed=...)``) or one that replays a recording (:mod:`behavtrack.agents.replay`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Protocol

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

__all__ = [
    "ACTIONS",
    "AGENTS",
    "OBS_KEYS",
    "Draws",
    "PokeSyncEnv",
    "RandomDraws",
    "flatten_observation",
    "observation_size",
]

AGENTS: tuple[str, str] = ("agent1", "agent2")
#: Action names by index, as in the original (``0=up, 1=right, 2=down, 3=left, 4 = nothing``).
ACTIONS: tuple[str, ...] = ("up", "right", "down", "left", "stay")
#: Observation keys in the (sorted) order of the Dict space and of the one-hot vector.
OBS_KEYS: tuple[str, ...] = (
    "nosepoke0", "nosepoke1", "otheragent0", "otheragent1", "otherpoke0", "otherpoke1",
    "self0", "self1", "water0", "water1",
)


class Draws(Protocol):
    """Where the environment's random placements and freeze lengths come from.

    Cells are ``[row, absolute column]``; ``agent`` is 0 (agent1) or 1 (agent2).
    """

    def start(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        """Cells at reset: ``{"pos": [a1, a2], "water": [w1, w2], "poke": [p1, p2]}``."""
        ...

    def freeze(self, env: PokeSyncEnv, agent: int) -> int:
        """Freeze length (0-3 steps) after ``agent`` drank on the current step."""
        ...

    def after_drink(self, env: PokeSyncEnv, agent: int) -> tuple[list[int], list[int]]:
        """Return the new ``(water, poke)`` cells of ``agent`` after it drank this step."""
        ...

    def after_miss(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        """Return the new cells after a miss (``randomize_miss``): ``{"water", "poke"}``."""
        ...


class RandomDraws:
    """The original's draws, in its order, from the environment's seeded generator.

    The original used Python's ``random.randint`` (inclusive bounds) for cells and
    ``np.random.randint(4)`` for the freeze; the same uniform ranges are drawn here from
    ``env.np_random``, in the same order.
    """

    @staticmethod
    def _cell(env: PokeSyncEnv, agent: int, what: str) -> list[int]:
        rng = env.np_random
        h, half = env.height, env.width // 2
        lo_col = agent * half
        if what == "pos":
            row = int(rng.integers(0, h))
        elif what == "water":
            row = int(rng.integers(h // 2, h))
        else:  # poke: rows 0 .. height/2 - 2
            row = int(rng.integers(0, h // 2 - 1))
        col = int(rng.integers(lo_col, lo_col + half))
        return [row, col]

    def start(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        """Draw agent1, agent2, water1, poke1, water2, poke2 (the original's order)."""
        pos = [self._cell(env, 0, "pos"), self._cell(env, 1, "pos")]
        w1, p1 = self._cell(env, 0, "water"), self._cell(env, 0, "poke")
        w2, p2 = self._cell(env, 1, "water"), self._cell(env, 1, "poke")
        return {"pos": pos, "water": [w1, w2], "poke": [p1, p2]}

    def freeze(self, env: PokeSyncEnv, agent: int) -> int:
        """Uniform 0-3."""
        return int(env.np_random.integers(0, 4))

    def after_drink(self, env: PokeSyncEnv, agent: int) -> tuple[list[int], list[int]]:
        """Water, then poke cell, of that agent."""
        water = self._cell(env, agent, "water")
        return water, self._cell(env, agent, "poke")

    def after_miss(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        """Water1, poke1, water2, poke2."""
        w1, p1 = self._cell(env, 0, "water"), self._cell(env, 0, "poke")
        w2, p2 = self._cell(env, 1, "water"), self._cell(env, 1, "poke")
        return {"water": [w1, w2], "poke": [p1, p2]}


@functools.cache
def _observation_space(height: int, width: int) -> spaces.Dict:
    half = width // 2
    sizes = {"nosepoke1": half, "water1": half, "otheragent1": half, "self1": half,
             "otherpoke1": half, "nosepoke0": half, "water0": height, "otheragent0": height,
             "self0": height, "otherpoke0": height}
    return spaces.Dict({k: spaces.Discrete(n) for k, n in sizes.items()})


def observation_size(height: int = 8, width: int = 8) -> int:
    """Length of the one-hot observation vector (56 on the 8 x 8 grid)."""
    return int(spaces.flatdim(_observation_space(height, width)))


def flatten_observation(obs: Mapping[str, Any], height: int = 8, width: int = 8) -> np.ndarray:
    """One-hot encode one agent's observation (keys in sorted order), as float32.

    This is the vector RLlib's Dict/Discrete preprocessor gave the original's networks.
    """
    return spaces.flatten(_observation_space(height, width), dict(obs)).astype(np.float32)


class PokeSyncEnv(ParallelEnv):
    """The cooperative nose-poke task of MARL_Environment_Poke as a PettingZoo ParallelEnv.

    Parameters
    ----------
    max_steps
        Steps per episode (the original's ``ts``; 500 as in its evaluation script, its
        training default was 200). Episodes end by truncation.
    sync_limit
        Pokes of both agents within this step and the ``sync_limit`` before it are a
        synchronised poke (1-5; the original's ``coop_window``, 2).
    randomize
        Draw cells at reset and after each drink (the original's default).
    randomize_miss
        Also redraw every cell after a miss (the original's option, off by default).
    movement_reward
        Reward of an ordinary step.
    height, width
        Grid size (8 x 8; ``width`` even).
    draws
        Source of the random placements and freeze lengths (default :class:`RandomDraws`).
    render_mode
        ``None`` or ``"ansi"`` (text grid).
    cooperative
        ``True``: the cooperative task (``MultiAgentSync_fullobs``). ``False``: the original's
        non-cooperative task ``MultiAgentSing_fullobs``, which its training ran first: an
        agent's own poke (while its water is not available) gives it +2 and its own water;
        synchronised pokes and misses are still flagged but neither pays nor costs.

    Notes
    -----
    ``infos[agent]`` after a step holds ``poke``, ``drink`` (the +2 of available water),
    ``correct``, ``miss`` (the joint flags), ``frozen`` (the step was frozen) and ``step``.

    Examples
    --------
    >>> env = PokeSyncEnv()
    >>> obs, infos = env.reset(seed=0)
    >>> sorted(obs)
    ['agent1', 'agent2']
    >>> obs, rewards, terms, truncs, infos = env.step({"agent1": 4, "agent2": 4})

    """

    metadata = {"name": "poke_sync_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(
        self,
        max_steps: int = 500,
        sync_limit: int = 2,
        *,
        randomize: bool = True,
        randomize_miss: bool = False,
        movement_reward: float = -0.1,
        height: int = 8,
        width: int = 8,
        draws: Draws | None = None,
        render_mode: str | None = None,
        cooperative: bool = True,
    ) -> None:
        if int(max_steps) < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if not 1 <= int(sync_limit) <= 5:
            raise ValueError(f"sync_limit must be 1-5 (the poke history holds 5), got {sync_limit}")
        if int(width) % 2 or int(width) < 2 or int(height) < 4:
            raise ValueError("the grid needs an even width >= 2 and a height >= 4")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.max_steps = int(max_steps)
        self.sync_limit = int(sync_limit)
        self.randomize = bool(randomize)
        self.randomize_miss = bool(randomize_miss)
        self.movement_reward = float(movement_reward)
        self.height, self.width = int(height), int(width)
        self.draws: Draws = draws if draws is not None else RandomDraws()
        self.render_mode = render_mode
        self.cooperative = bool(cooperative)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._action_space = spaces.Discrete(5)
        self.np_random, _ = gymnasium.utils.seeding.np_random(None)
        # the original's fixed cells (used when randomize is False)
        half = self.width // 2
        self.pos = [[0, 0], [0, half + 2]]
        self.poke = [[0, 2], [0, half + 2]]
        self.water = [[self.height - 3, 2], [self.height - 3, half + 2]]
        self._clear()

    # ---- spaces ---------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Dict:
        """Return the original's Dict of Discrete (rows ``*0``, columns in the half ``*1``)."""
        return _observation_space(self.height, self.width)

    def action_space(self, agent: str) -> spaces.Discrete:
        """``Discrete(5)``: up, right, down, left, stay."""
        return self._action_space

    # ---- episode --------------------------------------------------------------------------
    def _clear(self) -> None:
        self.water_available = [0, 0]
        self.poke_recorded = [False, False]
        self.poke_history = [np.zeros(5, dtype=bool), np.zeros(5, dtype=bool)]
        self.freeze = [0, 0]
        self.sync_poke = 0
        self.miss = 0
        self.timesteps = 0
        self.events: list[set[str]] = [set(), set()]
        self.gotwater = [False, False]

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, dict[str, int]], dict[str, dict]]:
        """Start an episode: draw the cells (agents, then each agent's water and poke cell)."""
        if seed is not None:
            self.np_random, _ = gymnasium.utils.seeding.np_random(seed)
        if self.randomize:
            cells = self.draws.start(self)
            self.pos = [list(map(int, c)) for c in cells["pos"]]
            self.water = [list(map(int, c)) for c in cells["water"]]
            self.poke = [list(map(int, c)) for c in cells["poke"]]
        self._clear()
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def _move(self, i: int, action: int) -> set[str]:
        """Move agent ``i`` in place; return its events (the original's ``_move``)."""
        coords = self.pos[i]
        coords[0] += -1 if action == 0 else 1 if action == 2 else 0
        coords[1] += 1 if action == 1 else -1 if action == 3 else 0
        coords[0] = min(max(coords[0], 0), self.height - 1)
        half = self.width // 2
        lo, hi = (0, half - 1) if i == 0 else (half, self.width - 1)
        coords[1] = min(max(coords[1], lo), hi)
        if coords == self.poke[i]:
            if not self.poke_recorded[i]:
                self.poke_recorded[i] = True
                return {"poke"}
        else:
            self.poke_recorded[i] = False
        if coords == self.water[i]:
            return {"drink"}
        if action == 4:
            return {"no_action"}
        return set()

    def step(self, actions: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Advance both agents one step (the original's ``step``)."""
        if not self.agents:
            raise RuntimeError("step() after the episode ended; call reset()")
        self.sync_poke = 0
        self.miss = 0
        self.gotwater = [False, False]
        self.timesteps += 1
        done = self.timesteps >= self.max_steps
        rewards = [0.0, 0.0]
        events: list[set[str]] = [set(), set()]
        frozen = [False, False]
        for i, agent in enumerate(AGENTS):
            if self.freeze[i] > 0:
                self.freeze[i] -= 1
                rewards[i] = 0.0
                frozen[i] = True
                continue
            action = int(actions[agent])
            if not 0 <= action <= 4:
                raise ValueError(f"{agent}: action {action} is not 0-4")
            events[i] = self._move(i, action)
            if self.water_available[i] == 1 and "drink" in events[i]:
                rewards[i] = 2.0
                self.gotwater[i] = True
                self.freeze[i] = int(self.draws.freeze(self, i))
                self.water_available[i] = 0
                if self.randomize:
                    water, poke = self.draws.after_drink(self, i)
                    self.water[i], self.poke[i] = list(map(int, water)), list(map(int, poke))
            elif not self.cooperative and not self.water_available[i] and "poke" in events[i]:
                rewards[i] = 2.0  # the non-cooperative task: one's own poke pays
                self.water_available[i] = 1
            else:
                rewards[i] = self.movement_reward
        poked = ["poke" in events[0], "poke" in events[1]]
        lim = self.sync_limit
        window = [bool(self.poke_history[i][-lim:].any()) or poked[i] for i in range(2)]
        oldest = [bool(self.poke_history[i][-lim]) for i in range(2)]
        if window[0] and window[1]:
            self.sync_poke = 1
            self.poke_history = [np.zeros(5, dtype=bool), np.zeros(5, dtype=bool)]
        elif oldest[0] or oldest[1]:
            if self.cooperative:
                rewards = [-0.5, -0.5]
            self.poke_history = [np.zeros(5, dtype=bool), np.zeros(5, dtype=bool)]
            self.miss = 1
            if self.randomize_miss and self.cooperative:
                cells = self.draws.after_miss(self)
                self.water = [list(map(int, c)) for c in cells["water"]]
                self.poke = [list(map(int, c)) for c in cells["poke"]]
        else:
            for i in range(2):
                self.poke_history[i] = np.append(self.poke_history[i][1:], poked[i])
        if self.cooperative:
            if self.sync_poke == 1 and self.water_available[0] == 0 \
                    and self.water_available[1] == 0:
                rewards = [2.0, 2.0]
            if self.sync_poke == 1:
                self.water_available = [1, 1]
        self.events = events
        obs = self._observations()
        rew = {a: float(rewards[i]) for i, a in enumerate(AGENTS)}
        terms = {a: False for a in AGENTS}
        truncs = {a: bool(done) for a in AGENTS}
        infos = {
            a: {"poke": poked[i], "drink": self.gotwater[i], "correct": self.sync_poke,
                "miss": self.miss, "frozen": frozen[i], "step": self.timesteps}
            for i, a in enumerate(AGENTS)
        }
        if done:
            self.agents = []
        return obs, rew, terms, truncs, infos

    # ---- observations and rendering -------------------------------------------------------
    def _observations(self) -> dict[str, dict[str, int]]:
        half = self.width // 2
        (p1, p2), (w1, w2), (n1, n2) = self.pos, self.water, self.poke
        return {
            "agent1": {
                "nosepoke0": n1[0], "water0": w1[0], "self0": p1[0], "otheragent0": p2[0],
                "otherpoke0": n2[0], "nosepoke1": n1[1], "water1": w1[1], "self1": p1[1],
                "otheragent1": p2[1] - half, "otherpoke1": n2[1] - half,
            },
            "agent2": {
                "nosepoke0": n2[0], "water0": w2[0], "self0": p2[0], "otheragent0": p1[0],
                "otherpoke0": n1[0], "nosepoke1": n2[1] - half, "water1": w2[1] - half,
                "self1": p2[1] - half, "otheragent1": p1[1], "otherpoke1": n1[1],
            },
        }

    def render(self) -> str | None:
        """Return the grid as text (``render_mode="ansi"``): agents, pokes ``*``, water ``.``."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() without a render_mode; pass render_mode='ansi'")
            return None
        rows = ["_" * (self.width + 2)]
        for r in range(self.height):
            line = "|"
            for c in range(self.width):
                cell = [r, c]
                line += ("1" if self.pos[0] == cell else "2" if self.pos[1] == cell
                         else "*" if cell in self.poke else "." if cell in self.water else " ")
            rows.append(line + "|")
        rows.append("\u203e" * (self.width + 2))
        rows.append("!SyncPoke!" if self.sync_poke else "!Miss!" if self.miss else "")
        return "\n".join(rows)

    def close(self) -> None:
        """Nothing to release."""
