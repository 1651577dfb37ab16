"""RoutingEnv (App. H): transitions and rewards against a literal scalar transcription of
eq. (30)-(33), the relabeling coin of eq. (35), wait times, truncation, observations, bad input."""
import numpy as np
import pytest

from qpolicy.queueing.env import OBSERVATIONS, RoutingEnv


def literal_step(q, x, servers, dt, T):
    """Eq. (31) and (33) for one copy, written case by case as in the paper."""
    a1, a2 = servers
    dq = [(1 - a1) * x[0] + (1 - a2) * x[1], a1 * x[0] + a2 * x[1]]
    q_new, reward = [0.0, 0.0], 0.0
    for i in range(2):
        if q[i] < 0 and dq[i] > 0:
            q_new[i] = dq[i] - dt                 # an arrival interrupts the baseline task
        else:
            q_new[i] = q[i] + dq[i] - dt
        if q[i] < 0 and dq[i] == 0:
            reward += T(-q_new[i]) - T(-q[i])     # the idle interval continues
        else:
            reward += T(max(-q_new[i], 0.0))
    return q_new, reward


def literal_wait(q, x, servers, second_is_0):
    """Mean wait of the two customers: work ahead at the server, + the first's size if second."""
    waits = [max(q[servers[i]], 0.0) for i in range(2)]
    if servers[0] == servers[1]:
        if second_is_0:
            waits[0] += x[1]
        else:
            waits[1] += x[0]
    return sum(waits) / 2


@pytest.mark.parametrize("throughput", [lambda t: t * t, lambda t: np.sqrt(t), lambda t: t ** 3])
def test_step_matches_literal_equations(throughput):
    n, steps = 5, 300
    env = RoutingEnv(n_envs=n, arrival_rate=0.7, service_rate=1.0, throughput=throughput)
    obs = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        q = env.state.copy()
        x = obs[:, :, 0].copy()
        obs, reward, cost, terminated, truncated, info = env.step(rng.integers(0, 2, (n, 2)))
        for e in range(n):
            q_ref, r_ref = literal_step(q[e], x[e], info["servers"][e], info["dt"][e], throughput)
            np.testing.assert_allclose(env.state[e], q_ref, rtol=0, atol=1e-12)
            assert reward[e] == pytest.approx(r_ref, abs=1e-10)
            assert cost[e] == pytest.approx(
                literal_wait(q[e], x[e], info["servers"][e], info["second_is_0"][e]), abs=1e-12)
        assert not terminated.any() and not truncated.any()


def test_same_seed_same_trajectory_and_different_seed_differs():
    def run(seed):
        env = RoutingEnv(n_envs=3)
        out = [env.reset(seed=seed)]
        for _ in range(50):
            obs, reward, cost, *_ = env.step(np.ones((3, 2), dtype=np.int64))
            out += [obs, reward, cost]
        return np.concatenate([o.ravel() for o in out])
    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_relabeling_coin_flips_both_actions_with_probability_half():
    n = 20000
    env = RoutingEnv(n_envs=n)
    env.reset(seed=1)
    actions = np.tile([0, 1], (n, 1))
    *_, info = env.step(actions)
    servers = info["servers"]
    flipped = servers[:, 0] == 1
    np.testing.assert_array_equal(servers[:, 1], 1 - servers[:, 0])   # both flipped together
    assert abs(flipped.mean() - 0.5) < 4 * 0.5 / np.sqrt(n)           # 4 sigma binomial band
    env = RoutingEnv(n_envs=n, balanced=False)
    env.reset(seed=1)
    *_, info = env.step(actions)
    np.testing.assert_array_equal(info["servers"], actions)


def test_random_service_order_of_a_coroutes_pair():
    n = 20000
    env = RoutingEnv(n_envs=n)
    obs = env.reset(seed=2)                       # empty queues: only the order matters
    _, _, cost, _, _, info = env.step(np.zeros((n, 2), dtype=np.int8))
    x = obs[:, :, 0]
    expected = np.where(info["second_is_0"], x[:, 1], x[:, 0]) / 2
    np.testing.assert_allclose(cost, expected, rtol=0, atol=1e-15)
    assert abs(info["second_is_0"].mean() - 0.5) < 4 * 0.5 / np.sqrt(n)


def test_horizon_truncates_and_resets_with_true_final_observation():
    env = RoutingEnv(n_envs=4, horizon=5, observe=("job", "dt", "queues"))
    env.reset(seed=0)
    actions = np.zeros((4, 2), dtype=int)
    for t in range(1, 13):
        obs, reward, cost, terminated, truncated, info = env.step(actions)
        assert not terminated.any()
        if t % 5 == 0:
            assert truncated.all()
            final = info["final_obs"]
            assert np.all(final[:, :, 2:4] != 0.0)          # the final (unreset) queue states
            np.testing.assert_allclose(final[:, 0, 1], info["dt"])   # Δt feature = elapsed dt
            np.testing.assert_array_equal(obs[:, :, 1:], 0.0)       # reset: Δt 0, queues empty
            np.testing.assert_array_equal(env.state, 0.0)
            np.testing.assert_array_equal(obs[:, :, 0], final[:, :, 0])   # the fresh pair
            np.testing.assert_array_equal(info["final_state"][:, :2], final[:, 0, 2:4])
        else:
            assert not truncated.any() and "final_obs" not in info


def test_get_state_set_state_continues_bit_for_bit():
    n = 1 << 14                                  # small random blocks: crosses block borders
    env = RoutingEnv(n_envs=n, horizon=7, observe=("job", "dt", "queues"))
    env.reset(seed=9)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, (n, 2)) for _ in range(60)]
    for a in actions[:25]:
        env.step(a)
    saved = env.get_state()
    first = [env.step(a) for a in actions[25:]]
    other = RoutingEnv(n_envs=n, horizon=7, observe=("job", "dt", "queues"))
    other.set_state(saved)
    second = [other.step(a) for a in actions[25:]]
    for (o1, r1, c1, _, t1, i1), (o2, r2, c2, _, t2, i2) in zip(first, second):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(c1, c2)
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(i1["state"], i2["state"])
    with pytest.raises(ValueError, match="shape"):
        RoutingEnv(n_envs=3).set_state(saved)


def test_observation_features_and_central_state():
    env = RoutingEnv(n_envs=3, observe=("queues", "job", "dt"))
    assert env.obs_dim == 4
    env.reset(seed=5)
    obs, reward, cost, _, _, info = env.step(np.array([[0, 1], [1, 1], [0, 0]]))
    for i in range(2):
        np.testing.assert_array_equal(obs[:, i, 0:2], env.state)
        np.testing.assert_array_equal(obs[:, i, 3], info["dt"])
    state = info["state"]
    assert state.shape == (3, RoutingEnv.state_dim)
    np.testing.assert_array_equal(state[:, :2], env.state)
    np.testing.assert_array_equal(state[:, 2:4], obs[:, :, 2])
    np.testing.assert_array_equal(state[:, 4], info["dt"])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(arrival_rate=1.0), ValueError, "arrival_rate must be below service_rate"),
    (dict(arrival_rate=1.2, service_rate=1.0), ValueError, "stable"),
    (dict(arrival_rate=-0.5), ValueError, "arrival_rate"),
    (dict(service_rate=0.0), ValueError, "service_rate"),
    (dict(arrival_rate=float("nan")), ValueError, "arrival_rate"),
    (dict(service_rate=float("inf")), ValueError, "service_rate"),
    (dict(arrival_rate="0.8"), TypeError, "arrival_rate"),
    (dict(n_envs=0), ValueError, "n_envs"),
    (dict(n_envs=2.0), TypeError, "n_envs"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(throughput=lambda t: t + 1.0), ValueError, "T\\(0\\) = 0"),
    (dict(throughput=3.0), TypeError, "throughput"),
    (dict(balanced=1), TypeError, "balanced"),
    (dict(observe="job"), TypeError, "observe"),
    (dict(observe=("job", "size")), ValueError, "observe"),
    (dict(observe=()), ValueError, "observe"),
])
def test_bad_parameters_raise_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        RoutingEnv(**kwargs)


def test_bad_actions_and_order_of_calls_raise():
    env = RoutingEnv(n_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="seed"):
        env.reset()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((2,), int))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="0 or 1"):
        env.step(np.array([[0, 2], [1, 0]]))
    with pytest.raises(ValueError, match="0 or 1"):
        env.step(np.array([[0, -1], [1, 0]]))
    with pytest.raises(TypeError, match="integer"):
        env.step(np.array([[0.0, 1.0], [1.0, 0.0]]))
    env.step(np.array([[True, False], [False, False]]))          # bool actions are servers too
    assert OBSERVATIONS == ("job", "dt", "queues")


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
def test_actions_of_every_integer_dtype_and_layout_are_checked_and_executed(dtype):
    env = RoutingEnv(n_envs=3, balanced=False)
    env.reset(seed=0)
    actions = np.array([[0, 1], [1, 1], [1, 0]], dtype=dtype)
    for layout in (actions, np.asfortranarray(actions), actions.T.copy().T):
        *_, info = env.step(layout)
        np.testing.assert_array_equal(info["servers"], actions)
    bad_values = [2, np.iinfo(dtype).max] + ([-1, np.iinfo(dtype).min] if np.iinfo(dtype).min < 0 else [])
    for bad in bad_values:
        wrong = actions.copy()
        wrong[2, 1] = bad
        with pytest.raises(ValueError, match=f"0 or 1.*got {bad}"):
            env.step(np.asfortranarray(wrong))
