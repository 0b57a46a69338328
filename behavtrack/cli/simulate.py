"""``behavtrack simulate``: write a simulated cohort (pairs x days) of session folders."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` command."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate pairs of mice over days of training (pose, events, truth, video)",
        description=(
            "Simulate N pairs x D days of the two-mouse cooperation task and write one "
            "session folder each as OUT/pairNN/dayNN/ (session.json, arena.yaml, pose.h5, "
            "pose.csv, pose.analysis.h5, events.csv, labels.csv, bouts.csv, video.mp4)."
        ),
    )
    p.add_argument("--pairs", type=int, default=2, help="number of pairs (default 2)")
    p.add_argument("--days", type=int, default=10, help="days of training (default 10)")
    p.add_argument("--duration", type=float, default=300.0,
                   help="session length in seconds (default 300)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--video", choices=("none", "first", "all"), default="none",
                   help="render video.mp4 for no session, the first one, or all (default none)")
    p.add_argument("--arena", default=None,
                   help="arena YAML (default: the shipped cooperation chamber)")
    p.add_argument("--no-noise", action="store_true",
                   help="write the exact pose instead of tracker-like noisy pose")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate and write the cohort; return the exit status."""
    from behavtrack.io.arena import load_arena
    from behavtrack.simulate.write import write_cohort

    arena = load_arena(args.arena) if args.arena else None
    folders = write_cohort(args.out, args.pairs, args.days, args.duration, args.fps, args.seed,
                           video=args.video, arena=arena, noise=not args.no_noise)
    if not args.quiet:
        print(f"wrote {len(folders)} sessions to {args.out}")
    return 0
