"""``behavtrack batch``: the pipeline over many sessions, locally in parallel or on Dask."""

from __future__ import annotations

import argparse

from behavtrack.cli.options import (
    add_alias_option,
    add_individuals_option,
    aliases_of,
    fps_of,
    individuals_of,
    skip_final_collection,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` command."""
    p = sub.add_parser(
        "batch",
        help="track, classify and compute statistics over many sessions",
        description=(
            "Run the pipeline over session folders, pose files or videos (folders, globs or a "
            "manifest), then the cohort's statistics. Resumable: sessions whose inputs are "
            "unchanged are skipped. Failures are listed in OUT/failures.csv."
        ),
    )
    p.add_argument("inputs", nargs="+",
                   help="session folders, pose files, videos, globs, manifests")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--arena", help="arena YAML for inputs without their own")
    p.add_argument("--events", help="event log CSV for inputs without their own")
    p.add_argument("--model", help="model JSON (default: the shipped model that fits each "
                   "session)")
    p.add_argument("--fps", type=float, help="frame rate of pose files that do not store it")
    add_alias_option(p)
    add_individuals_option(p)
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--scheduler", help="address of a Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--no-stats", action="store_true", help="skip the cohort statistics")
    p.add_argument("--nwb", action="store_true",
                   help="also write OUT/nwb/<session>.nwb for every session (docs/nwb.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack batch``."""
    from behavtrack.batch import run_batch
    from behavtrack.cli import cli_text

    skip_final_collection()

    result = run_batch(
        args.inputs, args.out, arena=args.arena, events=args.events, model=args.model,
        jobs=args.jobs, scheduler=args.scheduler, stats=not args.no_stats,
        # --fps is checked (numpy imported) only when given: run_batch starts its workers'
        # fork server before this process imports anything heavy
        fps=fps_of(args) if args.fps is not None else None, aliases=aliases_of(args),
        individuals=individuals_of(args), nwb=args.nwb,
    )
    print(f"{len(result.done)} sessions done, {len(result.skipped)} up to date, "
          f"{len(result.failed)} failed in {result.seconds:.1f} s -> {result.out_dir}")
    if result.stats_error:
        print(f"  statistics not computed: {cli_text(result.stats_error, args)}")
    for f in result.failed:
        print(f"  failed: {f['session_id']} ({f['stage']}): {cli_text(f['error'], args)}")
    return 1 if result.failed else 0
