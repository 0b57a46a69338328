"""Classify output folders: the one reader of what ``behavtrack classify`` (and ``batch``) write.

A classify output folder (``docs/classifier.md``, "Output folder") holds :data:`CLASSIFIED_FILES`:
``ethogram.csv`` (frame labels with ``p_*`` posteriors), ``bouts.csv`` (BORIS layout),
``binary.csv``, ``events.csv`` (the events used), ``session.json`` (the session's metadata
carried over, plus ``fps``, ``n_frames``, ``pose_file``, ``source_session``, ...),
``ethogram.png`` and ``provenance.json`` (the inputs with their checksums, the model, the
parameters). A ``behavtrack batch`` session output adds ``batch.json`` (the job and its input
checksums) and, when tracked from a video, the ``pose.h5`` tracked.

:class:`ClassifiedFolder` names these files and reads each on demand; it also finds what the
folder was made from: the pose file (:meth:`ClassifiedFolder.pose_file`, checked against its
checksum), the session folder, the arena and the video. :func:`find_classified_folders` expands
folders, globs and manifests into them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import sha256
from behavtrack.io.framerate import VIDEO_SUFFIXES
from behavtrack.io.session import META_NAME, POSE_NAMES, read_session_meta

__all__ = [
    "BATCH_RECORD_NAME",
    "CLASSIFIED_FILES",
    "PROVENANCE_NAME",
    "ClassifiedFolder",
    "find_classified_folders",
    "folder_video",
    "read_json_object",
]

#: The record of a classify run: inputs and their checksums, model, parameters, notes.
PROVENANCE_NAME = "provenance.json"
#: The record ``behavtrack batch`` leaves in each session output (the job, for resuming).
BATCH_RECORD_NAME = "batch.json"
#: Files of a classify output folder, as ``behavtrack classify`` writes them.
CLASSIFIED_FILES = ("ethogram.csv", "bouts.csv", "binary.csv", "events.csv", META_NAME,
                    "ethogram.png", PROVENANCE_NAME)


def read_json_object(path: str | os.PathLike, *, missing_ok: bool = False) -> dict[str, Any]:
    """Read a JSON file holding an object (``provenance.json``, ``batch.json``).

    Parameters
    ----------
    path
        The file.
    missing_ok
        Return ``{}`` when the file does not exist (else it is an error).

    Returns
    -------
    dict

    Raises
    ------
    InputError
        One line naming the file: it is missing (unless ``missing_ok``), cannot be read, is
        not JSON, or does not hold an object.

    """
    path = Path(path)
    if missing_ok and not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"is not readable JSON ({type(exc).__name__})",
                         "fix or rewrite it") from None
    if not isinstance(data, dict):
        raise InputError(path, "must hold a JSON object ({...})")
    return data


def _json_or_empty(path: Path) -> dict[str, Any]:
    """Return the object of a JSON file; ``{}`` when missing, unreadable or not an object."""
    try:
        return read_json_object(path, missing_ok=True)
    except InputError:
        return {}


def _recorded_path(value: Any) -> Path | None:
    """Return the path of a recorded input: a record ``{"path": ...}`` or a plain string."""
    if isinstance(value, dict):
        value = value.get("path")
    return Path(value) if isinstance(value, str) and value else None


def _locate(folder: Path, raw: Any) -> Path | None:
    """Return a recorded file as written, else relative to the folder (``None``: neither)."""
    if not raw:
        return None
    p = Path(str(raw))
    for cand in (p, folder / p):
        if cand.is_file():
            return cand
    return None


def folder_video(folder: str | os.PathLike) -> Path | None:
    """Return the video in a folder: ``video.*`` first, else the first video by name.

    Parameters
    ----------
    folder
        Any folder (``None`` is returned when it is not one).

    Returns
    -------
    pathlib.Path or None

    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    named = [p for p in videos if p.stem == "video"]
    return (named or videos or [None])[0]


@dataclass(frozen=True)
class ClassifiedFolder:
    """A classify output folder: its files by name, each read on demand.

    Reading does not check that the folder is complete: each reader raises the one-line
    :class:`~behavtrack.errors.InputError` naming its file when that file is missing or
    broken (the ``missing_ok`` readers return ``None`` for a missing file instead).

    Attributes
    ----------
    path
        The folder.

    Examples
    --------
    >>> folder = ClassifiedFolder("out/pair01/day03")
    >>> folder.bouts_path.name
    'bouts.csv'

    """

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # ---- the files --------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        """``session.json``."""
        return self.path / META_NAME

    @property
    def provenance_path(self) -> Path:
        """``provenance.json``."""
        return self.path / PROVENANCE_NAME

    @property
    def ethogram_path(self) -> Path:
        """``ethogram.csv``."""
        return self.path / "ethogram.csv"

    @property
    def bouts_path(self) -> Path:
        """``bouts.csv``."""
        return self.path / "bouts.csv"

    @property
    def binary_path(self) -> Path:
        """``binary.csv``."""
        return self.path / "binary.csv"

    @property
    def events_path(self) -> Path:
        """``events.csv``."""
        return self.path / "events.csv"

    @property
    def png_path(self) -> Path:
        """``ethogram.png``."""
        return self.path / "ethogram.png"

    @property
    def batch_path(self) -> Path:
        """``batch.json`` (a ``behavtrack batch`` session output only)."""
        return self.path / BATCH_RECORD_NAME

    @property
    def is_classified(self) -> bool:
        """Whether the folder holds ``provenance.json`` (a classify or batch session output)."""
        return self.provenance_path.is_file()

    # ---- the records --------------------------------------------------------------------
    @cached_property
    def meta(self) -> dict[str, Any]:
        """``session.json`` (``{}`` without one; an error if it is broken). Do not modify."""
        return read_session_meta(self.path, missing_ok=True)

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """``provenance.json`` (``{}`` without one; an error if it is broken). Do not modify."""
        return read_json_object(self.provenance_path, missing_ok=True)

    def recorded_inputs(self) -> dict[str, Any]:
        """Return the ``inputs`` of ``provenance.json`` (``{}`` when missing or broken)."""
        inputs = _json_or_empty(self.provenance_path).get("inputs")
        return inputs if isinstance(inputs, dict) else {}

    def recorded_input(self, key: str) -> Path | None:
        """Return the path of one input recorded in ``provenance.json`` (``pose``, ...).

        Parameters
        ----------
        key
            The input's name.

        Returns
        -------
        pathlib.Path or None
            The path as recorded (it may no longer exist), ``None`` when none is.

        """
        return _recorded_path(self.recorded_inputs().get(key))

    def batch_job(self) -> dict[str, Any]:
        """Return the ``job`` of ``batch.json`` (``kind``, ``path``, ...); ``{}`` without one."""
        job = _json_or_empty(self.batch_path).get("job")
        return job if isinstance(job, dict) else {}

    # ---- the tables ---------------------------------------------------------------------
    def _fps(self) -> float | None:
        fps = self.meta.get("fps")
        return float(fps) if isinstance(fps, int | float) and fps > 0 else None

    def ethogram(self) -> pd.DataFrame:
        """Read ``ethogram.csv``: ``frame, time_s, individual, behavior`` and ``p_*``.

        Raises
        ------
        InputError
            If the file is missing or is not a frame-label table.

        """
        from behavtrack.files import require_file
        from behavtrack.io.session import load_labels

        return load_labels(require_file(self.ethogram_path, "ethogram"), fps=self._fps())

    def bouts(self, *, missing_ok: bool = False) -> pd.DataFrame | None:
        """Read ``bouts.csv`` into a bouts table (:func:`behavtrack.io.bouts.read_bouts_csv`).

        Parameters
        ----------
        missing_ok
            Return ``None`` when there is no ``bouts.csv`` (else it is an error).

        """
        from behavtrack.io.bouts import read_bouts_csv

        if missing_ok and not self.bouts_path.is_file():
            return None
        return read_bouts_csv(self.bouts_path)

    def events(self, fps: float | None = None, *, missing_ok: bool = False
               ) -> pd.DataFrame | None:
        """Read ``events.csv`` (:func:`behavtrack.io.events.load_events`).

        Parameters
        ----------
        fps
            Frame rate for a log with frames only (default: ``session.json``'s).
        missing_ok
            Return ``None`` when there is no ``events.csv`` (else it is an error).

        """
        from behavtrack.io.events import load_events

        if missing_ok and not self.events_path.is_file():
            return None
        return load_events(self.events_path, fps=fps if fps is not None else self._fps())

    # ---- what it was made from ----------------------------------------------------------
    def source_session(self) -> Path | None:
        """Return the session folder ``provenance.json`` records, when it still exists."""
        src = self.recorded_input("session")
        return src if src is not None and src.is_dir() else None

    def pose_file(self) -> Path:
        """Return the pose file the folder was classified from.

        A ``pose.h5`` (or another of :data:`~behavtrack.io.session.POSE_NAMES`) inside the
        folder (a batch output tracked from a video) comes first; then the pose recorded in
        ``provenance.json`` (checked against its sha256), or ``pose_file`` of
        ``session.json`` (each as written, else relative to the folder); then the pose of
        the session folder ``source_session`` names.

        Raises
        ------
        InputError
            One line naming the folder: the pose is gone, or changed since it was
            classified; or ``provenance.json`` is broken.

        """
        folder, meta = self.path, self.meta
        inside = next((folder / n for n in POSE_NAMES if (folder / n).is_file()), None)
        if inside is not None:  # a batch output tracked from video keeps its pose.h5 inside
            return inside
        prov = self.provenance
        inputs = prov.get("inputs") if isinstance(prov.get("inputs"), dict) else {}
        rec = inputs.get("pose")
        named = _recorded_path(rec)
        for raw in (named, meta.get("pose_file")):
            found = _locate(folder, raw)
            if found is not None:
                want = rec.get("sha256") if isinstance(rec, dict) else None
                if want and found.resolve() == Path(str(named)).resolve() and sha256(found) != want:
                    raise InputError(folder, f"its pose file {found} changed since it was "
                                     "classified (sha256 differs from provenance.json)",
                                     "classify the session again, then export")
                return found
        source = meta.get("source_session")
        if source and Path(str(source)).is_dir():
            from behavtrack.io.session import load_session

            return load_session(Path(str(source))).pose_path
        shown = named or meta.get("pose_file") or "none recorded"
        raise InputError(folder, f"has no pose: the pose file it was classified from ({shown}) "
                         "is not there", "restore the pose file, or export the session folder "
                         "it came from")

    def arena_file(self) -> Path | None:
        """Return the arena the folder was classified with, ``None`` when it is not found.

        ``arena.yaml`` in the folder; else the arena recorded in ``provenance.json`` (as
        written, else relative to the folder); else ``arena.yaml`` of ``source_session``.
        """
        if (self.path / "arena.yaml").is_file():
            return self.path / "arena.yaml"
        prov = self.provenance
        inputs = prov.get("inputs") if isinstance(prov.get("inputs"), dict) else {}
        found = _locate(self.path, _recorded_path(inputs.get("arena")))
        if found is not None:
            return found
        source = self.meta.get("source_session")
        if source and (Path(str(source)) / "arena.yaml").is_file():
            return Path(str(source)) / "arena.yaml"
        return None

    def batch_video(self) -> Path | None:
        """Return the video ``batch.json`` names (a session folder's video, for a session)."""
        job = self.batch_job()
        path = Path(str(job.get("path") or ""))
        if job.get("kind") == "video" and path.is_file():
            return path
        if job.get("kind") == "session" and path.is_dir():
            return folder_video(path)
        return None

    def video(self) -> Path | None:
        """Return the video the folder (or the session it came from) was made from.

        In order: a video in the folder (:func:`folder_video`); the one ``batch.json``
        names (:meth:`batch_video`); the video in the session folder ``provenance.json``
        records; the video beside the pose file it records
        (:func:`behavtrack.io.framerate.video_beside`). ``None`` when there is none; broken
        records are passed over.
        """
        from behavtrack.io.framerate import video_beside

        found = folder_video(self.path) or self.batch_video()
        if found is not None:
            return found
        src = self.recorded_input("session")
        found = folder_video(src) if src is not None else None
        if found is not None:
            return found
        pose = self.recorded_input("pose")
        return video_beside(pose) if pose is not None and pose.is_file() else None


def find_classified_folders(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
) -> list[ClassifiedFolder]:
    """Expand folders, globs and manifests into classify output folders.

    Parameters
    ----------
    paths
        Each entry is a folder holding ``session.json``, a parent folder searched
        recursively, a glob pattern, or a text file (``.txt``, ``.lst`` or no ending)
        listing such entries one per line (relative to its folder; blank lines and ``#``
        comments ignored); see :func:`behavtrack.io.inputs.find_inputs`.

    Returns
    -------
    list of ClassifiedFolder
        Each folder once, in the order given.

    Raises
    ------
    InputError
        If an entry matches nothing, or names an NWB export (not a folder: read it with
        :func:`behavtrack.io.nwb.load_nwb_session`).

    """
    from behavtrack.io.inputs import find_inputs

    out = []
    for found in find_inputs(paths, kinds=("session", "nwb")):
        if found.kind == "nwb":
            raise InputError(found.path, "is an NWB export, not a classify output folder",
                             "read it with behavtrack.io.nwb.load_nwb_session")
        out.append(ClassifiedFolder(found.path))
    return out
