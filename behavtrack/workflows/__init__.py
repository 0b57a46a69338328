"""Whole-folder workflows: read inputs, run the stages in memory, write an output folder.

The stages (``io`` -> ... -> ``compare``) compute in memory; a workflow strings them together
over folders of files and owns the writing of its outputs:

- :func:`behavtrack.workflows.classify.classify_session`: one session's output folder
  (``behavtrack classify``, and each session of ``behavtrack batch``);
- :func:`behavtrack.workflows.stats.compute_stats`: every statistic of a cohort, written to
  one folder (``behavtrack stats``);
- :func:`behavtrack.workflows.compare.compare`: mice vs agents, the figures and
  ``report.html`` (``behavtrack compare``).

Workflows sit in the outer layer (with ``cli``, ``napari``, ``batch`` and ``demo``): they may
import any stage, and no stage imports them (``tests/test_layers.py``).
"""

from typing import Any

__all__ = ["classify_session", "compute_stats", "compare"]


def __getattr__(name: str) -> Any:
    """Import a workflow lazily (they pull in matplotlib)."""
    if name == "classify_session":
        from behavtrack.workflows.classify import classify_session

        return classify_session
    if name == "compute_stats":
        from behavtrack.workflows.stats import compute_stats

        return compute_stats
    if name == "compare":
        from behavtrack.workflows.compare import compare

        return compare
    raise AttributeError(name)
