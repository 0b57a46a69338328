"""The agents' side: the cooperative poke task as a multi-agent environment, replay, training.

- :mod:`behavtrack.agents.env`: the grid world of MARL_Environment_Poke as a PettingZoo
  ``ParallelEnv`` (:class:`~behavtrack.agents.env.PokeSyncEnv`);
- :mod:`behavtrack.agents.replay`: re-simulate a recorded rollout's actions and report every
  mismatch with the recording;
- :mod:`behavtrack.agents.train`: two independent recurrent PPO agents (skrl, PyTorch; the
  optional extra ``behavtrack[agents]``) with evaluation rollouts written every few iterations.

``train`` is imported lazily: the environment and the replay need only PettingZoo.
"""

from behavtrack.agents.env import AGENTS, PokeSyncEnv, flatten_observation

__all__ = ["AGENTS", "PokeSyncEnv", "flatten_observation"]
