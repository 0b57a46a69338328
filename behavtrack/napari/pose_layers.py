"""Poses as napari layers: one Points layer and one Tracks layer per individual.

Long sessions track one body keypoint only (see :data:`MAX_TRACKED_POSITIONS`).

Layer coordinates are ``(frame, y, x)``: the first axis is the frame index (not seconds), so
the viewer's frame slider, the video and the timeline share one axis. Missing positions (NaN)
are left out, and an individual with no position at all gets no layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["pose_layer_data", "INDIVIDUAL_COLORS"]

#: Colours of individuals' tracks, in individual order.
INDIVIDUAL_COLORS = ("#ff7f0e", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _table(ds: xr.Dataset, individual: str) -> pd.DataFrame:
    """Long table ``frame, keypoint, x, y, confidence`` of one individual (NaN rows dropped)."""
    pos = ds["position"].sel(individual=individual).transpose("time", "keypoint", "space")
    xy = pos.sel(space=["x", "y"]).to_numpy()  # (time, keypoint, 2)
    n_t, n_k = xy.shape[:2]
    if "confidence" in ds:
        conf = ds["confidence"].sel(individual=individual).transpose("time", "keypoint")
        conf = conf.to_numpy().reshape(-1)
    else:
        conf = np.full(n_t * n_k, np.nan)
    frame = np.repeat(np.arange(n_t), n_k)
    kp = np.tile(np.asarray(ds["keypoint"].values, dtype=str), n_t)
    flat = xy.reshape(-1, 2)
    ok = np.isfinite(flat).all(axis=1)
    return pd.DataFrame({
        "frame": frame[ok], "keypoint": kp[ok], "x": flat[ok, 0], "y": flat[ok, 1],
        "confidence": conf[ok],
    })


#: Above this many positions per individual, Tracks follow one body keypoint only (napari's
#: Tracks layer costs time on every frame step in proportion to its size).
MAX_TRACKED_POSITIONS = 100_000
_BODY_KEYPOINTS = ("centroid", "tail_base", "nose")


def _tracked_keypoints(ds: xr.Dataset, track_keypoints: list[str] | None) -> list[str]:
    keypoints = [str(k) for k in ds["keypoint"].values]
    if track_keypoints is not None:
        return [k for k in keypoints if k in track_keypoints]
    if ds.sizes["time"] * len(keypoints) <= MAX_TRACKED_POSITIONS:
        return keypoints
    body = next((k for k in _BODY_KEYPOINTS if k in keypoints), keypoints[0])
    return [body]


def pose_layer_data(
    ds: xr.Dataset, tail_length: int = 30, point_size: float = 8.0,
    track_keypoints: list[str] | None = None,
) -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """Return napari layer-data tuples for a poses Dataset.

    Parameters
    ----------
    ds
        movement poses Dataset (``position``: time x space x keypoint x individual).
    tail_length
        Frames of trail the Tracks layers show behind each keypoint.
    point_size
        Size of the points in pixels.
    track_keypoints
        Keypoints that get a track. Default: all of them, or for long sessions (more than
        :data:`MAX_TRACKED_POSITIONS` positions per individual) one body keypoint
        (``centroid``, else ``tail_base``, else ``nose``), which keeps frame steps fast.

    Returns
    -------
    list of tuple
        For each individual, ``(points (n, 3) frame/y/x, kwargs, "points")`` with features
        ``keypoint`` and ``confidence``, then ``(tracks (m, 4) id/frame/y/x, kwargs,
        "tracks")`` with one track per tracked keypoint.

    """
    keypoints = [str(k) for k in ds["keypoint"].values]
    tracked = _tracked_keypoints(ds, track_keypoints)
    layers: list[tuple[np.ndarray, dict[str, Any], str]] = []
    for i, ind in enumerate(str(v) for v in ds["individual"].values):
        t = _table(ds, ind)
        if t.empty:  # never tracked (e.g. a track fragment outside the frames): no layers
            continue
        points = t[["frame", "y", "x"]].to_numpy(dtype=float)
        features = pd.DataFrame({
            "keypoint": pd.Categorical(t["keypoint"], categories=keypoints),
            "confidence": t["confidence"].to_numpy(dtype=float),
        })
        meta = {"behavtrack_role": "pose", "individual": ind}
        layers.append((points, {
            "name": f"{ind} keypoints",
            "features": features,
            "face_color": "keypoint",
            "border_color": INDIVIDUAL_COLORS[i % len(INDIVIDUAL_COLORS)],
            "border_width": 0.15,
            "size": point_size,
            "metadata": meta,
        }, "points"))
        on_track = t["keypoint"].isin(tracked).to_numpy()
        track_id = pd.Categorical(t["keypoint"], categories=keypoints).codes.astype(float)
        tracks = np.column_stack([track_id, points])[on_track]
        tracks = tracks[np.lexsort((tracks[:, 1], tracks[:, 0]))]  # by track, then frame
        layers.append((tracks, {
            "name": f"{ind} tracks",
            "tail_length": tail_length,
            "tail_width": 2,
            "colormap": "hsv",
            "metadata": dict(meta, behavtrack_role="tracks"),
        }, "tracks"))
    return layers
