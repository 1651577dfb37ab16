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
import math
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.lp import (denormalize_upper, lower_dot, lower_matvec, normalize,
                               proved_fields, solve_lp, upper_dot,
                               upper_matvec, upper_sum)
from qpolicy.bounds.results import Bound
from qpolicy.games import NonlocalGame

__all__ = ["nonsignaling_value", "collins_gisin_map", "collins_gisin_coordinates",
           "nonsignaling_operators", "nonsignaling_lp_size", "MAX_NS_NONZEROS",
           "MAX_NS_MULTIPARTY_VARIABLES"]

#: Most non-zeros of the LP's constraint matrix (computed from the shape before anything is
#: built).  Measured with HiGHS on a shared 2-core machine: the magic-square BCS game (2
#: players, 512 x 2 answers, 1.7e5 non-zeros) in ~6 s.
MAX_NS_NONZEROS = 2 * 10**6
#: Most Collins–Gisin variables for 3 or more players, whose Kronecker-structured constraints
#: fill the interior-point factorization: 3 players, 4 answers, 5 questions (4096 variables)
#: take ~5 s; 8 questions (15 625) 119 s with Clarabel and > 200 s with HiGHS.
MAX_NS_MULTIPARTY_VARIABLES = 8000


def nonsignaling_value(game, solver=None, method="collins_gisin", **solver_options):
    r"""The non-signaling value ω_ns of ``game``: a proved upper bound on the quantum value.

    Solved as an LP (``method`` "collins_gisin" or "marginals", see the module docstring) for
    the normalized payoff (:func:`qpolicy.bounds.lp.normalize`: the result is invariant under
    ``V -> aV + b``, a > 0).  ``solver=None`` tries HiGHS, then Clarabel, then SCS until one
    certifies the value (:func:`qpolicy.bounds.lp.solve_lp`); a named ``solver`` (or solver
    options, passed to ``problem.solve``) is used alone.

    Returns a :class:`~qpolicy.bounds.results.Bound` whose ``value`` is a *proved* upper bound
    on ω_ns (from the LP dual, evaluated with outward rounding), ``strategy`` an explicit
    non-signaling table ``p[a..., o...]`` (its Collins–Gisin coordinates, mixed with the uniform
    table just enough to be provably non-negative) and ``details``: ``lower_bound`` (a proved
    lower bound on that table's value, so ``lower_bound ≤ ω_ns ≤ value``), ``primal_value``
    (the solver's own number, mapped back), ``attempts`` (solver, status, certified gap),
    ``method``, ``n_variables``, ``nonzeros``.  Raises ``ValueError`` for LPs above
    :data:`MAX_NS_NONZEROS` or, with 3+ players, :data:`MAX_NS_MULTIPARTY_VARIABLES` (before
    building) and ``SolverError`` if no solver certifies it.

    Example
    -------
    >>> from qpolicy import games
    >>> from qpolicy.bounds import nonsignaling_value
    >>> round(nonsignaling_value(games.chsh()).value, 6)    # the PR box wins always
    1.0
    """
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    if method not in ("collins_gisin", "marginals"):
        raise ValueError(f"method must be 'collins_gisin' or 'marginals', got {method!r}")
    size = nonsignaling_lp_size(game.n_answers, game.n_questions, method)
    variables = math.prod(1 + (a - 1) * q for a, q in zip(game.n_answers, game.n_questions)) - 1
    if size > MAX_NS_NONZEROS or (game.n_players >= 3
                                  and variables > MAX_NS_MULTIPARTY_VARIABLES):
        raise ValueError(f"game too large for the non-signaling LP: {variables} Collins–Gisin "
                         f"variables and about {size:.3g} constraint non-zeros (limits: "
                         f"MAX_NS_NONZEROS = {MAX_NS_NONZEROS:.3g}, and for 3+ players "
                         f"MAX_NS_MULTIPARTY_VARIABLES = {MAX_NS_MULTIPARTY_VARIABLES}; players "
                         f"{game.n_players}, answers {game.n_answers}, questions "
                         f"{game.n_questions}); bound a smaller game, or use npa_upper_bound "
                         f"at level 1")
    start = time.perf_counter()
    W_n, shift, scale, slack = normalize(game.weights)
    T = collins_gisin_map(game.n_answers, game.n_questions)
    w = W_n.ravel()
    uniform = _uniform_coordinates(game.n_answers, game.n_questions)
    if method == "collins_gisin":
        t0, T1 = T[:, 0].toarray().ravel(), T[:, 1:].tocsr()

        def build():
            c = cp.Variable(T1.shape[1])                # c[0] = 1 is the normalization term
            positive = t0 + T1 @ c >= 0
            problem = cp.Problem(cp.Maximize(w @ (t0 + T1 @ c)), [positive])
            return problem, lambda: (np.concatenate([[1.0], c.value]), positive.dual_value)

        def upper(duals):
            # for λ ≥ 0: <w, p> ≤ <w + λ, t0> + sum_i max(0, (T1^T (w + λ))_i) since c ∈ [0, 1]
            v = np.maximum(w + np.maximum(np.asarray(duals, dtype=float), 0.0), w)  # v - w ≥ 0
            return upper_sum([upper_dot(t0, v),
                              upper_sum(np.maximum(upper_matvec(T1.T, v), 0.0))])
    else:
        normalization, no_signaling = nonsignaling_operators(game.n_answers, game.n_questions)
        E = sp.vstack([normalization, no_signaling], format="csr")
        f = np.concatenate([np.ones(normalization.shape[0]), np.zeros(no_signaling.shape[0])])
        R = collins_gisin_coordinates(game.n_answers, game.n_questions)

        def build():
            p = cp.Variable(w.size)
            equalities = E @ p == f
            problem = cp.Problem(cp.Maximize(w @ p), [p >= 0, equalities])
            return problem, lambda: (R @ p.value, equalities.dual_value)

        def upper(duals):
            # <w, p> = <ν, f> + <w − E^T ν, p> ≤ <ν, f> + sum max(0, w − E^T ν) as p ∈ [0, 1]
            nu = np.asarray(duals, dtype=float)
            residual = upper_matvec(sp.hstack([sp.identity(w.size), -E.T], format="csr"),
                                    np.concatenate([w, nu]))
            return upper_sum([upper_dot(f, nu), upper_sum(np.maximum(residual, 0.0))])

    def certify(extracted):
        coordinates, duals = extracted
        if coordinates is None or duals is None:
            raise ValueError("the solver returned no primal or dual point")
        coordinates, table, lower = _explicit_table(T, coordinates, w, uniform)
        return lower, upper(duals), (coordinates, table)

    lower_n, upper_n, (coordinates, table), solver_name, status, attempts = solve_lp(
        build, certify, solver, what="non-signaling LP", nonzeros=size, **solver_options)
    table = table.reshape(game.shape)
    proved_upper = denormalize_upper(upper_n, shift, scale, slack)
    proved_lower = _table_lower(T, coordinates, game.weights.ravel())
    return Bound(value=proved_upper, kind="nonsignaling",
                 **proved_fields(proved_lower, proved_upper),
                 solver=solver_name, status=status, strategy=table,
                 seconds=time.perf_counter() - start,
                 details={"method": method, "lower_bound": proved_lower,
                          "primal_value": float(np.sum(game.weights * table)),
                          "attempts": attempts, "n_variables": T.shape[1] - 1
                          if method == "collins_gisin" else int(np.prod(game.shape)),
                          "nonzeros": size})


def nonsignaling_lp_size(n_answers, n_questions, method="collins_gisin"):
    """Non-zeros of the non-signaling LP's constraint matrix, from the shape alone (exact for
    ``"collins_gisin"``, an upper estimate for ``"marginals"``)."""
    if method == "collins_gisin":
        return math.prod(q * (2 * a - 1) for a, q in zip(n_answers, n_questions))
    entries = math.prod(n_answers) * math.prod(n_questions)
    return entries * (2 + 2 * len(n_answers))


def _uniform_coordinates(n_answers, n_questions):
    """Collins–Gisin coordinates of the uniform table (every ``e_{a|x} = 1/A``)."""
    local = [np.concatenate([[1.0], np.full((a - 1) * q, 1.0 / a)])
             for a, q in zip(n_answers, n_questions)]
    out = np.ones(1)
    for vector in local:
        out = np.kron(out, vector)
    return out


def _explicit_table(T, coordinates, w, uniform):
    """Mix ``coordinates`` (c[0] = 1) with the uniform table until ``T c ≥ 0`` is proved.

    Returns ``(c, table, lower)``: ``table = T c`` (non-signaling by construction; provably
    non-negative), ``lower`` a proved lower bound on ``<w, T c>``.
    """
    uniform_p = float(np.min(T @ uniform))              # every entry of the uniform table
    c = np.asarray(coordinates, dtype=float).copy()
    c[0] = 1.0
    lowest = float(np.min(T @ c))
    epsilon = 0.0 if lowest >= 0 else min(1.0, -lowest / (uniform_p - lowest))
    for _ in range(60):
        mixed = (1.0 - epsilon) * c + epsilon * uniform
        mixed[0] = 1.0
        if lower_matvec(T, mixed).min() >= 0:
            return mixed, np.asarray(T @ mixed), _table_lower(T, mixed, w)
        epsilon = min(1.0, max(2.0 * epsilon, 1e-15))
    raise ValueError("could not make the LP's table provably non-negative")


def _table_lower(T, coordinates, w):
    """A proved lower bound on ``<w, T c>`` (interval evaluation of ``T c``)."""
    low, high = lower_matvec(T, coordinates), upper_matvec(T, coordinates)
    return lower_dot(np.concatenate([np.maximum(w, 0.0), np.minimum(w, 0.0)]),
                     np.concatenate([low, high]))


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


def collins_gisin_coordinates(n_answers, n_questions):
    """Sparse ``R`` with ``R @ T = I`` for ``T = collins_gisin_map(...)``: the Collins–Gisin
    coordinates ``c = R p`` of a non-signaling table ``p``.  A summed-out party's slot averages
    over its questions (Ket.jl's convention for behaviours), so any table gives *some* c, equal
    to p's own when p is non-signaling; ``R.T`` maps a Collins–Gisin functional to probability
    notation the way Ket.jl's ``tensor_probability`` does.
    """
    local_maps = []
    for n_a, n_q in zip(n_answers, n_questions):
        R = np.zeros((1 + (n_a - 1) * n_q, n_a, n_q))
        R[0] = 1.0 / n_q                                       # mean over x of sum_a p(a|x)
        for x in range(n_q):
            R[1 + x * (n_a - 1) + np.arange(n_a - 1), np.arange(n_a - 1), x] = 1.0
        local_maps.append(sp.csr_matrix(R.reshape(R.shape[0], -1)))
    R = _kron(local_maps)
    n = len(n_answers)
    interleaved = [size for pair in zip(n_answers, n_questions) for size in pair]
    columns = np.arange(R.shape[1]).reshape(interleaved)
    columns = columns.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]).ravel()
    return R[:, columns]


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
