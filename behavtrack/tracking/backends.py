"""Model backends: a lab's trained DeepLabCut project or SLEAP model instead of the tracker.

DeepLabCut and sleap-nn need PyTorch (several GB) and pin libraries that clash with
behavtrack's (DeepLabCut wants pandas < 3; sleap-nn pulls the non-headless OpenCV), so labs
usually keep them in environments of their own. :func:`run_backend` therefore runs the model

* in-process, when the backend's package imports in behavtrack's own environment, or
* in the lab's environment, through the Python executable given as ``python``: a subprocess
  runs :mod:`behavtrack.tracking._backend_runner` (a standalone script) there.

Either way the produced pose file (DeepLabCut ``.h5`` + ``.csv``, or SLEAP ``.slp``) is moved
into place atomically and read back with :func:`behavtrack.io.pose.load_pose`. Anything
missing (the package, the executable, the model, its trained snapshot) is a one-line
:class:`~behavtrack.errors.InputError` that names it; so is the backend failing in its
environment, whose full output is then kept in ``<stem>.<backend>.log`` beside the output.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text, require_file
from behavtrack.tracking import _backend_runner

__all__ = ["BACKENDS", "backend_available", "run_backend"]

#: Backend name -> the Python package it needs.
BACKENDS = dict(_backend_runner.BACKENDS)
#: Backend name -> the pose file it writes.
_SUFFIX = {"deeplabcut": ".h5", "sleap": ".slp"}
_INSTALL = {  # as run for real here (docs/tracking.md): torch with a matching torchvision
    "deeplabcut": "pip install torch torchvision deeplabcut (3.x)",
    "sleap": "pip install torch torchvision sleap-nn",
}


def backend_available(backend: str) -> bool:
    """Whether ``backend``'s package can be imported in this environment."""
    return importlib.util.find_spec(BACKENDS[backend]) is not None


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InputError(
            "backend", f"unknown backend {backend!r}",
            f"choose builtin, {' or '.join(BACKENDS)}",
        )


def _dlc_config(path: Path) -> None:
    """Refuse a file that is not a trained DeepLabCut project's config.yaml."""
    import yaml

    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not readable YAML ({type(exc).__name__})",
                         "give the DeepLabCut project's config.yaml") from None
    if not isinstance(cfg, dict) or not (cfg.get("bodyparts") or cfg.get("multianimalbodyparts")):
        raise InputError(path, "is not a DeepLabCut project config (it lists no bodyparts)",
                         "give the project's config.yaml")
    project = path.parent
    if not any(
        next((project / folder).glob("iteration-*/*/train/snapshot-*"), None) is not None
        for folder in ("dlc-models-pytorch", "dlc-models")
    ):
        raise InputError(path, "belongs to a project with no trained network (no snapshot "
                         "under dlc-models-pytorch/iteration-*/*/train/)",
                         "train it first (deeplabcut.train_network) or give a trained project")


def _sleap_model(path: Path) -> None:
    """Refuse a folder that does not hold a trained SLEAP model."""
    if not any((path / f"training_config.{ext}").is_file() for ext in ("yaml", "json")):
        raise InputError(path, "holds no training_config.yaml (or .json): not a trained SLEAP "
                         "model folder", "give the folder sleap-nn wrote when training")
    if not any(path.glob("*.ckpt")) and not (path / "best_model.h5").is_file():
        raise InputError(path, "holds no checkpoint (best.ckpt)",
                         "give the folder of a model whose training finished")


def _check_model(backend: str, model: str | os.PathLike | None) -> Path:
    if model is None:
        what = "the DeepLabCut project's config.yaml" if backend == "deeplabcut" else (
            "the trained SLEAP model's folder")
        raise InputError("model", f"is required with backend={backend!r}", f"give {what}")
    path = Path(model)
    if backend == "deeplabcut":
        require_file(path, "DeepLabCut config file")
        if path.suffix not in (".yaml", ".yml"):
            raise InputError(path, "is not a DeepLabCut project config",
                             "give the project's config.yaml")
        _dlc_config(path)
    elif not path.is_dir():
        raise InputError(path, "is not a folder holding a trained SLEAP model",
                         "give the model folder (with its training config and checkpoint)")
    else:
        _sleap_model(path)
    return path


def _check_python(python: str | os.PathLike) -> str:
    exe = shutil.which(str(python)) or str(python)
    if not Path(exe).is_file():
        raise InputError("python", f"no such Python executable: {python}",
                         "give the python of the environment where the backend is installed")
    return exe


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _marked(text: str, mark: str) -> str | None:
    """Return the text after the last line starting with ``mark`` (None if none does)."""
    found = [ln[len(mark):].strip() for ln in text.splitlines() if ln.startswith(mark)]
    return found[-1] if found else None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _in_subprocess(exe: str, python: str | os.PathLike, backend: str, model: Path, video: Path,
                   dest: str, log: Path, timeout: float | None) -> Path:
    """Run the runner script under ``exe``; return the pose file it wrote in ``dest``."""
    cmd = [exe, str(Path(_backend_runner.__file__)), backend, str(model), str(video), dest]
    try:
        # own session: a timeout stops the backend's worker processes too
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
    except OSError as exc:
        raise InputError("python", f"{python} could not be run ({_clip(str(exc), 120)})",
                         "give a working Python executable") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise InputError(model, f"{backend} did not finish on {video.name} within {timeout:g} s",
                         "raise the timeout") from None
    except BaseException:  # e.g. Ctrl-C: its own session does not get it, so stop it here
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    problem = _marked(stderr, _backend_runner.ERROR_MARK) or _last_line(stderr)
    if proc.returncode == _backend_runner.EXIT_IMPORT:
        raise InputError("python", f"{python} cannot import {BACKENDS[backend]} "
                         f"({_clip(problem, 160)})",
                         f"install it in that environment ({_INSTALL[backend]})")
    produced = _marked(stdout, _backend_runner.OUTPUT_MARK)
    if proc.returncode != 0 or produced is None or not Path(produced).is_file():
        atomic_write_text(log, f"$ {' '.join(cmd)}\n\n--- stdout ---\n{stdout}\n"
                               f"--- stderr ---\n{stderr}")
        what = (f"failed on {video.name}: {_clip(problem)}" if proc.returncode != 0
                else f"reported no pose file for {video.name}")
        raise InputError(model, f"{backend} {what}", f"full output in {log}")
    return Path(produced)


def run_backend(
    video: str | os.PathLike,
    backend: str,
    model: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    python: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> xr.Dataset:
    """Run a trained DeepLabCut or SLEAP model on ``video`` and load its poses.

    Parameters
    ----------
    video
        The video file.
    backend
        ``"deeplabcut"`` or ``"sleap"``.
    model
        DeepLabCut: the project's ``config.yaml``; SLEAP: the trained model's folder.
    out
        Folder receiving ``<video stem>.h5`` (+ ``.csv``) for DeepLabCut or
        ``<video stem>.slp`` for SLEAP; or the pose file itself (a path ending in ``.h5``
        for DeepLabCut, ``.slp`` for SLEAP). When the backend fails, its full output is
        kept beside it in ``<stem>.<backend>.log``.
    python
        Python executable of an environment where the backend is installed; ``None``
        runs it in this process (the package must then import here).
    timeout
        Seconds after which a subprocess run is stopped (``None``: no limit).

    Returns
    -------
    xarray.Dataset
        The poses, read back with :func:`behavtrack.io.pose.load_pose`
        (``attrs["output_file"]`` names the file written).

    Raises
    ------
    InputError
        Unknown backend, missing video or model, backend not importable (naming what to
        install or suggesting ``python=``), or the backend failing.

    """
    from behavtrack.io.pose import load_pose
    from behavtrack.io.video import VideoReader

    _check_backend(backend)
    video = require_file(video, "video file").resolve()
    model_path = _check_model(backend, model).resolve()
    if python is None and not backend_available(backend):
        raise InputError(
            "backend", f"{backend} needs the {BACKENDS[backend]} package, which is "
            "not importable in this Python environment",
            f"install it ({_INSTALL[backend]}) or pass python='PATH', the python of an "
            "environment that has it",
        )
    exe = None if python is None else _check_python(python)
    with VideoReader(video) as reader:  # refuses a corrupt video before the model loads
        fps = reader.fps
    suffix = _SUFFIX[backend]
    out = Path(out)
    if out.suffix in _SUFFIX.values():  # the pose file itself
        if out.suffix != suffix:
            raise InputError(out, f"names a {out.suffix} file but {backend} writes {suffix}",
                             f"give a folder or a path ending in {suffix}")
        target, folder = out, out.parent
    else:
        if out.is_file():
            raise InputError(out, "is a file, not an output folder",
                             f"give a folder (or a path ending in {suffix})")
        target, folder = out / f"{video.stem}{suffix}", out
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{target.stem}.{backend}.log"
    with tempfile.TemporaryDirectory(prefix=f".{target.stem}.{backend}.", dir=folder) as tmp:
        if exe is None:
            try:
                produced = _backend_runner.run(backend, str(model_path), str(video), tmp)
            except Exception as exc:  # the backend's own failure, as one line
                raise InputError(model_path, f"{backend} failed on {video.name}: "
                                 f"{_clip(_backend_runner._one_line(exc))}") from exc
        else:
            produced = _in_subprocess(exe, python, backend, model_path, video, tmp, log,
                                      timeout)
        produced = Path(produced)
        if produced.suffix != suffix:
            raise InputError(model_path, f"{backend} wrote {produced.name}, not a {suffix} file")
        pairs = [(produced, target)]
        if suffix == ".h5":  # DeepLabCut's .csv beside its .h5
            pairs.append((produced.with_suffix(".csv"), target.with_suffix(".csv")))
        for src, dst in pairs:
            if src.is_file():
                with atomic_path(dst) as tmp_dst:
                    shutil.copyfile(src, tmp_dst)
    log.unlink(missing_ok=True)  # a failed earlier run's log no longer applies
    ds = load_pose(target, fps=fps if math.isfinite(fps) and fps > 0 else None)
    ds.attrs["output_file"] = str(target)
    ds.attrs["tracker"] = backend
    return ds
