r"""Hermitian matrix functions with exact gradients, as autograd primitives.

A *spectral function* of a Hermitian matrix :math:`H = U \operatorname{diag}(\lambda) U^H` is
:math:`f(H) = U \operatorname{diag}(f(\lambda)) U^H`.  Its derivative is given by the
Daleckii–Krein theorem (Bhatia, *Matrix Analysis*, Thm. V.3.3):

.. math::  Df(H)[E] = U \bigl(F \circ (U^H E U)\bigr) U^H,
           \qquad F_{ij} = \frac{f(\lambda_i) - f(\lambda_j)}{\lambda_i - \lambda_j},
           \quad F_{ii} = f'(\lambda_i).

:math:`Df(H)` is self-adjoint for the real inner product :math:`\langle A, B\rangle =
\operatorname{Re}\operatorname{tr}(A^H B)`, so the vector–Jacobian product is the same formula
applied to the (Hermitian part of the) cotangent.  autograd's convention for complex arrays is
that a cotangent holds :math:`\partial L/\partial x - i\,\partial L/\partial y`, the complex
conjugate of the "real" gradient; :func:`daleckii_krein_vjp` converts between the two.

Why not ``autograd.numpy.linalg.eigh``'s own gradient: it divides by :math:`\lambda_i -
\lambda_j`, so it is NaN at repeated eigenvalues (e.g. ``H = 0``) and inaccurate near them.
Here every divided difference is written in a cancellation-free form that is exact at ties.

All functions are batched over leading axes: ``H`` has shape ``(..., d, d)``.

Example
-------
>>> import autograd.numpy as anp
>>> from autograd import grad
>>> from qpolicy.linalg import expmh
>>> float(grad(lambda t: anp.real(anp.trace(expmh(t * anp.eye(2)))))(0.0))
2.0
"""
import numpy as onp
from autograd.extend import primitive, defvjp

from qpolicy.validation import ATOL, as_square_matrices

__all__ = [
    "hermitian_part",
    "eigh",
    "eigh_2x2",
    "spectral_apply",
    "daleckii_krein",
    "daleckii_krein_vjp",
    "expmh",
    "sqrtmh",
    "inv_sqrtmh",
    "logmh",
    "DIVIDED_DIFFERENCES",
]


def dagger(A):
    """Conjugate transpose over the last two axes."""
    return onp.conj(onp.swapaxes(A, -1, -2))


def hermitian_part(A):
    """(A + A^H) / 2 over the last two axes (NumPy, not differentiable); formed as A/2 + A^H/2 so
    entries up to the largest double do not overflow."""
    half = 0.5 * A
    return half + dagger(half)


def eigh(H):
    """Eigen-decomposition of the Hermitian part of ``H`` (batched): eigenvalues ascending.

    2 × 2 matrices use the closed form :func:`eigh_2x2` (NumPy's batched ``eigh`` calls LAPACK
    once per matrix, which dominates the cost of small batched problems)."""
    H = hermitian_part(H)
    if H.shape[-1] == 2:
        return eigh_2x2(H)
    return onp.linalg.eigh(H)


def eigh_2x2(H):
    r"""Closed-form eigen-decomposition of Hermitian 2 × 2 matrices ``[[a, b], [b̄, c]]``.

    With :math:`b = r e^{i\varphi}`, ``H = D M D^H`` for the real symmetric
    :math:`M = [[a, r], [r, c]]` and :math:`D = \operatorname{diag}(1, e^{-i\varphi})`; ``M`` is
    diagonalized by the Jacobi rotation of angle :math:`\theta = \tfrac12
    \operatorname{atan2}(2r, a - c)` (exact at ties: θ = 0 when r = 0 and a = c), and its
    eigenvalues are :math:`\tfrac{a+c}2 \pm \operatorname{hypot}(\tfrac{a-c}2, r)`.  Real input
    gives real eigenvectors.  Accuracy: backward stable like LAPACK's (tested against it).
    """
    a, c = onp.real(H[..., 0, 0]), onp.real(H[..., 1, 1])
    b = H[..., 0, 1]
    r = onp.abs(b)
    if onp.iscomplexobj(H):       # e^{iφ} via the angle: dividing by a subnormal |b| overflows
        phase = onp.exp(1j * onp.angle(b))
    else:
        phase = onp.where(b < 0, -1.0, 1.0)
    mean, half_gap = 0.5 * a + 0.5 * c, 0.5 * a - 0.5 * c     # no overflow up to 1.8e308
    radius = onp.hypot(half_gap, r)
    theta = 0.5 * onp.arctan2(r, half_gap)
    cos, sin = onp.cos(theta), onp.sin(theta)
    w = onp.stack([mean - radius, mean + radius], axis=-1)
    # columns: v_- = D(−sin θ, cos θ), v_+ = D(cos θ, sin θ) with D = diag(1, e^{-iφ})
    top = onp.stack([-sin, cos], axis=-1)
    bottom = onp.conj(phase)[..., None] * onp.stack([cos, sin], axis=-1)
    return w, onp.stack([top.astype(bottom.dtype), bottom], axis=-2)


def spectral_apply(U, values):
    r""":math:`U \operatorname{diag}(\text{values}) U^H`, batched."""
    return (U * values[..., None, :]) @ dagger(U)


# --- cancellation-free divided differences F(a, b) = (f(a) - f(b)) / (a - b), F(a, a) = f'(a) ---

def _safe_ratio(num, den, at_zero):
    """num/den where den != 0 and ``at_zero`` where den == 0, without warnings."""
    zero = den == 0
    return onp.where(zero, at_zero, num / onp.where(zero, 1.0, den))


def _dd_exp(a, b):
    # e^max · (1 − e^{−|a−b|}) / |a−b|: no difference of two large exponentials is ever formed.
    gap = onp.abs(a - b)
    top = onp.exp(onp.maximum(a, b))
    return top * _safe_ratio(-onp.expm1(-gap), gap, 1.0)


def _dd_sqrt(a, b):
    # (√a − √b)/(a − b) = 1/(√a + √b)
    return 1.0 / (onp.sqrt(a) + onp.sqrt(b))


def _dd_inv_sqrt(a, b):
    # (a^{-1/2} − b^{-1/2})/(a − b) = −1 / (√a √b (√a + √b))
    ra, rb = onp.sqrt(a), onp.sqrt(b)
    return -1.0 / (ra * rb * (ra + rb))


def _dd_log(a, b):
    # (log a − log b)/(a − b) = log1p(t)/(t · hi) with hi = max(a, b), t = (lo − hi)/hi ∈ (−1, 0]
    hi, lo = onp.maximum(a, b), onp.minimum(a, b)
    t = (lo - hi) / hi
    return _safe_ratio(onp.log1p(t), t, 1.0) / hi


#: name -> (f, divided difference); the domain of sqrt, inv_sqrt and log is positive definite H.
DIVIDED_DIFFERENCES = {
    "exp": (onp.exp, _dd_exp),
    "sqrt": (lambda x: onp.sqrt(onp.maximum(x, 0.0)), _dd_sqrt),   # rounding can give −1e-17
    "inv_sqrt": (lambda x: 1.0 / onp.sqrt(x), _dd_inv_sqrt),
    "log": (onp.log, _dd_log),
}


def daleckii_krein(U, w, divided_difference, E):
    r"""The Fréchet derivative :math:`Df(H)[E] = U (F \circ U^H E U) U^H` (real-gradient form)."""
    F = divided_difference(w[..., :, None], w[..., None, :])
    return U @ (F * (dagger(U) @ E @ U)) @ dagger(U)


def daleckii_krein_vjp(U, w, divided_difference, g, real_input):
    """Vector–Jacobian product of a spectral function in autograd's cotangent convention.

    ``g`` is autograd's cotangent (conjugate of the real gradient).  The derivative is applied to
    the Hermitian part of the real gradient (only that part is seen by a Hermitian argument), and
    the result is conjugated back.  For real symmetric input the gradient is real.
    """
    G = hermitian_part(onp.conj(g))
    out = onp.conj(daleckii_krein(U, w, divided_difference, G))
    return onp.real(out) if real_input else out


_LOG_MAX = float(onp.log(onp.finfo(onp.float64).max))


def _check_domain(name, w):
    """exp needs eigenvalues ≤ log(largest double) (else it overflows); sqrt needs H ⪰ 0 (eigenvalues down to −ATOL·scale are rounding and are clipped to 0);
    inv_sqrt and log need H ≻ 0."""
    if name == "exp":
        highest = float(w[..., -1].max(initial=-onp.inf))
        if highest > _LOG_MAX:
            raise ValueError(f"H: the matrix exponential overflows; largest eigenvalue "
                             f"{highest:.3g} > log(largest double) = {_LOG_MAX:.6g}")
        return
    floor = -ATOL * max(1.0, float(onp.abs(w).max(initial=0.0))) if name == "sqrt" else 0.0
    lowest = float(w[..., 0].min(initial=onp.inf))
    if lowest < floor or (name != "sqrt" and lowest <= 0):
        kind = "positive semidefinite" if name == "sqrt" else "positive definite"
        raise ValueError(f"H must be {kind} for the matrix {name}; smallest eigenvalue {lowest:.3g}")


def _spectral_primitive(name):
    f, divided_difference = DIVIDED_DIFFERENCES[name]

    @primitive
    def matrix_function(H):
        H = as_square_matrices(H, "H")
        w, U = eigh(H)
        _check_domain(name, w)
        out = spectral_apply(U, f(w))
        return onp.real(out) if onp.isrealobj(H) else out

    def vjp_maker(ans, H):
        w, U = eigh(H)
        real_input = onp.isrealobj(H)
        return lambda g: daleckii_krein_vjp(U, w, divided_difference, g, real_input)

    defvjp(matrix_function, vjp_maker)
    matrix_function.__name__ = f"{name}mh"
    matrix_function.__doc__ = (
        f"Matrix {name} of the Hermitian part of ``H`` (batched ``(..., d, d)``), an autograd "
        "primitive whose gradient is the Daleckii–Krein formula with cancellation-free divided "
        "differences (exact at repeated eigenvalues)."
    )
    return matrix_function


expmh = _spectral_primitive("exp")
sqrtmh = _spectral_primitive("sqrt")
inv_sqrtmh = _spectral_primitive("inv_sqrt")
logmh = _spectral_primitive("log")
