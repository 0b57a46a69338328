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
``torch.save`` checkpoints are switched off). ``training.json`` holds the settings, the
learning curve and the best evaluation: per evaluation, the synchronised-poke success rate,
its circular-shift chance and p-value (``analyze_rollout`` of :mod:`behavtrack.learning.agents`,
the shifts seeded by ``--seed`` and the iteration, never by the output path), rewards, times
and the training episodes' counts since the previous evaluation. Every file is written
atomically, weights before rollouts before the curve, so a run stopped with Ctrl-C keeps
every checkpoint it finished.

The training task follows the original's schedule and the mice's: ``noncoop_iterations`` in
the non-cooperative task, then the cooperative task with a synchronisation window that starts
wide (``window_start``) and narrows by one step every ``window_every`` iterations to
``sync_limit`` (see :meth:`TrainConfig.train_window`).
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

from behavtrack.agents.config import TrainConfig
from behavtrack.agents.env import AGENTS, PokeSyncEnv, observation_size
from behavtrack.errors import InputError
from behavtrack.files import atomic_path, atomic_write_text

__all__ = ["TrainConfig", "best_evaluation", "load_policies", "require_extra", "run_label", "train"]

_EXTRA_HINT = "install the optional extra: pip install 'behavtrack[agents]'"

# one-hot layout of the observation (keys in sorted order): key, size offset
_KEYS = ("nosepoke0", "nosepoke1", "otheragent0", "otheragent1", "otherpoke0", "otherpoke1",
         "self0", "self1", "water0", "water1")


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
    from skrl.resources.preprocessors.torch import RunningStandardScaler
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
        """Outputs standardised values; ``scaler(v, inverse=True)`` gives returns.

        The scaler is skrl's ``RunningStandardScaler`` that PPO updates (its
        ``value_preprocessor``); as a submodule its statistics are saved with the weights.
        """

        def __init__(self) -> None:
            _Recurrent.__init__(self, 1)
            DeterministicMixin.__init__(self, clip_actions=False)
            self.scaler = RunningStandardScaler(size=1, device=device)

    return {agent: {"policy": Policy(), "value": Value()} for agent in AGENTS}


def _ppo_agents(cfg: TrainConfig, models: dict[str, dict[str, Any]], device: str) -> dict:
    """One skrl PPO_RNN per agent, without TensorBoard or (pickled) checkpoints."""
    import gymnasium
    import torch
    from skrl.agents.torch.ppo import PPO_RNN
    from skrl.memories.torch import RandomMemory
    from skrl.resources.schedulers.torch import KLAdaptiveLR

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
            # PPO builds its value preprocessor from this factory: the value model's own
            # scaler, so that its statistics are saved with the model
            "value_preprocessor": lambda _scaler=models[agent]["value"].scaler, **_: _scaler,
            "time_limit_bootstrap": True,
            "experiment": {"write_interval": 0, "checkpoint_interval": 0,
                           "directory": os.devnull},
        }
        if cfg.kl_threshold > 0:
            ppo_cfg["learning_rate_scheduler"] = KLAdaptiveLR
            ppo_cfg["learning_rate_scheduler_kwargs"] = {"kl_threshold": cfg.kl_threshold}
        elif cfg.lr_final < 1:  # skrl steps the scheduler once per learning epoch
            ppo_cfg["learning_rate_scheduler"] = torch.optim.lr_scheduler.LinearLR
            ppo_cfg["learning_rate_scheduler_kwargs"] = {
                "start_factor": 1.0, "end_factor": cfg.lr_final,
                "total_iters": cfg.iterations * cfg.learning_epochs}
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
                value = models[agent]["value"]
                v, vouts = value.act({"observations": x, "rnn": [hv[agent]]}, role="value")
                v = value.scaler(v, inverse=True)
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


def run_label(seed: int) -> str:
    """Return the run label of a training run's evaluations: ``"seed<seed>"``.

    ``analyze_rollout`` (:mod:`behavtrack.learning.agents`) seeds the circular shifts of each
    rollout from the global seed, this label and the checkpoint, so the learning curve in
    ``training.json`` depends on ``--seed`` and the iteration, never on the ``--out`` path.
    """
    return f"seed{int(seed)}"


def _curve_row(path: Path, iteration: int, cfg: TrainConfig, elapsed: float,
               steps: int) -> dict[str, Any]:
    """Success, chance and p of one evaluation file (the package's own analysis).

    The shifts are seeded by ``cfg.seed``, :func:`run_label` and ``iteration``.
    """
    from behavtrack.io.agents import load_rollouts
    from behavtrack.learning.agents import analyze_rollout

    rollout = load_rollouts(path, run=run_label(cfg.seed), checkpoint=iteration,
                            episode_steps=cfg.episode_steps)[0]
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
        raise InputError(out, "is a file, not a folder", "give a folder for out=") from None
    except OSError as exc:
        raise InputError(out, f"cannot be created ({(exc.strerror or str(exc)).lower()})",
                         "choose out= in a folder you can write to") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(out, "cannot be written (permission denied)",
                         "choose out= in a folder you can write to")
    if any(out.glob("checkpoint_*.mat")) or (out / "training.json").exists():
        raise InputError(out, "holds the results of an earlier training run",
                         "give an empty or new folder as out=")


# ---- the run --------------------------------------------------------------------------------
def train(
    out: str | os.PathLike,
    cfg: TrainConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the two agents and write evaluation rollouts, policies and the learning curve.

    Parameters
    ----------
    out
        Output folder (created; must not hold an earlier run's results).
    cfg
        Settings (default :class:`TrainConfig`).
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
        "config": dataclasses.asdict(cfg), "curve": [], "best": None, "finished": False,
        "library": {"skrl": skrl.__version__, "torch": torch.__version__.split("+")[0]},
        "policy": "per agent: one recurrent layer (config.cell, config.hidden units) + linear "
                  "head; a separate value network of the same form; skrl PPO_RNN",
        "run": run_label(cfg.seed),
    }
    t0 = time.perf_counter()
    with folder_lock(out, "behavtrack agents train", param="out"):
        (out / "policies").mkdir(exist_ok=True)
        models = _models(cfg, cfg.n_envs, device)
        agents = _ppo_agents(cfg, models, device)
        eval_seed = np.random.SeedSequence([cfg.seed, 1]).generate_state(1)[0]
        counts = dict.fromkeys(("episodes", "correct", "miss", "pokes"), 0)

        def checkpoint(iteration: int, steps: int) -> None:
            # weights first, then the rollouts, then the curve: a checkpoint listed in
            # training.json has both files complete
            _write_policies(out / "policies" / f"checkpoint_{iteration}.npz", models, cfg)
            path = out / f"checkpoint_{iteration}.mat"
            _write_mat(path, {**_evaluate(cfg, models, int(eval_seed)),
                              "run": np.array(run_label(cfg.seed))})
            row = _curve_row(path, iteration, cfg, time.perf_counter() - t0, steps)
            n_ep = max(counts["episodes"], 1)
            row["train"] = {
                "sync_limit": cfg.train_window(max(iteration, 1)),
                "cooperative": iteration > cfg.noncoop_iterations,
                "episodes": counts["episodes"],
                "correct_per_episode": round(counts["correct"] / n_ep, 2),
                "miss_per_episode": round(counts["miss"] / n_ep, 2),
                "pokes_per_episode": round(counts["pokes"] / n_ep, 2),
            }
            counts.update(dict.fromkeys(counts, 0))
            summary["curve"].append(row)
            summary["best"] = best_evaluation(summary["curve"])
            summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
            atomic_write_text(out / "training.json", json.dumps(summary, indent=1) + "\n")
            p = row["p_value"]
            log(f"iteration {iteration:>4}: success {row['success_rate'] or 0:.3f} vs chance "
                f"{row['chance_rate'] or 0:.3f} (p {p if p is not None else float('nan'):.4f}), "
                f"correct {row['n_correct']}, miss {row['n_miss']}, "
                f"reward/episode {row['reward_per_episode']:.1f}, {row['elapsed_s']:.0f} s")

        envs = [PokeSyncEnv(max_steps=cfg.episode_steps, sync_limit=cfg.train_window(1),
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
                               unit="iteration"):
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
                            _, r, _, trunc, info = env.step({a: int(a_np[a][e]) for a in AGENTS})
                            rewards[0, e, 0], rewards[1, e, 0] = r["agent1"], r["agent2"]
                            done[e, 0] = trunc["agent1"]
                            counts["correct"] += env.sync_poke
                            counts["miss"] += env.miss
                            counts["pokes"] += info["agent1"]["poke"] + info["agent2"]["poke"]
                        nxt = torch.from_numpy(encode(envs))
                        # the time limit ends an episode: no advantage flows across it, and
                        # skrl bootstraps the cut-off return from the value (time_limit_bootstrap)
                        ended = torch.from_numpy(done)
                        for j, a in enumerate(AGENTS):
                            agents[a].record_transition(
                                observations=obs[j], states=None, actions=acts[a],
                                rewards=torch.from_numpy(rewards[j]), next_observations=nxt[j],
                                next_states=None, terminated=ended, truncated=ended,
                                infos={}, timestep=timestep, timesteps=total)
                    for ppo in agents.values():
                        ppo.post_interaction(timestep=timestep, timesteps=total)
                    if done.any():
                        for env in envs:
                            if not env.agents:  # the task of the next episode
                                counts["episodes"] += 1
                                env.cooperative = it > cfg.noncoop_iterations
                                env.sync_limit = cfg.train_window(it + 1)
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


def best_evaluation(
    curve: list[dict[str, Any]], alpha: float = 0.01, min_pokes: int = 100
) -> dict[str, Any] | None:
    """Return the best evaluation of a learning curve, with its files.

    The best is the one with the largest margin of success over chance among those above
    chance with ``p < alpha`` and at least ``min_pokes`` pokes; if none is, the one with the
    largest margin among those with ``min_pokes`` (or among all). (Choosing the best of many
    evaluations is a selection: its p-value alone overstates the evidence.)

    Parameters
    ----------
    curve
        Rows of ``training.json``'s ``curve``.
    alpha
        Significance level.
    min_pokes
        Fewest pokes (both agents) an evaluation needs to count: agents that nearly stopped
        poking can be "above chance" on a handful of pokes.

    Returns
    -------
    dict or None
        ``iteration, success_rate, chance_rate, p_value, file, policies``; None for an
        empty curve.

    """
    rows = [c for c in curve if c.get("success_rate") is not None
            and c.get("chance_rate") is not None]
    if not rows:
        return None

    def key(c: dict[str, Any]) -> tuple[bool, bool, float, int]:
        enough = c.get("n_pokes", min_pokes) >= min_pokes
        sig = enough and c["p_value"] is not None and c["p_value"] < alpha and \
            c["success_rate"] > c["chance_rate"]
        return sig, enough, c["success_rate"] - c["chance_rate"], -c["iteration"]

    b = max(rows, key=key)
    return {"iteration": b["iteration"], "success_rate": b["success_rate"],
            "chance_rate": b["chance_rate"], "p_value": b["p_value"], "file": b["file"],
            "policies": f"policies/checkpoint_{b['iteration']}.npz"}
