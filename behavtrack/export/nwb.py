"""NWB export: one ``.nwb`` file per session, for archives (DANDI) and alignment with neural data.

:func:`export_nwb` takes session folders, classify output folders or batch output folders and
writes one NWB file per session (:func:`write_session_nwb`), laid out as ``docs/nwb.md``
describes:

- **pose**: one ndx-pose ``PoseEstimation`` per animal (``processing/behavior/
  PoseEstimation_<animal>``), built by movement's own NWB writer, with the animal's
  ``Skeleton`` (``processing/behavior/Skeletons``) and the confidences;
- **bouts**: one ``TimeIntervals`` table per animal (``intervals/bouts_<animal>``) with
  ``behavior``, ``individual``, ``confidence``, ``start_frame`` and ``stop_frame`` columns;
- **events**: the rig's log (or the pokes detected in the pose) as NWB core ``EventsTable``
  objects, one per kind of event (``events/poke``, ``events/reward``, ...);
- **trials**: the NWB ``trials`` table, one row per poke, with ``success``, ``delta_s``,
  ``window_s`` and the strategy columns of ``trials.csv``;
- **metadata**: subject (the pair), session id, keywords, and the whole behavtrack record
  (pair, session index, fps, arena, model and its checksum, inputs and their checksums) as
  JSON in ``scratch/behavtrack``, which :func:`behavtrack.io.nwb.load_nwb_session` reads back.

Times are seconds from the session start, from the frame rate behavtrack resolved. Each file
is written to a temporary file and renamed into place (never half-written); inputs are only
read. :func:`inspect_nwb` runs the field's checker (nwbinspector) on a written file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, progress, sha256
from behavtrack.io.classified import ClassifiedFolder
from behavtrack.io.inputs import find_inputs, named_inputs

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_NAME",
    "POSE_MODULE",
    "NWBExport",
    "SessionData",
    "collect_session",
    "find_export_sessions",
    "nwb_name",
    "build_nwbfile",
    "load_metadata",
    "write_session_nwb",
    "export_session_nwb",
    "export_nwb",
    "inspect_nwb",
    "skeleton_edges",
]

#: Marker of a behavtrack export, stored in its metadata JSON.
FORMAT = "behavtrack-nwb"
#: Layout version of the files this module writes (``docs/nwb.md``).
FORMAT_VERSION = 1
#: Name of the scratch dataset that holds behavtrack's metadata (JSON text).
METADATA_NAME = "behavtrack"
#: Processing module holding the pose (movement's and ndx-pose's default).
POSE_MODULE = "behavior"
#: gzip level of the pose datasets (1: fastest; higher levels gain little on pose data).
GZIP_LEVEL = 4
POSE_PREFIX = "PoseEstimation_"
SKELETON_PREFIX = "skeleton_"
BOUTS_PREFIX = "bouts_"

#: Placeholder start of a session whose date is not known: 2000-01-01 UTC plus the session
#: index in days (NWB requires a start time; ``docs/nwb.md`` says how to give the real one).
PLACEHOLDER_START = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)

#: Subject fields used when the lab gives none (``--metadata``): ``U`` is NWB's "unknown"
#: sex and ``P0D/`` an open ISO 8601 age range ("0 days or older", i.e. unknown).
DEFAULT_SUBJECT: dict[str, str] = {"species": "Mus musculus", "sex": "U", "age": "P0D/"}

#: NWBFile fields a lab may set for every exported file (``--metadata``).
NWBFILE_FIELDS = ("experimenter", "institution", "lab", "experiment_description",
                  "related_publications", "keywords", "protocol", "surgery", "virus",
                  "stimulus_notes", "data_collection", "notes", "session_start_time")
#: Subject fields a lab may set (``--metadata``'s ``"subject"``).
SUBJECT_FIELDS = ("species", "sex", "age", "date_of_birth", "strain", "genotype",
                  "description", "weight")

#: The canonical body axis, nose to tail, and where side parts attach (for skeleton edges).
_SPINE = ("nose", "head", "neck", "centroid", "tail_base")
_SIDES = {"left_ear": ("head", "nose", "neck"), "right_ear": ("head", "nose", "neck"),
          "left_hip": ("centroid", "tail_base", "neck"),
          "right_hip": ("centroid", "tail_base", "neck")}

_TRIAL_DESCRIPTIONS = {
    "subject": "the animal that poked",
    "partner": "the other animal of the pair",
    "time_s": "time of the poke (s; equals start_time)",
    "partner_time_s": "time of the partner's nearest poke (s; NaN if the partner never poked)",
    "delta_s": "partner_time_s - time_s (s)",
    "window_s": "coordination window in force at the poke (s)",
    "success": "1 if |delta_s| <= window_s (both animals rewarded), else 0",
    "waited": "1 if a waiting bout of the subject led into the poke",
    "interacted": "1 if an interaction bout ended shortly before the poke",
    "approached": "1 if an approach bout ended shortly before the poke",
    "waited_latency_s": "seconds from the end of the latest waiting bout to the poke",
    "interacted_latency_s": "seconds from the end of the latest interaction bout to the poke",
    "approached_latency_s": "seconds from the end of the latest approach bout to the poke",
    "inter_poke_interval_s": "seconds since the subject's previous poke",
}


@dataclass
class SessionData:
    """Everything one NWB file holds, gathered from a session or classify output folder.

    Attributes
    ----------
    folder
        The folder it came from.
    name
        Session id; the file's stem and NWB ``session_id``.
    kind
        ``"classified"`` (a classify or batch session output) or ``"session"`` (a session
        folder).
    pose
        The poses Dataset (canonical body parts, ``time`` in seconds, ``attrs["fps"]``).
    pose_path
        The pose file read.
    events
        The events table (``time_s, frame, subject, event, value`` + extras), or ``None``.
    bouts
        The bouts table (:data:`behavtrack.io.bouts.BOUT_COLUMNS`), or ``None``.
    trials
        The trials table (:data:`behavtrack.task.TRIAL_COLUMNS`), or ``None``.
    arena
        The arena, or ``None``.
    meta
        The session's metadata (``session.json`` without ``files``, plus ``fps``,
        ``n_frames``, ``duration_s``, ``individuals``, ``window_s``, ``poke_source``).
    model
        The model record of ``provenance.json`` (path, sha256, training checksum, ...), or
        ``None`` when the bouts were not classified.
    bouts_source
        ``classified``, ``truth`` (simulator), ``review``, ``given`` or ``none``.
    inputs
        Name -> ``{"path", "sha256", "bytes"}`` of the files read.
    provenance
        ``provenance.json`` of a classify output, or ``None``.
    video
        The video's file name, if known.
    notes
        Remarks (what is missing and why).

    """

    folder: Path
    name: str
    kind: str
    pose: xr.Dataset
    pose_path: Path
    events: pd.DataFrame | None
    bouts: pd.DataFrame | None
    trials: pd.DataFrame | None
    arena: Any | None
    meta: dict[str, Any]
    model: dict[str, Any] | None = None
    bouts_source: str = "none"
    inputs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    video: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames per second of the pose."""
        return float(self.pose.attrs["fps"])

    @property
    def individuals(self) -> list[str]:
        """The animals of the pose, in order."""
        return [str(i) for i in np.atleast_1d(self.pose["individual"].values)]


@dataclass
class NWBExport:
    """One written file: where it went, from which folder, its size and remarks."""

    path: Path
    folder: Path
    bytes: int
    seconds: float
    notes: list[str] = field(default_factory=list)


# ---- reading the inputs --------------------------------------------------------------------
def _record(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    return {"path": str(path.resolve()), "sha256": sha256(path), "bytes": path.stat().st_size}


def _arena_of(folder: ClassifiedFolder) -> tuple[Any, Path | None]:
    """Return the arena a classify output was made with and its file (``None, None``: none)."""
    from behavtrack.io.arena import load_arena

    path = folder.arena_file()
    return (load_arena(path), path) if path is not None else (None, None)


def _video_name(folder: Path, meta: dict[str, Any]) -> str | None:
    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    for raw in (meta.get("video"), files.get("video"), meta.get("video_path")):
        if raw:
            return Path(str(raw)).name
    from behavtrack.io.session import VIDEO_NAMES

    found = next((n for n in VIDEO_NAMES if (folder / n).is_file()), None)
    return found


def _window_of(meta: dict[str, Any], arena: Any, events: pd.DataFrame | None) -> float | None:
    window = meta.get("window_s")
    if window is None and arena is not None:
        window = getattr(arena, "window_s", None)
    if window is None and events is not None and len(events):
        rows = events[events["event"].astype(str) == "window"]
        if len(rows) and np.isfinite(rows["value"].to_numpy(dtype=float)).any():
            window = float(rows["value"].dropna().iloc[-1])
    try:
        return None if window is None else float(window)
    except (TypeError, ValueError):
        return None


def _bouts_origin(meta: Mapping[str, Any]) -> str:
    """Where a session folder's ``bouts.csv`` comes from (as ``behavtrack stats`` says it)."""
    if meta.get("labels_source") == "review":
        return "review"
    if str(meta.get("source", "")) == "simulated":
        return "truth"
    return "given"


def _trials(events: pd.DataFrame | None, window: float | None, bouts: pd.DataFrame | None,
            individuals: list[str], meta: dict[str, Any], name: str, notes: list[str]
            ) -> pd.DataFrame | None:
    from behavtrack.task import trials_from_events

    if events is None or not (events["event"].astype(str) == "poke").any():
        notes.append("no pokes: no trials table")
        return None
    try:
        trials = trials_from_events(
            events, window, bouts=bouts,
            subjects=individuals if len(individuals) == 2 else None,
            source="mice", pair=str(meta.get("pair", "")), session=meta.get("session", ""),
            name=name)
    except InputError as exc:
        notes.append(f"no trials table ({exc.problem})")
        return None
    if not len(trials):
        notes.append(f"no trials table: no pokes by the pose's animals {individuals}")
        return None
    return trials


def collect_session(folder: str | os.PathLike, name: str | None = None, *,
                    aliases: Mapping[str, str] | None = None) -> SessionData:
    """Gather what the NWB file of one session holds.

    Parameters
    ----------
    folder
        A classify output folder (``provenance.json``, ``bouts.csv``, ``events.csv``,
        ``session.json``; the pose is the one it was classified from, found through
        ``provenance.json`` and checked against its checksum; a batch output keeps a tracked
        ``pose.h5`` inside), or a session folder (:func:`behavtrack.io.session.load_session`).
    name
        Session id (default: the folder's name).
    aliases
        Extra body-part aliases of the pose file (name in the file -> canonical name).

    Returns
    -------
    SessionData

    Raises
    ------
    InputError
        One line: a folder without pose (or whose pose changed since it was classified), a
        pose without frame rate, or a file that cannot be read.

    """
    from behavtrack.io.bouts import read_bouts_csv
    from behavtrack.io.pose import load_pose, require_fps, select_individuals

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "no such folder" if not folder.exists() else
                         "is a file, not a session folder",
                         "give session, classify output or batch output folders")
    name = name or folder.name
    notes: list[str] = []
    inputs: dict[str, Any] = {}
    classified = ClassifiedFolder(folder)
    if classified.is_classified:  # a classify (or batch session) output
        kind = "classified"
        meta, prov = classified.meta, classified.provenance
        pose_path = classified.pose_file()
        arena, arena_path = _arena_of(classified)
        inputs_rec = prov.get("inputs") if isinstance(prov.get("inputs"), dict) else {}
        if arena is None and inputs_rec.get("arena"):
            notes.append(f"the arena the session was classified with "
                         f"({classified.recorded_input('arena')}) was not found: no arena")
        fps = meta.get("fps") or None
        ds = load_pose(pose_path, fps=fps, arena=arena, aliases=aliases)
        require_fps(ds, pose_path)
        wanted = meta.get("individuals")
        wanted = [str(i) for i in wanted] if isinstance(wanted, list) and wanted else None
        have = [str(i) for i in np.atleast_1d(ds["individual"].values)]
        if wanted and not set(wanted) <= set(have) and arena is not None:
            # classify named a tracker's individual0/1 after the arena's compartments
            from behavtrack.strategies.pipeline import name_by_arena

            ds, _ = name_by_arena(ds, arena)
        if wanted:
            ds = select_individuals(ds, wanted, pose_path)
        if meta.get("n_frames") and int(meta["n_frames"]) != int(ds.sizes["time"]):
            raise InputError(folder, f"was classified on {meta['n_frames']} frames but its pose "
                             f"file {pose_path} has {ds.sizes['time']}",
                             "classify the session again, then export")
        events = classified.events(fps=ds.attrs["fps"], missing_ok=True)
        bouts = classified.bouts(missing_ok=True)
        bouts_source = "classified" if bouts is not None else "none"
        model = prov.get("model") if isinstance(prov.get("model"), dict) else None
        poke_source = str(meta.get("poke_source", "log"))
        inputs.update(session_json=_record(classified.meta_path),
                      provenance=_record(classified.provenance_path),
                      bouts=_record(folder / "bouts.csv") if bouts is not None else None,
                      events=_record(folder / "events.csv") if events is not None else None)
    else:
        from behavtrack.io.session import load_session

        kind = "session"
        sess = load_session(folder)
        meta, prov, arena = dict(sess.meta), None, sess.arena
        arena_path = folder / "arena.yaml" if arena is not None else None
        pose_path = Path(sess.pose_path)
        ds = sess.load_pose(aliases=aliases)
        require_fps(ds, pose_path)
        events = sess.events
        bouts = read_bouts_csv(sess.bouts_path) if sess.bouts_path is not None else None
        bouts_source = _bouts_origin(meta) if bouts is not None else "none"
        model = None
        poke_source = "log" if events is not None else "none"
        inputs.update(session_json=_record(folder / "session.json")
                      if (folder / "session.json").is_file() else None,
                      bouts=_record(sess.bouts_path),
                      events=_record(folder / "events.csv") if events is not None else None)
    inputs.update(pose=_record(pose_path), arena=_record(arena_path))
    fps = float(ds.attrs["fps"])
    individuals = [str(i) for i in np.atleast_1d(ds["individual"].values)]
    if bouts is not None:
        strangers = sorted(set(bouts["individual"].astype(str)) - set(individuals))
        if strangers:
            raise InputError(folder, f"its bouts name animals {strangers} that the pose "
                             f"({', '.join(individuals)}) does not have",
                             "export the folder the bouts were made for")
        if not len(bouts):
            bouts, bouts_source = None, "none"
            notes.append("bouts.csv holds no bout: no bouts tables")
    else:
        notes.append("no bouts.csv: no bouts tables")
    if events is None:
        notes.append("no events.csv: no events tables")
    window = _window_of(meta, arena, events)
    trials = _trials(events, window, bouts, individuals, meta, str(folder), notes)
    n = int(ds.sizes["time"])
    session_meta = {k: v for k, v in meta.items() if k != "files"}
    session_meta.update(fps=fps, n_frames=n, duration_s=n / fps, individuals=individuals,
                        window_s=window, poke_source=poke_source)
    return SessionData(
        folder=folder, name=name, kind=kind, pose=ds, pose_path=pose_path, events=events,
        bouts=bouts, trials=trials, arena=arena, meta=session_meta, model=model,
        bouts_source=bouts_source, inputs=inputs, provenance=prov,
        video=_video_name(folder, meta), notes=notes)


def _pose_path(folder: Path) -> Path:
    """Return the pose file a folder's export reads (the one-line error when there is none)."""
    classified = ClassifiedFolder(folder)
    if classified.is_classified:
        return classified.pose_file()
    from behavtrack.io.session import load_session

    return Path(load_session(folder).pose_path)


def nwb_name(session_id: str) -> str:
    """Return the file stem of a session id: ``/`` and other odd characters become ``_``.

    ``behavtrack batch --nwb`` names its files so, as ``export-nwb`` names those of a batch
    output.

    Examples
    --------
    >>> nwb_name("pair01/day03")
    'pair01_day03'

    """
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(session_id)).strip(".") or "session"


def find_export_sessions(paths: str | os.PathLike | Iterable[str | os.PathLike]
                         ) -> list[tuple[Path, str]]:
    """Expand folders, globs and list files into the sessions to export, each with its file stem.

    The sessions are found by :func:`behavtrack.io.inputs.find_inputs` with kind ``export``: a
    folder holding ``session.json`` or ``provenance.json`` is one session, named by the
    folder; any other folder is searched recursively (hidden staging folders skipped), each
    session named by its path below it (:func:`behavtrack.io.inputs.input_id`: a batch
    output's ``sessions/pair01/day03`` is ``pair01/day03``), which :func:`nwb_name` turns into
    the file stem ``pair01_day03``.

    Raises
    ------
    InputError
        A path that does not exist, is a file or holds no session, a glob that matches
        nothing, or two sessions that would get the same file name.

    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    sessions = named_inputs(
        find_inputs(paths, kinds=("export",)), id_of=nwb_name,
        clash=("would be exported as {id}.nwb, like {other}",
               "export them with separate runs to different out_dir= folders"))
    if paths and not sessions:  # e.g. an empty list file
        raise InputError(", ".join(map(str, paths)), "names no session",
                         "give session, classify output or batch output folders")
    return sessions


# ---- building the NWB file -----------------------------------------------------------------
def _clean_name(text: str) -> str:
    """Return an NWB object name: no slashes (nwbinspector) and nothing odd."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(text)) or "_"


def skeleton_edges(keypoints: Sequence[str]) -> np.ndarray:
    """Edges of the canonical body parts a pose has: the spine nose-to-tail, ears and hips.

    Consecutive parts of ``nose, head, neck, centroid, tail_base`` that the pose has are
    joined; each ear joins the first of head, nose, neck it has, each hip the first of
    centroid, tail_base, neck. Other parts get no edge.

    Returns
    -------
    numpy.ndarray
        ``(n_edges, 2)`` ``uint8`` indices into ``keypoints``.

    Examples
    --------
    >>> skeleton_edges(["nose", "left_ear", "right_ear", "centroid", "tail_base"]).tolist()
    [[0, 3], [3, 4], [1, 0], [2, 0]]

    """
    kp = [str(k) for k in keypoints]
    index = {k: i for i, k in enumerate(kp)}
    spine = [index[k] for k in _SPINE if k in index]
    edges = list(zip(spine[:-1], spine[1:], strict=True))
    for side, anchors in _SIDES.items():
        if side in index:
            to = next((index[a] for a in anchors if a in index), None)
            if to is not None:
                edges.append((index[side], to))
    if len(kp) > 255:  # ndx-pose stores uint8 indices
        return np.zeros((0, 2), dtype="uint8")
    return np.asarray(edges, dtype="uint8").reshape(-1, 2)


def _regular_start(time: np.ndarray, fps: float) -> float | None:
    """Return ``time[0]`` if ``time`` is every frame at ``fps`` from there on, else ``None``."""
    if len(time) < 2:
        return float(time[0]) if len(time) else 0.0
    frames = np.rint(time * fps)
    if np.all(np.diff(frames) == 1) and np.max(np.abs(time - frames / fps)) < 1e-9:
        return float(frames[0] / fps)
    return None


def _pose_objects(data: SessionData, subject: Any, compress: bool) -> tuple[list[Any], Any]:
    """PoseEstimation per animal and one Skeletons container, through movement's writer.

    movement (``movement.io.nwb``) turns each animal into ndx-pose objects with its
    ``NWBFileSaveConfig``. Its series carry per-keypoint ``timestamps``, which nwbinspector
    refuses for a regular frame rate (``check_regular_timestamps``, a best-practice
    violation) and which would store the frame times once per body part; so each series is
    re-made with the same fields and ``starting_time`` + ``rate`` instead (timestamps are
    kept, shared, only if the frames are not regular). The animals' skeletons go into one
    ``Skeletons`` container, as ndx-pose expects.
    """
    import ndx_pose
    from pynwb import H5DataIO

    try:
        from movement.io.nwb import NWBFileSaveConfig, _ds_to_pose_and_skeletons
    except ImportError as exc:  # pragma: no cover - depends on the movement version
        raise InputError("movement", f"has no NWB writer here ({exc})",
                         "install movement>=0.16,<0.18") from None

    ds = data.pose
    fps = data.fps
    keypoints = [str(k) for k in ds["keypoint"].values]
    software = str(ds.attrs.get("source_software") or "unknown")
    source = Path(str(ds.attrs.get("source_file") or data.pose_path)).name
    conf_def = ("the pose file's confidence of each point (e.g. DeepLabCut likelihood, SLEAP "
                f"instance score), 0-1, as read from {source}")
    series_kwargs = {
        kp: {"description": f"x, y of the {kp} in video pixels, from {source} ({software})",
             "unit": "pixels", "reference_frame": "(0, 0) is the top-left corner of the video "
             "frame; x grows to the right, y downwards", "confidence_definition": conf_def}
        for kp in keypoints
    }
    inds = data.individuals
    names = {i: _clean_name(i) for i in inds}
    edges = skeleton_edges(keypoints)
    pe_kwargs = {i: {"name": POSE_PREFIX + names[i], "source_software": software,
                     "description": f"Estimated positions of {', '.join(keypoints)} of {i} "
                     f"({software}; {source}), as read by behavtrack",
                     **({"original_videos": [data.video]} if data.video else {})}
                 for i in inds}
    config = NWBFileSaveConfig(
        pose_estimation_series_kwargs=series_kwargs,
        pose_estimation_kwargs=pe_kwargs,
        skeleton_kwargs={i: {"name": SKELETON_PREFIX + names[i], "edges": edges} for i in inds},
    )
    time = np.asarray(ds["time"].values, dtype=float)
    start = _regular_start(time, fps)

    def wrap(arr: Any) -> Any:
        if not compress or arr is None:
            return arr
        return H5DataIO(np.ascontiguousarray(arr), compression="gzip", compression_opts=GZIP_LEVEL,
                        shuffle=True)

    skeletons, estimations = [], []
    for ind in inds:
        pe, skel_box = _ds_to_pose_and_skeletons(ds.sel(individual=ind), config, subject,
                                                 from_multi_individual=True)
        old_skel = next(iter(skel_box.skeletons.values()))
        skeleton = ndx_pose.Skeleton(name=old_skel.name, nodes=list(old_skel.nodes),
                                     edges=np.asarray(old_skel.edges, dtype="uint8")
                                     if old_skel.edges is not None else None,
                                     subject=subject)
        skeletons.append(skeleton)
        series, first = [], None
        for kp in keypoints:  # in the pose's order (PoseEstimation sorts by name)
            s = pe.pose_estimation_series[kp]
            timing: dict[str, Any] = ({"rate": fps, "starting_time": start}
                                      if start is not None
                                      else {"timestamps": first if first is not None
                                            else np.asarray(s.timestamps)})
            new = ndx_pose.PoseEstimationSeries(
                name=s.name, description=s.description, data=wrap(np.asarray(s.data)),
                confidence=wrap(None if s.confidence is None else np.asarray(s.confidence)),
                unit=s.unit, reference_frame=s.reference_frame,
                confidence_definition=s.confidence_definition, **timing)
            if first is None:
                first = new
            series.append(new)
        extra = {k: getattr(pe, k) for k in ("original_videos", "dimensions", "scorer",
                                               "source_software_version")
                 if getattr(pe, k, None) is not None}
        estimations.append(ndx_pose.PoseEstimation(
            name=pe.name, description=pe.description, pose_estimation_series=series,
            skeleton=skeleton, source_software=pe.source_software, **extra))
    return estimations, ndx_pose.Skeletons(skeletons=skeletons)


def _columns(df: pd.DataFrame, descriptions: Mapping[str, str],
             special: Mapping[str, Any] | None = None, drop_empty: Sequence[str] = ()
             ) -> list[Any]:
    """VectorData columns of a table.

    ``special`` maps a column name to its VectorData subclass; float columns named in
    ``drop_empty`` are left out when they hold nothing but NaN.
    """
    from hdmf.common import VectorData

    cols = []
    for name in df.columns:
        values = df[name]
        if name in drop_empty and values.dtype.kind == "f" and not values.notna().any():
            continue  # an all-NaN column says nothing; the reader restores it
        if values.dtype.kind == "b":
            arr = values.to_numpy(dtype=bool)
        elif values.dtype.kind in "iu":
            arr = values.to_numpy(dtype=np.int64)
        elif values.dtype.kind == "f":
            arr = values.to_numpy(dtype=float)
        elif str(values.dtype) in ("Int64", "Int32"):
            arr = values.astype("float").to_numpy(dtype=float)
        else:
            arr = np.asarray(values.fillna("").astype(str).tolist(), dtype=object)
        cls = (special or {}).get(name, VectorData)
        cols.append(cls(name=str(name), description=descriptions.get(name, str(name)),
                        data=arr))
    return cols


def _bout_tables(data: SessionData) -> list[Any]:
    from pynwb.epoch import TimeIntervals

    if data.bouts is None:
        return []
    fps = data.fps
    tables = []
    source = {"classified": "classified by behavtrack (model in scratch/behavtrack)",
              "truth": "the simulator's ground truth (not classified)",
              "review": "corrected by a person in behavtrack's napari review",
              "given": "given with the session (bouts.csv)"}.get(data.bouts_source,
                                                                  data.bouts_source)
    for ind in data.individuals:
        b = data.bouts[data.bouts["individual"].astype(str) == ind]
        if not len(b):
            continue
        start_f = pd.to_numeric(b["start_frame"], errors="coerce").to_numpy(dtype=float)
        stop_f = pd.to_numeric(b["stop_frame"], errors="coerce").to_numpy(dtype=float)
        start_s = np.where(np.isfinite(start_f), start_f / fps, b["start_s"].to_numpy(float))
        stop_s = np.where(np.isfinite(stop_f), stop_f / fps, b["stop_s"].to_numpy(float))
        df = pd.DataFrame({
            "start_time": start_s, "stop_time": stop_s,
            "behavior": b["behavior"].astype(str).to_numpy(),
            "individual": ind,
            "confidence": pd.to_numeric(b["confidence"], errors="coerce").to_numpy(float),
            "start_frame": np.where(np.isfinite(start_f), start_f, np.rint(start_s * fps)
                                    ).astype(np.int64),
            "stop_frame": np.where(np.isfinite(stop_f), stop_f, np.rint(stop_s * fps)
                                   ).astype(np.int64),
        }).sort_values("start_time", kind="stable")
        desc = {"start_time": "bout start (s): start_frame / fps",
                "stop_time": "bout end (s): stop_frame / fps",
                "behavior": "approach, waiting, interaction or other",
                "individual": "the animal",
                "confidence": "mean posterior of the behaviour over the bout (NaN if unknown)",
                "start_frame": "first video frame of the bout",
                "stop_frame": "first video frame after the bout (exclusive)"}
        tables.append(TimeIntervals(
            name=BOUTS_PREFIX + _clean_name(ind),
            description=f"Behaviour bouts of {ind}, one row per bout, in time order; {source}.",
            columns=_columns(df, desc, drop_empty=["confidence"])))
    return tables


def _event_tables(data: SessionData) -> tuple[list[Any], dict[str, str]]:
    from pynwb.event import EventsTable, TimestampVectorData

    ev = data.events
    if ev is None or not len(ev):
        return [], {}
    fps = data.fps
    ev = ev.reset_index(drop=True)
    detected = data.meta.get("poke_source") == "pose"
    tables, names = [], {}
    for event in dict.fromkeys(ev["event"].astype(str)):
        rows = ev[ev["event"].astype(str) == event]
        frame = pd.to_numeric(rows["frame"], errors="coerce").to_numpy(dtype=float)
        t = rows["time_s"].to_numpy(dtype=float)
        df = pd.DataFrame({
            "timestamp": t,
            "subject": rows["subject"].fillna("").astype(str).to_numpy(),
            "value": pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float),
            "frame": np.where(np.isfinite(frame), frame, np.rint(t * fps)).astype(np.int64),
            "log_row": rows.index.to_numpy(dtype=np.int64),
        })
        for extra in [c for c in rows.columns if c not in ("time_s", "frame", "subject", "event",
                                                           "value")]:
            df[_clean_name(extra)] = rows[extra].to_numpy()
        name = _clean_name(event)
        while name in names.values():
            name += "_"
        names[event] = name
        from_pose = detected and event == "poke"
        desc = {"timestamp": f"time of the {event} event (s from the session start)",
                "subject": "the animal (empty for events of the rig)",
                "value": "the number the event carries (e.g. the coordination window in s of "
                         "a 'window' row), NaN if none",
                "frame": "video frame of the event",
                "log_row": "position of the event in the session's events table (events.csv, "
                           "sorted by time; 0-based), to restore its order"}
        tables.append(EventsTable(
            name=name,
            description=(f"'{event}' events of the cooperation task rig, one row per event"
                         + (": pokes detected in the pose (the nose entering the animal's own "
                            "poke-port zone)" if from_pose else ", as logged by the rig")),
            source_description=("behavtrack: detected from the pose" if from_pose
                                else "the rig's event log (events.csv)"),
            columns=_columns(df, desc, {"timestamp": _timestamps_class(TimestampVectorData,
                                                                       from_pose, fps)},
                             drop_empty=["value"])))
    return tables, names


def _timestamps_class(cls: Any, from_pose: bool, fps: float) -> Any:
    """TimestampVectorData with the video's frame period as resolution for pose-made events."""
    if not from_pose:
        return cls

    def make(**kwargs: Any) -> Any:
        return cls(resolution=1.0 / fps, **kwargs)

    return make


def _trials_table(data: SessionData) -> Any | None:
    from pynwb.epoch import TimeIntervals

    tr = data.trials
    if tr is None or not len(tr):
        return None
    df = pd.DataFrame({"start_time": tr["time_s"].to_numpy(dtype=float),
                       "stop_time": (tr["time_s"] + tr["window_s"]).to_numpy(dtype=float)})
    for col in tr.columns:
        if col in ("source", "pair", "session"):
            continue  # constant: in the file's metadata
        df[col] = tr[col].to_numpy()
    df["success"] = df["success"].astype(bool)
    for col in ("waited", "interacted", "approached"):  # 0/1 flags: boolean when all known
        if col in df and df[col].notna().all():
            df[col] = df[col].astype(bool)
    desc = {"start_time": "time of the poke (s from the session start)",
            "stop_time": "end of the coordination window after the poke (s): start_time + "
                         "window_s", **_TRIAL_DESCRIPTIONS}
    return TimeIntervals(
        name="trials",
        description=("Trials of the cooperation task: one row per nose poke, paired with the "
                     "partner's nearest poke; a success when both poked within the window "
                     "(behavtrack.task.trials_from_events)."),
        columns=_columns(df, desc, drop_empty=[c for c in df.columns if c not in
                                                 ("start_time", "stop_time")]))


def _as_datetime(raw: Any, what: str) -> _dt.datetime:
    """Return a date and time with a time zone (UTC if none) from ISO 8601 text or a date."""
    if isinstance(raw, _dt.datetime):
        when = raw
    elif isinstance(raw, _dt.date):
        when = _dt.datetime.combine(raw, _dt.time())
    else:
        try:
            when = _dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise InputError(what, f"{raw!r} is not an ISO 8601 date and time",
                             "e.g. 2024-03-01T10:30:00+01:00") from None
    return when if when.tzinfo else when.replace(tzinfo=_dt.UTC)


def _start_time(meta: Mapping[str, Any], override: Any) -> tuple[_dt.datetime, bool]:
    raw = override or meta.get("session_start_time") or meta.get("start_time")
    if raw:
        return _as_datetime(raw, "session_start_time"), True
    try:
        day = int(float(meta.get("session", 0)))
    except (TypeError, ValueError):
        day = 0
    return PLACEHOLDER_START + _dt.timedelta(days=max(day, 0)), False


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, _dt.datetime)):
        return str(value)
    return str(value)


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN and infinities become ``None``."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _identifier(data: SessionData) -> str:
    """Return a deterministic unique id: the session's name and the checksums of its inputs."""
    from behavtrack import __version__

    sums = [str((rec or {}).get("sha256")) for _, rec in sorted(data.inputs.items())]
    key = "|".join(["behavtrack", __version__, data.name, *sums])
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def build_nwbfile(data: SessionData, metadata: Mapping[str, Any] | None = None, *,
                  compress: bool = True) -> Any:
    """Return the ``pynwb.NWBFile`` of one session (not written; see :func:`write_session_nwb`).

    Parameters
    ----------
    data
        What :func:`collect_session` gathered.
    metadata
        Lab metadata for the file: NWBFile fields (:data:`NWBFILE_FIELDS`, e.g.
        ``experimenter``, ``institution``, ``lab``, ``session_start_time``) and ``"subject"``:
        Subject fields (:data:`SUBJECT_FIELDS`; default :data:`DEFAULT_SUBJECT`).
    compress
        gzip the pose datasets (about 3x smaller; a little slower to write).

    Returns
    -------
    pynwb.NWBFile

    """
    import pynwb

    from behavtrack import __version__

    metadata = dict(metadata or {})
    unknown = sorted(set(metadata) - set(NWBFILE_FIELDS) - {"subject"})
    if unknown:
        raise InputError("metadata", f"unknown field {unknown[0]!r}",
                         f"NWB fields: {', '.join(NWBFILE_FIELDS)}, subject")
    subject_meta = dict(metadata.pop("subject", None) or {})
    bad = sorted(set(subject_meta) - set(SUBJECT_FIELDS))
    if bad:
        raise InputError("metadata", f"unknown subject field {bad[0]!r}",
                         f"subject fields: {', '.join(SUBJECT_FIELDS)}")
    meta = data.meta
    start, known = _start_time(meta, metadata.pop("session_start_time", None))
    pair = str(meta.get("pair") or data.name)
    inds = data.individuals
    subject_kwargs = {**DEFAULT_SUBJECT, **subject_meta}
    if subject_kwargs.get("date_of_birth") is not None:
        subject_kwargs["date_of_birth"] = _as_datetime(subject_kwargs["date_of_birth"],
                                                       "subject date_of_birth")
        if "age" not in subject_meta:  # the birth date says it
            subject_kwargs.pop("age")
    who = f"The pair {pair}" if meta.get("pair") else f"The animals of session {data.name}"
    subject_kwargs.setdefault(
        "description", f"{who}: {', '.join(inds)}, recorded together (each animal's pose, "
        "bouts and skeleton are named after it).")
    subject = pynwb.file.Subject(subject_id=_clean_name(pair), **subject_kwargs)
    session = meta.get("session")
    described = (f"pair {pair}" if meta.get("pair") else f"session {data.name}") + (
        f", session {session}" if session is not None else "")
    task = data.arena is not None and not getattr(data.arena, "is_open", False)
    keywords = list(metadata.pop("keywords", None) or []) or [
        "behavtrack", "pose estimation", "behaviour classification", "social behaviour",
        *(["cooperation task"] if task else [])]
    description = (
        "Two mice, one in each half of a chamber split by a see-through partition, must "
        "nose-poke their own ports within a time window of each other to both get water; "
        "behaviour is classified into approach, waiting, interaction and other by behavtrack."
        if task else "Animals recorded together by an overhead camera; pose estimated per "
        "animal and behaviour classified into bouts by behavtrack.")
    nwbfile = pynwb.NWBFile(
        session_description=(f"Pose, behaviour bouts, rig events and trials of {described} "
                             f"({len(inds)} animals, {meta['duration_s']:.1f} s at "
                             f"{data.fps:g} fps), exported by behavtrack {__version__}."),
        identifier=_identifier(data),
        session_start_time=start,
        session_id=_clean_name(data.name),
        subject=subject,
        keywords=keywords,
        source_script=f"behavtrack {__version__} export-nwb",
        source_script_file_name="behavtrack/export/nwb.py",
        experiment_description=metadata.pop("experiment_description", description),
        **metadata,
    )
    estimations, skeletons = _pose_objects(data, subject, compress)
    module = nwbfile.create_processing_module(
        name=POSE_MODULE, description="Pose estimation of each animal (ndx-pose), exported by "
        "behavtrack through movement")
    module.add(skeletons)
    for pe in estimations:
        module.add(pe)
    for table in _bout_tables(data):
        nwbfile.add_time_intervals(table)
    events, event_names = _event_tables(data)
    for table in events:
        nwbfile.add_events_table(table)
    trials = _trials_table(data)
    if trials is not None:
        nwbfile.trials = trials

    arena = data.arena.to_dict() if data.arena is not None else None
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "behavtrack_version": __version__,
        "kind": data.kind,
        "session_id": data.name,
        "session": meta,
        "session_start_time_known": known,
        "pose": {"individuals": inds,
                 "keypoints": [str(k) for k in data.pose["keypoint"].values],
                 "objects": {i: POSE_PREFIX + _clean_name(i) for i in inds},
                 "source_file": data.pose_path.name,
                 "source_software": str(data.pose.attrs.get("source_software") or ""),
                 "renamed_keypoints": data.pose.attrs.get("renamed_keypoints", "{}")},
        "bouts": {"source": data.bouts_source,
                  "tables": {i: BOUTS_PREFIX + _clean_name(i) for i in inds
                             if data.bouts is not None
                             and (data.bouts["individual"].astype(str) == i).any()}},
        "events": {"tables": event_names, "poke_source": meta.get("poke_source")},
        "trials": ({"columns": [str(c) for c in data.trials.columns]}
                   if trials is not None else None),
        "arena": arena,
        "model": data.model,
        "inputs": data.inputs,
        "provenance": data.provenance,
        "video": data.video,
        "notes": data.notes,
    }
    text = json.dumps(_finite(record), indent=1, default=_jsonable, allow_nan=False)
    nwbfile.add_scratch(text, name=METADATA_NAME,
                        description="behavtrack's record of this session (JSON): format, "
                        "session metadata, arena, model and checksums of the inputs")
    return nwbfile


def write_session_nwb(data: SessionData, path: str | os.PathLike,
                      metadata: Mapping[str, Any] | None = None, *,
                      compress: bool = True) -> Path:
    """Write the NWB file of one session atomically and return its path.

    The file is written to a hidden temporary file next to ``path`` and renamed onto it only
    when complete; on any error nothing is left at ``path`` (an earlier file there is kept).

    Parameters
    ----------
    data
        What :func:`collect_session` gathered.
    path
        The ``.nwb`` file to write.
    metadata, compress
        See :func:`build_nwbfile`.

    Returns
    -------
    pathlib.Path

    """
    import pynwb

    path = Path(path)
    nwbfile = build_nwbfile(data, metadata, compress=compress)
    if path.exists() and path.is_dir():
        raise InputError(path, "is a folder, not an NWB file to write")
    with atomic_path(path) as tmp:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
    return path


def export_session_nwb(folder: str | os.PathLike, path: str | os.PathLike, *,
                       name: str | None = None, aliases: Mapping[str, str] | None = None,
                       metadata: Mapping[str, Any] | None = None) -> Path:
    """Write the NWB file of one session or classify output folder (what ``batch --nwb`` calls).

    Examples
    --------
    >>> export_session_nwb("out/sessions/pair01/day03",
    ...                    "out/nwb/pair01_day03.nwb")  # doctest: +SKIP

    """
    data = collect_session(folder, name or Path(path).stem, aliases=aliases)
    return write_session_nwb(data, path, metadata)


def _check_out(out: Path) -> None:
    """Refuse an output folder that cannot be written, before any work."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file, not an output folder", "give a folder as out_dir=")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot be created ({(exc.strerror or type(exc).__name__).lower()})",
                         "choose an output folder you can write to") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(out, "is not writable", "choose an output folder you can write to")


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read a lab's NWB metadata file (JSON or YAML object; see :func:`build_nwbfile`)."""
    import yaml

    from behavtrack.files import require_file

    p = require_file(path, "metadata file")
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(p, f"is not readable {'JSON' if p.suffix == '.json' else 'YAML'} "
                         f"({type(exc).__name__})", "fix its syntax") from None
    if not isinstance(data, dict):
        raise InputError(p, "must hold an object of NWB fields",
                         "e.g. {\"experimenter\": [\"Doe, Jane\"], \"subject\": {\"age\": "
                         "\"P90D\"}}")
    unknown = sorted(set(data) - set(NWBFILE_FIELDS) - {"subject"})
    if unknown:
        raise InputError(p, f"has an unknown field {unknown[0]!r}",
                         f"NWB fields: {', '.join(NWBFILE_FIELDS)}, subject")
    if "subject" in data and not isinstance(data["subject"], dict):
        raise InputError(p, "'subject' must be an object of Subject fields",
                         f"fields: {', '.join(SUBJECT_FIELDS)}")
    return data


def export_nwb(paths: str | os.PathLike | Iterable[str | os.PathLike],
               out_dir: str | os.PathLike, *, aliases: Mapping[str, str] | None = None,
               metadata: Mapping[str, Any] | None = None,
               compress: bool = True) -> list[NWBExport]:
    """Write one NWB file per session found in ``paths`` into ``out_dir``.

    Parameters
    ----------
    paths
        Session folders, classify output folders, or folders holding them (a batch output,
        a simulated cohort), globs and list files; see :func:`find_export_sessions`.
    out_dir
        Output folder (created): ``<session id>.nwb`` per session.
    aliases
        Extra body-part aliases of the pose files.
    metadata
        Lab metadata for every file (see :func:`build_nwbfile`).
    compress
        gzip the pose datasets.

    Returns
    -------
    list of NWBExport

    Raises
    ------
    InputError
        One line, before any file is written: an --out that cannot be written, a path that
        holds no session, two sessions with one name, a folder without pose (or whose pose
        changed since it was classified); while exporting: a file that cannot be read.
        Files already written are complete; none is half-written.

    Examples
    --------
    >>> export_nwb(["batch_out"], "nwb/")  # doctest: +SKIP

    """
    import time

    out = Path(out_dir)
    sessions = find_export_sessions(paths)
    for folder, _ in sessions:  # a folder without pose fails the run before any file
        _pose_path(folder)
    _check_out(out)
    done: list[NWBExport] = []
    for folder, name in progress(sessions, desc="export-nwb", unit="session"):
        t0 = time.perf_counter()
        data = collect_session(folder, name, aliases=aliases)
        target = write_session_nwb(data, out / f"{name}.nwb", metadata, compress=compress)
        done.append(NWBExport(path=target, folder=folder, bytes=target.stat().st_size,
                              seconds=time.perf_counter() - t0, notes=list(data.notes)))
    return done


# ---- checking ------------------------------------------------------------------------------
def inspect_nwb(path: str | os.PathLike, importance: str = "BEST_PRACTICE_VIOLATION"
                ) -> list[dict[str, str]]:
    """Run nwbinspector on a file and return its messages at or above ``importance``.

    Parameters
    ----------
    path
        The NWB file.
    importance
        ``CRITICAL``, ``BEST_PRACTICE_VIOLATION`` or ``BEST_PRACTICE_SUGGESTION``.

    Returns
    -------
    list of dict
        ``importance``, ``check``, ``location``, ``object_type``, ``message`` per message
        (empty: the file passes).

    Raises
    ------
    InputError
        If nwbinspector is not installed (``pip install 'behavtrack[nwb]'``).

    """
    try:
        from nwbinspector import Importance, inspect_nwbfile
    except ImportError:
        raise InputError("nwbinspector", "is not installed",
                         "pip install 'behavtrack[nwb]' (or nwbinspector)") from None
    try:
        level = Importance[importance]
    except KeyError:
        raise InputError("importance", f"unknown level {importance!r}",
                         "CRITICAL, BEST_PRACTICE_VIOLATION or BEST_PRACTICE_SUGGESTION") from None
    out = []
    for msg in inspect_nwbfile(nwbfile_path=str(path), importance_threshold=level):
        out.append({"importance": msg.importance.name, "check": msg.check_function_name,
                    "location": str(msg.location), "object_type": str(msg.object_type),
                    "message": str(msg.message)})
    return out
