"""PID Lagrange multiplier (Stooke et al. 2020, Alg. 2) on scripted cost sequences, by hand."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qpolicy.learn.lagrangian import PIDLagrangian

TOL = 1e-12


def test_integral_only_is_projected_gradient_ascent():
    pid = PIDLagrangian(limit=1.0, kp=0.0, ki=0.5, kd=0.0)
    assert [pid.update(c) for c in (2.0, 2.0, 0.0, 0.0, 0.0, 1.5)] == [0.5, 1.0, 0.5, 0.0, 0.0, 0.25]


def test_pid_terms_by_hand():
    # limit 1, kp 0.5, ki 0.1, kd 2, P smoothing 0.5, no D smoothing, delay 1.
    pid = PIDLagrangian(limit=1.0, kp=0.5, ki=0.1, kd=2.0, p_smoothing=0.5, d_delay=1)
    # cost 3: e=2, I=0.2, e_p=2 (first value), D=0             -> 1.0 + 0.2
    # cost 2: e=1, I=0.3, e_p=1.5, D=max(0, 2-3)=0             -> 0.75 + 0.3
    # cost .5: e=-.5, I=0.25, e_p=0.5, D=0                      -> 0.25 + 0.25
    # cost 4: e=3, I=0.55, e_p=1.75, D=4-0.5=3.5 (x kd=2 -> 7)  -> 0.875 + 0.55 + 7
    expected = [1.2, 1.05, 0.5, 8.425]
    expected_terms = [(1.0, 0.2, 0.0), (0.75, 0.3, 0.0), (0.25, 0.25, 0.0), (0.875, 0.55, 7.0)]
    for cost, lam, terms in zip((3.0, 2.0, 0.5, 4.0), expected, expected_terms):
        assert pid.update(cost) == pytest.approx(lam, abs=TOL)
        assert (pid.terms["p"], pid.terms["i"], pid.terms["d"]) == pytest.approx(terms, abs=TOL)
    # A long stretch of zero cost: the P term goes negative, the multiplier is clamped at 0.
    for _ in range(30):
        assert pid.update(0.0) >= 0.0
    assert pid.multiplier == 0.0 and pid.integral == 0.0


def test_derivative_with_smoothing_and_delay():
    pid = PIDLagrangian(limit=0.0, kp=0.0, ki=0.0, kd=1.0, d_smoothing=0.5, d_delay=2)
    # smoothed cost: 1, 0.5*1+0.5*3=2, 0.5*2+0.5*5=3.5, 0.5*3.5+0.5*3.5=3.5
    # D compares with the smoothed cost two updates back: 0, 2-1, 3.5-1, 3.5-2
    assert [pid.update(c) for c in (1.0, 3.0, 5.0, 3.5)] == pytest.approx([0.0, 1.0, 2.5, 1.5])


def test_lambda_init_warm_starts_the_integral():
    pid = PIDLagrangian(limit=2.0, kp=0.0, ki=0.1, lambda_init=0.7)
    assert pid.multiplier == 0.7
    assert pid.update(2.0) == pytest.approx(0.7)       # zero error keeps it
    assert pid.update(1.0) == pytest.approx(0.6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=40),
       st.floats(0, 3), st.floats(0, 1), st.floats(0, 3), st.floats(0, 0.99), st.integers(1, 4))
def test_multiplier_and_integral_never_negative(costs, kp, ki, kd, alpha, delay):
    pid = PIDLagrangian(limit=1.0, kp=kp, ki=ki, kd=kd, p_smoothing=alpha, d_smoothing=alpha,
                        d_delay=delay)
    for c in costs:
        lam = pid.update(c)
        assert lam >= 0.0 and pid.integral >= 0.0 and np.isfinite(lam)


def test_state_dict_round_trip_continues_identically():
    make = lambda: PIDLagrangian(limit=1.0, kp=0.3, ki=0.05, kd=0.7, p_smoothing=0.8,  # noqa: E731
                                 d_smoothing=0.6, d_delay=3)
    costs = np.random.default_rng(1).normal(1.0, 1.0, size=20)
    a = make()
    for c in costs[:8]:
        a.update(float(c))
    b = make()
    b.load_state_dict(a.state_dict())
    assert [a.update(float(c)) for c in costs[8:]] == [b.update(float(c)) for c in costs[8:]]


@pytest.mark.parametrize("kwargs, error", [
    ({"limit": "5"}, TypeError), ({"limit": np.nan}, ValueError), ({"limit": np.inf}, ValueError),
    ({"limit": 1, "ki": np.float32(np.nan)}, ValueError), ({"limit": 1, "kp": -1}, ValueError),
    ({"limit": 1, "p_smoothing": 1.0}, ValueError), ({"limit": 1, "d_delay": 0}, ValueError),
    ({"limit": 1, "lambda_init": -0.1}, ValueError),
])
def test_bad_parameters(kwargs, error):
    with pytest.raises(error):
        PIDLagrangian(**kwargs)


def test_bad_cost():
    with pytest.raises(ValueError, match="cost"):
        PIDLagrangian(limit=1.0).update(float("nan"))
    with pytest.raises(TypeError, match="cost"):
        PIDLagrangian(limit=1.0).update("1.0")
