"""On a simulated cohort, the statistics recover the simulator's truth.

Success rates from the event log equal the simulator's rewarded fraction of pokes (its truth,
rounded to 4 decimals in ``meta``) within 1e-3, and strategy use from the true bouts equals
the simulator's per-mouse fractions of time within 1e-3.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from behavtrack.workflows.stats import compute_stats

simulate = pytest.importorskip("behavtrack.simulate")


def test_simulated_cohort_success_and_strategies(tmp_path):
    from behavtrack.io.bouts import write_bouts_csv
    from behavtrack.io.events import write_events

    metas = {}
    for sess in simulate.simulate_cohort(2, 5, 300.0, 10.0, 3):
        m = sess.meta
        folder = tmp_path / "in" / f"{m['pair']}_{m['session']}"
        folder.mkdir(parents=True)
        (folder / "session.json").write_text(json.dumps({
            k: m[k] for k in ("pair", "session", "fps", "n_frames", "window_s", "individuals")
        } | {"poke_source": "log"}))
        write_events(sess.events, folder / "events.csv")
        write_bouts_csv(sess.bouts(), folder / "bouts.csv", sess.fps)
        metas[(m["pair"], m["session"])] = m
    res = compute_stats([tmp_path / "in"], tmp_path / "out", n_shifts=500, n_boot=200)
    assert len(res.sessions) == 10 and res.failures.empty
    for row in res.sessions.itertuples():
        m = metas[(row.pair, row.session)]
        assert row.n_pokes == m["n_pokes"]
        assert abs(row.success_rate - m["success_rate"]) <= 1e-3
        if m["n_rewards"]:  # the log's own reward rows (absent when nothing was rewarded)
            assert abs(row.rewarded_rate - m["success_rate"]) <= 1e-3
        assert row.window_s == m["window_s"]
        for b in ("approach", "waiting", "interaction"):
            truth = np.mean([m["mice"][k][f"fraction_{b}"] for k in m["mice"]])
            assert abs(getattr(row, f"{b}_frac_time") - truth) <= 1e-3, b
            n_bouts = sum(m["mice"][k][f"bouts_{b}"] for k in m["mice"])
            assert np.isclose(getattr(row, f"{b}_bouts_per_min") * 2 * 5.0, n_bouts)


@pytest.mark.slow
def test_pose_and_events_pipeline_recovers_truth(tmp_path):
    """simulate -> train the HMM on one pair -> classify the other pair -> stats.

    Success rates come from the log: equal to the truth within 1e-3. Strategy use comes from
    the classifier's bouts on noisy pose (a model trained on three 4-minute sessions): each
    fraction of time within 0.04 of the truth, and
    the rise of interaction over training is recovered.
    """
    from behavtrack.simulate import write_session
    from behavtrack.strategies.pipeline import train_model
    from behavtrack.workflows.classify import classify_session

    train, test, metas = [], [], {}
    for sess in simulate.simulate_cohort(2, 3, 240.0, 15.0, 7):
        m = sess.meta
        folder = write_session(sess, tmp_path / "sim" / f"{m['pair']}_{m['session']}",
                               pose_formats=("pose.h5",))
        (train if m["pair"] == "pair01" else test).append(folder)
        metas[(m["pair"], m["session"])] = m
    model = train_model(train, folds=0)
    for folder in test:
        classify_session(folder, tmp_path / "cls" / folder.name, model=model, png=False)
    res = compute_stats([tmp_path / "cls"], tmp_path / "stats", n_shifts=200, n_boot=100,
                        figures=False)
    assert len(res.sessions) == 3 and res.failures.empty
    for row in res.sessions.itertuples():
        m = metas[(row.pair, row.session)]
        assert abs(row.success_rate - m["success_rate"]) <= 1e-3
        assert row.poke_source == "log"
        for b in ("approach", "waiting", "interaction"):
            truth = np.mean([m["mice"][k][f"fraction_{b}"] for k in m["mice"]])
            assert abs(getattr(row, f"{b}_frac_time") - truth) <= 0.04, (row.session, b)
    inter = res.sessions.sort_values("session")["interaction_frac_time"].to_numpy()
    truth = [np.mean([metas[("pair02", s)]["mice"][k]["fraction_interaction"]
                      for k in ("mouse1", "mouse2")]) for s in range(3)]
    assert np.sign(inter[-1] - inter[0]) == np.sign(truth[-1] - truth[0])
