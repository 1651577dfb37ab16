"""Tests of the LP bounds and membership: exact values, two methods agreeing, certificates."""
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import (SolverError, bell_certificate, classical_value, classify,
                            deterministic_table, in_local_polytope, is_factorized,
                            is_nonsignaling, local_distance, nonsignaling_value,
                            nonsignaling_violation)
from qpolicy.bounds.nonsignaling import collins_gisin_map, nonsignaling_operators
from qpolicy.policies import check_policy_table, pr_box

#: Tolerance for values computed by an interior-point LP solver (Clarabel reaches ~1e-8).
LP_TOL = 1e-6

REFERENCE = [  # game, classical, non-signaling (notes/games.md)
    (games.chsh, 3 / 4, 1.0),
    (games.ghz, 3 / 4, 1.0),
    (games.tetra, 5 / 8, 3 / 4),
    (games.cube, 5 / 16, 3 / 8),
]


def all_deterministic_values(weights):
    """<weights, d> for every joint deterministic strategy d (no best response; an oracle)."""
    n = weights.ndim // 2
    n_answers, n_questions = weights.shape[:n], weights.shape[n:]
    functions = [np.array(list(itertools.product(range(a), repeat=q)))
                 for a, q in zip(n_answers, n_questions)]               # (S_k, O_k) each
    # index[k] has shape (S_1..S_n, O_1..O_n): player k's answer to o_k under strategy s_k
    index = []
    for k, f in enumerate(functions):
        shape = [1] * (2 * n)
        shape[k], shape[n + k] = f.shape
        index.append(f.reshape(shape))
    questions = [np.arange(q).reshape([1] * (n + k) + [q] + [1] * (n - k - 1))
                 for k, q in enumerate(n_questions)]
    return weights[tuple(index) + tuple(questions)].sum(axis=tuple(range(n, 2 * n)))


# -- exact reference values ---------------------------------------------------------------------

@pytest.mark.parametrize("make, classical, nonsignaling", REFERENCE)
def test_reference_values(make, classical, nonsignaling):
    game = make()
    exact = classical_value(game)
    assert exact.value == pytest.approx(classical, abs=1e-12)
    assert exact.kind == "classical" and exact.solver is None
    assert game.value(deterministic_table(exact.strategy, game.n_answers)) == \
        pytest.approx(classical, abs=1e-12)
    assert exact.details["lower_bound"] <= classical <= exact.details["upper_bound"]
    lp = classical_value(game, method="lp")
    assert lp.value == pytest.approx(classical, abs=LP_TOL)
    assert (lp.solver, lp.status) == ("HIGHS", "optimal")
    # proved bracket: the upper bound is the dual's, the lower one an explicit strategy's value
    assert lp.details["lower_bound"] <= classical <= lp.value
    assert game.value(check_policy_table(lp.strategy)) == \
        pytest.approx(lp.details["lower_bound"], abs=1e-12)
    ns = nonsignaling_value(game)
    assert ns.value == pytest.approx(nonsignaling, abs=LP_TOL)
    assert ns.details["lower_bound"] <= nonsignaling <= ns.value
    assert is_nonsignaling(ns.strategy, atol=1e-12)
    assert game.value(check_policy_table(ns.strategy)) == \
        pytest.approx(ns.details["lower_bound"], abs=1e-12)


def test_other_solver_gives_the_same_values():
    game = games.tetra()
    lp = classical_value(game, method="lp", solver="CLARABEL")
    assert lp.value == pytest.approx(5 / 8, abs=LP_TOL) and lp.solver == "CLARABEL"
    assert lp.details["lower_bound"] <= 5 / 8 <= lp.value
    ns = nonsignaling_value(game, solver="CLARABEL")
    assert ns.value == pytest.approx(3 / 4, abs=LP_TOL) and ns.solver == "CLARABEL"
    assert ns.details["lower_bound"] <= 3 / 4 <= ns.value


# -- random games: enumeration = brute force = LP ≤ non-signaling --------------------------------

@st.composite
def small_games(draw):
    n = draw(st.integers(2, 3))
    n_answers = tuple(draw(st.integers(2, 3)) for _ in range(n))
    n_questions = tuple(draw(st.integers(2, 3 if n == 2 else 2)) for _ in range(n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        predicate = rng.integers(0, 2, size=n_answers + n_questions).astype(float)
    else:
        predicate = rng.uniform(-1, 1, size=n_answers + n_questions)
    mu = rng.random(n_questions) * (rng.random(n_questions) < 0.8)   # some questions never asked
    mu.flat[0] += 0.1
    return games.NonlocalGame(predicate, mu / mu.sum())


@given(small_games())
def test_enumeration_equals_brute_force_and_lp(game):
    exact = classical_value(game)
    brute = all_deterministic_values(game.weights).max()
    assert exact.value == pytest.approx(brute, abs=1e-12)
    assert game.value(deterministic_table(exact.strategy, game.n_answers)) == \
        pytest.approx(brute, abs=1e-12)
    assert classical_value(game, method="lp").value == pytest.approx(brute, abs=LP_TOL)
    ns = nonsignaling_value(game).value
    assert ns >= brute - LP_TOL
    assert nonsignaling_value(game, method="marginals", solver="HIGHS").value == \
        pytest.approx(ns, abs=LP_TOL)


@pytest.mark.parametrize("shape", [(2, 2, 2, 2), (3, 2, 2, 4), (2, 3, 2, 3, 2, 2),
                                   (2, 2, 2, 2, 2, 2, 2, 2)])
def test_collins_gisin_map_spans_exactly_the_nonsignaling_subspace(shape):
    n = len(shape) // 2
    T = collins_gisin_map(shape[:n], shape[n:]).toarray()
    normalization, no_signaling = nonsignaling_operators(shape[:n], shape[n:])
    # every T c with c[0] = 1 is normalized and non-signaling ...
    np.testing.assert_array_equal(no_signaling @ T, 0)
    np.testing.assert_array_equal(normalization @ T[:, 0], 1)
    np.testing.assert_array_equal(normalization @ T[:, 1:], 0)
    # ... T is injective, and its range has the dimension of the non-signaling subspace
    constraints = np.vstack([normalization.toarray(), no_signaling.toarray()])
    assert np.linalg.matrix_rank(T) == T.shape[1]
    assert T.shape[1] == T.shape[0] - np.linalg.matrix_rank(constraints) + 1


# -- non-signaling check: two implementations ---------------------------------------------------

def ns_operator_violation(p):
    n = p.ndim // 2
    _, S = nonsignaling_operators(p.shape[:n], p.shape[n:])
    return np.max(np.abs(S @ p.ravel()))


def test_two_nonsignaling_checks_agree():
    rng = np.random.default_rng(5)
    for shape in [(2, 3, 3, 2), (2, 2, 3, 2, 3, 2)]:
        n = len(shape) // 2
        p = rng.random(shape); p /= p.sum(axis=tuple(range(n)), keepdims=True)
        # single-party differences against o_k = 0 are a subset of what policies checks
        assert 0 < ns_operator_violation(p) <= nonsignaling_violation(p) + 1e-15
    rho = qp.density_matrix(rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8)))
    povms = [qp.quantum_softmax(rng.normal(size=(2, 3, 2, 2)) + 0j) for _ in range(3)]
    born = qp.born(rho, povms)
    assert ns_operator_violation(born) < 1e-12 and nonsignaling_violation(born) < 1e-12


# -- membership and certificates ----------------------------------------------------------------



def tsirelson_table():
    """CHSH with the Bell state and the App. D.4.1 measurements: wins with cos²(π/8)."""
    return qp.born(*games.chsh_quantum_strategy())


def ghz_quantum_table():
    """GHZ state, answer = outcome of X (question 0) or Y (question 1): wins Vaidman's game."""
    X = np.array([[0, 1], [1, 0]], dtype=complex)
    Y = np.array([[0, -1j], [1j, 0]])
    povm = np.array([[(np.eye(2) + sign * P) / 2 for sign in (1, -1)] for P in (X, Y)])
    return qp.born(qp.ghz_state(3), [povm] * 3)


def random_local_table(rng, shape, n_mixed):
    n = len(shape) // 2
    weights = rng.dirichlet(np.ones(n_mixed))
    table = np.zeros(shape)
    for w in weights:
        strategy = [rng.integers(0, a, size=q) for a, q in zip(shape[:n], shape[n:])]
        table += w * deterministic_table(strategy, shape[:n])
    return table


@settings(max_examples=15)   # fewer than the profile's: each example solves two LPs
@given(st.sampled_from([(2, 2, 2, 2), (3, 2, 2, 3), (2, 2, 2, 2, 2, 2)]), st.integers(1, 6),
       st.integers(0, 2**32 - 1))
def test_mixtures_of_deterministic_strategies_are_local(shape, n_mixed, seed):
    table = random_local_table(np.random.default_rng(seed), shape, n_mixed)
    assert local_distance(table).value <= 1e-6
    assert in_local_polytope(table)
    assert bell_certificate(table) is None


def test_tsirelson_table_violates_its_bell_certificate():
    table = tsirelson_table()
    assert games.chsh().value(table) == pytest.approx(np.cos(np.pi / 8) ** 2, abs=1e-12)
    assert is_nonsignaling(table) and not in_local_polytope(table)
    certificate = bell_certificate(table)
    assert certificate is not None
    assert certificate.value > certificate.local_bound + 0.1
    assert certificate.evaluate(table) == pytest.approx(certificate.value, abs=1e-12)
    # the local bound holds for every deterministic strategy (brute force) and is attained
    brute = all_deterministic_values(certificate.coefficients)
    assert brute.max() == pytest.approx(certificate.local_bound, abs=1e-12)
    assert np.all(np.abs(certificate.coefficients) <= 1 + 1e-7)
    # CHSH-like: the CHSH correlator functional B = (-1)^(a+b+xy) has local bound 2 and value
    # 2√2 on this table; it is feasible (|B| <= 1), and the optimal certificate does no better
    chsh_functional = np.fromfunction(lambda a, b, x, y: (-1.0) ** (a + b + x * y), (2, 2, 2, 2))
    assert all_deterministic_values(chsh_functional).max() == pytest.approx(2.0, abs=1e-12)
    assert np.sum(chsh_functional * table) == pytest.approx(2 * np.sqrt(2), abs=1e-12)
    assert certificate.violation == pytest.approx(2 * np.sqrt(2) - 2, abs=LP_TOL)
    # LP duality: the best violation with |B| <= 1 is the L1 distance to the local polytope
    assert certificate.violation == pytest.approx(local_distance(table).value, abs=LP_TOL)


def test_degenerate_local_table_gets_no_certificate():
    """A deterministic 3-player table with ~5e-8 LP residue (an NS-LP optimum of a random game).

    On this table Clarabel stopped the compact separation LP at 'optimal_inaccurate' (cvxpy
    1.9.3, Clarabel 0.11.1), which is why certificates default to HiGHS.
    """
    table = np.load(Path(__file__).parent / "data" / "near_local_table_3players.npy")
    assert bell_certificate(table) is None
    assert bell_certificate(table, method="cutting_planes") is None
    assert local_distance(table).value <= 1e-6
    assert classify(table) == "shared_randomness"


def test_pr_box_is_nonsignaling_and_not_local():
    p = pr_box()
    assert is_nonsignaling(p)
    # distance exactly 2: the CHSH functional gives >= 2, the mixture of a=b=0 and a=b=1 gives <= 2
    assert local_distance(p).value == pytest.approx(2.0, abs=LP_TOL)
    certificate = bell_certificate(p)
    assert certificate.violation == pytest.approx(2.0, abs=LP_TOL)
    assert all_deterministic_values(certificate.coefficients).max() <= \
        certificate.local_bound + 1e-12


def test_ghz_quantum_table_is_nonlocal():
    table = ghz_quantum_table()
    assert games.ghz().value(table) == pytest.approx(1.0, abs=1e-12)
    certificate = bell_certificate(table)
    assert certificate is not None and certificate.violation > 0.1
    assert all_deterministic_values(certificate.coefficients).max() == \
        pytest.approx(certificate.local_bound, abs=1e-12)


def test_compact_and_cutting_planes_agree():
    rng = np.random.default_rng(9)
    tetra_ns = nonsignaling_value(games.tetra()).strategy.clip(0)
    tetra_ns /= tetra_ns.sum(axis=(0, 1), keepdims=True)
    tetra_mixture = 0.2 * tetra_ns + 0.8 * random_local_table(rng, (3, 3, 4, 4), 3)
    for table in (tsirelson_table(), pr_box(), ghz_quantum_table(), tetra_mixture):
        compact = bell_certificate(table, method="compact")
        cutting = bell_certificate(table, method="cutting_planes")
        assert cutting.solver == compact.solver == "HIGHS"
        assert bell_certificate(table, method="compact", solver="CLARABEL").violation == \
            pytest.approx(compact.violation, abs=LP_TOL)
        assert cutting.violation == pytest.approx(compact.violation, abs=LP_TOL)
        assert not in_local_polytope(table, method="cutting_planes")
        assert local_distance(table, method="cutting_planes").value == \
            pytest.approx(local_distance(table, method="compact").value, abs=LP_TOL)
    local = random_local_table(rng, (3, 3, 4, 4), 4)
    assert bell_certificate(local, method="cutting_planes") is None
    assert in_local_polytope(local, method="cutting_planes")
    with pytest.raises(ValueError, match="method"):
        bell_certificate(local, method="simplex")


def test_cube_sized_table_gets_a_certificate_by_cutting_planes():
    game = games.cube()
    ns = nonsignaling_value(game).strategy.clip(0)
    ns /= ns.sum(axis=(0, 1), keepdims=True)
    best = classical_value(game)
    table = 0.3 * ns + 0.7 * deterministic_table(best.strategy, game.n_answers)
    certificate = bell_certificate(table)                  # auto: too big for the compact LP
    assert certificate is not None
    # the game itself, scaled to |B| <= 1 (max mu V = 1/64), is a feasible Bell functional
    assert certificate.violation >= 64 * (game.value(table) - 5 / 16) - LP_TOL
    distance = local_distance(table)
    assert distance.details["method"] == "cutting_planes"
    assert distance.value == pytest.approx(certificate.violation, abs=LP_TOL)
    assert not in_local_polytope(table)


def test_signaling_table_is_caught():
    p = np.zeros((2, 2, 2, 2))
    for a, x, y in np.ndindex(2, 2, 2):
        p[a, x, x, y] = 0.5                    # Bob answers Alice's question
    assert not is_nonsignaling(p)
    assert classify(p) == "signaling"


def test_classify_each_class():
    rng = np.random.default_rng(8)
    locals_ = [rng.dirichlet(np.ones(2), size=2).T for _ in range(2)]   # p_k[a, o]
    product = np.einsum("ax,by->abxy", *locals_)
    assert is_factorized(product) and classify(product) == "factorized"
    shared = 0.5 * (deterministic_table([np.array([0, 0])] * 2, (2, 2))
                    + deterministic_table([np.array([1, 1])] * 2, (2, 2)))
    assert not is_factorized(shared) and classify(shared) == "shared_randomness"
    # with the explicit Born strategy the table is certified quantum
    assert classify(tsirelson_table(), strategy=games.chsh_quantum_strategy()) == "quantum"
    with pytest.raises(ValueError, match="strategy does not produce p"):
        classify(pr_box(), strategy=games.chsh_quantum_strategy())
    try:
        from qpolicy.bounds.npa import in_npa  # noqa: F401
    except ImportError:
        with pytest.warns(RuntimeWarning, match="npa"):
            assert classify(tsirelson_table()) == "nonsignaling"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert classify(tsirelson_table()) == "npa1"
        assert classify(pr_box()) == "nonsignaling"



def test_classify_reuses_a_precomputed_distance():
    shared = 0.5 * (deterministic_table([np.array([0, 0])] * 2, (2, 2))
                    + deterministic_table([np.array([1, 1])] * 2, (2, 2)))
    for table in (shared, tsirelson_table(), pr_box()):
        distance = local_distance(table).value
        assert classify(table, distance=distance) == classify(table)
    # the given distance is what decides locality: no LP is solved to second-guess it
    assert classify(pr_box(), distance=0.0) == "shared_randomness"
    with pytest.raises(TypeError, match="distance"):
        classify(pr_box(), distance="2")

# -- bad input and solver failures --------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(TypeError, match="game"):
        classical_value("chsh")
    with pytest.raises(ValueError, match="method"):
        classical_value(games.chsh(), method="brute")
    with pytest.raises(TypeError, match="game"):
        nonsignaling_value(np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="method"):
        nonsignaling_value(games.chsh(), method="vertices")
    for function in (in_local_polytope, bell_certificate, classify, local_distance):
        with pytest.raises(ValueError, match="p"):
            function(np.full((2, 2, 2), 0.5))                  # odd number of axes
        with pytest.raises(ValueError, match="p"):
            function(np.full((2, 2, 2, 2), 0.3))               # not normalized
        with pytest.raises(TypeError, match="p"):
            function([["a"]])


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_solver_failures_raise_with_status():
    with pytest.raises(SolverError) as info:
        nonsignaling_value(games.chsh(), solver="CLARABEL", max_iter=1)
    assert info.value.status == "user_limit"
    with pytest.raises(SolverError):
        classical_value(games.chsh(), method="lp", solver="NO_SUCH_SOLVER")


def test_size_limit_is_explicit():
    game = games.NonlocalGame(np.zeros((3, 3, 30, 30)), np.full((30, 30), 1 / 900))
    with pytest.raises(ValueError, match="too large"):
        classical_value(game)
    with pytest.raises(ValueError, match="too large"):
        classical_value(game, method="lp")
