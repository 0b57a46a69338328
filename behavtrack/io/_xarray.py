"""xarray without an import of dask at the first Dataset.

xarray asks, for every new Variable, whether the data is a dask array, and answers by
importing ``dask.array`` whenever dask is installed (about 0.5-1 s, and over 100 MiB, in a
process that never uses dask). An object can only be a dask array once ``dask.array`` has been
imported, so :func:`defer_dask` gives xarray a dask entry whose array types are looked up at
each check: empty until something imports ``dask.array``, then dask's own. Nothing else
changes: the first use of the module or its version imports dask as before.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["defer_dask"]


def defer_dask() -> bool:
    """Make xarray's dask check lazy; return whether it could be done (else xarray as is)."""
    if "dask.array" in sys.modules:
        return False
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - xarray is a dependency
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    base = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or base is None or "dask" in cache:
        return False

    class _DeferredDask(base):  # type: ignore[misc, valid-type]
        """xarray's dask entry, resolved when first needed."""

        def __init__(self) -> None:  # no import here
            self._real: Any = None

        def _resolve(self) -> Any:
            if self._real is None:
                self._real = base("dask")
            return self._real

        @property
        def type(self) -> tuple:  # noqa: A003 - xarray's name
            arr = sys.modules.get("dask.array")
            return (arr.Array,) if arr is not None and hasattr(arr, "Array") else ()

        @property
        def module(self) -> Any:
            return self._resolve().module

        @property
        def version(self) -> Any:
            return self._resolve().version

        @property
        def available(self) -> bool:
            return self._resolve().available

    cache["dask"] = _DeferredDask()
    return True
