"""Learning statistics across sessions: the sessions table, learning curves, fits, trends."""

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
    "compute_stats",
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


def __getattr__(name: str):
    """Import :func:`compute_stats` lazily (it pulls in matplotlib)."""
    if name == "compute_stats":
        from behavtrack.learning.cohort import compute_stats

        return compute_stats
    raise AttributeError(name)
