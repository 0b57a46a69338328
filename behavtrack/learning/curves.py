"""Learning curves across sessions: pooled curves with bootstrap CIs, fits, criterion, trends.

Every function here takes the ``sessions.csv`` table (one row per pair and session) and a
metric column:

- :func:`pooled_curve` / :func:`learning_curves`: per session (or progress bin) the mean and
  the interquartile mean (IQM: the mean of the middle 50 %, as ``scipy.stats.trim_mean(x,
  0.25)``) across pairs, with percentile confidence intervals from a *stratified bootstrap*
  that resamples whole pairs with replacement within each stratum (a ``stratum`` column, e.g.
  a cohort or genotype; one stratum otherwise), so a pair's sessions stay together.
- :func:`fit_curve` / :func:`fit_curves`: logistic and exponential learning curves by least
  squares (:func:`scipy.optimize.curve_fit`), with parameter intervals from the covariance
  (Student t) and the AIC to choose between them.
- :func:`sessions_to_criterion`: per pair, the first session of the first run of
  ``consecutive`` sessions at or above a criterion.
- :func:`mann_kendall` / :func:`trend_tests`: Mann-Kendall trend test (with ties) and Sen's
  slope per pair, Spearman's rho, and the stratified (seasonal) Mann-Kendall test across
  pairs, which sums each pair's statistic and variance.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_METRICS",
    "bin_progress",
    "iqm",
    "pooled_curve",
    "learning_curves",
    "fit_curve",
    "fit_curves",
    "sessions_to_criterion",
    "mann_kendall",
    "spearman",
    "average_ranks",
    "trend_tests",
]

#: Metrics of ``sessions.csv`` drawn and tested by default.
DEFAULT_METRICS: list[str] = [
    "success_rate", "chance_rate", "pokes_per_min", "median_abs_delta_s",
    "waiting_frac_time", "interaction_frac_time", "approach_frac_time",
    "interaction_mean_bout_s", "waited_frac", "interacted_frac", "approached_frac",
]


def bin_progress(progress: np.ndarray | pd.Series, n_bins: int = 5) -> np.ndarray:
    """Centre of the progress bin (``n_bins`` equal bins over 0..1) of each value."""
    p = np.clip(np.asarray(progress, dtype=float), 0.0, 1.0)
    idx = np.minimum(np.floor(p * n_bins), n_bins - 1)
    return (idx + 0.5) / n_bins


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean along ``axis``, ignoring NaN (as ``trim_mean(x, 0.25)`` per slice).

    Examples
    --------
    >>> float(iqm(np.array([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])))
    3.0

    """
    a = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    s = np.sort(a, axis=-1)  # NaN sort last
    n = np.isfinite(a).sum(axis=-1, keepdims=True)
    k = np.floor(0.25 * n)
    pos = np.arange(a.shape[-1])
    mask = (pos >= k) & (pos < n - k)
    cnt = mask.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.where(mask, s, 0.0).sum(axis=-1) / cnt, np.nan)


def _pair_matrices(
    sessions: pd.DataFrame, metrics: Sequence[str], x: str
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Pairs x sessions matrices of metrics (NaN where missing), from one pivot.

    Returns pairs, xs, the matrix of each metric and the pairs' strata (pairs without a
    ``stratum`` value are resampled together, as one more stratum).
    """
    metrics = list(metrics)
    tab = sessions[["pair", x, *metrics]].copy()
    for metric in metrics:
        tab[metric] = pd.to_numeric(tab[metric], errors="coerce")
    wide = tab.pivot_table(index="pair", columns=x, values=metrics, aggfunc="mean",
                           dropna=False, observed=True)
    xs = sorted(wide[metrics[0]].columns, key=float)
    if "stratum" in sessions:  # pairs without one are a stratum of their own
        strata = (sessions.groupby("pair")["stratum"].first().reindex(wide.index)
                  .astype(object).fillna("(none)").astype(str))
    else:
        strata = pd.Series("all", index=wide.index)
    return (wide.index.to_numpy(), np.asarray(xs, dtype=float),
            {m: wide[m].reindex(xs, axis=1).to_numpy(dtype=float) for m in metrics},
            strata.to_numpy())


def _bootstrap_indices(strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n_pairs)`` pair indices resampled with replacement within each stratum."""
    idx = np.empty((n_boot, len(strata)), dtype=int)
    for s in pd.unique(strata):
        members = np.flatnonzero(strata == s)
        idx[:, members] = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
    return idx


_CURVE_COLUMNS = ["metric", "x", "n_pairs", "mean", "mean_lo", "mean_hi", "iqm", "iqm_lo",
                  "iqm_hi"]


def _pooled(metric: str, xs: np.ndarray, m: np.ndarray, idx: np.ndarray, ci: float
            ) -> pd.DataFrame:
    """Return :func:`pooled_curve`'s rows from a metric's matrix and the resampled pairs.

    ``m``: pairs x sessions (:func:`_pair_matrices`); ``idx``: the bootstrap's pair indices.
    """
    boot = m[idx]  # (B, P, X)
    alpha = (1.0 - ci) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(m, axis=0)
        b_mean = np.nanmean(boot, axis=1)
        b_iqm = iqm(boot, axis=1)
        lo_m, hi_m = np.nanquantile(b_mean, [alpha, 1 - alpha], axis=0)
        lo_i, hi_i = np.nanquantile(b_iqm, [alpha, 1 - alpha], axis=0)
    return pd.DataFrame({
        "metric": metric, "x": xs, "n_pairs": np.isfinite(m).sum(axis=0), "mean": mean,
        "mean_lo": lo_m, "mean_hi": hi_m, "iqm": iqm(m, axis=0), "iqm_lo": lo_i, "iqm_hi": hi_i,
    }, columns=_CURVE_COLUMNS)


def _has_values(sessions: pd.DataFrame, metric: str) -> bool:
    return metric in sessions and sessions[metric].notna().sum() > 0


def pooled_curve(
    sessions: pd.DataFrame,
    metric: str,
    *,
    x: str = "session",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Pooled learning curve of one metric with stratified-bootstrap CIs.

    Parameters
    ----------
    sessions
        ``sessions.csv`` table (``pair``, ``x``, the metric, optional ``stratum``).
    metric
        Column to pool.
    x
        The curve's axis: ``session``, ``progress`` or a binned column such as
        ``progress_bin``.
    n_boot
        Bootstrap resamples of pairs.
    ci
        Confidence level of the percentile intervals.
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per ``x``: ``metric, x, n_pairs, mean, mean_lo, mean_hi, iqm, iqm_lo,
        iqm_hi``.

    """
    if not _has_values(sessions, metric):
        return pd.DataFrame(columns=_CURVE_COLUMNS)
    _, xs, mats, strata = _pair_matrices(sessions, [metric], x)
    idx = _bootstrap_indices(strata, n_boot, np.random.default_rng(seed))
    return _pooled(metric, xs, mats[metric], idx, ci)


def learning_curves(
    sessions: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    x: str = "session",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Pooled curves of several metrics (long table, see :func:`pooled_curve`), per source.

    A ``source`` column (mice / agents) is kept: each source is pooled separately. Each
    metric's curve is the one :func:`pooled_curve` gives (the same resampled pairs, as the
    same seed draws them); the metrics share one pivot of the table and one draw.
    """
    metrics = [m for m in (metrics or DEFAULT_METRICS) if m in sessions]
    frames = []
    groups = sessions.groupby("source", sort=False) if "source" in sessions else [("", sessions)]
    for src, sub in groups:
        present = [m for m in metrics if _has_values(sub, m)]
        if not present:
            continue
        _, xs, mats, strata = _pair_matrices(sub, present, x)
        idx = _bootstrap_indices(strata, n_boot, np.random.default_rng(seed))
        for metric in present:
            c = _pooled(metric, xs, mats[metric], idx, ci)
            if len(c):
                c.insert(0, "source", src)
                frames.append(c)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------
# curve fits


def _logistic(x: np.ndarray, lo: float, hi: float, x50: float, scale: float) -> np.ndarray:
    return lo + (hi - lo) / (1.0 + np.exp(-(x - x50) / scale))


def _exponential(x: np.ndarray, lo: float, hi: float, tau: float) -> np.ndarray:
    return hi - (hi - lo) * np.exp(-x / tau)


_MODELS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "logistic": (_logistic, ("lo", "hi", "x50", "scale")),
    "exponential": (_exponential, ("lo", "hi", "tau")),
}


def fit_curve(
    x: np.ndarray, y: np.ndarray, model: str = "logistic", ci: float = 0.95
) -> pd.DataFrame:
    """Fit a learning curve ``y(x)`` and give each parameter's interval.

    Models: ``logistic``: ``lo + (hi - lo) / (1 + exp(-(x - x50) / scale))``;
    ``exponential``: ``hi - (hi - lo) * exp(-x / tau)``. Intervals are
    ``estimate +- t * SE`` with SE from the fit's covariance and Student's t on the residual
    degrees of freedom.

    Parameters
    ----------
    x, y
        Points (NaN dropped), e.g. every pair's value per session.
    model
        ``logistic`` or ``exponential``.
    ci
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``model, param, estimate, se, ci_low, ci_high, n, rss, aic,
        converged``; NaN estimates (``converged`` False) when the fit fails or there are too
        few points.

    Examples
    --------
    >>> xs = np.repeat(np.arange(10.0), 3)
    >>> ys = 0.1 + 0.7 / (1 + np.exp(-(xs - 4.0) / 1.0))
    >>> fit = fit_curve(xs, ys + 0.01 * np.tile([-1, 0, 1], 10))
    >>> round(float(fit.set_index("param").loc["x50", "estimate"]), 2)
    4.0

    """
    if model not in _MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(_MODELS)}")
    func, names = _MODELS[model]
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n, k = len(x), len(names)
    out = {"model": model, "param": list(names), "n": n}
    failed = pd.DataFrame({**out, "estimate": np.nan, "se": np.nan, "ci_low": np.nan,
                           "ci_high": np.nan, "rss": np.nan, "aic": np.nan, "converged": False})
    if n <= k or np.unique(x).size < k - 1 or np.ptp(y) == 0:
        return failed
    span = max(np.ptp(x), 1e-9)
    ylo, yhi = np.quantile(y, 0.1), np.quantile(y, 0.9)
    if model == "logistic":
        p0 = [ylo, yhi, float(np.median(x)), span / 6.0]
        bounds = ([-np.inf, -np.inf, x.min() - span, span * 1e-3],
                  [np.inf, np.inf, x.max() + span, span * 10])
    else:
        p0 = [ylo, yhi, span / 3.0]
        bounds = ([-np.inf, -np.inf, span * 1e-3], [np.inf, np.inf, span * 100])
    # scipy where it is used (the curves alone need none); not scipy.stats, whose import alone
    # costs 0.5-0.9 s: its formulas are scipy.special's
    from scipy import optimize, special

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, pcov = optimize.curve_fit(func, x, y, p0=p0, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return failed
    rss = float(np.sum((y - func(x, *popt)) ** 2))
    se = np.sqrt(np.clip(np.diag(pcov), 0, None))
    dof = max(n - k, 1)
    t = special.stdtrit(dof, 0.5 + ci / 2.0)  # scipy.stats.t.ppf's own formula
    aic = n * np.log(max(rss, 1e-300) / n) + 2 * k
    return pd.DataFrame({**out, "estimate": popt, "se": se, "ci_low": popt - t * se,
                         "ci_high": popt + t * se, "rss": rss, "aic": aic,
                         "converged": bool(np.all(np.isfinite(se)))})


def fit_curves(
    sessions: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    x: str = "session",
    models: Sequence[str] = ("logistic", "exponential"),
) -> pd.DataFrame:
    """Fit every model to every metric (all pairs' points), per source; long table."""
    metrics = [m for m in (metrics or DEFAULT_METRICS) if m in sessions]
    frames = []
    groups = sessions.groupby("source", sort=False) if "source" in sessions else [("", sessions)]
    for src, sub in groups:
        xs = pd.to_numeric(sub[x], errors="coerce").to_numpy(dtype=float)
        for metric in metrics:
            ys = pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)
            for model in models:
                f = fit_curve(xs, ys, model)
                f.insert(0, "metric", metric)
                f.insert(0, "source", src)
                frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------
# criterion and trends


def sessions_to_criterion(
    sessions: pd.DataFrame,
    metric: str = "success_rate",
    criterion: float = 0.75,
    consecutive: int = 1,
    x: str = "session",
) -> pd.DataFrame:
    """Per pair: when the metric first reached ``criterion`` for ``consecutive`` sessions.

    Returns
    -------
    pandas.DataFrame
        ``source, pair, metric, criterion, consecutive, reached, session, n_sessions``:
        ``session`` is the ``x`` value of the first session of the run, ``n_sessions`` how
        many of the pair's sessions came up to and including it (NaN if never reached).

    """
    rows = []
    groups = sessions.groupby(["source", "pair"], sort=False) if "source" in sessions else \
        sessions.assign(source="").groupby(["source", "pair"], sort=False)
    for (src, pair), sub in groups:
        sub = sub.assign(_x=pd.to_numeric(sub[x], errors="coerce")).sort_values("_x")
        hit = (pd.to_numeric(sub[metric], errors="coerce") >= criterion).to_numpy()
        run = np.convolve(hit.astype(int), np.ones(consecutive, dtype=int), "valid") \
            if len(hit) >= consecutive else np.empty(0)
        first = np.flatnonzero(run == consecutive)
        reached = len(first) > 0
        rows.append({
            "source": src, "pair": pair, "metric": metric, "criterion": criterion,
            "consecutive": consecutive, "reached": reached,
            "session": sub["_x"].iloc[first[0]] if reached else np.nan,
            "n_sessions": first[0] + 1 if reached else np.nan,
        })
    return pd.DataFrame(rows)


def _mk_s_var(y: np.ndarray) -> tuple[float, float, float]:
    """Mann-Kendall S, its variance (with ties) and Sen's slope for equally ordered ``y``."""
    y = y[np.isfinite(y)]
    n = len(y)
    if n < 2:
        return 0.0, 0.0, np.nan
    i, j = np.triu_indices(n, k=1)
    d = y[j] - y[i]
    s = float(np.sign(d).sum())
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    return s, float(var), float(np.median(d / (j - i)))


def mann_kendall(y: np.ndarray, x: np.ndarray | None = None) -> dict[str, float]:
    """Mann-Kendall trend test of ``y`` ordered by ``x`` (two-sided, continuity-corrected).

    Returns
    -------
    dict
        ``s, var_s, z, p, tau, sen_slope`` (Sen's slope per unit of the order index, or per
        unit of ``x`` when given).

    Examples
    --------
    >>> r = mann_kendall(np.arange(10.0))
    >>> r["tau"], r["p"] < 0.001
    (1.0, True)

    """
    y = np.asarray(y, dtype=float)
    if x is not None:
        x = np.asarray(x, dtype=float)
        order = np.argsort(x, kind="stable")
        y, x = y[order], x[order]
        ok = np.isfinite(y) & np.isfinite(x)
        y, x = y[ok], x[ok]
    s, var, sen = _mk_s_var(y)
    n = np.isfinite(y).sum()
    if x is not None and n >= 2:
        i, j = np.triu_indices(n, k=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = (y[j] - y[i]) / (x[j] - x[i])
        sen = float(np.nanmedian(slopes[np.isfinite(slopes)])) if np.isfinite(slopes).any() \
            else np.nan
    z = 0.0 if var == 0 else (s - np.sign(s)) / np.sqrt(var)
    p = _two_sided_normal_p(z) if var > 0 else np.nan
    tau = s / (n * (n - 1) / 2) if n >= 2 else np.nan
    return {"s": s, "var_s": var, "z": float(z), "p": p, "tau": float(tau), "sen_slope": sen}


def trend_tests(
    sessions: pd.DataFrame, metrics: Sequence[str] | None = None, *, x: str = "session"
) -> pd.DataFrame:
    """Trend of each metric across sessions, per pair and pooled, per source.

    Per pair: Mann-Kendall (``tau, z, p``), Sen's slope and Spearman's rho with its p-value.
    Pooled (``pair == "all"``): the stratified Mann-Kendall test (sum of the pairs' S and
    variances; ``tau`` is S over the number of pairs compared) and Spearman's rho over all
    points.

    Returns
    -------
    pandas.DataFrame
        ``source, metric, pair, n, tau, z, p, sen_slope, spearman_rho, spearman_p,
        direction`` (``up``, ``down`` or ``none`` at p < 0.05).

    """
    metrics = [m for m in (metrics or DEFAULT_METRICS) if m in sessions]
    rows = []
    groups = sessions.groupby("source", sort=False) if "source" in sessions else [("", sessions)]
    for src, sub in groups:
        xs_all = pd.to_numeric(sub[x], errors="coerce").to_numpy(dtype=float)
        for metric in metrics:
            ys_all = pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)
            s_tot = var_tot = n_cmp = 0.0
            slopes = []
            for pair in pd.unique(sub["pair"]):
                m = (sub["pair"] == pair).to_numpy()
                xs, ys = xs_all[m], ys_all[m]
                ok = np.isfinite(xs) & np.isfinite(ys)
                r = mann_kendall(ys[ok], xs[ok])
                n = int(ok.sum())
                rho, rp = spearman(xs[ok], ys[ok])
                rows.append(_trend_row(src, metric, str(pair), n, r, rho, rp))
                s_tot += r["s"]
                var_tot += r["var_s"]
                n_cmp += n * (n - 1) / 2
                slopes.append(r["sen_slope"])
            z = 0.0 if var_tot == 0 else (s_tot - np.sign(s_tot)) / np.sqrt(var_tot)
            ok = np.isfinite(xs_all) & np.isfinite(ys_all)
            rho, rp = spearman(xs_all[ok], ys_all[ok])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pooled = {"s": s_tot, "var_s": var_tot, "z": float(z),
                          "p": _two_sided_normal_p(z) if var_tot > 0 else np.nan,
                          "tau": s_tot / n_cmp if n_cmp else np.nan,
                          "sen_slope": float(np.nanmedian(slopes)) if np.isfinite(
                              slopes).any() else np.nan}
            rows.append(_trend_row(src, metric, "all", int(ok.sum()), pooled, rho, rp))
    return pd.DataFrame(rows)


def spearman(x: np.ndarray, y: np.ndarray, exact_up_to: int = 7) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value (NaN for fewer than 3 points or no spread).

    For up to ``exact_up_to`` points the p-value is exact, over every permutation of the
    ranks (the asymptotic p-value is meaningless there: rho = 1 on 3 points has p = 1/3);
    beyond, :func:`scipy.stats.spearmanr`'s (Student t). Both numbers equal scipy's, bit for
    bit, computed without importing :mod:`scipy.stats`. NaN in ``x`` or ``y`` gives NaN.

    Examples
    --------
    >>> rho, p = spearman(np.arange(3.0), np.array([1.0, 2.0, 5.0]))
    >>> rho, round(p, 3)
    (1.0, 0.333)

    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0 or np.isnan(x).any() or np.isnan(y).any():
        return np.nan, np.nan
    rx, ry = average_ranks(x), average_ranks(y)
    r = np.corrcoef(np.column_stack((rx, ry)), rowvar=False)[1, 0]
    rho = float(r)
    if n > exact_up_to:  # scipy.stats.spearmanr's p-value: Student t with n - 2 dof
        from scipy import special

        dof = n - 2
        with np.errstate(divide="ignore"):  # |rho| = 1: t is infinite, p is 0
            t = r * np.sqrt(np.clip(dof / ((r + 1.0) * (1.0 - r)), 0, None))
        return rho, float(2 * special.stdtr(dof, -np.abs(t)))
    from itertools import permutations

    perms = ry[np.array(list(permutations(range(n))))]  # (n!, n)
    rxc = rx - rx.mean()
    pc = perms - perms.mean(axis=1, keepdims=True)
    rhos = (pc @ rxc) / (np.sqrt((pc ** 2).sum(axis=1)) * np.sqrt((rxc ** 2).sum()))
    return rho, float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties given their average rank (``scipy.stats.rankdata``).

    Examples
    --------
    >>> average_ranks(np.array([3.0, 1.0, 3.0, 2.0]))
    array([3.5, 1. , 3.5, 2. ])

    """
    a = np.asarray(a)
    order = np.argsort(a, kind="stable")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first sorted index of each tie
    ends = np.r_[starts[1:], len(a)]
    ranks = np.empty(len(a), dtype=float)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)  # exact half-integers
    return ranks


def _two_sided_normal_p(z: float) -> float:
    """Two-sided p-value of a standard normal ``z`` (``2 * scipy.stats.norm.sf(|z|)``)."""
    from scipy import special

    return float(2 * special.ndtr(-abs(z)))


def _trend_row(src: Any, metric: str, pair: str, n: int, r: dict[str, float], rho: float,
               rp: float) -> dict[str, Any]:
    p = r["p"]
    direction = "none" if not np.isfinite(p) or p >= 0.05 else ("up" if r["s"] > 0 else "down")
    return {"source": src, "metric": metric, "pair": pair, "n": n, "tau": r["tau"],
            "z": r["z"], "p": p, "sen_slope": r["sen_slope"], "spearman_rho": rho,
            "spearman_p": rp, "direction": direction}
