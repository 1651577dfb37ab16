"""The three frontiers of the two-router queueing problem (Fig. 5's reference curves), with the
optimal strategies simulated on top, and the size of the quantum advantage.

For each arrival rate λ (default 0.8 — the paper's — and 0.5), μ = 1, T(t) = t²:

1. the minimum mean wait at each splitting probability p for full communication (exact,
   continuous inputs), shared randomness (exact local-polytope optimum, ``--bins`` equiprobable
   bins) and entanglement (XOR-game SDP, same bins), see :mod:`qpolicy.queueing.theory`;
2. the optimal strategy of each class at a few p (threshold on c; a mixture of two deterministic
   binned rules; Bell-state angles per bin from :func:`theory.qubit_strategy`), simulated with
   :func:`qpolicy.queueing.simulate` (batch-means 95 % CIs);
3. the quantum advantage: wait reduction at equal throughput (shared − entangled) and throughput
   gain at equal wait (Θ_Q/Θ_SR − 1 at the wait cap of the shared-randomness frontier);
4. the convergence of the binned values at p = 0.5 as the bins are refined.

Writes ``frontier.png`` (throughput vs wait in excess of the communication optimum, as in Fig. 5),
``frontier_lam<λ>.json`` per rate (also the resume checkpoint) and ``summary.md`` under ``--out``.

Usage:  python analysis/queueing_frontier.py [--out results/queueing] [--steps 16000000] [--quick]
(about 10 minutes on one free core; --quick: a 20-second smoke run)
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np

from qpolicy.queueing import policies, simulate, theory

MU = 1.0
START = time.perf_counter()


def progress(message):
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


def write_atomic(path, write):
    """Call ``write(tmp_path)`` then rename over ``path`` (a crash never leaves half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def optimal_policies(lam, p, bins):
    """{kind: (policy, theoretical wait)} of each class's optimal strategy at splitting p."""
    inner = theory.bin_edges(bins, MU)[1:-1]
    by_bin = lambda values: (lambda x: values[np.searchsorted(inner, x, side="right")])
    comm = theory.frontier("communication", lam, MU, p=[p], bins=None)
    shared = theory.frontier("shared", lam, MU, p=[p], bins=bins)
    mixture = shared.strategies[0]
    rules = [(policies.binned_rule(inner, r1), policies.binned_rule(inner, r2))
             for _, r1, r2 in mixture]
    costs = theory.binned_costs(bins, lam, MU)
    sdp, grams = theory.entangled_extra(np.array([p]), costs)
    qubit, theta, phi = theory.qubit_strategy(costs, p, gram=grams[0], restarts=2)
    base = theory.base_wait(lam, MU)
    return {
        "communication": (policies.communication(comm.strategies[0], lam, MU), comm.wait[0]),
        "shared": (policies.shared_randomness(rules, [w for w, _, _ in mixture]), shared.wait[0]),
        "entangled": (policies.entangled(by_bin(theta), by_bin(phi)), base + qubit),
    }, {"sdp_wait": base + sdp[0], "qubit_wait": base + qubit,
        "angles_router_1": theta.tolist(), "angles_router_2": phi.tolist(),
        "shared_mixture": [(w, r1.tolist(), r2.tolist()) for w, r1, r2 in mixture],
        "communication_threshold": comm.strategies[0]}


def advantage_table(p, fronts, lam):
    """Wait reduction at equal throughput, throughput gain at equal wait (by interpolation)."""
    shared, ent = fronts["shared"]["wait"], fronts["entangled"]["wait"]
    rows = []
    for k in range(1, len(p) - 1, max(1, (len(p) - 2) // 8)):
        cap = shared[k]                             # the wait the shared optimum reaches at p_k
        # entangled wait decreases with p: the least p meeting the same cap
        p_q = float(np.interp(cap, ent[::-1], p[::-1]))
        gain = theory.throughput(p_q, lam, MU) / theory.throughput(p[k], lam, MU) - 1
        rows.append({"p": float(p[k]), "throughput": float(theory.throughput(p[k], lam, MU)),
                     "wait_shared": float(shared[k]), "wait_entangled": float(ent[k]),
                     "wait_reduction": float(shared[k] - ent[k]),
                     "excess_reduction_pct": float(100 * (shared[k] - ent[k]) /
                                                   (shared[k] - fronts["communication"]["wait"][k])),
                     "p_entangled_same_wait": p_q, "throughput_gain_pct": float(100 * gain)})
    return rows


def study_rate(lam, args):
    p = np.linspace(0, 1, args.points)
    fronts = {}
    for kind in theory.KINDS:
        f = theory.frontier(kind, lam, MU, p=p, bins=None if kind == "communication" else args.bins)
        fronts[kind] = {"wait": f.wait.tolist(), "excess": f.excess.tolist(),
                        "throughput": f.throughput.tolist()}
        progress(f"λ={lam}: {kind} frontier on {len(p)} points done")
    fronts = {k: {kk: np.array(vv) for kk, vv in v.items()} for k, v in fronts.items()}
    simulated = []
    for k, p_sim in enumerate(args.sim_p):
        pols, info = optimal_policies(lam, p_sim, args.bins)
        comm_wait = pols["communication"][1]
        for kind, (policy, wait) in pols.items():
            st = simulate(policy, arrival_rate=lam, service_rate=MU, steps=args.steps,
                          seed=args.seed + k, n_envs=args.n_envs)
            simulated.append({"kind": kind, "p": p_sim, "theory_wait": float(wait),
                              "theory_excess": float(wait - comm_wait),
                              "sim_wait": st.mean_wait, "sim_wait_ci": st.mean_wait_ci,
                              "sim_excess": st.mean_wait - comm_wait,
                              "sim_throughput": st.throughput, "sim_throughput_ci": st.throughput_ci,
                              "sim_split": st.split_fraction,
                              "theory_throughput": float(theory.throughput(p_sim, lam, MU))})
            inside = st.mean_wait_ci[0] <= wait <= st.mean_wait_ci[1]
            progress(f"λ={lam} p={p_sim}: {kind:13s} theory {wait:.4f}  simulated "
                     f"{st.mean_wait:.4f} [{st.mean_wait_ci[0]:.4f}, {st.mean_wait_ci[1]:.4f}]"
                     f"{'' if inside else '  (theory outside CI)'}")
        simulated[-1]["strategies"] = info
    convergence = []
    for bins in args.convergence_bins:
        row = {"bins": bins}
        for kind in ("shared", "entangled"):
            row[kind] = float(theory.frontier(kind, lam, MU, p=[0.5], bins=bins).wait[0])
        convergence.append(row)
        progress(f"λ={lam}: bins={bins}: wait at p=0.5 shared {row['shared']:.5f}, "
                 f"entangled {row['entangled']:.5f}")
    return {"arrival_rate": lam, "service_rate": MU, "bins": args.bins, "p": p.tolist(),
            "frontiers": {k: {kk: vv.tolist() for kk, vv in v.items()} for k, v in fronts.items()},
            "simulated": simulated, "advantage": advantage_table(p, fronts, lam),
            "convergence": convergence,
            "continuous_communication_wait_at_half": float(
                theory.frontier("communication", lam, MU, p=[0.5], bins=None).wait[0])}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    colors = {"communication": "k", "shared": "tab:blue", "entangled": "tab:orange"}
    for ax, res in zip(axes[0], results):
        for kind in theory.KINDS:
            f = res["frontiers"][kind]
            label = {"communication": "full communication (0 by definition)",
                     "shared": f"shared randomness ({res['bins']} bins, exact LP)",
                     "entangled": f"entanglement ({res['bins']} bins, SDP)"}[kind]
            ax.plot(f["throughput"], f["excess"], color=colors[kind], label=label)
        for kind in theory.KINDS:
            pts = [s for s in res["simulated"] if s["kind"] == kind]
            x = [s["sim_throughput"] for s in pts]
            y = [s["sim_excess"] for s in pts]
            xerr = np.abs(np.array([s["sim_throughput_ci"] for s in pts]).T - x)
            yerr = np.abs(np.array([s["sim_wait_ci"] for s in pts]).T - np.array(
                [s["sim_wait"] for s in pts]))
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", ms=4, color=colors[kind],
                        capsize=2, label=f"{kind} optimum, simulated (95% CI)")
        ax.set_xlabel("baseline throughput per unit time (both servers)")
        ax.set_ylabel("wait in excess of the full-communication optimum")
        ax.set_title(f"λ = {res['arrival_rate']}, μ = 1, T(t) = t²")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)


def summary_markdown(results):
    lines = ["# Queueing frontiers (μ = 1, T(t) = t²)", ""]
    for res in results:
        lam = res["arrival_rate"]
        lines += [f"## λ = {lam}", "",
                  f"Wait at p = 0.5: communication {res['continuous_communication_wait_at_half']:.4f}"
                  " (continuous inputs); binned values by number of bins:", "",
                  "| bins | shared randomness | entanglement |", "|---:|---:|---:|"]
        lines += [f"| {r['bins']} | {r['shared']:.5f} | {r['entangled']:.5f} |"
                  for r in res["convergence"]]
        lines += ["", "Quantum advantage (entangled vs shared randomness, "
                  f"{res['bins']} bins):", "",
                  "| p | throughput | wait SR | wait Q | wait reduction | of SR excess | "
                  "throughput gain at SR's wait |", "|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['p']:.3f} | {r['throughput']:.4f} | {r['wait_shared']:.4f} | "
                  f"{r['wait_entangled']:.4f} | {r['wait_reduction']:.4f} | "
                  f"{r['excess_reduction_pct']:.1f} % | {r['throughput_gain_pct']:.2f} % |"
                  for r in res["advantage"]]
        lines += ["", "Optimal strategies simulated:", "",
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
    parser.add_argument("--bins", type=int, default=12, help="input bins per router")
    parser.add_argument("--points", type=int, default=41, help="p grid points")
    parser.add_argument("--sim-p", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--steps", type=int, default=16_000_000,
                        help="simulated arrivals per point (after warm-up)")
    parser.add_argument("--n-envs", type=int, default=4096, help="parallel copies per simulation")
    parser.add_argument("--convergence-bins", type=int, nargs="+", default=[3, 6, 12, 16])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="reuse finished rates in --out")
    parser.add_argument("--quick", action="store_true", help="small run for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.steps, args.sim_p, args.convergence_bins = 11, 50_000, [0.5], [3, 6]
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
        write_atomic(path, lambda tmp: open(tmp, "w").write(json.dumps(res, indent=1)))
        results.append(res)
    plot(results, os.path.join(args.out, "frontier.png"))
    text = summary_markdown(results)
    write_atomic(os.path.join(args.out, "summary.md"), lambda tmp: open(tmp, "w").write(text))
    print(text)
    progress(f"wrote {args.out}/frontier.png, summary.md and frontier_lam*.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
