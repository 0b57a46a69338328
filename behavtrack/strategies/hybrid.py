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
from behavtrack.io.bouts import BEHAVIORS, runs
from behavtrack.strategies.hybrid_model import (  # noqa: F401 - re-exported
    HYBRID_SCHEMA_VERSION,
    KIND,
    HybridDecoding,
    duration_hmm,
    read_hybrid_dict,
)
from behavtrack.strategies.model_file import rebuild_model

__all__ = ["HybridHMMClassifier", "HYBRID_SCHEMA_VERSION", "duration_hmm"]


class HybridHMMClassifier(HybridDecoding, BaseEstimator):
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


    def _fit_durations(self, codes: list[np.ndarray], fps: list[float]) -> None:
        """Mean and 10th-percentile bout length, switches and first behaviours from labels."""
        n_b = len(self.behaviors_)
        lengths: list[list[float]] = [[] for _ in range(n_b)]
        switch = np.ones((n_b, n_b))
        start = np.ones(n_b)
        for c, f in zip(codes, fps, strict=True):
            _, lens, vals = runs(c)
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


    # ---- decoding -----------------------------------------------------------------------








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
        params, fitted = read_hybrid_dict(data, source)
        return rebuild_model(cls, params, fitted, source)
