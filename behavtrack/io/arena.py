"""The arena: pixel geometry of one setup, read from and written to a validated YAML file.

An arena holds the partition between the two compartments, each compartment's outline,
its poke port and water port, which individual lives in it, the scale (``px_per_cm``) and
the training stage's coordination window. The YAML layout is documented in
``docs/arena.md``; :func:`default_arena` returns the shipped cooperation chamber.

An *open* arena (an open field) has no partition and gives no individual a compartment of
its own: it may have only an outline (``area:``), or compartments shared by several
animals (``individuals: [a, b]``), or no geometry at all but the scale.
:func:`open_field_arena` returns the shipped example; :attr:`Arena.is_open` tells them apart.

Every geometric query is vectorized over points given as an array of shape ``(..., 2)``
holding ``(x, y)`` in the arena's units (pixels for videos, cells for the agents' grid).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from behavtrack.errors import InputError
from behavtrack.files import atomic_write_text, require_file

__all__ = [
    "Arena",
    "Compartment",
    "Zone",
    "default_arena",
    "default_arena_path",
    "load_arena",
    "open_field_arena",
    "open_field_arena_path",
    "save_arena",
    "ARENA_SCHEMA_VERSION",
]

ARENA_SCHEMA_VERSION = 1


def _points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorized over points; points on an edge may fall either way."""
    x = points[..., 0][..., None]
    y = points[..., 1][..., None]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    inside = np.count_nonzero(crosses & (x < xint), axis=-1) % 2 == 1
    return inside & np.isfinite(points).all(axis=-1)


def _distance_to_polyline(points: np.ndarray, line: np.ndarray, closed: bool) -> np.ndarray:
    """Euclidean distance from each point to a polyline (or a closed polygon's outline)."""
    a = line if closed else line[:-1]
    b = np.roll(line, -1, axis=0) if closed else line[1:]
    p = points[..., None, :]
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    denom = np.where(denom == 0, 1.0, denom)
    t = np.clip(np.einsum("...ij,ij->...i", p - a, ab) / denom, 0.0, 1.0)
    proj = a + t[..., None] * ab
    return np.sqrt(((p - proj) ** 2).sum(axis=-1)).min(axis=-1)


@dataclass(frozen=True)
class Zone:
    """A port or region: a circle (``center`` + ``radius``) or a polygon.

    Attributes
    ----------
    center
        ``(x, y)`` of the circle's centre, or of the polygon's centroid.
    radius
        Circle radius; ``None`` for a polygon.
    polygon
        ``(n, 2)`` vertices, or ``None`` for a circle.

    """

    center: tuple[float, float]
    radius: float | None = None
    polygon: np.ndarray | None = field(default=None, compare=False)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the zone (NaN points are outside)."""
        points = np.asarray(points, dtype=float)
        if self.polygon is not None:
            return _points_in_polygon(points, self.polygon)
        d = np.linalg.norm(points - np.asarray(self.center), axis=-1)
        return d <= self.radius

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Distance from each point to the zone's centre (NaN for NaN points)."""
        points = np.asarray(points, dtype=float)
        return np.linalg.norm(points - np.asarray(self.center), axis=-1)

    def to_dict(self) -> dict[str, Any]:
        """Return the YAML form of the zone."""
        if self.polygon is not None:
            return {"polygon": self.polygon.tolist()}
        return {"center": [float(c) for c in self.center], "radius": float(self.radius)}


@dataclass(frozen=True)
class Compartment:
    """A region of the arena: its outline, ports and the individual(s) living there.

    Attributes
    ----------
    name
        The compartment's name (key in the YAML ``compartments`` mapping).
    polygon
        ``(n, 2)`` outline.
    individual
        The individual living here *alone* (YAML ``individual:``); ``None`` when nobody is
        named or when the compartment is shared.
    poke_port, water_port
        The ports, or ``None``. In a shared compartment both animals use them.
    individuals
        Every individual living here, in file order: ``(individual,)`` for a compartment of
        one's own, two or more names for a shared one (YAML ``individuals: [a, b]``), empty
        when nobody is named. A one-name tuple is the same as ``individual`` (it is filled in).

    """

    name: str
    polygon: np.ndarray = field(compare=False)
    individual: str | None
    poke_port: Zone | None
    water_port: Zone | None
    individuals: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = tuple(str(i) for i in self.individuals)
        if self.individual is not None and names not in ((), (self.individual,)):
            raise ValueError(f"compartment {self.name!r}: give either individual= or "
                             f"individuals=, not both ({self.individual!r}, {names!r})")
        if self.individual is not None:
            names = (self.individual,)
        elif len(names) == 1:
            object.__setattr__(self, "individual", names[0])
        object.__setattr__(self, "individuals", names)

    @property
    def is_shared(self) -> bool:
        """Whether two or more individuals share this compartment."""
        return len(self.individuals) > 1

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the compartment."""
        return _points_in_polygon(np.asarray(points, dtype=float), self.polygon)

    def to_dict(self) -> dict[str, Any]:
        """Return the YAML form of the compartment."""
        out: dict[str, Any] = {"polygon": self.polygon.tolist()}
        if self.is_shared:
            out["individuals"] = list(self.individuals)
        elif self.individual is not None:
            out["individual"] = self.individual
        if self.poke_port is not None:
            out["poke_port"] = self.poke_port.to_dict()
        if self.water_port is not None:
            out["water_port"] = self.water_port.to_dict()
        return out


@dataclass(frozen=True)
class Arena:
    """Geometry of one setup.

    Attributes
    ----------
    name
        A label for the setup.
    partition
        ``(n, 2)`` polyline of the partition (two points for a straight line), or ``None``
        for an open arena.
    compartments
        Compartments by name, in file order; may be empty (an open arena with no regions).
    px_per_cm
        Scale; for the agents' grid this is 1 with ``units == "cells"``.
    units
        ``"px"`` (video) or ``"cells"`` (agents' grid).
    window_s
        Coordination window of the training stage in seconds (or steps for agents), if known.
    frame_size
        ``(width, height)`` of the video frame in pixels, if known.
    fps
        Frame rate of the recordings made in this setup, if known.
    source
        The file it was read from, if any.
    area
        ``(n, 2)`` outline of the whole arena floor (YAML ``area:``), or ``None``.

    """

    name: str
    partition: np.ndarray | None = field(compare=False)
    compartments: dict[str, Compartment] = field(compare=False)
    px_per_cm: float = 1.0
    units: str = "px"
    window_s: float | None = None
    frame_size: tuple[int, int] | None = None
    fps: float | None = None
    source: str | None = field(default=None, compare=False)
    area: np.ndarray | None = field(default=None, compare=False)

    # ---- lookups -----------------------------------------------------------------------
    @property
    def individuals(self) -> list[str]:
        """Individuals named by the compartments, in compartment then list order."""
        return [i for c in self.compartments.values() for i in c.individuals]

    @property
    def is_open(self) -> bool:
        """Whether this is an open arena: no partition, and no individual lives alone.

        True for an arena with only an outline (``area``), for one whose compartments are
        shared (``individuals: [a, b]``) or name nobody, and for a scale-only arena. Features
        and cleaning that rely on each animal having its own compartment are skipped then.
        """
        return self.partition is None and all(
            c.individual is None for c in self.compartments.values())

    @property
    def shared_area(self) -> np.ndarray | None:
        """Outline of the floor the animals share in an open arena, else ``None``.

        The ``area`` outline when given; otherwise the polygon of the only compartment when
        there is exactly one. ``None`` for a closed arena (``is_open`` False) or when the open
        arena has no single outline.
        """
        if not self.is_open:
            return None
        if self.area is not None:
            return self.area
        if len(self.compartments) == 1:
            return next(iter(self.compartments.values())).polygon
        return None

    def compartment_of_individual(self, individual: str) -> Compartment:
        """Return the compartment where ``individual`` lives (alone or shared).

        Raises
        ------
        InputError
            If no compartment names that individual.

        """
        for comp in self.compartments.values():
            if individual in comp.individuals:
                return comp
        raise InputError(
            self.source or f"arena {self.name!r}",
            f"no compartment is assigned to individual {individual!r} "
            f"(known: {', '.join(self.individuals) or 'none'})",
            "set 'individual:' (or 'individuals: [a, b]' for a shared compartment) in the "
            "compartment, or rename the pose's individuals",
        )

    def partner_of(self, individual: str) -> str | None:
        """Return the individual's partner (``None`` if there is not exactly one).

        In a shared compartment the partner is the other animal listed there; otherwise it is
        the only other individual the arena names (the animal in the other compartment).
        """
        for comp in self.compartments.values():
            if comp.is_shared and individual in comp.individuals:
                others = [i for i in comp.individuals if i != individual]
                return others[0] if len(others) == 1 else None
        others = [i for i in self.individuals if i != individual]
        return others[0] if len(others) == 1 else None

    # ---- geometry ----------------------------------------------------------------------
    def compartment_index(self, points: np.ndarray) -> np.ndarray:
        """Index (in ``compartments`` order) of the compartment holding each point; -1 if none."""
        points = np.asarray(points, dtype=float)
        out = np.full(points.shape[:-1], -1, dtype=int)
        for i, comp in enumerate(self.compartments.values()):
            out[(out < 0) & comp.contains(points)] = i
        return out

    def distance_to_partition(self, points: np.ndarray) -> np.ndarray:
        """Distance from each point to the partition (NaN without a partition)."""
        points = np.asarray(points, dtype=float)
        if self.partition is None:
            return np.full(points.shape[:-1], np.nan)
        closed = len(self.partition) > 2 and np.allclose(self.partition[0], self.partition[-1])
        return _distance_to_polyline(points, self.partition, closed=closed)

    def scale(self, values: np.ndarray | float, power: int = 1) -> np.ndarray | float:
        """Convert arena units to centimetres (``power=2`` for areas)."""
        return values / self.px_per_cm**power

    # ---- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the YAML form of the arena."""
        out: dict[str, Any] = {"schema_version": ARENA_SCHEMA_VERSION, "name": self.name}
        out["units"] = self.units
        out["px_per_cm"] = float(self.px_per_cm)
        if self.frame_size is not None:
            out["frame_size"] = [int(v) for v in self.frame_size]
        if self.fps is not None:
            out["fps"] = float(self.fps)
        if self.partition is not None:
            out["partition"] = self.partition.tolist()
        if self.area is not None:
            out["area"] = self.area.tolist()
        if self.compartments:
            out["compartments"] = {n: c.to_dict() for n, c in self.compartments.items()}
        if self.window_s is not None:
            out["task"] = {"window_s": float(self.window_s)}
        return out

    def fits_frame(self, width: int, height: int) -> bool:
        """Whether every vertex of the arena lies within a ``width`` x ``height`` frame.

        An arena without any outline (scale only) fits every frame.
        """
        pts = [c.polygon for c in self.compartments.values()]
        for extra in (self.partition, self.area):
            if extra is not None:
                pts.append(extra)
        if not pts:
            return True
        allpts = np.concatenate(pts)
        return bool(
            (allpts[:, 0] >= -1).all()
            and (allpts[:, 1] >= -1).all()
            and (allpts[:, 0] <= width + 1).all()
            and (allpts[:, 1] <= height + 1).all()
        )


# ---- parsing ---------------------------------------------------------------------------
class _Parser:
    """Validate a parsed YAML mapping, raising one-line errors that name the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str, hint: str | None = None) -> None:
        raise InputError(self.source, f"field '{where}' {problem}", hint)

    def number(self, value: Any, where: str, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"must be a number, got {value!r}")
        if not np.isfinite(value) or (positive and value <= 0):
            self.fail(where, f"must be a {'positive ' if positive else ''}finite number, "
                             f"got {value!r}")
        return float(value)

    def points(self, value: Any, where: str, min_points: int) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < min_points:
            self.fail(where, f"must be a list of at least {min_points} [x, y] points, "
                             f"got {value!r}")
        if not np.isfinite(arr).all():
            self.fail(where, "has a point that is not a finite number")
        return arr

    def zone(self, value: Any, where: str) -> Zone:
        if not isinstance(value, dict):
            self.fail(where, "must be a mapping with 'center' and 'radius', or 'polygon'")
        if "polygon" in value:
            poly = self.points(value["polygon"], f"{where}.polygon", 3)
            return Zone(center=tuple(poly.mean(axis=0)), radius=None, polygon=poly)
        if "center" not in value:
            self.fail(f"{where}.center", "is missing", "give center: [x, y] and radius: r")
        if "radius" not in value:
            self.fail(f"{where}.radius", "is missing", "give radius: r in arena units")
        center = self.points([value["center"]], f"{where}.center", 1)[0]
        radius = self.number(value["radius"], f"{where}.radius", positive=True)
        return Zone(center=(float(center[0]), float(center[1])), radius=radius)

    def arena(self, data: Any) -> Arena:
        if not isinstance(data, dict):
            raise InputError(self.source, "is not an arena: expected a YAML mapping at top level",
                             "see docs/arena.md for the layout")
        version = data.get("schema_version", ARENA_SCHEMA_VERSION)
        if version != ARENA_SCHEMA_VERSION:
            self.fail("schema_version", f"is {version!r}; this behavtrack reads "
                      f"{ARENA_SCHEMA_VERSION}")
        known = {"schema_version", "name", "units", "px_per_cm", "frame_size", "fps",
                 "partition", "area", "compartments", "task"}
        unknown = sorted(set(data) - known)
        if unknown:
            self.fail(unknown[0], "is not an arena field",
                      f"known fields: {', '.join(sorted(known))}")
        if "px_per_cm" not in data:
            self.fail("px_per_cm", "is missing", "add px_per_cm: <pixels per centimetre>")
        px_per_cm = self.number(data["px_per_cm"], "px_per_cm", positive=True)
        units = data.get("units", "px")
        if units not in ("px", "cells"):
            self.fail("units", f"must be 'px' or 'cells', got {units!r}")
        frame_size = None
        if data.get("frame_size") is not None:
            fs = data["frame_size"]
            if (not isinstance(fs, (list, tuple)) or len(fs) != 2
                    or not all(isinstance(v, int) and v > 0 for v in fs)):
                self.fail("frame_size", f"must be [width, height] in whole pixels, got {fs!r}")
            frame_size = (int(fs[0]), int(fs[1]))
        fps = None
        if data.get("fps") is not None:
            fps = self.number(data["fps"], "fps", positive=True)
            if not 1.0 <= fps <= 1000.0:
                self.fail("fps", f"{fps:g} is not a plausible frame rate (1-1000 frames per "
                                 "second)")
        partition = None
        if data.get("partition") is not None:
            partition = self.points(data["partition"], "partition", 2)
        area = None
        if data.get("area") is not None:
            area = self.points(data["area"], "area", 3)
        compartments = self.compartments(data.get("compartments"), partition is not None)
        window = None
        task = data.get("task")
        if task is not None:
            if not isinstance(task, dict):
                self.fail("task", "must be a mapping, e.g. {window_s: 0.75}")
            if task.get("window_s") is not None:
                window = self.number(task["window_s"], "task.window_s", positive=True)
        return Arena(
            name=str(data.get("name", Path(self.source).stem)),
            partition=partition,
            compartments=compartments,
            px_per_cm=px_per_cm,
            units=units,
            window_s=window,
            frame_size=frame_size,
            fps=fps,
            source=self.source,
            area=area,
        )

    def compartments(self, raw: Any, partitioned: bool) -> dict[str, Compartment]:
        """Parse ``compartments``: required with a partition, optional in an open arena."""
        if raw is None or (isinstance(raw, dict) and not raw):
            if partitioned:
                self.fail("compartments", "is missing" if raw is None else "is empty",
                          "a partition separates compartments: add compartments: {left: "
                          "{polygon: ..., individual: ...}, right: ...}, or remove 'partition' "
                          "for an open field")
            return {}
        if not isinstance(raw, dict):
            self.fail("compartments", f"must be a mapping of name -> compartment, got {raw!r}")
        compartments: dict[str, Compartment] = {}
        seen: set[str] = set()
        fields = ("polygon", "individual", "individuals", "poke_port", "water_port")
        for name, comp in raw.items():
            where = f"compartments.{name}"
            if not isinstance(comp, dict):
                self.fail(where, "must be a mapping with 'polygon'")
            unknown = sorted(set(comp) - set(fields))
            if unknown:
                self.fail(f"{where}.{unknown[0]}", "is not a compartment field",
                          f"known: {', '.join(fields)}")
            if "polygon" not in comp:
                self.fail(f"{where}.polygon", "is missing", "give the outline as [[x, y], ...]")
            poly = self.points(comp["polygon"], f"{where}.polygon", 3)
            names = self.residents(comp, where)
            for ind in names:
                if ind in seen:
                    key = "individuals" if comp.get("individuals") is not None else "individual"
                    self.fail(f"{where}.{key}", f"repeats {ind!r}",
                              "each individual lives in one compartment")
                seen.add(ind)
            poke = self.zone(comp["poke_port"], f"{where}.poke_port") if comp.get(
                "poke_port") is not None else None
            water = self.zone(comp["water_port"], f"{where}.water_port") if comp.get(
                "water_port") is not None else None
            compartments[str(name)] = Compartment(str(name), poly, None, poke, water,
                                                  individuals=tuple(names))
        return compartments

    def residents(self, comp: dict[str, Any], where: str) -> list[str]:
        """Return the validated names of ``individual:`` (one) or ``individuals:`` (a list)."""
        one, many = comp.get("individual"), comp.get("individuals")
        if one is not None and many is not None:
            self.fail(f"{where}.individuals", "cannot be given together with 'individual'",
                      "use individual: NAME for an animal living alone, or individuals: "
                      "[A, B] for animals sharing the compartment")
        if one is not None:
            if isinstance(one, (list, tuple, dict)):
                self.fail(f"{where}.individual", f"must be one name, got {one!r}",
                          "list animals sharing the compartment under individuals: [A, B]")
            return [str(one)]
        if many is None:
            return []
        if (not isinstance(many, list) or not many
                or not all(isinstance(i, str) and i.strip() for i in many)):
            self.fail(f"{where}.individuals", f"must be a non-empty list of names, got {many!r}",
                      "e.g. individuals: [mouse1, mouse2]; quote names that look like numbers")
        dup = [i for k, i in enumerate(many) if i in many[:k]]
        if dup:
            self.fail(f"{where}.individuals", f"repeats {dup[0]!r}",
                      "list each individual once")
        return list(many)


def arena_from_dict(data: dict[str, Any], source: str = "<arena>") -> Arena:
    """Validate a mapping in the arena YAML layout and return an :class:`Arena`."""
    return _Parser(source).arena(data)


def load_arena(path: str | os.PathLike) -> Arena:
    """Load and validate an arena YAML file.

    Parameters
    ----------
    path
        The YAML file (layout in ``docs/arena.md``).

    Returns
    -------
    Arena

    Raises
    ------
    InputError
        One line naming the file and the field that is missing or wrong.

    Examples
    --------
    >>> from behavtrack.io.arena import load_arena, default_arena_path
    >>> arena = load_arena(default_arena_path())
    >>> arena.individuals
    ['mouse1', 'mouse2']

    """
    path = require_file(path, "arena file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:  # !!python/object and other tags
        tag = _tag_of(exc)
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise InputError(path, f"carries the YAML tag {tag}{where}; tags are refused (an "
                         "arena is plain data: mappings, lists, numbers, strings)",
                         "remove the tag") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise InputError(path, f"is not valid YAML{where}", "fix the syntax") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not a text file", "give the arena YAML") from None
    return _Parser(str(path)).arena(data)


def _tag_of(exc: yaml.YAMLError) -> str:
    """Return the tag a YAML constructor refused, as written (``!!python/object:os.system``)."""
    text = str(getattr(exc, "problem", "") or exc)
    start = text.find("'")
    end = text.find("'", start + 1)
    tag = text[start + 1:end] if 0 <= start < end else "(unknown)"
    return tag.replace("tag:yaml.org,2002:", "!!")


def save_arena(arena: Arena, path: str | os.PathLike) -> Path:
    """Write ``arena`` as YAML (atomically) and return the path."""
    text = yaml.safe_dump(arena.to_dict(), sort_keys=False, default_flow_style=None)
    return atomic_write_text(path, text)


def default_arena_path() -> Path:
    """Path of the shipped cooperation chamber arena YAML."""
    return Path(str(resources.files("behavtrack.data").joinpath("cooperation_chamber.yaml")))


def default_arena() -> Arena:
    """Return the shipped cooperation chamber: 640 x 480 px, partition down the middle.

    See ``docs/arena.md`` for a drawing and ``../shared/docs/TASK.md`` for the task.
    """
    return load_arena(default_arena_path())


def open_field_arena_path() -> Path:
    """Path of the shipped open-field arena YAML (a template for open-field rigs)."""
    return Path(str(resources.files("behavtrack.data").joinpath("open_field.yaml")))


def open_field_arena() -> Arena:
    """Return the shipped open field: two mice sharing one 50 x 50 cm box, no partition.

    ``open_field_arena().is_open`` is True; see ``docs/arena.md`` (open fields).

    Examples
    --------
    >>> arena = open_field_arena()
    >>> arena.is_open, arena.individuals, arena.partner_of("mouse1")
    (True, ['mouse1', 'mouse2'], 'mouse2')

    """
    return load_arena(open_field_arena_path())
