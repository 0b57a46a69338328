"""Accuracy of frame labels against truth: frame-level F1 and bout-level F1 (temporal IoU)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from behavtrack.io.bouts import BEHAVIORS, runs

__all__ = ["frame_scores", "bout_scores", "match_bouts", "runs_of"]


def _f1(tp: float, fp: float, fn: float) -> float:
    denom = 2 * tp + fp + fn
    return float(2 * tp / denom) if denom else float("nan")


def frame_scores(y_true: Sequence[np.ndarray], y_pred: Sequence[np.ndarray],
                 behaviors: Sequence[str] = BEHAVIORS) -> dict:
    """Per-behaviour precision/recall/F1 over all frames, their macro mean and accuracy.

    Frames whose truth is empty or ``None`` are ignored. The macro mean is over behaviours
    present in the truth.
    """
    t = np.concatenate([np.asarray(a, dtype=object) for a in y_true])
    p = np.concatenate([np.asarray(a, dtype=object) for a in y_pred])
    keep = np.array([isinstance(v, str) and v != "" for v in t], dtype=bool)
    t, p = t[keep], p[keep]
    per = {}
    for b in behaviors:
        tp = float(np.sum((t == b) & (p == b)))
        fp = float(np.sum((t != b) & (p == b)))
        fn = float(np.sum((t == b) & (p != b)))
        per[b] = {"precision": tp / (tp + fp) if tp + fp else float("nan"),
                  "recall": tp / (tp + fn) if tp + fn else float("nan"),
                  "f1": _f1(tp, fp, fn), "support": int(tp + fn)}
    present = [b for b in behaviors if per[b]["support"] > 0]
    macro = float(np.mean([per[b]["f1"] for b in present])) if present else float("nan")
    return {"macro_f1": macro, "accuracy": float(np.mean(t == p)) if len(t) else float("nan"),
            "per_behavior": per, "n_frames": int(len(t))}


def runs_of(labels: np.ndarray, behavior: str) -> np.ndarray:
    """``(n, 2)`` start/stop (exclusive) frames of the runs of ``behavior``.

    Examples
    --------
    >>> runs_of(np.array(["a", "b", "b", "a", "b"]), "b").tolist()
    [[1, 3], [4, 5]]

    """
    starts, lengths, hit = runs(np.asarray(labels, dtype=object) == behavior)
    return np.stack([starts[hit], (starts + lengths)[hit]], axis=1)


def match_bouts(true: np.ndarray, pred: np.ndarray, min_iou: float = 0.5) -> int:
    """Count one-to-one matches between two sorted bout lists at temporal IoU >= min_iou."""
    if len(true) == 0 or len(pred) == 0:
        return 0
    lo = np.searchsorted(true[:, 1], pred[:, 0], side="right")
    hi = np.searchsorted(true[:, 0], pred[:, 1], side="left")
    used = np.zeros(len(true), dtype=bool)
    n = 0
    for i in np.flatnonzero(hi > lo):
        cand = np.arange(lo[i], hi[i])
        inter = np.minimum(true[cand, 1], pred[i, 1]) - np.maximum(true[cand, 0], pred[i, 0])
        union = np.maximum(true[cand, 1], pred[i, 1]) - np.minimum(true[cand, 0], pred[i, 0])
        iou = inter / union
        iou[used[cand]] = -1
        j = int(np.argmax(iou))
        if iou[j] >= min_iou:
            used[cand[j]] = True
            n += 1
    return n


def bout_scores(y_true: Sequence[np.ndarray], y_pred: Sequence[np.ndarray],
                behaviors: Sequence[str] = BEHAVIORS, min_iou: float = 0.5) -> dict:
    """Bout-level precision/recall/F1 per behaviour.

    A predicted bout is a hit when it matches a true bout of the same behaviour at
    temporal IoU >= ``min_iou`` (one-to-one).

    Each pair of sequences (one animal of one session) is matched separately; the macro mean
    is over behaviours with true bouts.
    """
    per = {}
    for b in behaviors:
        tp = n_true = n_pred = 0
        for t, p in zip(y_true, y_pred, strict=True):
            tb, pb = runs_of(t, b), runs_of(p, b)
            tp += match_bouts(tb, pb, min_iou)
            n_true += len(tb)
            n_pred += len(pb)
        per[b] = {"precision": tp / n_pred if n_pred else float("nan"),
                  "recall": tp / n_true if n_true else float("nan"),
                  "f1": _f1(tp, n_pred - tp, n_true - tp), "n_true": n_true, "n_pred": n_pred}
    present = [b for b in behaviors if per[b]["n_true"] > 0]
    macro = float(np.mean([per[b]["f1"] for b in present])) if present else float("nan")
    return {"macro_f1": macro, "per_behavior": per, "min_iou": min_iou}
