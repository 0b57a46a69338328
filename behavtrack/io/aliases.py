"""The body-part alias table: lab-specific keypoint names mapped to behavtrack's canonical ones.

Labs name the same body part differently (``snout``, ``Nose``, ``tailbase``, ``Tail_base``,
``centre``, ``body_center``, ...). :func:`canonical_name` maps a name to one of
:data:`CANONICAL_KEYPOINTS` (``nose, left_ear, right_ear, centroid, tail_base``) by looking it up
in :data:`ALIASES` after normalising it: lower case, with spaces, ``_``, ``-`` and ``.`` removed,
so ``Tail_base``, ``tail-base`` and ``TailBase`` all match the entry ``tailbase``. Names that are
not in the table are kept as they are.

Users extend the table for one call with an ``aliases=`` mapping (``{"my_snout": "nose"}``,
passed to :func:`behavtrack.io.pose.load_pose`) or for the whole process with
:func:`register_aliases`. The table is documented in ``docs/formats.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "ALIASES",
    "CANONICAL_KEYPOINTS",
    "canonical_name",
    "canonical_names",
    "normalize",
    "register_aliases",
]

#: behavtrack's keypoint names, in the order features expect them.
CANONICAL_KEYPOINTS: tuple[str, ...] = ("nose", "left_ear", "right_ear", "centroid", "tail_base")

_BUILTIN: dict[str, tuple[str, ...]] = {
    "nose": ("nose", "snout", "nosetip", "tipofnose", "nose_tip", "head_tip"),
    "left_ear": ("left_ear", "leftear", "ear_left", "earleft", "earl", "lear", "l_ear"),
    "right_ear": ("right_ear", "rightear", "ear_right", "earright", "earr", "rear", "r_ear"),
    "centroid": (
        "centroid", "centre", "center", "body", "bodycenter", "bodycentre", "body_center",
        "body_centre", "midbody", "mid_body", "bodymid", "centerofmass", "centre_of_mass",
    ),
    "tail_base": (
        "tail_base", "tailbase", "base_of_tail", "baseoftail", "tail_start", "tailstart",
        "tailroot", "tail_root",
    ),
}


def normalize(name: str) -> str:
    """Return ``name`` lower case without spaces, ``_``, ``-`` or ``.`` (the lookup key).

    Examples
    --------
    >>> normalize("Tail_base"), normalize("Ear-L"), normalize("body centre")
    ('tailbase', 'earl', 'bodycentre')

    """
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


#: Normalised alias -> canonical name. Extend it with :func:`register_aliases`.
ALIASES: dict[str, str] = {
    normalize(alias): canonical for canonical, names in _BUILTIN.items() for alias in names
}


def _normalized_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"aliases must be a mapping of name -> canonical name, got {mapping!r}")
    return {normalize(k): str(v) for k, v in mapping.items()}


def register_aliases(mapping: Mapping[str, str]) -> None:
    """Add aliases to the process-wide table (later entries win over the built-in ones).

    Parameters
    ----------
    mapping
        Alias -> canonical name, e.g. ``{"head_front": "nose", "neck_base": "centroid"}``.
        Aliases are matched case- and separator-insensitively.

    Examples
    --------
    >>> register_aliases({"HeadFront": "nose"})
    >>> canonical_name("head_front")
    'nose'

    """
    ALIASES.update(_normalized_mapping(mapping))


def canonical_name(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Return the canonical name of a body part, or ``name`` unchanged if it has none.

    Parameters
    ----------
    name
        A body-part name as found in a pose file.
    aliases
        Extra aliases for this call (alias -> canonical); they take precedence.

    Examples
    --------
    >>> canonical_name("Snout"), canonical_name("tailbase"), canonical_name("wingL")
    ('nose', 'tail_base', 'wingL')

    """
    key = normalize(name)
    if aliases:
        extra = _normalized_mapping(aliases)
        if key in extra:
            return extra[key]
    return ALIASES.get(key, str(name))


def canonical_names(
    names: Iterable[str], aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Canonicalise a list of names without creating duplicates.

    A name is renamed only if its canonical target is neither an existing name in the list
    nor claimed by an earlier name: with both ``nose`` and ``snout`` present, ``nose`` stays
    ``nose`` and ``snout`` stays ``snout``.

    Examples
    --------
    >>> canonical_names(["snout", "leftear", "rightear", "tailbase"])
    ['nose', 'left_ear', 'right_ear', 'tail_base']
    >>> canonical_names(["nose", "snout"])
    ['nose', 'snout']

    """
    names = [str(n) for n in names]
    taken = set(names)
    out: list[str] = []
    for name in names:
        target = canonical_name(name, aliases)
        if target != name and target not in taken:
            taken.add(target)
            taken.discard(name)
            out.append(target)
        else:
            out.append(name)
    return out
