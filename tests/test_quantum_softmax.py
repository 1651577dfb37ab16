"""QuantumSoftmax (Alg. 1): POVM validity, accuracy vs an mpmath reference, invariances, gradients.

Oracles: Alg. 1 evaluated literally in mpmath with enough digits for the conditioning of S (the
reference never uses the polar form our implementation uses), the ordinary softmax (d = 1 and
commuting inputs), central finite differences, and Alg. 1 differentiated by autograd's own
``eigh`` gradient (a second, independent backward pass, valid away from ties).
"""
import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
import scipy.linalg
from autograd import grad
from hypothesis import assume, given, strategies as st
from hypothesis.extra.numpy import arrays

import qpolicy as qp
from qpolicy.linalg import hermitian_part

# Tolerances of the guarantees (module docstring of qpolicy.quantum)
POVM_SUM_TOL = 1e-10     # ‖Σ_j P_j − I‖₂
POVM_NEG_TOL = 1e-12     # smallest eigenvalue of any P_j ≥ −1e-12
ACCURACY_TOL = 1e-10     # max abs error vs the mpmath reference, logit entries up to 30
GRAD_REL_TOL = 1e-6      # gradient vs central finite differences


# ----------------------------------------------------------------------------------------------
# High-precision reference: Alg. 1 verbatim in mpmath
# ----------------------------------------------------------------------------------------------

def _mp_hermitian(A):
    d = A.shape[0]
    M = mpmath.matrix(d, d)
    for r in range(d):
        for c in range(d):
            M[r, c] = (mpmath.mpc(complex(A[r, c])) + mpmath.conj(mpmath.mpc(complex(A[c, r])))) / 2
    return M


def _mp_spectral(M, f):
    E, U = mpmath.eighe(M)
    return U * mpmath.diag([f(e) for e in E]) * U.transpose_conj()


def reference_quantum_softmax(Z):
    """Alg. 1 for one POVM ``Z`` (m, d, d) with enough digits that S^{-1/2} is exact in double.

    The condition number of S is at most e^{spread of the eigenvalues of the Z̃_j}, ≤ e^{2·d·max|Z|}
    (Gershgorin), so 30 + 2·d·max|Z|/ln 10 digits leave ≥ 30 significant digits.
    """
    m, d, _ = Z.shape
    digits = 30 + int(2 * d * np.max(np.abs(Z)) / np.log(10))
    with mpmath.workdps(digits):
        R = [_mp_spectral(_mp_hermitian(Z[j]), mpmath.exp) for j in range(m)]
        S = R[0]
        for Rj in R[1:]:
            S = S + Rj
        T = _mp_spectral(S, lambda s: 1 / mpmath.sqrt(s))
        return np.array([[[complex((T * Rj * T)[r, c]) for c in range(d)] for r in range(d)]
                         for Rj in R])


def reference_directional_derivative(Z, E, G):
    """d/dt Σ Re(G ∘ P(Z + tE)) at t = 0 for Alg. 1 in mpmath: a central difference with step
    1e-40 and 100 extra digits, so both truncation and rounding are far below double precision."""
    m, d, _ = Z.shape
    digits = 130 + int(2 * d * np.max(np.abs(Z)) / np.log(10))
    with mpmath.workdps(digits):
        step = mpmath.mpf(10) ** -40

        def loss(t):
            R = [_mp_spectral(_mp_hermitian(Z[j]) + t * _mp_hermitian(E[j]), mpmath.exp)
                 for j in range(m)]
            S = R[0]
            for Rj in R[1:]:
                S = S + Rj
            T = _mp_spectral(S, lambda s: 1 / mpmath.sqrt(s))
            return sum(mpmath.re(mpmath.mpc(complex(G[j, r, c])) * (T * R[j] * T)[r, c])
                       for j in range(m) for r in range(d) for c in range(d))

        return float((loss(step) - loss(-step)) / (2 * step))


def gradient_errors_vs_reference(scale, n, seed):
    """Error of our directional derivative relative to ‖∇‖·‖E‖, for n random cases."""
    rng = np.random.default_rng(seed)
    errors = []
    for k in range(n):
        m, d = [(2, 2), (3, 3), (4, 2), (2, 4)][k % 4]
        Z = random_logits(rng, m, d, scale)
        E = rng.normal(size=Z.shape) + 1j * rng.normal(size=Z.shape)
        G = rng.normal(size=Z.shape)
        gx, gy = grad(lambda X, Y: anp.sum(anp.real(G * qp.quantum_softmax(X + 1j * Y))), (0, 1))(Z.real, Z.imag)
        ours = np.sum(gx * E.real) + np.sum(gy * E.imag)
        scale_of_gradient = np.sqrt(np.sum(gx ** 2) + np.sum(gy ** 2)) * np.linalg.norm(E)
        errors.append(abs(ours - reference_directional_derivative(Z, E, G)) / scale_of_gradient)
    return np.array(errors)


def random_logits(rng, m, d, scale, complex_=True):
    """Entries uniform in [−scale, scale] (real and imaginary parts)."""
    Z = rng.uniform(-scale, scale, (m, d, d))
    return Z + 1j * rng.uniform(-scale, scale, (m, d, d)) if complex_ else Z


def max_error_vs_reference(scale, n_per_shape, seed, shapes=((2, 2), (3, 3), (4, 4), (2, 4), (5, 2))):
    rng = np.random.default_rng(seed)
    errors = []
    for k in range(n_per_shape):
        for m, d in shapes:
            Z = random_logits(rng, m, d, scale, complex_=k % 2 == 0)
            errors.append(np.max(np.abs(qp.quantum_softmax(Z) - reference_quantum_softmax(Z))))
    return np.array(errors)


# ----------------------------------------------------------------------------------------------
# POVM validity for every finite input
# ----------------------------------------------------------------------------------------------

def assert_povm(P, Z):
    assert P.shape == Z.shape
    assert np.all(np.isfinite(P))
    np.testing.assert_array_equal(P, hermitian_part(P))                  # exactly Hermitian
    assert np.linalg.eigvalsh(P).min() >= -POVM_NEG_TOL
    gap = np.linalg.norm(P.sum(axis=-3) - np.eye(P.shape[-1]), ord=2, axis=(-2, -1))
    assert np.max(gap) <= POVM_SUM_TOL


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def logits(draw, max_m=4, max_d=4, elements=finite, complex_=None):
    m = draw(st.integers(1, max_m))
    d = draw(st.integers(1, max_d))
    real = draw(arrays(np.float64, (m, d, d), elements=elements))
    if complex_ is None:
        complex_ = draw(st.booleans())
    if not complex_:
        return real
    return real + 1j * draw(arrays(np.float64, (m, d, d), elements=elements))


@given(logits())
def test_output_is_a_povm_for_any_finite_input(Z):
    assert_povm(qp.quantum_softmax(Z), Z)


@pytest.mark.parametrize("name, Z", [
    ("zeros", np.zeros((3, 2, 2))),
    ("all identical", np.tile(np.array([[1.0, 2j], [-2j, 3.0]]), (4, 1, 1))),
    ("scalar matrices (every eigenvalue repeated)", np.stack([c * np.eye(3) for c in (0.0, 1.0, 1.0)])),
    ("huge diagonal", np.stack([np.diag([1e3, -1e3]), np.diag([-1e3, 1e3])])),
    ("huge, same dominant direction", np.stack([np.diag([1e3, -1e3]), np.diag([999.0, -1e3])])),
    ("huge off-diagonal", 1e3 * np.ones((2, 3, 3))),
    ("one outcome", np.random.default_rng(0).normal(size=(1, 3, 3))),
    ("rank-deficient in double (e^{-2000} underflows)", np.stack([np.diag([0.0, -2e3]), np.diag([-1.0, -2e3])])),
])
def test_output_is_a_povm_for_hard_inputs(name, Z):
    assert_povm(qp.quantum_softmax(Z), Z)


def test_batched_equals_loop_and_real_input_gives_real_output():
    Z = np.random.default_rng(1).normal(size=(2, 3, 4, 2, 2))
    P = qp.quantum_softmax(Z)
    assert np.isrealobj(P)
    looped = np.array([[qp.quantum_softmax(Z[i, k]) for k in range(3)] for i in range(2)])
    np.testing.assert_allclose(P, looped, atol=1e-14)


# ----------------------------------------------------------------------------------------------
# Accuracy against the mpmath reference
# ----------------------------------------------------------------------------------------------

def test_reference_is_exact_on_commuting_inputs():
    """The oracle itself: diagonal logits give the entrywise softmax along j."""
    z = np.array([[3.0, -1.0], [0.5, 2.0], [-4.0, 0.0]])
    P = reference_quantum_softmax(np.stack([np.diag(row) for row in z]))
    soft = np.exp(z) / np.exp(z).sum(axis=0)
    np.testing.assert_allclose(np.array([np.diag(Pj) for Pj in P]).real, soft, rtol=1e-15)


@pytest.mark.parametrize("scale", [1.0, 10.0, 30.0])
def test_accuracy_vs_high_precision_reference(scale):
    errors = max_error_vs_reference(scale, n_per_shape=4, seed=int(scale))
    assert errors.max() <= ACCURACY_TOL, f"max error {errors.max():.2e} at logit scale {scale}"


@pytest.mark.slow
def test_accuracy_table_beyond_30():
    """Measures the table quoted in qpolicy.quantum's docstring (run: pytest -m slow -s):
    forward error over 100 POVMs and gradient error over 8 cases per scale."""
    print("\nscale  forward max  forward median  gradient max  gradient median")
    gradient_bound = {10.0: 1e-11, 20.0: 1e-8}        # beyond 20: measured, not guaranteed
    for scale in (10.0, 20.0, 30.0, 40.0, 50.0, 100.0):
        errors = max_error_vs_reference(scale, n_per_shape=20, seed=100 + int(scale))
        g = gradient_errors_vs_reference(scale, n=8, seed=200 + int(scale))
        print(f"{scale:5.0f}  {errors.max():.1e}      {np.median(errors):.1e}         "
              f"{g.max():.1e}       {np.median(g):.1e}", flush=True)
        assert errors.max() <= 1e-12
        assert g.max() <= gradient_bound.get(scale, np.inf)


# ----------------------------------------------------------------------------------------------
# Softmax special cases and invariances
# ----------------------------------------------------------------------------------------------

def softmax(z, axis=0):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(arrays(np.float64, st.integers(1, 6), elements=finite))
def test_d1_is_softmax(z):
    P = qp.quantum_softmax(z[:, None, None])
    np.testing.assert_allclose(P[:, 0, 0], softmax(z), rtol=1e-12, atol=1e-300)


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
              elements=st.floats(-50, 50)))
def test_commuting_inputs_give_softmax_per_eigenvalue(z):
    """Z_j = U diag(z_j) U^H with a common U gives P_j = U diag(softmax_j(z)) U^H.

    Tolerance: rounding in U diag(z_j) U^H mixes the eigen-directions by ~eps, which
    QuantumSoftmax amplifies by up to √cond(S) — an ill-conditioning of the *problem* (the exact
    output moves that much under a one-ulp change of the input; see
    test_error_is_at_the_level_of_the_problems_conditioning), so the bound scales with it.
    """
    U, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(z.shape[1],) * 2) + 1j)
    Z = np.stack([U @ np.diag(row) @ U.conj().T for row in z])        # common eigenbasis U
    expected = np.stack([U @ np.diag(row) @ U.conj().T for row in softmax(z)])
    s = np.exp(z - z.max()).sum(axis=0)                                # eigenvalues of S (shifted)
    tol = 1e-13 + 10 * np.finfo(float).eps * np.sqrt(s.max() / s.min())
    np.testing.assert_allclose(qp.quantum_softmax(Z), expected, rtol=0, atol=tol)


def test_error_is_at_the_level_of_the_problems_conditioning():
    """An adversarial input (every Z_j with the same dominant eigenvector, S ill-conditioned):
    our error vs the 1e-10 target is larger, but no double-precision method can do better —
    the exact output itself moves by as much when the input changes by one ulp."""
    rng = np.random.default_rng(21)
    U, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
    Z = np.stack([U @ np.diag([30.0, 0.0]) @ U.conj().T, U @ np.diag([30.0, 1.0]) @ U.conj().T])
    exact = reference_quantum_softmax(Z)
    error = np.max(np.abs(qp.quantum_softmax(Z) - exact))
    one_ulp = [np.max(np.abs(reference_quantum_softmax(Z * (1 + np.finfo(float).eps * rng.choice([-1, 1], Z.shape))) - exact))
               for _ in range(3)]
    assert error > 1e-13                     # the case is genuinely hard …
    assert error <= 10 * max(one_ulp)        # … and our error is the problem's, not the method's


moderate = st.floats(-10, 10)


def conditioning_tolerance(Z):
    """Attainable accuracy for input Z: an eps-sized (relative) change of Z can move the exact
    output by ~eps·‖Z‖·√cond(S) (see test_error_is_at_the_level_of_the_problems_conditioning),
    so comparisons between two roundings of the same problem use this bound."""
    H = hermitian_part(Z)
    H = H - np.linalg.eigvalsh(H).max() * np.eye(Z.shape[-1])
    s = np.linalg.eigvalsh(sum(scipy.linalg.expm(Hj) for Hj in H))
    root_cond = np.sqrt(s.max() / max(s.min(), np.finfo(float).tiny))
    return 1e-12 + 10 * np.finfo(float).eps * max(1.0, np.abs(Z).max()) * root_cond


@given(logits(elements=moderate), st.floats(-100, 100))
def test_invariant_under_common_shift(Z, c):
    shifted = Z + c * np.eye(Z.shape[-1])
    np.testing.assert_allclose(qp.quantum_softmax(shifted), qp.quantum_softmax(Z),
                               rtol=0, atol=conditioning_tolerance(shifted))


@given(logits(elements=moderate), st.integers(0, 2**32 - 1))
def test_equivariant_under_common_unitary(Z, seed):
    d = Z.shape[-1]
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    rotated = qp.quantum_softmax(U @ Z @ U.conj().T)
    np.testing.assert_allclose(rotated, U @ qp.quantum_softmax(Z) @ U.conj().T,
                               rtol=0, atol=conditioning_tolerance(Z))


def test_only_the_hermitian_part_matters():
    Z = np.random.default_rng(3).normal(size=(3, 2, 2)) + 1j * np.random.default_rng(4).normal(size=(3, 2, 2))
    np.testing.assert_allclose(qp.quantum_softmax(Z), qp.quantum_softmax(hermitian_part(Z)), atol=1e-14)


def test_logarithm_of_a_povm_is_a_preimage():
    """App. I: logits log P_j give S = I and return P itself (the penalty is zero there)."""
    P = qp.quantum_softmax(np.random.default_rng(5).normal(size=(3, 3, 3)) + 0j)
    Z = np.stack([qp.linalg.logmh(Pj) for Pj in P])
    np.testing.assert_allclose(qp.quantum_softmax(Z), P, atol=1e-13)
    assert qp.conditioning_penalty(Z) == pytest.approx(0.0, abs=1e-24)


# ----------------------------------------------------------------------------------------------
# Gradients
# ----------------------------------------------------------------------------------------------

def _loss(G, complex_):
    if complex_:
        return lambda X, Y: anp.sum(anp.real(G * qp.quantum_softmax(X + 1j * Y)))
    return lambda X, Y: anp.sum(G * qp.quantum_softmax(X))


def _directional_fd_error(Z, seed, complex_=True, step=1e-5):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=Z.shape) + (1j * rng.normal(size=Z.shape) if complex_ else 0)
    loss = _loss(G, complex_)
    X, Y = np.real(Z), np.imag(Z) if complex_ else np.zeros(Z.shape)
    gx, gy = grad(loss, (0, 1))(X, Y)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    E = rng.normal(size=Z.shape)
    F = rng.normal(size=Z.shape) if complex_ else np.zeros(Z.shape)
    fd = (loss(X + step * E, Y + step * F) - loss(X - step * E, Y - step * F)) / (2 * step)
    analytic = np.sum(gx * E) + np.sum(gy * F)
    return abs(fd - analytic) / max(abs(analytic), np.linalg.norm(gx) + np.linalg.norm(gy))


def test_gradient_vs_high_precision_reference():
    """Logits up to 10: S up to cond ~1e17, where an S^{-1/2}-based backward loses ~1e-7."""
    errors = gradient_errors_vs_reference(10.0, n=4, seed=210)
    assert errors.max() <= 1e-9


@pytest.mark.parametrize("complex_", [True, False])
@pytest.mark.parametrize("m, d", [(2, 2), (3, 3), (4, 2), (2, 4)])
@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_gradient_matches_finite_differences(complex_, m, d, scale):
    rng = np.random.default_rng(m * 10 + d)
    Z = scale * random_logits(rng, m, d, 1.0, complex_)
    assert _directional_fd_error(Z, seed=7, complex_=complex_) <= GRAD_REL_TOL


@given(logits(elements=st.floats(-3, 3), complex_=True), st.integers(0, 2**32 - 1))
def test_gradient_matches_finite_differences_property(Z, seed):
    assume(Z.shape[0] > 1)          # m = 1: P = I, the gradient is exactly zero
    assert _directional_fd_error(Z, seed) <= GRAD_REL_TOL


@pytest.mark.parametrize("Z", [np.zeros((2, 2, 2)), np.stack([np.eye(3), np.eye(3), 2 * np.eye(3)])],
                         ids=["zeros", "scalar matrices"])
def test_gradient_is_finite_and_exact_at_ties(Z):
    """At Z_j = c_j I every eigenvalue is tied (autograd's eigh gradient is NaN here).  All
    matrices are scalar, so to first order dR_j = e^{c_j} sym E_j, S = σI with σ = Σ_k e^{c_k},
    and dP_j = p_j (sym E_j − Σ_k p_k sym E_k) with p = softmax(c): the gradient of
    Σ_j Re tr(G_j^T P_j) is p_j (sym G_j − Σ_k p_k sym G_k)."""
    assert _directional_fd_error(Z + 0j, seed=11) <= GRAD_REL_TOL
    G = np.random.default_rng(12).normal(size=Z.shape)
    g = grad(lambda X: anp.sum(G * qp.quantum_softmax(X)))(Z)
    p = softmax(np.array([Zj[0, 0] for Zj in Z]))
    Gs = hermitian_part(G)
    expected = p[:, None, None] * (Gs - np.einsum("k,kab->ab", p, Gs))
    np.testing.assert_allclose(g, expected, atol=1e-14)


def _algorithm1_builtin_eigh(X, Y):
    """Alg. 1 through autograd.numpy.linalg.eigh's own gradient (valid away from ties)."""
    w, V = anp.linalg.eigh(0.5 * (X + 1j * Y + anp.conj(anp.swapaxes(X + 1j * Y, -1, -2))))
    R = anp.matmul(V * anp.exp(w)[..., None, :], anp.conj(anp.swapaxes(V, -1, -2)))
    s, W = anp.linalg.eigh(anp.sum(R, axis=-3))
    T = anp.matmul(W / anp.sqrt(s)[..., None, :], anp.conj(anp.swapaxes(W, -1, -2)))[..., None, :, :]
    return anp.matmul(anp.matmul(T, R), T)


def test_gradient_agrees_with_builtin_eigh_backward_away_from_ties():
    rng = np.random.default_rng(13)
    X, Y = rng.normal(size=(2, 5, 3, 3, 3))
    G = rng.normal(size=X.shape)
    ours = grad(lambda X, Y: anp.sum(anp.real(G * qp.quantum_softmax(X + 1j * Y))), (0, 1))(X, Y)
    theirs = grad(lambda X, Y: anp.sum(anp.real(G * _algorithm1_builtin_eigh(X, Y))), (0, 1))(X, Y)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-11)


def test_gradient_is_finite_for_huge_logits():
    Z = np.stack([np.diag([1e3, -1e3]), np.diag([999.0, -1e3]) + 1.0])
    g = grad(lambda X: anp.sum(qp.quantum_softmax(X) * np.arange(8).reshape(2, 2, 2)))(Z)
    assert np.all(np.isfinite(g))


# ----------------------------------------------------------------------------------------------
# Conditioning penalty (App. I)
# ----------------------------------------------------------------------------------------------

def test_conditioning_penalty_value():
    # Z = 0: S = m I, penalty = d (m − 1)²
    assert qp.conditioning_penalty(np.zeros((3, 2, 2))) == pytest.approx(2 * 4)
    # commuting diagonal logits: S = diag(Σ_j e^{z_j}), penalty = Σ_k (S_kk − 1)²
    z = np.array([[0.3, -1.0], [1.2, 0.0]])
    S = np.exp(z).sum(axis=0)
    assert qp.conditioning_penalty(np.stack([np.diag(r) for r in z])) == pytest.approx(np.sum((S - 1) ** 2))
    assert qp.conditioning_penalty(np.zeros((4, 3, 2, 2))).shape == (4,)


@pytest.mark.parametrize("complex_", [True, False])
def test_conditioning_penalty_gradient(complex_):
    rng = np.random.default_rng(14)
    X, Y = rng.normal(size=(2, 2, 3, 3, 3))
    if not complex_:
        Y = np.zeros_like(Y)
    loss = lambda X, Y: anp.sum(qp.conditioning_penalty(X + 1j * Y))
    gx, gy = grad(loss, (0, 1))(X, Y)
    E, F = rng.normal(size=(2,) + X.shape)
    h = 1e-6
    fd = (loss(X + h * E, Y + h * F) - loss(X - h * E, Y - h * F)) / (2 * h)
    assert np.sum(gx * E) + np.sum(gy * F) == pytest.approx(fd, rel=GRAD_REL_TOL)


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("function", [qp.quantum_softmax, qp.conditioning_penalty])
@pytest.mark.parametrize("bad, error, fragment", [
    (np.zeros((2, 2)), ValueError, "at least 3 dimensions"),
    (np.zeros((2, 2, 3)), ValueError, "square"),
    (np.zeros((2, 0, 0)), ValueError, "square"),
    (np.full((2, 2, 2), np.nan), ValueError, "NaN"),
    (np.full((2, 2, 2), np.inf), ValueError, "infinite"),
    ("logits", TypeError, "array of numbers"),
    (np.zeros((2, 2, 2), dtype=bool), TypeError, "bool"),
    ([[[1.0, 2.0]], [[1.0]]], TypeError, "array of numbers"),
])
def test_bad_input_raises_naming_Z(function, bad, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        function(bad)
    assert str(info.value).startswith("Z ")


@pytest.mark.parametrize("complex_", [False, True])
def test_qubit_closed_form_polar_agrees_with_the_svd_path(complex_, monkeypatch):
    """d = 2 stacks take the closed-form polar factor unless ill-conditioned: forward and gradient
    agree with the SVD path (forced by an unreachable ratio), also in a batch mixing both paths."""
    from qpolicy import quantum
    rng = np.random.default_rng(11)
    Z = rng.standard_normal((64, 3, 2, 2)) + (1j * rng.standard_normal((64, 3, 2, 2)) if complex_ else 0)
    Z[:8] *= 40.0                                      # ill-conditioned S: these keep the SVD
    weights = rng.standard_normal(Z.shape)
    loss = lambda Z: anp.sum(anp.real(qp.quantum_softmax(Z)) * weights)   # noqa: E731
    mixed = qp.quantum_softmax(Z), grad(loss)(Z)
    monkeypatch.setattr(quantum, "FAST_POLAR_MIN_RATIO", 2.0)            # every stack by SVD
    svd = qp.quantum_softmax(Z), grad(loss)(Z)
    np.testing.assert_allclose(mixed[0], svd[0], atol=1e-13)
    np.testing.assert_allclose(mixed[1], svd[1], atol=1e-9 * np.abs(svd[1]).max())


# ----------------------------------------------------------------------------------------------
# Gradient accuracy at large logits (issue 12): relative error of a directional derivative
# against the mpmath central difference, |ours − ref| / |ref| (not normalized by ‖∇‖)
# ----------------------------------------------------------------------------------------------

def _directional(Z, E, G):
    gx, gy = grad(lambda X, Y: anp.sum(anp.real(G * qp.quantum_softmax(X + 1j * Y))), (0, 1))(
        Z.real, Z.imag)
    return np.sum(gx * E.real) + np.sum(gy * E.imag)


def gradient_relative_errors(m, d, scale, n, seed):
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(n):
        Z = random_logits(rng, m, d, scale)
        E = rng.normal(size=Z.shape) + 1j * rng.normal(size=Z.shape)
        G = rng.normal(size=Z.shape)
        ref = reference_directional_derivative(Z, E, G)
        errors.append(abs(_directional(Z, E, G) - ref) / abs(ref))
    return np.array(errors)


def test_gradient_of_the_issue_reproducer():
    """Logits uniform in ±100: the backward through eigen-gaps gave 2.2e5; mpmath gives 0.00645."""
    rng = np.random.default_rng(1)
    X, Y = rng.uniform(-100, 100, (2, 2, 2, 2))
    C, E = rng.normal(size=(2, 2, 2, 2))
    ref = reference_directional_derivative(X + 1j * Y, E + 0j, C)
    assert ref == pytest.approx(0.00645, abs=5e-6)
    g = grad(lambda X: anp.sum(anp.real(qp.quantum_softmax(X + 1j * Y)) * C))(X)
    assert abs(np.sum(g * E) - ref) <= 1e-6 * abs(ref)


@pytest.mark.parametrize("m, d, n", [(2, 2, 6), (3, 3, 2), (2, 4, 2), (4, 4, 1)])
@pytest.mark.parametrize("scale", [50.0, 100.0])
def test_gradient_accurate_at_large_logits(m, d, n, scale):
    errors = gradient_relative_errors(m, d, scale, n, seed=1000 * m + 10 * d + int(scale))
    assert errors.max() <= 1e-6


def test_gradient_beyond_100_and_its_limit():
    """Beyond logits of 100 the gradient stays exact (mpmath path); past GRADIENT_MAX_SPREAD the
    backward pass refuses, naming Z, instead of returning a wrong number."""
    assert gradient_relative_errors(2, 2, 400.0, n=2, seed=5).max() <= 1e-6
    Z = np.stack([np.diag([3e3, -3e3]), np.diag([1.0, 2.0])])
    with pytest.raises(ValueError, match="^Z: the gradient .* spread"):
        grad(lambda X: anp.sum(qp.quantum_softmax(X)[0, 0, 0]))(Z)


def test_gradient_mixed_batch_and_real_input():
    """A batch mixing well- and ill-conditioned POVMs gets the exact path only where needed, and
    the batched gradient equals the per-POVM one; real logits give a real gradient."""
    rng = np.random.default_rng(31)
    Z = rng.uniform(-1, 1, (3, 2, 2, 2))
    Z[1] *= 100.0
    G = rng.normal(size=Z.shape)
    batched = grad(lambda X: anp.sum(G * qp.quantum_softmax(X)))(Z)
    assert batched.dtype == np.float64
    for k in range(3):
        alone = grad(lambda X: anp.sum(G[k] * qp.quantum_softmax(X)))(Z[k])
        np.testing.assert_allclose(batched[k], alone, rtol=0, atol=1e-15 * np.abs(alone).max())
    E = rng.normal(size=Z.shape)
    ref = sum(reference_directional_derivative(Z[k] + 0j, E[k] + 0j, G[k]) for k in range(3))
    assert abs(np.sum(batched * E) - ref) <= 1e-6 * abs(ref)


@pytest.mark.slow
def test_gradient_accuracy_table_to_100():
    """Measures the gradient table quoted in qpolicy.quantum's docstring (run: pytest -m slow -s
    -k gradient_accuracy_table): max and median relative error of a directional derivative over
    40 random cases per (m, d) and scale."""
    print("\nscale  (m,d)  max rel err  median")
    for scale in (10.0, 30.0, 100.0):
        for m, d in [(2, 2), (3, 3), (2, 4), (4, 4)]:
            errors = gradient_relative_errors(m, d, scale, n=40, seed=int(scale) + 7 * m + d)
            print(f"{scale:5g}  ({m},{d})  {errors.max():.2g}  {np.median(errors):.2g}")
            assert errors.max() <= 1e-6


# ----------------------------------------------------------------------------------------------
# dtypes and extreme magnitudes (issue 12)
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.longdouble, np.complex64,
                                   np.clongdouble])
def test_other_precisions_are_computed_in_double(dtype):
    """Half/single/long-double logits are converted to float64/complex128 after validation."""
    Z = np.random.default_rng(3).normal(size=(3, 2, 2)).astype(np.float16)   # exact in every dtype
    P = qp.quantum_softmax(Z.astype(dtype))
    assert P.dtype == (np.complex128 if np.iscomplexobj(Z.astype(dtype)) else np.float64)
    np.testing.assert_allclose(P, qp.quantum_softmax(Z.astype(np.float64)), atol=1e-15)
    g = grad(lambda X: anp.sum(qp.quantum_softmax(X)[0]))(Z.astype(np.float32))
    assert g.dtype in (np.float32, np.float64) and np.all(np.isfinite(g))


def test_largest_doubles_do_not_overflow_the_hermitian_part():
    # diag(9e307, −9e307) vs 0: R_2 = e^{−9e307} I dominates R_1 = diag(1, e^{−1.8e308}) in e_2
    P = qp.quantum_softmax(np.array([np.diag([9e307, -9e307]), np.zeros((2, 2))]))
    np.testing.assert_array_equal(P, [np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])
    np.testing.assert_array_equal(qp.quantum_softmax(np.array([[[1e308]], [[0.0]]])).ravel(), [1, 0])
    Z = np.array([[[1e308, 1e308], [1e308, -1e308]], [[0.0, 0.0], [0.0, 0.0]]])
    assert_povm(qp.quantum_softmax(Z), Z)


@pytest.mark.parametrize("scale", [1e-200, 1e-300, 1e200, 1e300])
def test_density_matrix_is_scale_invariant_to_the_extremes(scale):
    B = np.array([[1.0, 2.0j], [0.5, -1.0]])
    np.testing.assert_allclose(qp.density_matrix(scale * B), qp.density_matrix(B), atol=1e-15)
