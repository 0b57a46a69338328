"""Unit tests of ``behavtrack.simulate.config``: the simulator's parameters and run checks.

Checks that :class:`SimulationConfig` takes its defaults and refuses, with a one-line
:class:`InputError`, bad curricula, thresholds out of order, negative or non-finite numbers
and bad skill ranges; and that :func:`check_run_parameters` accepts good runs and names the
CLI flag of each bad one (duration, fps, too few frames, days, day, pairs, pair, seed).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from behavtrack.errors import InputError
from behavtrack.simulate.config import SimulationConfig, check_run_parameters


def test_defaults_are_valid_and_frozen():
    cfg = SimulationConfig()
    assert cfg.windows_s and all(w > 0 for w in cfg.windows_s)
    assert 0 <= cfg.repeat_below <= cfg.advance_above <= 1
    with pytest.raises(AttributeError):
        cfg.jitter_px = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "match"),
    [({"windows_s": ()}, "windows_s"), ({"windows_s": (1.0, 0.0)}, "windows_s"),
     ({"windows_s": (1.0, "2")}, "windows_s"),
     ({"repeat_below": 0.9, "advance_above": 0.5}, "repeat_below <= advance_above"),
     ({"advance_above": 1.5}, "advance_above"),
     ({"jitter_px": -1.0}, "jitter_px"), ({"speed_cm_s": float("nan")}, "speed_cm_s"),
     ({"swap_rate_per_min": float("inf")}, "swap_rate_per_min"),
     ({"max_sessions_per_stage": 0}, "max_sessions_per_stage"),
     ({"skill_min": 0.8, "skill_max": 0.8}, "skill_min < skill_max")],
)
def test_bad_configs_are_refused_in_one_line(changes, match):
    with pytest.raises(InputError, match=match) as info:
        replace(SimulationConfig(), **changes)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("SimulationConfig:")


def test_good_run_parameters_pass():
    check_run_parameters(duration_s=60, fps=30)
    check_run_parameters(duration_s=1, fps=10, n_days=3, day=2, n_pairs=2, pair=5, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [({"duration_s": 0}, "duration_s"), ({"duration_s": 6 * 3600 + 1}, "duration_s"),
     ({"duration_s": float("nan")}, "duration_s"), ({"duration_s": "60"}, "duration_s"),
     ({"fps": 0.5}, "fps"), ({"fps": 501}, "fps"), ({"fps": True}, "fps"),
     ({"duration_s": 0.3, "fps": 30}, "duration_s"),  # 9 frames
     ({"n_days": 0}, "n_days"), ({"n_days": 2.0}, "n_days"),
     ({"n_days": 2, "day": 2}, "day"), ({"day": -1}, "day"),
     ({"n_pairs": 0}, "n_pairs"), ({"pair": -1}, "pair"),
     ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed")],
)
def test_bad_run_parameters_name_their_parameter(kwargs, flag):
    args = {"duration_s": 60, "fps": 30} | kwargs
    with pytest.raises(InputError) as info:
        check_run_parameters(**args)
    assert info.value.source == flag
    assert info.value.hint
