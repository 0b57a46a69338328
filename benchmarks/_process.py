"""Timing a whole process as a user runs it: wall time, CPU time and peak memory.

Shared by the whole-process benchmarks (``bench_*_process.py``). The command runs under a
small launcher process of its own, which reports the command's figures: Linux charges a child
started by vfork (as ``subprocess`` does) with its parent's peak RSS when it execs, so a large
benchmark process would inflate the figure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TIMED = """
import resource, subprocess, sys, time
t = time.perf_counter()
status = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("BENCH", status, wall, r.ru_utime + r.ru_stime, r.ru_maxrss, file=sys.stderr)
sys.exit(status)
"""


def timed_run(cmd: list[str], env: dict[str, str] | None = None,
              cwd: str | Path | None = None) -> dict:
    """Run ``cmd``; return wall time, CPU time, peak RSS (MiB), exit status, stdout, stderr.

    Without the launcher's report (it could not start) only ``status``, ``stdout`` and
    ``stderr`` are given.
    """
    proc = subprocess.run([sys.executable, "-c", TIMED, *cmd], capture_output=True,
                          text=True, env=env, cwd=cwd)
    line = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("BENCH ")),
                None)
    if line is None:
        return {"status": proc.returncode or 1, "stdout": proc.stdout, "stderr": proc.stderr}
    _, status, wall, cpu, maxrss = line.split()
    return {"wall_s": float(wall), "cpu_s": float(cpu), "peak_rss_mib": int(maxrss) / 1024,
            "status": int(status), "stdout": proc.stdout, "stderr": proc.stderr}
