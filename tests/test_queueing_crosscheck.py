"""The vectorized RoutingEnv against the independent customer-level event simulation.

Pathwise: the same random inputs give the same waits, rewards and idle periods (to rounding).
Statistically: independent random streams give the same averages within confidence intervals.
"""
import math

import numpy as np
import pytest

from qpolicy.queueing import RoutingEnv, policies, simulate, theory
from qpolicy.queueing.customer_sim import replay, simulate_customers


def run_env(n_envs, steps, lam, seed, policy_seed=0, throughput=lambda t: t * t):
    env = RoutingEnv(n_envs=n_envs, arrival_rate=lam, throughput=throughput)
    obs = env.reset(seed=seed)
    rng = np.random.default_rng(policy_seed)
    log = {k: [] for k in ("x", "dt", "servers", "second", "cost", "reward", "q")}
    for _ in range(steps):
        log["x"].append(obs[:, :, 0])
        log["q"].append(env.state.copy())
        obs, reward, cost, _, _, info = env.step(rng.integers(0, 2, (n_envs, 2)))
        log["dt"].append(info["dt"])
        log["servers"].append(info["servers"])
        log["second"].append(info["second_is_0"])
        log["cost"].append(cost)
        log["reward"].append(reward)
    return env, {k: np.array(v) for k, v in log.items()}


@pytest.mark.parametrize("lam, throughput", [(0.8, lambda t: t * t), (0.5, np.sqrt)])
def test_same_inputs_same_waits_rewards_and_idle_periods(lam, throughput):
    env, log = run_env(n_envs=3, steps=2000, lam=lam, seed=4, throughput=throughput)
    for e in range(3):
        trace = replay(log["x"][:, e], log["dt"][:, e], log["servers"][:, e],
                       log["second"][:, e], throughput=throughput)
        np.testing.assert_allclose(trace.waits.mean(axis=1), log["cost"][:, e], atol=1e-9)
        assert trace.reward == pytest.approx(log["reward"][:, e].sum(), rel=1e-11)
        np.testing.assert_allclose(trace.open_idle, np.maximum(-env.state[e], 0), atol=1e-9)
        # idle periods ended at epochs where the env had q < 0 and sent work: length -q
        q, servers = log["q"][:, e], log["servers"][:, e]
        got = np.stack([(servers == j).any(axis=1) for j in (0, 1)], axis=1)
        ended = (q < 0) & got
        env_lengths = sorted(-q[ended])
        des_lengths = sorted(trace.idle_length[trace.idle_length > 0])
        np.testing.assert_allclose(des_lengths, env_lengths, atol=1e-9)


def test_replay_rejects_bad_input():
    with pytest.raises(ValueError, match="servers|actions"):
        replay(np.ones((2, 2)), np.ones(2), np.array([[0, 2], [0, 0]]), np.zeros(2, bool))
    with pytest.raises(ValueError, match="positive"):
        replay(np.ones((2, 2)), -np.ones(2), np.zeros((2, 2), int), np.zeros(2, bool))
    with pytest.raises(ValueError, match="NaN"):
        replay(np.full((2, 2), np.nan), np.ones(2), np.zeros((2, 2), int), np.zeros(2, bool))


#: Per-interval level; with 8 comparisons here (and ~40 interval checks in the suite) this keeps
#: the chance of a false failure small (Bonferroni).  Seeds are fixed: runs are deterministic.
CONFIDENCE = 0.9995


def agree(a, a_ci, b, b_ci):
    """|a − b| within the combined interval (half-widths added in quadrature)."""
    half = math.hypot((a_ci[1] - a_ci[0]) / 2, (b_ci[1] - b_ci[0]) / 2)
    return abs(a - b) <= half


@pytest.mark.parametrize("lam, name", [(0.8, "threshold"), (0.5, "entangled")])
def test_independent_streams_agree_within_confidence_intervals(lam, name):
    if name == "threshold":
        w = theory.frontier("communication", lam, 1.0, p=[0.4], bins=None).strategies[0]
        policy = policies.communication(w, lam, 1.0)
    else:
        policy = policies.entangled(lambda x: np.pi / 4 * (1 - np.exp(-x)))
    vec = simulate(policy, arrival_rate=lam, steps=200_000, n_envs=100, seed=1,
                   confidence=CONFIDENCE)
    des = simulate_customers(policy, arrival_rate=lam, arrivals=100_000, seed=2, batches=40,
                             confidence=CONFIDENCE)
    for field in ("mean_wait", "throughput", "idle_fraction", "mean_idle"):
        a, b = getattr(vec, field), getattr(des, field)
        assert agree(a, getattr(vec, field + "_ci"), b, getattr(des, field + "_ci")), \
            f"{field}: vectorized {a:.5g} vs customer-level {b:.5g}"
    assert abs(vec.split_fraction - des.split_fraction) < 0.01
