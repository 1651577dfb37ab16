"""qpolicy: learning multi-agent policies that coordinate through shared quantum entanglement.

The reference implementation of Gardiner et al. (2026), *Learning to coordinate via quantum
entanglement in multi-agent reinforcement learning*, with the analytic tools that certify what
such policies can and cannot do.  See ``DESIGN.md`` in the project's shared folder and README.md.
"""

__version__ = "0.1.0"

from qpolicy.quantum import (  # noqa: F401  (public API re-exports)
    quantum_softmax,
    conditioning_penalty,
    density_matrix,
    maximally_entangled,
    bell_state,
    ghz_state,
    is_povm,
    check_povm,
    is_density_matrix,
    check_density_matrix,
    partial_trace,
    born,
)

_SUBPACKAGES = ("policies", "games", "bounds", "learn", "queueing", "verify")


def __getattr__(name):
    # qp.games, qp.bounds, ... import lazily: cvxpy and matplotlib load only when used.
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f"qpolicy.{name}")
    raise AttributeError(f"module 'qpolicy' has no attribute {name!r}")
