"""The supervised hidden Markov model classifier of strategies (on hmmlearn).

Each behaviour (``approach, waiting, interaction, other``) owns one or more hidden states
(``n_substates``: a behaviour such as ``other`` covers resting, grooming and exploring, which one
Gaussian describes badly, so its labelled frames are split by k-means into sub-states).
:meth:`HMMClassifier.fit` estimates everything from labelled frames: start probabilities,
sticky transitions (counts of state transitions plus a Dirichlet prior) and Gaussian emissions
(diagonal or full, covariances regularised by ``min_covar``) of transformed, standardised
features. Posteriors of a behaviour are the sums over its states. Optional EM refinement
(``em_iter > 0``) then runs hmmlearn's Baum-Welch on unlabelled sequences. Decoding is
Viterbi (labels) and forward-backward (posteriors); a minimum bout duration merges shorter
runs into the neighbour the posteriors favour.

Missing feature values (an animal lost for a while, a partner absent) are marginalised out
of the emission density, which is exact for Gaussians. A model is saved as JSON (never
pickle) with its schema version, feature and behaviour names, all fitted arrays, a checksum of
its training data and its held-out metrics; :meth:`HMMClassifier.load` validates all of it.

The estimator is here; its parts are in modules of their own: the masked Gaussian emissions in
:mod:`behavtrack.strategies.gaussian`, the feature transforms (port gating, log scale,
soon-ness, standardisation) in :mod:`behavtrack.strategies.transforms`, the run-length rules
applied after Viterbi in :mod:`behavtrack.strategies.smoothing`, and the model file's layout
and its validation in :mod:`behavtrack.strategies.model_file`.
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
from threadpoolctl import threadpool_limits

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies.gaussian import MaskedGaussianHMM, fit_gaussian, mark_missing
from behavtrack.strategies.model_file import (
    hmm_to_dict,
    read_hmm_dict,
    read_model_json,
    rebuild_model,
)
from behavtrack.strategies.smoothing import bridge_gaps, enforce_min_bout
from behavtrack.strategies.transforms import (
    LOG_FEATURES,
    PORT_FEATURES,
    SOON_FEATURES,
    as_frame,
    standard_scale,
    standardise,
    transform_features,
)

__all__ = ["HMMClassifier", "DEFAULT_FEATURES", "DEFAULT_SUBSTATES"]

#: Features used by default (those present in the training data are kept).
DEFAULT_FEATURES: tuple[str, ...] = (
    "speed", "turn_rate", "nose_nose", "nose_partner_body", "partner_approach",
    "facing_partner", "partner_speed", "dist_partition", "partition_approach", "to_partition",
    "dist_poke",
    "dist_water", "partner_dist_partition", "partner_dist_poke", "since_poke",
    "since_partner_poke", "to_poke", "to_partner_poke", "poke_order",
)
#: Hidden states per behaviour of the default model.
DEFAULT_SUBSTATES: dict[str, int] = {"approach": 4, "waiting": 4, "interaction": 2, "other": 12}


class HMMClassifier(BaseEstimator):
    """Supervised Gaussian HMM over the behaviours, with scikit-learn conventions.

    Parameters
    ----------
    features
        Feature names to use (default :data:`DEFAULT_FEATURES`, restricted at fit time to
        those present in every training table).
    behaviors
        State names, in order.
    covariance_type
        ``"diag"`` or ``"full"``.
    min_covar
        Added to every variance (standardised units), keeps covariances invertible.
    transition_prior
        Dirichlet pseudo-count added to every transition count (self-transitions included).
    min_bout_s
        Shortest bout kept when decoding; shorter runs merge into a neighbour.
    max_gap_s
        ``other`` runs up to this long between two bouts of the same behaviour are bridged
        (the two bouts become one).
    em_iter
        Baum-Welch iterations on unlabelled sequences after the supervised fit (0 = none).
    log_features
        Features modelled as ``log1p(max(x, 0))``.
    soon_features, soon_tau_s
        Times (s) modelled as ``exp(-t / soon_tau_s)``.
    port_features, port_gate_cm
        Features treated as missing (marginalised out) whenever the nose is farther than
        ``port_gate_cm`` from the own poke port (``dist_poke``; all the time without it), so
        poke timing informs what happens at the port and nothing else.
    n_substates
        Hidden states per behaviour: one int for all, or a dict behaviour -> int
        (``None`` = :data:`DEFAULT_SUBSTATES`).
    random_state
        Seed for the k-means split into sub-states and for EM.

    Attributes
    ----------
    feature_names_, behaviors_, center_, scale_, startprob_, transmat_, means_, covars_, fps_
        Fitted state over the K hidden states (``covars_`` is ``(K, D)`` for diag,
        ``(K, D, D)`` for full).
    state_behavior_
        Index into ``behaviors_`` of each hidden state.
    training_checksum_
        SHA-256 of the training features and labels.
    metrics_
        Metrics on held-out data, set by the trainer (saved with the model).

    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        behaviors: Sequence[str] = BEHAVIORS,
        covariance_type: str = "full",
        min_covar: float = 1e-3,
        transition_prior: float = 1.0,
        min_bout_s: float = 0.5,
        max_gap_s: float = 1.0,
        em_iter: int = 0,
        log_features: Sequence[str] = LOG_FEATURES,
        soon_features: Sequence[str] = SOON_FEATURES,
        soon_tau_s: float = 10.0,
        port_features: Sequence[str] = PORT_FEATURES,
        port_gate_cm: float = 6.0,
        n_substates: int | dict[str, int] | None = None,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.behaviors = behaviors
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.transition_prior = transition_prior
        self.min_bout_s = min_bout_s
        self.max_gap_s = max_gap_s
        self.em_iter = em_iter
        self.log_features = log_features
        self.soon_features = soon_features
        self.soon_tau_s = soon_tau_s
        self.port_features = port_features
        self.port_gate_cm = port_gate_cm
        self.n_substates = n_substates
        self.random_state = random_state

    def _transform(self, X: pd.DataFrame, fit: bool = False) -> np.ndarray:
        """Standardised model-scale features (:mod:`~behavtrack.strategies.transforms`).

        ``fit`` sets ``center_`` and ``scale_`` from ``X`` first.
        """
        arr = transform_features(
            X, self.feature_names_, log_features=self.log_features,
            soon_features=self.soon_features, soon_tau_s=self.soon_tau_s,
            port_features=self.port_features, port_gate_cm=self.port_gate_cm)
        if fit:
            self.center_, self.scale_ = standard_scale(arr)
        return standardise(arr, self.center_, self.scale_)

    def fit(
        self,
        X_list: Sequence[pd.DataFrame],
        y_list: Sequence[Sequence[str]],
        unlabeled: Sequence[pd.DataFrame] = (),
    ) -> HMMClassifier:
        """Fit from labelled sequences (one per animal and session).

        Parameters
        ----------
        X_list
            Feature tables (rows = consecutive frames of one animal).
        y_list
            Behaviour name per row; empty string or ``None`` marks an unlabelled frame.
        unlabeled
            Extra feature tables for the optional EM refinement (``em_iter > 0``).

        Returns
        -------
        HMMClassifier
            ``self``.

        """
        if len(X_list) == 0 or len(X_list) != len(y_list):
            raise InputError("training data", f"got {len(X_list)} feature tables and "
                             f"{len(y_list)} label sequences", "give one label per frame")
        X_list = [as_frame(x, self.features) for x in X_list]
        wanted = list(self.features) if self.features is not None else list(DEFAULT_FEATURES)
        common = [f for f in wanted if all(f in x.columns for x in X_list)]
        if self.features is not None and len(common) < len(wanted):
            lost = [f for f in wanted if f not in common]
            raise InputError("training data", f"feature(s) {lost} are missing from some "
                             "training tables", "train on sessions with arena and events")
        if not common:
            raise InputError("training data", "no usable feature column")
        self.feature_names_ = common
        self.behaviors_ = [str(b) for b in self.behaviors]
        k_states, idx = len(self.behaviors_), {b: i for i, b in enumerate(self.behaviors_)}
        codes = []
        for x, y in zip(X_list, y_list, strict=True):
            y = np.asarray(y, dtype=object)
            if len(y) != len(x):
                raise InputError("training data", f"a label sequence has {len(y)} frames but "
                                 f"its features have {len(x)}")
            unknown = set(v for v in y if isinstance(v, str) and v and v not in idx)
            if unknown:
                raise InputError("training labels", f"unknown behaviour(s) {sorted(unknown)}",
                                 f"known: {', '.join(self.behaviors_)}")
            codes.append(np.array([idx.get(v, -1) if isinstance(v, str) else -1 for v in y]))
        allx = pd.concat(X_list, ignore_index=True)
        Z = self._transform(allx, fit=True)
        c = np.concatenate(codes)
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(allx[self.feature_names_].to_numpy(float)).tobytes())
        h.update(c.astype(np.int16).tobytes())
        self.training_checksum_ = h.hexdigest()
        d = Z.shape[1]
        if self.covariance_type not in ("diag", "full"):
            raise InputError("covariance_type", f"must be 'diag' or 'full', got "
                             f"{self.covariance_type!r}")
        self.state_counts_ = np.bincount(c[c >= 0], minlength=k_states).astype(int)
        states = self._split_substates(Z, c, k_states)  # hidden state per frame (-1 unlabelled)
        n_states = len(self.state_behavior_)
        means = np.zeros((n_states, d))
        covars = np.ones((n_states, d)) if self.covariance_type == "diag" else np.tile(
            np.eye(d), (n_states, 1, 1))
        for k in range(n_states):
            zk = Z[states == k]
            if len(zk) < 2:
                continue
            means[k], cov = fit_gaussian(zk, self.covariance_type == "full")
            covars[k] = cov + self.min_covar * (np.eye(d) if cov.ndim == 2 else 1.0)
        start = np.full(n_states, self.transition_prior)
        trans = np.full((n_states, n_states), self.transition_prior)
        pos = 0
        for cc in codes:
            ss = states[pos:pos + len(cc)]
            pos += len(cc)
            first = ss[ss >= 0]
            if len(first):
                start[first[0]] += 1
            a, b = ss[:-1], ss[1:]
            ok = (a >= 0) & (b >= 0)
            np.add.at(trans, (a[ok], b[ok]), 1)
        absent = np.bincount(states[states >= 0], minlength=n_states) == 0
        start[absent] = 0
        trans[:, absent] = 0
        trans[absent] = 0
        trans[absent, absent] = 1
        self.startprob_ = start / start.sum()
        self.transmat_ = trans / trans.sum(axis=1, keepdims=True)
        self.means_, self.covars_ = means, covars
        self.fps_ = float(X_list[0].attrs.get("fps", 0) or 0) or None
        self.metrics_: dict[str, Any] = {}
        if self.em_iter > 0 and len(unlabeled):
            self._refine(list(unlabeled))
        return self

    def _split_substates(self, Z: np.ndarray, codes: np.ndarray, k_states: int) -> np.ndarray:
        """Split each behaviour's frames into sub-states by k-means; set ``state_behavior_``."""
        from sklearn.cluster import KMeans

        per = DEFAULT_SUBSTATES if self.n_substates is None else self.n_substates
        states = np.full(len(codes), -1)
        state_behavior: list[int] = []
        for k, b in enumerate(self.behaviors_):
            want = int(per.get(b, 1) if isinstance(per, dict) else per)
            rows = np.flatnonzero(codes == k)
            n_sub = max(1, min(want, len(rows) // 50))
            if n_sub > 1:
                zk = np.nan_to_num(Z[rows])
                step = max(1, len(rows) // 20000)  # k-means on at most ~20k frames
                km = KMeans(n_clusters=n_sub, n_init=3, random_state=self.random_state)
                km.fit(zk[::step])
                sub = km.predict(zk)
            else:
                sub = np.zeros(len(rows), dtype=int)
            states[rows] = len(state_behavior) + sub
            state_behavior += [k] * n_sub
        self.state_behavior_ = np.array(state_behavior, dtype=int)
        return states

    def _hmm(self) -> MaskedGaussianHMM:
        """Return the fitted parameters as hmmlearn's model (for decoding and EM)."""
        m = MaskedGaussianHMM(
            n_components=len(self.state_behavior_), covariance_type=self.covariance_type,
            min_covar=self.min_covar, init_params="", params="stmc",
            n_iter=self.em_iter, random_state=self.random_state, implementation="scaling",
        )
        m.n_features = len(self.feature_names_)
        m.startprob_ = self.startprob_
        m.transmat_ = self.transmat_
        m.means_ = self.means_
        m.covars_ = self.covars_
        return m

    def _refine(self, tables: list[pd.DataFrame]) -> None:
        """Baum-Welch on unlabelled tables.

        hmmlearn's EM has no missing values: they are set to the overall mean (0 after
        standardising) for the refinement only.
        """
        Zs = [np.nan_to_num(self._transform(as_frame(t, self.feature_names_)))
              for t in tables]
        m = self._hmm()
        with np.errstate(divide="ignore"):
            m.fit(np.concatenate(Zs), lengths=[len(z) for z in Zs])
        self.startprob_, self.transmat_, self.means_ = m.startprob_, m.transmat_, m.means_
        if self.covariance_type == "diag":
            self.covars_ = np.maximum(m._covars_, self.min_covar)
        else:  # symmetric, eigenvalues at least min_covar (EM can leave them degenerate)
            w, v = np.linalg.eigh((m.covars_ + m.covars_.transpose(0, 2, 1)) / 2)
            self.covars_ = (v * np.maximum(w, self.min_covar)[:, None, :]) @ v.transpose(0, 2, 1)

    # ---- decoding ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise InputError("model", "is not fitted", "call fit() or load a model file")

    def _encode(self, X: Any) -> np.ndarray:
        """Standardised features with missing values marked for hmmlearn."""
        return mark_missing(self._transform(as_frame(X, getattr(self, "feature_names_", None))))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each behaviour per frame (forward-backward).

        Rows where every feature is missing get the model's prior propagation; callers that
        want them flagged use the ``tracked`` feature.
        """
        self._check_fitted()
        Z = self._encode(X)
        if len(Z) == 0:
            return np.zeros((0, len(self.behaviors_)))
        with np.errstate(divide="ignore", under="ignore"):
            return self._collapse(self._hmm().predict_proba(Z))

    def _collapse(self, state_proba: np.ndarray) -> np.ndarray:
        """Sum hidden-state posteriors into behaviour posteriors."""
        out = np.zeros((len(state_proba), len(self.behaviors_)))
        np.add.at(out.T, self.state_behavior_, state_proba.T)
        return out

    def decode(self, X: Any, fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Viterbi labels (after the minimum bout duration) and posteriors.

        Parameters
        ----------
        X
            One sequence's feature table.
        fps
            Frame rate (default ``X.attrs["fps"]``, else the training data's).

        Returns
        -------
        labels, proba
            Behaviour names (object array) and ``(n_frames, n_behaviors)`` posteriors.

        """
        self._check_fitted()
        Z = self._encode(X)
        if len(Z) == 0:
            return np.zeros(0, dtype=object), np.zeros((0, len(self.behaviors_)))
        m = self._hmm()
        with np.errstate(divide="ignore", under="ignore"), threadpool_limits(1):
            _, states = m.decode(Z, algorithm="viterbi")
            proba = self._collapse(m.predict_proba(Z))
        states = self.state_behavior_[states]
        fps = fps or (X.attrs.get("fps") if isinstance(X, pd.DataFrame) else None) or self.fps_
        if fps and self.min_bout_s > 0:
            states = enforce_min_bout(states, proba, int(round(self.min_bout_s * fps)))
        if fps and self.max_gap_s > 0 and "other" in self.behaviors_:
            states = bridge_gaps(states, self.behaviors_.index("other"),
                                 int(round(self.max_gap_s * fps)))
        return np.asarray(self.behaviors_, dtype=object)[states], proba

    def predict(self, X: Any, fps: float | None = None) -> np.ndarray:
        """Behaviour name per frame (Viterbi path, minimum bout duration applied)."""
        return self.decode(X, fps)[0]

    def restrict(self, features: Sequence[str], drop_behaviors: Sequence[str] = ()
                 ) -> HMMClassifier:
        """Return a copy restricted to ``features`` that never visits ``drop_behaviors``.

        The other features are marginalised out; ``drop_behaviors`` is e.g. ``waiting``
        without an arena.

        Marginalising a Gaussian over dropped features is exact, so the copy is the same
        model seen through fewer features.
        """
        self._check_fitted()
        keep = [i for i, f in enumerate(self.feature_names_) if f in set(features)]
        if not keep:
            raise InputError("model", "none of its features are available "
                             f"(model: {self.feature_names_}; have: {list(features)})",
                             "give the arena or events the model needs")
        new = HMMClassifier(**self.get_params())
        new.feature_names_ = [self.feature_names_[i] for i in keep]
        new.behaviors_ = list(self.behaviors_)
        new.center_, new.scale_ = self.center_[keep], self.scale_[keep]
        new.means_ = self.means_[:, keep]
        new.covars_ = (self.covars_[:, keep] if self.covariance_type == "diag"
                       else self.covars_[:, keep][:, :, keep])
        new.state_behavior_ = self.state_behavior_.copy()
        drop = np.isin(np.asarray(new.behaviors_)[self.state_behavior_], list(drop_behaviors))
        start, trans = self.startprob_.copy(), self.transmat_.copy()
        if drop.all():
            raise InputError("model", "every behaviour would be dropped")
        start[drop] = 0
        trans[:, drop] = 0
        trans[drop] = 0
        trans[drop, drop] = 1
        new.startprob_ = start / start.sum()
        new.transmat_ = trans / trans.sum(axis=1, keepdims=True)
        new.fps_ = self.fps_
        new.training_checksum_ = self.training_checksum_
        new.state_counts_ = self.state_counts_
        new.metrics_ = dict(getattr(self, "metrics_", {}))
        return new

    # ---- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the parameters and every fitted array (:func:`hmm_to_dict`)."""
        self._check_fitted()
        return hmm_to_dict(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def from_dict(cls, data: Any, source: str = "<model>") -> HMMClassifier:
        """Validate a dict from :meth:`to_dict` and rebuild the classifier.

        The layout and its checks are :func:`~behavtrack.strategies.model_file.read_hmm_dict`'s.
        """
        params, fitted = read_hmm_dict(data, source)
        return rebuild_model(cls, params, fitted, source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HMMClassifier:
        """Read and validate a model JSON file."""
        return cls.from_dict(read_model_json(path), source=str(path))
