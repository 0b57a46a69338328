"""The main job end to end on built-in defaults: ``behavtrack demo``.

It simulates a small cohort (one session rendered as video, kept without its pose so that the
built-in tracker has to find the mice), runs the batch pipeline over every session (tracking the
video, classifying with the shipped model, computing the learning statistics), compares the mice
with agent rollouts (the shared sample when present, else the rollouts shipped in the package) and
writes the HTML report. Nothing outside the package is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text, progress_enabled

__all__ = ["DemoResult", "run_demo", "shipped_rollouts_dir"]


@dataclass
class DemoResult:
    """Where the demo wrote its outputs and what each stage took."""

    out_dir: Path
    report: Path
    timings: dict[str, float] = field(default_factory=dict)
    tracking: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def shipped_rollouts_dir() -> Path:
    """Folder of the agent rollouts shipped with behavtrack (three checkpoints, .mat)."""
    return Path(str(resources.files("behavtrack.data").joinpath("agents")))


def _default_agents() -> Path:
    env = os.environ.get("BEHAVTRACK_SHARED_DATA")
    candidates = [Path(env) / "marl"] if env else []
    candidates.append(Path.cwd().parent / "shared" / "data" / "marl")
    for c in candidates:
        if c.is_dir() and any(c.glob("*.mat")):
            return c
    return shipped_rollouts_dir()


@contextmanager
def _stage(name: str, timings: dict[str, float], say: Callable[[str], None]) -> Iterator[None]:
    say(f"[{name}] ...")
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 2)
    say(f"[{name}] done in {timings[name]:.1f} s")


def _tracking_error(truth: Any, tracked_path: Path, arena: Any) -> dict[str, float]:
    """Median centroid and nose error (px) of the tracked pose against the rendered truth."""
    from behavtrack.io.pose import load_pose

    tracked = load_pose(tracked_path, fps=float(truth.attrs.get("fps") or 30.0), arena=arena)
    out: dict[str, float] = {}
    n = min(truth.sizes["time"], tracked.sizes["time"])
    for kp in ("centroid", "nose"):
        if kp not in tracked.keypoint.values:
            continue
        errs = []
        for ind in truth.individual.values:
            if ind not in tracked.individual.values:
                continue
            a = truth.position.sel(keypoint=kp, individual=ind).values[:n]
            b = tracked.position.sel(keypoint=kp, individual=ind).values[:n]
            errs.append(np.linalg.norm(a - b, axis=-1))
        if errs:
            e = np.concatenate(errs)
            out[f"median_{kp}_error_px"] = float(np.nanmedian(e))
    return out


def run_demo(
    out_dir: str | os.PathLike = "behavtrack-demo",
    *,
    pairs: int = 3,
    days: int = 6,
    duration_s: float = 120.0,
    fps: float = 30.0,
    seed: int = 0,
    jobs: int = 1,
    agents: str | os.PathLike | None = None,
    say: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole path on built-in defaults and return where the report is.

    Parameters
    ----------
    out_dir
        Output folder (``sessions/`` simulated inputs, ``batch/`` per-session outputs and
        ``batch/stats``, ``report/report.html``). Replaced if it holds an earlier demo.
    pairs, days, duration_s, fps, seed
        The simulated cohort: ``pairs`` pairs x ``days`` days of ``duration_s`` seconds.
    jobs
        Local worker processes for the batch stage.
    agents
        Folder of agent rollouts; default: ``../shared/data/marl`` if present, else the
        rollouts shipped in the package.
    say
        Where stage messages go (default: print to stdout, with the summary the CLI prints
        after them; progress bars go to stderr). The default prints them only while
        progress bars are on (:func:`behavtrack.files.progress_enabled`): ``behavtrack -q``,
        ``set_progress(False)`` or ``BEHAVTRACK_QUIET=1`` silence both.

    Returns
    -------
    DemoResult

    """
    from behavtrack.batch import run_batch
    from behavtrack.simulate import simulate_cohort, write_session
    from behavtrack.workflows.compare import compare

    if pairs < 1 or days < 2:
        raise InputError("pairs/days", f"need at least 1 pair and 2 days, got {pairs} x {days}",
                         "a learning curve needs two sessions or more")
    if jobs < 1:  # checked here too, not only after the simulation
        raise InputError("jobs", f"must be at least 1, got {jobs}")
    if agents and not Path(agents).exists():
        raise InputError(agents, "no such file or folder", "give a folder of agent rollouts")
    if say is None:
        def say(msg: str) -> None:
            if progress_enabled():
                print(msg, file=sys.stdout, flush=True)
    out = Path(out_dir)
    marker = out / "demo.json"
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file, not an output folder",
                         "give a new or empty folder as out_dir=")
    if out.exists() and any(out.iterdir()) and not marker.is_file():
        raise InputError(out, "exists and was not written by behavtrack demo",
                         "give a new or empty folder as out_dir=")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # marked at once, so that a run stopped half-way can be replaced by the next one
    atomic_write_text(marker, json.dumps({"status": "running"}, indent=2))
    agents_dir = Path(agents) if agents else _default_agents()
    result = DemoResult(out_dir=out, report=out / "report" / "report.html")
    timings = result.timings

    with _stage(f"simulate {pairs} pairs x {days} days x {duration_s:g} s", timings, say):
        video_session = None
        for sess in simulate_cohort(pairs, days, duration_s=duration_s, fps=fps, seed=seed):
            folder = out / "sessions" / str(sess.meta["pair"]) / f"day{sess.meta['day'] + 1:02d}"
            first = video_session is None
            # the first session as a lab has it: a video and the rig's log, no pose
            write_session(sess, folder, video=first, pose_formats=() if first else ("pose.h5",))
            if first:
                video_session = (folder, sess.truth_pose, sess.arena)

    with _stage("track + classify every session + statistics (batch)", timings, say):
        batch = run_batch([out / "sessions"], out / "batch", jobs=jobs)
        result.failed = [f["session_id"] for f in batch.failed]
        for f in batch.failed:
            say(f"  failed: {f['session_id']} ({f['stage']}): {f['error']}")

    if video_session is not None:
        folder, truth, arena = video_session
        sid = folder.relative_to(out / "sessions").as_posix()
        tracked = out / "batch" / "sessions" / sid / "pose.h5"
        if tracked.is_file():
            result.tracking = _tracking_error(truth, tracked, arena)
            say("  tracker vs truth: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                   result.tracking.items()))

    with _stage(f"compare mice with agents ({agents_dir})", timings, say):
        compare(out / "batch" / "stats", agents_dir, out / "report")

    summary = {
        "status": "done",
        "report": str(result.report),
        "timings_s": timings,
        "tracking": result.tracking,
        "failed": result.failed,
        "cohort": {"pairs": pairs, "days": days, "duration_s": duration_s, "fps": fps,
                   "seed": seed},
        "agents": str(agents_dir),
    }
    atomic_write_text(marker, json.dumps(summary, indent=2))
    return result
