"""Viterbi path and state posteriors of an HMM from per-frame log emission scores (hmmlearn).

The hybrid classifier's emissions are not a distribution hmmlearn fits but scores the boosted
trees give, so it decodes them with hmmlearn's own compiled kernels (``hmmlearn._hmmc``: the
Viterbi recursion, and the scaled forward-backward recursions), exactly as
``hmmlearn.base.BaseHMM.decode(X, algorithm="viterbi")`` and ``BaseHMM.predict_proba`` (with
``implementation="scaling"``) call them on a model whose log-likelihood is ``X`` itself. A
test checks the results against those public methods bit for bit.

:func:`state_posteriors_chunked` and :func:`viterbi_path_chunked` decode a recording chunk by
chunk, from a callable that gives the scores of a range of frames, in memory flat in its
length (a 4 h session need not hold its ``(T, K)`` scores or lattices): the same posteriors
to rounding, and the same path (checked overlapping windows, or an exact checkpointed
recursion).

Calling the kernels directly skips hmmlearn's estimator layer, which imports scikit-learn and
SciPy's statistics (about a second at every start of ``behavtrack classify``); decoding
needs neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["viterbi_path", "state_posteriors", "viterbi_path_chunked",
           "state_posteriors_chunked"]


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


# -- chunked decoding: memory flat in the recording's length --------------------------------

#: Frames per chunk of the chunked decoders (their working arrays: about 2 MB for 12 states).
CHUNK = 4096
#: Frames each window of :func:`viterbi_path_chunked` decodes on either side of its chunk.
OVERLAP = 256

#: ``scores_of(start, stop)`` gives the ``(stop - start, K)`` scores of frames start..stop-1.
ScoresOf = Callable[[int, int], np.ndarray]


def _chunks(n_frames: int, chunk: int) -> list[tuple[int, int]]:
    n, c = int(n_frames), int(chunk)
    if n < 0 or c < 1:
        raise ValueError(f"n_frames must be >= 0 and chunk >= 1 (got {n_frames}, {chunk})")
    return [(a, min(a + c, n)) for a in range(0, n, c)]


def _scores(scores_of: ScoresOf, start: int, stop: int, k: int) -> np.ndarray:
    s = np.ascontiguousarray(scores_of(start, stop), dtype=float)
    if s.shape != (stop - start, k):
        raise ValueError(f"scores_of({start}, {stop}) gave shape {s.shape}, not "
                         f"{(stop - start, k)}")
    return s


def state_posteriors_chunked(startprob: np.ndarray, transmat: np.ndarray, scores_of: ScoresOf,
                             n_frames: int, chunk: int = CHUNK
                             ) -> Iterator[tuple[int, int, np.ndarray]]:
    """:func:`state_posteriors` chunk by chunk, in reverse order, in memory flat in length.

    A scaled forward pass over the chunks keeps only the normalised forward vector at each
    chunk's end; a backward pass over the chunks in reverse recomputes each chunk's forward
    lattice from the checkpoint before it (a first frame of probability 1 carries it in)
    and starts its backward recursion from the chunk after (a last frame whose probability
    is that chunk's first frame probability times its backward vector, with scaling 1).
    These are hmmlearn's kernels and recursions, so the posteriors equal
    :func:`state_posteriors` of the whole sequence to rounding (a few ulps; tested to 1e-12).

    Parameters
    ----------
    startprob, transmat
        As :func:`viterbi_path`.
    scores_of
        ``scores_of(start, stop)`` returns the ``(stop - start, K)`` log emission scores of
        those frames; it is called twice for each chunk (once per pass), with the same
        ranges, and must give the same numbers each time.
    n_frames
        Length of the sequence.
    chunk
        Frames per chunk: memory is O(chunk x K) plus ``n_frames / chunk`` checkpoints.

    Yields
    ------
    start, stop, posteriors
        The ``(stop - start, K)`` posteriors of frames start..stop-1 (rows sum to 1), last
        chunk first. The array is fresh: keep or reduce it (e.g. into a preallocated output).

    Examples
    --------
    >>> s = np.log(np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]))
    >>> args = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> [(a, b) for a, b, _ in state_posteriors_chunked(*args, lambda a, b: s[a:b], 3, 2)]
    [(2, 3), (0, 2)]

    """
    startprob, transmat, _ = _check(startprob, transmat, np.zeros((0, np.size(startprob))))
    return _posteriors_chunked(startprob, transmat, scores_of, _chunks(n_frames, chunk))


def _posteriors_chunked(startprob: np.ndarray, transmat: np.ndarray, scores_of: ScoresOf,
                        bounds: list[tuple[int, int]]) -> Iterator[tuple[int, int, np.ndarray]]:
    hmmc = _kernels()
    k = len(startprob)
    checkpoints = np.empty((len(bounds), k))

    def forward(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = bounds[i]
        with np.errstate(under="ignore"):
            frameprob = np.exp(_scores(scores_of, a, b, k))
        if i == 0:
            _, fwd, scaling = hmmc.forward_scaling(startprob, transmat, frameprob)
            return frameprob, fwd, scaling
        # frame 0 (probability 1 in every state) holds the forward vector before the chunk
        _, fwd, scaling = hmmc.forward_scaling(
            checkpoints[i - 1], transmat, np.concatenate([np.ones((1, k)), frameprob]))
        return frameprob, fwd[1:], scaling[1:]

    for i in range(len(bounds) - 1):  # the last chunk's end is never needed
        checkpoints[i] = forward(i)[1][-1]
    after = None  # frame probability x backward vector of the first frame of the next chunk
    for i in reversed(range(len(bounds))):
        frameprob, fwd, scaling = forward(i)
        if after is None:
            bwd = hmmc.backward_scaling(startprob, transmat, frameprob, scaling)
        else:
            bwd = hmmc.backward_scaling(startprob, transmat,
                                        np.concatenate([frameprob, after[None]]),
                                        np.append(scaling, 1.0))[:-1]
        after = frameprob[0] * bwd[0]
        post = fwd * bwd
        del fwd, bwd, frameprob
        total = post.sum(axis=1)
        total[total == 0] = 1  # as state_posteriors
        post /= total[:, None]
        yield bounds[i][0], bounds[i][1], post


def viterbi_path_chunked(startprob: np.ndarray, transmat: np.ndarray, scores_of: ScoresOf,
                         n_frames: int, chunk: int = CHUNK, overlap: int = OVERLAP,
                         max_overlap: int | None = None, method: str = "windows",
                         info: dict | None = None) -> np.ndarray:
    """:func:`viterbi_path`'s state path, chunk by chunk, in memory flat in length.

    ``method="windows"`` (the default, about 1 + 2 overlap / chunk times the whole
    sequence's time): each chunk is decoded in a window reaching ``overlap`` frames into its
    neighbours (a window that starts mid-sequence starts from every state alike, and every
    window but the last ends free) and keeps its own frames. Consecutive windows must give
    the same states over the middle half of their overlap (``overlap // 2`` frames either
    side of the splice); if any pair differs, all windows are decoded again with twice the
    overlap, up to ``max_overlap`` (default 8 x ``overlap``), and then by the exact method.
    Agreeing windows are the whole sequence's path unless the path there depends on scores
    beyond both windows at once: not guaranteed (equal on the shipped model's HMM; on weak,
    sticky random HMMs, 0.1-0.5 % of sequences differed unnoticed with overlaps of 16-32
    frames and no widening, none with 64); ``method="exact"`` is.

    ``method="exact"`` (about K + 1 times the whole sequence's time): the whole sequence's
    Viterbi recursion, bit for bit, keeping only the lattice row at each chunk's start
    (hmmlearn's kernel on the chunk, once for each state the next frame could be in, gives
    it); then, chunk by chunk from the end, the kernel's backtracking from the state the
    chunk after starts in. The path is :func:`viterbi_path`'s exactly, ties included.

    Parameters
    ----------
    startprob, transmat, n_frames
        As :func:`state_posteriors_chunked`.
    scores_of
        As :func:`state_posteriors_chunked`; here called for overlapping ranges (windows), or
        twice per chunk (exact).
    chunk, overlap, max_overlap, method
        See above; memory is O((chunk + 2 overlap) x K), and O(n_frames) for the path.
    info
        If a dict, filled with ``method`` (the one that gave the path), ``overlap`` (the last
        tried) and ``attempts`` (window passes).

    Returns
    -------
    numpy.ndarray
        The state of each frame (int64).

    Examples
    --------
    >>> s = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.1]]))
    >>> args = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> viterbi_path_chunked(*args, lambda a, b: s[a:b], 3, chunk=1, overlap=1).tolist()
    [0, 0, 0]

    """
    startprob, transmat, _ = _check(startprob, transmat, np.zeros((0, np.size(startprob))))
    bounds = _chunks(n_frames, chunk)
    n, k = int(n_frames), len(startprob)
    if method not in ("windows", "exact"):
        raise ValueError(f"method must be 'windows' or 'exact', not {method!r}")
    info = {} if info is None else info
    info.update(method=method, overlap=int(overlap), attempts=0)
    if method == "windows":
        m = int(overlap)
        top = 8 * m if max_overlap is None else int(max_overlap)
        if m < 0:
            raise ValueError(f"overlap must be >= 0 (got {overlap})")
        while m <= top:
            info.update(overlap=m, attempts=info["attempts"] + 1)
            states = _viterbi_windows(startprob, transmat, scores_of, n, bounds, m)
            if states is not None:
                return states
            m = max(1, 2 * m)
        info["method"] = "exact"
    return _viterbi_exact(startprob, transmat, scores_of, n, bounds, k)


def _viterbi_windows(startprob: np.ndarray, transmat: np.ndarray, scores_of: ScoresOf,
                     n: int, bounds: list[tuple[int, int]], m: int) -> np.ndarray | None:
    """Overlapping windows' paths, or ``None`` when two windows differ near a splice."""
    hmmc = _kernels()
    k = len(startprob)
    free = np.full(k, 1.0 / k)
    states = np.empty(n, dtype=np.int64)
    half = max(1, m // 2)
    before: tuple[int, np.ndarray] | None = None  # the previous window's start and path
    for s, e in bounds:
        a, b = max(0, s - m), min(n, e + m)
        _, path = hmmc.viterbi(startprob if a == 0 else free, transmat,
                               _scores(scores_of, a, b, k))
        if before is not None:
            pa, ppath = before
            lo, hi = max(0, s - half), min(n, s + half)
            # both windows must hold the stretch, and agree on it
            if (lo < a or hi > pa + len(ppath)
                    or not np.array_equal(path[lo - a:hi - a], ppath[lo - pa:hi - pa])):
                return None
        states[s:e] = path[s - a:e - a]
        before = (a, path)
    return states


def _viterbi_exact(startprob: np.ndarray, transmat: np.ndarray, scores_of: ScoresOf,
                   n: int, bounds: list[tuple[int, int]], k: int) -> np.ndarray:
    hmmc = _kernels()
    ones = np.ones(k)
    forced = np.full((k, k), -np.inf)
    np.fill_diagonal(forced, 0.0)  # row j: a frame only state j can be in, at no cost
    # entering[i]: the best log probability of a path reaching each state at chunk i's first
    # frame, before that frame's score (the kernel's `max` there)
    entering = np.empty((len(bounds), k))

    def frames(i: int) -> tuple[np.ndarray, np.ndarray]:
        """Start probabilities and log frame probabilities whose lattice is chunk i's."""
        a, b = bounds[i]
        s = _scores(scores_of, a, b, k)
        if i == 0:
            return startprob, s
        s = s.copy()  # may be the caller's array
        s[0] += entering[i]  # the kernel's lattice row there: `max + log_frameprob`
        return ones, s  # log 1 = 0 exactly: the row passes unchanged

    for i in range(len(bounds) - 1):
        p, s = frames(i)
        s = np.concatenate([s, forced[:1]])
        for j in range(k):
            s[-1] = forced[j]
            entering[i + 1, j] = hmmc.viterbi(p, transmat, s)[0]
    states = np.empty(n, dtype=np.int64)
    for i in reversed(range(len(bounds))):
        a, b = bounds[i]
        p, s = frames(i)
        if b < n:  # backtrack from the state the next chunk starts in
            s = np.concatenate([s, forced[states[b]][None]])
        states[a:b] = hmmc.viterbi(p, transmat, s)[1][:b - a]
    return states
