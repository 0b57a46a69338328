"""The cooperation task: trials from pokes, success within the window, circular-shift chance."""

from behavtrack.task.chance import ChanceResult, circular_shift_chance
from behavtrack.task.trials import (
    DEFAULT_LOOKBACK_S,
    STRATEGIES,
    TRIAL_COLUMNS,
    nearest_partner,
    poke_times,
    strategies_before,
    trials_from_events,
    window_at,
)

__all__ = [
    "ChanceResult",
    "circular_shift_chance",
    "DEFAULT_LOOKBACK_S",
    "STRATEGIES",
    "TRIAL_COLUMNS",
    "nearest_partner",
    "poke_times",
    "strategies_before",
    "trials_from_events",
    "window_at",
]
