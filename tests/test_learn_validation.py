"""Every MAPPO configuration field, RoutingEnv argument and state, simulate argument and routing
policy argument is validated: a bad value raises ValueError/TypeError naming it; nothing is
coerced, nothing leaks out of the environment."""
import json
import re

import numpy as np
import pytest

from qpolicy.learn.mappo import MAPPOConfig, train
from qpolicy.queueing import RoutingEnv, policies, simulate

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("field, value, error", [
    ("max_grad_norm", -1.0, ValueError),          # reversed every update
    ("max_grad_norm", NAN, ValueError),           # turned clipping off
    ("max_grad_norm", 0.0, ValueError),
    ("clip", -0.2, ValueError),
    ("clip", NAN, ValueError),
    ("learned_state", "no", TypeError),           # a truthy string learned ρ
    ("complex_logits", 1, TypeError),
    ("anneal_lr", "False", TypeError),
    ("input_baseline", None, TypeError),
    ("best_smoothing", 1.0, ValueError),          # divided by zero after the first update
    ("best_smoothing", NAN, ValueError),          # kept the initial parameters as "best"
    ("best_smoothing", -0.1, ValueError),
    ("lr", 0.0, ValueError),
    ("lr", "3e-3", TypeError),
    ("lr", INF, ValueError),
    ("gamma", 1.0, ValueError),
    ("gamma", NAN, ValueError),
    ("gae_lambda", 1.5, ValueError),
    ("entropy_coef", -0.01, ValueError),
    ("value_coef", NAN, ValueError),
    ("conditioning_coef", INF, ValueError),
    ("cost_limit", NAN, ValueError),
    ("cost_limit", "5", TypeError),
    ("pid_kp", -1.0, ValueError),
    ("pid_p_smoothing", 1.0, ValueError),
    ("lambda_init", -1.0, ValueError),
    ("coordinator_gain", -1.0, ValueError),
    ("coordinator_gain", NAN, ValueError),
    ("hidden", 32, TypeError),
    ("hidden", (32, 0), ValueError),
    ("hidden", (32.0,), TypeError),
    ("updates", 0, ValueError),
    ("updates", 2.0, TypeError),
    ("n_steps", True, TypeError),
    ("warmup_steps", -1, ValueError),
    ("coordinator", "quantum", ValueError),
    ("critic", "LSTD", ValueError),
    ("objective", None, ValueError),
])
def test_mappo_config_rejects_bad_fields_naming_them(field, value, error):
    with pytest.raises(error, match=rf"config\.{field}"):
        MAPPOConfig(**{field: value})


def test_mappo_config_accepts_numpy_scalars_a_list_of_widths_and_documented_values():
    config = MAPPOConfig(lr=np.float32(0.01), updates=np.int64(3), hidden=[8, 8],
                         max_grad_norm=INF, coordinator_gain=0.0, learned_state=np.bool_(False))
    assert config.hidden == (8, 8)


def test_coordinator_gain_zero_starts_at_the_saddle_z_equals_zero():
    """Documented as "0 ⇒ saddle at Z=0"; used to be rejected with an error naming out_gain."""
    config = MAPPOConfig(coordinator_gain=0.0, updates=1, n_steps=2, hidden=(4,), epochs=1,
                         minibatches=1, lr=1e-3)
    from qpolicy.learn.mappo import Agent
    agent = Agent(config, 2, 1, 5, 2)
    params = agent.init(np.random.default_rng(0))
    Zs = agent.coordinator.logits(params, np.ones((3, 2, 1)))
    assert all(np.all(Z == 0) for Z in Zs)
    q = agent.coordinator.joint(params, np.ones((3, 2, 1)))
    np.testing.assert_allclose(q, 0.25, atol=1e-12)    # QuantumSoftmax(0) = I/2 on |Φ+⟩


def test_max_grad_norm_infinity_means_unclipped_and_a_numpy_config_trains():
    config = MAPPOConfig(max_grad_norm=INF, updates=np.int64(1), n_steps=2, hidden=(4,),
                         epochs=1, minibatches=1, lr=np.float64(1e-3))
    run = train(RoutingEnv(n_envs=4), config, seed=0, log=None)
    assert all(np.all(np.isfinite(v)) for v in run.params.values())


def test_entangled_coordinator_refuses_a_huge_state_before_allocating():
    from qpolicy.learn.mappo import Agent
    with pytest.raises(ValueError, match="config.dim"):
        Agent(MAPPOConfig(dim=1000, hidden=(4,)), 3, 1, 5, 2)


# ------------------------------------------------------------------------------ RoutingEnv

def test_routing_env_refuses_a_huge_number_of_copies_with_the_size():
    with pytest.raises(ValueError, match=r"n_envs is too large.*GiB"):
        RoutingEnv(n_envs=10 ** 9)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(balanced=1), TypeError, "balanced"),
    (dict(arrival_rate="0.8"), TypeError, "arrival_rate"),
    (dict(arrival_rate=NAN), ValueError, "arrival_rate"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(n_envs=2.0), TypeError, "n_envs"),
])
def test_routing_env_rejects_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        RoutingEnv(**kwargs)


def test_routing_env_reset_refuses_a_negative_seed_naming_it():
    with pytest.raises(ValueError, match="seed"):
        RoutingEnv(n_envs=2).reset(seed=-1)


def test_step_returns_copies_writing_into_them_does_not_change_the_env():
    def run(vandal):
        env = RoutingEnv(n_envs=3)
        env.reset(seed=0)
        out = []
        for _ in range(4):
            obs, reward, cost, terminated, truncated, info = env.step(np.ones((3, 2), int))
            out.append(cost.copy())
            if vandal:
                for value in (obs, reward, cost, truncated, *info.values()):
                    value[...] = 7
                env.state[...] = 7
        return np.array(out)
    np.testing.assert_array_equal(run(False), run(True))


def test_set_state_round_trip_continues_bit_for_bit():
    env = RoutingEnv(n_envs=3, horizon=5)
    env.reset(seed=1)
    for _ in range(3):
        env.step(np.zeros((3, 2), int))
    saved = json.loads(json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                   for k, v in env.get_state().items()}))
    expected = [env.step(np.ones((3, 2), int))[2] for _ in range(4)]
    other = RoutingEnv(n_envs=3, horizon=5)
    other.set_state({k: np.array(v) if isinstance(v, list) else v for k, v in saved.items()})
    got = [other.step(np.ones((3, 2), int))[2] for _ in range(4)]
    np.testing.assert_array_equal(expected, got)


def good_state():
    env = RoutingEnv(n_envs=3, horizon=5)
    env.reset(seed=1)
    env.step(np.zeros((3, 2), int))
    return env.get_state()


@pytest.mark.parametrize("edit, error, name", [
    (lambda s: s.pop("q"), ValueError, "missing"),
    (lambda s: s.__setitem__("q", np.full((2, 3), np.nan)), ValueError, "q"),
    (lambda s: s.__setitem__("q", np.zeros((3, 2))), ValueError, "q"),
    (lambda s: s.__setitem__("T_idle", -np.ones((2, 3))), ValueError, "T_idle"),
    (lambda s: s.__setitem__("dt_prev", np.zeros(4)), ValueError, "dt_prev"),
    (lambda s: s.__setitem__("t", np.array([0, 9, 0])), ValueError, "t"),
    (lambda s: s.__setitem__("t", np.zeros(3)), ValueError, "t"),
    (lambda s: s.__setitem__("k", 10 ** 9), ValueError, "k"),
    (lambda s: s.__setitem__("k", -1), ValueError, "k"),
    (lambda s: s.__setitem__("block_rng", "{}"), ValueError, "block_rng"),
    (lambda s: s.__setitem__("block_rng", "not json"), ValueError, "block_rng"),
])
def test_set_state_validates_every_entry_and_leaves_the_env_unchanged(edit, error, name):
    env = RoutingEnv(n_envs=3, horizon=5)
    env.reset(seed=2)
    before = env.get_state()
    state = good_state()
    edit(state)
    with pytest.raises(error, match=name):
        env.set_state(state)
    after = env.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_set_state_refuses_a_non_dict():
    with pytest.raises(TypeError, match="state"):
        RoutingEnv(n_envs=2).set_state([1, 2])


# ------------------------------------------------------------------------------ simulate, policies

@pytest.mark.parametrize("confidence", [1.5, 1.0, 0.0, -0.5, NAN])
def test_simulate_rejects_a_confidence_outside_0_1(confidence):
    with pytest.raises(ValueError, match="confidence"):
        simulate(policies.always_split, steps=10_000, confidence=confidence)


def test_simulate_rejects_a_string_confidence_and_a_negative_seed():
    with pytest.raises(TypeError, match="confidence"):
        simulate(policies.always_split, steps=10_000, confidence="0.95")
    with pytest.raises(ValueError, match="seed"):
        simulate(policies.always_split, steps=10_000, seed=-3)


@pytest.mark.parametrize("make, error, name", [
    (lambda: policies.factorized("0.5"), TypeError, "prob_1"),
    (lambda: policies.factorized(0.5, "0.2"), TypeError, "prob_2"),
    (lambda: policies.factorized(1.5), ValueError, "prob_1"),
    (lambda: policies.factorized(NAN), ValueError, "prob_1"),
    (lambda: policies.threshold_rule("1.0"), TypeError, "threshold"),
    (lambda: policies.threshold_rule(1.0, above=2), ValueError, "above"),
    (lambda: policies.threshold_rule(1.0, above=True), TypeError, "above"),
    (lambda: policies.binned_rule([1.0, 0.5], [0, 1, 0]), ValueError, "edges"),
    (lambda: policies.binned_rule([0.5], [0.0, 1.0]), TypeError, "servers"),
    (lambda: policies.shared_randomness([]), ValueError, "rules"),
    (lambda: policies.shared_randomness([(1, 2)]), TypeError, "rules"),
    (lambda: policies.coroute(0.5), TypeError, "probability"),
    (lambda: policies.communication("1", 0.8, 1.0), TypeError, "threshold"),
    (lambda: policies.communication(1.0, 1.2, 1.0), ValueError, "arrival_rate"),
    (lambda: policies.entangled(0.3), TypeError, "angle_1"),
])
def test_routing_policies_reject_bad_arguments(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_factorized_accepts_numpy_probabilities_and_routes_with_them():
    policy = policies.factorized(np.float32(1.0), np.float64(0.0))
    actions = policy(np.ones((5, 2)), np.random.default_rng(0))
    np.testing.assert_array_equal(actions, [[1, 0]] * 5)     # server 1 w.p. 1, server 1 w.p. 0


# ------------------------------------------------------------------------------ train arguments

@pytest.mark.parametrize("kwargs, error, name", [
    (dict(log=5), TypeError, "log"),
    (dict(resume="yes"), TypeError, "resume"),
    (dict(checkpoint="run.txt"), ValueError, "checkpoint"),
    (dict(n_actions=1), ValueError, "n_actions"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(init_params={"x": np.zeros(2)}), ValueError, "init_params"),
    (dict(init_params=[1, 2]), TypeError, "init_params"),
])
def test_train_rejects_bad_arguments_before_any_work(kwargs, error, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = MAPPOConfig(updates=1, n_steps=2, hidden=(4,), epochs=1, minibatches=1)
    with pytest.raises(error, match=name):
        train(RoutingEnv(n_envs=4), config, log=None, **{"seed": 0, **kwargs})
    assert not list(tmp_path.iterdir())


def test_warm_start_with_a_wrong_shape_or_nan_is_refused_naming_the_entry():
    config = MAPPOConfig(updates=1, n_steps=2, hidden=(4,), epochs=1, minibatches=1)
    params = train(RoutingEnv(n_envs=4), config, seed=0, log=None).params
    key = sorted(params)[0]
    for bad in (np.zeros(7), np.full_like(params[key], np.nan)):
        with pytest.raises(ValueError, match=re.escape(f"init_params[{key!r}]")):
            train(RoutingEnv(n_envs=4), config, seed=0, log=None, init_params={**params, key: bad})


@pytest.mark.parametrize("gamma, lam", [(NAN, 0.9), (1.5, 0.9), (0.9, -0.1), (0.9, INF)])
def test_gae_rejects_bad_discounts(gamma, lam):
    from qpolicy.learn.mappo import gae
    zeros = np.zeros((2, 1))
    with pytest.raises(ValueError, match="gamma" if not 0 <= gamma <= 1 else "lam"):
        gae(zeros, zeros, zeros, zeros.astype(bool), zeros.astype(bool), gamma, lam)
