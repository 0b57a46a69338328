"""Cut the small real-data samples of ``tests/data/social`` from ``../shared/data/social``.

Each sample is a stretch of one real session (DeepLabCut multi-animal predictions and the
BORIS export of the same video): the pose rows of the stretch (frame index restarting at 0,
coordinates rounded to 0.01 px and likelihoods to 1e-4), and the BORIS START/STOP rows of the
bouts that overlap it, shifted to the stretch's start and clipped to it. The files keep their
original layouts (4 DeepLabCut header rows; the old BORIS tabular export with its metadata
block), so the tests read them exactly as a user's files.

Run from the repository root: ``.venv/bin/python scripts/cut_social_samples.py``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "social"
TARGET = ROOT / "tests" / "data" / "social"
FPS = 30.0
#: session -> (first frame, number of frames); stretches with several interaction bouts.
CUTS = {"120637-121213": (600, 1500), "123521-124106": (1800, 1500)}


def cut_pose(src: Path, dst: Path, start: int, n: int) -> None:
    """Write rows ``start .. start + n - 1`` of a DeepLabCut CSV, re-indexed from 0."""
    lines = src.read_text(encoding="utf-8").splitlines()
    header, body = lines[:4], lines[4:][start:start + n]
    out = io.StringIO()
    out.write("\n".join(header) + "\n")
    coords = header[3].split(",")
    for i, line in enumerate(body):
        cells = line.split(",")
        row = [str(i)]
        for kind, value in zip(coords[1:], cells[1:], strict=True):
            if value == "":
                row.append("")
            elif kind == "likelihood":
                row.append(f"{float(value):.4f}")
            else:
                row.append(f"{float(value):.2f}")
        out.write(",".join(row) + "\n")
    dst.write_text(out.getvalue(), encoding="utf-8")


def cut_boris(src: Path, dst: Path, start: int, n: int) -> None:
    """Write the BORIS rows of the bouts overlapping the stretch, shifted and clipped."""
    rows = list(csv.reader(src.read_text(encoding="utf-8").splitlines()))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Time")
    t0, t1 = start / FPS, (start + n) / FPS
    events = rows[at + 1:]
    kept = []
    for a, b in zip(events[0::2], events[1::2], strict=True):
        s, e = float(a[0]), float(b[0])
        if e <= t0 or s >= t1:
            continue
        for row, t in ((a, max(s, t0)), (b, min(e, t1))):
            row = list(row)
            row[0] = f"{t - t0:.3f}"
            row[2] = f"{n / FPS:.3f}"
            kept.append(row)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows[:at + 1] + kept)
    dst.write_text(out.getvalue(), encoding="utf-8")


def main() -> None:
    """Cut every sample of :data:`CUTS`."""
    for session, (start, n) in CUTS.items():
        folder = TARGET / session
        folder.mkdir(parents=True, exist_ok=True)
        cut_pose(SOURCE / session / "pose_dlc.csv", folder / "pose_dlc.csv", start, n)
        cut_boris(SOURCE / session / "boris.csv", folder / "boris.csv", start, n)
        print(f"{folder}: frames {start}-{start + n - 1} of {session}")


if __name__ == "__main__":
    main()
