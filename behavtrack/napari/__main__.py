"""``python -m behavtrack.napari [SESSION] [--video V] [--pose P] [--bouts B] [--arena A]``.

Opens napari with a session's video, poses, arena and the review dock
(:func:`open_viewer`; ``behavtrack review`` calls it too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from behavtrack.errors import InputError
from behavtrack.napari.session import ReviewSession


def open_viewer(session: ReviewSession | None) -> int:
    """Open napari with ``session`` (or an empty review dock) and run it; return 0."""
    import napari

    from behavtrack.napari._widget import ReviewWidget, open_session

    viewer = napari.Viewer()
    if session is not None:
        open_session(viewer, session)
    else:
        viewer.window.add_dock_widget(ReviewWidget(viewer), name="behavtrack review",
                                      area="bottom")
    napari.run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Open the review viewer; return the exit status (2 for bad input)."""
    parser = argparse.ArgumentParser(prog="python -m behavtrack.napari",
                                     description="Review and correct a session's bouts.")
    parser.add_argument("session", nargs="?", help="session or classify output folder")
    for name in ("video", "pose", "bouts", "arena"):
        parser.add_argument(f"--{name}", help=f"{name} file (overrides the folder's)")
    parser.add_argument("--fps", type=float, help="frames per second, if nothing says")
    args = parser.parse_args(argv)
    from behavtrack.napari.session import load_review_session

    session = None
    if args.session or args.video or args.pose or args.bouts:
        try:  # read the files before any window opens: bad input fails fast
            session = load_review_session(args.session, video=args.video, pose=args.pose,
                                          bouts=args.bouts, arena=args.arena, fps=args.fps)
        except InputError as exc:  # named by this parser's options, as behavtrack's CLI does
            from behavtrack.cli import error_message, option_names

            args.cli_options = option_names(parser)
            print(f"python -m behavtrack.napari: error: {error_message(exc, args)}",
                  file=sys.stderr)
            return 2
    return open_viewer(session)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
