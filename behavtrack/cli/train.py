"""``behavtrack train LABELED... --out MODEL``: fit the HMM on labelled sessions."""

from __future__ import annotations

import argparse

from behavtrack.cli.options import (
    add_alias_option,
    add_individuals_option,
    aliases_of,
    fps_of,
    individuals_of,
    pairs,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    p = subparsers.add_parser(
        "train",
        help="fit the strategy classifier on labelled sessions and save it as JSON",
        description="Fit the classifier on labelled session folders (labels.csv or "
        "bouts.csv: simulated truth or reviewed corrections) and/or BORIS exports paired "
        "with their pose files; measure it by cross-validation over sessions and store "
        "those metrics in the model file (fitted on all sessions). From BORIS, a bout of a "
        "mutual behaviour (interaction) coded for one subject is a bout of the pair, and a "
        "subject with no rows of its own is unlabelled unless the export codes a mutual "
        "behaviour (--mutual changes which behaviours are mutual).",
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
    p.add_argument("--fps", type=float, help="frame rate of the --pose files, if they do not "
                   "store it")
    p.add_argument("--mutual", action="append", default=None, metavar="BEHAVIOR",
                   help="a behaviour of the pair: a BORIS bout coded for one subject labels "
                   "both animals (repeat; default: interaction; --no-mutual for none)")
    p.add_argument("--no-mutual", action="store_true",
                   help="every BORIS bout belongs to its subject alone")
    add_alias_option(p)
    add_individuals_option(p)
    p.add_argument("--classifier", choices=["hybrid", "gaussian"], default="hybrid",
                   help="hybrid: gradient-boosted frame posteriors decoded by a duration-aware "
                   "HMM (default); gaussian: the Gaussian-emission HMM")
    p.add_argument("--out", required=True, metavar="MODEL", help="model JSON to write")
    p.add_argument("--folds", type=int, default=4,
                   help="cross-validation folds over sessions for the held-out metrics "
                   "(default 4; 0 = none)")
    p.add_argument("--covariance", choices=["diag", "full"], default="full",
                   help="covariances of the gaussian classifier")
    p.add_argument("--min-bout-s", type=float, default=None,
                   help="shortest bout in seconds (default: chosen by inner cross-validation "
                   "for the hybrid, 0.5 for the gaussian)")
    p.add_argument("--em-iter", type=int, default=0,
                   help="Baum-Welch refinement iterations after the supervised fit (gaussian)")
    p.add_argument("--unlabeled", nargs="+", default=[], metavar="SESSION",
                   help="session folders without labels for the EM refinement (--em-iter)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behavtrack train``."""
    from behavtrack.errors import InputError
    from behavtrack.io.session import find_sessions
    from behavtrack.strategies.pipeline import MUTUAL_BEHAVIORS, labeled_from_boris, train_model

    if len(args.boris) != len(args.pose):
        raise InputError("--boris/--pose", f"got {len(args.boris)} BORIS file(s) and "
                         f"{len(args.pose)} pose file(s)", "give one --pose per --boris")
    if args.events and len(args.events) != len(args.boris):
        raise InputError("--events", f"got {len(args.events)} for {len(args.boris)} --boris",
                         "give one --events per --boris, or none")
    if args.em_iter < 0:
        raise InputError("--em-iter", f"must be 0 or more, got {args.em_iter}")
    if args.em_iter and args.classifier != "gaussian":
        raise InputError("--em-iter", "EM refinement is for the gaussian classifier",
                         "add --classifier gaussian")
    if args.min_bout_s is not None and args.min_bout_s < 0:
        raise InputError("--min-bout-s", f"must be 0 or more, got {args.min_bout_s}")
    if args.unlabeled and not args.em_iter:
        raise InputError("--unlabeled", "is used only by the EM refinement",
                         "add --em-iter N (e.g. 5) and --classifier gaussian")
    fps = fps_of(args)
    if args.no_mutual and args.mutual:
        raise InputError("--no-mutual", "contradicts --mutual", "give one of them")
    bmap = pairs(args.behavior_map, "--behavior-map")
    smap = pairs(args.subject_map, "--subject-map")
    aliases = aliases_of(args)
    individuals = individuals_of(args)
    mutual = () if args.no_mutual else tuple(args.mutual or MUTUAL_BEHAVIORS)
    items: list = find_sessions(args.labeled) if args.labeled else []
    events = args.events or [None] * len(args.boris)
    notes: list[str] = []
    items += [labeled_from_boris(b, p, arena=args.arena, events=e, behavior_map=bmap,
                                 subject_map=smap, fps=fps, aliases=aliases,
                                 mutual=mutual, notes=notes, individuals=individuals)
              for b, p, e in zip(args.boris, args.pose, events, strict=True)]
    if not items:
        raise InputError("train", "no labelled sessions given",
                         "name session folders, or --boris B --pose P pairs")
    for note in notes:
        print(f"note: {note}")
    model = train_model(items, args.out, classifier=args.classifier, folds=args.folds,
                        covariance_type=args.covariance, min_bout_s=args.min_bout_s,
                        em_iter=args.em_iter, seed=args.seed,
                        unlabeled=find_sessions(args.unlabeled) if args.unlabeled else (),
                        aliases=aliases, individuals=individuals)
    if not args.quiet:
        m = model.metrics_
        if m.get("n_test_sessions"):
            print(f"held-out ({m['method']}, {m['n_test_sessions']} sessions): frame macro-F1 "
                  f"{m['hmm_frame_macro_f1']:.3f}, bout F1 {m['hmm_bout_macro_f1']:.3f}")
        print(f"wrote {args.out} ({args.classifier} classifier; behaviours: "
              f"{', '.join(model.behaviors_)})")
    return 0
