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

The computations are the cells of the sweep study ``frontier``
(:mod:`qpolicy.studies.frontier_study`: per rate, the frontiers, one simulation cell per p, the
convergence table), stored in ``OUT/store`` under their content keys: re-running reuses finished
cells (same configuration and code) and computes only the rest, on ``--jobs`` local workers or a
Dask ``--scheduler``.  Writes ``frontier.png`` (throughput vs wait in excess of the communication
optimum, as in Fig. 5), ``frontier_lam<λ>.json`` per rate and ``summary.md`` under ``--out``.

Usage:  python analysis/queueing_frontier.py [--out results/queueing] [--jobs 2] [--quick]
(about 15 minutes on one free core; --quick: a one-minute smoke run)
"""
import argparse
import json
import os
import time

import numpy as np

from qpolicy._io import atomic_write
from qpolicy.queueing import theory
from qpolicy.studies.frontier_study import SCALES, frontier_grid, run_frontier
from qpolicy.sweep import add_executor_arguments

START = time.perf_counter()


def progress(message):
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


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
    full = SCALES["full"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/queueing",
                        help="output folder (store in OUT/store)")
    parser.add_argument("--rates", type=float, nargs="+", default=None,
                        help=f"arrival rates (default {list(full['rates'])})")
    parser.add_argument("--bins", type=int, default=None,
                        help=f"input bins per router of the discretized game shown beside "
                             f"(default {full['bins']}, --quick 6)")
    parser.add_argument("--points", type=int, default=None, help="p grid points (default 41)")
    parser.add_argument("--sim-p", type=float, nargs="+", default=None,
                        help=f"p of the simulated optimal strategies "
                             f"(default {list(full['sim_p'])})")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"simulated arrivals per point after warm-up "
                             f"(default {full['steps']})")
    parser.add_argument("--n-envs", type=int, default=None, help="parallel copies per simulation")
    parser.add_argument("--convergence-bins", type=int, nargs="+", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="small run for a smoke test")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    changes = {k: v for k, v in dict(rates=args.rates, bins=args.bins, points=args.points,
                                      sim_p=args.sim_p, steps=args.steps, n_envs=args.n_envs,
                                      convergence_bins=args.convergence_bins,
                                      seed=args.seed).items() if v is not None}
    configs = frontier_grid("quick" if args.quick else "full", **changes)
    os.makedirs(args.out, exist_ok=True)
    results, _ = run_frontier(configs, os.path.join(args.out, "store"), jobs=args.jobs,
                              scheduler=args.scheduler, no_recompute=args.no_recompute,
                              log=progress)
    for res in results:
        path = os.path.join(args.out, f"frontier_lam{res['arrival_rate']:g}.json")
        atomic_write(path, lambda fh: fh.write(json.dumps(res, indent=1).encode()))
    plot(results, os.path.join(args.out, "frontier.png"))
    text = summary_markdown(results)
    atomic_write(os.path.join(args.out, "summary.md"), lambda fh: fh.write(text.encode()))
    print(text)
    progress(f"wrote {args.out}/frontier.png, summary.md and frontier_lam*.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
