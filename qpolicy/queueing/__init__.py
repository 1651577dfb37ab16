"""The two-router queueing Dec-POMDP of App. H and its queueing theory.

``RoutingEnv`` is the vectorized environment (eq. 30-35) used for learning; ``simulate`` runs a
stationary policy (see ``policies``) for a long time and returns averages with confidence
intervals; ``theory`` has the closed forms and the three frontiers.
"""
from . import policies, theory
from .env import OBSERVATIONS, RoutingEnv
from .simulate import SimulationStats, simulate

__all__ = ["OBSERVATIONS", "ParallelRoutingEnv", "RoutingEnv", "SimulationStats", "policies",
           "simulate", "theory"]


def __getattr__(name):
    # The PettingZoo environment needs the optional extra [envs]: imported only when asked for.
    if name == "ParallelRoutingEnv":
        from .parallel_env import ParallelRoutingEnv
        return ParallelRoutingEnv
    raise AttributeError(f"module 'qpolicy.queueing' has no attribute {name!r}")
