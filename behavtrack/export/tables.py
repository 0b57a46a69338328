"""``ethogram.csv`` (tidy frame labels with posteriors) and ``binary.csv`` (BORIS binary table)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.files import atomic_path
from behavtrack.io.bouts import BEHAVIORS

__all__ = ["ETHOGRAM_COLUMNS", "ethogram_table", "binary_table", "write_ethogram_csv",
           "write_binary_csv"]

ETHOGRAM_COLUMNS = ["frame", "time_s", "individual", "behavior"] + [f"p_{b}" for b in BEHAVIORS]


def ethogram_table(labels: dict[str, np.ndarray], proba: dict[str, np.ndarray], fps: float,
                   behaviors: tuple[str, ...] = BEHAVIORS) -> pd.DataFrame:
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

    """
    parts = []
    for ind, lab in labels.items():
        n = len(lab)
        part = {"frame": np.arange(n), "time_s": np.round(np.arange(n) / fps, 4),
                "individual": ind,
                "behavior": np.asarray(lab, dtype=object)}
        p = np.asarray(proba[ind], dtype=float)
        for j, b in enumerate(behaviors):
            part[f"p_{b}"] = np.round(p[:, j], 4)
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(columns=ETHOGRAM_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ETHOGRAM_COLUMNS]


def binary_table(labels: dict[str, np.ndarray], fps: float,
                 behaviors: tuple[str, ...] = BEHAVIORS) -> pd.DataFrame:
    """BORIS "behaviour binary table": ``time`` and one 0/1 column per ``subject|behavior``."""
    n = max((len(v) for v in labels.values()), default=0)
    out = {"time": np.round(np.arange(n) / fps, 6)}
    for ind, lab in labels.items():
        lab = np.asarray(lab, dtype=object)
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
