"""Finding inputs: folders, globs and manifests expanded into the files and folders they name.

Every command that takes many inputs accepts the same three forms: a folder (one session
folder, or a parent searched recursively), a glob pattern, and a manifest (a text file with one
entry per line, relative to its own folder, blank lines and ``#`` comments ignored; or a CSV
with a ``path`` column and further columns such as ``arena`` and ``events``).

:func:`find_inputs` is the finder by kind (``session`` folders, behavtrack ``nwb`` exports,
agent ``rollout`` files, ``pose`` files, ``video`` files, and the ``export`` folders of
``behavtrack export-nwb``: session and classify output folders, hidden staging folders
skipped); it finds the inputs of ``behavtrack stats``
(:func:`behavtrack.io.session.find_classified_sessions`), classify output folders
(:func:`behavtrack.io.classified.find_classified_folders`), agent rollouts
(:func:`behavtrack.io.agents.find_rollout_files`) and the sessions to export
(:func:`behavtrack.export.nwb.find_export_sessions`, through :func:`named_inputs`, which gives
each input its id, :func:`input_id`, and refuses two inputs with one id). Its parts,
:func:`glob_matches`, :func:`glob_root`, :func:`read_manifest` and :func:`search_folder`, are
shared with the finders
whose rules differ from it (:func:`behavtrack.io.session.find_sessions`, ``behavtrack train``'s
inputs; :func:`behavtrack.batch.discover_jobs`, whose ids follow the folders searched).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from behavtrack.errors import InputError
from behavtrack.io.framerate import POSE_SUFFIXES, VIDEO_SUFFIXES

__all__ = [
    "INPUT_KINDS",
    "LIST_SUFFIXES",
    "META_NAME",
    "FoundInput",
    "ManifestRow",
    "find_inputs",
    "glob_matches",
    "glob_root",
    "input_id",
    "named_inputs",
    "read_manifest",
    "search_folder",
]

#: The kinds of input :func:`find_inputs` finds.
INPUT_KINDS = ("session", "nwb", "rollout", "pose", "video", "export")
#: Endings of a manifest (a list file) for :func:`find_inputs` (``""``: no ending).
LIST_SUFFIXES = (".txt", ".lst", "")
#: Kinds searched for inside a parent folder (poses are not: a folder holds other CSV files).
_SEARCHED = ("session", "nwb", "rollout", "video", "export")
#: The metadata file of a session folder (and of classify and batch output folders): the file
#: that makes a folder a session (:mod:`behavtrack.io.session` reads it).
META_NAME = "session.json"
#: Files that make a folder an ``export`` input: a session folder or a classify output.
_EXPORT_MARKS = (META_NAME, "provenance.json")


@dataclass(frozen=True)
class ManifestRow:
    """One entry of a manifest.

    Attributes
    ----------
    text
        The entry as written (a path, relative to the manifest's folder, or a glob).
    columns
        The other non-empty columns of a CSV manifest (``arena``, ``events``, ...), as written.

    """

    text: str
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FoundInput:
    """One input found by :func:`find_inputs`.

    Attributes
    ----------
    path
        The session folder or file.
    kind
        One of :data:`INPUT_KINDS`.
    root
        The folder it was found in or named relative to (a parent folder searched, the fixed
        part of a glob, a manifest's folder), or ``None`` when it was given itself.
    columns
        The manifest's other columns for this entry (CSV manifests), else empty.

    """

    path: Path
    kind: str
    root: Path | None = None
    columns: Mapping[str, str] = field(default_factory=dict)


def glob_matches(pattern: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """Return the paths a glob pattern matches, sorted (``**`` spans folders if ``recursive``)."""
    return [Path(m) for m in sorted(glob.glob(str(pattern), recursive=recursive))]


def glob_root(pattern: str | os.PathLike) -> Path:
    """Return the folder of a glob pattern before its first wildcard component.

    Examples
    --------
    >>> glob_root("mice/pair*/day*").as_posix()
    'mice'

    """
    parts = Path(pattern).parts
    fixed = parts[: next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]
    return Path(*fixed) if fixed else Path(".")


def read_manifest(path: str | os.PathLike, *,
                  not_text: tuple[str, str | None] = ("is not a text manifest", None)
                  ) -> list[ManifestRow]:
    """Read a manifest: one entry a line, or a CSV whose header has a ``path`` column.

    Parameters
    ----------
    path
        The manifest file.
    not_text
        The problem and hint of the error raised when the file is not UTF-8 text.

    Returns
    -------
    list of ManifestRow
        The entries in file order (blank lines and ``#`` comments of a plain list skipped);
        their paths are as written, relative to the manifest's folder.

    Raises
    ------
    InputError
        If the file is not text.

    """
    import pandas as pd

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, *not_text) from None
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if "," in first and "path" in [c.strip() for c in first.split(",")]:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        return [ManifestRow(str(rec["path"]), {str(k): str(v) for k, v in rec.items()
                                                 if k != "path" and v})
                for rec in table.to_dict("records")]
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(ManifestRow(line))
    return rows


def search_folder(folder: str | os.PathLike, kind: str) -> list[Path]:
    """Return the inputs of one kind below a folder (recursively), sorted by path.

    Parameters
    ----------
    folder
        The parent folder.
    kind
        ``"session"`` (folders holding ``session.json``), ``"nwb"``, ``"rollout"`` (agent
        rollout files), ``"video"`` or ``"export"`` (folders holding ``session.json`` or
        ``provenance.json``, none inside a hidden, dot-prefixed folder such as a staging
        folder).

    Returns
    -------
    list of pathlib.Path

    """
    folder = Path(folder)
    if kind == "session":
        return sorted(q.parent for q in folder.rglob(META_NAME))
    if kind == "export":
        hits = {q.parent for name in _EXPORT_MARKS for q in folder.rglob(name)}
        return sorted(h for h in hits  # skip staging folders: .OUT.<pid>-xxxxxxxx
                      if not any(part.startswith(".") for part in h.relative_to(folder).parts))
    if kind == "video":
        return sorted(q for q in folder.rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES)
    if kind == "nwb":
        return sorted(q for q in folder.rglob("*") if q.suffix.lower() == ".nwb" and q.is_file())
    if kind == "rollout":
        from behavtrack.io.agents import is_rollout_file

        return sorted(q for q in folder.rglob("*") if q.is_file() and is_rollout_file(q))
    raise ValueError(f"kind: {kind!r} cannot be searched for (one of {', '.join(_SEARCHED)})")


def _file_kind(path: Path, kinds: Sequence[str]) -> str | None:
    """Return the kind of a file given, among ``kinds`` (``None``: none of them)."""
    suffix = path.suffix.lower()
    for kind in kinds:
        if kind == "nwb" and suffix == ".nwb":
            return kind
        if kind == "video" and suffix in VIDEO_SUFFIXES:
            return kind
        if kind == "rollout":
            from behavtrack.io.agents import is_rollout_file

            if is_rollout_file(path):
                return kind
        if kind == "pose":
            if path.name.lower().endswith(tuple(POSE_SUFFIXES)):
                return kind
    return None


def find_inputs(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    kinds: Sequence[str] = ("session", "nwb"),
    *,
    globs: bool = True,
    manifests: bool = True,
    empty_ok: bool = False,
) -> list[FoundInput]:
    """Expand folders, globs and manifests into inputs of the given kinds.

    Each entry of ``paths`` is, in this order of checks:

    - a glob pattern (``"mice/pair*/day*"``, ``**`` spanning folders): each match is an
      entry (an error if nothing matches);
    - a folder: a session folder itself (it holds ``session.json``, when ``"session"`` is a
      kind; ``session.json`` or ``provenance.json``, when ``"export"`` is), else a parent
      searched recursively for the first of ``kinds`` it holds (in the order given; pose files
      are not searched for);
    - a file of one of ``kinds`` (``.nwb``; a rollout ``.mat``/tidy CSV; a video; a pose
      file);
    - a manifest (ending in :data:`LIST_SUFFIXES`): each of its entries, relative to its
      folder, is an entry (manifests may list manifests, folders and globs).

    Parameters
    ----------
    paths
        The entries.
    kinds
        Kinds to find, of :data:`INPUT_KINDS`.
    globs
        Expand glob patterns (``False``: a pattern is a literal path).
    manifests
        Read manifests (``False``: a file of no kind given is an error).
    empty_ok
        A parent folder holding none of ``kinds`` adds nothing (``False``: an error).

    Returns
    -------
    list of FoundInput
        Each input once (the first time it is named), in the order given.

    Raises
    ------
    InputError
        One line naming the entry: it does not exist, matches nothing, holds nothing of
        ``kinds``, or is a file of no kind.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for day in ("day1", "day2"):
    ...     (root / "pair1" / day).mkdir(parents=True)
    ...     _ = (root / "pair1" / day / "session.json").write_text("{}")
    >>> [f.path.name for f in find_inputs([root / "pair1"], kinds=("session",))]
    ['day1', 'day2']
    >>> [f.path.name for f in find_inputs([str(root / "pair*" / "day2")], kinds=("session",))]
    ['day2']

    """
    unknown = [k for k in kinds if k not in INPUT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds: {unknown or kinds!r}; choose from {', '.join(INPUT_KINDS)}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[FoundInput] = []

    def walk(raw: str | os.PathLike, root: Path | None, columns: Mapping[str, str]) -> None:
        p = Path(raw)
        if globs and glob.has_magic(str(raw)):
            matches = glob_matches(raw)
            if not matches:
                raise InputError(raw, "matches no file or folder", "check the pattern")
            for m in matches:
                walk(m, glob_root(raw), columns)
        elif p.is_dir():
            if "session" in kinds and (p / META_NAME).is_file():
                found.append(FoundInput(p, "session", root, columns))
                return
            if "export" in kinds and any((p / n).is_file() for n in _EXPORT_MARKS):
                found.append(FoundInput(p, "export", root, columns))
                return
            for kind in (k for k in kinds if k in _SEARCHED):
                hits = search_folder(p, kind)
                if hits:
                    found.extend(FoundInput(h, kind, p, columns) for h in hits)
                    return
            if not empty_ok:
                raise InputError(p, *_nothing_below(kinds))
        elif p.is_file() and (kind := _file_kind(p, kinds)) is not None:
            found.append(FoundInput(p, kind, root, columns))
        elif manifests and p.is_file() and p.suffix.lower() in LIST_SUFFIXES:
            rows = read_manifest(p, not_text=("is not a text list (one session folder per line)",
                                              None))
            for row in rows:  # relative to the list's folder
                walk(p.parent / row.text, p.parent, {**columns, **row.columns})
        elif not p.exists():
            raise InputError(p, "no such file or folder", "check the path")
        else:
            raise InputError(p, *_not_an_input(kinds, manifests, p))

    for entry in paths:
        walk(entry, None, {})
    seen: set[Path] = set()
    out = []
    for f in found:
        key = f.path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _nothing_below(kinds: Sequence[str]) -> tuple[str, str | None]:
    if "export" in kinds:
        return ("holds no session (no session.json or provenance.json in it or below)",
                "give session, classify output or batch output folders")
    if "session" in kinds:
        return "holds no session folder (no session.json below it)", None
    names = {"nwb": "NWB file", "rollout": "agent rollout file", "video": "video"}
    return f"holds no {' and no '.join(names[k] for k in kinds if k in names)}", None


def _not_an_input(kinds: Sequence[str], manifests: bool, path: Path) -> tuple[str, str | None]:
    if "export" in kinds:
        what = "an NWB file already" if path.suffix.lower() == ".nwb" else "a file"
        return (f"is {what}, not a folder", "give session, classify output or batch output "
                "folders" + (", globs or list files" if manifests else ""))
    if list(kinds) == ["rollout"]:
        return "is not an agent rollout file", "give .mat files or the tidy rollouts CSV"
    if "session" in kinds:
        return ("is not a session folder, a parent folder, a glob or a list file"
                if manifests else "is not a session folder or a parent folder"), None
    return f"is not a {' or '.join(kinds)} file", None


def input_id(found: FoundInput) -> str:
    """Return the id of an input: its path below the folder it was found in, else its name.

    An input given itself (or named outside its folder) is named by its folder or file name; a
    file's ending is dropped. The leading ``sessions/`` of a batch output is dropped, so that
    a batch's session and the file ``behavtrack batch --nwb`` writes of it share the id.

    Examples
    --------
    >>> input_id(FoundInput(Path("out/sessions/pair01/day03"), "export", Path("out")))
    'pair01/day03'
    >>> input_id(FoundInput(Path("out/sessions/pair01/day03"), "export"))
    'day03'

    """
    base = found.path if found.path.is_dir() else found.path.with_suffix("")
    parts: tuple[str, ...] = ()
    if found.root is not None:
        try:
            parts = base.relative_to(found.root).parts
        except ValueError:
            parts = ()
    if not parts or ".." in parts:
        return base.name
    if len(parts) > 1 and parts[0] == "sessions":  # a batch output: sessions/<id>/
        parts = parts[1:]
    return "/".join(parts)


def named_inputs(
    found: Iterable[FoundInput],
    *,
    id_of: Callable[[str], str] = str,
    clash: tuple[str, str | None] = ("has the id {id} of {other}",
                                     "give each input a distinct folder or file name"),
) -> list[tuple[Path, str]]:
    """Return each input with its id, refusing two inputs with one id.

    Parameters
    ----------
    found
        What :func:`find_inputs` found.
    id_of
        Maps an :func:`input_id` to the id used (e.g. a file name; two ids may map to one).
    clash
        The problem and hint of the error raised when two inputs get one id: ``{id}`` is the
        id, ``{other}`` the path of the input that had it first.

    Returns
    -------
    list of (pathlib.Path, str)
        Each input's path and id, in the order found.

    Raises
    ------
    InputError
        One line naming the second input with an id.

    """
    out: list[tuple[Path, str]] = []
    seen: dict[str, Path] = {}
    for f in found:
        name = id_of(input_id(f))
        if name in seen:
            problem, hint = clash
            raise InputError(f.path, problem.format(id=name, other=seen[name]), hint)
        seen[name] = f.path
        out.append((f.path, name))
    return out
