"""Simulator speed: pose-only simulation of a 1-hour session, writing it, rendering video.

Run from the repository root: ``python benchmarks/bench_simulate.py [--quick]``. Prints the
figures and writes ``benchmarks/results/simulate.json``. Figures are from one run on the
current machine; compare them as ratios (e.g. simulated seconds per second of compute).
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

from behavtrack.simulate import render_video, simulate_session, write_session

OUT = Path(__file__).resolve().parent / "results" / "simulate.json"


def _time(fn, repeat: int = 1):
    best, result = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="10-minute session instead of 1 hour")
    args = p.parse_args()
    os.environ["BEHAVTRACK_QUIET"] = "1"
    duration = 600.0 if args.quick else 3600.0
    fps = 30.0
    simulate_session(duration_s=10, seed=0)  # warm imports
    figures: dict[str, object] = {"fps": fps, "duration_s": duration}

    t_pose, sess = _time(lambda: simulate_session(day=9, duration_s=duration, fps=fps, seed=1,
                                                  noise=True), repeat=2)
    t_exact, _ = _time(lambda: simulate_session(day=9, duration_s=duration, fps=fps, seed=1,
                                                noise=False), repeat=2)
    t_day, _ = _time(lambda: simulate_session(day=9, duration_s=duration, fps=fps, seed=1,
                                              noise=True, window_s=1.0), repeat=2)
    n = sess.n_frames
    figures.update(
        simulate_in_cohort_s=round(t_day, 3),
        n_frames=n,
        simulate_noisy_s=round(t_pose, 3),
        simulate_exact_s=round(t_exact, 3),
        realtime_factor_noisy=round(duration / t_pose, 1),
        frames_per_s_noisy=round(n / t_pose),
    )
    print(f"pose-only simulation of {duration / 60:.0f} min ({n} frames at {fps:g} fps), "
          f"2 mice x 5 keypoints, day 10 of 10:")
    print(f"  with tracker faults {t_pose:.2f} s ({duration / t_pose:.0f}x real time), "
          f"exact pose only {t_exact:.2f} s")
    print(f"  as a cohort makes it (window known, no replay of days 1-9): {t_day:.2f} s "
          f"({duration / t_day:.0f}x real time)")

    with tempfile.TemporaryDirectory() as tmp:
        t_write, _ = _time(lambda: write_session(sess, Path(tmp) / "s"))
        size = sum(f.stat().st_size for f in (Path(tmp) / "s").iterdir())
        figures.update(write_session_s=round(t_write, 3), session_folder_mb=round(size / 1e6, 1))
        print(f"  writing its session folder (pose.h5, pose.csv, pose.analysis.h5, labels, "
              f"bouts, events): {t_write:.2f} s, {size / 1e6:.1f} MB")

        short = simulate_session(day=9, duration_s=20.0, fps=fps, seed=2)
        t_render, _ = _time(lambda: render_video(short, Path(tmp) / "v.mp4"))
        vsize = (Path(tmp) / "v.mp4").stat().st_size
        figures.update(render_frames_per_s=round(short.n_frames / t_render),
                       render_realtime_factor=round(20.0 / t_render, 2),
                       video_mb_per_min=round(vsize / 1e6 * 3, 1))
        print(f"rendering 640x480 grayscale mp4v: {short.n_frames / t_render:.0f} frames/s "
              f"({20.0 / t_render:.1f}x real time), {vsize / 1e6 * 3:.1f} MB per minute")

    figures["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
