"""The bout-editing model behind the review plugin: pure Python, no Qt.

:class:`BoutEditor` holds one session's bouts (the internal bouts table of
:mod:`behavtrack.io.bouts`) and edits them the way a reviewer does while watching the video:
relabel the bout under the cursor, split it at the cursor, merge it with a neighbour, delete
it, make a new bout over a frame range, and undo or redo any of these. Every edit keeps each
individual's bouts sorted and non-overlapping; edited bouts get ``confidence`` NaN (a human
label has no posterior). Listeners registered with :meth:`BoutEditor.connect` are called after
every change, which is how the timeline dock redraws.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.errors import InputError
from behavtrack.io.bouts import BEHAVIORS, BOUT_COLUMNS, bouts_to_frames, write_bouts_csv

__all__ = ["BoutEditor", "labels_from_bouts"]


def _clean(bouts: pd.DataFrame, fps: float, n_frames: int, source: str) -> pd.DataFrame:
    """Return ``bouts`` with integer frames, seconds recomputed, sorted, checked."""
    missing = [c for c in ("individual", "behavior") if c not in bouts]
    if missing:
        raise InputError(source, f"bouts table has no column {missing[0]!r}",
                         "give a bouts table of behavtrack.io.bouts")
    if len(bouts) == 0:
        return pd.DataFrame(columns=BOUT_COLUMNS).astype(
            {"start_frame": int, "stop_frame": int, "confidence": float}
        )
    start = pd.to_numeric(bouts.get("start_frame"), errors="coerce") if "start_frame" in bouts \
        else pd.Series(np.nan, index=bouts.index)
    stop = pd.to_numeric(bouts.get("stop_frame"), errors="coerce") if "stop_frame" in bouts \
        else pd.Series(np.nan, index=bouts.index)
    start = start.to_numpy(dtype=float)
    stop = stop.to_numpy(dtype=float)
    # bouts known only in seconds are placed at round(t * fps)
    if np.isnan(start).any() or np.isnan(stop).any():
        if "start_s" not in bouts or "stop_s" not in bouts:
            raise InputError(source, "a bout has neither frames nor times",
                             "fill start_frame/stop_frame or start_s/stop_s")
        start = np.where(np.isnan(start), np.round(bouts["start_s"].to_numpy(float) * fps), start)
        stop = np.where(np.isnan(stop), np.round(bouts["stop_s"].to_numpy(float) * fps), stop)
    start = np.clip(start, 0, n_frames).astype(int)
    stop = np.clip(stop, 0, n_frames).astype(int)
    behavior = bouts["behavior"].astype(str).str.lower().to_numpy()
    unknown = sorted(set(behavior) - set(BEHAVIORS))
    if unknown:
        raise InputError(source, f"unknown behaviour {unknown[0]!r}",
                         f"use one of {', '.join(BEHAVIORS)}")
    conf = (bouts["confidence"].to_numpy(dtype=float) if "confidence" in bouts
            else np.full(len(bouts), np.nan))
    out = pd.DataFrame({
        "individual": bouts["individual"].astype(str).to_numpy(),
        "behavior": behavior,
        "start_frame": start,
        "stop_frame": stop,
        "confidence": conf,
    })
    out = out[out["stop_frame"] > out["start_frame"]]
    out = out.sort_values(["individual", "start_frame"], kind="stable").reset_index(drop=True)
    prev_stop = out.groupby("individual")["stop_frame"].shift()
    if (out["start_frame"] < prev_stop).any():
        row = out[out["start_frame"] < prev_stop].iloc[0]
        raise InputError(source, f"bouts of {row['individual']!r} overlap at frame "
                                 f"{int(row['start_frame'])}",
                         "each individual's bouts must not overlap")
    return out


def labels_from_bouts(
    bouts: pd.DataFrame, n_frames: int, fps: float, individuals: Iterable[str],
    fill: str = "other",
) -> pd.DataFrame:
    """Frame labels (``frame, time_s, individual, behavior``) from a bouts table.

    Frames covered by no bout get ``fill``. Rows are ordered by individual, then frame.
    """
    frames = np.arange(n_frames)
    parts = [
        pd.DataFrame({
            "frame": frames,
            "time_s": frames / fps,
            "individual": ind,
            "behavior": bouts_to_frames(bouts, n_frames, fps, ind, fill=fill).astype(str),
        })
        for ind in individuals
    ]
    if not parts:
        return pd.DataFrame(columns=["frame", "time_s", "individual", "behavior"])
    return pd.concat(parts, ignore_index=True)


class BoutEditor:
    """Editable bouts of one session, with undo and redo.

    Parameters
    ----------
    bouts
        A bouts table (:data:`behavtrack.io.bouts.BOUT_COLUMNS`; frames, or seconds only).
    fps
        Frames per second of the session.
    n_frames
        Number of frames of the session; bouts are clipped to ``[0, n_frames)``.
    individuals
        Individuals to edit (default: those named in ``bouts``).
    source
        Where the bouts came from, for error messages.

    Examples
    --------
    >>> ed = BoutEditor(pd.DataFrame({"individual": ["m1"], "behavior": ["waiting"],
    ...                               "start_frame": [0], "stop_frame": [10]}), 10.0, 20)
    >>> ed.split("m1", 4)
    >>> ed.relabel("m1", 6, "approach")
    >>> ed.bouts[["behavior", "start_frame", "stop_frame"]].values.tolist()
    [['waiting', 0, 4], ['approach', 4, 10]]
    >>> ed.undo(); ed.bouts["behavior"].tolist()
    ['waiting', 'waiting']

    """

    def __init__(
        self,
        bouts: pd.DataFrame,
        fps: float,
        n_frames: int,
        individuals: Iterable[str] | None = None,
        source: str | os.PathLike = "<bouts>",
    ) -> None:
        if not fps or fps <= 0:
            raise InputError(source, f"fps must be positive, got {fps!r}")
        self.fps = float(fps)
        self.n_frames = int(n_frames)
        self.source = str(source)
        self._table = _clean(bouts, self.fps, self.n_frames, self.source)
        names = list(individuals) if individuals is not None else []
        for ind in self._table["individual"].unique():
            if ind not in names:
                names.append(str(ind))
        self.individuals: list[str] = names
        self._undo: list[pd.DataFrame] = []
        self._redo: list[pd.DataFrame] = []
        self._listeners: list[Callable[[], None]] = []
        self.dirty = False

    # ---- reading -------------------------------------------------------------------------
    @property
    def bouts(self) -> pd.DataFrame:
        """The current bouts table (a copy), columns :data:`BOUT_COLUMNS`."""
        t = self._table
        out = pd.DataFrame({
            "individual": t["individual"].to_numpy(dtype=object),
            "behavior": t["behavior"].to_numpy(dtype=object),
            "start_frame": t["start_frame"].to_numpy(dtype=int),
            "stop_frame": t["stop_frame"].to_numpy(dtype=int),
            "start_s": t["start_frame"].to_numpy(dtype=float) / self.fps,
            "stop_s": t["stop_frame"].to_numpy(dtype=float) / self.fps,
            "duration_s": (t["stop_frame"] - t["start_frame"]).to_numpy(dtype=float) / self.fps,
            "confidence": t["confidence"].to_numpy(dtype=float),
        }, columns=BOUT_COLUMNS)
        return out

    def bouts_of(self, individual: str) -> pd.DataFrame:
        """Bouts of one individual, in time order."""
        b = self.bouts
        return b[b["individual"] == individual].reset_index(drop=True)

    def bout_at(self, individual: str, frame: int) -> pd.Series | None:
        """Return the bout of ``individual`` covering ``frame`` (a row of ``bouts``), or None."""
        i = self._index_at(individual, frame)
        return None if i is None else self.bouts.loc[i]

    def frame_labels(self, fill: str = "other") -> pd.DataFrame:
        """Per-frame labels (``frame, time_s, individual, behavior``) of every individual."""
        return labels_from_bouts(self.bouts, self.n_frames, self.fps, self.individuals, fill)

    def neighbour_start(self, individual: str, frame: int, direction: str = "next") -> int | None:
        """First frame of the next bout starting after ``frame`` (or the previous one's).

        ``"previous"`` gives the start of the bout before the one under ``frame`` (or of the
        last bout starting before ``frame`` when none covers it). ``None`` when there is none.
        """
        t = self._table[self._table["individual"] == individual]
        starts = np.sort(t["start_frame"].to_numpy(dtype=int))
        if direction == "next":
            after = starts[starts > frame]
            return int(after[0]) if len(after) else None
        i = self._index_at(individual, frame)
        limit = int(self._table.loc[i, "start_frame"]) if i is not None else frame + 1
        before = starts[starts < limit]
        return int(before[-1]) if len(before) else None

    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    # ---- listeners -----------------------------------------------------------------------
    def connect(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of the bouts."""
        self._listeners.append(callback)

    def disconnect(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    # ---- edits ---------------------------------------------------------------------------
    def relabel(self, individual: str, frame: int, behavior: str) -> None:
        """Give the bout under ``frame`` the behaviour ``behavior``."""
        behavior = self._check_behavior(behavior)
        i = self._require_bout(individual, frame)
        table = self._table.copy()
        table.loc[i, "behavior"] = behavior
        table.loc[i, "confidence"] = np.nan
        self._commit(table)

    def split(self, individual: str, frame: int) -> None:
        """Split the bout under ``frame`` into ``[start, frame)`` and ``[frame, stop)``."""
        i = self._require_bout(individual, frame)
        row = self._table.loc[i]
        if int(frame) <= int(row["start_frame"]):
            raise InputError(None, f"frame {frame} is the first frame of the bout: nothing to "
                                   "split", "move the cursor inside the bout")
        table = self._table.copy()
        second = row.copy()
        second["start_frame"] = int(frame)
        table.loc[i, "stop_frame"] = int(frame)
        table = pd.concat([table, second.to_frame().T], ignore_index=True)
        self._commit(table)

    def merge(self, individual: str, frame: int, direction: str = "next") -> None:
        """Merge the bout under ``frame`` with its next (or previous) bout.

        The merged bout spans both (and any gap between them) and keeps the behaviour of the
        bout under the cursor.
        """
        if direction not in ("next", "previous"):
            raise InputError(None, f"merge direction must be 'next' or 'previous', "
                                   f"got {direction!r}")
        i = self._require_bout(individual, frame)
        own = self._table.index[self._table["individual"] == individual].tolist()
        k = own.index(i) + (1 if direction == "next" else -1)
        if not 0 <= k < len(own):
            raise InputError(None, f"the bout under frame {frame} has no {direction} bout to "
                                   "merge with")
        j = own[k]
        table = self._table.copy()
        table.loc[i, "start_frame"] = min(table.loc[i, "start_frame"], table.loc[j, "start_frame"])
        table.loc[i, "stop_frame"] = max(table.loc[i, "stop_frame"], table.loc[j, "stop_frame"])
        table.loc[i, "confidence"] = np.nan
        self._commit(table.drop(index=j))

    def delete(self, individual: str, frame: int) -> None:
        """Delete the bout under ``frame`` (its frames become unlabelled)."""
        i = self._require_bout(individual, frame)
        self._commit(self._table.drop(index=i))

    def make_bout(self, individual: str, start: int, stop: int, behavior: str) -> None:
        """Make a bout of ``behavior`` over frames ``[start, stop)`` (``stop`` exclusive).

        Bouts it overlaps are trimmed, or split when it falls inside one.
        """
        behavior = self._check_behavior(behavior)
        self._check_individual(individual)
        start, stop = sorted((int(start), int(stop)))
        start, stop = max(start, 0), min(stop, self.n_frames)
        if stop <= start:
            raise InputError(None, f"the range [{start}, {stop}) holds no frame of the session",
                             f"give frames within 0..{self.n_frames}")
        t = self._table
        own = t["individual"] == individual
        s, e = t["start_frame"].to_numpy(), t["stop_frame"].to_numpy()
        overlap = own & (s < stop) & (e > start)
        keep = t[~overlap]
        pieces = []
        for _, row in t[overlap].iterrows():  # at most a few bouts per edit
            if row["start_frame"] < start:
                left = row.copy()
                left["stop_frame"] = start
                pieces.append(left)
            if row["stop_frame"] > stop:
                right = row.copy()
                right["start_frame"] = stop
                pieces.append(right)
        new = pd.Series({"individual": individual, "behavior": behavior, "start_frame": start,
                         "stop_frame": stop, "confidence": np.nan})
        pieces.append(new)
        table = pd.concat([keep, pd.DataFrame(pieces)], ignore_index=True)
        self._commit(table)

    def undo(self) -> None:
        """Undo the last edit (no-op when there is none)."""
        if self._undo:
            self._redo.append(self._table)
            self._table = self._undo.pop()
            self._changed()

    def redo(self) -> None:
        """Redo the last undone edit (no-op when there is none)."""
        if self._redo:
            self._undo.append(self._table)
            self._table = self._redo.pop()
            self._changed()

    # ---- saving --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, observation_id: str = "",
             media_file: str = "") -> Path:
        """Write the bouts as ``bouts.csv`` (BORIS layout of :mod:`behavtrack.io.bouts`)."""
        out = write_bouts_csv(self.bouts, path, self.fps, observation_id=observation_id,
                              media_file=media_file)
        self.dirty = False
        return out

    # ---- internals -----------------------------------------------------------------------
    def _check_behavior(self, behavior: str) -> str:
        b = str(behavior).lower()
        if b not in BEHAVIORS:
            raise InputError(None, f"unknown behaviour {behavior!r}",
                             f"use one of {', '.join(BEHAVIORS)}")
        return b

    def _check_individual(self, individual: str) -> None:
        if individual not in self.individuals:
            raise InputError(None, f"unknown individual {individual!r}",
                             f"known: {', '.join(self.individuals) or 'none'}")

    def _index_at(self, individual: str, frame: int) -> int | None:
        t = self._table
        hit = (t["individual"] == individual) & (t["start_frame"] <= frame) & \
            (t["stop_frame"] > frame)
        idx = t.index[hit]
        return int(idx[0]) if len(idx) else None

    def _require_bout(self, individual: str, frame: int) -> int:
        self._check_individual(individual)
        i = self._index_at(individual, int(frame))
        if i is None:
            raise InputError(None, f"no bout of {individual!r} at frame {frame}",
                             "move the cursor onto a bout")
        return i

    def _commit(self, table: pd.DataFrame) -> None:
        table = table.astype({"start_frame": int, "stop_frame": int, "confidence": float})
        table = table.sort_values(["individual", "start_frame"], kind="stable")
        self._undo.append(self._table)
        self._redo.clear()
        self._table = table.reset_index(drop=True)
        self._changed()

    def _changed(self) -> None:
        self.dirty = True
        for callback in list(self._listeners):
            callback()
