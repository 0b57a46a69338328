"""The behavioural state process: what each mouse does, when, and where, as a list of segments.

A session is a sequence of trial cycles. In each cycle both mice first spend a free phase
(exploring, grooming, resting); then the pair plays one of three cycle types, drawn from
its skill:

``solo``
    each mouse may wander to the partition alone (approach), then goes to its poke port and
    pokes on its own clock: success only by chance.
``wait``
    a leader goes to its port and waits there; its waiting ends when the partner arrives
    and pokes (or when its patience runs out), and then it pokes.
``interact``
    both mice approach the partition, meet there (interaction needs both), leave together
    and poke; the one arriving first at its port waits for the other.

Pokes within the day's window of each other are rewarded: both mice then drink. The
result is a :class:`Plan`: for each mouse a list of :class:`Segment` objects (travel, dwell,
groom, poke, drink) with integer frame bounds and targets, plus the pokes and rewards.
The state process runs per cycle in Python (a few hundred cycles an hour); the motion
inside segments is generated with numpy by :mod:`behavtrack.simulate.motion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from behavtrack.io.bouts import BEHAVIORS
from behavtrack.simulate.config import SimulationConfig
from behavtrack.simulate.geometry import Chamber, Side

__all__ = [
    "TRAVEL", "DWELL", "GROOM", "POKE", "DRINK",
    "TAG_OTHER", "TAG_APPROACH", "TAG_PARTITION", "TAG_PORTWAIT",
    "Segment", "MouseTrack", "Plan", "plan_session", "frame_labels", "body_lengths",
]

# segment kinds (how the body moves)
TRAVEL, DWELL, GROOM, POKE, DRINK = range(5)
# segment tags (what the segment means for the truth labels)
TAG_OTHER, TAG_APPROACH, TAG_PARTITION, TAG_PORTWAIT = range(4)

_APPROACH, _WAITING, _INTERACTION, _OTHER = (BEHAVIORS.index(b) for b in
                                            ("approach", "waiting", "interaction", "other"))


def body_lengths(cfg: SimulationConfig, size: float, cm: float) -> dict[str, float]:
    """Body dimensions of a mouse of relative ``size`` in arena units.

    Keys: ``neck`` (centroid to neck), ``head`` (neck to nose), ``nose`` (centroid to nose
    when straight), ``tail`` (centroid to tail base), ``ear_back``, ``ear_side``.
    """
    length = cfg.body_length_cm * size * cm
    neck, head, tail = 0.22 * length, 0.28 * length, 0.5 * length
    return {"neck": neck, "head": head, "nose": neck + head, "tail": tail,
            "ear_back": 0.06 * length, "ear_side": 0.11 * length}


@dataclass
class Segment:
    """A stretch of one mouse's time with one kind of motion.

    Attributes
    ----------
    start, stop
        Frames ``[start, stop)``.
    kind
        ``TRAVEL``, ``DWELL``, ``GROOM``, ``POKE`` or ``DRINK``.
    tag
        ``TAG_OTHER``, ``TAG_APPROACH`` (travel to the partition), ``TAG_PARTITION`` (at the
        partition) or ``TAG_PORTWAIT`` (a pre-poke dwell at the own poke port).
    p0, p1
        Centroid at the start and end (equal for dwells).
    face
        Facing angle (radians) of dwells, pokes and drinks.
    port
        The port centre a poke or drink aims the nose at; ``port_dir`` its wall's normal,
        ``port_r`` its radius.
    wait_until
        For ``TAG_PORTWAIT``: the frame the wait ends (the partner's poke or the own poke).
    ctrl
        For a curved travel: the control point of its quadratic Bezier path.

    """

    start: int
    stop: int
    kind: int
    tag: int
    p0: np.ndarray
    p1: np.ndarray
    face: float = 0.0
    port: np.ndarray | None = None
    port_dir: np.ndarray | None = None
    port_r: float = 0.0
    wait_until: int = -1
    ctrl: np.ndarray | None = None


class MouseTrack:
    """One mouse's growing list of segments, with a cursor (frame, position, heading)."""

    def __init__(self, side: Side, chamber: Chamber, cfg: SimulationConfig, size: float,
                 speed: float, fps: float, rng: np.random.Generator, start: np.ndarray) -> None:
        self.side, self.chamber, self.cfg, self.fps, self.rng = side, chamber, cfg, fps, rng
        self.cm = chamber.cm
        self.body = body_lengths(cfg, size, self.cm)
        self.speed = speed
        self.segments: list[Segment] = []
        self.t = 0
        self.pos = np.asarray(start, dtype=float)
        self.heading = float(rng.uniform(-math.pi, math.pi))
        self.poke_in_frames = max(2, round(0.12 * fps))
        self._pool: np.ndarray | None = None

    # ---- spots -----------------------------------------------------------------------
    def wait_spot(self) -> np.ndarray:
        """Centroid position for waiting at the poke port, nose just outside its zone."""
        s = self.side
        return s.poke + s.poke_dir * (s.poke_r + 0.8 * self.cm + self.body["nose"])

    def drink_spot(self) -> np.ndarray:
        """Centroid position for drinking, nose inside the water-port zone."""
        s = self.side
        return s.water + s.water_dir * (max(s.water_r - 0.6 * self.cm, 0.0) + self.body["nose"])

    def partition_spot(self, along: float) -> np.ndarray:
        """Centroid position at the partition, nose half a centimetre from it."""
        return self.chamber.partition_point(self.side, along, self.body["nose"] + 0.5 * self.cm)

    def _spot_pool(self) -> np.ndarray:
        """Exploration targets away from walls, ports and partition (drawn once per mouse)."""
        s, cm = self.side, self.cm
        reach = self.body["nose"] + 2.0 * cm
        cand = np.random.default_rng(1234).uniform(s.lo, s.hi, size=(4096, 2))
        ok = (s.inside(cand, 3.0 * cm)
              & (np.linalg.norm(cand - s.poke, axis=1) > s.poke_r + reach)
              & (np.linalg.norm(cand - s.water, axis=1) > s.water_r + reach)
              & (self.chamber.signed_partition_distance(s, cand) > reach + 1.0 * cm))
        return cand[ok] if ok.any() else self.wait_spot()[None]  # tiny compartment

    def random_spot(self) -> np.ndarray:
        """Return a random exploration target away from the walls, the ports and the partition."""
        if self._pool is None:
            self._pool = self._spot_pool()
        spot = self._pool[self.rng.integers(len(self._pool))]
        return spot + self.rng.uniform(-0.5, 0.5, 2) * self.cm  # off the pool's grid

    # ---- primitives ------------------------------------------------------------------
    def _add(self, n: int, kind: int, tag: int, p1: np.ndarray, face: float | None = None,
             **kw: object) -> Segment:
        n = max(int(n), 1)
        seg = Segment(self.t, self.t + n, kind, tag, self.pos.copy(), np.asarray(p1, float).copy(),
                      self.heading if face is None else face, **kw)  # type: ignore[arg-type]
        self.segments.append(seg)
        self.t += n
        self.pos = seg.p1
        if face is not None:
            self.heading = face
        return seg

    def travel(self, to: np.ndarray, tag: int = TAG_OTHER, speed_scale: float = 1.0,
               ctrl: np.ndarray | None = None) -> None:
        """Move the centroid to ``to`` at a random speed (nothing if already there).

        With ``ctrl`` the path is the quadratic Bezier curve through that control point, so
        the mouse arrives moving along ``to - ctrl``.
        """
        d = float(np.linalg.norm(np.asarray(to) - self.pos))
        if d < 0.3 * self.cm:
            return
        if ctrl is not None:  # a curve is longer than the chord
            d = 0.5 * (d + np.linalg.norm(ctrl - self.pos) + np.linalg.norm(to - ctrl))
        v = (self.cfg.speed_cm_s * self.speed * speed_scale
             * self.rng.lognormal(0.0, self.cfg.speed_sigma)) * self.cm
        n = max(2, round(d / v * self.fps))
        dx, dy = np.asarray(to) - (self.pos if ctrl is None else ctrl)
        self._add(n, TRAVEL, tag, to, ctrl=None if ctrl is None else np.asarray(ctrl, float))
        self.heading = math.atan2(dy, dx)

    def travel_head_on(self, spot: np.ndarray, out_dir: np.ndarray, tag: int = TAG_OTHER
                       ) -> None:
        """Travel to ``spot`` on a smooth curve that ends moving along ``-out_dir``."""
        dist = float(np.linalg.norm(self.pos - spot))
        ctrl = spot + out_dir * min(0.5 * dist, 6.0 * self.cm)
        if dist < 2.0 * self.cm or not self.side.inside(ctrl[None], 1.0 * self.cm)[0]:
            ctrl = None
        self.travel(spot, tag, speed_scale=0.8, ctrl=ctrl)

    def dwell(self, seconds: float, tag: int = TAG_OTHER, face: float | None = None,
              kind: int = DWELL) -> Segment:
        """Stay in place for ``seconds`` (at least a frame)."""
        return self._add(round(seconds * self.fps), kind, tag, self.pos, face=face)

    def dwell_until(self, frame: int, tag: int = TAG_OTHER, face: float | None = None) -> None:
        """Stay in place until ``frame`` (nothing if already past it)."""
        if frame > self.t:
            self._add(frame - self.t, DWELL, tag, self.pos, face=face)

    def face_of(self, direction: np.ndarray) -> float:
        """Angle of a direction vector."""
        return math.atan2(float(direction[1]), float(direction[0]))

    def go_wait(self) -> int:
        """Travel to the poke port's waiting spot, the last bit head-on; return the arrival."""
        self.travel_head_on(self.wait_spot(), self.side.poke_dir)
        self.heading = self.face_of(-self.side.poke_dir)
        return self.t

    def poke(self, frame: int) -> int:
        """Wait at the port (if early) and poke so that the nose enters the zone at ``frame``."""
        face = self.face_of(-self.side.poke_dir)
        start = frame - self.poke_in_frames
        if start > self.t:
            self._add(start - self.t, DWELL, TAG_PORTWAIT, self.pos, face=face)
        n = self.poke_in_frames + max(3, round(self.rng.uniform(0.2, 0.5) * self.fps)) \
            + max(2, round(0.15 * self.fps))
        self._add(n, POKE, TAG_OTHER, self.pos, face=face, port=self.side.poke,
                  port_dir=self.side.poke_dir, port_r=self.side.poke_r)
        return self.t - n + self.poke_in_frames

    def drink(self) -> None:
        """Go to the water port and drink."""
        self.travel(self.drink_spot(), speed_scale=1.2)
        face = self.face_of(-self.side.water_dir)
        self._add(round(self.rng.uniform(*self.cfg.drink_s) * self.fps), DRINK, TAG_OTHER,
                  self.pos, face=face, port=self.side.water, port_dir=self.side.water_dir,
                  port_r=self.side.water_r)

    def free_phase(self, until: int, groom_fraction: float) -> None:
        """Explore, groom and rest until frame ``until``."""
        rng = self.rng
        while self.t < until:
            if rng.random() < groom_fraction:
                kind = GROOM if rng.random() < 0.6 else DWELL
                self.dwell(rng.uniform(2.0, 8.0), kind=kind)
            else:
                self.travel(self.random_spot(), speed_scale=rng.uniform(0.6, 1.1))
                self.dwell(rng.uniform(0.2, 1.5))


@dataclass
class Plan:
    """The planned session: both mice's segments, the pokes, the rewards and cycle summaries."""

    tracks: tuple[MouseTrack, MouseTrack]
    n_frames: int
    window_frames: float
    pokes: list[tuple[int, int]] = field(default_factory=list)  # (frame, mouse index)
    rewards: list[int] = field(default_factory=list)
    cycles: list[dict] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        """Fraction of pokes that were rewarded (0 without pokes)."""
        return 2 * len(self.rewards) / len(self.pokes) if self.pokes else 0.0


def plan_session(
    chamber: Chamber,
    skills: np.ndarray,
    sizes: tuple[float, float],
    speeds: tuple[float, float],
    wait_bias: tuple[float, float],
    window_s: float,
    n_frames: int,
    fps: float,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> Plan:
    """Run the state process of both mice over ``n_frames`` frames.

    Parameters
    ----------
    chamber
        The chamber (from :func:`~behavtrack.simulate.geometry.chamber_from_arena`).
    skills
        Both mice's skill (0..1) on this day.
    sizes, speeds, wait_bias
        Per-mouse traits (relative body size, relative speed, propensity to lead by waiting).
    window_s
        The day's coordination window.
    n_frames, fps
        Session length in frames and frame rate.
    cfg
        Simulator parameters.
    rng
        The session's random generator.

    Returns
    -------
    Plan

    """
    tracks = tuple(
        MouseTrack(side, chamber, cfg, sizes[i], speeds[i], fps, rng,
                   start=np.zeros(2)) for i, side in enumerate(chamber.sides)
    )
    for tr in tracks:
        tr.pos = tr.random_spot()
    plan = Plan(tracks=tracks, n_frames=n_frames, window_frames=window_s * fps)  # type: ignore[arg-type]
    c = float(np.mean(skills))
    lerp = lambda lo, hi, s: lo + (hi - lo) * s  # noqa: E731
    p_coord = lerp(cfg.p_strategy_min, cfg.p_strategy_max, c)
    sync_sd = lerp(cfg.sync_sd_max_s, cfg.sync_sd_min_s, c)
    free_mean = lerp(cfg.free_mean_max_s, cfg.free_mean_min_s, c)
    groom = lerp(cfg.groom_fraction_max, cfg.groom_fraction_min, c)
    int_median = lerp(cfg.interaction_median_min_s, cfg.interaction_median_max_s, c)
    p_interact = 1.0 - float(np.mean(wait_bias))
    last_poke = -10**9
    while True:
        t0 = max(tracks[0].t, tracks[1].t, last_poke + int(math.ceil(plan.window_frames)) + 1)
        if t0 >= n_frames:
            break
        for tr in tracks:
            tr.dwell_until(t0)
        u = rng.random()
        kind = ("interact" if rng.random() < p_interact else "wait") if u < p_coord else "solo"
        pokes: list[int | None] = [None, None]
        if kind == "solo":
            for i, tr in enumerate(tracks):
                tr.free_phase(t0 + round(rng.exponential(free_mean) * fps), groom)
                p_app = lerp(cfg.p_approach_only_min, cfg.p_approach_only_max, skills[i])
                if rng.random() < p_app:
                    tr.travel_head_on(tr.partition_spot(rng.uniform(0.2, 0.8)), tr.side.normal,
                                      TAG_APPROACH)
                    tr.dwell(rng.uniform(0.5, 2.5), TAG_PARTITION,
                             face=tr.face_of(-tr.side.normal))
                    tr.dwell(rng.uniform(0.2, 1.0))
                if rng.random() < cfg.p_solo_poke:
                    arrive = tr.go_wait()
                    pokes[i] = tr.poke(arrive + tr.poke_in_frames
                                       + round(rng.uniform(0.03, 0.4) * fps))
        elif kind == "interact":
            along = rng.uniform(0.25, 0.75)
            for tr in tracks:
                tr.free_phase(t0 + round(rng.exponential(free_mean * 0.4) * fps), groom)
                tr.travel_head_on(tr.partition_spot(along + rng.normal(0, 0.01)), tr.side.normal,
                                  TAG_APPROACH)
            meet = max(tr.t for tr in tracks)
            n_int = round(rng.lognormal(math.log(int_median), cfg.interaction_sigma) * fps)
            arrivals = []
            for tr in tracks:
                face = tr.face_of(-tr.side.normal)
                tr.dwell_until(meet, TAG_PARTITION, face=face)
                tr.dwell_until(meet + n_int + round(abs(rng.normal(0, 0.3)) * fps),
                               TAG_PARTITION, face=face)
                arrivals.append(tr.go_wait())
            target = max(arrivals) + tracks[0].poke_in_frames + round(rng.uniform(0.1, 0.5) * fps)
            for i, tr in enumerate(tracks):
                f = target + round(rng.normal(0.0, sync_sd) * fps)
                pokes[i] = tr.poke(max(f, arrivals[i] + tr.poke_in_frames))
        else:  # wait
            lead = 0 if rng.random() < wait_bias[0] / (wait_bias[0] + wait_bias[1]) else 1
            L, F = tracks[lead], tracks[1 - lead]
            L.free_phase(t0 + round(rng.exponential(free_mean * 0.3) * fps), groom)
            a_lead = L.go_wait()
            # the follower's response is timed from the leader's arrival
            F.free_phase(a_lead + round(rng.exponential(free_mean * 0.5 * (1 - 0.6 * c)) * fps),
                         groom * (1 - c))
            if rng.random() < 0.5:  # the follower checks on its partner first
                F.travel_head_on(F.partition_spot(rng.uniform(0.2, 0.8)), F.side.normal,
                                 TAG_APPROACH)
                F.dwell(rng.uniform(0.3, 1.0), TAG_PARTITION, face=F.face_of(-F.side.normal))
            a_f = F.go_wait()
            f_f = a_f + F.poke_in_frames + round(rng.uniform(0.05, 0.3) * fps)
            patience = round((1.0 + rng.exponential(cfg.wait_patience_s * (0.5 + 1.5 * c)))
                             * fps)
            if f_f - a_lead > patience:
                f_l = a_lead + patience
            else:
                f_l = f_f + round(rng.normal(0.15, sync_sd) * fps)
            f_l = max(f_l, a_lead + L.poke_in_frames)
            pokes[lead] = L.poke(f_l)
            pokes[1 - lead] = F.poke(f_f)
        # the waits end at the partner's poke
        for i, tr in enumerate(tracks):
            other = pokes[1 - i]
            for seg in reversed(tr.segments):
                if seg.start < t0:
                    break
                if seg.tag == TAG_PORTWAIT:
                    seg.wait_until = seg.stop if other is None else min(seg.stop, other)
        done = [p for p in pokes if p is not None]
        plan.pokes.extend((p, i) for i, p in enumerate(pokes) if p is not None)
        success = len(done) == 2 and abs(done[0] - done[1]) <= plan.window_frames + 1e-9
        if done:
            last_poke = max(done)
        if success:
            reward = max(done)
            plan.rewards.append(reward)
            for tr in tracks:
                tr.dwell_until(reward)
                tr.dwell(rng.uniform(0.1, 0.4))
                tr.drink()
        else:
            for i, tr in enumerate(tracks):
                if pokes[i] is not None:
                    tr.dwell(rng.uniform(0.3, 2.0))
        plan.cycles.append({"type": kind, "pokes": pokes, "success": bool(success)})
    for tr in tracks:
        tr.dwell_until(n_frames)
    return plan


def frame_labels(plan: Plan) -> np.ndarray:
    """Per-frame truth of both mice as indices into ``BEHAVIORS``, shape ``(n_frames, 2)``.

    ``approach``: travelling to the partition; ``interaction``: both mice at the partition;
    ``waiting``: a pre-poke dwell at the own port of at least ``min_waiting_s``, until the
    partner pokes; ``other``: everything else.
    """
    n = plan.n_frames
    tags = np.full((n, 2), TAG_OTHER, dtype=np.int8)
    wait = np.zeros((n, 2), dtype=bool)
    min_wait = plan.tracks[0].cfg.min_waiting_s * plan.tracks[0].fps
    for i, tr in enumerate(plan.tracks):
        segs = tr.segments
        starts = np.array([s.start for s in segs])
        stops = np.array([s.stop for s in segs])
        tg = np.array([s.tag for s in segs], dtype=np.int8)
        tags[:, i] = np.repeat(tg, stops - starts)[:n]
        for s in segs:
            if s.tag == TAG_PORTWAIT and s.start < n and s.wait_until - s.start >= min_wait:
                wait[s.start:min(s.wait_until, n), i] = True
    out = np.full((n, 2), _OTHER, dtype=np.int8)
    out[tags == TAG_APPROACH] = _APPROACH
    both = (tags == TAG_PARTITION).all(axis=1)
    out[both, :] = _INTERACTION
    out[wait] = _WAITING
    return out
