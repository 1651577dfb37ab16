"""Long runs of a stationary policy on :class:`RoutingEnv`, with batch-means confidence intervals."""
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

from ..validation import as_generator, check_int, check_real_scalar
from .env import RoutingEnv, check_rates, square

#: Minimum number of batch means behind a confidence interval.
MIN_BATCHES = 30


@dataclass(frozen=True)
class SimulationStats:
    """Long-run averages of one simulation; every ``*_ci`` is a ``(low, high)`` interval.

    ``mean_wait``: per customer (time until its service starts).  ``throughput``: baseline-task
    reward per unit time, both servers together.  ``idle_fraction``: fraction of time a server
    is idle.  ``mean_idle``: mean length of a completed idle period.  ``split_fraction``:
    fraction of pairs routed to different servers (the p of :mod:`.theory`).  ``steps``: arrival
    epochs used (after warm-up), over ``n_envs`` copies and ``batches`` batch means of
    ``batch_length`` steps each.  The intervals assume batches much longer than the correlation
    time of the queue (of the order of 1/(μ(1−√ρ)²) time units, ≈ 90 at λ = 0.8, μ = 1); with
    many copies and few steps per copy they come out too narrow.
    """
    mean_wait: float
    mean_wait_ci: tuple
    throughput: float
    throughput_ci: tuple
    idle_fraction: float
    idle_fraction_ci: tuple
    mean_idle: float
    mean_idle_ci: tuple
    split_fraction: float
    steps: int
    n_envs: int
    batches: int
    batch_length: int
    confidence: float


def default_warmup(arrival_rate, service_rate):
    """Warm-up steps: 20 relaxation times of an M/M/1 queue at the same load, at least 200.

    The relaxation time 1/(μ(1−√ρ)²) (in time units; × λ in steps) is a heuristic for how long
    the start from empty queues biases the averages.
    """
    rho = arrival_rate / service_rate
    relaxation_steps = arrival_rate / (service_rate * (1 - math.sqrt(rho)) ** 2)
    return max(200, math.ceil(20 * relaxation_steps))


def batch_interval(numerators, denominators, confidence):
    """Ratio estimate Σy/Σx with a Student-t interval from batch sums (delta method)."""
    y, x = np.ravel(numerators), np.ravel(denominators)
    ratio = y.sum() / x.sum()
    b = len(y)
    spread = np.std(y - ratio * x, ddof=1) / (np.mean(x) * math.sqrt(b))
    half = _stats.t.ppf(0.5 + confidence / 2, b - 1) * spread
    return float(ratio), (float(ratio - half), float(ratio + half))


def simulate(policy, arrival_rate=0.8, service_rate=1.0, steps=10**6, seed=0, n_envs=256,
             throughput=square, warmup=None, batches=None, confidence=0.95):
    """Run ``policy(x, rng) -> actions`` for about ``steps`` arrival epochs; return the averages.

    The epochs are spread over ``n_envs`` independent copies of :class:`RoutingEnv`
    (balanced, observing job sizes); each copy first runs ``warmup`` steps (default
    :func:`default_warmup`) that are discarded, then ``steps // n_envs`` steps cut into
    consecutive batches (``batches`` per copy; default: enough for :data:`MIN_BATCHES` in all).
    Intervals are batch means over all (copy, batch) pairs.

    Example:
        >>> from qpolicy.queueing.policies import always_split
        >>> st = simulate(always_split, arrival_rate=0.5, steps=200_000, seed=1)
        >>> abs(st.mean_wait - 1.0) < 0.05     # M/M/1: ρ/(μ−λ) = 1
        True
    """
    if not callable(policy):
        raise TypeError(f"policy must be a callable (x, rng) -> actions, got {type(policy)}")
    arrival_rate, service_rate = check_rates(arrival_rate, service_rate)
    n_envs = check_int(n_envs, "n_envs", minimum=1)
    confidence = check_real_scalar(confidence, "confidence", 0.0, 1.0, lo_open=True, hi_open=True)
    warmup = default_warmup(arrival_rate, service_rate) if warmup is None else \
        check_int(warmup, "warmup", minimum=0)
    per_copy = max(1, math.ceil(MIN_BATCHES / n_envs)) if batches is None else \
        check_int(batches, "batches", minimum=1)
    batch_len = check_int(steps, "steps", minimum=1) // (n_envs * per_copy)
    if batch_len < 1 or n_envs * per_copy < 2:
        raise ValueError(f"steps={steps} is too small for {n_envs} copies × {per_copy} batches")
    rng = as_generator(seed, "seed")
    env = RoutingEnv(n_envs, arrival_rate, service_rate, throughput=throughput)
    obs = env.reset(seed=rng)
    for _ in range(warmup):
        obs = env.step(policy(obs[:, :, 0], rng))[0]

    names = ("wait", "reward", "time", "idle_time", "idle_count", "idle_length", "split")
    sums = {name: np.zeros((per_copy, n_envs)) for name in names}
    for b in range(per_copy):
        acc = {name: sums[name][b] for name in names}
        for _ in range(batch_len):
            q = env.state                   # a copy
            obs, reward, cost, _, _, info = env.step(policy(obs[:, :, 0], rng))
            servers, dt = info["servers"], info["dt"]
            got_work = np.stack([(servers == j).any(axis=1) for j in (0, 1)], axis=1)
            ended = (q < 0) & got_work                      # an idle period ends at this epoch
            continuing = (q < 0) & ~got_work
            idle = np.where(continuing, dt[:, None], np.maximum(-env.state, 0.0))
            acc["wait"] += cost
            acc["reward"] += reward
            acc["time"] += dt
            acc["idle_time"] += idle.sum(axis=1)
            acc["idle_count"] += ended.sum(axis=1)
            acc["idle_length"] += np.where(ended, -q, 0.0).sum(axis=1)
            acc["split"] += servers[:, 0] != servers[:, 1]
    ones = np.full_like(sums["wait"], batch_len)
    wait, wait_ci = batch_interval(sums["wait"], ones, confidence)
    rate, rate_ci = batch_interval(sums["reward"], sums["time"], confidence)
    idle, idle_ci = batch_interval(sums["idle_time"], 2 * sums["time"], confidence)
    mean_idle, mean_idle_ci = batch_interval(sums["idle_length"], sums["idle_count"], confidence)
    return SimulationStats(
        mean_wait=wait, mean_wait_ci=wait_ci, throughput=rate, throughput_ci=rate_ci,
        idle_fraction=idle, idle_fraction_ci=idle_ci, mean_idle=mean_idle,
        mean_idle_ci=mean_idle_ci, split_fraction=float(sums["split"].sum() / ones.sum()),
        steps=int(ones.sum()), n_envs=n_envs, batches=per_copy * n_envs, batch_length=batch_len,
        confidence=confidence)
