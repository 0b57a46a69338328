"""File helpers shared by every writer: atomic writes, checksums, progress bars.

Outputs are never half-written: writers produce a temporary file next to the target and
rename it into place only when it is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm.auto import tqdm

from behavtrack.errors import InputError

__all__ = ["atomic_path", "atomic_write_text", "sha256", "progress", "require_file"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    If the block raises, the temporary file is removed and ``target`` is untouched.

    Parameters
    ----------
    target
        The final path.
    suffix
        Suffix of the temporary file (defaults to the target's, so that writers which
        pick a format by extension still work).

    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let the writer create it (some refuse to overwrite)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise :class:`InputError` if it is not a file."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, f"no such {what}", "check the path")
    if not p.is_file():
        raise InputError(p, f"is a folder, not a file ({what} expected)")
    return p


def progress[T](
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    quiet: bool = False,
    unit: str = "it",
) -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar on stderr, or return it as is when ``quiet``.

    ``BEHAVTRACK_QUIET=1`` in the environment silences every bar.
    """
    if quiet or os.environ.get("BEHAVTRACK_QUIET") == "1":
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
