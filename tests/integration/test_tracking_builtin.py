"""Tests of the built-in tracker on rendered simulated video, synthetic clips and real video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from _tracking_helpers import draw_clip, nose_of, walk

from behavtrack.errors import InputError
from behavtrack.io.arena import default_arena
from behavtrack.tracking import track_video
from behavtrack.tracking.tracker import output_paths


def _err(ds, truth, keypoint: str, individual: str) -> np.ndarray:
    a = ds.position.sel(keypoint=keypoint, individual=individual).transpose("time", "space")
    b = truth.sel(keypoint=keypoint, individual=individual).transpose("time", "space")
    return np.hypot(*(a.values - b.values).T)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    """A 12 s rendered session of the cooperation task and its tracked poses."""
    from behavtrack.simulate import render_video, simulate_session

    sess = simulate_session(duration_s=12.0, fps=30.0, seed=3, day=4)
    folder = tmp_path_factory.mktemp("sim")
    video = render_video(sess, folder / "video.mp4")
    ds = track_video(video, arena=sess.arena, out=folder / "out")
    return sess, ds, folder


def test_simulated_keypoints_near_truth(simulated) -> None:
    sess, ds, _ = simulated
    truth = sess.truth_pose.position
    assert list(ds.individual.values) == ["mouse1", "mouse2"]
    assert ds.sizes["time"] == truth.sizes["time"]
    for ind in ("mouse1", "mouse2"):
        assert np.nanmedian(_err(ds, truth, "nose", ind)) < 3.0
        assert np.nanmedian(_err(ds, truth, "tail_base", ind)) < 3.0
        # the simulator's "centroid" is the nose-tail-base midpoint; ours is the body's
        # centre of mass: they differ by a few px by definition
        assert np.nanmedian(_err(ds, truth, "centroid", ind)) < 6.0
        assert np.isfinite(ds.position.sel(individual=ind, keypoint="centroid")).all()


def test_simulated_identity_and_heading(simulated) -> None:
    sess, ds, _ = simulated
    truth = sess.truth_pose.position
    c = ds.position.sel(keypoint="centroid")
    t = truth.sel(keypoint="centroid")
    own = np.hypot(*(c.sel(individual="mouse1") - t.sel(individual="mouse1")).values.T)
    other = np.hypot(*(c.sel(individual="mouse1") - t.sel(individual="mouse2")).values.T)
    assert (own < other).all()  # never swapped
    arena = sess.arena
    pts = c.transpose("time", "individual", "space").values
    comp = arena.compartment_index(pts)
    assert (comp[:, 0] == 0).all() and (comp[:, 1] == 1).all()
    def heading(p, ind: str) -> np.ndarray:
        v = p.sel(keypoint="nose", individual=ind) - p.sel(keypoint="tail_base", individual=ind)
        v = v.transpose("time", "space").values
        return np.arctan2(v[:, 1], v[:, 0])

    for ind in ("mouse1", "mouse2"):
        diff = np.abs(np.angle(np.exp(1j * (heading(ds.position, ind) - heading(truth, ind)))))
        assert np.median(np.degrees(diff)) < 10
        assert np.mean(np.degrees(diff) > 90) < 0.05  # head and tail seldom swapped


def test_outputs_load_in_movement_and_behavtrack(simulated) -> None:
    from movement.io import load_poses

    from behavtrack.io.pose import load_pose

    _, ds, folder = simulated
    paths = output_paths(folder / "video.mp4", folder / "out")
    for key in ("h5", "csv"):
        back = load_poses.from_dlc_file(paths[key])
        assert list(back.individual.values) == ["mouse1", "mouse2"]
        np.testing.assert_allclose(
            back.position.sel(individual="mouse2", keypoint="nose").values,
            ds.position.sel(individual="mouse2", keypoint="nose").values, atol=1e-4,
        )
        np.testing.assert_allclose(back.confidence.values, ds.confidence.values, atol=1e-4)
    ours = load_pose(paths["h5"], fps=30.0)
    assert list(ours.keypoint.values) == ["nose", "left_ear", "right_ear", "centroid",
                                          "tail_base"]
    report = json.loads(paths["report"].read_text())
    assert report["frames_expected"] == report["frames_read"] == ds.sizes["time"]
    assert report["bad_frames"] == []
    assert 0 <= float(ds.confidence.min()) and float(ds.confidence.max()) <= 1
    assert not list(paths["h5"].parent.glob(".*"))  # no temporary files left


def test_open_arena_two_animals_keep_identity_when_touching(tmp_path: Path) -> None:
    """Two animals in one space pass each other so closely that their blobs merge."""
    n = 120
    centres, headings = walk(n, [[60, 60], [250, 87]], [[2.0, 1.0], [-2.0, 0.0]])
    gap = np.hypot(*(centres[:, 0] - centres[:, 1]).T)
    assert gap.min() < 21  # bodies are 18 px wide, 52 px long: they overlap
    video = tmp_path / "two.avi"
    draw_clip(video, centres, headings)
    ds = track_video(video, n_animals=2)
    got = ds.position.sel(keypoint="centroid").transpose("time", "individual", "space").values
    # match the first frame's labels to the truth, then require the same labels throughout
    d0 = np.hypot(*(got[0][:, None] - centres[0][None]).transpose(2, 0, 1))
    perm = np.argmin(d0, axis=1)
    assert sorted(perm) == [0, 1]
    truth = centres[:, perm]
    err = np.hypot(*(got - truth).transpose(2, 0, 1))
    apart = gap > 60
    assert np.nanmedian(err) < 4.0
    assert np.nanmax(err[apart]) < 8.0  # same identities before and after the encounter
    nose = ds.position.sel(keypoint="nose").transpose("time", "individual", "space").values
    nerr = np.hypot(*(nose - nose_of(centres, headings)[:, perm]).transpose(2, 0, 1))
    assert np.nanmedian(nerr[apart]) < 4.0


def test_animal_resting_most_of_the_video_is_tracked(tmp_path: Path) -> None:
    """An animal still in one place for 85 % of the frames does not burn into the background."""
    n, rest = 100, 85
    moving, head_m = walk(n - rest, [[100, 110]], [[6.0, 2.0]])  # then it walks away
    centres = np.concatenate([np.repeat(moving[:1], rest, axis=0), moving])
    headings = np.concatenate([np.repeat(head_m[:1], rest, axis=0), head_m])
    video = tmp_path / "rest.avi"
    draw_clip(video, centres, headings)
    ds = track_video(video)
    got = ds.position.sel(keypoint="centroid", individual="mouse1").transpose("time", "space")
    err = np.hypot(*(got.values - centres[:, 0]).T)
    assert np.isfinite(err).all()
    assert np.median(err[:rest]) < 4.0
    nose = ds.position.sel(keypoint="nose", individual="mouse1").transpose("time", "space")
    nerr = np.hypot(*(nose.values - nose_of(centres, headings)[:, 0]).T)
    assert np.median(nerr[:rest]) < 4.0


@pytest.mark.parametrize("inverted", [False, True])
def test_real_openfield_against_deeplabcut(sample_data: Path, tmp_path: Path,
                                           inverted: bool) -> None:
    """Snout median error against DeepLabCut's predictions, on 450 frames of the real video.

    Inverted, the same footage shows a light mouse on a dark floor (the other polarity).
    """
    src = sample_data / "video/openfield/m3v1mp4.mp4"
    csv = sample_data / "video/openfield/m3v1mp4_dlc_predictions.csv"
    clip = tmp_path / "clip.avi"
    cap = cv2.VideoCapture(str(src))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(450):
        ok, frame = cap.read()
        assert ok
        writer.write(255 - frame if inverted else frame)
    writer.release()
    cap.release()
    ds = track_video(clip)
    dlc = pd.read_csv(csv, header=[0, 1, 2], index_col=0)
    scorer = dlc.columns.get_level_values(0)[0]
    snout = dlc[scorer]["snout"][["x", "y"]].to_numpy()[:450]
    ours = ds.position.sel(keypoint="nose", individual="mouse1").transpose("time", "space").values
    err = np.hypot(*(ours - snout).T)
    assert np.nanmedian(err) < 8.0  # the goal
    assert np.mean(err < 10) > 0.6


def test_truncated_video_reports_bad_frames(tmp_path: Path) -> None:
    centres, headings = walk(80, [[80, 120]], [[2.0, 0.5]])
    full = tmp_path / "full.avi"
    draw_clip(full, centres, headings)
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])
    ds = track_video(cut, out=tmp_path / "out")
    assert ds.attrs["frames_expected"] == 80
    assert 0 < ds.attrs["frames_read"] < 80
    assert ds.attrs["bad_frames"] == 80 - ds.attrs["frames_read"]
    report = json.loads((tmp_path / "out" / "cut.tracking.json").read_text())
    assert len(report["bad_frames"]) == ds.attrs["bad_frames"]
    missing = ~np.isfinite(ds.position.sel(keypoint="centroid").values[:, 0, 0])
    assert missing[-1] and not missing[0]


def test_video_without_animal_is_an_input_error(tmp_path: Path) -> None:
    centres, headings = walk(40, [[80, 120]], [[0.0, 0.0]])
    video = tmp_path / "empty.avi"
    draw_clip(video, centres[:, :0], headings[:, :0])
    with pytest.raises(InputError, match="no animal found"):
        track_video(video, out=tmp_path / "out")
    assert not (tmp_path / "out" / "empty.h5").exists()


def test_arena_that_does_not_fit_the_frame(tmp_path: Path) -> None:
    centres, headings = walk(20, [[80, 120]], [[1.0, 0.0]])
    video = tmp_path / "small.avi"
    draw_clip(video, centres, headings)
    with pytest.raises(InputError, match="does not fit the 320x240 frames"):
        track_video(video, arena=default_arena())


def test_failure_mid_video_stops_decoding_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import behavtrack.tracking.tracker as tracker

    centres, headings = walk(60, [[80, 120]], [[2.0, 0.5]])
    video = tmp_path / "clip.avi"
    draw_clip(video, centres, headings)
    calls = {"n": 0}
    real = tracker.pose_from_mask

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    before = threading.active_count()
    monkeypatch.setattr(tracker, "pose_from_mask", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        track_video(video, out=tmp_path / "out")
    assert threading.active_count() == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_refuses_one_pose_file_for_several_videos(tmp_path: Path, capsys) -> None:
    """``--out x.h5`` names one file: with two videos the second would overwrite the first."""
    from behavtrack.cli import main

    a, b = tmp_path / "a.avi", tmp_path / "b.avi"
    for video in (a, b):
        draw_clip(video, *walk(20, [[80, 120]], [[1.0, 0.0]]))
    out = tmp_path / "poses.h5"
    assert main(["-q", "track", str(a), str(b), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("behavtrack track: error: --out: names one pose file")
    assert len(err.splitlines()) == 1 and not out.exists()
    slp = tmp_path / "poses.slp"  # the same for a SLEAP backend's single .slp
    assert main(["-q", "track", str(a), str(b), "--backend", "sleap", "--model", str(tmp_path),
                 "--out", str(slp)]) == 2
    assert "names one pose file" in capsys.readouterr().err and not slp.exists()
    assert main(["-q", "track", str(a), "--out", str(out)]) == 0  # one video: fine
    assert out.is_file()


@pytest.mark.parametrize("out", ["file/poses", "file/poses.h5"])
def test_output_under_a_file_is_refused_before_tracking(tmp_path: Path, out: str) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="cannot be created: .*file is a file"):
        output_paths(tmp_path / "video.mp4", tmp_path / out)
    assert output_paths(tmp_path / "v.mp4", tmp_path / "new" / "dir")["h5"] == (
        tmp_path / "new" / "dir" / "v.h5")


# ---- one forward pass: the warm-up model, and when the tracker learns from the whole video --
def _matched_error(ds, centres: np.ndarray) -> np.ndarray:
    """Centroid error per frame and animal, labels matched to the truth on the first frame."""
    got = ds.position.sel(keypoint="centroid").transpose("time", "individual", "space").values
    first = int(np.flatnonzero(np.isfinite(got[:, :, 0]).all(axis=1))[0])
    d0 = np.hypot(*(got[first][:, None] - centres[first][None]).transpose(2, 0, 1))
    perm = np.argmin(d0, axis=1)
    return np.hypot(*(got - centres[:, perm]).transpose(2, 0, 1))


def test_video_longer_than_the_warm_up_is_read_once(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import behavtrack.tracking.tracker as tracker

    monkeypatch.setattr(tracker, "WARMUP_SECONDS", 2.0)  # 50 frames at 25 fps
    centres, headings = walk(150, [[80, 120]], [[2.0, 0.7]])
    video = tmp_path / "walk.avi"
    draw_clip(video, centres, headings)
    ds = track_video(video, out=tmp_path / "out")
    report = json.loads((tmp_path / "out" / "walk.tracking.json").read_text())
    assert report["passes"] == 1 and ds.attrs["passes"] == 1
    assert report["background"]["learned_from"] == "first 50 frames"
    assert report["frames_read"] == 150
    assert np.nanmedian(_matched_error(ds, centres)) < 4.0


def test_animal_resting_through_the_warm_up_is_relearned(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A resting animal burnt into the warm-up's background leaves a ghost when it moves off.

    The tracker then learns from frames sampled over the whole video and tracks it again.
    """
    import behavtrack.tracking.tracker as tracker

    monkeypatch.setattr(tracker, "WARMUP_SECONDS", 2.0)
    n, rest = 150, 110
    walker, head_w = walk(n, [[60, 60]], [[2.0, 0.4]], margin=40.0)
    walker[:, 0, 1] = np.clip(walker[:, 0, 1], 40, 90)  # stays in the top part
    leaving, head_l = walk(n - rest, [[240, 180]], [[-3.0, 0.0]])
    resting = np.concatenate([np.repeat(leaving[:1], rest, axis=0), leaving])
    head_r = np.concatenate([np.repeat(head_l[:1], rest, axis=0), head_l])
    centres = np.concatenate([walker, resting], axis=1)
    headings = np.concatenate([head_w, head_r], axis=1)
    video = tmp_path / "rest.avi"
    draw_clip(video, centres, headings)
    ds = track_video(video, n_animals=2, out=tmp_path / "out")
    report = json.loads((tmp_path / "out" / "rest.tracking.json").read_text())
    assert report["passes"] == 2
    assert report["background"]["learned_from"] == "whole video"
    assert report["frames_read"] == n
    err = _matched_error(ds, centres)
    assert np.isfinite(err).all()
    assert np.median(err[:rest]) < 4.0  # the resting animal too, not a ghost


def test_animal_arriving_after_the_warm_up(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No animal in the warm-up (the arena filmed empty first): learn from the whole video."""
    import behavtrack.tracking.tracker as tracker

    monkeypatch.setattr(tracker, "WARMUP_SECONDS", 2.0)
    n, arrive = 150, 80
    centres, headings = walk(n, [[60, 120]], [[2.0, 0.5]])
    centres[:arrive] = -500.0  # off the frame: nothing drawn
    video = tmp_path / "late.avi"
    draw_clip(video, centres, headings)
    ds = track_video(video, out=tmp_path / "out")
    assert ds.attrs["passes"] == 2
    got = ds.position.sel(keypoint="centroid", individual="mouse1").transpose("time", "space")
    assert not np.isfinite(got.values[:arrive]).any()
    err = np.hypot(*(got.values[arrive:] - centres[arrive:, 0]).T)
    assert np.isfinite(err).all() and np.median(err) < 4.0


# ---- outputs: DeepLabCut files written without pandas, the command's imports ----------------
@pytest.mark.parametrize(("names", "n_frames"), [(["mouse1"], 37), (["mouse1", "mouse2"], 4200)])
def test_pose_files_are_what_pandas_writes(tmp_path: Path, names: list[str],
                                           n_frames: int) -> None:
    """The direct writers give the files movement's DataFrame and pandas give, byte for byte
    (CSV, written in blocks of rows) and node for node, attribute for attribute (HDF5)."""
    import tables
    from movement.io import load_poses, save_poses

    from behavtrack.tracking._dlc_files import dlc_values, write_dlc_csv, write_dlc_h5
    from behavtrack.tracking.orient import KEYPOINTS

    rng = np.random.default_rng(1)
    pos = rng.normal(200, 80, (n_frames, 2, len(KEYPOINTS), len(names)))
    conf = rng.random((n_frames, len(KEYPOINTS), len(names)))
    pos[3:6] = np.nan
    conf[3:6] = 0.0
    conf[7, 0, 0] = 1.0
    conf[8, 1, 0] = 2.5e-7
    ds = load_poses.from_numpy(position_array=pos, confidence_array=conf,
                               individual_names=names, keypoint_names=list(KEYPOINTS), fps=30.0)
    frames = save_poses.to_dlc_style_df(ds, split_individuals=len(names) == 1)
    df = next(iter(frames.values())) if isinstance(frames, dict) else frames
    df.columns = df.columns.set_levels(["behavtrack-builtin"], level="scorer")
    df.to_hdf(tmp_path / "pandas.h5", key="df_with_missing", mode="w")
    df.to_csv(tmp_path / "pandas.csv", sep=",")
    values = dlc_values(pos, conf)
    individuals = None if len(names) == 1 else names
    write_dlc_h5(tmp_path / "direct.h5", values, "behavtrack-builtin", KEYPOINTS, individuals)
    write_dlc_csv(tmp_path / "direct.csv", values, "behavtrack-builtin", KEYPOINTS, individuals)
    assert (tmp_path / "direct.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()

    def layout(path: Path) -> dict:
        with tables.open_file(path) as f:
            return {
                node._v_pathname: (
                    type(node).__name__,
                    {k: repr(node._v_attrs[k]) for k in node._v_attrs._v_attrnames},
                    (str(node.dtype), node.shape, node.read().tobytes())
                    if hasattr(node, "dtype") else None,
                )
                for node in f.walk_nodes("/")
            }

    assert layout(tmp_path / "direct.h5") == layout(tmp_path / "pandas.h5")
    back = pd.read_hdf(tmp_path / "direct.h5")
    pd.testing.assert_frame_equal(back, df)


def test_cli_track_is_quiet_and_imports_no_heavy_module(tmp_path: Path) -> None:
    """``behavtrack track VIDEO --out DIR -q`` (-q after the command) prints nothing and
    imports neither pandas, xarray, movement nor the other heavy modules."""
    import subprocess
    import sys

    video = tmp_path / "clip.avi"
    draw_clip(video, *walk(30, [[80, 120]], [[2.0, 0.5]]))
    heavy = ["pandas", "xarray", "movement", "matplotlib", "dask", "hmmlearn", "pynwb",
             "scipy", "sklearn", "napari"]
    code = (
        "import sys\n"
        "from behavtrack.cli import main\n"
        "status = main(sys.argv[1:])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), status)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "track", str(video), "--out", str(tmp_path / "out"),
         "-q"], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in __import__("os").environ.items() if k != "BEHAVTRACK_QUIET"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[] 0"
    assert run.stderr == ""
    assert (tmp_path / "out" / "clip.h5").is_file()
