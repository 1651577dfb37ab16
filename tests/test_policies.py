"""The policy hierarchy (qpolicy.policies): tables vs explicit loops, conversions between the
classes (F ⊂ SR ⊂ Q, Prop. 5 both ways), non-signaling (eq. 5) vs a brute-force check, Prop. 6,
sampling frequencies vs .table() (exact binomial tests), log-probabilities and bad input."""
import itertools

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, strategies as st

import qpolicy as qp
from qpolicy.policies import (
    CoordinatorAdvicePolicy, EntangledPolicy, FactorizedPolicy, SharedRandomnessPolicy,
    check_policy_table, coordinator_advice_form, effective_povms, is_nonsignaling,
    nonsignaling_violation, prop6_povm,
)

TABLE_TOL = 1e-12
FALSE_FAILURE_RATE = 1e-6       # of each sampling test (union bound over all cells)


# ----------------------------------------------------------------------------------------------
# Random members of each class
# ----------------------------------------------------------------------------------------------

def random_local(rng, n_answers, n_questions, leading=()):
    t = rng.random((*leading, n_answers, n_questions)) + 0.05
    return t / t.sum(axis=len(leading), keepdims=True)


def random_state(rng, dims):
    D = int(np.prod(dims))
    return qp.density_matrix(rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D)))


def random_povms(rng, n_questions, n_outcomes, d):
    Z = rng.normal(size=(n_questions, n_outcomes, d, d)) + 1j * rng.normal(size=(n_questions, n_outcomes, d, d))
    return qp.quantum_softmax(Z)


def random_entangled(rng, dims, n_questions, n_answers):
    return EntangledPolicy(random_state(rng, dims),
                           [random_povms(rng, q, a, d) for d, q, a in zip(dims, n_questions, n_answers)])


def random_coordinator(rng, dims, n_questions, n_advice, n_answers):
    advice = [random_povms(rng, q, x, d) for d, q, x in zip(dims, n_questions, n_advice)]
    actors = [random_local(rng, a, q, leading=(x,)) for q, x, a in zip(n_questions, n_advice, n_answers)]
    return CoordinatorAdvicePolicy(random_state(rng, dims), advice, actors)


def product_over_players(n_answers, n_questions):
    return itertools.product(*(range(k) for k in (*n_answers, *n_questions)))


def random_policies(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "factorized": FactorizedPolicy([random_local(rng, 2, 3), random_local(rng, 3, 2)]),
        "shared": SharedRandomnessPolicy([0.2, 0.5, 0.3], [random_local(rng, 2, 2, (3,)),
                                                           random_local(rng, 3, 2, (3,))]),
        "entangled": random_entangled(rng, (2, 3), (2, 3), (3, 2)),
        "coordinator": random_coordinator(rng, (2, 2, 2), (2, 1, 2), (2, 3, 2), (2, 2, 3)),
    }


# ----------------------------------------------------------------------------------------------
# Tables of each class against explicit loops
# ----------------------------------------------------------------------------------------------

def test_factorized_table_is_the_product():
    rng = np.random.default_rng(1)
    local = [random_local(rng, 2, 3), random_local(rng, 3, 2), random_local(rng, 2, 2)]
    p = FactorizedPolicy(local).table()
    assert p.shape == (2, 3, 2, 3, 2, 2)
    for a1, a2, a3, o1, o2, o3 in product_over_players((2, 3, 2), (3, 2, 2)):
        expected = local[0][a1, o1] * local[1][a2, o2] * local[2][a3, o3]
        assert p[a1, a2, a3, o1, o2, o3] == pytest.approx(expected, abs=TABLE_TOL)


def test_shared_randomness_table_is_eq4():
    rng = np.random.default_rng(2)
    w = np.array([0.1, 0.6, 0.3])
    local = [random_local(rng, 2, 2, (3,)), random_local(rng, 3, 4, (3,))]
    p = SharedRandomnessPolicy(w, local).table()
    for a, b, x, y in product_over_players((2, 3), (2, 4)):
        expected = sum(w[l] * local[0][l, a, x] * local[1][l, b, y] for l in range(3))
        assert p[a, b, x, y] == pytest.approx(expected, abs=TABLE_TOL)


def test_entangled_table_is_the_born_rule():
    rng = np.random.default_rng(3)
    policy = random_entangled(rng, (2, 3), (2, 2), (2, 3))
    np.testing.assert_allclose(policy.table(), qp.born(policy.rho, list(policy.povms)), atol=0)


def test_coordinator_table_is_eq7():
    rng = np.random.default_rng(4)
    policy = random_coordinator(rng, (2, 3), (2, 2), (3, 2), (2, 2))
    q = qp.born(policy.rho, list(policy.advice_povms))
    np.testing.assert_allclose(policy.advice_table(), q, atol=0)
    p = policy.table()
    for a, b, o1, o2 in product_over_players((2, 2), (2, 2)):
        expected = sum(q[x1, x2, o1, o2] * policy.actors[0][x1, a, o1] * policy.actors[1][x2, b, o2]
                       for x1, x2 in itertools.product(range(3), range(2)))
        assert p[a, b, o1, o2] == pytest.approx(expected, abs=TABLE_TOL)


@pytest.mark.parametrize("name", ["factorized", "shared", "entangled", "coordinator"])
def test_every_class_gives_a_valid_nonsignaling_table(name):
    policy = random_policies()[name]
    p = check_policy_table(policy.table(), atol=1e-12)
    assert p.ndim == 2 * policy.n_players
    assert p.shape == (*policy.n_answers, *policy.n_questions)
    assert nonsignaling_violation(p) <= 1e-12
    with pytest.raises(ValueError):
        policy.table()[(0,) * p.ndim] = 1.0          # immutable


# ----------------------------------------------------------------------------------------------
# The hierarchy: F ⊂ SR ⊂ Q, Prop. 5 both ways, and a strict step (CHSH)
# ----------------------------------------------------------------------------------------------

def test_factorized_is_shared_randomness_with_one_value():
    policy = random_policies()["factorized"]
    np.testing.assert_allclose(policy.as_shared_randomness().table(), policy.table(), atol=TABLE_TOL)


@pytest.mark.parametrize("seed", range(3))
def test_shared_randomness_is_entangled_with_a_classical_state(seed):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(3))
    local = [random_local(rng, 2, 2, (3,)), random_local(rng, 2, 3, (3,)), random_local(rng, 3, 2, (3,))]
    policy = SharedRandomnessPolicy(w, local)
    np.testing.assert_allclose(policy.as_entangled().table(), policy.table(), atol=TABLE_TOL)


@given(st.integers(0, 2**32 - 1), st.integers(2, 3))
def test_prop5_advice_to_povms(seed, n):
    """tr(ρ ⊗ M_i(a_i|o_i)) with M_i(a|o) = Σ_x π_i(a|x,o) M̃_i(x|o) equals eq. (7)."""
    rng = np.random.default_rng(seed)
    dims = tuple(rng.integers(1, 3, n))
    n_questions, n_advice, n_answers = (tuple(rng.integers(1, 4, n)) for _ in range(3))
    policy = random_coordinator(rng, dims, n_questions, n_advice, n_answers)
    povms = effective_povms(policy.advice_povms, policy.actors)
    for M in povms:
        qp.check_povm(M, atol=1e-12)
    np.testing.assert_allclose(qp.born(policy.rho, povms), policy.table(), atol=TABLE_TOL)


@given(st.integers(0, 2**32 - 1))
def test_prop5_povms_to_advice(seed):
    rng = np.random.default_rng(seed)
    policy = random_entangled(rng, (2, 2, 1), (2, 3, 1), (3, 2, 2))
    advice = coordinator_advice_form(policy)
    assert isinstance(advice, CoordinatorAdvicePolicy)
    for actor in advice.actors:                                     # π_i(a|x, o) = δ_ax
        assert set(np.unique(actor)) <= {0.0, 1.0}
        assert np.all(actor.argmax(axis=1) == np.arange(actor.shape[0])[:, None])
    np.testing.assert_allclose(advice.table(), policy.table(), atol=TABLE_TOL)


def chsh_win_probability(p):
    return sum(0.25 * p[a, b, x, y] for a, b, x, y in itertools.product(range(2), repeat=4)
               if (a ^ b) == (x & y))


def test_entangled_beats_every_shared_randomness_policy_on_chsh():
    """Π_SR ⊊ Π_Q: SR is the convex hull of deterministic factorized policies (Prop. 1), so its
    CHSH optimum is the best of the 16 deterministic ones, 3/4; a Bell-state policy reaches
    cos²(π/8) (App. D.4.1)."""
    deterministic = []
    for f in itertools.product(range(2), repeat=4):                 # a(x), b(y) for x, y ∈ {0,1}
        alice = np.eye(2)[:, [f[0], f[1]]]                          # pi[a, x] = δ(a, f(x))
        bob = np.eye(2)[:, [f[2], f[3]]]
        deterministic.append(chsh_win_probability(FactorizedPolicy([alice, bob]).table()))
    assert max(deterministic) == pytest.approx(0.75)

    def projector(angle):
        v = np.array([np.cos(angle), np.sin(angle)])
        return np.outer(v, v)

    def measurement(angle):
        return np.stack([projector(angle), projector(angle + np.pi / 2)])

    alice = np.stack([measurement(0), measurement(np.pi / 4)])
    bob = np.stack([measurement(np.pi / 8), measurement(-np.pi / 8)])
    quantum = chsh_win_probability(EntangledPolicy(qp.bell_state(), [alice, bob]).table())
    assert quantum == pytest.approx(np.cos(np.pi / 8) ** 2, abs=1e-14)


# ----------------------------------------------------------------------------------------------
# Non-signaling (eq. 5)
# ----------------------------------------------------------------------------------------------

def brute_force_violation(p):
    """Eq. (5) literally: every partition {I, J}, every a_I, o_I, o_J, o'_J."""
    n = p.ndim // 2
    A, O = p.shape[:n], p.shape[n:]
    worst = 0.0
    for size in range(1, n):
        for J in itertools.combinations(range(n), size):
            I = [i for i in range(n) if i not in J]
            for a_I in itertools.product(*(range(A[i]) for i in I)):
                for o_I in itertools.product(*(range(O[i]) for i in I)):
                    values = []
                    for o_J in itertools.product(*(range(O[j]) for j in J)):
                        total = 0.0
                        for a_J in itertools.product(*(range(A[j]) for j in J)):
                            a, o = [0] * n, [0] * n
                            for i, ai, oi in zip(I, a_I, o_I):
                                a[i], o[i] = ai, oi
                            for j, aj, oj in zip(J, a_J, o_J):
                                a[j], o[j] = aj, oj
                            total += p[tuple(a) + tuple(o)]
                        values.append(total)
                    worst = max(worst, max(values) - min(values))
    return worst


def random_table(rng, n_answers, n_questions):
    p = rng.random((*n_answers, *n_questions))
    return p / p.sum(axis=tuple(range(len(n_answers))), keepdims=True)


@pytest.mark.parametrize("n_answers, n_questions", [((2, 2), (2, 2)), ((2, 3, 2), (2, 2, 3)),
                                                    ((2, 1, 2, 2), (1, 2, 2, 2))])
def test_violation_matches_brute_force(n_answers, n_questions):
    rng = np.random.default_rng(5)
    p = random_table(rng, n_answers, n_questions)                   # generic: signaling
    v = nonsignaling_violation(p)
    assert v == pytest.approx(brute_force_violation(p), abs=1e-14)
    if max(n_questions) > 1:
        assert v > 1e-3 and not is_nonsignaling(p)


@pytest.mark.parametrize("dims", [(2, 2), (2, 3, 2), (1, 2, 2, 2)])
def test_born_tables_are_nonsignaling_for_any_number_of_parties(dims):
    rng = np.random.default_rng(6)
    n = len(dims)
    policy = random_entangled(rng, dims, (2,) * n, (2,) * n)
    assert is_nonsignaling(policy.table(), atol=1e-13)
    assert brute_force_violation(policy.table()) <= 1e-13


def test_signaling_only_across_a_bipartition_of_three_is_detected():
    """Players 0 and 1 answer a, b uniform with a ⊕ b = z, player 2's question; player 2 answers
    uniformly.  Every single-player marginal is uniform whatever the questions, so checking
    players one at a time misses it; the bipartition {0,1}|{2} reveals it (violation 1/2)."""
    p = np.zeros((2, 2, 2, 1, 1, 2))
    for a, c, z in itertools.product(range(2), repeat=3):
        p[a, a ^ z, c, 0, 0, z] = 0.25
    check_policy_table(p)
    assert nonsignaling_violation(p) == pytest.approx(0.5)
    assert brute_force_violation(p) == pytest.approx(0.5)
    for i in range(3):                                              # single-player marginals: uniform
        others = tuple(j for j in range(3) if j != i)
        np.testing.assert_allclose(p.sum(axis=others), 0.5)


# ----------------------------------------------------------------------------------------------
# Prop. 6
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k, d", [(1, 1), (1, 3), (2, 2), (2, 4), (3, 3), (3, 5)])
def test_prop6_few_outcomes_are_commuting_nonzero_projectors(k, d):
    M = prop6_povm(k, d)
    qp.check_povm(M, atol=1e-14)
    assert M.shape == (k, d, d)
    for a in range(k):
        np.testing.assert_allclose(M[a] @ M[a], M[a], atol=1e-15)              # projector
        assert np.trace(M[a]).real >= 1 - 1e-15                                # nonzero
        for b in range(k):
            np.testing.assert_allclose(M[a] @ M[b], M[b] @ M[a], atol=1e-15)   # commuting
            if a != b:
                np.testing.assert_allclose(M[a] @ M[b], 0, atol=1e-15)         # orthogonal ranges


@pytest.mark.parametrize("k, d", [(3, 2), (5, 2), (4, 3), (7, 4)])
def test_prop6_many_outcomes_are_rank_one_and_pairwise_non_proportional(k, d):
    M = prop6_povm(k, d)
    qp.check_povm(M, atol=1e-13)
    assert M.shape == (k, d, d)
    for a in range(k):
        s = np.linalg.svd(M[a], compute_uv=False)
        assert s[0] == pytest.approx(d / k) and np.all(s[1:] < 1e-14)        # rank one
        for b in range(a + 1, k):
            # proportional rank-one PSD matrices have |⟨f_a, f_b⟩| = ‖f_a‖‖f_b‖ (Cauchy–Schwarz)
            overlap = abs(np.trace(M[a] @ M[b])) / (np.linalg.norm(M[a]) * np.linalg.norm(M[b]))
            assert overlap < 1 - 1e-6
    omega = np.exp(2j * np.pi / k)                                           # the printed formula
    f1 = omega ** (-np.arange(d))
    np.testing.assert_allclose(M[1], np.outer(f1, f1.conj()) / k, atol=1e-15)


@pytest.mark.parametrize("k", [2, 3])
def test_prop6_has_no_counterexample_in_dimension_one(k):
    """Prop. 6 as printed claims every (k, d); for d = 1 it is false: a 1-dimensional POVM is a
    probability vector q, which the 1-outcome POVM {1} produces with the stochastic matrix
    P[a, 0] = q_a.  (The proof's 'no two M(a) proportional' fails: all are scalars.)"""
    q = np.array([0.2, 0.8, 0.0])[:k] / np.array([0.2, 0.8, 0.0])[:k].sum()
    trivial = np.ones((1, 1, 1))
    np.testing.assert_allclose(np.einsum("ab,bij->aij", q[:, None], trivial)[:, 0, 0], q)
    with pytest.raises(ValueError, match="d = 1"):
        prop6_povm(k, 1)


def test_prop6_bad_arguments():
    with pytest.raises(ValueError, match="k must be at least 1"):
        prop6_povm(0, 2)
    with pytest.raises(TypeError, match="d must be an integer"):
        prop6_povm(2, 2.0)


# ----------------------------------------------------------------------------------------------
# Sampling and log-probabilities
# ----------------------------------------------------------------------------------------------

def binomial_test_failures(answers, questions, table, alpha):
    """Cells whose count is outside the exact two-sided binomial acceptance region at level
    alpha / (number of cells) — the union bound keeps the overall false-failure rate ≤ alpha."""
    n = table.ndim // 2
    cells = list(np.ndindex(*table.shape))
    level = alpha / len(cells)
    bad = []
    for cell in cells:
        a, o = cell[:n], cell[n:]
        rows = np.all(questions == o, axis=1)
        N = int(rows.sum())
        if N == 0:
            continue
        count = int(np.all(answers[rows] == a, axis=1).sum())
        p = float(np.clip(table[cell], 0, 1))
        if min(scipy.stats.binom.cdf(count, N, p), scipy.stats.binom.sf(count - 1, N, p)) < level / 2:
            bad.append((cell, count, N * p))
    return bad


def all_questions(policy, repeats):
    grid = np.array(list(np.ndindex(*policy.n_questions)), dtype=np.int64)
    return np.repeat(grid, repeats, axis=0)


@pytest.mark.parametrize("name", ["factorized", "shared", "entangled", "coordinator"])
def test_sampling_frequencies_match_the_table(name):
    policy = random_policies(seed=7)[name]
    questions = all_questions(policy, repeats=20_000)
    answers = policy.sample(questions, rng=np.random.default_rng(8))
    assert answers.shape == questions.shape and answers.dtype == questions.dtype
    assert binomial_test_failures(answers, questions, policy.table(), FALSE_FAILURE_RATE) == []


@pytest.mark.parametrize("name", ["shared", "coordinator"])
def test_sampling_test_has_power(name):
    """The same test rejects a table that is off by 0.02 in two cells — so passing means
    something."""
    policy = random_policies(seed=7)[name]
    questions = all_questions(policy, repeats=20_000)
    answers = policy.sample(questions, rng=np.random.default_rng(8))
    wrong = policy.table().copy()
    n = policy.n_players
    first, second = (0,) * (2 * n), (1,) + (0,) * (2 * n - 1)
    wrong[first] += 0.02
    wrong[second] -= 0.02
    assert binomial_test_failures(answers, questions, wrong, FALSE_FAILURE_RATE) != []


def test_sampling_is_reproducible_and_takes_seed_or_generator():
    policy = random_policies()["coordinator"]
    questions = all_questions(policy, repeats=50)
    first = policy.sample(questions, rng=3)
    np.testing.assert_array_equal(first, policy.sample(questions, rng=np.random.default_rng(3)))
    assert not np.array_equal(first, policy.sample(questions, rng=4))
    with pytest.raises(TypeError, match="rng"):
        policy.sample(questions, rng=np.random.RandomState(0))


def test_sampling_respects_impossible_answers():
    """Deterministic local policies must never produce the impossible answer."""
    policy = FactorizedPolicy([np.array([[1.0, 0.0], [0.0, 1.0]])] * 2)          # a = o
    questions = np.array([[0, 1], [1, 0]] * 500)
    np.testing.assert_array_equal(policy.sample(questions, rng=0), questions)


@pytest.mark.parametrize("name", ["factorized", "shared", "entangled", "coordinator"])
def test_log_prob_is_the_log_of_the_table(name):
    policy = random_policies()[name]
    questions = all_questions(policy, repeats=3)
    answers = policy.sample(questions, rng=9)
    lp = policy.log_prob(answers, questions)
    assert lp.shape == (len(questions),)
    expected = [np.log(policy.table()[tuple(a) + tuple(o)]) for a, o in zip(answers, questions)]
    np.testing.assert_allclose(lp, expected, rtol=1e-15)


def test_log_prob_of_impossible_answer_is_minus_infinity():
    policy = FactorizedPolicy([np.array([[1.0], [0.0]])])
    assert policy.log_prob(np.array([[1]]), np.array([[0]]))[0] == -np.inf


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, fragment", [
    (np.full((2, 2, 2), 0.5), ValueError, "2n axes"),
    (np.array([[0.5, 0.7], [0.5, 0.3]]).T * [1, 1.1], ValueError, "must be 1"),
    (np.array([[1.5], [-0.5]]), ValueError, "non-negative"),
    (np.array([[np.nan], [1.0]]), ValueError, "NaN"),
    ("table", TypeError, "array of numbers"),
    (np.array([[1.0 + 0j], [0.0]]), TypeError, "real"),
])
def test_check_policy_table_rejects(bad, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        check_policy_table(bad)
    assert str(info.value).startswith("p ")
    with pytest.raises(error):
        nonsignaling_violation(bad)


def test_check_policy_table_player_count():
    with pytest.raises(ValueError, match="3 players"):
        check_policy_table(np.full((2, 2, 1, 1), 0.25), n_players=3)


def test_constructors_reject_bad_input():
    pi = np.array([[0.5, 1.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match=r"local_tables\[1\] must sum to 1"):
        FactorizedPolicy([pi, pi * 2])
    with pytest.raises(TypeError, match="local_tables must be a non-empty list"):
        FactorizedPolicy(pi)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        SharedRandomnessPolicy([0.5, 0.4], [np.stack([pi, pi])] * 2)
    with pytest.raises(ValueError, match="weights has 3"):
        SharedRandomnessPolicy([0.5, 0.25, 0.25], [np.stack([pi, pi])] * 2)
    M = prop6_povm(2, 2)[None]                                          # (1 question, 2, 2, 2)
    with pytest.raises(ValueError, match="rho must have trace 1"):
        EntangledPolicy(2 * qp.bell_state(), [M, M])
    with pytest.raises(ValueError, match="rho must be Hermitian"):
        EntangledPolicy(qp.bell_state() + np.triu(np.ones((4, 4)), 1) * 0.1, [M, M])
    with pytest.raises(ValueError, match=r"povms\[1\] elements do not sum to the identity"):
        EntangledPolicy(qp.bell_state(), [M, 2 * M])
    with pytest.raises(ValueError, match="local dimensions"):
        EntangledPolicy(qp.bell_state(), [M])
    actors = [np.ones((2, 1, 1))] * 2                                     # x=2 advice values, 1 answer
    with pytest.raises(ValueError, match=r"actors\[0\] must have shape"):
        CoordinatorAdvicePolicy(qp.bell_state(), [M, M], [np.ones((3, 1, 1))] * 2)
    with pytest.raises(ValueError, match="advice_povms has 2 players, actors has 1"):
        CoordinatorAdvicePolicy(qp.bell_state(), [M, M], actors[:1])
    with pytest.raises(TypeError, match="policy must be an EntangledPolicy"):
        coordinator_advice_form(FactorizedPolicy([pi]))


@pytest.mark.parametrize("questions, error, fragment", [
    (np.array([[0.0, 1.0]]), TypeError, "integer array"),
    (np.array([[True, False]]), TypeError, "integer array"),
    (np.array([0, 1]), ValueError, r"shape \(batch, 2\)"),
    (np.array([[0, 1, 0]]), ValueError, r"shape \(batch, 2\)"),
    (np.array([[0, 2]]), ValueError, "must lie in"),
    (np.array([[-1, 0]]), ValueError, "must lie in"),
    ("01", TypeError, "integer array"),
])
def test_sample_and_log_prob_reject_bad_questions(questions, error, fragment):
    policy = FactorizedPolicy([np.full((2, 2), 0.5)] * 2)
    with pytest.raises(error, match=fragment) as info:
        policy.sample(questions, rng=0)
    assert str(info.value).startswith("questions")
    with pytest.raises(error, match=fragment):
        policy.log_prob(np.zeros((1, 2), dtype=int), questions)


def test_log_prob_rejects_bad_answers():
    policy = FactorizedPolicy([np.full((2, 2), 0.5)] * 2)
    with pytest.raises(ValueError, match="answers"):
        policy.log_prob(np.array([[0, 5]]), np.array([[0, 0]]))
    with pytest.raises(ValueError, match="same batch size"):
        policy.log_prob(np.zeros((2, 2), dtype=int), np.zeros((3, 2), dtype=int))


def test_an_invalid_table_names_the_sum_over_answers_and_hints_at_questions_first():
    """The review found "must sum to 1 along axis 0" for a table of 0.5s (the sum is over the
    answer axes) and no hint for a questions-first table."""
    with pytest.raises(ValueError, match=r"sum over the answers a must be 1, but for o = \(0, 0\) it is 2"):
        check_policy_table(np.full((2, 2, 2, 2), 0.5))
    questions_first = np.random.default_rng(0).dirichlet(np.ones(6), size=(3, 4)).reshape(3, 4, 2, 3)
    with pytest.raises(ValueError, match=r"questions-first .* np\.moveaxis\(p, \(0, 1\), \(2, 3\)\)"):
        check_policy_table(questions_first)
    fixed = np.moveaxis(questions_first, (0, 1), (2, 3))
    assert check_policy_table(fixed).shape == (2, 3, 3, 4)
