"""States, validity checks, partial trace and the Born rule (qpolicy.quantum).

Oracles: eq. (1) as printed, explicit state vectors, explicit loops over np.kron for the Born
rule and over matrix elements for the partial trace, the textbook CHSH strategy (App. D.4.1),
finite differences for gradients.
"""
import itertools

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given, strategies as st

import qpolicy as qp
from qpolicy.policies import nonsignaling_violation


def random_state(rng, D):
    return qp.density_matrix(rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D)))


def random_povms(rng, n_questions, n_outcomes, d):
    shape = (n_questions, n_outcomes, d, d)
    return qp.quantum_softmax(rng.normal(size=shape) + 1j * rng.normal(size=shape))


# ----------------------------------------------------------------------------------------------
# States
# ----------------------------------------------------------------------------------------------

def test_bell_state_is_eq1():
    eq1 = np.array([[0.5, 0, 0, 0.5], [0, 0, 0, 0], [0, 0, 0, 0], [0.5, 0, 0, 0.5]])
    np.testing.assert_array_equal(qp.bell_state(), eq1)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_maximally_entangled(d):
    rho = qp.maximally_entangled(d)
    assert rho.shape == (d * d, d * d)
    qp.check_density_matrix(rho, atol=1e-14)
    np.testing.assert_allclose(rho @ rho, rho, atol=1e-14)                  # pure
    psi = sum(np.kron(np.eye(d)[i], np.eye(d)[i]) for i in range(d)) / np.sqrt(d)
    np.testing.assert_allclose(rho, np.outer(psi, psi), atol=1e-15)
    for side in (0, 1):                                                     # maximally mixed marginals
        np.testing.assert_allclose(qp.partial_trace(rho, (d, d), side), np.eye(d) / d, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ghz_state(n):
    rho = qp.ghz_state(n)
    psi = np.zeros(2 ** n)
    psi[[0, -1]] = 1 / np.sqrt(2)
    np.testing.assert_allclose(rho, np.outer(psi, psi), atol=1e-15)
    qp.check_density_matrix(rho, atol=1e-14)
    if n > 1:       # any party alone, or all but one: classically correlated, diag(1/2, 0.., 1/2)
        one = qp.partial_trace(rho, (2,) * n, list(range(1, n)))
        np.testing.assert_allclose(one, np.eye(2) / 2, atol=1e-15)


@pytest.mark.parametrize("function", [qp.maximally_entangled, qp.ghz_state])
@pytest.mark.parametrize("bad, error", [(0, ValueError), (2.0, TypeError), (True, TypeError), ("2", TypeError)])
def test_state_constructors_reject_bad_sizes(function, bad, error):
    with pytest.raises(error, match=r"^(d|n) "):
        function(bad)


@given(st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_density_matrix_is_a_state(d, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = qp.density_matrix(B)
    qp.check_density_matrix(rho, atol=1e-12)
    np.testing.assert_allclose(rho, B.conj().T @ B / np.trace(B.conj().T @ B).real, atol=1e-14)


def test_density_matrix_is_differentiable():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(2, 3, 3))
    G = rng.normal(size=(3, 3))
    loss = lambda X, Y: anp.sum(G * anp.real(qp.density_matrix(X + 1j * Y)))
    gx, gy = grad(loss, (0, 1))(X, Y)
    E, F = rng.normal(size=(2, 3, 3))
    h = 1e-6
    fd = (loss(X + h * E, Y + h * F) - loss(X - h * E, Y - h * F)) / (2 * h)
    assert np.sum(gx * E) + np.sum(gy * F) == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("bad, error, fragment", [
    (np.zeros((2, 2)), ValueError, "nonzero"),
    (np.zeros((2, 3)), ValueError, "square"),
    (np.array([[np.nan]]), ValueError, "NaN"),
    ("B", TypeError, "array of numbers"),
])
def test_density_matrix_rejects(bad, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        qp.density_matrix(bad)
    assert str(info.value).startswith("B ")


# ----------------------------------------------------------------------------------------------
# Validity checks
# ----------------------------------------------------------------------------------------------

def test_is_povm_accepts_valid_and_rejects_each_defect():
    P = qp.quantum_softmax(np.random.default_rng(2).normal(size=(3, 2, 2)) + 0j)
    assert qp.is_povm(P) and qp.is_povm(P[None])                           # batch of POVMs
    not_hermitian = P.copy()
    not_hermitian[0, 0, 1] += 1e-3
    not_psd = np.stack([np.diag([1.5, 0.5]), np.diag([-0.5, 0.5])])
    not_identity = P * 1.01
    for bad, reason in [(not_hermitian, "Hermitian"), (not_psd, "positive semidefinite"),
                        (not_identity, "sum to the identity")]:
        assert not qp.is_povm(bad)
        with pytest.raises(ValueError, match=reason):
            qp.check_povm(bad)
    assert not qp.is_povm("M") and not qp.is_povm(np.eye(2))               # never raises


def test_is_density_matrix_accepts_valid_and_rejects_each_defect():
    assert qp.is_density_matrix(qp.bell_state())
    for bad, reason in [(np.array([[0.5, 1.0], [0.0, 0.5]]), "Hermitian"),
                        (np.diag([1.5, -0.5]), "positive semidefinite"),
                        (np.eye(2), "trace 1")]:
        assert not qp.is_density_matrix(bad)
        with pytest.raises(ValueError, match=reason):
            qp.check_density_matrix(bad)


def test_check_tolerance_is_respected():
    almost = np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0 + 1e-7])])
    assert not qp.is_povm(almost) and qp.is_povm(almost, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Partial trace
# ----------------------------------------------------------------------------------------------

def partial_trace_loop(rho, dims, traced):
    """Explicit sum over matrix elements: (ρ_kept)[i, j] = Σ_t ρ[(i, t), (j, t)]."""
    kept = [k for k in range(len(dims)) if k not in traced]
    kept_dims = [dims[k] for k in kept]
    out = np.zeros((int(np.prod(kept_dims)),) * 2, dtype=complex)
    for i in np.ndindex(*kept_dims):
        for j in np.ndindex(*kept_dims):
            for t in np.ndindex(*[dims[k] for k in traced]):
                row, col = [0] * len(dims), [0] * len(dims)
                for k, ik, jk in zip(kept, i, j):
                    row[k], col[k] = ik, jk
                for k, tk in zip(traced, t):
                    row[k] = col[k] = tk
                out[np.ravel_multi_index(i, kept_dims), np.ravel_multi_index(j, kept_dims)] += \
                    rho[np.ravel_multi_index(row, dims), np.ravel_multi_index(col, dims)]
    return out


@pytest.mark.parametrize("traced", [[0], [1], [2], [0, 2], [1, 2], [0, 1]])
def test_partial_trace_matches_loop(traced):
    dims = (2, 3, 2)
    rho = random_state(np.random.default_rng(3), 12)
    got = qp.partial_trace(rho, dims, traced)
    np.testing.assert_allclose(got, partial_trace_loop(rho, dims, traced), atol=1e-15)
    qp.check_density_matrix(got, atol=1e-12)


def test_partial_trace_of_a_product_state():
    rng = np.random.default_rng(4)
    a, b = random_state(rng, 2), random_state(rng, 3)
    np.testing.assert_allclose(qp.partial_trace(np.kron(a, b), (2, 3), 1), a, atol=1e-15)
    np.testing.assert_allclose(qp.partial_trace(np.kron(a, b), (2, 3), [0]), b, atol=1e-15)


@pytest.mark.parametrize("dims, trace_out, fragment", [
    ((2, 3), 0, "multiply to 6"),
    ((2, 2), 2, "trace_out must index"),
    ((2, 2), [0, 5], "trace_out must index"),
    ((), 0, "non-empty"),
    ((2, 0), 0, "positive integers"),
    ((2.0, 2), 0, "positive integers"),
])
def test_partial_trace_rejects(dims, trace_out, fragment):
    with pytest.raises(ValueError, match=fragment):
        qp.partial_trace(qp.bell_state(), dims, trace_out)


def test_partial_trace_rejects_bool_and_non_state():
    with pytest.raises(TypeError, match="trace_out"):
        qp.partial_trace(qp.bell_state(), (2, 2), True)
    with pytest.raises(ValueError, match="rho must have 2 dimensions"):
        qp.partial_trace(np.zeros((1, 4, 4)), (2, 2), 0)


# ----------------------------------------------------------------------------------------------
# Born rule
# ----------------------------------------------------------------------------------------------

def born_loop(rho, povms):
    """tr(ρ ⊗_k M_k[o_k, a_k]) with an explicit np.kron per entry."""
    shape = [M.shape[1] for M in povms] + [M.shape[0] for M in povms]
    n = len(povms)
    table = np.zeros(shape)
    for index in np.ndindex(*shape):
        a, o = index[:n], index[n:]
        op = np.ones((1, 1))
        for k, M in enumerate(povms):
            op = np.kron(op, M[o[k], a[k]])
        table[index] = np.trace(rho @ op).real
    return table


@pytest.mark.parametrize("dims, n_questions, n_answers", [
    ((2, 3), (2, 3), (3, 2)),
    ((2, 3, 2), (2, 1, 2), (2, 3, 2)),
    ((1, 2), (2, 2), (2, 2)),
])
def test_born_matches_kron_loop(dims, n_questions, n_answers):
    rng = np.random.default_rng(5)
    rho = random_state(rng, int(np.prod(dims)))
    povms = [random_povms(rng, q, a, d) for d, q, a in zip(dims, n_questions, n_answers)]
    table = qp.born(rho, povms)
    assert table.shape == (*n_answers, *n_questions)
    np.testing.assert_allclose(table, born_loop(rho, povms), atol=1e-14)


@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_born_tables_are_normalized_and_nonsignaling(seed, n):
    rng = np.random.default_rng(seed)
    dims = rng.integers(1, 4, n)
    rho = random_state(rng, int(np.prod(dims)))
    povms = [random_povms(rng, int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(d)) for d in dims]
    table = qp.born(rho, povms)
    assert np.all(table >= -1e-14)
    np.testing.assert_allclose(table.sum(axis=tuple(range(n))), 1.0, atol=1e-12)
    assert nonsignaling_violation(table) <= 1e-12


def chsh_povms(theta=np.pi / 8):
    """App. D.4.1, eqs. (21)–(24).  Eqs. (23)–(24) print sin 2θ off the diagonal, but
    [[cos²θ, sin 2θ], [sin 2θ, sin²θ]] is not a projector (not even PSD at θ = π/8: its
    determinant is cos²θ sin²θ − sin²2θ < 0).  The projector onto (cos θ, sin θ) has
    sin θ cos θ = (sin 2θ)/2 there, which is what we use."""
    c, s = np.cos(theta), np.sin(theta)
    A0 = np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])                      # eq. (21)
    A1 = np.stack([[[0.5, 0.5], [0.5, 0.5]], [[0.5, -0.5], [-0.5, 0.5]]])          # eq. (22)
    B0 = np.stack([[[c * c, s * c], [s * c, s * s]], [[s * s, -s * c], [-s * c, c * c]]])  # (23)
    B1 = np.stack([[[c * c, -s * c], [-s * c, s * s]], [[s * s, s * c], [s * c, c * c]]])  # (24)
    return np.stack([A0, A1]), np.stack([B0, B1])


def test_chsh_strategy_of_appendix_d41():
    alice, bob = chsh_povms()
    table = qp.born(qp.bell_state(), [alice, bob])
    for a, b, x, y in itertools.product(range(2), repeat=4):
        if (a ^ b) == (x & y):            # "each of the two win conditions: ½ cos²(π/8)"
            assert table[a, b, x, y] == pytest.approx(0.5 * np.cos(np.pi / 8) ** 2, abs=1e-15)
    win = sum(0.25 * table[a, b, x, y] for a, b, x, y in itertools.product(range(2), repeat=4)
              if (a ^ b) == (x & y))
    assert win == pytest.approx(np.cos(np.pi / 8) ** 2, abs=1e-15)
    # the library's reference strategy is this literal transcription of eqs. (21)-(24)
    state, (lib_alice, lib_bob) = qp.games.chsh_quantum_strategy()
    assert np.array_equal(state, qp.bell_state())
    assert np.allclose(lib_alice, alice, atol=1e-15) and np.allclose(lib_bob, bob, atol=1e-15)


def test_chsh_povm_as_printed_is_not_a_povm():
    c, s, s2 = np.cos(np.pi / 8), np.sin(np.pi / 8), np.sin(np.pi / 4)
    printed = np.stack([[[c * c, s2], [s2, s * s]], [[s * s, -s2], [-s2, c * c]]])
    assert not qp.is_povm(printed)


def test_born_is_differentiable_in_state_and_povms():
    rng = np.random.default_rng(6)
    B = rng.normal(size=(2, 4, 4))
    Z = rng.normal(size=(2, 2, 2, 2, 2))                                   # re/im, questions, answers, d, d
    G = rng.normal(size=(2, 2, 2, 2))

    def loss(B, Z):
        rho = qp.density_matrix(B[0] + 1j * B[1])
        M = qp.quantum_softmax(Z[0] + 1j * Z[1])
        return anp.sum(G * qp.born(rho, [M, M]))

    gB, gZ = grad(loss, (0, 1))(B, Z)
    E, F = rng.normal(size=B.shape), rng.normal(size=Z.shape)
    h = 1e-6
    fd = (loss(B + h * E, Z + h * F) - loss(B - h * E, Z - h * F)) / (2 * h)
    assert np.sum(gB * E) + np.sum(gZ * F) == pytest.approx(fd, rel=1e-6)


def test_born_rejects_bad_input():
    M = np.stack([np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])])
    bell = qp.bell_state()
    cases = [
        (lambda: qp.born(bell, M), TypeError, "povms must be a non-empty list"),
        (lambda: qp.born(bell, []), TypeError, "povms must be a non-empty list"),
        (lambda: qp.born(bell, [M[0], M]), ValueError, r"povms\[0\] must have 4 dimensions"),
        (lambda: qp.born(bell, [M, M[..., :1]]), ValueError, r"povms\[1\] must be square"),
        (lambda: qp.born(bell, [M]), ValueError, "local dimensions of povms"),
        (lambda: qp.born(bell[:, :3], [M, M]), ValueError, "rho must be square"),
        (lambda: qp.born(2 * bell, [M, M]), ValueError, "rho must have trace 1"),
        (lambda: qp.born(bell, [M, 2 * M]), ValueError, r"povms\[1\] elements do not sum"),
        (lambda: qp.born(bell * np.nan, [M, M]), ValueError, "rho contains NaN"),
        (lambda: qp.born("rho", [M, M]), TypeError, "rho must be an array"),
    ]
    for call, error, fragment in cases:
        with pytest.raises(error, match=fragment):
            call()


def test_default_entangled_state_is_the_maximally_entangled_pair_or_ghz():
    assert np.array_equal(qp.quantum.default_entangled_state(2, 3), qp.maximally_entangled(3))
    assert np.array_equal(qp.quantum.default_entangled_state(3, 2), qp.ghz_state(3))
    with pytest.raises(ValueError, match="no default entangled state"):
        qp.quantum.default_entangled_state(3, 3)
    with pytest.raises(ValueError, match="n_parties"):
        qp.quantum.default_entangled_state(1, 2)
