"""Options shared by several commands: ``--alias OLD=NEW``, ``--individuals A,B``, ``--fps``."""

from __future__ import annotations

import argparse
import atexit
import gc

from behavtrack.errors import InputError

__all__ = ["add_alias_option", "aliases_of", "pairs", "add_individuals_option",
           "individuals_of", "fps_of"]


def add_alias_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--alias OLD=NEW`` option (a body part's name -> canonical name)."""
    parser.add_argument(
        "--alias", action="append", default=[], metavar="OLD=NEW",
        help="read the body part OLD of the pose file as the canonical part NEW (repeat; "
        "e.g. --alias snout_tip=nose --alias tail=tail_base; canonical names: nose, head, "
        "left_ear, right_ear, neck, centroid, left_hip, right_hip, tail_base)")


def pairs(items: list[str], option: str, allow_empty: bool = True
          ) -> dict[str, str | None] | None:
    """Parse ``OLD=NEW`` options into a mapping (``OLD=`` maps to ``None`` where allowed).

    Examples
    --------
    >>> pairs(["interact=interaction", "sniff="], "--behavior-map")
    {'interact': 'interaction', 'sniff': None}

    """
    out: dict[str, str | None] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or (not new.strip() and not allow_empty):
            example = "snout_tip=nose" if option == "--alias" else "interact=interaction"
            raise InputError(option, f"{item!r} is not OLD=NEW", f"e.g. {option} {example}")
        out[old.strip()] = new.strip() or None
    return out or None


def aliases_of(args: argparse.Namespace) -> dict[str, str] | None:
    """Return the ``--alias`` options of parsed arguments as a checked mapping."""
    from behavtrack.io.aliases import CANONICAL_KEYPOINTS

    mapping = pairs(getattr(args, "alias", []) or [], "--alias", allow_empty=False)
    if not mapping:
        return None
    odd = [v for v in mapping.values() if v not in CANONICAL_KEYPOINTS]
    if odd:
        raise InputError("--alias", f"{odd[0]!r} is not a canonical body part",
                         f"use one of {', '.join(CANONICAL_KEYPOINTS)}")
    return {k: str(v) for k, v in mapping.items()}


def add_individuals_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--individuals A,B``: the pair to analyse in a pose of more than two animals."""
    parser.add_argument(
        "--individuals", default=None, metavar="A,B",
        help="the two animals to analyse, as named in the pose file (needed when it has more "
        "than two; behavtrack info lists them)")


def individuals_of(args: argparse.Namespace) -> list[str] | None:
    """Return ``--individuals`` as a list of names (``None`` when not given)."""
    text = getattr(args, "individuals", None)
    if text is None:  # not given: no need of the pose reader's imports (pandas, xarray)
        return None
    from behavtrack.io.pose import parse_individuals

    return parse_individuals(text)


def fps_of(args: argparse.Namespace) -> float | None:
    """Return ``--fps``, checked to be a plausible frame rate (``None`` when not given)."""
    from behavtrack.io.framerate import check_fps

    return check_fps(getattr(args, "fps", None), "--fps")


def skip_final_collection() -> None:
    """At exit, skip the interpreter's last garbage collection over the whole stack.

    Once a command's outputs are written and moved in (every file through a context
    manager), nothing is left to finalise; the collection would still walk every object of
    numpy, pandas, xarray and the rest (0.05 s for classify, about 0.3 s for batch). Objects
    are frozen (:func:`gc.freeze`) at exit instead.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
