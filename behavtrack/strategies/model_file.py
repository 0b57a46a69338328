"""Where the shipped models live, which one fits a recording, and how a model file is loaded.

Two models are shipped (``models/README.md`` says how each was trained):

- ``default.json``: the cooperation task (two mice on either side of a partition, poke ports,
  the rig's log), trained on the simulated ``labeled_examples/``;
- ``social.json``: two mice in one open arena, trained on three real recordings with human
  interaction labels; it needs no arena and detects ``interaction``.

:func:`choose_model` picks one for a recording: the social model for two animals without an
arena or in an open arena, the cooperation model otherwise.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from behavtrack.errors import InputError

__all__ = ["SHIPPED_MODELS", "default_model_path", "shipped_model_path", "choose_model",
           "load_model", "load_fitted", "load_model_shared", "model_from_dict",
           "read_model_json"]

#: Shipped model name -> what it is for.
SHIPPED_MODELS: dict[str, str] = {
    "default": "the cooperation task: a partition, poke ports and the rig's log (simulated "
               "labelled sessions)",
    "social": "two mice in one open arena, no arena file needed (3 real recordings with "
              "human interaction labels)",
}


def shipped_model_path(name: str = "default") -> Path:
    """Return the path of a shipped model (``"default"`` or ``"social"``).

    That is ``behavtrack/data/models/<name>.json`` when installed, else ``models/<name>.json``
    of the source tree. ``BEHAVTRACK_MODEL`` overrides the default model's path.
    """
    if name not in SHIPPED_MODELS:
        raise InputError("model", f"no shipped model {name!r}",
                         f"shipped: {', '.join(SHIPPED_MODELS)}")
    env = os.environ.get("BEHAVTRACK_MODEL")
    if env and name == "default":
        return Path(env)
    here = Path(__file__).resolve()
    for cand in (here.parents[1] / "data" / "models" / f"{name}.json",
                 here.parents[2] / "models" / f"{name}.json"):
        if cand.is_file():
            return cand
    return here.parents[2] / "models" / f"{name}.json"


def default_model_path() -> Path:
    """Return the path of the shipped cooperation-task model (see :func:`shipped_model_path`)."""
    return shipped_model_path("default")


def choose_model(arena: Any = None, n_individuals: int = 2) -> tuple[str, str]:
    """Name of the shipped model that fits a recording, and why.

    Parameters
    ----------
    arena
        The recording's arena, or ``None``.
    n_individuals
        Animals in the pose.

    Returns
    -------
    name, reason
        ``("social", ...)`` for two animals without an arena or in an open arena, else
        ``("default", ...)``.

    Examples
    --------
    >>> choose_model(None, 2)[0]
    'social'

    """
    if n_individuals == 2 and arena is None:
        return "social", "two animals and no arena"
    if n_individuals == 2 and getattr(arena, "is_open", False):
        return "social", "two animals in an open arena"
    if arena is None:
        return "default", f"{n_individuals} animal(s) and no arena"
    return "default", "an arena with compartments (the cooperation task)"


def model_from_dict(data: Any, source: str = "<model>") -> Any:
    """Rebuild a classifier from its JSON dict, choosing the class by its ``kind``."""
    from behavtrack.strategies.hmm import HMMClassifier
    from behavtrack.strategies.hybrid import KIND as HYBRID_KIND
    from behavtrack.strategies.hybrid import HybridHMMClassifier

    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == HYBRID_KIND:
        return HybridHMMClassifier.from_dict(data, source=source)
    if kind == "behavtrack.HMMClassifier":
        return HMMClassifier.from_dict(data, source=source)
    raise InputError(source, f"is not a behavtrack model (kind {kind!r})",
                     "train one with 'behavtrack train'")


def read_model_json(path: str | os.PathLike) -> Any:
    """Return the parsed JSON of a model file, or raise the one-line error."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such model file", "check the path")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(p, f"is not a JSON model file ({type(exc).__name__})",
                         "models are JSON written by 'behavtrack train'") from None


def _model_path(path: str | os.PathLike | None) -> Path:
    """``path``, or the shipped default model (refused in one line if it is missing)."""
    p = Path(path) if path is not None else default_model_path()
    if path is None and not p.is_file():
        raise InputError(p, "the shipped default model is missing",
                         "build it: see models/README.md, or give a model JSON (model=)")
    return p


def load_model(path: str | os.PathLike | None = None) -> Any:
    """Load a model file (JSON, validated); ``None`` loads the shipped default model."""
    p = _model_path(path)
    return model_from_dict(read_model_json(p), source=str(p))


def load_fitted(path: str | os.PathLike | None = None) -> Any:
    """Load a model file for classifying only (no refitting).

    A hybrid model comes back as a :class:`~behavtrack.strategies.hybrid_model.HybridModel`:
    it decodes exactly as the estimator :func:`load_model` returns, without importing
    scikit-learn's estimators (about a second at every start of ``behavtrack classify``). A
    Gaussian HMM model comes back as its estimator.

    Parameters
    ----------
    path
        The model JSON; ``None`` loads the shipped default model.

    Returns
    -------
    HybridModel or HMMClassifier

    """
    p = _model_path(path)
    data = read_model_json(p)
    from behavtrack.strategies.hybrid_model import KIND, HybridModel

    if isinstance(data, dict) and data.get("kind") == KIND:
        return HybridModel.from_dict(data, source=str(p))
    return model_from_dict(data, source=str(p))


@functools.lru_cache(maxsize=4)
def _load_fitted_version(path: str, size: int, mtime_ns: int) -> Any:
    return load_fitted(path)


def load_model_shared(path: str | os.PathLike) -> Any:
    """:func:`load_fitted` once per process while the file is unchanged (read-only use).

    A batch worker classifies many sessions with one model: parsing its JSON and rebuilding
    the trees each time costs about 0.2 s a session. The object returned is shared between
    callers, so it must not be modified (classifying does not modify it); use
    :func:`load_model` for a model of your own.
    """
    p = Path(path)
    try:
        st = p.resolve().stat()
    except OSError:
        return load_fitted(p)  # its one-line error
    return _load_fitted_version(str(p.resolve()), st.st_size, st.st_mtime_ns)
