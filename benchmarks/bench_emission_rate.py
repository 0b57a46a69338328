"""Accuracy of the hybrid classifier against the rate at which its trees are evaluated.

The trees see every k-th frame (``emission_hz``) and the log-posteriors between are
interpolated. This script measures what the rate costs in accuracy:

1. simulated: the shipped ``models/default.json`` on unseen simulated sessions (seeds 9100+,
   as ``bench_classify.py``), frame and bout macro-F1 against the simulator's truth, and the
   share of frames labelled as at 15 Hz;
2. real (``--real``, a few minutes): leave one session out on ``../shared/data/social``
   (trained as ``bench_real.py``), interaction frame F1 and bout F1 at IoU 0.3 / 0.5.

Usage: ``python benchmarks/bench_emission_rate.py [--sessions 6] [--real]``; prints the
figures and writes ``benchmarks/results/emission_rate.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("BEHAVTRACK_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
RATES = (15.0, 10.0, 7.5, 5.0)


def simulated(n_sessions: int) -> dict:
    from bench_classify import _summ

    from behavtrack.features import compute_features
    from behavtrack.features.table import feature_request
    from behavtrack.simulate import simulate_session
    from behavtrack.strategies import load_model
    from behavtrack.strategies.pipeline import classify_features

    model = load_model()
    truth: list[np.ndarray] = []
    preds: dict[float, list[np.ndarray]] = {h: [] for h in RATES}
    for k in range(n_sessions):
        pair, day = 40 + k % 4, (k * 3 + 1) % 10  # as bench_classify.py: unseen pairs, seeds
        sess = simulate_session(day=day, n_days=10, pair=pair, duration_s=300, seed=9100 + k)
        inds = list(sess.meta["individuals"])
        f = compute_features(sess.pose, sess.arena, sess.events,
                             **feature_request(model.feature_names_))
        truth += [sess.labels[sess.labels.individual == i].sort_values("frame").behavior
                  .to_numpy(object) for i in inds]
        for h in RATES:
            m = copy.copy(model)
            m.emission_hz = h
            labels, _, _ = classify_features(f, m)
            preds[h] += [labels[i] for i in inds]
    ref = np.concatenate(preds[15.0])
    out = {}
    for h, p in preds.items():
        s = _summ(truth, p)
        out[str(h)] = {"frame_macro_f1": s["frame_macro_f1"], "bout_macro_f1": s["bout_macro_f1"],
                       "same_label_as_15hz": round(float(np.mean(np.concatenate(p) == ref)), 5)}
        print(f"simulated {h:>4} Hz: frame macro-F1 {s['frame_macro_f1']:.4f}, bout macro-F1 "
              f"{s['bout_macro_f1']:.4f}, frames as at 15 Hz "
              f"{out[str(h)]['same_label_as_15hz']:.4f}", flush=True)
    return {"sessions": n_sessions, "minutes_each": 5, "by_rate_hz": out}


def real(data: Path) -> dict:
    from bench_real import score

    from behavtrack.strategies.pipeline import (
        _sequences,
        labeled_from_boris,
        predict_sessions,
        train_model,
    )

    names = sorted(p.name for p in data.iterdir() if (p / "boris.csv").is_file())
    sessions = {n: labeled_from_boris(data / n / "boris.csv", data / n / "pose_dlc.csv",
                                      fps=30.0, behavior_map={"interact": "interaction"})
                for n in names}
    for n, s in sessions.items():
        s.name = n
    truth: list = []
    preds: dict[float, list] = {h: [] for h in RATES}
    for t in names:
        _, y, _ = _sequences([sessions[t]])
        truth += y
        model = train_model([sessions[n] for n in names if n != t], folds=0, seed=0)
        for h in RATES:
            m = copy.copy(model)
            m.emission_hz = h
            preds[h] += predict_sessions(m, [sessions[t]])
    out = {}
    for h in RATES:
        out[str(h)] = score(truth, preds[h])
        print(f"real {h:>4} Hz: {out[str(h)]}", flush=True)
    return {"sessions": names, "by_rate_hz": out}


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "social"))
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" /
                                          "emission_rate.json"))
    args = ap.parse_args()
    res = {"simulated": simulated(args.sessions)}
    if args.real:
        res["real_leave_one_session_out"] = real(Path(args.data))
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
