"""Queueing theory (qpolicy.queueing.theory) against the simulator, brute force and second methods."""
import itertools

import cvxpy as cp
import numpy as np
import pytest

import qpolicy
from qpolicy.bounds.results import solve
from qpolicy.queueing import policies, simulate, theory

MU = 1.0
#: Level of each simulated confidence interval.  About 40 interval checks run in the default
#: suite, so a per-check level of 99.95 % keeps the chance of any false failure near 2 %
#: (Bonferroni); the seeds are fixed, so a given run is deterministic.
CONFIDENCE = 0.9995
#: Few copies with long batches, so that batches outlast the queue's correlation time.
SIM = dict(steps=200_000, n_envs=100)


def assert_in_ci(value, stats_value, ci, what):
    assert ci[0] <= value <= ci[1], f"{what}: theory {value:.5g} outside simulated CI {ci}"


def smooth_angle(x):
    """An entangled angle policy: φ increasing with the job size."""
    return np.pi / 4 * (1 - np.exp(-x))


POLICIES = {                        # name: (policy, co-routing probability s(x1, x2))
    "always split": (policies.always_split, 0.0),
    "always together": (policies.always_together, 1.0),
    "independent uniform": (policies.factorized(0.5), 0.5),
    "entangled angles": (policies.entangled(smooth_angle),
                         lambda a, b: np.cos(smooth_angle(a) + smooth_angle(b)) ** 2),
}


@pytest.mark.parametrize("lam", [0.5, 0.8])
@pytest.mark.parametrize("name", list(POLICIES))
def test_closed_forms_match_simulation(lam, name):
    policy, s = POLICIES[name]
    wait = theory.mean_wait(s, lam, MU)
    p = theory.splitting_probability(s, MU)
    st = simulate(policy, arrival_rate=lam, service_rate=MU, seed=11, confidence=CONFIDENCE,
                  **SIM)
    assert_in_ci(wait, st.mean_wait, st.mean_wait_ci, "mean wait")
    assert_in_ci(theory.throughput(p, lam, MU), st.throughput, st.throughput_ci, "throughput")
    assert_in_ci(1 - lam / MU, st.idle_fraction, st.idle_fraction_ci, "idle fraction")
    assert_in_ci(2 / (lam * (1 + p)), st.mean_idle, st.mean_idle_ci, "mean idle period")
    assert abs(st.split_fraction - p) < 0.01


def test_closed_forms_of_the_notes():
    for lam in (0.5, 0.8):
        base = lam / (MU - lam)
        assert theory.mean_wait(0.0, lam, MU) == pytest.approx(base, rel=1e-9)
        assert theory.mean_wait(1.0, lam, MU) == pytest.approx(1.5 * base + 0.5, rel=1e-9)
        assert theory.mean_wait(0.5, lam, MU) == pytest.approx(1.25 * base + 0.25, rel=1e-9)
        for p in (0.0, 0.3, 1.0):
            # general-T quadrature = closed form for T = t²; linear T: no dependence on p
            assert theory.throughput(p, lam, MU, func=lambda t: t * t) == pytest.approx(
                theory.throughput(p, lam, MU), rel=1e-8)
            assert theory.throughput(p, lam, MU, func=lambda t: t) == pytest.approx(
                2 * (1 - lam), rel=1e-8)


@pytest.mark.parametrize("lam", [0.5, 0.8])
def test_threshold_policy_attains_the_communication_frontier(lam):
    f = theory.frontier("communication", lam, MU, p=[0.5], bins=None)
    policy = policies.communication(f.strategies[0], lam, MU)
    st = simulate(policy, arrival_rate=lam, seed=5, confidence=CONFIDENCE, **SIM)
    assert_in_ci(f.wait[0], st.mean_wait, st.mean_wait_ci, "communication optimum")
    assert abs(st.split_fraction - 0.5) < 0.01
    # second method: E[s] and E[s c] of the threshold by a 2000² midpoint grid of quantiles
    u = (np.arange(2000) + 0.5) / 2000
    x1, x2 = np.meshgrid(-np.log1p(-u) / MU, -np.log1p(-u) / MU)
    c = theory.pair_cost(x1, x2, lam, MU)
    s = c <= f.strategies[0]
    assert s.mean() == pytest.approx(0.5, abs=1e-3)
    assert theory.base_wait(lam, MU) + (s * c).mean() == pytest.approx(f.wait[0], abs=2e-3)


def test_entangled_policy_is_the_born_rule_on_a_bell_state():
    angles = np.array([0.0, 0.3, 1.1, -0.7])
    table = qpolicy.born(qpolicy.bell_state(), [policies.bell_povms(angles),
                                                policies.bell_povms(-angles)])
    for i, j in itertools.product(range(4), repeat=2):
        same = table[0, 0, i, j] + table[1, 1, i, j]
        assert same == pytest.approx(np.cos(angles[i] + angles[j]) ** 2, abs=1e-12)
        assert table[0, :, i, j].sum() == pytest.approx(0.5, abs=1e-12)   # uniform marginal
    x = np.random.default_rng(0).exponential(size=(200_000, 2))
    x[:, 1] = 0.4
    actions = policies.entangled(smooth_angle)(x, np.random.default_rng(1))
    s = np.cos(smooth_angle(x[:, 0]) + smooth_angle(0.4)) ** 2
    assert abs(np.mean(actions[:, 0] == actions[:, 1]) - s.mean()) < 4 * 0.5 / np.sqrt(len(x))


@pytest.mark.parametrize("lam", [0.5, 0.8])
def test_frontier_values_at_p_half_against_closed_forms_and_second_methods(lam):
    """p = 0.5.  Shared randomness: one router constant, the other splitting at the median ln 2
    (a 12-bin edge), E[sc] = A·E[x]·E[x; x ≤ ln 2] + (E[x]·½ + E[x; x ≤ ln 2])/4 by hand, with
    E[x; x ≤ ln 2] = 1 − (1 + ln 2)/2 — equal to the exact and the 12-bin optimum.
    Communication: brute force over 1500² cells.  Entanglement, 12 bins: the SDP equals the
    SLSQP qubit optimum, lies between the exact entangled and the 12-bin shared value."""
    A = lam / (2 * (1 - lam / MU))
    e_low = 1 - (1 + np.log(2)) / 2
    closed = theory.base_wait(lam, MU) + A * 1.0 * e_low + (0.5 + e_low) / 4
    for bins in (None, 12):
        assert theory.frontier("shared", lam, MU, p=[0.5], bins=bins).wait[0] == \
            pytest.approx(closed, abs=1e-9)
    m = theory.bin_means(1500, MU)
    c = np.sort(theory.pair_cost(m[:, None], m[None, :], lam, MU).ravel())
    comm = theory.frontier("communication", lam, MU, p=[0.5], bins=None).wait[0]
    assert comm == pytest.approx(theory.base_wait(lam, MU) + c[: c.size // 2].sum() / c.size,
                                 abs=2e-3)
    costs = theory.binned_costs(12, lam, MU)
    sdp, grams = theory.entangled_extra(np.array([0.5]), costs)
    qubit, _, _ = theory.qubit_strategy(costs, 0.5, gram=grams[0], restarts=0)
    assert qubit == pytest.approx(sdp[0], abs=1e-5)
    ent12 = theory.base_wait(lam, MU) + sdp[0]
    exact = theory.frontier("entangled", lam, MU, p=[0.5])
    assert exact.lower[0] <= ent12 + 1e-6 and ent12 < closed - 1e-3


@pytest.mark.parametrize("lam", [0.5, 0.8])
def test_frontiers_are_ordered_at_every_p(lam):
    p = np.linspace(0, 1, 11)
    comm = theory.frontier("communication", lam, MU, p=p, bins=None)
    comm_binned = theory.frontier("communication", lam, MU, p=p, bins=8)
    ent = theory.frontier("entangled", lam, MU, p=p, bins=8)
    shared = theory.frontier("shared", lam, MU, p=p, bins=8)
    tol = 1e-6                                  # SDP accuracy
    assert np.all(comm.wait <= comm_binned.wait + 1e-9)
    assert np.all(comm_binned.wait <= ent.wait + tol)
    assert np.all(ent.wait <= shared.wait + tol)
    # strictly inside: entanglement helps, and it is not communication
    inner = (p > 0.05) & (p < 0.95)
    assert np.all(shared.wait[inner] - ent.wait[inner] > 1e-3)
    assert np.all(ent.wait[inner] - comm_binned.wait[inner] > 1e-3)
    # the ends agree: always together (p = 0) and always split (p = 1)
    for f in (comm, comm_binned, ent, shared):
        assert f.wait[0] == pytest.approx(theory.mean_wait(1.0, lam, MU), abs=1e-6)
        assert f.wait[-1] == pytest.approx(theory.base_wait(lam, MU), abs=1e-6)
    assert np.all(np.diff(shared.wait) <= 1e-12)          # more splitting, less wait


def test_shared_randomness_hull_equals_lp_over_the_local_polytope():
    """Second method: an explicit LP over all deterministic rule pairs (n = 4 bins)."""
    n, lam = 4, 0.8
    costs = theory.binned_costs(n, lam, MU)
    tables = [theory.coroute_table(r1, r2) for r1 in itertools.product((0, 1), repeat=n)
              for r2 in itertools.product((0, 1), repeat=n)]
    mass = np.array([t.mean() for t in tables])
    cost = np.array([(t * costs).mean() for t in tables])
    weights = cp.Variable(len(tables), nonneg=True)
    target = cp.Parameter()
    problem = cp.Problem(cp.Minimize(weights @ cost),
                         [cp.sum(weights) == 1, weights @ mass == target])
    p = np.array([0.05, 0.2, 0.37, 0.5, 0.77, 0.9])
    values, strategies = theory.shared_randomness_extra(p, costs)
    for k, pk in enumerate(p):
        target.value = 1 - pk
        lp_value, *_ = solve(problem, what="local polytope LP")
        assert values[k] == pytest.approx(lp_value, abs=1e-7)
        # the returned mixture of rule pairs attains the value at the right p
        mix_mass = sum(w * theory.coroute_table(r1, r2).mean() for w, r1, r2 in strategies[k])
        mix_cost = sum(w * (theory.coroute_table(r1, r2) * costs).mean()
                       for w, r1, r2 in strategies[k])
        assert mix_mass == pytest.approx(1 - pk, abs=1e-12)
        assert mix_cost == pytest.approx(values[k], abs=1e-12)


def test_binned_frontiers_improve_as_bins_refine():
    """Nested equiprobable bins (3 ⊂ 6 ⊂ 12): achievable waits can only go down."""
    p = np.array([0.3, 0.5, 0.7])
    for kind in ("shared", "entangled"):
        waits = [theory.frontier(kind, 0.8, MU, p=p, bins=n).wait for n in (3, 6, 12)]
        assert np.all(waits[1] <= waits[0] + 1e-7) and np.all(waits[2] <= waits[1] + 1e-7)
    comm = theory.frontier("communication", 0.8, MU, p=p, bins=None).wait
    fine = theory.frontier("communication", 0.8, MU, p=p, bins=400).wait
    assert np.all(fine >= comm - 1e-9) and np.all(fine - comm < 2e-3)


def test_qubit_angles_attain_the_sdp():
    costs = theory.binned_costs(6, 0.8, MU)
    for p in (0.3, 0.6):
        values, grams = theory.entangled_extra(np.array([p]), costs)
        qubit, theta, phi = theory.qubit_strategy(costs, p, gram=grams[0], restarts=1)
        s = np.cos(theta[:, None] - phi[None, :]) ** 2
        assert s.mean() == pytest.approx(1 - p, abs=1e-7)
        assert qubit == pytest.approx((s * costs).mean(), abs=1e-12)
        assert qubit == pytest.approx(values[0], abs=1e-5)


def optimal_qubit_policy(lam, n, p):
    """The SDP's extra wait at splitting probability p (n bins) and a qubit policy attaining it."""
    costs = theory.binned_costs(n, lam, MU)
    value, grams = theory.entangled_extra(np.array([p]), costs)
    _, theta, phi = theory.qubit_strategy(costs, p, gram=grams[0], restarts=0)
    inner = theory.bin_edges(n, MU)[1:-1]
    policy = policies.entangled(lambda x: theta[np.searchsorted(inner, x, side="right")],
                                lambda x: phi[np.searchsorted(inner, x, side="right")])
    return value, policy


def test_excess_wait_and_inverse_throughput():
    """Inverse throughput against the closed form Θ = 8(1−ρ)/(λ(1+p)) written out; excess_wait of
    the exact SR frontier at the review's threshold rule (a = 3.85, optimal there): its wait by
    2-D quadrature minus the communication optimum by brute force over 1500² cells."""
    from scipy import integrate
    lam = 0.8
    p = np.array([0.2, 0.6])
    theta = 8 * (1 - lam / MU) / (lam * (1 + p))
    np.testing.assert_allclose(theory.throughput(p, lam, MU), theta, rtol=1e-14)
    np.testing.assert_allclose(theory.splitting_for_throughput(theta, lam, MU), p, rtol=1e-12)
    a = 3.85
    same = np.exp(-2 * a) + (1 - np.exp(-a)) ** 2
    f = lambda y, x: theory.pair_cost(x, y, lam, MU) * np.exp(-x - y)
    cost = (integrate.dblquad(f, 0, a, 0, a, epsabs=1e-11)[0]
            + integrate.dblquad(f, a, 60, a, 60, epsabs=1e-11)[0])
    m = theory.bin_means(1500, MU)
    c = np.sort(theory.pair_cost(m[:, None], m[None, :], lam, MU).ravel())
    comm = c[: int(round(same * c.size))].sum() / c.size
    ex = theory.excess_wait(theory.throughput(1 - same, lam, MU), "shared", lam, MU)
    assert ex == pytest.approx(cost - comm, abs=2e-3)
    assert ex == pytest.approx(0.238, abs=5e-4)


def test_bin_means_are_conditional_means():
    for n in (1, 5, 12):
        m = theory.bin_means(n, 2.0)
        assert m.mean() == pytest.approx(0.5, rel=1e-12)               # E[x] = 1/μ
        assert np.all(np.diff(m) > 0)
    e = theory.bin_edges(3, 1.0)
    x = np.random.default_rng(0).exponential(size=400_000)
    for k in range(3):
        inside = x[(x >= e[k]) & (x < e[k + 1])]
        assert theory.bin_means(3, 1.0)[k] == pytest.approx(inside.mean(), abs=0.01)


@pytest.mark.parametrize("call, error, match", [
    (lambda: theory.frontier("quantum", 0.8, 1.0), ValueError, "kind"),
    (lambda: theory.frontier("shared", 0.8, 1.0, bins=0), ValueError, "bins"),
    (lambda: theory.frontier("shared", 1.0, 1.0), ValueError, "arrival_rate"),
    (lambda: theory.frontier("shared", 0.8, -1.0), ValueError, "service_rate"),
    (lambda: theory.frontier("entangled", 0.8, 1.0, p=[1.5]), ValueError, "p must"),
    (lambda: theory.frontier("entangled", 0.8, 1.0, p=[np.nan]), ValueError, "p"),
    (lambda: theory.excess_wait(100.0, "shared", 0.8, 1.0), ValueError, "throughput"),
    (lambda: theory.mean_wait(1.5, 0.5, 1.0), ValueError, "coroute"),
    (lambda: theory.shared_randomness_extra(np.array([0.5]), np.ones((30, 30))), ValueError,
     "bins"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def routing_game(costs, nu):
    """The fixed-p problem as a weighted XOR game of the project's games/bounds machinery:
    payoff (ν − c_ij) when the routers co-route, uniform bins (Lagrangian of E[s] = 1 − p)."""
    n = len(costs)
    same = np.eye(2)[:, :, None, None]
    return qpolicy.games.NonlocalGame(same * (nu - costs)[None, None], np.full((n, n), 1 / n**2))


@pytest.mark.parametrize("nu", [0.5, 1.5, 3.0])
def test_lagrangian_values_match_the_bounds_package(nu):
    """Third method: max E[s(ν − c)] by qpolicy.bounds (classical enumeration and NPA level 1)
    equals the Legendre transform of our frontiers."""
    from qpolicy.bounds import classical_value, npa_upper_bound
    n = 4
    costs = theory.binned_costs(n, 0.8, MU)
    game = routing_game(costs, nu)
    mass = np.arange(n * n + 1) / n**2          # every vertex of the binned local polytope
    shared, _ = theory.shared_randomness_extra(1 - mass, costs)
    assert classical_value(game).value == pytest.approx(np.max(nu * mass - shared), abs=1e-12)
    npa = npa_upper_bound(game, level=1)
    table = npa.details["table"]
    m_star = float(np.mean(table[0, 0] + table[1, 1]))
    ent, _ = theory.entangled_extra(np.array([1 - m_star]), costs)
    assert npa.value == pytest.approx(nu * m_star - ent[0], abs=1e-6)


@pytest.mark.slow
def test_simulation_resolves_the_quantum_advantage_at_the_paper_setting():
    """λ = 0.8, p = 0.5, 12 bins: the simulated wait of the optimal qubit strategy contains the
    SDP value and lies below the shared-randomness optimum (≈ 2 minutes)."""
    lam, n, p = 0.8, 12, 0.5
    value, policy = optimal_qubit_policy(lam, n, p)
    st = simulate(policy, arrival_rate=lam, steps=30_000_000, n_envs=4096, seed=3,
                  confidence=0.99)
    assert_in_ci(theory.base_wait(lam, MU) + value[0], st.mean_wait, st.mean_wait_ci, "qubit")
    shared = theory.frontier("shared", lam, MU, p=[p], bins=n).wait[0]
    assert st.mean_wait_ci[1] < shared


def test_string_numbers_and_os_entropy_are_refused():
    """Review findings: theory.mean_wait accepted "0.5" (float() coerced it) and
    qubit_strategy(seed=None) drew from OS entropy."""
    with pytest.raises(TypeError, match="coroute"):
        theory.mean_wait("0.5", 0.8)
    with pytest.raises(ValueError, match="coroute"):
        theory.mean_wait(1.5, 0.8)
    costs = np.ones((2, 2))
    with pytest.raises(TypeError, match="seed"):
        theory.qubit_strategy(costs, 0.5, seed=None)
    assert theory.mean_wait(np.float32(0.5), 0.8) == pytest.approx(1.25 * 0.8 / 0.2 + 0.25)


def test_an_sdp_too_large_for_the_solver_is_refused_not_run():
    """Review finding: frontier("entangled", bins=300) asked Clarabel for 260 GB and the failed
    allocation aborted the interpreter (no try can catch that)."""
    with pytest.raises(ValueError, match=r"bins=300 .* 260 GB; use bins=None .* at most 105 bins"):
        theory.frontier("entangled", 0.8, p=[0.5], bins=300)
