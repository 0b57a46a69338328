"""Model backends: a lab's trained DeepLabCut project or SLEAP model instead of the tracker.

DeepLabCut and sleap-nn need PyTorch (several GB) and pin libraries that clash with
behavtrack's (DeepLabCut wants pandas < 3; sleap-nn pulls the non-headless OpenCV), so labs
usually keep them in environments of their own. :func:`run_backend` therefore runs the model

* in-process, when the backend's package imports in behavtrack's own environment, or
* in the lab's environment, through the Python executable given as ``python``: a subprocess
  runs :mod:`behavtrack.tracking._backend_runner` (a standalone script) there.

Either way the produced pose file (DeepLabCut ``.h5`` + ``.csv``, or SLEAP ``.slp``) is moved
into place atomically and read back with :func:`behavtrack.io.pose.load_pose`. Anything
missing (the package, the executable, the model) is a one-line
:class:`~behavtrack.errors.InputError` that names it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import xarray as xr

from behavtrack.errors import InputError
from behavtrack.files import atomic_path, require_file
from behavtrack.tracking import _backend_runner

__all__ = ["BACKENDS", "backend_available", "run_backend"]

#: Backend name -> the Python package it needs.
BACKENDS = dict(_backend_runner.BACKENDS)
_INSTALL = {
    "deeplabcut": "pip install 'deeplabcut[pytorch]'",
    "sleap": "pip install sleap-nn (with torch and torchvision)",
}


def backend_available(backend: str) -> bool:
    """Whether ``backend``'s package can be imported in this environment."""
    return importlib.util.find_spec(BACKENDS[backend]) is not None


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InputError(
            "--backend", f"unknown backend {backend!r}",
            f"choose builtin, {' or '.join(BACKENDS)}",
        )


def _check_model(backend: str, model: str | os.PathLike | None) -> Path:
    if model is None:
        what = "the DeepLabCut project's config.yaml" if backend == "deeplabcut" else (
            "the trained SLEAP model's folder")
        raise InputError("--model", f"is required with --backend {backend}", f"give {what}")
    path = Path(model)
    if backend == "deeplabcut":
        require_file(path, "DeepLabCut config file")
        if path.suffix not in (".yaml", ".yml"):
            raise InputError(path, "is not a DeepLabCut project config",
                             "give the project's config.yaml")
    elif not path.is_dir():
        raise InputError(path, "is not a folder holding a trained SLEAP model",
                         "give the model folder (with its training config and checkpoint)")
    return path


def _check_python(python: str | os.PathLike, backend: str, timeout: float) -> str:
    exe = shutil.which(str(python)) or str(python)
    if not Path(exe).is_file():
        raise InputError("--python", f"no such Python executable: {python}",
                         "give the python of the environment where the backend is installed")
    try:
        proc = subprocess.run(
            [exe, str(Path(_backend_runner.__file__)), "--check", backend],
            capture_output=True, text=True, timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError("--python", f"{python} could not be run ({type(exc).__name__})",
                         "give a working Python executable") from None
    if proc.returncode != 0:
        raise InputError(
            "--python", f"{python} cannot import {BACKENDS[backend]}",
            f"install it in that environment ({_INSTALL[backend]})",
        )
    return exe


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


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
        ``<video stem>.slp`` for SLEAP.
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
        install or suggesting ``--python``), or the backend failing.

    """
    from behavtrack.io.pose import load_pose

    _check_backend(backend)
    video = require_file(video, "video file").resolve()
    model_path = _check_model(backend, model).resolve()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{video.stem}.{backend}.", dir=out) as tmp:
        if python is None:
            if not backend_available(backend):
                raise InputError(
                    "--backend", f"{backend} needs the {BACKENDS[backend]} package, which is "
                    "not importable in this Python environment",
                    f"install it ({_INSTALL[backend]}) or pass --python PATH to the python of "
                    "an environment that has it",
                )
            try:
                produced = _backend_runner.run(backend, str(model_path), str(video), tmp)
            except Exception as exc:  # the backend's own failure, as one line
                raise InputError(model_path, f"{backend} failed on {video.name}: "
                                 f"{_last_line(str(exc)) or type(exc).__name__}") from exc
        else:
            exe = _check_python(python, backend, timeout=min(timeout or 600.0, 600.0))
            try:
                proc = subprocess.run(
                    [exe, str(Path(_backend_runner.__file__)), backend, str(model_path),
                     str(video), tmp],
                    capture_output=True, text=True, timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise InputError(model_path, f"{backend} did not finish on {video.name} "
                                 f"within {timeout:g} s", "raise the timeout") from None
            if proc.returncode != 0:
                raise InputError(model_path, f"{backend} failed on {video.name}: "
                                 f"{_last_line(proc.stderr)}")
            produced = Path(_last_line(proc.stdout))
            if not produced.is_file():
                raise InputError(model_path, f"{backend} reported no pose file for {video.name}")
        produced = Path(produced)
        if produced.suffix == ".h5":
            target = out / f"{video.stem}.h5"
            pairs = [(produced, target), (produced.with_suffix(".csv"), target.with_suffix(".csv"))]
        else:
            target = out / f"{video.stem}.slp"
            pairs = [(produced, target)]
        for src, dst in pairs:
            if src.is_file():
                with atomic_path(dst) as tmp_dst:
                    shutil.copyfile(src, tmp_dst)
    ds = load_pose(target)
    ds.attrs["output_file"] = str(target)
    ds.attrs["tracker"] = backend
    return ds
