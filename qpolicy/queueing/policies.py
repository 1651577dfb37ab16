"""Stationary routing policies: functions ``policy(x, rng) -> actions`` of the current job sizes.

``x`` is a float array ``(n, 2)`` of the pair's sizes, ``actions`` an int8 array ``(n, 2)`` of
servers.  Every policy here is meant to be run with the balancing coin of eq. (35) (the
environment's default), which makes each marginal uniform, so only the **co-routing
probability** ``s(x_1, x_2) = π(0,0|x) + π(1,1|x)`` matters (see :mod:`.theory`).

The four classes of the paper's hierarchy:

* :func:`factorized` — each router flips its own coin with probability ``prob_i(x_i)``;
* :func:`shared_randomness` — a shared random index picks one of several deterministic rule pairs;
* :func:`entangled` — each router measures its half of the Bell state |Φ+⟩ along a real angle
  θ_i(x_i); then ``s = cos²(θ_1(x_1) − θ_2(x_2))`` (checked against :func:`qpolicy.born` in the
  tests).  Sampled from that joint distribution, which is exact for simulation;
* :func:`coroute` — full communication: any co-routing probability ``s(x_1, x_2)``, e.g. the
  threshold ``s = 1[c(x_1, x_2) ≤ w]`` of :func:`communication`.
"""
import numpy as np

from ..validation import (as_array, check_finite_real, check_int, check_probabilities,
                          check_real_scalar)


def _check_callable(function, name):
    if not callable(function):
        raise TypeError(f"{name} must be a vectorized function, got {type(function).__name__}")
    return function


def _servers(first, second):
    return np.stack([first, second], axis=1).astype(np.int8)


def always_split(x, rng):
    """The two customers always go to different servers (s = 0): two M/M/1 queues."""
    return _servers(np.zeros(len(x)), np.ones(len(x)))


def always_together(x, rng):
    """Both customers always go to the same server (s = 1)."""
    return np.zeros((len(x), 2), dtype=np.int8)


def factorized(prob_1, prob_2=None):
    """Independent routers: router i picks server 1 with probability ``prob_i(x_i)``.

    ``prob_i`` is a vectorized function of the job size (or a constant in [0, 1]); ``prob_2``
    defaults to ``prob_1``.  Constant ½ gives independent uniform routing, s = ½.
    """
    prob_2 = prob_1 if prob_2 is None else prob_2
    funcs = [p if callable(p) else
             (lambda x, c=check_finite_real(p, name, 0.0, 1.0): np.full(len(x), c))
             for p, name in ((prob_1, "prob_1"), (prob_2, "prob_2"))]

    def policy(x, rng):
        u = rng.random(x.shape)
        return _servers(u[:, 0] < funcs[0](x[:, 0]), u[:, 1] < funcs[1](x[:, 1]))
    return policy


def threshold_rule(threshold, above=1):
    """A deterministic local rule: server ``above`` iff the job size exceeds ``threshold``."""
    check_int(above, "above", minimum=0, maximum=1)
    threshold = check_real_scalar(threshold, "threshold")
    return lambda x: np.where(x > threshold, above, 1 - above)


def binned_rule(edges, servers):
    """A deterministic local rule constant on bins: ``servers[k]`` for ``edges[k] ≤ x < edges[k+1]``.

    ``edges``: the inner bin edges (length ``len(servers) - 1``, increasing).
    """
    edges = as_array(edges, "edges", ndim=1, complex_ok=False)
    if np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be strictly increasing")
    servers = np.asarray(servers)
    if servers.dtype.kind not in "iu":
        raise TypeError(f"servers must be an integer 0/1 vector, got dtype {servers.dtype}")
    if servers.ndim != 1 or len(servers) != len(edges) + 1 or not np.isin(servers, (0, 1)).all():
        raise ValueError("servers must be a 0/1 vector with one entry per bin (len(edges) + 1)")
    return lambda x: servers[np.searchsorted(edges, x, side="right")]


def shared_randomness(rules, weights=None):
    """Shared randomness: with probability ``weights[k]`` both routers use ``rules[k]``.

    ``rules``: list of pairs ``(rule_1, rule_2)`` of deterministic local rules x_i -> {0, 1}.
    """
    if isinstance(rules, (list, tuple)) and not rules:
        raise ValueError("rules must be a non-empty list of (rule_1, rule_2) pairs")
    if not isinstance(rules, (list, tuple)) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(callable, pair))
            for pair in rules):
        raise TypeError("rules must be a non-empty list of (rule_1, rule_2) pairs of callables")
    weights = np.full(len(rules), 1 / len(rules)) if weights is None else \
        check_probabilities(weights, "weights")
    if len(weights) != len(rules):
        raise ValueError(f"weights must have one entry per rule pair ({len(rules)}), "
                         f"got {len(weights)}")

    def deterministic(rule_1, rule_2):
        return lambda x, rng: np.stack([rule_1(x[:, 0]), rule_2(x[:, 1])], axis=1)
    return mixture([deterministic(*pair) for pair in rules], weights)


def coroute(probability):
    """Full communication: co-route the pair with probability ``probability(x_1, x_2)``."""
    _check_callable(probability, "probability")
    def policy(x, rng):
        together = rng.random(len(x)) < probability(x[:, 0], x[:, 1])
        return _servers(np.zeros(len(x)), ~together)
    return policy


def communication(threshold, arrival_rate, service_rate):
    """The optimal full-communication policy: co-route iff ``c(x_1, x_2) ≤ threshold``.

    ``c`` is :func:`qpolicy.queueing.theory.pair_cost`, the extra mean wait of co-routing.
    """
    from .env import check_rates
    from .theory import pair_cost
    threshold = check_real_scalar(threshold, "threshold")
    arrival_rate, service_rate = check_rates(arrival_rate, service_rate)
    return coroute(lambda x1, x2: pair_cost(x1, x2, arrival_rate, service_rate) <= threshold)


def entangled(angle_1, angle_2=None):
    """Bell-state policy: router i measures |Φ+⟩ in the real basis at angle ``angle_i(x_i)``.

    Router i's projectors are |θ⟩⟨θ| (server 0) and |θ+π/2⟩⟨θ+π/2| (server 1) with
    |θ⟩ = cos θ|0⟩ + sin θ|1⟩; on |Φ+⟩ the outcomes are uniform and equal with probability
    ``cos²(θ_1 − θ_2)``.  ``angle_2`` defaults to ``x -> -angle_1(x)``, giving the
    symmetric form ``s = cos²(φ(x_1) + φ(x_2))``.
    """
    _check_callable(angle_1, "angle_1")
    angle_2 = (lambda x: -angle_1(x)) if angle_2 is None else _check_callable(angle_2, "angle_2")

    def policy(x, rng):
        same = rng.random(len(x)) < np.cos(angle_1(x[:, 0]) - angle_2(x[:, 1])) ** 2
        first = rng.random(len(x)) < 0.5
        return _servers(first, first ^ ~same)
    return policy


def bell_povms(angles):
    """The projective measurements of :func:`entangled`, shape ``(len(angles), 2, 2, 2)``.

    For checking against :func:`qpolicy.born` and for use with other states.
    """
    theta = as_array(angles, "angles", ndim=1, complex_ok=False)
    kets = np.stack([np.stack([np.cos(theta), np.sin(theta)], -1),
                     np.stack([-np.sin(theta), np.cos(theta)], -1)], axis=1)   # (m, 2, 2)
    return np.einsum("mai,maj->maij", kets, kets).astype(np.complex128)


def mixture(components, weights):
    """Shared randomness over policies: each pair uses ``components[k]`` with prob. ``weights[k]``.

    ``components``: policies ``(x, rng) -> actions`` (e.g. :func:`entangled` ones, as returned in
    the strategies of the exact entangled frontier).
    """
    if not components or not all(callable(c) for c in components):
        raise ValueError("components must be a non-empty list of policies")
    weights = check_probabilities(weights, "weights")
    if len(weights) != len(components):
        raise ValueError(f"weights must have one entry per component ({len(components)}), "
                         f"got {len(weights)}")

    def policy(x, rng):
        pick = rng.choice(len(components), size=len(x), p=weights)
        actions = np.empty((len(x), 2), dtype=np.int8)
        for k, component in enumerate(components):
            rows = pick == k
            actions[rows] = component(x[rows], rng)
        return actions
    return policy
