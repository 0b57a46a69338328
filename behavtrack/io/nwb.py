"""Reading an NWB file written by ``behavtrack export-nwb`` back into behavtrack's tables.

:func:`load_nwb_session` returns what ``classify``, ``stats`` and ``review`` need from one
session: the pose Dataset (with its frame rate), the events, bouts and trials tables, the arena
and the session's metadata (pair, session index, fps, window, model and its checksum). An NWB
file that is not a behavtrack export is refused with one line saying what it lacks.
:func:`load_nwb_pose` reads the pose of any ndx-pose NWB file with one ``PoseEstimation`` per
animal (movement's reader takes one); :func:`is_behavtrack_nwb` tells a behavtrack export
without reading it. The layout is in ``docs/nwb.md``; the writer is
:mod:`behavtrack.export.nwb`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import require_file

__all__ = [
    "NWBSession",
    "is_behavtrack_nwb",
    "load_nwb_pose",
    "load_nwb_session",
]

#: Kept in step with :mod:`behavtrack.export.nwb` (not imported: readers do not need pynwb's
#: writer side, nor the movement writer).
FORMAT = "behavtrack-nwb"
FORMAT_VERSION = 1
METADATA_NAME = "behavtrack"
POSE_MODULE = "behavior"

_HINT = ("export it with behavtrack export-nwb; a plain ndx-pose file is read as a pose file "
         "(behavtrack.io.nwb.load_nwb_pose)")


@dataclass
class NWBSession:
    """One session read from a behavtrack NWB export.

    Attributes
    ----------
    path
        The NWB file.
    pose
        movement's poses Dataset: ``position`` (time, space, keypoint, individual) and
        ``confidence``; ``time`` in seconds; ``attrs["fps"]`` set.
    events
        Events table (``time_s, frame, subject, event, value`` + extras; the row order of the
        exported ``events.csv``), or ``None`` when the session had none.
    bouts
        Bouts table (:data:`behavtrack.io.bouts.BOUT_COLUMNS`), or ``None``.
    trials
        Trials table (the columns of ``trials.csv``, :data:`behavtrack.task.TRIAL_COLUMNS`),
        or ``None``.
    arena
        The arena, or ``None``.
    meta
        The session's metadata as a classify output's ``session.json`` holds it (``pair``,
        ``session``, ``fps``, ``n_frames``, ``duration_s``, ``window_s``, ``individuals``,
        ``poke_source``, ...) plus ``bouts_source``, ``session_id`` and ``nwb_file``.
    model
        The model record (``path``, ``sha256``, ``training_checksum``, ...) when the bouts
        were classified, else ``None``.
    record
        The whole behavtrack record stored in the file (``scratch/behavtrack``).

    """

    path: Path
    pose: xr.Dataset
    events: pd.DataFrame | None
    bouts: pd.DataFrame | None
    trials: pd.DataFrame | None
    arena: Any | None
    meta: dict[str, Any]
    model: dict[str, Any] | None = None
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frames per second."""
        return float(self.pose.attrs["fps"])

    @property
    def individuals(self) -> list[str]:
        """The animals, in order."""
        return [str(i) for i in np.atleast_1d(self.pose["individual"].values)]


def _open_hdf5(path: Path) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"is not an NWB file (not a readable HDF5 file: {text})",
                         "give a .nwb file written by behavtrack export-nwb") from None


def is_behavtrack_nwb(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 NWB file that holds behavtrack's metadata (cheap: h5py)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "nwb_version" in f.attrs and f"scratch/{METADATA_NAME}" in f
    except OSError:
        return False


def _read_record(path: Path) -> dict[str, Any]:
    """Behavtrack's record in the file, or the one-line error saying what is missing."""
    with _open_hdf5(path) as f:
        if "nwb_version" not in f.attrs:
            raise InputError(path, "is an HDF5 file but not an NWB file (no nwb_version)",
                             "give a .nwb file written by behavtrack export-nwb")
        if f"scratch/{METADATA_NAME}" not in f:
            have = [k for k in ("processing/behavior", "intervals", "events") if k in f]
            raise InputError(path, f"is not a behavtrack NWB export: it has no scratch/"
                             f"{METADATA_NAME} metadata" + (f" (it has {', '.join(have)})"
                                                           if have else ""), _HINT)
        raw = f[f"scratch/{METADATA_NAME}"][()]
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(path, f"is not a behavtrack NWB export: scratch/{METADATA_NAME} is "
                         "not JSON", _HINT) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(path, f"is not a behavtrack NWB export: scratch/{METADATA_NAME} "
                         f"does not say format {FORMAT!r}", _HINT)
    version = record.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(path, f"was written in behavtrack NWB layout {version!r}, newer than "
                         f"this behavtrack reads ({FORMAT_VERSION})", "update behavtrack")
    for key in ("session", "pose"):
        if not isinstance(record.get(key), dict):
            raise InputError(path, f"is not a complete behavtrack NWB export: its metadata "
                             f"has no {key!r}", _HINT)
    return record


def _pose_of(estimation: Any, individual: str, nwbfile: Any, path: Path) -> xr.Dataset:
    """One animal's pose through movement's NWB reader, named and timed."""
    from movement.io import load_poses

    ds = load_poses.from_nwb_file(nwbfile, processing_module_key=POSE_MODULE,
                                  pose_estimation_key=estimation.name)
    series = list(estimation.pose_estimation_series.values())
    first = series[0]
    if first.rate is not None:
        fps = float(first.rate)
        start = float(first.starting_time or 0.0)
        n = int(ds.sizes["time"])
        time = start + np.arange(n) / fps
    else:
        time = np.asarray(first.timestamps[:], dtype=float)
        fps = float(ds.attrs.get("fps") or np.nanmedian(1.0 / np.diff(time)))
    nodes = list(estimation.skeleton.nodes[:]) if estimation.skeleton is not None else []
    order = [str(k) for k in nodes if str(k) in set(map(str, ds["keypoint"].values))]
    order += [str(k) for k in ds["keypoint"].values if str(k) not in order]
    ds = ds.sel(keypoint=order)
    ds = ds.assign_coords(time=time, individual=[individual])
    ds.attrs.update(fps=fps, source_software=str(estimation.source_software or ""))
    return ds


def _names_of(estimation: Any, nwbfile: Any, n: int) -> str:
    name = str(estimation.name)
    if name.startswith("PoseEstimation_"):
        return name[len("PoseEstimation_"):]
    skeleton = getattr(estimation, "skeleton", None)
    subject = getattr(skeleton, "subject", None) if skeleton is not None else None
    if n == 1:
        sid = getattr(subject, "subject_id", None) or getattr(nwbfile.subject, "subject_id", None)
        return str(sid or nwbfile.identifier)
    return name


def _merge_pose(parts: list[xr.Dataset], path: Path) -> xr.Dataset:
    fps = {round(float(p.attrs["fps"]), 6) for p in parts}
    if len(fps) > 1:
        raise InputError(path, f"holds animals tracked at different frame rates {sorted(fps)}",
                         "export each animal on its own")
    keypoints = [str(k) for k in parts[0]["keypoint"].values]
    if any([str(k) for k in p["keypoint"].values] != keypoints for p in parts[1:]):
        raise InputError(path, "holds animals with different body parts",
                         "read each PoseEstimation with movement.io.load_poses.from_nwb_file")
    n = {int(p.sizes["time"]) for p in parts}
    if len(n) > 1:
        raise InputError(path, f"holds animals with different numbers of frames {sorted(n)}",
                         "read each PoseEstimation with movement.io.load_poses.from_nwb_file")
    ds = xr.concat(parts, dim="individual", combine_attrs="override")
    ds = ds.transpose("time", "space", "keypoint", "individual")
    ds.attrs.update(fps=float(parts[0].attrs["fps"]), time_unit="seconds",
                    source_file=str(path), fps_source="file", fps_from="",
                    ds_type="poses")
    return ds


def load_nwb_pose(path: str | os.PathLike, processing_module: str = POSE_MODULE) -> xr.Dataset:
    """Read every animal's pose of an ndx-pose NWB file into one poses Dataset.

    Each ``PoseEstimation`` of the processing module is one animal, read with movement's
    reader (:func:`movement.io.load_poses.from_nwb_file`, which reads one at a time). Animals
    are named as a behavtrack export names them (``PoseEstimation_<animal>``), else by the
    ``PoseEstimation``'s name (the subject's id when there is only one).

    Parameters
    ----------
    path
        The NWB file.
    processing_module
        The processing module holding the pose (``behavior``).

    Returns
    -------
    xarray.Dataset
        movement's poses Dataset, ``time`` in seconds, ``attrs["fps"]`` from the file.

    Raises
    ------
    InputError
        A file that is not NWB, or holds no ``PoseEstimation`` there.

    """
    import pynwb

    path = require_file(path, "NWB file")
    _open_hdf5(path).close()
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        module = nwbfile.processing.get(processing_module)
        estimations = ([obj for obj in module.data_interfaces.values()
                        if type(obj).__name__ == "PoseEstimation"] if module is not None else [])
        if not estimations:
            raise InputError(path, f"holds no pose: no ndx-pose PoseEstimation in "
                             f"processing/{processing_module}",
                             "give an NWB file with pose estimates (ndx-pose)")
        parts = [_pose_of(pe, _names_of(pe, nwbfile, len(estimations)), nwbfile, path)
                 for pe in estimations]
    return _merge_pose(parts, path)


def _table(nwbfile: Any, where: str, name: str, path: Path) -> pd.DataFrame:
    group = getattr(nwbfile, where)
    table = group.get(name) if group is not None else None
    if table is None:
        raise InputError(path, f"is not a complete behavtrack NWB export: it lacks {where}/{name}"
                         " named in its metadata", "export the session again")
    return table.to_dataframe()


def _events(nwbfile: Any, record: dict[str, Any], path: Path) -> pd.DataFrame | None:
    from behavtrack.io.events import EVENT_COLUMNS

    names = (record.get("events") or {}).get("tables") or {}
    if not names:
        return None
    frames = []
    for event, table_name in names.items():
        df = _table(nwbfile, "events", str(table_name), path).reset_index(drop=True)
        df = df.rename(columns={"timestamp": "time_s"})
        df["event"] = str(event)
        if "value" not in df:
            df["value"] = np.nan
        frames.append(df)
    ev = pd.concat(frames, ignore_index=True)
    if "log_row" in ev:
        ev = ev.sort_values("log_row", kind="stable").drop(columns="log_row")
    else:
        ev = ev.sort_values("time_s", kind="stable")
    ev["time_s"] = ev["time_s"].astype(float)
    ev["frame"] = ev["frame"].astype("Int64")
    ev["subject"] = ev["subject"].fillna("").astype(str)
    ev["value"] = ev["value"].astype(float)
    rest = [c for c in ev.columns if c not in EVENT_COLUMNS]
    return ev[EVENT_COLUMNS + rest].reset_index(drop=True)


def _bouts(nwbfile: Any, record: dict[str, Any], fps: float, path: Path) -> pd.DataFrame | None:
    from behavtrack.io.bouts import BOUT_COLUMNS

    tables = (record.get("bouts") or {}).get("tables") or {}
    if not tables:
        return None
    frames = []
    for ind, table_name in tables.items():
        df = _table(nwbfile, "intervals", str(table_name), path)
        frames.append(pd.DataFrame({
            "individual": str(ind),
            "behavior": df["behavior"].astype(str).to_numpy(),
            "start_frame": df["start_frame"].to_numpy(dtype=int),
            "stop_frame": df["stop_frame"].to_numpy(dtype=int),
            "start_s": df["start_time"].to_numpy(dtype=float),
            "stop_s": df["stop_time"].to_numpy(dtype=float),
            "duration_s": (df["stop_time"] - df["start_time"]).to_numpy(dtype=float),
            "confidence": (df["confidence"].to_numpy(dtype=float) if "confidence" in df
                           else np.full(len(df), np.nan)),
        }, columns=BOUT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _trials(nwbfile: Any, record: dict[str, Any], meta: dict[str, Any], path: Path
            ) -> pd.DataFrame | None:
    spec = record.get("trials")
    if not isinstance(spec, dict):
        return None
    if nwbfile.trials is None:
        raise InputError(path, "is not a complete behavtrack NWB export: it lacks intervals/"
                         "trials named in its metadata", "export the session again")
    df = nwbfile.trials.to_dataframe().reset_index(drop=True)
    constant = {"source": "mice", "pair": str(meta.get("pair", "")),
                "session": meta.get("session", "")}
    out = pd.DataFrame(index=df.index)
    for col in spec.get("columns") or []:
        if col in constant:
            out[col] = constant[col]
        elif col in df:
            out[col] = df[col]
        elif col == "time_s":
            out[col] = df["start_time"]
        else:  # all NaN when exported (the writer leaves such columns out)
            out[col] = np.nan
    if "success" in out:
        out["success"] = out["success"].astype(int)
    for col in ("waited", "interacted", "approached"):
        if col in out:
            out[col] = out[col].astype(float)
    for col in ("subject", "partner"):
        if col in out:
            out[col] = out[col].fillna("").astype(str)
    return out


def load_nwb_session(path: str | os.PathLike) -> NWBSession:
    """Read an NWB file written by ``behavtrack export-nwb``.

    Parameters
    ----------
    path
        The ``.nwb`` file.

    Returns
    -------
    NWBSession
        Pose (with fps), events, bouts, trials, arena, metadata and model.

    Raises
    ------
    InputError
        One line: no such file; not an HDF5/NWB file; an NWB file that is not a behavtrack
        export (it has no ``scratch/behavtrack`` metadata) or lacks a part its metadata
        names (``processing/behavior/PoseEstimation_mouse2``, ``intervals/bouts_mouse1``,
        ``events/poke``, ...).

    Examples
    --------
    >>> s = load_nwb_session("pair01_day03.nwb")  # doctest: +SKIP
    >>> s.fps, s.individuals, len(s.bouts), s.meta["window_s"]  # doctest: +SKIP

    """
    import pynwb

    path = require_file(path, "NWB file")
    record = _read_record(path)
    pose_rec = record["pose"]
    objects = pose_rec.get("objects") or {}
    if not objects:
        raise InputError(path, "is not a complete behavtrack NWB export: its metadata names "
                         "no PoseEstimation", "export the session again")
    meta = dict(record["session"])
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        module = nwbfile.processing.get(POSE_MODULE)
        parts = []
        for ind, name in objects.items():
            pe = module.data_interfaces.get(str(name)) if module is not None else None
            if pe is None:
                raise InputError(path, f"is not a complete behavtrack NWB export: it lacks "
                                 f"processing/{POSE_MODULE}/{name} (the pose of {ind})",
                                 "export the session again")
            parts.append(_pose_of(pe, str(ind), nwbfile, path))
        pose = _merge_pose(parts, path)
        fps = float(pose.attrs["fps"])
        pose.attrs.update(source_software=str(pose_rec.get("source_software") or "NWB"),
                          renamed_keypoints=str(pose_rec.get("renamed_keypoints") or "{}"))
        events = _events(nwbfile, record, path)
        bouts = _bouts(nwbfile, record, fps, path)
        trials = _trials(nwbfile, record, meta, path)
    arena = None
    if isinstance(record.get("arena"), dict):
        from behavtrack.io.arena import arena_from_dict

        arena = arena_from_dict(record["arena"], source=f"{path}: scratch/{METADATA_NAME}")
    meta.update(fps=fps, n_frames=int(pose.sizes["time"]),
                bouts_source=(record.get("bouts") or {}).get("source", "none"),
                session_id=record.get("session_id"), nwb_file=str(path))
    meta.setdefault("individuals", [str(i) for i in pose["individual"].values])
    model = record.get("model") if isinstance(record.get("model"), dict) else None
    return NWBSession(path=path, pose=pose, events=events, bouts=bouts, trials=trials,
                      arena=arena, meta=meta, model=model, record=record)
