"""Certify from samples: rounds needed and p-values reached, wins vs PBR, for every built-in game
and for policies learned by ``qpolicy train``; a figure of log10 p against rounds.

For each game, the best known quantum table (CHSH: Tsirelson's; GHZ: the GHZ-state table; Tetra
and Cube: the see-saw optimum at d = 3):

1. the planner (:func:`qpolicy.certify.samples_needed`, p < 1e-6): wins median and 95 % power
   (exact binomial), PBR 95 % power with the table's own factor (normal approximation);
2. one simulated experiment of N = the wins 95 % plan: the p-value reached by the wins test, by
   PBR with the table's factor (fixed in advance), and by PBR with factors fitted on past rounds
   (sequential; skipped for the Cube, whose fits take minutes each);
3. learned policies: ``reinforce.train`` (as ``qpolicy train``) on CHSH, GHZ and Tetra, saved as
   runs, then certified exactly as ``qpolicy certify RUN.npz --rounds N --seed 0`` does.

Every game and every learner is a cell of the sweep study ``certification``
(:mod:`qpolicy.studies.certification_study`) stored in ``OUT/store`` under its content key:
re-running reuses finished cells (same configuration and code), on ``--jobs`` local workers or a
Dask ``--scheduler``.  Writes ``certification.png`` and ``certification.md`` under ``--out``.

Usage:  python analysis/certification.py [--out results/certification] [--quick] [--jobs 2]
(--quick: smaller learners and no sequential PBR on Tetra; ~1 minute)
"""
import argparse
import os
import sys
import time

import numpy as np

from qpolicy import sweep
from qpolicy.studies.certification_study import certification_cell, certification_grid

START = time.perf_counter()


def progress(message):
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


def fmt(log10_p):
    return f"{10 ** log10_p:.2g}" if log10_p > -300 else f"10^{log10_p:.0f}"


def figure(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r["game"] in ("chsh", "tetra", "cube")]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4), squeeze=False)
    for ax, row in zip(axes[0], shown):
        for label, trace in row["traces"].items():
            ax.plot(np.arange(1, trace.size + 1), trace, label=label, lw=1.2)
        ax.axhline(-6, color="grey", ls=":", lw=1)
        ax.set_ylim(max(min(t.min() for t in row["traces"].values()), -60) - 2, 1)
        ax.set_title(f"{row['game']} (value {row['value']:.4f}, ω_c {row['classical']:.4f})",
                     fontsize=9)
        ax.set_xlabel("rounds")
        ax.set_ylabel("log10 p-value")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/certification",
                        help="results folder (store in OUT/store)")
    parser.add_argument("--quick", action="store_true")
    sweep.add_executor_arguments(parser)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    result = sweep.run("certification", certification_cell, certification_grid(args.quick),
                       os.path.join(args.out, "store"), jobs=args.jobs, scheduler=args.scheduler,
                       no_recompute=args.no_recompute, log=progress)
    result.raise_if_failed()
    rows, learned = [], []
    for cell in result.cells:
        row = dict(cell.summary)
        if cell.config["part"] == "best":
            arrays = cell.arrays()
            row["traces"] = {label: arrays[f"trace{i}"] for i, label in enumerate(row["traces"])}
            rows.append(row)
        else:
            learned.append(row)
    figure(rows, os.path.join(args.out, "certification.png"))
    lines = ["| game | ω_c | value | wins: median / 95 % rounds | PBR 95 % rounds (table's factor) "
             "| N | p wins | p PBR (table) | p PBR (fitted) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seq = fmt(r["p_pbr_sequential"]) if "p_pbr_sequential" in r else "not run"
        lines.append(f"| {r['game']} | {r['classical']:.4f} | {r['value']:.5f} | "
                     f"{r['wins_median']} / {r['wins_95']} | {r['pbr_95']} | {r['n']} | "
                     f"{fmt(r['p_wins'])} | {fmt(r['p_pbr_table'])} | {seq} |")
    lines += ["", "| learned (qpolicy train) | best value | wins 95 % rounds | PBR 95 % rounds | "
              "N | p wins | p PBR (table) |", "|---|---|---|---|---|---|---|"]
    for r in learned:
        if "note" in r:
            lines.append(f"| {r['game']} {r['train']} | {r['best_value']:.5f} | {r['note']} |||||")
            continue
        lines.append(f"| {r['game']} ({r['train']['steps']} steps) | {r['best_value']:.5f} | "
                     f"{r['wins_95']} | {r['pbr_95']} | {r['n']} | {fmt(r['p_wins'])} | "
                     f"{fmt(r['p_pbr'])} |")
    with open(os.path.join(args.out, "certification.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    progress("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
