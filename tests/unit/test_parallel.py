import os
import pickle

import numpy as np
import pytest
from _signal_helpers import sigint_default

from behavtrack.errors import InputError
from behavtrack.parallel import can_fork, fork_map, in_worker, spare_process, usable_cores

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def test_fork_map_runs_a_closure_on_workers_in_order():
    big = np.arange(10)
    parent = os.getpid()
    # a closure over this process's data; results in the order of the items
    out = list(fork_map(lambda i: (int(big[i]) ** 2, os.getpid(), in_worker()), range(10), 3))
    assert [o[0] for o in out] == [i * i for i in range(10)]
    assert all(pid != parent and worker for _, pid, worker in out)
    assert not in_worker()
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="workers"):
        list(fork_map(abs, [1], 0))


def test_a_workers_input_error_arrives_whole_and_workers_do_not_nest():
    def broken(i):
        if i == 2:
            raise InputError("pose.h5", "row 7 is broken", "fix it")
        return i

    with pytest.raises(InputError, match=r"^pose.h5: row 7 is broken \(fix it\)$") as err:
        list(fork_map(broken, range(4), 2))
    assert (err.value.source, err.value.problem, err.value.hint) == ("pose.h5", "row 7 is broken",
                                                                     "fix it")
    again = pickle.loads(pickle.dumps(err.value))  # the worker sends it pickled
    assert str(again) == str(err.value)
    with pytest.raises(RuntimeError, match="nested"):
        list(fork_map(lambda i: list(fork_map(abs, [i], 2)), [1], 2))
    assert list(fork_map(lambda i: can_fork(), [1], 1)) == [False]  # a pool's worker


def test_a_spare_process_warms_up_then_takes_calls(tmp_path):
    flag = tmp_path / "warm.txt"

    def warm():
        flag.write_text(str(os.getpid()))

    with spare_process(warm) as spare:
        assert spare.forked
        job = spare.submit(os.getpid)
        here = os.getpid()
        failing = spare.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            failing.result()  # the worker's error, raised here
    assert job.result() == int(flag.read_text()) != here  # warmed and ran in the spare
    with spare_process(warm, enabled=False) as spare:
        assert not spare.forked
        assert spare.submit(os.getpid).result() == here  # called here when given
    with pytest.raises(ZeroDivisionError):  # leaving the block waits for every call
        with spare_process() as spare:
            spare.submit(divmod, 1, 0)


DIES = """
import os, signal, sys, time
from behavtrack.errors import InputError
from behavtrack.parallel import fork_map, spare_process

def item(i):
    if i == 3:  # as the system's out-of-memory killer would
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return i

t0 = time.perf_counter()
try:
    list(fork_map(item, range(8), 2))
except InputError as exc:
    print("map", exc.source, "|", exc)
with spare_process() as spare:
    assert spare.submit(abs, -2).result() == 2
    dying = spare.submit(os._exit, 9)  # the process ends without a result
    try:
        dying.result()
    except InputError as exc:
        print("spare", exc.source)
    try:
        spare.submit(abs, -1)  # the pool is broken: at once
    except InputError as exc:
        print("again", exc.source)
print("seconds", round(time.perf_counter() - t0))
"""


def test_a_worker_that_dies_is_a_one_line_error_not_a_hang():
    """A worker killed (by the out-of-memory killer, say) used to leave fork_map and the spare
    process's callers waiting for ever; now every waiting call raises at once."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", DIES], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert out[0] == ("map jobs | jobs: a worker process ended abruptly (the system kills "
                      "processes when it runs out of memory) (use fewer processes, e.g. "
                      "jobs=1, or free some memory)")
    assert out[1:3] == ["spare jobs", "again jobs"]
    assert int(out[3].split()[1]) < 30


INTERRUPTED = """
import pathlib, sys, time
from behavtrack.parallel import fork_map, spare_process

marks = pathlib.Path(sys.argv[1])

def item(i):
    (marks / f"started_{i:02d}").touch()
    time.sleep(1.0)
    return i

def warm():  # a spare process still starting when the Ctrl-C comes
    (marks / "warming").touch()
    time.sleep(1.0)

try:
    with spare_process(warm) as spare:
        for i in fork_map(item, range(12), 2):
            print("done", i, flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_a_ctrl_c_ends_the_workers_quietly_and_at_once(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) while fork_map's workers run and a
    spare process warms up: each worker printed a KeyboardInterrupt traceback (the spare's
    as an "Exception in initializer"), and the calls the pool had already handed the
    workers ran on; now nothing is printed and no call starts after the Ctrl-C."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("started_*"))) < 2 or not (tmp_path / "warming").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the workers did not start within 60 s"
        time.sleep(0.01)
    started = sorted(tmp_path.glob("started_*"))
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    assert time.perf_counter() - t0 < 5  # not the 5 s of the calls left
    assert out.splitlines()[-1] == "interrupted" and err == ""
    assert sorted(tmp_path.glob("started_*")) == started
