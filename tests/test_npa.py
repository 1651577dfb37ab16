"""NPA hierarchy: reference values, the moment-matrix index maps against explicit operators,
membership, and errors.  Oracles: Tsirelson's bound, GHZ = 1, the see-saw's explicit Tetra
strategy (209/324 ≈ 0.64506, the quoted NPA value), and moment matrices of random projective
strategies computed with matrices."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds.npa import (dual_bound, in_npa, npa_relaxation, npa_upper_bound,
                                predicted_size)
from qpolicy.bounds.functionals import cglmp3_coefficients
from qpolicy.bounds.results import SolverError
from qpolicy.policies import pr_box

TSIRELSON = np.cos(np.pi / 8) ** 2
TETRA_QUANTUM = 0.64506   # quoted (Viola & Mironowicz 2024); the see-saw reaches 0.6450617284


@pytest.mark.parametrize("level", [1, "1+AB", 2])
@pytest.mark.parametrize("positivity", [True, False])
def test_chsh_is_tsirelson_at_every_level(level, positivity):
    bound = npa_upper_bound(games.chsh(), level=level, positivity=positivity)
    assert TSIRELSON <= bound.value <= TSIRELSON + 1e-7      # certified: never below the truth
    assert bound.upper == bound.value == bound.details["dual_bound"]
    assert (bound.kind, bound.level, bound.solver, bound.status) == (
        "npa", str(level), "CLARABEL", "optimal")
    gamma = bound.moment_matrix
    assert gamma.shape == (bound.details["size"],) * 2
    assert np.allclose(gamma, gamma.T) and gamma[0, 0] == pytest.approx(1.0)
    assert np.linalg.eigvalsh(gamma).min() > -1e-7
    table = bound.details["table"]
    assert np.allclose(table.sum(axis=(0, 1)), 1.0)
    assert np.sum(games.chsh().weights * table) == pytest.approx(bound.details["primal_value"],
                                                                 abs=1e-9)
    assert 0 <= bound.details["gap"] == bound.value - bound.details["primal_value"] < 1e-7


@pytest.mark.parametrize("level", [1, "1+AB", 2])
def test_ghz_three_players_is_one(level):
    bound = npa_upper_bound(games.ghz(), level=level)
    assert bound.value == pytest.approx(1.0, abs=1e-6)


def test_level_one_gets_extra_monomials_only_when_needed():
    # 3 players: level 1 cannot express <ABC>, so B·C products are added (2 ops each: 4)
    assert npa_relaxation((2, 2, 2), (2, 2, 2), 1).extra_monomials == 4
    assert npa_relaxation((2, 2), (2, 2), 1).extra_monomials == 0
    assert npa_relaxation((2, 2, 2), (2, 2, 2), "1+AB").extra_monomials == 0


def test_level_sizes_match_counting():
    # Tetra: 4 questions x 2 Collins-Gisin operators = 8 per party
    assert len(npa_relaxation((3, 3), (4, 4), 1).monomials) == 1 + 8 + 8
    assert len(npa_relaxation((3, 3), (4, 4), "1+AB").monomials) == 9 * 9
    # level 2: 1 + 16 + 8*8 (AB) + 2 * (8*8 - 8*2) (same-party, same-question pairs reduce)
    assert len(npa_relaxation((3, 3), (4, 4), 2).monomials) == 1 + 16 + 64 + 2 * 48


def test_positivity_rows_tighten_level_one_with_three_answers():
    with_rows = npa_upper_bound(games.tetra(), level=1, positivity=True)
    textbook = npa_upper_bound(games.tetra(), level=1, positivity=False)
    assert with_rows.details["positivity_rows"] and not textbook.details["positivity_rows"]
    assert with_rows.value < textbook.value - 0.01          # measured 0.6500 vs 0.6944
    assert with_rows.value >= TETRA_QUANTUM - 1e-6


@pytest.fixture(scope="module")
def tetra_local_level_one():
    return npa_upper_bound(games.tetra(), level="1+AB")


def test_tetra_local_level_one_matches_quoted_value(tetra_local_level_one):
    bound = tetra_local_level_one
    assert bound.solver == "SCS"                             # 81 monomials: above Clarabel's cap
    assert not bound.details["positivity_rows"]              # implied at 1+AB
    assert bound.value == pytest.approx(TETRA_QUANTUM, abs=5e-6)
    assert bound.value >= 209 / 324 - 1e-6                   # an explicit strategy reaches it


def test_cube_local_level_one_matches_quoted_value_via_its_two_blocks():
    bound = npa_upper_bound(games.cube(), level="1+AB")
    even, odd = [0, 3, 5, 6], [1, 2, 4, 7]               # different parities never meet
    assert [[list(q) for q in block] for block in bound.details["question_blocks"]] == [
        [even, even], [odd, odd]]
    assert bound.details["size"] == [81, 81]
    assert bound.value == pytest.approx(0.32253, abs=5e-6)
    assert bound.details["dual_bound"] >= 209 / 648       # an explicit strategy reaches it


def test_blocks_of_a_direct_sum_agree_with_the_joint_relaxation():
    """Two CHSH games on disjoint question pairs, each asked with probability 1/2."""
    chsh = games.chsh()
    predicate = np.zeros((2, 2, 4, 4))
    mu = np.zeros((4, 4))
    for block in (slice(0, 2), slice(2, 4)):
        predicate[:, :, block, block] = chsh.predicate
        mu[block, block] = chsh.question_dist / 2
    game = games.NonlocalGame(predicate, mu)
    split = npa_upper_bound(game, level="1+AB")
    joint = npa_upper_bound(game, level="1+AB", decompose=False)
    assert len(split.details["blocks"]) == 2 and joint.moment_matrix.shape == (25, 25)
    assert split.value == pytest.approx(TSIRELSON, abs=1e-7)
    assert joint.value == pytest.approx(TSIRELSON, abs=1e-7)


def test_dual_bound_is_rigorous_for_any_multiplier_and_tight_at_the_solvers():
    game = games.chsh()
    relaxation = npa_relaxation(game.n_answers, game.n_questions, "1+AB")
    objective = relaxation.table_map.T @ game.weights.ravel()
    rng = np.random.default_rng(0)
    N = len(relaxation.monomials)
    for scale in (1e-3, 1.0):
        Z = scale * rng.standard_normal((N, N))
        assert dual_bound(relaxation, objective, Z) >= TSIRELSON          # valid for any Z
    for level in (1, "1+AB", 2):
        bound = npa_upper_bound(game, level=level)
        assert TSIRELSON <= bound.details["dual_bound"] <= bound.value + 1e-6


@pytest.mark.slow
def test_cube_joint_relaxation_matches_quoted_value():
    """The 289 x 289 joint SDP (measured: ~14 min with SCS at 1e-6 on a busy 2-core machine)."""
    bound = npa_upper_bound(games.cube(), level="1+AB", decompose=False,
                            eps_abs=1e-6, eps_rel=1e-6)
    assert bound.value == pytest.approx(209 / 648, abs=5e-6)


# -- the index maps against explicit operators ----------------------------------------------------

def _random_projective(rng, n_questions, n_answers, d):
    """Projective measurements (q, m, d, d): a random basis per question, split into m groups."""
    out = np.zeros((n_questions, n_answers, d, d), dtype=complex)
    for x in range(n_questions):
        U, _ = np.linalg.qr(rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d)))
        groups = np.array_split(np.arange(d), n_answers)
        for a, cols in enumerate(groups):
            out[x, a] = U[:, cols] @ U[:, cols].conj().T
    return out


def _true_moment_matrix(relaxation, psi, povms, dims):
    def lift(k, op):
        factors = [np.eye(d) for d in dims]
        factors[k] = op
        out = factors[0]
        for f in factors[1:]:
            out = np.kron(out, f)
        return out

    def operator(word):
        out = np.eye(int(np.prod(dims)), dtype=complex)
        for k, x, a in word:
            out = out @ lift(k, povms[k][x, a])
        return out

    ops = [operator(w) @ psi for w in relaxation.monomials]
    return np.array([[u.conj() @ v for v in ops] for u in ops])


@pytest.mark.parametrize("n_answers, n_questions, d, level", [
    ((3, 3), (2, 2), 3, 1), ((3, 3), (2, 2), 3, "1+AB"), ((3, 3), (2, 2), 3, 2),
    ((2, 3), (2, 3), 2, 2), ((2, 2, 2), (2, 2, 2), 2, 1), ((2, 2, 2), (2, 2, 2), 2, 2),
    ((2, 2, 2), (2, 2, 2), 2, "1+AB")])
def test_index_maps_agree_with_a_random_complex_strategy(n_answers, n_questions, d, level):
    """Entries the relaxation identifies are equal (in real part: w ~ w†) for real operators,
    zero entries are zero, Re Γ is PSD (so the real relaxation is valid), and the table map
    reproduces the Born rule."""
    rng = np.random.default_rng(7)
    n = len(n_answers)
    povms = [_random_projective(rng, q, m, d) for m, q in zip(n_answers, n_questions)]
    psi = rng.standard_normal(d ** n) + 1j * rng.standard_normal(d ** n)
    psi /= np.linalg.norm(psi)
    relaxation = npa_relaxation(n_answers, n_questions, level)
    gamma = _true_moment_matrix(relaxation, psi, povms, [d] * n)
    ev = relaxation.entry_variable
    assert np.allclose(gamma[ev < 0], 0, atol=1e-12)
    y = np.zeros(relaxation.n_variables)
    y[ev[ev >= 0]] = gamma.real[ev >= 0]
    assert np.allclose(gamma.real[ev >= 0], y[ev[ev >= 0]], atol=1e-12)     # classes agree
    assert y[relaxation.identity_variable] == pytest.approx(1.0)
    assert np.linalg.eigvalsh(gamma.real).min() > -1e-12
    table = qp.born(np.outer(psi, psi.conj()), povms)
    assert np.allclose(relaxation.table_map @ y, table.ravel(), atol=1e-12)


def test_identification_by_word_and_adjoint():
    """<E_{0|0} E_{0|1}> and <E_{0|1} E_{0|0}> are complex conjugates: one real variable."""
    relaxation = npa_relaxation((2, 2), (2, 2), 2)
    index = {w: i for i, w in enumerate(relaxation.monomials)}
    a0, a1 = (0, 0, 0), (0, 1, 0)
    ev = relaxation.entry_variable
    assert ev[index[(a0,)], index[(a1,)]] == ev[index[(a1,)], index[(a0,)]]
    assert ev[index[(a0,)], index[(a0,)]] == ev[index[()], index[(a0,)]]          # P² = P
    # same question, different answers: orthogonal (needs 3 answers: 2 operators per question)
    relaxation3 = npa_relaxation((3, 3), (1, 1), 1)
    idx3 = {w: i for i, w in enumerate(relaxation3.monomials)}
    assert relaxation3.entry_variable[idx3[((0, 0, 0),)], idx3[((0, 0, 1),)]] == -1


# -- membership -----------------------------------------------------------------------------------

def _chsh_quantum_table():
    return qp.born(*games.chsh_quantum_strategy())




def test_in_npa_accepts_quantum_and_local_tables():
    quantum = _chsh_quantum_table()
    assert games.chsh().value(quantum) == pytest.approx(TSIRELSON)
    assert in_npa(quantum) and in_npa(quantum, level="1+AB") and in_npa(quantum, level=2)
    deterministic = np.zeros((2, 2, 2, 2))
    deterministic[0, 1] = 1.0
    assert in_npa(deterministic)
    rng = np.random.default_rng(3)
    povms = [_random_projective(rng, 2, 3, 3) for _ in range(2)]
    psi = rng.standard_normal(9) + 1j * rng.standard_normal(9)
    psi /= np.linalg.norm(psi)
    assert in_npa(qp.born(np.outer(psi, psi.conj()), povms), level="1+AB")


def test_in_npa_rejects_beyond_tsirelson_and_signaling():
    assert not in_npa(pr_box())
    beyond = 0.9 * _chsh_quantum_table() + 0.1 * pr_box()       # value 0.868 > Tsirelson
    assert not in_npa(beyond) and not in_npa(beyond, level=2)
    signaling = np.zeros((2, 2, 2, 2))
    for xx, yy in itertools.product(range(2), range(2)):
        signaling[yy, 0, xx, yy] = 1.0                          # Alice outputs Bob's question
    assert not in_npa(signaling)


def test_three_player_born_table_is_in_npa():
    rng = np.random.default_rng(5)
    povms = [_random_projective(rng, 2, 2, 2) for _ in range(3)]
    table = qp.born(qp.ghz_state(3), povms)
    assert in_npa(table, level=1)


def _membership_sdp(table, level):
    """(t*, primal y, dual Z) of min t s.t. Γ + tI ⪰ 0, the table's correlators fixed."""
    import cvxpy as cp
    from qpolicy.bounds.npa import _moment_matrix
    relaxation = npa_relaxation(table.shape[:2], table.shape[2:], level)
    K = relaxation.correlator_map.toarray()
    correlators = np.linalg.lstsq(K, table.ravel(), rcond=None)[0]
    y, t = cp.Variable(relaxation.n_variables), cp.Variable()
    N = len(relaxation.monomials)
    psd = _moment_matrix(relaxation, y) + t * np.eye(N) >> 0
    problem = cp.Problem(cp.Minimize(t), [psd, y[relaxation.correlator_variable.ravel()]
                                          == correlators])
    problem.solve(solver="CLARABEL")
    values = np.array(y.value)
    values[relaxation.correlator_variable.ravel()] = correlators
    return relaxation, correlators, float(t.value), values, psd.dual_value


@pytest.mark.parametrize("level", [1, "1+AB", 2])
def test_membership_certificates_bracket_the_optimal_shift(level):
    """At level 2 some diagonal entries are free: the dual bound then holds for t* ≤ cap, and
    cap = the primal bound (a proved upper bound on t*) makes it unconditional."""
    from qpolicy.bounds.npa import _membership_dual_bound, _membership_primal_bound
    rng = np.random.default_rng(11)
    for table in (pr_box(), 0.9 * _chsh_quantum_table() + 0.1 * pr_box(),
                  _chsh_quantum_table()):
        relaxation, correlators, shift, values, Z = _membership_sdp(table, level)
        upper = _membership_primal_bound(relaxation, values)
        cap = max(upper, 0.0)
        lower = _membership_dual_bound(relaxation, correlators, Z, cap)
        assert lower <= shift + 1e-7 and shift <= upper + 1e-7
        assert upper - lower < 1e-6                      # tight at an interior-point optimum
        for _ in range(5):                               # any symmetric Z gives a valid bound
            noise = rng.standard_normal(Z.shape)
            assert (_membership_dual_bound(relaxation, correlators, Z + 0.1 * noise, cap)
                    <= shift + 1e-7)
    # the PR box is certified outside, the Tsirelson table certified inside
    relaxation, correlators, _, values, Z = _membership_sdp(pr_box(), level)
    assert _membership_dual_bound(relaxation, correlators, Z,
                                  _membership_primal_bound(relaxation, values)) > 1e-3
    relaxation, _, _, values, _ = _membership_sdp(_chsh_quantum_table(), level)
    assert _membership_primal_bound(relaxation, values) <= 1e-6


def test_sdps_too_large_for_the_solver_raise_instead_of_running_out_of_memory():
    cube_table = np.full((3, 3, 8, 8), 1 / 9)
    with pytest.raises(ValueError, match="GB"):
        in_npa(cube_table, level="1+AB", solver="CLARABEL")      # 289 monomials: ~14 GB
    with pytest.raises(ValueError, match="GB"):
        npa_upper_bound(games.cube(), level="1+AB", solver="CLARABEL", decompose=False)
    with pytest.raises(ValueError, match="MAX_MOMENT_SIZE"):
        in_npa(cube_table, level=3)
    # CVXOPT holds the scaled constraints (N² × m) and the m × m Schur complement densely:
    # 289 monomials, 29 185 moment variables: ~26 GB, refused before the SDP is built
    with pytest.raises(ValueError, match="CVXOPT.*2918[56] variables.*26 GB"):
        in_npa(cube_table, level="1+AB", solver="CVXOPT")
    with pytest.raises(ValueError, match="CVXOPT.*GB"):
        npa_upper_bound(games.cube(), level="1+AB", solver="CVXOPT", decompose=False)


def test_solver_choice_by_shape():
    """Which solvers run, in which order, for a moment matrix of N monomials and m variables."""
    from qpolicy.bounds.npa import CLARABEL_MAX_SIZE, _attempts
    names = lambda attempts: [(name, strict) for name, _, strict in attempts]    # noqa: E731
    assert names(_attempts(None, 28, {}, 154)) == [                     # I3322 level 2
        ("CLARABEL", False), ("CLARABEL", False), ("CVXOPT", False), ("CVXOPT", False),
        ("SCS", False)]
    assert names(_attempts(None, 88, {}, 868)) == [                     # I3322 level 3
        ("SCS", True), ("CVXOPT", False), ("CVXOPT", False), ("SCS", False)]
    assert names(_attempts(None, 289, {}, 29185)) == [("SCS", False)]   # Cube joint: 26 GB
    assert names(_attempts(None, 150, {}, 8000)) == [("SCS", False)]    # 2 GB, but N²m² = 1e12
    assert CLARABEL_MAX_SIZE < 81
    # a named solver alone; the caller's tolerances replace CVXOPT's, without the retry
    assert names(_attempts("CVXOPT", 88, {"abstol": 1e-7}, 868)) == [("CVXOPT", False)]
    assert _attempts("CVXOPT", 88, {"abstol": 1e-7}, 868)[0][1]["abstol"] == 1e-7


def test_cvxopt_certifies_i3322_level_two_as_tightly_as_clarabel():
    """The CVXOPT path (tight tolerances, dual sign, refinement) on a fast case."""
    bound = npa_upper_bound(i3322_game(), level=2, solver="CVXOPT")
    assert bound.solver == "CVXOPT" and bound.status == "optimal"
    assert 0.2509397 <= bound.value <= 0.2509397 + 1e-7      # NPA 2008 / Pál–Vértesi 2010
    assert 0 <= bound.details["gap"] < 1e-8


@pytest.mark.slow
def test_cube_see_saw_table_is_in_npa_at_local_level_one():
    from qpolicy.bounds import nonsignaling_value, seesaw_lower_bound
    strategy = seesaw_lower_bound(games.cube(), 3, restarts=1, seed=0).strategy
    table = qp.born(strategy["state"], strategy["povms"])
    from qpolicy.bounds.npa import npa_membership
    # joint 289-monomial SDP with SCS; before, neither certificate decided at SCS's 1e-6 (bounds
    # -7.3e-5 and 4.8e-6 around atol = 1e-6) and the solver's own t was trusted
    membership = npa_membership(table, level="1+AB")
    assert membership.status == "member", membership
    # the non-signaling optimum (value 3/8 > NPA's 209/648) is certified outside
    outside = npa_membership(nonsignaling_value(games.cube()).strategy, level="1+AB")
    assert outside.status == "non_member"


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [0, -1, "one", True, 1.5, None, "1+", "+AB", "1+A1",
                                   "0+AB", [], ["AB"], [1, 2.5]])
def test_unknown_levels_are_rejected(level):
    with pytest.raises(ValueError, match="level"):
        npa_upper_bound(games.chsh(), level=level)


def test_a_term_naming_a_missing_player_is_rejected():
    with pytest.raises(ValueError, match="'ABC' names a player beyond the 2 players"):
        npa_relaxation((2, 2), (2, 2), "1+AB+ABC")


def test_bad_arguments():
    with pytest.raises(TypeError, match="game"):
        npa_upper_bound(np.zeros((2, 2, 2, 2)))
    with pytest.raises(TypeError, match="positivity"):
        npa_upper_bound(games.chsh(), positivity="yes")
    with pytest.raises(TypeError, match="decompose"):
        npa_upper_bound(games.chsh(), decompose=1)
    with pytest.raises(ValueError, match="p must"):
        in_npa(np.full((2, 2, 2), 0.5))
    with pytest.raises(ValueError, match="p must"):
        in_npa(np.full((2, 2, 2, 2), 0.3))                         # not normalized
    with pytest.raises(ValueError, match="n_answers"):
        npa_relaxation((2, 0), (2, 2))


def test_solver_failure_raises_with_status():
    with pytest.raises(SolverError) as info:
        npa_upper_bound(games.tetra(), level=1, solver="CLARABEL", max_iter=2)
    assert info.value.status not in (None, "optimal")


# -- levels as users write them; refusing before building ------------------------------------------

def _brute_force_monomials(n_answers, n_questions, max_lengths, total=None):
    """Every nonzero reduced product with at most ``max_lengths[k]`` projectors of player k (and
    at most ``total`` in all), by multiplying out every sequence of projectors: the
    definition, independent of the per-length generator."""
    ops = [(k, x, a) for k in range(len(n_answers)) for x in range(n_questions[k])
           for a in range(n_answers[k] - 1)]
    words = set()
    longest = sum(max_lengths) if total is None else total
    for length in range(longest + 1):
        for seq in itertools.product(ops, repeat=length):
            parts = [[op for op in seq if op[0] == k] for k in range(len(n_answers))]
            if any(len(p) > m for p, m in zip(parts, max_lengths)):
                continue
            reduced = []
            for part in parts:
                out = []
                for op in part:
                    if out and out[-1][1] == op[1]:
                        if out[-1] != op:
                            out = None
                            break
                        continue
                    out.append(op)
                if out is None:
                    break
                reduced.extend(out)
            else:
                words.add(tuple(reduced))
    return words


@pytest.mark.parametrize("n_answers, n_questions, level", [
    ((2, 2), (2, 2), 3), ((3, 2), (2, 3), 2), ((2, 2, 2), (2, 2, 2), 2), ((3, 3), (2, 2), 2)])
def test_integer_levels_are_every_product_of_at_most_k_projectors(n_answers, n_questions, level):
    relaxation = npa_relaxation(n_answers, n_questions, level)
    expected = _brute_force_monomials(n_answers, n_questions, [level] * len(n_answers), level)
    words = set(relaxation.monomials)
    assert expected <= words and len(words) == len(relaxation.monomials)
    assert len(words - expected) == relaxation.extra_monomials
    lower, upper = predicted_size(n_answers, n_questions, level)
    assert lower <= len(words) <= upper
    if len(n_answers) == 2:
        assert lower == len(words)                       # exact for two players


def test_intermediate_levels_follow_the_letters():
    # "1+AB+AAB" (CHSH sizes): level 1, every A·B, and every (A·A)·B — the literal reading
    # (toqito, ncpol2sdpa), checked against multiplying out all products with ≤ 2 A's, ≤ 1 B
    relaxation = npa_relaxation((2, 2), (2, 2), "1+AB+AAB")
    aab = _brute_force_monomials((2, 2), (2, 2), [2, 1])
    aa_alone = {w for w in aab if len(w) == 2 and w[0][0] == w[1][0] == 0}
    assert set(relaxation.monomials) == aab - aa_alone
    assert relaxation.level == "1+AB+AAB"
    # three players: "1+AB+ABC" has A·B and A·B·C but not A·C nor B·C alone
    three = set(npa_relaxation((2, 2, 2), (2, 2, 2), "1+AB+ABC").monomials)
    assert ((0, 0, 0), (2, 0, 0)) not in three and ((0, 0, 0), (1, 0, 0), (2, 0, 0)) in three
    # and the alias "1+AB" keeps meaning every product of ≤ 1 projector per player
    assert len(npa_relaxation((2, 2, 2), (2, 2, 2), "1+AB").monomials) == 3 ** 3
    # a list of parts is the same level; letters may come in any order or case
    assert npa_relaxation((2, 2), (2, 2), [1, "AB", "aba"]).level == "1+AB+AAB"


def test_extra_words_are_added_as_monomials():
    base = npa_relaxation((2, 2), (3, 3), "1+AB")
    word = [(0, 0, 0), (0, 1, 0), (1, 2, 0)]                    # A_{0|0} A_{0|1} B_{0|2}
    extra = npa_relaxation((2, 2), (3, 3), "1+AB", extra_words=[word])
    assert len(extra.monomials) == len(base.monomials) + 1 and tuple(word) in extra.monomials
    with pytest.raises(ValueError, match="zero"):
        npa_relaxation((3, 2), (3, 3), 1, extra_words=[[(0, 0, 0), (0, 0, 1)]])
    with pytest.raises(ValueError, match="out of range"):
        npa_relaxation((2, 2), (3, 3), 1, extra_words=[[(0, 0, 1)]])   # last answer: no operator
    with pytest.raises(TypeError, match="extra_words"):
        npa_relaxation((2, 2), (3, 3), 1, extra_words="AB")


def test_oversized_requests_are_refused_from_a_count_before_any_word_is_built():
    # each of these enumerated words for minutes or ran out of memory before the size check
    with pytest.raises(ValueError, match=r"would have 313 monomials.*MAX_MOMENT_SIZE"):
        npa_upper_bound(games.chsh(), level=12)
    with pytest.raises(ValueError, match=r"would have 841 monomials"):
        npa_upper_bound(games.chsh(), level=20)
    with pytest.raises(ValueError, match="at level '1000'"):
        npa_relaxation((2, 2), (2, 2), 1000)
    many_questions = games.NonlocalGame(np.ones((2, 2, 300, 300)), np.full((300, 300), 1 / 9e4))
    c = [1, 300, 300 * 299, 300 * 299 ** 2]      # reduced words of one player by length
    count = sum(c[i] * c[j] for i in range(4) for j in range(4) if i + j <= 3)
    with pytest.raises(ValueError, match=rf"would have {count} monomials.*'1\+AB'"):
        npa_upper_bound(many_questions, level=3)
    with pytest.raises(ValueError, match=r"at least 59049 monomials"):      # 3^10 per half
        npa_relaxation((2,) * 20, (2,) * 20, 1)
    # the counts are exact: CHSH at level k has 1 + 4k + 4·k(k−1)/2 monomials
    assert predicted_size((2, 2), (2, 2), 12) == (313, 313)


# -- scale invariance and what is reported ----------------------------------------------------------

def _scaled(game, a, b):
    return games.NonlocalGame(a * np.asarray(game.predicate) + b, game.question_dist)


def test_tiny_and_huge_payoffs_give_certified_bounds():
    # before: x1e-9 returned 5.3e-10 (below the quantum value 8.5e-10) with status "optimal";
    # x1e-6 was still below it; x1e12 ended "unbounded"
    for a in (1e-9, 1e-6, 1e12):
        bound = npa_upper_bound(_scaled(games.chsh(), a, 0.0), level=1)
        assert a * TSIRELSON <= bound.value <= a * (TSIRELSON + 1e-7)
        assert bound.status == "optimal"


@settings(max_examples=25, deadline=None)
@given(log_scale=st.floats(-12, 12), shift=st.floats(-5, 5), level=st.sampled_from([1, "1+AB"]),
       solver=st.sampled_from([None, "CVXOPT"]))
def test_npa_value_is_affine_in_the_payoff(log_scale, shift, level, solver):
    """value(aV + b) = a·value(V) + b for a > 0: the solver sees the same normalized problem
    (the default Clarabel path and the CVXOPT path alike)."""
    a = 10.0 ** log_scale
    b = shift * a
    reference = npa_upper_bound(games.chsh(), level=level, solver=solver).value
    bound = npa_upper_bound(_scaled(games.chsh(), a, b), level=level, solver=solver)
    assert bound.value == pytest.approx(a * reference + b, rel=1e-9, abs=1e-9 * a)
    assert bound.value >= a * TSIRELSON + b - 1e-15 * (a + abs(b))     # still above the truth


def test_shifted_payoffs_keep_their_question_blocks():
    chsh = games.chsh()
    predicate, mu = np.zeros((2, 2, 4, 4)), np.zeros((4, 4))
    for block in (slice(0, 2), slice(2, 4)):
        predicate[:, :, block, block] = chsh.predicate
        mu[block, block] = chsh.question_dist / 2
    shifted = npa_upper_bound(games.NonlocalGame(3.0 * predicate - 7.0, mu), level=1)
    assert len(shifted.details["blocks"]) == 2
    assert 3.0 * TSIRELSON - 7.0 <= shifted.value <= 3.0 * TSIRELSON - 7.0 + 1e-6


def test_constant_payoff_needs_no_solver():
    bound = npa_upper_bound(_scaled(games.chsh(), 0.0, 0.25), level=1)
    assert bound.value == bound.upper == 0.25 and bound.solver is None


def test_reported_value_is_the_certificate_even_from_a_first_order_solve(tetra_local_level_one):
    bound = tetra_local_level_one                                   # SCS, first order
    assert bound.value == bound.upper == bound.details["dual_bound"]
    assert bound.value >= 209 / 324                                # an explicit strategy
    assert bound.details["gap"] == bound.value - bound.details["primal_value"]
    # SCS's primal point is feasible only to its tolerance, so its value may exceed the
    # certificate slightly: the certified number is the smaller, valid one
    assert abs(bound.details["gap"]) < 1e-6


# -- three-valued membership -------------------------------------------------------------------------

def test_membership_says_how_it_was_decided():
    from qpolicy.bounds.npa import npa_membership
    inside = npa_membership(_chsh_quantum_table())
    assert inside.status == "member" and inside.upper <= inside.atol
    assert inside.lower <= inside.upper and "primal" in inside.reason
    outside = npa_membership(pr_box(), level=2)                  # level 2: free diagonal entries
    assert outside.status == "non_member" and outside.lower > outside.atol
    assert "dual" in outside.reason
    signaling = np.zeros((2, 2, 2, 2))
    for xx, yy in itertools.product(range(2), range(2)):
        signaling[yy, 0, xx, yy] = 1.0
    assert npa_membership(signaling).reason == "signaling"
    with pytest.raises(TypeError, match="truth value"):
        bool(inside)


def _near_boundary_table():
    return 0.9 * _chsh_quantum_table() + 0.1 * pr_box()       # t* = 0.00967 (Clarabel)


def _undecided():
    from qpolicy.bounds.npa import npa_membership
    # asked at atol = 0.005 < t*: no point can prove membership, and a first-order solve
    # stopped after 10 iterations leaves the dual certificate too loose to prove the contrary
    return npa_membership(_near_boundary_table(), atol=0.005, solver="SCS", max_iters=10)


def test_an_undecided_membership_is_reported_as_such():
    from qpolicy.bounds.results import UndecidedError
    membership = _undecided()
    assert membership.status == "undecided"
    assert membership.lower <= membership.atol < membership.upper
    with pytest.raises(UndecidedError) as info:
        in_npa(_near_boundary_table(), atol=0.005, solver="SCS", max_iters=10)
    assert info.value.membership.status == "undecided"


def test_a_rough_solve_of_a_member_is_decided_by_polishing_its_point():
    """SCS stopped after 30 iterations leaves the Tsirelson table undecided (before: -λ_min of
    its point above atol); alternating projections from that point, correlators kept fixed,
    find a moment matrix with -λ_min ≤ atol: a certified member without a second solve."""
    from qpolicy.bounds.npa import (_membership_primal_bound, _polished_membership_point,
                                    npa_membership)
    table = _chsh_quantum_table()
    membership = npa_membership(table, solver="SCS", max_iters=30)
    assert membership.status == "member" and membership.upper <= 1e-6
    assert membership.details["solver_point_upper"] > 1e-6        # the solver's own point
    # the polish itself, from a deliberately poor point: a valid certificate, much smaller
    relaxation = npa_relaxation((2, 2), (2, 2), 1)
    fixed = relaxation.correlator_variable.ravel()
    correlators = np.linalg.lstsq(relaxation.correlator_map.toarray(), table.ravel(),
                                  rcond=None)[0]
    values = np.zeros(relaxation.n_variables)
    values[fixed] = correlators
    rough = _membership_primal_bound(relaxation, values)
    polished = _polished_membership_point(relaxation, values, fixed, 1e-9)
    assert np.array_equal(polished[fixed], correlators)
    assert _membership_primal_bound(relaxation, polished) < min(rough / 10, 1e-6)


def test_classify_reports_undecided_instead_of_a_verdict(monkeypatch):
    from qpolicy.bounds import classify, npa
    membership = _undecided()
    monkeypatch.setattr(npa, "npa_membership", lambda *args, **kwargs: membership)
    assert classify(_chsh_quantum_table()) == "undecided"


@pytest.mark.parametrize("atol", [float("nan"), -1e-6, 0.0, float("inf")])
def test_tolerances_are_validated(atol):
    from qpolicy.bounds import bell_certificate, classify, in_local_polytope, is_factorized
    from qpolicy.bounds.npa import npa_membership
    for function in (in_npa, npa_membership, classify, in_local_polytope, bell_certificate,
                     is_factorized):
        with pytest.raises(ValueError, match="atol"):
            function(pr_box(), atol=atol)


# -- I3322 and CGLMP: literature values, the dual refinement ----------------------------------------

def i3322_game():
    """I3322 in Collins–Gisin form, p(00|xy) coefficients [[1,1,1],[1,1,-1],[1,-1,0]] minus
    pA(0|0) + 2 pB(0|0) + pB(0|1) (classical 0, quantum 0.2508753845, Pál–Vértesi 2010), as a
    game: uniform questions, payoff 9·coefficient."""
    F = np.zeros((2, 2, 3, 3))
    F[0, 0] = [[1, 1, 1], [1, 1, -1], [1, -1, 0]]
    F[0, :, 0, 0] -= 1                  # -pA(0|x=0), read at y = 0
    F[:, 0, 0, 0] -= 2                  # -2 pB(0|y=0), read at x = 0
    F[:, 0, 0, 1] -= 1                  # -pB(0|y=1)
    return games.NonlocalGame(9 * F, np.full((3, 3), 1 / 9), name="I3322")


I3322_QUANTUM = 0.2508753845        # Pál & Vértesi, PRA 82, 022116 (2010): the quantum supremum


def test_i3322_levels_match_published_values():
    # level 1 without positivity rows: 0.375 (toqito's test suite: 1.375 for the form shifted by
    # 1); "1+AB": 0.2514709 (quoted for the level-(1+AB) CG-I3322 matrix); level 2: 0.2509397
    # (NPA 2008 / Pál–Vértesi 2010).  Each certified bound lies above the quantum value.
    game = i3322_game()
    textbook = npa_upper_bound(game, level=1, positivity=False).value
    assert textbook == pytest.approx(0.375, abs=1e-7) and textbook >= 0.375
    values = [npa_upper_bound(game, level=level).value for level in ("1+AB", 2, "1+AB+AAB")]
    assert values[0] == pytest.approx(0.2514709, abs=1e-7)
    assert values[1] == pytest.approx(0.2509397, abs=1e-7)
    assert all(value >= I3322_QUANTUM for value in values)
    assert values[2] <= values[0]                            # more monomials, tighter bound


@pytest.mark.slow
def test_i3322_level_three_is_certified_within_1e6_of_the_quantum_value():
    """Issue 11's target: I3322 at level 3 (88 monomials, 868 variables) with the default
    solver choice (SCS probe, then CVXOPT) within 1e-6 of 0.2508753845 — measured 1.8e-7 above
    in 10–20 s (benchmarks/RESULTS.md); SCS alone at 1e-8 did not converge in 200 s."""
    bound = npa_upper_bound(i3322_game(), level=3)
    assert I3322_QUANTUM <= bound.value <= I3322_QUANTUM + 1e-6
    assert bound.solver == "CVXOPT"


def test_dual_refinement_tightens_a_first_order_certificate_to_the_optimum():
    import cvxpy as cp
    from qpolicy.bounds.npa import _moment_matrix, _normalized_objective, refined_dual_bound
    game = i3322_game()
    relaxation = npa_relaxation((2, 2), (3, 3), 2)
    offset, scale, w = _normalized_objective(relaxation, game.weights)
    y = cp.Variable(relaxation.n_variables)
    psd = _moment_matrix(relaxation, y) >> 0
    cp.Problem(cp.Maximize(w @ y), [psd, y[relaxation.identity_variable] == 1]).solve(
        solver="SCS", eps_abs=1e-5, eps_rel=1e-5)
    Z = np.asarray(psd.dual_value)
    raw = offset + scale * min(dual_bound(relaxation, w, s * Z) for s in (1, -1))
    refined = offset + scale * min(refined_dual_bound(relaxation, w, s * Z) for s in (1, -1))
    optimum = npa_upper_bound(game, level=2)                     # Clarabel, interior point
    assert refined >= optimum.details["primal_value"] - 1e-8     # still a valid bound
    # and far tighter than the raw one (measured: 3e-6 vs 5e-4 above the optimum); what is left
    # is the first-order dual's own objective error
    assert refined - optimum.value < (raw - optimum.value) / 20


def cglmp3_game():
    """CGLMP d = 3 as a game whose value is I_3 (uniform questions, payoff 4·G)."""
    return games.NonlocalGame(4 * cglmp3_coefficients(), np.full((2, 2), 1 / 4), name="CGLMP3")


def test_cglmp3_at_local_level_one_is_the_quantum_maximum():
    # NPA 2008 (NJP 10, 073013): Q_{1+AB} for CGLMP d = 3 equals the quantum 2.9149
    bound = npa_upper_bound(cglmp3_game(), level="1+AB")
    assert 2.914854 <= bound.value <= 2.914854 + 1e-5


def test_a_result_cannot_contradict_itself():
    from qpolicy.bounds.results import Bound, Membership, round_up
    with pytest.raises(ValueError, match="lower"):
        Bound(value=0.5, kind="summary", lower=0.5, upper=0.49999999)
    with pytest.raises(ValueError, match="lower"):
        Membership(status="undecided", lower=1e-6, upper=0.0, atol=1e-6, reason="")
    with pytest.raises(ValueError, match="status"):
        Membership(status="maybe", lower=0.0, upper=0.0, atol=1e-6, reason="")
    assert round_up(0.25) > 0.25 and round_up(-1e-300) > -1e-300      # outward, never inward


# -- Grandjean et al.'s 3-party, 3-outcome inequality: the see-saw with more answers than dim --------

def _relabelled(game, rng):
    """The game with the answers of every (player, question) permuted at random."""
    V = np.asarray(game.predicate)
    n = game.n_players
    index = np.indices(V.shape)
    for k in range(n):
        perms = np.array([rng.permutation(game.n_answers[k]) for _ in range(game.n_questions[k])])
        index[k] = perms[index[n + k], index[k]]
    return games.NonlocalGame(V[tuple(index)], game.question_dist)


def test_grandjean_inequality_classical_value_and_qubit_optimum():
    """Grandjean, Liang, Bancal, Brunner, Gisin, PRA 85, 052113 (2012), eq. (1), K = 3, as the
    game -I_3: classical -2 (brute force over the 3^6 deterministic strategies), qubits
    (3√3 − 7)/2 (the value the issue quotes).  Before the see-saw's generic starts, answers
    numbered ≥ dim were never used and d = 2 stalled at the classical -2."""
    from qpolicy.bounds import seesaw_lower_bound
    from qpolicy.bounds.functionals import grandjean, grandjean_coefficients
    game = grandjean(3).game
    G = grandjean_coefficients(3)
    best = max(-sum(G[A[x], B[y], C[z], x, y, z] for x, y, z in
                    [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)])
               for A in itertools.product(range(3), repeat=2)
               for B in itertools.product(range(3), repeat=2)
               for C in itertools.product(range(3), repeat=2))
    assert best == -2
    target = (3 * np.sqrt(3) - 7) / 2
    rng = np.random.default_rng(1)
    for seed, relabel in ((0, False), (1, False), (2, True), (3, True)):
        played = _relabelled(game, rng) if relabel else game
        bound = seesaw_lower_bound(played, 2, restarts=10, seed=seed)
        assert bound.value == pytest.approx(target, abs=1e-6)
        assert bound.value <= target + 1e-9            # an explicit strategy: never above


# -- stored NPA certificates are re-verified without solving ----------------------------------------

@pytest.mark.parametrize("game, level", [(games.chsh(), 2), (games.tetra(), 1),
                                         (games.cube(), 1), (games.ghz(), "1+AB")])
def test_stored_certificate_reverifies_to_the_same_bound(game, level):
    from qpolicy.bounds.npa import verify_certificate
    bound = npa_upper_bound(game, level=level)
    assert verify_certificate(game, level, bound.details) == bound.value
    # the same check from plain arrays (what a store keeps), scaled and shifted payoff too
    stored = {"certificate": [{key: None if value is None else np.array(value)
                               for key, value in c.items()} for c in bound.details["certificate"]]}
    assert verify_certificate(game, level, stored) == bound.value
    assert verify_certificate(_scaled(game, 3.0, -1.0), level, stored) == pytest.approx(
        3.0 * bound.value - 1.0, abs=1e-12)


def test_a_tampered_certificate_no_longer_supports_a_wrong_value():
    from qpolicy.bounds.npa import verify_certificate
    game = games.chsh()
    bound = npa_upper_bound(game, level=1)
    claimed = TSIRELSON - 1e-3                    # a wrong (too low) stored value
    certificate = bound.details["certificate"][0]
    scaled = {"certificate": [dict(certificate, Z=0.9 * certificate["Z"])]}
    assert verify_certificate(game, 1, scaled) > claimed
    # a certificate of another game does not certify this one's value
    other = npa_upper_bound(_scaled(games.chsh(), -1.0, 1.0), level=1)  # the "lose" game
    assert verify_certificate(game, 1, other.details) > claimed
    assert verify_certificate(game, 1, other.details) >= TSIRELSON       # still rigorous
    for bad in ({}, {"certificate": []}, {"certificate": [{"Z": np.eye(3)}]}):
        with pytest.raises(ValueError, match="certificate"):
            verify_certificate(game, 1, bad)


def test_study_bounds_are_reverified_from_the_stored_certificate(tmp_path):
    """qpolicy.studies.nonlocal_study stores the NPA certificate in the cell's arrays (.npz) and
    re-checks it on reuse without solving: a wrong stored value or a tampered Z is refused."""
    from qpolicy.studies.nonlocal_study import bounds_cell, bounds_config, verify_bounds
    summary, arrays = bounds_cell(bounds_config("chsh"))
    np.savez(tmp_path / "cell.npz", **arrays)
    with np.load(tmp_path / "cell.npz") as data:
        stored = {key: data[key] for key in data.files}
    verify_bounds("chsh", summary, stored)                          # accepted as stored
    with pytest.raises(ValueError, match="not supported"):
        verify_bounds("chsh", dict(summary, quantum=TSIRELSON - 1e-4), stored)
    with pytest.raises(ValueError, match="not supported"):
        verify_bounds("chsh", summary, dict(stored, npa_Z_0=0.9 * stored["npa_Z_0"]))
    with pytest.raises(ValueError, match="certificate"):
        verify_bounds("chsh", summary, {k: v for k, v in stored.items() if k != "npa_Z_0"})
