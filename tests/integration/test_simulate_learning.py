"""Learning across days: success and strategy use rise, the window follows the curriculum."""

from __future__ import annotations

import numpy as np
import pytest

from behavtrack.simulate import SimulationConfig, simulate_cohort
from behavtrack.simulate.learning import Curriculum, pair_traits


@pytest.fixture(scope="module")
def cohort():
    return list(simulate_cohort(3, 8, duration_s=600.0, fps=15.0, seed=21, noise=False))


def _by_day(cohort, fn):
    days = {}
    for s in cohort:
        days.setdefault(s.meta["day"], []).append(fn(s))
    return np.array([np.mean(days[d]) for d in sorted(days)])


def test_success_rises_from_near_chance(cohort):
    success = _by_day(cohort, lambda s: s.meta["success_rate"])
    assert success[:2].mean() < 0.45  # naive pairs: mostly unmatched pokes
    assert success[-2:].mean() > 0.6
    assert success[-2:].mean() > success[:2].mean() + 0.25


def test_strategy_use_rises_and_interaction_time_more_than_doubles(cohort):
    def strategy(s):
        lab = s.labels["behavior"]
        return float(lab.isin(["approach", "waiting", "interaction"]).mean())

    def interaction(s):
        return float((s.labels["behavior"] == "interaction").mean())

    use = _by_day(cohort, strategy)
    inter = _by_day(cohort, interaction)
    assert use[-2:].mean() > 3 * use[:2].mean()
    assert inter[-2:].mean() > 2 * inter[:2].mean()
    assert np.corrcoef(np.arange(len(use)), use)[0, 1] > 0.7


def test_window_follows_the_curriculum(cohort):
    cfg = SimulationConfig()
    for pair in ("pair01", "pair02", "pair03"):
        sessions = [s for s in cohort if s.meta["pair"] == pair]
        windows = [s.meta["window_s"] for s in sessions]
        assert windows[0] == cfg.windows_s[0]
        assert all(b <= a for a, b in zip(windows, windows[1:], strict=False))  # never widens
        assert windows[-1] < windows[0]
        # each change follows the rule applied to the previous session's success
        cur = Curriculum(cfg)
        for s in sessions:
            assert s.meta["window_s"] == cur.window_s
            assert s.arena.window_s == cur.window_s
            cur.update(s.meta["success_rate"])


def test_curriculum_rules():
    cfg = SimulationConfig(max_sessions_per_stage=3)
    cur = Curriculum(cfg)
    cur.update(0.8)
    assert cur.window_s == 3.0  # advance above 75 %
    for _ in range(10):
        cur.update(0.2)
    assert cur.window_s == 3.0  # repeat below 35 %, however long
    cur.update(0.5)
    cur.update(0.5)
    assert cur.window_s == 3.0
    cur.update(0.5)
    assert cur.window_s == 1.0  # in between: advance after max_sessions_per_stage
    cur.update(0.9)
    cur.update(0.9)
    assert cur.window_s == 0.75  # the last stage stays
    assert len(cur.history) == 16


def test_pairs_and_mice_differ():
    cfg = SimulationConfig()
    a, b = pair_traits(0, 0, cfg), pair_traits(0, 1, cfg)
    assert (a.midpoint, a.slope) != (b.midpoint, b.slope)
    assert a.mice[0] != a.mice[1]
    assert pair_traits(0, 0, cfg) == a  # deterministic
    s = a.skill(np.linspace(0, 1, 5)[2], cfg)
    assert s.shape == (2,) and s[0] != s[1]
    lo, hi = a.skill(0.0, cfg), a.skill(1.0, cfg)
    assert (lo < 0.15).all() and (hi > 0.8).all()
