"""Which class of the hierarchy F ⊂ SR ⊂ Q ⊂ NS ⊂ C (paper Prop. 2, Fig. 1) does a table belong to?

A table ``p[a_1..a_n, o_1..o_n] = p(a | o)`` is tested for

* non-signaling (eq. (5)): :func:`nonsignaling_violation`, :func:`is_nonsignaling` (re-exported
  from :mod:`qpolicy.policies`);
* locality (shared randomness, eq. (4)): :func:`local_distance` — the L1 distance from ``p`` to
  the local polytope, an LP in the compact responder form of :mod:`qpolicy.bounds.classical`
  (for tables too large for it, its dual by cutting planes) — and :func:`in_local_polytope`
  (distance ≤ :data:`LOCAL_ATOL`);
* a Bell inequality separating a non-local ``p`` from the local polytope:
  :func:`bell_certificate`.  It solves the *dual* of the distance LP,

      max_B  <B, p> - max_{d deterministic} <B, d>   subject to  -1 ≤ B ≤ 1,

  whose optimum equals the L1 distance (LP duality), so ``p`` is local iff no certificate exists.
  The local bound of the returned inequality is recomputed exactly by enumeration, independently
  of the LP.  Small tables use the compact LP; large ones (the Cube's 3×3×8×8 tables) a
  cutting-plane method whose separation oracle is that same exact enumeration;
* :func:`classify`: the smallest class the tests above (and NPA, when available) certify.

Reference: N. Brunner et al., "Bell nonlocality", Rev. Mod. Phys. 86, 419 (2014), Sec. II.B–C.
"""
import time
import warnings
from dataclasses import dataclass
from typing import Optional

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.classical import (best_deterministic, deterministic_table,
                                      local_polytope_constraints, local_polytope_map,
                                      local_polytope_size, top_deterministic)
from qpolicy.bounds.results import MEMBER, NON_MEMBER, UNDECIDED, Bound, SolverError, solve
from qpolicy.policies import check_policy_table, is_nonsignaling, nonsignaling_violation
from qpolicy.quantum import born
from qpolicy.validation import ATOL, check_positive

__all__ = ["BellInequality", "nonsignaling_violation", "is_nonsignaling", "local_distance",
           "in_local_polytope", "bell_certificate", "is_factorized", "classify", "LOCAL_ATOL"]

#: A table is called local when its L1 distance to the local polytope is at most this.  Clarabel
#: solves the LPs to ~1e-8 per entry; the distance sums over all entries of the table.
LOCAL_ATOL = 1e-6
#: Above this many variables the compact LPs give way to cutting planes (measured: Clarabel
#: solves the 972-variable Tetra LPs in < 0.5 s but stopped with NumericalError after 189 s on
#: the 157 464-variable Cube distance LP).
COMPACT_LP_LIMIT = 20_000
#: Cutting planes stop when no deterministic table exceeds the LP's local bound by more than this.
CUT_TOL = 1e-9
#: Most LPs solved by the cutting-plane method before it gives up (raising SolverError).
MAX_CUTS = 5000
#: Violated deterministic strategies added per cutting-plane round (the best ones found by the
#: enumeration): fewer, larger LPs.
CUTS_PER_ROUND = 10
#: Default solver of the separation LPs behind :func:`bell_certificate` (both methods): a simplex
#: method returns a vertex B even when the optimum is degenerate, where Clarabel reported
#: "optimal_inaccurate" on 5 of 190 non-signaling-optimal tables of random small games (2-3
#: players, found by fuzzing; one is kept in tests/data; with HiGHS 0 of 300 failed and both
#: methods agreed to 1e-6), and re-solved one-cut-per-round Cube cutting planes 10x faster.
#: (The distance LP keeps Clarabel: HiGHS's 1e-7 feasibility tolerance left a distance of 5e-7
#: for a local table, too close to LOCAL_ATOL.)
CERTIFICATE_SOLVER = "HIGHS"


@dataclass(frozen=True)
class BellInequality:
    """A Bell inequality ``<B, q> ≤ local_bound`` (for every local ``q``) violated by a table.

    ``coefficients``: ``B[a..., o...]`` (entries in [-1, 1]); ``local_bound``: the exact maximum
    of ``<B, d>`` over deterministic tables (by enumeration); ``value``: ``<B, p>`` for the table
    it was computed for; ``violation = value - local_bound > 0``; ``optimal_strategy``: a
    deterministic strategy attaining the local bound.
    """
    coefficients: np.ndarray
    local_bound: float
    value: float
    violation: float
    optimal_strategy: tuple
    solver: Optional[str] = None
    status: Optional[str] = None

    def __repr__(self):
        return (f"BellInequality(shape={self.coefficients.shape}, local_bound="
                f"{self.local_bound:.7g}, value={self.value:.7g}, violation={self.violation:.7g}, "
                f"solver={self.solver!r}, status={self.status!r})")

    def evaluate(self, table):
        """``<B, table>`` for any table of the same shape."""
        table = np.asarray(table, dtype=float)
        if table.shape != self.coefficients.shape:
            raise ValueError(f"table must have shape {self.coefficients.shape}, got {table.shape}")
        return float(np.sum(self.coefficients * table))


def local_distance(p, solver=None, method="auto", **solver_options):
    """L1 distance ``min_q sum_{a,o} |p(a|o) - q(a|o)|`` from ``p`` to the local polytope.

    ``method="compact"``: an LP over local ``q`` in the compact responder form (see
    :mod:`qpolicy.bounds.classical`), solved by ``solver`` (default Clarabel); the returned
    :class:`~qpolicy.bounds.results.Bound`'s ``strategy`` is the nearest local table ``q``.
    ``"cutting_planes"``: the dual, ``max_B <B, p> - max_d <B, d>`` over ``|B| ≤ 1`` (see
    :func:`bell_certificate`; default solver HiGHS), whose optimum equals the distance; the
    value is ``<B, p>`` minus the exactly enumerated local bound of the optimal ``B``, and
    ``strategy`` is that ``B``.  ``"auto"``: compact up to :data:`COMPACT_LP_LIMIT` variables.
    """
    p = check_policy_table(p)
    start = time.perf_counter()
    method = _resolve_method(p, method)
    if method == "cutting_planes":
        B, solver, status = _separation_cutting_planes(p, solver, solver_options)
        value = float(np.sum(B * p)) - best_deterministic(B)[0]
        return Bound(value=max(value, 0.0), kind="local_distance", solver=solver, status=status,
                     strategy=B, seconds=time.perf_counter() - start,
                     details={"method": method})
    n = p.ndim // 2
    A, form = local_polytope_map(p.shape[:n], p.shape[n:])
    r = cp.Variable(A.shape[1])
    target = form.permute(p).ravel()
    problem = cp.Problem(cp.Minimize(cp.norm1(A @ r - target)), local_polytope_constraints(r, form))
    value, solver, status, _ = solve(problem, solver, what="local-distance LP", **solver_options)
    nearest = form.unpermute((A @ r.value).reshape(form.n_answers + form.n_questions))
    return Bound(value=max(value, 0.0), kind="local_distance", solver=solver, status=status,
                 strategy=nearest, seconds=time.perf_counter() - start,
                 details={"method": method})


def in_local_polytope(p, solver=None, atol=LOCAL_ATOL, method="auto", **solver_options):
    """True iff ``p`` is within L1 distance ``atol`` of the local (shared-randomness) polytope.

    The distance is :func:`local_distance`'s (``method`` "compact", "cutting_planes" or "auto",
    with the solvers named there).

    Example
    -------
    >>> import numpy as np
    >>> from qpolicy.bounds import in_local_polytope
    >>> from qpolicy.policies import pr_box
    >>> in_local_polytope(pr_box())
    False
    """
    atol = check_positive(atol, "atol")
    return local_distance(p, solver, method, **solver_options).value <= atol


def _resolve_method(p, method):
    if method == "auto":
        n = p.ndim // 2
        size = local_polytope_size(p.shape[:n], p.shape[n:])
        return "compact" if size <= COMPACT_LP_LIMIT else "cutting_planes"
    if method in ("compact", "cutting_planes"):
        return method
    raise ValueError(f"method must be 'auto', 'compact' or 'cutting_planes', got {method!r}")


def bell_certificate(p, solver=None, atol=LOCAL_ATOL, method="auto", **solver_options):
    """A Bell inequality violated by ``p``, or ``None`` when ``p`` is local (within ``atol``).

    Solves the separation LP ``max <B, p> - t`` over ``-1 ≤ B ≤ 1`` and ``t ≥ <B, d>`` for every
    deterministic table ``d`` — the LP dual of :func:`local_distance`, so the optimal violation
    equals the L1 distance to the local polytope.  Two methods:

    * ``"compact"``: the constraints written compactly, ``t ≥ sum_{o_r} max_{a_r} M_f[a_r, o_r]``
      for every joint strategy ``f`` of the non-responders (one LP);
    * ``"cutting_planes"``: keep only the deterministic tables found so far; after each LP add the
      :data:`CUTS_PER_ROUND` that most violate ``t ≥ <B, d>``, found by exact enumeration, until
      none does (to :data:`CUT_TOL`).  Each LP is small (``p.size + 1`` variables); on Cube-size
      tables 16 LPs, about 1.5 s with HiGHS (see benchmarks/RESULTS.md);
    * ``"auto"`` (default): compact up to :data:`COMPACT_LP_LIMIT` LP variables, else cutting
      planes.

    ``solver`` defaults to HiGHS (:data:`CERTIFICATE_SOLVER`; why: see there), not the package's
    Clarabel.  The returned :class:`BellInequality`'s local bound is always recomputed exactly by
    enumeration, so the certificate does not rely on the LP's accuracy: for a local ``p`` no
    ``B`` can show a violation, whatever the solver returns.
    """
    p = check_policy_table(p)
    atol = check_positive(atol, "atol")
    if _resolve_method(p, method) == "compact":
        B, solver, status = _separation_compact(p, solver, solver_options)
    else:
        B, solver, status = _separation_cutting_planes(p, solver, solver_options)
    local_bound, strategy, _ = best_deterministic(B)
    value = float(np.sum(B * p))
    if value - local_bound <= atol:
        return None
    return BellInequality(coefficients=B, local_bound=local_bound, value=value,
                          violation=value - local_bound, optimal_strategy=strategy,
                          solver=solver, status=status)


def _separation_compact(p, solver, solver_options):
    solver = CERTIFICATE_SOLVER if solver is None else solver
    n = p.ndim // 2
    A, form = local_polytope_map(p.shape[:n], p.shape[n:])
    n_a, n_q = form.n_answers[-1], form.n_questions[-1]
    b = cp.Variable(p.size)                        # B in the responder-last order, flattened
    u = cp.Variable(form.n_joint * n_q)            # u[f, o_r] ≥ max_{a_r} M_f[a_r, o_r]
    t = cp.Variable()
    spread = sp.kron(sp.identity(form.n_joint), sp.kron(np.ones((n_a, 1)), sp.identity(n_q)),
                     format="csr")                 # u[f, o_r] -> (f, a_r, o_r)
    reshape_u = sp.kron(sp.identity(form.n_joint), np.ones((1, n_q)), format="csr")
    constraints = [b >= -1, b <= 1, A.T @ b <= spread @ u, reshape_u @ u <= t]
    problem = cp.Problem(cp.Maximize(form.permute(p).ravel() @ b - t), constraints)
    _, solver, status, _ = solve(problem, solver, what="Bell-certificate LP", **solver_options)
    return form.unpermute(b.value.reshape(form.n_answers + form.n_questions)), solver, status


def _separation_cutting_planes(p, solver, solver_options, cuts_per_round=None):
    solver = CERTIFICATE_SOLVER if solver is None else solver
    cuts_per_round = CUTS_PER_ROUND if cuts_per_round is None else cuts_per_round
    n_answers = p.shape[:p.ndim // 2]
    _, strategies, _ = top_deterministic(p, cuts_per_round)
    cuts = [deterministic_table(s, n_answers).ravel() for s in strategies]
    b, t = cp.Variable(p.size), cp.Variable()
    for _ in range(MAX_CUTS):
        problem = cp.Problem(cp.Maximize(p.ravel() @ b - t),
                             [b >= -1, b <= 1, np.array(cuts) @ b <= t])
        _, solver, status, _ = solve(problem, solver, what="cutting-plane LP", **solver_options)
        B = b.value.reshape(p.shape)
        values, strategies, _ = top_deterministic(B, cuts_per_round)
        if values[0] <= t.value + CUT_TOL:          # B satisfies every constraint: optimal
            return B, solver, status
        cuts += [deterministic_table(s, n_answers).ravel()
                 for value, s in zip(values, strategies) if value > t.value + CUT_TOL]
    raise SolverError(f"cutting planes did not converge in {MAX_CUTS} LPs", "iteration_limit")


def is_factorized(p, atol=ATOL):
    """True iff ``p(a|o) = prod_k p_k(a_k|o_k)`` for its own single-party marginals (within atol)."""
    p = check_policy_table(p)
    atol = check_positive(atol, "atol")
    if not is_nonsignaling(p, atol):
        return False
    n = p.ndim // 2
    product = np.ones(())
    for k in range(n):
        # p_k(a_k | o_k): sum out the other answers, read at the other questions = 0
        marginal = p.sum(axis=tuple(j for j in range(n) if j != k))
        marginal = marginal[(slice(None),) + tuple(slice(None) if j == k else 0 for j in range(n))]
        product = np.multiply.outer(product, marginal)
    order = [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]
    return float(np.max(np.abs(product.transpose(order) - p))) <= atol


def classify(p, level=1, solver=None, atol=ATOL, strategy=None, distance=None):
    """The smallest class of F ⊂ SR ⊂ Q ⊂ NS ⊂ C that the available tests certify for ``p``.

    Returns one of

    * ``"factorized"`` — a product of independent local policies (class F);
    * ``"shared_randomness"`` — in the local polytope (SR), not factorized;
    * ``"quantum"`` — non-local, and ``strategy = (rho, povms)`` is given and produces ``p`` by
      the Born rule (within ``atol``): an explicit quantum strategy certifies class Q;
    * ``f"npa{level}"`` (e.g. ``"npa1"``, ``"npa1+AB"``) — non-local and inside the NPA
      relaxation at ``level``, no strategy given: *consistent with* a quantum strategy (Q), not
      a proof of one;
    * ``"nonsignaling"`` — non-signaling, non-local, and excluded from the quantum set by NPA at
      ``level`` (post-quantum, like the PR box): a certified non-member
      (:func:`qpolicy.bounds.npa.npa_membership`).
    * ``"undecided"`` — non-signaling, non-local, and the NPA test's rigorous bounds straddle its
      tolerance: neither ``npa…`` nor ``nonsignaling`` is proved (call ``npa_membership`` for
      the interval).  If the NPA module is not installed this
      reads "non-signaling and non-local" and a warning says that Q was not tested;
    * ``"signaling"`` — a conditional table that violates eq. (5) (class C only).

    ``atol`` is the tolerance of the non-signaling, factorization and Born-rule checks (locality
    uses :data:`LOCAL_ATOL`); LPs and SDPs use ``solver`` (defaults as in
    :func:`in_local_polytope` and ``npa.npa_membership``).  ``distance``: the L1 distance from ``p`` to
    the local polytope if the caller already computed it (:func:`local_distance`'s value; the
    Cube's LP takes ~10 s), else it is computed here.  Raises ``ValueError`` if ``strategy`` does
    not produce ``p``.

    Example
    -------
    >>> import numpy as np
    >>> from qpolicy.bounds import classify
    >>> classify(np.full((2, 2, 2, 2), 0.25))         # independent fair coins
    'factorized'
    """
    p = check_policy_table(p)
    atol = check_positive(atol, "atol")
    if strategy is not None:
        rho, povms = strategy
        gap = float(np.max(np.abs(born(rho, povms) - p)))
        if gap > atol:
            raise ValueError(f"strategy does not produce p: max |born(rho, povms) - p| = "
                             f"{gap:.3g} > atol = {atol:g}")
    if not is_nonsignaling(p, atol=atol):
        return "signaling"
    if is_factorized(p, atol=atol):
        return "factorized"
    if distance is None:
        distance = local_distance(p, solver=solver).value
    elif isinstance(distance, bool) or not isinstance(distance, (int, float, np.floating)):
        raise TypeError(f"distance must be a number (local_distance(p).value), got "
                        f"{type(distance).__name__}")
    if distance <= LOCAL_ATOL:
        return "shared_randomness"
    if strategy is not None:
        return "quantum"
    try:
        from qpolicy.bounds.npa import npa_membership
    except ImportError:
        warnings.warn("qpolicy.bounds.npa is not available: classify cannot test the quantum "
                      "set and reports the non-local table as 'nonsignaling'", RuntimeWarning)
        return "nonsignaling"
    membership = npa_membership(p, level=level, solver=solver)
    if membership.status == MEMBER:
        return f"npa{membership.level}"
    return "nonsignaling" if membership.status == NON_MEMBER else UNDECIDED
