"""The simulator's parameters: one frozen dataclass, :class:`SimulationConfig`, with defaults.

Every number that shapes a simulated cohort (the curriculum, how skill grows over days, how
fast mice move, how long they interact, how noisy the tracker is) lives here, so a user can
change any of them without touching code. :func:`check_run_parameters` validates the
per-run arguments (duration, frame rate, days, pairs) with one-line :class:`InputError` messages.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

from behavtrack.errors import InputError

__all__ = ["SimulationConfig", "check_run_parameters"]


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the cooperation-task simulator (defaults follow ``TASK.md``).

    Attributes
    ----------
    windows_s
        The curriculum's coordination windows, in stage order (seconds).
    advance_above
        A pair moves to the next stage after a session with success rate at least this.
    repeat_below
        A pair whose success rate is below this repeats its stage: the stage's session
        count starts over.
    max_sessions_per_stage
        Between the two thresholds a pair advances after this many sessions counted since
        the stage (re)started.
    skill_min, skill_max
        Range of a mouse's skill (0..1) over training; skill is a logistic function of
        training progress with per-pair midpoint and slope and per-mouse offsets.
    pair_midpoint, pair_midpoint_sd
        Mean and spread (across pairs) of the progress at which skill is half way.
    pair_slope, pair_slope_sd
        Mean and spread of the logistic slope (per unit of progress).
    mouse_offset_sd
        Spread of a mouse's skill offset around its pair's.
    p_strategy_min, p_strategy_max
        Probability that a trial cycle is coordinated (interaction or waiting) at skill 0 / 1.
    p_approach_only_min, p_approach_only_max
        Probability that a mouse approaches the partition alone before an uncoordinated poke.
    p_solo_poke
        Probability that a mouse pokes at all in an uncoordinated cycle.
    sync_sd_max_s, sync_sd_min_s
        Spread of the poke time difference in coordinated cycles at skill 0 / 1 (seconds).
    free_mean_max_s, free_mean_min_s
        Mean duration of the free phase (exploring, grooming, resting) before a cycle.
    groom_fraction_max, groom_fraction_min
        Fraction of free-phase bouts spent grooming or resting at skill 0 / 1.
    interaction_median_min_s, interaction_median_max_s
        Median duration of an interaction at skill 0 / 1 (lognormal).
    interaction_sigma
        Log-spread of interaction durations.
    wait_patience_s
        Mean patience of a waiting mouse before it pokes alone.
    min_waiting_s
        A pre-poke dwell at the own port shorter than this is labelled ``other``.
    speed_cm_s
        Median travel speed (cm/s); lognormal spread ``speed_sigma``.
    speed_sigma
        Log-spread of travel speeds.
    drink_s
        Range of drinking durations after a reward (seconds).
    body_length_cm
        Nose to tail base at the mean body size.
    body_size_sd
        Spread of per-mouse body size (fraction).
    jitter_px
        Tracker jitter (standard deviation, pixels) of the centroid; ears and nose get more.
    dropout_rate_per_min
        Rate of dropouts (runs of low-likelihood keypoints) per keypoint and minute.
    swap_rate_per_min
        Rate of brief identity swaps per minute (mostly when the mice are close).
    missing_rate_per_min
        Rate of missing-frame runs (no detection at all) per minute.

    """

    windows_s: tuple[float, ...] = (5.0, 3.0, 1.0, 0.75)
    advance_above: float = 0.75
    repeat_below: float = 0.35
    max_sessions_per_stage: int = 4
    skill_min: float = 0.02
    skill_max: float = 0.97
    pair_midpoint: float = 0.45
    pair_midpoint_sd: float = 0.08
    pair_slope: float = 9.0
    pair_slope_sd: float = 1.5
    mouse_offset_sd: float = 0.06
    p_strategy_min: float = 0.08
    p_strategy_max: float = 0.9
    p_approach_only_min: float = 0.05
    p_approach_only_max: float = 0.3
    p_solo_poke: float = 0.8
    sync_sd_max_s: float = 3.0
    sync_sd_min_s: float = 0.2
    free_mean_max_s: float = 22.0
    free_mean_min_s: float = 6.0
    groom_fraction_max: float = 0.45
    groom_fraction_min: float = 0.15
    interaction_median_min_s: float = 1.5
    interaction_median_max_s: float = 3.6
    interaction_sigma: float = 0.4
    wait_patience_s: float = 8.0
    min_waiting_s: float = 0.5
    speed_cm_s: float = 12.0
    speed_sigma: float = 0.25
    drink_s: tuple[float, float] = (2.0, 5.0)
    body_length_cm: float = 7.0
    body_size_sd: float = 0.05
    jitter_px: float = 1.2
    dropout_rate_per_min: float = 1.5
    swap_rate_per_min: float = 0.4
    missing_rate_per_min: float = 0.3

    def __post_init__(self) -> None:
        src = "SimulationConfig"
        w = self.windows_s
        if not w or any(not (isinstance(v, (int, float)) and v > 0) for v in w):
            raise InputError(src, f"windows_s must be positive numbers, got {w!r}")
        if not 0 <= self.repeat_below <= self.advance_above <= 1:
            raise InputError(src, "need 0 <= repeat_below <= advance_above <= 1",
                             f"got {self.repeat_below} and {self.advance_above}")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and (not math.isfinite(v) or v < 0):
                raise InputError(src, f"{f.name} must be a finite number >= 0, got {v!r}")
        if self.max_sessions_per_stage < 1:
            raise InputError(src, "max_sessions_per_stage must be at least 1")
        if not 0 <= self.skill_min < self.skill_max <= 1:
            raise InputError(src, "need 0 <= skill_min < skill_max <= 1")


def check_run_parameters(
    *,
    duration_s: float,
    fps: float,
    n_days: int = 1,
    day: int = 0,
    n_pairs: int = 1,
    pair: int = 0,
    seed: int = 0,
) -> None:
    """Raise a one-line :class:`InputError` for an unusable run parameter.

    Parameters
    ----------
    duration_s
        Session length in seconds (positive, at most 6 hours).
    fps
        Frame rate (1 to 500 frames per second).
    n_days, day
        Number of days (at least 1) and a day index in ``0 .. n_days - 1``.
    n_pairs, pair
        Number of pairs (at least 1) and a pair index in ``0 .. n_pairs - 1``.
    seed
        Random seed (a whole number >= 0, as ``numpy.random.default_rng`` takes it).

    """
    def bad(name: str, value: object, hint: str) -> InputError:
        return InputError(name, f"invalid value {value!r}", hint)

    for name, value in (("duration_s", duration_s), ("fps", fps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            value
        ):
            raise bad(name, value, "give a finite number")
    if duration_s <= 0 or duration_s > 6 * 3600:
        raise bad("duration_s", duration_s, "give a session length in seconds, > 0 and <= 21600")
    if not 1 <= fps <= 500:
        raise bad("fps", fps, "give a frame rate between 1 and 500 frames per second")
    if duration_s * fps < 10:
        raise bad("duration_s", duration_s, "a session needs at least 10 frames")
    for name, value in (("n_days", n_days), ("n_pairs", n_pairs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise bad(name, value, "give a whole number >= 1")
    if isinstance(day, bool) or not isinstance(day, numbers.Integral) or not 0 <= day < n_days:
        raise bad("day", day, f"give a day index in 0..{n_days - 1}")
    if isinstance(pair, bool) or not isinstance(pair, numbers.Integral) or pair < 0:
        raise bad("pair", pair, "give a pair index >= 0")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise bad("seed", seed, "give a whole number >= 0")
