"""Learning across days: per-pair and per-mouse skill, and the window curriculum.

A mouse's skill (0..1) is a logistic function of training progress (day / (n_days - 1)) whose
midpoint and slope belong to its pair and whose offset belongs to the mouse; all are drawn
from the seed (:func:`pair_traits`). Skill sets how often a trial cycle is coordinated, how
tight the two pokes are, how long interactions last and how much time goes to grooming.
:class:`Curriculum` narrows the coordination window (5 -> 3 -> 1 -> 0.75 s by default),
advancing a pair after a session above ``advance_above`` success and making it repeat its
stage below ``repeat_below``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from behavtrack.simulate.config import SimulationConfig

__all__ = ["MouseTraits", "PairTraits", "pair_traits", "Curriculum", "progress_of"]


def progress_of(day: int, n_days: int) -> float:
    """Fraction of training done at ``day`` (0-based): ``day / (n_days - 1)``, 0 for one day."""
    return 0.0 if n_days <= 1 else day / (n_days - 1)


@dataclass(frozen=True)
class MouseTraits:
    """What makes one mouse differ from another (drawn from the seed)."""

    skill_offset: float
    size: float
    speed: float
    wait_bias: float


@dataclass(frozen=True)
class PairTraits:
    """A pair's learning curve and its two mice's traits."""

    midpoint: float
    slope: float
    mice: tuple[MouseTraits, MouseTraits]

    def skill(self, progress: float, cfg: SimulationConfig) -> np.ndarray:
        """Both mice's skill (array of 2, in ``[skill_min, skill_max]``) at ``progress``."""
        x = np.array([progress + m.skill_offset for m in self.mice])
        s = 1.0 / (1.0 + np.exp(-self.slope * (x - self.midpoint)))
        s0 = 1.0 / (1.0 + np.exp(self.slope * self.midpoint))
        s = np.clip((s - s0) / (1.0 - s0), 0.0, 1.0)
        return cfg.skill_min + (cfg.skill_max - cfg.skill_min) * s


def pair_traits(seed: int, pair: int, cfg: SimulationConfig) -> PairTraits:
    """Draw pair ``pair``'s learning curve and mouse traits from ``seed`` (deterministic)."""
    rng = np.random.default_rng([int(seed), int(pair), 7919])
    midpoint = float(np.clip(rng.normal(cfg.pair_midpoint, cfg.pair_midpoint_sd), 0.1, 0.8))
    slope = float(max(rng.normal(cfg.pair_slope, cfg.pair_slope_sd), 2.0))
    mice = tuple(
        MouseTraits(
            skill_offset=float(rng.normal(0.0, cfg.mouse_offset_sd)),
            size=float(np.clip(rng.normal(1.0, cfg.body_size_sd), 0.85, 1.15)),
            speed=float(np.clip(rng.lognormal(0.0, 0.12), 0.75, 1.35)),
            wait_bias=float(rng.uniform(0.25, 0.75)),
        )
        for _ in range(2)
    )
    return PairTraits(midpoint=midpoint, slope=slope, mice=mice)  # type: ignore[arg-type]


@dataclass
class Curriculum:
    """The training stage of one pair, carried from session to session.

    Attributes
    ----------
    cfg
        The simulator's parameters (windows, thresholds).
    stage
        Index into ``cfg.windows_s``.
    sessions_in_stage
        Sessions done at the current stage since it (re)started.
    history
        ``(window_s, success_rate)`` of each session so far.

    """

    cfg: SimulationConfig
    stage: int = 0
    sessions_in_stage: int = 0
    history: list[tuple[float, float]] = field(default_factory=list)

    @property
    def window_s(self) -> float:
        """The coordination window of the current stage."""
        return float(self.cfg.windows_s[self.stage])

    def update(self, success_rate: float) -> None:
        """Record a session's success rate and move to the next session's stage.

        Advances at ``success_rate >= advance_above``; below ``repeat_below`` the stage
        starts over (its session count is reset); in between advances after
        ``max_sessions_per_stage`` sessions counted since the stage (re)started.
        """
        cfg = self.cfg
        self.history.append((self.window_s, float(success_rate)))
        self.sessions_in_stage = 0 if success_rate < cfg.repeat_below else (
            self.sessions_in_stage + 1)
        last = len(cfg.windows_s) - 1
        advance = success_rate >= cfg.advance_above or (
            success_rate >= cfg.repeat_below
            and self.sessions_in_stage >= cfg.max_sessions_per_stage
        )
        if advance and self.stage < last:
            self.stage += 1
            self.sessions_in_stage = 0
