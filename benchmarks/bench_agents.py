"""Agents: environment speed, replay, and the default training run's learning curve and time.

Run from the repository root: ``python benchmarks/bench_agents.py [--seeds 0 1]
[--iterations N] [--keep DIR]`` (needs the extra ``behavtrack[agents]``). Trains with the
defaults of ``behavtrack agents train``, once per seed, one run after the other, into a
temporary folder (or ``DIR/seed<S>``), prints one line per evaluation and writes
``benchmarks/results/agents.json``: per seed the learning curve (success rate of the
evaluation rollouts against circular-shift chance, with p), the first evaluation above chance
with p < 0.01, the best and the last, and the wall time; the environment and training speed;
the installed size of what the extra brings (summed from the installed files of each
distribution). The top-level ``curve`` is the first seed's. Figures are from runs on the
current machine (2 cores, shared).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata as md
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from behavtrack.agents.config import TrainConfig
from behavtrack.agents.env import PokeSyncEnv
from behavtrack.files import atomic_write_text

OUT = Path(__file__).resolve().parent / "results" / "agents.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "marl"


def _dist_mb(name: str) -> float:
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return 0.0
    total = 0
    for f in dist.files or []:
        p = Path(dist.locate_file(f))
        if p.is_file():
            total += p.stat().st_size
    return total / 2**20


def _install_sizes() -> dict[str, float]:
    """Installed size (MiB) of the extra's packages and what they pull in."""
    names = sorted({d.metadata["Name"] for d in md.distributions()})
    torch_deps = [n for n in names if n.lower().startswith(("nvidia", "cuda-", "cuda_"))]
    out = {n: _dist_mb(n) for n in ["torch", "triton", "skrl", "tensorboard", "sympy", "grpcio",
                                     "pettingzoo", "gymnasium", *torch_deps]}
    out = {k: round(v, 1) for k, v in out.items() if v > 0}
    out["total_agents_extra"] = round(sum(v for k, v in out.items()
                                          if k not in ("pettingzoo", "gymnasium")), 1)
    out["core_pettingzoo_gymnasium"] = round(out.get("pettingzoo", 0) + out.get("gymnasium", 0), 1)
    return out


def _env_speed(steps: int = 50_000) -> float:
    env = PokeSyncEnv()
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 5, size=(steps, 2))
    t = time.perf_counter()
    for a1, a2 in acts:
        if not env.agents:
            env.reset()
        env.step({"agent1": int(a1), "agent2": int(a2)})
    return steps / (time.perf_counter() - t)


def _replay_speed() -> dict[str, float] | None:
    from behavtrack.agents.replay import replay_file

    path = SHARED / "checkpoint_2000.mat"
    if not path.is_file():
        from importlib.resources import files

        path = Path(str(files("behavtrack.data") / "agents" / "checkpoint_2000.mat"))
    t = time.perf_counter()
    (res,) = replay_file(path)
    return {"steps_per_s": round(res.n_steps / (time.perf_counter() - t)),
            "mismatches": len(res.mismatches)}


def _significant(row: dict) -> bool:
    """Above chance with p < 0.01 on at least 100 pokes (as ``best_evaluation``)."""
    return (row["p_value"] is not None and row["p_value"] < 0.01 and row["n_pokes"] >= 100
            and row["success_rate"] > row["chance_rate"])


def _train_run(cfg: TrainConfig, keep: str | None) -> dict[str, object]:
    """Train one seed; return its figures (curve, first above chance, best, last, time)."""
    from behavtrack.agents.train import train

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(keep) / f"seed{cfg.seed}" if keep else Path(tmp) / "agents"
        t = time.perf_counter()
        summary = train(out, cfg, log=print)
        wall = time.perf_counter() - t
    curve = summary["curve"]
    steps = cfg.iterations * cfg.rollout_steps * cfg.n_envs
    first_sig = next((c for c in curve if _significant(c)), None)
    last = curve[-1]
    print(f"seed {cfg.seed}: {cfg.iterations} iterations ({steps} steps per agent) in "
          f"{wall:.0f} s; first above chance (p < 0.01): "
          f"{first_sig and (first_sig['iteration'], first_sig['elapsed_s'])}; last: success "
          f"{last['success_rate']} vs chance {last['chance_rate']} (p {last['p_value']})")
    return {
        "seed": cfg.seed, "wall_s": round(wall, 1), "train_env_steps": steps,
        "train_steps_per_s": round(steps / wall),
        "first_above_chance": first_sig, "best": summary["best"], "final": last,
        "above_chance_at_end": _significant(last),
        "n_evaluations_above_chance": sum(_significant(c) for c in curve),
        "n_evaluations": len(curve),
        "curve": curve,
        "curve_short": [{k: c[k] for k in ("iteration", "elapsed_s", "success_rate",
                                           "chance_rate", "p_value", "n_pokes")}
                        for c in curve],
        "library": summary["library"],
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--iterations", type=int, default=None, help="default: the CLI's default")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--keep", default=None, help="train into DIR/seed<S> and keep it")
    args = p.parse_args()
    os.environ["BEHAVTRACK_QUIET"] = "1"
    cfg = TrainConfig(seed=args.seeds[0])
    if args.iterations:
        cfg.iterations = args.iterations
    figures: dict[str, object] = {
        "command": "behavtrack agents train --out DIR"
                   + (f" --iterations {cfg.iterations}" if args.iterations else "")
                   + " --seed S",
        "seeds": args.seeds,
        "config": dataclasses.asdict(cfg),
        "env_steps_per_s": round(_env_speed()),
        "replay": _replay_speed(),
        "install_mib": _install_sizes(),
    }
    print(f"environment: {figures['env_steps_per_s']} steps/s; replay: {figures['replay']}")
    runs = []
    for seed in args.seeds:
        cfg.seed = seed
        print(f"seed {seed}:")
        runs.append(_train_run(cfg, args.keep))
    first = runs[0]
    figures.update(
        wall_s=first["wall_s"],
        train_env_steps=first["train_env_steps"],
        train_steps_per_s=first["train_steps_per_s"],
        curve=first.pop("curve"),
        runs=runs,
        all_seeds_above_chance=all(r["first_above_chance"] is not None for r in runs),
        all_seeds_above_chance_at_end=all(r["above_chance_at_end"] for r in runs),
        library=first["library"],
        machine={"python": platform.python_version(), "cpus": os.cpu_count(),
                 "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
                 "nice": os.nice(0)},
    )
    for r in runs[1:]:
        r.pop("curve")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT, json.dumps(figures, indent=1) + "\n")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
