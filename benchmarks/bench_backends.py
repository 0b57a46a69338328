"""Benchmark of the model backends: a trained DeepLabCut / SLEAP model against the tracker.

Each backend runs for real, through ``behavtrack track``'s subprocess path (the lab's own
Python environment), on clips cut from the openfield video of ``../shared/data``; the
built-in tracker runs on the same clips in this process. Figures, measured in one run,
printed and written to ``benchmarks/results/backends.json``:

* wall seconds and frames/s of each on the long clip, end to end (a backend's includes
  starting its Python, importing it and loading the model; the tracker's, its background
  model), and their ratio;
* a backend's steady frames/s and fixed cost (start-up + model load), from the difference
  between the long and a short clip (the tracker's steady speed over a whole video is in
  ``tracker.json``: its fixed cost, the background model, does not shrink with the clip);
* frames in the pose file and the share with a finite nose.

Which backends run is set by the environment, as for the opt-in test
(``tests/test_tracking_cli_backends.py``): ``BEHAVTRACK_DLC_CONFIG`` (a trained project's
config.yaml) and ``BEHAVTRACK_SLEAP_MODEL`` (a trained model folder), with the python of
their environments in ``BEHAVTRACK_DLC_PYTHON`` / ``BEHAVTRACK_SLEAP_PYTHON`` (or one
``BEHAVTRACK_BACKEND_PYTHON`` for both). A backend without them is skipped with a message;
with none, nothing is written. ``docs/tracking.md`` ("Model backends") gives the commands
that set up the environments and train the tiny models used here.

Usage: ``python benchmarks/bench_backends.py [--frames N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BEHAVTRACK_SHARED_DATA", ROOT.parent / "shared" / "data"))
OPENFIELD = SHARED / "video" / "openfield" / "m3v1mp4.mp4"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BEHAVTRACK_QUIET", "1")  # no progress bars in the timings

#: backend -> (model variable, its own python variable, package)
BACKENDS = {
    "deeplabcut": ("BEHAVTRACK_DLC_CONFIG", "BEHAVTRACK_DLC_PYTHON", "deeplabcut"),
    "sleap": ("BEHAVTRACK_SLEAP_MODEL", "BEHAVTRACK_SLEAP_PYTHON", "sleap_nn"),
}


def backend_setup(backend: str) -> tuple[str, str] | str:
    """Return (model, python) for ``backend`` from the environment, or why it is skipped."""
    model_var, python_var, _ = BACKENDS[backend]
    model = os.environ.get(model_var)
    python = os.environ.get(python_var) or os.environ.get("BEHAVTRACK_BACKEND_PYTHON")
    if not model:
        return f"{model_var} is not set"
    if not python:
        return f"neither {python_var} nor BEHAVTRACK_BACKEND_PYTHON is set"
    if not Path(python).is_file():
        return f"{python} does not exist"
    return model, python


def cut_clip(dest: Path, n_frames: int) -> Path:
    """Write the first ``n_frames`` of the openfield video as MPEG-4 (as the test does)."""
    import cv2

    cap = cv2.VideoCapture(str(OPENFIELD))
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(n_frames):
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"{OPENFIELD}: fewer than {n_frames} frames")
        writer.write(frame)
    writer.release()
    cap.release()
    return dest


def _summary(ds, seconds: float) -> dict:
    nose = ds.position.sel(keypoint="nose").values if "nose" in ds.keypoint.values else None
    return {
        "seconds": round(seconds, 2),
        "frames": int(ds.sizes["time"]),
        "fps": round(ds.sizes["time"] / seconds, 2),
        "keypoints": [str(k) for k in ds.keypoint.values],
        "nose_finite_share": None if nose is None else round(
            float(np.isfinite(nose).all(axis=0).mean()), 3),
    }


def run_builtin(clip: Path, out: Path) -> dict:
    """Time the built-in tracker on ``clip``."""
    from behavtrack.tracking import track

    start = time.perf_counter()
    ds = track(clip, out=out)
    return _summary(ds, time.perf_counter() - start)


def run_model(backend: str, model: str, python: str, clip: Path, out: Path) -> dict:
    """Time ``behavtrack track --backend`` (library call) on ``clip`` through ``python``."""
    from behavtrack.tracking import track

    start = time.perf_counter()
    ds = track(clip, backend=backend, model=model, python=python, out=out)
    return _summary(ds, time.perf_counter() - start)


def package_version(python: str, package: str) -> str:
    """The backend package's version in its environment."""
    proc = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({package!r}.replace("
                       "'_', '-')))"], capture_output=True, text=True, timeout=120)
    return proc.stdout.strip() or "unknown"


def main() -> int:
    """Run the benchmark; return the exit status."""
    from behavtrack.errors import InputError

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=100, help="frames of the long clip (100)")
    p.add_argument("--repeat", type=int, default=2,
                   help="runs of each backend on each clip; the fastest counts (2)")
    args = p.parse_args()
    setups = {b: backend_setup(b) for b in BACKENDS}
    for backend, setup in setups.items():
        if isinstance(setup, str):
            print(f"{backend}: skipped ({setup})")
    ready = {b: s for b, s in setups.items() if not isinstance(s, str)}
    if not ready:
        print("no backend to benchmark: set the variables above (see docs/tracking.md, "
              "'Model backends'); nothing written")
        return 0
    if not OPENFIELD.is_file():
        print(f"skipped: {OPENFIELD} is missing; nothing written")
        return 0
    short_n = max(args.frames // 5, 5)
    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), CPU only",
        "video": f"first frames of {OPENFIELD.name} (640x480), re-encoded MPEG-4 part 2",
        "clip_frames": {"long": args.frames, "short": short_n},
        "timing": f"wall seconds, the fastest of {args.repeat} runs",
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = {n: cut_clip(work / f"clip{n}.mp4", n) for n in (args.frames, short_n)}
        builtin = min((run_builtin(clips[args.frames], work / f"builtin{i}")
                       for i in range(args.repeat)), key=lambda r: r["seconds"])
        results["builtin"] = {"long_clip": builtin}
        print(f"builtin: {builtin['frames']} frames in {builtin['seconds']} s = "
              f"{builtin['fps']} frames/s end to end (background model included)")
        for backend, (model, python) in ready.items():
            try:  # the fastest of --repeat runs of each clip (the machine is shared)
                long = min((run_model(backend, model, python, clips[args.frames],
                                      work / f"{backend}{i}") for i in range(args.repeat)),
                           key=lambda r: r["seconds"])
                short = min((run_model(backend, model, python, clips[short_n],
                                       work / f"{backend}_s{i}") for i in range(args.repeat)),
                            key=lambda r: r["seconds"])
            except InputError as exc:
                print(f"{backend}: failed: {exc}")
                results[backend] = {"error": str(exc)}
                continue
            extra = long["seconds"] - short["seconds"]
            # a difference lost in the machine's noise gives no steady figure
            steady = (args.frames - short_n) / extra if extra > 0.5 else float("nan")
            fixed = short["seconds"] - short_n / steady if extra > 0.5 else float("nan")
            entry = {
                "package": f"{BACKENDS[backend][2]} "
                           f"{package_version(python, BACKENDS[backend][2])}",
                "model": model,
                "long_clip": long,
                "short_clip": short,
                "steady_fps": None if np.isnan(steady) else round(steady, 2),
                "fixed_seconds": None if np.isnan(fixed) else round(fixed, 1),
                "builtin_over_backend_fps": round(builtin["fps"] / long["fps"], 1),
            }
            results[backend] = entry
            print(f"{backend} ({entry['package']}): {long['frames']} frames in "
                  f"{long['seconds']} s = {long['fps']} frames/s end to end; steady "
                  f"{entry['steady_fps']} frames/s after {entry['fixed_seconds']} s start-up "
                  f"and model load; the built-in tracker is {entry['builtin_over_backend_fps']}x "
                  f"faster end to end; nose finite in {long['nose_finite_share']:.0%} of frames")
    out = ROOT / "benchmarks" / "results" / "backends.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
