"""Classify in memory: a pose or a feature table in, per-frame labels with posteriors out.

Nothing is written; :func:`behavtrack.workflows.classify.classify_session` is the whole-session
workflow that writes the output folder from the same pieces.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.io.bouts import BEHAVIORS, frames_to_bouts

__all__ = ["LABEL_COLUMNS", "classify", "bouts_from_labels"]

#: Columns of the frame-label table :func:`classify` returns (the ``ethogram.csv`` layout).
LABEL_COLUMNS = ["frame", "time_s", "individual", "behavior"] + [f"p_{b}" for b in BEHAVIORS]


def classify(data: xr.Dataset | pd.DataFrame, model: Any = None, *, arena: Any = None,
             events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-frame behaviour of every animal, with posteriors, as a DataFrame.

    Parameters
    ----------
    data
        A pose (movement poses Dataset with ``attrs["fps"]``, e.g. from
        :func:`behavtrack.io.pose.load_pose`): the features the model needs are computed from
        it, with ``arena`` and ``events``. Or a feature table from
        :func:`behavtrack.features.compute_features` (model features it lacks are unknown to
        the model).
    model
        A fitted classifier, a model JSON path, or ``None``: the shipped model that fits
        (:func:`behavtrack.strategies.model_file.choose_model`).
    arena, events
        Used with a pose (see :func:`behavtrack.features.compute_features`).

    Returns
    -------
    pandas.DataFrame
        :data:`LABEL_COLUMNS`: ``frame, time_s, individual, behavior, p_approach, p_waiting,
        p_interaction, p_other`` (probability 0 for behaviours the model does not know, NaN
        where the animal is not tracked). ``attrs["notes"]`` holds the remarks, and
        ``attrs["model"]`` the model's kind.

    Examples
    --------
    >>> import behavtrack as bt
    >>> from behavtrack.simulate import simulate_session
    >>> s = simulate_session(duration_s=20, seed=3)
    >>> labels = bt.classify(s.pose, arena=s.arena, events=s.events)
    >>> list(labels.columns[:4]), labels["individual"].unique().tolist()
    (['frame', 'time_s', 'individual', 'behavior'], ['mouse1', 'mouse2'])
    >>> bool(labels["behavior"].isin(["approach", "waiting", "interaction", "other"]).all())
    True

    """
    from behavtrack.features import compute_features
    from behavtrack.features.table import feature_request
    from behavtrack.strategies.model_file import choose_model, load_model, shipped_model_path
    from behavtrack.strategies.pipeline import classify_features

    notes: list[str] = []
    is_pose = isinstance(data, xr.Dataset)
    if not is_pose and not isinstance(data, pd.DataFrame):
        raise InputError("data", f"must be a pose Dataset or a feature table, got "
                         f"{type(data).__name__}")
    if model is None:
        if is_pose:
            name, why = choose_model(arena, int(data.sizes.get("individual", 1)))
        else:
            n = data.index.get_level_values("individual").nunique()
            geometry = "geometry" not in data.attrs.get("skipped", {})
            name, why = (("default", "features with arena geometry") if geometry or n != 2
                         else ("social", "two animals, features without arena geometry"))
        model = load_model(shipped_model_path(name))
        notes.append(f"model: the shipped {name} model ({why})")
    elif isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    feats = (compute_features(data, arena, events, **feature_request(model.feature_names_))
             if is_pose else data)
    labels, proba, more = classify_features(feats, model)
    fps = float(feats.attrs.get("fps") or 0)
    if fps <= 0:
        raise InputError("data", "has no frame rate (attrs['fps'])",
                         "load the pose with fps=, or compute features from such a pose")
    parts = []
    for ind, lab in labels.items():
        n = len(lab)
        part: dict[str, Any] = {"frame": np.arange(n), "time_s": np.round(np.arange(n) / fps, 4),
                                "individual": ind, "behavior": np.asarray(lab, dtype=object)}
        for j, b in enumerate(BEHAVIORS):
            part[f"p_{b}"] = np.round(np.asarray(proba[ind], dtype=float)[:, j], 4)
        parts.append(pd.DataFrame(part))
    out = (pd.concat(parts, ignore_index=True)[LABEL_COLUMNS] if parts
           else pd.DataFrame(columns=LABEL_COLUMNS))
    out.attrs.update(notes=notes + list(feats.attrs.get("notes", [])) + more, fps=fps,
                     model=type(model).__name__)
    return out


def bouts_from_labels(labels: pd.DataFrame, fps: float | None = None) -> pd.DataFrame:
    """Bouts of a frame-label table (each animal's runs of one behaviour).

    Parameters
    ----------
    labels
        ``frame, individual, behavior`` (+ ``p_*`` for the bouts' confidence), as
        :func:`classify` returns.
    fps
        Frames per second (default ``labels.attrs["fps"]``).

    Returns
    -------
    pandas.DataFrame
        The internal bouts table of :mod:`behavtrack.io.bouts` (``individual, behavior,
        start_frame, stop_frame`` (exclusive), ``start_s, stop_s, duration_s, confidence``).

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"frame": range(6), "individual": "m1",
    ...                     "behavior": ["other"] * 2 + ["interaction"] * 3 + ["other"]})
    >>> bouts_from_labels(lab, fps=10.0)[["behavior", "start_s", "stop_s"]].values.tolist()
    [['other', 0.0, 0.2], ['interaction', 0.2, 0.5], ['other', 0.5, 0.6]]

    """
    fps = fps or labels.attrs.get("fps")
    if not fps:
        raise InputError("fps", "is needed to time the bouts", "pass fps=")
    missing = {"frame", "individual", "behavior"} - set(labels.columns)
    if missing:
        raise InputError("labels", f"lacks column(s) {sorted(missing)}",
                         "give the table behavtrack.classify returns")
    parts = []
    for ind, rows in labels.groupby("individual", sort=False):
        rows = rows.sort_values("frame")
        conf = None
        pcols = [f"p_{b}" for b in BEHAVIORS if f"p_{b}" in rows.columns]
        if pcols:
            p = rows[pcols].to_numpy(dtype=float)
            top = np.max(np.nan_to_num(p, nan=-1.0), axis=1)
            conf = np.where(top < 0, np.nan, top)
        parts.append(frames_to_bouts(rows["behavior"].to_numpy(dtype=object), float(fps),
                                     str(ind), confidence=conf))
    if not parts:
        return frames_to_bouts(np.zeros(0, dtype=object), float(fps), "")
    return pd.concat(parts, ignore_index=True)
