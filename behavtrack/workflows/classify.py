"""Classify one session into an output folder: the workflow behind ``behavtrack classify``.

:func:`classify_session` goes from a pose file (or a session folder, a behavtrack NWB export or
a pose Dataset) to the folder of ``docs/architecture.md``: ``ethogram.csv, bouts.csv,
binary.csv, provenance.json, ethogram.png, session.json, events.csv``. It reads the inputs
(``io``), runs the stages in memory (features, then
:func:`behavtrack.strategies.pipeline.classify_features`) and writes every output through
``export`` into a staging folder that is moved in at the end, so a failed run leaves the
output folder as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.errors import InputError
from behavtrack.export.coded import (
    code_labels,
    draw_ethogram_coded,
    prepare_outputs,
    write_binary_coded,
)
from behavtrack.files import progress, staged_folder
from behavtrack.io.arena import Arena
from behavtrack.io.bouts import frames_to_bouts, write_bouts_csv
from behavtrack.io.classified import CLASSIFIED_FILES
from behavtrack.io.session import write_session_meta
from behavtrack.parallel import Job, Spare, spare_process
from behavtrack.strategies import stream as stream_chunks
from behavtrack.strategies.pipeline import (
    EVENT_COLUMNS,
    as_arena,
    as_events,
    check_events,
    classify_features,
    clean_for_pokes,
    detect_pokes,
    name_by_arena,
)
from behavtrack.strategies.stream import classify_chunks, streamable

if TYPE_CHECKING:
    from behavtrack.strategies.hmm import HMMClassifier

__all__ = ["ClassifyResult", "OUTPUT_FILES", "classify_session"]


#: Files of a classify output folder (read by :class:`behavtrack.io.classified.ClassifiedFolder`).
OUTPUT_FILES = CLASSIFIED_FILES


@dataclass
class ClassifyResult:
    """What :func:`classify_session` produced.

    :attr:`labels` reads the frame labels from ``ethogram.csv`` when asked for: a long
    recording's table is large, and the workflow writes it without ever holding it.
    """

    out_dir: Path
    bouts: pd.DataFrame
    events: pd.DataFrame
    meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> pd.DataFrame:
        """Frame labels with ``p_*`` columns: the table of ``out_dir/ethogram.csv``."""
        return pd.read_csv(self.out_dir / "ethogram.csv")


def _is_file(given: Any, path: Path) -> bool:
    """Whether ``given`` (a path, or anything else) names the file at ``path``."""
    if not isinstance(given, (str, os.PathLike)):
        return False
    try:
        return os.path.samefile(given, path)
    except OSError:
        return False


def _resolve_input(pose: Any, arena: Any, events: Any, fps: float | None,
                   aliases: dict[str, str] | None = None,
                   individuals: Sequence[str] | None = None, *, head: bool = False):
    """Pose Dataset, arena, events, session meta, file paths and ``fps`` for an input.

    ``head``: load the first :data:`HEAD_FRAMES` frames of a pose file only (its metadata,
    names and the checks that need no whole recording), for :func:`_chunk_reader`. The
    ``fps`` returned is the argument as the session completed it (``session.json``), to
    load the same file again (:func:`_load_checked`).
    """
    from behavtrack.io.framerate import check_fps

    fps = check_fps(fps, "fps")

    meta: dict[str, Any] = {}
    files: dict[str, Path | None] = {"pose": None, "arena": None, "events": None}
    if isinstance(pose, xr.Dataset):
        ds = _check_pose(pose, fps, individuals)
        arena = as_arena(arena)
    else:
        p = Path(pose)
        if p.is_dir():
            from behavtrack.io.session import load_session

            # the frame labels are not used here, nor the log when given one
            sess = load_session(p, labels=False, events=events is None)
            meta = dict(sess.meta or {})
            files["session"] = p
            own = p / "arena.yaml"
            if sess.arena is not None and (arena is None or _is_file(arena, own)):
                arena = sess.arena  # (the folder's own, already read: a batch names it)
                files["arena"] = own
            if events is None and sess.events is not None:
                events = sess.events
                if (p / "events.csv").is_file():
                    files["events"] = p / "events.csv"
            fps = fps or check_fps(meta.get("fps"), p / "session.json")
            p = Path(sess.pose_path)
        elif p.is_file() and p.suffix.lower() == ".nwb":
            from behavtrack.io.nwb import is_behavtrack_nwb, load_nwb_session

            if is_behavtrack_nwb(p):  # an archived session: its arena, events and metadata
                nwb = load_nwb_session(p)
                meta = {k: v for k, v in nwb.meta.items() if k != "nwb_file"}
                files["session"] = p
                if arena is None and nwb.arena is not None:
                    arena = nwb.arena
                if events is None and nwb.events is not None:
                    events, files["events"] = nwb.events, p
                fps = fps or nwb.meta.get("fps")
        files["pose"] = p
        if arena is not None and not isinstance(arena, Arena):
            files["arena"] = Path(arena)
        arena = as_arena(arena)  # parsed once, for the checks and the features
        ds = _load_checked(p, fps, arena, aliases, individuals, head=head)
    if events is not None and not isinstance(events, pd.DataFrame):
        files["events"] = Path(events)
    ev, _ = as_events(events, float(ds.attrs["fps"]))
    return ds, arena, ev, meta, files, fps


def _load_checked(path: Path, fps: float | None, arena: Arena | None,
                  aliases: dict[str, str] | None, individuals: Sequence[str] | None, *,
                  head: bool = False) -> xr.Dataset:
    """Load a pose file (its first :data:`HEAD_FRAMES` frames with ``head``) and check it."""
    from behavtrack.io.pose import load_pose

    ds = load_pose(path, fps=fps, arena=arena, aliases=aliases,
                   frames=(0, HEAD_FRAMES) if head else None)
    return _check_pose(ds, fps, individuals, tracked=not head)


def _check_pose(ds: xr.Dataset, fps: float | None, individuals: Sequence[str] | None, *,
                tracked: bool = True) -> xr.Dataset:
    """Refuse a pose whose rate is missing or contradicts ``fps``; choose the individuals."""
    from behavtrack.io.framerate import check_fps
    from behavtrack.io.pose import check_analysable

    if fps and ds.attrs.get("fps") and abs(float(ds.attrs["fps"]) - float(fps)) > 1e-6 * fps:
        raise InputError(ds.attrs.get("source_file", "pose"), f"the pose file says "
                         f"{ds.attrs['fps']} fps but {fps} fps was given",
                         "drop fps= or fix the file")
    if not ds.attrs.get("fps"):
        raise InputError(ds.attrs.get("source_file", "pose"), "has no frame rate (the file "
                         "does not store one, and no sidecar or video of the same name is "
                         "beside it)", "pass fps= (the frame rate), or an arena with fps:")
    check_fps(float(ds.attrs["fps"]), ds.attrs.get("source_file", "pose"))
    return check_analysable(ds, individuals=individuals, tracked=tracked)


def _pose_reads_by_frames(pose: str | os.PathLike) -> bool:
    """Whether the pose file of ``pose`` (a file or a session folder) is read by frames."""
    from behavtrack.io.pose import reads_by_frames
    from behavtrack.io.session import session_files

    p: Path | None = Path(pose)
    if p is not None and p.is_dir():
        try:
            p = session_files(p)[0]
        except InputError:  # an unreadable session.json: the whole load says so
            return False
    return p is not None and p.is_file() and reads_by_frames(p)


#: Frames read to learn a pose file's names and rate before it is classified in chunks.
HEAD_FRAMES = 64


def _chunk_reader(path: Path, fps: float | None, arena: Arena | None,
                  aliases: dict[str, str] | None, individuals: Sequence[str] | None
                  ) -> Callable[[int, int], xr.Dataset]:
    """``read(start, stop)``: frames of the pose file as :func:`_resolve_input` loads them."""
    from behavtrack.io.pose import load_pose, select_individuals

    def read(start: int, stop: int) -> xr.Dataset:
        ds = load_pose(path, fps=fps, arena=arena, aliases=aliases, frames=(start, stop))
        return select_individuals(ds, individuals) if individuals is not None else ds

    return read


def classify_session(
    pose: str | os.PathLike | xr.Dataset,
    out_dir: str | os.PathLike,
    arena: Arena | str | os.PathLike | None = None,
    events: pd.DataFrame | str | os.PathLike | None = None,
    model: HMMClassifier | str | os.PathLike | None = None,
    *,
    fps: float | None = None,
    png: bool = True,
    stream: bool = True,
    jobs: int | None = 1,
    spare: Spare | None = None,
    aliases: dict[str, str] | None = None,
    individuals: Sequence[str] | None = None,
) -> ClassifyResult:
    """Classify one session and write its classify output folder.

    Parameters
    ----------
    pose
        A pose file, a session folder (its arena and events are used unless given), or a
        poses Dataset.
    out_dir
        The folder to write (created). All outputs are written to a hidden staging folder
        next to it and moved in together, so a failed run leaves it as it was.
    arena
        Arena (or its YAML path). Without one, geometry features and ``waiting`` are absent
        and pokes cannot be detected from the pose.
    events
        The rig's log (DataFrame or CSV path). Without it, pokes are detected from the pose
        (``poke_source: pose`` in ``session.json``).
    model
        A fitted classifier or a model JSON path; ``None`` = the shipped model that fits the
        recording (:func:`behavtrack.strategies.model_file.choose_model`: the social model for
        two animals without an arena or in an open arena, else the cooperation-task model);
        the notes say which.
    fps
        Frame rate, when the pose file does not say it.
    png
        Also draw ``ethogram.png``.
    stream
        Classify a pose file chunk by chunk, so that memory stays flat in the recording's
        length (:func:`behavtrack.strategies.stream.classify_chunks`: the same labels). Done
        when the model is the hybrid, the arena is known, the events are given and the
        individuals are named as the arena's; otherwise, and with ``False``, the whole
        recording is loaded.
    jobs
        Processes that work at the same time (``None``: one per usable core,
        :func:`behavtrack.strategies.stream.chunk_jobs`): on the chunks of a long
        recording, on each animal's decoding, and on the figure and ``binary.csv``
        (beside ``ethogram.csv``). ``1`` forks no process. The outputs are the same with
        any number.
    spare
        A process to draw the figure and write ``binary.csv`` in
        (:func:`behavtrack.parallel.spare_process`, best warmed up with
        :func:`behavtrack.export.coded.prepare_outputs`); default: one forked at the start
        when ``jobs`` allows more than one process and a figure is drawn.
    aliases
        Extra body-part aliases for the pose file (name in the file -> canonical name).
    individuals
        The two animals to analyse, as named in the pose file; needed when it has more
        than two (:func:`behavtrack.io.pose.check_analysable`).

    Returns
    -------
    ClassifyResult

    """
    from behavtrack.export import plot_ethogram, write_binary, write_ethogram, write_provenance
    from behavtrack.export.provenance import file_record
    from behavtrack.features import compute_features
    from behavtrack.features.table import feature_request
    from behavtrack.io.events import write_events
    from behavtrack.io.pose import pose_length
    from behavtrack.strategies.model_file import (
        choose_model,
        load_model_shared,
        shipped_model_path,
    )

    out = Path(out_dir)
    forks = stream_chunks.chunk_jobs(jobs, 2) > 1  # checks jobs too
    if out.exists() and not out.is_dir():  # checked before the work
        raise InputError(out, "is a file, not an output folder", "give a folder as out_dir=")
    bar = progress(range(6), total=6, desc="classify", unit="step")
    steps = iter(bar)
    # a process forked now draws the figure at the end: its imports meanwhile
    with (contextlib.nullcontext(spare) if spare is not None else
          spare_process(prepare_outputs, enabled=forks and png)) as spare, \
            _closing(bar):  # closed before an error line is printed
        next(steps, None)
        model_path = None
        if isinstance(model, (str, os.PathLike)):
            model_path = Path(model)
            model = load_model_shared(model)  # parsed once per process (batch workers)
        head = stream and not isinstance(pose, xr.Dataset) and _pose_reads_by_frames(pose)
        ds, arena, ev, meta, files, fps = _resolve_input(pose, arena, events, fps, aliases,
                                                         individuals, head=head)
        fps_ = float(ds.attrs["fps"])
        n = int(ds.sizes["time"]) if not head else pose_length(files["pose"])
        ds, notes = name_by_arena(ds, arena)
        renamed = bool(notes)
        if model is None:
            name, why = choose_model(arena, int(ds.sizes.get("individual", 1)))
            model_path = shipped_model_path(name)
            model = load_model_shared(model_path)
            notes.insert(0, f"model: the shipped {name} model ({model_path.name}: {why})")
        if ev is not None:
            ev, ev_notes = check_events(ev, fps_, n, str(files.get("events") or "events"))
            notes += ev_notes
        if head and (renamed or ev is None or streamable(model, arena)
                     or int(ds.sizes["time"]) >= n):
            # chunks need the hybrid model, an arena (its scale), the event log (pokes
            # detected from the pose need the whole recording) and the arena's names
            head = False
            ds, _ = name_by_arena(_load_checked(files["pose"], fps, arena, aliases,
                                                individuals), arena)
        if ev is not None:
            used_events, poke_source = ev, "log"
        elif arena is not None:
            used_events, poke_source = detect_pokes(clean_for_pokes(ds, arena), arena), "pose"
            notes.append(f"no event log: {len(used_events)} pokes detected from the pose "
                         "(nose entering the own poke-port zone)")
        else:
            used_events, poke_source = pd.DataFrame(columns=EVENT_COLUMNS), "pose"
            notes.append("no events and no arena: pokes cannot be detected; events.csv is empty")
        next(steps, None)
        if head:  # chunk by chunk: memory flat in the recording's length
            res = classify_chunks(_chunk_reader(files["pose"], fps, arena, aliases,
                                                individuals), n, model, arena, ev,
                                  chunk_s=stream_chunks.CHUNK_S, jobs=jobs)
            labels, proba, fattrs = res.labels, res.proba, res.attrs
            notes += res.notes
            del res
            next(steps, None)
        else:
            # a model that evaluates some frames only gets the table at those frames
            rows = model.emission_rows(n, fps_) if hasattr(model, "emission_rows") else None
            feats = compute_features(ds, arena, used_events if arena is not None or ev is not None
                                     else None, rows=rows if rows is not None and len(rows) < n
                                     else None, **feature_request(model.feature_names_))
            notes += feats.attrs.get("notes", [])
            fattrs = dict(feats.attrs, columns=list(feats.columns))
            next(steps, None)
            labels, proba, cls_notes = classify_features(feats, model)
            notes += cls_notes
            del feats
        next(steps, None)
        bouts = pd.concat(
            [frames_to_bouts(labels[i], fps_, i, confidence=_chosen_proba(proba[i]))
             for i in labels], ignore_index=True) if labels else frames_to_bouts([], fps_, "")
        obs_id = str(meta.get("session_id") or (files["session"].name if files.get("session")
                                                else files["pose"].stem if files["pose"]
                                                else "session"))
        media = str(meta.get("video") or (Path(meta["video_path"]).name if meta.get("video_path")
                                          else ""))
        window = arena.window_s if arena is not None else None
        if window is None and ev is not None and "value" in ev and (ev["event"] == "window").any():
            window = float(ev.loc[ev["event"] == "window", "value"].iloc[-1])
        session_meta = {k: v for k, v in meta.items() if k != "files"}
        session_meta.update(
            source_session=str(files["session"]) if files.get("session") else None,
            fps=fps_, n_frames=n, individuals=list(labels), window_s=window,
            poke_source=poke_source, duration_s=n / fps_,
            pose_file=str(files["pose"]) if files["pose"] else ds.attrs.get("source_file"),
        )
        next(steps, None)
        model_rec = file_record(model_path) if model_path else {"path": None}
        with _staged(out) as stage, _awaited() as side:
            if spare.forked:  # a spare process draws the figure, then writes binary.csv
                coded = code_labels(labels)
                if png:
                    side.append(spare.submit(draw_ethogram_coded, *coded, fps_,
                                             stage / "ethogram.png", obs_id))
                side.append(spare.submit(write_binary_coded, *coded, fps_,
                                         stage / "binary.csv"))
            else:
                if png:
                    plot_ethogram(labels, fps_, stage / "ethogram.png", title=obs_id)
                write_binary(labels, fps_, stage / "binary.csv")
            write_ethogram(labels, proba, fps_, stage / "ethogram.csv")
            write_bouts_csv(bouts, stage / "bouts.csv", fps_, observation_id=obs_id,
                            media_file=media)
            del proba  # written: not held any longer
            write_events(used_events, stage / "events.csv")
            write_session_meta(stage, session_meta, indent=1)
            model_rec.update(training_checksum=model.training_checksum_,
                             features_used=[f for f in model.feature_names_
                                            if f in set(fattrs["columns"])],
                             heldout=_summary(getattr(model, "metrics_", {})))
            write_provenance(
                stage / "provenance.json",
                inputs={k: file_record(v) if v is not None and Path(v).is_file() else
                        (str(v) if v is not None else None) for k, v in files.items()},
                model=model_rec,
                parameters={"fps": fps_, "n_frames": n,
                            "min_bout_s": getattr(model, "min_bout_used_s_",
                                                  model.min_bout_s),
                            "feature_groups_skipped": fattrs.get("skipped", {}),
                            "px_per_cm": fattrs.get("px_per_cm"),
                            "scale_source": fattrs.get("scale_source"),
                            "poke_source": poke_source, "cleaning": fattrs.get("clean")},
                notes=notes,
            )
        next(steps, None)
        return ClassifyResult(out, bouts, used_events, session_meta, notes)


@contextlib.contextmanager
def _awaited() -> Iterator[list[Job]]:
    """Yield a list for the calls given to the spare process; wait for them on leaving.

    Their files are then in the staging folder before it is moved in (an error in one is
    raised). When the block raised (Ctrl-C, a full disk), they are waited for all the same,
    their errors dropped: the staging folder is removed only once nothing writes in it.
    """
    side: list[Job] = []
    try:
        yield side
    except BaseException:
        for job in side:
            with contextlib.suppress(BaseException):
                job.result()
        raise
    for job in side:
        job.result()


@contextlib.contextmanager
def _closing(bar: Any) -> Iterator[None]:
    """Close a progress bar (if it is one) on leaving the block, error or not."""
    try:
        yield
    finally:
        if hasattr(bar, "close"):
            bar.close()


def _staged(out: Path) -> contextlib.AbstractContextManager[Path]:
    """Write into a hidden folder next to ``out``; move the files into ``out`` at the end.

    Either every output of a run lands in ``out`` or, when writing fails, none does; staging
    folders of killed runs are removed (:func:`behavtrack.files.staged_folder`).
    """
    return staged_folder(out, OUTPUT_FILES)


def _chosen_proba(p: np.ndarray) -> np.ndarray | None:
    """Posterior of the chosen behaviour per frame (NaN where unknown)."""
    if len(p) == 0:
        return None
    return np.fmax.reduce(p, axis=1)  # NaN where the whole row is (an unknown frame)


def _summary(metrics: dict) -> dict:
    keys = ("hmm_frame_macro_f1", "hmm_bout_macro_f1", "n_test_sessions")
    return {k: metrics[k] for k in keys if k in metrics}
