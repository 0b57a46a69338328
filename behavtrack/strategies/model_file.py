"""Where the shipped model lives and how a model file is chosen and loaded."""

from __future__ import annotations

import os
from pathlib import Path

from behavtrack.errors import InputError
from behavtrack.strategies.hmm import HMMClassifier

__all__ = ["default_model_path", "load_model"]


def default_model_path() -> Path:
    """Return the path of the shipped model.

    That is ``behavtrack/data/models/default.json`` when installed, else
    ``models/default.json`` of the source tree (``BEHAVTRACK_MODEL`` overrides both).
    """
    env = os.environ.get("BEHAVTRACK_MODEL")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for cand in (here.parents[1] / "data" / "models" / "default.json",
                 here.parents[2] / "models" / "default.json"):
        if cand.is_file():
            return cand
    return here.parents[2] / "models" / "default.json"


def load_model(path: str | os.PathLike | None = None) -> HMMClassifier:
    """Load a model file (JSON, validated); ``None`` loads the shipped default model."""
    p = Path(path) if path is not None else default_model_path()
    if path is None and not p.is_file():
        raise InputError(p, "the shipped default model is missing",
                         "build it: see models/README.md, or pass --model")
    return HMMClassifier.load(p)
