"""What is in a pose or agent-rollout file: format, frame rate, animals, body parts, data quality.

:func:`describe_pose` summarises one file as a dict (what ``behavtrack info`` prints): format,
fps (with where it came from: argument, file, sidecar, video, arena or unknown), individuals,
keypoints, frames, duration and, per keypoint, the fraction of points that are missing (NaN
position) or of low confidence (below a threshold; "no confidence scores" for files that have
none), and warnings for a pose that cannot be analysed as it is (one frame, nothing tracked, more
than two animals). Agent rollout files (``.mat`` and the tidy CSV of the MARL grid world) are
summarised the same way, with steps as frames.
:func:`format_description` renders such a dict as text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavtrack.files import require_file

__all__ = ["describe_pose", "describe_dataset", "format_description"]


def describe_dataset(ds: xr.Dataset, threshold: float = 0.5) -> dict[str, Any]:
    """Summarise a loaded poses Dataset (see :func:`describe_pose` for the keys)."""
    pos = ds["position"].values  # (time, space, keypoint, individual)
    missing = np.isnan(pos).any(axis=1)  # (time, keypoint, individual)
    conf = ds["confidence"].values if "confidence" in ds else None
    # a file without scores (movement fills NaN) has no low-confidence points, only no scores
    scored = conf is not None and bool(np.isfinite(conf[~missing]).any())
    if scored:
        low = ~missing & np.isfinite(conf) & (conf < threshold)
    else:
        low = np.zeros_like(missing)
    n_frames = int(ds.sizes["time"])
    fps = ds.attrs.get("fps")
    denom = max(missing.shape[0] * missing.shape[2], 1)
    m = missing.sum(axis=(0, 2)) / denom  # per keypoint
    lo = low.sum(axis=(0, 2)) / denom
    per_kp = {
        str(name): {"missing": float(a), "low_confidence": float(b) if scored else None,
                    "missing_or_low": float(a + b)}
        for name, a, b in zip(ds["keypoint"].values, m, lo, strict=True)
    }
    inds = [str(i) for i in ds["individual"].values]
    warnings = []
    if n_frames < 2:
        warnings.append(f"{n_frames} frame(s): behaviour needs at least 2")
    if not np.isfinite(pos).any():
        warnings.append("no tracked frame at all (every position is missing)")
    if len(inds) > 2:
        warnings.append(f"{len(inds)} animals: classify/train/batch analyse a pair; choose it "
                        f"with --individuals {inds[0]},{inds[1]}")
    return {
        "file": str(ds.attrs.get("source_file", "")),
        "format": str(ds.attrs.get("source_software", "")),
        "fps": float(fps) if fps else None,
        "fps_source": str(ds.attrs.get("fps_source") or ("file" if fps else "unknown")),
        "fps_from": str(ds.attrs.get("fps_from") or "") or None,
        "confidence_scores": scored,
        "warnings": warnings,
        "individuals": inds,
        "keypoints": [str(k) for k in ds["keypoint"].values],
        "renamed_keypoints": ds.attrs.get("renamed_keypoints", "{}"),
        "n_frames": n_frames,
        "duration_s": n_frames / float(fps) if fps else None,
        "threshold": float(threshold),
        "per_keypoint": per_kp,
    }


def describe_pose(
    path: str | os.PathLike,
    threshold: float = 0.5,
    fps: float | None = None,
    arena: str | os.PathLike | Any | None = None,
    require: Sequence[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Summarise one pose or agent-rollout file.

    Parameters
    ----------
    path
        Any file :func:`behavtrack.io.pose.load_pose` or
        :func:`behavtrack.io.agents.load_rollouts` reads.
    threshold
        Points with confidence below this count as low-confidence.
    fps
        Frame rate, for files that do not store it.
    arena
        An :class:`~behavtrack.io.arena.Arena` or the path of an arena YAML (validated; its
        ``fps`` is used if neither ``fps`` nor the file gives one).
    require
        Body parts (canonical names) the file must have; one missing is an error.
    aliases
        Extra body-part aliases (name in the file -> canonical name).

    Returns
    -------
    dict
        ``file, format, fps, fps_source`` (``argument``, ``file``, ``sidecar``, ``video``,
        ``arena`` or ``unknown``), ``fps_from`` (the sidecar or video read, or ``None``),
        ``confidence_scores`` (whether the file has any), ``warnings`` (why the pose cannot
        be analysed as it is), ``individuals, keypoints, renamed_keypoints, n_frames,
        duration_s, threshold, per_keypoint`` (keypoint -> ``missing, low_confidence``
        (``None`` without scores), ``missing_or_low`` fractions over frames and
        individuals). Rollout files add
        ``rollouts`` (run, checkpoint, steps and event counts per rollout); their frames are
        steps and ``fps`` is 1 step per second.

    Raises
    ------
    InputError
        For a file that cannot be read (one line naming it).

    """
    from behavtrack.io.agents import is_rollout_file, load_rollouts
    from behavtrack.io.pose import load_pose, require_keypoints

    if isinstance(arena, (str, os.PathLike)):
        from behavtrack.io.arena import load_arena

        arena = load_arena(arena)
    path = require_file(path, "file")
    if is_rollout_file(path):
        rollouts = load_rollouts(path)
        merged = xr.concat([r.pose[["position", "confidence"]] for r in rollouts], dim="time")
        merged.attrs.update(rollouts[0].pose.attrs)
        require_keypoints(merged, require or [], path)
        out = describe_dataset(merged, threshold)
        out["file"] = str(path)
        out["format"] = (
            "agent rollouts (.mat, MARL_Environment_Poke)" if path.suffix.lower() == ".mat"
            else "agent rollouts (tidy CSV)"
        )
        out["duration_s"] = None
        out["fps_source"] = "file"
        out["warnings"] = [w for w in out["warnings"] if "animals" not in w]
        out["rollouts"] = [
            {
                "run": r.run,
                "checkpoint": int(r.checkpoint),
                "episodes": int(len(np.unique(r.pose["episode"].values))),
                "steps": int(r.pose.sizes["time"]),
                "events": {
                    (f"{ev} {subj}" if subj else ev): int(n)
                    for (ev, subj), n in r.events.groupby(["event", "subject"]).size().items()
                },
            }
            for r in rollouts
        ]
        return out
    ds = load_pose(path, fps=fps, arena=arena, aliases=aliases)
    require_keypoints(ds, require or [], path)
    return describe_dataset(ds, threshold) | {"file": str(path)}


def _fmt_list(items: list[str], limit: int = 12) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"


def format_description(info: dict[str, Any]) -> str:
    """Render :func:`describe_pose`'s dict as a few lines of text."""
    fps = info["fps"]
    source = info.get("fps_source") or ("file" if fps else "unknown")
    origin = {"argument": "from --fps", "file": "stored in the file",
              "sidecar": "from the sidecar", "video": "from the video",
              "arena": "from the arena YAML"}.get(source, source)
    if info.get("fps_from"):
        origin += f" {Path(info['fps_from']).name}"
    if info.get("rollouts"):
        origin = "agent rollouts: steps, one per unit of time"
    lines = [
        f"{info['file']}",
        f"  format:      {info['format']}",
        f"  fps:         {fps:g} ({origin})" if fps else
        "  fps:         unknown (the file stores none and no sidecar or video of the same "
        "name is beside it; time in frames; pass --fps)",
        f"  individuals: {len(info['individuals'])} ({_fmt_list(info['individuals'])})",
        f"  keypoints:   {len(info['keypoints'])} ({_fmt_list(info['keypoints'])})",
        f"  frames:      {info['n_frames']}",
    ]
    if info.get("renamed_keypoints") not in (None, "", "{}"):
        lines.append(f"  renamed:     {info['renamed_keypoints']}")
    if info.get("duration_s") is not None:
        lines.append(f"  duration:    {info['duration_s']:.2f} s")
    for r in info.get("rollouts", []):
        ev = ", ".join(f"{k} {v}" for k, v in r["events"].items())
        lines.append(
            f"  rollout run {r['run']} checkpoint {r['checkpoint']}: {r['episodes']} episodes, "
            f"{r['steps']} steps; {ev}"
        )
    for warning in info.get("warnings", []):
        lines.append(f"  warning:     {warning}")
    width = max(len(k) for k in info["per_keypoint"])
    if info.get("confidence_scores", True):
        lines.append(
            f"  per keypoint: missing / low confidence (< {info['threshold']:g}) / either"
        )
        for name, q in info["per_keypoint"].items():
            lines.append(
                f"    {name:<{width}}  {q['missing']:6.1%}  {q['low_confidence']:6.1%}  "
                f"{q['missing_or_low']:6.1%}"
            )
    else:
        lines.append("  per keypoint: missing (the file has no confidence scores)")
        for name, q in info["per_keypoint"].items():
            lines.append(f"    {name:<{width}}  {q['missing']:6.1%}")
    return "\n".join(lines)

