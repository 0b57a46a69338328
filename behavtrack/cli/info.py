"""``behavtrack info FILE...``: what is in pose and agent-rollout files, and how complete it is."""

from __future__ import annotations

import argparse
import json
import sys

from behavtrack.cli.options import add_alias_option, aliases_of, fps_of


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` command."""
    p = subparsers.add_parser(
        "info",
        help="describe pose / agent-rollout files: format, fps, animals, body parts, gaps",
        description=(
            "For each file: format, fps, individuals, keypoints, frames, duration and, per "
            "keypoint, the fraction of missing or low-confidence points. Reads every format "
            "behavtrack loads (DeepLabCut, SLEAP, LightningPose, Anipose, NWB) and agent "
            "rollouts (.mat, tidy CSV). A bad file prints one error line; the others are "
            "still described, and the exit status is then 2."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="pose or rollout files")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="confidence below which a point counts as low (default 0.5)")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate for files that do not store it")
    p.add_argument("--arena", default=None, metavar="YAML",
                   help="arena YAML of the setup (validated; its fps is used if needed)")
    p.add_argument("--require", default=None, metavar="PARTS",
                   help="comma-separated body parts each pose must have (canonical names, "
                        "e.g. nose,centroid,tail_base); a file lacking one is an error")
    add_alias_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Describe each file; return 2 if any could not be read."""
    from behavtrack.cli import error_message
    from behavtrack.errors import InputError
    from behavtrack.io.info import describe_pose, format_description

    arena = None
    if args.arena is not None:
        from behavtrack.io.arena import load_arena

        arena = load_arena(args.arena)
    require = [p.strip() for p in (args.require or "").split(",") if p.strip()]
    aliases = aliases_of(args)
    fps = fps_of(args)
    status = 0
    for i, path in enumerate(args.files):
        try:
            info = describe_pose(path, threshold=args.threshold, fps=fps, arena=arena,
                                 require=require, aliases=aliases)
        except InputError as exc:
            print(f"behavtrack info: error: {error_message(exc, args)}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(info))
        else:
            print(("\n" if i else "") + format_description(info))
    return status
