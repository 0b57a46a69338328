"""Simulated sessions and cohorts: :func:`simulate_session`, :func:`simulate_cohort`.

A :class:`SimulatedSession` carries what a rig and a tracker would give (noisy pose, event
log, arena with the day's window) next to the truth (exact pose, per-frame labels) and a
``meta`` dict for ``session.json``. Every random draw comes from
``numpy.random.default_rng([seed, pair, day, stream])``, so a session is the same whether it
is simulated alone or inside a cohort; alone, the day's window is found by replaying the
curriculum over the earlier days (their plans only, which is cheap).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavtrack.io.arena import Arena, default_arena
from behavtrack.io.bouts import BEHAVIORS, frames_to_bouts, runs
from behavtrack.simulate.behaviour import Plan, frame_labels, plan_session
from behavtrack.simulate.config import SimulationConfig, check_run_parameters
from behavtrack.simulate.faults import apply_faults
from behavtrack.simulate.geometry import Chamber, chamber_from_arena
from behavtrack.simulate.learning import Curriculum, PairTraits, pair_traits, progress_of
from behavtrack.simulate.motion import KEYPOINTS, track_keypoints

__all__ = ["SimulatedSession", "simulate_session", "simulate_cohort",
           "SIMULATOR_VERSION"]

#: Version of the simulator's model; recorded in ``session.json``.
SIMULATOR_VERSION = 1
_PLAN, _MOTION, _FAULTS = 1, 2, 3


@dataclass
class SimulatedSession:
    """One simulated session with its truth.

    Attributes
    ----------
    pose
        movement poses Dataset as a tracker would give it (jitter, dropouts, swaps,
        missing frames); individuals ``mouse1``, ``mouse2``; keypoints
        ``nose, left_ear, right_ear, centroid, tail_base``; ``attrs["fps"]`` set.
    truth_pose
        The exact poses (confidence 1).
    labels
        Per-frame truth: ``frame, time_s, individual, behavior``.
    events
        The rig's log: ``time_s, frame, subject, event, value`` (``window``, ``poke``,
        ``reward``).
    arena
        The arena with ``window_s`` of that day.
    meta
        Metadata for ``session.json`` (pair, session, day, progress, fps, window, seed,
        truth summaries).

    """

    pose: xr.Dataset
    truth_pose: xr.Dataset
    labels: pd.DataFrame
    events: pd.DataFrame
    arena: Arena
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frame rate."""
        return float(self.meta["fps"])

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.meta["n_frames"])

    @property
    def success_rate(self) -> float:
        """Fraction of pokes that were rewarded."""
        return float(self.meta["success_rate"])

    def bouts(self) -> pd.DataFrame:
        """Return the truth labels as a bouts table (``behavtrack.io.bouts`` layout)."""
        parts = [
            frames_to_bouts(g["behavior"].to_numpy(), self.fps, str(ind))
            for ind, g in self.labels.groupby("individual", sort=False)
        ]
        return pd.concat(parts, ignore_index=True)


def _rng(seed: int, pair: int, day: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(pair), int(day), stream])


def _plan(chamber: Chamber, traits: PairTraits, cfg: SimulationConfig, *, seed: int, pair: int,
          day: int, n_days: int, n_frames: int, fps: float, window_s: float) -> Plan:
    skills = traits.skill(progress_of(day, n_days), cfg)
    m = traits.mice
    return plan_session(
        chamber, skills, (m[0].size, m[1].size), (m[0].speed, m[1].speed),
        (m[0].wait_bias, m[1].wait_bias), window_s, n_frames, fps, cfg,
        _rng(seed, pair, day, _PLAN),
    )


def _poses(position: np.ndarray, confidence: np.ndarray, fps: float, names: list[str]
           ) -> xr.Dataset:
    from movement.io import load_poses

    ds = load_poses.from_numpy(
        position_array=position, confidence_array=confidence, individual_names=names,
        keypoint_names=list(KEYPOINTS), fps=fps, source_software="behavtrack.simulate",
    )
    ds.attrs["fps"] = float(fps)
    return ds


def simulate_session(
    arena: Arena | None = None,
    *,
    day: int = 0,
    n_days: int = 10,
    pair: int = 0,
    duration_s: float = 300.0,
    fps: float = 30.0,
    seed: int = 0,
    noise: bool = True,
    window_s: float | None = None,
    config: SimulationConfig | None = None,
    curriculum: Curriculum | None = None,
) -> SimulatedSession:
    """Simulate one session of a pair of mice in the cooperation task.

    Parameters
    ----------
    arena
        The chamber (default: :func:`behavtrack.io.arena.default_arena`). It needs a
        partition and two compartments with an individual, a poke port and a water port.
    day
        Day index (0-based) within ``n_days`` days of training.
    n_days
        Length of training; progress is ``day / (n_days - 1)``.
    pair
        Pair index (0-based); sets the pair's and its mice's traits together with ``seed``.
    duration_s, fps
        Session length (seconds) and frame rate.
    seed
        Seed of the cohort; the same arguments give the same session.
    noise
        Whether ``pose`` carries tracker faults (otherwise it equals ``truth_pose``).
    window_s
        Force the coordination window; by default it comes from ``curriculum`` or, without
        one, from replaying the curriculum over days ``0 .. day - 1``.
    config
        Simulator parameters (default :class:`SimulationConfig`).
    curriculum
        The pair's curriculum state (as carried by :func:`simulate_cohort`).

    Returns
    -------
    SimulatedSession

    Raises
    ------
    InputError
        For a bad parameter or an arena that cannot host the task.

    Examples
    --------
    >>> from behavtrack.simulate import simulate_session
    >>> sess = simulate_session(day=9, duration_s=60, seed=1)
    >>> sess.meta["pair"], sess.n_frames, sess.pose.individual.values.tolist()
    ('pair01', 1800, ['mouse1', 'mouse2'])

    """
    cfg = config or SimulationConfig()
    check_run_parameters(duration_s=duration_s, fps=fps, n_days=n_days, day=day, pair=pair,
                         seed=seed)
    arena = arena if arena is not None else default_arena()
    chamber = chamber_from_arena(arena)
    fps = float(fps)
    n_frames = int(round(duration_s * fps))
    traits = pair_traits(seed, pair, cfg)
    if window_s is None:
        if curriculum is None:
            curriculum = Curriculum(cfg)
            for d in range(day):
                past = _plan(chamber, traits, cfg, seed=seed, pair=pair, day=d, n_days=n_days,
                             n_frames=n_frames, fps=fps, window_s=curriculum.window_s)
                curriculum.update(past.success_rate)
        window_s = curriculum.window_s
    elif not (isinstance(window_s, (int, float)) and window_s > 0):
        from behavtrack.errors import InputError

        raise InputError("window_s", f"invalid value {window_s!r}", "give seconds > 0")
    stage = curriculum.stage if curriculum is not None else None
    plan = _plan(chamber, traits, cfg, seed=seed, pair=pair, day=day, n_days=n_days,
                 n_frames=n_frames, fps=fps, window_s=float(window_s))

    names = [s.individual for s in chamber.sides]
    rng_m = _rng(seed, pair, day, _MOTION)
    truth = np.stack([track_keypoints(tr, n_frames, rng_m) for tr in plan.tracks], axis=-1)
    truth_pose = _poses(truth, np.ones((n_frames, len(KEYPOINTS), 2)), fps, names)
    lab = frame_labels(plan)
    faults = {"dropouts": 0, "swaps": 0, "missing": 0, "swapped_frames": 0}
    if noise:
        cm = chamber.cm
        close = np.linalg.norm(truth[:, :, 0, 0] - truth[:, :, 0, 1], axis=1) < 6 * cm
        pos, conf, faults = apply_faults(truth, fps, cfg, _rng(seed, pair, day, _FAULTS), close)
        pose = _poses(pos, conf, fps, names)
    else:
        pose = truth_pose.copy(deep=True)

    frames = np.arange(n_frames)
    behav = np.asarray(BEHAVIORS, dtype=object)
    labels = pd.DataFrame({
        "frame": np.repeat(frames, 2),
        "time_s": np.repeat(frames / fps, 2),
        "individual": np.tile(np.asarray(names, dtype=object), n_frames),
        "behavior": behav[lab.reshape(-1)],
    })
    labels["individual"] = labels["individual"].astype(str)
    labels["behavior"] = labels["behavior"].astype(str)

    rows = [(0, "", "window", float(window_s))]
    rows += [(f, names[i], "poke", np.nan) for f, i in plan.pokes if f < n_frames]
    rows += [(f, nm, "reward", np.nan) for f in plan.rewards if f < n_frames for nm in names]
    order = {"window": 0, "poke": 1, "reward": 2}
    rows.sort(key=lambda r: (r[0], order[r[2]], r[1]))
    events = pd.DataFrame(rows, columns=["frame", "subject", "event", "value"])
    events.insert(0, "time_s", events["frame"] / fps)
    events = events[["time_s", "frame", "subject", "event", "value"]]
    events["frame"] = events["frame"].astype(int)

    day_arena = dataclasses.replace(arena, window_s=float(window_s), fps=fps)
    meta = _meta(plan, lab, names, seed=seed, pair=pair, day=day, n_days=n_days, fps=fps,
                 n_frames=n_frames, window_s=float(window_s), stage=stage, noise=noise,
                 skills=traits.skill(progress_of(day, n_days), cfg), faults=faults)
    return SimulatedSession(pose=pose, truth_pose=truth_pose, labels=labels, events=events,
                            arena=day_arena, meta=meta)


def _meta(plan: Plan, lab: np.ndarray, names: list[str], *, seed: int, pair: int, day: int,
          n_days: int, fps: float, n_frames: int, window_s: float, stage: int | None,
          noise: bool, skills: np.ndarray, faults: dict[str, int]) -> dict[str, Any]:
    pokes = np.array([i for f, i in plan.pokes if f < n_frames], dtype=int)
    n_rewards = sum(f < n_frames for f in plan.rewards)
    mice = {}
    for i, nm in enumerate(names):
        col = lab[:, i]
        _, _, starts = runs(col)  # the behaviour of each bout
        mice[nm] = {
            "skill": round(float(skills[i]), 4),
            "n_pokes": int((pokes == i).sum()),
            "n_rewards": int(n_rewards),
            **{f"fraction_{b}": round(float((col == j).mean()), 4)
               for j, b in enumerate(BEHAVIORS)},
            **{f"bouts_{b}": int((starts == j).sum()) for j, b in enumerate(BEHAVIORS)
               if b != "other"},
        }
    cycles: dict[str, int] = {}
    for c in plan.cycles:
        cycles[c["type"]] = cycles.get(c["type"], 0) + 1
    return {
        "source": "simulated",
        "simulator_version": SIMULATOR_VERSION,
        "pair": f"pair{pair + 1:02d}",
        "session": int(day),
        "day": int(day),
        "n_days": int(n_days),
        "progress": progress_of(day, n_days),
        "fps": float(fps),
        "n_frames": int(n_frames),
        "duration_s": n_frames / fps,
        "window_s": float(window_s),
        "curriculum_stage": stage,
        "seed": int(seed),
        "noise": bool(noise),
        "individuals": list(names),
        "n_pokes": int(len(pokes)),
        "n_rewards": int(n_rewards),
        "success_rate": round(2 * n_rewards / len(pokes), 4) if len(pokes) else 0.0,
        "cycles": cycles,
        "faults": faults,
        "mice": mice,
    }


def simulate_cohort(
    n_pairs: int,
    n_days: int,
    duration_s: float = 300.0,
    fps: float = 30.0,
    seed: int = 0,
    *,
    noise: bool = True,
    arena: Arena | None = None,
    config: SimulationConfig | None = None,
) -> Iterator[SimulatedSession]:
    """Simulate ``n_pairs`` pairs over ``n_days`` days, one session a day, pair by pair.

    The curriculum state carries from day to day within a pair: a session's success rate
    decides the next day's window. Sessions equal those of :func:`simulate_session` with
    the same arguments.

    Yields
    ------
    SimulatedSession
        In order pair 0 day 0, pair 0 day 1, ..., pair 1 day 0, ...

    """
    cfg = config or SimulationConfig()
    check_run_parameters(duration_s=duration_s, fps=fps, n_days=n_days, n_pairs=n_pairs,
                         seed=seed)
    arena = arena if arena is not None else default_arena()
    chamber_from_arena(arena)  # fail at the call on a bad arena, not at the first session
    return _cohort(n_pairs, n_days, duration_s, fps, seed, noise, arena, cfg)


def _cohort(n_pairs: int, n_days: int, duration_s: float, fps: float, seed: int, noise: bool,
            arena: Arena, cfg: SimulationConfig) -> Iterator[SimulatedSession]:
    for pair in range(n_pairs):
        cur = Curriculum(cfg)
        for day in range(n_days):
            sess = simulate_session(arena, day=day, n_days=n_days, pair=pair,
                                    duration_s=duration_s, fps=fps, seed=seed, noise=noise,
                                    config=cfg, curriculum=cur)
            cur.update(_plan_success(sess))
            yield sess


def _plan_success(sess: SimulatedSession) -> float:
    return float(sess.meta["success_rate"])
