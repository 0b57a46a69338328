"""Replay a recorded rollout's actions in :class:`~behavtrack.agents.env.PokeSyncEnv`.

Each episode of the recording is re-simulated from its first row: the agents, poke and water
cells at reset and the new cells after every drink are taken from the recording (the row
after the drink), and so is the freeze after a drink, which the recording shows as steps
where the agent stays put with reward 0 (:func:`infer_freeze`). Everything else follows from
the recorded actions and the environment's rules. After each step the replayed outcome is
compared with the recording:

- ``position``: the agent's cell after the step (the recording's next row; not known after
  an episode's last step);
- ``poke``, ``drink``: per agent, against the events :mod:`behavtrack.io.agents` recovers
  (exact in the tidy CSV; recovered from the cells in a ``.mat`` file, where neither is
  known on an episode's last step and a drink whose cells were redrawn where they were shows
  only in the reward);
- ``correct``, ``miss``: the joint flags of the step;
- ``reward``: per agent.

A recording that no action sequence could produce is refused with :class:`InputError`
before any replay: an agent moving more than one cell in a step, a cell outside its agent's
half or its rows (poke cells rows 0-2, water cells rows 4-7), poke or water cells that move
on a step where the agent did not end on its water cell, an action outside 0-4.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.agents.env import AGENTS, PokeSyncEnv
from behavtrack.errors import InputError

__all__ = ["MISMATCH_COLUMNS", "ReplayResult", "infer_freeze", "replay_file", "replay_rollout"]

MISMATCH_COLUMNS = ("run", "checkpoint", "episode", "step", "agent", "what", "recorded",
                    "replayed")
KINDS = ("position", "poke", "drink", "correct", "miss", "reward")


@dataclass
class ReplayResult:
    """The outcome of replaying one rollout (one run and checkpoint).

    Attributes
    ----------
    source
        The file replayed.
    run, checkpoint
        Which rollout of the file.
    n_episodes, n_steps
        Episodes and steps replayed.
    mismatches
        One row per mismatch: :data:`MISMATCH_COLUMNS` (``agent`` empty for the joint
        ``correct``/``miss``; ``recorded``/``replayed`` as text).
    counts
        Replayed totals: pokes and drinks per agent, ``correct``, ``miss``.

    """

    source: str
    run: str
    checkpoint: int
    n_episodes: int
    n_steps: int
    mismatches: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the replay matched the recording everywhere."""
        return self.mismatches.empty


def _move(cell: np.ndarray, action: int, agent: int, height: int, width: int) -> tuple[int, int]:
    """Where ``action`` takes an agent from ``cell`` (``[x, y]`` absolute)."""
    x, y = int(cell[0]), int(cell[1])
    y += -1 if action == 0 else 1 if action == 2 else 0
    x += 1 if action == 1 else -1 if action == 3 else 0
    half = width // 2
    lo, hi = (0, half - 1) if agent == 0 else (half, width - 1)
    return min(max(x, lo), hi), min(max(y, 0), height - 1)


def infer_freeze(
    loc: np.ndarray, action: np.ndarray, reward: np.ndarray, t: int, agent: int,
    height: int = 8, width: int = 8,
) -> int:
    """Freeze length (0-3) after ``agent`` drank on step ``t`` of one episode, from the recording.

    A frozen step leaves the agent where it was with reward 0 (or -0.5 on a miss, or +2 on a
    synchronised poke it had poked towards); an unfrozen one moves it as its action says and
    costs -0.1 unless something else happened. The freeze is the longest run of steps after
    ``t`` (at most 3) that all look frozen, ending on a step that can only be frozen (reward 0,
    or an action that would have moved the agent). Where frozen and unfrozen would look the
    same, both give the same outcome, so the choice does not matter.

    Parameters
    ----------
    loc
        ``(T, 2 [x, y], 2 agents)`` absolute cells before each step of the episode.
    action, reward
        ``(T, 2 agents)``.
    t
        The step of the drink.
    agent
        0 or 1.
    height, width
        Grid size.

    Returns
    -------
    int
        The freeze length.

    """
    n_t = len(loc)
    k = 0
    for j in range(1, 4):
        s = t + j
        if s >= n_t:
            break
        r = float(reward[s, agent])
        before = loc[s, :, agent]
        after = loc[s + 1, :, agent] if s + 1 < n_t else None
        still = after is None or bool((after == before).all())
        if not still or not any(np.isclose(r, v) for v in (0.0, -0.5, 2.0)):
            break
        blocked = after is not None and _move(before, int(action[s, agent]), agent, height,
                                              width) != (int(before[0]), int(before[1]))
        if np.isclose(r, 0.0) or blocked:
            k = j
    return k


class _RecordedDraws:
    """:class:`~behavtrack.agents.env.Draws` that read one episode of a recording."""

    def __init__(self, loc: np.ndarray, poke: np.ndarray, water: np.ndarray,
                 action: np.ndarray, reward: np.ndarray) -> None:
        self.loc, self.poke, self.water = loc, poke, water
        self.action, self.reward = action, reward
        self.t = 0  # the step being simulated (set by the replay loop)

    @staticmethod
    def _rc(xy: np.ndarray) -> list[int]:
        return [int(xy[1]), int(xy[0])]  # [x, y] -> [row, col]

    def start(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        return {k: [self._rc(a[0, :, j]) for j in range(2)]
                for k, a in (("pos", self.loc), ("water", self.water), ("poke", self.poke))}

    def freeze(self, env: PokeSyncEnv, agent: int) -> int:
        return infer_freeze(self.loc, self.action, self.reward, self.t, agent,
                            env.height, env.width)

    def after_drink(self, env: PokeSyncEnv, agent: int) -> tuple[list[int], list[int]]:
        nxt = self.t + 1
        if nxt >= len(self.loc):  # the episode's last step: the new cells are not recorded
            return env.water[agent], env.poke[agent]
        return self._rc(self.water[nxt, :, agent]), self._rc(self.poke[nxt, :, agent])

    def after_miss(self, env: PokeSyncEnv) -> dict[str, list[list[int]]]:
        nxt = min(self.t + 1, len(self.loc) - 1)
        return {"water": [self._rc(self.water[nxt, :, j]) for j in range(2)],
                "poke": [self._rc(self.poke[nxt, :, j]) for j in range(2)]}


def _arrays(rollout: object) -> dict[str, np.ndarray]:
    pose = rollout.pose  # type: ignore[attr-defined]

    def cells(name: str) -> np.ndarray:
        a = pose[name]
        if "keypoint" in a.dims:
            a = a.isel(keypoint=0)
        return np.rint(a.transpose("time", "space", "individual").to_numpy()).astype(int)

    n = pose.sizes["time"]
    ev = rollout.events  # type: ignore[attr-defined]
    flags = {}
    for name in ("poke", "drink"):
        f = np.zeros((n, 2), dtype=bool)
        for j, agent in enumerate(AGENTS):
            sel = ev[(ev["event"] == name) & (ev["subject"] == agent)]
            f[sel["frame"].to_numpy(dtype=int), j] = True
        flags[name] = f
    for name in ("correct", "miss"):
        f = np.zeros(n, dtype=bool)
        f[ev.loc[ev["event"] == name, "frame"].to_numpy(dtype=int)] = True
        flags[name] = f
    return {
        "loc": cells("position"), "poke_cell": cells("poke_cell"),
        "water_cell": cells("water_cell"),
        "action": pose["action"].transpose("time", "individual").to_numpy(),
        "reward": pose["reward"].transpose("time", "individual").to_numpy().astype(float),
        "episode": pose["episode"].to_numpy().astype(int),
        **flags,
    }


def _check_rules(a: dict[str, np.ndarray], source: str, height: int, width: int) -> None:
    """Raise :class:`InputError` where the recording breaks the environment's rules."""
    half = width // 2
    episode = a["episode"]
    n = len(episode)

    def where(i: int) -> str:
        first = int(np.flatnonzero(episode == episode[i])[0])
        return f"episode {int(episode[i])} step {i - first}"

    act = a["action"]
    bad = np.flatnonzero(~np.isin(act, np.arange(5)).all(axis=1))
    if len(bad):
        raise InputError(source, f"action {act[bad[0]].tolist()} at {where(int(bad[0]))} is "
                         "not 0-4", "actions are 0 up, 1 right, 2 down, 3 left, 4 stay")
    for name, rows, label in (
        ("loc", (0, height - 1), "agent"),
        ("poke_cell", (0, height // 2 - 2), "poke cell"),
        ("water_cell", (height // 2, height - 1), "water cell"),
    ):
        cells = a[name]
        for j, agent in enumerate(AGENTS):
            x, y = cells[:, 0, j], cells[:, 1, j]
            lo = j * half
            off = np.flatnonzero((x < lo) | (x >= lo + half) | (y < rows[0]) | (y > rows[1]))
            if len(off):
                i = int(off[0])
                raise InputError(
                    source, f"{agent}'s {label} is at column {x[i]}, row {y[i]} at {where(i)}, "
                    f"outside its half (columns {lo}-{lo + half - 1}) or rows {rows[0]}-{rows[1]}",
                    "the recording breaks the environment's rules")
    same_ep = episode[1:] == episode[:-1]
    loc = a["loc"]
    jump = np.abs(np.diff(loc, axis=0)).sum(axis=1)  # (n - 1, agents)
    for j, agent in enumerate(AGENTS):
        bad = np.flatnonzero(same_ep & (jump[:, j] > 1))
        if len(bad):
            i = int(bad[0])
            raise InputError(
                source, f"{agent} jumps {int(jump[i, j])} cells, from column {loc[i, 0, j]} row "
                f"{loc[i, 1, j]} to column {loc[i + 1, 0, j]} row {loc[i + 1, 1, j]}, at "
                f"{where(i)}", "an agent moves at most one cell per step: the recording breaks "
                "the environment's rules")
        moved = ((np.diff(a["poke_cell"][:, :, j], axis=0) != 0).any(axis=1)
                 | (np.diff(a["water_cell"][:, :, j], axis=0) != 0).any(axis=1))
        on_water = (loc[1:, :, j] == a["water_cell"][:-1, :, j]).all(axis=1)
        bad = np.flatnonzero(same_ep & moved & ~on_water)
        if len(bad):
            i = int(bad[0])
            raise InputError(
                source, f"{agent}'s poke or water cell moves at {where(i)} although it did not "
                "end that step on its water cell", "cells move only after a drink: the "
                "recording breaks the environment's rules")
    if n == 0:
        raise InputError(source, "holds no steps")


def replay_rollout(
    rollout: object, *, sync_limit: int = 2, height: int = 8, width: int = 8,
) -> ReplayResult:
    """Replay one :class:`~behavtrack.io.agents.Rollout` and collect every mismatch.

    Parameters
    ----------
    rollout
        From :func:`behavtrack.io.agents.load_rollouts`.
    sync_limit
        The environment's ``sync_limit`` the recording was made with.
    height, width
        Grid size.

    Returns
    -------
    ReplayResult

    Raises
    ------
    InputError
        If the recording breaks the environment's rules (see the module's notes).

    """
    source = str(rollout.source)  # type: ignore[attr-defined]
    a = _arrays(rollout)
    _check_rules(a, source, height, width)
    exact_events = Path(source).suffix.lower() == ".csv"
    run, checkpoint = str(rollout.run), int(rollout.checkpoint)  # type: ignore[attr-defined]
    rows: list[tuple] = []
    counts = {"correct": 0, "miss": 0, **{f"pokes_{g}": 0 for g in AGENTS},
              **{f"drinks_{g}": 0 for g in AGENTS}}
    episodes = np.unique(a["episode"])
    for e in episodes:
        idx = np.flatnonzero(a["episode"] == e)
        loc, poke, water = (a[k][idx] for k in ("loc", "poke_cell", "water_cell"))
        act, rew = a["action"][idx], a["reward"][idx]
        draws = _RecordedDraws(loc, poke, water, act, rew)
        env = PokeSyncEnv(max_steps=len(idx), sync_limit=sync_limit, height=height,
                          width=width, draws=draws)
        env.reset()
        n_t = len(idx)
        for t in range(n_t):
            g = idx[t]
            draws.t = t
            _, reward, _, _, info = env.step({AGENTS[j]: int(act[t, j]) for j in range(2)})
            last = t + 1 >= n_t

            def add(agent: str, what: str, rec: object, rep: object, t: int = t,
                    e: int = int(e)) -> None:
                rows.append((run, checkpoint, e, t, agent, what, str(rec), str(rep)))

            for j, agent in enumerate(AGENTS):
                if not last:
                    rec_xy = (int(loc[t + 1, 0, j]), int(loc[t + 1, 1, j]))
                    rep_xy = (int(env.pos[j][1]), int(env.pos[j][0]))
                    if rec_xy != rep_xy:
                        add(agent, "position", rec_xy, rep_xy)
                p_rep, d_rep = bool(info[agent]["poke"]), bool(info[agent]["drink"])
                counts[f"pokes_{agent}"] += p_rep
                counts[f"drinks_{agent}"] += d_rep
                if not last or exact_events:
                    p_rec, d_rec = bool(a["poke"][g, j]), bool(a["drink"][g, j])
                    if p_rec != p_rep:
                        add(agent, "poke", int(p_rec), int(p_rep))
                    # a .mat file shows a drink by its cells moving; cells redrawn where
                    # they were hide it (the reward still tells)
                    hidden = (not exact_events and d_rep and not d_rec and not last
                              and (poke[t + 1, :, j] == poke[t, :, j]).all()
                              and (water[t + 1, :, j] == water[t, :, j]).all())
                    if d_rec != d_rep and not hidden:
                        add(agent, "drink", int(d_rec), int(d_rep))
                if not np.isclose(float(rew[t, j]), reward[agent], atol=1e-6):
                    add(agent, "reward", f"{float(rew[t, j]):g}", f"{reward[agent]:g}")
                if not last:  # the cells of the next row are the recording's (see the notes)
                    env.poke[j] = [int(poke[t + 1, 1, j]), int(poke[t + 1, 0, j])]
                    env.water[j] = [int(water[t + 1, 1, j]), int(water[t + 1, 0, j])]
            for name in ("correct", "miss"):
                rep = int(getattr(env, "sync_poke" if name == "correct" else "miss"))
                counts[name] += rep
                if bool(a[name][g]) != bool(rep):
                    add("", name, int(a[name][g]), rep)
    mism = pd.DataFrame(rows, columns=list(MISMATCH_COLUMNS))
    return ReplayResult(source=source, run=run, checkpoint=checkpoint,
                        n_episodes=len(episodes), n_steps=len(a["episode"]),
                        mismatches=mism, counts=counts)


def replay_file(
    path: str | os.PathLike, *, sync_limit: int = 2, episode_steps: int | None = None,
) -> list[ReplayResult]:
    """Replay every rollout of a ``.mat`` file or tidy rollouts CSV.

    Parameters
    ----------
    path
        A rollout file (:func:`behavtrack.io.agents.load_rollouts`).
    sync_limit
        The environment's ``sync_limit``.
    episode_steps
        Steps per episode of a ``.mat`` file (default 500).

    Returns
    -------
    list of ReplayResult
        One per (run, checkpoint).

    Raises
    ------
    InputError
        A file that is not a rollout file (its error names the missing key or column), or a
        recording that breaks the rules.

    """
    from behavtrack.io.agents import EPISODE_STEPS, load_rollouts

    if not 1 <= int(sync_limit) <= 5:
        raise InputError("sync_limit", f"must be 1-5, got {sync_limit}")
    steps = EPISODE_STEPS if episode_steps is None else int(episode_steps)
    if steps < 1:
        raise InputError("episode_steps", f"must be >= 1, got {episode_steps}")
    rollouts = load_rollouts(path, episode_steps=steps)
    return [replay_rollout(r, sync_limit=int(sync_limit)) for r in rollouts]


def summary_line(result: ReplayResult) -> str:
    """One line: what was replayed and the mismatches by kind."""
    m = result.mismatches
    by_kind = ", ".join(f"{k} {int((m['what'] == k).sum())}" for k in KINDS
                        if (m["what"] == k).any())
    what = (f"{result.source} (run {result.run}, checkpoint {result.checkpoint}): "
            f"{result.n_episodes} episodes, {result.n_steps} steps; replayed correct "
            f"{result.counts['correct']}, miss {result.counts['miss']}")
    return f"{what}; {len(m)} mismatches" + (f" ({by_kind})" if by_kind else "")


def mismatch_lines(results: Sequence[ReplayResult]) -> list[str]:
    """One line per mismatch of every result."""
    out = []
    for r in results:
        for row in r.mismatches.itertuples(index=False):
            who = f" {row.agent}" if row.agent else ""
            out.append(f"checkpoint {row.checkpoint} episode {row.episode} step {row.step}"
                       f"{who}: {row.what} recorded {row.recorded}, replayed {row.replayed}")
    return out
