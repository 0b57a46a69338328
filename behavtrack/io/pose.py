"""Pose files in and out: any file movement reads, as movement's poses Dataset with canonical names.

:func:`load_pose` reads DeepLabCut (.h5/.csv, single and multi-animal), SLEAP (.slp and
.analysis.h5), LightningPose, Anipose and NWB files through ``movement.io.load_dataset``,
renames body parts to behavtrack's canonical names (``nose, left_ear, right_ear, centroid,
tail_base``; see :mod:`behavtrack.io.aliases`), resolves the frame rate (from the argument, the
file, a sidecar or the video beside it, or the arena; :mod:`behavtrack.io.framerate`) and turns
every failure into a one-line :class:`~behavtrack.errors.InputError` naming the file.
``load_pose(..., frames=(start, stop))`` loads a range of frames (DeepLabCut and SLEAP analysis
HDF5 read only those rows from disk) and :func:`pose_length` counts the frames, for reading a
long recording in chunks.

DeepLabCut HDF5 files are read with h5py rather than PyTables: their column names are stored
either as plain arrays ("fixed" layout) or as small pickles of lists of strings ("table" layout,
often written by Python 2). Those pickles are decoded by an unpickler that refuses every global
name, so nothing beyond lists, tuples, dicts, strings and numbers can be built from a file.

:func:`save_pose` writes DeepLabCut .h5/.csv or SLEAP .analysis.h5 by extension, atomically,
with the frame rate (an HDF5 attribute, or a ``<stem>.pose.json`` sidecar for CSV).
:func:`require_fps`, :func:`require_keypoints` and :func:`require_individuals` give callers
the one-line error for a pose that lacks what they need; :func:`check_analysable` refuses a
pose that cannot be analysed as one recording of a pair (one frame, nothing tracked, more than
two animals without a choice of two).
"""

from __future__ import annotations

import contextlib
import io
import json
import operator
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, require_file
from behavtrack.io._xarray import defer_dask
from behavtrack.io.aliases import canonical_names
from behavtrack.io.framerate import (  # POSE_SUFFIXES: also this module's, as before
    POSE_SUFFIXES,
    FoundFps,
    check_fps,
    fps_beside,
    pose_stem,
)

defer_dask()  # no import of dask.array at the first Dataset (see behavtrack.io._xarray)

__all__ = [
    "POSE_SUFFIXES",
    "load_pose",
    "pose_length",
    "reads_by_frames",
    "save_pose",
    "require_fps",
    "require_keypoints",
    "require_individuals",
    "select_individuals",
    "check_analysable",
    "parse_individuals",
    "is_pose_file",
    "pose_format",
]

_SOFTWARE = {"auto", "DeepLabCut", "SLEAP", "LightningPose", "Anipose", "NWB"}


# ---- small helpers ----------------------------------------------------------------------
@contextlib.contextmanager
def _quiet_movement() -> Iterator[None]:
    """Silence movement's loguru logger (it prints errors to stderr before raising)."""
    from movement.utils.logging import logger

    logger.disable("movement")
    try:
        yield
    finally:
        logger.enable("movement")


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".analysis.h5"):
        return ".analysis.h5"
    return path.suffix.lower()


def _check_fps(fps: Any, source: str = "fps") -> float | None:
    return check_fps(fps, source)


#: What was read of files' layouts (:func:`_file_meta`), most recent last.
_META: dict[tuple, Any] = {}
_META_SIZE = 64
_META_LOCK = threading.Lock()


def _file_meta[T](path: Path, what: tuple, read: Callable[[], T]) -> T:
    """``read()``, or what it gave for this file before while the file was unchanged.

    A long recording is read chunk by chunk, and every chunk's :func:`load_pose` looks at
    the file's layout (its format, table kind, columns, length, frame rate): that part is
    read once per process, and again only when the file's inode, size or modification time
    changes. Errors are never kept. Values must not be changed by callers (tuples, numbers,
    pandas indexes). Safe to call from several threads.
    """
    try:
        st = os.stat(path)
    except OSError:
        return read()
    key = (os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns, *what)
    with _META_LOCK:
        if key in _META:
            _META[key] = _META.pop(key)  # most recent last
            return _META[key]
    value = read()
    with _META_LOCK:
        _META[key] = value
        while len(_META) > _META_SIZE:
            del _META[next(iter(_META))]
    return value


def _h5_fps(path: Path) -> float | None:
    """Return the frame rate :func:`save_pose` stores as an HDF5 root attribute, if any."""
    return _file_meta(path, ("fps",), lambda: _read_h5_fps(path))


def _read_h5_fps(path: Path) -> float | None:
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("fps")
    except OSError:
        return None
    try:
        fps = float(np.asarray(raw).reshape(-1)[0]) if raw is not None else None
    except (TypeError, ValueError, IndexError):
        return None
    return fps if fps is not None and np.isfinite(fps) and fps > 0 else None


# ---- DeepLabCut HDF5 through h5py ---------------------------------------------------------
class _PlainDataUnpickler(pickle.Unpickler):
    """Decode pickles of plain data only: every global (class, function) is refused."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pose file")


def _unpickle_plain(raw: Any) -> Any:
    """Decode a pickled HDF5 attribute, refusing any global (class or function) in it."""
    if isinstance(raw, (bytes, np.bytes_)):
        return _PlainDataUnpickler(io.BytesIO(bytes(raw)), encoding="latin1").load()
    return raw


def _plain_data(raw: Any) -> Any:
    """Return a plain HDF5 attribute decoded (bytes -> str; pandas' pickled ``None`` -> None)."""
    if isinstance(raw, (bytes, np.bytes_)):
        data = bytes(raw)
        if data == b"N.":
            return None
        return data.decode("utf-8", errors="replace")
    return raw


def _decode_all(values: np.ndarray) -> list:
    return [v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else v for v in values]


def _fixed_index(group: h5py.Group, prefix: str) -> pd.Index:
    """Rebuild an index stored in pandas' fixed HDF5 layout (plain arrays, no pickles)."""
    if _plain_data(group.attrs.get(f"{prefix}_variety", b"regular")) == "multi":
        n = int(group.attrs[f"{prefix}_nlevels"])
        levels, codes, names = [], [], []
        for i in range(n):
            lev = group[f"{prefix}_level{i}"]
            levels.append(_decode_all(lev[()]))
            codes.append(np.asarray(group[f"{prefix}_label{i}"][()], dtype=int))
            name = _plain_data(lev.attrs.get("name"))
            names.append(name if isinstance(name, str) else None)
        return pd.MultiIndex(levels=levels, codes=codes, names=names)
    return pd.Index(_decode_all(group[prefix][()]))


def _dlc_names(n_levels: int) -> list[str]:
    if n_levels == 4:
        return ["scorer", "individuals", "bodyparts", "coords"]
    if n_levels == 3:
        return ["scorer", "bodyparts", "coords"]
    raise ValueError(f"columns have {n_levels} levels, expected 3 or 4")


def _read_dlc_h5(path: Path, key: str, rows: slice | None = None) -> pd.DataFrame:
    """Read a DeepLabCut predictions table written by pandas (fixed or table layout).

    ``rows`` (a ``slice(start, stop)``) reads only those rows from disk: both layouts store
    one row per frame along the first axis of their datasets.
    """
    sel = slice(None) if rows is None else rows
    with h5py.File(path, "r") as f:
        group = f[key]
        kind = _plain_data(group.attrs.get("pandas_type"))
        if kind == "frame":
            items, columns = _file_meta(path, ("fixed columns", key), lambda: (
                tuple(_fixed_index(group, f"block{b}_items")
                      for b in range(int(group.attrs["nblocks"]))),
                _fixed_index(group, "axis0")))
            parts = [pd.DataFrame(group[f"block{b}_values"][sel], columns=cols)
                     for b, cols in enumerate(items)]
            df = pd.concat(parts, axis=1)
            df = df.loc[:, columns]
        elif kind == "frame_table":
            table = group["table"][sel]
            blocks = [n for n in table.dtype.names if n.startswith("values_block_")]
            cols: list = []
            values = []
            for name in sorted(blocks, key=lambda s: int(s.rsplit("_", 1)[1])):
                cols.extend(_unpickle_plain(group["table"].attrs[f"{name}_kind"]))
                values.append(np.asarray(table[name], dtype=float).reshape(len(table), -1))
            info = _unpickle_plain(group.attrs.get("info", b"N."))
            names = None
            if isinstance(info, dict):
                names = (info.get(1) or info.get("1") or {}).get("names")
            tuples = [tuple(c) if isinstance(c, (list, tuple)) else (c,) for c in cols]
            if not names or len(names) != len(tuples[0]):
                names = _dlc_names(len(tuples[0]))
            columns = pd.MultiIndex.from_tuples(tuples, names=names)
            df = pd.DataFrame(np.concatenate(values, axis=1), columns=columns)
        else:
            raise ValueError(f"group '{key}' is a pandas {kind!r} object, not a DataFrame")
    if not isinstance(df.columns, pd.MultiIndex) or "bodyparts" not in df.columns.names:
        raise ValueError("columns are not DeepLabCut's scorer/bodyparts/coords levels")
    return df


def _h5_kind(path: Path) -> tuple[str, str | None]:
    """Return ``("dlc", key)``, ``("sleap", None)`` or ``("unknown", None)`` for an HDF5 file."""
    return _file_meta(path, ("h5 kind",), lambda: _read_h5_kind(path))


def _read_h5_kind(path: Path) -> tuple[str, str | None]:
    with h5py.File(path, "r") as f:
        if "df_with_missing" in f:
            return "dlc", "df_with_missing"
        if "tracks" in f and "node_names" in f:
            return "sleap", None
        for key in f:
            if isinstance(f[key], h5py.Group) and "pandas_type" in f[key].attrs:
                return "dlc", key
    return "unknown", None


def _h5_frame_count(path: Path, kind: str, key: str | None) -> int:
    """Return the frame count of a DeepLabCut (``kind="dlc"``) or SLEAP analysis HDF5 (shapes)."""
    return _file_meta(path, ("frames", kind, key), lambda: _read_h5_frame_count(path, kind, key))


def _read_h5_frame_count(path: Path, kind: str, key: str | None) -> int:
    with h5py.File(path, "r") as f:
        if kind == "sleap":
            return int(f["tracks"].shape[-1])
        group = f[key]
        if _plain_data(group.attrs.get("pandas_type")) == "frame_table":
            return int(group["table"].shape[0])
        if int(group.attrs.get("nblocks", 0)) > 0:
            return int(group["block0_values"].shape[0])
        return int(group["axis1"].shape[0])


def _read_sleap_h5(path: Path, rows: slice) -> xr.Dataset:
    """Read frames ``rows`` of a SLEAP analysis HDF5 as movement does the whole file.

    The same steps as ``movement.io.load_poses._ds_from_sleap_analysis_file`` on the frame
    axis (the last) of ``tracks`` and ``point_scores`` cut to ``rows``; ``time`` counts from
    ``rows.start``.
    """
    from movement.io.load_poses import from_numpy

    with h5py.File(path, "r") as f:
        tracks = f["tracks"][..., rows].transpose(3, 1, 2, 0)
        scores = np.full(tracks.shape[:1] + tracks.shape[2:], np.nan)
        individual_names = [n.decode() for n in f["track_names"][:]] or None
        if "point_scores" in f:
            scores = f["point_scores"][..., rows].T
        ds = from_numpy(
            position_array=tracks.astype(np.float32),
            confidence_array=scores.astype(np.float32),
            individual_names=individual_names,
            keypoint_names=[n.decode() for n in f["node_names"][:]],
            fps=None,
            source_software="SLEAP",
        )
    return ds.assign_coords(time=np.arange(rows.start, rows.start + ds.sizes["time"],
                                           dtype=np.int64))


# ---- loading ------------------------------------------------------------------------------
def _sniff_csv(path: Path) -> str | None:
    """Return the pose software of a CSV from its first line, or ``None`` if it is not one."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        return None
    cells = [c.strip().strip('"') for c in first.split(",")]
    if cells and cells[0] == "scorer":
        return "DeepLabCut"
    if "fnum" in cells and any(c.endswith("_x") for c in cells):
        return "Anipose"
    return None


def is_pose_file(path: str | os.PathLike) -> bool:
    """Whether a file looks like a pose file :func:`load_pose` reads (a quick look, no load).

    By its ending, and for ``.csv`` by its first line, for ``.h5`` by its HDF5 layout; an
    agent rollout file is not a pose file. Never raises.
    """
    path = Path(path)
    try:
        if not path.is_file():
            return False
        suffix = _suffix(path)
        if suffix in (".slp", ".analysis.h5", ".nwb"):
            return True
        if suffix in (".h5", ".hdf5"):
            return _h5_kind(path)[0] != "unknown"
        if suffix == ".csv":
            return _sniff_csv(path) is not None
    except (OSError, ValueError):
        return False
    return False


def _is_rollouts(path: Path) -> bool:
    from behavtrack.io.agents import is_rollout_file

    return is_rollout_file(path)


def _infer_software(path: Path) -> str:
    """Pick movement's loader by extension and a look inside (quietly, unlike movement's)."""
    suffix = _suffix(path)
    hint = "give a DeepLabCut, SLEAP, LightningPose, Anipose or NWB pose file"
    if suffix in (".slp", ".analysis.h5"):
        return "SLEAP"
    if suffix == ".nwb":
        return "NWB"
    if suffix in (".h5", ".hdf5"):
        kind, _ = _h5_kind(path)
        if kind == "dlc":
            return "DeepLabCut"
        if kind == "sleap":
            return "SLEAP"
        raise InputError(
            path, "is an HDF5 file but neither a DeepLabCut table nor a SLEAP analysis file",
            hint,
        )
    if suffix == ".mat" or (suffix == ".csv" and _is_rollouts(path)):
        raise InputError(path, "is an agent rollout file, not a pose file",
                         "read it with behavtrack.io.agents.load_rollouts")
    if suffix == ".csv":
        software = _sniff_csv(path)
        if software is None:
            raise InputError(
                path, "is not a pose file (its header is neither DeepLabCut/LightningPose's "
                "scorer/bodyparts/coords rows nor an Anipose table)", hint,
            )
        return software
    raise InputError(path, f"has an unknown pose format ({suffix or 'no extension'})", hint)


_DLC_LEVELS = ("scorer", "individuals", "bodyparts", "coords")


def _read_dlc_csv(path: Path) -> pd.DataFrame:
    """Read a DeepLabCut CSV into the DataFrame its ``.h5`` would hold (multi-index columns)."""
    names: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            first = line.split(",", 1)[0].strip().strip('"')
            if first not in _DLC_LEVELS or first in names:
                break
            names.append(first)
    if names[:1] != ["scorer"] or "bodyparts" not in names or names[-1:] != ["coords"]:
        raise ValueError("the header rows are not DeepLabCut's scorer/[individuals/]"
                         "bodyparts/coords")
    df = pd.read_csv(path, header=list(range(len(names))))
    df = df.set_index(df.columns[0])
    df.index.name = None
    df.columns = pd.MultiIndex.from_tuples(df.columns, names=names)
    return df


def dlc_dataset(df: pd.DataFrame, source_software: str = "DeepLabCut") -> xr.Dataset:
    """Build movement's poses Dataset from a DeepLabCut-style DataFrame, without movement.io.

    The same Dataset as ``movement.io.load_poses.from_dlc_style_df(df, fps=None)`` (a test
    checks it is identical), without importing movement's file readers (pynwb, sleap_io,
    zarr: over a second at every start) or running its validators.
    """
    names = list(df.columns.names)
    if "bodyparts" not in names or "coords" not in names:
        raise ValueError("columns are not DeepLabCut's scorer/bodyparts/coords levels")
    individuals = (df.columns.get_level_values("individuals").unique().to_list()
                   if "individuals" in names else ["individual_0"])
    keypoints = df.columns.get_level_values("bodyparts").unique().to_list()
    coords = df.columns.get_level_values("coords").unique().to_list()
    if len(set(individuals)) * len(set(keypoints)) * len(coords) != df.shape[1]:
        raise ValueError("the columns are not one of each individual x body part x coordinate")
    tracks = df.to_numpy().reshape(  # text in a cell stays object: load_pose names it
        (-1, len(individuals), len(keypoints), len(coords))).transpose(0, 3, 2, 1)
    if "likelihood" in coords:
        j = coords.index("likelihood")
        confidence = tracks[:, j]
        position = tracks[:, [i for i in range(len(coords)) if i != j]]
        space = [c for c in coords if c != "likelihood"]
    else:
        position, space = tracks, coords
        confidence = np.full((tracks.shape[0],) + tracks.shape[2:], np.nan)
    if space not in (["x", "y"], ["x", "y", "z"]):
        raise ValueError(f"coordinates {space} are not x, y (and z)")
    n = position.shape[0]
    return xr.Dataset(
        {"position": (("time", "space", "keypoint", "individual"), position),
         "confidence": (("time", "keypoint", "individual"), confidence)},
        coords={"time": np.arange(n), "space": space, "keypoint": keypoints,
                "individual": individuals},
        attrs={"source_software": source_software, "ds_type": "poses", "time_unit": "frames"},
    )


def _load_raw(path: Path, source_software: str, rows: slice | None = None) -> xr.Dataset:
    """Load with movement (or the direct DLC readers), mapping every failure to InputError.

    ``rows`` (``slice(start, stop)`` within the file's frames) is only for the files
    :func:`_frame_reader` names: only those frames are read, ``time`` counts from ``start``.
    """
    suffix = _suffix(path)
    hint = "give a DeepLabCut, SLEAP, LightningPose, Anipose or NWB pose file"
    hdf5 = suffix in (".h5", ".hdf5", ".analysis.h5", ".nwb", ".slp")
    truncated = ("is not a readable HDF5 file, it may be truncated or corrupt",
                 "copy or export the file again")
    if hdf5:
        try:
            with h5py.File(path, "r"):
                pass
        except OSError as exc:
            if suffix != ".nwb":  # NWB may also be zarr; let movement decide
                raise InputError(path, f"{truncated[0]} ({_first_line(exc, 80)})",
                                 truncated[1]) from None
    try:
        software = _infer_software(path) if source_software == "auto" else source_software
        # DeepLabCut tables are read here, without movement (nor its import: 0.1 s)
        if software == "DeepLabCut" and suffix in (".h5", ".hdf5"):
            kind, key = _h5_kind(path)
            if kind != "dlc":
                raise InputError(path, "is not a DeepLabCut HDF5 table", hint)
            ds = dlc_dataset(_read_dlc_h5(path, key, rows))
            if rows is not None:
                ds = ds.assign_coords(time=ds["time"].values + rows.start)
            return ds
        if rows is None and software in ("DeepLabCut", "LightningPose") and suffix == ".csv":
            return dlc_dataset(_read_dlc_csv(path), software)
        with _quiet_movement():
            if software == "NWB":  # every PoseEstimation, one animal each (movement reads one)
                from behavtrack.io.nwb import is_behavtrack_nwb, load_nwb_pose

                if is_behavtrack_nwb(path):
                    return load_nwb_pose(path)
            if rows is not None and software == "SLEAP" and suffix in (".h5", ".analysis.h5"):
                return _read_sleap_h5(path, rows)
            if rows is not None:
                raise ValueError(f"{software} {suffix} files are not read by frames")
            from movement.io import load_dataset

            return load_dataset(path, source_software=software, fps=None)
    except InputError:
        raise
    except OSError as exc:
        text = _first_line(exc)
        if hdf5:
            raise InputError(path, f"{truncated[0]} ({text})", truncated[1]) from None
        raise InputError(path, f"cannot be read ({text})", hint) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError,
            pickle.UnpicklingError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        text = _first_line(exc)
        if hdf5 and "HDF5" in text:
            raise InputError(path, f"{truncated[0]} ({text})", truncated[1]) from None
        raise InputError(path, f"is not a valid pose file ({text})", hint) from None


_FRAMES_HINT = ("give frames=(start, stop): frame numbers counted from 0, start < stop; a stop "
                "past the end (or None) reads to the end")


def _frame_range(frames: Any) -> tuple[int, int | None]:
    """Return ``(start, stop)`` of a ``frames=`` argument (``stop`` None: to the end)."""
    if isinstance(frames, slice):
        if frames.step not in (None, 1):
            raise InputError("frames", f"has a step ({frames.step}); only every frame can be "
                             "read", _FRAMES_HINT)
        parts: Any = (frames.start, frames.stop)
    elif isinstance(frames, (tuple, list)) and len(frames) == 2:
        parts = frames
    else:
        raise InputError("frames", f"must be (start, stop), not {frames!r}", _FRAMES_HINT)
    try:
        start = 0 if parts[0] is None else operator.index(parts[0])
        stop = None if parts[1] is None else operator.index(parts[1])
    except TypeError:
        raise InputError("frames", f"must be whole frame numbers, not {frames!r}",
                         _FRAMES_HINT) from None
    if start < 0 or (stop is not None and stop <= start):
        raise InputError("frames", f"({start}, {stop}) is not a range of frames counted from 0",
                         _FRAMES_HINT)
    return start, stop


def _frame_rows(start: int, stop: int | None, n: int, path: Path) -> slice:
    """Return the rows ``frames=(start, stop)`` selects in a file of ``n`` frames (stop cut)."""
    if n == 0:
        raise InputError(path, "holds no frames")
    if start >= n:
        raise InputError("frames", f"starts at frame {start}, but {path} has {n} frames "
                         f"(0 to {n - 1})", _FRAMES_HINT)
    return slice(start, n if stop is None else min(stop, n))


def _frame_reader(path: Path, source_software: str) -> tuple[str, str | None, int] | None:
    """``(kind, key, n_frames)`` of a file :func:`_load_raw` reads by frames, else ``None``.

    DeepLabCut HDF5 tables and SLEAP analysis HDF5 files, when :func:`_load_raw` would read
    them through :func:`_read_dlc_h5` or movement's SLEAP analysis reader. ``None`` too for a
    file that cannot be opened: the whole load then gives its error.
    """
    suffix = _suffix(path)
    if suffix not in (".h5", ".hdf5", ".analysis.h5"):
        return None
    try:
        software = _infer_software(path) if source_software == "auto" else source_software
        kind, key = _h5_kind(path)
        if not ((software == "DeepLabCut" and suffix in (".h5", ".hdf5") and kind == "dlc")
                or (software == "SLEAP" and suffix in (".h5", ".analysis.h5")
                    and kind == "sleap")):
            return None
        return kind, key, _h5_frame_count(path, kind, key)
    except (InputError, OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def reads_by_frames(path: str | os.PathLike, source_software: str = "auto") -> bool:
    """Whether ``load_pose(path, frames=...)`` reads only those frames from disk.

    True for DeepLabCut HDF5 tables and SLEAP analysis HDF5 files; other formats are loaded
    whole and then cut, so reading them chunk by chunk would load them once per chunk.
    """
    return _frame_reader(Path(path), source_software) is not None


def _frame_index(ds: xr.Dataset) -> np.ndarray:
    """Frame number of each time point (time is in frames, or in seconds with attrs fps)."""
    t = np.asarray(ds["time"].values, dtype=float)
    file_fps = ds.attrs.get("fps")
    if file_fps:
        return np.rint(t * float(file_fps))
    return t


def load_pose(
    path: str | os.PathLike,
    fps: float | None = None,
    arena: Any | None = None,
    aliases: Mapping[str, str] | None = None,
    source_software: str = "auto",
    individuals: Iterable[str] | None = None,
    frames: tuple[int, int | None] | slice | None = None,
) -> xr.Dataset:
    """Load a pose file (or some of its frames) into movement's poses Dataset, canonically named.

    Parameters
    ----------
    path
        A DeepLabCut .h5/.csv, SLEAP .slp/.analysis.h5, LightningPose or Anipose .csv, or
        NWB file.
    fps
        Frame rate. Taken, in order, from this argument, the file (NWB; HDF5 written by
        :func:`save_pose`), a sidecar next to it or the video it was made from
        (:func:`behavtrack.io.framerate.fps_beside`), ``arena.fps``. If none gives it,
        ``time`` stays in frames and ``attrs["fps"]`` is ``None`` (see :func:`require_fps`).
        A rate outside 1-1000 frames per second is refused.
    arena
        An :class:`~behavtrack.io.arena.Arena` whose ``fps`` is used if needed.
    aliases
        Extra body-part aliases for this file, alias -> canonical name (e.g.
        ``{"head": "nose"}``); see :mod:`behavtrack.io.aliases`.
    source_software
        ``"auto"`` (infer from the file) or one of movement's names: ``"DeepLabCut"``,
        ``"SLEAP"``, ``"LightningPose"``, ``"Anipose"``, ``"NWB"``.
    individuals
        Keep only these individuals, in this order (names as in the file); ``None`` keeps
        all. A name the file lacks is an error.
    frames
        ``(start, stop)``: load only frames ``start`` to ``stop - 1`` (counted from 0, the
        first frame of the file), for reading a long recording in chunks. The result is
        exactly ``load_pose(path, ...).isel(time=slice(start, stop))``: the same values,
        dtypes, names and attributes, and ``time`` of those frames (``start / fps`` onwards,
        or frame numbers from ``start``). A ``stop`` past the end, or ``None``, reads to the
        end (so a chunk with padding need not know the length: see :func:`pose_length`);
        ``slice(start, stop)`` is accepted too. A negative ``start``, ``stop <= start`` or a
        ``start`` at or past the last frame is an :class:`~behavtrack.errors.InputError`
        naming ``frames``. ``None`` (the default) loads every frame.

        Only DeepLabCut HDF5 tables (pandas' "fixed" and "table" layouts) and SLEAP
        analysis HDF5 files are read by frames from disk, so memory is that of the chunk.
        Every other format (CSV, NWB, ``.slp``) is loaded whole and then cut: the same
        result, but memory is then that of the whole recording.

        What does not depend on the frames is the same for every chunk: the frame rate and
        where it comes from (argument, file, sidecar, video, arena), names, ``source_file``
        and the other attributes. What does depend on them sees only the frames read: a
        DeepLabCut HDF5 with text in a coordinate cell is refused only by a chunk that holds
        that cell, and a chunk can be all NaN where the recording is not
        (:func:`check_analysable` on a chunk checks that chunk only).

    Returns
    -------
    xarray.Dataset
        ``position`` (time, space, keypoint, individual), ``confidence`` (time, keypoint,
        individual); ``time`` in seconds when the frame rate is known. Attributes:
        ``fps``, ``fps_source`` (``argument``, ``file``, ``sidecar``, ``video``, ``arena`` or
        ``unknown``), ``fps_from`` (the sidecar or video read, else ``""``), ``time_unit``
        (``"seconds"`` or ``"frames"``), ``source_file``, ``source_software`` and
        ``renamed_keypoints`` (JSON: original -> canonical name).

    Raises
    ------
    InputError
        One line naming the file: missing, unknown format, truncated HDF5, a CSV that is not
        a pose file, no individuals or no keypoints; or naming ``frames`` (see above).

    Examples
    --------
    >>> ds = load_pose("mouse_single.csv", fps=30)  # doctest: +SKIP
    >>> list(ds.keypoint.values[:3])  # doctest: +SKIP
    ['nose', 'left_ear', 'right_ear']
    >>> chunk = load_pose("pose.h5", fps=30, frames=(18000, 36000))  # doctest: +SKIP

    """
    path = require_file(path, "pose file")
    if source_software not in _SOFTWARE:
        raise InputError(
            "source_software", f"unknown value {source_software!r}",
            f"use one of {', '.join(sorted(_SOFTWARE))}",
        )
    fps = _check_fps(fps)
    rows = None
    if frames is not None:
        start, stop = _frame_range(frames)
        reader = _frame_reader(path, source_software)
        if reader is None:  # no reader by frames: the whole file, then cut
            ds = load_pose(path, fps, arena, aliases, source_software, individuals)
            return ds.isel(time=_frame_rows(start, stop, ds.sizes["time"], path))
        rows = _frame_rows(start, stop, reader[2], path)
    ds = _load_raw(path, source_software, rows)

    if ds.sizes.get("individual", 0) == 0:
        raise InputError(path, "holds no individuals (no tracks)",
                         "check that the file has predictions for at least one animal")
    if ds.sizes.get("keypoint", 0) == 0:
        raise InputError(path, "holds no body parts", "check the file's node/bodypart list")
    if ds.sizes.get("time", 0) == 0:
        raise InputError(path, "holds no frames")
    for var in ("position", "confidence"):
        if var in ds and ds[var].dtype.kind not in "fiu":
            try:
                ds[var] = ds[var].astype(float)
            except (TypeError, ValueError):
                raise InputError(path, f"has a {var} value that is not a number",
                                 "check the file for text in the coordinate columns") from None

    frames = _frame_index(ds)
    found = _resolve_fps(path, fps, ds, arena)
    final_fps = found.fps
    if final_fps:
        ds = ds.assign_coords(time=frames / final_fps)
        ds.attrs["time_unit"] = "seconds"
    else:
        whole = np.isfinite(frames).all() and (frames == np.round(frames)).all()
        ds = ds.assign_coords(time=frames.astype(int) if whole else frames)
        ds.attrs["time_unit"] = "frames"
    ds.attrs["fps"] = final_fps
    ds.attrs["fps_source"] = found.source
    ds.attrs["fps_from"] = str(found.where) if found.where is not None else ""

    original = [str(k) for k in ds["keypoint"].values]
    renamed = canonical_names(original, aliases)
    ds = ds.assign_coords(keypoint=renamed)
    ds.attrs["renamed_keypoints"] = json.dumps(
        {o: r for o, r in zip(original, renamed, strict=True) if o != r}
    )
    ds = ds.assign_coords(individual=[str(i) for i in ds["individual"].values])
    ds.attrs["source_file"] = str(path)
    if not ds.attrs.get("source_software"):
        ds.attrs["source_software"] = source_software
    if individuals is not None:
        ds = select_individuals(ds, individuals, path)
    return ds


def _resolve_fps(path: Path, fps: float | None, ds: xr.Dataset, arena: Any) -> FoundFps:
    """Return the frame rate of a loaded file and where it comes from (see :func:`load_pose`)."""
    if fps:
        return FoundFps(fps, "argument")
    file_fps = ds.attrs.get("fps") or (_h5_fps(path) if _suffix(path) in (
        ".h5", ".hdf5", ".analysis.h5") else None)
    if file_fps:
        return FoundFps(check_fps(float(file_fps), f"{path}: the frame rate it stores"), "file")
    found = fps_beside(path)
    if found.fps:
        return found
    arena_fps = getattr(arena, "fps", None) if arena is not None else None
    if arena_fps:
        return FoundFps(check_fps(arena_fps, "arena fps"), "arena")
    return FoundFps(None, "unknown")


def pose_length(path: str | os.PathLike, source_software: str = "auto") -> int:
    """Return the number of frames of a pose file, cheaply where the format allows.

    The length of ``load_pose(path).time``, and the end of the ``frames=(start, stop)``
    ranges of :func:`load_pose`.

    Parameters
    ----------
    path
        A pose file :func:`load_pose` reads.
    source_software
        As for :func:`load_pose`.

    Returns
    -------
    int
        For DeepLabCut and SLEAP analysis HDF5 files, from the shape of the stored table
        (nothing else is read, and the file is not checked further: a file load_pose refuses
        may still be counted). For every other format, the length of the whole file loaded.

    Raises
    ------
    InputError
        As :func:`load_pose`, for a file it cannot count.

    """
    path = require_file(path, "pose file")
    if source_software not in _SOFTWARE:
        raise InputError(
            "source_software", f"unknown value {source_software!r}",
            f"use one of {', '.join(sorted(_SOFTWARE))}",
        )
    reader = _frame_reader(path, source_software)
    if reader is not None:
        return reader[2]
    return int(_load_raw(path, source_software).sizes.get("time", 0))


# ---- requirements -------------------------------------------------------------------------
def _source(ds: xr.Dataset, source: str | os.PathLike | None) -> str:
    return str(source) if source is not None else str(ds.attrs.get("source_file", "<pose>"))


def require_fps(ds: xr.Dataset, source: str | os.PathLike | None = None) -> float:
    """Return the pose's frame rate, or raise the one-line error if it is unknown."""
    fps = ds.attrs.get("fps")
    if not fps:
        raise InputError(
            _source(ds, source), "frame rate is unknown (the file does not store it, and no "
            "sidecar or video of the same name is beside it)",
            "pass fps= (the frame rate), or set fps: in the arena YAML",
        )
    return float(fps)


def require_keypoints(
    ds: xr.Dataset, names: Iterable[str], source: str | os.PathLike | None = None
) -> None:
    """Raise :class:`InputError` naming the first needed body part the pose lacks."""
    have = [str(k) for k in ds["keypoint"].values]
    missing = [n for n in names if n not in have]
    if missing:
        raise InputError(
            _source(ds, source),
            f"has no body part {missing[0]!r}"
            + (f" (nor {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else "")
            + f"; it has {', '.join(have)}",
            f"map your name to it with aliases={{'your_name': '{missing[0]}'}} or "
            "behavtrack.io.aliases.register_aliases; see docs/formats.md",
        )


def require_individuals(
    ds: xr.Dataset,
    names: Iterable[str] | None = None,
    source: str | os.PathLike | None = None,
    min_count: int = 1,
) -> None:
    """Raise :class:`InputError` if the pose lacks the named individuals (or has too few)."""
    have = [str(i) for i in ds["individual"].values] if "individual" in ds.dims else []
    if len(have) < min_count:
        raise InputError(
            _source(ds, source),
            f"has {len(have)} individual(s), {min_count} needed",
            "track all animals of the session",
        )
    if names is not None:
        missing = [n for n in names if n not in have]
        if missing:
            raise InputError(
                _source(ds, source),
                f"has no individual {missing[0]!r}; it has {', '.join(have) or 'none'}",
                "rename the individuals (ds.assign_coords(individual=[...])) or the arena's",
            )


def parse_individuals(text: str | Iterable[str] | None, option: str = "individuals"
                      ) -> list[str] | None:
    """Parse ``A,B`` (or a list) into individual names; ``None`` or empty gives ``None``.

    Examples
    --------
    >>> parse_individuals("adult, juvenile")
    ['adult', 'juvenile']

    """
    if text is None:
        return None
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    if not names:
        return None
    if len(set(names)) < len(names):
        raise InputError(option, f"names an individual twice ({', '.join(names)})",
                         "give two different individuals, e.g. individuals=['mouse1', 'mouse2']")
    return names


def select_individuals(ds: xr.Dataset, names: Iterable[str],
                       source: str | os.PathLike | None = None) -> xr.Dataset:
    """Keep only the named individuals, in that order; a name the pose lacks is an error."""
    names = [str(n) for n in names]
    have = [str(i) for i in ds["individual"].values]
    missing = [n for n in names if n not in have]
    if missing:
        raise InputError(_source(ds, source), f"has no individual {missing[0]!r}; it has "
                         f"{', '.join(have)}", "choose two of them with individuals=['A', 'B']")
    if names == have:
        return ds
    return ds.sel(individual=names)


def check_analysable(
    ds: xr.Dataset,
    source: str | os.PathLike | None = None,
    individuals: Iterable[str] | None = None,
    max_individuals: int = 2,
    tracked: bool = True,
) -> xr.Dataset:
    """Refuse a pose that cannot be analysed as one recording of (at most) a pair.

    Parameters
    ----------
    ds
        A pose from :func:`load_pose`.
    source
        The file, named in errors (default: ``attrs["source_file"]``).
    individuals
        The individuals to analyse (``["A", "B"]``, or ``"A,B"``); required when the pose has more
        than ``max_individuals``.
    max_individuals
        How many animals the analysis takes at most (the cooperation task: a pair).
    tracked
        Also refuse a pose without a single tracked point (``False`` for the first frames
        of a recording read in chunks, checked on every chunk instead).

    Returns
    -------
    xarray.Dataset
        The pose, with only the chosen individuals.

    Raises
    ------
    InputError
        One line: fewer than 2 frames, no tracked frame at all (every position NaN), more
        animals than ``max_individuals`` without a choice, or a choice the pose lacks.

    """
    if individuals is not None:
        ds = select_individuals(ds, individuals, source)
    have = [str(i) for i in ds["individual"].values]
    if len(have) > max_individuals:
        shown = ", ".join(have[:8]) + (", ..." if len(have) > 8 else "")
        raise InputError(
            _source(ds, source), f"has {len(have)} animals ({shown}), but the analysis is of "
            f"a pair", f"choose the pair with individuals={[have[0], have[1]]!r}")
    n = int(ds.sizes.get("time", 0))
    if n < 2:
        raise InputError(_source(ds, source), f"has {n} frame{'s' if n != 1 else ''}; "
                         "behaviour needs at least 2", "give the whole recording's pose")
    if tracked and not np.isfinite(ds["position"].values).any():
        raise InputError(_source(ds, source), "has no tracked frame at all (every position "
                         "is missing)", "check the tracking: no animal was found")
    return ds


# ---- saving -------------------------------------------------------------------------------
def pose_format(path: str | os.PathLike) -> str:
    """Return the format :func:`save_pose` writes for ``path``: ``"sleap"`` or ``"dlc"``."""
    suffix = _suffix(Path(path))
    if suffix == ".analysis.h5":
        return "sleap"
    if suffix in (".h5", ".csv"):
        return "dlc"
    raise InputError(path, f"cannot write pose files ending in {suffix or '(nothing)'}",
                     "use .h5 or .csv (DeepLabCut) or .analysis.h5 (SLEAP)")


def save_pose(ds: xr.Dataset, path: str | os.PathLike, *, sidecar: bool = True) -> Path:
    """Write a pose Dataset atomically, choosing the format by extension.

    ``.h5`` and ``.csv`` write a DeepLabCut multi-animal table (scorer, individuals,
    bodyparts, coords; the ``.h5`` zlib-compressed, as DeepLabCut reads it), ``.analysis.h5``
    a SLEAP analysis file. Names are written as they are in the Dataset (canonical names
    after :func:`load_pose`). The frame rate (``ds.attrs["fps"]``) goes with the file: a
    root attribute ``fps`` of the HDF5 files (other readers ignore it), and for a CSV a
    sidecar ``<stem>.pose.json`` (``{"fps": ...}``) unless ``sidecar`` is False; both are
    read back by :func:`load_pose`.

    Parameters
    ----------
    ds
        movement poses Dataset.
    path
        Target file.
    sidecar
        Write ``<stem>.pose.json`` next to a CSV (False where another file, such as a
        session folder's ``session.json``, records the frame rate).

    Returns
    -------
    pathlib.Path
        The path written.

    """
    from movement.io import save_poses

    path = Path(path)
    fmt = pose_format(path)
    fps = ds.attrs.get("fps")
    fps = float(fps) if fps else None
    csv = path.suffix.lower() == ".csv"
    with _quiet_movement(), atomic_path(path) as tmp:
        if fmt == "sleap":
            save_poses.to_sleap_analysis_file(ds, tmp)
        else:
            df = save_poses.to_dlc_style_df(ds, split_individuals=False)
            if csv:
                df.to_csv(tmp, sep=",")
            else:
                with pd.HDFStore(tmp, mode="w", complevel=6, complib="zlib") as store:
                    store.put("df_with_missing", df, format="fixed", track_times=False)
        if fps and not csv:
            with h5py.File(tmp, "a") as f:
                f.attrs["fps"] = fps
    if fps and csv and sidecar:
        from behavtrack.files import atomic_write_text

        atomic_write_text(path.parent / f"{pose_stem(path)}.pose.json",
                          json.dumps({"fps": fps, "pose_file": path.name}, indent=1) + "\n")
    return path
