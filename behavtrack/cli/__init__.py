"""Command-line interface: ``behavtrack COMMAND ...``.

Each command lives in its own module of this package and is a few lines over public
library functions. A module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an exit code.
Heavy imports happen inside that callable, so ``behavtrack --help`` stays fast.

Bad input raises :class:`behavtrack.errors.InputError`; :func:`main` prints its one line
to stderr and exits with status 2, without a traceback. So does an ``OSError`` (a folder that
cannot be written, a full disk), naming the path.

The library's errors name Python parameters (``jobs: must be at least 1``, ``pass fps=``);
:func:`cli_message` turns them into the command's options (``--jobs: ...``, ``pass --fps``),
in this one place.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import os
import re
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


#: Python parameter names whose command-line option has another name (the option's ``dest``).
#: A name maps only in a command that has that option.
PARAMETER_OPTIONS = {
    "out_dir": "out",
    "n_envs": "envs",
    "window_s": "window",
    "duration_s": "duration",
    "n_days": "days",
    "n_pairs": "pairs",
    "n_bins": "bins",
    "n_boot": "boot",
    "n_shifts": "shifts",
    "n_animals": "animals",
    "covariance_type": "covariance",
}

#: ``name=`` or ``name=VALUE`` in a message (VALUE: a Python literal or a bare word).
_MENTION = re.compile(
    r"(?<![\w./-])([A-Za-z_]\w*)="
    r"(\[[^\[\]]*\]|\([^()]*\)|\{[^{}]*\}|\"[^\"]*\"|'[^']*'|[\w.+-]*)"
)


def command_parser(parser: argparse.ArgumentParser,
                   args: argparse.Namespace) -> argparse.ArgumentParser:
    """Return the (sub)parser of the command that ``args`` ran (``agents train``, say)."""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                   None)
        chosen = None if sub is None else getattr(args, sub.dest, None)
        if chosen is None or chosen not in sub.choices:
            return parser
        parser = sub.choices[chosen]


def option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Python parameter name -> the parser's option (``jobs`` -> ``--jobs``)."""
    flags: dict[str, str] = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in (argparse.SUPPRESS, "help", "version"):
            flags.setdefault(action.dest, max(longs, key=len))
    for name, dest in PARAMETER_OPTIONS.items():
        if dest in flags:
            flags.setdefault(name, flags[dest])
    return flags


def _given_values(args: argparse.Namespace) -> set[str]:
    """Every string the user gave as a value (a file called ``out`` is not the parameter)."""
    values: set[str] = set()
    for value in vars(args).values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, (str, os.PathLike)):
                values.update({str(v), os.path.normpath(v)})
    return values


def _as_option(flag: str, value: str) -> str:
    """``--flag VALUE`` for ``name=VALUE``: a Python literal is written as the CLI takes it."""
    if not value:
        return flag
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return f"{flag} {value}"
    if isinstance(parsed, dict):
        return " ".join(f"{flag} {k}={v}" for k, v in parsed.items())
    if isinstance(parsed, (list, tuple)):
        return f"{flag} {','.join(str(v) for v in parsed)}"
    return f"{flag} {parsed}"


def _mentions(text: str, flags: dict[str, str]) -> str:
    """``name=`` / ``name=VALUE`` -> ``--name`` / ``--name VALUE`` for the command's names."""
    def mention(match: re.Match[str]) -> str:
        flag = flags.get(match.group(1))
        return match.group(0) if flag is None else _as_option(flag, match.group(2))

    return _MENTION.sub(mention, text)


def cli_message(exc: InputError, flags: dict[str, str],
                given: set[str] | frozenset[str] = frozenset()) -> str:
    """Return ``exc``'s line with the Python parameters it names written as options.

    The subject becomes the option when it is a parameter name of the command (``jobs`` ->
    ``--jobs``; ``pairs/days`` -> ``--pairs/--days``), unless it is a value the user gave (a
    path); ``name=`` and ``name=VALUE`` in the problem and hint become ``--name`` and
    ``--name VALUE``. Other text is left as it is.

    Examples
    --------
    >>> flags = {"jobs": "--jobs", "fps": "--fps", "individuals": "--individuals"}
    >>> cli_message(InputError("jobs", "must be at least 1, got 0"), flags)
    '--jobs: must be at least 1, got 0'
    >>> cli_message(InputError("a.h5", "has no frame rate", "pass fps=30"), flags)
    'a.h5: has no frame rate (pass --fps 30)'
    >>> cli_message(InputError("a.h5", "has 3 animals", "individuals=['m1', 'm2']"), flags)
    'a.h5: has 3 animals (--individuals m1,m2)'

    """
    source = None if exc.source is None else _subject(exc.source, flags, given)
    hint = _mentions(exc.hint, flags) if exc.hint else exc.hint
    return str(InputError(source, _mentions(exc.problem, flags), hint))


def _subject(source: str, flags: dict[str, str], given: set[str] | frozenset[str]) -> str:
    """Return an error's subject as its option (``jobs`` -> ``--jobs``), unless a value given."""
    parts = source.split("/")
    if source in given or not all(p in flags for p in parts):
        return source
    return "/".join(flags[p] for p in parts)


def error_message(exc: InputError, args: argparse.Namespace) -> str:
    """Return ``exc``'s line as the command ``args`` ran should print it (its options).

    :func:`main` prints every error so; a command that reports an error and goes on (``info``
    over several files) calls this too.
    """
    return cli_message(exc, getattr(args, "cli_options", {}), _given_values(args))


def cli_text(text: str, args: argparse.Namespace) -> str:
    """Return a library message kept as text (a batch failure) with the command's options.

    As :func:`cli_message` for an error's line: a leading ``name: `` that is a parameter of
    the command (not a value the user gave) becomes its option, and so do ``name=`` and
    ``name=VALUE`` in the rest.
    """
    flags = getattr(args, "cli_options", {})
    head, sep, rest = text.partition(": ")
    if sep:
        text = _subject(head, flags, _given_values(args)) + sep + rest
    return _mentions(text, flags)


#: Environment the CLI's processes start with, unless the user's environment sets them.
#: ``OPENBLAS_NUM_THREADS``: behavtrack's linear algebra is on small arrays, which never use
#: a BLAS thread pool; the OpenBLAS of numpy and the one bundled with OpenCV each start a
#: pool when imported, whose threads spin a while waiting for work, taking CPU time from
#: the work itself (``import numpy, cv2``: 0.41 s of CPU with the pools, 0.14 s without).
#: Read once, when a library loads: set before anything imports numpy, inherited by the
#: worker processes.
CLI_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (2 for bad input)."""
    for name, value in CLI_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    args.cli_options = option_names(command_parser(parser, args))
    bars: contextlib.AbstractContextManager = contextlib.nullcontext()
    if args.quiet:  # -q, before or after the command: the one place that turns bars off
        from behavtrack.files import progress_bars

        bars = progress_bars(False)
    try:
        with bars:
            return int(args.func(args) or 0)
    except InputError as exc:
        print(f"behavtrack {args.command}: error: {error_message(exc, args)}", file=sys.stderr)
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
