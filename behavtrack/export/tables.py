"""``ethogram.csv`` (tidy frame labels with posteriors) and ``binary.csv`` (BORIS binary table)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.files import atomic_path
from behavtrack.io.bouts import BEHAVIORS

__all__ = ["ETHOGRAM_COLUMNS", "ethogram_table", "binary_table", "decimal_strings",
           "write_ethogram_csv", "write_binary_csv", "write_ethogram", "write_binary"]

#: Frames per block when a table is written block by block (memory flat in its length).
BLOCK_FRAMES = 50_000

ETHOGRAM_COLUMNS = ["frame", "time_s", "individual", "behavior"] + [f"p_{b}" for b in BEHAVIORS]


def ethogram_table(labels: dict[str, np.ndarray], proba: dict[str, np.ndarray], fps: float,
                   behaviors: tuple[str, ...] = BEHAVIORS, frames: slice | None = None
                   ) -> pd.DataFrame:
    """Tidy frame labels: one row per frame and individual.

    Parameters
    ----------
    labels
        individual -> behaviour name per frame.
    proba
        individual -> ``(n_frames, len(behaviors))`` posteriors (NaN where unknown).
    fps
        Frames per second.
    behaviors
        Order of the probability columns.
    frames
        Only these frames of each individual (e.g. ``slice(0, 1000)``): the rows the whole
        table has for them.

    """
    parts = []
    for ind, lab in labels.items():
        frame = np.arange(len(lab))
        if frames is not None:
            frame = frame[frames]
        names = np.asarray(lab, dtype=object)
        part = {"frame": frame, "time_s": np.round(frame / fps, 4),
                "individual": ind,
                "behavior": names if frames is None else names[frames]}
        p = np.asarray(proba[ind], dtype=float)
        if frames is not None:
            p = p[frames]
        for j, b in enumerate(behaviors):
            part[f"p_{b}"] = np.round(p[:, j], 4)
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(columns=ETHOGRAM_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ETHOGRAM_COLUMNS]


def binary_table(labels: dict[str, np.ndarray], fps: float,
                 behaviors: tuple[str, ...] = BEHAVIORS, frames: slice | None = None
                 ) -> pd.DataFrame:
    """BORIS "behaviour binary table": ``time`` and one 0/1 column per ``subject|behavior``.

    ``frames``: only these rows (e.g. ``slice(0, 1000)``), as the whole table has them.
    """
    n = max((len(v) for v in labels.values()), default=0)
    frame = np.arange(n) if frames is None else np.arange(n)[frames]
    out = {"time": np.round(frame / fps, 6)}
    for ind, lab in labels.items():
        lab = np.asarray(lab, dtype=object)
        if frames is not None:
            lab = lab[frames]
        for b in behaviors:
            out[f"{ind}|{b}"] = (lab == b).astype(np.int8)
    return pd.DataFrame(out)


def write_ethogram_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``ethogram.csv`` atomically (values as given; the table rounds to 4 decimals)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_binary_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``binary.csv`` atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_ethogram(labels: dict[str, np.ndarray], proba: dict[str, np.ndarray], fps: float,
                   path: str | os.PathLike, *, block_frames: int = BLOCK_FRAMES) -> Path:
    """Write ``ethogram.csv`` of :func:`ethogram_table` block by block, atomically.

    The bytes of ``write_ethogram_csv(ethogram_table(labels, proba, fps), path)``, without
    ever holding the whole table. Lines are formatted here (:func:`decimal_strings`: about
    3x faster than pandas); a name that CSV must quote sends its rows through pandas.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(ETHOGRAM_COLUMNS) + os.linesep)
        for ind, lab in labels.items():
            names = np.asarray(lab, dtype=object)
            plain = not _needs_quotes([ind, *set(names.tolist())])
            p = np.asarray(proba[ind], dtype=float)
            for start in range(0, len(names), block_frames):
                stop = min(len(names), start + block_frames)
                if not plain:
                    ethogram_table({ind: lab}, {ind: p}, fps, frames=slice(start, stop)
                                   ).to_csv(f, index=False, header=False)
                    continue
                frame = np.arange(start, stop)
                cols = [map(str, range(start, stop)), decimal_strings(frame / fps, 4).tolist(),
                        names[start:stop].tolist()]
                cols += [decimal_strings(p[start:stop, j], 4).tolist()
                         for j in range(len(BEHAVIORS))]
                f.write("".join([f"{a},{b},{ind},{c},{d},{e},{g},{h}{os.linesep}"
                                 for a, b, c, d, e, g, h in zip(*cols, strict=True)]))
    return Path(path)


def write_binary(labels: dict[str, np.ndarray], fps: float, path: str | os.PathLike, *,
                 block_frames: int = BLOCK_FRAMES) -> Path:
    """Write ``binary.csv`` of :func:`binary_table` block by block, atomically (same bytes).

    Lines are formatted here (each frame's 0/1 cells looked up from its labels' codes); a
    name that CSV must quote sends the table through pandas.
    """
    n = max((len(v) for v in labels.values()), default=0)
    names = [f"{ind}|{b}" for ind in labels for b in BEHAVIORS]
    if _needs_quotes(names) or len({len(v) for v in labels.values()}) > 1:
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            for start in range(0, max(n, 1), block_frames):
                binary_table(labels, fps, frames=slice(start, start + block_frames)).to_csv(
                    f, index=False, header=start == 0)
        return Path(path)
    # a frame's cells: its code in base len(BEHAVIORS + 1) (the last digit: no behaviour)
    base = len(BEHAVIORS) + 1
    one_hot = [",".join("1" if j == k else "0" for j in range(len(BEHAVIORS)))
               for k in range(base)]
    cells = np.array([""], dtype=object)
    for _ in labels:
        cells = np.array([c + "," + h for c in cells for h in one_hot], dtype=object)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(["time", *names]) + os.linesep)
        for start in range(0, n, block_frames):
            stop = min(n, start + block_frames)
            code = np.zeros(stop - start, dtype=np.intp)
            for lab in labels.values():
                code = code * base + _behavior_codes(np.asarray(lab, dtype=object)[start:stop])
            times = decimal_strings(np.arange(start, stop) / fps, 6).tolist()
            f.write("".join([f"{t}{c}{os.linesep}"
                             for t, c in zip(times, cells[code].tolist(), strict=True)]))
    return Path(path)


def _behavior_codes(names: np.ndarray) -> np.ndarray:
    """Index of each name in :data:`BEHAVIORS`; ``len(BEHAVIORS)`` for any other name."""
    codes = np.full(len(names), len(BEHAVIORS), dtype=np.intp)
    for k, b in enumerate(BEHAVIORS):
        codes[names == b] = k
    return codes


def _needs_quotes(names: Iterable[object]) -> bool:
    """Whether a CSV writer would quote any of ``names`` (pandas quotes minimally)."""
    return any(any(c in str(x) for c in ',"\r\n') or str(x) == "" for x in names)


@functools.cache
def _fractions(digits: int, strip: bool = True) -> np.ndarray:
    """``"." + r`` on ``digits`` digits for ``r`` in ``0..10**digits - 1`` (object array).

    ``strip``: without trailing zeros, ``".0"`` for zero (how ``str`` writes a float's
    decimals); else zero-padded.
    """
    texts = [f"{r:0{digits}d}" for r in range(10 ** digits)]
    if strip:
        texts = [t.rstrip("0") or "0" for t in texts]
    return np.array(["." + t for t in texts], dtype=object)


def decimal_strings(values: np.ndarray, decimals: int) -> np.ndarray:
    """Text of ``np.round(values, decimals)`` as pandas writes it in a CSV ('' for NaN).

    pandas writes a float column as ``values.astype(str)``: the shortest digits that read
    back as the same float. For a value rounded to at most 6 decimals, 0 or from 1e-4 to
    1e9, those are the integer part, a point and the decimals without trailing zeros (``.0`` when
    none), which are looked up in tables instead of formatted one by one. ``np.round``
    rounds ``values * 10**decimals`` to an integer: that integer is the one split here.
    Other values (negative, NaN, larger) go through numpy itself.

    Parameters
    ----------
    values
        1-D float array.
    decimals
        Decimals kept, 0 to 6.

    Returns
    -------
    numpy.ndarray
        Object array of ``str``.

    """
    if not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be 0..6, got {decimals}")
    x = np.asarray(values, dtype=float)
    scale = 10 ** decimals
    y = np.rint(x * float(scale))
    ok = (y >= 0) & (y < 1e9 * scale) & ~np.signbit(y)  # NaN fails every comparison
    if decimals > 4:  # below 1e-4 str writes an exponent (1e-05)
        ok &= (y == 0) | (y >= scale // 10**4)
    k = np.where(ok, y, 0).astype(np.int64)
    top = int(k.max()) if len(k) else 0
    if decimals <= 4 and top <= scale:  # in 0..1, e.g. probabilities: one table
        out = _units(decimals)[k]
    else:
        whole, part = np.divmod(k, scale)
        if decimals <= 4:
            frac = _fractions(decimals)[part]
        else:  # the first decimals, then the last three (which may be all zeros)
            hi, lo = np.divmod(part, 1000)
            frac = np.where(lo == 0, _fractions(decimals - 3)[hi],
                            _fractions(decimals - 3, strip=False)[hi] + _fractions(3)[lo])
            frac[lo != 0] = [t[:decimals - 2] + t[decimals - 1:] for t in frac[lo != 0]]
        wholes = (np.array([str(i) for i in range(top // scale + 1)], dtype=object)[whole]
                  if top // scale <= 1_000_000 else map(str, whole.tolist()))
        out = np.array([a + b for a, b in zip(wholes, frac.tolist(), strict=True)],
                       dtype=object)
    if not ok.all():
        odd = np.round(x[~ok], decimals)
        text = odd.astype(str).astype(object)
        text[np.isnan(odd)] = ""
        out[~ok] = text
    return out


@functools.cache
def _units(decimals: int) -> np.ndarray:
    """``str`` of ``k / 10**decimals`` for ``k`` in ``0..10**decimals`` (object array)."""
    return np.array(["0" + t for t in _fractions(decimals).tolist()] + ["1.0"], dtype=object)
