"""The body-part alias table: lab-specific keypoint names mapped to behavtrack's canonical ones.

Labs name the same body part differently (``snout``, ``Nose``, ``tailbase``, ``Tail_base``,
``tail``, ``centre``, ``body_center``, ``lefthip``, ...). :func:`canonical_name` maps a name to
one of :data:`CANONICAL_KEYPOINTS` (``nose, head, left_ear, right_ear, neck, centroid,
left_hip, right_hip, tail_base``) by looking it up
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
    "ANTERIOR",
    "CANONICAL_KEYPOINTS",
    "POSTERIOR",
    "canonical_name",
    "canonical_names",
    "normalize",
    "register_aliases",
]

#: behavtrack's keypoint names, from the front of the body to the back.
CANONICAL_KEYPOINTS: tuple[str, ...] = (
    "nose", "head", "left_ear", "right_ear", "neck", "centroid", "left_hip", "right_hip",
    "tail_base",
)

_BUILTIN: dict[str, tuple[str, ...]] = {
    "nose": ("nose", "snout", "nosetip", "tipofnose", "nose_tip", "head_tip", "rostrum"),
    "head": ("head", "headcenter", "headcentre", "head_center", "head_centre", "midhead",
             "headmid", "crown", "between_ears", "betweenears", "mid_ears", "midears"),
    "left_ear": ("left_ear", "leftear", "ear_left", "earleft", "earl", "lear", "l_ear"),
    "right_ear": ("right_ear", "rightear", "ear_right", "earright", "earr", "rear", "r_ear"),
    "neck": ("neck", "nape", "neckbase", "neck_base", "head_base", "headbase", "shoulder",
             "shoulders", "withers"),
    "centroid": (
        "centroid", "centre", "center", "body", "bodycenter", "bodycentre", "body_center",
        "body_centre", "midbody", "mid_body", "bodymid", "centerofmass", "centre_of_mass",
        "spine", "midspine", "mid_spine", "back", "midback", "mid_back", "torso",
    ),
    "left_hip": ("left_hip", "lefthip", "hip_left", "hipleft", "hipl", "lhip", "l_hip",
                 "left_flank", "leftflank"),
    "right_hip": ("right_hip", "righthip", "hip_right", "hipright", "hipr", "rhip", "r_hip",
                  "right_flank", "rightflank"),
    "tail_base": (
        "tail_base", "tailbase", "base_of_tail", "baseoftail", "tail_start", "tailstart",
        "tailroot", "tail_root", "tail", "tail1", "tail_1", "tail0", "tail_0", "rump",
    ),
}

#: Body parts from front to back, used to find the body axis when the nose or the tail base
#: is missing: the first present name of :data:`ANTERIOR` and the first present name of
#: :data:`POSTERIOR` give the axis (ears and hips are used in pairs, by their midpoint).
ANTERIOR: tuple[str, ...] = ("nose", "head", "ears", "neck")
POSTERIOR: tuple[str, ...] = ("tail_base", "hips", "centroid", "neck")


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
#: Normalised alias -> its rank in the built-in list of its canonical name (0 = the canonical
#: name itself); when two names of one file map to the same part, the lower rank wins
#: (``tailbase`` over ``tail``). User aliases rank before every built-in one.
_RANK: dict[str, int] = {
    normalize(alias): i for names in _BUILTIN.values() for i, alias in enumerate(names)
}
_USER_RANK = -1


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
    extra = _normalized_mapping(mapping)
    ALIASES.update(extra)
    _RANK.update(dict.fromkeys(extra, _USER_RANK))


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


def _target_and_rank(name: str, aliases: Mapping[str, str] | None) -> tuple[str, int]:
    key = normalize(name)
    if aliases:
        extra = _normalized_mapping(aliases)
        if key in extra:
            return extra[key], _USER_RANK - 1
    if key in ALIASES:
        return ALIASES[key], _RANK.get(key, 0)
    return str(name), 0


def canonical_names(
    names: Iterable[str], aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Canonicalise a list of names without creating duplicates.

    A name already canonical keeps its name. Otherwise, among the names that map to the same
    canonical part, the closest alias wins (the user's aliases first, then the built-in list
    in its order: ``tailbase`` before ``tail``); the others keep their names.

    Examples
    --------
    >>> canonical_names(["snout", "leftear", "rightear", "tailbase"])
    ['nose', 'left_ear', 'right_ear', 'tail_base']
    >>> canonical_names(["nose", "snout"])
    ['nose', 'snout']
    >>> canonical_names(["tail", "tailbase", "neck", "lefthip"])
    ['tail', 'tail_base', 'neck', 'left_hip']

    """
    names = [str(n) for n in names]
    targets = [_target_and_rank(n, aliases) for n in names]
    winner: dict[str, int] = {}
    for i, (target, rank) in enumerate(targets):
        if target == names[i]:
            continue
        j = winner.get(target)
        if j is None or rank < targets[j][1]:
            winner[target] = i
    present = set(names)
    out = list(names)
    for target, i in winner.items():
        if target not in present:
            out[i] = target
    return out
