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
from hmmlearn.hmm import GaussianHMM
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text
from behavtrack.io.bouts import BEHAVIORS, runs

__all__ = ["HMMClassifier", "MODEL_SCHEMA_VERSION", "DEFAULT_FEATURES", "DEFAULT_SUBSTATES",
           "PORT_FEATURES",
           "bridge_gaps", "enforce_min_bout", "LOG_FEATURES", "SOON_FEATURES"]

MODEL_SCHEMA_VERSION = 1
_MISSING = 1e300  # finite stand-in for NaN so hmmlearn's input checks accept the array

#: Features used by default (those present in the training data are kept).
DEFAULT_FEATURES: tuple[str, ...] = (
    "speed", "turn_rate", "nose_nose", "nose_partner_body", "partner_approach",
    "facing_partner", "partner_speed", "dist_partition", "partition_approach", "to_partition",
    "dist_poke",
    "dist_water", "partner_dist_partition", "partner_dist_poke", "since_poke",
    "since_partner_poke", "to_poke", "to_partner_poke", "poke_order",
)
#: Non-negative, right-skewed features modelled on a log scale (``log1p``).
LOG_FEATURES: tuple[str, ...] = (
    "speed", "turn_rate", "nose_nose", "nose_partner_body", "partner_speed", "dist_partition",
    "dist_poke", "dist_water", "partner_dist_partition", "partner_dist_poke", "since_poke",
    "body_length",
)
#: Times to or since an event, modelled as "soon-ness" ``exp(-t / soon_tau_s)`` (0 = long ago).
SOON_FEATURES: tuple[str, ...] = (
    "since_poke", "since_partner_poke", "to_poke", "to_partner_poke", "to_partition",
)
#: Poke-timing features that only count while the nose is near the own poke port (see
#: ``port_gate_cm``): whether a mouse waits depends on the partner's poke, whether it
#: approaches the partition or interacts does not.
PORT_FEATURES: tuple[str, ...] = (
    "since_poke", "since_partner_poke", "to_poke", "to_partner_poke", "poke_order",
)
#: Hidden states per behaviour of the default model.
DEFAULT_SUBSTATES: dict[str, int] = {"approach": 4, "waiting": 4, "interaction": 2, "other": 12}


class _MaskedGaussianHMM(GaussianHMM):
    """GaussianHMM whose emission density ignores missing values (marked by ``_MISSING``).

    The log-likelihood is computed in row chunks with precomputed inverse Cholesky factors,
    one per pattern of missing features, and cached for the last array seen (Viterbi and
    forward-backward on the same sequence compute it once).
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
        # Scaled per frame (divided by the frame's largest state likelihood) so that nothing
        # underflows; a per-frame constant changes neither posteriors nor the Viterbi path.
        ll = self._compute_log_likelihood(X)
        with np.errstate(under="ignore"):
            return np.exp(ll - ll.max(axis=1, keepdims=True))

    def _loglik(self, X: np.ndarray) -> np.ndarray:
        miss = np.abs(X) >= _MISSING / 10
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
            chol = _safe_cholesky(covs[:, obs][:, :, obs])  # (K, o, o)
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


def _safe_cholesky(c: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Cholesky factors of a stack of covariances, lifting eigenvalues below ``floor``.

    Only EM refinement can produce such matrices (a supervised fit adds ``min_covar``).
    """
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh((c + np.swapaxes(c, -1, -2)) / 2)
        fixed = (v * np.maximum(w, floor)[..., None, :]) @ np.swapaxes(v, -1, -2)
        return np.linalg.cholesky(fixed)


def _gaussian(z: np.ndarray, full: bool, min_count: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (co)variance of rows with missing values (NaN), pairwise-complete.

    Features observed in fewer than ``min_count`` rows get mean 0 and variance 1 (the
    standardised scale: uninformative) and no covariance with the others; a full covariance
    is made positive semi-definite by clipping its eigenvalues at 0.
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


def enforce_min_bout(states: np.ndarray, proba: np.ndarray, min_frames: int) -> np.ndarray:
    """Merge runs shorter than ``min_frames`` into a neighbouring run.

    Each short run takes the label of the previous or next run, whichever state has the
    larger summed posterior over the short run. Repeats until no short run has a neighbour
    to merge with (a sequence shorter than ``min_frames`` stays as it is).

    Examples
    --------
    >>> p = np.tile([0.6, 0.4], (6, 1))
    >>> enforce_min_bout(np.array([0, 0, 0, 1, 0, 0]), p, 2).tolist()
    [0, 0, 0, 0, 0, 0]

    """
    s = np.asarray(states).copy()
    if min_frames <= 1 or len(s) == 0:
        return s
    csum = np.vstack([np.zeros((1, proba.shape[1])), np.cumsum(np.nan_to_num(proba), axis=0)])
    for _ in range(50):
        starts, lengths, _ = runs(s)
        stops = starts + lengths
        if len(starts) == 1:
            break
        short = np.flatnonzero((stops - starts) < min_frames)
        if len(short) == 0:
            break
        # handle the shortest runs first; skip runs adjacent to another chosen one this round
        short = short[np.argsort(stops[short] - starts[short], kind="stable")]
        chosen = np.zeros(len(starts), dtype=bool)
        blocked = np.zeros(len(starts), dtype=bool)
        for r in short:
            if blocked[r]:
                continue
            chosen[r] = True
            blocked[max(r - 1, 0):r + 2] = True
        idx = np.flatnonzero(chosen)
        prev_state = np.where(idx > 0, s[starts[np.maximum(idx - 1, 0)]], -1)
        next_state = np.where(idx < len(starts) - 1,
                              s[starts[np.minimum(idx + 1, len(starts) - 1)]], -1)
        mass = csum[stops[idx]] - csum[starts[idx]]
        rows = np.arange(len(idx))
        mp = np.where(prev_state >= 0, mass[rows, np.maximum(prev_state, 0)], -np.inf)
        mn = np.where(next_state >= 0, mass[rows, np.maximum(next_state, 0)], -np.inf)
        new = np.where(mp >= mn, prev_state, next_state)
        lengths = stops[idx] - starts[idx]
        s[np.repeat(starts[idx], lengths) + _ramp(lengths)] = np.repeat(new, lengths)
    return s


def bridge_gaps(states: np.ndarray, gap_state: int, max_frames: int) -> np.ndarray:
    """Give short ``gap_state`` runs between two runs of the same other state that state.

    A waiting mouse that shifts at its port for half a second is still waiting: runs of
    ``gap_state`` (``other``) of at most ``max_frames`` flanked by the same behaviour on both
    sides become that behaviour.

    Examples
    --------
    >>> bridge_gaps(np.array([1, 1, 3, 3, 1, 3, 3, 3, 2]), 3, 2).tolist()
    [1, 1, 1, 1, 1, 3, 3, 3, 2]

    """
    s = np.asarray(states).copy()
    if max_frames <= 0 or len(s) < 3:
        return s
    starts, lengths, vals = runs(s)
    stops = starts + lengths
    inner = np.arange(1, len(starts) - 1)
    ok = ((vals[inner] == gap_state) & (vals[inner - 1] == vals[inner + 1])
          & ((stops[inner] - starts[inner]) <= max_frames))
    for r in inner[ok]:
        s[starts[r]:stops[r]] = vals[r - 1]
    return s


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """``[0..l0-1, 0..l1-1, ...]`` for run lengths."""
    if len(lengths) == 0:
        return np.zeros(0, dtype=int)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(lengths.sum()) - offsets


def _as_frame(X: Any, names: Sequence[str] | None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X, dtype=float)
    if names is None or arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError("features", f"expected a DataFrame or an array with "
                         f"{len(names or [])} columns, got shape {arr.shape}")
    return pd.DataFrame(arr, columns=list(names))


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
        names = self.feature_names_
        missing = [f for f in names if f not in X.columns]
        if missing:
            raise InputError(
                "features", f"the model needs feature(s) {missing} that the input lacks",
                "classify with the arena/events the model was trained with, or use "
                "restrict() / a model trained without them")
        arr = X[list(names)].to_numpy(dtype=float, copy=True)
        gated = [i for i, f in enumerate(names) if f in set(self.port_features)]
        if gated:
            far = (~(X["dist_poke"].to_numpy(dtype=float) <= self.port_gate_cm)
                   if "dist_poke" in X.columns else np.ones(len(X), dtype=bool))
            arr[np.ix_(far, gated)] = np.nan
        logs = [i for i, f in enumerate(names) if f in set(self.log_features)]
        if logs:
            arr[:, logs] = np.log1p(np.maximum(arr[:, logs], 0.0))
        soon = [i for i, f in enumerate(names) if f in set(self.soon_features)]
        if soon:
            arr[:, soon] = np.exp(-np.maximum(arr[:, soon], 0.0) / self.soon_tau_s)
        if fit:
            self.center_ = np.nanmean(arr, axis=0)
            sd = np.nanstd(arr, axis=0)
            self.scale_ = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
            self.center_ = np.where(np.isfinite(self.center_), self.center_, 0.0)
        arr = (arr - self.center_) / self.scale_
        arr[~np.isfinite(arr)] = np.nan
        return arr

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
        X_list = [_as_frame(x, self.features) for x in X_list]
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
            means[k], cov = _gaussian(zk, self.covariance_type == "full")
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

    def _hmm(self) -> _MaskedGaussianHMM:
        m = _MaskedGaussianHMM(
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
        Zs = [np.nan_to_num(self._transform(_as_frame(t, self.feature_names_)))
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
        Z = self._transform(_as_frame(X, getattr(self, "feature_names_", None)))
        return np.where(np.isnan(Z), _MISSING, Z)

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
        """JSON-ready dict of the parameters and every fitted array."""
        self._check_fitted()
        from behavtrack import __version__

        params = self.get_params()
        params["features"] = None if params["features"] is None else list(params["features"])
        params["behaviors"] = list(params["behaviors"])
        params["log_features"] = list(params["log_features"])
        params["soon_features"] = list(params["soon_features"])
        params["port_features"] = list(params["port_features"])
        if isinstance(params["n_substates"], dict):
            params["n_substates"] = {str(k): int(v) for k, v in params["n_substates"].items()}
        return {
            "schema_version": MODEL_SCHEMA_VERSION,
            "kind": "behavtrack.HMMClassifier",
            "behavtrack_version": __version__,
            "params": params,
            "feature_names": list(self.feature_names_),
            "behaviors": list(self.behaviors_),
            "fps": self.fps_,
            "arrays": {
                "center": self.center_.tolist(),
                "scale": self.scale_.tolist(),
                "startprob": self.startprob_.tolist(),
                "transmat": self.transmat_.tolist(),
                "means": self.means_.tolist(),
                "covars": np.asarray(self.covars_).tolist(),
                "state_counts": np.asarray(self.state_counts_).tolist(),
                "state_behavior": np.asarray(self.state_behavior_).tolist(),
            },
            "training_checksum": self.training_checksum_,
            "metrics": getattr(self, "metrics_", {}),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def from_dict(cls, data: Any, source: str = "<model>") -> HMMClassifier:
        """Validate a dict from :meth:`to_dict` and rebuild the classifier."""
        from behavtrack.features.table import FEATURE_NAMES

        def fail(problem: str, hint: str | None = None) -> None:
            raise InputError(source, problem, hint)

        if not isinstance(data, dict) or data.get("kind") != "behavtrack.HMMClassifier":
            fail("is not a behavtrack HMM model (kind is not 'behavtrack.HMMClassifier')",
                 "train one with 'behavtrack train'")
        if data.get("schema_version") != MODEL_SCHEMA_VERSION:
            fail(f"model schema_version is {data.get('schema_version')!r}; this behavtrack "
                 f"reads {MODEL_SCHEMA_VERSION}", "retrain the model with this version")
        for key in ("params", "feature_names", "behaviors", "arrays", "training_checksum"):
            if key not in data:
                fail(f"model field {key!r} is missing", "retrain the model")
        feats, behs = data["feature_names"], data["behaviors"]
        unknown = [f for f in feats if f not in FEATURE_NAMES]
        if unknown:
            fail(f"model feature(s) {unknown} are not features this behavtrack computes",
                 "retrain the model with this version")
        bad = [b for b in behs if b not in BEHAVIORS]
        if bad:
            fail(f"model behaviour(s) {bad} are unknown", f"known: {', '.join(BEHAVIORS)}")
        params = dict(data["params"])
        try:
            model = cls(**params)
        except TypeError as exc:
            fail(f"model params do not match this behavtrack ({exc})", "retrain the model")
        arrays = data["arrays"]
        sb = np.asarray(arrays.get("state_behavior", range(len(behs))))
        if sb.ndim != 1 or len(sb) == 0 or sb.min() < 0 or sb.max() >= len(behs):
            fail("model array 'state_behavior' does not index the behaviours",
                 "the file was edited or truncated")
        k, d, nb = len(sb), len(feats), len(behs)
        full = params.get("covariance_type") == "full"
        shapes = {"center": (d,), "scale": (d,), "startprob": (k,), "transmat": (k, k),
                  "means": (k, d), "covars": (k, d, d) if full else (k, d),
                  "state_counts": (nb,)}
        got: dict[str, np.ndarray] = {}
        for name, shape in shapes.items():
            if name not in arrays:
                fail(f"model array {name!r} is missing", "retrain the model")
            arr = np.asarray(arrays[name], dtype=float)
            if arr.shape != shape:
                fail(f"model array {name!r} has shape {arr.shape}, expected {shape} "
                     f"for {k} states x {d} features", "the file was edited or truncated")
            if not np.isfinite(arr).all():
                fail(f"model array {name!r} holds a non-finite value")
            got[name] = arr
        if not np.isclose(got["startprob"].sum(), 1) or not np.allclose(
                got["transmat"].sum(1), 1) or (got["transmat"] < 0).any():
            fail("model probabilities do not sum to 1", "the file was edited or truncated")
        var = got["covars"] if not full else np.linalg.eigvalsh(got["covars"])
        if (var <= 0).any():
            fail("model covariances are not positive definite")
        if (got["scale"] <= 0).any():
            fail("model feature scales must be positive")
        model.feature_names_, model.behaviors_ = list(feats), list(behs)
        model.center_, model.scale_ = got["center"], got["scale"]
        model.startprob_, model.transmat_ = got["startprob"], got["transmat"]
        model.means_, model.covars_ = got["means"], got["covars"]
        model.state_counts_ = got["state_counts"].astype(int)
        model.state_behavior_ = sb.astype(int)
        model.fps_ = data.get("fps")
        model.training_checksum_ = str(data["training_checksum"])
        model.metrics_ = data.get("metrics") or {}
        return model

    @classmethod
    def load(cls, path: str | os.PathLike) -> HMMClassifier:
        """Read and validate a model JSON file."""
        from behavtrack.strategies.model_file import read_model_json

        return cls.from_dict(read_model_json(path), source=str(path))
