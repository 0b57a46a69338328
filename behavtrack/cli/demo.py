"""``behavtrack demo``: the whole path on built-in defaults, ending with the HTML report."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser(
        "demo",
        help="simulate a cohort, track, classify, compute statistics, compare with agents",
        description=(
            "Simulate a small cohort (one session as video), track the video with the built-in "
            "tracker, classify every session with the shipped model, compute learning "
            "statistics, compare with agent rollouts and write an HTML report."
        ),
    )
    p.add_argument("--out", default="behavtrack-demo", help="output folder (default: %(default)s)")
    p.add_argument("--pairs", type=int, default=3, help="pairs of mice (default: %(default)s)")
    p.add_argument("--days", type=int, default=6, help="days of training (default: %(default)s)")
    p.add_argument("--duration", type=float, default=120.0,
                   help="session length in seconds (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default: %(default)s)")
    p.add_argument("--agents", help="folder of agent rollouts (default: shared sample or shipped)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack demo``."""
    from behavtrack.demo import run_demo

    res = run_demo(args.out, pairs=args.pairs, days=args.days, duration_s=args.duration,
                   seed=args.seed, jobs=args.jobs, agents=args.agents)
    print("stage timings (s): " + ", ".join(f"{k}: {v:.1f}" for k, v in res.timings.items()))
    if res.failed:
        print(f"failed sessions: {', '.join(res.failed)} (see {res.out_dir}/batch/failures.csv)")
    print(f"report: {res.report.resolve()}")
    return 1 if res.failed else 0
