"""Result type and solver plumbing shared by every bound.

Bounds return a frozen :class:`Bound` rather than a bare float, so that a claim can be checked
and explained: which method, solver and status produced the number, and the object that
certifies it (an optimal strategy, a moment matrix, a state and POVMs).
"""
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import cvxpy as cp
import numpy as np

#: Preferred conic solver: an interior-point method that reaches ~1e-8 (ships with cvxpy).
DEFAULT_SOLVER = "CLARABEL"

#: Statuses accepted as a solved problem.
_OK = (cp.OPTIMAL,)


class SolverError(RuntimeError):
    """A convex solver did not reach an optimal status; ``.status`` holds what it reported."""

    def __init__(self, message, status):
        super().__init__(f"{message} (solver status: {status})")
        self.status = status


@dataclass(frozen=True)
class Bound:
    """A value together with how it was obtained.

    ``kind``: "classical", "nonsignaling", "npa", "seesaw", ...; ``solver``/``status``: the
    solver used and the status it reported (None for exact enumeration); ``level``: NPA level;
    ``strategy``: an object achieving (lower bounds) or certifying the value; ``moment_matrix``:
    NPA's; ``seconds``: wall time including the build of the problem.

    ``upper`` / ``lower``: the *proved* upper / lower bound this result establishes, or None when
    it proves none.  An upper bound is rigorous (a dual certificate re-checked in floating point
    and rounded outward), a lower bound the re-evaluated value of an explicit strategy; a
    solver's raw number is never put here (it stays in ``details``).  For an NPA result
    ``upper == value``.  When both are set, ``lower <= upper`` is checked on construction
    (``ValueError`` otherwise), so a result cannot contradict itself.
    """
    value: float
    kind: str
    solver: Optional[str] = None
    status: Optional[str] = None
    level: Optional[str] = None
    strategy: Any = None
    moment_matrix: Optional[np.ndarray] = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)
    upper: Optional[float] = None
    lower: Optional[float] = None

    def __post_init__(self):
        if self.upper is not None and self.lower is not None and self.lower > self.upper:
            raise ValueError(f"Bound has lower = {self.lower!r} > upper = {self.upper!r}")

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        """One line: kind, value, proved interval, level, solver, status, seconds (no arrays)."""
        parts = [f"kind={self.kind!r}", f"value={_num(self.value)}"]
        if self.lower is not None or self.upper is not None:
            parts.append(f"interval=[{_num(self.lower)}, {_num(self.upper)}]")
        parts += [f"{name}={getattr(self, name)!r}" for name in ("level", "solver", "status")
                  if getattr(self, name) is not None]
        return f"Bound({', '.join(parts)}, seconds={self.seconds:.2f})"

    def summary(self):
        """A few lines: what the number is, what is proved, how it was solved; arrays stay in
        the attributes (``strategy``, ``moment_matrix``, ``details``)."""
        level = "" if self.level is None else f" at level {self.level}"
        lines = [f"{self.kind} bound{level}: {self.value!r}",
                 f"  proved: lower {_num(self.lower, 'none')}, upper {_num(self.upper, 'none')}"]
        if "primal_value" in self.details:
            lines.append(f"  solver's own value (not proved): {self.details['primal_value']!r}")
        solver = "" if self.solver is None else f"solver {self.solver}, "
        lines.append(f"  {solver}status {self.status}, {self.seconds:.2f} s")
        return "\n".join(lines)


def solve(problem, solver=None, what="problem", **solver_options):
    """Solve a cvxpy ``problem``; raise :class:`SolverError` unless the status is optimal.

    Returns ``(value, solver_name, status, seconds)``.  ``solver`` defaults to
    :data:`DEFAULT_SOLVER`; any solver name cvxpy knows can be passed.
    """
    solver = DEFAULT_SOLVER if solver is None else solver
    start = time.perf_counter()
    try:
        problem.solve(solver=solver, **solver_options)
    except cp.error.SolverError as exc:
        raise SolverError(f"{solver} failed on the {what}: {exc}", "solver_error") from exc
    seconds = time.perf_counter() - start
    if problem.status not in _OK:
        raise SolverError(f"{solver} did not solve the {what}", problem.status)
    return float(problem.value), solver, problem.status, seconds


#: Relative slack added by :func:`round_up` for the floating-point rounding of a certificate's
#: arithmetic (sums and an eigenvalue of matrices whose entries are of size ``scale``).
ROUNDING_SLACK = 64 * np.finfo(float).eps


def round_up(x, scale=1.0):
    """``x`` rounded outward (up): ``x + ROUNDING_SLACK·(|x| + scale)``, then the next float.

    Use on a rigorous upper bound computed in floating point; ``scale`` is the size of the
    terms that were summed (e.g. ``N·max|Z|`` for a trace bound).  NaN propagates.
    """
    x = float(x)
    return float(np.nextafter(x + ROUNDING_SLACK * (abs(x) + abs(float(scale))), np.inf))


def _num(x, none="None"):
    """A number for a one-line repr: the exact shortest repr (a rounded display of a proved
    bound could fall on the wrong side of it), ``none`` for None."""
    return none if x is None else repr(float(x))


#: The three answers of a membership test.
MEMBER, NON_MEMBER, UNDECIDED = "member", "non_member", "undecided"


@dataclass(frozen=True)
class Membership:
    """Whether a table lies in a set, with how it was decided.

    ``status``: :data:`MEMBER` (certified inside, at tolerance ``atol``), :data:`NON_MEMBER`
    (certified outside) or :data:`UNDECIDED` (the rigorous bounds straddle the tolerance);
    ``lower``/``upper``: rigorous bounds on the test's statistic (for NPA, the smallest shift
    ``t*`` with ``Γ + t*·I ⪰ 0``), ``interval == (lower, upper)``; member iff ``upper ≤ atol``,
    non-member iff ``lower > atol``.  ``reason`` says which certificate decided.  Truth-testing
    a ``Membership`` raises ``TypeError`` (an undecided answer has no truth value): read
    ``status`` or use the ``in_*`` boolean helpers.
    """
    status: str
    lower: float
    upper: float
    atol: float
    reason: str
    level: Optional[str] = None
    solver: Optional[str] = None
    solver_status: Optional[str] = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in (MEMBER, NON_MEMBER, UNDECIDED):
            raise ValueError(f"status must be {MEMBER!r}, {NON_MEMBER!r} or {UNDECIDED!r}, "
                             f"got {self.status!r}")
        if self.lower > self.upper:
            raise ValueError(f"Membership has lower = {self.lower!r} > upper = {self.upper!r}")

    @property
    def interval(self):
        return (self.lower, self.upper)

    @property
    def decided(self):
        return self.status != UNDECIDED

    def __repr__(self):
        """One line: status, interval, tolerance, level, solver, seconds."""
        return (f"Membership(status={self.status!r}, interval=[{_num(self.lower)}, "
                f"{_num(self.upper)}], atol={self.atol:g}, level={self.level!r}, "
                f"solver={self.solver!r}, solver_status={self.solver_status!r}, "
                f"seconds={self.seconds:.2f})")

    def summary(self):
        """A few lines: the answer, the rigorous interval against the tolerance, the reason."""
        answer = {MEMBER: "certified member", NON_MEMBER: "certified non-member",
                  UNDECIDED: "undecided"}[self.status]
        return "\n".join([
            f"NPA membership{'' if self.level is None else ' at level ' + self.level}: {answer}",
            f"  rigorous interval [{_num(self.lower)}, {_num(self.upper)}] around tolerance "
            f"{self.atol:g}",
            f"  {self.reason}; solver {self.solver}, status {self.solver_status}, "
            f"{self.seconds:.2f} s"])

    def __bool__(self):
        raise TypeError("a Membership has no truth value (it may be undecided): compare "
                        ".status with 'member' / 'non_member' / 'undecided', or use in_npa")


class UndecidedError(RuntimeError):
    """A boolean membership question whose rigorous bounds straddle the tolerance.

    ``.membership`` holds the :class:`Membership` with the interval."""

    def __init__(self, membership):
        super().__init__(f"membership undecided at atol = {membership.atol:g}: the rigorous "
                         f"bounds are [{membership.lower:.3g}, {membership.upper:.3g}]")
        self.membership = membership
