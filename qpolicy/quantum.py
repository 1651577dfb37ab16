r"""QuantumSoftmax (Alg. 1), quantum states, validity checks and the Born rule (eq. 2, 3, 6).

QuantumSoftmax maps ``m`` complex ``d × d`` "logit" matrices to a POVM, the way softmax maps
``m`` real logits to a probability vector (d = 1 is exactly softmax):

.. math::  \tilde Z_j = \tfrac12 (Z_j + Z_j^H),\quad R_j = e^{\tilde Z_j},\quad
           S = \textstyle\sum_j R_j,\quad P_j = S^{-1/2} R_j S^{-1/2}.

**How it is computed.**  The output is invariant under a common shift
:math:`\tilde Z_j \to \tilde Z_j - cI`, so ``c`` = the largest eigenvalue of all
:math:`\tilde Z_j` is subtracted first (softmax's max-subtraction: nothing overflows).  Forming
:math:`S^{-1/2}` explicitly loses accuracy as ``S`` becomes ill-conditioned, so the forward pass
uses an equivalent *polar form*.  With :math:`\tilde Z_j = V_j \operatorname{diag}(h_j) V_j^H`,
stack the ``md × d`` matrix :math:`B = [e^{h_1/2} V_1^H; \dots; e^{h_m/2} V_m^H]` (rows scaled,
never mixed, so each row is exact to rounding however small; :math:`B^H B = S`), sort its rows by
decreasing scale, take its polar factor :math:`Q = B S^{-1/2}` from an SVD, and return
:math:`P_j = Q_j^H Q_j` (the unitary :math:`V_j` cancels).  Each :math:`P_j` is PSD by
construction and :math:`\sum_j P_j = Q^H Q = I` to rounding, whatever the input — even when
``S`` is numerically singular.  Sorting matters: Householder QR (LAPACK's first step for a tall
SVD) of a row-sorted graded matrix is row-wise backward stable (Cox & Higham, 1998), which keeps
the small singular directions accurate.  Qubit stacks whose ``S`` is well conditioned take
:math:`S^{-1/2}` from the closed-form 2 × 2 eigendecomposition instead (no accuracy lost there,
1.3× faster forward + backward at batch 32 768; :data:`FAST_POLAR_MIN_RATIO`).

Measured forward accuracy (``pytest -m slow -s tests/test_quantum_softmax.py -k
accuracy_table_beyond``): real and imaginary parts of the logits uniform in ``[−scale, scale]``,
(m, d) ∈ {(2,2), (3,3), (4,4), (2,4), (5,2)}, max abs error over 100 POVMs per row against Alg. 1
evaluated literally in mpmath with ≥ 30 spare digits: ≤ 1.8e-14 at every scale 10–100 (median
~7e-16).  Random logits are well-conditioned problems; for adversarial ones — all :math:`Z_j`
sharing a dominant eigenvector, so ``S`` is ill-conditioned — the exact output itself moves by
~eps·‖Z‖·√cond(S) when the input changes by one ulp, and our error is of that size (tested),
which no double-precision method can beat.

**Gradient.**  ``quantum_softmax`` is an autograd primitive with a hand-written vector–Jacobian
product that reuses the forward factors.  Writing :math:`T = S^{-1/2}`, :math:`dP_j = K P_j +
P_j K^H + N_j` with :math:`N_j = T\,dR_j\,T = Q_j^H (\Phi_j \circ V_j^H d\tilde Z_j V_j) Q_j`
(Daleckii–Krein for exp, :math:`\Phi_{kl} = \sinh(\delta/2)/(\delta/2)`, :math:`\delta = h_k -
h_l`) and :math:`K = dT\,T^{-1} = -W(\Omega \circ W^H (\textstyle\sum_j N_j) W)W^H`,
:math:`\Omega_{kl} = \sigma_l/(\sigma_k + \sigma_l)` (Daleckii–Krein for :math:`s^{-1/2}`; σ, W
the singular values and right singular vectors of B).  Its rounding error grows with
cond(S) and with Φ ≤ e^{spread/2} (spread: of the shifted logit eigenvalues): measured over
random logits ≤ 1e-10 relative with cond(S) ≤ 1e10 and spread ≤ 30 (2545 cases, max 9e-11),
but 5e-7 at cond 5e4 with spread 90, and 10^19 at logits of ±100 where cond(S) reaches 1e35:
the N- and K-terms are each huge and cancel.  The formulas we tried in double precision (this
one, the polar-factor VJP via a Lyapunov equation, the plain chain rule through S^{-1/2}) all
have that cancellation — even fed the exact factors rounded to double — so POVMs beyond
:data:`GRADIENT_COND_LIMIT` = 1e10 or :data:`GRADIENT_SPREAD_LIMIT` = 30 take an exact backward
pass instead: the chain rule of Alg. 1 in
mpmath with 30 + (spread + ln m)/ln 10 digits, where spread is the eigenvalue spread of the
shifted logits (cond(S) ≤ m·e^{spread}), ~20 ms per POVM for m = d = 2, ~0.3 s for m = d = 4 at
logits of 100.  Training keeps S well-conditioned (App. I's :func:`conditioning_penalty`), so
the exact path is rare there.  Past an eigenvalue spread of :data:`GRADIENT_MAX_SPREAD` (5000)
the backward pass raises ``ValueError`` instead of returning a wrong number.  Both paths are
exact at repeated eigenvalues (``Z = 0`` included), where ``autograd.numpy.linalg.eigh``'s
gradient is NaN.

Measured gradient accuracy (``pytest -m slow -s tests/test_quantum_softmax.py -k
gradient_accuracy_table``): relative error ``|ours − ref| / |ref|`` of a directional derivative along
a random direction, against an mpmath central difference (≥ 130 digits, step 1e-40), 40 random
cases per row:

=====  ==================  ==================  ==================  ==================
scale  (2, 2) max / med    (3, 3) max / med    (2, 4) max / med    (4, 4) max / med
=====  ==================  ==================  ==================  ==================
10     1.9e-12 / 1.2e-14   1.8e-12 / 3.3e-15   1.2e-12 / 2.1e-16   3.9e-15 / 2.0e-16
30     5.1e-15 / 1.7e-16   3.2e-15 / 2.0e-16   9.6e-16 / 1.3e-16   1.2e-15 / 1.6e-16
100    3.5e-15 / 1.3e-16   2.9e-15 / 1.4e-16   5.2e-14 / 2.1e-16   1.2e-14 / 2.0e-16
=====  ==================  ==================  ==================  ==================

(Before, with the double formula everywhere, the same measure at scale 100 was wrong by > 100 %
in 9/40 (2, 2), 13/40 (3, 3) and 39/40 (2, 4) cases, by up to 10^19.)  Beyond 100 the exact path
is tested at logits of ±400 (relative error ≤ 1e-6 asserted).

Reference: Gardiner et al. (2026), Alg. 1, Prop. 3–4, App. I.

Example
-------
>>> import numpy as np, qpolicy as qp
>>> P = qp.quantum_softmax(np.zeros((2, 2, 2)))      # two outcomes, a qubit
>>> np.allclose(P, 0.5 * np.eye(2))
True
"""
import string

import autograd.numpy as anp
import numpy as np
from autograd.extend import primitive, defvjp
from autograd.tracer import getval

from qpolicy.linalg import dagger, eigh, eigh_2x2, expmh, hermitian_part
from qpolicy.validation import (
    ATOL, MAX_ARRAY_ELEMENTS, as_square_matrices, check_hermitian, check_int, check_nonempty,
    check_size, check_tolerance)

__all__ = [
    "quantum_softmax", "conditioning_penalty", "density_matrix", "maximally_entangled",
    "bell_state", "ghz_state", "default_entangled_state", "is_povm", "check_povm",
    "is_density_matrix", "check_density_matrix", "partial_trace", "born",
]


def _shifted_logit_spectra(Z):
    """Eigen-decompositions of the Hermitian parts of Z, shifted so the largest eigenvalue is 0."""
    w, V = eigh(Z)                                   # (..., m, d), (..., m, d, d)
    c = w.max(axis=(-2, -1), keepdims=True)          # one shift per POVM (common to all j)
    with np.errstate(over="ignore"):                 # a gap beyond 1.8e308 is −inf: e^{−inf} = 0
        return w - c, V


def _as_output_dtype(X, Z):
    return np.real(X) if np.isrealobj(Z) else X


#: A qubit stack whose S = BᴴB has eigenvalue ratio at least this takes the closed-form polar
#: factor B S^{-1/2} (2 × 2 eigh, ~5× faster than LAPACK's batched SVD of tiny matrices); the
#: closed form loses ~ε/ratio in the small eigenvalue, so worse-conditioned stacks keep the SVD.
FAST_POLAR_MIN_RATIO = 1e-2


def _polar_blocks(h, V):
    """Polar factor of the row-graded stack ``B = [e^{h_1/2} V_1^H; …; e^{h_m/2} V_m^H]``.

    ``B^H B = S``, so ``P_j = Q_j^H Q_j`` for the blocks ``Q_j`` of ``Q = polar(B)``.  ``B``
    differs from the stack of ``e^{Z̃_j/2}`` by the unitary ``blockdiag(V_j^H)``, which cancels in
    ``Q_j^H Q_j``; unlike those matrices its rows carry the exponentials *unmixed*, so each row is
    accurate to rounding however small.  With the rows sorted by decreasing scale, LAPACK's
    Householder QR (the first step of ``gesdd`` on a tall matrix) is row-wise backward stable
    (Cox & Higham 1998), which keeps the small singular directions accurate: this is what makes
    the forward pass accurate to ~1e-14 at logits of size 100 (see the table in the module
    docstring).  Well-conditioned qubit stacks use the closed form instead
    (:data:`FAST_POLAR_MIN_RATIO`).  Returns ``Q`` as ``(..., m, d, d)`` blocks and the singular
    values and right singular vectors of ``B`` (``S = W diag(σ²) W^H``).
    """
    *batch, m, d = h.shape
    B = (np.exp(h / 2)[..., :, None] * dagger(V)).reshape(-1, m * d, d)
    rows = h.reshape(-1, m * d)
    if d == 2:
        Q, sigma, W = _polar_2x2(B)
        slow = np.flatnonzero(sigma[:, 1] ** 2 < FAST_POLAR_MIN_RATIO * sigma[:, 0] ** 2)
        if slow.size:
            Q[slow], sigma[slow], W[slow] = _polar_sorted_svd(B[slow], rows[slow])
    else:
        Q, sigma, W = _polar_sorted_svd(B, rows)
    return Q.reshape(*batch, m, d, d), sigma.reshape(*batch, d), W.reshape(*batch, d, d)


def _polar_sorted_svd(B, rows):
    """Polar factor, singular values (descending) and right singular vectors of stacks ``B``
    (n, m·d, d) by the SVD of the rows sorted by their scale ``rows`` (n, m·d) (see above)."""
    order = np.argsort(-rows, axis=-1, kind="stable")[..., None]
    left, sigma, right = np.linalg.svd(np.take_along_axis(B, order, axis=-2), full_matrices=False)
    Q = np.empty_like(left)
    np.put_along_axis(Q, order, left @ right, axis=-2)               # undo the row sort
    return Q, sigma, dagger(right)


def _polar_2x2(B):
    """Closed form for d = 2: S = BᴴB = W diag(σ²) Wᴴ by :func:`eigh_2x2`, Q = B W diag(1/σ) Wᴴ."""
    w, W = eigh_2x2(hermitian_part(dagger(B) @ B))
    sigma = np.sqrt(np.maximum(w[..., ::-1], 0.0))                   # descending, as the SVD
    W = W[..., ::-1]
    inv = np.where(sigma > 0, 1.0 / np.where(sigma > 0, sigma, 1.0), 0.0)
    return B @ ((W * inv[..., None, :]) @ dagger(W)), sigma, W


@primitive
def _quantum_softmax_with_spectra(Z):
    """``(P, Q, h, V, σ, W)``: the POVM and the factors the backward pass reuses.

    Returning the factors as extra (never differentiated) outputs hands them to the VJP through
    ``ans``, so the backward pass needs no decomposition of its own.
    """
    h, V = _shifted_logit_spectra(Z)
    Q, sigma, W = _polar_blocks(h, V)
    P = hermitian_part(dagger(Q) @ Q)                                 # P_j = Q_j^H Q_j
    return _as_output_dtype(P, Z), Q, h, V, sigma, W


def _sinhc_half_gaps(h):
    """Φ_kl = sinh(δ/2)/(δ/2), δ = h_k − h_l (Φ = 1 at ties): the exp divided difference is
    e^{(h_k+h_l)/2} Φ_kl.  Gaps beyond ±1400 (logits in the hundreds) are clipped so Φ stays
    finite; there the rows of B it multiplies are below the smallest double anyway."""
    half = np.clip(h[..., :, None] - h[..., None, :], -1400.0, 1400.0) / 2
    tie = half == 0
    return np.where(tie, 1.0, np.sinh(half) / np.where(tie, 1.0, half))


#: The double-precision backward pass is used for a POVM whose S = Σ_j e^{Z̃_j} has condition
#: number at most GRADIENT_COND_LIMIT and whose shifted logit eigenvalues span at most
#: GRADIENT_SPREAD_LIMIT; other POVMs get the exact backward pass
#: :func:`_quantum_softmax_vjp_exact` (mpmath, precision chosen from the spread).  The double
#: formula's error grows with both (the N- and K-terms below cancel; Φ ≤ e^{spread/2}):
#: measured ≤ 1e-11 relative within these limits, 5e-7 at cond 5e4 with spread 90, 1e19 at
#: logits of ±100 (module docstring; ``benchmarks/RESULTS.md``).
GRADIENT_COND_LIMIT = 1e10
GRADIENT_SPREAD_LIMIT = 30.0

#: Largest eigenvalue spread (max − min over all eigenvalues of all Z̃_j of one POVM) for which
#: the gradient is computed (exactly, with ~0.4·spread decimal digits); beyond it the backward
#: pass raises ``ValueError`` rather than return a wrong number.
GRADIENT_MAX_SPREAD = 5000.0


def _quantum_softmax_vjp(ans, Z):
    P, Q, h, V, sigma, W = ans
    Phi = _sinhc_half_gaps(h)
    total = sigma[..., :, None] + sigma[..., None, :]
    Omega = np.where(total > 0, sigma[..., None, :] / np.where(total > 0, total, 1.0), 0.5)
    spread = -h.min(axis=(-2, -1))
    exact = ((sigma[..., 0] > np.sqrt(GRADIENT_COND_LIMIT) * sigma[..., -1])
             | (spread > GRADIENT_SPREAD_LIMIT))
    if np.any(spread > GRADIENT_MAX_SPREAD):
        raise ValueError(f"Z: the gradient of quantum_softmax is computed only for logits whose "
                         f"Hermitian parts have eigenvalue spread ≤ {GRADIENT_MAX_SPREAD:g} per "
                         f"POVM (GRADIENT_MAX_SPREAD), got {spread.max():.3g}; keep logits "
                         f"moderate, e.g. with conditioning_penalty")

    def vjp(g):
        # With T = S^{-1/2}:  dP_j = K P_j + P_j K^H + N_j,  where N_j = T dR_j T and
        # K = dT T^{-1} = −W (Ω ∘ W^H (Σ_j N_j) W) W^H,  Ω_kl = σ_l / (σ_k + σ_l)   (Daleckii–Krein
        # for s^{-1/2}).  By Daleckii–Krein for exp, N_j = Q_j^H (Φ_j ∘ V_j^H dZ̃_j V_j) Q_j with
        # the blocks Q_j = e^{h_j/2} V_j^H T of the forward polar factor.  S^{-1/2} is never
        # formed: the scales of S enter only through Ω ∈ [0, 1] and the (norm ≤ 1) polar factor.
        # The adjoint of that chain:
        G = hermitian_part(np.conj(g[0]))             # real-gradient convention, Hermitian part
        C = 2 * (G @ P).sum(axis=-3)                  # ⟨G, K P + P K^H⟩ = ⟨C, K⟩
        K_bar = -(W @ (Omega * (dagger(W) @ C @ W)) @ dagger(W))
        Gamma = hermitian_part(G + K_bar[..., None, :, :])           # cotangent of each N_j
        Z_bar = hermitian_part(V @ (Phi * (Q @ Gamma @ dagger(Q))) @ dagger(V))
        for index in map(tuple, np.argwhere(exact)):  # ill-conditioned S: exact, in mpmath
            exact_bar = _quantum_softmax_vjp_exact(np.asarray(Z)[index], G[index])
            Z_bar[index] = np.real(exact_bar) if np.isrealobj(Z_bar) else exact_bar
        return _as_output_dtype(np.conj(Z_bar), Z)    # Z̃ = (Z + Z^H)/2 passes Hermitian Z̄ on

    return vjp


def _quantum_softmax_vjp_exact(Z, G):
    r"""Z̄ = ∇_Z Σ_j ⟨G_j, P_j⟩ (real-gradient convention, Hermitian) of one POVM, in mpmath.

    The chain rule through Alg. 1 written literally, :math:`P_j = T R_j T`, :math:`T = S^{-1/2}`:
    :math:`\bar R_j = T G_j T + \bar S`, :math:`\bar S = D(s^{-1/2})(S)[\sum_j R_j T G_j +
    G_j T R_j]`, :math:`\bar Z_j = D\exp(\tilde Z_j)[\bar R_j]` (Daleckii–Krein, both with
    cancellation-free divided differences).  Its rounding error is ~10^{-digits}·cond(S) and
    cond(S) ≤ m·e^{spread}, so 30 + (spread + ln m)/ln 10 digits leave ≥ 30 correct ones: the
    result is exact in double precision.  ~20 ms for m = d = 2, ~0.3 s for m = d = 4 at logits
    of 100.
    """
    import mpmath

    m, d, _ = Z.shape

    def matrix(A):
        return mpmath.matrix([[mpmath.mpc(complex(x)) for x in row] for row in A])

    def herm(A):
        return (A + A.transpose_conj()) / 2

    def hadamard(F, A):
        return mpmath.matrix([[F(k, l) * A[k, l] for l in range(d)] for k in range(d)])

    w = np.linalg.eigvalsh(hermitian_part(Z))
    digits = 30 + int(np.ceil((w.max() - w.min() + np.log(m)) / np.log(10)))
    with mpmath.workdps(digits):
        spectra = [mpmath.eighe(herm(matrix(Zj))) for Zj in Z]
        shift = max(max(e) for e, _ in spectra)
        spectra = [([x - shift for x in e], U) for e, U in spectra]
        R = [U * mpmath.diag([mpmath.exp(x) for x in e]) * U.transpose_conj() for e, U in spectra]
        s, W = mpmath.eighe(herm(sum(R[1:], R[0])))
        r = [mpmath.sqrt(x) for x in s]
        T = W * mpmath.diag([1 / x for x in r]) * W.transpose_conj()
        Gm = [herm(matrix(Gj)) for Gj in G]
        C = sum((R[j] * T * Gm[j] for j in range(m)), mpmath.zeros(d, d))
        C = W.transpose_conj() * (C + C.transpose_conj()) * W
        S_bar = W * hadamard(lambda k, l: -1 / (r[k] * r[l] * (r[k] + r[l])), C) * W.transpose_conj()
        out = np.empty((m, d, d), dtype=complex)
        for j, (e, U) in enumerate(spectra):
            R_bar = U.transpose_conj() * (T * Gm[j] * T + S_bar) * U

            def dd_exp(k, l):
                gap = e[k] - e[l]
                return mpmath.exp(e[k]) if gap == 0 else mpmath.exp(e[l]) * mpmath.expm1(gap) / gap

            Z_bar = herm(U * hadamard(dd_exp, R_bar) * U.transpose_conj())
            out[j] = [[complex(Z_bar[k, l]) for l in range(d)] for k in range(d)]
    return out


defvjp(_quantum_softmax_with_spectra, _quantum_softmax_vjp)


def quantum_softmax(Z):
    r"""QuantumSoftmax (Alg. 1): logits ``Z`` of shape ``(..., m, d, d)`` → POVMs, same shape.

    ``Z`` may be real or complex (its Hermitian part is used); a real ``Z`` gives real
    symmetric POVM elements.  Batched over the leading axes; differentiable with autograd
    (pass ``X + 1j * Y`` with real parameters ``X, Y`` for complex logits).

    Guarantees (tested): every output is a POVM — Hermitian, eigenvalues ≥ −1e-12,
    ``‖Σ_j P_j − I‖ ≤ 1e-10`` — for every finite input; ``d = 1`` is the ordinary softmax; the
    output is invariant under ``Z_j → Z_j + cI`` and equivariant under ``Z_j → U Z_j U^H``.

    >>> import numpy as np, qpolicy as qp
    >>> z = np.array([1.0, 2.0, 3.0])
    >>> np.allclose(qp.quantum_softmax(z[:, None, None])[:, 0, 0], np.exp(z) / np.exp(z).sum())
    True
    """
    return _quantum_softmax_with_spectra(_as_double(Z))[0]


def _as_double(Z):
    """Validated logits in double precision: float16/32/longdouble (and complex kinds) are
    converted to float64/complex128 (a traced value by adding a double zero, which keeps it
    differentiable)."""
    Z = as_square_matrices(Z, "Z", min_ndim=3, allow_traced=True)
    if np.shape(getval(Z))[-3] == 0:
        raise ValueError(f"Z must have at least one outcome (axis -3), got shape {np.shape(getval(Z))}")
    kind = np.complex128 if np.iscomplexobj(getval(Z)) else np.float64
    return Z if getval(Z).dtype == kind else Z + np.zeros((), kind)


def conditioning_penalty(Z):
    r"""App. I penalty :math:`\|S - I\|_F^2` with :math:`S = \sum_j e^{(Z_j + Z_j^H)/2}`.

    Returns one value per POVM (shape ``Z.shape[:-3]``); differentiable.  Adding it to a loss keeps
    ``S`` well-conditioned without restricting the POVMs reachable (logits ``log P_j`` give S = I).
    """
    Z = _as_double(Z)
    Z_tilde = 0.5 * Z + 0.5 * anp.conj(anp.swapaxes(Z, -1, -2))
    highest = np.max(eigh(getval(Z_tilde))[0], initial=-np.inf)
    if highest > PENALTY_MAX_EIGENVALUE:
        raise ValueError(f"Z: the conditioning penalty overflows (‖S‖² ~ e^(2·{highest:.3g})); "
                         f"the Hermitian parts' eigenvalues must be ≤ {PENALTY_MAX_EIGENVALUE:g}")
    S = anp.sum(expmh(Z_tilde), axis=-3)
    eye = np.eye(np.shape(getval(Z))[-1])
    return anp.sum(anp.abs(S - eye) ** 2, axis=(-2, -1))


#: conditioning_penalty refuses logits whose Hermitian parts have an eigenvalue above this:
#: ‖S − I‖² ≤ (m·d·e^{λ})² stays below the largest double for m·d ≤ 10^6.
PENALTY_MAX_EIGENVALUE = 340.0


# --------------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------------

def density_matrix(B):
    r""":math:`\rho = B^H B / \operatorname{tr}(B^H B)` — a density matrix for any nonzero ``B``
    (batched, differentiable).  The paper's parameterization of a learned state (App. D.5)."""
    B = as_square_matrices(B, "B", allow_traced=True)
    largest = np.max(np.abs(getval(B)), axis=(-2, -1), keepdims=True)
    if np.any(largest == 0):
        raise ValueError("B must be nonzero (B^H B has zero trace)")
    B = B / largest        # ρ is scale invariant: entries from 1e-300 to 1e300 neither under-
    #                        nor overflow in B^H B (a constant factor: gradients are unchanged)
    rho = anp.matmul(anp.conj(anp.swapaxes(B, -1, -2)), B)
    trace = anp.sum(anp.real(B * anp.conj(B)), axis=(-2, -1))         # tr(B^H B) = ‖B‖_F²
    return rho / trace[..., None, None]


def _pure(psi):
    """|ψ⟩⟨ψ| / ⟨ψ|ψ⟩ for an unnormalized ψ (0/1 entries give exact 1/d entries)."""
    return np.outer(psi, psi.conj()) / np.vdot(psi, psi).real


def maximally_entangled(d):
    r""":math:`|\Phi^+\rangle\langle\Phi^+|` with :math:`|\Phi^+\rangle = \sum_i |ii\rangle/\sqrt d`
    on :math:`\mathbb C^d \otimes \mathbb C^d` (complex, shape ``(d², d²)``)."""
    d = check_int(d, "d", minimum=1)
    check_size(d ** 4, "d", "state (d² × d²)")
    return _pure(np.eye(d, dtype=complex).reshape(d * d))


def bell_state():
    """The Bell state of eq. (1): ``maximally_entangled(2)``."""
    return maximally_entangled(2)


def ghz_state(n):
    r""":math:`|GHZ_n\rangle = (|0\dots0\rangle + |1\dots1\rangle)/\sqrt2` on n qubits, shape
    ``(2^n, 2^n)``."""
    n = check_int(n, "n", minimum=1)
    if n > 64:                                       # 4**n itself would be a huge integer
        raise ValueError(f"n is too large: the state (2^n × 2^n) would have 4^{n} entries, the "
                         f"limit is {MAX_ARRAY_ELEMENTS} (qpolicy.validation.MAX_ARRAY_ELEMENTS)")
    check_size(4 ** n, "n", "state (2^n × 2^n)")
    psi = np.zeros(2 ** n, dtype=complex)
    psi[0] = psi[-1] = 1.0
    return _pure(psi)


def default_entangled_state(n_parties, dim):
    r"""The standard entangled resource :math:`\sum_j |j \dots j\rangle / \sqrt d`: the maximally
    entangled pair for two parties of any ``dim``, the GHZ state for ``n_parties`` qubits.

    Raises ``ValueError`` for other combinations (no canonical choice: learn the state instead).
    """
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    dim = check_int(dim, "dim", minimum=1)
    if n_parties == 2:
        return maximally_entangled(dim)
    if dim == 2:
        return ghz_state(n_parties)
    raise ValueError(f"no default entangled state for {n_parties} parties of dimension {dim} "
                     "(defined for two parties, or for qubits); learn the state instead")

# --------------------------------------------------------------------------------------------
# Validity checks: check_* raise with the reason, is_* return a bool
# --------------------------------------------------------------------------------------------

def _min_eigenvalue(H):
    return float(np.min(np.linalg.eigvalsh(hermitian_part(H)), initial=np.inf))


def check_povm(M, atol=ATOL, name="M"):
    """Raise ``ValueError`` unless ``M`` (shape ``(..., m, d, d)``) is a POVM (or a batch of them):
    every element Hermitian and PSD within ``atol``, and ``Σ_j M_j = I`` within ``atol``."""
    atol = check_tolerance(atol)
    M = check_nonempty(as_square_matrices(M, name, min_ndim=3), name)
    check_hermitian(M, name, atol)
    low = _min_eigenvalue(M)
    if low < -atol:
        raise ValueError(f"{name} is not positive semidefinite: eigenvalue {low:.3g} < -{atol:g}")
    gap = np.max(np.abs(M.sum(axis=-3) - np.eye(M.shape[-1])))
    if gap > atol:
        raise ValueError(f"{name} elements do not sum to the identity: max deviation {gap:.3g}")
    return M


def check_density_matrix(rho, atol=ATOL, name="rho"):
    """Raise ``ValueError`` unless ``rho`` (``(..., D, D)``) is Hermitian PSD with unit trace."""
    atol = check_tolerance(atol)
    rho = check_nonempty(as_square_matrices(rho, name), name)
    check_hermitian(rho, name, atol)
    low = _min_eigenvalue(rho)
    if low < -atol:
        raise ValueError(f"{name} is not positive semidefinite: eigenvalue {low:.3g} < -{atol:g}")
    gap = np.max(np.abs(np.trace(rho, axis1=-2, axis2=-1) - 1.0))
    if gap > atol:
        raise ValueError(f"{name} must have trace 1, off by {gap:.3g}")
    return rho


def _as_predicate(check):
    def predicate(x, atol=ATOL):
        atol = check_tolerance(atol)          # a bad tolerance is an error, not "False"
        try:
            check(x, atol)
        except (ValueError, TypeError):
            return False
        return True
    predicate.__name__ = check.__name__.replace("check_", "is_")
    predicate.__doc__ = f"True iff :func:`{check.__name__}` accepts the input (never raises)."
    return predicate


is_povm = _as_predicate(check_povm)
is_density_matrix = _as_predicate(check_density_matrix)


# --------------------------------------------------------------------------------------------
# Partial trace and the Born rule
# --------------------------------------------------------------------------------------------

def _check_dims(dims, D, name="dims"):
    if isinstance(dims, (str, bytes, np.ndarray)) or not hasattr(dims, "__iter__"):
        raise TypeError(f"{name} must be a sequence of positive integers, got "
                        f"{type(dims).__name__}")
    dims = tuple(dims)
    if not dims or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
                       for k in dims):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers, got {dims}")
    if int(np.prod(dims)) != D:
        raise ValueError(f"{name}={dims} multiply to {int(np.prod(dims))}, but the matrix is {D}×{D}")
    return dims


def partial_trace(rho, dims, trace_out):
    """Trace out the subsystems ``trace_out`` (an index or a sequence of indices) of ``rho`` on
    :math:`\\bigotimes_k \\mathbb C^{d_k}` with ``dims = (d_1, …, d_n)``; returns the reduced
    state on the remaining subsystems, in their original order."""
    rho = as_square_matrices(rho, "rho", ndim=2)
    dims = _check_dims(dims, rho.shape[0])
    n = len(dims)
    if n > 32:
        raise ValueError(f"dims: at most 32 subsystems (NumPy arrays have at most 64 axes), got {n}")
    if isinstance(trace_out, (int, np.integer)) and not isinstance(trace_out, (bool, np.bool_)):
        trace_out = [trace_out]
    if (isinstance(trace_out, (str, bytes, np.ndarray)) or not hasattr(trace_out, "__iter__")
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))
                       for k in trace_out)):
        raise TypeError(f"trace_out must be a subsystem index or a sequence of them, got "
                        f"{trace_out!r}")
    traced = set(int(k) for k in trace_out)
    if not traced <= set(range(n)):
        raise ValueError(f"trace_out must index subsystems 0..{n - 1}, got {sorted(traced)}")
    reduced = rho.reshape(dims + dims)
    for k in sorted(traced, reverse=True):          # axes k and n_left + k; later ones first
        reduced = np.trace(reduced, axis1=k, axis2=reduced.ndim // 2 + k)
    size = int(np.prod([dims[k] for k in range(n) if k not in traced]))
    return reduced.reshape(size, size)


def _einsum_letters(count, name, items, per_item):
    """An iterator over ``count`` distinct einsum index letters, or ``ValueError`` naming
    ``name`` when NumPy's 52 letters do not suffice (``per_item`` letters per player/party)."""
    if count > len(string.ascii_letters):
        raise ValueError(f"{name}: at most {len(string.ascii_letters) // per_item} {items} are "
                         f"supported ({per_item} einsum indices each, NumPy allows 52), got "
                         f"{count // per_item}")
    return iter(string.ascii_letters[:count])


def born(rho, povms, atol=ATOL):
    r"""The Born-rule policy table :math:`p[a_1..a_n, o_1..o_n] = \operatorname{tr}(\rho
    \bigotimes_k M_k[o_k, a_k])` (eq. 3, 6).

    ``rho``: a state on :math:`\bigotimes_k \mathbb C^{d_k}`; ``povms``: one array per party of
    shape ``(n_questions_k, n_answers_k, d_k, d_k)`` — local dimensions, question and answer
    counts may differ per party.  Differentiable with autograd in both arguments.  ``rho`` must
    be a density matrix and every ``povms[k][o]`` a POVM, within ``atol`` (so the table is a
    conditional distribution); loosen ``atol`` for solver output that is valid only to ~1e-7.

    >>> import numpy as np, qpolicy as qp
    >>> M = np.stack([np.stack([np.diag([1., 0]), np.diag([0., 1])])])          # 1 question
    >>> qp.born(qp.bell_state(), [M, M])[:, :, 0, 0].round(3).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    atol = check_tolerance(atol)
    if isinstance(povms, np.ndarray) or not hasattr(povms, "__len__") or len(povms) == 0:
        raise TypeError("povms must be a non-empty list with one (questions, answers, d, d) "
                        "array per party")
    for k, M in enumerate(povms):
        as_square_matrices(M, f"povms[{k}]", ndim=4, allow_traced=True)
    dims = [np.shape(getval(M))[-1] for M in povms]
    as_square_matrices(rho, "rho", ndim=2, allow_traced=True)
    D = np.shape(getval(rho))[0]
    _check_dims(dims, D, name="local dimensions of povms")
    check_density_matrix(getval(rho), atol, name="rho")
    for k, M in enumerate(povms):
        check_povm(getval(M), atol, name=f"povms[{k}]")
    n = len(povms)
    letters = _einsum_letters(4 * n, "povms", "parties", per_item=4)
    check_size(np.prod([np.shape(getval(M))[0] * np.shape(getval(M))[1] for M in povms],
                       dtype=object), "povms", "policy table", itemsize=8)
    rows, cols, answers, questions = ([next(letters) for _ in range(n)] for _ in range(4))
    spec = "".join(rows) + "".join(cols) + "," + ",".join(
        questions[k] + answers[k] + cols[k] + rows[k] for k in range(n)
    ) + "->" + "".join(answers) + "".join(questions)
    table = anp.einsum(spec, anp.reshape(rho, dims + dims), *povms, optimize=n > 2)
    return anp.real(table)



def detector_loss(povms, efficiency, no_click=0):
    r"""Detection loss: each detector clicks with probability η, a no-click answered ``no_click``.

    .. math::  N_a = \eta\,M_a + (1-\eta)\,\delta_{a,a_0}\,\mathbb 1

    ``povms``: POVMs of shape ``(..., m, d, d)`` (outcome axis −3, batched; real or complex;
    differentiable with autograd); ``efficiency``: η in [0, 1] (η = 0: the detector never
    clicks); ``no_click``: the outcome ``a_0 < m`` of a no-click.  η = 1 returns ``povms``
    itself (bit for bit).  The one
    implementation of App. F's detector model shared by :mod:`qpolicy.resources`, the game
    learners' :class:`~qpolicy.learn.parameterizations.Entangled` and MAPPO's entangled
    coordinator.

    >>> import numpy as np
    >>> M = np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])
    >>> detector_loss(M, 0.5, no_click=1)[1].tolist()
    [[0.5, 0.0], [0.0, 1.0]]

    Reference: P. H. Eberhard, PRA 47, R747 (1993).
    """
    from qpolicy.validation import check_real_scalar
    as_square_matrices(povms, "povms", min_ndim=3, allow_traced=True)
    eta = check_real_scalar(efficiency, "efficiency", 0, 1)
    m, d = np.shape(getval(povms))[-3:-1]
    if check_int(no_click, "no_click", minimum=0) >= m:
        raise ValueError(f"no_click must be an outcome (0..{m - 1}), got {no_click}")
    if eta == 1.0:
        return povms
    idle = np.zeros((m, d, d))
    idle[no_click] = np.eye(d)
    return eta * povms + (1 - eta) * idle
