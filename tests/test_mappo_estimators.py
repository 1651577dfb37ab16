"""Advantage estimation for continuing tasks: the LSTD critic against closed-form values of a
Markov reward process, the average-reward objective, the input-dependent baseline (unbiased,
lower variance), and the routing env's exogenous-input report."""
import numpy as np
import pytest

from qpolicy.learn.mappo import (Agent, MAPPOConfig, advantage_parts, input_baseline,
                                 quadratic_features)
from qpolicy.queueing import RoutingEnv

#: AR(1) Markov reward process s' = ρ s + σ ε with reward s²: V(s) = a s² + c in closed form.
RHO, SIGMA = 0.5, 1.0


def ar1_rollout(T=400, N=256, seed=0):
    """A rollout dict of the AR(1) process (state_dim 1), rewards and costs s_t², no episodes."""
    rng = np.random.default_rng(seed)
    s = np.empty((T + 1, N))
    s[0] = rng.standard_normal(N) * SIGMA / np.sqrt(1 - RHO ** 2)        # stationary start
    for t in range(T):
        s[t + 1] = RHO * s[t] + SIGMA * rng.standard_normal(N)
    reward = s[:-1] ** 2
    zeros = np.zeros((T, N), bool)
    return {"state": s[:-1, :, None], "next_state": s[1:, :, None], "reward": reward,
            "cost": 2 * reward, "terminated": zeros, "truncated": zeros}


def lstd_agent(**changes):
    config = MAPPOConfig(**{**dict(critic="lstd", coordinator="none", actor="network",
                                   hidden=(4,)), **changes})
    return Agent(config, n_agents=2, obs_dim=1, state_dim=1, n_actions=2)


def test_quadratic_features_span_and_drop_empty_parts():
    x = np.array([[1.0, 2.0], [-3.0, 0.5]])
    phi = quadratic_features(x)
    # parts: x1+, x2+, x1- (x2- is zero on the batch and left out) → 1 + 3 + 6 columns
    assert phi.shape == (2, 10)
    squares = phi[:, [4, 7, 9]]                  # (x1+)², (x2+)², (x1-)²
    np.testing.assert_array_equal(squares, [[1.0, 4.0, 0.0], [0.0, 0.25, 9.0]])


def test_lstd_critic_recovers_the_discounted_value_of_an_ar1_process():
    gamma = 0.9
    agent = lstd_agent(gamma=gamma)
    roll = ar1_rollout()
    value, _, cost_value, _ = agent.critic.values({}, roll)
    a = 1 / (1 - gamma * RHO ** 2)                    # V = a s² + c (solve V = s² + γ E V(s'))
    c = gamma * a * SIGMA ** 2 / (1 - gamma)
    exact = a * roll["state"][..., 0] ** 2 + c
    np.testing.assert_allclose(value, exact, rtol=0.02)    # sampling error of LSTD, ~0.3 % seen
    np.testing.assert_allclose(cost_value, 2 * exact, rtol=0.02)


def test_average_objective_gives_the_differential_value():
    agent = lstd_agent(objective="average", gae_lambda=0.0)
    roll = ar1_rollout(seed=1)
    parts = advantage_parts(agent, {}, roll)
    s2 = roll["state"][..., 0] ** 2
    # differential value h(s) = s²/(1 − ρ²) + const: compare differences between samples
    slope = np.polyfit(s2.ravel(), parts["value"].ravel(), 1)[0]
    assert slope == pytest.approx(1 / (1 - RHO ** 2), rel=0.02)
    # the TD(0) advantage of a Markov reward process (no actions) averages to zero
    assert abs(parts["A_r"].mean()) < 0.02 * parts["A_r"].std()


def test_input_baseline_keeps_the_gradient_and_removes_input_noise():
    rng = np.random.default_rng(3)
    T, N = 200, 100
    action = rng.integers(0, 2, size=(T, N))
    score = action - 0.5                               # ∇ log π of a fair coin's logit
    state = rng.standard_normal((T, N, 1))
    xi = rng.standard_normal((T, N, 1))                # exogenous: independent of the action
    advantage = action + 5 * xi[..., 0] ** 2 + 3 * state[..., 0] * xi[..., 0] \
        + 0.1 * rng.standard_normal((T, N))
    corrected = input_baseline(advantage, state, xi)
    true_gradient = 0.25                               # E[score · action]
    for A in (advantage, corrected):
        terms = (score * A).ravel()
        assert abs(terms.mean() - true_gradient) < 4 * terms.std() / np.sqrt(terms.size)
    assert np.var(score * corrected) < np.var(score * advantage) / 50


def test_input_baseline_needs_two_copies():
    with pytest.raises(ValueError, match="at least 2"):
        input_baseline(np.zeros((3, 1)), np.zeros((3, 1, 1)), np.zeros((3, 1, 1)))


def test_routing_env_reports_its_exogenous_input():
    runs = []
    for actions in (np.zeros((4, 2), int), np.array([[0, 1]] * 4)):
        env = RoutingEnv(n_envs=4)
        env.reset(seed=7)
        seen = []
        for _ in range(3):
            obs, *_, info = env.step(actions)
            seen.append(info["exogenous"])
            np.testing.assert_array_equal(info["exogenous"][:, 0], info["dt"])
            np.testing.assert_array_equal(info["exogenous"][:, 1:3], obs[:, :, 0])
        runs.append(np.array(seen))
    np.testing.assert_array_equal(runs[0], runs[1])    # the same whatever the actions


@pytest.mark.parametrize("changes, match", [
    (dict(critic="table"), "critic"),
    (dict(objective="episodic"), "objective"),
])
def test_bad_estimator_config(changes, match):
    with pytest.raises(ValueError, match=match):
        lstd_agent(**changes)


def test_input_baseline_run_needs_two_env_copies():
    from qpolicy.learn.mappo import train
    config = MAPPOConfig(actor="pass", input_baseline=True, updates=1, n_steps=2, hidden=(4,))
    with pytest.raises(ValueError, match="n_envs"):
        train(RoutingEnv(n_envs=1), config, seed=0, log=None)


def test_annealed_learning_rate_decays_linearly_over_the_run(monkeypatch):
    from qpolicy.learn import mappo
    from qpolicy.learn.adam import Adam
    seen = []
    step = Adam.step
    monkeypatch.setattr(Adam, "step", lambda self, p, g, s, lr=None: seen.append(lr) or step(self, p, g, s, lr=lr))
    config = MAPPOConfig(actor="pass", updates=4, n_steps=2, epochs=1, minibatches=1, lr=0.1,
                         anneal_lr=True, hidden=(4,))
    mappo.train(RoutingEnv(n_envs=4), config, seed=0, log=None)
    np.testing.assert_allclose(seen, [0.1, 0.075, 0.05, 0.025])
