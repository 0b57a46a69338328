"""Agents: environment speed, replay, and the default training run's learning curve and time.

Run from the repository root: ``python benchmarks/bench_agents.py [--iterations N]`` (needs
the extra ``behavtrack[agents]``). Trains with the defaults of ``behavtrack agents train``
(seed 0) into a temporary folder, prints one line per evaluation and writes
``benchmarks/results/agents.json``: the learning curve (success rate of the evaluation
rollouts against circular-shift chance, with p), the wall time, environment and training
speed, and the installed size of what the extra brings (summed from the installed files of
each distribution). Figures are from one run on the current machine (2 cores, shared).
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


def main() -> None:
    from behavtrack.agents.train import TrainConfig, train

    p = argparse.ArgumentParser()
    p.add_argument("--iterations", type=int, default=None, help="default: the CLI's default")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ["BEHAVTRACK_QUIET"] = "1"
    cfg = TrainConfig(seed=args.seed)
    if args.iterations:
        cfg.iterations = args.iterations
    figures: dict[str, object] = {
        "command": "behavtrack agents train --out DIR"
                   + (f" --iterations {cfg.iterations}" if args.iterations else "")
                   + (f" --seed {args.seed}" if args.seed else ""),
        "config": dataclasses.asdict(cfg),
        "env_steps_per_s": round(_env_speed()),
        "replay": _replay_speed(),
        "install_mib": _install_sizes(),
    }
    print(f"environment: {figures['env_steps_per_s']} steps/s; replay: {figures['replay']}")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        summary = train(Path(tmp) / "agents", cfg, quiet=True, log=print)
        wall = time.perf_counter() - t
    curve = summary["curve"]
    steps = cfg.iterations * cfg.rollout_steps * cfg.n_envs
    first_sig = next((c for c in curve if c["p_value"] is not None and c["p_value"] < 0.01
                      and c["success_rate"] > c["chance_rate"]), None)
    figures.update(
        wall_s=round(wall, 1),
        train_env_steps=steps,
        train_steps_per_s=round(steps / wall),
        curve=curve,
        final=curve[-1],
        first_above_chance=first_sig,
        above_chance_at_end=bool(curve[-1]["p_value"] is not None
                                 and curve[-1]["p_value"] < 0.01
                                 and curve[-1]["success_rate"] > curve[-1]["chance_rate"]),
        library=summary["library"],
        machine={"python": platform.python_version(), "cpus": os.cpu_count(),
                 "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]},
    )
    print(f"trained {cfg.iterations} iterations ({steps} steps per agent) in {wall:.0f} s; "
          f"final success {curve[-1]['success_rate']} vs chance {curve[-1]['chance_rate']} "
          f"(p {curve[-1]['p_value']})")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT, json.dumps(figures, indent=1) + "\n")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
