"""Benchmark of the learning statistics: speed on a large cohort, accuracy on simulated truth.

1. Speed: 20 pairs x 20 one-hour classified sessions (events.csv + bouts.csv + session.json,
   built synthetically in a temporary folder, ~360 pokes and ~540 bouts per session) to all
   statistics and figures with ``compute_stats`` (1,000 circular shifts per session, 2,000
   bootstrap resamples), timed end to end with the sessions analysed in this process
   (``jobs=1``) and on every usable core (``jobs=None``, what ``behavtrack stats`` does),
   alternating, 3 times each (medians).
2. Accuracy: a simulated cohort (``behavtrack.simulate``): success rates from the event log
   and strategy use from the true bouts against the simulator's own truth; then the whole
   pose-and-events pipeline (HMM trained on one simulated pair, the others classified from
   their noisy pose) against the same truth.
3. Agents: the MARL sample (../shared/data/marl): time per checkpoint, and the recorded
   counts reproduced.

Prints the figures and writes ``benchmarks/results/stats.json``.
Run: ``.venv/bin/python benchmarks/bench_stats.py [--pairs 20 --sessions 20 --hours 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("BEHAVTRACK_QUIET", "1")

from _stats_helpers import synthetic_cohort  # noqa: E402

from behavtrack.workflows.stats import compute_stats  # noqa: E402


def bench_speed(pairs: int, sessions: int, hours: float, repeats: int = 3) -> dict:
    """Time ``compute_stats`` with the sessions analysed in one process and on every core.

    The two alternate, ``repeats`` times each; medians are reported, and the tables must be
    the same.
    """
    import statistics

    import pandas as pd

    from behavtrack.parallel import usable_cores

    runs: dict[str, list[tuple[float, float]]] = {"1": [], "all": []}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthetic_cohort(Path(tmp) / "in", pairs, sessions, duration_s=3600 * hours, seed=0)
        build = time.perf_counter() - t0
        first = None
        for i in range(repeats):
            for key in (("1", "all") if i % 2 == 0 else ("all", "1")):
                out = Path(tmp) / f"out_{key}_{i}"
                t0, c0 = time.perf_counter(), time.process_time()
                res = compute_stats([Path(tmp) / "in"], out, n_shifts=1000, n_boot=2000,
                                    jobs=1 if key == "1" else None)
                runs[key].append((time.perf_counter() - t0, time.process_time() - c0))
                if first is None:
                    first = res
                    n_files = len(list(out.iterdir()))
                else:
                    pd.testing.assert_frame_equal(res.sessions.drop(columns="path"),
                                                  first.sessions.drop(columns="path"))
        n_trials = len(first.trials)
    total = statistics.median(w for w, _ in runs["1"])
    total_all = statistics.median(w for w, _ in runs["all"])
    return {
        "pairs": pairs, "sessions_per_pair": sessions, "hours_per_session": hours,
        "n_sessions": pairs * sessions, "n_trials": n_trials, "n_output_files": n_files,
        "build_inputs_s": round(build, 2), "repeats": repeats,
        "stats_and_figures_s": round(total, 2),
        "stats_and_figures_cpu_s": round(statistics.median(c for _, c in runs["1"]), 2),
        "stats_and_figures_all_cores_s": round(total_all, 2),
        "all_cores": usable_cores(), "speedup_all_cores": round(total / total_all, 2),
        "runs_s": {k: [round(w, 2) for w, _ in v] for k, v in runs.items()},
        "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "per_session_ms": round(1000 * total / (pairs * sessions), 1),
        "fraction_of_one_minute": round(total / 60.0, 3),
    }


def bench_simulated(n_pairs: int = 3, n_days: int = 6, duration_s: float = 600.0) -> dict:
    from behavtrack.learning.sessions import SessionInput, analyze_session
    from behavtrack.simulate import simulate_cohort

    err_success, err_frac = [], []
    for sess in simulate_cohort(n_pairs, n_days, duration_s, 15.0, 0):
        m = sess.meta
        inp = SessionInput(source="mice", pair=m["pair"], session=m["session"],
                           events=sess.events, bouts=sess.bouts(), window_s=m["window_s"],
                           duration_s=m["duration_s"], subjects=m["individuals"])
        _, row = analyze_session(inp, n_shifts=200)
        err_success.append(abs(row["success_rate"] - m["success_rate"]))
        for b in ("approach", "waiting", "interaction"):
            truth = np.mean([m["mice"][k][f"fraction_{b}"] for k in m["mice"]])
            err_frac.append(abs(row[f"{b}_frac_time"] - truth))
    return {"sessions": n_pairs * n_days, "max_abs_error_success_rate": float(max(err_success)),
            "max_abs_error_strategy_frac_time": float(max(err_frac)),
            "note": "simulator truth is rounded to 4 decimals in its meta"}


def bench_pipeline(n_pairs: int = 3, n_days: int = 4, duration_s: float = 300.0) -> dict:
    """simulate -> train the HMM on pair 1 -> classify the other pairs -> stats vs truth."""
    from behavtrack.simulate import simulate_cohort, write_session
    from behavtrack.strategies.pipeline import train_model
    from behavtrack.workflows.classify import classify_session

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train, test, metas = [], [], {}
        for sess in simulate_cohort(n_pairs, n_days, duration_s, 15.0, 7):
            m = sess.meta
            folder = write_session(sess, root / "sim" / f"{m['pair']}_{m['session']}",
                                   pose_formats=("pose.h5",))
            (train if m["pair"] == "pair01" else test).append(folder)
            metas[(m["pair"], m["session"])] = m
        model = train_model(train, folds=0)
        for folder in test:
            classify_session(folder, root / "cls" / folder.name, model=model, png=False)
        res = compute_stats([root / "cls"], root / "stats", n_shifts=1000, figures=False)
    err = {"success_rate": []}
    for row in res.sessions.itertuples():
        m = metas[(row.pair, row.session)]
        err["success_rate"].append(abs(row.success_rate - m["success_rate"]))
        for b in ("approach", "waiting", "interaction"):
            truth = np.mean([m["mice"][k][f"fraction_{b}"] for k in m["mice"]])
            err.setdefault(f"{b}_frac_time", []).append(abs(getattr(row, f"{b}_frac_time")
                                                            - truth))
    return {"train_sessions": len(train), "test_sessions": len(test),
            "duration_s": duration_s,
            **{f"max_abs_error_{k}": round(float(max(v)), 4) for k, v in err.items()},
            **{f"mean_abs_error_{k}": round(float(np.mean(v)), 4) for k, v in err.items()}}


def bench_agents() -> dict | None:
    marl = ROOT.parent / "shared" / "data" / "marl"
    if not marl.is_dir():
        return None
    from behavtrack.io.agents import load_rollouts
    from behavtrack.learning.agents import analyze_rollout

    rows, times = [], []
    for cp in (0, 2000, 4000):
        r = load_rollouts(marl / f"checkpoint_{cp}.mat")[0]
        t0 = time.perf_counter()
        _, row = analyze_rollout(r, n_shifts=1000)
        times.append(time.perf_counter() - t0)
        rows.append({k: row[k] for k in ("session", "n_correct", "n_correct_replayed", "n_miss",
                                         "n_miss_replayed", "n_pokes_agent1", "n_pokes_agent2",
                                         "success_rate", "chance_rate", "chance_p")})
    return {"per_checkpoint_s": round(float(np.mean(times)), 3), "checkpoints": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    out = {"speed": bench_speed(args.pairs, args.sessions, args.hours)}
    s = out["speed"]
    print(f"speed: {s['n_sessions']} sessions ({s['pairs']} pairs x {s['sessions_per_pair']}, "
          f"{s['hours_per_session']} h each, {s['n_trials']} trials) -> all statistics and "
          f"figures in {s['stats_and_figures_s']} s wall ({s['per_session_ms']} ms/session, "
          f"{s['fraction_of_one_minute']:.2f} of a minute), {s['stats_and_figures_cpu_s']} s CPU "
          f"(load average {s['load_average_1min']} on {s['cpus']} CPUs); the sessions analysed "
          f"on {s['all_cores']} processes (jobs=None): {s['stats_and_figures_all_cores_s']} s, "
          f"{s['speedup_all_cores']}x (medians of {s['repeats']} alternating runs; the same "
          f"tables)")
    try:
        out["simulated"] = bench_simulated()
        m = out["simulated"]
        print(f"simulated truth: {m['sessions']} sessions, max |success error| "
              f"{m['max_abs_error_success_rate']:.2e}, max |strategy time error| "
              f"{m['max_abs_error_strategy_frac_time']:.2e}")
    except ImportError as exc:
        print(f"simulated truth: skipped ({exc})")
    try:
        out["pipeline"] = bench_pipeline()
        p = out["pipeline"]
        print(f"pose-and-events pipeline (HMM trained on {p['train_sessions']} simulated "
              f"sessions, {p['test_sessions']} classified): max |error| success "
              f"{p['max_abs_error_success_rate']}, fraction of time approach "
              f"{p['max_abs_error_approach_frac_time']}, waiting "
              f"{p['max_abs_error_waiting_frac_time']}, interaction "
              f"{p['max_abs_error_interaction_frac_time']}")
    except ImportError as exc:
        print(f"pipeline: skipped ({exc})")
    agents = bench_agents()
    if agents:
        out["agents"] = agents
        print(f"agents: {agents['per_checkpoint_s']} s per checkpoint (1,500 steps, 1,000 "
              "shifts); recorded vs replayed:")
        for r in agents["checkpoints"]:
            print(f"  checkpoint {r['session']}: correct {r['n_correct']}/"
                  f"{r['n_correct_replayed']}, miss {r['n_miss']}/{r['n_miss_replayed']}, "
                  f"pokes {r['n_pokes_agent1']}/{r['n_pokes_agent2']}, success "
                  f"{r['success_rate']:.3f} vs chance {r['chance_rate']:.3f} "
                  f"(p {r['chance_p']:.4f})")
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / "stats.json").write_text(json.dumps(out, indent=2))
    print(f"wrote {res_dir / 'stats.json'}")


if __name__ == "__main__":
    main()
