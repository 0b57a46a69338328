"""Whole-process speed and memory of ``behavtrack classify`` against its floor.

A user, and every batch worker, runs ``behavtrack -q classify SESSION --out DIR``: Python's
start-up, the imports, reading the pose, the features, the model and writing every output.
This script times exactly that command (a subprocess of the ``behavtrack`` console script),
alternating with its floor: a subprocess of the same Python that reads the session's DLC
``pose.h5`` with pandas and writes a CSV of as many rows as ``ethogram.csv`` has (frames x
animals, 8 columns), imports included. Both are repeated (``--repeats``, at least 3) and
the medians compared: ratio = median classify wall time / median floor wall time (the
issue's goal: <= 2, and < 3 s for one hour).

Peak resident memory (``ru_maxrss`` of the command, taken by a small launcher process) is
recorded for sessions of 10 min, 1 h and 4 h (``--minutes``): memory flat in session length
means the 4 h figure stays close to the 1 h one (goal <= 1.25x).

The command classifies the pose file chunk by chunk; each length is also classified once
through the whole-recording path (``classify_session(..., stream=False)``) and the outputs
compared byte for byte (``identical_to_whole_recording`` in the JSON).

Usage: ``python benchmarks/bench_classify_process.py [--minutes 10 60 240] [--repeats 3]``.
Prints the figures and writes ``benchmarks/results/classify_process.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _process import timed_run  # benchmarks/_process.py: the launcher both share

ROOT = Path(__file__).resolve().parents[1]
BEHAVTRACK = str(Path(sys.executable).with_name("behavtrack"))

FLOOR = """
import sys
import numpy as np
import pandas as pd
df = pd.read_hdf(sys.argv[1])
n = len(df) * 2
out = pd.DataFrame({"frame": np.arange(n), "time_s": np.arange(n) / 30.0,
                    "individual": "mouse1", "behavior": "other",
                    "p_approach": 0.0, "p_waiting": 0.0, "p_interaction": 0.0, "p_other": 1.0})
out.to_csv(sys.argv[2], index=False)
"""


def _run(cmd: list[str]) -> dict:
    r = timed_run(cmd, env={**os.environ, "BEHAVTRACK_QUIET": "1"})
    if r["status"] != 0 or "wall_s" not in r:
        raise RuntimeError(f"{cmd} failed: {r['stderr'][-500:]}")
    return {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "rss_mib": r["peak_rss_mib"]}


def _session(minutes: float, root: Path) -> Path:
    from behavtrack.simulate import simulate_session, write_session

    folder = root / f"s{int(minutes)}"
    if not (folder / "pose.h5").is_file():
        sess = simulate_session(duration_s=minutes * 60, seed=int(minutes))
        write_session(sess, folder, pose_formats=("pose.h5",))
    return folder


WHOLE = """
import sys
from behavtrack.workflows.classify import classify_session
classify_session(sys.argv[1], sys.argv[2], stream=False)
"""
COMPARED = ("ethogram.csv", "bouts.csv", "binary.csv", "events.csv", "session.json")


def _same_as_whole(folder: Path, chunked: Path, whole: Path) -> dict[str, bool]:
    """Whether each output of the (chunked) command equals the whole-recording path's."""
    r = timed_run([sys.executable, "-c", WHOLE, str(folder), str(whole)],
                  env={**os.environ, "BEHAVTRACK_QUIET": "1"})
    if r["status"] != 0:
        raise RuntimeError(f"the whole-recording classify failed: {r['stderr'][-500:]}")
    return {f: (chunked / f).read_bytes() == (whole / f).read_bytes() for f in COMPARED}


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 240])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" /
                                          "classify_process.json"))
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for minutes in args.minutes:
            folder = _session(minutes, root)
            load_before = os.getloadavg()[0]
            runs: dict[str, list[dict]] = {"classify": [], "floor": []}
            for i in range(max(3, args.repeats)):
                runs["floor"].append(_run([sys.executable, "-c", FLOOR, str(folder / "pose.h5"),
                                           str(root / f"floor{i}.csv")]))
                runs["classify"].append(_run([BEHAVTRACK, "-q", "classify", str(folder),
                                              "--out", str(root / f"out{i}")]))
            same = _same_as_whole(folder, root / "out0", root / "whole")
            med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "cpu_s",
                                                                          "rss_mib")}
                   for k, v in runs.items()}
            row = {"minutes": minutes, "frames": int(minutes * 60 * 30), "median": med,
                   "ratio_wall": med["classify"]["wall_s"] / med["floor"]["wall_s"],
                   "ratio_cpu": med["classify"]["cpu_s"] / med["floor"]["cpu_s"],
                   "runs": runs, "load_before": load_before, "load_after": os.getloadavg()[0],
                   "identical_to_whole_recording": same}
            results.append(row)
            print(f"{minutes:g} min: classify {med['classify']['wall_s']:.2f} s "
                  f"({med['classify']['rss_mib']:.0f} MiB), floor {med['floor']['wall_s']:.2f} s"
                  f" ({med['floor']['rss_mib']:.0f} MiB): ratio {row['ratio_wall']:.2f} "
                  f"(CPU {row['ratio_cpu']:.2f}); load {load_before:.1f}; outputs identical to "
                  f"the whole-recording path: {same}", flush=True)
    by = {r["minutes"]: r for r in results}
    summary = {}
    if 60 in by and 240 in by:
        summary["rss_4h_over_1h"] = (by[240]["median"]["classify"]["rss_mib"]
                                     / by[60]["median"]["classify"]["rss_mib"])
        print(f"peak memory 4 h / 1 h: {summary['rss_4h_over_1h']:.2f} (goal <= 1.25)")
    Path(args.json).write_text(json.dumps({"results": results, "summary": summary}, indent=1)
                               + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
