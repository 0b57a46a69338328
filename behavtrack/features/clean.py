"""Pose cleaning before features: confidence filter, identity-swap repair, short-gap filling.

All three steps work on whole arrays (no per-frame Python loops):

1. points whose confidence is below ``min_confidence`` become NaN;
2. when an arena says which individual lives in which compartment, frames where the tracker
   put each animal in the other's compartment (or one animal in the other's compartment while
   the other is missing) get their identities swapped back;
3. NaN gaps no longer than ``max_gap_s`` are filled by linear interpolation; longer gaps stay
   NaN (the features then say "unknown" rather than invent a trajectory).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.io.arena import Arena
from behavtrack.io.bouts import runs

__all__ = ["CleanReport", "clean_pose", "merge_reports", "interpolate_gaps", "pose_array",
           "body_center", "assign_compartments"]


@dataclass
class CleanReport:
    """What :func:`clean_pose` changed.

    Attributes
    ----------
    n_low_confidence
        Points (frame x keypoint x individual) dropped for low confidence.
    n_swapped_frames
        Frames whose two identities were swapped back by compartment.
    n_interpolated
        Points filled by interpolation.
    missing_fraction
        Per individual, the fraction of frames with no usable keypoint after cleaning.
    notes
        Human-readable remarks (e.g. an animal missing for a long stretch).

    """

    n_low_confidence: int = 0
    n_swapped_frames: int = 0
    n_interpolated: int = 0
    missing_fraction: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: ``(frames, individual)``: frames with a usable keypoint after cleaning (of the frames
    #: counted); lets :func:`merge_reports` summarise a recording cleaned in chunks.
    present: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict."""
        return {
            "n_low_confidence": int(self.n_low_confidence),
            "n_swapped_frames": int(self.n_swapped_frames),
            "n_interpolated": int(self.n_interpolated),
            "missing_fraction": {k: round(float(v), 4) for k, v in self.missing_fraction.items()},
            "notes": list(self.notes),
        }


def pose_array(pose: xr.Dataset) -> np.ndarray:
    """Return positions as a float array of shape ``(time, keypoint, individual, 2)``."""
    if "position" not in pose:
        raise InputError(pose.attrs.get("source_file"), "is not a pose dataset (no 'position')")
    pos = pose["position"]
    if "individual" not in pos.dims:
        pos = pos.expand_dims(individual=["individual_0"])
    return np.asarray(
        pos.transpose("time", "keypoint", "individual", "space").sel(space=["x", "y"]).values,
        dtype=float,
    )


def interpolate_gaps(values: np.ndarray, max_gap: int) -> tuple[np.ndarray, int]:
    """Fill NaN runs of at most ``max_gap`` frames by linear interpolation along axis 0.

    Runs touching the start or the end, and runs longer than ``max_gap``, stay NaN.

    Parameters
    ----------
    values
        Array of shape ``(time, ...)``.
    max_gap
        Longest gap (in frames) to fill; 0 fills nothing.

    Returns
    -------
    filled, n_filled
        The filled copy and the number of values filled.

    Examples
    --------
    >>> interpolate_gaps(np.array([0.0, np.nan, 2.0, np.nan, np.nan, 5.0]), 1)[0].tolist()
    [0.0, 1.0, 2.0, nan, nan, 5.0]

    """
    v = np.asarray(values, dtype=float)
    shape = v.shape
    flat = v.reshape(shape[0], -1)
    n = flat.shape[0]
    miss = np.isnan(flat)
    if max_gap <= 0 or not miss.any() or n == 0:
        return v.copy(), 0
    idx = np.arange(n)[:, None]
    prev = np.where(~miss, idx, -1)
    prev = np.maximum.accumulate(prev, axis=0)
    nxt = np.where(~miss, idx, n)
    nxt = np.minimum.accumulate(nxt[::-1], axis=0)[::-1]
    gap = nxt - prev - 1
    fill = miss & (prev >= 0) & (nxt < n) & (gap <= max_gap)
    out = flat.copy()
    if fill.any():
        cols = np.broadcast_to(np.arange(flat.shape[1]), flat.shape)
        p, q, c, t = prev[fill], nxt[fill], cols[fill], idx.repeat(flat.shape[1], 1)[fill]
        w = (t - p) / (q - p)
        out[fill] = flat[p, c] * (1 - w) + flat[q, c] * w
    return out.reshape(shape), int(fill.sum())


def body_center(pos: np.ndarray, keypoints: list[str]) -> np.ndarray:
    """Body centre per frame and individual: the centroid keypoint, else the mean of the others.

    Parameters
    ----------
    pos
        ``(time, keypoint, individual, 2)``.
    keypoints
        Keypoint names in order.

    Returns
    -------
    numpy.ndarray
        ``(time, individual, 2)``, NaN where no keypoint is known.

    """
    mean = _nanmean(pos, axis=1)
    if "centroid" in keypoints:
        c = pos[:, keypoints.index("centroid")]
        return np.where(np.isnan(c), mean, c)
    return mean


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    ok = np.isfinite(a)
    cnt = ok.sum(axis=axis)
    s = np.where(ok, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)


def assign_compartments(pose: xr.Dataset, arena: Arena) -> dict[str, str]:
    """Map each pose individual to the arena compartment it belongs to.

    Individuals named in the arena (``individual:`` or a shared ``individuals:`` list) keep
    their compartment. In a closed arena, other names (e.g. a tracker's ``individual0``) get
    the compartment where their body centre spends most frames and no other individual has
    taken, so a file whose identities are named differently still works.

    In an open arena (:attr:`~behavtrack.io.arena.Arena.is_open`) position says nothing about
    identity: named individuals keep their (shared) compartment, and when the arena has
    exactly one compartment (the shared floor) every other individual maps to it too, so
    several individuals may map to the same compartment. An open arena without compartments
    (outline or scale only) gives ``{}``. It never raises for an open arena.

    Returns
    -------
    dict
        individual name -> compartment name (individuals found in no compartment are left out).

    """
    inds = [str(i) for i in np.atleast_1d(pose["individual"].values)]
    by_ind = {i: name for name, c in arena.compartments.items() for i in c.individuals}
    out = {i: by_ind[i] for i in inds if i in by_ind}
    if arena.is_open:
        if len(arena.compartments) == 1:
            only = next(iter(arena.compartments))
            out = {i: out.get(i, only) for i in inds}
        return out
    rest = [i for i in inds if i not in out]
    if rest:
        pos = pose_array(pose)
        center = body_center(pos, [str(k) for k in pose["keypoint"].values])
        names = list(arena.compartments)
        taken = set(out.values())
        for i in rest:
            comp = arena.compartment_index(center[:, inds.index(i)])
            counts = np.bincount(comp[comp >= 0], minlength=len(names))
            for j in np.argsort(-counts):
                shared = arena.compartments[names[j]].is_shared
                if counts[j] > 0 and (shared or names[j] not in taken):
                    out[i] = names[j]
                    taken.add(names[j])
                    break
    return out


def clean_pose(
    pose: xr.Dataset,
    arena: Arena | None = None,
    *,
    min_confidence: float = 0.5,
    max_gap_s: float = 0.5,
    report_frames: slice | None = None,
) -> tuple[xr.Dataset, CleanReport]:
    """Return a cleaned copy of ``pose`` and a report of what changed.

    Parameters
    ----------
    pose
        movement poses Dataset (``attrs["fps"]`` set).
    arena
        When given, identities are repaired by compartment (two-animal files whose animals
        each live in their own compartment). An open arena
        (:attr:`~behavtrack.io.arena.Arena.is_open`: no partition, compartments shared or
        absent) repairs nothing: the animals may be anywhere, so identities are kept as
        tracked and ``n_swapped_frames`` is 0.
    min_confidence
        Points with a lower confidence are dropped (NaN confidence counts as known).
    max_gap_s
        Longest gap filled by linear interpolation, in seconds.
    report_frames
        The frames the report counts (default all): the core of a chunk of a longer
        recording read with margins, so that :func:`merge_reports` of the chunks' reports
        equals the report of the whole recording.

    Returns
    -------
    cleaned, report
        The cleaned Dataset (same layout) and a :class:`CleanReport`.

    """
    fps = float(pose.attrs.get("fps") or 0)
    if fps <= 0:
        raise InputError(pose.attrs.get("source_file"), "pose has no frame rate",
                         "pass fps= when loading it")
    report = CleanReport()
    counted = slice(None) if report_frames is None else report_frames
    pos = pose_array(pose)
    keypoints = [str(k) for k in pose["keypoint"].values]
    inds = [str(i) for i in np.atleast_1d(pose["individual"].values)]
    if "confidence" in pose:
        conf = np.asarray(
            pose["confidence"].transpose("time", "keypoint", "individual").values, dtype=float)
        low = conf < min_confidence
        report.n_low_confidence = int((low & np.isfinite(pos).all(-1))[counted].sum())
        pos[low] = np.nan
    if arena is not None and not arena.is_open and len(inds) == 2:
        comp_of = assign_compartments(pose, arena)
        if len(comp_of) == 2 and len(set(comp_of.values())) == 2:
            names = list(arena.compartments)
            own = np.array([names.index(comp_of[i]) for i in inds])
            center = body_center(pos, keypoints)
            where = arena.compartment_index(center)  # (time, 2)
            known = np.isfinite(center).all(-1)
            wrong = where == own[::-1][None, :]  # each in the other's compartment
            right = where == own[None, :]
            a_swapped = wrong[:, 0] | ~known[:, 0]
            b_swapped = wrong[:, 1] | ~known[:, 1]
            swap = a_swapped & b_swapped & (wrong[:, 0] | wrong[:, 1]) & ~(right.any(axis=1))
            if swap.any():
                pos[swap] = pos[swap][:, :, ::-1]
                report.n_swapped_frames = int(swap[counted].sum())
    missing_before = np.isnan(pos)
    pos, n_filled = interpolate_gaps(pos, int(round(max_gap_s * fps)))
    report.n_interpolated = (n_filled if report_frames is None else
                             int((missing_before & ~np.isnan(pos))[counted].sum()))
    report.present = np.isfinite(pos).all(-1).any(axis=1)[counted]  # (time, individual)
    report.missing_fraction, report.notes = _tracking_summary(report.present, inds, fps)
    out = pose.copy()
    position = out["position"]
    full = position.transpose("time", "space", "keypoint", "individual").values.copy() \
        if "individual" in position.dims else position.expand_dims(
            individual=["individual_0"]).transpose("time", "space", "keypoint",
                                                   "individual").values.copy()
    xy = [list(map(str, position["space"].values)).index(a) for a in ("x", "y")]
    full[:, xy] = np.moveaxis(pos, -1, 1)  # only x and y are cleaned (z is kept as it was)
    if "individual" not in position.dims:
        full = full[..., 0]
        order = ("time", "space", "keypoint")
    else:
        order = ("time", "space", "keypoint", "individual")
    out["position"] = (position.dims,
                       np.ascontiguousarray(full.transpose(*[order.index(d)
                                                             for d in position.dims])))
    return out, report


def _tracking_summary(present: np.ndarray, inds: list[str], fps: float
                      ) -> tuple[dict[str, float], list[str]]:
    """Missing fraction per individual, and notes on animals untracked for long."""
    fractions: dict[str, float] = {}
    notes: list[str] = []
    for j, name in enumerate(inds):
        frac = 1.0 - float(present[:, j].mean()) if len(present) else 1.0
        fractions[name] = frac
        longest = _longest_run(~present[:, j])
        total = float((~present[:, j]).sum()) / fps
        if total >= 30 or (frac >= 0.1 and longest / fps >= 2):
            notes.append(
                f"{name} is not tracked for {total:.0f} s ({frac:.0%} of the session, longest "
                f"stretch {longest / fps:.0f} s); those frames are labelled 'other' with "
                "unknown probabilities")
    return fractions, notes


def merge_reports(reports: list[CleanReport], individuals: list[str], fps: float
                  ) -> CleanReport:
    """One report for a recording cleaned in consecutive chunks.

    Parameters
    ----------
    reports
        The chunks' reports, in order, each counting its own frames only (``report_frames``
        of :func:`clean_pose`), so no frame is counted twice.
    individuals, fps
        The recording's individuals (in the pose's order) and frame rate.

    Returns
    -------
    CleanReport
        Equal to the report of :func:`clean_pose` on the whole recording.

    """
    present = np.concatenate([r.present for r in reports if r.present is not None]) \
        if reports else np.zeros((0, len(individuals)), dtype=bool)
    fractions, notes = _tracking_summary(present, list(individuals), fps)
    return CleanReport(n_low_confidence=sum(r.n_low_confidence for r in reports),
                       n_swapped_frames=sum(r.n_swapped_frames for r in reports),
                       n_interpolated=sum(r.n_interpolated for r in reports),
                       missing_fraction=fractions, notes=notes, present=present)


def _longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in a 1-D boolean array."""
    _, lengths, value = runs(np.asarray(mask, dtype=bool))
    return int(lengths[value].max()) if value.any() else 0
