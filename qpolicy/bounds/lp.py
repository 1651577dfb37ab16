r"""What the linear-programming bounds share: payoff normalization, solver choice with fallback,
and rounding that makes a floating-point dual certificate a *proved* bound.

**Scale.**  LP solvers stop at absolute tolerances (~1e-8), so a payoff multiplied by 1e-9 is
solved to noise and one multiplied by 1e12 overflows their tolerances.  Every strategy table
satisfies :math:`\sum_a p(a|o) = 1`, hence for ``W = μV``

.. math::  \langle W, p\rangle = \underbrace{\textstyle\sum_o m(o)}_{\text{shift}} +
           s\,\langle W_n, p\rangle, \qquad m(o) = \min_a W[a, o],\quad
           W_n = (W - m)/s,\quad s = \textstyle\sum_o \max_a (W[a,o] - m(o)),

and :math:`\langle W_n, p\rangle \in [0, 1]`.  The LP is solved for ``W_n`` (:func:`normalize`)
and the bounds are mapped back, so ``value(aV + b) = a·value(V) + b`` for every ``a > 0``.

**Rigour.**  An upper bound is proved from a dual point of the normalized LP: for any
multipliers, ``<W_n, p> = (dual objective) + <residual, x>`` for every feasible ``x``, and the
residual's positive part times a box containing the feasible set bounds the rest.  All of it is
evaluated with :func:`upper_matvec`, which returns a vector that is provably ``≥`` the exact
product (a-priori error bound of floating-point dot products, Higham, *Accuracy and Stability
of Numerical Algorithms*, 2nd ed., §3.1: ``|fl(x·y) − x·y| ≤ γ_k |x|·|y|``,
``γ_k = k u / (1 − k u)``, ``u = 2^-53``; plus the subnormal floor).  The map back from ``W_n``
to ``W`` adds a proved bound on the rounding of ``W_n`` itself (:func:`denormalize_upper`).
Lower bounds are never taken from the solver: they are the values of explicit strategies,
evaluated with :func:`lower_dot`.

**Solvers.**  :func:`solve_lp` tries the solvers of :data:`LP_SOLVERS` in turn (HiGHS, a
simplex/interior-point code with crossover that returns vertex solutions and exact duals,
first): a solve is accepted when the certified interval it yields is narrower than
:data:`LP_GAP_TOL` (relative to the payoff's range), whatever status the solver reported; else
the next solver is tried; :class:`~qpolicy.bounds.results.SolverError` only when none succeeds.
Solver banners and cvxpy's "Solution may be inaccurate" warnings are silenced; the statuses
are reported in ``details["attempts"]``.
"""
import contextlib
import math
import os
import sys
import warnings

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from qpolicy.bounds.results import Bound, SolverError

__all__ = ["LP_SOLVERS", "LP_GAP_TOL", "normalize", "denormalize_upper", "upper_matvec",
           "lower_matvec", "upper_dot", "lower_dot", "upper_sum", "lower_sum", "solve_lp",
           "silenced", "proved_fields"]

#: Solvers tried in turn for an LP (when the caller does not name one).
LP_SOLVERS = ("HIGHS", "CLARABEL", "SCS")
#: Widest certified interval (upper − lower, in units of the payoff's range ``s``) accepted
#: from one solver before the next is tried.
LP_GAP_TOL = 1e-7
#: Solver used when solver options are given without a solver name (options are per solver).
DEFAULT_NAMED = "CLARABEL"
#: Constraint non-zeros from which HiGHS runs its interior-point method instead of choosing.
HIGHS_IPM_NONZEROS = 20000

_U = 2.0 ** -53          # unit roundoff of float64
_ETA = 2.0 ** -1074      # smallest positive subnormal: absolute error floor of one operation


def _gamma(k):
    return k * _U / (1.0 - k * _U)


def upper_matvec(M, x):
    """A float vector ``≥ M @ x`` entrywise in exact arithmetic (``M`` sparse/dense, floats).

    ``|fl(M x) − M x| ≤ γ_k |M| |x|`` with k the most non-zeros of a row; the error term is
    computed with a factor 4 of slack (it absorbs the rounding of the error term itself) and the
    result is moved one ulp up.
    """
    M = sp.csr_matrix(M)
    x = np.asarray(x, dtype=float)
    k = int(np.diff(M.indptr).max()) if M.shape[0] and M.nnz else 0
    y = np.asarray(M @ x, dtype=float).ravel()
    if k == 0:
        return y
    error = np.asarray(abs(M) @ np.abs(x), dtype=float).ravel()
    return np.nextafter(y + (4.0 * _gamma(k + 2) * error + 4.0 * (k + 2) * _ETA), np.inf)


def lower_matvec(M, x):
    """A float vector ``≤ M @ x`` entrywise in exact arithmetic."""
    return -upper_matvec(-sp.csr_matrix(M), x)


def upper_dot(x, y):
    """A float ``≥ x·y`` in exact arithmetic."""
    return float(upper_matvec(sp.csr_matrix(np.asarray(x, dtype=float).reshape(1, -1)), y)[0])


def lower_dot(x, y):
    """A float ``≤ x·y`` in exact arithmetic."""
    return -upper_dot(-np.asarray(x, dtype=float), y)


def upper_sum(x):
    """A float ``≥ sum(x)`` in exact arithmetic, and equal to it when it is representable.

    ``math.fsum`` is correctly rounded; the sign of the (again correctly rounded) residual
    ``sum(x) − r`` says on which side of the exact sum ``r`` lies.
    """
    x = [float(v) for v in np.asarray(x, dtype=float).ravel()]
    r = math.fsum(x)
    if not math.isfinite(r):
        return r
    return r if math.fsum(x + [-r]) <= 0 else float(np.nextafter(r, np.inf))


def lower_sum(x):
    """A float ``≤ sum(x)`` in exact arithmetic, and equal to it when it is representable."""
    return -upper_sum(-np.asarray(x, dtype=float))


def normalize(weights):
    """``(W_n, shift, scale, slack)`` for ``W = weights[a..., o...]`` (see the module docstring).

    ``W_n = fl((W − m)/s) ∈ [0, 1]``; ``slack[o] ≥ max_a |W − m − s W_n|`` proves how far the
    rounded ``W_n`` is from the exact rescaling (≤ 3u|W − m|).  ``scale`` is 0 when no answer
    matters (every table has the value ``shift``); then ``W_n`` is zero.
    """
    W = np.asarray(weights, dtype=float)
    n = W.ndim // 2
    answers = tuple(range(n))
    m = W.min(axis=answers, keepdims=True)
    t = W - m
    scale = float(np.sum(t.max(axis=answers)))
    if not np.isfinite(scale):
        raise ValueError("the payoff's range overflows float64: rescale the payoff")
    W_n = t / scale if scale > 0 else np.zeros_like(t)
    slack = 3.0 * _U * np.abs(t).max(axis=answers) + 4.0 * _ETA
    return W_n, m.reshape(W.shape[n:]), scale, slack


def denormalize_upper(upper_n, shift, scale, slack):
    """An upper bound on ``<W, p>`` from an upper bound ``upper_n`` on ``<W_n, p>`` (proved)."""
    # one ulp above fl(scale * upper_n) is above the exact product
    return upper_sum([upper_sum(shift), upper_sum(slack),
                      float(np.nextafter(scale * upper_n, np.inf))])


@contextlib.contextmanager
def silenced():
    """Silence solver banners written to the file descriptors (HiGHS's licence line) and
    cvxpy's inaccuracy warnings; statuses are reported in the results instead."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    saved = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            saved.append((fd, os.dup(fd)))
            os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:        # no usable descriptors (embedded interpreters): just warnings
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        saved = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


def _default_options(name, nonzeros):
    """Per-shape solver options: HiGHS's interior point (with crossover, so still a vertex and
    exact duals) on large LPs, where its simplex is slow (3-player game, 4 answers, 5 questions,
    4e4 non-zeros: 3 s instead of 24 s); SCS at tight tolerances."""
    if name == "HIGHS":
        return {"highs_options": {"solver": "ipm" if nonzeros >= HIGHS_IPM_NONZEROS
                                  else "choose"}}
    if name == "SCS":
        return {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200000}
    return {}


def solve_lp(build, certify, solver=None, what="LP", nonzeros=0, **solver_options):
    """Solve an LP with solver fallback and return the certified result.

    ``build()`` returns ``(problem, extract)`` — a fresh cvxpy problem and a function reading
    the solved variables/duals; ``certify(extracted)`` returns ``(lower_n, upper_n, payload)``
    (proved bounds of the normalized problem); ``nonzeros`` (of the constraint matrix) picks
    per-shape options (:func:`_default_options`).  ``solver=None`` tries :data:`LP_SOLVERS` in
    order and accepts the first whose certified gap ``upper_n − lower_n ≤`` :data:`LP_GAP_TOL`;
    a named solver (or solver options, which are solver-specific) is used alone.  Returns
    ``(lower_n, upper_n, payload, solver, status, attempts)``; raises
    :class:`~qpolicy.bounds.results.SolverError` (status of the last attempt) if none succeeds.
    """
    if solver is None and not solver_options:
        chain = [(name, _default_options(name, nonzeros)) for name in LP_SOLVERS]
    else:
        chain = [(DEFAULT_NAMED if solver is None else solver, solver_options)]
    attempts, best = [], None
    for name, options in chain:
        problem, extract = build()
        try:
            with silenced():
                problem.solve(solver=name, **options)
        except (cp.error.SolverError, ValueError, TypeError) as exc:
            attempts.append((str(name), f"solver_error: {exc}"))
            continue
        status = problem.status
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            attempts.append((str(name), status))
            continue
        try:
            lower_n, upper_n, payload = certify(extract())
        except (TypeError, ValueError, FloatingPointError) as exc:   # missing duals/primal
            attempts.append((str(name), f"{status}, no certificate: {exc}"))
            continue
        gap = upper_n - lower_n
        attempts.append((str(name), status, gap))
        if best is None or gap < best[1] - best[0]:
            best = (lower_n, upper_n, payload, str(name), status)
        if gap <= LP_GAP_TOL:
            break
    if best is None or best[1] - best[0] > LP_GAP_TOL:
        last = attempts[-1]
        detail = "; ".join(f"{a[0]}: {a[1]}" + (f" (certified gap {a[2]:.2g})" if len(a) > 2
                                                 else "") for a in attempts)
        raise SolverError(f"no solver certified the {what} to {LP_GAP_TOL:g} ({detail})",
                          last[1] if isinstance(last[1], str) else "solver_error")
    return best + (attempts,)



def proved_fields(lower=None, upper=None):
    """``{"lower": .., "upper": ..}`` for :class:`~qpolicy.bounds.results.Bound` when it has the
    proved-bound fields (``Bound.lower``/``Bound.upper``), else ``{}``."""
    fields = getattr(Bound, "__dataclass_fields__", {})
    return {key: (None if value is None else float(value))
            for key, value in (("lower", lower), ("upper", upper)) if key in fields}
