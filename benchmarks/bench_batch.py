"""Benchmark of batch runs (local processes) and of ``behavtrack demo`` end to end.

1. Batch of pose files: a simulated cohort (default 2 pairs x 4 days of 600 s at 30 fps = 8
   sessions of 18,000 frames, pose.h5 only) classified with ``behavtrack.batch.run_batch`` (no
   statistics), with ``jobs=1`` and with ``jobs=2``, in the same run, into fresh output
   folders, each ``--repeat`` times (alternating the order; the fastest run of each is kept).
   Every run must classify every session, and both settings must give byte-identical
   ethograms; the speed-up is the ratio of the two wall times. CPU seconds (this process and
   its worker processes) show how many cores each run actually got and what the workers'
   start-up costs. A last run over the ``jobs=1`` output times resuming (every session up to
   date: only checksums computed).
2. Large batch of pose files: the same with ``--large`` sessions (default 48 = 6 pairs x 8
   days of 600 s), one run of each setting: where worker start-up is paid back.
3. Batch of videos: the same with ``--videos`` video-only sessions (default 4 x 60 s, no pose:
   the batch tracks them with the built-in tracker, then classifies), one run of each setting.
4. Demo: ``behavtrack.demo.run_demo`` with its defaults (3 pairs x 6 days x 120 s, one session
   rendered as video and tracked, jobs=1) in a temporary folder: stage timings, total wall
   time and the tracker's error against the simulator's truth.

The machine may be shared (other work, other edits of the same tree): the script re-runs
itself on a frozen copy of ``behavtrack/`` and ``models/`` (``--in-place`` to run the tree
itself), records the commit, the uncommitted package files and a checksum of the code and
model it ran, and the 1-minute load average before each run.

Prints the figures and writes ``benchmarks/results/batch.json``.
Run: ``.venv/bin/python benchmarks/bench_batch.py [--pairs 2 --days 4 --duration 600]
[--repeat 2] [--large 48] [--videos 4 --video-duration 60] [--no-demo]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("BEHAVTRACK_QUIET", "1")

from behavtrack.batch import run_batch  # noqa: E402
from behavtrack.files import atomic_write_text, sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _simulate(root: Path, pairs: int, days: int, duration_s: float, seed: int,
              video: bool = False) -> float:
    """Write a simulated cohort as session folders; with ``video``, as video only (no pose).

    Video-only folders are what a lab has before tracking: the batch tracks them first.
    """
    from behavtrack.simulate import simulate_cohort, write_session

    t0 = time.perf_counter()
    for sess in simulate_cohort(pairs, days, duration_s=duration_s, fps=30.0, seed=seed):
        folder = root / str(sess.meta["pair"]) / f"day{sess.meta['day'] + 1:02d}"
        write_session(sess, folder, video=video, pose_formats=("pose.h5",))
        if video:
            (folder / "pose.h5").unlink()
            meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
            if isinstance(meta.get("files"), dict):
                meta["files"].update(pose=None, pose_files=[])
            atomic_write_text(folder / "session.json", json.dumps(meta, indent=1))
    return time.perf_counter() - t0


class _DescendantCPU:
    """CPU seconds of this process's descendants (worker processes), sampled every 0.1 s.

    Workers are children of a fork server, not of this process, so ``RUSAGE_CHILDREN`` does
    not see them; the last sample of each process is kept (at most 0.1 s lost per worker).
    """

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        for child in self._me.children(recursive=True):
            try:
                t = child.cpu_times()
            except psutil.Error:
                continue
            self._seen[child.pid] = t.user + t.system

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> _DescendantCPU:
        self._sample()
        self._before = dict(self._seen)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        """CPU seconds used by descendants while the block ran."""
        return sum(v - self._before.get(pid, 0.0) for pid, v in self._seen.items())


def _timed_batch(sessions: Path, out: Path, jobs: int) -> tuple[float, float, object]:
    """Run the batch into a fresh ``out``; return wall seconds, CPU seconds, the result.

    CPU seconds count this process and its worker processes.
    """
    if out.exists():
        shutil.rmtree(out)
    c0 = time.process_time()
    with _DescendantCPU() as workers:
        t0 = time.perf_counter()
        res = run_batch([sessions], out, jobs=jobs, stats=False)
        wall = time.perf_counter() - t0
    return wall, (time.process_time() - c0) + workers.seconds, res


def _ethogram_digests(out: Path) -> dict[str, str]:
    return {p.parent.relative_to(out / "sessions").as_posix(): sha256(p)
            for p in sorted((out / "sessions").rglob("ethogram.csv"))}


def bench_batch(pairs: int, days: int, duration_s: float, repeat: int = 2, seed: int = 0,
                video: bool = False) -> dict:
    """Time the batch with 1 and 2 local worker processes over the same simulated sessions.

    Each setting runs ``repeat`` times (alternating which goes first); the fastest run of each
    is kept, as the one least slowed by other work on the machine.
    """
    n = pairs * days
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        sessions = Path(tmp) / "sessions"
        load0 = _load()
        sim_s = _simulate(sessions, pairs, days, duration_s, seed, video=video)
        frames = n * int(round(duration_s * 30.0))
        what = "videos (tracked by the batch)" if video else "pose.h5 sessions"
        print(f"simulated {n} {what} x {duration_s:g} s ({frames} frames) in {sim_s:.1f} s",
              flush=True)

        # import the pipeline here once, so that no jobs=1 run pays the imports; jobs=2 runs
        # include their workers' start-up (imports), as a user's run does
        import behavtrack.io.arena  # noqa: F401
        import behavtrack.strategies.pipeline  # noqa: F401

        runs: dict[str, dict] = {}
        digests: dict[int, dict[str, str]] = {}
        walls: dict[int, list[float]] = {1: [], 2: []}
        cpus: dict[int, list[float]] = {1: [], 2: []}
        loads: dict[int, list[float]] = {1: [], 2: []}
        for rep in range(repeat):
            for jobs in (1, 2) if rep % 2 == 0 else (2, 1):
                out = Path(tmp) / f"out-jobs{jobs}"
                loads[jobs].append(_load())
                wall, cpu, res = _timed_batch(sessions, out, jobs)
                if res.failed or len(res.done) != n:
                    raise RuntimeError(f"jobs={jobs}: {len(res.done)} of {n} done, "
                                       f"failures: {res.failed}")
                digests[jobs] = _ethogram_digests(out)
                walls[jobs].append(wall)
                cpus[jobs].append(cpu)
                print(f"jobs={jobs} (run {rep + 1}): {wall:.1f} s wall, {cpu:.1f} CPU-s "
                      f"({cpu / wall:.2f} cores busy)", flush=True)
        for jobs in (1, 2):
            best = int(np.argmin(walls[jobs]))
            wall, cpu = walls[jobs][best], cpus[jobs][best]
            runs[f"jobs{jobs}"] = {
                "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                "cores_busy": round(cpu / wall, 2),
                "per_session_s": round(wall / n, 2),
                "cpu_per_session_s": round(cpu / n, 2),
                "frames_per_s": round(frames / wall, 1),
                "sessions_done": n,
                "all_runs_wall_s": [round(w, 2) for w in walls[jobs]],
                "load_average_1min_before_runs": loads[jobs],
            }

        t0 = time.perf_counter()
        again = run_batch([sessions], Path(tmp) / "out-jobs1", jobs=1, stats=False)
        resume_s = time.perf_counter() - t0
        if again.done or len(again.skipped) != n:
            raise RuntimeError(f"resume re-ran {again.done}")
        print(f"resume (all {n} up to date): {resume_s:.2f} s", flush=True)

    identical = digests[1] == digests[2] and len(digests[1]) == n
    speedup = runs["jobs1"]["wall_s"] / runs["jobs2"]["wall_s"]
    print(f"speed-up jobs=2 / jobs=1 (fastest runs): {speedup:.2f}x; "
          f"ethograms identical: {identical}",
          flush=True)
    return {
        "cohort": {"pairs": pairs, "days": days, "sessions": n, "duration_s": duration_s,
                   "fps": 30.0, "frames_total": frames, "seed": seed,
                   "inputs": "video.mp4 only (tracked)" if video else "pose.h5"},
        "simulate_and_write_s": round(sim_s, 2),
        **runs,
        "repeat": repeat, "figure": "fastest of the repeats",
        "speedup_jobs2_over_jobs1": round(speedup, 2),
        "ethograms_identical_jobs1_jobs2": identical,
        "resume_all_up_to_date_s": round(resume_s, 2),
        "load_average_1min_start": load0,
        "stats": False,
    }


def bench_demo() -> dict:
    """Run ``run_demo`` with its defaults in a temporary folder; stage timings and tracking."""
    from behavtrack.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        la = _load()
        t0 = time.perf_counter()
        res = run_demo(Path(tmp) / "demo")
        wall = time.perf_counter() - t0
        summary = json.loads((Path(tmp) / "demo" / "demo.json").read_text(encoding="utf-8"))
        report_kb = res.report.stat().st_size / 1024
    print(f"demo (defaults): {wall:.1f} s total; " + "; ".join(
        f"{k}: {v:.1f} s" for k, v in res.timings.items()), flush=True)
    if res.tracking:
        print("  tracker vs truth: " + ", ".join(f"{k} {v:.2f}" for k, v in res.tracking.items()))
    return {
        "cohort": summary["cohort"],
        "jobs": 1,
        "agents": Path(summary["agents"]).name,
        "total_s": round(wall, 2),
        "stage_timings_s": res.timings,
        "tracking": {k: round(v, 3) for k, v in res.tracking.items()},
        "failed_sessions": res.failed,
        "report_kb": round(report_kb, 1),
        "load_average_1min_before": la, "load_average_1min_after": _load(),
    }


def _code_digests() -> dict[str, str]:
    """SHA-256 of every module of the imported package and of its shipped model, by path."""
    import behavtrack
    from behavtrack.strategies.model_file import default_model_path

    pkg = Path(behavtrack.__file__).resolve().parent
    files = sorted(pkg.rglob("*.py")) + [default_model_path().resolve()]
    return {str(f.relative_to(pkg.parent)): sha256(f) for f in files}


def _git_state(digests: dict[str, str]) -> dict:
    """Commit of the source tree, its uncommitted package files, one digest of code + model."""
    import hashlib
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    joined = "".join(f"{k}:{v}" for k, v in sorted(digests.items()))
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted": git("status", "--porcelain", "--", "behavtrack", "models").splitlines(),
            "code_and_model_sha256": hashlib.sha256(joined.encode()).hexdigest()}


def _run_on_snapshot() -> int:
    """Re-run this script on a frozen copy of the package and model (others edit the tree).

    The copy (``behavtrack/`` and ``models/`` of the working tree, as they are now) goes first
    on ``PYTHONPATH``, so this process and its worker processes all run the same code.
    """
    import subprocess

    with tempfile.TemporaryDirectory(prefix="bench-batch-code-") as snap:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / "behavtrack", Path(snap) / "behavtrack", ignore=ignore)
        shutil.copytree(ROOT / "models", Path(snap) / "models", ignore=ignore)
        env = dict(os.environ, PYTHONPATH=snap, BEHAVTRACK_BENCH_SNAPSHOT=snap)
        env.pop("BEHAVTRACK_MODEL", None)
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env,
                              cwd=ROOT, check=False).returncode


def main() -> int:
    """Run the benchmarks, print the figures and write ``benchmarks/results/batch.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--duration", type=float, default=600.0, help="seconds per session")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each setting (fastest kept)")
    ap.add_argument("--large", type=int, default=48,
                    help="pose sessions (a multiple of 8) for the large-cohort batch (0: skip)")
    ap.add_argument("--videos", type=int, default=4,
                    help="video-only sessions for the tracking batch (0: skip)")
    ap.add_argument("--video-duration", type=float, default=60.0,
                    help="seconds per video session")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo measurement")
    ap.add_argument("--in-place", action="store_true",
                    help="run the working tree's code itself, not a frozen copy of it")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch.json"))
    args = ap.parse_args()

    snap = os.environ.get("BEHAVTRACK_BENCH_SNAPSHOT")
    if not snap and not args.in_place:
        return _run_on_snapshot()
    import behavtrack

    if snap and not Path(behavtrack.__file__).resolve().is_relative_to(Path(snap).resolve()):
        raise RuntimeError(f"behavtrack imported from {behavtrack.__file__}, not from {snap}")
    start = _code_digests()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "git": _git_state(start),
        "code": "frozen copy of the working tree" if snap else "working tree",
        "batch": bench_batch(args.pairs, args.days, args.duration, args.repeat),
    }
    if args.large:
        result["batch_large"] = bench_batch(args.large // 8, 8, args.duration, repeat=1, seed=2)
    if args.videos:
        result["batch_videos"] = bench_batch(1, args.videos, args.video_duration, repeat=1,
                                             seed=1, video=True)
    if not args.no_demo:
        result["demo"] = bench_demo()
    end = _code_digests()
    changed = sorted(k for k in start.keys() | end.keys() if start.get(k) != end.get(k))
    result["code_unchanged_during_run"] = not changed
    if changed:  # other work on the same tree: say which files, so the figures can be judged
        result["changed_during_run"] = changed
        print(f"warning: changed during the run: {', '.join(changed)}", flush=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
