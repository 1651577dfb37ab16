"""The hierarchy of bounds on random small games (hypothesis):

    classical ≤ see-saw ≤ NPA(2) ≤ NPA(1+AB) ≤ NPA(1) ≤ non-signaling      (two players)

and for three players NPA(2) and NPA(1+AB) are both ≤ NPA(1) (their monomial sets are not
nested: level 2 lacks ABC) and ≥ see-saw.  Born tables of random states and POVMs lie in NPA(1)
and are non-signaling.  Tolerance: SOLVER_TOL (Clarabel reaches ~1e-8; the monomial sets here
stay under the Clarabel size cap, so no first-order solver is involved).
"""
import numpy as np
from hypothesis import given, settings, strategies as st

import qpolicy as qp
from qpolicy.bounds import (classical_value, in_npa, is_nonsignaling, nonsignaling_value,
                            npa_upper_bound, seesaw_lower_bound)
from qpolicy.games import NonlocalGame

SOLVER_TOL = 1e-6


@st.composite
def small_games(draw):
    n = draw(st.sampled_from([2, 2, 3]))
    if n == 2:     # (questions, answers) per player; kept to <= 49 monomials at level 2 so
        # that Clarabel solves every level in about a second (3 x 3 for both: ~1 min with SCS)
        sizes = [draw(st.sampled_from([(2, 2), (3, 2), (2, 3)])) for _ in range(2)]
        n_questions, n_answers = tuple(s[0] for s in sizes), tuple(s[1] for s in sizes)
    else:
        n_questions, n_answers = (2, 2, 2), (2, 2, 2)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        predicate = (rng.random(n_answers + n_questions) < 0.5).astype(float)
    else:
        predicate = rng.random(n_answers + n_questions)           # a weighted game
    mu = rng.dirichlet(np.ones(int(np.prod(n_questions)))).reshape(n_questions)
    return NonlocalGame(predicate, mu, name="random")


@settings(max_examples=6, deadline=None)
@given(small_games())
def test_chain_of_bounds(game):
    classical = classical_value(game).value
    seesaw = seesaw_lower_bound(game, 2, restarts=2, seed=0).value
    npa2 = npa_upper_bound(game, level=2).value
    npa_ab = npa_upper_bound(game, level="1+AB").value
    npa1 = npa_upper_bound(game, level=1).value
    nonsignaling = nonsignaling_value(game).value
    assert classical <= seesaw + 1e-12                         # the classical start guarantees it
    assert seesaw <= min(npa2, npa_ab) + SOLVER_TOL
    if game.n_players == 2:
        assert npa2 <= npa_ab + SOLVER_TOL
    assert max(npa2, npa_ab) <= npa1 + SOLVER_TOL
    assert npa1 <= nonsignaling + SOLVER_TOL


def _random_povms(rng, n_questions, n_answers, d):
    Z = rng.standard_normal((n_questions, n_answers, d, d)) \
        + 1j * rng.standard_normal((n_questions, n_answers, d, d))
    return qp.quantum_softmax(3 * Z)


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([2, 3]))
def test_born_tables_are_quantum_and_nonsignaling(seed, n_players):
    rng = np.random.default_rng(seed)
    d = 2
    sizes = [(int(rng.integers(2, 4)), int(rng.integers(2, 4))) if n_players == 2 else (2, 2)
             for _ in range(n_players)]
    povms = [_random_povms(rng, q, m, d) for q, m in sizes]
    B = rng.standard_normal((d ** n_players,) * 2) + 1j * rng.standard_normal((d ** n_players,) * 2)
    table = qp.born(qp.density_matrix(B), povms)
    assert is_nonsignaling(table)
    assert in_npa(table, level=1)
