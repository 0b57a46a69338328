"""Labels as one-byte codes, and the outputs another process writes from them.

``behavtrack classify`` hands ``ethogram.png`` and ``binary.csv`` to a spare process
(:func:`behavtrack.parallel.spare_process`) while it writes the other tables itself. The
labels (a Python string per frame) are sent as small integer codes with the names they
index, and the functions here write the outputs from those. This module and what its
functions import (the raster, the tables: numpy, pandas, matplotlib) are all that process
needs: :func:`prepare_outputs` imports them ahead, and handing over a call imports nothing
more (no xarray, no model, no feature code).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["code_labels", "decode_labels", "draw_ethogram_coded", "prepare_outputs",
           "write_binary_coded"]


def code_labels(labels: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Return the labels as small integer codes and the sorted names they index.

    One byte a frame (up to 256 names) instead of a pointer to a string: cheap to send.

    Examples
    --------
    >>> codes, names = code_labels({"m1": np.array(["waiting", "other", "waiting"])})
    >>> codes["m1"].tolist(), names.tolist()
    ([1, 0, 1], ['other', 'waiting'])

    """
    names = np.array(sorted({str(v) for lab in labels.values() for v in set(lab.tolist())}),
                     dtype=object)
    codes = {}
    for ind, lab in labels.items():
        codes[ind] = np.zeros(len(lab), dtype=np.min_scalar_type(max(len(names) - 1, 0)))
        for k, name in enumerate(names):
            codes[ind][lab == name] = k
    return codes, names


def decode_labels(codes: dict[str, np.ndarray], names: np.ndarray) -> dict[str, np.ndarray]:
    """Return the labels :func:`code_labels` coded (object arrays of the names)."""
    return {ind: names[c] for ind, c in codes.items()}


def draw_ethogram_coded(codes: dict[str, np.ndarray], names: np.ndarray, fps: float,
                        path: str | os.PathLike, title: str = "") -> Path:
    """:func:`~behavtrack.export.raster.plot_ethogram` of coded labels (the same bytes)."""
    from behavtrack.export.raster import plot_ethogram

    return plot_ethogram(decode_labels(codes, names), fps, path, title=title)


def write_binary_coded(codes: dict[str, np.ndarray], names: np.ndarray, fps: float,
                       path: str | os.PathLike) -> Path:
    """:func:`~behavtrack.export.tables.write_binary` of coded labels (the same bytes)."""
    from behavtrack.export.tables import write_binary

    return write_binary(decode_labels(codes, names), fps, path)


def prepare_outputs() -> None:
    """Import what this module's writers use and load the figure's font, ahead of the calls.

    About 1 s in a fresh process (matplotlib, pandas): the warm-up of the spare process that
    a classify run forks before it imports its own stack.
    """
    import behavtrack.export.tables  # noqa: F401 - imported for write_binary_coded
    from behavtrack.export.raster import prepare_plotting

    prepare_plotting()
