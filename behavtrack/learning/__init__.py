"""Learning statistics across sessions: the sessions table, learning curves, fits, trends.

In memory only: :mod:`behavtrack.learning.cohort` computes a cohort's statistics,
:mod:`behavtrack.learning.agents` analyses agent rollouts like sessions; the ``stats``
workflow that writes them is :func:`behavtrack.workflows.stats.compute_stats`.
"""

from behavtrack.learning.curves import (
    fit_curve,
    fit_curves,
    iqm,
    learning_curves,
    mann_kendall,
    pooled_curve,
    sessions_to_criterion,
    trend_tests,
)
from behavtrack.learning.sessions import (
    SESSION_COLUMNS,
    SessionInput,
    analyze_session,
    read_classified_session,
    session_table,
)

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

