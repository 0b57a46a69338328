"""Trials from pokes: nearest partner, window in force, success, strategies before pokes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _stats_helpers import synthetic_session

from behavtrack.errors import InputError
from behavtrack.task import trials_from_events, window_at


def _brute_force(events: pd.DataFrame, window: float) -> pd.DataFrame:
    """Nearest partner by an all-pairs distance matrix (independent of searchsorted)."""
    pokes = events[events["event"] == "poke"]
    rows = []
    for subj, partner in (("mouse1", "mouse2"), ("mouse2", "mouse1")):
        t = pokes.loc[pokes["subject"] == subj, "time_s"].to_numpy()
        p = pokes.loc[pokes["subject"] == partner, "time_s"].to_numpy()
        d = p[None, :] - t[:, None]
        best = d[np.arange(len(t)), np.argmin(np.abs(d), axis=1)]
        rows.append(pd.DataFrame({"subject": subj, "time_s": t, "delta_s": best,
                                  "success": (np.abs(best) <= window).astype(int)}))
    return pd.concat(rows).sort_values(["time_s", "subject"]).reset_index(drop=True)


def test_trials_match_brute_force_and_truth():
    rng = np.random.default_rng(3)
    events, bouts, truth = synthetic_session(rng, skill=0.5, duration_s=900, window_s=1.0)
    trials = trials_from_events(events, None, bouts=bouts, pair="p1", session=2)
    ref = _brute_force(events, 1.0)
    assert len(trials) == len(ref) == len(truth)
    np.testing.assert_allclose(trials["delta_s"], ref["delta_s"])
    np.testing.assert_array_equal(trials["success"], ref["success"])
    np.testing.assert_allclose(trials["partner_time_s"], trials["time_s"] + trials["delta_s"])
    # success equals the construction: coordinated cycles are within the window, others not
    merged = trials.merge(truth, on=["subject", "time_s"])
    assert len(merged) == len(trials)
    np.testing.assert_array_equal(merged["success"], merged["coordinated"])
    assert (trials["window_s"] == 1.0).all()
    assert set(trials["pair"]) == {"p1"} and set(trials["session"]) == {2}


def test_strategies_and_latencies_from_bouts():
    rng = np.random.default_rng(4)
    events, bouts, truth = synthetic_session(rng, skill=0.6, duration_s=600, window_s=1.0)
    trials = trials_from_events(events, 1.0, bouts=bouts)
    m = trials.merge(truth, on=["subject", "time_s"], suffixes=("", "_true"))
    np.testing.assert_array_equal(m["waited"], m["waited_true"])
    np.testing.assert_array_equal(m["interacted"], m["interacted_true"])
    assert (m["approached"] == 0).all()  # approach bouts end 7 s before: outside 5 s lookback
    # waiting ends at mouse1's poke (latency 0, up to frame rounding); interaction ends 2 s
    # before mouse1's poke, and mouse2 pokes within +-0.45 s of it
    w = m.loc[m["waited"] == 1, "waited_latency_s"]
    assert np.all(np.abs(w) <= 1 / 30 + 1e-9)
    i1 = m.loc[(m["interacted"] == 1) & (m["subject"] == "mouse1"), "interacted_latency_s"]
    np.testing.assert_allclose(i1, 2.0, atol=1 / 30 + 1e-9)
    assert m.loc[m["waited"] == 0, "waited_latency_s"].isna().all()
    # a wider approach lookback catches the approach bouts (ending 7 s before)
    wide = trials_from_events(events, 1.0, bouts=bouts, lookback_s={"approach": 8.0})
    uncoord = wide.merge(truth, on=["subject", "time_s"])["coordinated"] == 0
    assert (wide.loc[uncoord.to_numpy(), "approached"] == 1).all()
    np.testing.assert_allclose(wide.loc[uncoord.to_numpy(), "approached_latency_s"], 7.0,
                               atol=1 / 30 + 1e-9)


def test_window_changes_apply_from_their_time():
    ev = pd.DataFrame({
        "time_s": [0.0, 10.0, 10.9, 50.0, 60.0, 60.9],
        "subject": ["", "m1", "m2", "", "m1", "m2"],
        "event": ["window", "poke", "poke", "window", "poke", "poke"],
        "value": [1.0, np.nan, np.nan, 0.75, np.nan, np.nan],
    })
    tr = trials_from_events(ev, 5.0)
    assert tr["window_s"].tolist() == [1.0, 1.0, 0.75, 0.75]
    assert tr["success"].tolist() == [1, 1, 0, 0]
    np.testing.assert_allclose(window_at(np.array([-1.0, 0.0, 49.0, 50.0]), ev, 5.0),
                               [5.0, 1.0, 1.0, 0.75])


def test_inter_poke_interval_and_one_sided_sessions():
    ev = pd.DataFrame({"time_s": [1.0, 4.0, 9.0], "subject": "m1", "event": "poke"})
    tr = trials_from_events(ev, 1.0, subjects=["m1", "m2"])
    assert tr["success"].tolist() == [0, 0, 0]
    assert tr["partner_time_s"].isna().all()
    np.testing.assert_allclose(tr["inter_poke_interval_s"], [np.nan, 3.0, 5.0])
    assert tr["waited"].isna().all()  # no bouts table: unknown, not 0
    empty = trials_from_events(pd.DataFrame(columns=["time_s", "subject", "event"]), 1.0)
    assert len(empty) == 0 and "success" in empty


def test_bad_input_is_one_line():
    ev = pd.DataFrame({"time_s": [1.0, 2.0], "subject": ["a", "b"], "event": "poke"})
    with pytest.raises(InputError, match="window is unknown"):
        trials_from_events(ev, None, name="x/events.csv")
    with pytest.raises(InputError, match="'event' column"):
        trials_from_events(ev.drop(columns="event"), 1.0)
    three = pd.DataFrame({"time_s": [1.0, 2.0, 3.0], "subject": ["a", "b", "c"],
                          "event": "poke"})
    with pytest.raises(InputError, match="expected a pair"):
        trials_from_events(three, 1.0)
