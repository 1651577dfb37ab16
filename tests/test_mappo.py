"""MAPPO with a coordinator: coordinator vs the Born rule, sampling, CHSH as a one-step
environment (entangled beats 3/4, shared randomness cannot), exact checkpoint resume, errors."""
import dataclasses
import json

import numpy as np
import pytest

import qpolicy as qp
from qpolicy.learn.mappo import (Agent, EntangledCoordinator, MAPPOConfig, _collect,
                                 central_state, train)

#: Tolerance for probabilities computed two ways in float64.
TOL = 1e-12
CLASSICAL_CHSH = 0.75
QUESTIONS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


class CHSHEnv:
    """CHSH as a one-step environment: each agent observes its one-hot question bit, the shared
    reward is 1 iff a_1 XOR a_2 = o_1 AND o_2; every step terminates (auto-reset).  With
    ``truncate=True`` every step is instead a time-limit cut (for the bootstrapping test)."""

    def __init__(self, n_envs, truncate=False):
        self.n_envs, self.truncate = n_envs, truncate

    def _ask(self):
        self.questions = self.rng.integers(0, 2, size=(self.n_envs, 2))
        return np.eye(2)[self.questions]

    def reset(self, seed):
        self.rng = np.random.default_rng(seed)
        return self._ask()

    def step(self, actions):
        win = (actions[:, 0] ^ actions[:, 1]) == (self.questions[:, 0] & self.questions[:, 1])
        done = np.ones(self.n_envs, bool)
        final_obs = np.eye(2)[self.questions]
        info = {"final_obs": final_obs} if self.truncate else {}
        cost = self.questions.sum(axis=1).astype(float)          # something to constrain
        terminated, truncated = (~done, done) if self.truncate else (done, ~done)
        return self._ask(), win.astype(float), cost, terminated, truncated, info

    def get_state(self):
        return {"rng": json.dumps(self.rng.bit_generator.state), "questions": self.questions}

    def set_state(self, state):
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = json.loads(state["rng"])
        self.questions = np.array(state["questions"])


def chsh_value(agent, params):
    """Exact CHSH win probability of the learned joint policy (uniform questions)."""
    P = agent.action_probs(params, np.eye(2)[QUESTIONS])             # (4, a1, a2)
    win = np.array([[[(a ^ b) == (x & y) for b in range(2)] for a in range(2)]
                    for x, y in QUESTIONS])
    return float((P * win).sum() / 4)


FAST = dict(updates=12, n_steps=1, epochs=4, minibatches=2, lr=2e-2, gamma=0.0, gae_lambda=1.0,
            hidden=(8,), entropy_coef=0.0, log_every=100)


def make_agent(**kwargs):
    config = MAPPOConfig(**{**dict(hidden=(8,)), **kwargs})
    return Agent(config, n_agents=2, obs_dim=3, state_dim=6, n_actions=2)


# ----------------------------------------------------------------------------- coordinator

@pytest.mark.parametrize("complex_logits", [True, False])
@pytest.mark.parametrize("learned_state", [False, True])
def test_entangled_coordinator_is_the_born_rule(complex_logits, learned_state):
    agent = make_agent(complex_logits=complex_logits, learned_state=learned_state, n_advice=2)
    rng = np.random.default_rng(3)
    params = agent.init(rng)
    obs = rng.normal(size=(5, 2, 3))
    coord = agent.coordinator
    q = coord.joint(params, obs)
    rho = coord.state(params)
    assert qp.is_density_matrix(rho)
    for b in range(len(obs)):
        povms = [qp.quantum_softmax(Z[b])[None] for Z in coord.logits(params, obs)]
        expected = qp.born(rho, povms)[:, :, 0, 0]
        np.testing.assert_allclose(q[b], expected, atol=TOL)
    # log-probs at given advice and the entropy, from the same table
    advice = rng.integers(0, 2, size=(5, 2))
    logq, entropy, _ = coord.evaluate(params, obs, advice)
    np.testing.assert_allclose(logq, np.log(q[np.arange(5), advice[:, 0], advice[:, 1]]), atol=TOL)
    flat = q.reshape(5, -1)
    np.testing.assert_allclose(entropy, -(flat * np.log(flat)).sum(axis=1), atol=1e-10)
    # sampling returns the log-prob of what it sampled
    sampled, logq_sampled = coord.sample(params, obs, rng)
    np.testing.assert_allclose(logq_sampled, np.log(q[np.arange(5), sampled[:, 0], sampled[:, 1]]))


def test_three_agent_ghz_coordinator_matches_born():
    config = MAPPOConfig(hidden=(4,), n_advice=2, dim=2)
    coord = EntangledCoordinator(3, 2, config)
    rng = np.random.default_rng(0)
    params = coord.init(rng)
    obs = rng.normal(size=(3, 3, 2))
    q = coord.joint(params, obs)
    for b in range(3):
        povms = [qp.quantum_softmax(Z[b])[None] for Z in coord.logits(params, obs)]
        np.testing.assert_allclose(q[b], qp.born(qp.ghz_state(3), povms)[..., 0, 0, 0], atol=TOL)


def test_sampling_frequencies_match_q():
    agent = make_agent(coordinator="entangled", actor="network", n_advice=3)
    rng = np.random.default_rng(1)
    params = agent.init(rng)
    n = 40_000
    obs = np.broadcast_to(rng.normal(size=(1, 2, 3)), (n, 2, 3))
    advice, actions, _, _ = agent.act(params, obs, rng)
    q = agent.coordinator.joint(params, obs[:1])[0]
    freq = np.zeros((3, 3))
    np.add.at(freq, (advice[:, 0], advice[:, 1]), 1.0 / n)
    assert np.all(np.abs(freq - q) <= 5 * np.sqrt(q * (1 - q) / n) + 1e-12)
    # and the joint action frequencies match the exact eq. 7 table
    P = agent.action_probs(params, obs[:1])[0]
    freq_a = np.zeros((2, 2))
    np.add.at(freq_a, (actions[:, 0], actions[:, 1]), 1.0 / n)
    assert np.all(np.abs(freq_a - P) <= 5 * np.sqrt(P * (1 - P) / n))


@pytest.mark.parametrize("coordinator, actor", [("entangled", "pass"), ("entangled", "network"),
                                                ("shared", "network"), ("none", "network")])
def test_action_probs_are_distributions(coordinator, actor):
    agent = make_agent(coordinator=coordinator, actor=actor, n_advice=2)
    params = agent.init(0)
    P = agent.action_probs(params, np.random.default_rng(0).normal(size=(7, 2, 3)))
    assert P.shape == (7, 2, 2) and P.min() >= 0
    np.testing.assert_allclose(P.sum(axis=(1, 2)), 1.0, atol=1e-12)


def test_shared_randomness_advice_is_common_and_independent_of_observation():
    agent = make_agent(coordinator="shared", actor="network", n_advice=3)
    params = agent.init(0)
    params["shared.logits"] = np.array([0.0, 1.0, -1.0])
    obs = np.random.default_rng(0).normal(size=(2000, 2, 3))
    advice, _, logq, _ = agent.act(params, obs, np.random.default_rng(1))
    assert np.all(advice[:, 0] == advice[:, 1])
    q = np.exp(params["shared.logits"]) / np.exp(params["shared.logits"]).sum()
    np.testing.assert_allclose(logq, np.log(q[advice[:, 0]]), atol=TOL)
    joint = agent.coordinator.joint(params, obs[:2])
    np.testing.assert_allclose(joint[0], np.diag(q), atol=TOL)
    np.testing.assert_allclose(joint[1], joint[0])


# ----------------------------------------------------------------------------- learning CHSH

def test_entangled_mappo_beats_classical_chsh():
    run = train(CHSHEnv(256), MAPPOConfig(coordinator="entangled", actor="pass", **FAST), seed=0,
                log=None)
    value = chsh_value(run.agent, run.params)
    assert value > 0.80, value            # Tsirelson: cos²(π/8) ≈ 0.854; classical 0.75
    assert value <= np.cos(np.pi / 8) ** 2 + 1e-9


def test_shared_randomness_mappo_cannot_beat_classical_chsh():
    run = train(CHSHEnv(256), MAPPOConfig(coordinator="shared", actor="network", n_advice=4,
                                          **FAST), seed=0, log=None)
    value = chsh_value(run.agent, run.params)
    assert value <= CLASSICAL_CHSH + 1e-9, value
    assert value > 0.6, value             # it did learn something (uniform play scores 1/2)


# ----------------------------------------------------------------------------- bookkeeping

def test_logs_and_pid_multiplier():
    config = MAPPOConfig(coordinator="entangled", actor="pass", cost_limit=0.5,
                         **{**FAST, "updates": 4})
    run = train(CHSHEnv(64), config, seed=2, log=None)
    h = run.history
    assert len(h["reward"]) == 4 and np.all(h["multiplier"] >= 0)
    # mean cost of the CHSH env is E[o1 + o2] = 1 > 0.5: the integral term grows
    assert np.all(np.diff(h["pid_i"]) > 0)
    for key in ("approx_kl", "clip_frac", "explained_var", "entropy", "steps_per_second"):
        assert np.all(np.isfinite(h[key])), key


def test_resume_is_bit_identical(tmp_path):
    config = MAPPOConfig(coordinator="entangled", actor="network", cost_limit=0.8,
                         checkpoint_every=2, **{**FAST, "updates": 4})
    straight = train(CHSHEnv(32), config, seed=5, log=None)
    path = tmp_path / "run.npz"
    first = dataclasses.replace(config, updates=2)
    train(CHSHEnv(32), first, seed=5, checkpoint=path, log=None)
    resumed = train(CHSHEnv(32), config, seed=5, checkpoint=path, resume=True, log=None)
    assert set(resumed.params) == set(straight.params)
    for k in straight.params:
        assert np.array_equal(resumed.params[k], straight.params[k]), k
    for key in ("reward", "cost", "multiplier", "approx_kl"):
        assert np.array_equal(resumed.history[key], straight.history[key]), key


def test_truncation_bootstraps_from_the_final_observation():
    env = CHSHEnv(8, truncate=True)
    agent = Agent(MAPPOConfig(hidden=(4,), gamma=0.9), 2, 2, 4, 2)
    params = agent.init(0)
    obs = env.reset(seed=0)
    roll, _, _ = _collect(env, agent, params, obs, central_state(env, obs), np.random.default_rng(0), 3)
    # every step is truncated: the bootstrap value is the critic at that step's own (final) obs,
    # which is exactly the obs the step started from — not the freshly reset next obs
    np.testing.assert_array_equal(roll["next_state"], roll["obs"].reshape(3, 8, -1))
    assert roll["truncated"].all() and not roll["terminated"].any()


@pytest.mark.parametrize("changes, error, match", [
    (dict(coordinator="quantum"), ValueError, "coordinator"),
    (dict(actor="lookup"), ValueError, "actor"),
    (dict(coordinator="shared", actor="pass"), ValueError, "pass-through"),
    (dict(n_advice=3, actor="pass"), ValueError, "n_advice"),
    (dict(gamma=1.0), ValueError, "gamma"),
    (dict(updates=0), ValueError, "updates"),
])
def test_bad_config(changes, error, match):
    with pytest.raises(error, match=match):
        Agent(MAPPOConfig(**changes), 2, 2, 4, 2)


def test_bad_env_observation_shape():
    class FlatEnv(CHSHEnv):
        def reset(self, seed):
            return super().reset(seed).reshape(self.n_envs, -1)
    with pytest.raises(ValueError, match="n_envs, n_agents, obs_dim"):
        train(FlatEnv(4), MAPPOConfig(**FAST), log=None)


def test_config_type_checked():
    with pytest.raises(TypeError, match="MAPPOConfig"):
        Agent({"coordinator": "entangled"}, 2, 2, 4, 2)


def test_coordinator_policy_gradient_estimates_the_exact_gradient():
    """The eq. 9 surrogate's gradient at θ = θ_old, on CHSH samples with advantage r − mean(r),
    estimates ∇ (win probability), computed exactly from the Born-rule table."""
    import autograd.numpy as anp
    from autograd import grad
    from qpolicy.learn.mappo import _loss
    agent = Agent(MAPPOConfig(hidden=(8,), coordinator_gain=2.0, entropy_coef=0.0, value_coef=0.0,
                              conditioning_coef=0.0), 2, 2, 4, 2)
    params = agent.init(4)
    obs_all = np.eye(2)[QUESTIONS]
    win = np.array([[[(a ^ b) == (x & y) for b in range(2)] for a in range(2)] for x, y in QUESTIONS])

    def exact_value(p):
        q = agent.coordinator.joint(p, obs_all)
        return anp.sum(q * win) / 4
    exact = grad(exact_value)(params)

    env, rng = CHSHEnv(20_000), np.random.default_rng(0)
    obs = env.reset(seed=1)
    advice, actions, logq, logpi = agent.act(params, obs, rng)
    _, reward, *_ = env.step(actions)
    batch = {"obs": obs, "advice": advice, "actions": actions, "logq": logq, "logpi": logpi,
             "advantage": reward - reward.mean(), "state": obs.reshape(len(obs), -1),
             "target": np.zeros(len(obs)), "cost_target": np.zeros(len(obs))}
    estimate = grad(_loss)(params, agent, batch, agent.config)     # the loss is −surrogate
    keys = [k for k in params if k.startswith("coord")]
    e = np.concatenate([exact[k].ravel() for k in keys])
    g = -np.concatenate([estimate[k].ravel() for k in keys])
    cosine = e @ g / np.linalg.norm(e) / np.linalg.norm(g)
    assert cosine > 0.99, cosine                 # measured 0.99995 (norm ratio 0.999)
    assert np.linalg.norm(g) == pytest.approx(np.linalg.norm(e), rel=0.05)


def test_checkpointing_needs_env_state_methods(tmp_path):
    class NoStateEnv(CHSHEnv):
        get_state = None
    with pytest.raises(TypeError, match="get_state"):
        train(NoStateEnv(4), MAPPOConfig(**FAST), checkpoint=tmp_path / "x.npz", log=None)


def test_resume_without_a_checkpoint_file_starts_fresh(tmp_path):
    config = MAPPOConfig(**{**FAST, "updates": 2})
    fresh = train(CHSHEnv(16), config, seed=3, log=None)
    resumed = train(CHSHEnv(16), config, seed=3, checkpoint=tmp_path / "new.npz", resume=True,
                    log=None)
    for k in fresh.params:
        assert np.array_equal(fresh.params[k], resumed.params[k])
    assert (tmp_path / "new.npz").exists()
