"""Benchmark on REAL data: interaction in two-mouse recordings with human labels.

``../shared/data/social`` holds real recordings (DeepLabCut multi-animal predictions of an
adult and a juvenile mouse in an open arena, 30 fps) with the human coder's BORIS export of
``interact`` bouts. Leave one session out: every method is trained on the other sessions and
scored on the held-out one, on the same folds, in the same run.

Methods:

- **behavtrack**: ``train_model`` (the hybrid classifier: gradient-boosted frame posteriors
  decoded by a duration-aware HMM; its posterior scale and minimum bout are chosen by an inner
  cross-validation over the training sessions only) and the pair decoded together, as
  ``behavtrack train --boris ... --pose ...`` then ``behavtrack classify`` do;
- **gaussian HMM**: the same with ``classifier="gaussian"`` (the Gaussian-emission HMM that was
  behavtrack's classifier before the hybrid);
- **rule**: a distance threshold (the distance and the threshold chosen on the training
  sessions: the pair of candidate distance and threshold with the best training frame F1),
  then a 0.5 s median filter;
- **per-frame GBM**: scikit-learn ``HistGradientBoostingClassifier`` per frame on every
  inter-animal keypoint distance, both speeds and the angles to the partner, then a 0.5 s
  median filter (the baseline a SimBA/MARS-minded user would build);
- **per-frame GBM, all features**: the same on behavtrack's whole feature set (window
  statistics included): isolates what the temporal model adds over the features.

Scores are for ``interaction``, per animal (labels are the pair's: a bout coded for the adult
is an interaction of both), pooled over the held-out sessions: frame F1 and bout F1 (one-to-one
matches at temporal IoU >= 0.3, also reported at 0.5). Prints a table; writes
``benchmarks/results/real.json``.

Run: ``.venv/bin/python benchmarks/bench_real.py [--data ../shared/data/social]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("BEHAVTRACK_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
MEDIAN_S = 0.5
IOUS = (0.3, 0.5)


def _f1(tp: float, fp: float, fn: float) -> float:
    d = 2 * tp + fp + fn
    return float(2 * tp / d) if d else float("nan")


def score(truth: list[np.ndarray], pred: list[np.ndarray]) -> dict:
    """Interaction frame F1 and bout F1 (IoU 0.3 and 0.5) over per-animal sequences."""
    from behavtrack.strategies.metrics import match_bouts, runs_of

    tp = fp = fn = 0
    bt = {iou: [0, 0, 0] for iou in IOUS}
    for y, p in zip(truth, pred, strict=True):
        y = np.asarray(y, dtype=object) == "interaction"
        p = np.asarray(p, dtype=object) == "interaction"
        tp += int((y & p).sum())
        fp += int((~y & p).sum())
        fn += int((y & ~p).sum())
        ty, tp_ = runs_of(np.where(y, "i", ""), "i"), runs_of(np.where(p, "i", ""), "i")
        for iou in IOUS:
            hit = match_bouts(ty, tp_, iou)
            bt[iou][0] += hit
            bt[iou][1] += len(tp_) - hit
            bt[iou][2] += len(ty) - hit
    out = {"frame_f1": round(_f1(tp, fp, fn), 4)}
    for iou in IOUS:
        out[f"bout_f1_iou{iou}"] = round(_f1(*bt[iou]), 4)
    out["n_true_bouts"] = bt[IOUS[0]][0] + bt[IOUS[0]][2]
    return out


def _median(binary: np.ndarray, fps: float) -> np.ndarray:
    from scipy.ndimage import median_filter

    w = max(1, int(round(MEDIAN_S * fps)))
    w += 1 - w % 2
    return median_filter(binary.astype(np.int8), size=w, mode="nearest") > 0


def _xy(sessions, columns):
    from behavtrack.strategies.pipeline import _sequences

    X, y, _ = _sequences(sessions)
    mats = [x.reindex(columns=columns).to_numpy(dtype=float) for x in X]
    return X, mats, y


def baseline_columns(features) -> list[str]:
    """Inter-animal keypoint distances, speeds and angles to the partner (per frame)."""
    cols = [c for c in features.columns if c.startswith("dist__") and c.count("__") == 2]
    return cols + [c for c in ("speed", "partner_speed", "facing_partner", "partner_facing",
                               "relative_heading") if c in features.columns]


def all_columns(features) -> list[str]:
    return [c for c in features.columns if c != "tracked"]


def gbm_fold(train, test, columns, seed: int) -> list[np.ndarray]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    _, mats, y = _xy(train, columns)
    X = np.concatenate(mats)
    Y = np.concatenate([np.asarray(v, dtype=object) == "interaction" for v in y])
    keep = np.concatenate([np.asarray(v, dtype=object) != "" for v in y])
    gbm = HistGradientBoostingClassifier(random_state=seed).fit(X[keep], Y[keep])
    Xt, mats_t, _ = _xy(test, columns)
    return [np.where(_median(gbm.predict_proba(m)[:, 1] >= 0.5, x.attrs["fps"]),
                     "interaction", "other") for x, m in zip(Xt, mats_t, strict=True)]


RULE_DISTANCES = ("nose_nose", "pair_min_dist", "nose_partner_body", "centroid_dist")


def rule_fold(train, test) -> tuple[list[np.ndarray], dict]:
    _, _, y = _xy(train, [])
    Xtr, _, _ = _xy(train, [])
    best = None
    for name in RULE_DISTANCES:
        if name not in Xtr[0].columns:
            continue
        values = np.concatenate([x[name].to_numpy(float) for x in Xtr])
        for th in np.unique(np.nanpercentile(values, np.arange(1, 60))):
            pred = [np.where(_median(x[name].to_numpy(float) < th, x.attrs["fps"]),
                             "interaction", "other") for x in Xtr]
            f = score(y, pred)["frame_f1"]
            if best is None or f > best[0]:
                best = (f, name, float(th))
    _, name, th = best
    Xt, _, _ = _xy(test, [])
    return ([np.where(_median(x[name].to_numpy(float) < th, x.attrs["fps"]), "interaction",
                      "other") for x in Xt], {"distance": name, "threshold_cm": round(th, 3)})


def main() -> None:
    from behavtrack.strategies.pipeline import (
        _sequences,
        labeled_from_boris,
        predict_sessions,
        train_model,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "social"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "real.json"))
    args = ap.parse_args()
    data = Path(args.data)
    names = sorted(p.name for p in data.iterdir() if (p / "boris.csv").is_file())
    t0 = time.perf_counter()
    sessions = {n: labeled_from_boris(data / n / "boris.csv", data / n / "pose_dlc.csv",
                                      fps=30.0, behavior_map={"interact": "interaction"})
                for n in names}
    for n, s in sessions.items():
        s.name = n
    print(f"loaded {len(names)} real sessions in {time.perf_counter() - t0:.1f} s")
    methods = ("behavtrack", "gaussian_hmm", "rule", "gbm_per_frame", "gbm_all_features")
    truth: dict[str, list] = {m: [] for m in methods}
    preds: dict[str, list] = {m: [] for m in methods}
    per_session: dict[str, dict] = {}
    chosen: dict[str, dict] = {}
    for test_name in names:
        train = [sessions[n] for n in names if n != test_name]
        test = [sessions[test_name]]
        _, y, _ = _sequences(test)
        t = time.perf_counter()
        model = train_model(train, folds=0, seed=args.seed)
        fold_pred = {"behavtrack": predict_sessions(model, test)}
        t_model = time.perf_counter() - t
        fold_pred["gaussian_hmm"] = predict_sessions(
            train_model(train, folds=0, seed=args.seed, classifier="gaussian"), test)
        fold_pred["rule"], rule_choice = rule_fold(train, test)
        fold_pred["gbm_per_frame"] = gbm_fold(train, test, baseline_columns(
            sessions[test_name].features), args.seed)
        fold_pred["gbm_all_features"] = gbm_fold(train, test, all_columns(
            sessions[test_name].features), args.seed)
        per_session[test_name] = {m: score(y, p) for m, p in fold_pred.items()}
        chosen[test_name] = {"behavtrack": model.selection_, "rule": rule_choice,
                             "train_seconds": round(t_model, 1)}
        for m in methods:
            truth[m] += y
            preds[m] += fold_pred[m]
        print(f"{test_name}: " + "; ".join(
            f"{m} {v['frame_f1']:.3f}/{v['bout_f1_iou0.3']:.3f}"
            for m, v in per_session[test_name].items()) + f" (train {t_model:.0f} s)")
    pooled = {m: score(truth[m], preds[m]) for m in methods}
    print("\nleave-one-session-out, interaction, pooled over held-out sessions")
    print(f"{'method':<20} {'frame F1':>9} {'bout F1 (IoU>=0.3)':>19} {'bout F1 (IoU>=0.5)':>19}")
    for m in methods:
        v = pooled[m]
        print(f"{m:<20} {v['frame_f1']:>9.3f} {v['bout_f1_iou0.3']:>19.3f} "
              f"{v['bout_f1_iou0.5']:>19.3f}")
    d_frame = pooled["behavtrack"]["frame_f1"] - pooled["gbm_per_frame"]["frame_f1"]
    d_bout = pooled["behavtrack"]["bout_f1_iou0.3"] - pooled["gbm_per_frame"]["bout_f1_iou0.3"]
    print(f"behavtrack - per-frame GBM: frame F1 {d_frame:+.3f}, bout F1 {d_bout:+.3f} "
          "(goal: >= 0 and >= +0.05)")
    result = {"data": str(data), "sessions": names, "method": "leave one session out",
              "pooled": pooled, "per_session": per_session, "choices": chosen,
              "goal": {"frame_f1_minus_gbm": round(d_frame, 4),
                       "bout_f1_minus_gbm": round(d_bout, 4),
                       "met": bool(d_frame >= 0 and d_bout >= 0.05)},
              "seconds": round(time.perf_counter() - t0, 1)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
