"""Generalized advantage estimation: hand-computed cases, truncation bootstrapping, limits λ=0/1."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qpolicy.learn.mappo import gae

TOL = 1e-12


def test_hand_computed_with_truncation_and_termination():
    gamma, lam = 0.9, 0.5
    # env 0 is truncated after step 2 (time limit): bootstrap from V(final obs) = 3.0, but no
    # credit flows from step 3 back into step 2.  env 1 terminates after step 1: no bootstrap.
    rewards = np.array([[1, 1], [0, 1], [2, 1], [1, 1]], float)
    values = np.array([[0.5, 0], [1.0, 0], [1.5, 0], [0.2, 0]])
    next_values = np.array([[1.0, 2], [1.5, 5], [3.0, 2], [0.7, 2]])
    terminated = np.array([[0, 0], [0, 1], [0, 0], [0, 0]], bool)
    truncated = np.array([[0, 0], [0, 0], [1, 0], [0, 0]], bool)
    A, R = gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    # env 0: δ = [1 + .9·1 − .5, 0 + .9·1.5 − 1, 2 + .9·3 − 1.5, 1 + .9·.7 − .2]
    #          = [1.4, 0.35, 3.2, 1.43];  A3 = 1.43, A2 = 3.2 (cut), A1 = .35 + .45·3.2,
    #          A0 = 1.4 + .45·A1
    a1 = 0.35 + 0.45 * 3.2
    expected0 = [1.4 + 0.45 * a1, a1, 3.2, 1.43]
    # env 1: δ = [2.8, 1 (terminal: the 5 is ignored), 2.8, 2.8]; A1 = 1, A0 = 2.8 + .45
    expected1 = [2.8 + 0.45, 1.0, 2.8 + 0.45 * 2.8, 2.8]
    np.testing.assert_allclose(A[:, 0], expected0, atol=TOL)
    np.testing.assert_allclose(A[:, 1], expected1, atol=TOL)
    np.testing.assert_allclose(R, A + values, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.floats(0.0, 0.99), st.integers(0, 10 ** 6))
def test_lambda_limits(T, gamma, seed):
    rng = np.random.default_rng(seed)
    r, v, v_next = rng.normal(size=(3, T, 2))
    never = np.zeros((T, 2), bool)
    # λ = 0: the one-step TD error.
    A0, _ = gae(r, v, v_next, never, never, gamma, 0.0)
    np.testing.assert_allclose(A0, r + gamma * v_next - v, atol=1e-10)
    # λ = 1: discounted return bootstrapped at the end of the rollout (the telescoping needs a
    # consistent rollout: V' of step t is V of step t + 1).
    v_next[:-1] = v[1:]
    A1, R1 = gae(r, v, v_next, never, never, gamma, 1.0)
    for t in range(T):
        ret = sum(gamma ** k * r[t + k] for k in range(T - t)) + gamma ** (T - t) * v_next[-1]
        np.testing.assert_allclose(R1[t], ret, atol=1e-9)


def test_shape_errors_name_the_argument():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="next_values"):
        gae(z, z, np.zeros((3, 1)), z.astype(bool), z.astype(bool), 0.9, 0.9)
    with pytest.raises(ValueError, match="rewards"):
        gae(np.zeros(3), z, z, z.astype(bool), z.astype(bool), 0.9, 0.9)
    with pytest.raises(ValueError, match="values contains NaN"):
        gae(z, z + np.nan, z, z.astype(bool), z.astype(bool), 0.9, 0.9)
