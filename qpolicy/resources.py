r"""Realistic quantum resources (paper App. F): noisy states, limited dimension, restricted
measurements, detection loss — what they are worth in a game, and where they stop helping.

**Resource models.**  A shared state ``rho`` on :math:`\bigotimes_k \mathbb C^{d_k}` (any
density matrix, or built by :func:`white_noise`, :func:`dephasing`, :func:`partially_entangled`);
a *measurement family* per player (:func:`measurement_family`: general POVMs, projective only,
real — for qubits, measurements in one great circle of the Bloch sphere — or a fixed finite set);
a detection efficiency ``η``: each player's detector clicks with probability η, independently,
and a "no click" is answered with a chosen answer (the experimenters' assignment), so the
implemented measurement is :math:`N_{x,a} = \eta M_{x,a} + (1-\eta)\,\delta_{a,a_0}\mathbb 1`
(:func:`detection_povms`; ``no_click="extra"`` keeps it as an extra outcome, for tables).

**Value under a resource** (:func:`resource_value`).  A see-saw with the state held fixed: for
fixed measurements of the other players the value is linear in player k's measurements,
:math:`\sum_{x,a}\operatorname{tr}(M_k[x,a]\,T_k[x,a])` with the *environment*

.. math::  T_k[x,a] = \eta_k \sum_{a_{-k}, o_{-k}} \mu(o) V(a|o)\,
           \operatorname{tr}_{-k}\!\big[\rho\,(\mathbb 1_k \otimes \textstyle\bigotimes_{j\ne k}
           N_j[o_j, a_j])\big],

and each family takes a monotone step on it: general POVMs the minorize–maximize polar step of
:mod:`qpolicy.bounds.seesaw`; projective ones an orthonormal basis :math:`u_i` with labels
:math:`c(i)` (:math:`P_a = \sum_{c(i)=a} u_iu_i^\dagger`), alternating the polar step on the
basis and the best label of each vector (both never decrease the value, and the result is
projective by construction); real families use :math:`\operatorname{Re} T` (for a real symmetric
M, :math:`\operatorname{tr}(MT) = \operatorname{tr}(M \operatorname{Re}T)`) and real factors;
a fixed set takes the best candidate per question (exact).  ``state="free"`` also optimizes the
state (top eigenvector of the game operator).  The returned value is recomputed from the
explicit state and measurements by :func:`qpolicy.born` and ``game.value``: a lower bound.

**Upper bound (proved).**  Write :math:`\rho = w\sigma + (1-w)\mathbb 1/D` with the smallest
weight :math:`w = 1 - D\lambda_{\min}(\rho)` (white noise of visibility v on any state: w ≤ v).
The noise part yields a product of local distributions, hence at most the classical value
:math:`\omega_c`; when fewer than two players click, all but one answer deterministically,
again local.  Only the event "≥ 2 clicks" on the σ part can reach the quantum value, so

.. math::  \omega(\rho, \eta) \le \omega_c + P(\ge 2\text{ clicks})\; w\,(\omega_q^{\rm NPA} - \omega_c),

with :math:`\omega_q^{\rm NPA}` the NPA upper bound recomputed from the solver's dual matrix
(``details["dual_bound"]`` of :func:`qpolicy.bounds.npa_upper_bound`, a rigorous bound).  It
ignores the dimension and measurement restrictions, which only lower the true value.

**Thresholds.**  :func:`critical_visibility` bisects on the visibility with the see-saw; for an
explicit strategy the value is affine in v, :math:`v f + (1-v) g`, so each successful see-saw
also gives the visibility :math:`(\omega_c - g)/(f - g)` down to which *that* strategy still wins
— the upper end of the bracket jumps there (a Dinkelbach step).  The value as a function of v
is a maximum of affine functions, hence convex, equal to :math:`\omega_c` at v = 0 and never
below it: so it is non-decreasing and the advantage region is an interval :math:`(v^*, 1]`.
:func:`critical_efficiency` does the same in η (the value of a fixed strategy is a polynomial in
η, whose crossing with :math:`\omega_c` is solved exactly).  The *lower* ends of these brackets
are only "the see-saw found no advantage there" (not a proof), and are reported as such —
except :func:`eberhard_threshold` (CHSH over all states): its upper end is an explicit
strategy whose tiny violation is proved in interval arithmetic, its lower end the
non-signalling LP of :func:`lossy_game` (no resource whatever beats the classical value there).
:func:`nonlocality_threshold` is one LP over the local polytope for a table ``p``: the smallest
visibility v at which :math:`v p + (1-v) u` (u: uniform answers) is still non-local, with a
Bell inequality from the LP dual whose local bound is recomputed by exact enumeration.

Known values reproduced (tests): CHSH :math:`1/\sqrt2` (game and behaviour); the n-player
Mermin game with the GHZ state :math:`2^{1-\lceil n/2\rceil}`; the magic square 7/9 with two
ebits; CHSH detection efficiency :math:`2(\sqrt2-1)` with the maximally entangled state and
Eberhard's 2/3 with partially entangled states (bracketed within 1e-4, both ends proved).

Example
-------
>>> from qpolicy import games
>>> from qpolicy.resources import critical_visibility
>>> round(critical_visibility(games.chsh(), seed=0).value, 6)       # 1/√2
0.707107

References: P. H. Eberhard, PRA 47, R747 (1993) (detection efficiency); D. Collins, N. Gisin,
J. Phys. A 37, 1775 (2004) and T. Vértesi, K. F. Pál, PRA 77, 042105 (2008) (white-noise
robustness); K. F. Pál, T. Vértesi, PRA 82, 022116 (2010) (see-saw).
"""
import itertools
import math
import numbers
import string
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from qpolicy.bounds.classical import (best_deterministic, classical_value, local_polytope_map,
                                      local_polytope_constraints, local_polytope_size)
from qpolicy.bounds.results import Bound, solve
from qpolicy.bounds.seesaw import _improve_party, _povm_gap, game_operator
from qpolicy.games import NonlocalGame
from qpolicy.policies import check_policy_table
from qpolicy.quantum import (born, check_density_matrix, check_povm, default_entangled_state,
                             detector_loss)
from qpolicy.validation import as_array, as_generator, as_square_matrices, check_int, check_positive

__all__ = ["white_noise", "dephasing", "partially_entangled", "MeasurementFamily",
           "measurement_family", "detection_povms", "ResourceValue", "Threshold",
           "resource_value", "critical_visibility", "critical_efficiency",
           "nonlocality_threshold", "eberhard_strategy", "eberhard_threshold",
           "lossy_game", "nonsignaling_efficiency", "VIOLATION_TOL", "INTERVAL_PREC"]

#: A value "beats the classical value" when it exceeds it by more than this (values are exact
#: Born-rule evaluations, accurate to ~1e-14).
VIOLATION_TOL = 1e-9
#: Family steps (polar / label updates) per player per see-saw sweep.
STEPS_PER_SWEEP = 5
#: Born-rule validity tolerance for the POVMs the see-saw builds (products of isometries).
_BORN_ATOL = 1e-7
#: Margin on λ_min(ρ) when bounding the quantum weight w of a state (outward rounding).
_EIG_MARGIN = 1e-12
KINDS = ("povm", "projective", "real", "real_projective", "fixed")
#: Largest total dimension D = Π d_k of the shared state (ρ and the game operator are dense
#: D × D complex matrices: 64 MB each at this size).
MAX_TOTAL_DIM = 2048


# -- states -------------------------------------------------------------------------------------

def _state(rho, name):
    rho = as_square_matrices(rho, name, ndim=2)
    check_density_matrix(rho, name=name)
    return rho.astype(complex)


def _unit(x, name, low_open=False):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x) or x > 1 or x < 0 or (low_open and x == 0):
        raise ValueError(f"{name} must lie in {'(0' if low_open else '[0'}, 1], got {x}")
    return x


def white_noise(rho, v):
    r"""Visibility-v state :math:`v\rho + (1-v)\mathbb 1/D` (white noise of weight 1 − v).

    >>> import numpy as np, qpolicy as qp
    >>> np.allclose(white_noise(qp.bell_state(), 0.0), np.eye(4) / 4)
    True
    """
    rho = _state(rho, "rho")
    v = _unit(v, "v")
    return v * rho + (1 - v) * np.eye(rho.shape[0]) / rho.shape[0]


def dephasing(rho, gamma):
    r"""Dephased state :math:`(1-\gamma)\rho + \gamma\,\operatorname{diag}(\rho)`: with
    probability γ the state is measured in the product computational basis (every coherence
    shrinks by 1 − γ; for a GHZ or maximally entangled pair this is local dephasing)."""
    rho = _state(rho, "rho")
    gamma = _unit(gamma, "gamma")
    return (1 - gamma) * rho + gamma * np.diag(np.diag(rho))


def partially_entangled(theta):
    r""":math:`|\psi_\theta\rangle = \cos\theta|00\rangle + \sin\theta|11\rangle` (two qubits),
    Eberhard's states: θ = π/4 is the Bell state, small θ tolerates lower detection efficiency."""
    if isinstance(theta, bool) or not isinstance(theta, numbers.Real) or not np.isfinite(theta):
        raise TypeError(f"theta must be a finite real number, got {theta!r}")
    psi = np.array([np.cos(theta), 0, 0, np.sin(theta)], dtype=complex)
    return np.outer(psi, psi.conj())


# -- measurement families -----------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class MeasurementFamily:
    """The measurements one player can implement.

    ``kind``: "povm" (every POVM), "projective" (orthogonal projectors), "real" (real symmetric
    POVM elements), "real_projective" (real projectors: for a qubit, bases in the X–Z plane),
    "fixed" (only the POVMs in ``candidates``, an array ``(K, n_answers, d, d)``).
    """
    kind: str
    candidates: Optional[np.ndarray] = None

    def __repr__(self):
        extra = f", {len(self.candidates)} candidates" if self.kind == "fixed" else ""
        return f"MeasurementFamily({self.kind!r}{extra})"

    @property
    def real(self):
        return self.kind in ("real", "real_projective")

    @property
    def projective(self):
        return self.kind in ("projective", "real_projective")


def measurement_family(kind="povm", candidates=None):
    """A :class:`MeasurementFamily`: ``kind`` one of :data:`KINDS`; ``candidates`` (for "fixed"
    only) a sequence of POVMs, each ``(n_answers, d, d)``.

    >>> import numpy as np
    >>> z = np.array([np.diag([1., 0]), np.diag([0., 1])])
    >>> measurement_family("fixed", [z])
    MeasurementFamily('fixed', 1 candidates)
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {type(kind).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind != "fixed":
        if candidates is not None:
            raise ValueError(f"candidates are only for kind='fixed', not {kind!r}")
        return MeasurementFamily(kind)
    if candidates is None:
        raise ValueError("kind='fixed' needs candidates (a sequence of POVMs (answers, d, d))")
    C = as_array(candidates, "candidates", ndim=4)
    if C.shape[-1] != C.shape[-2] or C.shape[0] == 0:
        raise ValueError(f"candidates must have shape (K >= 1, answers, d, d), got {C.shape}")
    for j, M in enumerate(C):
        check_povm(M, name=f"candidates[{j}]")
    C = C.astype(complex)
    C.flags.writeable = False
    return MeasurementFamily("fixed", C)


def _families(measurements, n):
    """One :class:`MeasurementFamily` per player from a kind, a family, or a sequence of them."""
    def one(m, name):
        if isinstance(m, MeasurementFamily):
            return m
        if isinstance(m, str):
            if m == "fixed":
                raise ValueError(f"{name}='fixed' needs candidates: pass "
                                 "measurement_family('fixed', candidates)")
            return measurement_family(m)
        raise TypeError(f"{name} must be a kind {KINDS}, a MeasurementFamily, or a sequence of "
                        f"them (one per player), got {type(m).__name__}")
    if isinstance(measurements, (str, MeasurementFamily)):
        return [one(measurements, "measurements")] * n
    if not isinstance(measurements, (list, tuple)):
        raise TypeError(f"measurements must be a kind {KINDS}, a MeasurementFamily, or a "
                        f"sequence of them, got {type(measurements).__name__}")
    if len(measurements) != n:
        raise ValueError(f"measurements must give one family per player ({n}), got "
                         f"{len(measurements)}")
    return [one(m, f"measurements[{k}]") for k, m in enumerate(measurements)]


def _per_player(x, n, name, check):
    if isinstance(x, (list, tuple, np.ndarray)):
        if len(x) != n:
            raise ValueError(f"{name} must be one number or one per player ({n}), got {len(x)}")
        return [check(v, f"{name}[{k}]") for k, v in enumerate(x)]
    return [check(x, name)] * n


def _efficiencies(efficiency, n):
    return _per_player(efficiency, n, "efficiency", lambda v, nm: _unit(v, nm, low_open=True))


def _no_clicks(no_click, n_answers):
    n = len(n_answers)
    if isinstance(no_click, str):
        if no_click != "extra":
            raise ValueError(f"no_click must be an answer index or 'extra', got {no_click!r}")
        return ["extra"] * n
    values = _per_player(no_click, n, "no_click", lambda v, nm: check_int(v, nm, minimum=0))
    for k, (a0, m) in enumerate(zip(values, n_answers)):
        if a0 >= m:
            raise ValueError(f"no_click must be an answer of player {k} (0..{m - 1}), got {a0}")
    return values


def detection_povms(povms, efficiency, no_click=0):
    r"""Measurements with detection efficiency η: :math:`N_{x,a} = \eta M_{x,a} +
    (1-\eta)\,\delta_{a,a_0}\mathbb 1` (a no-click answered ``a_0 = no_click``), or, with
    ``no_click="extra"``, :math:`\eta M_{x,a}` plus a last outcome :math:`(1-\eta)\mathbb 1`.

    ``povms``: one family ``(questions, answers, d, d)`` per player; ``efficiency``: η in (0, 1]
    (one, or one per player); ``no_click``: an answer index (one, or one per player) or "extra".

    >>> import numpy as np
    >>> M = np.array([[np.diag([1., 0]), np.diag([0., 1])]])
    >>> detection_povms([M], 0.5)[0][0, 0].real.round(2).tolist()
    [[1.0, 0.0], [0.0, 0.5]]
    """
    if isinstance(povms, np.ndarray) or not isinstance(povms, (list, tuple)) or not povms:
        raise TypeError("povms must be a non-empty list with one (questions, answers, d, d) "
                        "array per player")
    fams = [as_square_matrices(M, f"povms[{k}]", ndim=4) for k, M in enumerate(povms)]
    for k, M in enumerate(fams):
        check_povm(M, name=f"povms[{k}]")
    etas = _efficiencies(efficiency, len(fams))
    clicks = _no_clicks(no_click, [M.shape[1] for M in fams])
    return [_detect(M, eta, a0) for M, eta, a0 in zip(fams, etas, clicks)]


def _detect(M, eta, a0):
    d = M.shape[-1]
    if a0 == "extra":
        idle = np.broadcast_to((1 - eta) * np.eye(d), (M.shape[0], 1, d, d))
        return np.concatenate([eta * M, idle], axis=1)
    return detector_loss(M, eta, a0)


# -- the see-saw with a fixed state ----------------------------------------------------------------

def _letters(n):
    pool = iter(string.ascii_letters)
    return [[next(pool) for _ in range(n)] for _ in range(4)]   # answers, questions, rows, cols


def _environment(weights, rho, povms, k, dims):
    """``T[o_k, a_k]`` (``(q_k, m_k, d_k, d_k)``) with ``value = Σ tr(povms[k][o, a] T[o, a])``
    for the mixed state ``rho`` and the other players' (effective) ``povms``."""
    n = len(povms)
    ans, qst, row, col = _letters(n)
    others = [j for j in range(n) if j != k]
    spec = ("".join(ans + qst) + "," + "".join(row + col) + ","
            + ",".join(qst[j] + ans[j] + col[j] + row[j] for j in others)
            + "->" + qst[k] + ans[k] + row[k] + col[k])
    return np.einsum(spec, weights, rho.reshape(dims + dims), *[povms[j] for j in others],
                     optimize=True)


class _Player:
    """The see-saw variable of one player in its family, with a monotone best-response step."""

    def __init__(self, family, n_questions, n_answers, dim):
        self.family, self.q, self.m, self.d = family, n_questions, n_answers, dim
        if family.kind == "fixed" and family.candidates.shape[1:] != (n_answers, dim, dim):
            raise ValueError(f"candidates must have shape (K, {n_answers}, {dim}, {dim}) for this "
                             f"player, got {family.candidates.shape}")

    # starting points ------------------------------------------------------------------------
    def random(self, rng):
        f, q, m, d = self.family, self.q, self.m, self.d
        if f.kind == "fixed":
            return rng.integers(len(f.candidates), size=q)
        Z = rng.standard_normal((q, d, d))
        if not f.real:
            Z = Z + 1j * rng.standard_normal((q, d, d))
        U, _ = np.linalg.qr(Z)
        labels = np.stack([rng.choice(m, d, replace=False) if m >= d
                           else rng.permutation(np.arange(d) % m) for _ in range(q)])
        return self._from_basis(U, labels)

    def deterministic(self, answers):
        """Every question ``x`` answered ``answers[x]`` with certainty (None for a fixed set)."""
        if self.family.kind == "fixed":
            return None
        U = np.broadcast_to(np.eye(self.d, dtype=float if self.family.real else complex),
                            (self.q, self.d, self.d)).copy()
        return self._from_basis(U, np.repeat(np.asarray(answers)[:, None], self.d, axis=1))

    def from_povms(self, M):
        """Warm start from this player's POVMs ``(q, m, d, d)`` (of the family)."""
        if self.family.kind == "fixed":
            C = self.family.candidates
            dist = np.abs(M[:, None] - C[None]).max(axis=(2, 3, 4))
            return dist.argmin(axis=1)
        if self.family.projective:
            # eigenvectors of Σ_a a·P_a, each labelled by the projector it lies in
            w, U = np.linalg.eigh(np.einsum("a,xaij->xij", np.arange(self.m) + 1.0, M))
            labels = np.rint(w).astype(int) - 1
            labels = np.clip(labels, 0, self.m - 1)
            return self._from_basis(U.real if self.family.real else U, labels)
        w, V = np.linalg.eigh(M)                               # B_a = sqrt(M_a)
        B = (V * np.sqrt(np.maximum(w, 0))[..., None, :]) @ V.conj().swapaxes(-1, -2)
        return B.real if self.family.real else B

    def _from_basis(self, U, labels):
        if self.family.projective:
            return (U, labels)
        q, d = U.shape[0], self.d
        B = np.zeros((q, self.m, d, d), dtype=U.dtype)         # B_a = Σ_{c(i)=a} e_i u_i^H
        for x in range(q):
            for i in range(d):
                B[x, labels[x, i], i, :] = U[x, :, i].conj()
        return B

    # the POVMs and the step ---------------------------------------------------------------------
    def povms(self, var):
        kind = self.family.kind
        if kind == "fixed":
            return self.family.candidates[var]
        if self.family.projective:
            U, labels = var
            onehot = (labels[:, None, :] == np.arange(self.m)[None, :, None]).astype(float)
            return np.einsum("xai,xji,xki->xajk", onehot, U, U.conj()).astype(complex)
        return (var.conj().swapaxes(-1, -2) @ var).astype(complex)

    def step(self, var, T):
        kind = self.family.kind
        if self.family.real:
            T = T.real
        if kind == "fixed":
            scores = np.einsum("kaij,xaji->xk", self.family.candidates, T).real
            return scores.argmax(axis=1)
        if not self.family.projective:
            return _improve_party(var, T, STEPS_PER_SWEEP)
        U, labels = var
        d = self.d
        lowest = np.linalg.eigvalsh(T).min(axis=(1, 2))
        shifted = T + np.maximum(0.0, -lowest)[:, None, None, None] * np.eye(d)
        x_idx = np.arange(self.q)[:, None]
        for _ in range(STEPS_PER_SWEEP):
            # G[:, i] = T̃_{c(i)} u_i; the polar factor of G maximizes the linearization
            G = np.einsum("xijk,xki->xji", shifted[x_idx, labels], U)
            left, _, right = np.linalg.svd(G)
            U = left @ right
            # each basis vector takes the answer whose environment it overlaps most
            labels = np.einsum("xji,xajk,xki->xia", U.conj(), T, U).real.argmax(axis=2)
        return (U, labels)


def _check_game(game):
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    return game


def _resolve_state(game, state, dim):
    """``(rho or None for a free state, dims)``."""
    n = game.n_players
    if dim is None:
        dims = None
    elif isinstance(dim, numbers.Integral) and not isinstance(dim, bool):
        dims = (check_int(dim, "dim", minimum=1),) * n
    elif isinstance(dim, (list, tuple)):
        dims = tuple(check_int(d, "dim", minimum=1) for d in dim)
        if len(dims) != n:
            raise ValueError(f"dim must give one local dimension per player ({n}), got {dims}")
    else:
        raise TypeError(f"dim must be an integer or a sequence of integers, got "
                        f"{type(dim).__name__}")
    if dims is not None and math.prod(dims) > MAX_TOTAL_DIM:
        raise ValueError(f"dim {dims} gives a shared state of dimension {math.prod(dims)} > "
                         f"MAX_TOTAL_DIM = {MAX_TOTAL_DIM}")
    if isinstance(state, str):
        if state not in ("default", "free"):
            raise ValueError(f"state must be a density matrix, 'default' or 'free', got {state!r}")
        if dims is None:
            dims = (max(game.n_answers),) * n
            if math.prod(dims) > MAX_TOTAL_DIM:
                raise ValueError(f"the default dim {dims} gives a shared state of dimension "
                                 f"{math.prod(dims)} > MAX_TOTAL_DIM = {MAX_TOTAL_DIM}: pass dim")
        if state == "free":
            return None, dims
        if len(set(dims)) != 1:
            raise ValueError(f"state='default' needs equal local dimensions, got dim={dims}")
        try:
            return default_entangled_state(n, dims[0]), dims
        except ValueError as exc:
            raise ValueError(f"state='default' is unavailable: {exc}") from None
    rho = _state(state, "state")
    D = rho.shape[0]
    if dims is None:
        d = round(D ** (1.0 / n))
        if d ** n != D:
            raise ValueError(f"state has dimension {D}, not d^{n} for the {n} players: pass dim")
        dims = (d,) * n
    if math.prod(dims) != D:
        raise ValueError(f"state has dimension {D} but the local dimensions {dims} multiply to "
                         f"{math.prod(dims)}")
    return rho, dims


def _quantum_weight(rho):
    """Smallest w with ρ = wσ + (1 − w)𝟙/D, σ a state (rounded up)."""
    D = rho.shape[0]
    lowest = float(np.linalg.eigvalsh((rho + rho.conj().T) / 2).min())
    return float(min(1.0, max(0.0, 1.0 - D * (lowest - _EIG_MARGIN))))


def _two_clicks(etas):
    """Probability that at least two players' detectors click."""
    none = math.prod(1 - e for e in etas)
    one = sum(e * math.prod(1 - f for j, f in enumerate(etas) if j != k)
              for k, e in enumerate(etas))
    return max(0.0, 1.0 - none - one)


@dataclass(frozen=True, repr=False)
class ResourceValue:
    """Value of a game with a given quantum resource.

    ``value``: the win probability of an explicit strategy using the resource (a lower bound;
    recomputed by the Born rule); ``upper``: a proved upper bound (see the module docstring) or
    None; ``classical``: the shared-randomness value; ``strategy``: ``{"state", "povms" (what
    each player measures, in its family), "effective_povms" (with detection loss)}``;
    ``details``: restart values, the families, efficiencies, ``povm_gap`` (for unrestricted
    POVMs: what a better POVM of any one player could still gain, bounded rigorously), seconds.
    """
    value: float
    upper: Optional[float]
    classical: float
    strategy: Any
    details: dict = field(default_factory=dict)

    @property
    def beats_classical(self):
        """True when the explicit strategy beats the classical value by > VIOLATION_TOL."""
        return self.value > self.classical + VIOLATION_TOL

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        upper = "None" if self.upper is None else f"{self.upper:.6f}"
        return (f"ResourceValue(value={self.value:.6f}, upper={upper}, "
                f"classical={self.classical:.6f})")


def _quantum_upper(game, upper, npa_level):
    if upper is None:
        return None
    if isinstance(upper, Bound):
        if upper.kind != "npa":
            raise ValueError(f"upper must be 'npa', None or an NPA Bound, got a {upper.kind!r} "
                             "Bound")
        return upper
    if upper != "npa":
        raise ValueError(f"upper must be 'npa', None or an NPA Bound, got {upper!r}")
    from qpolicy.bounds.npa import npa_upper_bound
    return npa_upper_bound(game, level=npa_level)


def resource_value(game, state="default", dim=None, measurements="povm", efficiency=1.0,
                   no_click=0, restarts=5, seed=0, iterations=1000, tol=1e-12, upper="npa",
                   npa_level=1, start=None):
    r"""Best win probability of ``game`` with a given quantum resource, bracketed.

    Parameters
    ----------
    game : NonlocalGame.
    state : a density matrix on :math:`\bigotimes_k\mathbb C^{d_k}` (held fixed), "default"
        (the maximally entangled pair / GHZ state of ``dim``) or "free" (optimized too).
    dim : local dimension (int or one per player); inferred from ``state`` when it is a matrix;
        default for "default"/"free": the largest answer count.
    measurements : a kind of :data:`KINDS`, a :class:`MeasurementFamily`, or one per player.
    efficiency : detection efficiency η in (0, 1] (one, or one per player).
    no_click : the answer a player gives when its detector does not click (one, or one per
        player).
    restarts, seed : random see-saw starts (int seed or Generator); one more run starts from an
        optimal deterministic strategy when every family contains it (so then value ≥ classical).
    iterations, tol : sweeps per run, and the improvement below which a run stops.
    upper : "npa" (the proved bound of the module docstring with NPA at ``npa_level``), None,
        or an NPA :class:`~qpolicy.bounds.results.Bound` already computed for this game.
    start : optional strategy ``{"state", "povms"}`` (e.g. a previous result's ``.strategy``)
        to warm-start one more run from.

    Returns
    -------
    ResourceValue
        The value of an explicit strategy (re-evaluated by the Born rule) and a proved upper
        bound.

    >>> import qpolicy as qp
    >>> from qpolicy import games
    >>> r = resource_value(games.chsh(), state=white_noise(qp.bell_state(), 0.9), seed=0)
    >>> round(r.value, 6), round(0.9 * 0.853553 + 0.1 * 0.5, 6)
    (0.818198, 0.818198)
    """
    started = time.perf_counter()
    game = _check_game(game)
    n = game.n_players
    rho, dims = _resolve_state(game, state, dim)
    fams = _families(measurements, n)
    etas = _efficiencies(efficiency, n)
    clicks = _no_clicks(no_click, game.n_answers)
    if "extra" in clicks:
        raise ValueError("no_click='extra' adds an outcome the game has no payoff for: give "
                         "the answer a no-click is mapped to (use detection_povms for tables)")
    restarts = check_int(restarts, "restarts", minimum=0)
    iterations = check_int(iterations, "iterations", minimum=1)
    tol = check_positive(tol, "tol")
    rng = as_generator(seed, "seed")
    q_upper = _quantum_upper(game, upper, npa_level)
    classical = classical_value(game)
    players = [_Player(f, q, m, d) for f, q, m, d in
               zip(fams, game.n_questions, game.n_answers, dims)]
    weights = np.asarray(game.weights)

    starts = [[p.random(rng) for p in players] for _ in range(restarts)]
    det = [p.deterministic(f) for p, f in zip(players, classical.strategy)]
    if all(v is not None for v in det):
        starts.append(det)
    if start is not None:
        if not isinstance(start, dict) or "povms" not in start:
            raise TypeError("start must be a strategy dict with 'povms' (a result's .strategy)")
        starts.append([p.from_povms(np.asarray(M)) for p, M in zip(players, start["povms"])])
    if not starts:
        raise ValueError("restarts=0 leaves no starting point here: use restarts >= 1")
    runs = [_run(weights, players, rho, dims, etas, clicks, s, iterations, tol) for s in starts]
    values = [r[0] for r in runs]
    best = int(np.argmax(values))
    _, rho_best, variables, sweeps = runs[best]
    povms = [p.povms(v) for p, v in zip(players, variables)]
    effective = [_detect(M, e, a0) for M, e, a0 in zip(povms, etas, clicks)]
    certified = float(game.value(born(rho_best, effective, atol=_BORN_ATOL)))
    details = {"restart_values": np.array(values), "families": fams, "efficiency": etas,
               "no_click": clicks, "dims": dims, "sweeps": sweeps,
               "state_fixed": rho is not None}
    if all(f.kind == "povm" for f in fams):
        details["povm_gap"] = max(
            _povm_gap(etas[k] * _environment(weights, rho_best, effective, k, list(dims)),
                      povms[k]) for k in range(n))
    bound = None
    if q_upper is not None:
        npa = float(q_upper.details["dual_bound"])       # rigorous (NPA's own .value is not)
        w = 1.0 if rho is None else _quantum_weight(rho)
        gain = max(0.0, npa - classical.value)
        bound = min(npa, classical.value + _two_clicks(etas) * w * gain)
        details.update(quantum_weight=w, npa=npa, npa_level=q_upper.level)
    details["seconds"] = time.perf_counter() - started
    return ResourceValue(value=certified, upper=bound, classical=classical.value,
                         strategy={"state": rho_best, "povms": povms, "effective_povms": effective},
                         details=details)


def _run(weights, players, rho, dims, etas, clicks, variables, iterations, tol):
    """One see-saw run; returns ``(value, rho, variables, sweeps)``.  Never decreases the value."""
    variables = list(variables)
    dims = list(dims)
    free = rho is None

    def effective():
        return [_detect(p.povms(v), e, a0) for p, v, e, a0 in zip(players, variables, etas, clicks)]

    value = -np.inf
    for sweep in range(1, iterations + 1):
        if free:
            _, vectors = np.linalg.eigh(game_operator(weights, effective()))
            psi = vectors[:, -1]
            rho = np.outer(psi, psi.conj())
        for k, player in enumerate(players):
            N = effective()
            T = etas[k] * _environment(weights, rho, N, k, dims)
            variables[k] = player.step(variables[k], T)
        new_value = float(np.real(np.sum(rho * game_operator(weights, effective()).T)))
        if new_value - value < tol:
            value = max(value, new_value)
            break
        value = new_value
    return value, rho, variables, sweep


# -- thresholds ----------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Threshold:
    """A visibility or efficiency threshold, bracketed.

    ``value``: the threshold; ``lower``/``upper``: the bracket.  Games (``method="see-saw"``):
    for every parameter above ``upper`` the explicit strategy ``strategy_upper`` beats the
    classical value (checked by the Born rule), ``value = upper``; at ``lower`` the see-saw found
    no strategy that does (``strategy_lower``, the best it found) — not a proof.  Tables
    (``method="LP"``): ``value`` is the LP optimum, ``upper`` is certified by the Bell
    inequality ``strategy_upper`` (local bound by exact enumeration) and ``lower`` by the local
    model ``strategy_lower`` found by the LP (exact up to the solver's tolerance).
    :func:`eberhard_threshold` proves both ends (``details["proved"]``).
    """
    value: float
    lower: float
    upper: float
    kind: str
    method: str
    strategy_upper: Any = None
    strategy_lower: Any = None
    details: dict = field(default_factory=dict)

    @property
    def noise_tolerance(self):
        """For visibility thresholds: the largest white-noise weight tolerated, 1 − value."""
        return 1.0 - self.value

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return (f"Threshold(kind={self.kind!r}, value={self.value:.6f}, "
                f"bracket=[{self.lower:.6f}, {self.upper:.6f}], method={self.method!r})")


def _check_tol(tol):
    tol = check_positive(tol, "tol")
    if tol >= 0.5:
        raise ValueError(f"tol must be below 0.5, got {tol}")
    return tol


def _no_advantage(kind, top):
    """The threshold of a resource that does not beat the classical value even at v = 1 or
    η = 1: none (value nan, both ends 1), with the see-saw strategy that was tried."""
    return Threshold(value=float("nan"), lower=1.0, upper=1.0, kind=kind, method="see-saw",
                     strategy_lower=top.strategy,
                     details={"status": "no advantage", "value_at_1": top.value,
                              "classical": top.classical})


def _lower_end(misses, hi):
    """Largest parameter below ``hi`` where the see-saw found no advantage (0 if none), and the
    best strategy it found there.  A miss at or above ``hi`` was a see-saw failure (a strategy
    found later beats the classical value there); ``details["seesaw_misses"]`` counts them."""
    below = [m for m in misses if m < hi]
    if not below:
        return 0.0, None
    lo = max(below)
    return lo, misses[lo]


def _crossing_visibility(game, rho, effective, classical):
    """Visibility above which the fixed measurements ``effective`` on white-noised ``rho`` beat
    the classical value: value = v f + (1 − v) g is affine in v."""
    D = rho.shape[0]
    f = float(game.value(born(rho, effective, atol=_BORN_ATOL)))
    g = float(game.value(born(np.eye(D) / D, effective, atol=_BORN_ATOL)))
    if f - g <= 0:
        return 1.0
    return float(min(1.0, max(0.0, (classical - g) / (f - g))))


def critical_visibility(game, state="default", dim=None, measurements="povm", efficiency=1.0,
                        no_click=0, tol=1e-6, restarts=3, seed=0, iterations=1000):
    r"""Visibility :math:`v^*` below which ``white_noise(state, v)`` no longer beats the classical
    value of ``game`` (with the given measurement families and detection efficiency).

    Bisection on :func:`resource_value` (warm-started from the strategy at the upper end); each
    successful see-saw moves the upper end to the exact crossing of its strategy's affine value
    (module docstring).  ``state``: a density matrix or "default"; ``tol``: bracket width.
    Returns a :class:`Threshold` (``kind="visibility"``); if even v = 1 does not beat the
    classical value, ``value`` is nan and ``details["status"] = "no advantage"``.

    >>> from qpolicy import games
    >>> round(critical_visibility(games.mermin(4), dim=2).value, 6)
    0.5
    """
    game = _check_game(game)
    if isinstance(state, str) and state == "free":
        raise ValueError("state must be a density matrix or 'default' (white noise is added "
                         "to a given state)")
    rho, dims = _resolve_state(game, state, dim)
    tol = _check_tol(tol)
    rng = as_generator(seed, "seed")
    options = dict(dim=dims, measurements=measurements, efficiency=efficiency,
                   no_click=no_click, restarts=restarts, iterations=iterations, upper=None)
    started = time.perf_counter()
    top = resource_value(game, state=rho, seed=rng, **options)
    classical = top.classical
    if not top.beats_classical:
        return _no_advantage("visibility", top)
    best, hi = top, _crossing_visibility(game, rho, top.strategy["effective_povms"], classical)
    misses, evaluations = {}, 1
    lo, lo_strategy = 0.0, None
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        r = resource_value(game, state=white_noise(rho, mid), seed=rng, start=best.strategy,
                           **options)
        evaluations += 1
        if r.beats_classical:
            best = r
            hi = min(mid, _crossing_visibility(game, rho, r.strategy["effective_povms"],
                                               classical))
        else:
            misses[mid] = r.strategy
        lo, lo_strategy = _lower_end(misses, hi)
    return Threshold(value=hi, lower=lo, upper=hi, kind="visibility", method="see-saw",
                     strategy_upper={"state": rho, "povms": best.strategy["povms"],
                                     "effective_povms": best.strategy["effective_povms"]},
                     strategy_lower=lo_strategy,
                     details={"classical": classical, "value_at_1": top.value,
                              "evaluations": evaluations, "dims": dims,
                              "seesaw_misses": sum(m >= hi for m in misses),
                              "seconds": time.perf_counter() - started})


def _click_values(game, rho, povms, clicks):
    """``{S: value when exactly the players in S click}`` for every subset S."""
    n = len(povms)
    out = {}
    for S in itertools.product((0, 1), repeat=n):
        effective = [_detect(M, float(s), a0) if s == 0 else M
                     for M, s, a0 in zip(povms, S, clicks)]
        out[S] = float(game.value(born(rho, effective, atol=_BORN_ATOL)))
    return out


def _crossing_efficiency(game, rho, povms, clicks, classical, eta_max):
    """Smallest η such that the fixed ``povms`` beat ``classical`` on all of (η, eta_max]."""
    n = len(povms)
    poly = np.zeros(n + 1)                                 # coefficients in η, low order first
    for S, val in _click_values(game, rho, povms, clicks).items():
        k = sum(S)
        term = np.polynomial.polynomial.polymul([0] * k + [1],
                                                np.polynomial.polynomial.polypow([1, -1], n - k))
        poly[:len(term)] += val * term
    poly[0] -= classical
    roots = np.polynomial.polynomial.polyroots(poly)
    real = [r.real for r in roots if abs(r.imag) < 1e-12 and 0 <= r.real < eta_max]
    return float(max(real, default=0.0))


def critical_efficiency(game, state="default", dim=None, measurements="povm", no_click=0,
                        tol=1e-6, restarts=3, seed=0, iterations=1000):
    r"""Detection efficiency :math:`\eta^*` (the same for every player) below which the resource
    no longer beats the classical value of ``game``; a no-click is answered ``no_click``.

    ``state``: a density matrix, "default" (maximally entangled / GHZ) or "free" (the see-saw
    also chooses the state: Eberhard's partially entangled states for CHSH).  Bisection on
    :func:`resource_value`; each successful see-saw moves the upper end to the exact crossing
    of its strategy's value (a polynomial in η) with the classical value.  Returns a
    :class:`Threshold` (``kind="efficiency"``).  For CHSH over all states the see-saw stops near
    0.6673 (the violation shrinks like (η − 2/3)³); :func:`eberhard_threshold` brackets Eberhard's
    2/3 within 1e-4 with both ends proved.

    >>> from qpolicy import games
    >>> round(critical_efficiency(games.chsh(), seed=0).value, 5)      # 2(√2 − 1)
    0.82843
    """
    game = _check_game(game)
    rho_fixed, dims = _resolve_state(game, state, dim)
    tol = _check_tol(tol)
    rng = as_generator(seed, "seed")
    clicks = _no_clicks(no_click, game.n_answers)
    options = dict(state="free" if rho_fixed is None else rho_fixed, dim=dims,
                   measurements=measurements, no_click=no_click, restarts=restarts,
                   iterations=iterations, upper=None)
    started = time.perf_counter()
    top = resource_value(game, efficiency=1.0, seed=rng, **options)
    classical = top.classical
    if not top.beats_classical:
        return _no_advantage("efficiency", top)

    def crossing(r, eta_max):
        return _crossing_efficiency(game, r.strategy["state"], r.strategy["povms"], clicks,
                                    classical, eta_max)

    best, hi = top, crossing(top, 1.0)
    misses, evaluations = {}, 1
    lo, lo_strategy = 0.0, None
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        r = resource_value(game, efficiency=mid, seed=rng, start=best.strategy, **options)
        evaluations += 1
        if r.beats_classical:
            best, hi = r, min(mid, crossing(r, mid))
        else:
            misses[mid] = r.strategy
        lo, lo_strategy = _lower_end(misses, hi)
    return Threshold(value=hi, lower=lo, upper=hi, kind="efficiency", method="see-saw",
                     strategy_upper=best.strategy, strategy_lower=lo_strategy,
                     details={"classical": classical, "value_at_1": top.value,
                              "evaluations": evaluations, "dims": dims, "no_click": clicks,
                              "seesaw_misses": sum(m >= hi for m in misses),
                              "seconds": time.perf_counter() - started})


# -- Eberhard: CHSH with detection loss, near η = 2/3 ----------------------------------------------

#: Bits of the interval arithmetic that certifies Eberhard's violation (the violation at
#: η = 2/3 + δ is ≈ 54δ³/8: 7e-12 at δ = 1e-4, far above 2^-200).
INTERVAL_PREC = 200


def _lossy_chsh_sum(ctx, eta, theta, alice, bob):
    r""":math:`S = E_{00} + E_{01} + E_{10} - E_{11}` of CHSH with detection efficiency η (no-click
    answered 0, i.e. +1) for :math:`\cos\theta|00\rangle + \sin\theta|11\rangle` and the
    observables :math:`\cos a\,Z + \sin a\,X`, in the number context ``ctx`` (numpy, mpmath.mp
    or mpmath.iv): :math:`E_{xy} = \eta^2(\cos a\cos b + \sin a\sin b\sin 2\theta)
    + \eta(1-\eta)(\cos a + \cos b)\cos 2\theta + (1-\eta)^2`."""
    c2, s2 = ctx.cos(2 * theta), ctx.sin(2 * theta)

    def corr(a, b):
        return (eta ** 2 * (ctx.cos(a) * ctx.cos(b) + ctx.sin(a) * ctx.sin(b) * s2)
                + eta * (1 - eta) * (ctx.cos(a) + ctx.cos(b)) * c2 + (1 - eta) ** 2)
    return (corr(alice[0], bob[0]) + corr(alice[0], bob[1]) + corr(alice[1], bob[0])
            - corr(alice[1], bob[1]))


def _planar_basis(a):
    """Projective measurement of cos a Z + sin a X: answer 0 ↔ eigenvalue +1."""
    A = np.array([[np.cos(a), np.sin(a)], [np.sin(a), -np.cos(a)]], dtype=complex)
    return np.stack([(np.eye(2) + A) / 2, (np.eye(2) - A) / 2])


def eberhard_strategy(efficiency):
    r"""Eberhard's CHSH strategy for detection efficiency η just above 2/3, with its violation
    proved in interval arithmetic.

    State :math:`\cos\theta|00\rangle + \sin\theta|11\rangle`, observables
    :math:`\cos a\,Z + \sin a\,X` (X–Z plane), a no-click answered 0.  With δ = η − 2/3 the
    optimum behaves as θ = 9δ/2, Alice's angles :math:`(-9\sqrt2\,\delta^{3/2},
    3\sqrt2\,\delta^{1/2})`, Bob's their negatives, violation :math:`S - 2 \approx 54\delta^3`
    (our expansion, confirmed numerically); the five parameters start there and are refined
    (Nelder–Mead on :math:`(S-2)/\delta^3` in the scaled variables θ/δ, a_0/δ^{3/2},
    a_1/δ^{1/2}, evaluated with mpmath at 40 digits).  The game value
    :math:`\tfrac12 + S/8` of the resulting floats is then evaluated in ``mpmath.iv`` interval
    arithmetic (:data:`INTERVAL_PREC` bits): ``advantage`` is a rigorous enclosure of value − 3/4
    — a positive lower end proves the violation (double precision cannot: it is ~1e-12).

    ``efficiency``: η in (2/3, 1].  Returns a dict: ``theta``, ``alice``, ``bob`` (angles),
    ``state``, ``povms`` (without loss), ``effective_povms`` (with loss, for
    :func:`qpolicy.born`), ``advantage`` (floats ``(low, high)`` rounded outward),
    ``certified`` (low > 0).

    >>> s = eberhard_strategy(0.7)
    >>> s["certified"], round(s["theta"], 3)
    (True, 0.136)

    Reference: P. H. Eberhard, PRA 47, R747 (1993).
    """
    from fractions import Fraction
    from scipy.optimize import minimize
    from mpmath import iv, mp
    eta = _unit(efficiency, "efficiency", low_open=True)
    if Fraction(eta) <= Fraction(2, 3):
        raise ValueError(f"efficiency must exceed 2/3 (no CHSH violation at or below it), "
                         f"got {eta!r}")
    with mp.workdps(40):
        d = mp.mpf(eta) - mp.mpf(2) / 3

        def angles(z):
            t, al, be = (mp.mpf(float(x)) for x in z)
            return t * d, (al * d ** 1.5, be * d ** 0.5), (-al * d ** 1.5, -be * d ** 0.5)

        def loss(z):
            theta, alice, bob = angles(z)
            return -float((_lossy_chsh_sum(mp, mp.mpf(eta), theta, alice, bob) - 2) / d ** 3)

        start = np.array([4.5, -9 * math.sqrt(2), 3 * math.sqrt(2)])
        res = minimize(loss, start, method="Nelder-Mead",
                       options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 2000})
        z = res.x if res.fun < loss(start) else start
        theta, alice, bob = angles(z)
        theta, alice, bob = float(theta), tuple(map(float, alice)), tuple(map(float, bob))
    old = iv.prec
    try:
        iv.prec = INTERVAL_PREC
        S = _lossy_chsh_sum(iv, iv.mpf(eta), iv.mpf(theta), [iv.mpf(a) for a in alice],
                            [iv.mpf(b) for b in bob])
        advantage = (S - 2) / 8                              # value − 3/4, value = 1/2 + S/8
        low, high = mp.mpf(advantage.a), mp.mpf(advantage.b)
    finally:
        iv.prec = old
    low_f = float(low) if float(low) <= low else float(np.nextafter(float(low), -np.inf))
    high_f = float(high) if float(high) >= high else float(np.nextafter(float(high), np.inf))
    povms = [np.stack([_planar_basis(a) for a in alice]), np.stack([_planar_basis(b) for b in bob])]
    return {"theta": theta, "alice": alice, "bob": bob, "state": partially_entangled(theta),
            "povms": povms, "effective_povms": [_detect(M, eta, 0) for M in povms],
            "efficiency": eta, "advantage": (low_f, high_f), "certified": bool(low > 0)}


def lossy_game(game, efficiency, no_click=0):
    r"""The game played through detectors of efficiency η: payoff
    :math:`V'(a|o) = \sum_{a'} \prod_k K_k(a'_k|a_k)\, V(a'|o)` with the loss channel
    :math:`K(a'|a) = \eta\,\delta_{a'a} + (1-\eta)\,\delta_{a' a_0}` (a no-click answered
    :math:`a_0`).  Any behaviour p has ``lossy_game(game, η).value(p) ==
    game.value(loss_η(p))``, so the classical, quantum and non-signalling values of the lossy
    game are those of the resource with efficiency η (local post-processing keeps each set).

    >>> from qpolicy import games
    >>> float(lossy_game(games.chsh(), 0.5).predicate[1, 1, 0, 0])    # (1,1) or both lost: win
    0.5
    """
    game = _check_game(game)
    n = game.n_players
    etas = _efficiencies(efficiency, n)
    clicks = _no_clicks(no_click, game.n_answers)
    if "extra" in clicks:
        raise ValueError("no_click must be an answer index here, not 'extra'")
    V = np.asarray(game.predicate, dtype=float)
    for k, (eta, a0, m) in enumerate(zip(etas, clicks, game.n_answers)):
        K = eta * np.eye(m)                                   # K[a', a]
        K[a0, :] += 1 - eta
        V = np.moveaxis(np.tensordot(K, V, axes=([0], [k])), 0, k)
    return NonlocalGame(V, game.question_dist, name=f"{game.name} (efficiency {etas})")


def nonsignaling_efficiency(game, no_click=0, tol=1e-4):
    r"""A **proved** lower end for every detection-efficiency threshold of ``game``: the largest
    η (to ``tol``) at which even no-signalling strategies, through detectors of efficiency η
    (the same for every player, a no-click answered ``no_click``), do not beat the classical
    value by more than :data:`VIOLATION_TOL`.

    Bisection on the non-signalling value of :func:`lossy_game` (an LP whose ``value`` is proved
    by its dual, outward rounded): that value is non-decreasing in η (a detector simulates any
    lower efficiency by dropping clicks, and no-signalling sets are closed under this local
    post-processing), so at and below the returned ``lower`` no state, dimension or POVM beats
    the classical value by more than :data:`VIOLATION_TOL`; at ``upper`` a no-signalling box
    does (not necessarily a quantum one).  Returns a :class:`Threshold` (``method="non-signalling
    LP"``, ``value = lower``).

    >>> from qpolicy import games
    >>> round(nonsignaling_efficiency(games.chsh(), tol=1e-3).value, 3)     # 2/3, Massar–Pironio
    0.666
    """
    from qpolicy.bounds.nonsignaling import nonsignaling_value
    game = _check_game(game)
    tol = _check_tol(tol)
    started = time.perf_counter()
    classical = classical_value(game)
    limit = float(classical.details.get("lower_bound", classical.value)) + VIOLATION_TOL

    def beats(eta):
        return nonsignaling_value(lossy_game(game, eta, no_click)).value > limit

    lo, hi, evaluations = 0.0, 1.0, 0
    if not beats(1.0):
        return Threshold(value=1.0, lower=1.0, upper=1.0, kind="efficiency",
                         method="non-signalling LP",
                         details={"status": "no advantage", "classical": classical.value})
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        evaluations += 1
        if beats(mid):
            hi = mid
        else:
            lo = mid
    return Threshold(value=lo, lower=lo, upper=hi, kind="efficiency", method="non-signalling LP",
                     details={"classical": classical.value, "evaluations": evaluations,
                              "seconds": time.perf_counter() - started})


def eberhard_threshold(margin=1e-4):
    r"""CHSH's critical detection efficiency over all states and measurements, 2/3, bracketed
    with both ends proved:

    * **upper** :math:`\eta_{hi} \le 2/3 + \text{margin}`: Eberhard's explicit strategy
      (:func:`eberhard_strategy`) beats 3/4 at :math:`\eta_{hi}`, proved in interval arithmetic;
      for η > η_hi a detector of efficiency η simulates η_hi (drop clicks with probability
      1 − η_hi/η), so the advantage persists;
    * **lower** :math:`\eta_{lo}` = the largest float ≤ 2/3: the non-signalling value of
      :func:`lossy_game` at η_lo, proved by the LP dual (outward rounded,
      :func:`qpolicy.bounds.nonsignaling_value`), exceeds the classical value 3/4 by at most
      ``details["advantage_bound_at_lower"]`` (≈1e-14, required ≤ :data:`VIOLATION_TOL`) — so
      no no-signalling, hence no quantum, strategy (any state, dimension or POVMs) beats 3/4 by
      more than that there, nor below (η_lo simulates every lower efficiency the same way).
      Exactly: the no-signalling polytope's vertices (16 deterministic tables, 8 PR boxes) give
      at most 3/4 at every η ≤ 2/3 (a PR box gives (6η² − 4η)/8 + 3/4), the Massar–Pironio bound
      (m_A + m_B − 2)/(m_A m_B − 1) = 2/3 for two settings; the tests check it in fractions.

    Returns a :class:`Threshold` (``kind="efficiency"``, ``value = upper``), ``strategy_upper``
    the strategy dict, ``strategy_lower`` the non-signalling Bound;
    ``details["proved"]`` says which ends are proved.

    >>> th = eberhard_threshold()
    >>> th.lower <= 2 / 3 < th.upper <= 2 / 3 + 1e-4, th.details["proved"]
    (True, {'upper': True, 'lower': True})

    References: P. H. Eberhard, PRA 47, R747 (1993); S. Massar, S. Pironio, PRA 68, 062109
    (2003).
    """
    from fractions import Fraction
    from qpolicy.bounds.nonsignaling import nonsignaling_value
    margin = check_positive(margin, "margin")
    if margin >= 1 / 3:
        raise ValueError(f"margin must be below 1/3, got {margin}")
    started = time.perf_counter()
    two_thirds = Fraction(2, 3)
    hi_exact = two_thirds + Fraction(margin)
    eta_hi = float(hi_exact)
    if Fraction(eta_hi) > hi_exact:
        eta_hi = float(np.nextafter(eta_hi, 0.0))
    eta_lo = float(two_thirds)
    if Fraction(eta_lo) > two_thirds:
        eta_lo = float(np.nextafter(eta_lo, 0.0))
    game = _chsh()
    strategy = eberhard_strategy(eta_hi)
    classical = classical_value(game)
    ns = nonsignaling_value(lossy_game(game, eta_lo))
    classical_low = float(classical.details.get("lower_bound", classical.value))
    excess = max(0.0, ns.value - classical_low)
    lower_proved = excess <= VIOLATION_TOL
    return Threshold(value=eta_hi, lower=eta_lo if lower_proved else 0.0, upper=eta_hi,
                     kind="efficiency", method="interval arithmetic / non-signalling LP",
                     strategy_upper=strategy, strategy_lower=ns,
                     details={"proved": {"upper": strategy["certified"],
                                         "lower": bool(lower_proved)},
                              "advantage_at_upper": strategy["advantage"],
                              "nonsignaling_value_at_lower": ns.value,
                              "advantage_bound_at_lower": excess,
                              "classical": classical.value,
                              "seconds": time.perf_counter() - started})


def _chsh():
    from qpolicy.games import chsh
    return chsh()


def nonlocality_threshold(p, noise=None, method="auto", solver=None, **solver_options):
    r"""White-noise robustness of a table: the smallest visibility v at which
    :math:`v\,p + (1-v)\,u` is still non-local (so ``1 − value`` is the largest noise weight
    ``p`` tolerates), by ONE LP over the local polytope:

    .. math::  \max\ v \quad\text{s.t.}\quad v\,p + (1-v)\,u \in \mathcal L .

    ``u`` is ``noise`` (a table of the same shape) or, by default, uniform answers.  A local
    ``p`` gives 1.  The LP dual is a Bell inequality B; its local bound :math:`L(B)` is
    recomputed by exact enumeration, and :math:`(L(B) - \langle B,u\rangle)/\langle B,p-u\rangle`
    is the certified ``upper`` end (above it the table is provably non-local).

    ``method``: "compact" — the compact local-polytope LP of :mod:`qpolicy.bounds.classical`
    (responder-last parameterization, default solver Clarabel through cvxpy); "sparse" — the
    same LP handed to HiGHS (interior point with crossover, tight tolerances) as one scipy
    sparse matrix, no modelling layer: the Cube's 157 464 variables and 1.3·10^6 non-zeros
    solve in ~90 s (benchmarks/RESULTS.md; the dual simplex had not finished after 5 min);
    "columns" — the same LP over convex combinations of deterministic tables, generated as
    needed (start: the constant strategies, whose mixture is the uniform table; pricing: exact
    enumeration of the best deterministic table for the dual B; scipy's HiGHS), measured 3 s on
    a Tetra table but not converged after 15 min on a Cube table.  "auto": compact up to
    :data:`qpolicy.bounds.membership.COMPACT_LP_LIMIT` variables (Tetra), sparse above (up to
    :data:`qpolicy.bounds.classical.MAX_LP_VARIABLES`, refused before building beyond).
    Whatever the method, ``upper`` is certified by exact enumeration of the dual B's local
    bound and ``strategy_lower`` is the LP's local model.

    >>> import qpolicy as qp
    >>> from qpolicy import games
    >>> round(nonlocality_threshold(qp.born(*games.chsh_quantum_strategy())).value, 6)
    0.707107
    """
    from qpolicy.bounds.membership import COMPACT_LP_LIMIT
    p = check_policy_table(p)
    n = p.ndim // 2
    n_answers, n_questions = p.shape[:n], p.shape[n:]
    if noise is None:
        u = np.full(p.shape, 1.0 / math.prod(n_answers))
    else:
        u = check_policy_table(noise, name="noise")
        if u.shape != p.shape:
            raise ValueError(f"noise must have the shape of p {p.shape}, got {u.shape}")
    if method == "auto":
        size = local_polytope_size(n_answers, n_questions)
        method = "compact" if size <= COMPACT_LP_LIMIT else "sparse"
    if method not in ("compact", "sparse", "columns"):
        raise ValueError(f"method must be 'auto', 'compact', 'sparse' or 'columns', got "
                         f"{method!r}")
    if method == "columns" and noise is not None:
        raise ValueError("noise must be None (uniform) for method='columns'")
    started = time.perf_counter()
    if method == "compact":
        value, B, local_model, solver, status, extra = _robustness_compact(p, u, solver,
                                                                           solver_options)
    elif method == "sparse":
        value, B, local_model, solver, status, extra = _robustness_sparse(p, u, solver,
                                                                          solver_options)
    else:
        value, B, local_model, solver, status, extra = _robustness_columns(p, u, solver,
                                                                           solver_options)
    if np.sum(B * (p - u)) < 0:
        B = -B
    certified = 1.0
    local_bound = None
    gap = float(np.sum(B * (p - u)))
    if gap > 0:
        local_bound = best_deterministic(B)[0]
        certified = min(1.0, (local_bound - float(np.sum(B * u))) / gap)
    value = min(1.0, max(0.0, value))
    return Threshold(value=value, lower=min(value, certified), upper=max(value, certified),
                     kind="visibility", method="LP",
                     strategy_upper={"coefficients": B, "local_bound": local_bound},
                     strategy_lower=local_model,
                     details={"solver": solver, "status": status, "lp_value": value,
                              "lp_method": method, "certified_nonlocal_above": certified,
                              "seconds": time.perf_counter() - started, **extra})


def _robustness_compact(p, u, solver, solver_options):
    import cvxpy as cp
    n = p.ndim // 2
    A, form = local_polytope_map(p.shape[:n], p.shape[n:])
    r, v = cp.Variable(A.shape[1]), cp.Variable()
    target_p, target_u = form.permute(p).ravel(), form.permute(u).ravel()
    mixing = A @ r - v * (target_p - target_u) == target_u
    problem = cp.Problem(cp.Maximize(v), [mixing, v <= 1] + local_polytope_constraints(r, form))
    value, solver, status, _ = solve(problem, solver, what="white-noise robustness LP",
                                     **solver_options)
    shape = form.n_answers + form.n_questions
    local_model = form.unpermute((A @ r.value).reshape(shape))
    B = form.unpermute(np.asarray(mixing.dual_value).reshape(shape))
    return value, B, local_model, solver, status, {}


#: HiGHS tolerances of the sparse robustness LP (the certificate does not rely on them: the
#: dual B's local bound is recomputed by exact enumeration).
SPARSE_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10,
                     "ipm_optimality_tolerance": 1e-12}


def _robustness_sparse(p, u, solver, solver_options):
    """The compact LP (variables ``[r, v]``: ``A r − v (p − u) = u``, ``E r = f``, ``r ≥ 0``,
    ``v ≤ 1``) as one sparse matrix for scipy's HiGHS interior point."""
    import scipy.sparse as sp
    from scipy.optimize import linprog
    from qpolicy.bounds.classical import _local_equalities
    from qpolicy.bounds.results import SolverError
    if solver not in (None, "HIGHS"):
        raise ValueError(f"solver must be None or 'HIGHS' for method='sparse', got {solver!r}")
    n = p.ndim // 2
    A, form = local_polytope_map(p.shape[:n], p.shape[n:])      # refuses too large LPs first
    E, f = _local_equalities(form)
    target_p, target_u = form.permute(p).ravel(), form.permute(u).ravel()
    N = A.shape[1]
    A_eq = sp.vstack([sp.hstack([A, sp.csr_matrix(-(target_p - target_u)[:, None])]),
                      sp.hstack([E, sp.csr_matrix((E.shape[0], 1))])], format="csc")
    cost = np.zeros(N + 1)
    cost[-1] = -1.0
    res = linprog(cost, A_eq=A_eq, b_eq=np.concatenate([target_u, f]),
                  bounds=[(0, None)] * N + [(None, 1)], method="highs-ipm",
                  options={**SPARSE_LP_OPTIONS, **(solver_options or {})})
    if res.status != 0:
        raise SolverError(f"HiGHS did not solve the white-noise robustness LP: {res.message}",
                          res.status)
    shape = form.n_answers + form.n_questions
    r = np.maximum(res.x[:N], 0.0)
    local_model = form.unpermute((A @ r).reshape(shape))
    B = form.unpermute(np.asarray(res.eqlin.marginals[:A.shape[0]]).reshape(shape))
    return float(res.x[-1]), B, local_model, "HIGHS", "optimal", {"n_variables": N + 1,
                                                                  "nonzeros": int(A_eq.nnz)}


#: Most LPs of the column-generation method before it gives up (SolverError).
MAX_COLUMN_ROUNDS = 2000
#: Deterministic tables added per round (the best ones for the current dual B).
COLUMNS_PER_ROUND = 20


def _robustness_columns(p, u, solver, solver_options):
    from scipy.optimize import linprog
    from qpolicy.bounds.classical import deterministic_table, top_deterministic
    from qpolicy.bounds.membership import CUT_TOL
    from qpolicy.bounds.results import SolverError
    if solver not in (None, "HIGHS"):
        raise ValueError(f"solver must be None or 'HIGHS' for method='columns', got {solver!r}")
    n = p.ndim // 2
    n_answers, n_questions = p.shape[:n], p.shape[n:]
    strategies = {}

    def add(strategy):
        key = tuple(tuple(int(a) for a in f) for f in strategy)
        if key in strategies:
            return False
        strategies[key] = deterministic_table(strategy, n_answers).ravel()
        return True

    for answers in itertools.product(*[range(m) for m in n_answers]):     # constant strategies
        add(tuple(np.full(q, a, dtype=np.int64) for q, a in zip(n_questions, answers)))
    for strategy in top_deterministic(p, COLUMNS_PER_ROUND)[1]:
        add(strategy)
    direction = (p - u).ravel()
    for rounds in range(1, MAX_COLUMN_ROUNDS + 1):
        # max v  s.t.  D λ − v (p − u) = u,  Σ λ = 1,  λ ≥ 0,  v ≤ 1   (scipy's HiGHS: duals)
        D = np.array(list(strategies.values())).T
        A_eq = np.block([[D, -direction[:, None]], [np.ones((1, D.shape[1])), np.zeros((1, 1))]])
        b_eq = np.concatenate([u.ravel(), [1.0]])
        cost = np.zeros(D.shape[1] + 1)
        cost[-1] = -1.0
        res = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * D.shape[1] + [(None, 1)],
                      method="highs", options=solver_options or None)
        if res.status != 0:
            raise SolverError(f"HiGHS did not solve the white-noise robustness LP: {res.message}",
                              res.status)
        B = np.asarray(res.eqlin.marginals[:-1]).reshape(p.shape)
        if np.sum(B * (p - u)) < 0:
            B = -B
        current = float(np.max(B.ravel() @ D))
        values, best, _ = top_deterministic(B, COLUMNS_PER_ROUND)
        if values[0] <= current + CUT_TOL or not any([add(s) for val, s in zip(values, best)
                                                      if val > current + CUT_TOL]):
            weights = np.maximum(res.x[:-1], 0.0)
            local_model = (D @ (weights / weights.sum())).reshape(p.shape)
            return float(res.x[-1]), B, local_model, "HIGHS", "optimal", {
                "columns": D.shape[1], "rounds": rounds}
    raise SolverError(f"column generation did not converge in {MAX_COLUMN_ROUNDS} LPs",
                      "iteration_limit")
