"""Batch runs: discovery, resuming, failures, local processes and a real Dask LocalCluster."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pandas as pd
import pytest
from _signal_helpers import sigint_default, until_none_alive

from behavtrack.batch import discover_jobs, run_batch
from behavtrack.cli import main
from behavtrack.errors import InputError


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two pairs x two days of 30 s simulated sessions, written as session folders."""
    from behavtrack.simulate import simulate_cohort, write_session

    root = tmp_path_factory.mktemp("cohort") / "sessions"
    for sess in simulate_cohort(2, 2, duration_s=30.0, fps=30.0, seed=7):
        folder = root / sess.meta["pair"] / f"day{sess.meta['day'] + 1:02d}"
        write_session(sess, folder, pose_formats=("pose.h5",))
    return root


def _copy(cohort: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "sessions"
    shutil.copytree(cohort, dst)
    return dst


def test_discover_jobs_finds_session_folders_globs_and_manifests(cohort: Path, tmp_path: Path):
    jobs = discover_jobs([cohort])
    assert [j.session_id for j in jobs] == [
        "pair01/day01", "pair01/day02", "pair02/day01", "pair02/day02"]
    assert all(j.kind == "session" for j in jobs)
    globbed = discover_jobs([str(cohort / "pair01" / "day*")])
    assert [j.session_id for j in globbed] == ["day01", "day02"]
    manifest = tmp_path / "m.txt"
    lines = ["# sessions", str(cohort / "pair02" / "day02"),
             str(cohort / "pair01" / "day01" / "pose.h5")]
    manifest.write_text("\n".join(lines) + "\n")
    kinds = {j.kind for j in discover_jobs([manifest])}
    assert kinds == {"session", "pose"}
    with pytest.raises(InputError, match="matches no file"):
        discover_jobs([str(tmp_path / "nothing*")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no session folder"):
        discover_jobs([tmp_path / "empty"])


def test_batch_classifies_resumes_and_reports_failures(cohort: Path, tmp_path: Path):
    sessions = _copy(cohort, tmp_path)
    out = tmp_path / "out"
    res = run_batch([sessions], out)
    assert sorted(res.done) == ["pair01/day01", "pair01/day02", "pair02/day01", "pair02/day02"]
    assert not res.failed
    for sid in res.done:
        d = out / "sessions" / sid
        for name in ("ethogram.csv", "bouts.csv", "binary.csv", "provenance.json",
                     "session.json", "events.csv", "batch.json"):
            assert (d / name).is_file(), f"{sid}/{name} missing"
        meta = json.loads((d / "session.json").read_text())
        assert meta["pair"] == sid.split("/")[0]
        eth = pd.read_csv(d / "ethogram.csv")
        assert set(eth["individual"]) == {"mouse1", "mouse2"}
        assert len(eth) == 2 * 900
    sessions_csv = pd.read_csv(out / "stats" / "sessions.csv")
    assert len(sessions_csv) == 4
    assert {"source", "pair", "session", "progress", "success_rate"} <= set(sessions_csv.columns)

    # a second run does nothing: every session is up to date
    again = run_batch([sessions], out, stats=False)
    assert sorted(again.skipped) == sorted(res.done) and not again.done

    # change one input: only that session runs again; break another: it fails alone
    ev = sessions / "pair01" / "day02" / "events.csv"
    ev.write_text(ev.read_text())  # same bytes: still up to date
    arena = sessions / "pair02" / "day01" / "arena.yaml"
    arena.write_text(arena.read_text().replace("window_s: 5.0", "window_s: 3.0"))
    pose = sessions / "pair01" / "day01" / "pose.h5"
    pose.write_bytes(pose.read_bytes()[:2000])  # truncated HDF5
    third = run_batch([sessions], out, stats=False)
    assert third.done == ["pair02/day01"]
    assert sorted(third.skipped) == ["pair01/day02", "pair02/day02"]
    assert [f["session_id"] for f in third.failed] == ["pair01/day01"]
    failures = pd.read_csv(out / "failures.csv")
    assert failures["session_id"].tolist() == ["pair01/day01"]
    assert "pose.h5" in failures["error"].iloc[0]


def test_an_out_inside_the_inputs_is_not_read_back_as_sessions(cohort: Path, tmp_path: Path):
    sessions = _copy(cohort, tmp_path)
    first = run_batch([sessions], sessions / "batch-out", stats=False)
    again = run_batch([sessions], sessions / "batch-out", stats=False)
    assert len(first.done) == 4 and not first.failed
    assert sorted(again.skipped) == sorted(first.done) and not again.done and not again.failed


@pytest.fixture(scope="module")
def serial(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cohort's batch in this process (``jobs=1``), statistics included."""
    from behavtrack.learning import cohort as cohort_module

    out = tmp_path_factory.mktemp("serial") / "out"
    analysed = []
    with pytest.MonkeyPatch.context() as mp:
        real = cohort_module.session_result
        mp.setattr(cohort_module, "session_result",
                   lambda folder, **kw: analysed.append(folder) or real(folder, **kw))
        res = run_batch([cohort], out)
    assert len(res.done) == 4 and res.stats_dir == out / "stats"
    # each session is analysed once, as it is classified; the statistics take it as it is
    assert sorted(map(str, analysed)) == sorted(str(d) for d in res.session_dirs)
    return out


def _same_stats(a: Path, b: Path) -> None:
    """The statistics of two batches are the same bytes, figures included (the output
    folder's name aside: sessions.csv and stats.json name the session folders)."""
    names = sorted(p.name for p in (a / "stats").iterdir())
    assert "learning_curves_mice.png" in names
    assert names == sorted(p.name for p in (b / "stats").iterdir())
    for name in names:
        x = (a / "stats" / name).read_bytes().replace(bytes(a), b"OUT")
        y = (b / "stats" / name).read_bytes().replace(bytes(b), b"OUT")
        assert x == y, name


def test_two_local_workers_give_the_same_outputs(cohort: Path, serial: Path, tmp_path: Path):
    # each worker computes its sessions' rows of sessions.csv, an idle one draws the figure;
    # the sessions' PNGs are drawn from their tables once a worker is idle: the same bytes
    two = run_batch([cohort], tmp_path / "two", jobs=2)
    assert sorted(two.done) == ["pair01/day01", "pair01/day02", "pair02/day01", "pair02/day02"]
    for sid in two.done:
        for name in ("ethogram.csv", "bouts.csv", "binary.csv", "ethogram.png"):
            a = (serial / "sessions" / sid / name).read_bytes()
            b = (tmp_path / "two" / "sessions" / sid / name).read_bytes()
            assert a == b, f"{sid}/{name}"
        record = json.loads((tmp_path / "two" / "sessions" / sid / "batch.json").read_text())
        assert record["session_id"] == sid and record["fingerprint"]
    summary = json.loads((tmp_path / "two" / "batch.json").read_text())
    assert summary["done"] == sorted(two.done)  # whatever order the workers finished in
    _same_stats(serial, tmp_path / "two")
    # resumed: every session is up to date, its row computed again by the workers
    again = run_batch([cohort], tmp_path / "two", jobs=2)
    assert len(again.skipped) == 4 and not again.done
    _same_stats(serial, tmp_path / "two")


def test_a_local_batch_parent_reads_no_pose_and_draws_nothing(cohort: Path, tmp_path: Path):
    """With local workers the parent computes the cohort's statistics (their modules are
    imported while the fork server imports the workers' stack): it never reads a pose or
    draws, so matplotlib and scipy.stats, which would take CPU from the workers, stay out.
    (xarray comes in with the model the parent loads for the workers, before they start:
    its feature names are checked by the features' module.)"""
    import subprocess
    import sys

    code = ("import sys; from behavtrack.batch import run_batch; "
            f"r = run_batch([{str(cohort)!r}], {str(tmp_path / 'out')!r}, jobs=2); "
            "print(len(r.done), r.stats_dir is not None, sorted(m for m in "
            "('matplotlib', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "BEHAVTRACK_QUIET": "1"}).stdout
    assert out.strip().splitlines()[-1] == "4 True []"
    assert (tmp_path / "out" / "stats" / "learning_curves_mice.png").is_file()


def test_a_model_given_to_local_workers_classifies_as_the_shipped_one(cohort: Path, serial: Path,
                                                                      tmp_path: Path):
    """``model=`` with local workers: the batch loads it once and hands it to the workers;
    a broken file is left to them, and every session fails with its one-line error."""
    from behavtrack.strategies.model_file import shipped_model_path

    given = tmp_path / "model.json"
    given.write_bytes(shipped_model_path("default").read_bytes())
    res = run_batch([cohort], tmp_path / "given", jobs=2, model=given, stats=False)
    assert len(res.done) == 4
    for sid in res.done:
        for name in ("ethogram.csv", "bouts.csv"):
            assert ((tmp_path / "given" / "sessions" / sid / name).read_bytes()
                    == (serial / "sessions" / sid / name).read_bytes()), f"{sid}/{name}"
    given.write_text("{not json")
    res = run_batch([cohort], tmp_path / "broken", jobs=2, model=given, stats=False)
    assert not res.done and len(res.failed) == 4
    assert all("is not a JSON model file" in f["error"] for f in res.failed)


def test_failures_csv_is_what_pandas_writes(tmp_path: Path):
    from behavtrack.batch import _write_failures

    failed = [{"session_id": "b", "stage": "classify", "error": 'ValueError: "x", y',
               "detail": "Traceback:\n  line 1\r\nend"},
              {"session_id": "a", "stage": "check", "error": "InputError: p: bad", "detail": ""}]
    _write_failures(failed, tmp_path / "ours.csv")
    pd.DataFrame(failed, columns=["session_id", "stage", "error", "detail"]).sort_values(
        "session_id").to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    _write_failures([], tmp_path / "none.csv")
    pd.DataFrame([], columns=["session_id", "stage", "error", "detail"]).to_csv(
        tmp_path / "none_pd.csv", index=False)
    assert (tmp_path / "none.csv").read_bytes() == (tmp_path / "none_pd.csv").read_bytes()


def test_batch_on_a_dask_local_cluster(cohort: Path, serial: Path, tmp_path: Path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = run_batch([cohort], tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert len(res.done) == 4 and not res.failed
    _same_stats(serial, tmp_path / "dask")  # rows and figure from the Dask workers
    local = run_batch([cohort / "pair01" / "day01"], tmp_path / "local", stats=False)
    a = (tmp_path / "dask" / "sessions" / "pair01/day01" / "bouts.csv").read_text()
    b = (tmp_path / "local" / "sessions" / local.done[0] / "bouts.csv").read_text()
    assert a == b


def test_unreachable_scheduler_is_a_one_line_error_not_a_hang(cohort: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture):
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    code = main(["batch", str(cohort), "--out", str(tmp_path / "o"),
                 "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert time.perf_counter() - t0 < 60
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "scheduler cannot be reached" in err[0] and "Traceback" not in err[0]


def test_batch_cli_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    (tmp_path / "list.txt").write_bytes(b"\xff\xfe\x00")
    code = main(["batch", str(tmp_path / "list.txt"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "is not a text manifest" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
    (tmp_path / "afile").write_text("mine")
    code = main(["batch", str(tmp_path), "--out", str(tmp_path / "afile")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an output folder" in err and err.count("\n") == 1
    assert (tmp_path / "afile").read_text() == "mine"


def test_batch_of_bare_pose_files_classifies_and_explains_missing_stats(cohort: Path,
                                                                       tmp_path: Path):
    import h5py

    from behavtrack.io.arena import default_arena_path

    # a DLC file as DeepLabCut writes it, alone in its folder, does not say its fps
    (tmp_path / "bare").mkdir()
    bare = tmp_path / "bare" / "pose.h5"
    shutil.copy(cohort / "pair01" / "day01" / "pose.h5", bare)
    with h5py.File(bare, "r+") as f:
        del f.attrs["fps"]  # what behavtrack's save_pose adds
    nofps = run_batch([str(bare)], tmp_path / "nofps", stats=False)
    assert not nofps.done and "frame rate" in nofps.failed[0]["error"]
    res = run_batch([str(cohort / "*" / "day01" / "pose.h5")], tmp_path / "o",
                    arena=default_arena_path())
    assert sorted(res.done) == ["pair01/day01/pose", "pair02/day01/pose"]
    summary = json.loads((tmp_path / "o" / "batch.json").read_text())
    assert summary["done"] == sorted(res.done)
    if res.stats_dir is None:  # bare pose files carry no pair/session: said, not crashed
        assert summary["stats_error"] and "\n" not in summary["stats_error"]
    else:
        assert (res.stats_dir / "sessions.csv").is_file()
    # local workers compute the statistics on a worker: the same outcome, the same message
    two = run_batch([str(cohort / "*" / "day01" / "pose.h5")], tmp_path / "o2",
                    arena=default_arena_path(), jobs=2)
    assert sorted(two.done) == sorted(res.done)
    assert (two.stats_dir is None) == (res.stats_dir is None)
    assert two.stats_error == (res.stats_error.replace(str(tmp_path / "o"), str(tmp_path / "o2"))
                               if res.stats_error else None)


def test_cli_file_system_refusal_is_one_line_exit_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture):
    out = tmp_path / ("x" * 300)  # the file system refuses the name: an OSError, not bad input
    code = main(["-q", "simulate", "--pairs", "1", "--days", "1", "--duration", "5",
                 "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("behavtrack simulate: error: ") and str(out) in err[0]
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_ctrl_c_while_the_workers_start_is_one_line(cohort: Path, tmp_path: Path):
    """Ctrl-C in the first second of ``behavtrack batch --jobs 2``, while the workers' fork
    server imports their stack: the one-line message and exit 130, not the fork server's
    traceback (it ignored SIGINT only once its imports were done), and nothing left running."""
    import signal
    import subprocess
    import sys

    argv = [sys.executable, "-c", "import sys; from behavtrack.cli import main; "
            "sys.exit(main(sys.argv[1:]))", "-q", "batch", str(cohort), "--out",
            str(tmp_path / "out"), "--jobs", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=tmp_path, preexec_fn=sigint_default)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    try:
        deadline = time.monotonic() + 60
        # the fork server, importing (not the resource tracker, started just before it, in
        # the milliseconds when a Ctrl-C is ignored so that the server inherits that)
        while not any(b"forkserver" in _cmdline(pid) for pid in children.read_text().split()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no fork server within 60 s"
            time.sleep(0.005)
        time.sleep(0.1)  # (its start, a few milliseconds, ignores Ctrl-C)
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["behavtrack: interrupted"]
    assert until_none_alive(proc.pid)  # the fork server is gone too


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""
