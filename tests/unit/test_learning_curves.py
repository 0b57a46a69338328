"""Learning curves: IQM, stratified bootstrap, fits, criterion and trend tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from behavtrack.learning.curves import (
    fit_curve,
    iqm,
    learning_curves,
    mann_kendall,
    pooled_curve,
    sessions_to_criterion,
    trend_tests,
)


def _table(values: np.ndarray, strata: list[str] | None = None) -> pd.DataFrame:
    pairs, sessions = values.shape
    t = pd.DataFrame({
        "source": "mice",
        "pair": np.repeat([f"p{i}" for i in range(pairs)], sessions),
        "session": np.tile(np.arange(sessions), pairs),
        "success_rate": values.ravel(),
    })
    if strata is not None:
        t["stratum"] = np.repeat(strata, sessions)
    return t


def test_iqm_equals_scipy_trim_mean_per_column():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(13, 6))
    np.testing.assert_allclose(iqm(a, axis=0), stats.trim_mean(a, 0.25, axis=0))
    b = a.copy()
    b[[1, 4, 7], 2] = np.nan  # NaN ignored: equals trim_mean of the finite values
    assert np.isclose(iqm(b, axis=0)[2], stats.trim_mean(b[np.isfinite(b[:, 2]), 2], 0.25))


def test_pooled_curve_mean_iqm_and_ci():
    rng = np.random.default_rng(1)
    vals = np.clip(np.linspace(0.2, 0.8, 8)[None, :] + rng.normal(0, 0.1, (12, 8)), 0, 1)
    vals[3, 5] = np.nan  # a pair missing a day
    c = pooled_curve(_table(vals), "success_rate", n_boot=1000, seed=0)
    np.testing.assert_allclose(c["mean"], np.nanmean(vals, axis=0))
    np.testing.assert_allclose(c["iqm"], iqm(vals, axis=0))
    assert c["n_pairs"].tolist() == [12] * 5 + [11] + [12] * 2
    assert (c["mean_lo"] <= c["mean"]).all() and (c["mean"] <= c["mean_hi"]).all()
    # the CI half-width is close to 1.96 standard errors of the mean across pairs
    se = np.nanstd(vals, axis=0, ddof=1) / np.sqrt(np.isfinite(vals).sum(axis=0))
    np.testing.assert_allclose((c["mean_hi"] - c["mean_lo"]) / 2, 1.96 * se, rtol=0.25)
    again = pooled_curve(_table(vals), "success_rate", n_boot=1000, seed=0)
    pd.testing.assert_frame_equal(c, again)


def test_bootstrap_resamples_pairs_within_strata():
    # stratum a: pairs at 0, stratum b: pairs at 1. Resampling within strata keeps two of
    # each, so the bootstrap mean is always 0.5; resampling across strata would not.
    vals = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    c = pooled_curve(_table(vals, ["a", "a", "b", "b"]), "success_rate", n_boot=500)
    np.testing.assert_allclose(c[["mean_lo", "mean_hi"]].to_numpy(), 0.5)
    free = pooled_curve(_table(vals), "success_rate", n_boot=500)
    assert (free["mean_hi"] - free["mean_lo"] > 0.2).all()
    # pairs without a stratum (NaN in the column) are resampled together, as one more
    unlabelled = pooled_curve(_table(vals, ["a", "a", None, None]), "success_rate", n_boot=500)
    np.testing.assert_allclose(unlabelled[["mean_lo", "mean_hi"]].to_numpy(), 0.5)


def test_learning_curves_are_each_metrics_pooled_curve():
    # learning_curves pivots the table once and draws the resampled pairs once per source:
    # every metric's rows must still be exactly what pooled_curve gives it alone (NaN,
    # a metric that is not numeric, duplicate rows averaged, a session some pairs lack,
    # strata, two sources, the second without strata)
    rng = np.random.default_rng(7)
    t = _table(rng.random((6, 5)), ["a", "a", "b", "b", "b", "a"])
    t["pokes_per_min"] = np.where(rng.random(len(t)) < 0.3, np.nan, rng.random(len(t)) * 5)
    t["waited_frac"] = rng.choice(["0.5", "x", None], size=len(t))
    t["chance_rate"] = np.nan
    t = pd.concat([t, t.iloc[[2, 7]].assign(success_rate=0.9),
                   _table(rng.random((9, 4))).assign(source="agents", session=lambda d:
                                                     d["session"] + 0.5)],
                  ignore_index=True).drop(index=[4, 11])
    metrics = ["success_rate", "pokes_per_min", "waited_frac", "chance_rate", "absent"]
    got = learning_curves(t, metrics, n_boot=300, seed=3)
    for src, sub in t.groupby("source", sort=False):
        for metric in metrics[:3]:
            want = pooled_curve(sub, metric, n_boot=300, seed=3)
            rows = got[(got["source"] == src) & (got["metric"] == metric)]
            pd.testing.assert_frame_equal(rows.drop(columns="source").reset_index(drop=True),
                                          want, check_exact=True, check_dtype=False)
    assert set(got["metric"]) == set(metrics[:3])  # all-NaN and absent metrics: no rows


def test_logistic_fit_recovers_parameters_within_intervals():
    rng = np.random.default_rng(2)
    x = np.repeat(np.arange(15.0), 8)
    truth = dict(lo=0.15, hi=0.85, x50=6.0, scale=1.5)
    y = truth["lo"] + (truth["hi"] - truth["lo"]) / (1 + np.exp(-(x - truth["x50"])
                                                             / truth["scale"]))
    fit = fit_curve(x, y + rng.normal(0, 0.05, len(x)), "logistic").set_index("param")
    assert fit["converged"].all()
    for name, value in truth.items():
        assert fit.loc[name, "ci_low"] <= value <= fit.loc[name, "ci_high"], name
    assert abs(fit.loc["x50", "estimate"] - 6.0) < 0.3
    expo = fit_curve(x, y, "exponential")
    assert expo["aic"].iloc[0] > fit["aic"].iloc[0]  # the right model fits better
    few = fit_curve(np.arange(3.0), np.arange(3.0), "logistic")
    assert not few["converged"].any() and few["estimate"].isna().all()


def test_mann_kendall_matches_kendall_tau():
    rng = np.random.default_rng(3)
    y = np.arange(20) * 0.05 + rng.normal(0, 0.3, 20)
    r = mann_kendall(y)
    ref = stats.kendalltau(np.arange(20), y)
    assert np.isclose(r["tau"], ref.statistic)
    assert abs(r["p"] - ref.pvalue) < 0.02
    # Sen's slope: median of pairwise slopes
    i, j = np.triu_indices(20, 1)
    assert np.isclose(r["sen_slope"], np.median((y[j] - y[i]) / (j - i)))
    flat = mann_kendall(np.ones(10))
    assert flat["s"] == 0 and np.isnan(flat["p"])


def test_trends_and_criterion():
    vals = np.array([[0.1, 0.3, 0.5, 0.8, 0.9, 0.9],
                     [0.2, 0.2, 0.4, 0.6, 0.7, 0.8],
                     [0.9, 0.7, 0.5, 0.4, 0.2, 0.1]])
    t = trend_tests(_table(vals), ["success_rate"]).set_index("pair")
    assert t.loc["p0", "tau"] > 0.8 and t.loc["p2", "direction"] == "down"
    assert t.loc["all", "n"] == 18
    # stratified MK: sum of the pairs' S over the sum of their variances
    s = sum(mann_kendall(v)["s"] for v in vals)
    var = sum(mann_kendall(v)["var_s"] for v in vals)
    assert np.isclose(t.loc["all", "z"], (s - np.sign(s)) / np.sqrt(var))
    c = sessions_to_criterion(_table(vals), criterion=0.75, consecutive=2).set_index("pair")
    assert c.loc["p0", "session"] == 3 and c.loc["p0", "n_sessions"] == 4
    assert not c.loc["p1", "reached"] and np.isnan(c.loc["p1", "session"])
    assert c.loc["p2", "reached"] == False  # noqa: E712  (0.9 once is not 2 in a row)
    one = sessions_to_criterion(_table(vals), criterion=0.75, consecutive=1).set_index("pair")
    assert one.loc["p2", "session"] == 0 and one.loc["p1", "session"] == 5


def test_spearman_exact_for_few_points():
    from behavtrack.learning.curves import spearman

    x = np.arange(6.0)
    y = np.array([0.1, 0.3, 0.2, 0.6, 0.5, 0.9])
    rho, p = spearman(x, y)
    ref = stats.permutation_test((y,), lambda yy: stats.spearmanr(x, yy).statistic,
                                 permutation_type="pairings", n_resamples=np.inf)
    assert np.isclose(rho, stats.spearmanr(x, y).statistic) and np.isclose(p, ref.pvalue)
    assert np.isclose(spearman(np.arange(3.0), np.arange(3.0))[1], 1 / 3)  # not 0


def test_spearman_and_ranks_equal_scipy_stats_bit_for_bit():
    """Computed without scipy.stats, the numbers are scipy's own (ties, |rho| = 1, n > 7)."""
    from behavtrack.learning.curves import average_ranks, spearman

    rng = np.random.default_rng(3)
    for trial in range(400):
        n = int(rng.integers(8, 40))
        x = rng.integers(0, 5, n).astype(float) if trial % 2 else rng.normal(size=n)
        y = {0: 2 * x + 1, 1: -x}.get(trial % 5, rng.integers(0, 3, n).astype(float)
                                      if trial % 3 == 0 else rng.normal(size=n))
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        assert np.array_equal(average_ranks(x), stats.rankdata(x))
        ref = stats.spearmanr(x, y)
        assert spearman(x, y) == (float(ref.statistic), float(ref.pvalue))
    assert np.isnan(spearman(np.r_[np.arange(9.0), np.nan], np.arange(10.0))).all()


def test_normal_and_t_quantities_equal_scipy_stats():
    from behavtrack.learning import curves

    z = np.r_[np.linspace(-40, 40, 2001), 0.0, 1e-300, np.inf]
    assert [curves._two_sided_normal_p(v) for v in z] == [float(2 * stats.norm.sf(abs(v)))
                                                          for v in z]
    x = np.arange(12.0)
    y = 0.2 + 0.6 / (1 + np.exp(-(x - 5) / 1.5)) + np.random.default_rng(0).normal(0, .02, 12)
    f = fit_curve(x, y, "logistic", ci=0.9)
    t = stats.t.ppf(0.95, 12 - 4)
    assert np.array_equal(f["ci_high"], f["estimate"] + t * f["se"])


def test_the_curves_do_not_import_scipy_stats():
    import subprocess
    import sys

    code = ("import sys, behavtrack.learning.curves, behavtrack.workflows.stats; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"  # its import alone costs ~0.5-0.9 s of every batch and stats run
