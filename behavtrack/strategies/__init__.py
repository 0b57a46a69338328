"""Strategy classification: the supervised HMM, the rule baseline, training and classifying.

:class:`HMMClassifier` (``hmm.py``) is the model; :func:`load_model` reads a model file (the
shipped ``models/default.json`` by default); :class:`RuleClassifier` (``rules.py``) is the
transparent baseline; ``pipeline.py`` runs a whole session (:func:`classify_session`) and
trains from labelled sessions (:func:`train_model`).
"""

from behavtrack.strategies.hmm import HMMClassifier, enforce_min_bout
from behavtrack.strategies.model_file import default_model_path, load_model
from behavtrack.strategies.rules import RuleClassifier

__all__ = ["HMMClassifier", "RuleClassifier", "default_model_path", "enforce_min_bout",
           "load_model", "classify_session", "train_model"]


def __getattr__(name: str):  # lazy: the pipeline imports the IO layer
    if name in ("classify_session", "train_model"):
        from behavtrack.strategies import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
