"""``behavtrack export-nwb PATH... --out DIR``: one NWB file per session."""

from __future__ import annotations

import argparse

from behavtrack.cli.options import add_alias_option, aliases_of


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export-nwb`` command."""
    p = subparsers.add_parser(
        "export-nwb",
        help="one NWB file per session: pose (ndx-pose), bouts, rig events, trials, metadata",
        description=(
            "Write one .nwb file per session into --out, named by the session's id: the pose "
            "of each animal (ndx-pose PoseEstimation with its skeleton and confidences), the "
            "bouts of each animal (TimeIntervals), the rig's events (EventsTable per kind), "
            "the trials (the NWB trials table: success, delta, window) and the session's "
            "metadata (pair, session, fps, arena, model and its checksum). PATH is a session "
            "folder, a classify output folder, a folder holding them (a batch output, a "
            "simulated cohort; hidden folders skipped), a glob of them (quoted) or a list file "
            "(one per line). Each file is written whole or not at all (docs/nwb.md)."
        ),
    )
    p.add_argument("folders", nargs="+", metavar="PATH",
                   help="session, classify output or batch output folders, globs, list files")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--metadata", metavar="FILE",
                   help="JSON or YAML of NWB fields for every file: experimenter, institution, "
                   "lab, experiment_description, keywords, session_start_time, ... and "
                   "\"subject\": {species, sex, age, strain, genotype, ...} (docs/nwb.md)")
    p.add_argument("--no-compress", action="store_true",
                   help="store the pose uncompressed (larger files, a little faster)")
    p.add_argument("--check", action="store_true",
                   help="run nwbinspector on each file written; exit 1 if one has a critical "
                   "or best-practice-violation message (needs behavtrack[nwb])")
    add_alias_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack export-nwb``."""
    from behavtrack.export.nwb import export_nwb, inspect_nwb, load_metadata

    metadata = load_metadata(args.metadata) if args.metadata else None
    if args.check:  # fail before the work if the checker is missing
        import importlib.util

        from behavtrack.errors import InputError

        if importlib.util.find_spec("nwbinspector") is None:
            raise InputError("--check", "needs nwbinspector, which is not installed",
                             "pip install 'behavtrack[nwb]'")
    done = export_nwb(args.folders, args.out, aliases=aliases_of(args), metadata=metadata,
                      compress=not args.no_compress)
    status = 0
    for res in done:
        line = f"wrote {res.path} ({res.bytes / 1e6:.1f} MB, {res.seconds:.1f} s)"
        if args.check:
            messages = inspect_nwb(res.path)
            line += (" nwbinspector: no critical or violation-level message" if not messages
                     else f" nwbinspector: {len(messages)} message(s)")
            if messages:
                status = 1
        if not args.quiet or args.check:
            print(line)
            if args.check:
                for m in messages:
                    print(f"  {m['importance']} {m['check']} at {m['location']}: {m['message']}")
        if not args.quiet:
            for note in res.notes:
                print(f"  note: {note}")
    return status
