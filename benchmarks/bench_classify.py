"""Benchmark of the strategy classifier: accuracy on unseen simulated sessions, and speed.

1. Accuracy: simulated sessions not used in training (new seeds, pairs and days; tracker-like
   pose noise: jitter, dropouts, identity swaps, missing frames), classified from their
   session folders exactly as a user would. (The classifier was developed on other seeds,
   7000+; these, 9100+, were first run for the figures.) Frame-level macro-F1 and bout-level F1 (a
   predicted bout matches a true bout of the same behaviour at temporal IoU >= 0.5,
   one-to-one), per behaviour, for
   - the HMM (the shipped ``models/default.json``, trained on ``labeled_examples/``),
   - a per-frame classifier on the same features without a temporal model
     (scikit-learn HistGradientBoosting, trained on the same ``labeled_examples/``),
   - the rule baseline (``behavtrack.strategies.RuleClassifier``).
   The HMM is also scored with pokes detected from the pose instead of the log.
   The shipped model (trained at 30 fps) is also scored on unseen sessions at 15, 25 and
   60 fps.
2. Speed: a 1-hour two-mouse session (108,000 frames at 30 fps) from a DLC .h5 session folder
   to all outputs (``classify_session``), against merely reading the pose file and writing
   the three CSVs of the same size, in the same run.

Prints the figures and writes ``benchmarks/results/classify.json``.
Run: ``.venv/bin/python benchmarks/bench_classify.py [--sessions 8 --minutes 5 --hours 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("BEHAVTRACK_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]


def _truth(sess_labels: pd.DataFrame, inds: list[str]) -> list[np.ndarray]:
    return [sess_labels[sess_labels["individual"] == i].sort_values("frame")["behavior"]
            .to_numpy(dtype=object) for i in inds]


def _pred(eth: pd.DataFrame, inds: list[str]) -> list[np.ndarray]:
    return [eth[eth["individual"] == i].sort_values("frame")["behavior"].to_numpy(dtype=object)
            for i in inds]


def _summ(truth: list, pred: list) -> dict:
    from behavtrack.strategies.metrics import bout_scores, frame_scores

    f, b = frame_scores(truth, pred), bout_scores(truth, pred)
    return {
        "frame_macro_f1": round(f["macro_f1"], 4),
        "bout_macro_f1": round(b["macro_f1"], 4),
        "frame_f1": {k: round(v["f1"], 4) for k, v in f["per_behavior"].items()},
        "bout_f1": {k: round(v["f1"], 4) for k, v in b["per_behavior"].items()},
        "n_true_bouts": {k: v["n_true"] for k, v in b["per_behavior"].items()},
    }


def accuracy(n_sessions: int, minutes: float, tmp: Path) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from behavtrack.features import compute_features
    from behavtrack.features.table import feature_request
    from behavtrack.io.pose import load_pose
    from behavtrack.io.session import find_sessions
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.strategies import RuleClassifier, load_model
    from behavtrack.strategies.pipeline import _sequences, load_labeled_session
    from behavtrack.workflows.classify import classify_session

    model = load_model()
    train = [load_labeled_session(p) for p in find_sessions(ROOT / "labeled_examples")]
    X, y, _ = _sequences(train)
    feats = list(model.feature_names_)
    hgb = HistGradientBoostingClassifier(max_iter=300, random_state=0)
    hgb.fit(pd.concat(X)[feats].to_numpy(float), np.concatenate(y).astype(str))
    rules = RuleClassifier()
    truth, hmm, hmm_pose, frame, rule = [], [], [], [], []
    t_sim = time.perf_counter()
    for k in range(n_sessions):
        pair, day = 40 + k % 4, (k * 3 + 1) % 10  # pairs and seeds unseen in training
        sess = simulate_session(day=day, n_days=10, pair=pair, duration_s=minutes * 60,
                                seed=9100 + k)
        folder = write_session(sess, tmp / f"acc_{k}", pose_formats=("pose.h5",))
        inds = list(sess.meta["individuals"])
        res = classify_session(folder, tmp / f"acc_{k}_out", png=False)
        res_pose = classify_session(folder / "pose.h5", tmp / f"acc_{k}_pose", arena=sess.arena,
                                    png=False)
        truth += _truth(sess.labels, inds)
        hmm += _pred(res.labels, inds)
        hmm_pose += _pred(res_pose.labels, inds)
        # the per-frame and rule classifiers see the very features the HMM saw
        f = compute_features(load_pose(folder / "pose.h5", fps=sess.meta["fps"]), sess.arena,
                             sess.events, **feature_request(feats))
        for ind in inds:
            x = f.xs(ind, level="individual")
            x.attrs = dict(f.attrs)
            frame.append(hgb.predict(x[feats].to_numpy(float)).astype(object))
            rule.append(rules.predict(x))
    t_sim = time.perf_counter() - t_sim
    return {
        "test_sessions": n_sessions, "minutes_each": minutes,
        "n_frames_per_animal_total": int(sum(len(t) for t in truth)),
        "hmm": _summ(truth, hmm), "hmm_pokes_from_pose": _summ(truth, hmm_pose),
        "per_frame_hgb": _summ(truth, frame), "rules": _summ(truth, rule),
        "wall_s": round(t_sim, 1),
    }


def frame_rates(rates: tuple[float, ...], n_sessions: int, minutes: float) -> dict:
    """The shipped model (trained at 30 fps) on unseen sessions recorded at other rates."""
    from behavtrack.simulate import simulate_session
    from behavtrack.workflows.classify import classify_session

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for fps in rates:
            truth, pred = [], []
            for k in range(n_sessions):
                sess = simulate_session(day=(k * 3 + 2) % 10, pair=70 + k,
                                        duration_s=minutes * 60, fps=fps, seed=15000 + k)
                res = classify_session(sess.pose, Path(d) / f"{fps}_{k}", arena=sess.arena,
                                       events=sess.events, png=False)
                inds = list(sess.meta["individuals"])
                truth += _truth(sess.labels, inds)
                pred += _pred(res.labels, inds)
            out[str(fps)] = _summ(truth, pred)
    return out


def speed(hours: float, tmp: Path, repeats: int = 3) -> dict:
    from behavtrack.export import binary_table, ethogram_table, write_binary_csv, write_ethogram_csv
    from behavtrack.io.bouts import frames_to_bouts, write_bouts_csv
    from behavtrack.io.pose import load_pose
    from behavtrack.simulate import simulate_session, write_session
    from behavtrack.workflows.classify import classify_session

    sess = simulate_session(day=8, pair=20, duration_s=hours * 3600, seed=99)
    folder = write_session(sess, tmp / "speed", pose_formats=("pose.h5",))
    n = int(sess.meta["n_frames"])
    full, base = [], []
    for r in range(repeats):
        t = time.perf_counter()
        res = classify_session(folder, tmp / f"speed_out{r}")
        full.append(time.perf_counter() - t)
        # baseline: read the pose and write CSVs of the same shape (labels already known)
        labels = {i: res.labels[res.labels["individual"] == i]["behavior"].to_numpy(object)
                  for i in res.meta["individuals"]}
        proba = {i: res.labels[res.labels["individual"] == i].iloc[:, 4:].to_numpy()
                 for i in labels}
        t = time.perf_counter()
        ds = load_pose(folder / "pose.h5", fps=sess.meta["fps"])
        out = tmp / f"speed_base{r}"
        out.mkdir()
        write_ethogram_csv(ethogram_table(labels, proba, 30.0), out / "ethogram.csv")
        bouts = pd.concat([frames_to_bouts(v, 30.0, i) for i, v in labels.items()])
        write_bouts_csv(bouts, out / "bouts.csv", 30.0)
        write_binary_csv(binary_table(labels, 30.0), out / "binary.csv")
        base.append(time.perf_counter() - t)
        assert ds.sizes["time"] == n
    best_full, best_base = min(full), min(base)
    return {"n_frames": n, "individuals": 2, "classify_s_best": round(best_full, 3),
            "classify_s_all": [round(v, 3) for v in full],
            "read_and_write_csv_s_best": round(best_base, 3),
            "ratio_classify_to_read_write": round(best_full / best_base, 2),
            "goal_s": 5.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--no-fps-check", dest="fps_check", action="store_false",
                    help="skip the sessions at 15, 25 and 60 fps")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    out: dict = {"machine": f"{os.cpu_count()} cores (shared)"}
    with tempfile.TemporaryDirectory() as d, threadpool_limits(1):
        acc = accuracy(args.sessions, args.minutes, Path(d))
        out["accuracy"] = acc
        print(f"accuracy on {acc['test_sessions']} unseen simulated sessions "
              f"({acc['minutes_each']} min each, pose noise):")
        for name in ("hmm", "hmm_pokes_from_pose", "per_frame_hgb", "rules"):
            a = acc[name]
            print(f"  {name:20s} frame macro-F1 {a['frame_macro_f1']:.3f}  bout F1 "
                  f"{a['bout_macro_f1']:.3f}  frame {a['frame_f1']}  bout {a['bout_f1']}")
        if args.fps_check:
            fr = frame_rates((15.0, 25.0, 60.0), 4, args.minutes)
            out["frame_rates"] = fr
            for fps, a in fr.items():
                print(f"  HMM at {fps} fps (4 unseen sessions): frame macro-F1 "
                      f"{a['frame_macro_f1']:.3f}  bout F1 {a['bout_macro_f1']:.3f}")
        if not args.skip_speed:
            sp = speed(args.hours, Path(d))
            out["speed"] = sp
            print(f"speed: {sp['n_frames']} frames x 2 mice, DLC .h5 -> all outputs "
                  f"{sp['classify_s_best']:.2f} s (goal < 5 s); read pose + write CSVs "
                  f"{sp['read_and_write_csv_s_best']:.2f} s; ratio "
                  f"{sp['ratio_classify_to_read_write']:.2f}")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "classify.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {res / 'classify.json'}")


if __name__ == "__main__":
    main()
