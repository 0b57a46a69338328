"""xarray without a dask import at the first Dataset: the answers stay xarray's own."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr
from xarray.namedarray import pycompat
from xarray.namedarray import utils as xr_utils

from behavtrack.io._xarray import _DUCK_TYPES, defer_dask


def test_defer_dask_wraps_the_collection_check_once():
    defer_dask()
    first = xr_utils.is_dask_collection
    assert getattr(first, "_behavtrack_deferred", False)
    defer_dask()  # idempotent: not wrapped twice
    assert xr_utils.is_dask_collection is first
    assert first(np.zeros(3)) is False


def test_deferred_entries_resolve_the_array_type_once_the_module_is_imported(monkeypatch):
    dask_array = pytest.importorskip("dask.array")
    monkeypatch.setattr(pycompat, "_cached_duck_array_modules", {})
    for holder, _ in _DUCK_TYPES.values():  # as in a process that imported none of them
        monkeypatch.delitem(sys.modules, holder, raising=False)
    assert defer_dask() is True
    cache = pycompat._cached_duck_array_modules
    assert set(cache) == set(_DUCK_TYPES)
    assert cache["dask"].type == ()  # nothing is a dask array before dask.array exists
    monkeypatch.setitem(sys.modules, "dask.array", dask_array)
    assert cache["dask"].type == (dask_array.Array,)
    assert cache["dask"].available is True  # resolved through xarray's own entry


def test_modules_already_imported_keep_xarrays_entries(monkeypatch):
    pytest.importorskip("dask.array")
    monkeypatch.setattr(pycompat, "_cached_duck_array_modules", {})
    defer_dask()
    assert "dask" not in pycompat._cached_duck_array_modules  # dask.array is imported


def test_numpy_data_stays_numpy():
    defer_dask()
    da = xr.DataArray(np.arange(4.0), dims="time")
    assert da.chunks is None and isinstance(da.data, np.ndarray)


def test_a_dask_array_still_reports_chunks():
    defer_dask()
    dask_array = pytest.importorskip("dask.array")
    da = xr.DataArray(dask_array.from_array(np.arange(6.0), chunks=2), dims="time")
    assert da.chunks == ((2, 2, 2),)
    assert xr_utils.is_dask_collection(da.data)
    assert float(da.sum().compute()) == 15.0
    ds = xr.Dataset({"x": da})
    assert ds.chunks == {"time": (2, 2, 2)}
