"""What reading a pose file imports: no dask or pint unless they are used (a fresh process)."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"

SCRIPT = """
import sys
from behavtrack.io.pose import load_pose
ds = load_pose(sys.argv[1], fps=30.0)
print(any(m in sys.modules for m in ("dask", "pint", "sparse")), int(ds.sizes["time"]))
import dask.array as da
import xarray as xr
arr = xr.DataArray(da.zeros((4, 4), chunks=2))
print(type(arr.data).__name__, arr.chunks, xr.Dataset({"a": arr}).chunks["dim_0"])
import numpy as np
import pint
q = xr.DataArray(pint.UnitRegistry().Quantity(np.arange(3.0), "m"), dims="x")
print(type(q.data).__name__, str(q.data.units), xr.Dataset({"q": q}).q.data.magnitude.sum())
"""


def test_loading_a_pose_file_imports_no_dask_and_dask_and_pint_arrays_still_work():
    pytest.importorskip("dask.array")
    pytest.importorskip("pint")
    pose = DATA / "social" / "120637-121213" / "pose_dlc.csv"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(pose)], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    imported, frames = out[0].split()
    assert imported == "False" and int(frames) > 0
    assert out[1] == "Array ((2, 2), (2, 2)) (2, 2)"
    assert out[2] == "Quantity meter 3.0"


def test_a_batch_parent_imports_neither_xarray_nor_scipy_stats():
    """batch's parent finds the sessions and computes the statistics: it never reads a pose,
    so xarray (and scipy.stats, 0.5-0.9 s) would only take CPU from the workers."""
    code = ("import sys, behavtrack.cli.batch, behavtrack.batch, behavtrack.io.session, "
            "behavtrack.workflows.stats, behavtrack.learning.curves; "
            "jobs = behavtrack.batch.discover_jobs([sys.argv[1]]); "  # a pose file's job
            "print(jobs[0].kind, sorted(m for m in ('xarray', 'scipy.stats', 'matplotlib') "
            "if m in sys.modules))")
    pose = DATA / "social" / "120637-121213" / "pose_dlc.csv"
    out = subprocess.run([sys.executable, "-c", code, str(pose)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "pose []"


def test_the_classify_spare_process_imports_no_classify_stack():
    """``behavtrack classify`` forks the process that draws ethogram.png and writes binary.csv
    before importing its own stack; the calls it then gets (pickled by name) must import
    nothing more, or that process would import xarray and the models at the very end of the
    run, with the command waiting for it (0.3-0.4 s of a 1 h session's 3 s)."""
    from behavtrack.workflows import classify

    # what classify_session submits to the spare process, as it is sent
    sent = pickle.dumps([classify.draw_ethogram_coded, classify.write_binary_coded]).hex()
    code = ("import pickle, sys; from behavtrack.cli.classify import _prepare_outputs; "
            "_prepare_outputs(); before = set(sys.modules); "
            "pickle.loads(bytes.fromhex(sys.argv[1])); "
            "print(sorted(m for m in ('xarray', 'hmmlearn', 'behavtrack.workflows.classify', "
            "'behavtrack.strategies.pipeline', 'matplotlib.figure', 'pandas') "
            "if m in sys.modules), sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code, sent], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "['matplotlib.figure', 'pandas'] []"


BLAS = """
import os, sys
if sys.argv[1] != "unset":
    os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
from behavtrack.cli import main
try:
    main(["--version"])
except SystemExit:
    pass
import json, numpy, cv2, threadpoolctl
print(json.dumps(sorted({(i["filepath"].rsplit("/", 1)[-1], i["num_threads"])
                         for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})))
"""


@pytest.mark.parametrize(("given", "threads"), [("unset", 1), ("2", 2)])
def test_the_cli_starts_one_blas_thread_unless_the_environment_says(given, threads):
    """The OpenBLAS pools of numpy and OpenCV only spin in behavtrack's processes (0.27 s of
    CPU at import, taken from the work): the CLI runs them on one thread, and a user's own
    ``OPENBLAS_NUM_THREADS`` is kept."""
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", BLAS, given], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    pools = json.loads(out.splitlines()[-1])  # after --version's line
    assert len(pools) == 2  # numpy's and OpenCV's own OpenBLAS
    assert {n for _, n in pools} == {threads}
