"""The ``compare`` workflow: mice vs agents over training progress, written as a report folder.

:func:`compare` loads both sides (:func:`behavtrack.compare.report.load_side`), compares them
(:func:`behavtrack.compare.report.compare_sides`) and writes ``compare_curves.csv``,
``agreement.csv``, ``compare.png``, ``ethograms.png``, ``pose_on_video.png`` and the
self-contained ``report.html``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.compare.report import (
    compare_figure,
    compare_sides,
    ethogram_png,
    load_side,
    report_html,
)
from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text
from behavtrack.io.classified import ClassifiedFolder
from behavtrack.learning.cohort import require_counts
from behavtrack.parallel import worker_count
from behavtrack.workflows.stats import write_csv

__all__ = ["CompareResult", "compare"]


@dataclass
class CompareResult:
    """Tables and files of a comparison.

    Attributes
    ----------
    mice, agents
        Each side's sessions table.
    curves
        Pooled curves per progress bin.
    agreement
        Per metric, whether the trends agree.
    report
        ``report.html``.
    figure
        ``compare.png``.
    headline
        The one-sentence verdict.
    testable
        Whether every metric's trends could be tested.
    figures
        Every figure written.

    """

    mice: pd.DataFrame
    agents: pd.DataFrame
    curves: pd.DataFrame
    agreement: pd.DataFrame
    report: Path
    figure: Path
    headline: str = ""
    testable: bool = True
    figures: list[Path] = field(default_factory=list)


def compare(
    mice_dir: str | os.PathLike,
    agents_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    metrics: Sequence[str] | None = None,
    n_bins: int = 5,
    n_boot: int = 2000,
    n_shifts: int = 1000,
    seed: int = 0,
    sync_limit: int = 2,
    episode_steps: int | None = None,
    jobs: int | None = 1,
) -> CompareResult:
    """Compare mice and agents over training progress and write the report.

    Parameters
    ----------
    mice_dir
        ``behavtrack stats`` output of the mice (or classify folders).
    agents_dir
        ``behavtrack stats`` output of the agents, or rollout files / a folder of them.
    out_dir
        Output folder: ``compare_curves.csv``, ``agreement.csv``, ``compare.png``,
        ``ethograms.png`` (a few mouse sessions, when their bouts are found),
        ``pose_on_video.png`` (when a mouse session has a video and a pose), ``report.html``.
    metrics
        Metrics to compare (default :data:`behavtrack.compare.report.COMPARE_METRICS`, those
        present on both sides).
    n_bins
        Progress bins per side for the pooled curves.
    n_boot
        Bootstrap resamples of pairs (runs) for the CIs.
    n_shifts, seed, sync_limit, episode_steps
        For inputs analysed on the spot (see :func:`behavtrack.compare.report.load_side`).
    jobs
        Processes that analyse inputs on the spot (``None``: the usable cores). The same
        files either way.

    Returns
    -------
    CompareResult

    """
    from behavtrack.learning.figures import save_figure

    require_counts(n_bins=n_bins, n_boot=n_boot, n_shifts=n_shifts)
    worker_count(jobs, 1)  # checks jobs before the work, whatever the inputs
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():  # checked before the work
        raise InputError(out_dir, "is a file, not an output folder", "give a folder as out_dir=")
    opts = dict(n_shifts=n_shifts, seed=seed, sync_limit=sync_limit,
                episode_steps=episode_steps, jobs=jobs)
    mice = load_side(mice_dir, "mice", **opts)
    agents = load_side(agents_dir, "agents", **opts)
    comp = compare_sides(mice, agents, metrics=metrics, n_bins=n_bins, n_boot=n_boot, seed=seed,
                         source=mice_dir)
    curves, agreement = comp.curves, comp.agreement
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(curves, out_dir / "compare_curves.csv")
    write_csv(agreement, out_dir / "agreement.csv")
    fig = compare_figure(mice, agents, curves, comp.metrics)
    figure = save_figure(fig, out_dir / "compare.png")
    extra: list[tuple[str, str, bytes]] = []
    figures = [figure]
    ethograms = ethogram_png(mice)
    if ethograms is None:  # not drawn this time: no figure of an earlier run stays behind
        (out_dir / "ethograms.png").unlink(missing_ok=True)
    else:
        with atomic_path(out_dir / "ethograms.png") as tmp:
            tmp.write_bytes(ethograms)
        figures.append(out_dir / "ethograms.png")
        extra.append(("Ethograms of a few sessions", "Each animal's behaviour per frame, in "
                      "sessions early, midway and late in training (titles say whether the "
                      "bouts were classified or are the simulator's truth).", ethograms))
    frame = _pose_frame_png(mice)
    if frame is None:
        (out_dir / "pose_on_video.png").unlink(missing_ok=True)
    else:
        with atomic_path(out_dir / "pose_on_video.png") as tmp:
            tmp.write_bytes(frame[0])
        figures.append(out_dir / "pose_on_video.png")
        extra.append(("Tracked pose on a video frame", frame[1], frame[0]))
    # the report embeds the PNGs just written (drawing each figure once)
    page = report_html("behavtrack: mice vs agents", figure.read_bytes(), agreement, mice,
                       agents, curves, comp.notes, comp.headline, extra)
    report = atomic_write_text(out_dir / "report.html", page)
    return CompareResult(mice=mice, agents=agents, curves=curves, agreement=agreement,
                         report=report, figure=figure, headline=comp.headline,
                         testable=comp.testable, figures=figures)


def _pose_frame_png(mice: pd.DataFrame) -> tuple[bytes, str] | None:
    """One video frame of a mouse session with its tracked pose drawn on it, or ``None``.

    The session's pose and video are gathered as the review plugin does
    (:func:`behavtrack.napari.session.load_review_session`: a classify output folder leads to
    the pose it was classified from).
    """
    from behavtrack.io.video import VideoReader
    from behavtrack.learning.figures import figure_png_bytes, plot_pose_on_frame
    from behavtrack.napari.session import load_review_session

    if "path" not in mice:
        return None
    for _, row in mice.sort_values(["pair", "session"], kind="stable").iterrows():
        folder = Path(str(row["path"]))
        video = ClassifiedFolder(folder).video() if folder.is_dir() else None
        if video is None:
            continue
        try:
            sess = load_review_session(folder, video=video)
        except (InputError, OSError):
            continue
        if sess.pose is None:
            continue
        pos = sess.pose["position"].transpose("time", "individual", "keypoint", "space").values
        tracked = np.isfinite(pos).all(axis=-1).sum(axis=(1, 2))
        best = np.flatnonzero(tracked == tracked.max())
        if tracked.max() == 0:
            continue
        index = int(best[len(best) // 2])
        try:
            with VideoReader(video, cache_size=1) as reader:
                if index >= reader.n_frames:
                    continue
                frame = reader[index]
        except (InputError, OSError):
            continue
        inds = [str(i) for i in sess.pose["individual"].values]
        kps = [str(k) for k in sess.pose["keypoint"].values]
        points = {ind: {kp: tuple(pos[index, a, b]) for b, kp in enumerate(kps)}
                  for a, ind in enumerate(inds)}
        simulated = row.get("data") == "simulated"
        title = (f"{row['pair']} session {row['session']}, frame {index} "
                 f"({index / sess.fps:.1f} s): pose {sess.pose_path.name} on "
                 f"{'the SIMULATED (rendered) ' if simulated else 'the '}video {video.name}")
        caption = ("The tracked body parts of every animal drawn on the video frame where the "
                   "most body parts are tracked; lines join nose, head, neck, centroid and tail "
                   "base." + (" The video was rendered by the simulator." if simulated else ""))
        return figure_png_bytes(plot_pose_on_frame(frame, points, title)), caption
    return None
