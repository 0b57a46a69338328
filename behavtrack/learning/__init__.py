"""Learning statistics across sessions: the sessions table, learning curves, fits, trends.

In memory only: :mod:`behavtrack.learning.cohort` computes a cohort's statistics,
:mod:`behavtrack.learning.agents` analyses agent rollouts like sessions; the ``stats``
workflow that writes them is :func:`behavtrack.workflows.stats.compute_stats`.
"""

import importlib
from typing import Any

#: name -> module that defines it (imported on first use: the curves bring scipy.stats, which
#: a session's row of ``sessions.csv`` or a figure does not need, e.g. in a batch worker).
_NAMES = {
    **dict.fromkeys(("fit_curve", "fit_curves", "iqm", "learning_curves", "mann_kendall",
                     "pooled_curve", "sessions_to_criterion", "trend_tests"),
                    "behavtrack.learning.curves"),
    **dict.fromkeys(("SESSION_COLUMNS", "SessionInput", "analyze_session",
                     "read_classified_session", "session_table"),
                    "behavtrack.learning.sessions"),
}

__all__ = [
    "SESSION_COLUMNS",
    "SessionInput",
    "analyze_session",
    "fit_curve",
    "fit_curves",
    "iqm",
    "learning_curves",
    "mann_kendall",
    "pooled_curve",
    "read_classified_session",
    "session_table",
    "sessions_to_criterion",
    "trend_tests",
]


def __getattr__(name: str) -> Any:
    """Import a public name of the package on first use."""
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'behavtrack.learning' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
