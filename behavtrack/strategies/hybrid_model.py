"""A fitted hybrid model, for decoding: no scikit-learn estimator, no training code.

:class:`HybridDecoding` holds everything a fitted hybrid classifier does with new recordings:
the frames its trees evaluate (:meth:`~HybridDecoding.emission_rows`), their posteriors
(:meth:`~HybridDecoding.frame_proba`) and the duration-aware HMM that decodes them
(:meth:`~HybridDecoding.decode_group`, through hmmlearn's kernels in
:mod:`behavtrack.strategies.hmm_decode`). Two classes share it:

- :class:`behavtrack.strategies.hybrid.HybridHMMClassifier`, the scikit-learn estimator that
  fits the model (``behavtrack train``);
- :class:`HybridModel`, a model read from its JSON file for classifying only
  (:func:`behavtrack.strategies.model_file.load_fitted`): it imports neither scikit-learn nor
  hmmlearn's estimator layer (about a second at every start of ``behavtrack classify``), and
  evaluates the trees with scikit-learn's predictor only when scikit-learn is already loaded
  (a batch worker), else with the pure-numpy evaluator; both give the same numbers bit for
  bit (:mod:`behavtrack.strategies.gbm_json`).

Both decode alike, bit for bit (tested).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies.hmm_decode import (
    CHUNK,
    state_posteriors,
    state_posteriors_chunked,
    viterbi_path,
    viterbi_path_chunked,
)
from behavtrack.strategies.model_file import (
    RETRAIN,
    TRAIN_ONE,
    check_schema,
    model_error,
    rebuild_model,
)

__all__ = ["HYBRID_SCHEMA_VERSION", "KIND", "HybridDecoding", "HybridModel", "duration_hmm",
           "read_hybrid_dict"]

HYBRID_SCHEMA_VERSION = 1
KIND = "behavtrack.HybridHMMClassifier"
_FLOOR = 1e-6  # posteriors are clipped here before the log
#: Parameters decoding reads (the others only matter for fitting).
_DECODE_PARAMS = ("behaviors", "emission_hz", "min_bout_s", "mutual")


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


def read_hybrid_dict(data: Any, source: str = "<model>", *, backend: str = "auto"
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a hybrid model's JSON dict; return its parameters and its fitted attributes.

    Every problem raises the one-line :class:`~behavtrack.errors.InputError` naming
    ``source``. :meth:`behavtrack.strategies.hybrid.HybridHMMClassifier.from_dict` (the
    estimator) and :meth:`HybridModel.from_dict` (decoding only) both build on it; ``backend``
    is the trees' (:meth:`behavtrack.strategies.gbm_json.GBMPosterior.from_dict`).
    """
    from behavtrack.features.table import is_feature_name
    from behavtrack.strategies.gbm_json import GBMPosterior

    fail = model_error(source, RETRAIN)
    check_schema(data, fail, kind=KIND, version=HYBRID_SCHEMA_VERSION,
                 fields=("params", "feature_names", "behaviors", "arrays", "emission",
                         "posterior_scale", "min_bout_s", "prior_power", "training_checksum"),
                 name="hybrid model", kind_hint=TRAIN_ONE, version_hint=RETRAIN)
    feats, behs = list(data["feature_names"]), list(data["behaviors"])
    unknown = [f for f in feats if not isinstance(f, str) or not is_feature_name(f)]
    if unknown:
        fail(f"model feature(s) {unknown[:3]} are not features this behavtrack computes")
    bad = [b for b in behs if b not in BEHAVIORS]
    if bad or len(behs) < 2:
        fail(f"model behaviours {behs} are not 2 or more of {', '.join(BEHAVIORS)}")
    params = data["params"]
    if not isinstance(params, dict) or not set(_DECODE_PARAMS) <= set(params):
        fail("model params do not match this behavtrack (missing "
             f"{sorted(set(_DECODE_PARAMS) - set(params or {}))})")
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
    emission = GBMPosterior.from_dict(data["emission"], source=source, backend=backend)
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
    fitted = {
        "feature_names_": feats, "behaviors_": behs, "prior_": got["prior"],
        "state_counts_": got["state_counts"].astype(int),
        "mean_bout_s_": got["mean_bout_s"], "short_bout_s_": got["short_bout_s"],
        "switch_": got["switch"], "start_": got["start"],
        "posterior_scale_": scale, "min_bout_used_s_": mb, "prior_power_": power,
        "emission_": emission, "fps_": data.get("fps"),
        "selection_": data.get("selection") or {},
        "training_checksum_": str(data["training_checksum"]),
        "metrics_": data.get("metrics") or {},
    }
    return dict(params), fitted


class HybridDecoding:
    """Decoding of a fitted hybrid model (shared by the estimator and :class:`HybridModel`).

    Reads the fitted attributes (``feature_names_``, ``behaviors_``, ``emission_``,
    ``prior_``, ``mean_bout_s_``, ``short_bout_s_``, ``switch_``, ``start_``,
    ``posterior_scale_``, ``min_bout_used_s_``, ``prior_power_``, ``fps_``) and the parameters
    ``emission_hz`` and ``mutual``.
    """

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Return the feature matrix in model order (absent columns as NaN).

        A table already in model order gives a view of its values (no copy of a long
        recording's table); the result is never written into.
        """
        if isinstance(X, pd.DataFrame) and list(X.columns) == list(self.feature_names_):
            m = X.to_numpy(dtype=float, copy=False)
        else:
            m = X.reindex(columns=self.feature_names_).to_numpy(dtype=float)
        inf = np.isinf(m)
        return np.where(inf, np.nan, m) if inf.any() else m  # never writes into X

    def _topology(self, fps: float, min_bout_s: float) -> tuple[np.ndarray, ...]:
        cap = np.minimum(self.short_bout_s_, min_bout_s)
        min_frames = np.maximum(1, np.round(cap * fps)).astype(int)
        mean_frames = np.maximum(self.mean_bout_s_ * fps, min_frames)
        return duration_hmm(min_frames, mean_frames, self.switch_, self.start_ / self.start_.sum())

    def _allowed(self) -> np.ndarray:
        """Behaviours that may be decoded: all but those :meth:`restrict` dropped."""
        return np.array([b not in getattr(self, "dropped_", ()) for b in self.behaviors_])

    def _scores(self, proba: np.ndarray, scale: float, power: float,
                allowed: np.ndarray | None) -> np.ndarray:
        """Log emission score of each behaviour from frame posteriors (row by row)."""
        score = scale * (np.log(np.clip(proba, _FLOOR, 1.0)) - power * np.log(self.prior_))
        if allowed is not None:
            score[:, ~allowed] = -1e9
        return score

    def _decode_scores(self, proba: np.ndarray, fps: float, scale: float, min_bout_s: float,
                       power: float, allowed: np.ndarray | None = None,
                       posteriors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Viterbi codes and collapsed posteriors from frame posteriors."""
        score = self._scores(proba, scale, power, allowed)
        startprob, transmat, sb = self._topology(fps, min_bout_s)
        obs = np.ascontiguousarray(score[:, sb])
        with np.errstate(divide="ignore", under="ignore"):
            _, states = viterbi_path(startprob, transmat, obs)
            if not posteriors:
                return sb[states], None
            post = state_posteriors(startprob, transmat, obs)
        out = np.zeros((len(post), len(self.behaviors_)))
        np.add.at(out.T, sb, post.T)
        return sb[states], out

    def decode_chunked(self, proba_of: Callable[[int, int], np.ndarray], n_frames: int,
                       fps: float, allowed: np.ndarray | None = None, chunk: int = CHUNK,
                       posteriors: bool = True, out: np.ndarray | None = None,
                       method: str = "windows") -> tuple[np.ndarray, np.ndarray | None]:
        """Decode as :meth:`_decode_scores` does ``proba_of(0, n_frames)``, chunk by chunk.

        Memory is O(chunk x states) besides the outputs: the HMM is decoded by
        :func:`~behavtrack.strategies.hmm_decode.viterbi_path_chunked` (the same codes) and
        :func:`~behavtrack.strategies.hmm_decode.state_posteriors_chunked` (the same
        posteriors to rounding, 1e-12), with the fitted ``posterior_scale_``,
        ``min_bout_used_s_`` and ``prior_power_`` as :meth:`decode_group` uses them.

        Parameters
        ----------
        proba_of
            ``proba_of(start, stop)``: the ``(stop - start, n_behaviors)`` frame posteriors
            of those frames (as :meth:`frame_proba` gives, pooled over a pair as
            :meth:`decode_group` pools them). Called for overlapping ranges several times
            per frame (about 2 + 2 x 256 / chunk), it must give the same numbers each time.
        n_frames, fps
            Length and frame rate of the recording.
        allowed
            Behaviours that may be decoded (``False``: never); default all but ``dropped_``
            (as :meth:`decode_group`).
        chunk
            Frames per chunk.
        posteriors
            ``False``: codes only (``None`` for the posteriors).
        out
            Optional ``(n_frames, n_behaviors)`` float64 array to write the posteriors into
            (e.g. a memory map); it is overwritten.
        method
            Of :func:`~behavtrack.strategies.hmm_decode.viterbi_path_chunked`: ``"windows"``
            (fast, checked) or ``"exact"`` (guaranteed, about 7 times slower).

        Returns
        -------
        codes, posteriors
            Index in ``behaviors_`` of each frame's decoded behaviour (int64), and the
            ``(n_frames, n_behaviors)`` float64 posteriors (``out`` if given).

        """
        self._check_fitted()
        n, nb = int(n_frames), len(self.behaviors_)
        if allowed is None:
            allowed = self._allowed()
        startprob, transmat, sb = self._topology(float(fps), self.min_bout_used_s_)

        def scores_of(start: int, stop: int) -> np.ndarray:  # as _decode_scores, row by row
            return self._scores(proba_of(start, stop), self.posterior_scale_,
                                self.prior_power_, allowed)[:, sb]

        with np.errstate(divide="ignore", under="ignore"):
            codes = sb[viterbi_path_chunked(startprob, transmat, scores_of, n, chunk=chunk,
                                            method=method)]
            if not posteriors:
                return codes, None
            if out is None:
                out = np.zeros((n, nb))
            elif out.shape != (n, nb):
                raise ValueError(f"out has shape {out.shape}, not {(n, nb)}")
            else:
                out[...] = 0.0
            for start, stop, post in state_posteriors_chunked(startprob, transmat, scores_of,
                                                              n, chunk=chunk):
                np.add.at(out[start:stop].T, sb, post.T)
        return codes, out

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
        allowed = self._allowed()
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
                 ) -> HybridDecoding:
        """Return a copy that never predicts ``drop_behaviors``.

        Features not in ``features`` are unknown to the trees (routed as missing values), so
        the copy needs no refit.
        """
        self._check_fitted()

        new = copy.copy(self)
        new.dropped_ = tuple(b for b in drop_behaviors if b in self.behaviors_)
        if len(new.dropped_) >= len(self.behaviors_):
            raise InputError("model", "every behaviour would be dropped")
        return new


class HybridModel(HybridDecoding):
    """A fitted hybrid model read from its JSON file, for classifying only.

    It decodes exactly as the :class:`~behavtrack.strategies.hybrid.HybridHMMClassifier` it
    was saved from (same methods, same numbers) without importing scikit-learn; it cannot be
    refitted (load it with :func:`behavtrack.strategies.model_file.load_model` for that).

    Parameters
    ----------
    **params
        The estimator's parameters, as saved (``behaviors``, ``emission_hz``, ``mutual``, ...).

    """

    def __init__(self, **params: Any) -> None:
        self._params = dict(params)
        for key, value in params.items():
            setattr(self, key, value)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the parameters the model was fitted with."""
        return dict(self._params)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<model>") -> HybridModel:
        """Validate a model dict (:func:`read_hybrid_dict`) and build the model."""
        params, fitted = read_hybrid_dict(data, source, backend="loaded")
        return rebuild_model(cls, params, fitted, source)

    def __repr__(self) -> str:
        n = len(getattr(self, "feature_names_", ()))
        return f"HybridModel(behaviors={getattr(self, 'behaviors_', None)}, features={n})"
