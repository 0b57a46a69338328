"""The committed labelled examples: fixed-seed simulated sessions for training and tests.

``python -m behavtrack.simulate.examples labeled_examples`` recreates the repository's
``labeled_examples/`` folder: :data:`EXAMPLES` lists its sessions (pair, day of 10, seed),
each three minutes at 30 fps, with the pose as a DeepLabCut ``pose.h5`` only (no video), the
truth (``labels.csv``, ``bouts.csv``), the rig's ``events.csv``, ``arena.yaml`` and
``session.json``, plus ``SHA256SUMS`` of every file but the HDF5 ones (whose object headers
carry timestamps; their values are identical run to run). The format is described in
``labeled_examples/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from behavtrack.files import atomic_write_text, progress, progress_bars, sha256

__all__ = ["EXAMPLES", "EXAMPLE_SEED", "EXAMPLE_DURATION_S", "make_labeled_examples"]

#: Seed of the examples' cohort.
EXAMPLE_SEED = 2025
#: Length of each example session in seconds.
EXAMPLE_DURATION_S = 180.0
#: Days of training the examples' progress refers to.
EXAMPLE_N_DAYS = 10
#: ``(pair, day)`` of each example session (0-based), early to late training.
EXAMPLES: tuple[tuple[int, int], ...] = (
    (0, 0), (0, 9), (1, 2), (1, 7), (2, 4), (2, 9), (3, 1), (3, 6),
)


def make_labeled_examples(out: str | os.PathLike) -> list[Path]:
    """Write the labelled example sessions to ``out`` and return their folders.

    The folders are ``out/pairNN_dayNN`` (1-based numbers). Writing is deterministic: the
    same package version writes the same bytes (see ``labeled_examples/README.md``).
    """
    from behavtrack.simulate.session import simulate_session
    from behavtrack.simulate.write import write_session

    out = Path(out)
    folders = []
    for pair, day in progress(EXAMPLES, total=len(EXAMPLES), desc="examples",
                              unit="session"):
        sess = simulate_session(day=day, n_days=EXAMPLE_N_DAYS, pair=pair,
                                duration_s=EXAMPLE_DURATION_S, fps=30.0, seed=EXAMPLE_SEED)
        folder = out / f"pair{pair + 1:02d}_day{day + 1:02d}"
        folders.append(write_session(sess, folder, pose_formats=("pose.h5",)))
    lines = []
    for folder in folders:
        for f in sorted(folder.iterdir()):
            # HDF5 object headers carry timestamps: pose.h5 is value-identical, not
            # byte-identical, from run to run, so it is left out of the checksums
            if f.is_file() and not f.name.startswith(".") and f.suffix != ".h5":
                lines.append(f"{sha256(f)}  {f.relative_to(out).as_posix()}")
    atomic_write_text(out / "SHA256SUMS", "\n".join(lines) + "\n")
    return folders


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m behavtrack.simulate.examples OUT``."""
    p = argparse.ArgumentParser(prog="python -m behavtrack.simulate.examples",
                                description="Recreate the labelled example sessions.")
    p.add_argument("out", help="output folder (the repository's labeled_examples/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    with progress_bars(False) if args.quiet else contextlib.nullcontext():
        folders = make_labeled_examples(args.out)
    print(f"wrote {len(folders)} sessions to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
