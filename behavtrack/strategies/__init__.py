"""Strategy classification: the classifiers, the rule baseline, training and classifying.

:class:`HybridHMMClassifier` (``hybrid.py``: gradient-boosted frame posteriors decoded by a
duration-aware HMM) is what ``behavtrack train`` fits by default; :class:`HMMClassifier`
(``hmm.py``) is the Gaussian-emission HMM. :func:`load_model` reads a model file of either
kind (the shipped models by default, :func:`choose_model` picks the one that fits a
recording); :class:`RuleClassifier` (``rules.py``) is the transparent baseline; ``pipeline.py``
decodes a session's feature table (:func:`~behavtrack.strategies.pipeline.classify_features`)
and trains from labelled sessions (:func:`train_model`). Writing a session's output folder is
a workflow: :func:`behavtrack.workflows.classify.classify_session`.

The names are imported on first use: the estimators bring scikit-learn, which classifying
with a model file does not need (:mod:`behavtrack.strategies.hybrid_model`).
"""

import importlib
from typing import Any

#: name -> module that defines it.
_NAMES = {
    "HMMClassifier": "behavtrack.strategies.hmm",
    "enforce_min_bout": "behavtrack.strategies.smoothing",
    "HybridHMMClassifier": "behavtrack.strategies.hybrid",
    "RuleClassifier": "behavtrack.strategies.rules",
    "choose_model": "behavtrack.strategies.model_file",
    "default_model_path": "behavtrack.strategies.model_file",
    "load_model": "behavtrack.strategies.model_file",
    "shipped_model_path": "behavtrack.strategies.model_file",
    "train_model": "behavtrack.strategies.pipeline",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    """Import a public name of the package on first use."""
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'behavtrack.strategies' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
