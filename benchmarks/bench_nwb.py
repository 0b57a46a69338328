"""NWB export of a 1-hour session: time, file size, reading it back, nwbinspector.

Run from the repository root: ``python benchmarks/bench_nwb.py [--quick]``. Simulates a 1-hour
session (108,000 frames, 2 mice), writes it as a session folder, classifies it with the shipped
model, then times ``export_session_nwb`` on the classify output (what ``behavtrack export-nwb``
and ``batch --nwb`` do per session), with and without gzip on the pose, reads the file back
with :func:`behavtrack.io.nwb.load_nwb_session` and runs nwbinspector on it. Prints the figures
and writes ``benchmarks/results/nwb.json``. Figures are from one run on the current machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from behavtrack.export.nwb import (
    collect_session,
    export_session_nwb,
    inspect_nwb,
    write_session_nwb,
)
from behavtrack.files import atomic_write_text
from behavtrack.io.nwb import load_nwb_session
from behavtrack.simulate import simulate_session, write_session
from behavtrack.workflows.classify import classify_session

OUT = Path(__file__).resolve().parent / "results" / "nwb.json"


def _best(fn, repeat: int):
    best, result = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="10-minute session instead of 1 hour")
    p.add_argument("--repeat", type=int, default=3, help="exports timed (best is kept)")
    args = p.parse_args()
    os.environ["BEHAVTRACK_QUIET"] = "1"
    duration = 600.0 if args.quick else 3600.0
    figures: dict[str, object] = {"duration_s": duration, "fps": 30.0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        sess = simulate_session(day=6, duration_s=duration, fps=30.0, seed=2)
        write_session(sess, tmp / "session", pose_formats=["pose.h5"])
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        classify_session(tmp / "session", tmp / "classified", png=False)
        t_cls = time.perf_counter() - t0
        target = tmp / "nwb" / "session.nwb"
        t_export, _ = _best(lambda: export_session_nwb(tmp / "classified", target),
                            args.repeat)
        t_collect, data = _best(lambda: collect_session(tmp / "classified"), args.repeat)
        raw = tmp / "nwb" / "raw.nwb"
        t_raw, _ = _best(lambda: write_session_nwb(data, raw, compress=False), args.repeat)
        t_read, back = _best(lambda: load_nwb_session(target), args.repeat)
        t0 = time.perf_counter()
        messages = inspect_nwb(target, "BEST_PRACTICE_SUGGESTION")
        t_inspect = time.perf_counter() - t0
        counts = {level: sum(m["importance"] == level for m in messages)
                  for level in ("CRITICAL", "BEST_PRACTICE_VIOLATION",
                                "BEST_PRACTICE_SUGGESTION")}
        same_pose = bool(np.array_equal(back.pose.position.values, data.pose.position.values,
                                        equal_nan=True))
        figures.update(
            n_frames=int(sess.n_frames),
            individuals=len(data.individuals),
            keypoints=int(data.pose.sizes["keypoint"]),
            n_bouts=int(len(data.bouts)) if data.bouts is not None else 0,
            n_events=int(len(data.events)) if data.events is not None else 0,
            n_trials=int(len(data.trials)) if data.trials is not None else 0,
            simulate_and_write_session_s=round(t_sim, 2),
            classify_s=round(t_cls, 2),
            export_nwb_s=round(t_export, 2),
            of_which_reading_inputs_s=round(t_collect, 2),
            export_share_of_classify=round(t_export / t_cls, 3),
            write_uncompressed_s=round(t_raw, 2),
            nwb_bytes=target.stat().st_size,
            nwb_uncompressed_bytes=raw.stat().st_size,
            session_folder_bytes=_folder_bytes(tmp / "session"),
            classify_folder_bytes=_folder_bytes(tmp / "classified"),
            read_back_s=round(t_read, 2),
            read_back_pose_identical=same_pose,
            nwbinspector_s=round(t_inspect, 2),
            nwbinspector_messages=counts,
            nwbinspector_suggestions=sorted({m["check"] for m in messages}),
            machine=f"{platform.machine()}, {os.cpu_count()} cores",
        )
    mb = 1 / 1e6
    print(f"NWB export of a {duration / 60:.0f}-min session ({figures['n_frames']} frames, "
          f"{figures['individuals']} animals x {figures['keypoints']} keypoints, "
          f"{figures['n_bouts']} bouts, {figures['n_events']} events, "
          f"{figures['n_trials']} trials):")
    print(f"  export (read classify output + pose, write .nwb, gzip): {t_export:.2f} s "
          f"({t_export / t_cls:.1%} of classifying it: {t_cls:.1f} s); reading inputs "
          f"{t_collect:.2f} s")
    print(f"  file: {figures['nwb_bytes'] * mb:.1f} MB (uncompressed pose: "
          f"{figures['nwb_uncompressed_bytes'] * mb:.1f} MB, written in {t_raw:.2f} s); "
          f"session folder {figures['session_folder_bytes'] * mb:.1f} MB")
    print(f"  read back (load_nwb_session): {t_read:.2f} s, pose identical: {same_pose}")
    print(f"  nwbinspector: {counts} in {t_inspect:.1f} s; suggestions: "
          f"{', '.join(figures['nwbinspector_suggestions']) or 'none'}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT, json.dumps(figures, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
