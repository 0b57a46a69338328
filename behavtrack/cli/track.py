"""``behavtrack track VIDEO... --out DIR``: poses from videos (built-in tracker or a model)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``track`` command."""
    p = subparsers.add_parser(
        "track",
        help="track animals in videos: built-in OpenCV tracker, DeepLabCut or SLEAP model",
        description=(
            "Writes, per video, DeepLabCut-format <stem>.h5 and <stem>.csv (keypoints nose, "
            "left_ear, right_ear, centroid, tail_base, with a confidence each) and "
            "<stem>.tracking.json (frames read against frames expected, undecodable frames). "
            "The built-in tracker needs no trained network; --backend deeplabcut/sleap runs "
            "a lab's trained model, in this environment or in its own (--python). A video "
            "that fails prints one error line; the others are still tracked, and the exit "
            "status is then 2."
        ),
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--arena", default=None, metavar="YAML",
                   help="arena YAML (pixel units): compartments give each animal's identity")
    p.add_argument("--animals", type=int, default=None, metavar="N",
                   help="number of animals sharing the space when the arena does not say "
                        "(default 1)")
    p.add_argument("--backend", choices=["builtin", "deeplabcut", "sleap"], default="builtin",
                   help="builtin (default), deeplabcut (--model config.yaml) or sleap "
                        "(--model MODEL_DIR)")
    p.add_argument("--model", default=None, metavar="M",
                   help="DeepLabCut project config.yaml or SLEAP model folder")
    p.add_argument("--python", default=None, metavar="EXE",
                   help="python of the environment where DeepLabCut / sleap-nn is installed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Track every video; return 2 if any failed."""
    from behavtrack.cli import error_message
    from behavtrack.errors import InputError

    if len(args.videos) > 1 and args.out.lower().endswith((".h5", ".slp")):  # one pose file
        raise InputError("--out", f"names one pose file ({args.out}) for {len(args.videos)} "
                         "videos", "give a folder: each video gets its own pose file in it")
    arena = None
    if args.arena is not None:
        from behavtrack.io.arena import load_arena

        arena = load_arena(args.arena)
    status = 0
    for video in args.videos:
        try:
            if args.backend == "builtin":
                # arrays and files only: no xarray / pandas / movement to import
                from behavtrack.tracking.tracker import check_builtin_options, run_builtin

                check_builtin_options(args.model, args.python)
                attrs = run_builtin(video, arena=arena, n_animals=args.animals,
                                    out=args.out).attrs
            else:
                from behavtrack.tracking import track

                attrs = track(video, backend=args.backend, model=args.model,
                              python=args.python, arena=arena, n_animals=args.animals,
                              out=args.out).attrs
        except InputError as exc:
            print(f"behavtrack track: error: {error_message(exc, args)}", file=sys.stderr)
            status = 2
            continue
        if not args.quiet:
            print(f"{video}: {attrs['frames_read']}/{attrs['frames_expected']} frames read, "
                  f"{attrs.get('bad_frames', 0)} undecodable -> {attrs['output_file']}")
    return status
