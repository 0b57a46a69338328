"""Tests of behavtrack.io.video.VideoReader on the real openfield video and broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from behavtrack.errors import InputError
from behavtrack.io.video import VideoReader

OPENFIELD = Path("video/openfield/m3v1mp4.mp4")


@pytest.fixture(scope="module")
def openfield(sample_data: Path) -> Path:
    """The first 451 frames of the real openfield video (tests/data, not re-encoded)."""
    return sample_data / OPENFIELD


def _write_avi(path: Path, n: int = 60) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), (i * 4) % 256, np.uint8))
    writer.release()


def test_metadata_and_frame_count(openfield: Path) -> None:
    with VideoReader(openfield) as reader:
        assert reader.n_frames == len(reader) == 451
        assert (reader.width, reader.height) == (640, 480)
        assert reader.fps == pytest.approx(30.0, abs=0.01)
        frame = reader[0]
        assert frame.dtype == np.uint8 and frame.shape == (480, 640)


def test_random_access_equals_sequential(openfield: Path) -> None:
    wanted = {0, 7, 250, 251, 400}
    with VideoReader(openfield) as reader:
        seq = {i: f.copy() for i, f in reader.iter_frames(stop=401) if i in wanted}
    # an independent decode with plain OpenCV
    cap = cv2.VideoCapture(str(openfield))
    plain = {}
    for i in range(401):
        ok, bgr = cap.read()
        assert ok
        if i in wanted:
            plain[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    cap.release()
    with VideoReader(openfield) as reader:
        for i in (400, 7, 251, 0, 250, 7):  # out of order, backwards, repeated
            assert np.array_equal(reader[i], seq[i])
            assert np.array_equal(reader[i], plain[i])
        assert np.array_equal(reader[-1], reader[450])
        with pytest.raises(IndexError):
            reader[451]


def test_iter_frames_step_and_range(tmp_path: Path) -> None:
    path = tmp_path / "ramp.avi"
    _write_avi(path, 60)
    with VideoReader(path) as reader:
        got = list(reader.iter_frames(start=5, stop=40, step=7))
        assert [i for i, _ in got] == [5, 12, 19, 26, 33]
        # frame i was drawn with grey level 4 * i (MJPG is lossy: allow a small error)
        for i, frame in got:
            assert abs(float(frame.mean()) - 4 * i) < 3
        assert reader.bad_frames == []


def test_truncated_video_records_bad_frames_without_hanging(tmp_path: Path) -> None:
    full = tmp_path / "full.avi"
    _write_avi(full, 60)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as reader:
        read = [i for i, _ in reader.iter_frames()]
        assert 0 < len(read) < 60
        assert len(read) + len(reader.bad_frames) == reader.n_frames == 60
        assert reader.frames_read == len(read)
        with pytest.raises(InputError, match="cannot be decoded"):
            reader[59]


def test_truncated_mp4_is_an_input_error(openfield: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = openfield.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(InputError, match="cut.mp4"):
        VideoReader(cut)


def test_missing_and_non_video_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such video file"):
        VideoReader(tmp_path / "nope.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(InputError) as info:
        VideoReader(text)
    assert "\n" not in str(info.value)


def test_inputs_untouched(openfield: Path, tmp_path: Path) -> None:
    copy = tmp_path / "v.mp4"
    shutil.copy(openfield, copy)
    before = copy.read_bytes()
    with VideoReader(copy) as reader:
        reader[100]
    assert copy.read_bytes() == before


def test_cli_error_on_a_broken_video_is_one_line(tmp_path: Path) -> None:
    """FFmpeg's own complaint ("moov atom not found") does not come on top of ours."""
    import os
    import subprocess
    import sys

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 200)
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    run = subprocess.run(
        [sys.executable, "-m", "behavtrack.cli", "-q", "track", str(bad), "--out",
         str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("behavtrack track: error: ")
    assert "broken.mp4" in lines[0]


# ---- decoding straight to grey ----------------------------------------------------------------
def _plain_gray(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    for _ in range(n):
        ok, bgr = cap.read()
        assert ok
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cap.release()
    return out


def test_openfield_decodes_straight_to_grey(openfield: Path) -> None:
    """H.264 yuv444p, limited range: the luma plane, mapped, is exactly OpenCV's grey."""
    plain = _plain_gray(openfield, 30)
    with VideoReader(openfield) as reader:
        assert reader.decode == "limited-range luma"
        for (i, frame), ref in zip(reader.iter_frames(stop=30), plain, strict=True):
            assert np.array_equal(frame, ref), i
    with VideoReader(openfield, luma=True) as raw:  # the plane as decoded: 16..235
        assert raw.decode == "limited-range luma (unmapped)"
        y = raw[5].astype(float)
        assert np.array_equal(np.clip(np.round((y - 16) * 255 / 219), 0, 255), plain[5])


@pytest.mark.parametrize(("fourcc", "suffix", "expect"), [
    ("mp4v", ".mp4", "limited-range luma"),
    ("MJPG", ".avi", "full-range luma"),
    ("FFV1", ".avi", "BGR to grey"),  # no luma plane (BGRA): decoded to colour
])
def test_codecs_decode_to_the_same_grey(tmp_path: Path, fourcc: str, suffix: str,
                                        expect: str) -> None:
    path = tmp_path / f"clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (96, 64))
    if not writer.isOpened():
        pytest.skip(f"this OpenCV cannot write {fourcc}")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:96]
    for i in range(12):
        grey = (40 + 2 * xx + yy + 5 * i + rng.normal(0, 3, xx.shape)).clip(0, 255)
        writer.write(cv2.cvtColor(grey.astype(np.uint8), cv2.COLOR_GRAY2BGR))
    writer.release()
    plain = _plain_gray(path, 12)
    with VideoReader(path) as reader:
        assert reader.decode == expect
        frames = [f for _, f in reader.iter_frames()]
        assert reader[7].shape == (64, 96)
    for frame, ref in zip(frames, plain, strict=True):
        diff = np.abs(frame.astype(int) - ref)
        assert diff.max() <= 2 and diff.mean() <= 0.5
        if expect == "BGR to grey":
            assert diff.max() == 0


def test_iter_frames_select_moves_forward_only(tmp_path: Path) -> None:
    path = tmp_path / "ramp.avi"
    _write_avi(path, 60)
    with VideoReader(path) as reader:
        got = list(reader.iter_frames(start=3, select={5, 17, 40, 70}))
        assert [i for i, _ in got] == [5, 17, 40]
        assert abs(float(got[1][1].mean()) - 4 * 17) < 3
        assert reader.position == 60 and reader.bad_frames == []
        # streaming from the start after opening needs no seek: frame 0 was kept
        first = VideoReader(path)
        assert first.position == 1
        assert [i for i, _ in first.iter_frames(stop=3)] == [0, 1, 2]
        first.close()
