"""``behavtrack classify POSE [--arena A] [--events E] [--model M] --out DIR``."""

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


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``classify`` command."""
    p = subparsers.add_parser(
        "classify",
        help="strategy bouts of one session (ethogram, bouts, binary table, raster)",
        description="Classify each animal's behaviour per frame (approach, waiting, "
        "interaction, other) with the HMM model and write the classify output folder. POSE "
        "is a pose file or a session folder (whose arena.yaml and events.csv are then used).",
    )
    p.add_argument("pose", metavar="POSE", help="pose file or session folder")
    p.add_argument("--arena", help="arena YAML (default: the session folder's, else none)")
    p.add_argument("--events", help="rig log CSV (default: the session folder's; without "
                   "one, pokes are detected from the pose)")
    p.add_argument("--model", help="model JSON (default: the shipped model that fits: "
                   "social.json for two animals without an arena or in an open arena, else "
                   "default.json for the cooperation task)")
    p.add_argument("--fps", type=float, help="frame rate, if neither the pose file nor a "
                   "sidecar or video beside it gives it")
    add_alias_option(p)
    add_individuals_option(p)
    p.add_argument("--no-png", action="store_true", help="skip ethogram.png")
    p.add_argument("--jobs", type=int, default=None, help="processes that classify the "
                   "10-minute chunks of a long recording together (default: one per core, "
                   "at most 4; the outputs are the same)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def _prepare_outputs() -> None:
    """Import what the spare process's calls use (there: this process imports none of it)."""
    from behavtrack.export.coded import prepare_outputs

    prepare_outputs()


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack classify``."""
    from behavtrack.parallel import spare_process, usable_cores

    skip_final_collection()

    # the process that will draw the figure and write binary.csv is forked first: its
    # imports (matplotlib, pandas) then run beside this process's own, on a core otherwise
    # idle, and the calls it is given import nothing more (behavtrack.export.coded)
    forks = not args.no_png and (args.jobs or usable_cores()) > 1
    with spare_process(_prepare_outputs, enabled=forks) as spare:
        from behavtrack.workflows.classify import classify_session

        fps, aliases, individuals = fps_of(args), aliases_of(args), individuals_of(args)
        res = classify_session(args.pose, args.out, arena=args.arena, events=args.events,
                               model=args.model, fps=fps, png=not args.no_png,
                               jobs=args.jobs, aliases=aliases, individuals=individuals,
                               spare=spare if forks else None)
    if not args.quiet:
        counts = res.bouts.groupby(["individual", "behavior"]).size()
        print(f"wrote {res.out_dir} ({len(res.bouts)} bouts; "
              + ", ".join(f"{i} {b}: {n}" for (i, b), n in counts.items()) + ")")
        for note in res.notes:
            print(f"note: {note}")
    return 0
