"""Mice vs agents: both sides on one axis of training progress, and the comparison report.

:mod:`behavtrack.compare.report` loads each side's sessions table, compares the trends
(:func:`~behavtrack.compare.report.compare_sides`), draws the figure and lays out the HTML
report, all in memory. The agents' own analysis lives upstream: rollouts are read in
:mod:`behavtrack.io.agents`, their grid behaviours in :mod:`behavtrack.strategies.grid`, the
environment's success rule in :mod:`behavtrack.task.sync` and the per-rollout rows in
:mod:`behavtrack.learning.agents`. The ``compare`` workflow that writes the report folder is
:func:`behavtrack.workflows.compare.compare`.
"""
