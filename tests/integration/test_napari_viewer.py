"""The review plugin in a real napari viewer (Xvfb): open, watch, edit by widget and keys, save.

These tests need napari, pytest-qt and a display; pytest-xvfb starts Xvfb for the session.
Qt's ``offscreen`` platform gives napari no OpenGL context, so the xcb platform is used.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

napari = pytest.importorskip("napari", reason="napari is not installed (extra behavtrack[napari])")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")
if not os.environ.get("DISPLAY"):
    pytest.skip("no display: install pytest-xvfb (and the Xvfb package) or run under xvfb-run",
                allow_module_level=True)
if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = "xcb"  # offscreen gives napari no OpenGL context

from qtpy.QtCore import Qt  # noqa: E402

from behavtrack.io.bouts import frames_to_bouts, read_bouts_csv, write_bouts_csv  # noqa: E402
from behavtrack.napari._reader import napari_get_reader  # noqa: E402
from behavtrack.napari._widget import KEYS, ReviewWidget, open_session  # noqa: E402
from behavtrack.napari.session import load_review_session  # noqa: E402
from behavtrack.napari.video_layer import VideoArray  # noqa: E402

pytestmark = pytest.mark.napari

FPS = 30.0
N = 451  # frames of the real openfield video's sample (tests/data/video/openfield)


@pytest.fixture
def openfield(tmp_path, sample_data):
    """A session folder from the real openfield video's DLC pose, with hand-made bouts."""
    src = sample_data / "video" / "openfield"
    folder = tmp_path / "openfield"
    folder.mkdir()
    shutil.copy(src / "m3v1mp4_dlc_predictions.csv", folder / "pose.csv")
    (folder / "session.json").write_text(json.dumps({"fps": FPS, "pair": 3, "session": 1}))
    return folder, src / "m3v1mp4.mp4"


def _write_bouts(folder, individual):
    labels = np.array(["other"] * 60 + ["approach"] * 40 + ["waiting"] * 100
                      + ["interaction"] * 60 + ["other"] * (N - 260))
    write_bouts_csv(frames_to_bouts(labels, FPS, individual), folder / "bouts.csv", FPS)


def _spans(widget, individual):
    b = widget.editor.bouts_of(individual)
    return list(zip(b["behavior"], b["start_frame"], b["stop_frame"], strict=True))


def test_open_real_openfield_video_with_dlc_pose(make_napari_viewer, openfield, sample_data):
    folder, video = openfield
    viewer = make_napari_viewer()
    widget = open_session(viewer, folder, video=video)
    layer = viewer.layers["video"]
    assert isinstance(layer.data, VideoArray)
    assert layer.data.shape == (N, 480, 640)
    widget.set_frame(234)
    assert widget.frame == 234 and widget.timeline.cursor == 234
    # lazy: only the frames shown were decoded, never the whole video
    assert 0 < layer.data.frames_decoded < 20
    frame = layer.data[234]
    assert frame.shape == (480, 640) and frame.dtype == np.uint8 and frame.std() > 5
    # the points of frame 100 are the DLC predictions of row 100
    dlc = pd.read_csv(sample_data / "video/openfield/m3v1mp4_dlc_predictions.csv",
                      header=[0, 1, 2], index_col=0)
    row = dlc.iloc[100].droplevel(0)
    want = np.array([[row[(bp, "y")], row[(bp, "x")]]
                     for bp in ("snout", "leftear", "rightear", "tailbase")])
    ind = widget.session.individuals[0]
    points = viewer.layers[f"{ind} keypoints"].data
    got = points[points[:, 0] == 100][:, 1:]
    assert got.shape == (4, 2)
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(want, axis=0), atol=1e-6)
    tracks = viewer.layers[f"{ind} tracks"]
    assert len(np.unique(tracks.data[:, 0])) == 4
    # the reader recognises the folder, and a widget opened later adopts its layers
    assert napari_get_reader(str(folder)) is not None
    assert napari_get_reader(str(folder / "session.json")) is not None
    assert napari_get_reader(str(folder / "pose.csv")) is not None  # a bare pose file too


def test_edit_with_widget_and_keys_then_save_and_reload(make_napari_viewer, openfield, qtbot,
                                                        tmp_path):
    folder, video = openfield
    viewer = make_napari_viewer()
    widget = open_session(viewer, folder, video=video)
    ind = widget.session.individuals[0]
    _write_bouts(folder, ind)
    viewer.layers.clear()
    viewer.window.remove_dock_widget("all")
    widget = open_session(viewer, folder, video=video)
    assert _spans(widget, ind)[1:4] == [("approach", 60, 100), ("waiting", 100, 200),
                                        ("interaction", 200, 260)]
    # the timeline: a click on a bout jumps to its start; the slider moves the cursor
    widget.timeline.click(140 / FPS, 0.0)  # x in seconds, y the row
    assert widget.frame == 100 and widget.timeline.cursor == 100
    # a real mouse click on the canvas, on the interaction bout (200-260)
    tl = widget.timeline
    tl.canvas.draw()
    x, y = tl.ax.transData.transform((230 / FPS, 0.0))
    ratio = tl.canvas.device_pixel_ratio
    from qtpy.QtCore import QPoint

    pos = QPoint(int(x / ratio), int(tl.canvas.height() - y / ratio))
    qtbot.mouseClick(tl.canvas, Qt.MouseButton.LeftButton, pos=pos)
    assert widget.frame == 200
    viewer.dims.set_current_step(0, 130)
    assert widget.timeline.cursor == 130
    widget.span_box.setValue(4.0)  # 4 s window around the cursor
    assert widget.timeline.ax.get_xlim() == pytest.approx((130 / FPS - 2, 130 / FPS + 2))
    widget.span_box.setValue(0.0)
    assert widget.timeline.ax.get_xlim() == pytest.approx((0, N / FPS))

    # widget methods: split at 130, relabel the second half, undo the relabel
    assert widget.split()
    widget.set_frame(160)
    assert widget.label("interaction")
    widget.undo()
    assert _spans(widget, ind)[2:4] == [("waiting", 100, 130), ("waiting", 130, 200)]
    widget.redo()

    # keys, pressed on the canvas: relabel, merge, delete, range
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()

    def press(action):
        key = KEYS[action].split("-")[-1]
        qtbot.keyClick(canvas, key, Qt.KeyboardModifier.ShiftModifier)

    widget.set_frame(104)
    qtbot.keyClick(canvas, Qt.Key.Key_Right,
                   Qt.KeyboardModifier.ShiftModifier)
    assert widget.frame == 130  # next bout
    qtbot.keyClick(canvas, Qt.Key.Key_Left,
                   Qt.KeyboardModifier.ShiftModifier)
    assert widget.frame == 100  # previous bout
    widget.set_frame(104)
    press("approach")  # bout 100-130 becomes approach
    assert widget.editor.bout_at(ind, 104)["behavior"] == "approach"
    press("merge_previous")  # merges with the approach bout 60-100
    assert widget.editor.bout_at(ind, 104)[["start_frame", "stop_frame"]].tolist() == [60, 130]
    widget.set_frame(220)
    press("delete")
    assert widget.editor.bout_at(ind, 220) is None
    widget.set_frame(210)
    press("mark")
    widget.set_frame(239)
    press("waiting")  # a new bout over frames 210..239
    assert widget.editor.bout_at(ind, 220)[["behavior", "start_frame", "stop_frame"]].tolist() \
        == ["waiting", 210, 240]
    press("undo")
    assert widget.editor.bout_at(ind, 220) is None
    press("redo")
    assert widget.merge("next")  # with the final 'other' bout, 260..N (the gap is filled)
    want = [("other", 0, 60), ("approach", 60, 130), ("interaction", 130, 200),
            ("waiting", 210, N)]
    assert _spans(widget, ind) == want
    # an edit where there is no bout says so and changes nothing
    widget.set_frame(204)
    assert not widget.split() and "no bout" in widget.status
    assert _spans(widget, ind) == want

    # save, reopen: the edits are in bouts.csv (BORIS layout)
    path = widget.save()
    table = pd.read_csv(path)
    assert {"Subject", "Behavior", "Image index start", "Image index stop"} <= set(table)
    back = read_bouts_csv(path)
    assert list(zip(back["behavior"], back["start_frame"], back["stop_frame"], strict=True)) \
        == want
    viewer.layers.clear()
    viewer.window.remove_dock_widget("all")
    again = open_session(viewer, folder, video=video)
    assert _spans(again, ind) == want
    # and into the labeled examples, with per-frame labels
    ex = again.add_to_labeled_examples(tmp_path / "examples")
    labels = pd.read_csv(ex / "labels.csv")
    assert labels["behavior"].iloc[[0, 80, 140, 204, 220]].tolist() == [
        "other", "approach", "interaction", "other", "waiting"]


def test_screenshot_with_timeline_and_arena(make_napari_viewer, openfield, tmp_path):
    from behavtrack.io.arena import default_arena, load_arena

    folder, video = openfield
    viewer = make_napari_viewer(show=True)
    widget = open_session(viewer, folder, video=video)
    ind = widget.session.individuals[0]
    widget.make_bout(0, 80, "approach")
    widget.make_bout(80, 180, "waiting")
    widget.make_bout(180, 240, "interaction")
    widget.set_frame(120)
    # the arena: start from the default, move the partition, save, reload
    layer = widget.show_arena(default_arena())
    data = list(layer.data)
    data[0] = data[0] + np.array([0.0, 10.0])
    layer.data = data
    out = widget.save_arena()
    assert out == folder / "arena.yaml"
    arena = load_arena(out)
    assert np.allclose(arena.partition[:, 0], 330.0) and arena.frame_size == (640, 480)
    # a new port drawn in "Draw" mode takes the role and compartment chosen
    layer = widget.draw_arena_shape("water_port", "left")
    assert layer.mode == "add_ellipse"
    layer.add_ellipses(np.array([[[300, 40], [300, 80], [340, 80], [340, 40]]]))
    assert layer.features["role"].iloc[-1] == "water_port"
    arena = load_arena(widget.save_arena())
    assert arena.compartments["left"].water_port.center == (60.0, 320.0)
    assert widget.editor.bout_at(ind, 120)["behavior"] == "waiting"
    shot = viewer.screenshot(canvas_only=False, flash=False)
    path = tmp_path / "napari.png"
    from matplotlib.image import imsave

    imsave(path, shot)
    assert path.stat().st_size > 10_000
    assert shot.shape[0] > 400 and shot.shape[1] > 600
    assert shot[..., :3].std() > 20  # not blank
    timeline = widget.timeline.grab().toImage()
    assert timeline.width() > 200 and timeline.height() > 80


def test_widget_adopts_layers_opened_by_reader(make_napari_viewer, openfield, monkeypatch):
    folder, video = openfield
    shutil.copy(video, folder / "video.mp4")
    viewer = make_napari_viewer()
    viewer.open(str(folder), plugin="behavtrack")
    assert "video" in viewer.layers and viewer.layers["video"].data.shape[0] == N
    # the dock from the Plugins menu (npe2 manifest) adopts the session of those layers
    _, widget = viewer.window.add_plugin_dock_widget("behavtrack", "Review bouts")
    assert isinstance(widget, ReviewWidget)
    assert widget.session is not None and widget.session.folder == folder
    assert widget.timeline is not None and widget.timeline.n_frames == N
    # closing the session removes its layers; the dock can then open another
    widget.close_session()
    assert len(viewer.layers) == 0 and widget.session is None
    widget.load(load_review_session(folder), add_layers=True)
    assert viewer.layers["video"].data.shape[0] == N and widget.editor.n_frames == N
    # "Open files…": the user picks the pose, the video, and no bouts
    from qtpy.QtWidgets import QFileDialog

    answers = iter([(str(folder / "pose.csv"), ""), (str(video), ""), ("", "")])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: next(answers))
    widget.files_button.click()
    assert widget.session.pose_path == folder / "pose.csv" and widget.session.video_path == video
    assert len([lyr for lyr in viewer.layers if lyr.name == "video"]) == 1


def test_simulated_session_with_bouts(make_napari_viewer, qtbot, tmp_path):
    from behavtrack.io.arena import load_arena
    from behavtrack.simulate import simulate_session, write_session

    sess = simulate_session(day=8, duration_s=20.0, seed=5)
    folder = write_session(sess, tmp_path / "sim", video=True)
    truth = read_bouts_csv(folder / "bouts.csv")
    viewer = make_napari_viewer()
    widget = open_session(viewer, folder)
    assert viewer.layers["video"].data.shape[0] == 600
    assert {"mouse1 keypoints", "mouse2 keypoints", "mouse1 tracks", "mouse2 tracks",
            "arena"} <= {layer.name for layer in viewer.layers}
    # the timeline shows the session's bouts, the arena layer is the session's arena
    shown = widget.timeline._bouts
    assert len(shown) == len(truth)
    assert sorted(zip(shown["individual"], shown["start_frame"], shown["behavior"],
                      strict=True)) == sorted(zip(truth["individual"], truth["start_frame"],
                                                  truth["behavior"], strict=True))
    arena_file = load_arena(folder / "arena.yaml")
    assert widget.save_arena(tmp_path / "arena_again.yaml") is not None
    assert load_arena(tmp_path / "arena_again.yaml").to_dict() == arena_file.to_dict()
    # the points of mouse2 at frame 300 are the pose's
    pose = widget.session.pose
    pts = viewer.layers["mouse2 keypoints"].data
    got = pts[pts[:, 0] == 300][:, 1:]
    want = pose["position"].isel(time=300).sel(individual="mouse2").transpose(
        "keypoint", "space").sel(space=["y", "x"]).to_numpy()
    want = want[np.isfinite(want).all(axis=1)]
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(want, axis=0))
    # switch to mouse2 with the key, relabel its bout at frame 300: mouse1 is untouched
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    shift = Qt.KeyboardModifier.ShiftModifier
    widget.select_individual("mouse1")
    qtbot.keyClick(canvas, "N", shift)
    assert widget.individual == "mouse2"
    widget.set_frame(300)
    before1 = widget.editor.bouts_of("mouse1")
    new = "waiting" if widget.editor.bout_at("mouse2", 300)["behavior"] != "waiting" else "other"
    qtbot.keyClick(canvas, KEYS[new].split("-")[-1], shift)
    assert widget.editor.bout_at("mouse2", 300)["behavior"] == new
    pd.testing.assert_frame_equal(widget.editor.bouts_of("mouse1"), before1)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    assert widget.save(blocker / "bouts.csv") is None  # said in the dock, edits kept
    assert widget.status.startswith("not saved: ") and widget.editor.dirty
    widget.save()
    viewer.layers.clear()
    viewer.window.remove_dock_widget("all")
    again = open_session(viewer, folder)
    assert again.editor.bout_at("mouse2", 300)["behavior"] == new
    # the session's labels.csv follows, and behavtrack train reads the labeled example
    labels = pd.read_csv(folder / "labels.csv")
    m2 = labels[labels["individual"] == "mouse2"].set_index("frame")["behavior"]
    assert m2[300] == new
    from behavtrack.strategies.pipeline import load_labeled_session

    example = again.add_to_labeled_examples(tmp_path / "examples")
    learned = load_labeled_session(example)
    assert learned.labels["mouse2"][300] == new
    want1 = labels[labels["individual"] == "mouse1"]["behavior"].to_numpy()
    assert (learned.labels["mouse1"] == want1).all()


def test_draw_an_arena_from_scratch(make_napari_viewer, openfield, tmp_path):
    from behavtrack.io.arena import load_arena

    folder, video = openfield
    viewer = make_napari_viewer()
    widget = open_session(viewer, folder, video=video)
    assert widget.arena_layer is None
    layer = widget.draw_arena_shape("compartment", "west")
    assert layer.mode == "add_polygon"
    layer.add_polygons([np.array([[20, 20], [20, 320], [460, 320], [460, 20]])])  # (y, x)
    widget.draw_arena_shape("compartment", "east")
    layer.add_polygons([np.array([[20, 320], [20, 620], [460, 620], [460, 320]])])
    widget.draw_arena_shape("partition")
    assert layer.mode == "add_path"
    layer.add_paths([np.array([[20, 320], [460, 320]])])
    widget.draw_arena_shape("poke_port", "east")
    layer.add_ellipses(np.array([[[120, 580], [120, 620], [160, 620], [160, 580]]]))
    assert layer.features["role"].tolist() == ["compartment", "compartment", "partition",
                                               "poke_port"]
    arena = load_arena(widget.save_arena(tmp_path / "drawn.yaml"))
    assert list(arena.compartments) == ["west", "east"]
    assert arena.compartment_of_individual("mouse1").name == "west"  # left one
    assert arena.compartments["east"].poke_port.center == (600.0, 140.0)
    assert arena.frame_size == (640, 480)
    assert arena.compartment_index(np.array([[100.0, 100.0], [500.0, 100.0]])).tolist() == [0, 1]
    # a shape without a compartment the arena has: the save says so and writes nothing
    widget.draw_arena_shape("water_port", "north")
    layer.add_ellipses(np.array([[[300, 40], [300, 80], [340, 80], [340, 40]]]))
    assert widget.save_arena(tmp_path / "bad.yaml") is None
    assert "north" in widget.status and not (tmp_path / "bad.yaml").exists()
    # closing the dock unhooks it from the viewer
    viewer.window.remove_dock_widget("all")
    widget.deleteLater()
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    viewer.dims.set_current_step(0, 10)  # no error from a deleted timeline


def test_reader_opens_a_bare_pose_file_with_its_video(make_napari_viewer, sample_data,
                                                      tmp_path):
    """Regression (issue 14): ``viewer.open("rec_dlc.csv", plugin="behavtrack")`` refused it."""
    src = sample_data / "video" / "openfield"
    shutil.copy(src / "m3v1mp4.mp4", tmp_path / "rec.mp4")
    shutil.copy(src / "m3v1mp4_dlc_predictions.csv", tmp_path / "rec_dlc.csv")
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "rec_dlc.csv"), plugin="behavtrack")
    names = {layer.name for layer in viewer.layers}
    assert {"video", "individual_0 keypoints", "individual_0 tracks"} <= names
    assert viewer.layers["video"].data.shape == (N, 480, 640)
    # the frame rate came from the video beside the pose; the dock adopts the pair of files
    _, widget = viewer.window.add_plugin_dock_widget("behavtrack", "Review bouts")
    assert widget.session is not None
    assert widget.session.pose_path == tmp_path / "rec_dlc.csv"
    assert widget.session.video_path == tmp_path / "rec.mp4"
    assert widget.session.fps == pytest.approx(30.0, abs=0.01) and widget.editor.n_frames == N


def test_reader_opens_a_video_alone_and_with_its_pose(make_napari_viewer, sample_data, tmp_path):
    src = sample_data / "video" / "openfield"
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(src / "m3v1mp4.mp4", alone / "clip.mp4")
    viewer = make_napari_viewer()
    viewer.open(str(alone / "clip.mp4"), plugin="behavtrack")
    assert [layer.name for layer in viewer.layers] == ["video"]
    assert viewer.layers["video"].data.shape[0] == N
    # a video whose pose (DeepLabCut's name for it) lies beside it opens with the pose
    viewer.layers.clear()
    shutil.copy(src / "m3v1mp4_dlc_predictions.csv",
                alone / "clipDLC_resnet50_openfieldOct30shuffle1_6000.csv")
    viewer.open(str(alone / "clip.mp4"), plugin="behavtrack")
    assert {"video", "individual_0 keypoints"} <= {layer.name for layer in viewer.layers}


@pytest.mark.parametrize("name", ["SLEAP_single-mouse_EPM.analysis.h5",
                                  "flies_centered_pair_predictions.slp", "reachingDEMO_2D.h5"])
def test_reader_opens_pose_files_of_every_format(make_napari_viewer, sample_data, tmp_path,
                                                 name):
    """A pose file alone (SLEAP, DeepLabCut HDF5) opens once its frame rate is beside it."""
    from behavtrack.io.framerate import pose_stem

    shutil.copy(sample_data / "pose" / name, tmp_path / name)
    (tmp_path / f"{pose_stem(name)}.pose.json").write_text('{"fps": 30}')
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / name), plugin="behavtrack")
    points = [layer for layer in viewer.layers if layer.name.endswith(" keypoints")]
    assert points and "video" not in viewer.layers
    # an events table or a rollout file is not ours
    assert napari_get_reader(str(sample_data / "marl" / "rollouts_seed0.csv")) is None
    assert napari_get_reader(str(sample_data / "labels" / "boris_old_tabular_export_1.csv")) \
        is None
