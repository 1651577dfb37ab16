"""The PettingZoo ParallelEnv: PettingZoo's own compliance tests, and agreement with RoutingEnv."""
import numpy as np
import pytest

pettingzoo = pytest.importorskip("pettingzoo", reason="optional extra [envs]")
from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

from qpolicy.queueing import RoutingEnv, policies  # noqa: E402
from qpolicy.queueing.parallel_env import ParallelRoutingEnv  # noqa: E402

SETTINGS = [dict(), dict(horizon=40), dict(observe=("job", "dt", "queues"), horizon=9)]


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_passes_pettingzoo_parallel_api_test(kwargs):
    parallel_api_test(ParallelRoutingEnv(**kwargs), num_cycles=200)


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_passes_pettingzoo_parallel_seed_test(kwargs):
    parallel_seed_test(lambda: ParallelRoutingEnv(**kwargs), num_cycles=200)


def test_trajectory_equals_one_copy_of_the_vectorized_env():
    """Same seed, same actions: the adapter reproduces RoutingEnv(n_envs=1) step for step."""
    penv, env = ParallelRoutingEnv(observe=("job", "queues")), RoutingEnv(observe=("job", "queues"))
    obs, _ = penv.reset(seed=3)
    vec_obs = env.reset(seed=3)
    actions = np.random.default_rng(0).integers(0, 2, size=(50, 2))
    for a in actions:
        np.testing.assert_array_equal(penv.state(), env.central_state()[0])
        np.testing.assert_array_equal(obs["router_1"], vec_obs[0, 1])
        obs, rewards, _, _, infos = penv.step({"router_0": a[0], "router_1": a[1]})
        vec_obs, reward, cost, _, _, _ = env.step(a[None])
        assert rewards["router_0"] == rewards["router_1"] == reward[0]
        assert infos["router_0"]["cost"] == cost[0]
        assert penv.state_space.contains(penv.state())


def test_truncation_ends_the_episode_and_returns_the_true_last_observation():
    penv = ParallelRoutingEnv(observe=("queues",), horizon=3)
    penv.reset(seed=1)
    for _ in range(3):
        obs, _, _, truncations, _ = penv.step({"router_0": 0, "router_1": 0})
    assert truncations == {"router_0": True, "router_1": True} and penv.agents == []
    assert np.any(obs["router_0"] != 0.0)          # the final queues, not the reset ones
    with pytest.raises(RuntimeError, match="reset"):
        penv.step({"router_0": 0, "router_1": 0})


def test_a_joint_coordinator_samples_both_actions_at_once():
    """The documented pattern: an entangled policy draws the joint action from both observations."""
    angle = lambda x: np.arctan(x) / 2
    policy, rng = policies.entangled(angle), np.random.default_rng(0)
    penv = ParallelRoutingEnv()
    obs, _ = penv.reset(seed=0)
    same = []
    for _ in range(2000):
        x = np.array([[obs["router_0"][0], obs["router_1"][0]]])
        a = policy(x, rng)[0]
        same.append((a[0] == a[1], np.cos(angle(x[0, 0]) + angle(x[0, 1])) ** 2))
        obs, *_ = penv.step({"router_0": a[0], "router_1": a[1]})
    observed, predicted = np.array(same, dtype=float).T
    # Co-routing frequency matches the Born-rule probability cos²(φ(x₁)+φ(x₂)) on average.
    assert abs(observed.mean() - predicted.mean()) < 4 * observed.std() / np.sqrt(len(observed))


@pytest.mark.parametrize("actions, error, match", [
    ({"router_0": 0}, ValueError, "keys"),
    ([0, 1], ValueError, "dict"),
    ({"router_0": 2, "router_1": 0}, ValueError, r"actions\['router_0'\] must be 0 or 1"),
    ({"router_0": 0.0, "router_1": 0}, TypeError, "router_0"),
    ({"router_0": True, "router_1": 0}, TypeError, "router_0"),
    ({"router_0": 0, "router_1": np.array([1])}, TypeError, "router_1"),
])
def test_bad_actions_are_named(actions, error, match):
    penv = ParallelRoutingEnv()
    penv.reset(seed=0)
    with pytest.raises(error, match=match):
        penv.step(actions)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="n_envs"):
        ParallelRoutingEnv(n_envs=4)
    with pytest.raises(ValueError, match="arrival_rate"):
        ParallelRoutingEnv(arrival_rate=2.0)
    with pytest.raises(ValueError, match="agent"):
        ParallelRoutingEnv().observation_space("router_2")
    with pytest.raises(ValueError, match="seed"):
        ParallelRoutingEnv().reset()
