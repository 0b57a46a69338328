"""``behavtrack review``: open a session in napari to watch and correct its bouts."""

from __future__ import annotations

import argparse

from behavtrack.cli.options import add_alias_option, aliases_of


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
    p.add_argument("session", nargs="?", help="session, classify output or batch session folder, "
                   "or a .nwb export")
    for name in ("video", "pose", "bouts", "arena"):
        p.add_argument(f"--{name}", help=f"{name} file (overrides the folder's)")
    p.add_argument("--fps", type=float, help="frames per second, if nothing says")
    add_alias_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack review``: read the session (bad input fails before any window), open it."""
    from behavtrack.errors import InputError
    from behavtrack.napari.session import load_review_session

    session = None
    if args.session or args.video or args.pose or args.bouts:
        session = load_review_session(args.session, video=args.video, pose=args.pose,
                                      bouts=args.bouts, arena=args.arena, fps=args.fps,
                                      aliases=aliases_of(args))
    try:
        import napari  # noqa: F401

        from behavtrack.napari.__main__ import open_viewer
    except ImportError as exc:
        raise InputError("behavtrack review", f"needs napari ({exc.name} is not installed)",
                         "pip install 'behavtrack[napari]'") from None
    return open_viewer(session)
