"""The non-signaling value of a nonlocal game: an LP over the non-signaling polytope.

A table ``p[a_1..a_n, o_1..o_n]`` is non-signaling (paper eq. (5)) when no group of players can
learn anything about the others' questions from its own answers: for every bipartition (S, S̄),
``sum_{a_S̄} p(a | o)`` does not depend on ``o_S̄``.  It suffices to impose, for every single
party k, that ``sum_{a_k} p(a | o)`` does not depend on ``o_k``: summing out a set of parties one
at a time then shows that every marginal is independent of the summed-out parties' questions.
So the polytope is

    p ≥ 0,   sum_a p(a | o) = 1,   sum_{a_k} p(a | o_k = j, o_-k) = sum_{a_k} p(a | o_k = 0, o_-k),

and ``ω_ns(G) = max <mu V, p>`` over it.  The constraints are assembled as sparse Kronecker
products (no per-entry cvxpy constraints), so building the LP costs milliseconds.

Reference: J. Barrett, N. Linden, S. Massar, S. Pironio, S. Popescu, D. Roberts, "Nonlocal
correlations as an information-theoretic resource", PRA 71, 022101 (2005).
"""
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.results import Bound, solve
from qpolicy.games import NonlocalGame

__all__ = ["nonsignaling_value", "nonsignaling_operators"]


def nonsignaling_value(game, solver=None, **solver_options):
    """The non-signaling value ω_ns of ``game``, an upper bound on the quantum value.

    Solved as an LP by ``solver`` (default Clarabel, ``qpolicy.bounds.results.DEFAULT_SOLVER``;
    extra keyword arguments go to the solver).  Returns a
    :class:`~qpolicy.bounds.results.Bound` whose ``strategy`` is an optimal non-signaling table
    ``p[a..., o...]``.  Raises ``SolverError`` with the status if the LP is not solved.

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
    normalization, no_signaling = nonsignaling_operators(game.n_answers, game.n_questions)
    p = cp.Variable(int(np.prod(game.shape)))
    constraints = [p >= 0, normalization @ p == 1]
    if no_signaling.shape[0]:
        constraints.append(no_signaling @ p == 0)
    problem = cp.Problem(cp.Maximize(game.weights.ravel() @ p), constraints)
    value, solver, status, _ = solve(problem, solver, what="non-signaling LP", **solver_options)
    return Bound(value=value, kind="nonsignaling", solver=solver, status=status,
                 strategy=p.value.reshape(game.shape), seconds=time.perf_counter() - start,
                 details={"n_variables": p.size, "n_constraints": no_signaling.shape[0]})


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
