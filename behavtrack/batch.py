"""Batch runs: the whole pipeline over many sessions, locally in parallel or on a Dask cluster.

A batch takes session inputs (session folders, pose files or videos; given as folders, globs or a
manifest), and for each one tracks (videos only), classifies and writes a classify output folder
under ``OUT/sessions/<session id>/``; then it computes the cohort's statistics in ``OUT/stats/``.

It is resumable: each finished session leaves ``batch.json`` recording the checksums of its inputs,
the model and the parameters; a later run skips sessions whose record still matches. One failing
session never stops the rest: it is listed in ``OUT/failures.csv`` with the stage and the error.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import multiprocessing
import os
import pickle
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from behavtrack import __version__
from behavtrack.errors import InputError
from behavtrack.files import (
    atomic_path,
    atomic_write_text,
    folder_lock,
    progress,
    progress_bars,
    sha256,
)
from behavtrack.parallel import catch_interrupts, interruptible, run_unless_interrupted

# numpy (behavtrack.io.framerate, behavtrack.io.inputs) and the pipeline are imported where
# used: ``import behavtrack.batch`` stays light, so that run_batch starts its workers' fork
# server before paying for them. The parent imports the statistics' modules meanwhile (one
# core is otherwise idle while the server imports the workers' stack) and computes the
# cohort's statistics at the end; the workers classify and draw

__all__ = [
    "SessionJob",
    "BatchResult",
    "discover_jobs",
    "run_session",
    "run_batch",
]

RECORD = "batch.json"


@dataclass(frozen=True)
class SessionJob:
    """One session to process.

    Attributes
    ----------
    session_id
        Relative name of the session, used as its output folder (``pair01/day03``).
    kind
        ``"session"`` (a session folder with ``session.json``), ``"pose"`` or ``"video"``.
    path
        The session folder, pose file or video.
    arena
        Arena YAML to use (``None``: the session folder's own, or none).
    events
        Event log CSV to use (``None``: the session folder's own, or none).

    """

    session_id: str
    kind: str
    path: str
    arena: str | None = None
    events: str | None = None

    def inputs(self) -> list[Path]:
        """Return the files whose contents decide this job's outputs (for resuming)."""
        from behavtrack.io.inputs import META_NAME

        files: list[Path] = []
        p = Path(self.path)
        if self.kind == "session":
            for name in (META_NAME, "arena.yaml", "events.csv"):
                if (p / name).is_file():
                    files.append(p / name)
            if (p / META_NAME).is_file():  # the pose and video the run actually reads
                pose, video, _ = _session_inputs(p)
                files += [f for f in (pose, video) if f is not None]
        else:
            files.append(p)
        files += [Path(f) for f in (self.arena, self.events) if f]
        return files


@dataclass
class BatchResult:
    """What a batch did: sessions done, skipped (up to date) and failed, and where outputs are."""

    out_dir: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    stats_dir: Path | None = None
    stats_error: str | None = None
    seconds: float = 0.0

    @property
    def session_dirs(self) -> list[Path]:
        """Output folders of every session that has outputs (done or skipped)."""
        return [self.out_dir / "sessions" / s for s in sorted(self.done + self.skipped)]


# ---- discovering inputs --------------------------------------------------------------------
def _session_id(path: Path, root: Path | None) -> str:
    base = path if path.is_dir() else path.with_suffix("")
    if base.name.endswith(".analysis"):
        base = base.with_suffix("")
    if root is not None:
        try:
            rel = base.relative_to(root)
            if str(rel) not in ("", "."):
                return rel.as_posix()
        except ValueError:
            pass
    return base.name


def _job_for(path: Path, root: Path | None, arena: str | None, events: str | None) -> SessionJob:
    from behavtrack.io.inputs import META_NAME

    if path.is_dir():
        if not (path / META_NAME).is_file():
            raise InputError(path, "is a folder without session.json",
                             "give session folders, pose files, videos, or a parent folder")
        return SessionJob(_session_id(path, root), "session", str(path), arena, events)
    from behavtrack.io.framerate import POSE_SUFFIXES, VIDEO_SUFFIXES

    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return SessionJob(_session_id(path, root), "video", str(path), arena, events)
    if path.name.lower().endswith(tuple(POSE_SUFFIXES)):
        return SessionJob(_session_id(path, root), "pose", str(path), arena, events)
    raise InputError(path, f"is neither a session folder, a pose file nor a video ({suffix!r})",
                     f"videos: {', '.join(VIDEO_SUFFIXES)}; poses: {', '.join(POSE_SUFFIXES)}")


def _read_manifest(path: Path) -> list[tuple[Path, str | None, str | None]]:
    """Read a manifest: a CSV with ``path`` (optional ``arena``, ``events``), or a path a line."""
    from behavtrack.io.inputs import read_manifest

    rows = [(
        (path.parent / row.text).resolve() if row.text else Path(""),
        str((path.parent / row.columns["arena"]).resolve()) if row.columns.get("arena") else None,
        str((path.parent / row.columns["events"]).resolve()) if row.columns.get("events")
        else None,
    ) for row in read_manifest(path, not_text=("is not a text manifest",
                                               "one path a line, or a CSV with a 'path' column"))]
    for p, _, _ in rows:
        if not p.exists():
            raise InputError(path, f"lists {p}, which does not exist", "fix the manifest line")
    return rows


def discover_jobs(
    inputs: Sequence[str | os.PathLike],
    arena: str | os.PathLike | None = None,
    events: str | os.PathLike | None = None,
) -> list[SessionJob]:
    """Find the sessions to process.

    Parameters
    ----------
    inputs
        Session folders, pose files, videos, parent folders (searched recursively for session
        folders, then for videos), globs, or manifest files (``.txt``/``.csv``: one path a line,
        or a CSV with columns ``path`` and optional ``arena``, ``events``).
    arena, events
        An arena YAML / event log applied to every input that has none of its own.

    Returns
    -------
    list of SessionJob
        Sorted by session id; ids are unique.

    """
    from behavtrack.io.inputs import META_NAME, glob_matches, glob_root, search_folder

    arena_s = str(arena) if arena else None
    events_s = str(events) if events else None
    jobs: list[SessionJob] = []
    for raw in inputs:
        raw = str(raw)
        # the expansion is that of behavtrack.io.inputs; a batch's own rules: ``**`` does not
        # span folders, a manifest's folders are not searched, ids follow the folder searched
        matches = glob_matches(raw, recursive=False) if glob.has_magic(raw) else [Path(raw)]
        if not matches:
            raise InputError(raw, "matches no file", "check the glob pattern")
        # a glob's matches are named relative to the folder before its first wildcard
        root = glob_root(raw) if glob.has_magic(raw) else None
        for m in matches:
            path = Path(m)
            if not path.exists():
                raise InputError(path, "no such file or folder", "check the path")
            if path.is_file() and path.suffix.lower() in (".txt", ".manifest") or (
                path.suffix.lower() == ".csv" and _looks_like_manifest(path)
            ):
                for p, a, e in _read_manifest(path):  # ids relative to the manifest's folder
                    jobs.append(_job_for(p, path.parent.resolve(), a or arena_s, e or events_s))
            elif path.is_dir() and not (path / META_NAME).is_file():
                found = search_folder(path, "session") or search_folder(path, "video")
                if not found:
                    raise InputError(path, "holds no session folder (session.json) and no video",
                                     "give session folders, pose files or videos")
                jobs += [_job_for(p, path, arena_s, events_s) for p in found]
            else:
                jobs.append(_job_for(path, root, arena_s, events_s))
    ids = [j.session_id for j in jobs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(dupes[0], "names two inputs of the batch",
                         "give each session a distinct folder or file name")
    return sorted(jobs, key=lambda j: j.session_id)


def _looks_like_manifest(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            header = f.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "path" in [c.strip() for c in header.split(",")]


# ---- one session ---------------------------------------------------------------------------
def _default_model_digest() -> str:
    """Checksums of the shipped models, so that a new shipped model re-runs the sessions."""
    from behavtrack.strategies.model_file import SHIPPED_MODELS, shipped_model_path

    parts = []
    for name in SHIPPED_MODELS:
        path = shipped_model_path(name)
        parts.append(f"{name}:{sha256(path)}" if path.is_file() else name)
    return ",".join(parts)


def _fingerprint(job: SessionJob, model: str | None, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "inputs": {str(p): sha256(p) for p in job.inputs()},
        "model": sha256(model) if model else _default_model_digest(),
        "params": params,
        "behavtrack": __version__,
    }


def _recorded_fingerprint(out_dir: Path) -> dict[str, Any] | None:
    """Return the fingerprint recorded in ``out_dir`` by a finished run, or ``None``."""
    try:
        old = json.loads((out_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return old.get("fingerprint") if isinstance(old, dict) else None


def is_up_to_date(job: SessionJob, out_dir: Path, model: str | None, params: dict) -> bool:
    """Whether ``out_dir`` holds finished outputs made from exactly these inputs and settings."""
    return _recorded_fingerprint(out_dir) == _fingerprint(job, model, params)


def _session_inputs(folder: Path) -> tuple[Path | None, Path | None, dict[str, Any]]:
    """Pose file, video and metadata of a session folder (pose or video may be missing).

    Files are looked up by :func:`behavtrack.io.session.session_files`.
    """
    from behavtrack.io.session import read_session_meta, session_files

    meta = read_session_meta(folder)
    pose, video = session_files(folder, meta)
    return pose, video, meta


def _job_arena(job: SessionJob) -> str | None:
    """Return a job's arena YAML: its own (manifest, ``--arena``), else its session folder's."""
    if not job.arena and job.kind == "session":
        own = Path(job.path) / "arena.yaml"
        return str(own) if own.is_file() else None
    return job.arena


def _process(job: SessionJob, out_dir: Path, model: str | None, stage: Callable[[str], None],
             params: dict[str, Any] | None = None, png: bool = True) -> None:
    """Track (when there is only video) and classify one job into ``out_dir``.

    Without ``png``, ``ethogram.png`` is left to :func:`_finish_session`.
    """
    from behavtrack.io.arena import load_arena
    from behavtrack.workflows.classify import classify_session

    src = Path(job.path)
    arena, events, meta = _job_arena(job), job.events, None
    pose: Path | None = src
    video: Path | None = src if job.kind == "video" else None
    if job.kind == "session":
        pose, video, meta = _session_inputs(src)
        events = events or (str(src / "events.csv") if (src / "events.csv").is_file() else None)
        if pose is None and video is None:
            raise InputError(src, "has neither a pose file nor a video",
                             "add pose.h5 (or video.mp4) to the session folder")
        if pose is not None:
            pose = src  # classify reads the folder's pose, arena, events and metadata
    if pose is None or job.kind == "video":
        stage("track")
        from behavtrack.tracking import track_video

        track_video(video, arena=load_arena(arena) if arena else None, out=out_dir / "pose.h5")
        pose = out_dir / "pose.h5"
    stage("classify")
    params = params or {}
    classify_session(pose, out_dir, arena=arena, events=events, model=model,
                     fps=params.get("fps"), aliases=params.get("aliases"),
                     individuals=params.get("individuals"), png=png)
    if meta is not None and pose == out_dir / "pose.h5":
        # tracked from a session folder's video: carry the session's metadata over
        from behavtrack.io.session import read_session_meta, write_session_meta

        merged = read_session_meta(out_dir)
        merged.update({k: v for k, v in meta.items() if k not in merged or k in
                       ("pair", "session", "day", "progress", "source", "session_id")})
        merged["pose_source"] = "tracked"
        write_session_meta(out_dir, merged, indent=1)


def run_session(
    job: SessionJob,
    out_root: str | os.PathLike,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    nwb: bool = False,
    stats: Mapping[str, Any] | None = None,
    png: bool = True,
) -> dict[str, Any]:
    """Process one session (track if a video, then classify); never raises.

    With ``nwb``, the session's NWB file is also written to ``OUT/nwb/<session>.nwb``
    (:func:`behavtrack.export.nwb.export_session_nwb`), also for an up-to-date session whose
    file is missing; ``nwb`` is not part of the fingerprint, so asking for it never
    re-classifies.

    With ``stats`` (``n_shifts``, ``seed``, ``lookback_s``), the session's part of the
    cohort's statistics is computed too, right after it is classified (or found up to
    date): :func:`behavtrack.learning.cohort.session_result` of its output folder, so that
    the statistics at the end of the batch only assemble the sessions' rows.

    Without ``png``, a classified session's ``ethogram.png`` is not drawn and its
    ``batch.json`` not written: the record comes back as ``record``, and
    :func:`_finish_session` draws the one (from the folder's tables, the same bytes) and
    then writes the other, so that the session counts as up to date only once complete.
    A batch's workers do so once no session waits for them.

    Returns
    -------
    dict
        ``session_id``, ``status`` (``done``, ``skipped`` or ``failed``), ``stage`` and
        ``error`` (for failures), ``seconds``; with ``stats``, for a session that has
        outputs, ``stats``: ``(output folder, outcome)``; without ``png``, for a session
        classified, ``record``.

    """
    from threadpoolctl import threadpool_limits

    params = dict(params or {})
    out_dir = Path(out_root) / "sessions" / job.session_id
    t0 = time.perf_counter()
    stage = "check"
    try:
        fingerprint = _fingerprint(job, model, params)  # inputs are hashed once per run
        if _recorded_fingerprint(out_dir) == fingerprint:
            if nwb and not _nwb_path(out_root, job).is_file():
                stage = "nwb"
                _write_nwb(job, out_dir, out_root, params)
            return _with_stats({"session_id": job.session_id, "status": "skipped",
                                "seconds": 0.0}, out_dir, stats)
        # one bar for the run (the caller's "sessions"), none per session, in any worker
        with threadpool_limits(limits=1), progress_bars(False):
            def set_stage(name: str) -> None:
                nonlocal stage
                stage = name

            _process(job, out_dir, model, set_stage, params, png=png)
            if nwb:
                stage = "nwb"
                _write_nwb(job, out_dir, out_root, params)
        record = {
            "session_id": job.session_id,
            "job": asdict(job),
            "fingerprint": fingerprint,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        rec: dict[str, Any] = {"session_id": job.session_id, "status": "done",
                               "seconds": time.perf_counter() - t0}
        if png:
            atomic_write_text(out_dir / RECORD, json.dumps(record, indent=2))
        else:
            rec["record"] = record
        return _with_stats(rec, out_dir, stats)
    except Exception as exc:  # one failing session never stops the batch
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = "" if isinstance(exc, InputError) else traceback.format_exc(limit=3)
        return {"session_id": job.session_id, "status": "failed", "stage": stage,
                "error": f"{type(exc).__name__}: {message}", "detail": detail,
                "seconds": time.perf_counter() - t0}


def _finish_session(out_dir: str, record: dict[str, Any]) -> dict[str, Any]:
    """Draw the ``ethogram.png`` of a session classified without it, then write its record.

    The raster is drawn from the folder's ``ethogram.csv`` (labels of each individual in the
    order of ``session.json``), its frame rate and the observation id of ``bouts.csv`` (the
    title), as :func:`behavtrack.workflows.classify.classify_session` draws it: the same
    PNG. Never raises.

    Parameters
    ----------
    out_dir
        The session's output folder.
    record
        Its ``batch.json`` (``run_session``'s ``record``).

    Returns
    -------
    dict
        ``session_id``, ``status`` (``done``, or ``failed`` with ``stage`` and ``error``).

    """
    folder = Path(out_dir)
    try:
        import csv

        import pandas as pd

        from behavtrack.export import plot_ethogram
        from behavtrack.io.session import read_session_meta

        meta = read_session_meta(folder)
        table = pd.read_csv(folder / "ethogram.csv", usecols=["individual", "behavior"],
                            dtype=str, keep_default_na=False)
        who, what = table["individual"].to_numpy(), table["behavior"].to_numpy()
        labels = {ind: what[who == ind] for ind in meta["individuals"]}
        with open(folder / "bouts.csv", encoding="utf-8", newline="") as f:
            first = next(csv.DictReader(f), None)  # every bout names the observation
        title = first["Observation id"] if first else str(
            meta.get("session_id") or (Path(meta["source_session"]).name
                                       if meta.get("source_session")
                                       else Path(meta["pose_file"]).stem))
        plot_ethogram(labels, float(meta["fps"]), folder / "ethogram.png", title=title)
        atomic_write_text(folder / RECORD, json.dumps(record, indent=2))
    except Exception as exc:  # noqa: BLE001 - reported as the session's failure
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"session_id": record["session_id"], "status": "failed", "stage": "classify",
                "error": f"{type(exc).__name__}: {message}",
                "detail": "" if isinstance(exc, InputError) else traceback.format_exc(limit=3)}
    return {"session_id": record["session_id"], "status": "done"}


def _with_stats(rec: dict[str, Any], out_dir: Path, stats: Mapping[str, Any] | None,
                ) -> dict[str, Any]:
    """Add the session's outcome for the cohort's statistics to its record (see run_session).

    ``out_dir`` is named as the statistics name it (``OUT/sessions/<id>``); an unexpected
    error leaves the session to the statistics, which compute it again and report it.
    """
    if stats is None:
        return rec
    from threadpoolctl import threadpool_limits

    try:
        from behavtrack.learning.cohort import session_result

        with threadpool_limits(limits=1), progress_bars(False):
            rec["stats"] = (str(out_dir), session_result(out_dir, **stats))
    except Exception:  # noqa: BLE001, S110 - computed (and reported) again by the statistics
        pass
    return rec


def _nwb_path(out_root: str | os.PathLike, job: SessionJob) -> Path:
    from behavtrack.export.nwb import nwb_name

    return Path(out_root) / "nwb" / f"{nwb_name(job.session_id)}.nwb"


def _write_nwb(job: SessionJob, out_dir: Path, out_root: str | os.PathLike,
               params: dict[str, Any]) -> None:
    from behavtrack.export.nwb import export_session_nwb

    target = _nwb_path(out_root, job)
    export_session_nwb(out_dir, target, name=target.stem, aliases=params.get("aliases"))


# ---- executors -----------------------------------------------------------------------------
def _connect(scheduler: str, timeout_s: float) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise InputError("scheduler", "needs Dask distributed, which is not installed",
                         "pip install 'behavtrack[distributed]'") from None
    try:
        return Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise InputError(
            scheduler, f"Dask scheduler cannot be reached ({type(exc).__name__})",
            "check the address (tcp://host:8786) and that the scheduler runs",
        ) from None


#: Modules a worker's classify job imports (its whole stack, drawn PNG included), with the
#: session's row of the statistics, the cohort's curves and a learning-curve figure (scipy is
#: imported by the fits, in the one worker that computes the statistics);
#: the fork server imports them once for all workers, so no worker pays for them again.
_WORKER_MODULES = (
    "behavtrack.batch",
    "behavtrack.workflows.classify",
    "behavtrack.strategies.pipeline",
    "behavtrack.strategies.hybrid_model",
    "behavtrack.strategies.gbm_json",
    "behavtrack.strategies.hmm_decode",
    "hmmlearn._hmmc",
    "behavtrack.features.table",
    "behavtrack.io.pose",
    "behavtrack.io.session",
    "behavtrack.export.tables",
    "behavtrack.export.raster",
    "behavtrack.export.provenance",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "behavtrack.learning.cohort",
    "behavtrack.learning.curves",
    "behavtrack.workflows.stats",
    "behavtrack.learning.figures",
)
#: ... and those of a video job (the built-in tracker), imported by each worker as it starts.
_VIDEO_MODULES = ("behavtrack.tracking",)

#: The statistics' settings of a batch (those of ``behavtrack stats`` by default): the
#: workers compute each session's row with them, the end of the batch the rest.
_STATS_PARAMS: dict[str, Any] = {"n_shifts": 1000, "seed": 0, "lookback_s": None}


def _forkserver_context() -> Any:
    """Return the fork server's context, its preload set (the stack is imported once)."""
    ctx = multiprocessing.get_context("forkserver")  # no fork of a threaded parent
    ctx.set_forkserver_preload(list(_WORKER_MODULES))
    return ctx


def _start_forkserver() -> None:
    """Start the workers' fork server now: it imports their stack while this process starts.

    The server of this process is reused by every local pool (it is started once); starting
    it before this process imports pandas and finds the inputs takes that time off the
    batch's serial start-up.
    """
    from multiprocessing import forkserver

    _forkserver_context()
    with _sigint_held(deliver=False), _one_thread_per_worker():
        forkserver.ensure_running()


#: The thread pools of the libraries under numpy and pandas, sized when they are loaded.
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS")


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """Meanwhile, the environment says one thread to every library's pool (then restored).

    The fork server started meanwhile loads numpy's BLAS (OpenBLAS) with it, and so do the
    workers forked from it: a BLAS started with a thread per core in each of N workers puts
    N threads on every core, spinning while they wait for work (``OMP_NUM_THREADS`` set in
    a worker comes too late, the BLAS being loaded already). The CLI sets
    ``OPENBLAS_NUM_THREADS`` for its whole process (``cli.CLI_ENVIRONMENT``); this covers a
    batch run from Python. Variables already set are left as they are.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARS}
    os.environ.update({name: "1" for name, value in saved.items() if value is None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


@contextlib.contextmanager
def _sigint_held(*, deliver: bool) -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back meanwhile: ignore it, or deliver it once the block is done.

    ``deliver=False``: the processes started meanwhile inherit SIGINT ignored. The fork
    server so ignores it while it imports the workers' stack (about a second: a Ctrl-C
    then printed its traceback under the one-line message); its workers take this
    process's handling back (:func:`_init_worker`); a Ctrl-C in the few milliseconds it
    takes to start it is lost. ``deliver=True``: a Ctrl-C meanwhile is raised after the
    block (see :func:`_runner`). Only the main thread can set a handler: elsewhere (where
    no Ctrl-C is raised either), nothing changes.
    """
    import signal

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):  # (a handler Python cannot put back)
        yield
        return
    received: list[int] = []
    before = signal.signal(signal.SIGINT, (lambda signum, frame: received.append(signum))
                           if deliver else signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
        if received:  # to the handler put back (KeyboardInterrupt, or ignored)
            signal.raise_signal(signal.SIGINT)


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Send Ctrl-C (SIGINT) to the pool's workers: one started after it never had it.

    Each stops the session it runs and runs no other (:func:`behavtrack.parallel.
    catch_interrupts`; a second SIGINT changes nothing). The pool's processes are
    private to it, so read with a guard.
    """
    import signal

    for pid in list(getattr(pool, "_processes", None) or {}):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGINT)


def _stop_forkserver() -> None:
    """End the workers' fork server once the batch is done, without its teardown.

    It only forks workers, so it has nothing to flush; exiting normally, it would tear its
    imports down (about 0.3 s) while holding this process's stdout and stderr open, which
    a pipe reading the command's output waits for (``| tee``, a ``subprocess.run`` that
    captures it). A later local batch in this process starts a new one.
    """
    import signal
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(Exception):  # reap it and forget it (private, so guarded)
        server._stop()


def _init_worker(videos: bool = False, interruptible: bool = True,
                 model: tuple[tuple[str, int, int], bytes] | None = None) -> None:
    """Give each worker process one thread (the processes share the cores).

    OpenCV, the OpenMP pools and the trees' row blocks
    (:mod:`behavtrack.strategies.gbm_json` sizes them from OpenMP's limit) then run on one
    core per worker instead of every worker spreading over all of them. With ``videos``,
    the worker imports the tracker first (the workers do so side by side). A Ctrl-C ends
    its work quietly (``interruptible``: the batch's process stops on it too), or is
    ignored, as in that process. ``model``: the batch's model, loaded and pickled by its
    process (:func:`_shared_model`), which the worker's sessions then use as it is.
    """
    catch_interrupts(interruptible)  # (ignored by the fork server: _sigint_held)
    if model is not None:
        from behavtrack.strategies.model_file import adopt_shared_model

        version, blob = model
        with contextlib.suppress(Exception):  # else its sessions load the model themselves
            adopt_shared_model(version, pickle.loads(blob))  # noqa: S301 - the batch's own
    os.environ["OMP_NUM_THREADS"] = "1"  # read by the trees' thread count, and by OpenMP
    if videos:
        _import_quietly(_VIDEO_MODULES)
    if "cv2" in sys.modules:  # imported for video jobs; pose jobs never import it
        sys.modules["cv2"].setNumThreads(1)
    if "sklearn" in sys.modules:  # OpenMP pools already started
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


#: What the cohort statistics import in the parent of a batch on workers (warmed up while
#: the local fork server imports the workers' stack; before a cluster is given the
#: sessions): the curves, fits and trends (scipy), which inputs are rollouts, the figures'
#: writer.
_STATS_MODULES = ("behavtrack.workflows.stats", "behavtrack.learning.curves", "scipy.optimize",
                  "behavtrack.io.agents", "behavtrack.learning.figures")


def _shared_model(model: str | None, jobs: Sequence[SessionJob]
                  ) -> tuple[tuple[str, int, int], bytes] | None:
    """Load and pickle the model the workers' first sessions need; return it with its version.

    ``model``, or the shipped model that fits the first session run (the largest; by its
    arena, as :func:`behavtrack.strategies.model_file.choose_model` picks it for two
    animals). Each worker otherwise parses the model's JSON and rebuilds its trees itself
    for its first session (0.1-0.3 s, on every worker at once); here it is done once, while
    the fork server still imports the workers' stack. ``None`` when there is nothing to
    share (no jobs, not a hybrid model) or the model cannot be read: the workers then load
    it themselves, and report its errors.
    """
    from behavtrack.strategies.model_file import choose_model, load_shareable, shipped_model_path

    if not jobs:
        return None
    try:
        if model is None:
            arena = _job_arena(max(jobs, key=_job_size))  # the first job run
            if arena is not None:
                from behavtrack.io.arena import load_arena

                arena = load_arena(arena)
            model = str(shipped_model_path(choose_model(arena, 2)[0]))
        loaded = load_shareable(model)
        if loaded is None:
            return None
        version, obj = loaded
        return version, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a head start only: the workers load it themselves
        return None


def _import_quietly(modules: Sequence[str]) -> None:
    """Import ``modules`` ahead of use; a failure here is left to the real import to report."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a warm-up only
            return


def _job_size(job: SessionJob) -> int:
    """Bytes of the job's input files: a proxy for its run time (for the job order)."""
    try:
        return sum(f.stat().st_size for f in job.inputs())
    except OSError:
        return 0


class _Backfill:
    """A local pool's tasks in two ranks: sessions and figures first, the sessions' PNGs after.

    Sessions (:meth:`submit_session`) and the statistics' figures (:meth:`submit`) go to the
    workers at once; the tasks given to :meth:`later` (:func:`_finish_session`) wait until a
    worker has nothing else to do, so that they fill the workers' idle time (the last
    sessions, the figure) instead of delaying the statistics. With ``keep_one``, once the
    last session is done one worker waits for the first figure (or :meth:`release`).

    Parameters
    ----------
    pool
        The workers.
    workers
        How many there are.
    keep_one
        Keep a worker free for the figure once the sessions are done.

    """

    def __init__(self, pool: ProcessPoolExecutor, workers: int, keep_one: bool) -> None:
        self._pool, self._workers, self._keep_one = pool, workers, keep_one
        self._lock = threading.Condition(threading.RLock())  # callbacks may run in _launch
        self._later: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._busy = 0  # tasks submitted and not done
        self._sessions = 0  # sessions submitted and not done
        self._kept = 0  # workers kept free for the figure
        self._futures: list[Future | None] = []  # of the tasks run later (None: submitting)
        self._broken: BaseException | None = None  # the pool lost a worker: no more tasks

    def submit_session(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run a session's task now (queued behind the other sessions)."""
        with self._lock:
            self._sessions += 1
            self._busy += 1
        return self._launch(fn, args, kwargs, session=True)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run a task now, on the worker kept free if any (``Executor.submit``)."""
        with self._lock:
            self._kept = 0
            self._busy += 1
        fut = self._launch(fn, args, {}, session=False)
        self._fill()
        return fut

    def later(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a task once a worker has nothing else to do."""
        with self._lock:
            self._later.append((fn, args))
        self._fill()

    def release(self) -> None:
        """Stop keeping a worker free (no figure is coming)."""
        with self._lock:
            self._keep_one, self._kept = False, 0
        self._fill()

    def join(self) -> list[Any]:
        """Wait for every task given to :meth:`later`; return their results, in that order."""
        self.release()
        with self._lock:
            self._lock.wait_for(lambda: not self._later and None not in self._futures)
            futures = list(self._futures)
        wait_futures(futures)
        return [f.result() for f in futures]

    def _launch(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                session: bool) -> Future:
        """Submit a task whose worker is counted already; never while holding the lock.

        A pool that loses a worker fails its tasks from its own thread while holding the
        lock its ``submit`` takes, and their callbacks (:meth:`_done`) take this one: a
        submission under this lock could deadlock with them.
        """
        try:
            # (a broken pool raises)
            fut = self._pool.submit(run_unless_interrupted, fn, *args, **kwargs)
        except BaseException:
            with self._lock:
                self._busy -= 1
                if session:
                    self._sessions -= 1
            raise
        fut.add_done_callback(lambda f: self._done(session, f))
        return fut

    def _done(self, session: bool, fut: Future) -> None:  # in the pool's thread (or _launch)
        from concurrent.futures.process import BrokenProcessPool

        with self._lock:
            self._busy -= 1
            if not fut.cancelled() and isinstance(fut.exception(), BrokenProcessPool):
                # a worker died: the tasks not started fail with its error (not submitted:
                # the pool's thread calling this holds the lock a submission takes)
                self._broken = fut.exception()
            if session:
                self._sessions -= 1
                if not self._sessions and self._keep_one:
                    self._kept = 1  # until the figure is submitted
        self._fill()

    def _fill(self) -> None:
        """Start tasks given to :meth:`later` while a worker is free (called without the lock)."""
        while True:
            with self._lock:
                if not self._later or (self._broken is None
                                       and self._busy >= self._workers - self._kept):
                    self._lock.notify_all()
                    return
                fn, args = self._later.popleft()
                slot = len(self._futures)
                if self._broken is not None:
                    failed: Future = Future()
                    failed.set_exception(self._broken)
                    self._futures.append(failed)
                    continue
                self._busy += 1
                self._futures.append(None)  # this task's future, once submitted
            try:
                fut = self._launch(fn, args, {}, session=False)
            except Exception as exc:  # noqa: BLE001 - the pool broke: join raises it
                fut = Future()
                fut.set_exception(exc)
            with self._lock:
                self._futures[slot] = fut


@contextlib.contextmanager
def _runner(
    jobs_n: int, scheduler: str | None, connect_timeout_s: float, videos: bool,
    figures: bool = True, model: tuple[tuple[str, int, int], bytes] | None = None,
) -> Iterator[tuple[Callable[..., Iterable[dict]], Callable[..., Any] | None,
                    _Backfill | None]]:
    """Where the batch runs: a Dask cluster, local worker processes or this process.

    Yields ``(run, submit, backfill)``: ``run(fn, jobs, **kwargs)`` yields ``fn(job,
    **kwargs)`` of every job as they finish; ``submit(fn, *args)`` runs one more task on the
    same workers and returns its future (the statistics' figures), ``None`` in this process;
    ``backfill`` is the local workers' :class:`_Backfill` (``figures``: a figure will be
    submitted once the sessions are done), ``None`` elsewhere. The workers live until the
    statistics are written. ``model``: the local workers' model (:func:`_shared_model`).
    """
    if scheduler:
        from distributed import as_completed as dask_completed

        client = _connect(scheduler, connect_timeout_s)

        def run_dask(fn: Callable[..., dict], jobs: list[SessionJob],
                     **kwargs: Any) -> Iterable[dict]:
            futures = [client.submit(fn, job, pure=False, key=f"behavtrack-{i}-{job.session_id}",
                                     **kwargs) for i, job in enumerate(jobs)]
            for fut in progress(dask_completed(futures), total=len(futures), desc="sessions",
                                unit="session"):
                yield fut.result()

        try:
            yield run_dask, lambda fn, *args: client.submit(fn, *args, pure=False), None
        finally:
            client.close()
    elif jobs_n > 1:
        from concurrent.futures.process import BrokenProcessPool

        from behavtrack.parallel import lost_worker_error

        _start_forkserver()  # (started already by a batch: its workers' environment)
        with ProcessPoolExecutor(max_workers=jobs_n, mp_context=_forkserver_context(),
                                 initializer=_init_worker,
                                 initargs=(videos, interruptible(), model)) as pool:
            backfill = _Backfill(pool, jobs_n, keep_one=figures)

            def run_pool(fn: Callable[..., dict], jobs: list[SessionJob],
                         **kwargs: Any) -> Iterable[dict]:
                # longest first, so that no worker is left with a long session at the end;
                # the first submissions start the workers (each waits for the fork server):
                # a Ctrl-C raised in the middle of a start left a worker forked without its
                # task queue, and the pool waited for it forever, so it is raised after
                with _sigint_held(deliver=True):
                    futures = [backfill.submit_session(fn, job, **kwargs) for job in
                               sorted(jobs, key=_job_size, reverse=True)]
                for fut in progress(as_completed(futures), total=len(futures),
                                    desc="sessions", unit="session"):
                    yield fut.result()

            try:
                yield run_pool, backfill.submit, backfill
            except BrokenProcessPool as exc:  # a worker died (killed for memory, say)
                raise lost_worker_error(exc, "use fewer processes, e.g. jobs=1, or free some "
                                        "memory; a rerun skips the sessions finished") from None
            except BaseException as exc:  # a Ctrl-C, an error: the tasks not started are not run
                if isinstance(exc, KeyboardInterrupt):
                    _interrupt_workers(pool)
                pool.shutdown(wait=True, cancel_futures=True)  # (leaving the pool waits for all)
                raise
    else:
        def run_here(fn: Callable[..., dict], jobs: list[SessionJob],
                     **kwargs: Any) -> Iterable[dict]:
            for job in progress(jobs, total=len(jobs), desc="sessions", unit="session"):
                yield fn(job, **kwargs)

        yield run_here, None, None


def _tally(result: BatchResult, rec: Mapping[str, Any]) -> None:
    """Count a session's record (of :func:`run_session`) in ``result``."""
    if rec["status"] == "done":
        result.done.append(rec["session_id"])
    elif rec["status"] == "skipped":
        result.skipped.append(rec["session_id"])
    else:
        result.failed.append({k: str(rec.get(k, "")) for k in
                              ("session_id", "stage", "error", "detail")})


def _batch_stats(result: BatchResult, analysed: Mapping[str, Any],
                 submit: Callable[..., Any] | None) -> None:
    """Write the cohort's statistics of the sessions with outputs to ``OUT/stats``.

    ``analysed``: the sessions' rows computed by the workers, by folder. They are assembled
    here; ``submit`` draws the figures meanwhile, on a worker (see
    :func:`behavtrack.workflows.stats.compute_stats`); without it they are drawn here.
    """
    result.stats_dir, result.stats_error = None, None
    from behavtrack.workflows.stats import compute_stats

    try:
        compute_stats(result.session_dirs, result.out_dir / "stats", **_STATS_PARAMS,
                      precomputed=analysed, submit=submit)
        result.stats_dir = result.out_dir / "stats"
    except InputError as exc:  # e.g. sessions without pair/session metadata
        result.stats_error = str(exc)


def _run_session_packed(job: SessionJob, **kwargs: Any) -> dict[str, Any]:
    """:func:`run_session` on a local worker, its part of the statistics pickled.

    The parent keeps it as bytes until the statistics: reading it needs pandas, which the
    parent may still be importing when the first sessions come back.
    """
    rec = run_session(job, **kwargs)
    if "stats" in rec:
        folder, outcome = rec["stats"]
        rec["stats"] = (folder, pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    return rec


#: Columns of ``OUT/failures.csv``.
_FAILURE_COLUMNS = ("session_id", "stage", "error", "detail")


def _write_failures(failed: Sequence[Mapping[str, str]], path: Path) -> None:
    """Write ``failures.csv``, sorted by session, atomically.

    The bytes of pandas' ``to_csv`` (its CSV dialect), without importing pandas.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator=os.linesep)
        writer.writerow(_FAILURE_COLUMNS)
        writer.writerows([row.get(c, "") for c in _FAILURE_COLUMNS]
                         for row in sorted(failed, key=lambda row: row["session_id"]))


def run_batch(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    arena: str | os.PathLike | None = None,
    events: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    stats: bool = True,
    connect_timeout_s: float = 10.0,
    fps: float | None = None,
    aliases: dict[str, str] | None = None,
    individuals: Sequence[str] | None = None,
    nwb: bool = False,
) -> BatchResult:
    """Run the pipeline over many sessions, then the cohort's statistics.

    Parameters
    ----------
    inputs
        What :func:`discover_jobs` accepts.
    out_dir
        Output folder: ``sessions/<id>/`` per session, ``stats/``, ``failures.csv``,
        ``batch.json``.
    arena, events
        Applied to inputs that have none of their own.
    model
        Model JSON (default: the shipped model that fits each session).
    jobs
        Local worker processes (1: in this process).
    scheduler
        Address of an existing Dask distributed scheduler (``tcp://host:8786``); overrides
        ``jobs``.
    stats
        Compute the cohort's statistics after the sessions.
    connect_timeout_s
        How long to wait for the Dask scheduler before giving up with an error.
    fps
        Frame rate of pose files that do not store one.
    aliases
        Extra body-part aliases of the pose files (name in the file -> canonical name).
    individuals
        The two animals to analyse in poses of more than two (names as in the pose files).
    nwb
        Also write each session's NWB file to ``OUT/nwb/<session>.nwb`` (``docs/nwb.md``).

    Returns
    -------
    BatchResult

    """
    t0 = time.perf_counter()
    if jobs < 1:
        raise InputError("jobs", f"must be at least 1, got {jobs}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():  # checked before the work
        raise InputError(out, "is a file, not an output folder", "give a folder as out_dir=")
    local = jobs > 1 and not scheduler  # local worker processes
    if local:
        # first thing: its imports overlap this process's (numpy on) from here on
        _start_forkserver()
    try:
        from behavtrack.io.framerate import check_fps

        fps = check_fps(fps, "fps")
        # the batch's own outputs (an --out inside an input folder) are not inputs of a later run
        todo = [j for j in discover_jobs(inputs, arena=arena, events=events)
                if not Path(j.path).resolve().is_relative_to(out.resolve())]
        model_s = str(Path(model).resolve()) if model else None
        if model_s and not Path(model_s).is_file():
            raise InputError(model, "no such model file", "give a model JSON from behavtrack train")
        videos = any(job.kind == "video" for job in todo)
        if stats and (scheduler or local):
            # this process computes the statistics at the end: import their modules now, while
            # the fork server imports the workers' stack on the other core (submitting the
            # sessions waits for it). Here, not in a thread beside this one's own imports: a
            # Ctrl-C raised in this thread while both imported could leave the import locks
            # held, and the batch then hung at its end, never stopped.
            _import_quietly(_STATS_MODULES)
        # the workers' model, loaded here while the fork server still imports their stack
        shared = _shared_model(model_s, todo) if local else None

        with folder_lock(out, "behavtrack batch"), \
                _runner(jobs, scheduler, connect_timeout_s, videos, figures=stats,
                        model=shared) as (run, submit, backfill):
            # a second run on this --out is refused; the workers stay for the statistics
            result = BatchResult(out_dir=out)
            analysed = {}  # each session's part of the statistics, computed by its worker
            # local workers send each session's part of the statistics pickled: it is read at
            # the end, once this process has imported pandas
            for rec in run(_run_session_packed if local else run_session, todo, out_root=str(out),
                           model=model_s, nwb=nwb,
                           params={k: v for k, v in (("fps", fps), ("aliases", aliases),
                                                     ("individuals", list(individuals or [])))
                                   if v}, stats=_STATS_PARAMS if stats else None,
                           png=backfill is None):
                if "record" in rec:  # its ethogram.png is drawn once a worker is idle
                    backfill.later(_finish_session, str(out / "sessions" / rec["session_id"]),
                                   rec.pop("record"))
                _tally(result, rec)
                if "stats" in rec:
                    folder, outcome = rec["stats"]
                    analysed[folder] = outcome
            if stats and result.session_dirs:
                if local:  # (pickled by this batch's workers: _run_session_packed)
                    analysed = {folder: pickle.loads(row)  # noqa: S301 - ours
                                for folder, row in analysed.items()}
                # here, the figures drawn meanwhile by an idle worker (the one kept free, locally)
                _batch_stats(result, analysed, submit)
            if backfill is not None:
                unfinished = [r for r in backfill.join() if r["status"] != "done"]
                if unfinished:  # classified, but its PNG could not be drawn: failed after all
                    lost = {r["session_id"] for r in unfinished}
                    result.done = [s for s in result.done if s not in lost]
                    for r in unfinished:
                        _tally(result, r)
                    if stats and result.session_dirs:  # without them, as a serial run
                        _batch_stats(result, analysed, submit)
            _write_failures(result.failed, out / "failures.csv")
            result.seconds = time.perf_counter() - t0
            summary = {
                "behavtrack": __version__,
                "inputs": [str(i) for i in inputs],
                # sorted: the same summary whatever order the workers finished in
                "done": sorted(result.done), "skipped": sorted(result.skipped),
                "failed": sorted(f["session_id"] for f in result.failed),
                "stats": str(result.stats_dir) if result.stats_dir else None,
                "stats_error": result.stats_error,
                "seconds": round(result.seconds, 3),
                "jobs": jobs, "scheduler": scheduler,
            }
            atomic_write_text(out / "batch.json", json.dumps(summary, indent=2))
    finally:
        if local:  # its workers are done (or stopped: a failure, a Ctrl-C)
            _stop_forkserver()
    return result
