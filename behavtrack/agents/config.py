"""The settings of ``behavtrack agents train`` (:class:`TrainConfig`), without heavy imports.

Kept apart from :mod:`behavtrack.agents.train` so that the command line can show the defaults
without importing PettingZoo, skrl or PyTorch.
"""

from __future__ import annotations

import dataclasses

from behavtrack.errors import InputError

__all__ = ["TrainConfig"]


@dataclasses.dataclass
class TrainConfig:
    """Settings of a training run (the defaults are those of ``behavtrack agents train``).

    Attributes
    ----------
    iterations
        PPO iterations (each: ``rollout_steps`` x ``n_envs`` steps, then one update).
    noncoop_iterations
        The first iterations train in the original's non-cooperative task (one's own poke
        gives one's own water), as its training did; later episodes are cooperative. (The
        evaluations are always cooperative, with ``sync_limit``.)
    seed
        Seeds the environments, the networks and the sampling.
    n_envs
        Environments stepped side by side.
    rollout_steps
        Steps per environment per iteration.
    episode_steps
        Steps per episode, in training and evaluation (500, as the original's evaluation).
    sync_limit
        The environment's ``sync_limit``: that of the evaluations, and of training at the end
        of the window curriculum.
    window_start, window_every
        The window curriculum of the cooperative phase, as the mice's window narrows over
        training: its training episodes start with ``sync_limit = window_start`` and the
        window narrows by one step every ``window_every`` iterations down to ``sync_limit``
        (``window_start <= sync_limit``: no curriculum).
    eval_every
        Write evaluation rollouts every this many iterations (and before the first).
    eval_episodes
        Episodes per evaluation.
    hidden
        Units of each recurrent layer.
    cell
        ``"relu"`` (default): the original's plain ReLU RNN; ``"gru"``: a GRU, whose bounded
        state cannot blow up (the ReLU RNN's can, over 500-step episodes: the original put an
        L2 penalty on its recurrent weights, which skrl's PPO does not have; with a discount
        of 0.99 it diverged within 20 iterations here).
    sequence_length
        Steps of back-propagation through time.
    learning_rate, learning_epochs, mini_batches, discount_factor, gae_lambda, entropy_scale,
    value_loss_scale, ratio_clip, grad_norm_clip
        PPO settings (skrl's ``PPO_CFG``). The value targets are standardised (skrl's
        ``RunningStandardScaler``).
    kl_threshold
        Target KL divergence of skrl's ``KLAdaptiveLR``, which lowers the learning rate
        after updates that moved the policy more and raises it after smaller ones (starting
        from ``learning_rate``); 0 (default) uses ``lr_final`` instead.
    lr_final
        Without ``kl_threshold``: the learning rate falls linearly from ``learning_rate`` to
        ``lr_final * learning_rate`` over the run (PyTorch's ``LinearLR``, stepped by skrl
        once per learning epoch); 1 (default) keeps it fixed.
    n_shifts
        Circular shifts for the chance of each evaluation.

    """

    iterations: int = 240
    noncoop_iterations: int = 60
    seed: int = 0
    n_envs: int = 32
    rollout_steps: int = 125
    episode_steps: int = 500
    sync_limit: int = 2
    window_start: int = 3
    window_every: int = 40
    eval_every: int = 20
    eval_episodes: int = 20
    hidden: int = 64
    cell: str = "relu"
    sequence_length: int = 25
    learning_rate: float = 1e-3
    kl_threshold: float = 0.0
    lr_final: float = 1.0
    learning_epochs: int = 4
    mini_batches: int = 4
    discount_factor: float = 0.97
    gae_lambda: float = 0.95
    entropy_scale: float = 0.05
    value_loss_scale: float = 0.5
    ratio_clip: float = 0.2
    grad_norm_clip: float = 0.5
    n_shifts: int = 1000

    def check(self) -> None:
        """Raise :class:`InputError` for a setting out of range (named as its field)."""
        positive = {"iterations": self.iterations, "n_envs": self.n_envs,
                    "rollout_steps": self.rollout_steps, "episode_steps": self.episode_steps,
                    "eval_every": self.eval_every, "eval_episodes": self.eval_episodes,
                    "hidden": self.hidden, "sequence_length": self.sequence_length,
                    "learning_epochs": self.learning_epochs, "mini_batches": self.mini_batches}
        for name, value in positive.items():
            if int(value) < 1:
                raise InputError(name, f"must be >= 1, got {value}")
        if self.noncoop_iterations < 0:
            raise InputError("noncoop_iterations", f"must be >= 0, got {self.noncoop_iterations}")
        if self.cell not in ("gru", "relu"):
            raise InputError("cell", f"must be gru or relu, got {self.cell!r}")
        if not 1 <= self.sync_limit <= 5:
            raise InputError("sync_limit", f"must be 1-5, got {self.sync_limit}")
        if not 1 <= self.window_start <= 5:
            raise InputError("window_start", f"must be 1-5, got {self.window_start}")
        if self.window_every < 1:
            raise InputError("window_every", f"must be >= 1, got {self.window_every}")
        if not 0 < self.lr_final <= 1:
            raise InputError("lr_final", f"must be in (0, 1], got {self.lr_final}")
        if self.kl_threshold < 0:
            raise InputError("kl_threshold", f"must be >= 0, got {self.kl_threshold}")
        if self.rollout_steps % self.sequence_length:
            raise InputError("rollout_steps", f"{self.rollout_steps} is not a multiple of the "
                             f"sequence length {self.sequence_length}")
        if self.n_envs % self.mini_batches:
            raise InputError("n_envs", f"{self.n_envs} environments do not split into "
                             f"{self.mini_batches} mini-batches")
        if not 0 <= self.seed < 2**32:
            raise InputError("seed", f"must be 0 .. 2**32 - 1, got {self.seed}")

    def train_window(self, iteration: int) -> int:
        """Return the ``sync_limit`` of training episodes that start in ``iteration`` (1-based).

        Examples
        --------
        >>> cfg = TrainConfig(noncoop_iterations=20, window_start=5, window_every=20)
        >>> [cfg.train_window(i) for i in (1, 21, 40, 41, 61, 81, 500)]
        [5, 5, 5, 4, 3, 2, 2]

        """
        coop = max(0, int(iteration) - self.noncoop_iterations - 1)
        return max(self.sync_limit, self.window_start - coop // self.window_every)
