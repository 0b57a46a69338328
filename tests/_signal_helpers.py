"""Ctrl-C in tests: child processes that take SIGINT as a terminal's would, and their end."""

from __future__ import annotations

import signal
import time
from pathlib import Path


def sigint_default() -> None:
    """``preexec_fn`` of a child that a Ctrl-C stops (a background job's inherit it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def until_none_alive(group: int, timeout: float = 10.0) -> bool:
    """Wait until no process of the process group ``group`` is alive (zombies aside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:  # state, parent, process group: the fields after the command's ")"
                state, _, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue  # ended meanwhile
            if int(pgrp) == group and state != "Z":
                alive.append(stat.parent.name)
        if not alive:
            return True
        time.sleep(0.05)
    return False
