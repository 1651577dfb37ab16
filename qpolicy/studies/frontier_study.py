"""The three frontiers of the two-router queueing problem (Fig. 5's reference curves), the exact
optimal strategies simulated on top, and the size of the quantum advantage, as sweep cells.

For each arrival rate λ (μ = 1, T(t) = t²) the study ``frontier`` has three kinds of cells
(:func:`frontier_grid`, :func:`frontier_cell`):

* ``part="frontiers"``: the minimum mean wait at each splitting probability p for full
  communication, shared randomness and entanglement — **exact** for continuous job sizes
  (certified to < 1e-6, :func:`qpolicy.queueing.theory.shared_exact`,
  :func:`~qpolicy.queueing.theory.entangled_exact`) — and the achievable values of the
  discretized game with ``bins`` equiprobable bins (local-polytope enumeration and XOR-game SDP);
  and the quantum advantage of both (:func:`advantage`);
* ``part="simulate"`` (one cell per p): the exact optimal strategy of each class at p, simulated
  with :func:`qpolicy.queueing.simulate` (95 % CIs);
* ``part="convergence"``: the binned optimal waits at p = 0.5 and 0.05 as the bins are refined.

:func:`assemble` puts the cells of one rate back together (the dict ``analysis/
queueing_frontier.py`` plots and tabulates).

Reference: Gardiner et al. (2026) §5.2, App. H.
"""
import numpy as np
from scipy import optimize

from qpolicy.queueing import policies, simulate, theory

MU = 1.0

#: Sizes of the full and the quick (smoke) study.
SCALES = {
    "full": dict(rates=(0.8, 0.5), bins=20, points=41, sim_p=(0.25, 0.5, 0.75),
                 steps=16_000_000, n_envs=4096, convergence_bins=(4, 8, 12, 16, 20), seed=0),
    "quick": dict(rates=(0.8, 0.5), bins=6, points=11, sim_p=(0.5,), steps=50_000, n_envs=256,
                  convergence_bins=(4, 8), seed=0),
}

#: p values of the convergence table.
CONVERGENCE_P = (0.5, 0.05)


def optimal_policies(lam, p):
    """{kind: (policy, theoretical wait)} of each class's exact optimal strategy at splitting p."""
    comm = theory.frontier("communication", lam, MU, p=[p])
    out, info = {"communication": (policies.communication(comm.strategies[0], lam, MU),
                                   comm.wait[0])}, {}
    for kind in ("shared", "entangled"):
        f = theory.frontier(kind, lam, MU, p=[p])
        out[kind] = (theory.strategy_policy(kind, f.strategies[0]), f.wait[0])
        info[kind] = [(w, np.asarray(pair, dtype=object).tolist() if kind == "shared"
                       else [np.asarray(z).tolist() for z in pair]) for w, pair in f.strategies[0]]
    return out, info


def _exact_wait(kind, lam, p):
    return float(theory.frontier(kind, lam, MU, p=[float(p)]).wait[0])


def advantage(p, fronts, lam, exact):
    """Largest wait reduction at equal throughput and throughput gain at equal wait.

    Grid maxima over ``p``; for the exact frontiers refined: the wait reduction by bounded scalar
    maximization, the throughput gain by root-finding p_Q with W_Q(p_Q) = W_SR(p) (W_Q decreases
    in p).  On a grid (binned) p_Q is interpolated on the convex W_Q, which overestimates p_Q and
    so underestimates the gain.
    """
    shared, ent = np.asarray(fronts["shared"]["wait"]), np.asarray(fronts["entangled"]["wait"])
    inner = np.arange(1, len(p) - 1)
    k = inner[np.argmax((shared - ent)[inner])]
    best = {"p": float(p[k]), "wait_reduction": float(shared[k] - ent[k])}
    if exact:
        res = optimize.minimize_scalar(
            lambda q: _exact_wait("entangled", lam, q) - _exact_wait("shared", lam, q),
            bounds=(p[k - 1], p[k + 1]), method="bounded", options={"xatol": 1e-4})
        if -res.fun > best["wait_reduction"]:
            best = {"p": float(res.x), "wait_reduction": float(-res.fun)}
    best["throughput"] = float(theory.throughput(best["p"], lam, MU))
    gains = []
    for k in inner:
        p_q = float(np.interp(shared[k], ent[::-1], p[::-1]))
        gains.append(theory.throughput(p_q, lam, MU) / theory.throughput(p[k], lam, MU) - 1)
    k = inner[int(np.argmax(gains))]
    gain = {"p_shared": float(p[k]), "wait": float(shared[k]), "gain": float(max(gains)),
            "p_entangled": float(np.interp(shared[k], ent[::-1], p[::-1]))}
    if exact:
        def gain_at(q):
            cap = _exact_wait("shared", lam, q)
            p_q = optimize.brentq(lambda r: _exact_wait("entangled", lam, r) - cap,
                                  max(q - 0.2, 0.0), q, xtol=1e-7)
            return theory.throughput(p_q, lam, MU) / theory.throughput(q, lam, MU) - 1, p_q, cap
        res = optimize.minimize_scalar(lambda q: -gain_at(q)[0], bounds=(p[k - 1], p[k + 1]),
                                       method="bounded", options={"xatol": 1e-4})
        g, p_q, cap = gain_at(res.x)
        if g > gain["gain"]:
            gain = {"p_shared": float(res.x), "wait": cap, "gain": float(g), "p_entangled": p_q}
    gain["throughput_shared"] = float(theory.throughput(gain["p_shared"], lam, MU))
    return {"wait": best, "throughput": gain}


def _list(value, name, kind=float):
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name} must be numbers, got {v!r}")
    return [kind(v) for v in values]


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def frontier_grid(scale="full", **changes):
    """The cells of the frontier study at ``scale`` ("full" or "quick", :data:`SCALES`) with
    ``changes`` (rates, bins, points, sim_p, steps, n_envs, convergence_bins, seed)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    unknown = set(changes) - set(SCALES[scale])
    if unknown:
        raise TypeError(f"frontier_grid got unexpected options {sorted(unknown)}; "
                        f"known: {sorted(SCALES[scale])}")
    o = dict(SCALES[scale], **changes)
    rates = _list(o["rates"], "rates")
    if not all(0 < lam < MU for lam in rates):
        raise ValueError(f"rates must lie in (0, {MU}), got {rates}")
    sim_p = _list(o["sim_p"], "sim_p")
    if not all(0 <= p <= 1 for p in sim_p):
        raise ValueError(f"sim_p must lie in [0, 1], got {sim_p}")
    for name in ("bins", "points", "steps", "n_envs"):
        _positive_int(o[name], name)
    if o["points"] < 3:
        raise ValueError(f"points must be >= 3, got {o['points']}")
    convergence = [_positive_int(b, "convergence_bins")
                   for b in _list(o["convergence_bins"], "convergence_bins", int)]
    if isinstance(o["seed"], bool) or not isinstance(o["seed"], int) or o["seed"] < 0:
        raise ValueError(f"seed must be an integer >= 0, got {o['seed']!r}")
    cells = []
    for lam in rates:
        cells.append({"arrival_rate": lam, "part": "frontiers", "bins": o["bins"],
                      "points": o["points"]})
        cells += [{"arrival_rate": lam, "part": "simulate", "p": p, "steps": o["steps"],
                   "n_envs": o["n_envs"], "seed": o["seed"] + k} for k, p in enumerate(sim_p)]
        cells.append({"arrival_rate": lam, "part": "convergence", "bins": convergence})
    return cells


def frontier_cell(config, checkpoint=None):
    """Compute one cell of :func:`frontier_grid` (see the module docstring); the result is
    JSON (summary ``{"result": ...}``), no arrays."""
    lam, part = config["arrival_rate"], config["part"]
    if part == "frontiers":
        result = _frontiers(lam, config["points"], config["bins"])
        w = result["advantage"]["wait"]
        headline = f"wait reduction {w['wait_reduction']:.4f} at p = {w['p']:.3f}"
    elif part == "simulate":
        result = _simulate(lam, config["p"], config["steps"], config["n_envs"], config["seed"])
        outside = [s["kind"] for s in result
                   if not s["sim_wait_ci"][0] <= s["theory_wait"] <= s["sim_wait_ci"][1]]
        headline = "theory inside every 95 % CI" if not outside else \
            f"theory outside the CI: {', '.join(outside)}"
    elif part == "convergence":
        result = _convergence(lam, config["bins"])
        headline = f"{len(result)} binned optima"
    else:
        raise ValueError(f"config['part'] must be frontiers, simulate or convergence, "
                         f"got {part!r}")
    return {"result": result, "headline": f"λ={lam:g} {part}: {headline}"}, {}


def _frontiers(lam, points, bins):
    p = np.linspace(0, 1, points)
    fronts = {}
    for kind, b in (("communication", None), ("shared", None), ("entangled", None),
                    ("shared", bins), ("entangled", bins)):
        f = theory.frontier(kind, lam, MU, p=p, bins=b)
        key = kind if b is None else f"{kind}_binned"
        fronts[key] = {"wait": f.wait.tolist(), "excess": f.excess.tolist(),
                       "throughput": f.throughput.tolist()}
        if f.lower is not None:
            fronts[key]["certified_gap"] = float(np.max(f.details["gap"]))
    binned = {kind: fronts[f"{kind}_binned"] for kind in ("shared", "entangled")}
    return {"p": p.tolist(), "frontiers": fronts,
            "advantage": advantage(p, fronts, lam, exact=True),
            "advantage_binned": advantage(p, binned, lam, exact=False)}


def _simulate(lam, p_sim, steps, n_envs, seed):
    pols, info = optimal_policies(lam, p_sim)
    comm_wait = pols["communication"][1]
    rows = []
    for kind, (policy, wait) in pols.items():
        st = simulate(policy, arrival_rate=lam, service_rate=MU, steps=steps, seed=seed,
                      n_envs=n_envs)
        rows.append({"kind": kind, "p": p_sim, "theory_wait": float(wait),
                     "theory_excess": float(wait - comm_wait),
                     "sim_wait": st.mean_wait, "sim_wait_ci": list(st.mean_wait_ci),
                     "sim_excess": st.mean_wait - comm_wait,
                     "sim_throughput": st.throughput,
                     "sim_throughput_ci": list(st.throughput_ci),
                     "sim_split": st.split_fraction,
                     "theory_throughput": float(theory.throughput(p_sim, lam, MU))})
    rows[-1]["strategies"] = info
    return rows


def _convergence(lam, bins_list):
    rows = []
    for p_conv in CONVERGENCE_P:
        for bins in list(bins_list) + [None]:
            row = {"p": p_conv, "bins": bins}
            for kind in ("shared", "entangled"):
                row[kind] = float(theory.frontier(kind, lam, MU, p=[p_conv], bins=bins).wait[0])
            rows.append(row)
    return rows


def assemble(cells):
    """The finished cells (``(config, summary)`` pairs) as one dict per arrival rate, in the
    order of first appearance: ``arrival_rate``, ``service_rate``, ``bins``, ``p``,
    ``frontiers``, ``advantage``, ``advantage_binned``, ``simulated``, ``convergence``."""
    rates = {}
    for config, summary in cells:
        lam = config["arrival_rate"]
        res = rates.setdefault(lam, {"arrival_rate": lam, "service_rate": MU, "simulated": []})
        result = summary["result"]
        if config["part"] == "frontiers":
            res.update(result, bins=config["bins"])
        elif config["part"] == "simulate":
            res["simulated"] += result
        else:
            res["convergence"] = result
    return list(rates.values())


def run_frontier(configs, out, jobs=None, scheduler=None, no_recompute=False, log=print):
    """Run the frontier cells through the sweep store ``out``; returns :func:`assemble`'s list
    and the sweep result."""
    from qpolicy import sweep
    result = sweep.run("frontier", frontier_cell, configs, out, jobs=jobs, scheduler=scheduler,
                       no_recompute=no_recompute, log=log)
    result.raise_if_failed()
    return assemble([(c.config, c.summary) for c in result.cells]), result
