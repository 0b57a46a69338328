"""``behavtrack stats``: learning statistics of classified sessions (and/or agent rollouts)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stats`` command."""
    p = subparsers.add_parser(
        "stats",
        help="trials, chance, learning curves, fits and trends of a cohort",
        description=(
            "Read classify output folders (session.json, events.csv, bouts.csv) or agent "
            "rollout files and write trials.csv, sessions.csv, curves, fits, criterion, "
            "trends and PNG figures to --out. A session that cannot be used is listed in "
            "failures.csv; the rest is still computed."
        ),
    )
    p.add_argument("sessions", nargs="+", metavar="SESSIONS",
                   help="classify folders, parent folders, globs, list files, or rollout "
                        "files (.mat / tidy CSV) and folders of them")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--shifts", type=int, default=1000, help="circular shifts for chance")
    p.add_argument("--seed", type=int, default=0, help="seed of shifts and bootstrap")
    p.add_argument("--boot", type=int, default=2000, help="bootstrap resamples of pairs")
    p.add_argument("--bins", type=int, default=5, help="progress bins of curves_progress.csv")
    p.add_argument("--criterion", type=float, default=0.75,
                   help="success rate defining criterion")
    p.add_argument("--consecutive", type=int, default=1,
                   help="sessions in a row at criterion")
    p.add_argument("--svg", action="store_true", help="also write SVG figures")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes that analyse the sessions (default: the usable cores)")
    p.add_argument("--sync-limit", type=int, default=2,
                   help="agents: the environment's sync_limit in steps (default 2)")
    p.add_argument("--episode-steps", type=int, default=None,
                   help="agents: steps per episode in .mat files (default 500)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute the statistics and print where they went."""
    from behavtrack.workflows.stats import compute_stats

    res = compute_stats(
        args.sessions, args.out, n_shifts=args.shifts, seed=args.seed, n_boot=args.boot,
        n_bins=args.bins, criterion=args.criterion, consecutive=args.consecutive,
        svg=args.svg, sync_limit=args.sync_limit,
        episode_steps=args.episode_steps, jobs=args.jobs,
    )
    n_pairs = res.sessions[["source", "pair"]].drop_duplicates().shape[0]
    print(f"{len(res.sessions)} sessions of {n_pairs} pairs, {len(res.trials)} trials "
          f"-> {res.out_dir}" + (f" ({len(res.failures)} inputs not used: see failures.csv)"
                                 if len(res.failures) else ""))
    for note in truth_notes(res.sessions):
        print(f"note: {note}")
    return 0


def truth_notes(sessions) -> list[str]:  # noqa: ANN001 - a pandas DataFrame
    """Say which sessions are simulated, and which use the simulator's truth bouts."""
    notes = []
    mice = sessions[sessions["source"].astype(str) == "mice"]
    if "data" in mice and (mice["data"] == "simulated").any():
        n = int((mice["data"] == "simulated").sum())
        notes.append(f"{n} of {len(mice)} mouse sessions are simulated (behavtrack simulate), "
                     "not recorded")
    if "bouts_source" in mice and (mice["bouts_source"] == "truth").any():
        n = int((mice["bouts_source"] == "truth").sum())
        notes.append(f"{n} session(s) were not classified: their strategy columns use the "
                     "simulator's truth bouts (run behavtrack classify or batch on them to "
                     "measure what the classifier finds)")
    return notes
