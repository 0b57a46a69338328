"""xarray without an import of dask at the first Dataset.

xarray asks, for every new Variable, whether the data is a dask array, and answers by
importing ``dask.array`` (and ``dask.base``) whenever dask is installed: about 0.5-1 s, and
over 100 MiB, in a process that never uses dask. An object can only be a dask array or a dask
collection once dask has been imported, so :func:`defer_dask` gives xarray

- entries for dask, pint, cupy, sparse and cubed whose array types are looked up at each
  check: empty until something imports the module (pint imports dask), then its own (the
  first use of the module or its version imports it as before);
- an ``is_dask_collection`` that answers ``False`` while dask is not imported, and asks dask
  once it is.

Both answers are the ones xarray would give; only the imports are saved. If xarray's internals
differ from what is expected, nothing is changed.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["defer_dask"]


#: Duck-array modules xarray checks for at every Variable: module -> (module holding the array
#: class, its name), as ``xarray.namedarray.pycompat.DuckArrayModule`` finds them.
_DUCK_TYPES = {"dask": ("dask.array", "Array"), "pint": ("pint", "Quantity"),
               "cupy": ("cupy", "ndarray"), "sparse": ("sparse", "SparseArray"),
               "cubed": ("cubed", "Array")}


def defer_dask() -> bool:
    """Make xarray's duck-array checks lazy; return whether it could be done (else as is)."""
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - xarray is a dependency
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    base = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or base is None:
        return False

    class _Deferred(base):  # type: ignore[misc, valid-type]
        """xarray's entry for one duck-array module, resolved when first needed."""

        def __init__(self, mod: str) -> None:  # no import here
            self._mod = mod
            self._real: Any = None

        def _resolve(self) -> Any:
            if self._real is None:
                self._real = base(self._mod)
            return self._real

        @property
        def type(self) -> tuple:  # noqa: A003 - xarray's name
            holder, name = _DUCK_TYPES[self._mod]
            mod = sys.modules.get(holder)
            cls = getattr(mod, name, None) if mod is not None else None
            return (cls,) if isinstance(cls, type) else ()

        @property
        def module(self) -> Any:
            return self._resolve().module

        @property
        def version(self) -> Any:
            return self._resolve().version

        @property
        def available(self) -> bool:
            return self._resolve().available

    changed = False
    for mod, (holder, _) in _DUCK_TYPES.items():
        if mod not in cache and holder not in sys.modules:
            cache[mod] = _Deferred(mod)
            changed = True
    _defer_collection_check()
    return changed


def _defer_collection_check() -> None:
    """Make ``xarray.namedarray.utils.is_dask_collection`` import dask only once it is used."""
    try:
        from xarray.namedarray import utils
    except ImportError:  # pragma: no cover
        return
    original = getattr(utils, "is_dask_collection", None)
    if original is None or getattr(original, "_behavtrack_deferred", False):
        return

    def is_dask_collection(x: object) -> bool:
        if "dask" not in sys.modules:  # nothing is a dask collection before dask exists
            return False
        return bool(original(x))

    is_dask_collection._behavtrack_deferred = True  # type: ignore[attr-defined]
    utils.is_dask_collection = is_dask_collection
