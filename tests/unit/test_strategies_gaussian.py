"""Unit tests of ``behavtrack.strategies.gaussian``: Gaussian emissions with missing values.

Checked against scipy on hand-made models: the emission log-density of
:class:`MaskedGaussianHMM` is the Gaussian of the observed features alone (diagonal and full
covariances, any pattern of missing values), the per-frame scaled forward-backward gives the
log implementation's posteriors, :func:`fit_gaussian` is the pairwise-complete mean and
covariance (rare features uninformative), and :func:`safe_cholesky` factors a degenerate
covariance. The module's examples run as doctests.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from behavtrack.strategies import gaussian
from behavtrack.strategies.gaussian import (
    MISSING,
    MaskedGaussianHMM,
    fit_gaussian,
    mark_missing,
    safe_cholesky,
)


def _model(covariance_type: str, k: int = 3, d: int = 3, seed: int = 0) -> MaskedGaussianHMM:
    """A masked HMM with random parameters (well-conditioned covariances)."""
    rng = np.random.default_rng(seed)
    m = MaskedGaussianHMM(n_components=k, covariance_type=covariance_type, init_params="",
                          implementation="scaling")
    m.n_features = d
    m.startprob_ = np.full(k, 1 / k)
    trans = rng.random((k, k)) + 5 * np.eye(k)
    m.transmat_ = trans / trans.sum(1, keepdims=True)
    m.means_ = rng.normal(0, 2, (k, d))
    if covariance_type == "diag":
        m.covars_ = rng.uniform(0.5, 2, (k, d))
    else:
        a = rng.normal(size=(k, d, d))
        m.covars_ = a @ a.transpose(0, 2, 1) + np.eye(d)
    return m


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_missing_values_are_marginalised_exactly(covariance_type):
    m = _model(covariance_type)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[0] = np.nan  # nothing observed: log-density 0 (the frame says nothing)
    ll = m._compute_log_likelihood(mark_missing(x))
    covs = m.covars_  # hmmlearn gives (K, D, D) matrices for diag covariances too
    for i, row in enumerate(x):
        obs = np.isfinite(row)
        for k in range(3):
            expected = (multivariate_normal(m.means_[k, obs], covs[k][np.ix_(obs, obs)])
                        .logpdf(row[obs]) if obs.any() else 0.0)
            np.testing.assert_allclose(ll[i, k], expected, rtol=1e-9, atol=1e-12)


def test_one_observed_feature_is_its_own_normal_density():
    m = _model("diag", d=2)
    x = np.array([[0.3, np.nan], [-1.0, np.nan]])
    ll = m._compute_log_likelihood(mark_missing(x))
    expected = norm.logpdf(x[:, [0]], m.means_[:, 0], np.sqrt(m._covars_[:, 0]))
    np.testing.assert_allclose(ll, expected, rtol=1e-9)


def test_scaled_forward_backward_matches_the_log_implementation():
    m = _model("full", k=4)
    x = np.random.default_rng(2).normal(0, 2, (2000, 3))
    x[::7, 1] = np.nan
    z = mark_missing(x)
    slow = _model("full", k=4)
    slow.implementation = "log"
    np.testing.assert_allclose(m.predict_proba(z), slow.predict_proba(z), atol=1e-8)
    assert (m.decode(z)[1] == slow.decode(z)[1]).all()


def test_the_log_likelihood_of_the_last_array_is_cached():
    m = _model("diag")
    z = mark_missing(np.random.default_rng(3).normal(size=(10, 3)))
    first = m._compute_log_likelihood(z)
    assert m._compute_log_likelihood(z.copy()) is first  # same values: computed once
    assert m._compute_log_likelihood(z + 1) is not first


def test_mark_missing_replaces_nan_only():
    z = np.array([[1.0, np.nan], [np.inf, -2.0]])
    out = mark_missing(z)
    assert out[0, 1] == MISSING and np.isnan(z[0, 1])  # a new array
    np.testing.assert_array_equal(out[[0, 1, 1], [0, 0, 1]], [1.0, np.inf, -2.0])


def test_fit_gaussian_is_the_pairwise_complete_estimate():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(500, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1.0]])
    z[rng.random(z.shape) < 0.2] = np.nan
    mean, var = fit_gaussian(z, full=False)
    np.testing.assert_allclose(mean, np.nanmean(z, 0))
    np.testing.assert_allclose(var, np.nanvar(z, 0, ddof=1))
    mean, cov = fit_gaussian(z, full=True)
    both = np.isfinite(z[:, 0]) & np.isfinite(z[:, 1])
    a, b = z[both, 0] - mean[0], z[both, 1] - mean[1]
    np.testing.assert_allclose(cov[0, 1], (a * b).sum() / (both.sum() - 1))
    assert np.linalg.eigvalsh(cov).min() >= -1e-12


def test_fit_gaussian_makes_rare_features_uninformative():
    z = np.random.default_rng(5).normal(3, 2, (100, 2))
    z[5:, 1] = np.nan  # seen 5 times, fewer than min_count
    mean, cov = fit_gaussian(z, full=True, min_count=20)
    assert mean[1] == 0 and cov[1, 1] == 1 and cov[0, 1] == cov[1, 0] == 0
    mean, var = fit_gaussian(z, full=False, min_count=20)
    assert mean[1] == 0 and var[1] == 1 and var[0] > 1


def test_safe_cholesky_factors_degenerate_covariances():
    good = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(safe_cholesky(good), np.linalg.cholesky(good))
    flat = np.stack([good, np.ones((2, 2))])  # the second is singular
    chol = safe_cholesky(flat, floor=1e-3)
    rebuilt = chol @ chol.transpose(0, 2, 1)
    np.testing.assert_allclose(rebuilt[1], np.ones((2, 2)), atol=1e-3)
    assert np.all(np.diagonal(chol, axis1=1, axis2=2) > 0)


def test_module_examples_run():
    result = doctest.testmod(gaussian)
    assert result.attempted >= 2 and result.failed == 0
