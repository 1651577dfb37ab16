"""Hermitian spectral functions (qpolicy.linalg) against scipy.linalg and finite differences.

Oracles: scipy.linalg.expm / sqrtm / logm (independent algorithms: Padé scaling-and-squaring,
Schur), central finite differences for the VJPs, and the closed form Df(cI)[E] = f'(c) E at a
fully repeated eigenvalue.
"""
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.linalg
from autograd import grad
from hypothesis import example, given, strategies as st

from qpolicy.linalg import (
    DIVIDED_DIFFERENCES, eigh, eigh_2x2, expmh, hermitian_part, inv_sqrtmh, logmh, spectral_apply,
    sqrtmh,
)

FUNCTIONS = {  # name -> (our primitive, scipy oracle, needs positive definite input)
    "exp": (expmh, scipy.linalg.expm, False),
    "sqrt": (sqrtmh, scipy.linalg.sqrtm, True),
    "inv_sqrt": (inv_sqrtmh, lambda H: np.linalg.inv(scipy.linalg.sqrtm(H)), True),
    "log": (logmh, scipy.linalg.logm, True),
}
ORACLE_TOL = 1e-12       # relative to the norm of the result
FD_STEP = 1e-6
FD_TOL = 1e-6            # relative error of a central difference (O(step²) truncation + rounding)


def random_hermitian(rng, d, complex_=True, positive=False, batch=()):
    A = rng.normal(size=(*batch, d, d)) + (1j * rng.normal(size=(*batch, d, d)) if complex_ else 0)
    H = hermitian_part(A)
    if positive:
        H = H @ H + 0.1 * np.eye(d)
    return H


def with_spectrum(rng, eigenvalues, complex_=True):
    """U diag(eigenvalues) U^H for a random unitary U (ties stay exact up to rounding)."""
    d = len(eigenvalues)
    A = rng.normal(size=(d, d)) + (1j * rng.normal(size=(d, d)) if complex_ else 0)
    U, _ = np.linalg.qr(A)
    return spectral_apply(U, np.asarray(eigenvalues, dtype=float))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("complex_", [True, False])
@pytest.mark.parametrize("d", [1, 2, 4])
def test_matches_scipy(name, complex_, d):
    ours, oracle, positive = FUNCTIONS[name]
    rng = np.random.default_rng(d)
    H = random_hermitian(rng, d, complex_, positive)
    expected = oracle(H)
    got = ours(H)
    assert np.isrealobj(got) == (not complex_)
    assert np.linalg.norm(got - expected) <= ORACLE_TOL * np.linalg.norm(expected)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_batched_equals_loop(name):
    ours, _, positive = FUNCTIONS[name]
    H = random_hermitian(np.random.default_rng(1), 3, positive=positive, batch=(2, 3))
    looped = np.array([[ours(H[i, j]) for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(ours(H), looped, atol=1e-13)


def test_uses_hermitian_part():
    A = np.random.default_rng(2).normal(size=(3, 3))
    np.testing.assert_allclose(expmh(A), scipy.linalg.expm(hermitian_part(A)), atol=1e-12)


def _fd_check(fun, H, rng, complex_=True):
    """Directional derivative of L(X, Y) = Σ Re(G ∘ fun(X + iY)) vs a central difference."""
    d = H.shape[-1]
    G = rng.normal(size=H.shape) + 1j * rng.normal(size=H.shape)
    loss = lambda X, Y: anp.sum(anp.real(G * fun(X + 1j * Y))) if complex_ else \
        anp.sum(anp.real(G * fun(X)))
    X, Y = np.real(H), np.imag(H)
    gx, gy = grad(loss, (0, 1))(X, Y)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    E = rng.normal(size=(d, d))
    F = rng.normal(size=(d, d)) if complex_ else np.zeros((d, d))
    fd = (loss(X + FD_STEP * E, Y + FD_STEP * F) - loss(X - FD_STEP * E, Y - FD_STEP * F)) / (2 * FD_STEP)
    analytic = np.sum(gx * E) + np.sum(gy * F)
    assert abs(fd - analytic) <= FD_TOL * max(1.0, abs(analytic))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("complex_", [True, False])
@pytest.mark.parametrize("spectrum", ["generic", "repeated", "scalar"])
def test_vjp_matches_finite_differences(name, complex_, spectrum):
    ours, _, positive = FUNCTIONS[name]
    rng = np.random.default_rng(3)
    if spectrum == "generic":
        H = random_hermitian(rng, 3, complex_, positive)
    elif spectrum == "repeated":                       # an exactly repeated eigenvalue
        H = with_spectrum(rng, [0.5, 0.5, 2.0], complex_)
    else:                                              # H = c I: every pair is a tie
        H = 1.5 * np.eye(3) + 0j * complex_
    _fd_check(ours, H, rng, complex_)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vjp_at_scalar_matrix_is_closed_form(name):
    """At H = cI, Df(H)[E] = f'(c) E, so ∇ Re tr(G^T f(H)) = f'(c) · Hermitian part of G."""
    ours, _, _ = FUNCTIONS[name]
    c = 2.0
    derivative = {"exp": np.exp(c), "sqrt": 0.5 / np.sqrt(c), "inv_sqrt": -0.5 * c ** -1.5,
                  "log": 1 / c}[name]
    G = np.random.default_rng(4).normal(size=(3, 3))
    g = grad(lambda X: anp.sum(G * ours(X)))(c * np.eye(3))
    np.testing.assert_allclose(g, derivative * hermitian_part(G), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_batched_vjp_equals_loop(name):
    ours, _, positive = FUNCTIONS[name]
    rng = np.random.default_rng(5)
    H = random_hermitian(rng, 2, positive=positive, batch=(3,))
    G = rng.normal(size=H.shape)
    loss = lambda X: anp.sum(anp.real(G * ours(X + 0j)))
    batched = grad(loss)(np.real(H))
    looped = [grad(lambda X: anp.sum(anp.real(G[k] * ours(X + 0j))))(np.real(H[k])) for k in range(3)]
    np.testing.assert_allclose(batched, looped, atol=1e-13)


@pytest.mark.parametrize("name", DIVIDED_DIFFERENCES)
@given(a=st.floats(0.01, 50), b=st.floats(0.01, 50))
def test_divided_differences(name, a, b):
    """Cancellation-free F(a, b) equals (f(a) − f(b))/(a − b) away from ties and f'(a) at ties."""
    f, dd = DIVIDED_DIFFERENCES[name]
    value = dd(np.array(a), np.array(b))
    assert np.isfinite(value)
    if abs(a - b) > 1e-3 * max(a, b):
        naive = (f(a) - f(b)) / (a - b)
        assert value == pytest.approx(naive, rel=1e-9)
    h = 1e-6 * a
    assert dd(np.array(a), np.array(a)) == pytest.approx((f(a + h) - f(a - h)) / (2 * h), rel=1e-6)


def test_exp_divided_difference_does_not_overflow_or_cancel():
    _, dd = DIVIDED_DIFFERENCES["exp"]
    # (e^700 − e^{-700}) / 1400 is finite, though e^700·… products could overflow if mishandled
    assert dd(np.array(700.0), np.array(-700.0)) == pytest.approx(np.exp(700.0) / 1400, rel=1e-12)
    # tiny gap: naive (e^a − e^b)/(a − b) loses all digits; the exact value is e^a(1 + gap/2 + …)
    a, gap = 1.0, 1e-13
    assert dd(np.array(a + gap), np.array(a)) == pytest.approx(np.e * (1 + gap / 2), rel=1e-15)


def test_eigh_is_of_hermitian_part_and_ascending():
    A = np.random.default_rng(6).normal(size=(4, 4)) + 1j * np.random.default_rng(7).normal(size=(4, 4))
    w, U = eigh(A)
    assert np.all(np.diff(w) >= 0)
    np.testing.assert_allclose(spectral_apply(U, w), hermitian_part(A), atol=1e-13)


def test_autograd_builtin_eigh_gradient_is_nan_at_a_tie():
    """Why linalg.py exists (notes/numerics.md): autograd's own eigh gradient divides by
    λ_i − λ_j, so a matrix exponential built on it has a NaN gradient at H = 0 — the zero
    initialization of a training run — while expmh's gradient there is exact (= G's Hermitian
    part)."""
    G = np.arange(4.0).reshape(2, 2)

    def exp_via_builtin_eigh(X):
        w, V = anp.linalg.eigh(X)
        return anp.matmul(V * anp.exp(w)[..., None, :], anp.swapaxes(V, -1, -2))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        builtin = grad(lambda X: anp.sum(G * exp_via_builtin_eigh(X)))(np.zeros((2, 2)))
    assert np.all(np.isnan(builtin))
    ours = grad(lambda X: anp.sum(G * expmh(X)))(np.zeros((2, 2)))
    np.testing.assert_allclose(ours, hermitian_part(G), atol=1e-15)


@pytest.mark.parametrize("bad, error, fragment", [
    (np.zeros((2, 3)), ValueError, "square"),
    (np.zeros(3), ValueError, "at least 2 dimensions"),
    ("abc", TypeError, "array of numbers"),
    (np.array([[True]]), TypeError, "dtype bool"),
    (np.array([[np.nan]]), ValueError, "NaN"),
    (np.array([[np.inf]]), ValueError, "NaN or infinite"),
])
def test_bad_input_is_rejected_naming_H(bad, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        expmh(bad)
    assert str(info.value).startswith("H ")


@pytest.mark.parametrize("fun, H", [
    (logmh, np.zeros((2, 2))), (inv_sqrtmh, np.diag([1.0, 0.0])), (sqrtmh, -np.eye(2)),
    (logmh, np.diag([1.0, -1.0])),
])
def test_outside_domain_is_rejected(fun, H):
    with pytest.raises(ValueError, match="H must be positive"):
        fun(H)


def test_sqrt_accepts_rounding_level_negative_eigenvalues():
    np.testing.assert_allclose(sqrtmh(np.diag([4.0, -1e-17])), np.diag([2.0, 0.0]), atol=0)


hermitian_entries = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.tuples(hermitian_entries, hermitian_entries, hermitian_entries, hermitian_entries),
       st.booleans())
@example((4e-304, 4e-304, 2e-320, -5e-320), True)            # subnormal off-diagonal
def test_closed_form_2x2_eigh_matches_lapack(entries, complex_):
    a, c, re, im = entries
    H = np.array([[a, re + 1j * im * complex_], [re - 1j * im * complex_, c]])
    if not complex_:
        H = H.real
    w, U = eigh_2x2(H)
    assert np.isrealobj(U) == (not complex_)
    scale = max(np.abs(H).max(), 1e-300)
    # both are backward stable (error a few ulps of ‖H‖ each), so they differ by up to ~8 ulps
    np.testing.assert_allclose(w, np.linalg.eigvalsh(H), rtol=0, atol=8 * np.finfo(float).eps * scale)
    assert w[0] <= w[1]
    np.testing.assert_allclose(U.conj().T @ U, np.eye(2), atol=4e-16)
    np.testing.assert_allclose(spectral_apply(U, w), H, rtol=0, atol=8 * np.finfo(float).eps * scale)


def test_closed_form_2x2_eigh_at_ties_and_batched():
    w, U = eigh_2x2(np.zeros((3, 2, 2)))
    np.testing.assert_array_equal(w, 0.0)
    np.testing.assert_allclose(U.conj().swapaxes(-1, -2) @ U, np.broadcast_to(np.eye(2), U.shape), atol=0)
    H = hermitian_part(np.random.default_rng(8).normal(size=(4, 3, 2, 2)) + 1j)
    w, U = eigh(H)                                  # eigh dispatches d = 2 to the closed form
    np.testing.assert_allclose(w, np.linalg.eigvalsh(H), atol=1e-14)
    np.testing.assert_allclose(spectral_apply(U, w), H, atol=1e-14)
