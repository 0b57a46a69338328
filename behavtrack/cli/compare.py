"""``behavtrack compare``: mice vs agents over training progress, with an HTML report."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare",
        help="mice vs agents on one progress axis: curves, trend agreement, report.html",
        description=(
            "Put the mice's and the agents' learning curves on one axis of training "
            "progress, test per metric whether their trends agree (when each side has at "
            "least 5 progress points: with fewer a trend test has no power, and the report "
            "says so), and write compare.png, agreement.csv, compare_curves.csv, "
            "ethograms.png, pose_on_video.png (when a session has a video) and a "
            "self-contained report.html to --out."
        ),
    )
    p.add_argument("--mice", required=True,
                   help="behavtrack stats output of the mice (or classify folders)")
    p.add_argument("--agents", required=True,
                   help="behavtrack stats output of the agents, or rollout files / folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--bins", type=int, default=5, help="progress bins per side")
    p.add_argument("--boot", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--shifts", type=int, default=1000,
                   help="circular shifts (for inputs analysed on the spot)")
    p.add_argument("--seed", type=int, default=0, help="seed")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes that analyse inputs given as classify folders or rollouts "
                   "(default: the usable cores)")
    p.add_argument("--sync-limit", type=int, default=2,
                   help="agents: the environment's sync_limit in steps (default 2)")
    p.add_argument("--episode-steps", type=int, default=None,
                   help="agents: steps per episode in .mat files (default 500)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare and print where the report went."""
    from behavtrack.workflows.compare import compare

    res = compare(args.mice, args.agents, args.out, n_bins=args.bins, n_boot=args.boot,
                  n_shifts=args.shifts, seed=args.seed, sync_limit=args.sync_limit,
                  episode_steps=args.episode_steps, jobs=args.jobs)
    from behavtrack.cli.stats import truth_notes

    print(f"{res.headline} -> {res.report}")
    for note in truth_notes(res.mice):
        print(f"note: {note}")
    return 0
