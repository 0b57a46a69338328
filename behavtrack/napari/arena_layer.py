"""The arena as a napari Shapes layer, and back: draw the partition, compartments and ports.

Each shape carries two features: ``role`` (``partition``, ``compartment``, ``poke_port`` or
``water_port``) and ``compartment`` (the compartment's name; empty for the partition).
Circular ports are ellipses (the circle's bounding box), polygonal ports and compartments are
polygons, the partition is a path. Shapes are 2-D ``(y, x)`` so they lie over every frame.
:func:`arena_to_shapes` builds the layer data from an :class:`~behavtrack.io.arena.Arena`;
:func:`shapes_to_arena` reads drawn shapes back into a validated Arena (individuals, scale and
coordination window carried over from a base arena), which :func:`save_arena_from_shapes`
writes as the arena YAML.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.io.arena import Arena, Zone, arena_from_dict, save_arena

__all__ = [
    "ROLES",
    "ROLE_COLORS",
    "arena_to_shapes",
    "shapes_to_arena",
    "arena_from_layer",
    "save_arena_from_shapes",
]

#: Roles a shape can play in the arena.
ROLES = ("partition", "compartment", "poke_port", "water_port")
#: Edge colour of each role.
ROLE_COLORS = {"partition": "#ffffff", "compartment": "#ffff00", "poke_port": "#ff00ff",
               "water_port": "#00ffff"}

_DEFAULT_INDIVIDUALS = ("mouse1", "mouse2")


def _yx(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, dtype=float)[:, ::-1].copy()


def _zone_shape(zone: Zone) -> tuple[np.ndarray, str]:
    if zone.polygon is not None:
        return _yx(zone.polygon), "polygon"
    cx, cy = zone.center
    r = float(zone.radius)
    corners = np.array([[cy - r, cx - r], [cy - r, cx + r], [cy + r, cx + r], [cy + r, cx - r]])
    return corners, "ellipse"


def arena_to_shapes(
    arena: Arena, name: str = "arena"
) -> tuple[list[np.ndarray], dict[str, Any], str]:
    """Return napari layer data ``(shapes, kwargs, "shapes")`` drawing ``arena``.

    The arena itself is kept in the layer's metadata (``behavtrack_arena``) so that saving
    carries over what is not drawn (scale, individuals, coordination window).
    """
    data: list[np.ndarray] = []
    types: list[str] = []
    roles: list[str] = []
    comps: list[str] = []
    if arena.partition is not None:
        data.append(_yx(arena.partition))
        types.append("path")
        roles.append("partition")
        comps.append("")
    for cname, comp in arena.compartments.items():
        data.append(_yx(comp.polygon))
        types.append("polygon")
        roles.append("compartment")
        comps.append(cname)
        for role, zone in (("poke_port", comp.poke_port), ("water_port", comp.water_port)):
            if zone is not None:
                verts, kind = _zone_shape(zone)
                data.append(verts)
                types.append(kind)
                roles.append(role)
                comps.append(cname)
    features = pd.DataFrame({
        "role": pd.Categorical(roles, categories=ROLES),
        "compartment": np.asarray(comps, dtype=object),
    })
    kwargs = {
        "name": name,
        "shape_type": types,
        "features": features,
        "edge_color": [ROLE_COLORS[r] for r in roles],
        "face_color": "transparent",
        "edge_width": 3,
        "ndim": 2,
        "metadata": {"behavtrack_role": "arena", "behavtrack_arena": arena},
    }
    return data, kwargs, "shapes"


def _compartment_names(roles: np.ndarray, comps: np.ndarray, data: Sequence[np.ndarray],
                       base: Arena | None) -> list[str]:
    """Names of the drawn compartments: given, else the base's by order, else left/right."""
    idx = np.flatnonzero(roles == "compartment")
    order = idx[np.argsort([np.asarray(data[i])[:, 1].mean() for i in idx], kind="stable")]
    base_names = list(base.compartments) if base is not None else []
    fallback = base_names if len(base_names) == len(idx) else (
        ["left", "right"] if len(idx) == 2 else [f"compartment{k + 1}" for k in range(len(idx))]
    )
    names = {int(i): fallback[k] for k, i in enumerate(order)}
    out = []
    for i in range(len(roles)):
        given = str(comps[i]) if comps[i] is not None and str(comps[i]) not in ("", "nan") else ""
        out.append(given or names.get(i, ""))
    return out


def shapes_to_arena(
    data: Sequence[np.ndarray],
    shape_types: Sequence[str],
    features: pd.DataFrame,
    base: Arena | None = None,
    frame_size: tuple[int, int] | None = None,
    name: str | None = None,
    source: str = "arena layer",
) -> Arena:
    """Read drawn shapes back into a validated :class:`~behavtrack.io.arena.Arena`.

    Parameters
    ----------
    data
        Shape vertices, each ``(n, 2)`` as ``(y, x)`` (a leading frame axis is dropped).
    shape_types
        napari shape type of each shape (``path``, ``line``, ``polygon``, ``rectangle``,
        ``ellipse``).
    features
        Per-shape ``role`` and (optional) ``compartment`` columns.
    base
        An arena whose scale, units, fps, coordination window and individuals are kept
        (compartments matched by name). Without one: 1 px/cm and, for two compartments,
        ``mouse1`` left and ``mouse2`` right.
    frame_size
        ``(width, height)`` of the video, recorded in the arena.
    name
        The arena's name (default: the base's, else ``"drawn"``).
    source
        Named in error messages.

    Raises
    ------
    InputError
        If a shape has no role, a port names no drawn compartment, or the result is invalid.

    """
    n = len(data)
    if n == 0:
        raise InputError(source, "holds no shapes", "draw the compartments first")
    if "role" not in features or len(features) != n:
        raise InputError(source, "shapes have no 'role' feature",
                         f"give every shape a role: {', '.join(ROLES)}")
    roles = features["role"].astype(object).to_numpy()
    bad = [str(r) for r in roles if r not in ROLES]
    if bad:
        raise InputError(source, f"a shape has role {bad[0]!r}", f"use one of {', '.join(ROLES)}")
    comps = (features["compartment"].astype(object).to_numpy() if "compartment" in features
             else np.full(n, "", dtype=object))
    verts = [np.asarray(d, dtype=float)[:, -2:] for d in data]
    names = _compartment_names(roles, comps, verts, base)

    partition = None
    comp_dicts: dict[str, dict[str, Any]] = {}
    for i in np.flatnonzero(roles == "compartment"):
        comp_dicts[names[i]] = {"polygon": verts[i][:, ::-1].tolist()}
    for i in range(n):
        xy = verts[i][:, ::-1]
        if roles[i] == "partition":
            if partition is not None:
                raise InputError(source, "has two partitions", "delete one of them")
            partition = xy.tolist()
        elif roles[i] in ("poke_port", "water_port"):
            cname = names[i]
            if cname not in comp_dicts:
                raise InputError(source, f"a {roles[i]} belongs to compartment {cname!r}, "
                                         "which is not drawn",
                                 f"set its compartment to one of {', '.join(comp_dicts)}")
            if shape_types[i] == "ellipse":
                lo, hi = xy.min(axis=0), xy.max(axis=0)
                zone = {"center": ((lo + hi) / 2).tolist(),
                        "radius": float(np.mean((hi - lo) / 2))}
            else:
                zone = {"polygon": xy.tolist()}
            comp_dicts[cname][roles[i]] = zone
    if not comp_dicts:
        raise InputError(source, "has no compartment", "draw each compartment as a polygon")

    # individuals: the base's, by compartment name; else mouse1/mouse2 left to right
    if base is not None and any(c in base.compartments for c in comp_dicts):
        for cname, comp in comp_dicts.items():
            if cname in base.compartments and base.compartments[cname].individual:
                comp["individual"] = base.compartments[cname].individual
    elif len(comp_dicts) == 2:
        order = sorted(comp_dicts,
                       key=lambda c: np.mean(np.asarray(comp_dicts[c]["polygon"])[:, 0]))
        for cname, ind in zip(order, _DEFAULT_INDIVIDUALS, strict=True):
            comp_dicts[cname]["individual"] = ind
    out: dict[str, Any] = {
        "schema_version": 1,
        "name": name or (base.name if base is not None else "drawn"),
        "units": base.units if base is not None else "px",
        "px_per_cm": float(base.px_per_cm) if base is not None else 1.0,
    }
    size = frame_size or (base.frame_size if base is not None else None)
    if size is not None:
        out["frame_size"] = [int(size[0]), int(size[1])]
    if base is not None and base.fps is not None:
        out["fps"] = float(base.fps)
    if partition is not None:
        out["partition"] = partition
    out["compartments"] = comp_dicts
    if base is not None and base.window_s is not None:
        out["task"] = {"window_s": float(base.window_s)}
    return arena_from_dict(out, source=source)


def arena_from_layer(layer: Any, base: Arena | None = None,
                     frame_size: tuple[int, int] | None = None) -> Arena:
    """Read a napari Shapes layer (as made by :func:`arena_to_shapes`, then edited) into an Arena.

    ``base`` defaults to the arena kept in the layer's metadata.
    """
    base = base if base is not None else layer.metadata.get("behavtrack_arena")
    return shapes_to_arena(layer.data, layer.shape_type, layer.features, base=base,
                           frame_size=frame_size, source=f"shapes layer {layer.name!r}")


def save_arena_from_shapes(layer: Any, path: str | os.PathLike, base: Arena | None = None,
                           frame_size: tuple[int, int] | None = None) -> Path:
    """Write the arena drawn in a Shapes layer as arena YAML (atomically); return the path."""
    arena = arena_from_layer(layer, base=base, frame_size=frame_size)
    out = save_arena(arena, path)
    layer.metadata["behavtrack_arena"] = arena
    return out
