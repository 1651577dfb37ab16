"""LP bounds at any payoff scale, proved brackets, solver fallback and size refusal (issue 11)."""
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qpolicy import games
from qpolicy.bounds import SolverError, classical_value, nonsignaling_value
from qpolicy.bounds import lp as lp_module
from qpolicy.bounds.lp import lower_dot, normalize, upper_dot, upper_matvec

ROOT = Path(__file__).resolve().parents[1]

#: Certified LP values agree with the exact ones to this, in units of the payoff's scale a.
REL_TOL = 1e-7


def scaled(game, a, b):
    """The game with payoff ``a V + b``."""
    return games.NonlocalGame(a * game.predicate + b, game.question_dist)


@pytest.mark.parametrize("a", [1e-9, 1e-6, 1e12])
def test_chsh_bounds_are_right_at_extreme_scales(a):
    # was: non-signaling 5.0e-10 and classical LP 5.1e-10 at a = 1e-9, both "optimal"
    game = scaled(games.chsh(), a, 0.0)
    ns = nonsignaling_value(game)
    assert ns.details["lower_bound"] <= a <= ns.value
    assert ns.value == pytest.approx(a, rel=REL_TOL)
    lp = classical_value(game, method="lp")
    assert lp.details["lower_bound"] <= 0.75 * a <= lp.value
    assert lp.value == pytest.approx(0.75 * a, rel=REL_TOL)
    exact = classical_value(game)
    assert exact.details["lower_bound"] <= 0.75 * a <= exact.details["upper_bound"]


@st.composite
def small_games(draw):
    n = draw(st.integers(2, 3))
    n_answers = tuple(draw(st.integers(2, 3)) for _ in range(n))
    n_questions = tuple(draw(st.integers(1, 3 if n == 2 else 2)) for _ in range(n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mu = rng.random(n_questions) + 0.05
    return games.NonlocalGame(rng.uniform(-1, 1, size=n_answers + n_questions), mu / mu.sum())


@settings(max_examples=15, deadline=None)
@given(small_games(), st.integers(-12, 12), st.floats(-5, 5))
def test_values_are_invariant_under_scaling_and_shifting(game, exponent, shift):
    a = 10.0 ** exponent
    b = shift * a
    other = scaled(game, a, b)
    exact = classical_value(game).value
    assert classical_value(other).value == pytest.approx(a * exact + b, rel=1e-12, abs=1e-12 * a)
    lp = classical_value(other, method="lp")
    assert lp.details["lower_bound"] <= lp.value
    assert lp.value == pytest.approx(a * exact + b, abs=REL_TOL * a)
    assert lp.details["lower_bound"] == pytest.approx(a * exact + b, abs=REL_TOL * a)
    ns, ns_scaled = nonsignaling_value(game), nonsignaling_value(other)
    assert ns_scaled.details["lower_bound"] <= ns_scaled.value
    assert ns_scaled.value == pytest.approx(a * ns.value + b, abs=REL_TOL * a)
    assert ns_scaled.value >= a * exact + b - 1e-12 * a        # ω_ns ≥ ω_c, proved both ways


def test_rounding_helpers_bound_the_exact_result():
    # exact rational arithmetic as the oracle
    from fractions import Fraction
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.standard_normal(50) * 10.0 ** rng.integers(-20, 20, size=50)
        y = rng.standard_normal(50)
        exact = sum(Fraction(float(u)) * Fraction(float(v)) for u, v in zip(x, y))
        assert Fraction(lower_dot(x, y)) <= exact <= Fraction(upper_dot(x, y))
        M = rng.standard_normal((5, 50))
        for row, bound in zip(M, upper_matvec(M, y)):
            assert sum(Fraction(float(u)) * Fraction(float(v)) for u, v in zip(row, y)) \
                <= Fraction(float(bound))


def test_normalization_is_exact_up_to_its_slack():
    from fractions import Fraction
    W = games.tetra().weights * 3.7e-5 + 1e-7
    W_n, shift, scale, slack = normalize(W)
    assert W_n.min() == 0.0 and W_n.max() <= 1.0
    n = W.ndim // 2
    for index in itertools.islice(np.ndindex(W.shape), 0, None, 97):
        o = index[n:]
        error = Fraction(float(W[index])) - Fraction(float(shift[o])) \
            - Fraction(scale) * Fraction(float(W_n[index]))
        assert abs(error) <= Fraction(float(slack[o]))


def test_solver_fallback(monkeypatch):
    monkeypatch.setattr(lp_module, "LP_SOLVERS", ("NO_SUCH_SOLVER", "HIGHS"))
    ns = nonsignaling_value(games.chsh())
    assert ns.solver == "HIGHS" and ns.value == pytest.approx(1.0, abs=1e-9)
    assert ns.details["attempts"][0][0] == "NO_SUCH_SOLVER"
    monkeypatch.setattr(lp_module, "LP_SOLVERS", ("NO_SUCH_SOLVER",))
    with pytest.raises(SolverError, match="NO_SUCH_SOLVER"):
        classical_value(games.chsh(), method="lp")


def test_a_solve_is_accepted_on_its_certified_gap_not_its_status(monkeypatch):
    # every solver's status is "optimal" here, but no certificate can have a negative gap
    monkeypatch.setattr(lp_module, "LP_GAP_TOL", -1.0)
    with pytest.raises(SolverError, match="certified gap"):
        nonsignaling_value(games.chsh())


def magic_square_bcs_512():
    """Mermin–Peres magic square as a BCS game: Alice gets one of the 6 equations and answers
    all 9 variables (512 answers), Bob gets one variable of it and answers its bit."""
    equations = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8)]
    parity = [0, 0, 0, 1, 1, 1]
    bits = (np.arange(512)[:, None] >> np.arange(9)) & 1
    V, mu = np.zeros((512, 2, 6, 9)), np.zeros((6, 9))
    for e, variables in enumerate(equations):
        satisfied = bits[:, list(variables)].sum(axis=1) % 2 == parity[e]
        for v in variables:
            mu[e, v] = 1.0
            for b in range(2):
                V[:, b, e, v] = satisfied & (bits[:, v] == b)
    return games.NonlocalGame(V, mu / mu.sum(), name="magic square BCS")


@pytest.mark.slow
def test_magic_square_bcs_nonsignaling_value_is_one():
    # was: Clarabel "optimal_inaccurate" -> SolverError; HiGHS solves it (~6 s)
    ns = nonsignaling_value(magic_square_bcs_512())
    assert ns.details["lower_bound"] <= 1.0 <= ns.value
    assert ns.value == pytest.approx(1.0, abs=1e-7)


def test_large_nonsignaling_lp_is_refused_before_it_is_built():
    # was: > 300 s with no guard (3 players, 4 answers, 20 questions)
    game = games.NonlocalGame(np.ones((4, 4, 4, 20, 20, 20)), np.full((20, 20, 20), 1 / 8000))
    with pytest.raises(ValueError, match="non-signaling LP.*variables.*non-zeros"):
        nonsignaling_value(game)


def test_highs_banner_is_silenced():
    code = ("from qpolicy import games; from qpolicy.bounds import nonsignaling_value;"
            "import qpolicy; assert qpolicy.__file__.startswith(%r);"
            "nonsignaling_value(games.chsh(), solver='HIGHS')" % str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert out.stdout == "" and "HiGHS" not in out.stderr
