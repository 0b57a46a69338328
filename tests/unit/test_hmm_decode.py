"""Chunked HMM decoding (memory flat in length) gives what decoding the whole sequence gives."""

import numpy as np
import pytest

from behavtrack.strategies.hmm_decode import (
    state_posteriors,
    state_posteriors_chunked,
    viterbi_path,
    viterbi_path_chunked,
)


def _random_hmm(rng, k, sparse=False):
    trans = rng.random((k, k)) ** 3
    start = rng.random(k)
    if sparse and k > 1:  # impossible transitions and start states, as a duration HMM has
        trans[rng.random((k, k)) < 0.4] = 0.0
        trans[np.arange(k), rng.integers(0, k, k)] += 0.5
        start[rng.random(k) < 0.4] = 0.0
        start[rng.integers(0, k)] += 0.5
    return start / start.sum(), trans / trans.sum(axis=1, keepdims=True)


def _of(scores):
    return lambda a, b: scores[a:b]


def _collect(start, trans, scores, chunk):
    out = np.full(scores.shape, np.nan)
    order = []
    for a, b, post in state_posteriors_chunked(start, trans, lambda a, b: scores[a:b],
                                               len(scores), chunk):
        assert post.shape == (b - a, scores.shape[1])
        out[a:b] = post
        order.append(a)
    assert order == sorted(order, reverse=True)  # last chunk first
    return out


@pytest.mark.parametrize("seed", range(12))
def test_chunked_posteriors_equal_the_whole_sequences(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 7))
    start, trans = _random_hmm(rng, k, sparse=seed % 2 == 1)
    for n in (0, 1, 5, 97):
        scores = 3 * rng.normal(size=(n, k))
        if n > 10:
            scores[3:8, 0] = -1e9  # a state ruled out for a while
        try:
            ref = state_posteriors(start, trans, scores)
        except ValueError:  # no path left (underflow): the chunked pass says so too
            with pytest.raises(ValueError, match="underflow"):
                _collect(start, trans, scores, 10)
            continue
        for chunk in (1, 2, 3, 10, 96, 97, 500):
            got = _collect(start, trans, scores, chunk)
            assert got.shape == ref.shape
            if n:
                assert np.abs(got - ref).max() < 1e-12, (n, chunk)


@pytest.mark.parametrize("seed", range(12))
def test_chunked_viterbi_equals_the_whole_sequences(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(1, 7))
    start, trans = _random_hmm(rng, k, sparse=seed % 2 == 1)
    for n in (0, 1, 7, 300):
        # informative scores: a hidden path seen through noise
        hidden = rng.integers(0, k, n).repeat(int(rng.integers(1, 20)))[:n]
        scores = rng.normal(size=(n, k))
        scores[np.arange(len(hidden)), hidden] += 2.0
        keep = scores.copy()
        ref = viterbi_path(start, trans, scores)[1] if n else np.zeros(0, int)
        for chunk in (1, 4, 25, 299, 1000):
            exact = viterbi_path_chunked(start, trans, _of(scores), n, chunk, method="exact")
            np.testing.assert_array_equal(exact, ref)  # bit for bit, ties included
            info = {}
            windows = viterbi_path_chunked(start, trans, _of(scores), n, chunk, overlap=16,
                                           info=info)
            np.testing.assert_array_equal(windows, ref)
            assert windows.dtype == np.int64 and info["method"] in ("windows", "exact")
        np.testing.assert_array_equal(scores, keep)  # the caller's scores are not written


def test_windows_that_disagree_fall_back_to_the_exact_decoding():
    # two sticky states; the middle slightly prefers state 0, only the last frame says 1:
    # the whole path is state 1 throughout, which no window away from the end can see
    n = 2000
    start, trans = np.array([0.5, 0.5]), np.array([[1 - 1e-6, 1e-6], [1e-6, 1 - 1e-6]])
    scores = np.zeros((n, 2))
    scores[:, 1] = -1e-4
    scores[-1] = [-30.0, 0.0]
    ref = viterbi_path(start, trans, scores)[1]
    assert (ref == 1).all()
    info = {}
    got = viterbi_path_chunked(start, trans, lambda a, b: scores[a:b], n, chunk=100,
                               overlap=4, max_overlap=16, info=info)
    np.testing.assert_array_equal(got, ref)
    assert info == {"method": "exact", "overlap": 16, "attempts": 3}  # 4, 8, 16, then exact
    info = {}
    got = viterbi_path_chunked(start, trans, lambda a, b: scores[a:b], n, chunk=100,
                               overlap=0, info=info)  # no overlap: nothing to check against
    np.testing.assert_array_equal(got, ref)
    assert info["method"] == "exact"


def test_wrong_scores_or_arguments_are_refused():
    start, trans = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    with pytest.raises(ValueError, match="gave shape"):
        viterbi_path_chunked(start, trans, lambda a, b: np.zeros((b - a, 3)), 10, 4)
    with pytest.raises(ValueError, match="gave shape"):
        list(state_posteriors_chunked(start, trans, lambda a, b: np.zeros((1, 2)), 10, 4))
    with pytest.raises(ValueError, match="chunk"):
        state_posteriors_chunked(start, trans, lambda a, b: np.zeros((b - a, 2)), 10, 0)
    with pytest.raises(ValueError, match="method"):
        viterbi_path_chunked(start, trans, lambda a, b: np.zeros((b - a, 2)), 10, method="x")
