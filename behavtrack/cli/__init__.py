"""Command-line interface: ``behavtrack COMMAND ...``.

Each command lives in its own module of this package and is a few lines over public
library functions. A module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an exit code.
Heavy imports happen inside that callable, so ``behavtrack --help`` stays fast.

Bad input raises :class:`behavtrack.errors.InputError`; :func:`main` prints its one line
to stderr and exits with status 2, without a traceback. So does an ``OSError`` (a folder that
cannot be written, a full disk), naming the path.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from behavtrack import __version__
from behavtrack.errors import InputError

# One module per command, in the order data flows; each module's register() adds it.
_COMMANDS = [
    "info",
    "simulate",
    "track",
    "train",
    "classify",
    "stats",
    "compare",
    "agents",
    "review",
    "batch",
    "export_nwb",
    "demo",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the ``behavtrack`` argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="behavtrack",
        description=(
            "Poses, strategy bouts and learning curves of mouse pairs in a cooperation task, "
            "side by side with multi-agent RL agents."
        ),
    )
    parser.add_argument("--version", action="version", version=f"behavtrack {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or stage messages"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"behavtrack.cli.{name}").register(sub)
    for command in sub.choices.values():  # -q also after the command (SUPPRESS keeps one before)
        if "-q" not in command._option_string_actions:
            command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                                 help="no progress bars or stage messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (2 for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.quiet:
        os.environ["BEHAVTRACK_QUIET"] = "1"
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"behavtrack {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system refused: permissions, full disk, a path under a file
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"behavtrack {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("behavtrack: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
