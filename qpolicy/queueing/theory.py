r"""Queueing theory of the two-router problem (App. H) for balanced stationary policies.

A stationary policy routes each pair by its sizes x = (x_1, x_2) only; with the balancing coin of
eq. (35) every marginal is uniform, so the policy acts on the system only through its
**co-routing probability** s(x_1, x_2) = π(0,0|x) + π(1,1|x), and its **splitting probability**
p = 1 − E[s].  Symbols: λ arrival rate of pairs, μ job-size rate, ρ = λ/μ.

Results and their status (the derivation is ours; the numbers are also re-checked against the
simulators in ``tests/test_queueing_theory.py`` and ``tests/test_queueing_crosscheck.py``, and in
``analysis/queueing_frontier.py`` with 1.6·10^7 arrivals per point, where every theoretical wait
and throughput lies inside the simulated 95 % interval, ±0.4 % at λ = 0.8 and ±0.2 % at λ = 0.5):

* **Load** (proved).  Each server receives per epoch the work B with E[B] = 1/μ, so its busy
  fraction is ρ for every balanced policy; stable iff λ < μ.
* **Mean wait** (proved from standard results, checked by simulation).  Each server is a
  single-server queue fed at the Poisson epochs (rate λ) with batch work B; the routing decision
  is independent of the past, so by PASTA a pair sees the stationary workload V, whose mean is
  Takács' λE[B²]/(2(1−ρ)).  With E[B²] = 2/μ² + E[s x_1 x_2] and the in-pair wait E[s(x_1+x_2)]/4
  of the second customer,

  .. math:: W = \frac{ρ}{μ-λ} + E[s(x_1,x_2)\,c(x_1,x_2)],\qquad
            c = A x_1 x_2 + \frac{x_1 + x_2}{4},\quad A = \frac{λ}{2(1-ρ)}.

* **Throughput** (proved by renewal-reward, checked by simulation).  A server receives
  work at an epoch with probability (1+p)/2, so its idle periods are Exp(λ_eff),
  λ_eff = λ(1+p)/2 (memoryless thinning); idle fraction 1−ρ gives (1−ρ)λ_eff idle periods per
  unit time and a baseline throughput, both servers, Θ = 2(1−ρ)λ_eff E[T(I)].  For T(t) = t²:
  Θ = 8(1−ρ)/(λ(1+p)).  So Θ depends on the policy only through p, and maximizing Θ under a wait
  cap means minimizing p; at fixed p the best policy minimizes E[s c] subject to E[s] = 1 − p —
  a weighted XOR game with continuous inputs.

Frontiers (minimum wait at each p, :func:`frontier`):

* ``"communication"`` — any s(x_1, x_2); the optimum is the threshold s = 1[c ≤ w] (bathtub
  principle), computed by 1-D quadrature (``bins=None``) or on binned inputs.
* ``"shared"`` — the local polytope of the game with ``bins`` equiprobable bins per router: the
  lower convex hull of the (E[s], E[sc]) points of all deterministic rule pairs (mixing two of them
  is shared randomness), enumerated exactly (the best response to a rule of router 1 is a
  Minkowski sum of segments, sorted by slope).
* ``"entangled"`` — Tsirelson: s = (1 + ⟨u_{x_1}, v_{x_2}⟩)/2 for unit vectors, the NPA level-1
  SDP, exact for XOR games; :func:`qubit_strategy` gives Bell-state angles attaining it.

A strategy constant on bins is a valid strategy of the continuous problem, and since c is affine
in each x_i, its exact E[s c] uses only the bin means of x — so binned frontiers are achievable
waits that can only improve as the bins are refined.

Reference: App. H of the paper; da Silva & Wehner (2026) for the model (their derivation was not
available to us).
"""
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize

from ..validation import as_array, check_int
from .env import check_rates

KINDS = ("communication", "shared", "entangled")

#: Most bins for the exact shared-randomness enumeration (2^19 rules, ~0.3 GB at 20 bins).
MAX_SHARED_BINS = 20

#: Default grid of splitting probabilities for frontiers.
DEFAULT_P = np.linspace(0.0, 1.0, 41)


def base_wait(arrival_rate, service_rate):
    """ρ/(μ−λ): the mean wait of two M/M/1 queues (always split), the p = 1 end of every frontier."""
    lam, mu = check_rates(arrival_rate, service_rate)
    return (lam / mu) / (mu - lam)


def pair_cost(x1, x2, arrival_rate, service_rate):
    """c(x_1, x_2) = A x_1 x_2 + (x_1 + x_2)/4, A = λ/(2(1−ρ)): extra mean wait of co-routing."""
    lam, mu = check_rates(arrival_rate, service_rate)
    return lam / (2 * (1 - lam / mu)) * x1 * x2 + (x1 + x2) / 4


#: Gauss–Laguerre nodes per axis for expectations over Exp(μ)²: exact for polynomials of degree
#: ≤ 159; for the smooth s used here it agrees with adaptive 2-D quadrature to ~1e-12.
LAGUERRE_NODES = 80


def _expect(func, service_rate):
    """E[func(x_1, x_2)] for i.i.d. Exp(μ) sizes by tensor Gauss–Laguerre quadrature.

    ``func`` must be vectorized and smooth (for a threshold, i.e. discontinuous, s use
    :func:`communication_extra`, which integrates the discontinuity exactly).
    """
    x, w = np.polynomial.laguerre.laggauss(LAGUERRE_NODES)
    x1, x2 = np.meshgrid(x / service_rate, x / service_rate, indexing="ij")
    values = np.broadcast_to(func(x1, x2), x1.shape)
    return float(np.sum(np.outer(w, w) * values))


def mean_wait(coroute, arrival_rate=0.8, service_rate=1.0):
    """Mean wait per customer of the balanced policy with co-routing probability ``coroute``.

    ``coroute``: a number in [0, 1] or a smooth vectorized function s(x_1, x_2) of arrays.
    W = ρ/(μ−λ) + E[s c] (module doc).

    Example:
        >>> round(mean_wait(1.0, 0.5, 1.0), 10)        # always together: 1.5ρ/(μ−λ) + 1/(2μ)
        2.0
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    s = _as_coroute(coroute)
    return base_wait(lam, mu) + _expect(lambda a, b: s(a, b) * pair_cost(a, b, lam, mu), mu)


def splitting_probability(coroute, service_rate=1.0):
    """p = 1 − E[s(x_1, x_2)] for i.i.d. Exp(μ) sizes."""
    s = _as_coroute(coroute)
    return float(np.clip(1.0 - _expect(s, service_rate), 0.0, 1.0))   # quadrature rounding


def _as_coroute(coroute):
    if callable(coroute):
        return coroute
    value = float(coroute)
    if not 0 <= value <= 1:
        raise ValueError(f"coroute must be a probability or a function, got {coroute!r}")
    return lambda a, b: np.full(np.shape(a), value)


def throughput(p, arrival_rate=0.8, service_rate=1.0, func=None):
    """Baseline throughput per unit time, both servers, at splitting probability ``p``.

    ``func``: the throughput function T (default t², closed form 8(1−ρ)/(λ(1+p))); otherwise
    Θ = 2(1−ρ)λ_eff E[T(I)], I ~ Exp(λ_eff), λ_eff = λ(1+p)/2, by quadrature.
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    p = _check_p(p)
    if func is None:
        return 8 * (1 - lam / mu) / (lam * (1 + p))
    rates = lam * (1 + np.atleast_1d(p)) / 2
    values = [2 * (1 - lam / mu) * r * integrate.quad(lambda t: func(t) * r * math.exp(-r * t),
                                                      0, np.inf)[0] for r in rates]
    return np.reshape(values, np.shape(p)) if np.ndim(p) else values[0]


def splitting_for_throughput(theta, arrival_rate=0.8, service_rate=1.0):
    """Inverse of :func:`throughput` for T = t²: p = 8(1−ρ)/(λΘ) − 1 (must lie in [0, 1])."""
    lam, mu = check_rates(arrival_rate, service_rate)
    theta = as_array(theta, "throughput", complex_ok=False)
    p = 8 * (1 - lam / mu) / (lam * theta) - 1
    if np.any(p < -1e-12) or np.any(p > 1 + 1e-12):
        lo, hi = throughput(1.0, lam, mu), throughput(0.0, lam, mu)
        raise ValueError(f"throughput must lie in [{lo:.6g}, {hi:.6g}] (p in [0, 1]) for "
                         f"λ={lam:g}, μ={mu:g}")
    return np.clip(p, 0.0, 1.0)


def _check_p(p):
    arr = as_array(p, "p", complex_ok=False)
    if np.any(arr < 0) or np.any(arr > 1):
        raise ValueError("p must lie in [0, 1]")
    return arr if arr.ndim else float(arr)


# ---------------------------------------------------------------------------------- bins
def bin_edges(bins, service_rate=1.0):
    """Edges of ``bins`` equiprobable bins of Exp(μ): −ln(1 − k/bins)/μ, k = 0..bins (last ∞)."""
    n = check_int(bins, "bins", minimum=1)
    k = np.arange(n + 1)
    with np.errstate(divide="ignore"):
        return -np.log1p(-k / n) / service_rate


def bin_means(bins, service_rate=1.0):
    """E[x | bin k] of Exp(μ) for the equiprobable bins of :func:`bin_edges`."""
    n = check_int(bins, "bins", minimum=1)
    e = bin_edges(n, service_rate)
    tail = 1 - np.arange(n + 1) / n                  # P(x > e_k)
    # ∫_e^∞ x μ e^{−μx} dx = (e + 1/μ) e^{−μe}; zero at e = ∞.
    partial = np.where(tail > 0, (np.where(np.isfinite(e), e, 0) + 1 / service_rate) * tail, 0)
    return n * (partial[:-1] - partial[1:])


def binned_costs(bins, arrival_rate=0.8, service_rate=1.0):
    """``(n, n)`` matrix c(m_i, m_j) of bin means: the exact E[c | bins i, j] (c is bi-affine)."""
    m = bin_means(bins, service_rate)
    return pair_cost(m[:, None], m[None, :], arrival_rate, service_rate)


# ---------------------------------------------------------------------------------- frontiers
@dataclass(frozen=True)
class Frontier:
    """Minimum mean wait per customer at each splitting probability, for one policy class.

    ``wait[k]`` is attained at ``p[k]`` with throughput ``throughput[k]`` (T = t²);
    ``excess`` is ``wait`` minus the continuous full-communication optimum at the same p.
    ``strategies[k]``: the optimal strategy found (see :func:`frontier`).
    """
    kind: str
    arrival_rate: float
    service_rate: float
    bins: object
    p: np.ndarray
    wait: np.ndarray
    throughput: np.ndarray
    excess: np.ndarray
    strategies: list = field(repr=False, default_factory=list)
    details: dict = field(repr=False, default_factory=dict)


def frontier(kind, arrival_rate=0.8, service_rate=1.0, p=None, bins=12):
    """The ``kind`` frontier ("communication" | "shared" | "entangled") on the grid ``p``.

    ``bins``: equiprobable input bins per router (required for "shared" and "entangled"; for
    "communication" None means exact continuous inputs).  Strategies per p: communication the
    threshold w on c; shared a list of (weight, rule_1, rule_2) with 0/1 server vectors per bin;
    entangled the Gram matrix of the SDP.

    Example:
        >>> f = frontier("entangled", 0.5, 1.0, p=[0.5], bins=12)
        >>> round(float(f.wait[0]), 3)
        1.219
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    lam, mu = check_rates(arrival_rate, service_rate)
    p = np.atleast_1d(_check_p(DEFAULT_P if p is None else p)).astype(float)
    if bins is None and kind != "communication":
        raise ValueError(f"bins must be an integer for kind={kind!r}")
    n = None if bins is None else check_int(bins, "bins", minimum=1)
    if kind == "communication":
        extra, strategies = (communication_extra(p, lam, mu) if n is None
                             else _binned_communication(p, binned_costs(n, lam, mu)))
    elif kind == "shared":
        extra, strategies = shared_randomness_extra(p, binned_costs(n, lam, mu))
    else:
        extra, strategies = entangled_extra(p, binned_costs(n, lam, mu))
    wait = base_wait(lam, mu) + np.asarray(extra)
    reference = base_wait(lam, mu) + communication_extra(p, lam, mu)[0]
    return Frontier(kind, lam, mu, n, p, wait, throughput(p, lam, mu), wait - reference,
                    strategies)


def excess_wait(theta, kind, arrival_rate=0.8, service_rate=1.0, bins=12):
    """Wait of the ``kind`` frontier above the full-communication optimum at throughput ``theta``.

    The y-axis of Fig. 5 (T = t²).  ``theta`` scalar or array.
    """
    p = splitting_for_throughput(theta, arrival_rate, service_rate)
    values = frontier(kind, arrival_rate, service_rate, p=np.ravel(p), bins=bins).excess
    return values.reshape(np.shape(p)) if np.ndim(p) else float(values[0])


def communication_extra(p, arrival_rate, service_rate):
    """min E[s c] over all s with E[s] = 1 − p (continuous inputs): threshold s = 1[c ≤ w].

    For the threshold w: x_2 ≤ g(x_1) = (w − x_1/4)/(A x_1 + 1/4) on x_1 < 4w; the inner
    expectations over x_2 are closed form, the outer one is 1-D quadrature; w solves
    P(c ≤ w) = 1 − p by Brent's method.  Returns (values, thresholds).
    """
    lam, mu = arrival_rate, service_rate
    A = lam / (2 * (1 - lam / mu))

    def mass_and_cost(w):
        def inner(x1):
            a, b = A * x1 + 0.25, x1 / 4
            g = (w - b) / a
            tail = math.exp(-mu * g)
            first_moment = (1 - tail * (1 + mu * g)) / mu
            density = mu * math.exp(-mu * x1)
            return density * (1 - tail), density * (a * first_moment + b * (1 - tail))
        mass = integrate.quad(lambda x1: inner(x1)[0], 0, 4 * w, epsabs=1e-13, epsrel=1e-11)[0]
        cost = integrate.quad(lambda x1: inner(x1)[1], 0, 4 * w, epsabs=1e-13, epsrel=1e-11)[0]
        return mass, cost

    values, thresholds = [], []
    for target in 1 - np.asarray(p, float):
        if target <= 0:
            values.append(0.0)
            thresholds.append(0.0)
            continue
        if target >= 1:
            values.append(A / mu ** 2 + 1 / (2 * mu))                     # E[c]
            thresholds.append(np.inf)
            continue
        hi = 1.0
        while mass_and_cost(hi)[0] < target:
            hi *= 2
        w = optimize.brentq(lambda w: mass_and_cost(w)[0] - target, 0.0, hi, xtol=1e-14,
                            rtol=1e-13)
        values.append(mass_and_cost(w)[1])
        thresholds.append(w)
    return np.array(values), thresholds


def _binned_communication(p, costs):
    """Fill the cells of cheapest c first up to mass 1 − p (fractional knapsack, exact)."""
    n = len(costs)
    order = np.argsort(costs, axis=None)
    cell_cost = costs.ravel()[order] / n ** 2
    mass = np.concatenate([[0.0], np.arange(1, n * n + 1) / n ** 2])
    cost = np.concatenate([[0.0], np.cumsum(cell_cost)])
    values = np.interp(1 - p, mass, cost)                # piecewise linear in the mass
    return values, [None] * len(p)


def _lower_hull(points):
    """Vertices of the lower convex hull of 2-D points, by increasing x (Andrew's monotone chain).

    Keeps only the lowest point at each x; collinear middle points are dropped.
    """
    pts = points[np.lexsort((points[:, 1], points[:, 0]))]
    pts = pts[np.concatenate([[True], np.diff(pts[:, 0]) > 0])]      # lowest y at each x
    chain = []
    for point in pts:
        while len(chain) >= 2:
            (x0, y0), (x1, y1) = chain[-2], chain[-1]
            if (x1 - x0) * (point[1] - y0) - (y1 - y0) * (point[0] - x0) <= 0:
                chain.pop()                      # chain[-1] is not below the new segment
            else:
                break
        chain.append(point)
    return np.array(chain)


def _shared_points(costs, chunk=4096):
    """(E[s], E[sc]) points of router 2's best responses to every rule of router 1, by chunks.

    Router 1's rule ``r`` (0/1 per bin; r[0] = 0 by the relabeling symmetry) fixed, router 2's
    bin j adds one of two points — server 0: (Σ_i [r_i=0], Σ_i [r_i=0] c_ij)/n², server 1:
    likewise with r_i = 1 — so the lower boundary of router 2's options is a Minkowski sum of n
    segments: start from the lower-mass end of each and add segments by increasing slope.  The
    point ``k`` of a rule takes the ``k`` first segments of ``order``.  Yields
    ``(points (R·(n+1), 2), rule indices, order, lower ends)`` per chunk.
    """
    n = len(costs)
    w = costs / n ** 2
    for start in range(0, 2 ** (n - 1), chunk):
        idx = np.arange(start, min(start + chunk, 2 ** (n - 1)))
        rules = (idx[:, None] >> np.arange(n)) & 1             # (R, n): bin i's server
        n_on_1 = rules.sum(1, keepdims=True)
        mass = np.stack([np.repeat(n - n_on_1, n, 1), np.repeat(n_on_1, n, 1)], -1) / n ** 2
        cost = np.stack([(1 - rules) @ w, rules @ w], -1)       # (R, j, server of router 2)
        # Lower-mass end of each segment; at equal mass the cheaper one (then never move).
        low = np.where(mass[..., 0] == mass[..., 1], cost[..., 1] < cost[..., 0],
                       mass[..., 1] < mass[..., 0]).astype(np.int8)
        take = lambda arr, which: np.take_along_axis(arr, which[..., None].astype(int), -1)[..., 0]
        m_lo, c_lo = take(mass, low), take(cost, low)
        dm, dc = take(mass, 1 - low) - m_lo, take(cost, 1 - low) - c_lo
        slope = np.where(dm > 0, dc / np.where(dm > 0, dm, 1), np.inf)   # dm = 0: never taken
        order = np.argsort(slope, axis=1, kind="stable")
        steps_m = np.take_along_axis(np.where(dm > 0, dm, 0), order, 1)
        steps_c = np.take_along_axis(np.where(dm > 0, dc, 0), order, 1)
        zero = np.zeros((len(idx), 1))
        m = m_lo.sum(1, keepdims=True) + np.concatenate([zero, np.cumsum(steps_m, 1)], 1)
        c = c_lo.sum(1, keepdims=True) + np.concatenate([zero, np.cumsum(steps_c, 1)], 1)
        yield np.stack([m.ravel(), c.ravel()], 1), idx, order, low, dm > 0


def shared_randomness_extra(p, costs):
    """min E[s c] over the local polytope with E[s] = 1 − p (binned inputs), exactly.

    The local polytope is the convex hull of deterministic rule pairs, so the optimum at each p
    is the lower convex hull of their (E[s], E[sc]) points at mass 1 − p (a mixture of two rule
    pairs — shared randomness); the hull's vertices are among router 2's best responses,
    enumerated over router 1's 2^(n−1) rules (:func:`_shared_points`).
    Returns (values, strategies): each strategy a list of (weight, rule_1, rule_2).
    """
    n = check_int(len(costs), "bins", minimum=1)
    if n > MAX_SHARED_BINS:
        raise ValueError(f"bins={n} is too many for exact enumeration (2^(bins-1) rules of "
                         f"router 1); use at most {MAX_SHARED_BINS}")
    records = list(_shared_points(costs))
    hull = _lower_hull(np.concatenate([_lower_hull(rec[0]) for rec in records]))
    values = np.interp(1 - p, hull[:, 0], hull[:, 1])
    strategies = [_shared_strategy(target, hull, records, n) for target in 1 - p]
    return values, strategies


def _shared_strategy(target, hull, records, n):
    """The two deterministic rule pairs at the hull vertices around mass ``target``, mixed."""
    k = int(np.clip(np.searchsorted(hull[:, 0], target), 1, len(hull) - 1))
    (m0, c0), (m1, c1) = hull[k - 1], hull[k]
    weight_1 = float(np.clip((target - m0) / (m1 - m0), 0.0, 1.0))
    return [(weight,) + _find_rule_pair(m, c, records, n)
            for weight, (m, c) in ((1 - weight_1, (m0, c0)), (weight_1, (m1, c1))) if weight > 0]


def _find_rule_pair(m, c, records, n):
    for points, idx, order, low, movable in records:
        hit = np.flatnonzero((points[:, 0] == m) & (points[:, 1] == c))
        if len(hit):
            row, steps = divmod(int(hit[0]), n + 1)
            rule_1 = ((idx[row] >> np.arange(n)) & 1).astype(np.int8)
            rule_2 = low[row].copy()
            moved = [j for j in order[row, :steps] if movable[row, j]]
            rule_2[moved] = 1 - rule_2[moved]
            return rule_1, rule_2
    raise RuntimeError("hull vertex not found among the enumerated points")


def coroute_table(rule_1, rule_2):
    """s_ij = 1[rule_1[i] = rule_2[j]] of a deterministic rule pair."""
    return (np.asarray(rule_1)[:, None] == np.asarray(rule_2)[None, :]).astype(float)


def entangled_extra(p, costs, solver=None):
    """min E[s c] with s_ij = (1 + ⟨u_i, v_j⟩)/2, unit vectors, E[s] = 1 − p: the XOR-game SDP.

    The Gram matrix G of (u_1..u_n, v_1..v_n) is PSD with unit diagonal (NPA level 1, exact for
    XOR games by Tsirelson's theorem).  Returns (values, Gram matrices).
    """
    import cvxpy as cp                       # here, not at the top: importing cvxpy takes seconds
    from ..bounds.results import solve

    n = len(costs)
    gram = cp.Variable((2 * n, 2 * n), symmetric=True)
    target = cp.Parameter()
    s = (1 + gram[:n, n:]) / 2
    problem = cp.Problem(cp.Minimize(cp.sum(cp.multiply(costs, s)) / n ** 2),
                         [gram >> 0, cp.diag(gram) == 1, cp.sum(s) / n ** 2 == target])
    values, grams = [], []
    for mass in 1 - np.asarray(p, float):
        target.value = float(mass)
        value, *_ = solve(problem, solver=solver, what=f"entangled frontier at p={1 - mass:.4g}")
        values.append(value)
        grams.append(gram.value.copy())
    return np.array(values), grams


def qubit_strategy(costs, p, gram=None, restarts=8, seed=0):
    """Bell-state angles attaining (or approaching) the entangled frontier at splitting ``p``.

    Maximizes over real angles θ_i (router 1, bin i) and φ_j (router 2, bin j) with
    s_ij = cos²(θ_i − φ_j) (a qubit pair in |Φ+⟩, :func:`policies.entangled`), minimizing
    E[s c] subject to E[s] = 1 − p by SLSQP, started from the SDP solution projected to its two
    leading eigenvectors (if ``gram`` is given) and from random angles.  Returns
    ``(value, theta, phi)``; compare ``value`` with :func:`entangled_extra`.
    """
    n = len(costs)
    rng = np.random.default_rng(seed)
    W = costs / n ** 2

    def s_of(z):
        return np.cos(z[:n, None] - z[None, n:]) ** 2

    objective = lambda z: float(np.sum(W * s_of(z)))
    constraint = {"type": "eq", "fun": lambda z: float(np.sum(s_of(z)) / n ** 2 - (1 - p))}
    starts = []
    if gram is not None:
        vals, vecs = np.linalg.eigh(gram)
        plane = vecs[:, -2:] * np.sqrt(np.maximum(vals[-2:], 0))
        starts.append(np.arctan2(plane[:, 1], plane[:, 0]) / 2)   # ⟨u,v⟩ = cos(2θ − 2φ)
    starts += [rng.uniform(0, np.pi, 2 * n) for _ in range(restarts)]
    best = None
    for z0 in starts:
        res = optimize.minimize(objective, z0, method="SLSQP", constraints=[constraint],
                                options={"ftol": 1e-13, "maxiter": 2000})
        feasible = abs(constraint["fun"](res.x)) < 1e-8
        if feasible and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise RuntimeError(f"no feasible qubit strategy found at p={p}")
    return float(best.fun), best.x[:n], best.x[n:]
