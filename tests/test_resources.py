"""Realistic quantum resources: values under noise, restrictions and loss, and thresholds.

Oracles: literature thresholds (CHSH 1/√2 and 2(√2 − 1), Mermin 2^(1−⌈n/2⌉), magic square 7/9,
Eberhard 2/3, PR box 1/2), the Horodecki criterion for two-qubit states (closed form for the
white-noised and dephased Bell state), brute force over fixed measurement sets, NPA as an
independent upper bound, and the membership LP of qpolicy.bounds for the local models.
Tolerances: game thresholds 1e-4, table thresholds 1e-6, exact Born-rule values 1e-9.
"""
import itertools

import numpy as np
import pytest

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import in_local_polytope, npa_upper_bound
from qpolicy.policies import pr_box
from qpolicy.resources import (critical_efficiency, critical_visibility, dephasing,
                               detection_povms, measurement_family, nonlocality_threshold,
                               partially_entangled, resource_value, white_noise)

TSIRELSON = (2 + np.sqrt(2)) / 4
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])


def _basis(O):
    return np.stack([(np.eye(2) + O) / 2, (np.eye(2) - O) / 2])


def _horodecki_chsh(rho):
    """Best CHSH win probability of a two-qubit state: 1/2 + sqrt(t1² + t2²)/4 (Horodecki 1995),
    t1 ≥ t2 the two largest singular values of the correlation matrix T_ij = tr(ρ σ_i ⊗ σ_j)."""
    paulis = [X, Y, Z]
    T = np.array([[np.trace(rho @ np.kron(a, b)).real for b in paulis] for a in paulis])
    s = np.linalg.svd(T, compute_uv=False)
    return 0.5 + np.sqrt(s[0] ** 2 + s[1] ** 2) / 4


def _ghz_behaviour(n):
    return qp.born(qp.ghz_state(n), [np.stack([_basis(X), _basis(Y)])] * n)


# -- states and detection ---------------------------------------------------------------------

def test_white_noise_and_dephasing_are_the_stated_mixtures():
    rho = qp.bell_state()
    assert np.allclose(white_noise(rho, 0.3), 0.3 * rho + 0.7 * np.eye(4) / 4)
    deph = dephasing(rho, 0.25)
    assert np.allclose(np.diag(deph), np.diag(rho))
    assert np.isclose(deph[0, 3], 0.75 * rho[0, 3])
    psi = partially_entangled(0.3)
    assert qp.is_density_matrix(psi) and np.isclose(psi[3, 3], np.sin(0.3) ** 2)


def test_detection_povms_mix_in_the_no_click_answer_or_an_extra_outcome():
    M = np.stack([_basis(Z), _basis(X)])
    N = detection_povms([M, M], 0.8, no_click=1)
    assert all(qp.is_povm(N[0][x]) for x in range(2))
    assert np.allclose(N[0][:, 1], 0.8 * M[:, 1] + 0.2 * np.eye(2))
    extra = detection_povms([M], 0.8, no_click="extra")[0]
    assert extra.shape == (2, 3, 2, 2) and np.allclose(extra[:, 2], 0.2 * np.eye(2))
    assert np.allclose(detection_povms([M], 1.0)[0], M)


# -- values under a resource --------------------------------------------------------------------

@pytest.mark.parametrize("v", [0.6, 0.75, 0.9, 1.0])
def test_chsh_value_of_a_noisy_bell_state_matches_the_horodecki_criterion(v):
    rho = white_noise(qp.bell_state(), v)
    r = resource_value(games.chsh(), state=rho, seed=0)
    assert np.isclose(r.value, max(0.75, _horodecki_chsh(rho)), atol=1e-9)
    assert r.value <= r.upper + 1e-12


@pytest.mark.parametrize("gamma", [0.3, 0.7])
def test_chsh_value_of_a_dephased_bell_state_matches_the_horodecki_criterion(gamma):
    rho = dephasing(qp.bell_state(), gamma)
    r = resource_value(games.chsh(), state=rho, seed=1)
    assert np.isclose(r.value, _horodecki_chsh(rho), atol=1e-9)


def test_value_is_monotone_in_visibility_and_efficiency_and_between_classical_and_quantum():
    game = games.chsh()
    npa = npa_upper_bound(game, level=1).value
    by_v = [resource_value(game, state=white_noise(qp.bell_state(), v), seed=0, upper=None).value
            for v in np.linspace(0, 1, 6)]
    by_eta = [resource_value(game, efficiency=eta, seed=0, upper=None).value
              for eta in np.linspace(0.5, 1, 6)]
    for values in (by_v, by_eta):
        assert np.all(np.diff(values) >= -1e-9)
        assert min(values) >= 0.75 - 1e-12 and max(values) <= npa + 1e-8


def test_upper_bound_holds_and_is_tight_for_the_ideal_resource():
    r = resource_value(games.tetra(), dim=3, restarts=3, seed=0, npa_level="1+AB")
    assert r.value <= r.upper + 1e-9 and r.upper - r.value < 1e-6     # 209/324 both ways
    noisy = resource_value(games.chsh(), state=white_noise(qp.bell_state(), 0.5),
                           efficiency=0.9, seed=0)
    assert noisy.classical - 1e-12 <= noisy.value <= noisy.upper
    assert np.isclose(noisy.details["quantum_weight"], 0.5, atol=1e-9)


def test_projective_and_real_families_are_honoured():
    game = games.tetra()
    r = resource_value(game, dim=3, measurements="projective", restarts=2, seed=0)
    for M in r.strategy["povms"]:
        for x in range(M.shape[0]):
            assert np.allclose(M[x] @ M[x], M[x], atol=1e-10)              # projectors
            for a, b in itertools.combinations(range(M.shape[1]), 2):
                assert np.allclose(M[x, a] @ M[x, b], 0, atol=1e-10)       # orthogonal
    real = resource_value(games.chsh(), measurements="real_projective", seed=0)
    assert all(np.abs(M.imag).max() < 1e-14 for M in real.strategy["povms"])
    assert np.isclose(real.value, TSIRELSON, atol=1e-9)                   # X–Z plane suffices
    # real measurements on the (real) GHZ state give product correlators: only classical 3/4
    ghz_real = resource_value(games.ghz(), dim=2, measurements="real", seed=0)
    assert np.isclose(ghz_real.value, 0.75, atol=1e-9)
    assert np.isclose(resource_value(games.ghz(), dim=2, seed=0).value, 1.0, atol=1e-9)


def test_a_fixed_measurement_set_is_never_left_and_matches_brute_force():
    game = games.chsh()
    candidates = [_basis(Z), _basis(X), _basis((Z + X) / np.sqrt(2))]
    family = measurement_family("fixed", candidates)
    r = resource_value(game, measurements=family, restarts=4, seed=0)
    for M in r.strategy["povms"]:
        for x in range(2):
            assert any(np.array_equal(M[x], C) for C in family.candidates)
    best = max(game.value(qp.born(qp.bell_state(),
                                  [np.stack([candidates[i] for i in alice]),
                                   np.stack([candidates[i] for i in bob])]))
               for alice in itertools.product(range(3), repeat=2)
               for bob in itertools.product(range(3), repeat=2))
    assert np.isclose(r.value, best, atol=1e-12)


def test_value_does_not_depend_on_answer_labels_or_payoff_scale():
    game = games.chsh()
    swapped = games.NonlocalGame(game.predicate[::-1], game.question_dist)      # Alice's answers
    scaled = games.NonlocalGame(3 * game.predicate, game.question_dist)
    rho = white_noise(qp.bell_state(), 0.85)
    base = resource_value(game, state=rho, seed=0).value
    assert np.isclose(resource_value(swapped, state=rho, seed=0).value, base, atol=1e-9)
    assert np.isclose(resource_value(scaled, state=rho, seed=0).value, 3 * base, atol=1e-9)
    assert np.isclose(critical_visibility(scaled).value, 1 / np.sqrt(2), atol=1e-4)


# -- thresholds -----------------------------------------------------------------------------------

def test_chsh_critical_visibility_is_one_over_root_two_with_explicit_strategies():
    game = games.chsh()
    th = critical_visibility(game, seed=0)
    assert abs(th.value - 1 / np.sqrt(2)) < 1e-4 and th.lower <= th.upper
    above = th.upper + 1e-3
    povms = th.strategy_upper["effective_povms"]
    assert game.value(qp.born(white_noise(qp.bell_state(), above), povms)) > 0.75
    assert game.value(qp.born(white_noise(qp.bell_state(), th.upper - 1e-3), povms)) < 0.75


def test_chsh_critical_efficiency_with_the_maximally_entangled_state():
    th = critical_efficiency(games.chsh(), seed=0)
    assert abs(th.value - 2 * (np.sqrt(2) - 1)) < 1e-4
    eff = detection_povms(th.strategy_upper["povms"], th.upper + 1e-3)
    assert games.chsh().value(qp.born(qp.bell_state(), eff)) > 0.75


def test_mermin3_critical_visibility_is_one_half():
    th = critical_visibility(games.mermin(3), dim=2, seed=0)
    assert abs(th.value - 0.5) < 1e-4


def test_no_advantage_is_reported_not_bisected():
    th = critical_visibility(games.ghz(), dim=2, measurements="real", seed=0)
    assert np.isnan(th.value) and th.details["status"] == "no advantage"


@pytest.mark.parametrize("n, known", [(3, 0.5), (4, 0.5)])
def test_ghz_behaviour_white_noise_threshold_by_one_lp(n, known):
    th = nonlocality_threshold(_ghz_behaviour(n))
    assert abs(th.value - known) < 1e-6 and abs(th.upper - known) < 1e-6
    assert th.noise_tolerance == pytest.approx(1 - th.value)


def test_chsh_behaviour_threshold_and_its_local_model_and_bell_certificate():
    p = qp.born(*games.chsh_quantum_strategy())
    th = nonlocality_threshold(p)
    assert abs(th.value - 1 / np.sqrt(2)) < 1e-6
    assert abs(th.details["certified_nonlocal_above"] - 1 / np.sqrt(2)) < 1e-6
    u = np.full(p.shape, 0.25)
    assert in_local_polytope(th.value * p + (1 - th.value) * u)                 # second method
    assert not in_local_polytope((th.upper + 1e-3) * p + (1 - th.upper - 1e-3) * u)
    assert np.abs(th.strategy_lower - (th.value * p + (1 - th.value) * u)).max() < 1e-6


def test_column_generation_agrees_with_the_compact_lp():
    p = qp.born(*games.chsh_quantum_strategy())
    th = nonlocality_threshold(p, method="columns")
    assert abs(th.value - 1 / np.sqrt(2)) < 1e-6 and abs(th.upper - 1 / np.sqrt(2)) < 1e-6
    assert in_local_polytope(th.strategy_lower)                 # a mixture of deterministic tables
    assert np.abs(th.strategy_lower - (th.value * p + (1 - th.value) / 4)).max() < 1e-6
    assert abs(nonlocality_threshold(pr_box(), method="columns").value - 0.5) < 1e-6


def test_sparse_highs_lp_agrees_with_the_compact_lp_on_a_tetra_table():
    r = resource_value(games.tetra(), dim=3, seed=0, upper=None, restarts=1)
    p = qp.born(r.strategy["state"], r.strategy["effective_povms"], atol=1e-7)
    compact, sparse = (nonlocality_threshold(p, method=m) for m in ("compact", "sparse"))
    assert abs(compact.value - sparse.value) < 1e-6
    # the sparse LP's own ends: its Bell inequality (local bound by enumeration) and its local
    # model (an explicit mixture, checked against the noisy table) meet
    v = sparse.value
    assert abs(sparse.details["certified_nonlocal_above"] - v) < 1e-9
    assert np.abs(sparse.strategy_lower - (v * p + (1 - v) / 9)).max() < 1e-9
    assert in_local_polytope((v - 1e-3) * p + (1 - v + 1e-3) / 9)          # second method
    assert not in_local_polytope((v + 1e-3) * p + (1 - v - 1e-3) / 9)


def test_pr_box_tolerates_half_white_noise_and_local_tables_all_of_it():
    assert abs(nonlocality_threshold(pr_box()).value - 0.5) < 1e-6
    assert nonlocality_threshold(np.full((2, 2, 2, 2), 0.25)).value == pytest.approx(1.0)


# -- slow: the remaining literature values and new numbers -----------------------------------------

@pytest.mark.slow
def test_mermin_game_thresholds_for_four_and_five_players():
    for n, known in [(4, 0.5), (5, 0.25)]:
        assert abs(critical_visibility(games.mermin(n), dim=2, seed=0).value - known) < 1e-4


@pytest.mark.slow
def test_ghz5_behaviour_threshold():
    assert abs(nonlocality_threshold(_ghz_behaviour(5)).value - 0.25) < 1e-6


@pytest.mark.slow
def test_tetra_table_threshold_by_both_lps():
    r = resource_value(games.tetra(), dim=3, seed=0, upper=None)
    p = qp.born(r.strategy["state"], r.strategy["effective_povms"], atol=1e-7)
    compact, columns = (nonlocality_threshold(p, method=m) for m in ("compact", "columns"))
    assert abs(compact.value - columns.value) < 1e-6
    assert abs(compact.details["certified_nonlocal_above"] - compact.value) < 1e-6


@pytest.mark.slow
def test_cube_table_threshold_by_the_sparse_lp():
    # ~90 s: 157 464 LP variables; "auto" picks the sparse HiGHS LP above COMPACT_LP_LIMIT
    r = resource_value(games.cube(), dim=3, seed=0, upper=None)
    p = qp.born(r.strategy["state"], r.strategy["effective_povms"], atol=1e-7)
    th = nonlocality_threshold(p)
    assert th.details["lp_method"] == "sparse"
    assert abs(th.details["certified_nonlocal_above"] - th.value) < 1e-8
    assert np.abs(th.strategy_lower - (th.value * p + (1 - th.value) / 9)).max() < 1e-8
    assert 0.75 < th.value < 0.8


@pytest.mark.slow
def test_magic_square_with_two_ebits_has_critical_visibility_seven_ninths():
    th = critical_visibility(games.magic_square(), dim=4, seed=0)
    assert abs(th.value - 7 / 9) < 1e-4


@pytest.mark.slow
def test_eberhard_partially_entangled_states_go_below_the_maximally_entangled_threshold():
    # Eberhard's 2/3 is an infimum (state → product): the violation measured shrinks like
    # (η − 2/3)³, ~4e-9 at η = 0.6675, so the explicit strategies reach 2/3 only to ~1e-3.
    th = critical_efficiency(games.chsh(), state="free", seed=0)
    assert 2 / 3 < th.upper < 2 / 3 + 1.5e-3
    fixed = critical_efficiency(games.chsh(), state=partially_entangled(0.3), seed=0)
    assert 2 / 3 < fixed.value < 2 * (np.sqrt(2) - 1)


@pytest.mark.slow
@pytest.mark.parametrize("game", [games.tetra, games.cube])
def test_rendezvous_critical_visibility_with_maximally_entangled_qutrits(game):
    # the see-saw threshold equals the crossing of the optimal strategy (value 209/324 or half of
    # it, g = 1/4 or 1/8 under full noise): (5/8 − 1/4)/(209/324 − 1/4) = 243/256
    th = critical_visibility(game(), dim=3, seed=0)
    assert abs(th.value - 243 / 256) < 1e-4


# -- bad input ---------------------------------------------------------------------------------------

def test_bad_input_names_the_argument():
    rho, game = qp.bell_state(), games.chsh()
    with pytest.raises(ValueError, match="v must lie"):
        white_noise(rho, 1.5)
    with pytest.raises(ValueError, match="v must lie"):
        white_noise(rho, -0.1)
    with pytest.raises(TypeError, match="v must be a real"):
        white_noise(rho, True)
    with pytest.raises(ValueError, match="gamma"):
        dephasing(rho, 2)
    with pytest.raises(ValueError, match="rho"):
        white_noise(np.eye(4), 0.5)                       # trace 4
    with pytest.raises(ValueError, match="efficiency"):
        resource_value(game, efficiency=0)
    with pytest.raises(ValueError, match="efficiency"):
        resource_value(game, efficiency=1.2)
    with pytest.raises(ValueError, match="state"):
        resource_value(game, state=qp.maximally_entangled(3), dim=2)
    with pytest.raises(ValueError, match="state"):
        resource_value(game, state=np.eye(8) / 8)          # 8 is not d² for two players
    with pytest.raises(ValueError, match="state"):
        resource_value(game, state="bell")
    with pytest.raises(TypeError, match="measurements"):
        resource_value(game, measurements=3)
    with pytest.raises(ValueError, match="measurements"):
        resource_value(game, measurements=["povm"])
    with pytest.raises(ValueError, match="kind"):
        measurement_family("unitary")
    with pytest.raises(ValueError, match="candidates"):
        measurement_family("fixed")
    with pytest.raises(ValueError, match=r"candidates\[0\]"):
        measurement_family("fixed", [np.stack([np.eye(2), np.eye(2)])])
    with pytest.raises(ValueError, match="candidates"):
        resource_value(game, measurements=measurement_family("fixed", [_basis(Z)]), dim=3,
                       state="free")
    with pytest.raises(TypeError, match="game"):
        resource_value("chsh")
    with pytest.raises(ValueError, match="no_click"):
        resource_value(game, no_click=2)
    with pytest.raises(ValueError, match="no_click"):
        resource_value(game, no_click="extra")
    with pytest.raises(TypeError, match="dim"):
        resource_value(game, dim=2.0)
    with pytest.raises(ValueError, match="dim"):
        resource_value(games.mermin(5), dim=5, state="free")     # 5^5 > MAX_TOTAL_DIM
    with pytest.raises(ValueError, match="tol"):
        critical_visibility(game, tol=0.7)
    with pytest.raises(ValueError, match="noise"):
        nonlocality_threshold(pr_box(), noise=np.full((2, 2, 2, 3), 0.5))
    with pytest.raises(ValueError, match="upper"):
        resource_value(game, upper="lp")
    with pytest.raises(ValueError, match="method"):
        nonlocality_threshold(pr_box(), method="simplex")
    with pytest.raises(ValueError, match="solver"):
        nonlocality_threshold(pr_box(), method="sparse", solver="SCS")
    with pytest.raises(ValueError, match="noise"):
        nonlocality_threshold(pr_box(), noise=np.full((2, 2, 2, 2), 0.25), method="columns")
