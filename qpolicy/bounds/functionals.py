r"""Bell functionals in the notations people use, and their classical, NPA and non-signaling bounds.

A Bell functional assigns a number to a behaviour ``p[a_1..a_n, x_1..x_n]``.  Three notations:

* **probability** ("FP"): coefficients ``G[a..., x...]``, value ``Σ G·p`` — qpolicy's own index
  order (answers first, then questions), so a game is the functional ``G = μ·V``;
* **Collins–Gisin** ("CG"), as in Ket.jl ``tensor_collinsgisin`` and toqito
  ``bell_inequality_max(..., "cg")``: an array of shape ``(1 + (A_k − 1) Q_k)_k``; along each
  party's axis index 0 is "this party does not appear" and index ``1 + a + x (A_k − 1)`` the
  event ``a < A_k − 1`` of question ``x``.  ``F[0, .., 0]`` is the constant term; ``F[i, 0]``
  multiplies Alice's marginal ``p_A(a|x)``, ``F[i, j]`` the joint ``p(ab|xy)``, and so on;
* **full correlators** ("FC", two outcomes per question), as in Ket.jl ``tensor_correlation``
  and toqito ``"fc"``: shape ``(1 + Q_k)_k``; index 0 is the identity, ``1 + x`` the ±1
  observable ``A_x`` (answer 0 ↦ +1, answer 1 ↦ −1): ``F[0, 0]`` constant, ``F[x+1, 0]`` ⟨A_x⟩,
  ``F[x+1, y+1]`` ⟨A_x B_y⟩.

A functional and its conversions agree on every non-signaling behaviour (where the notations
are defined).  Converting *to* probability notation spreads a marginal's coefficient evenly over
the other parties' questions (the convention of Ket.jl's ``tensor_probability``), so round trips
are exact: ``to_collins_gisin(from_collins_gisin(F)) == F``.

A :class:`BellFunctional` is a game plus an affine map, ``value(p) = scale · game.value(p) +
offset`` (``scale > 0``), so the existing solvers bound it: :func:`functional_bound` with
``kind`` "classical" (exact enumeration), "nonsignaling" (LP) or "npa" (SDP at ``level``); upper
bounds are the proved ones of those solvers mapped back with outward rounding.

Example
-------
>>> import numpy as np
>>> from qpolicy.bounds.functionals import from_correlators, functional_bound
>>> chsh = from_correlators(np.array([[0, 0, 0], [0, 1, 1], [0, 1, -1]]))
>>> round(functional_bound(chsh, "classical").value, 9)
2.0
>>> round(functional_bound(chsh, "npa", level=1).value, 6)        # Tsirelson: 2√2
2.828427

References: D. Collins, N. Gisin, J. Phys. A 37, 1775 (2004) (CG notation, I3322);
M. Araújo et al., Ket.jl (``tensor_collinsgisin``, ``tensor_correlation``); V. Russo, toqito
(``bell_inequality_max``).
"""
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.classical import classical_value
from qpolicy.bounds.lp import proved_fields, upper_sum
from qpolicy.bounds.nonsignaling import (_kron, collins_gisin_coordinates, collins_gisin_map,
                                         nonsignaling_value)
from qpolicy.games import NonlocalGame
from qpolicy.validation import as_array

__all__ = ["BellFunctional", "from_probability", "from_collins_gisin", "from_correlators",
           "from_game", "functional_bound", "cglmp3_coefficients", "cglmp3",
           "grandjean_coefficients", "grandjean"]


@dataclass(frozen=True)
class BellFunctional:
    """``value(p) = scale · game.value(p) + offset`` for behaviours ``p[a..., x...]``."""
    game: NonlocalGame
    scale: float = 1.0
    offset: float = 0.0

    @property
    def coefficients(self):
        """Probability-notation coefficients ``G = scale · μ · V`` (the offset not included)."""
        return self.scale * self.game.weights

    def value(self, p):
        """The functional's value on the behaviour ``p``."""
        return self.scale * self.game.value(p) + self.offset

    def to_probability(self):
        """``(G, offset)``: ``value(p) = Σ G p + offset``."""
        return self.coefficients, self.offset

    def to_collins_gisin(self):
        """The Collins–Gisin array ``F`` (Ket.jl / toqito convention, constant in ``F[0..0]``)."""
        n_answers, n_questions = self.game.n_answers, self.game.n_questions
        T = collins_gisin_map(n_answers, n_questions)
        F = np.asarray(T.T @ self.coefficients.ravel()).ravel()
        F[0] += self.offset
        return F.reshape([1 + (a - 1) * q for a, q in zip(n_answers, n_questions)])

    def to_correlators(self):
        """The full-correlator array (two answers per question; constant in ``F[0..0]``)."""
        n_answers, n_questions = self.game.n_answers, self.game.n_questions
        if any(a != 2 for a in n_answers):
            raise ValueError(f"correlator notation needs two answers per question, the game has "
                             f"{n_answers}")
        D = _reorder_rows(_kron([_correlator_to_probability(q) for q in n_questions]),
                          n_answers, n_questions)
        F = np.asarray(D.T @ self.coefficients.ravel()).ravel()
        F[0] += self.offset
        return F.reshape([1 + q for q in n_questions])


def from_game(game):
    """A game as the functional ``p -> game.value(p)``."""
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    return BellFunctional(game)


def from_probability(coefficients, offset=0.0, question_dist=None, name=None):
    """The functional ``Σ G p + offset`` with ``G = coefficients[a..., x...]``.

    It is stored as the game with ``μ = question_dist`` (default uniform) and ``V = G / μ``,
    ``scale = 1``; ``μ`` must be positive wherever ``G`` is not zero.
    """
    G = as_array(coefficients, "coefficients", complex_ok=False)
    if G.ndim < 2 or G.ndim % 2:
        raise ValueError(f"coefficients must have 2 * n_players axes (answers, then questions), "
                         f"got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("coefficients must be finite")
    offset = _finite(offset, "offset")
    n = G.ndim // 2
    if question_dist is None:
        count = int(np.prod(G.shape[n:]))
        # V = G, μ uniform: value = count · Σ μ V p, so scale = count (exact for G, no division)
        game = NonlocalGame(G, np.full(G.shape[n:], 1.0 / count), name=name)
        return BellFunctional(game, scale=float(count), offset=offset)
    mu = as_array(question_dist, "question_dist", complex_ok=False)
    if mu.shape != G.shape[n:]:
        raise ValueError(f"question_dist must have shape {G.shape[n:]}, got {mu.shape}")
    used = np.any(G != 0, axis=tuple(range(n)))
    if np.any(used & (mu <= 0)):
        raise ValueError("question_dist must be positive wherever the coefficients are non-zero")
    V = np.divide(G, mu, out=np.zeros_like(G), where=mu > 0)
    return BellFunctional(NonlocalGame(V, mu, name=name), scale=1.0, offset=offset)


def from_collins_gisin(F, n_answers, n_questions=None, name=None):
    """The functional of a Collins–Gisin array ``F`` (see the module docstring).

    ``n_answers``: answers per party (an int for all); ``n_questions`` is then read off the
    shape, ``(F.shape[k] − 1) / (A_k − 1)``.
    """
    F = as_array(F, "F", complex_ok=False)
    n = F.ndim
    n_answers = _per_party(n_answers, n, "n_answers")
    if any(a < 2 for a in n_answers):
        raise ValueError(f"n_answers must be at least 2 per party, got {n_answers}")
    if n_questions is None:
        if any((size - 1) % (a - 1) for size, a in zip(F.shape, n_answers)):
            raise ValueError(f"F's shape {F.shape} is not (1 + (A - 1) Q) per party for "
                             f"n_answers {n_answers}")
        n_questions = tuple((size - 1) // (a - 1) for size, a in zip(F.shape, n_answers))
    n_questions = _per_party(n_questions, n, "n_questions")
    expected = tuple(1 + (a - 1) * q for a, q in zip(n_answers, n_questions))
    if F.shape != expected:
        raise ValueError(f"F must have shape {expected} for n_answers {n_answers} and "
                         f"n_questions {n_questions}, got {F.shape}")
    R = collins_gisin_coordinates(n_answers, n_questions)
    G = np.asarray(R.T @ F.ravel()).ravel().reshape(tuple(n_answers) + tuple(n_questions))
    return from_probability(G, name=name)


def from_correlators(F, name=None):
    """The functional of a full-correlator array ``F`` (two answers per question)."""
    F = as_array(F, "F", complex_ok=False)
    if F.ndim < 1 or min(F.shape) < 2:
        raise ValueError(f"F must have shape (1 + Q_k) per party with Q_k ≥ 1, got {F.shape}")
    n_questions = tuple(size - 1 for size in F.shape)
    n_answers = (2,) * F.ndim
    C = _kron([_probability_to_correlator(q) for q in n_questions])
    C = _reorder_columns(C, n_answers, n_questions)
    G = np.asarray(C.T @ F.ravel()).ravel().reshape(n_answers + n_questions)
    return from_probability(G, name=name)


def cglmp3_coefficients():
    r"""The CGLMP expression for d = 3 as coefficients ``G[a, b, x, y]`` of ``p(ab|xy)``:

    :math:`I_3 = P(A_0{=}B_0) + P(B_0{=}A_1{+}1) + P(A_1{=}B_1) + P(B_1{=}A_0)
    - P(A_0{=}B_0{-}1) - P(B_0{=}A_1) - P(A_1{=}B_1{-}1) - P(B_1{=}A_0{-}1)`
    (arithmetic mod 3): local bound 2, quantum maximum :math:`1 + \sqrt{11/3} ≈ 2.914854`.

    References: Collins, Gisin, Linden, Massar, Popescu, PRL 88, 040404 (2002); Acín, Durt,
    Gisin, Latorre, PRA 65, 052325 (2002).
    """
    a, b = np.indices((3, 3))
    G = np.zeros((3, 3, 2, 2))
    G[:, :, 0, 0] = (a == b).astype(float) - (a == (b - 1) % 3)
    G[:, :, 1, 0] = (b == (a + 1) % 3).astype(float) - (b == a)
    G[:, :, 1, 1] = (a == b).astype(float) - (a == (b - 1) % 3)
    G[:, :, 0, 1] = (b == a).astype(float) - (b == (a - 1) % 3)
    return G


def cglmp3():
    """The CGLMP d = 3 functional (:func:`cglmp3_coefficients`) as a :class:`BellFunctional`."""
    return from_probability(cglmp3_coefficients(), name="CGLMP3")


def grandjean_coefficients(n_outcomes=3):
    r"""The three-party, two-setting, ``K``-outcome inequality (1) of Grandjean et al. (2012) as
    coefficients ``G[a, b, c, x, y, z]`` of ``p(abc|xyz)`` (settings 0, 1 for their 1, 2):

    :math:`I_K = \langle[A_2 - B_1 + C_1]_K\rangle + \langle[A_1 + B_2 - C_1]_K\rangle
    + \langle[-A_1 + B_1 + C_2]_K\rangle + \langle[-A_2 - B_2 - C_2 - 1]_K\rangle \ge K - 1`

    for local models, with :math:`[X]_K` the residue of X mod K in 0..K−1 and
    :math:`\langle[X]_K\rangle = \sum_j j\,P([X]_K = j)`.  K = 2 is Mermin's inequality
    (local 1, quantum 0); with Charlie's outcomes fixed to 0 it reduces to CGLMP (up to a
    relabelling of Bob's second outcomes).  The paper gives evidence that the largest quantum
    violation needs local dimension above K; with qubits and K = 3 the minimum of :math:`I_3`
    is :math:`(7 - 3\sqrt3)/2 ≈ 0.9019` (the see-saw reaches it: ``tests/test_npa.py``).

    Reference: B. Grandjean, Y.-C. Liang, J.-D. Bancal, N. Brunner, N. Gisin, "Bell
    inequalities for three systems and arbitrarily many measurement outcomes", PRA 85, 052113
    (2012), arXiv:1204.3829, eq. (1).
    """
    K = n_outcomes
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"n_outcomes must be an integer ≥ 2, got {n_outcomes!r}")
    a, b, c = np.indices((K, K, K))
    G = np.zeros((K, K, K, 2, 2, 2))
    G[..., 1, 0, 0] = (a - b + c) % K
    G[..., 0, 1, 0] = (a + b - c) % K
    G[..., 0, 0, 1] = (-a + b + c) % K
    G[..., 1, 1, 1] = (-a - b - c - 1) % K
    return G


def grandjean(n_outcomes=3):
    r"""Grandjean et al.'s inequality (:func:`grandjean_coefficients`) as the functional
    :math:`-I_K` to *maximize*: classical value :math:`-(K-1)`, and for K = 3 qubits reach
    :math:`(3\sqrt3 - 7)/2`.  Its ``game`` asks the four setting triples of :math:`I_K` with
    probability 1/4 each and pays :math:`-4[\cdot]_K`, so ``game.value(p) = -I_K(p)``.

    >>> from qpolicy.bounds.functionals import functional_bound, grandjean
    >>> functional_bound(grandjean(3), "classical").value
    -2.0
    """
    G = grandjean_coefficients(n_outcomes)
    mu = np.zeros((2, 2, 2))
    mu[1, 0, 0] = mu[0, 1, 0] = mu[0, 0, 1] = mu[1, 1, 1] = 0.25
    return from_probability(-G, question_dist=mu, name=f"Grandjean{n_outcomes}")


def functional_bound(functional, kind, level=1, **options):
    """A bound on ``max_p value(p)`` over the ``kind`` of behaviours, as a :class:`Bound`.

    ``kind``: "classical" (exact enumeration; ``details`` lower/upper bracket it), "npa" (an
    upper bound on the quantum maximum at ``level``; ``value`` the proved dual bound) or
    "nonsignaling" (proved LP upper bound).  ``details["game_bound"]`` is the underlying game
    bound; ``value = scale · (game bound) + offset``, rounded outward for upper bounds.
    """
    if not isinstance(functional, BellFunctional):
        raise TypeError(f"functional must be a BellFunctional, got {type(functional).__name__}")
    if kind == "classical":
        bound = classical_value(functional.game)
        value = functional.scale * bound.value + functional.offset
        details = {"lower_bound": _map_down(functional, bound.details["lower_bound"]),
                   "upper_bound": _map_up(functional, bound.details["upper_bound"])}
    elif kind == "nonsignaling":
        bound = nonsignaling_value(functional.game, **options)
        value = _map_up(functional, bound.value)
        details = {"lower_bound": _map_down(functional, bound.details["lower_bound"])}
    elif kind == "npa":
        from qpolicy.bounds.npa import npa_upper_bound
        bound = npa_upper_bound(functional.game, level=level, **options)
        value = _map_up(functional, bound.details["dual_bound"])
        primal = bound.details.get("primal_value", bound.value)
        details = {"primal_value": functional.scale * primal + functional.offset}
    else:
        raise ValueError(f"kind must be 'classical', 'nonsignaling' or 'npa', got {kind!r}")
    upper = None if kind == "classical" else value
    lower = details.get("lower_bound")
    if kind == "classical":
        lower, upper = details["lower_bound"], details["upper_bound"]
    return replace(bound, value=float(value), details={**details, "game_bound": bound},
                   **proved_fields(lower, upper))


# -- helpers ----------------------------------------------------------------------------------

def _finite(x, name):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return float(x)


def _per_party(value, n, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        values = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{name} must be an int or one int per party") from None
    if len(values) != n:
        raise ValueError(f"{name} must give one value per party ({n}), got {values}")
    return values


def _map_up(functional, x):
    """A float ≥ scale · x + offset (scale > 0), plus the relative rounding of μ = 1/count."""
    product = float(np.nextafter(functional.scale * x, np.inf))
    slack = 4 * 2.0**-53 * abs(product) + 4 * 2.0**-53 * abs(functional.offset)
    return upper_sum([product, functional.offset, slack])


def _map_down(functional, x):
    product = float(np.nextafter(functional.scale * x, -np.inf))
    slack = 4 * 2.0**-53 * abs(product) + 4 * 2.0**-53 * abs(functional.offset)
    return -upper_sum([-product, -functional.offset, slack])


def _probability_to_correlator(n_q):
    """Local map ``(a, x) -> (1, A_0, .., A_{Q-1})``: slot 0 averages over questions (the
    symmetric convention), slot ``1 + x`` is ``(−1)^a`` at question x."""
    C = np.zeros((1 + n_q, 2, n_q))
    C[0] = 1.0 / n_q
    for x in range(n_q):
        C[1 + x, 0, x], C[1 + x, 1, x] = 1.0, -1.0
    return sp.csr_matrix(C.reshape(1 + n_q, -1))


def _correlator_to_probability(n_q):
    """Local map ``(1, A_x) -> p(a|x) = (1 + (−1)^a A_x) / 2``."""
    D = np.zeros((2, n_q, 1 + n_q))
    D[:, :, 0] = 0.5
    for x in range(n_q):
        D[0, x, 1 + x], D[1, x, 1 + x] = 0.5, -0.5
    return sp.csr_matrix(D.reshape(2 * n_q, -1))


def _interleaved_order(n_answers, n_questions):
    n = len(n_answers)
    interleaved = [size for pair in zip(n_answers, n_questions) for size in pair]
    order = np.arange(int(np.prod(interleaved))).reshape(interleaved)
    return order.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]).ravel()


def _reorder_rows(M, n_answers, n_questions):
    """Kronecker rows (a_1, x_1, a_2, x_2, ..) -> qpolicy's (a..., x...)."""
    return M.tocsr()[_interleaved_order(n_answers, n_questions)]


def _reorder_columns(M, n_answers, n_questions):
    return M.tocsc()[:, _interleaved_order(n_answers, n_questions)]
