"""Agent rollouts of the cooperative nose-poke grid world, as poses and events like the mice's.

Reads the ``.mat`` files saved by MARL_Environment_Poke's ``evaluate_save_activation.py`` and
the tidy rollouts CSV (``run, checkpoint, episode, step, agent, row, col, ...``) into
:class:`Rollout` objects: one per (run, checkpoint), holding a movement poses Dataset (agents
``agent1, agent2`` as individuals, one keypoint ``centroid``, x = absolute grid column 0-7,
y = row 0-7, time = step index over the concatenated episodes) with the poke and water cells as
extra data variables, the events (``poke``, ``drink``, ``correct``, ``miss``) in the layout of
:mod:`behavtrack.io.events`, and the grid's geometry as an :class:`~behavtrack.io.arena.Arena`
(:func:`grid_arena`).

Conventions of the ``.mat`` files (see ``../shared/data/marl/README.md``): every ``[col, row]``
pair comes from the agent's own observation, so columns are relative to the agent's half and
agent2's absolute column is the stored value + 4. Locations in row ``t`` are those *before*
step ``t``. There is no poke or drink key: a poke at step ``t`` is recovered when the agent's
location equals its poke cell in row ``t + 1`` and did not in row ``t`` (or ``t`` is the
episode's first step); a drink at step ``t`` when the agent's poke or water cell moved between
rows ``t`` and ``t + 1`` (the cells move only right after that agent drinks), or, if both were
redrawn where they were, when the agent ends step ``t`` on its water cell with a reward of +2 on
a step without a synchronised poke. Neither can be recovered for an episode's last step, whose
outcome position is not recorded (nor a drink whose cells were redrawn in place on a step whose
reward a miss penalty overrode).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.files import require_file
from behavtrack.io.arena import Arena, Compartment

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "AGENTS",
    "CSV_COLUMNS",
    "EPISODE_STEPS",
    "GRID_COLUMNS",
    "GRID_ROWS",
    "HALF_WIDTH",
    "MAT_KEYS",
    "Rollout",
    "find_rollout_files",
    "grid_arena",
    "is_rollout_file",
    "load_rollouts",
]

AGENTS: tuple[str, str] = ("agent1", "agent2")
GRID_ROWS = 8
GRID_COLUMNS = 8
HALF_WIDTH = 4
#: Steps per episode in the repository's evaluation script (the .mat files do not store it).
EPISODE_STEPS = 500
#: Synchronised pokes: both agents poked within this step itself and the 2 before it.
SYNC_LIMIT = 2

MAT_KEYS = (
    "agent1_loc", "agent2_loc", "agent1_water", "agent2_water", "agent1_nosepoke",
    "agent2_nosepoke", "correct", "miss", "act1", "act2", "rew1", "rew2",
)
CSV_COLUMNS = (
    "run", "checkpoint", "episode", "step", "agent", "row", "col", "poke_row", "poke_col",
    "water_row", "water_col", "poked", "drank", "correct", "miss", "action", "reward",
)
_EVENT_ORDER = {"poke": 0, "drink": 1, "correct": 2, "miss": 3}


@dataclass
class Rollout:
    """The steps of one checkpoint of one run, as a pose, events and an arena.

    Attributes
    ----------
    run
        The run (seed) label.
    checkpoint
        Training checkpoint (the progress axis of learning curves).
    pose
        movement poses Dataset: individuals ``agent1, agent2``, keypoint ``centroid``,
        ``position`` x = absolute column, y = row; ``time`` = global step index (``fps`` 1),
        with coordinates ``episode`` and ``step`` along ``time``; extra data variables
        ``poke_cell``, ``water_cell`` (time, space, individual), ``action`` and ``reward``
        (time, individual).
    events
        ``time_s`` (= global step index), ``frame``, ``subject`` (agent, or empty for the
        joint ``correct``/``miss``), ``event`` in {poke, drink, correct, miss}, ``value``
        (NaN), ``episode``, ``step``.
    arena
        :func:`grid_arena`.
    source
        The file read.

    """

    run: str
    checkpoint: int
    pose: xr.Dataset
    events: pd.DataFrame
    arena: Arena
    source: str


def grid_arena() -> Arena:
    """Return the 8 x 8 grid as an arena in cell units.

    Cells are centred on integer (column, row) coordinates. The left compartment (columns 0-3)
    belongs to ``agent1``, the right one (columns 4-7) to ``agent2``; the partition is the
    line x = 3.5. Ports move every episode (and after each drink), so the compartments have
    none; the rollouts carry them per step as ``poke_cell``/``water_cell``. ``fps`` is 1
    (one step per "second") and ``window_s`` 2: pokes at most 2 steps apart are synchronised.
    """
    lo, mid, hi = -0.5, HALF_WIDTH - 0.5, GRID_COLUMNS - 0.5
    top, bottom = -0.5, GRID_ROWS - 0.5
    left = Compartment("left", np.array([[lo, top], [mid, top], [mid, bottom], [lo, bottom]]),
                       "agent1", None, None)
    right = Compartment("right", np.array([[mid, top], [hi, top], [hi, bottom], [mid, bottom]]),
                        "agent2", None, None)
    return Arena(
        name="marl-grid",
        partition=np.array([[mid, top], [mid, bottom]]),
        compartments={"left": left, "right": right},
        px_per_cm=1.0,
        units="cells",
        window_s=float(SYNC_LIMIT),
        frame_size=(GRID_COLUMNS, GRID_ROWS),
        fps=1.0,
    )


def is_rollout_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like an agent rollout file (``.mat``, or the tidy CSV's header)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return True
    if path.suffix.lower() == ".csv" and path.is_file():
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                header = [c.strip() for c in f.readline().split(",")]
        except OSError:
            return False
        return {"checkpoint", "episode", "step", "agent"} <= set(header)
    return False


# ---- building the Rollout from per-step arrays ------------------------------------------------
def _events_from_flags(
    pokes: np.ndarray, drinks: np.ndarray, correct: np.ndarray, miss: np.ndarray,
    episode: np.ndarray, step: np.ndarray,
) -> pd.DataFrame:
    """Events table from per-step flags: ``pokes``/``drinks`` (N, 2), ``correct``/``miss`` (N,)."""
    parts = []
    for j, agent in enumerate(AGENTS):
        for name, flags in (("poke", pokes[:, j]), ("drink", drinks[:, j])):
            idx = np.flatnonzero(flags)
            parts.append(pd.DataFrame({"frame": idx, "subject": agent, "event": name}))
    for name, flags in (("correct", correct), ("miss", miss)):
        idx = np.flatnonzero(flags)
        parts.append(pd.DataFrame({"frame": idx, "subject": "", "event": name}))
    ev = pd.concat(parts, ignore_index=True)
    ev["frame"] = ev["frame"].astype(int)
    ev["order"] = ev["event"].map(_EVENT_ORDER)
    ev = ev.sort_values(["frame", "order", "subject"], kind="stable").drop(columns="order")
    ev = ev.reset_index(drop=True)
    ev.insert(0, "time_s", ev["frame"].astype(float))
    ev["value"] = np.nan
    ev["episode"] = episode[ev["frame"].to_numpy()].astype(int)
    ev["step"] = step[ev["frame"].to_numpy()].astype(int)
    ev["subject"] = ev["subject"].astype(str)
    ev["event"] = ev["event"].astype(str)
    return ev[["time_s", "frame", "subject", "event", "value", "episode", "step"]]


def _make_rollout(
    *, run: str, checkpoint: int, loc: np.ndarray, poke: np.ndarray, water: np.ndarray,
    action: np.ndarray, reward: np.ndarray, episode: np.ndarray, step: np.ndarray,
    events: pd.DataFrame, source: str,
) -> Rollout:
    """Arrays (N, 2 [x, y], 2 agents) of absolute cells -> Rollout."""
    # (here, not at the top: finding which inputs are rollouts, as the statistics of mouse
    # sessions do, needs no xarray, 0.2-0.3 s to import)
    import xarray as xr

    n = loc.shape[0]
    time = np.arange(n, dtype=float)
    position = loc.astype(float)[:, :, None, :]  # (time, space, keypoint, individual)
    ds = xr.Dataset(
        {
            "position": (("time", "space", "keypoint", "individual"), position),
            "confidence": (("time", "keypoint", "individual"), np.ones((n, 1, 2))),
            "poke_cell": (("time", "space", "individual"), poke.astype(float)),
            "water_cell": (("time", "space", "individual"), water.astype(float)),
            "action": (("time", "individual"), action.astype(int)),
            "reward": (("time", "individual"), reward.astype(float)),
        },
        coords={
            "time": time,
            "space": ["x", "y"],
            "keypoint": ["centroid"],
            "individual": list(AGENTS),
            "episode": ("time", episode.astype(int)),
            "step": ("time", step.astype(int)),
        },
        attrs={
            "fps": 1.0,
            "time_unit": "steps",
            "source_software": "MARL_Environment_Poke",
            "source_file": source,
            "ds_type": "poses",
            "units": "cells",
            "run": run,
            "checkpoint": int(checkpoint),
        },
    )
    return Rollout(run=run, checkpoint=int(checkpoint), pose=ds, events=events,
                   arena=grid_arena(), source=source)


def _require_on_grid(cells: np.ndarray, path: Path, what: str, hint: str) -> None:
    """Raise :class:`InputError` if any ``(N, 2 [x, y], agents)`` cell is off the 8 x 8 grid."""
    x, y = cells[:, 0, :], cells[:, 1, :]
    if (y < 0).any() or (y >= GRID_ROWS).any() or (x < 0).any() or (x >= GRID_COLUMNS).any():
        raise InputError(path, f"{what} has cells outside the 8 x 8 grid", hint)


# ---- .mat -----------------------------------------------------------------------------------
def _checkpoint_from_name(path: Path) -> int | None:
    found = re.findall(r"\d+", path.stem)
    return int(found[-1]) if found else None


def _mat_run_label(mat: dict) -> str | None:
    """Return the ``run`` label stored in a rollout ``.mat`` (a string), if any.

    ``behavtrack agents train`` stores ``seed<S>``: the rollouts' chance shuffles, seeded from
    the run label, then do not depend on the folder the files are read from.
    """
    value = mat.get("run")
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "US" or arr.size != 1:
        return None
    text = str(arr.ravel()[0]).strip()
    return text or None


def _load_mat(
    path: Path, run: str | None, checkpoint: int | None, episode_steps: int
) -> list[Rollout]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, TypeError, NotImplementedError, EOFError, IndexError,
            KeyError, zlib.error, scipy.io.matlab.MatReadError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(path, f"is not a readable MATLAB file, it may be truncated ({text})",
                         "give a .mat file saved by evaluate_save_activation.py") from None
    missing = [k for k in MAT_KEYS if k not in mat]
    if missing:
        raise InputError(path, f"has no key '{missing[0]}'"
                         + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                         "give a rollout file saved by evaluate_save_activation.py")
    n = None
    arrays = {}
    for key in MAT_KEYS:
        a = np.asarray(mat[key])
        if key.endswith(("_loc", "_water", "_nosepoke")):
            if a.ndim != 2 or a.shape[1] != 2:
                raise InputError(path, f"key '{key}' has shape {a.shape}, expected (N, 2)")
        else:
            a = a.ravel()
        if n is None:
            n = len(a)
        if len(a) != n:
            raise InputError(path, f"key '{key}' has {len(a)} steps, the others {n}")
        arrays[key] = a
    if n == 0:
        raise InputError(path, "holds no steps")
    if n % episode_steps:
        raise InputError(path, f"has {n} steps, not a whole number of {episode_steps}-step "
                         "episodes", "pass episode_steps= with the rollouts' time limit")

    def absolute(key: str, j: int) -> np.ndarray:
        a = arrays[key].astype(int).copy()  # [col within own half, row]
        a[:, 0] += j * HALF_WIDTH
        return a

    loc = np.stack([absolute(f"agent{j + 1}_loc", j) for j in range(2)], axis=-1)
    poke = np.stack([absolute(f"agent{j + 1}_nosepoke", j) for j in range(2)], axis=-1)
    water = np.stack([absolute(f"agent{j + 1}_water", j) for j in range(2)], axis=-1)
    for name, arr in (("loc", loc), ("nosepoke", poke), ("water", water)):
        _require_on_grid(arr, path, f"key 'agent*_{name}'",
                         "columns must be relative to the agent's half (0-3)")

    step = np.arange(n) % episode_steps
    episode = np.arange(n) // episode_steps
    # Outcome of step t is visible in row t + 1 of the same episode.
    has_next = np.zeros(n, dtype=bool)
    has_next[:-1] = episode[1:] == episode[:-1]
    nxt = np.minimum(np.arange(n) + 1, n - 1)
    on_poke = (loc == poke).all(axis=1)  # (N, 2): on its poke cell before step t
    after_on = on_poke[nxt] & has_next[:, None]
    first = (step == 0)[:, None]
    pokes = after_on & (~on_poke | first)
    moved = ((poke[nxt] != poke).any(axis=1) | (water[nxt] != water).any(axis=1))
    # The cells can be redrawn where they were (1 in 16 x 12); then the +2 of a drink on
    # the water cell, on a step that completed no synchronised poke, still tells.
    reward = np.stack([arrays["rew1"], arrays["rew2"]], axis=-1).astype(float)
    on_water_after = (loc[nxt] == water).all(axis=1)
    paid = on_water_after & np.isclose(reward, 2.0) & (arrays["correct"] == 0)[:, None]
    drinks = (moved | paid) & has_next[:, None]

    events = _events_from_flags(
        pokes, drinks, arrays["correct"].astype(bool), arrays["miss"].astype(bool),
        episode, step,
    )
    if checkpoint is None:
        checkpoint = _checkpoint_from_name(path)
        if checkpoint is None:
            raise InputError(path, "gives no checkpoint number in its name",
                             "name it checkpoint_<N>.mat or pass checkpoint=")
    if run is None:  # the label the file carries (behavtrack agents train writes one), else
        run = _mat_run_label(mat) or path.parent.name  # the folder's name
    return [
        _make_rollout(
            run=str(run),
            checkpoint=checkpoint, loc=loc, poke=poke, water=water,
            action=np.stack([arrays["act1"], arrays["act2"]], axis=-1),
            reward=np.stack([arrays["rew1"], arrays["rew2"]], axis=-1),
            episode=episode, step=step, events=events, source=str(path),
        )
    ]


# ---- tidy CSV -------------------------------------------------------------------------------
def _load_csv(path: Path, run: str | None) -> list[Rollout]:
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a readable CSV ({type(exc).__name__})") from None
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, f"has no column '{missing[0]}'",
                         f"a rollouts CSV has columns {', '.join(CSV_COLUMNS)}")
    if df.empty:
        raise InputError(path, "holds no steps")
    bad_agents = sorted(set(df["agent"].astype(str)) - set(AGENTS))
    if bad_agents:
        raise InputError(path, f"column 'agent' has {bad_agents[0]!r}",
                         "agents are agent1 and agent2")
    numeric = [c for c in CSV_COLUMNS if c not in ("run", "agent")]
    for c in numeric:
        if not pd.api.types.is_numeric_dtype(df[c]) or df[c].isna().any():
            raise InputError(path, f"column '{c}' has a value that is not a number")
    df = df.assign(run=df["run"].astype(str))
    out = []
    for (run_id, ckpt), part in df.groupby(["run", "checkpoint"], sort=True):
        part = part.sort_values(["episode", "step", "agent"], kind="stable")
        a1 = part[part["agent"] == "agent1"].reset_index(drop=True)
        a2 = part[part["agent"] == "agent2"].reset_index(drop=True)
        if len(a1) != len(a2) or not (
            (a1[["episode", "step"]].to_numpy() == a2[["episode", "step"]].to_numpy()).all()
        ):
            raise InputError(path, f"run {run_id} checkpoint {ckpt}: agent1 and agent2 rows "
                             "do not pair up step for step")
        if a1.duplicated(["episode", "step"]).any():
            raise InputError(path, f"run {run_id} checkpoint {ckpt}: a step appears twice")
        both = (a1, a2)

        def cells(r: str, c: str, both: tuple = both) -> np.ndarray:
            return np.stack([t[[c, r]].to_numpy(dtype=int) for t in both], axis=-1)

        loc, poke, water = cells("row", "col"), cells("poke_row", "poke_col"), cells(
            "water_row", "water_col")
        for what, arr in (("row/col", loc), ("poke_row/poke_col", poke),
                          ("water_row/water_col", water)):
            _require_on_grid(arr, path, f"run {run_id} checkpoint {ckpt}: column {what}",
                             "rows and columns are 0-7; columns are absolute, agent2's 4-7")
        episode = a1["episode"].to_numpy(dtype=int)
        step = a1["step"].to_numpy(dtype=int)
        pokes = np.stack([t["poked"].to_numpy() != 0 for t in both], axis=-1)
        drinks = np.stack([t["drank"].to_numpy() != 0 for t in both], axis=-1)
        events = _events_from_flags(
            pokes, drinks, a1["correct"].to_numpy() != 0, a1["miss"].to_numpy() != 0,
            episode, step,
        )
        out.append(_make_rollout(
            run=str(run) if run is not None else str(run_id), checkpoint=int(ckpt),
            loc=loc, poke=poke, water=water,
            action=np.stack([t["action"].to_numpy() for t in both], axis=-1),
            reward=np.stack([t["reward"].to_numpy(dtype=float) for t in both], axis=-1),
            episode=episode, step=step, events=events, source=str(path),
        ))
    return out


def load_rollouts(
    path: str | os.PathLike,
    run: str | None = None,
    checkpoint: int | None = None,
    episode_steps: int = EPISODE_STEPS,
) -> list[Rollout]:
    """Load agent rollouts from a ``.mat`` file or the tidy CSV.

    Parameters
    ----------
    path
        ``checkpoint_<N>.mat`` (one checkpoint) or a tidy rollouts CSV (any number of runs
        and checkpoints).
    run
        Run label; default: the CSV's ``run`` column, or the ``.mat`` file's folder name.
    checkpoint
        Checkpoint of a ``.mat`` file; default: the last number in its file name.
    episode_steps
        Steps per episode in a ``.mat`` file (episodes are concatenated there).

    Returns
    -------
    list of Rollout
        One per (run, checkpoint), sorted.

    Raises
    ------
    InputError
        A missing file, a ``.mat`` key or CSV column that is missing (named), cells off the
        grid, or steps that are not whole episodes.

    Examples
    --------
    >>> r = load_rollouts("checkpoint_2000.mat")[0]  # doctest: +SKIP
    >>> r.checkpoint, list(r.pose.individual.values)  # doctest: +SKIP
    (2000, ['agent1', 'agent2'])

    """
    path = require_file(path, "rollout file")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _load_mat(path, run, checkpoint, int(episode_steps))
    if suffix == ".csv":
        return _load_csv(path, run)
    raise InputError(path, f"is not an agent rollout file ({suffix or 'no extension'})",
                     "give a .mat file or the tidy rollouts CSV")


def find_rollout_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Rollout files named by ``paths``: ``.mat``/tidy-CSV files, or folders holding them.

    Parameters
    ----------
    paths
        Rollout files, and folders searched recursively for them.

    Returns
    -------
    list of pathlib.Path
        The files, folders' contents sorted by path, each once
        (:func:`behavtrack.io.inputs.find_inputs` with kind ``rollout``, without globs or
        manifests).

    Raises
    ------
    InputError
        If a path does not exist, or a file given is not a rollout file.

    """
    from behavtrack.io.inputs import find_inputs

    return [f.path for f in find_inputs(paths, kinds=("rollout",), globs=False,
                                        manifests=False, empty_ok=True)]
