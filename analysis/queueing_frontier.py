"""The three frontiers of the two-router queueing problem (Fig. 5's reference curves), with the
optimal strategies simulated on top, and the size of the quantum advantage.

For each arrival rate λ (default 0.8 — the paper's — and 0.5), μ = 1, T(t) = t²:

1. the minimum mean wait at each splitting probability p for full communication, shared
   randomness and entanglement — **exact** for continuous job sizes (certified to < 1e-6, see
   :func:`theory.shared_exact`, :func:`theory.entangled_exact`) — and, beside them, the
   achievable values of the discretized game with ``--bins`` equiprobable bins (local-polytope
   enumeration and XOR-game SDP), to show what binning costs;
2. the exact optimal strategy of each class at a few p (threshold on c; threshold rule pairs;
   planar qubit angles), simulated with :func:`qpolicy.queueing.simulate` (95 % CIs);
3. the quantum advantage of the continuous problem and of the binned one: the largest wait
   reduction at equal throughput (max_p of shared − entangled, refined by golden-section search)
   and the largest throughput gain at equal wait (Θ_Q/Θ_SR − 1 where the entangled frontier
   reaches the shared optimum's wait, found by root-finding on the frontier);
4. the convergence of the binned values as the bins are refined, at p = 0.5 and p = 0.05.

Writes ``frontier.png`` (throughput vs wait in excess of the communication optimum, as in Fig. 5),
``frontier_lam<λ>.json`` per rate (also the resume checkpoint) and ``summary.md`` under ``--out``.

Usage:  python analysis/queueing_frontier.py [--out results/queueing] [--steps 16000000] [--quick]
(about 15 minutes on one free core; --quick: a one-minute smoke run)
"""
import argparse
import json
import os
import time

import numpy as np
from scipy import optimize

from qpolicy._io import atomic_write
from qpolicy.queueing import policies, simulate, theory

MU = 1.0
START = time.perf_counter()


def progress(message):
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


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


def study_rate(lam, args):
    p = np.linspace(0, 1, args.points)
    fronts = {}
    for kind, bins in (("communication", None), ("shared", None), ("entangled", None),
                       ("shared", args.bins), ("entangled", args.bins)):
        f = theory.frontier(kind, lam, MU, p=p, bins=bins)
        key = kind if bins is None else f"{kind}_binned"
        fronts[key] = {"wait": f.wait.tolist(), "excess": f.excess.tolist(),
                       "throughput": f.throughput.tolist()}
        if f.lower is not None:
            fronts[key]["certified_gap"] = float(np.max(f.details["gap"]))
        progress(f"λ={lam}: {kind} frontier ({f.label}) on {len(p)} points done")
    simulated = []
    for k, p_sim in enumerate(args.sim_p):
        pols, info = optimal_policies(lam, p_sim)
        comm_wait = pols["communication"][1]
        for kind, (policy, wait) in pols.items():
            st = simulate(policy, arrival_rate=lam, service_rate=MU, steps=args.steps,
                          seed=args.seed + k, n_envs=args.n_envs)
            simulated.append({"kind": kind, "p": p_sim, "theory_wait": float(wait),
                              "theory_excess": float(wait - comm_wait),
                              "sim_wait": st.mean_wait, "sim_wait_ci": st.mean_wait_ci,
                              "sim_excess": st.mean_wait - comm_wait,
                              "sim_throughput": st.throughput,
                              "sim_throughput_ci": st.throughput_ci,
                              "sim_split": st.split_fraction,
                              "theory_throughput": float(theory.throughput(p_sim, lam, MU))})
            inside = st.mean_wait_ci[0] <= wait <= st.mean_wait_ci[1]
            progress(f"λ={lam} p={p_sim}: {kind:13s} theory {wait:.4f}  simulated "
                     f"{st.mean_wait:.4f} [{st.mean_wait_ci[0]:.4f}, {st.mean_wait_ci[1]:.4f}]"
                     f"{'' if inside else '  (theory outside CI)'}")
        simulated[-1]["strategies"] = info
    convergence = []
    for p_conv in (0.5, 0.05):
        for bins in list(args.convergence_bins) + [None]:
            row = {"p": p_conv, "bins": bins}
            for kind in ("shared", "entangled"):
                row[kind] = float(theory.frontier(kind, lam, MU, p=[p_conv], bins=bins).wait[0])
            convergence.append(row)
            progress(f"λ={lam}: p={p_conv} bins={bins}: wait shared {row['shared']:.5f}, "
                     f"entangled {row['entangled']:.5f}")
    binned = {kind: fronts[f"{kind}_binned"] for kind in ("shared", "entangled")}
    return {"arrival_rate": lam, "service_rate": MU, "bins": args.bins, "p": p.tolist(),
            "frontiers": fronts, "simulated": simulated,
            "advantage": advantage(p, fronts, lam, exact=True),
            "advantage_binned": advantage(p, binned, lam, exact=False),
            "convergence": convergence}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    colors = {"communication": "k", "shared": "tab:blue", "entangled": "tab:orange"}
    for ax, res in zip(axes[0], results):
        for key, f in res["frontiers"].items():
            kind = key.replace("_binned", "")
            binned = key.endswith("_binned")
            label = {"communication": "full communication (0 by definition)",
                     "shared": "shared randomness", "entangled": "entanglement"}[kind]
            label += f", {res['bins']}-bin game (achievable)" if binned else \
                ("" if kind == "communication" else ", exact optimum")
            ax.plot(f["throughput"], f["excess"], color=colors[kind], ls="--" if binned else "-",
                    lw=1 if binned else 1.6, label=label)
        for kind in theory.KINDS:
            pts = [s for s in res["simulated"] if s["kind"] == kind]
            if not pts:
                continue
            x = [s["sim_throughput"] for s in pts]
            y = [s["sim_excess"] for s in pts]
            xerr = np.abs(np.array([s["sim_throughput_ci"] for s in pts]).T - x)
            yerr = np.abs(np.array([s["sim_wait_ci"] for s in pts]).T - np.array(
                [s["sim_wait"] for s in pts]))
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", ms=4, color=colors[kind],
                        capsize=2, label=f"{kind} exact optimum, simulated (95% CI)")
        ax.set_xlabel("baseline throughput per unit time (both servers)")
        ax.set_ylabel("wait in excess of the full-communication optimum")
        ax.set_title(f"λ = {res['arrival_rate']}, μ = 1, T(t) = t²")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5)
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, dpi=130, format="png"))
    plt.close(fig)


def summary_markdown(results):
    lines = ["# Queueing frontiers (μ = 1, T(t) = t²)", ""]
    for res in results:
        lam, bins = res["arrival_rate"], res["bins"]
        lines += [f"## λ = {lam}", "",
                  "Quantum advantage, continuous job sizes (exact frontiers) and the "
                  f"{bins}-bin discretized game:", "",
                  "| problem | largest wait reduction at equal throughput (at p, Θ) | "
                  "largest throughput gain at equal wait (SR p → Q p, wait) |", "|---|---|---|"]
        gap = max(res["frontiers"][k]["certified_gap"] for k in ("shared", "entangled"))
        for name, adv in ((f"continuous (exact, certified gap {gap:.0e})", res["advantage"]),
                          (f"{bins} bins (achievable values)", res["advantage_binned"])):
            w, t = adv["wait"], adv["throughput"]
            lines.append(f"| {name} | {w['wait_reduction']:.4f} (p = {w['p']:.3f}, "
                         f"Θ = {w['throughput']:.4f}) | {100 * t['gain']:.2f} % "
                         f"({t['p_shared']:.3f} → {t['p_entangled']:.3f}, W = {t['wait']:.4f}) |")
        lines += ["", "Optimal waits as the bins are refined (bins = exact: continuous sizes):",
                  "", "| p | bins | shared randomness | entanglement |", "|---:|---:|---:|---:|"]
        lines += [f"| {r['p']} | {r['bins'] if r['bins'] else 'exact'} | {r['shared']:.5f} | "
                  f"{r['entangled']:.5f} |" for r in res["convergence"]]
        lines += ["", "Exact optimal strategies simulated:", "",
                  "| p | class | theory wait | simulated wait (95% CI) | simulated throughput |",
                  "|---:|---|---:|---|---:|"]
        lines += [f"| {s['p']} | {s['kind']} | {s['theory_wait']:.4f} | {s['sim_wait']:.4f} "
                  f"[{s['sim_wait_ci'][0]:.4f}, {s['sim_wait_ci'][1]:.4f}] | "
                  f"{s['sim_throughput']:.4f} (theory {s['theory_throughput']:.4f}) |"
                  for s in res["simulated"]]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/queueing", help="output folder")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.8, 0.5])
    parser.add_argument("--bins", type=int, default=20,
                        help="input bins per router of the discretized game shown beside")
    parser.add_argument("--points", type=int, default=41, help="p grid points")
    parser.add_argument("--sim-p", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--steps", type=int, default=16_000_000,
                        help="simulated arrivals per point (after warm-up)")
    parser.add_argument("--n-envs", type=int, default=4096, help="parallel copies per simulation")
    parser.add_argument("--convergence-bins", type=int, nargs="+", default=[4, 8, 12, 16, 20])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="reuse finished rates in --out")
    parser.add_argument("--quick", action="store_true", help="small run for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.steps, args.sim_p, args.convergence_bins = 11, 50_000, [0.5], [4, 8]
        args.n_envs = 256
        args.bins = min(args.bins, 6)
    os.makedirs(args.out, exist_ok=True)
    results = []
    for lam in args.rates:
        path = os.path.join(args.out, f"frontier_lam{lam:g}.json")
        if args.resume and os.path.exists(path):
            with open(path) as fh:
                results.append(json.load(fh))
            progress(f"λ={lam}: loaded {path}")
            continue
        res = study_rate(lam, args)
        atomic_write(path, lambda fh: fh.write(json.dumps(res, indent=1).encode()))
        results.append(res)
    plot(results, os.path.join(args.out, "frontier.png"))
    text = summary_markdown(results)
    atomic_write(os.path.join(args.out, "summary.md"), lambda fh: fh.write(text.encode()))
    print(text)
    progress(f"wrote {args.out}/frontier.png, summary.md and frontier_lam*.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
