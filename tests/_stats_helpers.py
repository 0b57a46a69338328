"""Synthetic classified sessions with known structure, for the statistics tests and benchmark.

A session is a series of trial cycles, one every ``cycle_s`` seconds. In a coordinated cycle
(probability ``skill``) mouse1 waits at its port for 1.5 s, both mice interact at the
partition from 4 s to 2 s before the poke, mouse1 pokes at ``t`` and mouse2 within
``+-window/2``; in an uncoordinated cycle each mouse approaches the partition 9-7 s before
its own poke (outside the 5 s lookback) and the pokes are far apart. So each poke's success
and strategies are known by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.io.bouts import BOUT_COLUMNS, write_bouts_csv

SUBJECTS = ("mouse1", "mouse2")


def synthetic_session(
    rng: np.random.Generator,
    *,
    skill: float,
    duration_s: float = 600.0,
    window_s: float = 1.0,
    cycle_s: float = 20.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(events, bouts, truth)``; ``truth`` has one row per poke with its flags."""
    starts = np.arange(10.0, duration_s - 10.0, cycle_s)
    t1 = starts + rng.uniform(0, 2, len(starts))
    coord = rng.random(len(starts)) < skill
    t2 = np.where(coord, t1 + rng.uniform(-0.45, 0.45, len(starts)) * window_s,
                  t1 + rng.uniform(4.0, 7.0, len(starts)))
    events = pd.DataFrame({
        "time_s": np.r_[0.0, t1, t2],
        "subject": ["", *["mouse1"] * len(t1), *["mouse2"] * len(t2)],
        "event": ["window", *["poke"] * (2 * len(t1))],
        "value": np.r_[window_s, np.full(2 * len(t1), np.nan)],
    }).sort_values("time_s", kind="stable").reset_index(drop=True)
    bouts = []
    for k in range(len(starts)):
        if coord[k]:
            bouts.append(("mouse1", "waiting", t1[k] - 1.5, t1[k]))
            for m in SUBJECTS:
                bouts.append((m, "interaction", t1[k] - 4.0, t1[k] - 2.0))
        else:
            bouts.append(("mouse1", "approach", t1[k] - 9.0, t1[k] - 7.0))
            bouts.append(("mouse2", "approach", t2[k] - 9.0, t2[k] - 7.0))
    b = pd.DataFrame(bouts, columns=["individual", "behavior", "start_s", "stop_s"])
    fps = 30.0
    b["start_frame"] = np.round(b["start_s"] * fps).astype(int)
    b["stop_frame"] = np.round(b["stop_s"] * fps).astype(int)
    b["start_s"] = b["start_frame"] / fps
    b["stop_s"] = b["stop_frame"] / fps
    b["duration_s"] = b["stop_s"] - b["start_s"]
    b["confidence"] = 0.9
    b = b[BOUT_COLUMNS].sort_values(["individual", "start_s"]).reset_index(drop=True)
    truth = pd.DataFrame({
        "subject": ["mouse1"] * len(t1) + ["mouse2"] * len(t2),
        "time_s": np.r_[t1, t2],
        "coordinated": np.r_[coord, coord].astype(int),
        "waited": np.r_[coord, np.zeros(len(t2), bool)].astype(int),
        "interacted": np.r_[coord, coord].astype(int),
    })
    return events, b, truth


def write_classified(
    folder: Path,
    *,
    pair: str,
    session: int,
    events: pd.DataFrame,
    bouts: pd.DataFrame | None,
    window_s: float | None = 1.0,
    duration_s: float = 600.0,
    fps: float = 30.0,
    **meta: object,
) -> Path:
    """Write a classify output folder (session.json, events.csv, bouts.csv)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = {"pair": pair, "session": session, "fps": fps, "n_frames": int(duration_s * fps),
            "window_s": window_s, "poke_source": "log", **meta}
    (folder / "session.json").write_text(json.dumps(info))
    events.to_csv(folder / "events.csv", index=False)
    if bouts is not None:
        write_bouts_csv(bouts, folder / "bouts.csv", fps)
    return folder


def synthetic_cohort(
    root: Path,
    n_pairs: int,
    n_sessions: int,
    *,
    duration_s: float = 600.0,
    seed: int = 0,
    cycle_s: float = 20.0,
) -> list[Path]:
    """Write a cohort whose skill grows from 0.1 to 0.9 over sessions; return the folders."""
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n_pairs):
        for s in range(n_sessions):
            skill = 0.1 + 0.8 * s / max(n_sessions - 1, 1)
            ev, b, _ = synthetic_session(rng, skill=skill, duration_s=duration_s,
                                         cycle_s=cycle_s)
            out.append(write_classified(root / f"pair{p:02d}" / f"day{s:02d}", pair=f"pair{p:02d}",
                                        session=s, events=ev, bouts=b, duration_s=duration_s))
    return out
