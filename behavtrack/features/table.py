"""The documented feature table (:data:`FEATURES`) and :func:`compute_features`.

One row per individual and frame; every column is computed for all frames at once. Lengths
are in centimetres (the arena's ``px_per_cm``; without an arena the scale is estimated from
the animals' median body length, see :data:`ASSUMED_BODY_LENGTH_CM`), speeds in cm/s, angles
in degrees, times in seconds. Geometry features need an arena, social features two animals,
poke timing an events table; absent ones are simply not columns (see ``df.attrs["skipped"]``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.features.clean import assign_compartments, body_center, clean_pose, pose_array
from behavtrack.features.geometry import in_port, port_distance, time_since
from behavtrack.features.kinematics import body_length, derivative, heading, smooth
from behavtrack.features.social import approach_velocity, facing_angle, pair_distance
from behavtrack.io.arena import Arena

__all__ = ["Feature", "FEATURES", "FEATURE_NAMES", "compute_features", "ASSUMED_BODY_LENGTH_CM",
           "poke_frames"]

#: Nose-to-tail-base length of an adult mouse, used to estimate the scale without an arena.
ASSUMED_BODY_LENGTH_CM = 8.0
#: Smoothing window for positions and derivatives, in seconds.
SMOOTH_S = 0.2
#: Distance to the partition that counts as "at the partition", in cm.
PARTITION_NEAR_CM = 2.0
#: Cap of the time-since-poke features, in seconds.
POKE_CAP_S = 30.0


class Feature(NamedTuple):
    """One row of the feature table."""

    name: str
    unit: str
    group: str  # "kinematic", "social", "geometry", "events", "quality"
    meaning: str


FEATURES: tuple[Feature, ...] = (
    Feature("tracked", "0/1", "quality", "1 if the animal's body centre is known in this frame"),
    Feature("speed", "cm/s", "kinematic", "speed of the body centre, smoothed over 0.2 s"),
    Feature("body_length", "cm", "kinematic", "nose to tail-base distance"),
    Feature("turn_rate", "deg/s", "kinematic", "absolute rate of change of the heading "
            "(tail base to nose)"),
    Feature("nose_nose", "cm", "social", "distance between the two noses"),
    Feature("nose_partner_body", "cm", "social", "own nose to the partner's body centre"),
    Feature("partner_approach", "cm/s", "social", "own velocity towards the partner's body "
            "centre (positive = closing in; the partner's movement does not count)"),
    Feature("facing_partner", "deg", "social", "angle between the own heading and the line "
            "to the partner's nose (0 = facing it)"),
    Feature("partner_speed", "cm/s", "social", "the partner's body-centre speed"),
    Feature("dist_partition", "cm", "geometry", "own nose to the partition"),
    Feature("partition_approach", "cm/s", "geometry", "rate at which the nose closes in on the "
            "partition (positive = approaching)"),
    Feature("to_partition", "s", "geometry", "time until the nose next comes within 2 cm of "
            "the partition (capped at 30 s; looks ahead in the recording)"),
    Feature("dist_poke", "cm", "geometry", "own nose to the centre of the own poke port"),
    Feature("dist_water", "cm", "geometry", "own nose to the centre of the own water port"),
    Feature("partner_dist_partition", "cm", "geometry", "the partner's nose to the partition"),
    Feature("partner_dist_poke", "cm", "geometry", "the partner's nose to its own poke port"),
    Feature("partner_at_port", "0/1", "geometry", "1 if the partner's nose is inside its poke-"
            "port zone"),
    Feature("since_poke", "s", "events", "time since the own last poke (capped at 30 s)"),
    Feature("since_partner_poke", "s", "events", "time since the partner's last poke "
            "(capped at 30 s)"),
    Feature("to_poke", "s", "events", "time until the own next poke (capped at 30 s; the log "
            "is known for the whole session, so the classifier may look ahead)"),
    Feature("to_partner_poke", "s", "events", "time until the partner's next poke "
            "(capped at 30 s)"),
    Feature("poke_order", "s", "events", "to_poke - to_partner_poke, clipped to +-10 s: "
            "positive when the partner pokes first (as when the animal waits for it)"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def _keypoint(pos: np.ndarray, keypoints: list[str], name: str, fallback: np.ndarray
              ) -> np.ndarray:
    if name in keypoints:
        p = pos[:, keypoints.index(name)]
        return np.where(np.isnan(p), fallback, p)
    return fallback


def poke_frames(events: pd.DataFrame | None, subject: str, fps: float) -> np.ndarray:
    """Frames of ``subject``'s pokes in an events table (``frame`` if given, else ``time_s``)."""
    if events is None or len(events) == 0:
        return np.zeros(0, dtype=np.int64)
    ev = events[(events["event"].astype(str) == "poke")
                & (events["subject"].astype(str) == subject)]
    if "frame" in ev and ev["frame"].notna().all():
        return ev["frame"].to_numpy(dtype=np.int64)
    return np.round(ev["time_s"].to_numpy(dtype=float) * fps).astype(np.int64)


def compute_features(
    pose: xr.Dataset,
    arena: Arena | None = None,
    events: pd.DataFrame | None = None,
    *,
    clean: bool = True,
    min_confidence: float = 0.5,
    max_gap_s: float = 0.5,
) -> pd.DataFrame:
    """Per-frame, per-animal features of a pose (the table :data:`FEATURES`).

    Parameters
    ----------
    pose
        movement poses Dataset with ``attrs["fps"]``; keypoints named as after
        :func:`behavtrack.io.pose.load_pose` (``nose, left_ear, right_ear, centroid,
        tail_base``; missing ones fall back to the body centre).
    arena
        Geometry; without it the ``geometry`` features are skipped.
    events
        The rig's log (``time_s``/``frame``, ``subject``, ``event``); without it the
        ``events`` features are skipped.
    clean
        Run :func:`behavtrack.features.clean.clean_pose` first.
    min_confidence, max_gap_s
        Passed to the cleaning step.

    Returns
    -------
    pandas.DataFrame
        Index ``(individual, frame)``; columns a subset of :data:`FEATURE_NAMES` in table
        order. ``attrs`` holds ``fps``, ``px_per_cm``, ``scale_source``, ``skipped``
        (feature groups not computed, with the reason), ``clean`` (the cleaning report),
        ``notes`` and ``n_frames``.

    Examples
    --------
    >>> from behavtrack.simulate import simulate_session  # doctest: +SKIP
    >>> df = compute_features(simulate_session(seed=1).pose)  # doctest: +SKIP

    """
    fps = float(pose.attrs.get("fps") or 0)
    source = pose.attrs.get("source_file")
    if fps <= 0:
        raise InputError(source, "pose has no frame rate", "give --fps or an fps attribute")
    report = None
    if clean:
        pose, report = clean_pose(pose, arena, min_confidence=min_confidence,
                                  max_gap_s=max_gap_s)
    pos = pose_array(pose)
    n, _, n_ind, _ = pos.shape
    keypoints = [str(k) for k in pose["keypoint"].values]
    inds = [str(i) for i in np.atleast_1d(pose["individual"].values)]
    win = max(1, int(round(SMOOTH_S * fps)))
    center = body_center(pos, keypoints)  # (T, I, 2)
    nose = _keypoint(pos, keypoints, "nose", center)
    tail = _keypoint(pos, keypoints, "tail_base", np.full_like(center, np.nan))
    blen_px = body_length(nose, tail)
    notes: list[str] = list(report.notes) if report else []
    skipped: dict[str, str] = {}
    if arena is not None:
        px_per_cm, scale_source = float(arena.px_per_cm), "arena"
    else:
        med = np.nanmedian(blen_px) if np.isfinite(blen_px).any() else np.nan
        if np.isfinite(med) and med > 0:
            px_per_cm, scale_source = float(med / ASSUMED_BODY_LENGTH_CM), "body_length"
        else:
            px_per_cm, scale_source = 1.0, "none"
        notes.append(f"no arena: lengths scaled by an estimated {px_per_cm:.2f} px/cm "
                     f"({scale_source}); geometry features and 'waiting' are not available")
    sc = 1.0 / px_per_cm
    center_s = smooth(center, win)
    nose_s = smooth(nose, win)
    head = heading(nose_s, smooth(tail, win))
    cols: dict[str, np.ndarray] = {}
    cols["tracked"] = np.isfinite(center).all(-1).astype(float)
    vel = np.gradient(center_s, axis=0) * fps if n > 1 else np.full_like(center_s, np.nan)
    cols["speed"] = np.linalg.norm(vel, axis=-1) * sc
    cols["body_length"] = blen_px * sc
    if n > 1:
        dhead = np.angle(np.exp(1j * np.diff(head, axis=0, prepend=head[:1])))
        cols["turn_rate"] = smooth(np.abs(np.degrees(dhead)) * fps, win)
    else:
        cols["turn_rate"] = np.full((n, n_ind), np.nan)
    partner = None
    if n_ind == 2:
        partner = np.array([1, 0])
        pn, pc = nose_s[:, partner], center_s[:, partner]
        cols["nose_nose"] = pair_distance(nose_s, pn) * sc
        cols["nose_partner_body"] = pair_distance(nose_s, pc) * sc
        cols["partner_approach"] = np.stack(
            [approach_velocity(center_s[:, j], pc[:, j], fps) for j in range(2)], 1) * sc
        cols["facing_partner"] = facing_angle(head, nose_s, pn)
        cols["partner_speed"] = cols["speed"][:, partner]
    else:
        skipped["social"] = f"the pose has {n_ind} individual(s), social features need 2"
        if n_ind == 1:
            notes.append("single animal: social features are absent and 'interaction' "
                         "cannot be detected")
    if arena is not None:
        comp_of = assign_compartments(pose, arena)
        missing = [i for i in inds if i not in comp_of]
        if missing:
            raise InputError(arena.source or "arena", f"no compartment for individual "
                             f"{missing[0]!r} (arena individuals: {arena.individuals})",
                             "name the individuals in the arena's compartments")
        comps = [arena.compartments[comp_of[i]] for i in inds]
        dpart = arena.distance_to_partition(nose_s) * sc
        cols["dist_partition"] = dpart
        cols["partition_approach"] = -derivative(dpart, fps, win)
        near = np.isfinite(dpart) & (dpart <= PARTITION_NEAR_CM)
        cols["to_partition"] = np.stack(
            [time_since(n - 1 - np.flatnonzero(near[:, j]), n, fps, POKE_CAP_S)[::-1]
             for j in range(n_ind)], 1)
        cols["dist_poke"] = np.stack(
            [port_distance(nose_s[:, j], comps[j], "poke_port") for j in range(n_ind)], 1) * sc
        cols["dist_water"] = np.stack(
            [port_distance(nose_s[:, j], comps[j], "water_port") for j in range(n_ind)], 1) * sc
        if partner is not None:
            cols["partner_dist_partition"] = dpart[:, partner]
            cols["partner_dist_poke"] = cols["dist_poke"][:, partner]
            at = np.stack([in_port(nose_s[:, j], comps[j], "poke_port") for j in range(2)], 1)
            cols["partner_at_port"] = at[:, partner].astype(float)
    else:
        skipped["geometry"] = "no arena"
    if events is not None:
        if len(events) and not set(events["subject"].astype(str)) & set(inds):
            raise InputError(events.attrs.get("source_file", "events"),
                             f"no event subject matches the pose's individuals {inds} "
                             f"(subjects: {sorted(set(events['subject'].astype(str)))[:4]})",
                             "rename the subjects or the individuals")
        pokes = [poke_frames(events, i, fps) for i in inds]
        late = sum(int((p >= n).sum()) for p in pokes)
        if late:
            notes.append(f"{late} poke(s) in the events fall after the pose's last frame "
                         "and are ignored")
        since = np.stack([time_since(p, n, fps, POKE_CAP_S) for p in pokes], 1)
        until = np.stack([time_since(n - 1 - p, n, fps, POKE_CAP_S)[::-1] for p in pokes], 1)
        cols["since_poke"] = since
        cols["to_poke"] = until
        if partner is not None:
            cols["since_partner_poke"] = since[:, partner]
            cols["to_partner_poke"] = until[:, partner]
            cols["poke_order"] = np.clip(until - until[:, partner], -10.0, 10.0)
    else:
        skipped["events"] = "no events"
    order = [f for f in FEATURE_NAMES if f in cols]
    index = pd.MultiIndex.from_product([inds, np.arange(n)], names=["individual", "frame"])
    data = {k: np.asarray(cols[k], dtype=float).T.reshape(-1) for k in order}
    df = pd.DataFrame(data, index=index)
    df.attrs.update(
        fps=fps, n_frames=int(n), individuals=inds, px_per_cm=px_per_cm,
        scale_source=scale_source, skipped=skipped, notes=notes,
        clean=report.to_dict() if report else None,
    )
    return df
