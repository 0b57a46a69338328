"""Viterbi path and state posteriors of an HMM from per-frame log emission scores (hmmlearn).

The hybrid classifier's emissions are not a distribution hmmlearn fits but scores the boosted
trees give, so it decodes them with hmmlearn's own compiled kernels (``hmmlearn._hmmc``: the
Viterbi recursion, and the scaled forward-backward recursions), exactly as
``hmmlearn.base.BaseHMM.decode(X, algorithm="viterbi")`` and ``BaseHMM.predict_proba`` (with
``implementation="scaling"``) call them on a model whose log-likelihood is ``X`` itself. A
test checks the results against those public methods bit for bit.

Calling the kernels directly skips hmmlearn's estimator layer, which imports scikit-learn and
SciPy's statistics (about a second at every start of ``behavtrack classify``); decoding
needs neither.
"""

from __future__ import annotations

import numpy as np

__all__ = ["viterbi_path", "state_posteriors"]


def _kernels():
    from hmmlearn import _hmmc  # compiled; importing it does not import scikit-learn

    return _hmmc


def _check(startprob: np.ndarray, transmat: np.ndarray, scores: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    startprob = np.asarray(startprob, dtype=float)
    transmat = np.asarray(transmat, dtype=float)
    scores = np.ascontiguousarray(scores, dtype=float)
    k = len(startprob)
    if transmat.shape != (k, k) or scores.ndim != 2 or scores.shape[1] != k:
        raise ValueError(f"shapes do not match: startprob {startprob.shape}, transmat "
                         f"{transmat.shape}, scores {scores.shape}")
    if not (np.isclose(startprob.sum(), 1.0) and np.allclose(transmat.sum(axis=1), 1.0)):
        raise ValueError("startprob and the rows of transmat must each sum to 1")
    return startprob, transmat, scores


def viterbi_path(startprob: np.ndarray, transmat: np.ndarray, scores: np.ndarray
                 ) -> tuple[float, np.ndarray]:
    """Most likely state sequence given per-frame log emission scores.

    Parameters
    ----------
    startprob
        ``(K,)`` start probabilities.
    transmat
        ``(K, K)`` transition matrix (rows sum to 1).
    scores
        ``(T, K)`` log emission score of each state in each frame.

    Returns
    -------
    log_prob, states
        Log probability of the path, and the state of each frame.

    Examples
    --------
    >>> s = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.1]]))
    >>> viterbi_path(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]]), s)[1].tolist()
    [0, 0, 0]

    """
    startprob, transmat, scores = _check(startprob, transmat, scores)
    if len(scores) == 0:
        return 0.0, np.zeros(0, dtype=int)
    log_prob, states = _kernels().viterbi(startprob, transmat, scores)
    return float(log_prob), states


def state_posteriors(startprob: np.ndarray, transmat: np.ndarray, scores: np.ndarray
                     ) -> np.ndarray:
    """Posterior probability of each state in each frame (scaled forward-backward).

    Parameters
    ----------
    startprob, transmat, scores
        As :func:`viterbi_path`.

    Returns
    -------
    numpy.ndarray
        ``(T, K)`` posteriors; each row sums to 1.

    Examples
    --------
    >>> s = np.log(np.array([[0.9, 0.1], [0.5, 0.5]]))
    >>> p = state_posteriors(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]]), s)
    >>> p.round(3).tolist()
    [[0.9, 0.1], [0.82, 0.18]]

    """
    startprob, transmat, scores = _check(startprob, transmat, scores)
    if len(scores) == 0:
        return np.zeros((0, len(startprob)))
    hmmc = _kernels()
    with np.errstate(under="ignore"):
        frameprob = np.exp(scores)
    _, fwd, scaling = hmmc.forward_scaling(startprob, transmat, frameprob)
    bwd = hmmc.backward_scaling(startprob, transmat, frameprob, scaling)
    post = fwd * bwd
    total = post.sum(axis=1)
    total[total == 0] = 1  # as hmmlearn.utils.normalize
    post /= total[:, None]
    return post
