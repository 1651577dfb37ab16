"""Certified bounds on what classical, quantum and non-signaling players can achieve.

* :func:`classical_value` — shared randomness (exact enumeration, or an LP over the local polytope);
* :func:`nonsignaling_value` — LP over the non-signaling polytope;
* membership of a table ``p[a..., o...]``: :func:`is_nonsignaling`, :func:`in_local_polytope`,
  :func:`bell_certificate` (a Bell inequality violated by ``p``), :func:`classify`.

Every bound returns a :class:`Bound` (value, method, solver, status, certificate); a solver that
does not reach an optimal status raises :class:`SolverError`.
"""
from qpolicy.bounds.results import (DEFAULT_SOLVER, Bound, Membership, SolverError,  # noqa: F401
                                    UndecidedError)
from qpolicy.bounds.classical import classical_value, deterministic_table  # noqa: F401
from qpolicy.bounds.nonsignaling import nonsignaling_value  # noqa: F401
from qpolicy.bounds.npa import (in_npa, npa_membership, npa_relaxation,  # noqa: F401
                                npa_upper_bound)
from qpolicy.bounds.seesaw import seesaw_lower_bound  # noqa: F401
from qpolicy.bounds.membership import (  # noqa: F401
    BellInequality, bell_certificate, classify, in_local_polytope, is_factorized, is_nonsignaling,
    local_distance, nonsignaling_violation)
