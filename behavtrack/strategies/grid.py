"""The strategies of agents on the grid: per-step behaviour of grid-world rollouts, and bouts.

The mice's definitions translated to the 8 x 8 grid of MARL_Environment_Poke (one step is
one time unit):

- **interaction**: both agents in their column next to the midline (columns 3 and 4)
  within one row of each other;
- **waiting**: an agent stays (same cell as on the step before) on a cell next to its own
  poke cell (4-neighbourhood), i.e. it holds position before stepping in;
- **approach**: an agent is in its own column next to the midline (and neither of the above).

Priority when several hold: interaction, waiting, approach, other. Bouts never cross
episodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from behavtrack.io.bouts import BOUT_COLUMNS, runs

__all__ = ["grid_labels", "grid_bouts"]


def _xy(rollout: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agent cells ``(T, 2 agents)`` x and y, and the poke cells ``(T, 2 [x, y], 2 agents)``."""
    pos = rollout.pose["position"].sel(keypoint="centroid")
    x = pos.sel(space="x").transpose("time", "individual").to_numpy()
    y = pos.sel(space="y").transpose("time", "individual").to_numpy()
    poke = rollout.pose["poke_cell"].transpose("time", "space", "individual").to_numpy()
    return x, y, poke


def grid_labels(rollout: Any) -> np.ndarray:
    """Per-step behaviour of each agent on the grid (see the module's definitions).

    Parameters
    ----------
    rollout
        A :class:`behavtrack.io.agents.Rollout`.

    Returns
    -------
    numpy.ndarray
        ``(T, 2)`` array of behaviour names (``agent1``, ``agent2`` columns).

    """
    x, y, poke = _xy(rollout)
    arena = rollout.arena
    mid = float(np.mean(arena.partition[:, 0])) if arena.partition is not None else 3.5
    own_mid = np.array([np.floor(mid), np.ceil(mid)])  # columns next to the midline
    episode = rollout.pose["episode"].to_numpy()
    first = np.r_[True, episode[1:] != episode[:-1]]
    at_mid = x == own_mid[None, :]
    interaction = at_mid[:, 0] & at_mid[:, 1] & (np.abs(y[:, 0] - y[:, 1]) <= 1)
    stayed = np.zeros_like(at_mid)
    stayed[1:] = (x[1:] == x[:-1]) & (y[1:] == y[:-1])
    stayed[first] = False
    adjacent = (np.abs(x - poke[:, 0, :]) + np.abs(y - poke[:, 1, :])) == 1
    waiting = adjacent & stayed
    labels = np.full(x.shape, "other", dtype=object)
    labels[at_mid] = "approach"
    labels[waiting] = "waiting"
    labels[interaction, :] = "interaction"
    return labels


def grid_bouts(rollout: Any, labels: np.ndarray | None = None) -> pd.DataFrame:
    """Bouts table (times in steps) of the grid behaviours; bouts end at episode ends."""
    labels = grid_labels(rollout) if labels is None else labels
    episode = rollout.pose["episode"].to_numpy()
    frames = []
    for j, agent in enumerate(rollout.pose["individual"].to_numpy()):
        lab = labels[:, j].astype(str)
        starts, lengths, _ = runs(np.column_stack([lab.astype(object), episode.astype(object)]))
        stops = starts + lengths
        frames.append(pd.DataFrame({
            "individual": str(agent), "behavior": lab[starts], "start_frame": starts,
            "stop_frame": stops, "start_s": starts.astype(float), "stop_s": stops.astype(float),
            "duration_s": (stops - starts).astype(float), "confidence": np.nan,
        }, columns=BOUT_COLUMNS))
    bouts = pd.concat(frames, ignore_index=True)
    return bouts[bouts["behavior"] != "other"].reset_index(drop=True)
