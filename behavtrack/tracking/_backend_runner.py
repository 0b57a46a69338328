"""Run a lab's trained DeepLabCut or SLEAP model on one video (standalone script).

This file imports only the standard library and the backend itself, so that it runs in the
lab's own Python environment (where DeepLabCut or sleap-nn is installed, but behavtrack need
not be): ``python _backend_runner.py BACKEND MODEL VIDEO DEST``. behavtrack also imports it
and calls :func:`run` directly when the backend is importable in its own environment.

It writes into the folder ``DEST`` (created if needed) and prints the path of the pose file
it produced as its last line of output.
"""

from __future__ import annotations

import sys
from pathlib import Path

BACKENDS = {"deeplabcut": "deeplabcut", "sleap": "sleap_nn"}


def _deeplabcut(model: str, video: str, dest: Path) -> Path:
    import deeplabcut

    deeplabcut.analyze_videos(
        model, [video], destfolder=str(dest), save_as_csv=True, videotype=Path(video).suffix
    )
    produced = sorted(dest.glob(f"{Path(video).stem}*.h5"))
    if not produced:
        raise RuntimeError(f"DeepLabCut wrote no .h5 file for {video} in {dest}")
    # multi-animal projects: prefer the tracked ("_el") output, else the plain one
    tracked = [p for p in produced if p.stem.endswith("_el")]
    plain = [p for p in produced if not p.stem.endswith(("_full", "_meta"))]
    return (tracked or plain or produced)[0]


def _sleap(model: str, video: str, dest: Path) -> Path:
    from sleap_nn.predict import run_inference

    out = dest / f"{Path(video).stem}.predictions.slp"
    run_inference(data_path=video, model_paths=[model], output_path=str(out), make_labels=True)
    if not out.is_file():
        raise RuntimeError(f"sleap-nn wrote no predictions for {video}")
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


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        import importlib

        importlib.import_module(BACKENDS[sys.argv[2]])
        sys.exit(0)
    if len(sys.argv) != 5:
        sys.exit("usage: _backend_runner.py BACKEND MODEL VIDEO DEST")
    print(run(*sys.argv[1:]))
