"""The hybrid classifier: per-frame gradient boosting for emissions, an HMM for time.

As in hybrid speech recognisers, a discriminative per-frame model (scikit-learn's
``HistGradientBoostingClassifier`` on the rich pair features) gives the posterior
``p(behaviour | frame)``; divided by the behaviour's prior it becomes a scaled likelihood,
raised to a ``posterior_scale`` (< 1 flattens overconfident posteriors of correlated frames),
and an hmmlearn hidden Markov model decodes the sequence. Its states are duration-aware: each
behaviour is a chain of ``m`` states that must all be passed (no bout shorter than ``m``
frames), the last one sticky so that the expected bout length equals the mean length of the
labelled bouts, and behaviours follow each other as often as they did in the labels.

``posterior_scale`` and ``min_bout_s`` are chosen by cross-validation over the training
sessions (inner folds, grouped by session: frames of one session are never split), so a
benchmark that holds a session out fits them without seeing it (nested cross-validation).

Behaviours listed in ``mutual`` (``interaction``) are behaviours of the pair: when both animals
of a session are decoded together (:meth:`HybridHMMClassifier.decode_group`), their
posteriors of it are pooled, so the two animals get the same interaction bouts.

The fitted model is saved as JSON (:meth:`to_dict`), the boosted trees included
(:mod:`behavtrack.strategies.gbm_json`); nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.io.bouts import BEHAVIORS

__all__ = ["HybridHMMClassifier", "HYBRID_SCHEMA_VERSION", "duration_hmm"]

HYBRID_SCHEMA_VERSION = 1
KIND = "behavtrack.HybridHMMClassifier"
_FLOOR = 1e-6  # posteriors are clipped here before the log


def _runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, length and value of the runs of equal values."""
    if len(codes) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(codes)]])
    return starts, stops - starts, codes[starts]


def duration_hmm(min_frames: Sequence[int], mean_frames: Sequence[float],
                 switch: np.ndarray, start: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start probabilities, transition matrix and behaviour of each state of a duration HMM.

    Behaviour ``b`` is a left-to-right chain of ``min_frames[b]`` states; its last state loops
    on itself with the probability that makes the expected run ``mean_frames[b]`` frames
    long, and leaves to the first state of behaviour ``c`` with probability proportional to
    ``switch[b, c]``.

    Parameters
    ----------
    min_frames
        Shortest run of each behaviour, in frames (>= 1).
    mean_frames
        Mean run of each behaviour, in frames.
    switch
        ``(B, B)`` non-negative weights of the behaviour that follows each one (diagonal
        ignored).
    start
        ``(B,)`` probabilities of the first behaviour.

    Returns
    -------
    startprob, transmat, state_behavior

    Examples
    --------
    >>> s, t, b = duration_hmm([2, 1], [4.0, 2.0], np.ones((2, 2)), np.array([0.5, 0.5]))
    >>> b.tolist(), t.round(2).tolist()
    [[0, 0, 1], [[0.0, 1.0, 0.0], [0.0, 0.67, 0.33], [0.5, 0.0, 0.5]]]

    """
    n_b = len(min_frames)
    m = [max(1, int(v)) for v in min_frames]
    first = np.concatenate([[0], np.cumsum(m)[:-1]]).astype(int)
    k = int(sum(m))
    trans = np.zeros((k, k))
    state_behavior = np.repeat(np.arange(n_b), m)
    w = np.asarray(switch, dtype=float).copy()
    np.fill_diagonal(w, 0.0)
    for b in range(n_b):
        for i in range(m[b] - 1):
            trans[first[b] + i, first[b] + i + 1] = 1.0
        last = first[b] + m[b] - 1
        extra = max(float(mean_frames[b]) - m[b] + 1.0, 1.0)  # expected frames in the last
        stay = 1.0 - 1.0 / extra
        out = w[b]
        if out.sum() <= 0 or n_b == 1:
            trans[last, last] = 1.0
            continue
        trans[last, last] = stay
        trans[last, first] += (1.0 - stay) * out / out.sum()
    startprob = np.zeros(k)
    startprob[first] = np.asarray(start, dtype=float) / np.sum(start)
    return startprob, trans, state_behavior


def _scored_hmm(startprob: np.ndarray, transmat: np.ndarray):
    """Return an hmmlearn HMM whose observations are the per-state log emission scores."""
    from hmmlearn.base import BaseHMM

    class _ScoredHMM(BaseHMM):
        def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
            return X

        def _get_n_fit_scalars_per_param(self) -> dict[str, int]:
            nc = self.n_components
            return {"s": nc - 1, "t": nc * (nc - 1)}

    hmm = _ScoredHMM(n_components=len(startprob), implementation="scaling")
    hmm.startprob_ = startprob
    hmm.transmat_ = transmat
    return hmm


class HybridHMMClassifier(BaseEstimator):
    """Gradient-boosted frame posteriors decoded by a duration-aware HMM.

    Parameters
    ----------
    features
        Feature columns to use (``None``: every numeric column of the training tables except
        ``tracked``, in the order of the first table).
    behaviors
        Behaviours the model may learn, in output order; those without labelled frames in
        the training data are left out of the fitted model.
    max_iter, learning_rate, max_leaf_nodes, max_features, min_samples_leaf, l2_regularization
        Passed to ``sklearn.ensemble.HistGradientBoostingClassifier`` (early stopping off, so
        a fit is deterministic given ``random_state``).
    posterior_scale
        Exponent of the scaled likelihoods, or ``"auto"``: chosen from
        ``posterior_scale_grid`` by inner cross-validation.
    min_bout_s
        Shortest bout in seconds (capped per behaviour at the 10th percentile of its labelled
        bouts), or ``"auto"``: chosen from ``min_bout_grid`` by inner cross-validation.
    prior_power
        How much of the behaviour's prior the posterior is divided by: 1 turns posteriors into
        scaled likelihoods (the textbook hybrid), 0 keeps them (the prior then counts twice:
        in the posterior and in the durations), or ``"auto"``: chosen from
        ``prior_power_grid`` by inner cross-validation.
    posterior_scale_grid, min_bout_grid, prior_power_grid
        The candidates of the inner cross-validation.
    inner_folds
        Folds of the inner cross-validation over sessions (``groups`` in :meth:`fit`).
    mutual
        Behaviours of the pair, pooled over the two animals by :meth:`decode_group`.
    max_train_frames
        The trees learn from every k-th labelled frame, k chosen so that at most this many
        frames are used (neighbouring frames at video rates carry almost the same
        information; the HMM's durations and switches use every frame).
    emission_hz
        When decoding, the trees are evaluated on every k-th frame, k the largest whole number
        keeping at least this rate (``None``: every frame), and the log-posteriors of the
        frames between are interpolated. Features are smoothed over 0.2 s: at 30 fps, 5 Hz
        (every 6th frame) changed 0.25 % of the decoded frames of unseen simulated sessions
        against 15 Hz (every other frame), at the same accuracy on them and on the real
        recordings (``benchmarks/bench_emission_rate.py``), for a third of the tree work.
    random_state
        Seed of the trees' feature subsampling and of the inner folds.

    Attributes
    ----------
    feature_names_, behaviors_
        The features and behaviours of the fitted model.
    state_counts_, prior_
        Labelled frames of each behaviour, and their share.
    min_bout_s_, mean_bout_s_
        Per behaviour, the shortest bout enforced and the mean labelled bout (seconds).
    switch_, start_
        Counts of which behaviour follows which (plus one), and of first behaviours (plus one).
    posterior_scale_, min_bout_used_s_, prior_power_
        The decoding settings used (chosen or given).
    emission_
        The per-frame model (:class:`behavtrack.strategies.gbm_json.GBMPosterior`).
    selection_
        The inner cross-validation's table of candidates and scores.
    training_checksum_, metrics_
        SHA-256 of the training data; held-out metrics set by the trainer.

    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        behaviors: Sequence[str] = BEHAVIORS,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        max_features: float = 0.5,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        posterior_scale: float | str = "auto",
        min_bout_s: float | str = "auto",
        prior_power: float | str = "auto",
        posterior_scale_grid: Sequence[float] = (0.3, 0.5, 1.0),
        min_bout_grid: Sequence[float] = (0.1, 0.3, 0.5),
        prior_power_grid: Sequence[float] = (0.0, 0.5, 1.0),
        inner_folds: int = 3,
        mutual: Sequence[str] = ("interaction",),
        max_train_frames: int = 40000,
        emission_hz: float | None = 5.0,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.behaviors = behaviors
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.posterior_scale = posterior_scale
        self.min_bout_s = min_bout_s
        self.prior_power = prior_power
        self.posterior_scale_grid = posterior_scale_grid
        self.min_bout_grid = min_bout_grid
        self.prior_power_grid = prior_power_grid
        self.inner_folds = inner_folds
        self.mutual = mutual
        self.max_train_frames = max_train_frames
        self.emission_hz = emission_hz
        self.random_state = random_state

    # ---- fitting ------------------------------------------------------------------------
    def _gbm(self):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=self.random_state)

    def _fit_emission(self, X: np.ndarray, codes: np.ndarray):
        """Fit the trees on labelled rows; return the JSON-backed posterior model."""
        from threadpoolctl import threadpool_limits

        from behavtrack.strategies.gbm_json import GBMPosterior, gbm_to_dict

        rows = np.flatnonzero(codes >= 0)
        step = int(np.ceil(len(rows) / max(int(self.max_train_frames), 1))) or 1
        rows = rows[::step]
        # One OpenMP thread: with the other core busy (a batch, a second worker), OpenMP's
        # spinning threads made a fit 10-30x slower here; one thread is at most ~2x slower.
        with threadpool_limits(limits=1):
            gbm = self._gbm().fit(X[rows], codes[rows])
        # Round trip through the saved form, so a model in memory predicts exactly as loaded.
        return GBMPosterior.from_dict(json.loads(json.dumps(
            gbm_to_dict(gbm, self.feature_names_))), source="fitted model")

    def fit(self, X: Sequence[pd.DataFrame], y: Sequence[Sequence[str]],
            groups: Sequence[Any] | None = None) -> HybridHMMClassifier:
        """Fit from labelled sequences (one per animal and session).

        Parameters
        ----------
        X
            Feature tables, one per animal and session (rows = consecutive frames);
            ``X[i].attrs["fps"]`` gives the frame rate.
        y
            Behaviour name per row; ``""`` or ``None`` marks an unlabelled frame.
        groups
            Session of each sequence: the inner cross-validation never splits a session, and
            sequences of one session are decoded together (mutual behaviours pooled). Default:
            every sequence its own session.

        Returns
        -------
        HybridHMMClassifier
            ``self``.

        """
        X = list(X)
        y = list(y)
        if not X or len(X) != len(y):
            raise InputError("X, y", f"got {len(X)} feature tables and {len(y)} label "
                             "sequences", "give one label sequence per table")
        groups = list(range(len(X))) if groups is None else list(groups)
        if len(groups) != len(X):
            raise InputError("groups", f"got {len(groups)} groups for {len(X)} tables")
        names = self._choose_features(X)
        self.feature_names_ = names
        fps = [float(x.attrs.get("fps") or 0) for x in X]
        if not all(f > 0 for f in fps):
            raise InputError("X", "a feature table has no frame rate (attrs['fps'])",
                             "compute features with behavtrack.features.compute_features")
        wanted = [str(b) for b in self.behaviors]
        index = {b: i for i, b in enumerate(wanted)}
        raw_codes = []
        for x, lab in zip(X, y, strict=True):
            lab = np.asarray(lab, dtype=object)
            if len(lab) != len(x):
                raise InputError("y", f"a label sequence has {len(lab)} frames but its "
                                 f"features have {len(x)}")
            unknown = {v for v in lab if isinstance(v, str) and v and v not in index}
            if unknown:
                raise InputError("y", f"unknown behaviour(s) {sorted(unknown)}",
                                 f"known: {', '.join(wanted)}")
            raw_codes.append(np.array([index.get(v, -1) if isinstance(v, str) else -1
                                       for v in lab]))
        allc = np.concatenate(raw_codes)
        present = [b for i, b in enumerate(wanted) if (allc == i).any()]
        if len(present) < 2:
            raise InputError("y", f"the labels hold {len(present)} behaviour(s) "
                             f"({', '.join(present) or 'none'}); a classifier needs 2 or more",
                             "label frames of 'other' too (every unlabelled frame of a coded "
                             "subject is 'other')")
        self.behaviors_ = present
        remap = np.full(len(wanted) + 1, -1)
        for i, b in enumerate(wanted):
            if b in present:
                remap[i] = present.index(b)
        codes = [remap[c] for c in raw_codes]
        mats = [self._matrix(x) for x in X]
        allx = np.concatenate(mats)
        allc = np.concatenate(codes)
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(allx).tobytes())
        h.update(allc.astype(np.int16).tobytes())
        self.training_checksum_ = h.hexdigest()
        self.fps_ = float(np.median(fps))
        self._fit_durations(codes, fps)
        self.selection_ = self._select(mats, codes, fps, groups)
        self.emission_ = self._fit_emission(allx, allc)
        self.metrics_: dict[str, Any] = {}
        return self

    def _choose_features(self, X: list[pd.DataFrame]) -> list[str]:
        if self.features is not None:
            names = [str(f) for f in self.features]
            lacking = sorted({f for x in X for f in names if f not in x.columns})
            if lacking:
                raise InputError("X", f"feature(s) {lacking[:5]} are missing from some "
                                 "training tables", "compute them for every session")
            return names
        first = [c for c in X[0].columns if c != "tracked"
                 and pd.api.types.is_numeric_dtype(X[0][c])]
        names = [c for c in first if all(c in x.columns for x in X)]
        if not names:
            raise InputError("X", "the training tables share no feature column")
        return names

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Return the feature matrix in model order (absent columns as NaN)."""
        m = np.ascontiguousarray(X.reindex(columns=self.feature_names_).to_numpy(dtype=float))
        inf = np.isinf(m)
        return np.where(inf, np.nan, m) if inf.any() else m  # never writes into X

    def _fit_durations(self, codes: list[np.ndarray], fps: list[float]) -> None:
        """Mean and 10th-percentile bout length, switches and first behaviours from labels."""
        n_b = len(self.behaviors_)
        lengths: list[list[float]] = [[] for _ in range(n_b)]
        switch = np.ones((n_b, n_b))
        start = np.ones(n_b)
        for c, f in zip(codes, fps, strict=True):
            starts, lens, vals = _runs(c)
            labelled = vals >= 0
            for i in np.flatnonzero(labelled):
                lengths[vals[i]].append(lens[i] / f)
            if labelled.any():
                start[vals[np.flatnonzero(labelled)[0]]] += 1
            for a, b in zip(vals[:-1], vals[1:], strict=True):
                if a >= 0 and b >= 0:
                    switch[a, b] += 1
        self.mean_bout_s_ = np.array([np.mean(v) if v else 1.0 for v in lengths])
        self.short_bout_s_ = np.array([np.percentile(v, 10) if v else 0.0 for v in lengths])
        self.switch_ = switch
        self.start_ = start

    def _topology(self, fps: float, min_bout_s: float) -> tuple[np.ndarray, ...]:
        cap = np.minimum(self.short_bout_s_, min_bout_s)
        min_frames = np.maximum(1, np.round(cap * fps)).astype(int)
        mean_frames = np.maximum(self.mean_bout_s_ * fps, min_frames)
        return duration_hmm(min_frames, mean_frames, self.switch_, self.start_ / self.start_.sum())

    def _decode_scores(self, proba: np.ndarray, fps: float, scale: float, min_bout_s: float,
                       power: float, allowed: np.ndarray | None = None,
                       posteriors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Viterbi codes and collapsed posteriors from frame posteriors."""
        score = scale * (np.log(np.clip(proba, _FLOOR, 1.0)) - power * np.log(self.prior_))
        if allowed is not None:
            score[:, ~allowed] = -1e9
        startprob, transmat, sb = self._topology(fps, min_bout_s)
        hmm = _scored_hmm(startprob, transmat)
        obs = np.ascontiguousarray(score[:, sb])
        with np.errstate(divide="ignore", under="ignore"):
            _, states = hmm.decode(obs, algorithm="viterbi")
            if not posteriors:
                return sb[states], None
            post = hmm.predict_proba(obs)
        out = np.zeros((len(post), len(self.behaviors_)))
        np.add.at(out.T, sb, post.T)
        return sb[states], out

    def _select(self, mats: list[np.ndarray], codes: list[np.ndarray], fps: list[float],
                groups: list[Any]) -> dict[str, Any]:
        """Choose ``posterior_scale`` and ``min_bout_s`` by cross-validation over sessions."""
        from behavtrack.strategies.metrics import bout_scores, frame_scores

        allc = np.concatenate(codes)
        self.state_counts_ = np.bincount(allc[allc >= 0], minlength=len(self.behaviors_))
        self.prior_ = self.state_counts_ / max(int(self.state_counts_.sum()), 1)
        scales = ([float(self.posterior_scale)] if self.posterior_scale != "auto"
                  else [float(v) for v in self.posterior_scale_grid])
        bouts = ([float(self.min_bout_s)] if self.min_bout_s != "auto"
                 else [float(v) for v in self.min_bout_grid])
        powers = ([float(self.prior_power)] if self.prior_power != "auto"
                  else [float(v) for v in self.prior_power_grid])
        names = sorted(set(map(str, groups)))
        k = min(int(self.inner_folds), len(names))
        if (len(scales) == 1 and len(bouts) == 1 and len(powers) == 1) or k < 2:
            self.posterior_scale_ = scales[len(scales) // 2]
            self.min_bout_used_s_ = bouts[len(bouts) // 2]
            self.prior_power_ = powers[len(powers) // 2]
            return {"method": "fixed" if k >= 2 else "the grid's middle values (fewer than 2 "
                    "sessions for a cross-validation)",
                    "posterior_scale": self.posterior_scale_, "min_bout_s": self.min_bout_used_s_,
                    "prior_power": self.prior_power_}
        order = np.random.default_rng(self.random_state).permutation(len(names))
        fold_of = {names[i]: int(j % k) for j, i in enumerate(order)}
        folds = [fold_of[str(g)] for g in groups]
        oof: list[np.ndarray | None] = [None] * len(mats)
        for f in range(k):
            train = [i for i, g in enumerate(folds) if g != f]
            test = [i for i, g in enumerate(folds) if g == f]
            em = self._fit_emission(np.concatenate([mats[i] for i in train]),
                                    np.concatenate([codes[i] for i in train]))
            for i in test:
                oof[i] = em.predict_proba(mats[i])
        pooled = self._pool_groups([p for p in oof if p is not None], groups)
        names_b = np.asarray(self.behaviors_, dtype=object)
        truth = [np.where(c >= 0, names_b[np.maximum(c, 0)], "") for c in codes]
        table = []
        for scale in scales:
            for mb in bouts:
                for power in powers:
                    pred = [names_b[self._decode_scores(p, f, scale, mb, power,
                                                        posteriors=False)[0]]
                            for p, f in zip(pooled, fps, strict=True)]
                    fr = frame_scores(truth, pred, self.behaviors_)["macro_f1"]
                    bo = np.mean([bout_scores(truth, pred, self.behaviors_,
                                              min_iou=iou)["macro_f1"] for iou in (0.3, 0.5)])
                    table.append({"posterior_scale": scale, "min_bout_s": mb,
                                  "prior_power": power, "frame_macro_f1": round(float(fr), 4),
                                  "bout_macro_f1": round(float(bo), 4),
                                  "score": round(float(fr + bo) / 2, 4)})
        best = max(table, key=lambda r: r["score"])  # first of equals: the grid's order
        self.posterior_scale_, self.min_bout_used_s_ = best["posterior_scale"], best["min_bout_s"]
        self.prior_power_ = best["prior_power"]
        return {"method": f"{k}-fold cross-validation over {len(names)} training sessions "
                "(score: mean of frame macro-F1 and bout macro-F1 at IoU 0.3 and 0.5)",
                "posterior_scale": self.posterior_scale_, "min_bout_s": self.min_bout_used_s_,
                "prior_power": self.prior_power_, "candidates": table}

    def _pool_groups(self, probas: list[np.ndarray], groups: list[Any]) -> list[np.ndarray]:
        """Pool mutual behaviours over the two sequences of each group (pair)."""
        out = [p.copy() for p in probas]
        mutual = [self.behaviors_.index(b) for b in self.mutual if b in self.behaviors_]
        if not mutual:
            return out
        by: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by.setdefault(str(g), []).append(i)
        for members in by.values():
            if len(members) == 2 and len(out[members[0]]) == len(out[members[1]]):
                a, b = members
                out[a], out[b] = (_pool_mutual(probas[a], probas[b], mutual),
                                  _pool_mutual(probas[b], probas[a], mutual))
        return out

    # ---- decoding -----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "emission_"):
            raise InputError("model", "is not fitted", "call fit() or load a model file")

    def emission_rows(self, n_frames: int, fps: float | None = None) -> np.ndarray:
        """Return the frames whose features the trees evaluate, of a recording of ``n_frames``.

        Every k-th frame (k = ``fps // emission_hz``) and the last; every frame when
        ``emission_hz`` is ``None`` or the rate is not above it. Give them to
        :func:`behavtrack.features.compute_features` (``rows=``) to compute the table at these
        frames only: decoding it (``n_frames=``) gives what the full table gives.

        Examples
        --------
        >>> HybridHMMClassifier(emission_hz=10.0).emission_rows(8, fps=30.0).tolist()
        [0, 3, 6, 7]

        """
        n = int(n_frames)
        rate = fps or getattr(self, "fps_", None)
        step = (int(float(rate) // float(self.emission_hz))
                if rate and self.emission_hz else 1)
        if step <= 1 or n < 3:
            return np.arange(n)
        return np.unique(np.concatenate([np.arange(0, n, step), [n - 1]]))

    def frame_proba(self, X: pd.DataFrame, fps: float | None = None,
                    n_frames: int | None = None) -> np.ndarray:
        """Per-frame posteriors of the trees alone (no temporal model), in ``behaviors_``.

        With ``emission_hz`` and a frame rate above it (``fps``, else ``X.attrs["fps"]``),
        the trees see every k-th frame (:meth:`emission_rows`) and the log-posteriors between
        are interpolated. ``n_frames``: ``X`` holds only some frames of a recording of this
        many (its index gives them, as ``compute_features(rows=...)`` returns them); the
        result has ``n_frames`` rows.
        """
        self._check_fitted()
        m = self._matrix(X)
        rate = fps or (X.attrs.get("fps") if isinstance(X, pd.DataFrame) else None)
        n = len(m) if n_frames is None else int(n_frames)
        if n != len(m):
            index = X.index
            rows = np.asarray(index.get_level_values("frame") if "frame" in index.names
                              else index, dtype=np.intp)
            if len(rows) != len(m) or (len(rows) and (rows[0] != 0 or rows[-1] != n - 1)):
                raise InputError("X", f"holds {len(m)} rows but n_frames is {n}; its frame "
                                 "index must run from 0 to n_frames - 1",
                                 "compute it with rows=model.emission_rows(n_frames, fps)")
        else:
            rows = self.emission_rows(n, rate)
            if len(rows) == n:
                return self.emission_.predict_proba(m)
            m = m[rows]
        logp = np.log(np.clip(self.emission_.predict_proba(m), _FLOOR, 1.0))
        frames = np.arange(n)
        full = np.column_stack([np.interp(frames, rows, logp[:, j])
                                for j in range(logp.shape[1])])
        p = np.exp(full - full.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def decode(self, X: pd.DataFrame, fps: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Viterbi labels and posteriors of one animal's feature table.

        Parameters
        ----------
        X
            One sequence's feature table (missing model features are treated as unknown).
        fps
            Frame rate (default ``X.attrs["fps"]``, else the training data's).

        Returns
        -------
        labels, proba
            Behaviour names (object array) and ``(n_frames, n_behaviors)`` posteriors.

        """
        return self.decode_group([X], fps)[0]

    def decode_group(self, tables: Sequence[pd.DataFrame], fps: float | None = None,
                     n_frames: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Decode the animals of one session together (mutual behaviours pooled for a pair).

        ``n_frames``: the tables hold only some frames of a recording of this many (see
        :meth:`frame_proba`); labels and posteriors are returned for every frame.
        """
        self._check_fitted()
        tables = list(tables)
        probas = [self.frame_proba(x, fps, n_frames) for x in tables]
        if len(tables) == 2:
            probas = self._pool_groups(probas, [0, 0])
        allowed = np.array([b not in getattr(self, "dropped_", ()) for b in self.behaviors_])
        out = []
        for x, p in zip(tables, probas, strict=True):
            rate = fps or (x.attrs.get("fps") if isinstance(x, pd.DataFrame) else None) \
                or self.fps_
            if len(p) == 0:
                out.append((np.zeros(0, dtype=object), np.zeros((0, len(self.behaviors_)))))
                continue
            codes, post = self._decode_scores(p, float(rate), self.posterior_scale_,
                                              self.min_bout_used_s_, self.prior_power_, allowed)
            out.append((np.asarray(self.behaviors_, dtype=object)[codes], post))
        return out

    def predict(self, X: pd.DataFrame, fps: float | None = None) -> np.ndarray:
        """Behaviour name per frame of one animal (Viterbi path)."""
        return self.decode(X, fps)[0]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Posterior of each behaviour per frame (forward-backward of the HMM)."""
        return self.decode(X)[1]

    def restrict(self, features: Sequence[str], drop_behaviors: Sequence[str] = ()
                 ) -> HybridHMMClassifier:
        """Return a copy that never predicts ``drop_behaviors``.

        Features not in ``features`` are unknown to the trees (routed as missing values), so
        the copy needs no refit.
        """
        self._check_fitted()
        import copy

        new = copy.copy(self)
        new.dropped_ = tuple(b for b in drop_behaviors if b in self.behaviors_)
        if len(new.dropped_) >= len(self.behaviors_):
            raise InputError("model", "every behaviour would be dropped")
        return new

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the parameters and every fitted value."""
        self._check_fitted()
        from behavtrack import __version__

        params = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in self.get_params().items()}
        return {
            "schema_version": HYBRID_SCHEMA_VERSION,
            "kind": KIND,
            "behavtrack_version": __version__,
            "params": params,
            "feature_names": list(self.feature_names_),
            "behaviors": list(self.behaviors_),
            "fps": self.fps_,
            "posterior_scale": self.posterior_scale_,
            "min_bout_s": self.min_bout_used_s_,
            "prior_power": self.prior_power_,
            "arrays": {
                "prior": self.prior_.tolist(),
                "state_counts": self.state_counts_.tolist(),
                "mean_bout_s": self.mean_bout_s_.tolist(),
                "short_bout_s": self.short_bout_s_.tolist(),
                "switch": self.switch_.tolist(),
                "start": self.start_.tolist(),
            },
            "emission": self.emission_.to_dict(),
            "selection": self.selection_,
            "training_checksum": self.training_checksum_,
            "metrics": getattr(self, "metrics_", {}),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict()) + "\n")

    @classmethod
    def from_dict(cls, data: Any, source: str = "<model>") -> HybridHMMClassifier:
        """Validate a dict from :meth:`to_dict` and rebuild the classifier."""
        from behavtrack.features.table import is_feature_name
        from behavtrack.strategies.gbm_json import GBMPosterior

        def fail(problem: str, hint: str | None = "retrain the model with this behavtrack"
                 ) -> None:
            raise InputError(source, problem, hint)

        if not isinstance(data, dict) or data.get("kind") != KIND:
            fail(f"is not a behavtrack hybrid model (kind is not {KIND!r})",
                 "train one with 'behavtrack train'")
        if data.get("schema_version") != HYBRID_SCHEMA_VERSION:
            fail(f"model schema_version is {data.get('schema_version')!r}; this behavtrack "
                 f"reads {HYBRID_SCHEMA_VERSION}")
        for key in ("params", "feature_names", "behaviors", "arrays", "emission",
                    "posterior_scale", "min_bout_s", "prior_power", "training_checksum"):
            if key not in data:
                fail(f"model field {key!r} is missing")
        feats, behs = list(data["feature_names"]), list(data["behaviors"])
        unknown = [f for f in feats if not isinstance(f, str) or not is_feature_name(f)]
        if unknown:
            fail(f"model feature(s) {unknown[:3]} are not features this behavtrack computes")
        bad = [b for b in behs if b not in BEHAVIORS]
        if bad or len(behs) < 2:
            fail(f"model behaviours {behs} are not 2 or more of {', '.join(BEHAVIORS)}")
        try:
            model = cls(**dict(data["params"]))
        except TypeError as exc:
            fail(f"model params do not match this behavtrack ({exc})")
        arrays = data["arrays"]
        n_b = len(behs)
        shapes = {"prior": (n_b,), "state_counts": (n_b,), "mean_bout_s": (n_b,),
                  "short_bout_s": (n_b,),
                  "switch": (n_b, n_b), "start": (n_b,)}
        got = {}
        for name, shape in shapes.items():
            try:
                arr = np.asarray(arrays[name], dtype=float)
            except (KeyError, TypeError, ValueError):
                fail(f"model array {name!r} is missing or not numeric",
                     "the file was edited or truncated")
            if arr.shape != shape or not np.isfinite(arr).all() or (arr < 0).any():
                fail(f"model array {name!r} has shape {arr.shape} (expected {shape}) or a "
                     "negative or non-finite value", "the file was edited or truncated")
            got[name] = arr
        if not np.isclose(got["prior"].sum(), 1.0) or (got["prior"] <= 0).any():
            fail("model priors do not sum to 1", "the file was edited or truncated")
        emission = GBMPosterior.from_dict(data["emission"], source=source)
        if list(emission.feature_names_) != feats or len(emission.classes_) != n_b:
            fail("the model's trees do not match its feature or behaviour list",
                 "the file was edited or truncated")
        try:
            scale, mb = float(data["posterior_scale"]), float(data["min_bout_s"])
            power = float(data["prior_power"])
        except (TypeError, ValueError):
            fail("model posterior_scale/min_bout_s/prior_power are not numbers")
        if not (scale > 0 and mb >= 0 and power >= 0
                and np.isfinite([scale, mb, power]).all()):
            fail("model posterior_scale must be > 0, min_bout_s and prior_power >= 0")
        model.feature_names_, model.behaviors_ = feats, behs
        model.prior_ = got["prior"]
        model.state_counts_ = got["state_counts"].astype(int)
        model.mean_bout_s_, model.short_bout_s_ = got["mean_bout_s"], got["short_bout_s"]
        model.switch_, model.start_ = got["switch"], got["start"]
        model.posterior_scale_, model.min_bout_used_s_ = scale, mb
        model.prior_power_ = power
        model.emission_ = emission
        model.fps_ = data.get("fps")
        model.selection_ = data.get("selection") or {}
        model.training_checksum_ = str(data["training_checksum"])
        model.metrics_ = data.get("metrics") or {}
        return model


def _pool_mutual(a: np.ndarray, b: np.ndarray, mutual: list[int]) -> np.ndarray:
    """Frame posteriors of animal ``a`` whose mutual behaviours are the pair's mean.

    The animal's other behaviours keep their relative weights in the rest of the mass; a frame
    where one animal is unknown (NaN) takes the other's value.
    """
    pa = np.where(np.isfinite(a), a, b)
    pb = np.where(np.isfinite(b), b, a)
    m = (pa[:, mutual] + pb[:, mutual]) / 2
    out = pa.copy()
    rest = [i for i in range(a.shape[1]) if i not in mutual]
    if rest:
        mass = pa[:, rest].sum(axis=1, keepdims=True)
        left = 1.0 - m.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, rest] = np.where(mass > 0, pa[:, rest] / mass * left, left / len(rest))
    out[:, mutual] = m
    return out
