"""Whole-process speed of ``behavtrack track`` against its floor, decoding the same video.

A user runs ``behavtrack track VIDEO --out DIR -q``; what they wait for includes Python's
start-up, imports, the background model, the tracking pass and writing the files. This
script times exactly that command (a subprocess, the ``behavtrack`` console script of this
Python), alternating with its floor: a subprocess of the same Python that only decodes the
whole file (``cv2.VideoCapture(VIDEO).grab()`` until the end, imports included). Both are
repeated (``--repeats``, at least 3) and the medians are compared:

* ratio = median floor wall time / median track wall time (1.0 would be "as fast as
  decoding"; the goal is >= 0.5);
* the same ratio for CPU time (user + system), which depends less on other jobs sharing the
  machine;
* peak resident memory of each process (``ru_maxrss``, taken by a small process that runs
  the command).

The machine's load average is recorded before and after: on a shared 2-core machine other
jobs slow the tracker (which uses both cores: decoding in one thread, tracking in another)
more than the floor (one decoding thread), so compare runs made under similar load.

Usage: ``python benchmarks/bench_track_process.py [--video V] [--repeats N] [--src DIR]
[--json PATH]``.
Prints the figures and writes ``benchmarks/results/tracker_process.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from _process import timed_run  # benchmarks/_process.py: the launcher both share

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BEHAVTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))
OPENFIELD = SHARED / "video" / "openfield" / "m3v1mp4.mp4"

# Runs the CLI of another copy of the package (e.g. an older commit exported with
# ``git archive``), bypassing this environment's editable install of behavtrack.
LAUNCH_SRC = """
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
sys.path.insert(0, sys.argv.pop(1))
from behavtrack.cli import main
sys.exit(main(sys.argv[1:]))
"""

FLOOR = """
import sys
import cv2
cap = cv2.VideoCapture(sys.argv[1])
n = 0
while cap.grab():
    n += 1
print(n)
"""


def _run(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd``; return wall time, CPU time, peak RSS (MiB), exit status and stdout."""
    return timed_run(cmd, env=env, cwd=ROOT)


def _track_command(video: Path, out: Path, src: Path | None = None) -> list[str]:
    if src is not None:  # that copy's CLI; -q before the command, as every version takes it
        return [sys.executable, "-c", LAUNCH_SRC, str(src), "-q", "track", str(video),
                "--out", str(out)]
    script = Path(sys.executable).with_name("behavtrack")
    base = [str(script)] if script.is_file() else [sys.executable, "-m", "behavtrack.cli"]
    return [*base, "track", str(video), "--out", str(out), "-q"]


def measure(video: Path, repeats: int = 5, src: Path | None = None,
            echo: bool = True) -> dict:
    """Time ``behavtrack track`` and its floor on ``video``, alternating; return the figures."""
    repeats = max(3, repeats)
    env = {k: v for k, v in os.environ.items() if k != "BEHAVTRACK_QUIET"}
    runs: dict[str, list[dict]] = {"floor": [], "track": []}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        track_cmd = _track_command(video, out, src)
        floor_cmd = [sys.executable, "-c", FLOOR, str(video)]
        for r in range(repeats):
            # alternate, and alternate which goes first, so that slow spells hit both
            order = ("floor", "track") if r % 2 == 0 else ("track", "floor")
            for name in order:
                res = _run(floor_cmd if name == "floor" else track_cmd, env)
                if res["status"] != 0:
                    raise RuntimeError(f"{name} failed ({res['status']}): "
                                       f"{res['stderr'].strip()}")
                res.pop("stdout")
                res.pop("stderr")
                res["load_1min"] = os.getloadavg()[0]
                runs[name].append(res)
                if echo:
                    print(f"  run {r + 1}/{repeats} {name}: {res['wall_s']:.2f} s wall, "
                          f"{res['cpu_s']:.2f} s CPU, {res['peak_rss_mib']:.0f} MiB",
                          flush=True)
        report = json.loads((out / f"{video.stem}.tracking.json").read_text())
    med = {name: {key: statistics.median(r[key] for r in rs)
                  for key in ("wall_s", "cpu_s", "peak_rss_mib")}
           for name, rs in runs.items()}
    pair_ratios = [f["wall_s"] / t["wall_s"] for f, t in zip(runs["floor"], runs["track"],
                                                               strict=True)]
    return {
        "video": str(video.name),
        "frames": report["frames_read"],
        "command": "behavtrack track VIDEO --out DIR -q",
        "source": str(src) if src is not None else "this environment",
        "floor_command": "python -c 'cv2.VideoCapture(VIDEO).grab() until the end'",
        "repeats": repeats,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "median": med,
        "ratio_wall": med["floor"]["wall_s"] / med["track"]["wall_s"],
        "ratio_cpu": med["floor"]["cpu_s"] / med["track"]["cpu_s"],
        "ratio_wall_per_pair_median": statistics.median(pair_ratios),
        "tracker_report": {k: report.get(k) for k in
                           ("passes", "decode", "timing_s", "background")},
        "runs": runs,
    }


def summary(results: dict) -> str:
    """The figures of :func:`measure` as a few lines of text."""
    med = results["median"]
    lines = [f"{results['video']} ({results['frames']} frames), medians of "
             f"{results['repeats']} alternating runs (load {results['load_1min_before_after']}):"]
    for name in ("floor", "track"):
        m = med[name]
        lines.append(f"  {name:5s}: {m['wall_s']:.2f} s wall, {m['cpu_s']:.2f} s CPU, "
                     f"peak RSS {m['peak_rss_mib']:.0f} MiB")
    lines.append(f"  ratio floor/track: {results['ratio_wall']:.2f} wall "
                 f"(per-pair median {results['ratio_wall_per_pair_median']:.2f}), "
                 f"{results['ratio_cpu']:.2f} CPU")
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark, print its figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=OPENFIELD)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--src", type=Path, default=None,
                        help="time the package found in this folder instead (e.g. "
                             "`git archive HEAD behavtrack | tar -x -C DIR`): a 'before' figure")
    parser.add_argument("--json", type=Path,
                        default=ROOT / "benchmarks" / "results" / "tracker_process.json")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"video not found: {args.video} (set BEHAVTRACK_SHARED_DATA)")
    try:
        results = measure(args.video, args.repeats, args.src)
    except RuntimeError as exc:
        sys.exit(str(exc))
    print(summary(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
