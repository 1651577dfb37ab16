"""The two-router queueing Dec-POMDP of App. H and its queueing theory.

``RoutingEnv`` is the vectorized environment (eq. 30-35) used for learning.
"""
from .env import OBSERVATIONS, ParallelRoutingEnv, RoutingEnv

__all__ = ["OBSERVATIONS", "ParallelRoutingEnv", "RoutingEnv"]
