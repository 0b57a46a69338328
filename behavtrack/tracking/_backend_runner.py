"""Run a lab's trained DeepLabCut or SLEAP model on one video (standalone script).

This file imports only the standard library and the backend itself, so that it runs in the
lab's own Python environment (where DeepLabCut or sleap-nn is installed, but behavtrack need
not be): ``python _backend_runner.py BACKEND MODEL VIDEO DEST``. behavtrack also imports it
and calls :func:`run` directly when the backend is importable in its own environment.

It writes into the folder ``DEST`` (created if needed). As a script it reports to its caller
through marker lines: ``OUTPUT_MARK`` + the pose file's path on stdout when it succeeds;
``ERROR_MARK`` + one line on stderr when it fails (after the traceback, for the log), with
exit status ``EXIT_IMPORT`` when the backend's package cannot be imported there and
``EXIT_FAILED`` when the backend failed.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

BACKENDS = {"deeplabcut": "deeplabcut", "sleap": "sleap_nn"}
OUTPUT_MARK = "BEHAVTRACK_OUTPUT: "
ERROR_MARK = "BEHAVTRACK_ERROR: "
EXIT_FAILED = 1
EXIT_IMPORT = 3


def _deeplabcut(model: str, video: str, dest: Path) -> Path:
    import deeplabcut

    deeplabcut.analyze_videos(
        model, [video], destfolder=str(dest), save_as_csv=True, videotype=Path(video).suffix
    )
    stem = Path(video).stem
    produced = sorted(p for p in dest.iterdir() if p.name.startswith(stem) and p.suffix == ".h5")
    if not produced:
        raise RuntimeError(f"DeepLabCut wrote no .h5 file for {Path(video).name}")
    # multi-animal projects: prefer the tracked ("_el") output, else the plain one
    tracked = [p for p in produced if p.stem.endswith("_el")]
    plain = [p for p in produced if not p.stem.endswith(("_full", "_meta"))]
    return (tracked or plain or produced)[0]


def _sleap(model: str, video: str, dest: Path) -> Path:
    import sleap_nn

    out = dest / f"{Path(video).stem}.predictions.slp"
    if callable(getattr(sleap_nn, "predict", None)):  # sleap-nn >= 0.3: sleap_nn.predict()
        sleap_nn.predict(video, model_paths=[model], output_path=str(out))
    else:  # sleap-nn 0.1 / 0.2
        from sleap_nn.predict import run_inference

        run_inference(data_path=video, model_paths=[model], output_path=str(out),
                      make_labels=True)
    if not out.is_file():
        raise RuntimeError(f"sleap-nn wrote no predictions for {Path(video).name}")
    return out


def run(backend: str, model: str, video: str, dest: str) -> Path:
    """Run ``backend`` with ``model`` on ``video``; return the pose file written in ``dest``."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "deeplabcut":
        return _deeplabcut(model, video, folder)
    if backend == "sleap":
        return _sleap(model, video, folder)
    raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: list[str]) -> int:
    """Script entry point; return the exit status."""
    if len(argv) != 4 or argv[0] not in BACKENDS:
        print(f"{ERROR_MARK}usage: _backend_runner.py {{{','.join(BACKENDS)}}} MODEL VIDEO DEST",
              file=sys.stderr)
        return 2
    try:
        importlib.import_module(BACKENDS[argv[0]])
    except Exception as exc:  # ImportError, or e.g. torchvision's RuntimeError on import
        print(f"{ERROR_MARK}{_one_line(exc)}", file=sys.stderr)
        return EXIT_IMPORT
    try:
        produced = run(*argv)
    except Exception as exc:  # the backend's own failure: traceback for the log, then one line
        traceback.print_exc()
        print(f"{ERROR_MARK}{_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{OUTPUT_MARK}{produced}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
