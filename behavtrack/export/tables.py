"""``ethogram.csv`` (tidy frame labels with posteriors) and ``binary.csv`` (BORIS binary table)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.files import atomic_path
from behavtrack.io.bouts import BEHAVIORS

__all__ = ["ETHOGRAM_COLUMNS", "ethogram_table", "binary_table", "write_ethogram_csv",
           "write_binary_csv", "write_ethogram", "write_binary"]

#: Frames per block when a table is written block by block (memory flat in its length).
BLOCK_FRAMES = 50_000

ETHOGRAM_COLUMNS = ["frame", "time_s", "individual", "behavior"] + [f"p_{b}" for b in BEHAVIORS]


def ethogram_table(labels: dict[str, np.ndarray], proba: dict[str, np.ndarray], fps: float,
                   behaviors: tuple[str, ...] = BEHAVIORS, frames: slice | None = None
                   ) -> pd.DataFrame:
    """Tidy frame labels: one row per frame and individual.

    Parameters
    ----------
    labels
        individual -> behaviour name per frame.
    proba
        individual -> ``(n_frames, len(behaviors))`` posteriors (NaN where unknown).
    fps
        Frames per second.
    behaviors
        Order of the probability columns.
    frames
        Only these frames of each individual (e.g. ``slice(0, 1000)``): the rows the whole
        table has for them.

    """
    parts = []
    for ind, lab in labels.items():
        frame = np.arange(len(lab))
        if frames is not None:
            frame = frame[frames]
        names = np.asarray(lab, dtype=object)
        part = {"frame": frame, "time_s": np.round(frame / fps, 4),
                "individual": ind,
                "behavior": names if frames is None else names[frames]}
        p = np.asarray(proba[ind], dtype=float)
        if frames is not None:
            p = p[frames]
        for j, b in enumerate(behaviors):
            part[f"p_{b}"] = np.round(p[:, j], 4)
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(columns=ETHOGRAM_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ETHOGRAM_COLUMNS]


def binary_table(labels: dict[str, np.ndarray], fps: float,
                 behaviors: tuple[str, ...] = BEHAVIORS, frames: slice | None = None
                 ) -> pd.DataFrame:
    """BORIS "behaviour binary table": ``time`` and one 0/1 column per ``subject|behavior``.

    ``frames``: only these rows (e.g. ``slice(0, 1000)``), as the whole table has them.
    """
    n = max((len(v) for v in labels.values()), default=0)
    frame = np.arange(n) if frames is None else np.arange(n)[frames]
    out = {"time": np.round(frame / fps, 6)}
    for ind, lab in labels.items():
        lab = np.asarray(lab, dtype=object)
        if frames is not None:
            lab = lab[frames]
        for b in behaviors:
            out[f"{ind}|{b}"] = (lab == b).astype(np.int8)
    return pd.DataFrame(out)


def write_ethogram_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``ethogram.csv`` atomically (values as given; the table rounds to 4 decimals)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_binary_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``binary.csv`` atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_ethogram(labels: dict[str, np.ndarray], proba: dict[str, np.ndarray], fps: float,
                   path: str | os.PathLike, *, block_frames: int = BLOCK_FRAMES) -> Path:
    """Write ``ethogram.csv`` of :func:`ethogram_table` block by block, atomically.

    The bytes of ``write_ethogram_csv(ethogram_table(labels, proba, fps), path)``, without
    ever holding the whole table.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if not labels:
            pd.DataFrame(columns=ETHOGRAM_COLUMNS).to_csv(f, index=False)
        first = True
        for ind, lab in labels.items():
            for start in range(0, max(len(lab), 1), block_frames):
                part = ethogram_table({ind: lab}, {ind: proba[ind]}, fps,
                                      frames=slice(start, start + block_frames))
                part.to_csv(f, index=False, header=first)
                first = False
    return Path(path)


def write_binary(labels: dict[str, np.ndarray], fps: float, path: str | os.PathLike, *,
                 block_frames: int = BLOCK_FRAMES) -> Path:
    """Write ``binary.csv`` of :func:`binary_table` block by block, atomically (same bytes)."""
    n = max((len(v) for v in labels.values()), default=0)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        for start in range(0, max(n, 1), block_frames):
            binary_table(labels, fps, frames=slice(start, start + block_frames)).to_csv(
                f, index=False, header=start == 0)
    return Path(path)
