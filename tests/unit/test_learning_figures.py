"""Figures of the learning statistics, checked on the Figure objects (no image comparison)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavtrack.export.raster import BEHAVIOR_COLORS
from behavtrack.learning.figures import (
    figure_png_bytes,
    metric_axis_label,
    new_figure,
    plot_ethograms,
    plot_learning_curves,
    plot_pose_on_frame,
    save_figure,
)


def test_metric_axis_label_carries_units_by_time_unit():
    assert metric_axis_label("pokes_per_min") == "pokes per min (pokes / min)"
    assert metric_axis_label("pokes_per_min", "steps") == "pokes per min (pokes / 60 steps)"
    assert metric_axis_label("waiting_mean_bout_s", "steps") == "waiting: mean bout (steps)"
    assert metric_axis_label("my_metric") == "my_metric"


def test_new_figure_hides_unused_cells():
    fig, axes = new_figure(4, ncols=3)
    assert len(axes) == 4 and len(fig.axes) == 6
    assert [ax.get_visible() for ax in fig.axes] == [True] * 4 + [False] * 2


def test_learning_curves_draw_pairs_mean_and_chance():
    sessions = pd.DataFrame({
        "pair": ["a", "a", "b", "b"], "session": [0, 1, 0, 1],
        "success_rate": [0.2, 0.6, 0.4, 0.8], "chance_rate": [0.1, 0.1, 0.3, 0.3],
        "pokes_per_min": [np.nan] * 4, "time_unit": ["steps"] * 4,
    })
    curves = pd.DataFrame({"metric": "success_rate", "x": [0, 1], "mean": [0.3, 0.7],
                           "mean_lo": [0.2, 0.6], "mean_hi": [0.4, 0.8], "iqm": [0.3, 0.7]})
    fig = plot_learning_curves(sessions, curves, ["success_rate", "pokes_per_min", "absent"],
                               title="T", xlabel="checkpoint")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 1  # all-NaN and absent metrics are skipped
    ax = visible[0]
    assert ax.get_title() == "success_rate" and ax.get_xlabel() == "checkpoint"
    assert ax.get_ylabel() == "success rate (fraction of pokes, 0-1)"
    assert fig._suptitle.get_text() == "T"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["mean"].get_ydata(), [0.3, 0.7])
    np.testing.assert_allclose(lines["chance"].get_ydata(), [0.2, 0.2])  # mean over pairs
    pair_lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("_")]
    assert sorted(ln.get_ydata().tolist() for ln in pair_lines) == [[0.2, 0.6], [0.4, 0.8]]


def test_learning_curve_panels_share_whole_session_ticks():
    # 5 panels on 3 columns: the x axis is shared, its tick labels and title drawn under the
    # lowest panel of each column (the third is above a hidden cell), on whole sessions
    metrics = ["success_rate", "chance_rate", "pokes_per_min", "waited_frac", "approached_frac"]
    sessions = pd.DataFrame({"pair": np.repeat(["a", "b"], 3), "session": [0, 1, 2] * 2,
                             **{m: np.linspace(0.1, 0.6, 6) for m in metrics}})
    fig = plot_learning_curves(sessions, pd.DataFrame(), metrics, xlabel="session (day)")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    lowest = [2, 3, 4]
    for i, ax in enumerate(axes):
        assert ax.get_shared_x_axes().joined(ax, axes[0])
        assert ax.get_xlabel() == ("session (day)" if i in lowest else "")
        assert ax.xaxis.get_tick_params()["labelbottom"] == (i in lowest)
    fig.canvas.draw()
    assert len({ax.get_xlim() for ax in axes}) == 1
    ticks = axes[4].get_xticks()
    ticks = ticks[(ticks >= 0) & (ticks <= 2)]
    assert len(ticks) and np.array_equal(ticks, np.round(ticks))  # no session 0.5
    axes[1].set_xlim(0.5, 1.5)  # zooming or panning one panel moves them all
    assert {ax.get_xlim() for ax in axes} == {(0.5, 1.5)}
    # progress is not a session index: the default ticks
    progress = sessions.assign(session=[0.0, 0.1, 0.2] * 2)
    fig = plot_learning_curves(progress, pd.DataFrame(), metrics[:1])
    fig.canvas.draw()
    assert not np.array_equal(fig.axes[0].get_xticks(), np.round(fig.axes[0].get_xticks()))


def test_saving_a_learning_curve_grid_draws_it_once():
    """Saved, a grid is laid out once and drawn once: not drawn once more, with nothing
    rendered, for its layout (``savefig``'s way), nor at each panel's autoscaling (a draw
    asked for there once made an 11-panel grid take 6-10 s instead of 1.3 s)."""
    metrics = ["success_rate", "chance_rate", "pokes_per_min", "waited_frac", "approached_frac"]
    sessions = pd.DataFrame({"pair": np.repeat(["a", "b"], 3), "session": [0, 1, 2] * 2,
                             **{m: np.linspace(0.1, 0.6, 6) for m in metrics}})
    fig = plot_learning_curves(sessions, pd.DataFrame(), metrics)
    draws: list = []
    fig.canvas.mpl_connect("draw_event", draws.append)
    engine = fig.get_layout_engine()
    png = figure_png_bytes(fig)
    assert len(draws) == 1 and fig.get_layout_engine() is engine  # given back
    assert figure_png_bytes(fig) == png and len(draws) == 2  # once more, the same
    axes = [ax for ax in fig.axes if ax.get_visible()]
    axes[0].set_xlim(0.5, 1.5)  # a zoom: the panels follow, drawn by the zoom's own draw
    assert {ax.get_xlim() for ax in axes} == {(0.5, 1.5)} and len(draws) == 2


def test_learning_curves_without_metrics_say_so():
    fig = plot_learning_curves(pd.DataFrame({"pair": ["a"], "session": [0]}), pd.DataFrame(),
                               ["success_rate"])
    assert fig.axes[0].texts[0].get_text() == "no metric to draw"


def test_ethograms_colour_codes_and_time_axis():
    labels = {"m1": np.array(["approach"] * 3 + ["other"] * 2, dtype=object),
              "m2": np.array(["waiting", "interaction", "bogus", "other", "other"], dtype=object)}
    fig = plot_ethograms([("session 1", labels, 10.0)])
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "session 1"
    assert ax.get_xlabel() == "time in the session (s)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m1", "m2"]
    grid = ax.images[0].get_array()
    # codes are BEHAVIORS' order: approach 0, waiting 1, interaction 2, other 3 (unknown: other)
    assert grid.tolist() == [[0, 0, 0, 3, 3], [1, 2, 3, 3, 3]]
    assert ax.images[0].get_extent()[:2] == [0, 0.5]  # 5 frames at 10 fps
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == list(BEHAVIOR_COLORS)


def test_long_ethograms_are_in_minutes_and_subsampled():
    fig = plot_ethograms([("long", {"m": np.array(["other"] * 3000, dtype=object)}, 10.0)],
                         max_columns=1000)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time in the session (min)"
    assert ax.images[0].get_array().shape == (1, 1000)


def test_pose_on_frame_joins_parts_and_skips_nan(tmp_path):
    frame = np.zeros((20, 40), dtype=np.uint8)
    points = {"m1": {"nose": (30.0, 10.0), "centroid": (20.0, 10.0),
                     "tail_base": (10.0, 10.0), "left_ear": (np.nan, np.nan)}}
    fig = plot_pose_on_frame(frame, points, title="frame 0")
    ax = fig.axes[0]
    assert ax.get_title() == "frame 0" and ax.get_xlabel() == "x (px)"
    line = ax.get_lines()[0]
    assert line.get_xdata().tolist() == [30.0, 20.0, 10.0]  # nose - centroid - tail_base
    assert ax.collections[0].get_offsets().shape == (3, 2)  # the NaN ear is not drawn
    assert ax.get_legend().get_texts()[0].get_text() == "m1 (3 body parts)"
    assert ax.get_ylim() == (19.5, -0.5)  # image rows downwards
    png = figure_png_bytes(fig, dpi=20)
    assert png.startswith(b"\x89PNG")
    out = save_figure(fig, tmp_path / "f.png", svg=True, dpi=20)
    assert out.read_bytes().startswith(b"\x89PNG") and (tmp_path / "f.svg").is_file()


def test_saved_png_is_matplotlibs_own_at_that_dpi(tmp_path):
    import io

    import matplotlib

    def draw():
        sessions = pd.DataFrame({"pair": ["a", "a", "b", "b"], "session": [0, 1, 0, 1],
                                 "success_rate": [0.2, 0.6, 0.4, 0.8],
                                 "pokes_per_min": [3.0, 5.0, 4.0, 6.5]})
        curves = pd.DataFrame({"metric": "success_rate", "x": [0, 1], "mean": [0.3, 0.7],
                               "mean_lo": [0.2, 0.6], "mean_hi": [0.4, 0.8],
                               "iqm": [0.3, 0.7]})
        return plot_learning_curves(sessions, curves, ["success_rate", "pokes_per_min"])

    ref = io.BytesIO()
    draw().savefig(ref, format="png", dpi=110)  # laid out and drawn at 110 dpi, the slow way
    fig = draw()
    path = save_figure(fig, tmp_path / "curves.png", svg=True)
    assert path.read_bytes() == ref.getvalue() == figure_png_bytes(draw())
    with matplotlib.rc_context({"figure.autolayout": True}):  # a figure without an engine
        assert figure_png_bytes(draw()) == ref.getvalue()  # would get the tight layout
    assert fig.dpi == 100  # given back: the SVG and any later save see the figure as it was
    assert (tmp_path / "curves.svg").read_text().lstrip().startswith("<?xml")
