"""``behavtrack train LABELED... --out MODEL``: fit the HMM on labelled sessions."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    p = subparsers.add_parser(
        "train",
        help="fit the strategy HMM on labelled sessions and save it as JSON",
        description="Fit the supervised HMM on labelled session folders (labels.csv or "
        "bouts.csv: simulated truth or reviewed corrections) and/or BORIS exports paired "
        "with their pose files; measure it by cross-validation over sessions and store "
        "those metrics in the model file (fitted on all sessions).",
    )
    p.add_argument("labeled", nargs="*", metavar="LABELED",
                   help="session folders, globs or manifest files")
    p.add_argument("--boris", action="append", default=[], metavar="FILE",
                   help="a BORIS export (repeat; pair each with --pose)")
    p.add_argument("--pose", action="append", default=[], metavar="FILE",
                   help="the pose file of the video of the matching --boris")
    p.add_argument("--arena", help="arena YAML for the --boris/--pose pairs")
    p.add_argument("--events", action="append", default=[], metavar="FILE",
                   help="the rig log of the matching --boris (optional; repeat per pair)")
    p.add_argument("--behavior-map", action="append", default=[], metavar="OLD=NEW",
                   help="rename a BORIS behaviour (e.g. interact=interaction; OLD= drops it)")
    p.add_argument("--subject-map", action="append", default=[], metavar="OLD=NEW",
                   help="rename a BORIS subject to the pose's individual (e.g. adult=mouse1)")
    p.add_argument("--out", required=True, metavar="MODEL", help="model JSON to write")
    p.add_argument("--folds", type=int, default=4,
                   help="cross-validation folds over sessions for the held-out metrics "
                   "(default 4; 0 = none)")
    p.add_argument("--covariance", choices=["diag", "full"], default="full")
    p.add_argument("--min-bout-s", type=float, default=0.5)
    p.add_argument("--em-iter", type=int, default=0,
                   help="Baum-Welch refinement iterations after the supervised fit")
    p.add_argument("--unlabeled", nargs="+", default=[], metavar="SESSION",
                   help="session folders without labels for the EM refinement (--em-iter)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack train``."""
    from behavtrack.errors import InputError
    from behavtrack.io.session import find_sessions
    from behavtrack.strategies.pipeline import labeled_from_boris, train_model

    if len(args.boris) != len(args.pose):
        raise InputError("--boris/--pose", f"got {len(args.boris)} BORIS file(s) and "
                         f"{len(args.pose)} pose file(s)", "give one --pose per --boris")
    if args.events and len(args.events) != len(args.boris):
        raise InputError("--events", f"got {len(args.events)} for {len(args.boris)} --boris",
                         "give one --events per --boris, or none")
    if args.em_iter < 0:
        raise InputError("--em-iter", f"must be 0 or more, got {args.em_iter}")
    if args.min_bout_s < 0:
        raise InputError("--min-bout-s", f"must be 0 or more, got {args.min_bout_s}")
    if args.unlabeled and not args.em_iter:
        raise InputError("--unlabeled", "is used only by the EM refinement",
                         "add --em-iter N (e.g. 5)")
    bmap = _pairs(args.behavior_map, "--behavior-map")
    smap = _pairs(args.subject_map, "--subject-map")
    items: list = find_sessions(args.labeled) if args.labeled else []
    events = args.events or [None] * len(args.boris)
    items += [labeled_from_boris(b, p, arena=args.arena, events=e, behavior_map=bmap,
                                 subject_map=smap)
              for b, p, e in zip(args.boris, args.pose, events, strict=True)]
    if not items:
        raise InputError("train", "no labelled sessions given", "name session folders")
    model = train_model(items, args.out, folds=args.folds,
                        covariance_type=args.covariance, min_bout_s=args.min_bout_s,
                        em_iter=args.em_iter, seed=args.seed, quiet=args.quiet,
                        unlabeled=find_sessions(args.unlabeled) if args.unlabeled else ())
    if not args.quiet:
        m = model.metrics_
        if m.get("n_test_sessions"):
            print(f"held-out ({m['method']}, {m['n_test_sessions']} sessions): frame macro-F1 "
                  f"{m['hmm_frame_macro_f1']:.3f}, bout F1 {m['hmm_bout_macro_f1']:.3f}")
        print(f"wrote {args.out}")
    return 0


def _pairs(items: list[str], option: str) -> dict[str, str | None] | None:
    """Parse ``OLD=NEW`` options into a mapping (``OLD=`` maps to ``None``: drop)."""
    from behavtrack.errors import InputError

    out: dict[str, str | None] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old:
            raise InputError(option, f"{item!r} is not OLD=NEW", "e.g. interact=interaction")
        out[old] = new or None
    return out or None
