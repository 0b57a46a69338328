"""DeepLabCut pose files written directly from arrays, without pandas or movement.

:func:`write_dlc_h5` writes the HDF5 layout that ``pandas.DataFrame.to_hdf(path,
key="df_with_missing", mode="w")`` gives a DeepLabCut table (pandas' "fixed" format, through
PyTables), node for node and attribute for attribute; :func:`write_dlc_csv` writes the text
``DataFrame.to_csv`` gives. Both are what :func:`movement.io.save_poses.to_dlc_style_df`
builds from a poses Dataset: columns ``scorer / [individuals /] bodyparts / coords`` (``x,
y, likelihood``), one row per frame, rows numbered from 0. The tests compare both files with
pandas' own output, so that movement, DeepLabCut and :func:`behavtrack.io.pose.load_pose`
read them as before; importing pandas (and movement) costs a second of start-up that the
tracker does not need.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["dlc_values", "write_dlc_csv", "write_dlc_h5"]

COORDS = ("x", "y", "likelihood")
_CSV_ROWS = 4096  # rows converted to text at a time
_NAMES_SINGLE = ("scorer", "bodyparts", "coords")
_NAMES_MULTI = ("scorer", "individuals", "bodyparts", "coords")


def dlc_values(position: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Arrange poses as DeepLabCut's table: ``(time, individual * keypoint * 3)``.

    Parameters
    ----------
    position
        ``(time, 2, keypoint, individual)`` x and y.
    confidence
        ``(time, keypoint, individual)``.

    """
    tracks = np.concatenate([position, confidence[:, None]], axis=1)  # (time, 3, kp, ind)
    return np.ascontiguousarray(tracks.transpose(0, 3, 2, 1)).reshape(len(tracks), -1)


def _levels(
    scorer: str, individuals: Sequence[str] | None, bodyparts: Sequence[str]
) -> tuple[tuple[str, ...], list[list[str]], list[np.ndarray]]:
    """Level names, sorted level values and codes of the columns (as a MultiIndex has them)."""
    products = [[scorer]] + ([list(individuals)] if individuals is not None else [])
    products += [list(bodyparts), list(COORDS)]
    names = _NAMES_MULTI if individuals is not None else _NAMES_SINGLE
    sizes = [len(p) for p in products]
    levels, codes = [], []
    for i, values in enumerate(products):
        level = sorted(set(values))
        code = np.array([level.index(v) for v in values], dtype=np.int8)
        # a product: each value repeated for the levels after it, tiled for those before
        code = np.tile(np.repeat(code, int(np.prod(sizes[i + 1:]))), int(np.prod(sizes[:i])))
        levels.append(level)
        codes.append(code)
    return names, levels, codes


def write_dlc_h5(
    path: str | os.PathLike,
    values: np.ndarray,
    scorer: str,
    bodyparts: Sequence[str],
    individuals: Sequence[str] | None = None,
) -> None:
    """Write a DeepLabCut table as pandas' fixed-format HDF5 (key ``df_with_missing``).

    Parameters
    ----------
    path
        Target file (overwritten; write to a temporary path and rename for atomicity).
    values
        ``(frames, columns)`` float table, columns ordered as :func:`dlc_values` gives.
    scorer
        The ``scorer`` level's one value.
    bodyparts
        Body-part names, in column order.
    individuals
        Individual names for the multi-animal layout (with the ``individuals`` level);
        ``None`` for the single-animal layout.

    """
    import tables

    values = np.asarray(values, dtype=np.float64)
    names, levels, codes = _levels(scorer, individuals, bodyparts)
    if values.ndim != 2 or values.shape[1] != len(codes[0]):
        raise ValueError(f"values of shape {values.shape} do not fit {len(codes[0])} columns")
    with tables.open_file(os.fspath(path), mode="w") as h5:
        group = h5.create_group("/", "df_with_missing")
        attrs = group._v_attrs
        attrs.pandas_type = "frame"
        attrs.encoding = "UTF-8"
        attrs.errors = "strict"
        attrs.ndim = 2

        def array(key: str, data: np.ndarray) -> tables.Array:
            node = h5.create_array(group, key, data)
            node._v_attrs.transposed = True
            return node

        def multi_index(key: str) -> None:
            setattr(attrs, f"{key}_variety", "multi")
            setattr(attrs, f"{key}_nlevels", len(levels))
            for i, (level, code, name) in enumerate(zip(levels, codes, names, strict=True)):
                encoded = [v.encode("utf-8") for v in level]
                width = max(1, max(len(v) for v in encoded))
                node = array(f"{key}_level{i}", np.array(encoded, dtype=f"S{width}"))
                node._v_attrs.kind = "string"
                node._v_attrs.name = name
                node._v_attrs.nan_rep = ""
                setattr(node._v_attrs, f"{key}_name{name}", name)
                array(f"{key}_label{i}", code)

        multi_index("axis0")
        attrs.axis1_variety = "regular"
        node = array("axis1", np.arange(len(values), dtype=np.int64))
        node._v_attrs.kind = "integer"
        node._v_attrs.name = None
        attrs.nblocks = 1
        array("block0_values", values)
        multi_index("block0_items")


def write_dlc_csv(
    path: str | os.PathLike,
    values: np.ndarray,
    scorer: str,
    bodyparts: Sequence[str],
    individuals: Sequence[str] | None = None,
) -> None:
    """Write a DeepLabCut table as CSV, as ``DataFrame.to_csv`` does (see :func:`write_dlc_h5`).

    Missing values are empty fields; numbers are written as Python writes them (the shortest
    text that reads back to the same float).
    """
    values = np.asarray(values, dtype=np.float64)
    names = _NAMES_MULTI if individuals is not None else _NAMES_SINGLE
    columns = []
    for ind in (individuals if individuals is not None else [None]):
        for bp in bodyparts:
            for c in COORDS:
                columns.append((scorer, ind, bp, c) if ind is not None else (scorer, bp, c))
    if values.ndim != 2 or values.shape[1] != len(columns):
        raise ValueError(f"values of shape {values.shape} do not fit {len(columns)} columns")
    header = [",".join([name, *(_csv_field(c[i]) for c in columns)])
              for i, name in enumerate(names)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(header) + "\n")
        # in blocks of rows: the text of a long video is never all in memory
        for start in range(0, len(values), _CSV_ROWS):
            rows = values[start:start + _CSV_ROWS].tolist()
            # Python's repr is the shortest round-trip text, as numpy's str and pandas write
            # it (faster than ``astype(str)``); NaN is the only value whose text holds "nan"
            f.write("".join(f"{start + i},{','.join(map(repr, row)).replace('nan', '')}\n"
                            for i, row in enumerate(rows)))


def _csv_field(value: str) -> str:
    """Quote a header field as the csv module does (only when it must be)."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
