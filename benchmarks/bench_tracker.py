"""Benchmark of the built-in tracker: accuracy (simulated and real video), speed, memory.

Figures, all measured in one run and printed; JSON written to
``benchmarks/results/tracker.json``:

* **simulated**: a rendered session of the cooperation task (known truth, with partition):
  median centroid / nose / tail-base error (px), median head-direction error (degrees), share
  of frames with head and tail swapped, identity swaps per hour.
* **real**: the openfield video of ``../shared/data`` against its DeepLabCut predictions:
  median snout and tail-base distance (px), share of frames within 10 px, and the share of
  frames where the two disagree on which end is the head.
* **speed**: the whole process a user runs, ``behavtrack track VIDEO --out DIR -q``, against
  its floor, a process that only decodes the same file (``cv2.VideoCapture.grab()`` to the
  end), alternating, medians of ``--repeats`` runs each (see ``bench_track_process.py``):
  the openfield video (H.264, 78 s) and the same played 10 times in a row (MPEG-4 part 2,
  13 min).
* **memory**: peak resident memory of those ``behavtrack track`` processes, openfield video
  against its 10x version.

Usage: ``python benchmarks/bench_tracker.py [--quick] [--sim-seconds S] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BEHAVTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))
OPENFIELD = SHARED / "video" / "openfield" / "m3v1mp4.mp4"
DLC_CSV = SHARED / "video" / "openfield" / "m3v1mp4_dlc_predictions.csv"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BEHAVTRACK_QUIET", "1")  # no progress bars in the timings


def _angle(v: np.ndarray) -> np.ndarray:
    return np.arctan2(v[..., 1], v[..., 0])


def _angdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.abs(np.angle(np.exp(1j * (a - b)))))


def bench_simulated(seconds: float, seed: int, workdir: Path) -> dict:
    """Track a rendered simulated session and compare with its truth."""
    from behavtrack.simulate import render_video, simulate_session
    from behavtrack.tracking import track_video

    sess = simulate_session(duration_s=seconds, fps=30.0, seed=seed, day=4)
    video = render_video(sess, workdir / "sim.mp4")
    ds = track_video(video, arena=sess.arena)
    truth = sess.truth_pose.position.transpose("time", "space", "keypoint", "individual")
    ours = ds.position.transpose("time", "space", "keypoint", "individual")
    kp = list(ours.keypoint.values)
    res: dict = {"seconds": seconds, "frames": int(ds.sizes["time"]), "seed": seed}
    for name in ("centroid", "nose", "tail_base", "left_ear", "right_ear"):
        k = kp.index(name)
        d = np.hypot(*(ours.values[:, :, k] - truth.values[:, :, k]).transpose(1, 0, 2))
        res[f"{name}_median_px"] = float(np.nanmedian(d))
        res[f"{name}_p90_px"] = float(np.nanpercentile(d, 90))
    # the simulator's centroid is the nose-tail-base midpoint; ours is the body's centre of
    # mass: report the midpoint of our nose and tail base against it as well
    mid = (ours.values[:, :, 0] + ours.values[:, :, 4]) / 2
    d = np.hypot(*(mid - truth.values[:, :, 3]).transpose(1, 0, 2))
    res["nose_tail_midpoint_vs_centroid_median_px"] = float(np.nanmedian(d))
    hd = ours.values[:, :, 0] - ours.values[:, :, 4]
    ht = truth.values[:, :, 0] - truth.values[:, :, 4]
    err = _angdiff(_angle(np.moveaxis(hd, 1, -1)), _angle(np.moveaxis(ht, 1, -1)))
    res["head_direction_median_deg"] = float(np.nanmedian(err))
    res["head_tail_swapped_share"] = float(np.nanmean(err > 90))
    c = ours.values[:, :, 3]  # (time, space, individual)
    t = truth.values[:, :, 3]
    own = np.hypot(*(c - t).transpose(1, 0, 2))  # (time, individual)
    other = np.hypot(*(c - t[:, :, ::-1]).transpose(1, 0, 2))
    swapped = (other < own).any(axis=1)
    onsets = int(np.sum(np.diff(swapped.astype(int)) == 1) + int(swapped[0]))
    hours = ds.sizes["time"] / float(ds.attrs["fps"]) / 3600.0
    res["identity_swaps"] = onsets
    res["identity_swaps_per_hour"] = onsets / hours
    res["missing_share"] = float(np.mean(~np.isfinite(c[:, 0, :])))
    # the same video without the arena: two animals, identities by motion alone
    free = track_video(video, n_animals=2)
    fc = free.position.sel(keypoint="centroid").transpose("time", "space", "individual").values
    d0 = np.hypot(*(fc - t).transpose(1, 0, 2))
    d1 = np.hypot(*(fc - t[:, :, ::-1]).transpose(1, 0, 2))
    first = int(np.nanmean(d1[:30]) < np.nanmean(d0[:30]))  # labels are arbitrary at start
    ref = (d1 if first else d0)
    alt = (d0 if first else d1)
    swapped = (alt < ref).any(axis=1)
    onsets = int(np.sum(np.diff(swapped.astype(int)) == 1))
    res["no_arena_identity_swaps"] = onsets
    res["no_arena_identity_swaps_per_hour"] = onsets / hours
    res["no_arena_centroid_median_px"] = float(np.nanmedian(np.minimum(ref, alt)))
    return res


def bench_real(workdir: Path) -> dict:
    """Track the real openfield video; compare with its DeepLabCut predictions."""
    import pandas as pd

    from behavtrack.tracking import track_video

    ds = track_video(OPENFIELD)
    n = int(ds.sizes["time"])
    dlc = pd.read_csv(DLC_CSV, header=[0, 1, 2], index_col=0)
    scorer = dlc.columns.get_level_values(0)[0]
    res: dict = {"video": str(OPENFIELD.name), "frames": n}
    snout = dlc[scorer]["snout"][["x", "y"]].to_numpy()
    tail = dlc[scorer]["tailbase"][["x", "y"]].to_numpy()
    pos = ds.position.sel(individual=ds.individual.values[0]).transpose("time", "space",
                                                                        "keypoint")
    nose = pos.sel(keypoint="nose").values
    tb = pos.sel(keypoint="tail_base").values
    for name, ours, theirs in (("snout", nose, snout), ("tail_base", tb, tail)):
        d = np.hypot(*(ours - theirs).T)
        res[f"{name}_median_px"] = float(np.nanmedian(d))
        res[f"{name}_within_10px_share"] = float(np.nanmean(d < 10))
    res["head_direction_disagree_share"] = float(
        np.nanmean(_angdiff(_angle(nose - tb), _angle(snout - tail)) > 90))
    # the same footage inverted (a light animal on a dark floor), first 600 frames
    import cv2

    inv = workdir / "inverted.avi"
    cap = cv2.VideoCapture(str(OPENFIELD))
    writer = cv2.VideoWriter(str(inv), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(600):
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(255 - frame)
    writer.release()
    cap.release()
    ds_inv = track_video(inv)
    k = int(ds_inv.sizes["time"])
    inv_nose = ds_inv.position.isel(individual=0).sel(keypoint="nose").transpose(
        "time", "space").values
    d = np.hypot(*(inv_nose - snout[:k]).T)
    res["inverted_600_frames_snout_median_px"] = float(np.nanmedian(d))
    res["inverted_600_frames_snout_within_10px_share"] = float(np.nanmean(d < 10))
    return res


def make_long_video(workdir: Path, repeats: int = 10) -> Path:
    """The openfield video played ``repeats`` times in a row, re-encoded (mp4v)."""
    import cv2

    long = workdir / f"openfield_x{repeats}.mp4"
    writer = cv2.VideoWriter(str(long), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(repeats):
        cap = cv2.VideoCapture(str(OPENFIELD))
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            writer.write(frame)
        cap.release()
    writer.release()
    return long


def bench_speed(video: Path, repeats: int) -> dict:
    """Whole-process ``behavtrack track`` against decode-only, alternating (medians)."""
    from bench_track_process import measure

    res = measure(video, repeats, echo=False)
    med = res["median"]
    report = res["tracker_report"]
    return {
        "frames": res["frames"],
        "repeats": res["repeats"],
        "load_1min_before_after": res["load_1min_before_after"],
        "floor_wall_s": med["floor"]["wall_s"],
        "track_wall_s": med["track"]["wall_s"],
        "floor_cpu_s": med["floor"]["cpu_s"],
        "track_cpu_s": med["track"]["cpu_s"],
        "ratio_wall": res["ratio_wall"],
        "ratio_cpu": res["ratio_cpu"],
        "decode_fps": res["frames"] / med["floor"]["wall_s"],
        "tracker_fps": res["frames"] / med["track"]["wall_s"],
        "peak_rss_mib": med["track"]["peak_rss_mib"],
        "passes": report["passes"],
        "decode": report["decode"],
        "tracker_timing_s": report["timing_s"],
    }


def main() -> None:
    """Run the benchmark, print its figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a 20 s simulation, no 10x video (memory figure meaningless)")
    parser.add_argument("--sim-seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating runs of the tracker and its floor, per video (>= 3)")
    args = parser.parse_args()
    seconds = 20.0 if args.quick else args.sim_seconds
    results: dict = {"machine_load_1min": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["simulated"] = bench_simulated(seconds, args.seed, work)
        if OPENFIELD.is_file() and DLC_CSV.is_file():
            results["real_openfield"] = bench_real(work)
            long = make_long_video(work, 1 if args.quick else 10)
            results["speed"] = {"openfield": bench_speed(OPENFIELD, args.repeats)}
            results["speed"]["openfield_x10"] = bench_speed(long, args.repeats)
            short_rss = results["speed"]["openfield"]["peak_rss_mib"]
            long_rss = results["speed"]["openfield_x10"]["peak_rss_mib"]
            results["memory"] = {
                "short": {"frames": results["speed"]["openfield"]["frames"],
                          "peak_rss_mib": short_rss},
                "long": {"frames": results["speed"]["openfield_x10"]["frames"],
                         "peak_rss_mib": long_rss},
                "long_over_short_frames": results["speed"]["openfield_x10"]["frames"]
                / results["speed"]["openfield"]["frames"],
                "long_over_short_peak_rss": long_rss / short_rss,
            }
        else:
            print(f"skipping real-video figures: {OPENFIELD} not found", file=sys.stderr)
    s = results["simulated"]
    print(f"simulated ({s['frames']} frames, partition): centroid "
          f"{s['centroid_median_px']:.2f} px (our nose-tail midpoint: "
          f"{s['nose_tail_midpoint_vs_centroid_median_px']:.2f} px), "
          f"nose {s['nose_median_px']:.2f} px, "
          f"tail base {s['tail_base_median_px']:.2f} px "
          f"(medians); head direction {s['head_direction_median_deg']:.1f} deg, head/tail "
          f"swapped {100 * s['head_tail_swapped_share']:.1f} % of frames; identity swaps "
          f"{s['identity_swaps']} ({s['identity_swaps_per_hour']:.1f}/h); without the arena "
          f"(motion-based identities) {s['no_arena_identity_swaps']} swaps "
          f"({s['no_arena_identity_swaps_per_hour']:.1f}/h)")
    if "real_openfield" in results:
        r = results["real_openfield"]
        print(f"real openfield vs DeepLabCut ({r['frames']} frames): snout median "
              f"{r['snout_median_px']:.2f} px ({100 * r['snout_within_10px_share']:.0f} % within "
              f"10 px), tail base {r['tail_base_median_px']:.2f} px "
              f"({100 * r['tail_base_within_10px_share']:.0f} %); head end disagrees in "
              f"{100 * r['head_direction_disagree_share']:.1f} % of frames; inverted video "
              f"(light animal, 600 frames): snout median "
              f"{r['inverted_600_frames_snout_median_px']:.2f} px")
        for name, sp in results["speed"].items():
            print(f"speed on {name} ({sp['frames']} frames; whole process, medians of "
                  f"{sp['repeats']}, load {sp['load_1min_before_after']}): decode-only "
                  f"{sp['floor_wall_s']:.2f} s, behavtrack track {sp['track_wall_s']:.2f} s: "
                  f"ratio {sp['ratio_wall']:.2f} ({sp['ratio_cpu']:.2f} in CPU time); "
                  f"{sp['passes']} pass(es), {sp['decode']}")
        m = results["memory"]
        print(f"memory: peak RSS {m['short']['peak_rss_mib']:.0f} MiB for {m['short']['frames']} "
              f"frames, {m['long']['peak_rss_mib']:.0f} MiB for {m['long']['frames']} frames "
              f"(ratio {m['long_over_short_peak_rss']:.2f} for "
              f"{m['long_over_short_frames']:.0f}x the frames)")
    out = ROOT / "benchmarks" / "results" / "tracker.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
