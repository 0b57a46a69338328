"""The agents' side: the cooperative poke task as a multi-agent environment, replay, training.

- :mod:`behavtrack.agents.env`: the grid world of MARL_Environment_Poke as a PettingZoo
  ``ParallelEnv`` (:class:`~behavtrack.agents.env.PokeSyncEnv`);
- :mod:`behavtrack.agents.replay`: re-simulate a recorded rollout's actions and report every
  mismatch with the recording;
- :mod:`behavtrack.agents.train`: two independent recurrent PPO agents (skrl, PyTorch; the
  optional extra ``behavtrack[agents]``) with evaluation rollouts written every few iterations.

- :mod:`behavtrack.agents.config`: the training settings (no heavy imports).

Everything is imported lazily: ``behavtrack.agents.config`` needs nothing beyond the core,
the environment and the replay need only PettingZoo, the training skrl and PyTorch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AGENTS", "PokeSyncEnv", "flatten_observation"]


def __getattr__(name: str) -> Any:
    """Import the environment's names on first use."""
    if name in __all__:
        from behavtrack.agents import env

        return getattr(env, name)
    raise AttributeError(f"module 'behavtrack.agents' has no attribute {name!r}")
