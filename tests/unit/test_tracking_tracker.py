"""Unit tests of the built-in tracker's decoding thread (:class:`tracker._Prefetch`) and of
its OpenCV thread setting; the whole tracker is tested in ``tests/integration``."""

from __future__ import annotations

import time

import cv2
import numpy as np

from behavtrack.tracking import tracker


def _frames(n: int, pulled: list[int]):
    for i in range(n):
        pulled.append(i)
        yield i, np.full((2, 2), i % 256, np.uint8)


def _wait_for(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.005)


def test_prefetch_yields_every_frame_in_order() -> None:
    for n in (0, 1, 7, tracker._BATCH, 3 * tracker._BATCH + 5):
        pulled: list[int] = []
        stream = tracker._Prefetch(_frames(n, pulled), size=4)
        got = []
        for index, frame, coarse in stream:
            got.append(index)
            assert frame[0, 0] == index % 256 and coarse is None
            stream.release()
        assert got == list(range(n))
        assert stream.stop() == []


def test_prefetch_decodes_at_most_size_plus_held_frames_ahead() -> None:
    pulled: list[int] = []
    stream = tracker._Prefetch(_frames(100, pulled), size=4, held=3)
    try:
        _wait_for(lambda: len(pulled) >= 7)
        time.sleep(0.1)
        assert len(pulled) == 7  # no slot left: nothing more is decoded
        it = iter(stream)
        first = [next(it)[0] for _ in range(3)]  # held (not released): still 7
        time.sleep(0.05)
        assert first == [0, 1, 2] and len(pulled) == 7
        for _ in range(2):
            stream.release()
        _wait_for(lambda: len(pulled) >= 9)
        time.sleep(0.05)
        assert len(pulled) == 9
    finally:
        stream.stop()


def test_prefetch_stop_returns_every_decoded_frame_not_consumed() -> None:
    """Frames decoded but not consumed (the rest of a batch too) come back from stop():
    none is lost, e.g. a background sample after a ghost."""
    pulled: list[int] = []
    stream = tracker._Prefetch(_frames(1000, pulled), size=2 * tracker._BATCH + 3)
    it = iter(stream)
    consumed = [next(it)[0] for _ in range(3)]
    for _ in consumed:
        stream.release()
    time.sleep(0.05)
    left = [index for index, _, _ in stream.stop()]
    assert consumed + left == pulled  # in order, no gap, nothing dropped


def test_opencv_threads_are_restored() -> None:
    before = cv2.getNumThreads()
    with tracker._opencv_threads(1):
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before


def test_import_writers_loads_what_writing_the_poses_needs() -> None:
    import sys

    tracker._import_writers()
    assert "tables" in sys.modules and "behavtrack.tracking._dlc_files" in sys.modules


def test_csv_numbers_are_numpys_shortest_text_and_nan_is_empty(tmp_path) -> None:
    """The CSV writer's text for each number (Python's repr) is numpy's ``astype(str)``, what
    pandas writes; a missing value is an empty field."""
    from behavtrack.tracking._dlc_files import write_dlc_csv

    rng = np.random.default_rng(0)
    values = np.array([[0.1, np.nan, -0.0], [1e16, 1e-5, 123.456], [np.inf, 5e-324, 2 / 3],
                       [-np.inf, 9.999999999999999e15, 1e-4]])
    values = np.concatenate([values, rng.normal(0, 1, (50, 3)) * 10.0 ** rng.integers(
        -20, 20, (50, 3))])
    write_dlc_csv(tmp_path / "t.csv", values, "s", ["p"])
    rows = (tmp_path / "t.csv").read_text().splitlines()[3:]
    expect = values.astype(str)
    expect[np.isnan(values)] = ""
    assert rows == [f"{i}," + ",".join(r) for i, r in enumerate(expect.tolist())]
