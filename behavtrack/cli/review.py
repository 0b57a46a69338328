"""``behavtrack review``: open a session in napari to watch and correct its bouts."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``review`` command."""
    p = sub.add_parser(
        "review",
        help="watch a session in napari and correct its bouts (needs behavtrack[napari])",
        description=(
            "Open a session folder, classify output or batch output in napari with its video, "
            "poses, arena and an ethogram timeline; correct bouts and save them."
        ),
    )
    p.add_argument("session", nargs="?", help="session, classify output or batch session folder")
    for name in ("video", "pose", "bouts", "arena"):
        p.add_argument(f"--{name}", help=f"{name} file (overrides the folder's)")
    p.add_argument("--fps", type=float, help="frames per second, if nothing says")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack review``."""
    from behavtrack.errors import InputError

    try:
        from behavtrack.napari.__main__ import main as review_main
    except ImportError as exc:
        raise InputError("behavtrack review", f"needs napari ({exc.name} is not installed)",
                         "pip install 'behavtrack[napari]'") from None
    argv = [args.session] if args.session else []
    for name in ("video", "pose", "bouts", "arena", "fps"):
        if getattr(args, name) is not None:
            argv += [f"--{name}", str(getattr(args, name))]
    return review_main(argv)
