"""What reading a pose file imports: no dask unless a Dask array is used (a fresh process)."""

import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"

SCRIPT = """
import sys
from behavtrack.io.pose import load_pose
ds = load_pose(sys.argv[1], fps=30.0)
print("dask.array" in sys.modules, int(ds.sizes["time"]))
import dask.array as da
import xarray as xr
arr = xr.DataArray(da.zeros((4, 4), chunks=2))
print(type(arr.data).__name__, arr.chunks, xr.Dataset({"a": arr}).chunks["dim_0"])
"""


def test_loading_a_pose_file_does_not_import_dask_and_dask_arrays_still_work():
    pytest.importorskip("dask.array")
    pose = DATA / "social" / "120637-121213" / "pose_dlc.csv"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(pose)], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    imported, frames = out[0].split()
    assert imported == "False" and int(frames) > 0
    assert out[1] == "Array ((2, 2), (2, 2)) (2, 2)"
