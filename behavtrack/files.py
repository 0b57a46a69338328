"""File helpers shared by every writer: atomic writes, staged folders, locks, checksums, bars.

Outputs are never half-written: writers produce a temporary file (or a hidden staging folder)
next to the target and rename it into place only when it is complete. The temporary names carry
the writer's process id (``.NAME.<pid>-xxxxxxxx``), so that what a killed process left behind
is recognised and removed by the next run that writes the same target, while the temporary
files of a live run are never touched. :func:`folder_lock` keeps two runs off one output folder.

Progress bars (:func:`progress`) are switched in one place: :func:`set_progress` (the whole
process), :func:`progress_bars` (a ``with`` block), else ``BEHAVTRACK_QUIET=1`` (off).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from behavtrack.errors import InputError

__all__ = ["atomic_path", "atomic_write_text", "staged_folder", "folder_lock",
           "remove_stale_temporaries", "sha256", "progress", "progress_enabled", "set_progress",
           "progress_bars", "require_file"]


# ---- temporary names that say who owns them -----------------------------------------------
def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def _temp_prefix(name: str) -> str:
    """Prefix of the temporary names of ``name``: hidden, with this process's id."""
    return f".{name}.{os.getpid()}-"


def _temp_pattern(name: str) -> re.Pattern[str]:
    # mkstemp/mkdtemp add 8 characters of [a-z0-9_]; atomic_path may add a suffix
    return re.compile(rf"^\.{re.escape(name)}\.(\d+)-[a-z0-9_]{{8}}(\..*)?$")


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary files and staging folders of ``target`` whose writer is dead.

    Writers of this module name their temporaries ``.NAME.<pid>-xxxxxxxx`` next to the target
    NAME; a process killed before it could clean up (SIGKILL, power loss) leaves them behind.
    Only those of processes that no longer run are removed; temporaries of live writers and
    any other file are left alone.

    Parameters
    ----------
    target
        The output file or folder whose leftovers to look for.

    Returns
    -------
    list of pathlib.Path
        What was removed.

    """
    target = Path(target)
    parent = target.parent
    pattern = _temp_pattern(target.name)
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:  # another run cleaned it first, or it cannot be removed: leave it
            pass
    return removed


def _unwritable(target: Path, exc: OSError, what: str = "written") -> InputError:
    """Return the one-line error for a target the file system refuses, naming the user's path."""
    reason = exc.strerror or type(exc).__name__
    return InputError(target, f"cannot be {what} ({reason.lower()} in {target.parent})",
                      "choose an output path in a folder you can write to")


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
    remove_stale_temporaries(target)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=_temp_prefix(target.name),
            suffix=suffix if suffix is not None else target.suffix, dir=target.parent,
        )
    except OSError as exc:  # name the user's path, not the temporary one
        raise _unwritable(target, exc) from None
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


@contextlib.contextmanager
def staged_folder(
    out: str | os.PathLike, files: Iterable[str] = (), *, replace: bool = False
) -> Iterator[Path]:
    """Yield a hidden staging folder next to ``out``; move its files into ``out`` at the end.

    Either every output of a run lands in ``out`` or, when the block raises, none does and
    ``out`` is as it was. The staging folder is named ``.OUT.<pid>-xxxxxxxx``; staging folders
    left by runs that were killed are removed first (:func:`remove_stale_temporaries`).

    Parameters
    ----------
    out
        The output folder (created at the end if needed; other files in it are kept).
    files
        Names this kind of run writes: those the run did not write this time are removed
        from ``out`` (e.g. a PNG of an earlier run when this one draws none).
    replace
        Replace ``out`` as a whole by the staging folder (nothing of an earlier ``out`` is
        kept) instead of moving the files in.

    Raises
    ------
    InputError
        If the folder cannot be written (naming ``out``, not the staging folder).

    """
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise _unwritable(out, exc, "created") from None
    remove_stale_temporaries(out)
    try:
        stage = Path(tempfile.mkdtemp(prefix=_temp_prefix(out.name), dir=out.parent))
    except OSError as exc:  # name the user's path, not the staging folder
        raise _unwritable(out, exc, "created") from None
    try:
        yield stage
        if replace:
            old = None
            if out.exists():  # moved aside first, so that out is never missing for long
                old = Path(tempfile.mkdtemp(prefix=_temp_prefix(out.name), dir=out.parent))
                os.replace(out, old / out.name)
            os.chmod(stage, 0o777 & ~_umask())  # mkdtemp's 0700 would stay with the folder
            os.replace(stage, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            return
        out.mkdir(exist_ok=True)
        written = {f.name for f in stage.iterdir()}
        for name in set(files) - written:
            (out / name).unlink(missing_ok=True)
        for f in sorted(stage.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Name of the lock file :func:`folder_lock` keeps in the folder it locks.
LOCK_NAME = ".behavtrack.lock"


def _read_lock(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "behavtrack", *,
                param: str = "out_dir") -> Iterator[Path]:
    """Hold a lock on an output folder for the duration of the block.

    The lock is a file ``.behavtrack.lock`` in ``folder`` recording the holder's process id
    and host, created exclusively. A second run on the same folder is refused with a
    one-line error while the holder runs; a lock left by a process that no longer runs (on
    this host) is taken over.

    Parameters
    ----------
    folder
        The folder to lock (created if needed).
    what
        What holds the lock, for the error message (e.g. ``"behavtrack batch"``).
    param
        The caller's parameter that names ``folder``, for the error message's hint.

    Raises
    ------
    InputError
        If another live process holds the lock.

    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    host = socket.gethostname()
    record = json.dumps({"pid": os.getpid(), "host": host, "what": what}) + "\n"
    for _ in range(5):  # a stale lock removed by two runs at once: one of them wins
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = _read_lock(path)
            pid = held.get("pid")
            if not isinstance(pid, int) and path.is_file():  # being written right now?
                time.sleep(0.2)
                held = _read_lock(path)
                pid = held.get("pid")
            if not isinstance(pid, int):  # empty or damaged: nobody holds it
                pid = -1
            same_host = held.get("host", host) == host
            if pid == os.getpid() or (_pid_alive(pid) if same_host else True):
                where = "" if same_host else f" on {held.get('host')}"
                raise InputError(
                    folder, f"is in use by another {held.get('what', 'behavtrack run')} "
                    f"(process {pid}{where})",
                    f"wait for it to finish, or give another folder as {param}=; if no such run "
                    f"exists, delete {path}") from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # the holder is dead: take the lock over
            continue
        except PermissionError as exc:
            raise _unwritable(folder, exc, "locked") from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(record)
        break
    else:  # pragma: no cover - only under a storm of competing runs
        raise InputError(folder, "could not be locked", "try again")
    try:
        yield path
    finally:
        if _read_lock(path).get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                path.unlink()


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


# ---- progress bars: one switch ---------------------------------------------------------------
#: Set by :func:`set_progress` for the whole process: ``None`` follows the environment
#: (``BEHAVTRACK_QUIET=1``: no bars), ``True`` / ``False`` overrides it.
_progress_default: bool | None = None
#: Set by :func:`progress_bars` for the code inside its ``with`` block (this thread or task
#: only): ``None`` = no override.
_progress_override: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "behavtrack_progress", default=None)


def _check_setting(enabled: object, name: str) -> None:
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"{name}: enabled must be True, False or None, got {enabled!r}")


def progress_enabled() -> bool:
    """Whether :func:`progress` draws bars here and now.

    The innermost :func:`progress_bars` block decides, else :func:`set_progress`, else the
    environment: bars unless ``BEHAVTRACK_QUIET=1`` (read at each call, so that a process
    started with it, a batch worker or a benchmark, is silent from its first bar).
    """
    override = _progress_override.get()
    if override is not None:
        return override
    if _progress_default is not None:
        return _progress_default
    return os.environ.get("BEHAVTRACK_QUIET") != "1"


def set_progress(enabled: bool | None) -> None:
    """Turn behavtrack's progress bars (on stderr) on or off for the whole process.

    Like a logging level, this is one setting, not an argument of each function: no library
    function takes ``quiet=``. It holds in every thread; ``None`` returns to the default,
    which follows ``BEHAVTRACK_QUIET``. For a block of code only, use :func:`progress_bars`.
    ``behavtrack -q`` turns the bars off; the worker processes of
    :func:`behavtrack.batch.run_batch` draw none of their own whatever the setting.

    Examples
    --------
    >>> import behavtrack as bt
    >>> bt.set_progress(False)   # e.g. at the top of a script
    >>> bt.progress_enabled()
    False
    >>> bt.set_progress(None)    # back to the default

    """
    global _progress_default
    _check_setting(enabled, "set_progress")
    _progress_default = enabled


@contextlib.contextmanager
def progress_bars(enabled: bool | None = True) -> Iterator[None]:
    """Turn progress bars on or off for the code inside a ``with`` block.

    The setting before the block comes back after it, even on an error. Like
    :func:`decimal.localcontext`, it holds in this thread (or asyncio task) only, so that two
    threads do not undo each other's blocks; threads started inside the block follow
    :func:`set_progress`. ``None`` lifts an enclosing block's setting.

    Examples
    --------
    >>> import behavtrack as bt
    >>> with bt.progress_bars(False):
    ...     bt.progress_enabled()
    False

    """
    _check_setting(enabled, "progress_bars")
    token = _progress_override.set(enabled)
    try:
        yield
    finally:
        _progress_override.reset(token)


def progress[T](
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
) -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar on stderr, or return it as is when bars are off.

    Whether bars are drawn is decided here alone (:func:`progress_enabled`): by
    :func:`set_progress` / :func:`progress_bars`, else by ``BEHAVTRACK_QUIET``.
    """
    if not progress_enabled():
        return iterable
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if total == 0:  # nothing to do: no empty bar ("sessions: 0session")
        return iterable
    from tqdm.auto import tqdm  # only when a bar is drawn (its import costs ~70 ms)

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
