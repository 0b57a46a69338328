"""The chamber as the simulator sees it: per-mouse spots (ports, partition) from an :class:`Arena`.

:func:`chamber_from_arena` checks that an arena can host the cooperation task (a partition,
two compartments each assigned to an individual and holding a poke port and a water port)
and derives, for each mouse, the places its behaviour aims at: where it stands to wait at
its poke port, where its nose goes to poke or drink, where it meets its partner at the
partition, and how to draw random exploration targets away from those zones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from behavtrack.errors import InputError
from behavtrack.io.arena import Arena, Compartment, Zone

__all__ = ["Side", "Chamber", "chamber_from_arena", "unit"]


def unit(v: np.ndarray) -> np.ndarray:
    """Return the unit vector(s) along the last axis (zero vectors stay zero)."""
    v = np.asarray(v, dtype=float)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def _zone_radius(zone: Zone) -> float:
    if zone.radius is not None:
        return float(zone.radius)
    poly = np.asarray(zone.polygon, dtype=float)
    return float(np.sqrt(np.abs(np.cross(poly - poly.mean(0), np.roll(poly, -1, 0) - poly.mean(0))
                                ).sum() / 2 / np.pi))


def _inward_normal(comp: Compartment, point: np.ndarray) -> np.ndarray:
    """Inward unit normal of the compartment edge nearest to ``point``."""
    poly = np.asarray(comp.polygon, dtype=float)
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    denom = np.where((ab**2).sum(1) == 0, 1.0, (ab**2).sum(1))
    t = np.clip(((point - a) * ab).sum(1) / denom, 0, 1)
    d = np.linalg.norm(a + t[:, None] * ab - point, axis=1)
    i = int(np.argmin(d))
    n = unit(np.array([-ab[i, 1], ab[i, 0]]))
    mid = (a[i] + b[i]) / 2
    probe = mid + n * 1e-3 * max(np.ptp(poly[:, 0]), 1.0)
    return n if comp.contains(probe[None])[0] else -n


@dataclass
class Side:
    """One mouse's compartment and the spots its behaviour aims at (arena units).

    Attributes
    ----------
    individual
        The mouse's name (``mouse1``, ``mouse2``).
    compartment
        Its compartment.
    poke, water
        Port centres; ``poke_r`` and ``water_r`` their radii.
    poke_dir, water_dir
        Inward unit normals of the wall each port sits on (a mouse faces ``-dir`` to use it).
    normal
        Unit normal of the partition pointing into this compartment.
    lo, hi
        Bounding box of the compartment (``(x, y)`` each).

    """

    individual: str
    compartment: Compartment
    poke: np.ndarray
    poke_r: float
    poke_dir: np.ndarray
    water: np.ndarray
    water_r: float
    water_dir: np.ndarray
    normal: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def inside(self, points: np.ndarray, margin: float) -> np.ndarray:
        """Whether points lie in the compartment at least ``margin`` from its outline."""
        points = np.asarray(points, dtype=float)
        poly = np.asarray(self.compartment.polygon, dtype=float)
        a, b = poly, np.roll(poly, -1, axis=0)
        p = points[..., None, :]
        ab = b - a
        denom = np.where((ab**2).sum(1) == 0, 1.0, (ab**2).sum(1))
        t = np.clip(((p - a) * ab).sum(-1) / denom, 0, 1)
        d = np.linalg.norm(a + t[..., None] * ab - p, axis=-1).min(-1)
        return self.compartment.contains(points) & (d >= margin)


@dataclass
class Chamber:
    """The arena plus the two mice's :class:`Side` objects and the partition line."""

    arena: Arena
    sides: tuple[Side, Side]
    p0: np.ndarray
    p1: np.ndarray

    @property
    def cm(self) -> float:
        """Arena units per centimetre."""
        return float(self.arena.px_per_cm)

    def partition_point(self, side: Side, along: float, dist: float) -> np.ndarray:
        """Point at fraction ``along`` of the partition, ``dist`` units into ``side``."""
        return self.p0 + along * (self.p1 - self.p0) + dist * side.normal

    def signed_partition_distance(self, side: Side, points: np.ndarray) -> np.ndarray:
        """Distance of points from the partition line, positive on ``side``'s side."""
        return (np.asarray(points, dtype=float) - self.p0) @ side.normal


def chamber_from_arena(arena: Arena) -> Chamber:
    """Check ``arena`` can host the cooperation task and derive each mouse's spots.

    Raises
    ------
    InputError
        One line naming the arena file and what it lacks (partition, compartments,
        individuals, ports).

    """
    src = arena.source or f"arena {arena.name!r}"
    if arena.partition is None:
        raise InputError(src, "has no partition", "add partition: [[x0, y0], [x1, y1]]")
    comps = [c for c in arena.compartments.values() if c.individual is not None]
    if len(comps) != 2:
        raise InputError(src, f"needs two compartments with an individual, found {len(comps)}",
                         "set 'individual:' in each compartment (mouse1, mouse2)")
    part = np.asarray(arena.partition, dtype=float)
    p0, p1 = part[0], part[-1]
    if np.linalg.norm(p1 - p0) == 0:
        raise InputError(src, "has a partition of zero length", "give two distinct end points")
    along = unit(p1 - p0)
    base_normal = np.array([-along[1], along[0]])
    sides = []
    for comp in comps:
        for port in ("poke_port", "water_port"):
            if getattr(comp, port) is None:
                raise InputError(src, f"compartment {comp.name!r} has no {port}",
                                 f"add {port}: {{center: [x, y], radius: r}}")
        poly = np.asarray(comp.polygon, dtype=float)
        centre = poly.mean(0)
        sign = np.sign((centre - p0) @ base_normal)
        if sign == 0:
            raise InputError(src, f"compartment {comp.name!r} is centred on the partition",
                             "the partition must separate the two compartments")
        poke = np.asarray(comp.poke_port.center, dtype=float)
        water = np.asarray(comp.water_port.center, dtype=float)
        for name, pt in (("poke_port", poke), ("water_port", water)):
            if np.sign((pt - p0) @ base_normal) != sign:
                raise InputError(src, f"{name} of compartment {comp.name!r} is on the "
                                      "partner's side of the partition",
                                 "place each port in its own compartment")
        sides.append(Side(
            individual=comp.individual, compartment=comp,
            poke=poke, poke_r=_zone_radius(comp.poke_port), poke_dir=_inward_normal(comp, poke),
            water=water, water_r=_zone_radius(comp.water_port),
            water_dir=_inward_normal(comp, water),
            normal=sign * base_normal, lo=poly.min(0), hi=poly.max(0),
        ))
    if np.sign(sides[0].normal @ sides[1].normal) > 0:
        raise InputError(src, "both compartments lie on the same side of the partition",
                         "the partition must separate the two compartments")
    cm = float(arena.px_per_cm)
    for s in sides:
        span = s.hi - s.lo
        if span.min() < 12 * cm:
            raise InputError(src, f"compartment {s.compartment.name!r} is smaller than 12 cm "
                                  f"across at px_per_cm={cm:g}", "check px_per_cm and the polygon")
    return Chamber(arena=arena, sides=(sides[0], sides[1]), p0=p0, p1=p1)
