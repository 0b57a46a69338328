"""Gaussian emissions with missing values: the maths of the Gaussian HMM classifier.

The emission model of :class:`~behavtrack.strategies.hmm.HMMClassifier`. A missing feature
value (an animal lost for a while, a partner absent, poke timing away from the port) is
marginalised out of the emission density, which is exact for Gaussians: the density of the
observed features is the Gaussian of their part of the mean and of the covariance. hmmlearn's
input checks refuse NaN, so a missing value travels through hmmlearn as the finite stand-in
:data:`MISSING` (:func:`mark_missing`), which :class:`MaskedGaussianHMM` recognises.

- :class:`MaskedGaussianHMM`: hmmlearn's ``GaussianHMM`` whose emission log-likelihood skips
  missing values;
- :func:`fit_gaussian`: mean and (co)variance of rows with missing values (pairwise-complete);
- :func:`safe_cholesky`: Cholesky factors of covariances that EM may have left degenerate;
- :func:`reachable_states`: the states a chain can be in (the others get no likelihood).
"""

from __future__ import annotations

import hashlib

import numpy as np
from hmmlearn.hmm import GaussianHMM

__all__ = ["MISSING", "MaskedGaussianHMM", "fit_gaussian", "mark_missing", "reachable_states",
           "safe_cholesky"]

#: Finite stand-in for a missing value (NaN), so that hmmlearn's input checks accept the array.
MISSING = 1e300


def reachable_states(startprob: np.ndarray, transmat: np.ndarray) -> np.ndarray:
    """Return which states a Markov chain can be in: those it starts in, or moves into.

    Examples
    --------
    >>> reachable_states(np.array([1.0, 0.0, 0.0]),
    ...                  np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])).tolist()
    [True, True, False]

    """
    live = np.asarray(startprob) > 0
    moves = np.asarray(transmat) > 0
    while True:
        more = live | moves[live].any(axis=0)
        if (more == live).all():
            return live
        live = more


def mark_missing(z: np.ndarray) -> np.ndarray:
    """Return ``z`` with its NaN replaced by :data:`MISSING` (what hmmlearn may be given).

    Examples
    --------
    >>> mark_missing(np.array([[0.5, np.nan]])).tolist()
    [[0.5, 1e+300]]

    """
    return np.where(np.isnan(z), MISSING, z)


class MaskedGaussianHMM(GaussianHMM):
    """GaussianHMM whose emission density ignores missing values (marked by :data:`MISSING`).

    The log-likelihood is computed in row chunks with precomputed inverse Cholesky factors,
    one per pattern of missing features, and cached for the last array seen (Viterbi and
    forward-backward on the same sequence compute it once). The parameters are hmmlearn's.
    """

    _CHUNK = 8192

    def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        key = (X.shape, hashlib.blake2b(np.ascontiguousarray(X).view(np.uint8),
                                        digest_size=16).digest())
        cache = getattr(self, "_ll_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        out = self._loglik(X)
        self._ll_cache = (key, out)
        return out

    def _compute_likelihood(self, X: np.ndarray) -> np.ndarray:
        # Scaled per frame (divided by the frame's largest likelihood of a state the chain
        # can be in) so that nothing underflows; a per-frame constant changes neither
        # posteriors nor the Viterbi path. A state it can never be in (a behaviour absent
        # from the training labels, or dropped by HMMClassifier.restrict) is given 0: scaled
        # by its likelihood, every other state's could underflow to 0 and the posteriors of
        # the frame (and of the whole sequence after it) be NaN.
        ll = self._compute_log_likelihood(X)
        live = reachable_states(self.startprob_, self.transmat_)
        out = np.zeros_like(ll)
        own = ll[:, live]
        with np.errstate(under="ignore"):
            out[:, live] = np.exp(own - own.max(axis=1, keepdims=True))
        return out

    def _loglik(self, X: np.ndarray) -> np.ndarray:
        """``(n_frames, n_states)`` log-densities of the observed features of each frame."""
        miss = np.abs(X) >= MISSING / 10
        means = self.means_
        n, d = X.shape
        k = self.n_components
        log2pi = np.log(2 * np.pi)
        if self.covariance_type == "diag":
            var = self._covars_  # (K, D)
            out = np.empty((n, k))
            for lo in range(0, n, self._CHUNK):
                x, m = X[lo:lo + self._CHUNK], miss[lo:lo + self._CHUNK]
                x = np.where(m, 0.0, x)[:, None, :]
                term = (x - means[None]) ** 2 / var[None] + np.log(var)[None] + log2pi
                out[lo:lo + self._CHUNK] = -0.5 * np.where(m[:, None, :], 0.0, term).sum(-1)
            return out
        covs = self.covars_
        out = np.zeros((n, k))
        code = miss.astype(np.int64) @ (np.int64(1) << np.arange(d, dtype=np.int64))
        patterns, inverse = np.unique(code, return_inverse=True)
        inverse = inverse.ravel()
        for p, pat in enumerate(patterns):
            rows = np.flatnonzero(inverse == p)
            obs = ((int(pat) >> np.arange(d)) & 1) == 0
            if not obs.any():
                continue
            chol = safe_cholesky(covs[:, obs][:, :, obs])  # (K, o, o)
            inv = np.linalg.inv(chol)
            logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(-1)
            const = logdet + obs.sum() * log2pi
            o = int(obs.sum())
            # z_k = L_k^-1 (x - mu_k) = x W_k - b_k, all states in one matrix product
            w = inv.transpose(2, 0, 1).reshape(o, k * o)  # w[j, k*o + i] = inv[k, i, j]
            b = np.einsum("kij,kj->ki", inv, means[:, obs]).reshape(k * o)
            for lo in range(0, len(rows), self._CHUNK):
                r = rows[lo:lo + self._CHUNK]
                z = (X[np.ix_(r, obs)] @ w - b).reshape(len(r), k, o)
                out[r] = -0.5 * (np.einsum("rko,rko->rk", z, z) + const[None])
        return out


def safe_cholesky(c: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Cholesky factors of a stack of covariances, lifting eigenvalues below ``floor``.

    Only EM refinement can produce such matrices (a supervised fit adds ``min_covar``).

    Parameters
    ----------
    c
        ``(..., D, D)`` covariance matrices.
    floor
        Smallest eigenvalue kept when a matrix is not positive definite.

    Returns
    -------
    numpy.ndarray
        Lower-triangular factors, the shape of ``c``.

    Examples
    --------
    >>> safe_cholesky(np.array([[4.0, 0.0], [0.0, 0.0]]), floor=1.0).tolist()
    [[2.0, 0.0], [0.0, 1.0]]

    """
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh((c + np.swapaxes(c, -1, -2)) / 2)
        fixed = (v * np.maximum(w, floor)[..., None, :]) @ np.swapaxes(v, -1, -2)
        return np.linalg.cholesky(fixed)


def fit_gaussian(z: np.ndarray, full: bool, min_count: int = 20
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (co)variance of rows with missing values (NaN), pairwise-complete.

    Features observed in fewer than ``min_count`` rows get mean 0 and variance 1 (the
    standardised scale: uninformative) and no covariance with the others; a full covariance
    is made positive semi-definite by clipping its eigenvalues at 0.

    Parameters
    ----------
    z
        ``(n_rows, D)`` standardised features, NaN where missing.
    full
        Full ``(D, D)`` covariance, else the ``(D,)`` variances.
    min_count
        Fewest observed rows for a feature to be estimated.

    Returns
    -------
    mean, cov
        ``(D,)`` and ``(D, D)`` (``full``) or ``(D,)``.

    """
    ok = np.isfinite(z)
    cnt = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, np.where(ok, z, 0.0).sum(0) / np.maximum(cnt, 1), 0.0)
    rare = cnt < min_count
    mean[rare] = 0.0
    zc = np.where(ok, z - mean, 0.0)
    if not full:
        var = (zc ** 2).sum(0) / np.maximum(cnt - 1, 1)
        var[rare] = 1.0
        return mean, var
    okf = ok.astype(float)
    pairs = okf.T @ okf
    cov = (zc.T @ zc) / np.maximum(pairs - 1, 1)
    cov[rare, :] = 0.0
    cov[:, rare] = 0.0
    cov[rare, rare] = 1.0
    w, v = np.linalg.eigh(cov)
    if w.min() < 0:
        cov = (v * np.maximum(w, 0.0)) @ v.T
    return mean, cov
