"""batch workers: the local pool's task ranks (_Backfill) and the deferred ethogram PNG."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _signal_helpers import sigint_default

from behavtrack.batch import RECORD, _Backfill, _finish_session


def _running(started: list[str], name: str, gate: threading.Event | None = None) -> str:
    started.append(name)
    if gate is not None:
        assert gate.wait(10)
    return name


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()


def test_later_tasks_wait_for_the_sessions_and_leave_a_worker_to_the_figure():
    started: list[str] = []
    gates = {name: threading.Event() for name in ("s1", "s2", "p1", "p2")}
    with ThreadPoolExecutor(2) as pool:
        backfill = _Backfill(pool, 2, keep_one=True)
        s1 = backfill.submit_session(_running, started, "s1", gates["s1"])
        s2 = backfill.submit_session(_running, started, "s2", gates["s2"])
        backfill.later(_running, started, "p1", gates["p1"])
        backfill.later(_running, started, "p2", gates["p2"])
        assert _until(lambda: len(started) == 2)
        assert sorted(started) == ["s1", "s2"]  # both workers busy: the PNGs wait
        gates["s1"].set()
        assert s1.result(10) == "s1"
        assert _until(lambda: "p1" in started)  # a worker is idle: the first PNG
        gates["s2"].set()
        assert s2.result(10) == "s2"
        # the sessions are done: the idle worker is kept for the figure, p2 waits
        assert not _until(lambda: "p2" in started, timeout=0.3)
        figure = backfill.submit(_running, started, "figure")
        assert figure.result(10) == "figure"
        assert _until(lambda: "p2" in started)  # the figure is on its way: p2 runs
        gates["p1"].set()
        gates["p2"].set()
        assert backfill.join() == ["p1", "p2"]  # in the order given


def test_join_releases_the_kept_worker_when_no_figure_comes():
    started: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        backfill = _Backfill(pool, 2, keep_one=True)
        assert backfill.submit_session(_running, started, "s1").result(10) == "s1"
        backfill.later(_running, started, "p1")
        backfill.later(_running, started, "p2")
        assert backfill.join() == ["p1", "p2"]
    assert started == ["s1", "p1", "p2"]


def test_finish_session_reports_a_folder_it_cannot_draw_and_writes_no_record(tmp_path: Path):
    rec = _finish_session(str(tmp_path), {"session_id": "pair01/day01"})
    assert rec["status"] == "failed" and rec["session_id"] == "pair01/day01"
    assert rec["stage"] == "classify" and rec["error"]
    assert not (tmp_path / RECORD).exists()


def test_a_pool_that_cannot_take_a_task_makes_join_raise_not_hang():
    pool = ThreadPoolExecutor(2)
    pool.shutdown()
    backfill = _Backfill(pool, 2, keep_one=False)
    backfill.later(_running, [], "p1")  # the pool refuses it
    with pytest.raises(RuntimeError, match="shutdown"):
        backfill.join()


HELPER = '''
import os, signal, time

def work(job):
    if job.session_id == "s1":  # as the system's out-of-memory killer would
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.6)
    return {"session_id": job.session_id, "status": "done"}

def later(name):
    return name
'''

LOST = '''
import sys, time
sys.path.insert(0, sys.argv[1])  # the workers' fork server gets this path too
import batch_helper
from behavtrack.batch import SessionJob, _runner
from behavtrack.errors import InputError

jobs = [SessionJob(f"s{i}", "pose", sys.argv[2]) for i in range(4)]
t0 = time.perf_counter()
try:
    with _runner(2, None, 30.0, False) as (run, submit, backfill):
        backfill.later(batch_helper.later, "png1")  # queued behind the sessions
        backfill.later(batch_helper.later, "png2")
        for rec in run(batch_helper.work, jobs):
            print("done", rec["session_id"])
except InputError as exc:
    print("error", exc.source, "|", exc.problem)
print("seconds", round(time.perf_counter() - t0))
'''


def test_a_worker_killed_mid_batch_ends_it_with_a_one_line_error(tmp_path: Path):
    """A session's worker killed (out of memory, say) broke the pool while PNG tasks waited:
    the pool's own thread, failing the sessions, submitted them and deadlocked; the batch
    hung for ever. Now the waiting tasks fail, and the batch stops with one line."""
    import subprocess
    import sys

    (tmp_path / "batch_helper.py").write_text(HELPER)
    (tmp_path / "pose.h5").write_bytes(b"x")
    out = subprocess.run([sys.executable, "-c", LOST, str(tmp_path), str(tmp_path / "pose.h5")],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    lines = out.splitlines()
    assert lines[-2] == ("error jobs | a worker process ended abruptly (the system kills "
                         "processes when it runs out of memory)")
    assert int(lines[-1].split()[1]) < 60


SLOW = '''
import pathlib, time

def work(job):
    pathlib.Path(job.path).with_name(f"started_{job.session_id}").touch()
    time.sleep(1.0)
    return {"session_id": job.session_id, "status": "done"}
'''

INTERRUPTED = '''
import sys, time
sys.path.insert(0, sys.argv[1])  # the workers' fork server gets this path too
import batch_helper
from behavtrack.batch import SessionJob, _runner

jobs = [SessionJob(f"s{i:02d}", "pose", sys.argv[2]) for i in range(16)]
try:
    with _runner(2, None, 30.0, False) as (run, submit, backfill):
        for rec in run(batch_helper.work, jobs):
            print("done", rec["session_id"], flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
'''


def test_a_ctrl_c_stops_the_workers_at_once(tmp_path: Path):
    """Ctrl-C (SIGINT to the terminal's process group) during a batch on workers: the
    sessions not started are not run (the pool ran every one before leaving), nor the one
    the pool had already handed each worker; no worker prints a traceback."""
    import signal
    import subprocess
    import sys

    (tmp_path / "batch_helper.py").write_text(SLOW)
    (tmp_path / "pose.h5").write_bytes(b"x")
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(tmp_path),
                             str(tmp_path / "pose.h5")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=sigint_default)
    assert _until(lambda: len(list(tmp_path.glob("started_*"))) >= 2, timeout=60)
    started = sorted(tmp_path.glob("started_*"))
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    assert time.perf_counter() - t0 < 5  # not the 7 s of the sessions left
    assert out.splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert sorted(tmp_path.glob("started_*")) == started  # none started after the Ctrl-C


HELD = '''
import os, signal
from behavtrack.batch import _sigint_held

try:
    with _sigint_held(deliver=True):
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C while the workers start
        for _ in range(10_000):  # (where a KeyboardInterrupt would be raised)
            pass
        print("started", flush=True)
    print("not raised", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
'''


def test_a_ctrl_c_while_the_workers_start_is_raised_once_they_are_started():
    """The pool starts its workers while the sessions are submitted, each start waiting for
    the fork server: a Ctrl-C raised in the middle of one left a worker forked without its
    task queue, and the batch waited for it forever (about 1 run in 30, timed there). The
    Ctrl-C is now held until the starts are done, then raised."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True,
                         timeout=60, preexec_fn=sigint_default).stdout
    assert out.split() == ["started", "interrupted"]


ADOPT_HELPER = '''
import time
from behavtrack.strategies import model_file

def work(job):
    # a session's classify: the model of its file, parsed here unless the worker was given it
    model_file.load_model_shared(job.path)
    time.sleep(0.3)  # both workers take a session
    return {"session_id": job.session_id, "status": "done",
            "parsed": model_file._load_fitted_version.cache_info().misses}
'''

ADOPT = '''
import sys
sys.path.insert(0, sys.argv[1])
import adopt_helper
from behavtrack.batch import SessionJob, _runner, _shared_model
from behavtrack.io.arena import default_arena_path, open_field_arena_path
from behavtrack.strategies.model_file import shipped_model_path

model = str(shipped_model_path("default"))
jobs = [SessionJob(f"s{i}", "pose", model) for i in range(4)]
for arena, name in ((default_arena_path(), "default"), (open_field_arena_path(), "social")):
    chosen = _shared_model(None, [SessionJob("s", "pose", sys.argv[1], arena=str(arena))])
    print("chosen", name, chosen[0][0] == str(shipped_model_path(name).resolve()))
shared = _shared_model(model, jobs) if sys.argv[2] == "shared" else None
with _runner(2, None, 30.0, False, model=shared) as (run, submit, backfill):
    print("parsed", sorted(rec["parsed"] for rec in run(adopt_helper.work, jobs)))
'''


@pytest.mark.parametrize("shared", ["shared", "not shared"])
def test_the_workers_classify_with_the_model_the_batch_loaded(tmp_path: Path, shared: str):
    """The batch's process loads the model while the fork server imports the workers'
    stack, and gives it to each worker: no worker parses the JSON and rebuilds the trees
    for its first session (0.1-0.3 s on each worker at once)."""
    import subprocess
    import sys

    (tmp_path / "adopt_helper.py").write_text(ADOPT_HELPER)
    out = subprocess.run([sys.executable, "-c", ADOPT, str(tmp_path), shared],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "chosen default True" in out and "chosen social True" in out  # by the arena
    # each worker parsed the model once for its first session, or never
    assert out.splitlines()[-1] == ("parsed [0, 0, 0, 0]" if shared == "shared"
                                    else "parsed [1, 1, 1, 1]")


def test_a_model_that_cannot_be_loaded_is_left_to_the_workers(tmp_path: Path):
    """The parent's loading is a head start only: a broken or missing model file is left
    to the workers, whose sessions then fail with its one-line error, as before."""
    from behavtrack.batch import SessionJob, _shared_model

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    job = SessionJob("s", "pose", str(tmp_path))
    assert _shared_model(str(broken), [job]) is None
    assert _shared_model(str(tmp_path / "missing.json"), [job]) is None
    assert _shared_model(None, []) is None


THREADS_HELPER = '''
def work(job, **kwargs):
    import threadpoolctl
    return {"session_id": job.session_id, "status": "done",
            "threads": sorted({i["num_threads"] for i in threadpoolctl.threadpool_info()
                               if i["user_api"] == "blas"})}
'''

THREADS = '''
import os, sys
sys.path.insert(0, sys.argv[1])
import threads_helper
from behavtrack.batch import SessionJob, _runner

jobs = [SessionJob(f"s{i}", "pose", sys.argv[1]) for i in range(4)]
with _runner(2, None, 30.0, False) as (run, submit, backfill):
    print("threads", sorted({t for rec in run(threads_helper.work, jobs) for t in rec["threads"]}))
print("left", [os.environ.get(n) for n in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")])
'''


def test_the_workers_load_numpys_blas_with_one_thread(tmp_path: Path):
    """Called from Python (the CLI sets OPENBLAS_NUM_THREADS itself), a batch's workers
    still run numpy's BLAS on one thread each: with a thread per core in each of N workers,
    N threads would share every core, spinning while they wait. The caller's environment
    is left as it was."""
    import subprocess
    import sys

    from behavtrack.batch import _THREAD_VARS

    (tmp_path / "threads_helper.py").write_text(THREADS_HELPER)
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", THREADS, str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "threads [1]" in out.splitlines()
    assert out.splitlines()[-1] == "left [None, None]"
