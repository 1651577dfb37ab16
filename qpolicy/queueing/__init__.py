"""The two-router queueing Dec-POMDP of App. H and its queueing theory.

``RoutingEnv`` is the vectorized environment (eq. 30-35) used for learning; ``simulate`` runs a
stationary policy (see ``policies``) for a long time and returns averages with confidence
intervals; ``theory`` has the closed forms and the three frontiers.
"""
from . import policies, theory
from .env import OBSERVATIONS, ParallelRoutingEnv, RoutingEnv
from .simulate import SimulationStats, simulate

__all__ = ["OBSERVATIONS", "ParallelRoutingEnv", "RoutingEnv", "SimulationStats", "policies",
           "simulate", "theory"]
