"""Train two independent recurrent PPO agents on the cooperative poke task (skrl, PyTorch, CPU).

As in the original (RLlib PPO, one recurrent policy per agent over the one-hot observation),
each agent has its own policy and value network: one recurrent layer (the original's plain
ReLU RNN by default, or a GRU with ``cell="gru"``) followed by a linear head, trained by
skrl's ``PPO_RNN`` (clipped PPO, GAE, truncated back-propagation through time over
``sequence_length`` steps). The two agents
learn independently (IPPO): each sees only its own observation and reward; they meet only
in the environment. The loop that steps them is skrl's sequential trainer for two agents
that share one environment (``pre_interaction``, ``act``, ``record_transition``,
``post_interaction`` per agent; skrl's own trainers only give simultaneous agents
disjoint copies of an environment).

One *iteration* is ``rollout_steps`` steps of ``n_envs`` environments followed by one PPO
update per agent. Every ``eval_every`` iterations (and before the first), ``eval_episodes``
evaluation episodes of ``episode_steps`` steps are played with the current stochastic
policies (as the original's ``compute_single_action``) and written as
``checkpoint_<iteration>.mat`` in the layout of the original's
``evaluate_save_activation.py`` (which :mod:`behavtrack.io.agents`, ``behavtrack stats`` and
``behavtrack compare`` read), with the policies' weights as
``policies/checkpoint_<iteration>.npz`` (NumPy arrays, never pickles; skrl's own
``torch.save`` checkpoints are switched off). ``training.json`` holds the settings and the
learning curve: per evaluation, the synchronised-poke success rate, its circular-shift
chance and p-value (:func:`behavtrack.compare.agents.analyze_rollout`), rewards and times.
Every file is written atomically, so a run stopped with Ctrl-C keeps every checkpoint it
finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from behavtrack.agents.env import AGENTS, PokeSyncEnv, observation_size
from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text

__all__ = ["TrainConfig", "load_policies", "require_extra", "train"]

_EXTRA_HINT = "install the optional extra: pip install 'behavtrack[agents]'"

# one-hot layout of the observation (keys in sorted order): key, size offset
_KEYS = ("nosepoke0", "nosepoke1", "otheragent0", "otheragent1", "otherpoke0", "otherpoke1",
         "self0", "self1", "water0", "water1")


@dataclasses.dataclass
class TrainConfig:
    """Settings of a training run (the defaults are those of ``behavtrack agents train``).

    Attributes
    ----------
    iterations
        PPO iterations (each: ``rollout_steps`` x ``n_envs`` steps, then one update).
    noncoop_iterations
        The first iterations train in the original's non-cooperative task (one's own poke
        gives one's own water), as its training did; later episodes are cooperative. (The
        evaluations are always cooperative.)
    seed
        Seeds the environments, the networks and the sampling.
    n_envs
        Environments stepped side by side.
    rollout_steps
        Steps per environment per iteration.
    episode_steps
        Steps per episode, in training and evaluation (500, as the original's evaluation).
    sync_limit
        The environment's ``sync_limit``.
    eval_every
        Write evaluation rollouts every this many iterations (and before the first).
    eval_episodes
        Episodes per evaluation.
    hidden
        Units of each recurrent layer.
    cell
        ``"relu"`` (default): the original's plain ReLU RNN; ``"gru"``: a GRU, whose bounded
        state cannot blow up (the ReLU RNN's can, over 500-step episodes: the original put an
        L2 penalty on its recurrent weights, which skrl's PPO does not have; with a discount
        of 0.99 it diverged within 20 iterations here).
    sequence_length
        Steps of back-propagation through time.
    learning_rate, learning_epochs, mini_batches, discount_factor, gae_lambda, entropy_scale,
    value_loss_scale, ratio_clip, grad_norm_clip
        PPO settings (skrl's ``PPO_CFG``).
    n_shifts
        Circular shifts for the chance of each evaluation.

    """

    iterations: int = 140
    noncoop_iterations: int = 80
    seed: int = 0
    n_envs: int = 16
    rollout_steps: int = 250
    episode_steps: int = 500
    sync_limit: int = 2
    eval_every: int = 20
    eval_episodes: int = 10
    hidden: int = 64
    cell: str = "relu"
    sequence_length: int = 25
    learning_rate: float = 1e-3
    learning_epochs: int = 4
    mini_batches: int = 4
    discount_factor: float = 0.97
    gae_lambda: float = 0.95
    entropy_scale: float = 0.01
    value_loss_scale: float = 0.5
    ratio_clip: float = 0.2
    grad_norm_clip: float = 0.5
    n_shifts: int = 1000

    def check(self) -> None:
        """Raise :class:`InputError` for a setting out of range (named as its CLI option)."""
        positive = {"iterations": self.iterations, "n_envs": self.n_envs,
                    "rollout_steps": self.rollout_steps, "episode_steps": self.episode_steps,
                    "eval_every": self.eval_every, "eval_episodes": self.eval_episodes,
                    "hidden": self.hidden, "sequence_length": self.sequence_length,
                    "learning_epochs": self.learning_epochs, "mini_batches": self.mini_batches}
        for name, value in positive.items():
            if int(value) < 1:
                raise InputError(f"--{name.replace('_', '-')}", f"must be >= 1, got {value}")
        if self.noncoop_iterations < 0:
            raise InputError("--noncoop-iterations", f"must be >= 0, got {self.noncoop_iterations}")
        if self.cell not in ("gru", "relu"):
            raise InputError("--cell", f"must be gru or relu, got {self.cell!r}")
        if not 1 <= self.sync_limit <= 5:
            raise InputError("--sync-limit", f"must be 1-5, got {self.sync_limit}")
        if self.rollout_steps % self.sequence_length:
            raise InputError("--rollout-steps", f"{self.rollout_steps} is not a multiple of the "
                             f"sequence length {self.sequence_length}")
        if self.n_envs % self.mini_batches:
            raise InputError("--envs", f"{self.n_envs} environments do not split into "
                             f"{self.mini_batches} mini-batches")
        if not 0 <= self.seed < 2**32:
            raise InputError("--seed", f"must be 0 .. 2**32 - 1, got {self.seed}")


def require_extra() -> None:
    """Raise :class:`InputError` unless skrl and PyTorch (``behavtrack[agents]``) import."""
    try:
        import skrl  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise InputError("behavtrack agents train", f"needs {exc.name or 'skrl and torch'}, "
                         "which is not installed", _EXTRA_HINT) from None


# ---- observations ---------------------------------------------------------------------------
def _offsets(height: int, width: int) -> tuple[np.ndarray, int]:
    half = width // 2
    sizes = {"nosepoke0": half, "nosepoke1": half, "otheragent0": height, "otheragent1": half,
             "otherpoke0": height, "otherpoke1": half, "self0": height, "self1": half,
             "water0": height, "water1": half}
    n = np.array([sizes[k] for k in _KEYS])
    return np.r_[0, np.cumsum(n)[:-1]], int(n.sum())


def encode(envs: list[PokeSyncEnv]) -> np.ndarray:
    """One-hot observations ``(2 agents, n_envs, 56)`` of each environment's current state."""
    height, width = envs[0].height, envs[0].width
    off, size = _offsets(height, width)
    idx = np.empty((2, len(envs), len(_KEYS)), dtype=np.int64)
    for e, env in enumerate(envs):
        obs = env._observations()
        for j, agent in enumerate(AGENTS):
            o = obs[agent]
            idx[j, e] = [o[k] for k in _KEYS]
    out = np.zeros((2, len(envs), size), dtype=np.float32)
    np.put_along_axis(out, idx + off, 1.0, axis=2)
    return out


# ---- models -------------------------------------------------------------------------------
def _models(cfg: TrainConfig, n_envs: int, device: str) -> dict[str, dict[str, Any]]:
    """Per agent a recurrent policy and value model (skrl torch Models)."""
    import gymnasium
    import torch
    from skrl.models.torch import CategoricalMixin, DeterministicMixin, Model
    from torch import nn

    obs_space = gymnasium.spaces.Box(0.0, 1.0, (observation_size(),), np.float32)
    act_space = gymnasium.spaces.Discrete(5)

    class _Recurrent(Model):
        """A recurrent layer (the original's ReLU RNN, or a GRU) and a linear head."""

        def __init__(self, outputs: int) -> None:
            Model.__init__(self, observation_space=obs_space, action_space=act_space,
                           device=device)
            self.num_envs, self.hidden, self.seq = n_envs, cfg.hidden, cfg.sequence_length
            if cfg.cell == "gru":
                self.rnn = nn.GRU(self.num_observations, self.hidden, batch_first=True)
            else:
                self.rnn = nn.RNN(self.num_observations, self.hidden, batch_first=True,
                                  nonlinearity="relu")
            self.head = nn.Linear(self.hidden, outputs)

        def get_specification(self) -> dict[str, Any]:
            return {"rnn": {"sequence_length": self.seq,
                            "sizes": [(1, self.num_envs, self.hidden)]}}

        def compute(self, inputs: dict[str, Any], role: str = "") -> tuple[Any, dict]:
            x = inputs["observations"]
            h = inputs["rnn"][0]
            if self.training:  # (sequences * seq, obs) -> (sequences, seq, obs)
                x = x.view(-1, self.seq, x.shape[-1])
                h = h.view(1, -1, self.seq, h.shape[-1])[:, :, 0, :].contiguous()
                done = inputs.get("terminated")
                if inputs.get("truncated") is not None:
                    done = inputs["truncated"] if done is None else done | inputs["truncated"]
                if done is not None and bool(done.any()):
                    done = done.view(-1, self.seq)
                    cuts = (done[:, :-1].any(dim=0).nonzero(as_tuple=True)[0] + 1).tolist()
                    bounds = [0, *cuts, self.seq]
                    parts = []
                    for i0, i1 in zip(bounds[:-1], bounds[1:], strict=True):
                        out, h = self.rnn(x[:, i0:i1, :], h)
                        h = h.clone()
                        h[:, done[:, i1 - 1], :] = 0.0
                        parts.append(out)
                    out = torch.cat(parts, dim=1)
                else:
                    out, h = self.rnn(x, h)
            else:
                out, h = self.rnn(x.view(-1, 1, x.shape[-1]), h)
            out = torch.flatten(out, start_dim=0, end_dim=1)
            return self.head(out), {"rnn": [h]}

    class Policy(CategoricalMixin, _Recurrent):
        def __init__(self) -> None:
            _Recurrent.__init__(self, 5)
            CategoricalMixin.__init__(self, unnormalized_log_prob=True)

    class Value(DeterministicMixin, _Recurrent):
        def __init__(self) -> None:
            _Recurrent.__init__(self, 1)
            DeterministicMixin.__init__(self, clip_actions=False)

    return {agent: {"policy": Policy(), "value": Value()} for agent in AGENTS}


def _ppo_agents(cfg: TrainConfig, models: dict[str, dict[str, Any]], device: str) -> dict:
    """One skrl PPO_RNN per agent, without TensorBoard or (pickled) checkpoints."""
    import gymnasium
    from skrl.agents.torch.ppo import PPO_RNN
    from skrl.memories.torch import RandomMemory

    obs_space = gymnasium.spaces.Box(0.0, 1.0, (observation_size(),), np.float32)
    agents = {}
    for agent in AGENTS:
        memory = RandomMemory(memory_size=cfg.rollout_steps, num_envs=cfg.n_envs, device=device)
        ppo_cfg = {
            "rollouts": cfg.rollout_steps, "learning_epochs": cfg.learning_epochs,
            "mini_batches": cfg.mini_batches, "discount_factor": cfg.discount_factor,
            "gae_lambda": cfg.gae_lambda, "learning_rate": cfg.learning_rate,
            "grad_norm_clip": cfg.grad_norm_clip, "ratio_clip": cfg.ratio_clip,
            "entropy_loss_scale": cfg.entropy_scale, "value_loss_scale": cfg.value_loss_scale,
            "experiment": {"write_interval": 0, "checkpoint_interval": 0,
                           "directory": os.devnull},
        }
        ppo = PPO_RNN(models=models[agent], memory=memory, observation_space=obs_space,
                      action_space=gymnasium.spaces.Discrete(5), device=device, cfg=ppo_cfg)
        ppo.init()
        agents[agent] = ppo
    return agents


# ---- evaluation and files -----------------------------------------------------------------
def _evaluate(
    cfg: TrainConfig, models: dict[str, dict[str, Any]], seed: int
) -> dict[str, np.ndarray]:
    """Play ``eval_episodes`` episodes side by side with the stochastic policies.

    Returns the arrays of ``evaluate_save_activation.py``'s ``.mat`` layout (episodes
    concatenated) plus the recurrent activations and values, as the original saved them.
    """
    import torch

    n, steps = cfg.eval_episodes, cfg.episode_steps
    envs = [PokeSyncEnv(max_steps=steps, sync_limit=cfg.sync_limit) for _ in range(n)]
    seeds = np.random.SeedSequence(seed).generate_state(n)
    for env, s in zip(envs, seeds, strict=True):
        env.reset(seed=int(s))
    out = {k: np.zeros((n, steps, 2), dtype=np.int64) for k in
           ("agent1_loc", "agent2_loc", "agent1_water", "agent2_water", "agent1_nosepoke",
            "agent2_nosepoke")}
    flags = {k: np.zeros((n, steps), dtype=np.int64) for k in ("correct", "miss", "act1", "act2")}
    rew = {k: np.zeros((n, steps), dtype=np.float64) for k in ("rew1", "rew2")}
    act_h = {k: np.zeros((n, steps, cfg.hidden), dtype=np.float32)
             for k in ("activations1", "activations2")}
    val = {k: np.zeros((n, steps), dtype=np.float32) for k in ("value1", "value2")}
    h = {a: torch.zeros(1, n, cfg.hidden) for a in AGENTS}
    hv = {a: torch.zeros(1, n, cfg.hidden) for a in AGENTS}
    for m in models.values():
        for net in m.values():
            net.eval()
    with torch.no_grad():
        for t in range(steps):
            obs = encode(envs)
            actions = []
            for j, agent in enumerate(AGENTS):
                x = torch.from_numpy(obs[j])
                a, outs = models[agent]["policy"].act({"observations": x, "rnn": [h[agent]]},
                                                      role="policy")
                h[agent] = outs["rnn"][0]
                v, vouts = models[agent]["value"].act({"observations": x, "rnn": [hv[agent]]},
                                                      role="value")
                hv[agent] = vouts["rnn"][0]
                act_h[f"activations{j + 1}"][:, t] = h[agent][0].numpy()
                val[f"value{j + 1}"][:, t] = v[:, 0].numpy()
                actions.append(a[:, 0].numpy())
            for e, env in enumerate(envs):
                o = env._observations()
                for j, agent in enumerate(AGENTS):
                    k = f"agent{j + 1}"
                    out[f"{k}_loc"][e, t] = (o[agent]["self1"], o[agent]["self0"])
                    out[f"{k}_water"][e, t] = (o[agent]["water1"], o[agent]["water0"])
                    out[f"{k}_nosepoke"][e, t] = (o[agent]["nosepoke1"], o[agent]["nosepoke0"])
                a1, a2 = int(actions[0][e]), int(actions[1][e])
                _, r, _, _, _ = env.step({"agent1": a1, "agent2": a2})
                flags["correct"][e, t], flags["miss"][e, t] = env.sync_poke, env.miss
                flags["act1"][e, t], flags["act2"][e, t] = a1, a2
                rew["rew1"][e, t], rew["rew2"][e, t] = r["agent1"], r["agent2"]
    data: dict[str, np.ndarray] = {}
    for k, v in out.items():
        data[k] = v.reshape(n * steps, 2)
    for k, v in {**flags, **rew}.items():
        data[k] = v.reshape(1, n * steps)
    for k, v in act_h.items():
        data[k] = v.reshape(n * steps, cfg.hidden)
    for k, v in val.items():
        data[k] = v.reshape(1, n * steps)
    return data


def _write_mat(path: Path, data: dict[str, np.ndarray]) -> None:
    import scipy.io

    with atomic_path(path) as tmp:
        scipy.io.savemat(tmp, data, do_compression=True)


def _state_arrays(models: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    return {f"{agent}/{role}/{name}": t.detach().cpu().numpy()
            for agent, m in models.items() for role, net in m.items()
            for name, t in net.state_dict().items()}


def _write_policies(path: Path, models: dict[str, dict[str, Any]], cfg: TrainConfig) -> None:
    arrays = _state_arrays(models)
    arrays["config_json"] = np.array(json.dumps(dataclasses.asdict(cfg)))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_policies(path: str | os.PathLike) -> tuple[dict[str, dict[str, Any]], TrainConfig]:
    """Rebuild the two agents' policy and value networks from a ``policies/*.npz`` file.

    Parameters
    ----------
    path
        A file written by :func:`train` (NumPy arrays only; read with ``allow_pickle=False``).

    Returns
    -------
    models : dict
        ``{agent: {"policy": Model, "value": Model}}`` (skrl torch models, on the CPU).
    config : TrainConfig
        The run's settings.

    """
    import torch

    require_extra()
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(path, f"is not a policies file ({exc})",
                         "give a policies/checkpoint_<N>.npz written by behavtrack agents train"
                         ) from None
    if "config_json" not in arrays:
        raise InputError(path, "has no 'config_json'", "not written by behavtrack agents train")
    cfg = TrainConfig(**json.loads(str(arrays.pop("config_json"))))
    models = _models(cfg, 1, "cpu")
    for agent, m in models.items():
        for role, net in m.items():
            prefix = f"{agent}/{role}/"
            state = {k[len(prefix):]: torch.from_numpy(v) for k, v in arrays.items()
                     if k.startswith(prefix)}
            net.load_state_dict(state)
    return models, cfg


def _curve_row(path: Path, iteration: int, cfg: TrainConfig, elapsed: float,
               steps: int) -> dict[str, Any]:
    """Success, chance and p of one evaluation file (the package's own analysis)."""
    from behavtrack.compare.agents import analyze_rollout
    from behavtrack.io.agents import load_rollouts

    rollout = load_rollouts(path, episode_steps=cfg.episode_steps)[0]
    _, row = analyze_rollout(rollout, n_shifts=cfg.n_shifts, seed=cfg.seed,
                             sync_limit=cfg.sync_limit)
    rew = rollout.pose["reward"].to_numpy()
    return {
        "iteration": iteration, "env_steps": steps, "elapsed_s": round(elapsed, 2),
        "success_rate": _num(row.get("success_rate")), "chance_rate": _num(row.get("chance_rate")),
        "p_value": _num(row.get("chance_p")), "n_pokes": int(row.get("n_pokes", 0) or 0),
        "n_correct": int(row.get("n_correct", 0)), "n_miss": int(row.get("n_miss", 0)),
        "reward_per_episode": round(float(rew.sum()) / 2 / cfg.eval_episodes, 3),
        "file": path.name,
    }


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(f) else round(f, 6)


def _prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(out, "is a file, not a folder", "give a folder for --out") from None
    except OSError as exc:
        raise InputError(out, f"cannot be created ({(exc.strerror or str(exc)).lower()})",
                         "choose an --out in a folder you can write to") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(out, "cannot be written (permission denied)",
                         "choose an --out in a folder you can write to")
    if any(out.glob("checkpoint_*.mat")) or (out / "training.json").exists():
        raise InputError(out, "holds the results of an earlier training run",
                         "give an empty or new --out")


# ---- the run --------------------------------------------------------------------------------
def train(
    out: str | os.PathLike,
    cfg: TrainConfig | None = None,
    *,
    quiet: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the two agents and write evaluation rollouts, policies and the learning curve.

    Parameters
    ----------
    out
        Output folder (created; must not hold an earlier run's results).
    cfg
        Settings (default :class:`TrainConfig`).
    quiet
        No progress bar.
    log
        Called with one line per evaluation (e.g. ``print``).

    Returns
    -------
    dict
        What ``training.json`` holds: ``config``, ``curve`` (one row per evaluation),
        ``elapsed_s``, ``finished`` (False if interrupted), versions.

    Raises
    ------
    InputError
        A setting out of range, an unwritable or used ``--out``, or the extra not installed.
    KeyboardInterrupt
        Re-raised after ``training.json`` records the checkpoints finished so far.

    """
    cfg = cfg or TrainConfig()
    cfg.check()
    out = Path(out)
    _prepare_out(out)
    require_extra()

    import skrl
    import torch
    from skrl.utils import set_seed

    from behavtrack.files import folder_lock, progress

    log = log or (lambda _line: None)
    torch.set_num_threads(1)  # small networks: one thread is as fast, and reproducible
    skrl.logger.setLevel("WARNING")
    set_seed(int(cfg.seed))
    device = "cpu"
    summary: dict[str, Any] = {
        "config": dataclasses.asdict(cfg), "curve": [], "finished": False,
        "library": {"skrl": skrl.__version__, "torch": torch.__version__.split("+")[0]},
        "policy": "per agent: one recurrent layer (config.cell, config.hidden units) + linear "
                  "head; a separate value network of the same form; skrl PPO_RNN",
    }
    t0 = time.perf_counter()
    with folder_lock(out, "behavtrack agents train"):
        (out / "policies").mkdir(exist_ok=True)
        models = _models(cfg, cfg.n_envs, device)
        agents = _ppo_agents(cfg, models, device)
        eval_seed = np.random.SeedSequence([cfg.seed, 1]).generate_state(1)[0]

        def checkpoint(iteration: int, steps: int) -> None:
            path = out / f"checkpoint_{iteration}.mat"
            _write_mat(path, _evaluate(cfg, models, int(eval_seed)))
            _write_policies(out / "policies" / f"checkpoint_{iteration}.npz", models, cfg)
            row = _curve_row(path, iteration, cfg, time.perf_counter() - t0, steps)
            summary["curve"].append(row)
            summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
            atomic_write_text(out / "training.json", json.dumps(summary, indent=1) + "\n")
            p = row["p_value"]
            log(f"iteration {iteration:>4}: success {row['success_rate'] or 0:.3f} vs chance "
                f"{row['chance_rate'] or 0:.3f} (p {p if p is not None else float('nan'):.4f}), "
                f"correct {row['n_correct']}, miss {row['n_miss']}, "
                f"reward/episode {row['reward_per_episode']:.1f}, {row['elapsed_s']:.0f} s")

        envs = [PokeSyncEnv(max_steps=cfg.episode_steps, sync_limit=cfg.sync_limit,
                            cooperative=cfg.noncoop_iterations == 0) for _ in range(cfg.n_envs)]
        for env, s in zip(envs, np.random.SeedSequence([cfg.seed, 0]).generate_state(
                cfg.n_envs), strict=True):
            env.reset(seed=int(s))
        for ppo in agents.values():
            ppo.enable_training_mode(True)
        try:
            checkpoint(0, 0)
            obs = torch.from_numpy(encode(envs))
            total = cfg.iterations * cfg.rollout_steps
            timestep = 0
            for it in progress(range(1, cfg.iterations + 1), desc="agents train",
                               quiet=quiet, unit="iteration"):
                for _ in range(cfg.rollout_steps):
                    for ppo in agents.values():
                        ppo.pre_interaction(timestep=timestep, timesteps=total)
                    with torch.no_grad():
                        acts = {a: agents[a].act(obs[j], None, timestep=timestep,
                                                 timesteps=total)[0]
                                for j, a in enumerate(AGENTS)}
                        rewards = np.zeros((2, cfg.n_envs, 1), dtype=np.float32)
                        done = np.zeros((cfg.n_envs, 1), dtype=bool)
                        a_np = {a: acts[a][:, 0].numpy() for a in AGENTS}
                        for e, env in enumerate(envs):
                            _, r, _, trunc, _ = env.step({a: int(a_np[a][e]) for a in AGENTS})
                            rewards[0, e, 0], rewards[1, e, 0] = r["agent1"], r["agent2"]
                            done[e, 0] = trunc["agent1"]
                        nxt = torch.from_numpy(encode(envs))
                        truncated = torch.from_numpy(done)
                        terminated = torch.zeros_like(truncated)
                        for j, a in enumerate(AGENTS):
                            agents[a].record_transition(
                                observations=obs[j], states=None, actions=acts[a],
                                rewards=torch.from_numpy(rewards[j]), next_observations=nxt[j],
                                next_states=None, terminated=terminated, truncated=truncated,
                                infos={}, timestep=timestep, timesteps=total)
                    for ppo in agents.values():
                        ppo.post_interaction(timestep=timestep, timesteps=total)
                    if done.any():
                        for env in envs:
                            if not env.agents:  # the task of the next episode
                                env.cooperative = it > cfg.noncoop_iterations
                                env.reset()
                        nxt = torch.from_numpy(encode(envs))
                    obs = nxt
                    timestep += 1
                if it % cfg.eval_every == 0 or it == cfg.iterations:
                    checkpoint(it, it * cfg.rollout_steps * cfg.n_envs)
            summary["finished"] = True
        finally:
            summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
            atomic_write_text(out / "training.json", json.dumps(summary, indent=1) + "\n")
    return summary
