"""``behavtrack agents``: the cooperative poke task's agents (replay a rollout, train agents)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``agents`` command with its ``replay`` and ``train`` subcommands."""
    p = subparsers.add_parser(
        "agents",
        help="the grid-world agents: replay a recorded rollout, train two agents",
        description="The cooperative nose-poke grid world of MARL_Environment_Poke as a "
        "PettingZoo environment: replay recorded rollouts in it, or train two independent "
        "recurrent PPO agents (needs the extra behavtrack[agents]).",
    )
    sub = p.add_subparsers(dest="agents_command", metavar="SUBCOMMAND")
    sub.required = True

    r = sub.add_parser(
        "replay",
        help="re-simulate a rollout's actions and report every mismatch with the recording",
        description="Re-simulate each episode of a recorded rollout (.mat of "
        "evaluate_save_activation.py, or the tidy rollouts CSV) in behavtrack's environment, "
        "taking the water and poke placements and freezes from the recording, and report every "
        "mismatch of position, poke, drink, correct, miss and reward. Exit status 0: none; "
        "1: mismatches; 2: bad input (including a recording that breaks the rules).",
    )
    r.add_argument("rollout", help="rollout file (.mat or tidy CSV)")
    r.add_argument("--sync-limit", type=int, default=2,
                   help="the environment's sync_limit the recording was made with (default 2)")
    r.add_argument("--episode-steps", type=int, default=None,
                   help="steps per episode in a .mat file (default 500)")
    r.add_argument("--csv", default=None, metavar="FILE",
                   help="also write the mismatches as a CSV table")
    r.set_defaults(func=run_replay)

    from behavtrack.agents.config import TrainConfig  # light: no PettingZoo, skrl, torch

    d = TrainConfig()
    t = sub.add_parser(
        "train",
        help="train two independent recurrent PPO agents (skrl, CPU) with evaluation rollouts",
        description="Train two independent agents with recurrent policies by PPO (skrl, "
        "PyTorch, CPU). Every --eval-every iterations (and before the first) evaluation rollouts "
        "are written to --out as checkpoint_<iteration>.mat (the layout `behavtrack stats` and "
        "`behavtrack compare --agents` read), the policies as policies/checkpoint_<iteration>.npz "
        "and the learning curve (success vs circular-shift chance, and the best evaluation) to "
        "training.json. The figures depend on --seed and the settings only, not on --out. "
        "Ctrl-C keeps every finished checkpoint.",
    )
    t.add_argument("--out", required=True, help="output folder (new or empty)")
    t.add_argument("--iterations", type=int, default=None,
                   help="PPO iterations of --envs x --rollout-steps steps (default "
                   f"{d.iterations})")
    t.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    t.add_argument("--eval-every", type=int, default=None,
                   help=f"iterations between evaluation rollouts (default {d.eval_every})")
    t.add_argument("--eval-episodes", type=int, default=None,
                   help=f"500-step episodes per evaluation (default {d.eval_episodes})")
    t.add_argument("--envs", type=int, default=None,
                   help=f"environments side by side ({d.n_envs})")
    t.add_argument("--rollout-steps", type=int, default=None,
                   help=f"steps per environment per iteration ({d.rollout_steps})")
    t.add_argument("--noncoop-iterations", type=int, default=None,
                   help="first iterations in the original's non-cooperative task "
                   f"({d.noncoop_iterations})")
    t.add_argument("--window-start", type=int, default=None,
                   help="sync_limit of the first cooperative training episodes; it narrows "
                   f"by one step every --window-every iterations to 2 ({d.window_start})")
    t.add_argument("--window-every", type=int, default=None,
                   help=f"iterations per step of the window curriculum ({d.window_every})")
    t.add_argument("--learning-rate", type=float, default=None,
                   help=f"initial learning rate ({d.learning_rate:g})")
    t.add_argument("--kl-threshold", type=float, default=None,
                   help="target KL of an adaptive learning rate, 0 for a linear decay to "
                   f"--lr-final ({d.kl_threshold:g})")
    t.add_argument("--lr-final", type=float, default=None,
                   help="final learning rate as a fraction of the initial one, 1 for a fixed "
                   f"one ({d.lr_final:g})")
    t.add_argument("--hidden", type=int, default=None,
                   help=f"recurrent units per network ({d.hidden})")
    t.add_argument("--cell", choices=("relu", "gru"), default=None,
                   help="recurrent layer: the original's ReLU RNN (default) or a GRU")
    t.set_defaults(func=run_train)


def run_replay(args: argparse.Namespace) -> int:
    """Replay, print every mismatch and a summary; 0 if none, 1 otherwise."""
    from behavtrack.agents.replay import mismatch_lines, replay_file, summary_line

    results = replay_file(args.rollout, sync_limit=args.sync_limit,
                          episode_steps=args.episode_steps)
    for line in mismatch_lines(results):
        print(line)
    for res in results:
        print(summary_line(res))
    n = sum(len(r.mismatches) for r in results)
    if args.csv:
        import pandas as pd

        from behavtrack.files import atomic_path

        table = pd.concat([r.mismatches.assign(source=r.source) for r in results],
                          ignore_index=True)
        with atomic_path(args.csv) as tmp:
            table.to_csv(tmp, index=False)
    print(f"{n} mismatches" if n else "0 mismatches: the replay matches the recording",
          file=sys.stderr if n else sys.stdout)
    return 1 if n else 0


def run_train(args: argparse.Namespace) -> int:
    """Train and print one line per evaluation."""
    from behavtrack.agents.config import TrainConfig
    from behavtrack.agents.train import train
    from behavtrack.errors import InputError

    cfg = TrainConfig(seed=args.seed)
    for opt, field in (("iterations", "iterations"), ("eval_every", "eval_every"),
                       ("eval_episodes", "eval_episodes"), ("envs", "n_envs"),
                       ("rollout_steps", "rollout_steps"), ("hidden", "hidden"),
                       ("noncoop_iterations", "noncoop_iterations"), ("cell", "cell"),
                       ("window_start", "window_start"), ("window_every", "window_every"),
                       ("learning_rate", "learning_rate"), ("kl_threshold", "kl_threshold"),
                       ("lr_final", "lr_final")):
        value = getattr(args, opt)
        if value is not None:
            setattr(cfg, field, value)
    if cfg.iterations < 1:
        raise InputError("--iterations", f"must be >= 1, got {cfg.iterations}")
    cfg.check()
    summary = train(args.out, cfg, log=None if args.quiet else print)
    last, best = summary["curve"][-1], summary["best"]

    def fig(row: dict) -> str:
        p = row["p_value"] if row["p_value"] is not None else float("nan")
        return (f"success {row['success_rate'] or 0:.3f} vs chance {row['chance_rate'] or 0:.3f} "
                f"(p {p:.4f})")

    print(f"{len(summary['curve'])} evaluations in {summary['elapsed_s']:.0f} s; last "
          f"(iteration {last['iteration']}): {fig(last)}; best (iteration {best['iteration']}): "
          f"{fig(best)} -> {args.out}")
    return 0
