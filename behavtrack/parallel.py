"""Work on forked processes: one session's chunks, animals or outputs at the same time.

A forked process starts as a copy of this one, with everything it has imported and holds (a
pose reader, a fitted model, labels), so it starts in milliseconds and nothing but the
items and the results is sent between processes. That suits the stages of one session:
:func:`fork_map` runs a function over items on several processes; :func:`spare_process`
forks one ahead of time (its start-up done while this one works) for calls given later.
Batches of sessions use worker pools of their own (:mod:`behavtrack.batch`).

A worker that dies without a result (the system's out-of-memory killer, a crash in a C
library) makes every call waiting on it raise a one-line :class:`InputError` naming ``jobs``
(fewer processes use less memory) instead of waiting for ever.

Fork exists on Linux and macOS; elsewhere :func:`can_fork` is false and callers work here.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from behavtrack.errors import InputError

__all__ = ["Job", "Spare", "can_fork", "catch_interrupts", "fork_map", "in_worker",
           "interruptible", "lost_worker_error", "run_unless_interrupted", "spare_process",
           "usable_cores", "worker_count"]

#: The function the workers of :func:`fork_map` call (inherited
#: by the fork, never pickled).
_FORKED: Callable[[Any], Any] | None = None
#: Whether this process is one of those workers.
_IN_WORKER = False


#: In a worker (:func:`catch_interrupts`): whether it runs a call, and whether it has had
#: a Ctrl-C.
_RUNNING = False
_INTERRUPTED = False


def interruptible() -> bool:
    """Whether a Ctrl-C (SIGINT) stops this process (not ignored, as a background job's)."""
    import signal

    return signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def catch_interrupts(interruptible: bool = True) -> None:
    """Make a Ctrl-C (SIGINT) end this worker process's work without a traceback.

    A terminal's Ctrl-C reaches every process of the command. A worker running a call
    (:func:`run_unless_interrupted`) stops it with :class:`KeyboardInterrupt`, which the
    pool hands back like any error (its files are cleaned up as it unwinds), and runs no
    later call; one starting or idle goes on waiting for its pool to end (the interrupt
    raised there, in the pool's own loop or its initializer, printed a traceback). Not
    ``interruptible``: SIGINT is ignored, as by a process started in the background.
    """
    import signal

    global _RUNNING, _INTERRUPTED
    _RUNNING = _INTERRUPTED = False  # (a fork copies its parent's, if it is a worker itself)
    signal.signal(signal.SIGINT, _interrupted if interruptible else signal.SIG_IGN)


def _interrupted(signum: int, frame: Any) -> None:
    """Stop the worker's call, if it runs one, and every later one (its SIGINT handler).

    Only the first SIGINT raises: one more (a second Ctrl-C, or one the pool's owner
    forwards) would interrupt the call's clean-up.
    """
    global _INTERRUPTED
    first, _INTERRUPTED = not _INTERRUPTED, True
    if _RUNNING and first:
        raise KeyboardInterrupt


def run_unless_interrupted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` in a worker, unless it has had a Ctrl-C.

    A pool hands each worker its next call before the running one ends, and that one can
    no longer be cancelled: after a Ctrl-C it would run (a long video's session, say) while
    the command stops.
    """
    global _RUNNING
    if _INTERRUPTED:
        raise KeyboardInterrupt
    _RUNNING = True
    try:
        return fn(*args, **kwargs)
    finally:
        _RUNNING = False


def usable_cores() -> int:
    """Return the cores this process may run on (its CPU affinity where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes can be forked here.

    Not on Windows, not in one of this module's workers (they do not nest), and not in a
    daemonic process (a worker of a ``multiprocessing.Pool``), which may not have children.
    """
    import multiprocessing

    return ("fork" in multiprocessing.get_all_start_methods() and not _IN_WORKER
            and not multiprocessing.current_process().daemon)


def worker_count(jobs: int | None, n_items: int, cap: int | None = None) -> int:
    """Return how many processes to give ``n_items`` items.

    ``jobs``, or with ``None`` the usable cores (at most ``cap``); never more than one per
    item, and 1 where processes cannot be forked or inside a worker.

    Raises
    ------
    InputError
        If ``jobs`` is not a whole number of at least 1 (named ``jobs``).

    Examples
    --------
    >>> worker_count(4, 3)
    3
    >>> worker_count(2, 0)
    1

    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InputError("jobs", f"must be at least 1, got {jobs!r}")
    if jobs is None:
        jobs = usable_cores() if cap is None else min(cap, usable_cores())
    if jobs > 1 and (_IN_WORKER or not can_fork()):
        return 1
    return max(1, min(jobs, n_items))


def in_worker() -> bool:
    """Whether this process is a worker of :func:`fork_map` or :func:`spare_process`."""
    return _IN_WORKER


def _start_worker(warm: Callable[[], Any] | None = None) -> None:
    """Start a worker: mark it, then ``warm()``.

    Libraries that count cores themselves are told one thread (``OMP_NUM_THREADS``); a
    Ctrl-C ends its work quietly (:func:`catch_interrupts`).
    """
    global _IN_WORKER
    _IN_WORKER = True
    catch_interrupts(interruptible())  # (as its parent, whose handling it was forked with)
    os.environ["OMP_NUM_THREADS"] = "1"
    if warm is not None:
        warm()


def _call_forked(item: Any) -> Any:
    assert _FORKED is not None
    return _FORKED(item)


def lost_worker_error(broken: BaseException, hint: str | None = None) -> InputError:
    """Return the one-line error for a pool that lost a worker (killed, say) or its start.

    ``broken`` is the pool's :class:`concurrent.futures.process.BrokenProcessPool`; ``hint``
    replaces the default remedy. The error names ``jobs``: fewer processes is the user's
    remedy (each holds its own working memory).
    """
    if "initializer" in str(broken):
        return InputError("jobs", "a worker process failed while starting",
                          hint or "rerun with jobs=1 to see the error")
    return InputError("jobs", "a worker process ended abruptly (the system kills processes "
                      "when it runs out of memory)",
                      hint or "use fewer processes, e.g. jobs=1, or free some memory")


@contextlib.contextmanager
def _pool(fn: Callable[[Any], Any], workers: int, warm: Callable[[], Any] | None = None
          ) -> Iterator[Any]:
    """Fork ``workers`` processes now, that call ``fn`` on what they are given.

    A :class:`concurrent.futures.ProcessPoolExecutor` on the fork start method: a worker
    that dies (killed for memory, a crash in a C library) breaks the pool, and every call
    waiting for it raises at once (:func:`lost_worker_error`), where a
    ``multiprocessing.Pool`` would wait for its result for ever. Leaving the block waits for
    the calls running and cancels those not started.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED
    if _FORKED is not None or _IN_WORKER:
        raise RuntimeError("forked workers cannot be nested")
    _FORKED = fn
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_worker, initargs=(warm,))
        with warnings.catch_warnings():
            # numpy's BLAS threads make every numpy process "multi-threaded" to Python's
            # check; OpenBLAS re-creates them in the child (pthread_atfork), and callers keep
            # workers off OpenMP runtimes, which do not survive a fork
            warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                    DeprecationWarning)
            pool.submit(int)  # with fork, the first call forks every worker: now
        _FORKED = None  # the workers have their copy
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _FORKED = None


@contextlib.contextmanager
def _lost_worker() -> Iterator[None]:
    """Raise a pool broken by a dead worker as :func:`lost_worker_error`."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield
    except BrokenProcessPool as exc:
        raise lost_worker_error(exc) from None


def _submit(pool: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``pool.submit(fn, *args)``; a pool broken by a dead worker: :func:`lost_worker_error`."""
    with _lost_worker():
        return pool.submit(run_unless_interrupted, fn, *args)


def _result(future: Any) -> Any:
    """``future.result()``; a pool broken by a dead worker: :func:`lost_worker_error`."""
    with _lost_worker():
        return future.result()


def fork_map[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` forked processes: the results in order, as they come.

    ``fn`` may be a closure over anything this process holds; only the items and the results
    are pickled. An error in a worker is raised here. Workers cannot fork workers.

    Parameters
    ----------
    fn
        Called once per item, in a worker.
    items
        What to call it on.
    workers
        Processes (at least 1).

    Yields
    ------
    The results, in the order of ``items``.

    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    with _pool(fn, workers) as pool:
        for future in [_submit(pool, _call_forked, item) for item in items]:
            yield _result(future)


class Job:
    """A call given to a :class:`Spare` process (or already done here)."""

    def __init__(self, pending: Any = None, value: Any = None) -> None:
        self._pending = pending
        self._value = value

    def result(self) -> Any:
        """Wait for the call and return its result (an error in it is raised here, once)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._value = _result(pending)
        return self._value


class Spare:
    """A process forked ahead of time, idle until it is given calls (:func:`spare_process`).

    Without a process (``enabled`` false, no fork here, or inside a worker), a call is
    made here when it is given.
    """

    def __init__(self, pool: Any = None) -> None:
        self._pool = pool
        self._jobs: list[Job] = []

    @property
    def forked(self) -> bool:
        """Whether calls run in another process (else here, as they are given)."""
        return self._pool is not None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Job:
        """Call ``fn(*args)`` in the spare process.

        ``fn`` must be importable by name (a module's function); ``args`` are pickled.
        """
        if self._pool is None:
            return Job(value=fn(*args))
        job = Job(_submit(self._pool, fn, *args))
        self._jobs.append(job)
        return job

    def _wait(self) -> None:
        for job in self._jobs:
            job.result()


@contextlib.contextmanager
def spare_process(warm: Callable[[], Any] | None = None, enabled: bool = True
                  ) -> Iterator[Spare]:
    """Fork a process now that waits for calls given later (:meth:`Spare.submit`).

    For work whose inputs come later but whose start-up can be done now, on a core that is
    idle meanwhile: ``warm()`` runs first in the new process (e.g. imports). Leaving the
    block waits for every call given (an error in one is raised then, unless the block
    raised) and ends the process.

    Examples
    --------
    >>> import math
    >>> with spare_process() as spare:
    ...     job = spare.submit(math.factorial, 5)
    >>> job.result()
    120

    """
    if not enabled or _IN_WORKER or not can_fork():
        yield Spare()
        return
    with _pool(lambda _: None, 1, warm) as pool:
        spare = Spare(pool)
        yield spare
        spare._wait()
