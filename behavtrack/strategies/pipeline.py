"""Classifying a session's features, and training from labelled sessions, in memory.

:func:`classify_features` decodes every animal of a feature table with a model (labels and
posteriors per frame); :func:`check_events`, :func:`detect_pokes` and :func:`name_by_arena`
prepare a session's events and names; :func:`train_model` fits a classifier on labelled
sessions (session folders or BORIS exports, :func:`load_labeled_session`,
:func:`labeled_from_boris`) and measures it on held-out sessions (and saves it where asked).
Nothing else here writes files: :mod:`behavtrack.workflows.classify` writes a session's output
folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import progress
from behavtrack.io.arena import Arena
from behavtrack.io.bouts import BEHAVIORS, bouts_to_frames
from behavtrack.io.events import EVENT_COLUMNS

__all__ = ["LabeledSession", "classify_features", "decoding_model", "name_by_arena", "detect_pokes",
           "load_labeled_session", "labeled_from_boris", "boris_frame_labels", "train_model",
           "check_events", "evaluate", "predict_sessions", "unlabeled_tables",
           "MUTUAL_BEHAVIORS", "CLASSIFIERS"]





# ---- inputs --------------------------------------------------------------------------------
def as_arena(arena: Arena | str | os.PathLike | None) -> Arena | None:
    if arena is None or isinstance(arena, Arena):
        return arena
    from behavtrack.io.arena import load_arena

    return load_arena(arena)


def as_events(events: pd.DataFrame | str | os.PathLike | None, fps: float | None
               ) -> tuple[pd.DataFrame | None, Path | None]:
    if events is None:
        return None, None
    if isinstance(events, pd.DataFrame):
        return events, None
    from behavtrack.io.events import load_events

    return load_events(events, fps=fps), Path(events)


def check_events(events: pd.DataFrame, fps: float, n_frames: int, source: str = "events"
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Check an events table against the pose: frame rate agreement and time span.

    Events carrying both ``frame`` and ``time_s`` must agree with the pose's frame rate within
    1 % (else :class:`InputError`). Events after the pose's last frame are kept in the table
    but noted; the pose running longer than the log is noted too.

    Returns
    -------
    events, notes
        The events with ``frame`` filled from ``time_s`` where missing, and remarks.

    """
    notes: list[str] = []
    ev = events.copy()
    for col in ("time_s", "subject", "event"):
        if col not in ev.columns:
            raise InputError(source, f"events table has no {col!r} column",
                             "columns: time_s (or frame), subject, event")
    t = pd.to_numeric(ev["time_s"], errors="coerce").to_numpy(dtype=float)
    frame = (pd.to_numeric(ev["frame"], errors="coerce").to_numpy(dtype=float)
             if "frame" in ev.columns else np.full(len(ev), np.nan))
    both = np.isfinite(t) & np.isfinite(frame) & (t > 1.0)
    if both.sum() >= 2:
        implied = float(np.median(frame[both] / t[both]))
        if abs(implied - fps) > 0.01 * fps:
            raise InputError(source, f"events imply {implied:.3g} fps (frame / time_s) but the "
                             f"pose has {fps:.3g} fps", "give the right fps=, or events whose "
                             "frame numbers belong to this video")
    frame = np.where(np.isfinite(frame), frame, np.round(t * fps))
    ev["frame"] = pd.array(np.where(np.isfinite(frame), frame, np.nan), dtype="Float64").round(
        ).astype("Int64")
    if "value" not in ev.columns:
        ev["value"] = np.nan
    duration = n_frames / fps
    late = int(np.sum(t > duration))
    if late:
        notes.append(f"{late} event(s) fall after the pose ends at {duration:.1f} s; "
                     "they are kept in events.csv but no frame is classified there")
    if len(t) and np.nanmax(t) < 0.5 * duration:
        notes.append(f"the events end at {np.nanmax(t):.1f} s, long before the pose "
                     f"({duration:.1f} s): the log may be truncated")
    return ev, notes


def detect_pokes(pose: xr.Dataset, arena: Arena, min_gap_s: float = 0.2) -> pd.DataFrame:
    """Pokes detected from the pose: the nose entering the own poke-port zone.

    Entries separated by less than ``min_gap_s`` outside the zone count as one poke.

    Returns
    -------
    pandas.DataFrame
        Events columns ``time_s, subject, event ("poke"), value (NaN), frame``.

    """
    from behavtrack.features.clean import assign_compartments, body_center, pose_array

    fps = float(pose.attrs["fps"])
    pos = pose_array(pose)
    keypoints = [str(k) for k in pose["keypoint"].values]
    inds = [str(i) for i in np.atleast_1d(pose["individual"].values)]
    center = body_center(pos, keypoints)
    nose = pos[:, keypoints.index("nose")] if "nose" in keypoints else center
    nose = np.where(np.isnan(nose), center, nose)
    comp_of = assign_compartments(pose, arena)
    rows = []
    gap = max(1, int(round(min_gap_s * fps)))
    for j, ind in enumerate(inds):
        comp = arena.compartments.get(comp_of.get(ind, ""), None)
        if comp is None or comp.poke_port is None:
            continue
        inside = comp.poke_port.contains(nose[:, j])
        onsets = np.flatnonzero(inside[1:] & ~inside[:-1]) + 1
        if len(inside) and inside[0]:
            onsets = np.concatenate([[0], onsets])
        if len(onsets) > 1:
            exits = np.flatnonzero(~inside[1:] & inside[:-1]) + 1
            # time spent outside before each onset
            prev_exit = np.searchsorted(exits, onsets) - 1
            outside = np.where(prev_exit >= 0, onsets - exits[np.maximum(prev_exit, 0)], gap)
            onsets = onsets[outside >= gap]
        rows.append(pd.DataFrame({"time_s": onsets / fps, "subject": ind, "event": "poke",
                                  "value": np.nan, "frame": onsets}))
    if not rows:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    out = pd.concat(rows, ignore_index=True).sort_values("frame", kind="stable")
    return out.reset_index(drop=True)[EVENT_COLUMNS]


# ---- classification --------------------------------------------------------------------
def name_by_arena(pose: xr.Dataset, arena: Arena | None) -> tuple[xr.Dataset, list[str]]:
    """Rename a pose's individuals to the arena's when the arena knows none of them.

    A tracker's ``individual0``/``individual1`` become the individuals of the compartments
    they spend most frames in (e.g. ``mouse1`` left, ``mouse2`` right), so events, outputs
    and statistics use one naming. Returns the (possibly renamed) pose and notes.
    """
    from behavtrack.features.clean import assign_compartments

    if arena is None or not arena.individuals or getattr(arena, "is_open", False):
        return pose, []
    inds = [str(i) for i in np.atleast_1d(pose["individual"].values)]
    if set(inds) & set(arena.individuals):
        return pose, []
    comp_of = assign_compartments(pose, arena)
    new = {i: arena.compartments[c].individual for i, c in comp_of.items()
           if arena.compartments[c].individual}
    if len(new) != len(inds) or len(set(new.values())) != len(inds):
        return pose, [f"individuals {inds} are not the arena's {arena.individuals} and could "
                      "not be matched to its compartments; names kept"]
    out = pose.assign_coords(individual=[new[i] for i in inds])
    return out, ["individuals renamed by compartment: " + ", ".join(
        f"{i} -> {new[i]}" for i in inds)]


def decoding_model(model: Any, columns: Sequence[str], skipped: dict[str, str]
                   ) -> tuple[Any | None, list[str]]:
    """Return the model that decodes a table of these columns, and what it cannot tell.

    ``waiting`` is dropped without partition/port features (``skipped["geometry"]``),
    ``interaction`` without social ones (``skipped["social"]``), and ``approach`` when both
    are absent; features the model needs but ``columns`` lacks are treated as unknown
    (:meth:`restrict`). ``None`` when nothing but ``other`` can be told apart.

    Returns
    -------
    model, notes
        ``model`` itself or a restricted copy (or ``None``), and remarks for the user.

    """
    notes: list[str] = []
    drop = []
    if "geometry" in skipped and "waiting" in model.behaviors_:
        drop.append("waiting")
    if "social" in skipped and "interaction" in model.behaviors_:
        drop.append("interaction")
    if "social" in skipped and "geometry" in skipped and "approach" in model.behaviors_:
        drop.append("approach")
    present = set(columns)
    have = [f for f in model.feature_names_ if f in present]
    lacking = [f for f in model.feature_names_ if f not in present]
    m = model
    if lacking or drop:
        if set(drop) >= set(model.behaviors_) - {"other"}:
            m = None
        else:
            m = model.restrict(have, drop)
        if lacking:
            shown = ", ".join(lacking[:6]) + (f" and {len(lacking) - 6} more"
                                              if len(lacking) > 6 else "")
            notes.append(f"{len(lacking)} of the model's {len(model.feature_names_)} features "
                         f"are not available ({shown}); the model treats them as unknown")
        if drop:
            lacking_inputs = [w for w, g in (("an arena", "geometry"), ("a partner", "social"))
                              if g in skipped]
            notes.append(f"behaviour(s) {drop} cannot be detected without "
                         f"{' or '.join(lacking_inputs)}; never predicted")
    return m, notes


def classify_features(features: pd.DataFrame, model: Any
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Decode every animal of a feature table with ``model``.

    ``waiting`` is dropped without partition/port features, ``interaction`` without social
    ones, and ``approach`` when both are absent. Features the model needs but the table lacks
    are marginalised out (Gaussian HMM) or treated as unknown (hybrid). The animals of a pair
    are decoded together where the model supports it (mutual behaviours pooled, see
    :meth:`behavtrack.strategies.hybrid.HybridHMMClassifier.decode_group`). Frames where the
    animal is not tracked at all are labelled ``other`` with NaN posteriors.

    A table computed at some frames only (``compute_features(rows=model.emission_rows(...))``,
    ``attrs`` with ``n_frames`` and ``tracked_frames``) is decoded to every frame of the
    recording, as the full table would be.

    Returns
    -------
    labels, proba, notes
        individual -> behaviour per frame; individual -> posteriors; remarks.

    """
    tracked_frames = features.attrs.get("tracked_frames")
    n_frames = int(features.attrs["n_frames"]) if tracked_frames is not None else None
    if n_frames is not None and not hasattr(model, "emission_rows"):
        raise InputError("features", "holds some frames only (computed with rows=), which "
                         f"a {type(model).__name__} cannot decode",
                         "compute the features at every frame")
    m, notes = decoding_model(model, features.columns, features.attrs.get("skipped", {}))
    fps = features.attrs.get("fps")
    inds = list(dict.fromkeys(features.index.get_level_values("individual")))
    tables = []
    where = features.index.get_level_values("individual")
    for ind in inds:
        rows = np.flatnonzero(where == ind)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):  # one block of rows: a view
            x = features.iloc[rows[0]:rows[-1] + 1].droplevel("individual")
        else:
            x = features.xs(ind, level="individual")
        x.attrs = dict(features.attrs)
        tables.append(x)
    if m is None:  # nothing but "other" can be told apart
        decoded = []
        for x in tables:
            n_x = len(x) if n_frames is None else n_frames
            p = np.zeros((n_x, len(BEHAVIORS)))
            p[:, BEHAVIORS.index("other")] = 1.0
            decoded.append((np.full(n_x, "other", dtype=object), p))
    elif n_frames is not None:
        decoded = [(lab, _reorder(p, m.behaviors_))
                   for lab, p in m.decode_group(tables, fps, n_frames=n_frames)]
    elif hasattr(m, "decode_group"):
        decoded = [(lab, _reorder(p, m.behaviors_)) for lab, p in m.decode_group(tables, fps)]
    else:
        decoded = []
        for x in tables:
            lab, p = m.decode(x, fps=fps)
            decoded.append((lab, _reorder(p, m.behaviors_)))
    labels, proba = {}, {}
    for j, (ind, x, (lab, p)) in enumerate(zip(inds, tables, decoded, strict=True)):
        lost = None
        if tracked_frames is not None:
            lost = ~np.asarray(tracked_frames)[:, j]
        elif "tracked" in x.columns:
            lost = x["tracked"].to_numpy() < 0.5
        if lost is not None:
            if lost.any():
                lab = lab.copy()
                lab[lost] = "other"
                p[lost] = np.nan
        labels[ind], proba[ind] = lab, p
    return labels, proba, notes


def _reorder(p: np.ndarray, behaviors: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(p), len(BEHAVIORS)))
    for j, b in enumerate(behaviors):
        out[:, BEHAVIORS.index(b)] = p[:, j]
    return out










def clean_for_pokes(ds: xr.Dataset, arena: Arena) -> xr.Dataset:
    from behavtrack.features.clean import clean_pose

    return clean_pose(ds, arena)[0]




def jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


# ---- training --------------------------------------------------------------------------
@dataclass
class LabeledSession:
    """One labelled session ready for training: features and per-animal truth."""

    name: str
    features: pd.DataFrame
    labels: dict[str, np.ndarray]


def _truth_from_session(sess: Any, folder: Path, inds: list[str], n: int, fps: float
                        ) -> dict[str, np.ndarray]:
    labels = getattr(sess, "labels", None)
    if labels is not None and len(labels):
        out = {}
        for ind in inds:
            rows = labels[labels["individual"].astype(str) == ind]
            lab = np.full(n, "", dtype=object)
            fr = rows["frame"].to_numpy(dtype=int)
            ok = (fr >= 0) & (fr < n)
            lab[fr[ok]] = rows["behavior"].astype(str).str.lower().to_numpy()[ok]
            out[ind] = lab
        return out
    if (folder / "bouts.csv").is_file():
        from behavtrack.io.bouts import read_bouts_csv

        b = read_bouts_csv(folder / "bouts.csv")
        return {ind: bouts_to_frames(b, n, fps, ind) for ind in inds}
    raise InputError(folder, "has no labels.csv or bouts.csv to train from",
                     "label it (simulate, BORIS, or the napari review) first")


#: Features computed for training: the feature table, every own-to-partner body-part distance
#: and short-window statistics (see :func:`behavtrack.features.compute_features`).
TRAINING_FEATURES: dict[str, Any] = {"pair_keypoints": True}


def _training_features(ds: xr.Dataset, arena: Arena | None, events: pd.DataFrame | None
                       ) -> pd.DataFrame:
    from behavtrack.features import compute_features
    from behavtrack.features.table import DEFAULT_WINDOW_FEATURES

    return compute_features(ds, arena, events, windows=DEFAULT_WINDOW_FEATURES,
                            **TRAINING_FEATURES)


def load_labeled_session(folder: str | os.PathLike,
                         aliases: dict[str, str] | None = None,
                         individuals: Sequence[str] | None = None) -> LabeledSession:
    """Features and truth of a labelled session folder (``labels.csv`` or ``bouts.csv``)."""
    from behavtrack.io.pose import check_analysable, require_fps
    from behavtrack.io.session import load_session

    folder = Path(folder)
    sess = load_session(folder)
    ds = check_analysable(sess.load_pose(aliases=aliases), individuals=individuals)
    require_fps(ds)
    feats = _training_features(ds, sess.arena, sess.events)
    inds = feats.attrs["individuals"]
    truth = _truth_from_session(sess, folder, inds, feats.attrs["n_frames"], feats.attrs["fps"])
    return LabeledSession(folder.name, feats, truth)


#: Behaviours of the pair: a bout coded for one subject holds for both animals.
MUTUAL_BEHAVIORS: tuple[str, ...] = ("interaction",)


def boris_frame_labels(bouts: pd.DataFrame, individuals: Sequence[str], n_frames: int,
                       fps: float, mutual: Sequence[str] = MUTUAL_BEHAVIORS,
                       source: str | os.PathLike = "BORIS") -> tuple[dict[str, np.ndarray],
                                                                      list[str]]:
    """Per-frame training labels of each individual from BORIS bouts.

    - A bout of a behaviour in ``mutual`` (``interaction``) is a bout of the pair: it labels
      every individual, whichever subject it was coded for. So does a bout coded with no
      focal subject.
    - An individual that is coded (it has bouts of its own, or the export codes a mutual
      behaviour) is ``other`` wherever no bout covers it: the coder looked and saw none of
      the coded behaviours.
    - An individual without rows of its own, in an export without mutual behaviours, is
      unlabelled (``""``): nobody looked at it.

    Parameters
    ----------
    bouts
        From :func:`behavtrack.io.boris.load_boris` (names already mapped).
    individuals
        The pose's individuals.
    n_frames, fps
        Length and frame rate of the pose.
    mutual
        Behaviours of the pair (``()``: every bout belongs to its subject alone).
    source
        The BORIS file, named in errors.

    Returns
    -------
    labels, notes
        individual -> labels; remarks (bouts cut at the end of the pose).

    """
    notes: list[str] = []
    inds = [str(i) for i in individuals]
    subj = bouts["individual"].fillna("").astype(str)
    unknown = sorted(set(subj) - set(inds) - {""})
    if unknown:
        example = repr({unknown[0]: inds[0]} if inds else {"SUBJECT": "INDIVIDUAL"})
        raise InputError(source, f"BORIS subject(s) {unknown} match no individual of the pose "
                         f"{inds}", f"map them with subject_map={example}")
    duration = n_frames / fps
    stop = bouts["stop_s"].to_numpy(dtype=float)
    if len(stop) and np.nanmax(stop) > duration + 0.5 / fps:
        over = float(np.nanmax(stop) - duration)
        cut = int((bouts["start_s"].to_numpy(dtype=float) >= duration).sum())
        notes.append(f"{source}: the BORIS export runs {over:.1f} s beyond the pose "
                     f"({duration:.1f} s); labels after the pose's last frame are cut"
                     + (f" ({cut} bout(s) dropped)" if cut else ""))
    is_mutual = (bouts["behavior"].astype(str).isin(list(mutual)).to_numpy()
                 | (subj == "").to_numpy())
    coded = set(subj[~is_mutual]) | (set(inds) if is_mutual.any() else set())
    out: dict[str, np.ndarray] = {}
    for ind in inds:
        if ind not in coded:
            out[ind] = np.full(n_frames, "", dtype=object)
            continue
        own = bouts[(subj == ind).to_numpy() & ~is_mutual]
        lab = bouts_to_frames(own, n_frames, fps, ind)
        pair = bouts[is_mutual].assign(individual=ind)
        if len(pair):
            both = bouts_to_frames(pair, n_frames, fps, ind, fill="")
            lab = np.where(both != "", both, lab)
        out[ind] = lab
    return out, notes


def labeled_from_boris(boris: str | os.PathLike, pose: str | os.PathLike,
                       arena: Arena | str | os.PathLike | None = None,
                       events: str | os.PathLike | None = None,
                       behavior_map: dict[str, str] | None = None,
                       subject_map: dict[str, str] | None = None,
                       *, fps: float | None = None,
                       aliases: dict[str, str] | None = None,
                       mutual: Sequence[str] = MUTUAL_BEHAVIORS,
                       notes: list[str] | None = None,
                       individuals: Sequence[str] | None = None) -> LabeledSession:
    """Return a labelled session from a BORIS export and the pose of the same video.

    Parameters
    ----------
    boris, pose
        The BORIS export and the pose file of the same video.
    arena, events
        Optional arena and rig log of the session.
    behavior_map, subject_map
        BORIS behaviour -> behavtrack behaviour (``{"interact": "interaction"}``) and BORIS
        subject -> pose individual.
    fps
        Frame rate of the pose, when the file does not store it (else the arena's).
    aliases
        Extra body-part aliases for the pose file.
    mutual
        Behaviours of the pair (see :func:`boris_frame_labels`).
    notes
        A list that receives remarks (labels cut at the end of the pose).
    individuals
        The two animals to train on, as named in the pose file; needed when it has more
        than two.

    """
    from behavtrack.io.boris import load_boris
    from behavtrack.io.pose import check_analysable, load_pose

    arena = as_arena(arena)
    ds = load_pose(pose, fps=fps, arena=arena, aliases=aliases)
    if not ds.attrs.get("fps"):
        raise InputError(pose, "has no frame rate (the file does not store one, and no "
                         "sidecar or video of the same name is beside it)",
                         "pass fps= (the frame rate), or an arena with fps:")
    ds = check_analysable(ds, individuals=individuals)
    rate = float(ds.attrs["fps"])
    ev, _ = as_events(events, rate)
    feats = _training_features(ds, arena, ev)
    bouts = load_boris(boris, behavior_map=behavior_map, subject_map=subject_map, fps=rate)
    labels, extra = boris_frame_labels(bouts, feats.attrs["individuals"],
                                       feats.attrs["n_frames"], rate, mutual, boris)
    if notes is not None:
        notes.extend(extra)
    name = Path(boris).parent.name if Path(boris).stem == "boris" else Path(boris).stem
    return LabeledSession(name, feats, labels)


def unlabeled_tables(folder: str | os.PathLike, aliases: dict[str, str] | None = None,
                     individuals: Sequence[str] | None = None) -> list[pd.DataFrame]:
    """Per-animal feature tables of a session folder (no labels needed), for EM."""
    from behavtrack.features import compute_features
    from behavtrack.io.pose import check_analysable
    from behavtrack.io.session import load_session

    sess = load_session(folder)
    ds = check_analysable(sess.load_pose(aliases=aliases), individuals=individuals)
    ev = sess.events
    if ev is None and sess.arena is not None and ds.attrs.get("fps"):
        ev = detect_pokes(clean_for_pokes(ds, sess.arena), sess.arena)
    feats = compute_features(ds, sess.arena, ev)
    out = []
    for ind in feats.attrs["individuals"]:
        x = feats.xs(ind, level="individual")
        x.attrs = dict(feats.attrs)
        out.append(x)
    return out


def _sequences(sessions: Sequence[LabeledSession]) -> tuple[list[pd.DataFrame], list, list]:
    """Per-animal feature tables, their labels and their session names."""
    X, y, groups = [], [], []
    for s in sessions:
        for ind, lab in s.labels.items():
            x = s.features.xs(ind, level="individual")
            x.attrs = dict(s.features.attrs)
            X.append(x)
            y.append(lab)
            groups.append(s.name)
    return X, y, groups


def predict_sessions(model: Any, sessions: Sequence[LabeledSession]) -> list[np.ndarray]:
    """Predicted labels of every animal of every session, in :func:`_sequences` order.

    The animals of a session are decoded together when the model can
    (``decode_group``), as ``classify`` does.
    """
    X, _, groups = _sequences(sessions)
    out: list[np.ndarray] = []
    if not hasattr(model, "decode_group"):
        return [model.predict(x) for x in X]
    i = 0
    while i < len(X):
        j = i
        while j < len(X) and groups[j] == groups[i]:
            j += 1
        out += [lab for lab, _ in model.decode_group(X[i:j])]
        i = j
    return out


def evaluate(model: Any, sessions: Sequence[LabeledSession]) -> dict:
    """Frame and bout scores of ``model`` (anything with ``predict(X)``) on labelled sessions."""
    from behavtrack.strategies.metrics import bout_scores, frame_scores

    _, y, _ = _sequences(sessions)
    pred = predict_sessions(model, sessions)
    return {"frame": frame_scores(y, pred), "bout": bout_scores(y, pred)}


#: Classifiers :func:`train_model` can fit.
CLASSIFIERS = ("hybrid", "gaussian")


def train_model(
    labeled: Sequence[str | os.PathLike | LabeledSession],
    out: str | os.PathLike | None = None,
    *,
    classifier: str = "hybrid",
    folds: int = 4,
    covariance_type: str = "full",
    min_bout_s: float | None = None,
    em_iter: int = 0,
    seed: int = 0,
    unlabeled: Sequence[str | os.PathLike] = (),
    aliases: dict[str, str] | None = None,
    individuals: Sequence[str] | None = None,
) -> Any:
    """Train a classifier on labelled sessions, measure it on held-out sessions, save it as JSON.

    The held-out metrics come from cross-validation over sessions: the sessions (sorted by
    name, then shuffled with ``seed``) are split into ``folds`` groups; each group is
    classified by a model fitted on the others, and the scores pool those predictions. The
    saved model is then fitted on every session. The hybrid classifier chooses its own
    hyperparameters by an inner cross-validation inside each training set, so the held-out
    sessions never inform them (nested cross-validation).

    Parameters
    ----------
    labeled
        Session folders (with ``labels.csv`` or ``bouts.csv``) or :class:`LabeledSession`.
    out
        Model JSON to write (``None`` = do not write).
    classifier
        ``"hybrid"`` (gradient-boosted frame posteriors decoded by a duration-aware HMM,
        :class:`~behavtrack.strategies.hybrid.HybridHMMClassifier`) or ``"gaussian"``
        (the Gaussian-emission HMM, :class:`HMMClassifier`).
    folds
        Cross-validation folds over sessions (capped at the number of sessions; fewer than
        2 sessions or ``folds < 2`` = no held-out metrics).
    covariance_type, em_iter
        Passed to :class:`HMMClassifier` (gaussian only; EM refinement uses the training
        sessions' features without labels).
    min_bout_s
        Shortest bout (``None``: 0.5 s for the gaussian HMM, chosen by inner
        cross-validation for the hybrid).
    seed
        Seed of the fold assignment and of the classifier.
    unlabeled
        Session folders without labels whose features join the EM refinement
        (``em_iter > 0``; gaussian only).
    aliases
        Extra body-part aliases for the sessions' pose files.
    individuals
        The two animals to train on in each session folder, as named in its pose file;
        needed for poses of more than two.

    Returns
    -------
    HybridHMMClassifier or HMMClassifier
        The fitted model; ``metrics_`` holds the held-out scores (model and rule baseline).

    """
    from behavtrack.strategies.hmm import HMMClassifier
    from behavtrack.strategies.hybrid import HybridHMMClassifier
    from behavtrack.strategies.metrics import bout_scores, frame_scores
    from behavtrack.strategies.rules import RuleClassifier

    if classifier not in CLASSIFIERS:
        raise InputError("classifier", f"must be one of {', '.join(CLASSIFIERS)}, got "
                         f"{classifier!r}")
    if classifier == "hybrid" and em_iter:
        raise InputError("em_iter", "EM refinement is for the gaussian classifier only",
                         "drop em_iter, or use classifier='gaussian'")
    if out is not None and Path(out).is_dir():  # checked before the work
        raise InputError(out, "is a folder, not a model file", "give a path ending in .json")
    sessions = [s if isinstance(s, LabeledSession)
                else load_labeled_session(s, aliases, individuals)
                for s in progress(list(labeled), desc="features", unit="session")]
    if not sessions:
        raise InputError("labeled", "no labelled sessions given")
    names = [s.name for s in sessions]
    if len(set(names)) < len(names):  # e.g. two BORIS files named boris.csv
        seen: dict[str, int] = {}
        for s in sessions:
            seen[s.name] = seen.get(s.name, 0) + 1
            if names.count(s.name) > 1:
                s.name = f"{s.name}#{seen[s.name]}"
    sessions.sort(key=lambda s: s.name)
    extra = [unlabeled_tables(p, aliases, individuals) for p in unlabeled] if em_iter else []
    extra_x = [x for tables in extra for x in tables]

    def make() -> Any:
        if classifier == "hybrid":
            kw = {} if min_bout_s is None else {"min_bout_s": float(min_bout_s)}
            return HybridHMMClassifier(random_state=seed, **kw)
        return HMMClassifier(covariance_type=covariance_type,
                             min_bout_s=0.5 if min_bout_s is None else min_bout_s,
                             em_iter=em_iter, random_state=seed)

    def fit(train: list[LabeledSession]) -> Any:
        X, y, groups = _sequences(train)
        if classifier == "hybrid":
            return make().fit(X, y, groups=groups)
        return make().fit(X, y, unlabeled=X + extra_x if em_iter else ())

    metrics: dict[str, Any] = {"sessions": [s.name for s in sessions], "seed": seed,
                               "classifier": classifier}
    k = min(folds, len(sessions))
    if k >= 2:
        fold_of = np.random.default_rng(seed).permutation(len(sessions)) % k
        truth, hmm_pred, rule_pred = [], [], []
        rules = RuleClassifier()
        for f in progress(range(k), desc="cross-validation", unit="fold"):
            tr = [s for s, g in zip(sessions, fold_of, strict=True) if g != f]
            te = [s for s, g in zip(sessions, fold_of, strict=True) if g == f]
            m = fit(tr)
            Xt, yt, _ = _sequences(te)
            truth += yt
            hmm_pred += predict_sessions(m, te)
            rule_pred += [rules.predict(x) for x in Xt]
        hm = {"frame": frame_scores(truth, hmm_pred), "bout": bout_scores(truth, hmm_pred)}
        rb = {"frame": frame_scores(truth, rule_pred), "bout": bout_scores(truth, rule_pred)}
        metrics.update(
            method=f"{k}-fold cross-validation over sessions", n_test_sessions=len(sessions),
            folds={s.name: int(g) for s, g in zip(sessions, fold_of, strict=True)},
            hmm_frame_macro_f1=hm["frame"]["macro_f1"], hmm_bout_macro_f1=hm["bout"]["macro_f1"],
            rules_frame_macro_f1=rb["frame"]["macro_f1"],
            rules_bout_macro_f1=rb["bout"]["macro_f1"], hmm=hm, rules=rb,
        )
    model = fit(sessions)
    if em_iter:
        metrics["em"] = {"iterations": em_iter, "unlabeled_sessions": [str(p) for p in unlabeled]}
    model.metrics_ = json.loads(json.dumps(metrics, default=jsonable))
    if out is not None:
        model.save(out)
    return model
