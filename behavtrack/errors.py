"""Errors that behavtrack raises for bad input.

Every error about a user's file or parameter is an :class:`InputError` whose message is
one line: the file (or parameter), what is wrong, and how to fix it. The CLI prints that
line and exits with status 2, without a traceback.
"""

from __future__ import annotations

from os import PathLike


class BehavtrackError(Exception):
    """Base class of behavtrack's own errors."""


class InputError(BehavtrackError, ValueError):
    """A user's input (file, folder, parameter) cannot be used.

    Parameters
    ----------
    source
        The file or parameter at fault (shown first), or ``None``.
    problem
        What is wrong, in a few words.
    hint
        How to fix it (optional).

    Examples
    --------
    >>> str(InputError("arena.yaml", "field 'px_per_cm' is missing", "add px_per_cm: <float>"))
    "arena.yaml: field 'px_per_cm' is missing (add px_per_cm: <float>)"

    """

    def __init__(
        self,
        source: str | PathLike | None,
        problem: str,
        hint: str | None = None,
    ) -> None:
        self.source = None if source is None else str(source)
        self.problem = problem
        self.hint = hint
        text = problem if self.source is None else f"{self.source}: {problem}"
        if hint:
            text = f"{text} ({hint})"
        super().__init__(" ".join(text.split()))  # always one line

    def __reduce__(self) -> tuple[type, tuple[str | None, str, str | None]]:
        """Rebuild from the three parts: the error crosses process boundaries (worker pools)."""
        return type(self), (self.source, self.problem, self.hint)
