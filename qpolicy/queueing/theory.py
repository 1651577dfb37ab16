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
* ``"shared"`` with ``bins=None`` — the **exact** optimum for continuous job sizes
  (:func:`shared_exact`): pairs of one-threshold rules mixed by shared randomness, with a
  certified lower bound (``Frontier.lower``) within ~1e-7.
* ``"entangled"`` with ``bins=None`` — the **exact** optimum (:func:`entangled_exact`): planar
  qubit strategies with an angle function φ_i(x), attained, with a certified dual lower bound
  within ~1e-6 (gap reported in ``Frontier.details["gap"]``).
* ``"shared"``/``"entangled"`` with ``bins=k`` — **achievable values of a discretized game**
  (each router sees only which of k equiprobable bins its size is in): the local polytope
  (lower convex hull of all deterministic rule pairs, enumerated exactly; the best response to a
  rule of router 1 is a Minkowski sum of segments, sorted by slope) and the Tsirelson/NPA
  level-1 SDP; :func:`qubit_strategy` gives Bell-state angles attaining the latter.  They lie
  above the exact frontiers, by up to 0.09 in wait at small p (20 bins, λ = 0.8).

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

from ..validation import as_array, as_generator, check_int, check_positive, check_real_scalar
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
    if isinstance(coroute, str):       # float("0.5") would accept it silently
        raise TypeError(f"coroute must be a probability or a function, got the string {coroute!r}")
    value = check_real_scalar(coroute, "coroute", 0, 1)
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
    ``bins``: None for the exact continuous-input frontier; an integer k for the achievable
    values of the discretized game with k equiprobable bins (``label`` says which).
    ``lower``: for exact "shared"/"entangled", a proved lower bound on the minimum wait
    (``wait − lower`` is ``details["gap"]``); otherwise None.
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
    lower: np.ndarray = field(repr=False, default=None)

    @property
    def label(self):
        """"exact" or "achievable, discretized game with k bins"."""
        return "exact" if self.bins is None else \
            f"achievable, discretized game with {self.bins} bins"


def frontier(kind, arrival_rate=0.8, service_rate=1.0, p=None, bins=None):
    """The ``kind`` frontier ("communication" | "shared" | "entangled") on the grid ``p``.

    ``bins=None`` (default): the exact frontier for continuous job sizes — communication by
    quadrature, shared randomness by :func:`shared_exact`, entanglement by
    :func:`entangled_exact`, the last two with a certified ``lower`` bound.  ``bins=k``: the
    achievable values of the discretized game with k equiprobable bins per router (not optima of
    the continuous problem; they lie above the exact curves).  Strategies per p: communication
    the threshold w on c; exact shared/entangled see :func:`shared_exact`/:func:`entangled_exact`;
    binned shared a list of (weight, rule_1, rule_2) with 0/1 server vectors per bin; binned
    entangled the Gram matrix of the SDP.

    Example:
        >>> f = frontier("entangled", 0.5, 1.0, p=[0.5], bins=12)
        >>> round(float(f.wait[0]), 3)
        1.219
        >>> exact = frontier("shared", 0.8, 1.0, p=[0.0417])   # threshold rule a = 3.85 is optimal
        >>> round(float(exact.excess[0]), 3), exact.label
        (0.238, 'exact')
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    lam, mu = check_rates(arrival_rate, service_rate)
    p = np.atleast_1d(_check_p(DEFAULT_P if p is None else p)).astype(float)
    n = None if bins is None else check_int(bins, "bins", minimum=1)
    lower, details = None, {}
    if kind == "communication":
        extra, strategies = (communication_extra(p, lam, mu) if n is None
                             else _binned_communication(p, binned_costs(n, lam, mu)))
    elif n is None:
        solver = shared_exact if kind == "shared" else entangled_exact
        extra, lower_extra, strategies, multipliers = solver(p, lam, mu)
        lower = base_wait(lam, mu) + lower_extra
        details = {"gap": extra - lower_extra, "multiplier": multipliers}
    elif kind == "shared":
        extra, strategies = shared_randomness_extra(p, binned_costs(n, lam, mu))
    else:
        extra, strategies = entangled_extra(p, binned_costs(n, lam, mu))
    wait = base_wait(lam, mu) + np.asarray(extra)
    reference = base_wait(lam, mu) + communication_extra(p, lam, mu)[0]
    return Frontier(kind, lam, mu, n, p, wait, throughput(p, lam, mu), wait - reference,
                    strategies, details, lower)


def excess_wait(theta, kind, arrival_rate=0.8, service_rate=1.0, bins=None):
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


def _check_sdp_memory(size, solver):
    """Refuse, before cvxpy is called, a Gram matrix an interior-point solver cannot hold: it
    factorizes a dense block of the PSD cone's dimension N(N+1)/2 (``bins=300`` asked Clarabel
    for 260 GB and the allocation failure aborted the interpreter, uncatchable)."""
    from ..bounds.npa import INTERIOR_POINT_MAX_BYTES, INTERIOR_POINT_SOLVERS
    from ..bounds.results import DEFAULT_SOLVER
    memory = 8.0 * (size * (size + 1) / 2) ** 2
    if str(solver or DEFAULT_SOLVER).upper() in INTERIOR_POINT_SOLVERS \
            and memory > INTERIOR_POINT_MAX_BYTES:
        raise ValueError(f"bins={size // 2} gives a {size}×{size} Gram matrix whose interior-point "
                         f"solve needs about {memory / 1e9:.0f} GB; use bins=None (the exact "
                         f"continuous frontier) or at most "
                         f"{_max_bins_within(INTERIOR_POINT_MAX_BYTES)} bins")


def _max_bins_within(max_bytes):
    """Largest bin count whose 2k × 2k Gram matrix stays within ``max_bytes`` (see above)."""
    k = 1
    while 8.0 * ((2 * k + 2) * (2 * k + 3) / 2) ** 2 <= max_bytes:
        k += 1
    return k


def entangled_extra(p, costs, solver=None):
    """min E[s c] with s_ij = (1 + ⟨u_i, v_j⟩)/2, unit vectors, E[s] = 1 − p: the XOR-game SDP.

    The Gram matrix G of (u_1..u_n, v_1..v_n) is PSD with unit diagonal (NPA level 1, exact for
    XOR games by Tsirelson's theorem).  Returns (values, Gram matrices).
    """
    import cvxpy as cp                       # here, not at the top: importing cvxpy takes seconds
    from ..bounds.results import solve

    n = len(costs)
    _check_sdp_memory(2 * n, solver)
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
    rng = as_generator(seed, "seed")        # None is refused: no OS entropy
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


# ---------------------------------------------------------------------------------- exact frontiers
# Continuous job sizes (``bins=None``).  Notation: Φ(x) = (1, x); C = [[0, 1/4], [1/4, A]] so that
# c(x_1, x_2) = Φ(x_1)ᵀ C Φ(x_2); E[c] = A/μ² + 1/(2μ); Q(ν) = C − ν e_0 e_0ᵀ.

#: Tail cut of the exact computations: P(x > X_TAIL/μ) = e^-60 is below every tolerance here.
X_TAIL = 60.0
#: Polygon directions (tangent points of the classical moment set) for the certified shared bound.
POLYGON_POINTS = 4000
#: Cells of the piecewise-constant dual weights of the certified entangled bound.
DUAL_CELLS = 8000
#: Safety margin subtracted from every certified lower bound (relative to the scale E[c]): the
#: certificate is a few 10^4-term sums of positive numbers, float error ≲ 1e-12 of that scale.
CERT_MARGIN = 1e-10


def _cost_matrix(lam, mu):
    A = lam / (2 * (1 - lam / mu))
    return np.array([[0.0, 0.25], [0.25, A]]), A / mu ** 2 + 1 / (2 * mu)


def threshold_moments(threshold, above, service_rate=1.0):
    """(E[g], E[g x]) of the one-threshold rule "server ``above`` iff x > ``threshold``", g = ±1.

    g = 2·server − 1, x ~ Exp(μ), u = e^{−μt}: for ``above`` = 1, E[g] = 2u − 1 and
    E[g x] = 2(t + 1/μ)u − 1/μ; ``above`` = 0 negates both.  ``threshold`` may be ∞.
    """
    mu = check_positive(service_rate, "service_rate")
    t = np.asarray(threshold, float)
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError("threshold must be ≥ 0 (∞ allowed)")
    if not np.isin(np.asarray(above), (0, 1)).all():
        raise ValueError(f"above must be 0 or 1, got {above!r}")
    return _threshold_moments(t, above, mu)


def _threshold_moments(t, above, mu):
    """:func:`threshold_moments` without argument checks (inner loops)."""
    u = np.exp(-mu * t)
    tu = np.where(np.isfinite(t), t, 0.0) * u
    sign = np.where(np.asarray(above) == 1, 1.0, -1.0)
    return np.stack([sign * (2 * u - 1), sign * (2 * (tu + u / mu) - 1 / mu)], -1)


def _best_threshold(w, mu):
    """Maximizer over g: [0, ∞) → {±1} of E[g(x)(w_0 + w_1 x)]: g = sign(w_0 + w_1 x), a threshold.

    Returns (support value h = w·m, threshold, above, moments m) for arrays w (..., 2).
    """
    w0, w1 = w[..., 0], w[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(w1 != 0, -w0 / np.where(w1 != 0, w1, 1), 0.0)
    t = np.clip(root, 0.0, np.inf)
    above = np.where(w1 != 0, w1 > 0, w0 > 0).astype(int)
    m = _threshold_moments(t, above, mu)
    return np.sum(w * m, -1), t, above, m


def _mix(target, low, high):
    """Weights mixing two (mass, cost, strategy) results to mass ``target`` (shared randomness)."""
    (m0, f0, s0), (m1, f1, s1) = low, high
    if m1 - m0 <= 0:
        return f0, [(1.0, s0)]
    w = float(np.clip((target - m0) / (m1 - m0), 0.0, 1.0))
    parts = [(1 - w, s0), (w, s1)]
    return (1 - w) * f0 + w * f1, [(weight, s) for weight, s in parts if weight > 0]


def _solve_by_multiplier(target, best_response, certificate):
    """min E[sc] s.t. E[s] = target via the Lagrangian E[sc] − ν E[s], bracketing ν.

    ``best_response(ν)`` returns (mass, cost, strategy) of a minimizer; the mass is
    nondecreasing in ν.  ``certificate(ν)`` returns a proved lower bound on min E[sc] − νE[s].
    Returns (value attained by a mixture of the two bracket strategies, the mixture,
    certified lower bound max_ν ν·target + certificate(ν), ν).
    """
    lo, hi = -1.0, 1.0
    r_lo, r_hi = best_response(lo), best_response(hi)
    while r_hi[0] < target:
        lo, r_lo, hi = hi, r_hi, 2 * hi
        r_hi = best_response(hi)
    while r_lo[0] > target:
        hi, r_hi, lo = lo, r_lo, 2 * lo
        r_lo = best_response(lo)
    streak_lo = streak_hi = 0
    for step in range(200):              # Illinois regula falsi, bisection every third step
        gap_lo, gap_hi = target - r_lo[0], r_hi[0] - target
        if hi - lo <= 1e-12 * max(1.0, abs(hi)) or min(gap_lo, gap_hi) <= 1e-13:
            break
        weight_lo, weight_hi = 0.5 ** streak_hi * gap_lo, 0.5 ** streak_lo * gap_hi
        mid = (lo + (hi - lo) * weight_lo / (weight_lo + weight_hi) if step % 3 != 2
               else 0.5 * (lo + hi))
        r_mid = best_response(mid)
        if r_mid[0] < target:
            lo, r_lo, streak_lo, streak_hi = mid, r_mid, streak_lo + 1, 0
        else:
            hi, r_hi, streak_lo, streak_hi = mid, r_mid, 0, streak_hi + 1
    value, mixture = _mix(target, r_lo, r_hi)
    lower = max(nu * target + certificate(nu) for nu in (lo, hi))
    return value, mixture, lower, 0.5 * (lo + hi)


# --- shared randomness --------------------------------------------------------------------------
def _classical_curve(mu, n=POLYGON_POINTS):
    """Thresholds (quantile grid, refined in the tail) of the boundary curve of the moment set."""
    quantiles = -np.log(np.linspace(1.0, 0.0, n + 1)[:-1])
    return np.unique(np.concatenate([quantiles, np.linspace(0.0, X_TAIL, 3 * n)[1:]])) / mu


def _shared_best_response(nu, C, Ec, mu, grid):
    """(mass, cost, ((t_1, 1), (t_2, above_2))) minimizing E[sc] − νE[s] over deterministic pairs.

    Router 1's rule is a threshold (t_1, above 1; the orientation of router 1 does not matter),
    router 2's is its exact best response, E[g_2(x)(w_0 + w_1 x)] maximal for w = −Q m_1.
    """
    Q = C - nu * np.diag([1.0, 0.0])
    m1 = _threshold_moments(grid, 1, mu)
    h = _best_threshold(-m1 @ Q, mu)[0]
    k = int(np.argmin(-h))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    psi = lambda t: -float(_best_threshold(-_threshold_moments(t, 1, mu) @ Q, mu)[0])
    candidates = [grid[k]]
    if hi > lo and np.isfinite(hi):
        res = optimize.minimize_scalar(psi, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-13})
        candidates.append(float(res.x))
    t1 = min(candidates, key=psi)
    m1 = _threshold_moments(t1, 1, mu)
    _, t2, above2, m2 = _best_threshold(-m1 @ Q, mu)
    return _pair_value(m1, m2, C, Ec) + (((float(t1), 1), (float(t2), int(above2))),)


def _pair_value(m1, m2, C, Ec):
    """(E[s], E[sc]) of a pair with moment vectors m_i = E[g_i Φ(x_i)] (vectors or matrices)."""
    K = np.atleast_2d(m1).T @ np.atleast_2d(m2) if np.ndim(m1) == 1 else m1.T @ m2
    return 0.5 * (1 + K[0, 0]), 0.5 * (Ec + float(np.sum(C * K)))


def _classical_polygon(mu):
    """Vertices of a polygon containing the moment set M = {(E[g], E[gx]) : |g| ≤ 1}.

    Intersections of consecutive supporting lines w·m = h_M(w), at the tangent directions
    w = ±(−t, 1) of the boundary curve and the four axis directions, ordered by angle.
    """
    t = _classical_curve(mu)[1:]
    w = np.concatenate([np.stack([-t, np.ones_like(t)], 1), np.stack([t, -np.ones_like(t)], 1),
                        np.eye(2), -np.eye(2)])
    w = w[np.argsort(np.arctan2(w[:, 1], w[:, 0]))]
    h = _best_threshold(w, mu)[0]
    w2, h2 = np.roll(w, -1, 0), np.roll(h, -1)
    det = w[:, 0] * w2[:, 1] - w[:, 1] * w2[:, 0]
    keep = np.abs(det) > 1e-300
    return np.stack([(h * w2[:, 1] - h2 * w[:, 1])[keep] / det[keep],
                     (w[:, 0] * h2 - w2[:, 0] * h)[keep] / det[keep]], 1)


def _shared_certificate(nu, C, Ec, vertices, mu):
    """Proved lower bound on min E[sc] − νE[s] over shared-randomness strategies.

    = (E[c] − ν)/2 + ½ min_{m_1, m_2 ∈ M} m_1ᵀ Q m_2 and ψ(m_1) = min_{m_2} m_1ᵀQm_2 = −h_M(−Qm_1)
    is concave, so its minimum over the polygon ⊇ M (at a vertex) bounds it below.
    """
    Q = C - nu * np.diag([1.0, 0.0])
    psi = -_best_threshold(-vertices @ Q, mu)[0]
    return 0.5 * (Ec - nu) + 0.5 * float(np.min(psi)) - CERT_MARGIN * Ec


def shared_exact(p, arrival_rate=0.8, service_rate=1.0):
    r"""Exact min of E[s c] at E[s] = 1 − p over shared-randomness strategies, continuous inputs.

    **Theorem.**  With g_i = ±1 the routers' decisions (s = (1 + g_1 g_2)/2) and
    m_i = (E[g_i], E[g_i x_i]), every deterministic pair has

    .. math:: E[s] = \tfrac12(1 + a_1 a_2),\qquad
              E[s c] = \tfrac12\big(E[c] + m_1^\top C m_2\big)

    (c = Φ(x_1)ᵀCΦ(x_2) is affine in each x_i and x_1, x_2 are independent).  The moment set
    M = {m(g) : g measurable, |g| ≤ 1} is convex and compact, and the maximizer of any linear
    functional E[g(w_0 + w_1 x)] is g = sign(w_0 + w_1 x) — a rule with one threshold (any
    orientation, threshold in [0, ∞]); so every exposed point of M, hence (Straszewicz) every
    extreme point, is a threshold rule.  (E[s], E[sc]) is bilinear in (m_1, m_2), so the set of
    shared-randomness values (mixtures of deterministic pairs) is the convex hull of the values of
    threshold pairs, and the frontier is its lower boundary: a two-parameter family (t_1, t_2)
    with closed-form exponential moments, then a convex hull.

    **Computation with proof.**  The hull is found through its supporting lines: for a multiplier
    ν the minimizers of E[sc] − νE[s] (router 1 a threshold on a fine quantile grid refined by
    Brent's method, router 2 its exact best response, a threshold) have mass nondecreasing in ν;
    bisection on ν brackets 1 − p between two threshold pairs, whose mixture is the returned
    strategy (its value is exact, closed form).  The **certified lower bound** is
    ν(1 − p) + min E[sc] − νE[s], the inner minimum bounded below by minimizing the concave
    ψ(m_1) = −h_M(−Q m_1) over the vertices of a polygon containing M (tangent lines of M at
    16 000 points), minus a float margin.  The two agree to within 2e-7 (measured, λ ∈ {0.5, 0.8}).

    Returns ``(values, lower, strategies, multipliers)``: ``values[k]`` the attained minimum of
    E[sc], ``lower[k]`` the proved lower bound, ``strategies[k]`` a list of
    (weight, ((t_1, above_1), (t_2, above_2))) — router i sends to server ``above_i`` iff
    x_i > t_i (:func:`qpolicy.queueing.policies.threshold_rule`).

    References: bathtub principle (Lieb & Loss, *Analysis*, Thm. 1.14); Straszewicz's theorem
    (Rockafellar, *Convex Analysis*, Thm. 18.6).

    Example:
        >>> values, lower, _, _ = shared_exact([0.5], 0.8, 1.0)
        >>> bool(0 <= values[0] - lower[0] < 1e-6)
        True
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    p = np.atleast_1d(_check_p(p)).astype(float)
    C, Ec = _cost_matrix(lam, mu)
    grid = _classical_curve(mu, 1000)
    vertices = _classical_polygon(mu)
    values, lower, strategies, nus = [], [], [], []
    for pk in p:
        if pk in (0.0, 1.0):        # s ≡ 1 or s ≡ 0: the only strategies with that mass
            values.append(Ec if pk == 0 else 0.0)
            lower.append(values[-1])
            strategies.append([(1.0, ((np.inf, 1), (np.inf, 1 if pk == 0 else 0)))])
            nus.append(np.nan)
            continue
        value, mixture, low, nu = _solve_by_multiplier(
            1 - pk, lambda nu: _shared_best_response(nu, C, Ec, mu, grid),
            lambda nu: _shared_certificate(nu, C, Ec, vertices, mu))
        values.append(value)
        lower.append(low)
        strategies.append(mixture)
        nus.append(nu)
    return np.array(values), np.array(lower), strategies, np.array(nus)


# --- entanglement ---------------------------------------------------------------------------------
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _panel_nodes(center, width, mu, breaks=()):
    """Composite Gauss–Legendre nodes and Exp(μ) weights on [0, X_TAIL/μ], panels refined
    geometrically around ``center`` (scale ``width``) where a planar strategy turns fastest,
    with panel edges also at ``breaks`` (where an integrand switches form)."""
    top = X_TAIL / mu
    edges = [np.linspace(0.0, top, 121), np.clip(np.asarray(breaks, float), 0.0, top)]
    if 0 < center < top:
        steps = width * 2.0 ** np.arange(0, 40)
        edges.append(np.clip(np.concatenate([center - steps, [center], center + steps]), 0, top))
    edges = np.unique(np.concatenate(edges))
    a, b = edges[:-1, None], edges[1:, None]
    x = (0.5 * (a + b) + 0.5 * (b - a) * _GL_X).ravel()
    w = (0.5 * (b - a) * _GL_W).ravel() * mu * np.exp(-mu * x)
    return x, w


def planar_moments(Z, service_rate=1.0):
    """U = E[u(x) Φ(x)ᵀ] (2×2) for the planar unit vector u(x) = ZΦ(x)/‖ZΦ(x)‖, x ~ Exp(μ).

    Quadrature (composite Gauss–Legendre refined where ‖ZΦ(x)‖ is smallest) accurate to ~1e-13.
    """
    Z = _check_planar(Z)
    z0, z1 = Z[:, 0], Z[:, 1]
    n1 = float(z1 @ z1)
    center = -float(z0 @ z1) / n1 if n1 > 0 else -1.0
    width = max(np.linalg.norm(z0 + center * z1) / np.sqrt(n1), 1e-12) if n1 > 0 else 1.0
    x, w = _panel_nodes(center, width, service_rate)
    z = z0[:, None] + z1[:, None] * x[None, :]
    u = z / np.maximum(np.linalg.norm(z, axis=0), 1e-300)
    return np.stack([u @ w, u @ (w * x)], 1)


def planar_angle(Z, x):
    """Qubit measurement angle φ(x) = ½ arg(ZΦ(x)) of a planar strategy (entangled_exact)."""
    Z = _check_planar(Z)
    z = Z[:, :1] + Z[:, 1:] * np.asarray(x, float).ravel()[None, :]
    return (0.5 * np.arctan2(z[1], z[0])).reshape(np.shape(x))


#: Starting moments V of router 2 for the see-saw (generic: classical rules are fixed points).
SEESAW_STARTS = (((1.0, 0.5), (0.0, 0.8)), ((1.0, 0.0), (0.0, 1.0)), ((0.3, 1.0), (1.0, -0.2)),
                 ((1.0, 2.0), (0.5, 0.1)))


def _check_planar(Z):
    Z = as_array(Z, "Z", ndim=2, complex_ok=False)
    if Z.shape != (2, 2) or not np.all(np.isfinite(Z)) or not np.any(Z):
        raise ValueError(f"Z must be a finite nonzero 2×2 real matrix, got shape {Z.shape}")
    return Z


def _entangled_best_response(nu, C, Ec, mu, start):
    """See-saw on planar strategies for min E[sc] − νE[s]; returns (mass, cost, (Z_1, Z_2)).

    Router 1's best response to V (moments of router 2) is u(x) = −VQᵀΦ(x)/‖·‖ (Cauchy–Schwarz
    in ⟨u(x), VQᵀΦ(x)⟩), router 2's to U is v = −UQΦ/‖·‖; each step lowers the Lagrangian.
    Started from ``start[1]`` (the previous solution, updated) and the first of
    :data:`SEESAW_STARTS`, or from all of them; the lowest Lagrangian wins (a wrong local
    optimum would show up in the certified gap).
    """
    starts = ([start[1]] + list(SEESAW_STARTS[:1])) if start[1] is not None else SEESAW_STARTS
    runs = [_seesaw(nu, C, mu, np.array(V0, float)) for V0 in starts]
    value, U, V, Z1, Z2 = min(runs, key=lambda run: run[0])
    start[1] = V
    mass, cost = _pair_value(U, V, C, Ec)
    return mass, cost, (Z1 / np.linalg.norm(Z1), Z2 / np.linalg.norm(Z2))


def _seesaw(nu, C, mu, V):
    Q = C - nu * np.diag([1.0, 0.0])
    previous = np.inf
    for _ in range(2000):
        Z1 = -V @ Q.T
        U = planar_moments(Z1, mu)
        Z2 = -U @ Q
        V = planar_moments(Z2, mu)
        value = float(np.sum(Q * (U.T @ V)))
        if previous - value < 1e-15:
            break
        previous = value
    return value, U, V, Z1, Z2


def _dual_cells(mu, n=DUAL_CELLS):
    """Cells of [0, ∞) (quantiles and a uniform grid to X_TAIL/μ, last cell to ∞) with
    P(cell) and the conditional moments E[x], E[x²] in closed form."""
    edges = np.unique(np.concatenate([-np.log(np.linspace(1.0, 0.0, n // 2 + 1)[:-1]),
                                      np.linspace(0.0, X_TAIL, n // 2)])) / mu
    edges = np.append(edges, np.inf)
    tail = np.exp(-mu * edges)                                       # P(x > e)
    e = np.where(np.isfinite(edges), edges, 0.0)
    F0 = tail
    F1 = (e + 1 / mu) * tail                                         # E[x; x > e]
    F2 = (e ** 2 + 2 * e / mu + 2 / mu ** 2) * tail                  # E[x²; x > e]
    prob, m1, m2 = -np.diff(F0), -np.diff(F1), -np.diff(F2)
    keep = prob > 0
    return prob[keep], m1[keep] / prob[keep], m2[keep] / prob[keep]


def _entangled_certificate(nu, C, Ec, Z1, Z2, cells):
    r"""Proved lower bound on min E[sc] − νE[s] over all entangled (Tsirelson) strategies.

    For unit vectors u(x), v(y) (any dimension) with U = E[uΦᵀ], V = E[vΦᵀ] and any positive
    weights α, β: Cauchy–Schwarz gives U R_α^{-1} Uᵀ ⪯ E[α uuᵀ], R_α = E[ΦΦᵀ/α], so
    ‖U R_α^{-1/2}‖_F² ≤ E[α], and

    .. math:: \sum_{ij} Q_{ij}⟨U_i, V_j⟩ ≥ -σ_{max}(R_α^{1/2} Q R_β^{1/2})\sqrt{E[α]E[β]}.

    α, β are taken piecewise constant on ``cells`` (closed-form R and E), equal to the RMS over
    each cell of ‖Z_iΦ(x)‖ — the norms of the best-response fields, where the bound is tight.
    """
    Q = C - nu * np.diag([1.0, 0.0])
    prob, m1, m2 = cells

    def weight_and_R(Z):
        G = Z.T @ Z
        rms = np.sqrt(np.maximum(G[0, 0] + 2 * G[0, 1] * m1 + G[1, 1] * m2, 0.0))
        alpha = np.maximum(rms, 1e-9 * np.sqrt(np.trace(G)))
        R = np.array([[np.sum(prob / alpha), np.sum(prob * m1 / alpha)],
                      [np.sum(prob * m1 / alpha), np.sum(prob * m2 / alpha)]])
        return float(np.sum(prob * alpha)), R

    Ea, Ra = weight_and_R(Z1)
    Eb, Rb = weight_and_R(Z2)
    S = _sqrtm_psd(Ra) @ Q @ _sqrtm_psd(Rb)
    sigma = float(np.linalg.norm(S, 2))
    return 0.5 * (Ec - nu) - 0.5 * sigma * np.sqrt(Ea * Eb) - CERT_MARGIN * Ec


def _sqrtm_psd(R):
    vals, vecs = np.linalg.eigh(R)
    return (vecs * np.sqrt(np.maximum(vals, 0.0))) @ vecs.T


def entangled_exact(p, arrival_rate=0.8, service_rate=1.0):
    r"""Exact minimum of E[s c] at E[s] = 1 − p over entangled strategies, continuous inputs.

    **Reduction.**  With the balancing coin only the correlation of the ±1 outcomes matters, and by
    Tsirelson's theorem the quantum correlations are E[g_1 g_2 | x] = ⟨u(x_1), v(x_2)⟩ for unit
    vectors of a real Hilbert space, s = (1 + ⟨u, v⟩)/2.  As for shared randomness (c affine in
    each x_i), a strategy enters only through U = E[u Φ(x)ᵀ] and V = E[v Φ(x)ᵀ]:

    .. math:: E[s] = \tfrac12(1 + ⟨U_0, V_0⟩),\qquad
              E[sc] = \tfrac12\Big(E[c] + \sum_{ij} C_{ij}⟨U_i, V_j⟩\Big).

    The set of values is convex (shared randomness is free), so the frontier is the envelope of
    the Lagrangians min E[sc] − νE[s] = ½(E[c] − ν) + ½ min Σ Q_ij⟨U_i, V_j⟩, Q = C − ν e_0e_0ᵀ.
    For fixed V the best response is u(x) = −VQᵀΦ(x)/‖VQᵀΦ(x)‖ (Cauchy–Schwarz), which lies in
    span(V_0, V_1); likewise v lies in span(U_0, U_1).  So at an optimum both routers use unit
    vectors of one plane — **real planar qubit strategies**: u(x) = (cos 2φ_1(x), sin 2φ_1(x)),
    measured on |Φ+⟩ at angle φ_1(x) = ½ arg(Z_1Φ(x)) (a 2×2 matrix Z_i per router), and
    s = cos²(φ_1(x_1) − φ_2(x_2)) (:func:`qpolicy.queueing.policies.entangled`).

    **Computation with proof.**  For each ν, alternating best responses (see-saw) on planar
    strategies, moments by refined Gauss–Legendre quadrature (~1e-13); bisection on ν brackets the
    mass 1 − p (the two bracket strategies are mixed by shared randomness when they differ).  The
    **certified lower bound** is the dual bound of :func:`_entangled_certificate`: for any
    positive weights α(x), β(y), Σ Q_ij⟨U_i,V_j⟩ ≥ −σ_max(R_α^{1/2}QR_β^{1/2})√(E[α]E[β]) with
    R_α = E[ΦΦᵀ/α] — valid for vectors of any dimension, so it bounds every entangled strategy
    (and every shared-randomness one).  It is evaluated in closed form with α, β piecewise
    constant, from the best-response fields of the primal.

    Returns ``(values, lower, strategies, multipliers)``; ``strategies[k]`` is a list of
    (weight, (Z_1, Z_2)); :func:`planar_angle` gives the measurement angles.

    References: B. S. Tsirelson, Lett. Math. Phys. 4, 93 (1980); Cleve, Høyer, Toner & Watrous,
    CCC 2004 (XOR games).

    Example:
        >>> values, lower, _, _ = entangled_exact([0.5], 0.8, 1.0)
        >>> bool(0 <= values[0] - lower[0] < 1e-4)
        True
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    p = np.atleast_1d(_check_p(p)).astype(float)
    C, Ec = _cost_matrix(lam, mu)
    cells = _dual_cells(mu)
    values, lower, strategies, nus = [], [], [], []
    for pk in p:
        if pk in (0.0, 1.0):        # s ≡ 1 or s ≡ 0: the only strategies with that mass
            values.append(Ec if pk == 0 else 0.0)
            lower.append(values[-1])
            const = np.array([[1.0, 0.0], [0.0, 0.0]])
            strategies.append([(1.0, (const, const if pk == 0 else -const))])
            nus.append(np.nan)
            continue
        start = [None, None]
        value, mixture, low, nu = _solve_by_multiplier(
            1 - pk, lambda nu: _entangled_best_response(nu, C, Ec, mu, start),
            lambda nu: _certificate_at(nu, C, Ec, mu, cells))
        values.append(value)
        lower.append(low)
        strategies.append(mixture)
        nus.append(nu)
    return np.array(values), np.array(lower), strategies, np.array(nus)


def _certificate_at(nu, C, Ec, mu, cells):
    """Dual bound at ν with weights from a fresh see-saw solution at that ν."""
    _, _, (Z1, Z2) = _entangled_best_response(nu, C, Ec, mu, [None, None])
    return _entangled_certificate(nu, C, Ec, Z1, Z2, cells)


def strategy_value(kind, strategy, arrival_rate=0.8, service_rate=1.0):
    """(E[s], E[sc]) of an exact-frontier strategy (a list of (weight, pair)), re-evaluated.

    ``kind`` "shared": pairs of threshold rules, closed form; "entangled": planar qubit
    strategies, moments by quadrature.  Independent of how the strategy was found.
    """
    if kind not in ("shared", "entangled"):
        raise ValueError(f"kind must be 'shared' or 'entangled', got {kind!r}")
    lam, mu = check_rates(arrival_rate, service_rate)
    C, Ec = _cost_matrix(lam, mu)
    mass = cost = 0.0
    for weight, pair in strategy:
        if kind == "shared":
            (t1, a1), (t2, a2) = pair
            m, f = _pair_value(threshold_moments(t1, a1, mu), threshold_moments(t2, a2, mu), C, Ec)
        else:
            m, f = _pair_value(planar_moments(pair[0], mu), planar_moments(pair[1], mu), C, Ec)
        mass, cost = mass + weight * m, cost + weight * f
    return mass, cost


def strategy_policy(kind, strategy):
    """A simulable policy ``(x, rng) -> actions`` for an exact-frontier strategy.

    "shared": threshold rules mixed by shared randomness; "entangled": Bell-state measurements at
    the angles :func:`planar_angle` (s = cos²(φ_1 − φ_2)), mixed by shared randomness.
    """
    from . import policies
    weights = np.array([w for w, _ in strategy], float)
    weights = weights / weights.sum()
    if kind == "shared":
        rules = [(policies.threshold_rule(t1, a1), policies.threshold_rule(t2, a2))
                 for _, ((t1, a1), (t2, a2)) in strategy]
        return policies.shared_randomness(rules, weights)
    if kind == "entangled":
        return policies.mixture(
            [policies.entangled(lambda x, Z=Z1: planar_angle(Z, x),
                                lambda x, Z=Z2: planar_angle(Z, x)) for _, (Z1, Z2) in strategy],
            weights)
    raise ValueError(f"kind must be 'shared' or 'entangled', got {kind!r}")


# --- noisy entanglement (App. F, issue 15) ---------------------------------------------------------
def _noisy_best_response(nu, v, C, Ec, mu, grid, start):
    """The lower of the Lagrangians E[sc] − νE[s] of the best noisy planar strategy (the
    noiseless see-saw optimum at ν, mapped by s → vs + (1 − v)/2) and the best threshold pair."""
    mq, fq, pair_q = _entangled_best_response(nu, C, Ec, mu, start)
    mq, fq = v * mq + (1 - v) / 2, v * fq + (1 - v) * Ec / 2
    mc, fc, pair_c = _shared_best_response(nu, C, Ec, mu, grid)
    if fq - nu * mq < fc - nu * mc:
        return mq, fq, ("entangled", pair_q)
    return mc, fc, ("shared", pair_c)


def entangled_noisy(p, visibility, arrival_rate=0.8, service_rate=1.0):
    r"""Best routing with a white-noise Bell pair of visibility v, shared randomness free.

    **Noise.**  On :math:`\rho_v = v\,\Phi^+ + (1-v)\mathbb 1/4` the rank-one measurements at
    angles φ_1, φ_2 of a planar strategy co-route with probability (Born rule)

    .. math:: s_v = v\cos^2(φ_1 - φ_2) + \tfrac{1-v}2,

    so E[s_v] = v E[s] + (1 − v)/2 and E[s_v c] = v E[sc] + (1 − v)E[c]/2: the noisy planar
    values are the affine image of the noiseless ones, and for a multiplier ν the Lagrangian is
    v(E[sc] − νE[s]) + (1 − v)(E[c] − ν)/2 — minimized by the *noiseless* optimum at ν.

    **Class and frontier.**  Mixtures (shared randomness) of noisy planar strategies and
    threshold pairs: the lower convex hull of the noisy-entangled curve and the exact
    shared-randomness curve (:func:`shared_exact`), found with the multiplier bracketing of
    :func:`entangled_exact`, the best response at ν being the better of the two.  ``values``
    are attained by the returned explicit strategy (exact values); ``lower`` is proved for this
    class: min(v·(entangled dual bound) + (1 − v)(E[c] − ν)/2, shared dual bound) at ν.
    ``lower_any`` is proved for **every** measurement on ρ_v, any POVMs, shared randomness
    free: tr(ρ_v M⊗N) = v tr(Φ⁺M⊗N) + (1 − v)tr(M/2 ⊗ N/2) makes each strategy a v-mixture
    of a quantum and a local strategy, so its Lagrangian is ≥ v·L_q(ν) + (1 − v)·L_c(ν) (dual
    bounds; ν maximized by a short bounded search, any ν being valid).  The
    gap between ``values`` and ``lower_any`` is what this class may miss: strategies that
    measure for some job sizes and answer deterministically for others (allowed by the resource;
    :func:`routing_povm_search` searches them; at the multipliers tried it found none better).

    Returns ``(values, lower, lower_any, strategies)``: extras E[sc] at E[s] = 1 − p;
    ``strategies[k]`` a list of (weight, kind, pair), kind "entangled" (pair (Z_1, Z_2) of
    :func:`entangled_exact`, used on ρ_v) or "shared" (threshold pair of :func:`shared_exact`).

    Example:
        >>> values, lower, lower_any, _ = entangled_noisy([0.5], 0.95, 0.8, 1.0)
        >>> bool(lower_any[0] <= lower[0] <= values[0] < lower[0] + 1e-4)
        True
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    v = check_real_scalar(visibility, "visibility", 0.0, 1.0)
    p = np.atleast_1d(_check_p(p)).astype(float)
    C, Ec = _cost_matrix(lam, mu)
    grid, vertices, cells = _classical_curve(mu, 1000), _classical_polygon(mu), _dual_cells(mu)
    cert_q = lambda nu: _certificate_at(nu, C, Ec, mu, cells)
    cert_c = lambda nu: _shared_certificate(nu, C, Ec, vertices, mu)
    values, lower, lower_any, strategies = [], [], [], []
    for pk in p:
        if pk in (0.0, 1.0):        # s ≡ 1 or s ≡ 0: the only strategies with that mass
            values.append(Ec if pk == 0 else 0.0)
            lower.append(values[-1])
            lower_any.append(values[-1])
            strategies.append([(1.0, "shared", ((np.inf, 1), (np.inf, 1 if pk == 0 else 0)))])
            continue
        start = [None, None]
        value, mixture, low, nu = _solve_by_multiplier(
            1 - pk, lambda nu: _noisy_best_response(nu, v, C, Ec, mu, grid, start),
            lambda nu: min(v * cert_q(nu) + (1 - v) * (Ec - nu) / 2, cert_c(nu)))
        values.append(value)
        lower.append(low)
        bound = lambda nu, m=1 - pk: m * nu + v * cert_q(nu) + (1 - v) * cert_c(nu)
        best = optimize.minimize_scalar(lambda nu: -bound(nu), bounds=(0.0, 4 * Ec),
                                        method="bounded", options={"maxiter": 16, "xatol": 1e-4})
        lower_any.append(max(bound(nu), bound(float(best.x))))    # any ν gives a proved bound
        strategies.append([(w, kind, pair) for w, (kind, pair) in mixture])
    return np.array(values), np.array(lower), np.array(lower_any), strategies


def _povm_response(ell, Z, mu, nodes=None):
    r"""Best two-outcome qubit measurement field of one router against the other's moments.

    Minimizes E[α(x)ℓ(x) + a(x)·ZΦ(x)], ℓ(x) = ell·Φ(x), over observables α𝟙 + a·σ with
    |α| + ‖a‖ ≤ 1 (the two-outcome POVMs; Bloch vector in the plane of Z): pointwise,
    α = −sign ℓ if |ℓ| ≥ ‖ZΦ‖ (deterministic answer), else a = −ZΦ/‖ZΦ‖ (a projective
    measurement) — the minimum is −h_K(ell, Z) = −E[max(|ℓ|, ‖ZΦ‖)], h_K the support function of
    the moment set K = {(E[αΦ], E[aΦᵀ])}.  The switch points (roots of ℓ and of ℓ² − ‖ZΦ‖²)
    are panel edges of the quadrature; ``nodes`` = (x, weights) replaces it by a discrete law.
    Returns (minimum, A0 = E[αΦ], U = E[aΦᵀ]).
    """
    ell, Z = np.asarray(ell, float), np.asarray(Z, float)
    if nodes is None:
        z0, z1 = Z[:, 0], Z[:, 1]
        c2, c1, c0 = ell[1] ** 2 - z1 @ z1, 2 * (ell[0] * ell[1] - z0 @ z1), ell[0] ** 2 - z0 @ z0
        breaks = list(np.roots([c2, c1, c0]) if np.any([c2, c1]) else [])
        breaks = [r.real for r in breaks if abs(r.imag) <= 1e-12 * (1 + abs(r))]
        if ell[1] != 0:
            breaks.append(-ell[0] / ell[1])
        n1 = float(z1 @ z1)
        center = -float(z0 @ z1) / n1 if n1 > 0 else -1.0
        width = max(np.linalg.norm(z0 + center * z1) / np.sqrt(n1), 1e-12) if n1 > 0 else 1.0
        x, w = _panel_nodes(center, width, mu, breaks)
    else:
        x, w = nodes
    lin = ell[0] + ell[1] * x
    z = Z[:, :1] + Z[:, 1:] * x[None, :]
    norm = np.linalg.norm(z, axis=0)
    det = np.abs(lin) >= norm
    alpha = np.where(det, -np.sign(lin), 0.0)
    a = np.where(det, 0.0, -z / np.maximum(norm, 1e-300))
    value = -float(np.maximum(np.abs(lin), norm) @ w)
    return value, np.array([alpha @ w, alpha @ (w * x)]), np.stack([a @ w, a @ (w * x)], 1)


def _povm_seesaw(Q, v, B0, V, mu, nodes=None):
    """Alternating best responses (:func:`_povm_response`) for min E[q(x,y)(αβ + v a·b)],
    q = Φ(x)ᵀQΦ(y); each step lowers the value.  Returns (value, (A0, U, B0, V))."""
    previous = np.inf
    for _ in range(2000):
        _, A0, U = _povm_response(Q @ B0, v * V @ Q.T, mu, nodes)
        _, B0, V = _povm_response(Q.T @ A0, v * U @ Q, mu, nodes)
        value = float(A0 @ Q @ B0 + v * np.sum(Q * (U.T @ V)))
        if previous - value < 1e-15:
            break
        previous = value
    return value, (A0, U, B0, V)


def routing_povm_search(visibility, multipliers, arrival_rate=0.8, service_rate=1.0, seed=0,
                        restarts=6):
    r"""Search over **all** measurements on ρ_v for routing that beats shared randomness.

    By steps 1–2 of :func:`routing_critical_visibility` every strategy on ρ_v is, per job size,
    a two-outcome observable α𝟙 + a·σ with |α| + ‖a‖ ≤ 1 and a planar Bloch vector, and the
    Lagrangian at ν is ½(E[c] − ν) + ½ E[q(x,y)(α(x)β(y) + v a(x)·b(y))], q = Φ(x)ᵀQΦ(y),
    Q = C − ν e_0e_0ᵀ.  The routers enter only through their moments m = (E[αΦ], E[aΦᵀ]) in
    a convex set K (support function E[max(|ℓ·Φ|, ‖ZΦ‖)], :func:`_povm_response`), and the
    value is bilinear in (m_A, m_B) (v on the planar part): a see-saw on K × K, started from
    shared-randomness/planar mixtures (t·classical optimum, (1 − t)·planar optimum), the
    classical optimum measuring in a small window at its threshold, and random hybrid fields,
    finds local minima — measured-or-deterministic per size (hybrid) strategies.

    Returns, for each ν of ``multipliers``, ``found − bound`` (a search result, **not** a
    proof): ``found`` the least E[q·corr] reached, ``bound`` the certified shared-randomness
    minimum (:func:`_shared_certificate`, rounded down).  A negative entry would be an explicit
    strategy proving that entanglement helps at v; nonnegative entries are evidence only.

    Example:
        >>> gaps = routing_povm_search(0.85, [2.0], 0.8, 1.0, restarts=1)
        >>> bool(gaps[0] > -1e-9)
        True
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    v = check_real_scalar(visibility, "visibility", 0.0, 1.0)
    nus = as_array(multipliers, "multipliers", ndim=1, complex_ok=False)
    if not np.all(np.isfinite(nus)):
        raise ValueError("multipliers must be finite")
    restarts = check_int(restarts, "restarts", minimum=0)
    rng = as_generator(seed, "seed")
    C, Ec = _cost_matrix(lam, mu)
    grid, vertices = _classical_curve(mu, 1000), _classical_polygon(mu)
    gaps = []
    for nu in nus:
        Q = C - nu * np.diag([1.0, 0.0])
        _, _, (_, Z2) = _entangled_best_response(nu, C, Ec, mu, [None, None])
        V = planar_moments(Z2, mu)
        _, _, (_, (t2, above2)) = _shared_best_response(nu, C, Ec, mu, grid)
        B0 = _threshold_moments(t2, above2, mu)
        starts = [(t * B0, (1 - t) * V) for t in np.linspace(0.0, 1.0, 6)]
        slope = 1.0 if above2 == 1 else -1.0          # classical rule, measured near its threshold
        starts += [_povm_response(np.array([-slope * min(t2, X_TAIL / mu), slope]),
                                  eps * Z2 / np.linalg.norm(Z2), mu)[1:] for eps in (1e-2, 1e-1)]
        for _ in range(restarts):               # a random hybrid: measure on [x_a, x_b] only
            edge = np.sort(rng.exponential(1 / mu, 2))
            field = rng.normal(size=(2, 2))
            signs = rng.choice([-1.0, 1.0], 2)
            ell = np.array([-signs[0] * edge[0], signs[0]])
            starts.append(_povm_response(ell, field * max(edge[1] - edge[0], 0.1), mu)[1:])
        found = min(_povm_seesaw(Q, v, B, W, mu)[0] for B, W in starts)
        bound = 2 * (_shared_certificate(nu, C, Ec, vertices, mu) - 0.5 * (Ec - nu))
        gaps.append(found - bound)
    return np.array(gaps)


def routing_critical_visibility(arrival_rate=0.8, service_rate=1.0, points=24):
    r"""The visibility below which a white-noise Bell pair stops helping routing.

    With a(ν) = L_q(ν) − (E[c] − ν)/2 and b(ν) = L_c(ν) − (E[c] − ν)/2 (L the minimal
    Lagrangians E[sc] − νE[s] of entangled and shared-randomness strategies; both ≤ 0, the
    independent fair coins s ≡ ½ giving (E[c] − ν)/2), the noisy planar Lagrangian is
    (E[c] − ν)/2 + v·a(ν), so the noisy frontier (:func:`entangled_noisy`) leaves the shared one
    somewhere iff v·a(ν) < b(ν) for some ν:

    .. math:: v^* = \min_ν\, b(ν)/a(ν),

    one number for all p.  Returns ``(estimate, upper, lower, nu)``: ``estimate`` the minimum
    over ν (a grid of ``points`` multipliers, refined by Brent's method) — where the noisy planar
    class starts to help; ``upper`` **proved** (for every v > upper the explicit noisy strategy
    at ν beats the certified shared-randomness bound, so entanglement helps); ``lower`` = 1/√2,
    **proved for every measurement on ρ_v** (any POVMs, shared randomness free):

    1. *Two outcomes.*  A router's action is binary, so its measurement is a two-outcome POVM,
       observable α𝟙 + a·σ with |α| + ‖a‖ ≤ 1, and on ρ_v = vΦ⁺ + (1 − v)𝟙/4 the correlation is
       E[g_1g_2|x] = α(x_1)β(x_2) + v a(x_1)ᵀR b(x_2), R = diag(1, −1, 1) (with the balancing
       coin only this correlation matters).
    2. *A plane suffices.*  The Lagrangian is E[q(x_1, x_2)(αβ + v aᵀRb)] with
       q = Φ(x_1)ᵀQΦ(x_2); for fixed router 2 it is minimized pointwise by α = ±1 or a unit
       vector a(x_1) in the span of R·E[bΦᵀ] — a plane P (two columns).  Replacing router 1 by
       this best response, then router 2 by its best response (in Rᵀ·span E[aΦᵀ] ⊂ RᵀP), never
       raises the Lagrangian, and leaves both Bloch fields in one plane: the minimum over all
       measurements is a minimum over per-size mixtures of deterministic answers and planar
       measurements.
    3. *Local model.*  By Grothendieck's inequality in dimension 2 (K_G(2) = √2, Krivine 1979)
       the correlations ⟨â_i, b̂_j⟩/√2 of planar unit vectors on any finite set of job sizes are
       a mixture of ±1 products (zero marginals after a shared sign flip), so v⟨â, b̂⟩ with
       v ≤ 1/√2 has a local model (router 1 keeping its model answer with probability v√2, else
       a fair coin); a router measuring with probability ‖a‖ and otherwise answering with mean
       α/(1 − ‖a‖) reproduces αβ + v aᵀb (cross terms vanish: the model answers are unbiased).
       So at v ≤ 1/√2 every strategy's Lagrangian is at least the shared one, at every ν, and
       the frontiers coincide; the continuous problem is the limit of the binned ones.

    This does **not** say ρ_v is local for v ≤ 1/√2 (three-dimensional measurements are
    non-local down to 1/K_G(3) ≈ 0.69); it uses that routing depends on two moments only.

    **Between ``lower`` and ``upper`` the question is undecided** (λ = 0.8: (0.70711, 0.90273];
    λ = 0.5: (0.70711, 0.90499]).  What is known about it:

    * *Moment formulation* (:func:`routing_povm_search`).  After steps 1–2 a strategy is, per
      job size, deterministic or measured (|α| + ‖a‖ ≤ 1), and enters the Lagrangian only through
      m = (E[αΦ], E[aΦᵀ]) ∈ K ⊂ R⁶, K convex with support function
      h_K(ℓ, Z) = E[max(|ℓ·Φ|, ‖ZΦ‖)]; the value is bilinear on K × K, the best response
      closed form (:func:`_povm_response`).  Mixing whole rounds (classical or measured, by
      shared randomness) gives conv(M × {0} ∪ {0} × P), on which the minimum is exactly
      min(classical, v·planar) — the cross terms vanish — i.e. ``estimate``.  Only per-size
      hybrids (K is larger than that hull) could do better, and the see-saw on K × K from
      classical/planar mixtures, small measured windows at the thresholds and random hybrids
      finds none: at v = ``estimate`` − 10⁻³ no strategy beats the certified shared bound at any
      of 25 multipliers ν ∈ [0.1, 4]·E[c] (λ = 0.8 and 0.5; ``benchmarks/RESULTS.md``), while at
      ``upper`` + 10⁻³ it does.  Evidence, not proof: ``estimate`` is the conjectured threshold.
    * *Why no proof above 1/√2 here.*  (a) Any argument that bounds the measured part apart from
      the deterministic one — measuring probabilities t(x), s(y) reweight the cost kernel
      q(x, y) = Φ(x)ᵀQΦ(y), and v·(quantum min) ≥ (classical min) is asked for every reweighting
      — stops at 1/√2: q restricted to x, y ∈ {0, y*} and reweighted is the CHSH form, at every
      ν > 0 (tested), so the proof must use the deterministic field where the routers measure.
      (b) At the crossing the optimum is a classical extreme point of K, with equality, and K
      bulges out of the hull there (a small measured window at a threshold changes h_K only to
      second order, so K ⊄ conv(M × {0} ∪ {0} × γP) for every finite γ): a certificate must be
      exact to second order at the classical optimum — a floating-point bound (branch-and-bound
      on K; a Cauchy–Schwarz-type dual, which bounds the ellipsoid α² + ‖a‖² ≤ 1 and already
      loses 0.03 at v = 0.72) can only prove "advantage ≤ ε" — and for every ν ∈ (0, ∞), where
      b/a tends to 1 at both ends (measured) with a and b tending to 0.
    * *A route that keeps the coupling* (not carried out): by convexity router 2 may be taken
      extreme (±1 on a set D, a unit Bloch vector off D); completing its deterministic part by
      any ρ, |ρ| ≤ 1, off D is a classical strategy; with ℓ, z the fields router 1 sees and
      w_ρ(x) = E[q(x, y)ρ(y); y ∉ D],
      max(E|ℓ + w_ρ|, E|ℓ − w_ρ|) ≥ E max(|ℓ|, |w_ρ|), so it suffices that
      E max(|ℓ|, v‖z‖) ≤ max_ρ E max(|ℓ|, |w_ρ|) for every such router 2 — exact at D = ∅ (the
      planar crossing) and at D = everything, but again a supremum over strategies with a tie
      (optimized over router 2 it holds at v = 0.89 and fails at 0.97, λ = 0.8 — a search,
      ``tests/test_queueing_noisy.py``).

    Example:
        >>> estimate, upper, lower, _ = routing_critical_visibility(0.8, 1.0, points=8)
        >>> bool(lower < estimate <= upper < 1)
        True
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    points = check_int(points, "points", minimum=3)
    C, Ec = _cost_matrix(lam, mu)
    grid, vertices = _classical_curve(mu, 1000), _classical_polygon(mu)

    def parts(nu):
        mq, fq, pair = _entangled_best_response(nu, C, Ec, mu, [None, None])
        mc, fc, _ = _shared_best_response(nu, C, Ec, mu, grid)
        base = (Ec - nu) / 2
        return fq - nu * mq - base, fc - nu * mc - base, pair

    def ratio(nu):
        a, b, _ = parts(nu)
        return b / a if a < 0 else 1.0

    nus = Ec * np.linspace(0.1, 3.0, points)
    k = int(np.argmin([ratio(nu) for nu in nus]))
    lo, hi = nus[max(k - 1, 0)], nus[min(k + 1, points - 1)]
    nu = float(optimize.minimize_scalar(ratio, bounds=(lo, hi), method="bounded",
                                        options={"xatol": 1e-6 * Ec}).x)
    nu = min((nu, nus[k]), key=ratio)
    a, b, (Z1, Z2) = parts(nu)
    mass, cost = strategy_value("entangled", [(1.0, (Z1, Z2))], lam, mu)   # re-evaluated
    a_explicit = cost - nu * mass - (Ec - nu) / 2
    b_proved = _shared_certificate(nu, C, Ec, vertices, mu) - (Ec - nu) / 2
    upper = min(1.0, b_proved / a_explicit) if a_explicit < 0 else 1.0
    return b / a, upper, 1 / math.sqrt(2), nu
