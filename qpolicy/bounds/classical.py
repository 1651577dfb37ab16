"""The classical (shared-randomness) value of a nonlocal game, and the local polytope as an LP.

With shared randomness the players can do no better than the best *deterministic* strategy
(paper Prop. 1: the shared-randomness set is the convex hull of deterministic ones, eq. (4)), so

    ω_c(G) = max_{f_1..f_n} sum_o mu(o) V(f_1(o_1), ..., f_n(o_n) | o).

Two independent methods compute it:

* ``method="enumeration"`` (exact, no solver): enumerate the deterministic strategies of all
  players but one — the *responder*, chosen as the player with the most deterministic strategies
  — and let the responder best-respond question by question:
  ``ω_c = max_f sum_{o_r} max_{a_r} M_f[a_r, o_r]`` with
  ``M_f[a_r, o_r] = sum_{o_-r} W[f(o_-r), a_r, o_-r, o_r]`` and ``W = mu V``.
* ``method="lp"``: a linear program over the local polytope in the *compact* (responder)
  formulation used by the membership tests: the non-responders' joint deterministic strategy f is
  drawn with probability ``q_f`` and the responder answers with an arbitrary conditional table,
  ``p(a | o) = sum_f [a_-r = f(o_-r)] r_f(a_r | o_r)``, ``r_f ≥ 0``, ``sum_{a_r} r_f(a_r|o_r) =
  q_f``.  Every deterministic strategy is of this form and every such p is local, so this is
  exactly the local polytope, with ``S_-r * A_r * O_r`` variables instead of one per
  deterministic strategy of *all* players (Cube: 157 464 variables instead of 43 046 721).

Size limits: both methods refuse games with more than :data:`MAX_ENUMERATED` non-responder
strategies (enumeration) or :data:`MAX_LP_VARIABLES` LP variables, with a ValueError saying so.

Reference: N. Brunner, D. Cavalcanti, S. Pironio, V. Scarani, S. Wehner, "Bell nonlocality",
Rev. Mod. Phys. 86, 419 (2014), Sec. II.
"""
import math
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.lp import (denormalize_upper, lower_sum, normalize, proved_fields, solve_lp,
                               upper_dot, upper_matvec, upper_sum)
from qpolicy.bounds.results import Bound
from qpolicy.games import NonlocalGame

__all__ = ["classical_value", "deterministic_table", "best_deterministic", "top_deterministic",
           "local_polytope_map", "local_polytope_constraints", "local_polytope_size",
           "MAX_ENUMERATED", "MAX_LP_VARIABLES"]

#: Most joint deterministic strategies of the non-responding players that are enumerated.
MAX_ENUMERATED = 10**7
#: Most variables of the compact local-polytope LP (``S_-r * A_r * O_r``).
MAX_LP_VARIABLES = 2 * 10**6
#: Entries of the gathered payoff block per chunk of the enumeration (bounds memory, ~32 MB).
_CHUNK_ENTRIES = 2**22


def classical_value(game, method="enumeration", solver=None, **solver_options):
    """The shared-randomness value ω_c of ``game`` as a :class:`~qpolicy.bounds.results.Bound`.

    ``method="enumeration"`` (default, exact, no solver): ``value`` is the best deterministic
    strategy's value, ``strategy`` that strategy, a tuple of int arrays ``f_i[o_i] -> a_i`` (one
    per player); ``details["lower_bound"]``/``["upper_bound"]`` bracket ω_c with the
    floating-point rounding of the sums accounted for (proved).
    ``method="lp"``: the compact local-polytope LP (see the module docstring) for the
    normalized payoff (:func:`qpolicy.bounds.lp.normalize`, so the result is invariant under
    ``V -> aV + b``, a > 0), solved by ``solver`` (default: HiGHS, then Clarabel, then SCS until
    one certifies it, :func:`qpolicy.bounds.lp.solve_lp`).  ``value`` is a *proved* upper bound
    (LP dual, outward rounding); ``strategy`` the table of a deterministic strategy from the
    LP's support and ``details["lower_bound"]`` its value (proved lower bound), with
    ``details["deterministic_strategy"]``, ``["attempts"]`` (solver, status, certified gap).
    Raises ``SolverError`` if no solver certifies the LP.

    Example
    -------
    >>> from qpolicy import games
    >>> from qpolicy.bounds import classical_value
    >>> round(classical_value(games.chsh()).value, 12)
    0.75
    """
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    if method == "enumeration":
        return _enumerate(game)
    if method == "lp":
        return _local_lp(game, solver, solver_options)
    raise ValueError(f"method must be 'enumeration' or 'lp', got {method!r}")


def deterministic_table(strategy, n_answers):
    """The table ``p[a..., o...]`` of a deterministic strategy ``f_i[o_i] -> a_i`` (one per player)."""
    if len(strategy) != len(n_answers):
        raise ValueError(f"strategy must have one function per player ({len(n_answers)}), "
                         f"got {len(strategy)}")
    table = np.ones(())
    for k, (f, n_a) in enumerate(zip(strategy, n_answers)):
        f = np.asarray(f)
        if f.ndim != 1 or f.dtype.kind not in "iu" or f.size == 0 or f.min() < 0 or f.max() >= n_a:
            raise ValueError(f"strategy[{k}] must be a 1-d integer array of answers in "
                             f"range({n_a}), got {f!r}")
        local = np.zeros((n_a, f.size))
        local[f, np.arange(f.size)] = 1.0
        table = np.multiply.outer(table, local)
    n = len(n_answers)
    # outer products give (a_1, o_1, a_2, o_2, ...): reorder to (a_1..a_n, o_1..o_n)
    return table.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])


# -- shared machinery ---------------------------------------------------------------------------

class _ResponderForm:
    """A game (or table shape) rearranged so the responder is the last player.

    ``order`` is the player permutation (responder last); ``sizes`` the number of deterministic
    strategies of each non-responder; ``n_joint`` their product.
    """

    def __init__(self, n_answers, n_questions):
        n = len(n_answers)
        log_counts = [q * math.log(a) for a, q in zip(n_answers, n_questions)]
        responder = max(range(n), key=lambda k: (log_counts[k], k))
        self.order = [k for k in range(n) if k != responder] + [responder]
        self.n_answers = tuple(n_answers[k] for k in self.order)
        self.n_questions = tuple(n_questions[k] for k in self.order)
        # Python integers: exact however large, so the size checks below cannot overflow
        self.sizes = tuple(a**q for a, q in zip(self.n_answers[:-1], self.n_questions[:-1]))
        self.n_joint = math.prod(self.sizes)

    def permute(self, table):
        """Reorder a ``[a..., o...]`` array to the responder-last player order."""
        n = len(self.order)
        return np.transpose(table, self.order + [n + k for k in self.order])

    def unpermute(self, table):
        """Inverse of :meth:`permute`."""
        n = len(self.order)
        inverse = list(np.argsort(self.order))
        return np.transpose(table, inverse + [n + k for k in inverse])

    def strategies(self, joint_index):
        """Functions ``f_i[s, o_i]`` of each non-responder for the joint strategy indices ``s``."""
        per_player = np.unravel_index(joint_index, self.sizes) if self.sizes else ()  # 1 player
        functions = []
        for s_i, n_a, n_q in zip(per_player, self.n_answers, self.n_questions):
            powers = n_a ** np.arange(n_q, dtype=np.int64)
            functions.append((s_i[:, None] // powers) % n_a)       # digit o of s_i in base n_a
        return functions

    def response_payoffs(self, weights, joint_index):
        """``M[s, a_r, o_r] = sum_{o_-r} W[f_s(o_-r), a_r, o_-r, o_r]`` for a block of strategies.

        ``weights`` is ``W = mu V`` in the responder-last order.
        """
        m = len(self.order) - 1
        if m == 0:
            return weights[None]
        # W[f_1[s, o_1], ..., f_m[s, o_m], :, o_1, ..., o_m, :]: the advanced indices broadcast
        # to (s, o_1..o_m) and (being split by a slice) come first: (s, o_1..o_m, a_r, o_r)
        answers = [f.reshape((len(joint_index),) + _axis_shape(k, n_q, m))
                   for k, (f, n_q) in enumerate(zip(self.strategies(joint_index),
                                                    self.n_questions))]
        questions = [np.arange(n_q).reshape((1,) + _axis_shape(k, n_q, m))
                     for k, n_q in enumerate(self.n_questions[:-1])]
        gathered = weights[tuple(answers) + (slice(None),) + tuple(questions) + (slice(None),)]
        return gathered.sum(axis=tuple(range(1, m + 1)))


def _axis_shape(k, size, m):
    """Shape ``(1, .., size, .., 1)`` of length m with ``size`` at position k (for broadcasting)."""
    return tuple(size if j == k else 1 for j in range(m))


# -- method 1: enumeration with best response ---------------------------------------------------

def _enumerate(game):
    start = time.perf_counter()
    value, strategy, form = best_deterministic(game.weights)
    # every strategy's value was summed in floating point over the question tuples: each sum is
    # within γ_n sum_o max_a |W[a, o]| of the exact one, so the exact maximum is below this
    n_terms = math.prod(game.n_questions) * game.n_answers[form.order[-1]] + 2
    rounding = upper_sum(np.abs(game.weights).max(axis=tuple(range(game.n_players))))
    upper = float(np.nextafter(value + 4 * n_terms * 2.0**-53 * rounding, np.inf))
    lower = _strategy_lower(game.weights, strategy)
    return Bound(value=value, kind="classical", solver=None, status="exact", strategy=strategy,
                 seconds=time.perf_counter() - start, **proved_fields(lower, upper),
                 details={"method": "enumeration", "responder": form.order[-1],
                          "enumerated_strategies": form.n_joint,
                          "lower_bound": lower, "upper_bound": upper})


def best_deterministic(weights):
    """Maximize ``<weights, d>`` over deterministic tables ``d`` by enumeration + best response.

    ``weights[a_1..a_n, o_1..o_n]`` is any real array (``mu V`` for a game, Bell coefficients
    for a local bound).  Returns ``(value, strategy, form)`` with ``strategy`` a tuple of int
    arrays ``f_i[o_i] -> a_i`` attaining the maximum.
    """
    values, strategies, form = top_deterministic(weights, 1)
    return values[0], strategies[0], form


def top_deterministic(weights, count):
    """The ``count`` best non-responder strategies, each with the responder's best response.

    Returns ``(values, strategies, form)``: values in decreasing order, ``strategies[j]`` a tuple
    of ``f_i[o_i] -> a_i``; ``values[0]`` is the maximum of ``<weights, d>`` over deterministic
    ``d``.  Streams over blocks of strategies, so memory stays bounded.
    """
    n = weights.ndim // 2
    form = _ResponderForm(weights.shape[:n], weights.shape[n:])
    if form.n_joint > MAX_ENUMERATED:
        raise ValueError(f"game too large for enumeration: the non-responding players have more "
                         f"than {MAX_ENUMERATED:.3g} joint deterministic strategies")
    weights = form.permute(weights)
    per_strategy = form.n_answers[-1] * form.n_questions[-1] * math.prod(form.n_questions[:-1])
    chunk = max(1, _CHUNK_ENTRIES // per_strategy)
    best_values, best_index = np.empty(0), np.empty(0, dtype=np.int64)
    for begin in range(0, form.n_joint, chunk):
        block = np.arange(begin, min(begin + chunk, form.n_joint), dtype=np.int64)
        values = np.concatenate([best_values,
                                 form.response_payoffs(weights, block).max(axis=1).sum(axis=1)])
        index = np.concatenate([best_index, block])
        keep = np.argsort(-values, kind="stable")[:count]   # ties: the lowest index first
        best_values, best_index = values[keep], index[keep]
    return [float(v) for v in best_values], _with_best_responses(form, weights, best_index), form


def _with_best_responses(form, weights, joint_index):
    """Strategies ``f_i[o_i] -> a_i`` (original player order) of the non-responders' joint
    strategies ``joint_index``, each completed by the responder's best response to ``weights``
    (responder-last order)."""
    responses = form.response_payoffs(weights, joint_index).argmax(axis=1)     # (count, O_r)
    functions = form.strategies(joint_index) + [responses]
    strategies = []
    for j in range(len(joint_index)):
        strategy = [None] * len(form.order)
        for k, f in zip(form.order, functions):
            strategy[k] = f[j].astype(np.int64)
        strategies.append(tuple(strategy))
    return strategies


# -- method 2: LP over the local polytope -------------------------------------------------------

def local_polytope_size(n_answers, n_questions):
    """Number of variables ``S_-r * A_r * O_r`` of the compact local-polytope LP."""
    form = _ResponderForm(n_answers, n_questions)
    return form.n_joint * form.n_answers[-1] * form.n_questions[-1]


def local_polytope_map(n_answers, n_questions):
    """The compact local-polytope parameterization ``p = A r`` (see the module docstring).

    Returns ``(A, form)``: ``A`` a sparse 0/1 matrix mapping the LP variables
    ``r[s, a_r, o_r]`` (flattened) to the table ``p`` in the responder-last order (flattened),
    and the :class:`_ResponderForm`.  Local tables are exactly ``A r`` with ``r ≥ 0`` and
    ``sum_{a_r} r[s, a_r, o_r] = q_s`` independent of ``o_r``, ``sum_s q_s = 1``.
    """
    n_vars = local_polytope_size(n_answers, n_questions)
    if n_vars > MAX_LP_VARIABLES:
        raise ValueError(f"game too large for the local-polytope LP: more than "
                         f"{MAX_LP_VARIABLES:.3g} variables")
    form = _ResponderForm(n_answers, n_questions)
    n_a, n_q = form.n_answers[-1], form.n_questions[-1]
    table_shape = form.n_answers + form.n_questions
    m = len(form.order) - 1
    joint = np.arange(form.n_joint, dtype=np.int64)
    # every (s, a_r, o_1..o_m, o_r): variable r[s, a_r, o_r] contributes to the table entry
    # p[f_1(o_1), .., f_m(o_m), a_r, o_1, .., o_m, o_r]
    def axis(values, position):
        return values.reshape(tuple(len(values) if j == position else 1 for j in range(m + 3)))
    s_idx, a_idx, o_r_idx = axis(joint, 0), axis(np.arange(n_a), 1), axis(np.arange(n_q), m + 2)
    o_idx = [axis(np.arange(size), 2 + k) for k, size in enumerate(form.n_questions[:-1])]
    answers = [f.reshape((form.n_joint, 1) + tuple(f.shape[1] if j == k else 1
                                                   for j in range(m)) + (1,))
               for k, f in enumerate(form.strategies(joint))]
    rows = np.ravel_multi_index(np.broadcast_arrays(*answers, a_idx, *o_idx, o_r_idx),
                                table_shape).ravel()
    cols = np.ravel_multi_index(np.broadcast_arrays(s_idx, a_idx, o_r_idx, *o_idx)[:3],
                                (form.n_joint, n_a, n_q)).ravel()
    A = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(math.prod(table_shape), n_vars))
    return A, form


def local_polytope_constraints(r, form):
    """cvxpy constraints making ``r`` (flattened ``[s, a_r, o_r]``) a point of the local polytope."""
    n_a, n_q = form.n_answers[-1], form.n_questions[-1]
    R = cp.reshape(r, (form.n_joint * n_a, n_q), order="C")
    # sum_{a_r} r[s, a_r, o_r] as a (S, O_r) matrix: a sparse summation operator on the rows
    sum_answers = sp.kron(sp.eye(form.n_joint), np.ones((1, n_a)), format="csr")
    marginal = sum_answers @ R
    q = marginal[:, 0]
    return [r >= 0, cp.sum(q) == 1] + \
        ([marginal[:, 1:] == cp.reshape(q, (form.n_joint, 1), order="C") @ np.ones((1, n_q - 1))]
         if n_q > 1 else [])


def _local_lp(game, solver, solver_options):
    start = time.perf_counter()
    A, form = local_polytope_map(game.n_answers, game.n_questions)    # refuses large games first
    W_n, shift, scale, slack = normalize(game.weights)
    weights_n = form.permute(W_n)
    objective = A.T @ weights_n.ravel()
    E, f = _local_equalities(form)

    def build():
        r = cp.Variable(A.shape[1])
        equalities = E @ r == f
        problem = cp.Problem(cp.Maximize(objective @ r), [r >= 0, equalities])
        return problem, lambda: (r.value, equalities.dual_value)

    def certify(extracted):
        r, nu = extracted
        if r is None or nu is None:
            raise ValueError("the solver returned no primal or dual point")
        # upper: <objective, r> = <ν, f> + <objective − E^T ν, r> and every r lies in [0, 1]
        nu = np.asarray(nu, dtype=float)
        residual = upper_matvec(sp.hstack([sp.identity(objective.size), -E.T], format="csr"),
                                np.concatenate([objective, nu]))
        upper = upper_sum([upper_dot(f, nu), upper_sum(np.maximum(residual, 0.0))])
        # lower: the best deterministic strategy among those the LP mixes (complementary
        # slackness: at an optimum each of them, with its best response, is optimal)
        q = np.asarray(r, dtype=float).reshape(form.n_joint, -1, form.n_questions[-1])[:, :, 0]
        q = q.sum(axis=1)
        support = np.argsort(-q, kind="stable")[:_SUPPORT_CANDIDATES]
        payoffs = form.response_payoffs(weights_n, support).max(axis=1).sum(axis=1)
        strategy = _with_best_responses(form, weights_n, support[[int(np.argmax(payoffs))]])[0]
        return _strategy_lower(W_n, strategy), upper, strategy

    lower_n, upper_n, strategy, solver_name, status, attempts = solve_lp(
        build, certify, solver, what="local-polytope LP", nonzeros=A.nnz + E.nnz,
        **solver_options)
    upper = denormalize_upper(upper_n, shift, scale, slack)
    lower = _strategy_lower(game.weights, strategy)
    return Bound(value=upper, kind="classical", **proved_fields(lower, upper),
                 solver=solver_name, status=status,
                 strategy=deterministic_table(strategy, game.n_answers),
                 seconds=time.perf_counter() - start,
                 details={"method": "lp", "responder": form.order[-1], "n_variables": A.shape[1],
                          "lower_bound": lower,
                          "deterministic_strategy": strategy, "attempts": attempts})


#: Deterministic strategies of the LP's support tried for the lower bound (largest weights).
_SUPPORT_CANDIDATES = 64


def _local_equalities(form):
    """``(E, f)``: ``sum_s sum_a r[s, a, 0] = 1`` and ``sum_a r[s, a, o] = sum_a r[s, a, 0]``
    for ``o ≥ 1`` (the constraints of :func:`local_polytope_constraints`, as one matrix)."""
    n_a, n_q, S = form.n_answers[-1], form.n_questions[-1], form.n_joint
    sum_answers = sp.kron(sp.identity(S), sp.kron(np.ones((1, n_a)), sp.identity(n_q)),
                          format="csr")                       # (S * O_r) x (S * A_r * O_r)
    normalization = sp.kron(np.ones((1, S)), sp.csr_matrix(([1.0], ([0], [0])), shape=(1, n_q)))
    difference = sp.kron(sp.identity(S), sp.hstack([-np.ones((n_q - 1, 1)),
                                                    sp.identity(n_q - 1)]), format="csr")
    E = sp.vstack([normalization @ sum_answers, difference @ sum_answers], format="csr")
    return E, np.concatenate([[1.0], np.zeros(E.shape[0] - 1)])


def _strategy_lower(weights, strategy):
    """A proved lower bound on the value ``<weights, d>`` of a deterministic strategy."""
    table = deterministic_table(strategy, weights.shape[:weights.ndim // 2])
    return lower_sum(np.asarray(weights)[table == 1])
