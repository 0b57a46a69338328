"""The environment's success rule on the grid, replayed from poke trains, and its chance.

``success`` in the grid world is the environment's own rule (``MultiAgentSync_fullobs.step``
of MARL_Environment_Poke), replayed exactly from the pokes (:func:`replay_sync`): both agents
poked within ``sync_limit`` + 1 steps (the step itself and the 2 before it), each poke
counting for one synchronized pair, and an unmatched poke leaving the window resets both
agents' histories (a miss). The replay reproduces the rollouts' recorded ``correct`` and
``miss`` flags.

Chance is the same rule replayed after circularly shifting one agent's poke train within each
episode (:func:`shifted_trains`: ``n_shifts`` seeded integer shifts per episode, all shifts at
once as a ``(n_shifts, steps)`` array).
"""

from __future__ import annotations

import numpy as np

from behavtrack.io.agents import SYNC_LIMIT

__all__ = ["SYNC_LIMIT", "replay_sync", "shifted_trains"]


def replay_sync(
    pokes1: np.ndarray,
    pokes2: np.ndarray,
    episode_start: np.ndarray,
    sync_limit: int = SYNC_LIMIT,
    return_flags: bool = False,
) -> dict[str, np.ndarray]:
    """Replay the environment's synchronized-poke rule on poke trains, for many trains at once.

    Mirrors ``MultiAgentSync_fullobs.step``: with each agent's pokes of the last
    ``sync_limit`` steps and the current step, both agents having poked makes a synchronized
    poke (histories reset); otherwise a poke ``sync_limit`` steps old makes a miss (histories
    reset); otherwise the current pokes enter the histories. Histories reset at each episode
    start. The loop runs over the steps of an episode; every operation is vectorized over the
    trains and the episodes (episodes of unequal length are padded, padding never counts).

    Parameters
    ----------
    pokes1, pokes2
        ``(T,)`` or ``(S, T)`` boolean poke flags per step of each agent (broadcast).
    episode_start
        ``(T,)`` True on each episode's first step.
    sync_limit
        The environment's ``sync_limit``.
    return_flags
        Also return, per train, the steps of synchronized pokes and misses and which pokes
        took part in a synchronized pair.

    Returns
    -------
    dict
        ``n_sync``, ``n_miss``, ``n_success_pokes`` (``(S,)``); with ``return_flags``:
        ``sync``, ``miss`` (``(S, T)``), ``success1``, ``success2`` (``(S, T)``: the poke of
        that step took part in a synchronized pair).

    """
    p1 = np.atleast_2d(np.asarray(pokes1, dtype=bool))
    p2 = np.atleast_2d(np.asarray(pokes2, dtype=bool))
    p1, p2 = np.broadcast_arrays(p1, p2)
    n_s, n_t = p1.shape
    lim = int(sync_limit)
    # lay the steps out as (episode, step in episode): the loop runs over steps within an
    # episode, with every operation vectorized over the trains and the episodes
    start = np.asarray(episode_start, dtype=bool).copy()
    start[0] = True
    ep = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    pos = np.arange(n_t) - first[ep]
    n_e, n_l = len(first), int(pos.max()) + 1
    valid = np.zeros((n_e, n_l), dtype=bool)
    valid[ep, pos] = True
    q1 = np.zeros((n_s, n_e, n_l), dtype=bool)
    q2 = np.zeros((n_s, n_e, n_l), dtype=bool)
    q1[:, ep, pos] = p1
    q2[:, ep, pos] = p2
    # histories: one (trains, episodes) array per lag, oldest first
    h1 = [np.zeros((n_s, n_e), dtype=bool) for _ in range(lim)]
    h2 = [np.zeros((n_s, n_e), dtype=bool) for _ in range(lim)]
    n_sync = np.zeros((n_s, n_e), dtype=int)
    n_miss = np.zeros((n_s, n_e), dtype=int)
    n_ok = np.zeros((n_s, n_e), dtype=int)
    if return_flags:
        sync_f = np.zeros((n_s, n_e, n_l), dtype=bool)
        miss_f = np.zeros((n_s, n_e, n_l), dtype=bool)
        ok1 = np.zeros((n_s, n_e, n_l), dtype=bool)
        ok2 = np.zeros((n_s, n_e, n_l), dtype=bool)
    none = np.zeros((n_s, n_e), dtype=bool)
    for t in range(n_l):
        a1, a2, v = q1[:, :, t], q2[:, :, t], valid[None, :, t]
        any1, any2, count = a1.copy(), a2.copy(), a1.astype(int) + a2
        for k in range(lim):
            any1 |= h1[k]
            any2 |= h2[k]
            count += h1[k]
            count += h2[k]
        sync = any1 & any2 & v
        miss = (~sync & (h1[0] | h2[0]) & v) if lim > 0 else none
        n_sync += sync
        n_miss += miss
        n_ok += sync * count
        if return_flags:
            sync_f[:, :, t], miss_f[:, :, t] = sync, miss
            ok1[:, :, t], ok2[:, :, t] = sync & a1, sync & a2
            for k in range(lim):
                past = t - lim + k
                if past >= 0:
                    ok1[:, :, past] |= sync & h1[k]
                    ok2[:, :, past] |= sync & h2[k]
        if lim > 0:
            keep = ~(sync | miss)
            h1 = [*h1[1:], a1 & keep]
            h2 = [*h2[1:], a2 & keep]
            if lim > 1:
                h1[:-1] = [h & keep for h in h1[:-1]]
                h2[:-1] = [h & keep for h in h2[:-1]]
    n_sync, n_miss, n_ok = n_sync.sum(axis=1), n_miss.sum(axis=1), n_ok.sum(axis=1)
    out = {"n_sync": n_sync, "n_miss": n_miss, "n_success_pokes": n_ok}
    if return_flags:
        out.update(sync=sync_f[:, ep, pos], miss=miss_f[:, ep, pos],
                   success1=ok1[:, ep, pos], success2=ok2[:, ep, pos])
    return out


def shifted_trains(
    pokes: np.ndarray, episode: np.ndarray, n_shifts: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_shifts, T)`` poke flags circularly shifted within each episode by random steps."""
    n_t = len(pokes)
    out = np.zeros((n_shifts, n_t), dtype=bool)
    rows = np.arange(n_shifts)[:, None]
    for ep in np.unique(episode):
        idx = np.flatnonzero(episode == ep)
        lo, length = idx[0], len(idx)
        hits = np.flatnonzero(pokes[idx])
        if length < 2 or len(hits) == 0:
            continue
        shift = rng.integers(1, length, size=n_shifts)
        out[rows, lo + (hits[None, :] + shift[:, None]) % length] = True
    return out
