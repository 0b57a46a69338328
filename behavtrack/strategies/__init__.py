"""Strategy classification: the classifiers, the rule baseline, training and classifying.

:class:`HybridHMMClassifier` (``hybrid.py``: gradient-boosted frame posteriors decoded by a
duration-aware HMM) is what ``behavtrack train`` fits by default; :class:`HMMClassifier`
(``hmm.py``) is the Gaussian-emission HMM. :func:`load_model` reads a model file of either
kind (the shipped models by default, :func:`choose_model` picks the one that fits a
recording); :class:`RuleClassifier` (``rules.py``) is the transparent baseline; ``pipeline.py``
runs a whole session (:func:`classify_session`) and trains from labelled sessions
(:func:`train_model`).
"""

from behavtrack.strategies.hmm import HMMClassifier, enforce_min_bout
from behavtrack.strategies.hybrid import HybridHMMClassifier
from behavtrack.strategies.model_file import (
    choose_model,
    default_model_path,
    load_model,
    shipped_model_path,
)
from behavtrack.strategies.rules import RuleClassifier

__all__ = ["HMMClassifier", "HybridHMMClassifier", "RuleClassifier", "choose_model",
           "default_model_path", "enforce_min_bout", "load_model", "shipped_model_path",
           "classify_session", "train_model"]


def __getattr__(name: str):  # lazy: the pipeline imports the IO layer
    if name in ("classify_session", "train_model"):
        from behavtrack.strategies import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
