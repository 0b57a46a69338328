"""A cohort's statistics in memory: count checks, curves / criterion / trends, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.learning.cohort import (
    StatsResult,
    cohort_curves,
    cohort_stats,
    curve_figure_specs,
    curve_figures,
    require_counts,
    session_result,
    session_results,
)

# two pairs of mice over four days, and one agents' run over four checkpoints
RATES = {"p1": [0.2, 0.4, 0.8, 0.9], "p2": [0.0, 0.2, 0.6, 0.8], "r1": [0.1, 0.3, 0.5, 0.7]}


def _sessions() -> pd.DataFrame:
    rows = []
    for pair, rates in RATES.items():
        src = "agents" if pair == "r1" else "mice"
        for day, rate in enumerate(rates):
            rows.append({"source": src, "pair": pair, "session": day, "progress": day / 3,
                         "success_rate": rate, "chance_rate": 0.1, "data": "real"})
    return pd.DataFrame(rows)


def test_require_counts_names_the_first_count_below_one():
    require_counts(n_boot=1, episode_steps=None)  # None: not given, fine
    with pytest.raises(InputError, match=r"^n_shifts: must be at least 1, got 0$"):
        require_counts(n_boot=5, n_shifts=0, seed=-1)


@pytest.mark.parametrize(("kw", "says"), [
    ({"episode_steps": 0}, "episode_steps: must be at least 1, got 0"),
    ({"sync_limit": -1}, "sync_limit: must be 0 or more, got -1"),
])
def test_session_results_checks_its_parameters_before_reading(tmp_path, kw, says):
    with pytest.raises(InputError, match=says):
        session_results([tmp_path / "nothing_here"], **kw)


def test_cohort_stats_per_source():
    sessions = _sessions()
    res = cohort_stats(pd.DataFrame(), sessions, [{"path": "x", "error": "bad"}], n_boot=50,
                       n_bins=2, criterion=0.75, metrics=["success_rate", "not_a_column"])
    assert isinstance(res, StatsResult) and res.out_dir is None and res.figures == []
    assert res.metrics == ["success_rate"]  # absent metrics are left out
    assert res.failures.to_dict("records") == [{"path": "x", "error": "bad"}]
    mice = res.curves[res.curves["source"] == "mice"].sort_values("x")
    assert mice["x"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(mice["mean"], [0.1, 0.3, 0.7, 0.85])  # mean of the two pairs
    assert (mice["n_pairs"] == 2).all()
    agents = res.curves[res.curves["source"] == "agents"].sort_values("x")
    np.testing.assert_allclose(agents["mean"], RATES["r1"])
    # progress in two bins: days 0, 1 (progress 0, 1/3) and days 2, 3 (2/3, 1)
    prog = res.curves_progress[res.curves_progress["source"] == "mice"].sort_values("x")
    np.testing.assert_allclose(prog["x"], [0.25, 0.75])
    np.testing.assert_allclose(prog["mean"], [0.2, 0.775])
    crit = res.criterion.set_index("pair")
    assert crit.loc["p1", "reached"] and crit.loc["p1", "session"] == 2
    assert crit.loc["p2", "session"] == 3 and not crit.loc["r1", "reached"]
    assert set(res.trends["pair"]) == {"p1", "p2", "r1", "all"}
    assert set(res.fits["source"]) == {"mice", "agents"}


def test_curve_figures_one_per_source_with_titles():
    res = cohort_stats(pd.DataFrame(), _sessions(), n_boot=20, metrics=["success_rate"])
    figs = dict(curve_figures(res))
    assert list(figs) == ["mice", "agents"]
    mice_title = figs["mice"]._suptitle.get_text()
    assert mice_title.startswith("mice: learning curves (2 pairs")
    assert figs["agents"]._suptitle.get_text().startswith("agents: learning curves (1 runs")
    ax = figs["agents"].axes[0]
    assert ax.get_xlabel() == "checkpoint (training iterations)"
    assert figs["mice"].axes[0].get_xlabel() == "session (day index)"


def test_curves_given_to_cohort_stats_are_those_it_computes():
    sessions = _sessions()
    kw = {"n_boot": 30, "seed": 3, "metrics": ["success_rate", "chance_rate"]}
    own = cohort_stats(pd.DataFrame(), sessions, **kw)
    curves = cohort_curves(sessions, kw["metrics"], n_boot=30, seed=3)
    pd.testing.assert_frame_equal(curves, own.curves)
    given = cohort_stats(pd.DataFrame(), sessions, **kw, curves=curves)
    for name in ("curves", "curves_progress", "fits", "criterion", "trends"):
        pd.testing.assert_frame_equal(getattr(given, name), getattr(own, name))


def test_figure_specs_draw_the_figures_of_curve_figures():
    from behavtrack.learning.figures import plot_learning_curves

    res = cohort_stats(pd.DataFrame(), _sessions(), n_boot=20, metrics=["success_rate"])
    specs = curve_figure_specs(res.sessions, res.curves, res.metrics)
    assert [src for src, _ in specs] == ["mice", "agents"]
    for (src, spec), (src2, fig) in zip(specs, curve_figures(res), strict=True):
        assert src == src2
        drawn = plot_learning_curves(**spec)
        assert drawn._suptitle.get_text() == fig._suptitle.get_text()
        assert [ax.get_xlabel() for ax in drawn.axes] == [ax.get_xlabel() for ax in fig.axes]


def test_precomputed_sessions_are_taken_as_they_are(tmp_path):
    bad = tmp_path / "no_events"
    bad.mkdir()
    (bad / "session.json").write_text("{}")
    fake = (pd.DataFrame({"pair": ["p"]}), {"source": "mice", "pair": "p", "session": 0})
    # a folder that cannot be read is a failure row, from session_result as from the loop
    res, fail = session_result(bad)
    assert res is None and fail["path"] == str(bad) and "events.csv" in fail["error"]
    assert session_results([bad], precomputed={str(bad): (fake, None)}) == ([fake], [])
    with pytest.raises(InputError, match="no usable session"):
        session_results([bad], precomputed={"elsewhere": (fake, None)})
