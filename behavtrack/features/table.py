"""The documented feature table (:data:`FEATURES`) and :func:`compute_features`.

One row per individual and frame; every column is computed for all frames at once. Lengths
are in centimetres (the arena's ``px_per_cm``; without an arena the scale is estimated from
the animals' body size, see :func:`behavtrack.features.body.estimate_scale`), speeds in cm/s,
angles in degrees, times in seconds. Geometry features need an arena with a partition or
ports, social features two animals, poke timing an events table; absent ones are simply not
columns (see ``df.attrs["skipped"]``).

Two families of columns are named by pattern rather than listed (see
:func:`is_feature_name`): the distances between every own and every partner body part,
``dist__<own>__<partner>`` (:mod:`behavtrack.features.pair`), and short-window statistics of
any feature, ``<feature>__<stat><ms>ms`` (:mod:`behavtrack.features.windows`). They are
computed when asked for (``pair_keypoints=True``, ``windows=[...]``) or when a model names
them (:func:`feature_request`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.features.body import (
    ASSUMED_BODY_LENGTH_CM,
    AXIS_PARTS,
    BodyAxis,
    body_axis,
    estimate_scale,
)
from behavtrack.features.clean import assign_compartments, body_center, clean_pose, pose_array
from behavtrack.features.geometry import in_port, port_distance, time_since
from behavtrack.features.kinematics import (
    body_length,
    derivative,
    heading,
    planar_norm,
    smooth,
)
from behavtrack.features.pair import keypoint_distances, parse_keypoint_distance
from behavtrack.features.social import approach_velocity, facing_angle, pair_distance
from behavtrack.features.windows import (
    DEFAULT_WINDOWS_S,
    WINDOW_STATS,
    parse_window_name,
    window_name,
    window_table,
)
from behavtrack.io.arena import Arena

__all__ = ["Feature", "FEATURES", "FEATURE_NAMES", "compute_features", "ASSUMED_BODY_LENGTH_CM",
           "check_event_subjects", "poke_frames", "is_feature_name", "feature_request",
           "DEFAULT_WINDOW_FEATURES"]

#: Smoothing window for positions and derivatives, in seconds.
SMOOTH_S = 0.2
#: Distance to the partition that counts as "at the partition", in cm.
PARTITION_NEAR_CM = 2.0
#: Cap of the time-since-poke features, in seconds.
POKE_CAP_S = 30.0
#: Confidence both ends of the body axis need for a frame to count in the scale estimate.
SCALE_MIN_CONFIDENCE = 0.8
#: Features whose short-window statistics the trainer adds by default (those present).
DEFAULT_WINDOW_FEATURES: tuple[str, ...] = (
    "speed", "turn_rate", "nose_nose", "nose_partner_body", "partner_approach",
    "facing_partner", "partner_speed", "pair_min_dist", "centroid_dist", "closing_speed",
    "partner_closing", "relative_heading", "partner_facing", "dist_partition",
    "partition_approach", "dist_poke", "partner_dist_partition",
)


class Feature(NamedTuple):
    """One row of the feature table."""

    name: str
    unit: str
    group: str  # "kinematic", "social", "geometry", "events", "quality"
    meaning: str


FEATURES: tuple[Feature, ...] = (
    Feature("tracked", "0/1", "quality", "1 if the animal's body centre is known in this frame"),
    Feature("speed", "cm/s", "kinematic", "speed of the body centre, smoothed over 0.2 s"),
    Feature("body_length", "cm", "kinematic", "length of the body axis (nose to tail base, or "
            "the most anterior to the most posterior part the pose has)"),
    Feature("turn_rate", "deg/s", "kinematic", "absolute rate of change of the heading "
            "(along the body axis, back to front)"),
    Feature("nose_nose", "cm", "social", "distance between the two noses"),
    Feature("nose_partner_body", "cm", "social", "own nose to the partner's body centre"),
    Feature("partner_approach", "cm/s", "social", "own velocity towards the partner's body "
            "centre (positive = closing in; the partner's movement does not count)"),
    Feature("facing_partner", "deg", "social", "angle between the own heading and the line "
            "to the partner's nose (0 = facing it)"),
    Feature("partner_speed", "cm/s", "social", "the partner's body-centre speed"),
    Feature("pair_min_dist", "cm", "social", "the smallest distance between any own and any "
            "partner body part"),
    Feature("centroid_dist", "cm", "social", "distance between the two body centres"),
    Feature("closing_speed", "cm/s", "social", "rate at which the body centres close in "
            "(both animals' movement; positive = closing)"),
    Feature("partner_closing", "cm/s", "social", "the partner's velocity towards the own body "
            "centre (positive = the partner comes closer)"),
    Feature("relative_heading", "deg", "social", "angle between the two headings (0 = same "
            "direction, 180 = head to head or tail to tail)"),
    Feature("partner_facing", "deg", "social", "angle between the partner's heading and the "
            "line from its nose to the own nose (0 = the partner faces the animal)"),
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


def is_feature_name(name: str) -> bool:
    """Whether ``name`` is a feature this behavtrack computes (listed, or by pattern).

    Examples
    --------
    >>> [is_feature_name(n) for n in ("speed", "dist__nose__neck", "speed__max1000ms", "x")]
    [True, True, True, False]

    """
    if name in FEATURE_NAMES or parse_keypoint_distance(name) is not None:
        return True
    win = parse_window_name(name)
    return win is not None and is_feature_name(win[0])


def feature_request(names: Sequence[str]) -> dict:
    """Keyword arguments of :func:`compute_features` that produce the features ``names``.

    Examples
    --------
    >>> feature_request(["speed", "dist__nose__nose", "nose_nose__min1000ms"])
    {'pair_keypoints': True, 'windows': {'nose_nose': {'min': [1.0]}}}

    """
    pair = False
    windows: dict[str, dict[str, list[float]]] = {}
    for name in names:
        win = parse_window_name(name)
        base = win[0] if win else name
        if parse_keypoint_distance(base) is not None:
            pair = True
        if win:
            windows.setdefault(base, {}).setdefault(win[1], []).append(win[2])
    return {"pair_keypoints": pair, "windows": windows}


def _window_spec(windows: Sequence[str] | dict, window_s: Sequence[float],
                 stats: Sequence[str]) -> dict[str, dict[str, list[float]]]:
    if isinstance(windows, dict):
        return {str(b): {str(k): [float(w) for w in v] for k, v in spec.items()}
                for b, spec in windows.items()}
    return {str(b): {st: [float(w) for w in window_s] for st in stats} for b in windows}


def check_event_subjects(events: pd.DataFrame, individuals: Sequence[str]) -> None:
    """Refuse an events table none of whose subjects is one of the pose's ``individuals``."""
    inds = list(individuals)
    if len(events) and not set(events["subject"].astype(str)) & set(inds):
        raise InputError(events.attrs.get("source_file", "events"),
                         f"no event subject matches the pose's individuals {inds} "
                         f"(subjects: {sorted(set(events['subject'].astype(str)))[:4]})",
                         "rename the subjects or the individuals")


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
    pair_keypoints: bool = False,
    windows: Sequence[str] | dict = (),
    window_s: Sequence[float] = DEFAULT_WINDOWS_S,
    window_stats: Sequence[str] = WINDOW_STATS,
    px_per_cm: float | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-frame, per-animal features of a pose (the table :data:`FEATURES`).

    Parameters
    ----------
    pose
        movement poses Dataset with ``attrs["fps"]``; keypoints named as after
        :func:`behavtrack.io.pose.load_pose`. Any body-part set works: the body axis runs
        from the most anterior to the most posterior part present
        (:func:`behavtrack.features.body.body_axis`), nose features use the most anterior
        part (else the body centre), and ``attrs["notes"]`` says what is approximated or lost.
    arena
        Geometry; without it (or with an open arena) the partition and port features are
        skipped.
    events
        The rig's log (``time_s``/``frame``, ``subject``, ``event``); without it the
        ``events`` features are skipped.
    clean
        Run :func:`behavtrack.features.clean.clean_pose` first.
    min_confidence, max_gap_s
        Passed to the cleaning step.
    pair_keypoints
        Also compute the distances from every own to every partner body part
        (``dist__<own>__<partner>``, two animals only).
    windows
        Features whose short-window statistics to add (names of computed columns; those
        absent are skipped), or a mapping ``feature -> {stat: [window_s, ...]}`` as
        :func:`feature_request` gives it.
    window_s, window_stats
        Window lengths (s) and statistics used with a list of ``windows``.
    px_per_cm
        Scale to use instead of the arena's or the estimate.
    rows
        Return the table at these frames only (sorted, unique frame indices), e.g. the frames
        a classifier evaluates
        (:meth:`behavtrack.strategies.hybrid.HybridHMMClassifier.emission_rows`). Every
        feature is still computed from the whole recording, so a row holds the values the
        full table has at that frame, bit for bit; only the table is smaller. ``attrs``
        then also holds ``tracked_frames``, the ``(n_frames, individual)`` mask of frames
        where each animal is tracked.

    Returns
    -------
    pandas.DataFrame
        Index ``(individual, frame)``; columns a subset of :data:`FEATURE_NAMES` in table
        order, then the keypoint distances and window statistics. ``attrs`` holds ``fps``,
        ``px_per_cm``, ``scale_source``, ``body_axis``, ``skipped`` (feature groups not
        computed, with the reason), ``clean`` (the cleaning report), ``notes`` and
        ``n_frames`` (of the recording).

    Examples
    --------
    >>> from behavtrack.simulate import simulate_session  # doctest: +SKIP
    >>> df = compute_features(simulate_session(seed=1).pose)  # doctest: +SKIP

    """
    fps = float(pose.attrs.get("fps") or 0)
    source = pose.attrs.get("source_file")
    if fps <= 0:
        raise InputError(source, "pose has no frame rate",
                         "load it with a frame rate (load_pose takes fps), or set attrs['fps']")
    raw_conf = None
    if "confidence" in pose and "individual" in pose["confidence"].dims:
        raw_conf = np.asarray(
            pose["confidence"].transpose("time", "keypoint", "individual").values, dtype=float)
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
    axis = body_axis(pos, keypoints)
    front = np.where(np.isnan(axis.front), center, axis.front)  # the "nose" of nose features
    notes: list[str] = list(report.notes) if report else []
    skipped: dict[str, str] = {}
    part_note = _body_part_note(keypoints, axis)
    if part_note:
        notes.append(part_note)
    open_arena = arena is not None and bool(getattr(arena, "is_open", False))
    if px_per_cm is not None:
        scale_source = "given"
    elif arena is not None:
        px_per_cm, scale_source = float(arena.px_per_cm), "arena"
    else:
        confident = (_axis_confident(raw_conf, keypoints, axis.front_name, axis.back_name)
                     if raw_conf is not None else None)
        px_per_cm, how = estimate_scale(axis, confident)
        if px_per_cm is not None:
            scale_source = f"estimated from the {how}"
        else:
            px_per_cm, scale_source = 1.0, f"none ({how}; lengths stay in pixels)"
        notes.append(f"no arena: lengths scaled by {px_per_cm:.2f} px/cm ({scale_source}); "
                     "partition and port features and 'waiting' are not available")
    sc = 1.0 / float(px_per_cm)
    center_s = smooth(center, win)
    nose_s = smooth(front, win)
    head = heading(smooth(axis.front, win), smooth(axis.back, win))
    cols: dict[str, np.ndarray] = {}
    cols["tracked"] = np.isfinite(center).all(-1).astype(float)
    vel = np.gradient(center_s, axis=0) * fps if n > 1 else np.full_like(center_s, np.nan)
    cols["speed"] = planar_norm(vel) * sc
    cols["body_length"] = body_length(axis.front, axis.back) * sc
    if n > 1:
        dhead = np.angle(np.exp(1j * np.diff(head, axis=0, prepend=head[:1])))
        cols["turn_rate"] = smooth(np.abs(np.degrees(dhead)) * fps, win)
    else:
        cols["turn_rate"] = np.full((n, n_ind), np.nan)
    at = _frame_rows(rows, n)
    spec = _window_spec(windows, window_s, window_stats)
    partner = None
    dists: dict[str, np.ndarray] = {}
    subset: set[str] = set()  # columns already at ``rows`` only
    if n_ind == 2:
        partner = np.array([1, 0])
        pn, pc = nose_s[:, partner], center_s[:, partner]
        cols["nose_nose"] = pair_distance(nose_s, pn) * sc
        cols["nose_partner_body"] = pair_distance(nose_s, pc) * sc
        cols["partner_approach"] = np.stack(
            [approach_velocity(center_s[:, j], pc[:, j], fps) for j in range(2)], 1) * sc
        cols["facing_partner"] = facing_angle(head, nose_s, pn)
        cols["partner_speed"] = cols["speed"][:, partner]
        # keypoint distances with window statistics are needed at every frame
        dist_rows = None if any(str(b).startswith("dist__") for b in spec) else at
        dists = keypoint_distances(pos, keypoints, partner, sc, rows=dist_rows)
        if dist_rows is not None:
            subset.update(k for k in dists if k != "pair_min_dist")
        cols["pair_min_dist"] = dists.pop("pair_min_dist")
        cdist = pair_distance(center_s, pc) * sc
        cols["centroid_dist"] = cdist
        cols["closing_speed"] = -derivative(cdist, fps)
        cols["partner_closing"] = cols["partner_approach"][:, partner]
        cols["relative_heading"] = np.degrees(
            np.abs(np.angle(np.exp(1j * (head - head[:, partner])))))
        cols["partner_facing"] = cols["facing_partner"][:, partner]
        if not pair_keypoints:
            dists = {}
    else:
        skipped["social"] = f"the pose has {n_ind} individual(s), social features need 2"
        if n_ind == 1:
            notes.append("single animal: social features are absent and 'interaction' "
                         "cannot be detected")
    if arena is not None and not open_arena:
        comp_of = assign_compartments(pose, arena)
        missing = [i for i in inds if i not in comp_of]
        if missing:
            raise InputError(arena.source or "arena", f"no compartment for individual "
                             f"{missing[0]!r} (arena individuals: {arena.individuals})",
                             "name the individuals in the arena's compartments, or describe "
                             "an open arena (docs/arena.md)")
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
            at_port = np.stack([in_port(nose_s[:, j], comps[j], "poke_port")
                                for j in range(2)], 1)
            cols["partner_at_port"] = at_port[:, partner].astype(float)
    else:
        skipped["geometry"] = ("open arena (no partition or compartments)" if open_arena
                               else "no arena")
    if events is not None:
        check_event_subjects(events, inds)
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
    order = [f for f in FEATURE_NAMES if f in cols] + list(dists)
    cols.update(dists)
    for base, stats in spec.items():
        if base not in cols:
            continue
        table = window_table(cols[base], fps, stats, rows=at)
        for w in sorted({w for ws in stats.values() for w in ws}):
            for st in WINDOW_STATS:
                if (st, w) in table:
                    name = window_name(base, st, w)
                    cols[name] = table[(st, w)]
                    subset.add(name)
                    order.append(name)
    tracked_frames = None
    if at is not None:  # keep only the rows of the full-rate columns, before the table is built
        tracked_frames = cols["tracked"] > 0.5
        for k in order:
            if k not in subset:
                cols[k] = np.asarray(cols[k], dtype=float)[at]
                subset.add(k)
    # the cleaned pose and the full-rate signals are not needed any more
    body_axis_names = [axis.front_name, axis.back_name]
    del pose, pos, center, front, center_s, nose_s, head, vel, axis, raw_conf
    frames = np.arange(n) if at is None else at
    index = pd.MultiIndex.from_product([inds, frames], names=["individual", "frame"])
    # one block: no copy when the frame is built
    data = np.empty((len(order), n_ind, len(frames)))
    for i, k in enumerate(order):
        v = np.asarray(cols[k], dtype=float)
        data[i] = (v if at is None or k in subset else v[at]).T
    df = pd.DataFrame(data.reshape(len(order), -1).T, index=index, columns=order, copy=False)
    if tracked_frames is not None:
        df.attrs["tracked_frames"] = tracked_frames
    df.attrs.update(
        fps=fps, n_frames=int(n), individuals=inds, px_per_cm=float(px_per_cm),
        scale_source=scale_source, skipped=skipped, notes=notes,
        body_axis=body_axis_names,
        clean=report.to_dict() if report else None,
    )
    return df


def _frame_rows(rows: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray | None:
    """Return the checked frame indices of ``rows`` (``None`` stays ``None``)."""
    if rows is None:
        return None
    at = np.asarray(rows)
    if at.ndim != 1 or (at.size and (not np.issubdtype(at.dtype, np.integer)
                                     or at.min() < 0 or at.max() >= n
                                     or (np.diff(at) <= 0).any())):
        raise InputError("rows", f"must be sorted, unique frame indices in 0..{n - 1}",
                         "pass e.g. model.emission_rows(n_frames, fps)")
    return at.astype(np.intp)


def _axis_confident(conf: np.ndarray, keypoints: list[str], front: str | None,
                    back: str | None) -> np.ndarray | None:
    """``(time, individual)``: both ends of the body axis tracked with high confidence."""
    if front is None or back is None:
        return None
    ok = np.ones((conf.shape[0], conf.shape[2]), dtype=bool)
    for name in (front, back):
        for k in AXIS_PARTS.get(name, (name,)):
            if k in keypoints:
                ok &= ~(conf[:, keypoints.index(k)] < SCALE_MIN_CONFIDENCE)
    return ok


def _body_part_note(keypoints: list[str], axis: BodyAxis) -> str | None:
    """One note on body parts that are approximated or features that are lost, if any."""
    from behavtrack.io.aliases import CANONICAL_KEYPOINTS

    if axis.complete:
        return None
    if not any(k in CANONICAL_KEYPOINTS for k in keypoints):
        return (f"none of the body parts ({', '.join(keypoints)}) has a known name (map them "
                "with --alias OLD=NEW, e.g. --alias snout_tip=nose): the body centre is their "
                "mean; heading, turn rate, body length, facing and relative heading cannot be "
                "computed and nose features use the body centre")
    if axis.front_name is None:
        return (f"the pose has no two parts along the body ({', '.join(keypoints)}): heading, "
                "turn rate, body length, facing and relative heading cannot be computed; nose "
                "features use the body centre")
    parts = []
    if axis.front_name != "nose":
        parts.append(f"no nose: nose features use the {axis.front_name}")
    if axis.back_name != "tail_base":
        parts.append(f"no tail base: the body axis ends at the {axis.back_name}")
    return "; ".join(parts) + (f" (body axis {axis.front_name}-{axis.back_name}: heading, "
                               "facing and body length are approximate)")
