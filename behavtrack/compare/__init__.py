"""Mice vs agents: the agents' trials and strategies on the grid, and the comparison report.

``compare(mice_dir, agents_dir, out_dir)`` (from :mod:`behavtrack.compare.report`) puts both
on one axis of training progress and writes ``report.html``; :mod:`behavtrack.compare.agents`
holds the grid translations of the task's definitions.
"""

__all__ = ["compare", "analyze_rollout", "agent_session_results"]


def __getattr__(name: str):
    """Import lazily (the report pulls in matplotlib)."""
    if name == "compare":
        from behavtrack.compare.report import compare

        return compare
    if name in ("analyze_rollout", "agent_session_results"):
        from behavtrack.compare import agents

        return getattr(agents, name)
    raise AttributeError(name)
