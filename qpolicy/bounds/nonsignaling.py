"""The non-signaling value of a nonlocal game: an LP over the non-signaling polytope.

A table ``p[a_1..a_n, o_1..o_n]`` is non-signaling (paper eq. (5)) when no group of players can
learn anything about the others' questions from its own answers: for every bipartition (S, S̄),
``sum_{a_S̄} p(a | o)`` does not depend on ``o_S̄``.  It suffices to impose, for every single
party k, that ``sum_{a_k} p(a | o)`` does not depend on ``o_k``: summing out a set of parties one
at a time then shows that every marginal is independent of the summed-out parties' questions.

Two formulations of ``ω_ns(G) = max <mu V, p>`` over that polytope:

* ``method="collins_gisin"`` (default): the affine hull of the polytope is parameterized without
  redundancy by the Collins–Gisin marginals ``c = p(a_S | o_S)`` for every subset S of parties
  and answers ``a_k < A_k - 1`` (the last answer of each party is dropped):
  ``p(a | o) = prod_k E_k[a_k | o_k]`` expanded multilinearly, with ``E_k[a | x] = e_{a|x}`` for
  ``a < A_k - 1`` and ``E_k[A_k - 1 | x] = 1 - sum_{a'} e_{a'|x}``.  So ``p = T c`` with
  ``T = ⊗_k L_k`` and the only constraints are ``T c ≥ 0``: no equalities, hence no redundant
  rows for an interior-point solver to stumble on.
* ``method="marginals"``: ``p`` itself with ``p ≥ 0``, normalization and, for every party k and
  question j ≥ 1, ``sum_{a_k} p(a | o_k = j) = sum_{a_k} p(a | o_k = 0)``.  These equalities are
  linearly dependent for 3+ players; Clarabel then sometimes stops at "optimal_inaccurate"
  (found by the hypothesis test on a random 3-player game), which raises ``SolverError``.  Kept
  as an independent check (use a simplex solver such as HiGHS with it).

Both are assembled as sparse Kronecker products (no per-entry cvxpy constraints).

References: D. Collins, N. Gisin, "A relevant two qubit Bell inequality inequivalent to the CHSH
inequality", J. Phys. A 37, 1775 (2004); J. Barrett, N. Linden, S. Massar, S. Pironio,
S. Popescu, D. Roberts, "Nonlocal correlations as an information-theoretic resource", PRA 71,
022101 (2005).
"""
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.results import Bound, solve
from qpolicy.games import NonlocalGame

__all__ = ["nonsignaling_value", "collins_gisin_map", "nonsignaling_operators"]


def nonsignaling_value(game, solver=None, method="collins_gisin", **solver_options):
    """The non-signaling value ω_ns of ``game``, an upper bound on the quantum value.

    Solved as an LP (``method`` "collins_gisin" or "marginals", see the module docstring) by
    ``solver`` (default Clarabel, ``qpolicy.bounds.results.DEFAULT_SOLVER``; extra keyword
    arguments go to the solver).  Returns a :class:`~qpolicy.bounds.results.Bound` whose
    ``strategy`` is an optimal non-signaling table ``p[a..., o...]``.  Raises ``SolverError``
    with the status if the LP is not solved.

    Example
    -------
    >>> from qpolicy import games
    >>> from qpolicy.bounds import nonsignaling_value
    >>> round(nonsignaling_value(games.chsh()).value, 6)    # the PR box wins always
    1.0
    """
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    start = time.perf_counter()
    if method == "collins_gisin":
        T = collins_gisin_map(game.n_answers, game.n_questions)
        c = cp.Variable(T.shape[1] - 1)                # c[0] = 1 is the normalization term
        p = T[:, 0].toarray().ravel() + T[:, 1:] @ c
        constraints = [p >= 0]
    elif method == "marginals":
        normalization, no_signaling = nonsignaling_operators(game.n_answers, game.n_questions)
        p = cp.Variable(int(np.prod(game.shape)))
        constraints = [p >= 0, normalization @ p == 1]
        if no_signaling.shape[0]:
            constraints.append(no_signaling @ p == 0)
    else:
        raise ValueError(f"method must be 'collins_gisin' or 'marginals', got {method!r}")
    problem = cp.Problem(cp.Maximize(game.weights.ravel() @ p), constraints)
    value, solver, status, _ = solve(problem, solver, what="non-signaling LP", **solver_options)
    return Bound(value=value, kind="nonsignaling", solver=solver, status=status,
                 strategy=np.asarray(p.value).reshape(game.shape),
                 seconds=time.perf_counter() - start,
                 details={"method": method, "n_variables": problem.size_metrics.num_scalar_variables})


def collins_gisin_map(n_answers, n_questions):
    """Sparse ``T`` with ``p = T @ c`` for the Collins–Gisin coordinates ``c`` (``c[0] = 1``).

    Column order: the Kronecker product of each party's local basis ``(1, e_{0|0}, .., e_{A-2|0},
    e_{0|1}, ..)``; row order: the flattened table ``p[a_1..a_n, o_1..o_n]``.  Every ``T c`` with
    ``c[0] = 1`` is normalized and non-signaling, and every non-signaling table is one.
    """
    local_maps = []
    for n_a, n_q in zip(n_answers, n_questions):
        L = np.zeros((n_a, n_q, 1 + (n_a - 1) * n_q))
        for x in range(n_q):
            block = slice(1 + x * (n_a - 1), 1 + (x + 1) * (n_a - 1))
            L[:n_a - 1, x, block] = np.eye(n_a - 1)           # e_{a|x} for a < A - 1
            L[n_a - 1, x, 0] = 1.0                            # 1 - sum_a' e_{a'|x}
            L[n_a - 1, x, block] = -1.0
        local_maps.append(sp.csr_matrix(L.reshape(n_a * n_q, -1)))
    T = _kron(local_maps)
    # rows of the Kronecker product run over (a_1, o_1, a_2, o_2, ..); reorder to (a.., o..)
    n = len(n_answers)
    interleaved = [size for pair in zip(n_answers, n_questions) for size in pair]
    rows = np.arange(T.shape[0]).reshape(interleaved)
    rows = rows.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]).ravel()
    return T[rows]


def nonsignaling_operators(n_answers, n_questions):
    """Sparse matrices ``(N, S)`` acting on a flattened table ``p[a..., o...]`` (C order).

    ``N @ p`` are the sums ``sum_a p(a | o)`` (one row per question tuple ``o``; equal to 1 for
    a conditional table); ``S @ p`` stacks, for every party k and question ``j ≥ 1``, the
    differences ``sum_{a_k} p(a | o_k = j, o_-k) - sum_{a_k} p(a | o_k = 0, o_-k)`` (zero iff
    ``p`` is non-signaling).
    """
    n = len(n_answers)
    identity = [sp.identity(size, format="csr") for size in tuple(n_answers) + tuple(n_questions)]
    ones = [sp.csr_matrix(np.ones((1, size))) for size in n_answers]
    normalization = _kron(ones + identity[n:])
    blocks = []
    for k in range(n):
        if n_questions[k] < 2:
            continue
        # D_k: rows e_j - e_0 for j = 1..O_k-1
        diff = sp.hstack([-np.ones((n_questions[k] - 1, 1)), sp.identity(n_questions[k] - 1)])
        factors = list(identity)
        factors[k] = ones[k]                       # sum out a_k
        factors[n + k] = sp.csr_matrix(diff)       # compare o_k = j with o_k = 0
        blocks.append(_kron(factors))
    size = int(np.prod(tuple(n_answers) + tuple(n_questions)))
    no_signaling = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, size))
    return normalization.tocsr(), no_signaling


def _kron(factors):
    out = sp.csr_matrix(np.ones((1, 1)))
    for factor in factors:
        out = sp.kron(out, factor, format="csr")
    return out
